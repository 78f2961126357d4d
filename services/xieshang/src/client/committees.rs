//! `xieshang committees …`.

use anyhow::{Result, bail};
use serde_json::Value;
use tonic::Code;
use xieshang_proto::common::v1::CommitteeLevel;
use xieshang_proto::tenants::v1::committee_service_client::CommitteeServiceClient;
use xieshang_proto::tenants::v1::{
    Committee, CreateCommitteeRequest, GetCommitteeRequest, ListCommitteesRequest, ListSubtreeRequest,
    ReactivateCommitteeRequest, SuspendCommitteeRequest,
};

use super::api::{Api, ApiError};
use super::auth::signed_in;
use super::render::{self, json_out, line};
use super::{CommitteesArgs, CommitteesCommand, Out};

/// Page size for ListCommittees (the server's maximum).
const COMMITTEE_PAGE: i32 = 500;
/// Page size for ListSubtree (the server's maximum).
const SUBTREE_PAGE: i32 = 1000;

/// GetCommittee by division code.
pub async fn get_by_code(api: &mut Api, code: &str) -> Result<Committee, ApiError> {
    let request = GetCommitteeRequest { id: String::new(), code: code.trim().to_owned() };
    rpc!(api, CommitteeServiceClient, get_committee, request).await
}

/// Every page of ListCommittees.
pub async fn list_all(api: &mut Api, mut request: ListCommitteesRequest) -> Result<Vec<Committee>, ApiError> {
    let mut all = Vec::new();
    request.page_size = COMMITTEE_PAGE;
    loop {
        let page = rpc!(api, CommitteeServiceClient, list_committees, request.clone()).await?;
        all.extend(page.committees);
        if page.next_page_token.is_empty() || page.next_page_token == request.page_token {
            return Ok(all);
        }
        request.page_token = page.next_page_token;
    }
}

/// Every page of ListSubtree below the committee `id`.
pub async fn subtree_all(api: &mut Api, id: &str) -> Result<Vec<Committee>, ApiError> {
    let mut all = Vec::new();
    let mut request = ListSubtreeRequest { id: id.to_owned(), page_size: SUBTREE_PAGE, page_token: String::new() };
    loop {
        let page = rpc!(api, CommitteeServiceClient, list_subtree, request.clone()).await?;
        all.extend(page.committees);
        if page.next_page_token.is_empty() || page.next_page_token == request.page_token {
            return Ok(all);
        }
        request.page_token = page.next_page_token;
    }
}

pub async fn run(args: CommitteesArgs, out: Out<'_>) -> Result<()> {
    let json = args.common.json;
    let mut api = signed_in(&args.common).await?;
    match args.command {
        CommitteesCommand::Tree { code } => tree(&mut api, code, json, out).await,
        CommitteesCommand::List { level, parent, name } => {
            let parent_id = match parent {
                Some(code) => get_by_code(&mut api, &code).await?.id,
                None => String::new(),
            };
            let request = ListCommitteesRequest {
                level: level.map(|l| l as i32).unwrap_or_default(),
                parent_id,
                name_contains: name.unwrap_or_default(),
                ..Default::default()
            };
            let committees = list_all(&mut api, request).await?;
            if json {
                return json_out(out, &render::committees_json(&committees));
            }
            if committees.is_empty() {
                return line(out, "No committees found.");
            }
            line(out, render::committees_table(&committees))
        }
        CommitteesCommand::Get { code } => {
            let committee = get_by_code(&mut api, &code).await?;
            show(out, json, &committee)
        }
        CommitteesCommand::Create { code, name, level, parent, office_address, office_phone } => {
            let parent_id = match (&parent, level) {
                (Some(parent), CommitteeLevel::Provincial) => {
                    bail!("a provincial committee has no parent; drop --parent {parent}")
                }
                (Some(parent), _) => get_by_code(&mut api, parent).await?.id,
                (None, CommitteeLevel::City | CommitteeLevel::County) => {
                    bail!("a city or county committee needs --parent CODE")
                }
                (None, _) => String::new(),
            };
            let committee = Committee {
                code: code.trim().to_owned(),
                name: name.trim().to_owned(),
                level: level as i32,
                parent_id,
                office_address: office_address.unwrap_or_default(),
                office_phone: office_phone.unwrap_or_default(),
                ..Default::default()
            };
            let request = CreateCommitteeRequest { committee: Some(committee) };
            let created = rpc!(api, CommitteeServiceClient, create_committee, request).await?;
            if json {
                return json_out(out, &render::committee_json(&created));
            }
            line(out, format!("Created {}.", render::label(&created)))
        }
        CommitteesCommand::Suspend { code, reason } => {
            if reason.trim().is_empty() {
                bail!("give the reason for the suspension with --reason");
            }
            let committee = get_by_code(&mut api, &code).await?;
            let request = SuspendCommitteeRequest { id: committee.id, reason: reason.trim().to_owned() };
            let suspended = rpc!(api, CommitteeServiceClient, suspend_committee, request).await?;
            if json {
                return json_out(out, &render::committee_json(&suspended));
            }
            line(out, format!("Suspended {}; its users can no longer sign in.", render::label(&suspended)))
        }
        CommitteesCommand::Reactivate { code } => {
            let committee = get_by_code(&mut api, &code).await?;
            let request = ReactivateCommitteeRequest { id: committee.id };
            let active = rpc!(api, CommitteeServiceClient, reactivate_committee, request).await?;
            if json {
                return json_out(out, &render::committee_json(&active));
            }
            line(out, format!("Reactivated {}.", render::label(&active)))
        }
    }
}

fn show(out: Out<'_>, json: bool, committee: &Committee) -> Result<()> {
    if json {
        return json_out(out, &render::committee_json(committee));
    }
    line(out, render::committee_detail(committee))
}

/// `committees tree [CODE]`.
async fn tree(api: &mut Api, code: Option<String>, json: bool, out: Out<'_>) -> Result<()> {
    let roots = match code {
        Some(code) => vec![get_by_code(api, &code).await?],
        None => {
            let request = ListCommitteesRequest { level: CommitteeLevel::Provincial as i32, ..Default::default() };
            list_all(api, request).await?
        }
    };
    let mut everything: Vec<Value> = Vec::new();
    let mut text = String::new();
    for root in &roots {
        let below = match subtree_all(api, &root.id).await {
            Ok(below) => below,
            // A province that is only visible as an ancestor may not open its
            // subtree to the caller; show it alone.
            Err(e) if matches!(e.code, Code::NotFound | Code::PermissionDenied) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        if json {
            everything.push(render::committee_json(root));
            everything.extend(below.iter().map(render::committee_json));
        } else {
            text.push_str(&render::tree(root, &below));
        }
    }
    if json {
        return json_out(out, &Value::Array(everything));
    }
    if roots.is_empty() {
        return line(out, "No committees visible.");
    }
    write!(out, "{text}")?;
    Ok(())
}
