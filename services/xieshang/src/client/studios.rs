//! `xieshang members studios …`: member studios (委员工作室) and the public's
//! requests to them, over the StudioService.

use anyhow::Result;
use serde_json::{Value, json};
use xieshang_proto::membership::v1::studio_service_client::StudioServiceClient;
use xieshang_proto::membership::v1::{
    AnswerStudioRequestRequest, GetStudioRequest, ListStudioRequestsRequest, ListStudiosRequest, Studio, StudioRequest,
    StudioRequestKind, StudioRequestState,
};

use super::auth::signed_in;
use super::flags;
use super::render::{self, json_out, line};
use super::{ClientArgs, Out, StudiosCommand};

pub async fn run(common: &ClientArgs, command: StudiosCommand, out: Out<'_>) -> Result<()> {
    let json = common.json;
    if let StudiosCommand::Answer { text, .. } = &command {
        flags::require_text("--text", text, 1000)?;
    }
    let mut api = signed_in(common).await?;
    match command {
        StudiosCommand::List => {
            let studios = rpc!(api, StudioServiceClient, list_studios, ListStudiosRequest {}).await?.studios;
            if json {
                return json_out(out, &Value::Array(studios.iter().map(studio_json).collect()));
            }
            if studios.is_empty() {
                return line(out, "No studios found.");
            }
            line(
                out,
                render::table(
                    ["id", "工作室 studio", "地址 address", "委员 members", "星级 stars"],
                    studios.iter().map(|s| {
                        vec![s.id.clone(), s.name.clone(), s.address.clone(), member_names(s), stars(s.stars)]
                    }),
                ),
            )
        }
        StudiosCommand::Show { id } => {
            let s = rpc!(api, StudioServiceClient, get_studio, GetStudioRequest { id }).await?;
            if json {
                return json_out(out, &studio_json(&s));
            }
            let rows = vec![
                vec!["id".to_owned(), s.id.clone()],
                vec!["工作室 studio".to_owned(), s.name.clone()],
                vec!["地址 address".to_owned(), s.address.clone()],
                vec!["委员 members".to_owned(), member_names(&s)],
                vec!["服务事项 services".to_owned(), s.service_items.join("、")],
                vec!["星级 stars".to_owned(), stars(s.stars)],
            ];
            let mut text = render::table(["field", "value"], rows);
            if !s.ratings.is_empty() {
                text.push('\n');
                text.push_str(&render::table(
                    ["日期 date", "星级 stars", "说明 note"],
                    s.ratings.iter().map(|r| vec![render::date(r.date.as_ref()), stars(r.stars), r.note.clone()]),
                ));
            }
            line(out, text)
        }
        StudiosCommand::Requests { studio, open } => {
            let request = ListStudioRequestsRequest { studio_id: studio.unwrap_or_default() };
            let mut requests = rpc!(api, StudioServiceClient, list_studio_requests, request).await?.requests;
            if open {
                requests.retain(|r| r.state == StudioRequestState::Received as i32);
            }
            if json {
                return json_out(out, &Value::Array(requests.iter().map(request_json).collect()));
            }
            if requests.is_empty() {
                return line(out, "No requests found.");
            }
            line(
                out,
                render::table(
                    ["id", "工作室 studio", "类型 kind", "内容 content", "联系人 contact", "状态 state", "答复 answer"],
                    requests.iter().map(|r| {
                        vec![
                            r.id.clone(),
                            r.studio_name.clone(),
                            kind_label(r.kind).to_owned(),
                            r.content.clone(),
                            format!("{} {}", r.contact_name, r.contact_phone).trim().to_owned(),
                            state_label(r.state).to_owned(),
                            r.answer.clone(),
                        ]
                    }),
                ),
            )
        }
        StudiosCommand::Answer { id, text } => {
            let request = AnswerStudioRequestRequest { id, answer: text.trim().to_owned() };
            let r = rpc!(api, StudioServiceClient, answer_studio_request, request).await?;
            if json {
                return json_out(out, &request_json(&r));
            }
            line(out, format!("Answered the request to {} (tracking code {}).", r.studio_name, r.tracking_code))
        }
    }
}

fn member_names(s: &Studio) -> String {
    s.members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join("、")
}

fn stars(n: i32) -> String {
    if n <= 0 { "—".to_owned() } else { "★".repeat(n.clamp(0, 5) as usize) }
}

fn kind_label(k: i32) -> &'static str {
    match StudioRequestKind::try_from(k) {
        Ok(StudioRequestKind::Question) => "咨询 question",
        Ok(StudioRequestKind::Suggestion) => "建议 suggestion",
        Ok(StudioRequestKind::Help) => "求助 help",
        _ => "",
    }
}

fn state_label(s: i32) -> &'static str {
    match StudioRequestState::try_from(s) {
        Ok(StudioRequestState::Received) => "待答复 received",
        Ok(StudioRequestState::Answered) => "已答复 answered",
        _ => "",
    }
}

fn studio_json(s: &Studio) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "sector_id": s.sector_id,
        "address": s.address,
        "members": s.members.iter().map(|m| json!({"member_id": m.member_id, "name": m.name})).collect::<Vec<_>>(),
        "service_items": s.service_items,
        "stars": s.stars,
        "ratings": s.ratings.iter().map(|r| json!({
            "stars": r.stars,
            "date": render::date(r.date.as_ref()),
            "note": r.note,
        })).collect::<Vec<_>>(),
    })
}

fn request_json(r: &StudioRequest) -> Value {
    json!({
        "id": r.id,
        "studio_id": r.studio_id,
        "studio_name": r.studio_name,
        "kind": StudioRequestKind::try_from(r.kind).map(|k| k.as_str_name()).unwrap_or_default(),
        "content": r.content,
        "contact_name": r.contact_name,
        "contact_phone": r.contact_phone,
        "tracking_code": r.tracking_code,
        "state": StudioRequestState::try_from(r.state).map(|s| s.as_str_name()).unwrap_or_default(),
        "answer": r.answer,
    })
}
