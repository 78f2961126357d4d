//! `xieshang proposals …`: the proposal office's everyday commands.
//!
//! Users (handling units, proposers) are named by username on the command
//! line and resolved to ids within the caller's committee.

use std::collections::HashMap;

use anyhow::{Result, anyhow, bail};
use serde_json::{Value, json};
use xieshang_proto::common::v1::Role;
use xieshang_proto::proposals::v1::proposal_service_client::ProposalServiceClient;
use xieshang_proto::proposals::v1::{
    AssignProposalRequest, CreateProposalRequest, FileProposalRequest, GetProposalRequest,
    GetProposalStatisticsRequest, ListProposalsRequest, Proposal, ProposalCategory, ProposalKind, ProposalState,
    RateReplyRequest, Rating, RecordContactRequest, ReplyClass, ReplyToProposalRequest, SearchHit,
    SearchProposalsRequest, SubmitProposalRequest, UnitRole,
};
use xieshang_proto::tenants::v1::ListUsersRequest;

use super::api::{Api, ApiError};
use super::auth::signed_in;
use super::flags;
use super::render::{self, json_out, line};
use super::{Out, ProposalsArgs, ProposalsCommand};

const PAGE: i32 = 200;

/// Every page of ListProposals.
async fn list_all(api: &mut Api, mut request: ListProposalsRequest) -> Result<Vec<Proposal>, ApiError> {
    let mut all = Vec::new();
    request.page_size = PAGE;
    loop {
        let page = rpc!(api, ProposalServiceClient, list_proposals, request.clone()).await?;
        all.extend(page.proposals);
        if page.next_page_token.is_empty() || page.next_page_token == request.page_token {
            return Ok(all);
        }
        request.page_token = page.next_page_token;
    }
}

/// Usernames and display names of the caller's committee, by user id.
async fn people(api: &mut Api) -> Result<HashMap<String, (String, String)>> {
    let code = api.session().map(|s| s.committee_code.clone()).unwrap_or_default();
    if code.is_empty() {
        return Ok(HashMap::new());
    }
    let committee = super::committees::get_by_code(api, &code).await?;
    let request = ListUsersRequest { committee_id: committee.id, include_disabled: true, ..Default::default() };
    // Members cannot list users; then ids are shown as they are.
    match super::users::list_all(api, request).await {
        Ok(users) => Ok(users.into_iter().map(|u| (u.id, (u.username, u.display_name))).collect()),
        Err(err) if err.code == tonic::Code::PermissionDenied => Ok(HashMap::new()),
        Err(err) => Err(err.into()),
    }
}

async fn user_id(api: &mut Api, username: &str, role: Role) -> Result<String> {
    let code = api.session().map(|s| s.committee_code.clone()).unwrap_or_default();
    if code.is_empty() {
        bail!("sign in as a committee's staff to name users by username");
    }
    let committee = super::committees::get_by_code(api, &code).await?;
    let request = ListUsersRequest { committee_id: committee.id, role: role as i32, ..Default::default() };
    let users = super::users::list_all(api, request).await?;
    users
        .into_iter()
        .find(|u| u.username == username.trim().to_ascii_lowercase())
        .map(|u| u.id)
        .ok_or_else(|| anyhow!("no user `{username}` with the role {} in committee {code}", role.as_str_name()))
}

pub async fn run(args: ProposalsArgs, out: Out<'_>) -> Result<()> {
    let json = args.common.json;
    if let ProposalsCommand::Search { query, from, to, page_size, .. } = &args.command {
        flags::require_text("the search words", query, 200)?;
        flags::check_page_size(*page_size, 100)?;
        flags::check_range(from.as_ref(), to.as_ref())?;
    }
    let mut api = signed_in(&args.common).await?;
    let proposal = match args.command {
        ProposalsCommand::Search {
            query,
            state,
            category,
            key,
            overdue,
            from,
            to,
            unit,
            proposer,
            page_size,
            page_token,
        } => {
            let mut request = SearchProposalsRequest {
                query: query.trim().to_owned(),
                state: state.map(|s| s as i32).unwrap_or_default(),
                category: category.map(|c| c as i32).unwrap_or_default(),
                key: key.then_some(true),
                overdue,
                submitted_from: from,
                submitted_to: to,
                page_size: page_size.unwrap_or_default(),
                page_token: page_token.unwrap_or_default(),
                ..Default::default()
            };
            if let Some(unit) = unit {
                request.unit_user_id = user_id(&mut api, &unit, Role::HandlingUnit).await?;
            }
            if let Some(proposer) = proposer {
                request.proposer_user_id = user_id(&mut api, &proposer, Role::Member).await?;
            }
            let found = rpc!(api, ProposalServiceClient, search_proposals, request).await?;
            if json {
                let hits = found.hits.iter().map(hit_json).collect();
                return json_out(out, &flags::paged_json("hits", hits, &found.next_page_token));
            }
            if found.hits.is_empty() {
                return line(out, format!("No proposals match “{}”.", query.trim()));
            }
            let names = people(&mut api).await?;
            line(out, search_table(&found.hits, &names))?;
            line(out, format!("{} proposal(s) on this page.", found.hits.len()))?;
            return flags::next_page(out, &found.next_page_token);
        }
        ProposalsCommand::List { state, key } => {
            let request = ListProposalsRequest {
                state: state.map(|s| s as i32).unwrap_or_default(),
                key: key.then_some(true),
                ..Default::default()
            };
            let proposals = list_all(&mut api, request).await?;
            if json {
                return json_out(out, &Value::Array(proposals.iter().map(proposal_json).collect()));
            }
            if proposals.is_empty() {
                return line(out, "No proposals found.");
            }
            let names = people(&mut api).await?;
            return line(out, table(&proposals, &names));
        }
        ProposalsCommand::Show { id } => {
            rpc!(api, ProposalServiceClient, get_proposal, GetProposalRequest { id }).await?
        }
        ProposalsCommand::Create { title, body, category } => {
            let proposal = Proposal {
                kind: ProposalKind::Individual as i32,
                title,
                body,
                category: category as i32,
                ..Default::default()
            };
            let request = CreateProposalRequest { proposal: Some(proposal) };
            rpc!(api, ProposalServiceClient, create_proposal, request).await?
        }
        ProposalsCommand::Submit { id } => {
            rpc!(api, ProposalServiceClient, submit_proposal, SubmitProposalRequest { id }).await?
        }
        ProposalsCommand::File { id } => {
            rpc!(api, ProposalServiceClient, file_proposal, FileProposalRequest { id }).await?
        }
        ProposalsCommand::Assign { id, lead, co, separate } => {
            let mut request = AssignProposalRequest { id, ..Default::default() };
            if let Some(lead) = lead {
                request.lead_unit_user_id = user_id(&mut api, &lead, Role::HandlingUnit).await?;
            }
            for unit in co {
                request.co_unit_user_ids.push(user_id(&mut api, &unit, Role::HandlingUnit).await?);
            }
            for unit in separate {
                request.unit_user_ids.push(user_id(&mut api, &unit, Role::HandlingUnit).await?);
            }
            rpc!(api, ProposalServiceClient, assign_proposal, request).await?
        }
        ProposalsCommand::Contact { id, note } => {
            let request = RecordContactRequest { id, contact_date: Some(today()), note };
            rpc!(api, ProposalServiceClient, record_contact, request).await?
        }
        ProposalsCommand::Reply { id, class, text } => {
            let request = ReplyToProposalRequest { id, reply_class: class as i32, text };
            rpc!(api, ProposalServiceClient, reply_to_proposal, request).await?
        }
        ProposalsCommand::Stats { committee, year } => {
            return stats(&mut api, committee, year, json, out).await;
        }
        ProposalsCommand::Rate { id, process, result, comment } => {
            let request = RateReplyRequest {
                id,
                process_rating: process as i32,
                result_rating: result as i32,
                comment: comment.unwrap_or_default(),
            };
            rpc!(api, ProposalServiceClient, rate_reply, request).await?
        }
    };
    if json {
        return json_out(out, &proposal_json(&proposal));
    }
    let names = people(&mut api).await.unwrap_or_default();
    line(out, detail(&proposal, &names))
}

async fn stats(api: &mut Api, committee: Option<String>, year: i32, json: bool, out: Out<'_>) -> Result<()> {
    let code = committee.or_else(|| api.session().map(|s| s.committee_code.clone())).unwrap_or_default();
    if code.is_empty() {
        bail!("name the committee with --committee CODE");
    }
    let committee_id = super::committees::get_by_code(api, &code).await?.id;
    let request = GetProposalStatisticsRequest {
        committee_id,
        start_date: Some(xieshang_proto::common::v1::Date { year, month: 1, day: 1 }),
        end_date: Some(xieshang_proto::common::v1::Date { year, month: 12, day: 31 }),
    };
    let s = rpc!(api, ProposalServiceClient, get_proposal_statistics, request).await?;
    let percent = |r: f64| format!("{:.1}%", r * 100.0);
    let rows: Vec<(&str, String)> = vec![
        ("收到提案 received", s.received.to_string()),
        ("立案 filed", s.filed.to_string()),
        ("立案率 filing rate", percent(s.filing_rate)),
        ("已答复 replied", s.replied.to_string()),
        ("按期答复 replied on time", s.replied_on_time.to_string()),
        ("逾期 overdue", s.overdue.to_string()),
        ("A / B / C", format!("{} / {} / {}", s.class_a, s.class_b, s.class_c)),
        ("满意度 satisfaction rate", percent(s.satisfaction_rate)),
        ("重新办理 re-handled", s.rehandled.to_string()),
        (
            "社情民意 submitted / adopted / instructed",
            format!("{} / {} / {}", s.information_submitted, s.information_adopted, s.information_instructed),
        ),
    ];
    if json {
        let map: serde_json::Map<String, Value> =
            rows.iter().map(|(k, v)| ((*k).to_owned(), Value::from(v.clone()))).collect();
        return json_out(out, &Value::Object(map));
    }
    line(
        out,
        render::table(["figure", year.to_string().as_str()], rows.into_iter().map(|(k, v)| vec![k.to_owned(), v])),
    )
}

/// Today in China Standard Time, where committees work.
fn today() -> xieshang_proto::common::v1::Date {
    use chrono::Datelike;
    let cst = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    let d = chrono::Utc::now().with_timezone(&cst).date_naive();
    xieshang_proto::common::v1::Date { year: d.year(), month: d.month() as i32, day: d.day() as i32 }
}

fn state_name(state: i32) -> String {
    ProposalState::try_from(state)
        .map(|s| s.as_str_name().trim_start_matches("PROPOSAL_STATE_").to_ascii_lowercase())
        .unwrap_or_else(|_| state.to_string())
}

fn category_name(category: i32) -> &'static str {
    match ProposalCategory::try_from(category) {
        Ok(ProposalCategory::Economic) => "经济建设",
        Ok(ProposalCategory::Political) => "政治建设",
        Ok(ProposalCategory::Cultural) => "文化建设",
        Ok(ProposalCategory::Social) => "社会建设",
        Ok(ProposalCategory::Ecological) => "生态文明",
        Ok(ProposalCategory::Other) => "其他",
        _ => "",
    }
}

fn who(names: &HashMap<String, (String, String)>, id: &str) -> String {
    names.get(id).map_or_else(|| id.to_owned(), |(username, display)| format!("{display} ({username})"))
}

fn number(p: &Proposal) -> String {
    if p.number > 0 { format!("第{}号", p.number) } else { String::new() }
}

fn table(proposals: &[Proposal], names: &HashMap<String, (String, String)>) -> String {
    render::table(
        ["id", "number", "title", "category", "proposer", "state", "due"],
        proposals.iter().map(|p| {
            vec![
                p.id.clone(),
                number(p),
                p.title.clone(),
                category_name(p.category).to_owned(),
                who(names, &p.proposer_user_id),
                state_name(p.state),
                render::date(p.due_date.as_ref()),
            ]
        }),
    )
}

/// A search passage for the terminal: `<mark>盐碱地</mark>` → `【盐碱地】`, on one line.
fn snippet_text(snippet: &str) -> String {
    snippet.replace("<mark>", "【").replace("</mark>", "】").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The units a proposal is assigned to, lead (主办) first.
fn units_text(p: &Proposal, names: &HashMap<String, (String, String)>) -> String {
    let mut units: Vec<_> = p.units.iter().collect();
    units.sort_by_key(|u| if u.role == UnitRole::Lead as i32 { 0 } else { 1 });
    units.iter().map(|u| who(names, &u.user_id)).collect::<Vec<_>>().join(", ")
}

fn search_table(hits: &[SearchHit], names: &HashMap<String, (String, String)>) -> String {
    render::table(
        ["编号 number", "标题 title / 匹配 match", "状态 state", "提案人 proposer", "承办单位 unit"],
        hits.iter().filter_map(|h| h.proposal.as_ref().map(|p| (p, h))).map(|(p, h)| {
            let mut title = p.title.clone();
            let snippet = snippet_text(&h.snippet);
            if !snippet.is_empty() {
                title.push_str(&format!("\n  {snippet}"));
            }
            vec![number(p), title, state_name(p.state), who(names, &p.proposer_user_id), units_text(p, names)]
        }),
    )
}

fn hit_json(h: &SearchHit) -> Value {
    json!({
        "proposal": h.proposal.as_ref().map(proposal_json),
        "snippet": h.snippet,
        "score": h.score,
    })
}

fn detail(p: &Proposal, names: &HashMap<String, (String, String)>) -> String {
    let mut text = format!(
        "{} {}\n  id:        {}\n  state:     {}\n  category:  {}\n  proposer:  {}\n",
        number(p),
        p.title,
        p.id,
        state_name(p.state),
        category_name(p.category),
        who(names, &p.proposer_user_id)
    );
    if p.key {
        text.push_str(&format!("  key proposal, supervised by {}\n", p.supervising_leader));
    }
    if p.due_date.is_some() {
        text.push_str(&format!("  reply due: {}\n", render::date(p.due_date.as_ref())));
    }
    for unit in &p.units {
        let reply = ReplyClass::try_from(unit.reply_class)
            .ok()
            .filter(|c| *c != ReplyClass::Unspecified)
            .map(|c| format!(", replied {}", c.as_str_name().trim_start_matches("REPLY_CLASS_")))
            .unwrap_or_default();
        text.push_str(&format!("  unit:      {}{}\n", who(names, &unit.user_id), reply));
    }
    text.push_str(&format!("\n{}", p.body));
    text
}

fn proposal_json(p: &Proposal) -> Value {
    json!({
        "id": p.id,
        "number": p.number,
        "title": p.title,
        "category": ProposalCategory::try_from(p.category).map(|c| c.as_str_name()).unwrap_or_default(),
        "state": ProposalState::try_from(p.state).map(|s| s.as_str_name()).unwrap_or_default(),
        "proposer_user_id": p.proposer_user_id,
        "key": p.key,
        "due_date": render::date(p.due_date.as_ref()),
        "units": p.units.iter().map(|u| json!({
            "user_id": u.user_id,
            "reply_class": ReplyClass::try_from(u.reply_class).map(|c| c.as_str_name()).unwrap_or_default(),
            "on_time": u.on_time,
        })).collect::<Vec<_>>(),
        "etag": p.etag,
    })
}

/// Parses a category: 经济/economic, 政治/political, 文化/cultural, 社会/social, 生态/ecological, 其他/other.
pub fn parse_category(text: &str) -> Result<ProposalCategory, String> {
    let t = text.trim().to_ascii_lowercase();
    Ok(match t.as_str() {
        "economic" | "经济" | "经济建设" => ProposalCategory::Economic,
        "political" | "政治" | "政治建设" => ProposalCategory::Political,
        "cultural" | "文化" | "文化建设" => ProposalCategory::Cultural,
        "social" | "社会" | "社会建设" => ProposalCategory::Social,
        "ecological" | "生态" | "生态文明" => ProposalCategory::Ecological,
        "other" | "其他" => ProposalCategory::Other,
        _ => {
            return Err(format!(
                "unknown category `{text}`; use economic, political, cultural, social, ecological or other"
            ));
        }
    })
}

pub fn parse_state(text: &str) -> Result<ProposalState, String> {
    let name = format!("PROPOSAL_STATE_{}", text.trim().to_ascii_uppercase().replace('-', "_"));
    ProposalState::from_str_name(&name)
        .filter(|s| *s != ProposalState::Unspecified)
        .ok_or_else(|| format!("unknown state `{text}`"))
}

pub fn parse_class(text: &str) -> Result<ReplyClass, String> {
    match text.trim().to_ascii_uppercase().as_str() {
        "A" => Ok(ReplyClass::A),
        "B" => Ok(ReplyClass::B),
        "C" => Ok(ReplyClass::C),
        _ => Err(format!("unknown reply class `{text}`; use A, B or C")),
    }
}

pub fn parse_rating(text: &str) -> Result<Rating, String> {
    match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
        "satisfied" | "满意" => Ok(Rating::Satisfied),
        "basically_satisfied" | "基本满意" => Ok(Rating::BasicallySatisfied),
        "dissatisfied" | "不满意" => Ok(Rating::Dissatisfied),
        _ => Err(format!("unknown rating `{text}`; use satisfied, basically-satisfied or dissatisfied")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_english_and_chinese() {
        assert_eq!(parse_category("生态").unwrap(), ProposalCategory::Ecological);
        assert_eq!(parse_category("Economic").unwrap(), ProposalCategory::Economic);
        assert!(parse_category("天气").is_err());
        assert_eq!(parse_state("handling").unwrap(), ProposalState::Handling);
        assert_eq!(parse_state("awaiting-reassignment").unwrap(), ProposalState::AwaitingReassignment);
        assert!(parse_state("unspecified").is_err());
        assert_eq!(parse_class("b").unwrap(), ReplyClass::B);
        assert_eq!(parse_rating("基本满意").unwrap(), Rating::BasicallySatisfied);
        assert_eq!(parse_rating("basically-satisfied").unwrap(), Rating::BasicallySatisfied);
    }
}
