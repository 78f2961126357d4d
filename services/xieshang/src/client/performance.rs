//! `xieshang members projects …` (年度履职项目) and `xieshang members
//! assessment …` (考核), over the PerformanceService.

use anyhow::{Result, anyhow, bail};
use serde_json::{Value, json};
use xieshang_proto::membership::v1::membership_service_client::MembershipServiceClient;
use xieshang_proto::membership::v1::performance_service_client::PerformanceServiceClient;
use xieshang_proto::membership::v1::{
    AdvanceProjectRequest, Assessment, AssessmentCategory, AssessmentOutcome, AssessmentResult,
    ComputeAssessmentRequest, ConfirmAssessmentOutcomeRequest, DeclareProjectRequest, GetProjectRequest,
    ListAssessmentResultsRequest, ListMembersRequest, ListProjectsRequest, OutcomeDecision, PerformanceProject,
    ProjectOutcomeKind, ProjectStatus,
};

use super::api::Api;
use super::auth::signed_in;
use super::flags;
use super::render::{self, json_out, line};
use super::{AssessmentCommand, ClientArgs, Out, ProjectsCommand};

/// The chain of steps, in order.
const CHAIN: [ProjectStatus; 6] = [
    ProjectStatus::Declared,
    ProjectStatus::Study,
    ProjectStatus::Research,
    ProjectStatus::Consultation,
    ProjectStatus::FollowUpReview,
    ProjectStatus::Outcome,
];

pub async fn projects(common: &ClientArgs, command: ProjectsCommand, out: Out<'_>) -> Result<()> {
    let json = common.json;
    // Checks that need no server.
    match &command {
        ProjectsCommand::List { page_size, .. } => flags::check_page_size(*page_size, 200)?,
        ProjectsCommand::Declare { title, plan, .. } => {
            flags::require_text("--title", title, 100)?;
            if let Some(plan) = plan {
                flags::require_text("--plan", plan, 2000)?;
            }
        }
        ProjectsCommand::Advance { note, to, outcome, outcome_ref, .. } => {
            flags::require_text("--note", note, 2000)?;
            let names_outcome = outcome.is_some() || outcome_ref.is_some();
            if names_outcome && to.is_some_and(|t| t != ProjectStatus::Outcome) {
                bail!("--outcome and --ref go only with the outcome step (--to outcome)");
            }
            if to == &Some(ProjectStatus::Outcome) && (outcome.is_none() || outcome_ref.is_none()) {
                bail!("the outcome step needs --outcome proposal|information and --ref with its number or id");
            }
        }
        ProjectsCommand::Show { .. } => {}
    }
    let mut api = signed_in(common).await?;
    let project = match command {
        ProjectsCommand::List { year, status, page_size, page_token } => {
            let request = ListProjectsRequest {
                year: year.unwrap_or_default(),
                status: status.map(|s| s as i32).unwrap_or_default(),
                page_size: page_size.unwrap_or(50),
                page_token: page_token.unwrap_or_default(),
            };
            let page = rpc!(api, PerformanceServiceClient, list_projects, request).await?;
            if json {
                let items = page.projects.iter().map(project_json).collect();
                return json_out(out, &flags::paged_json("projects", items, &page.next_page_token));
            }
            if page.projects.is_empty() {
                return line(out, "No projects found.");
            }
            line(
                out,
                render::table(
                    ["id", "年度 year", "委员 member", "项目 title", "进度 step", "最近 latest"],
                    page.projects.iter().map(|p| {
                        let latest = p
                            .steps
                            .last()
                            .map(|s| format!("{} {}", render::date(s.date.as_ref()), s.note))
                            .unwrap_or_default();
                        vec![
                            p.id.clone(),
                            p.year.to_string(),
                            p.member_name.clone(),
                            p.title.clone(),
                            status_label(p.status),
                            latest,
                        ]
                    }),
                ),
            )?;
            return flags::next_page(out, &page.next_page_token);
        }
        ProjectsCommand::Show { id } => {
            rpc!(api, PerformanceServiceClient, get_project, GetProjectRequest { id }).await?
        }
        ProjectsCommand::Declare { title, plan, year, member } => {
            let member_id = match member {
                Some(member) => member_id(&mut api, &member).await?,
                None => String::new(),
            };
            let request = DeclareProjectRequest {
                member_id,
                year: year.unwrap_or_else(flags::this_year),
                title: title.trim().to_owned(),
                description: plan.unwrap_or_default().trim().to_owned(),
            };
            rpc!(api, PerformanceServiceClient, declare_project, request).await?
        }
        ProjectsCommand::Advance { id, note, to, date, outcome, outcome_ref } => {
            let to = match to {
                Some(to) => to,
                None => {
                    let current =
                        rpc!(api, PerformanceServiceClient, get_project, GetProjectRequest { id: id.clone() }).await?;
                    let next = next_step(current.status)
                        .ok_or_else(|| anyhow!("the project has reached its outcome; there is no further step"))?;
                    if next == ProjectStatus::Outcome && (outcome.is_none() || outcome_ref.is_none()) {
                        bail!("the next step is the outcome (成果): give --outcome proposal|information and --ref");
                    }
                    next
                }
            };
            let request = AdvanceProjectRequest {
                id,
                to: to as i32,
                date: Some(date.unwrap_or_else(flags::today)),
                note: note.trim().to_owned(),
                outcome_kind: outcome.map(|o| o as i32).unwrap_or_default(),
                outcome_ref: outcome_ref.unwrap_or_default(),
            };
            rpc!(api, PerformanceServiceClient, advance_project, request).await?
        }
    };
    if json {
        return json_out(out, &project_json(&project));
    }
    line(out, project_detail(&project))
}

/// A roster member's id from an id or an exact name (staff).
async fn member_id(api: &mut Api, text: &str) -> Result<String> {
    let text = text.trim();
    let request = ListMembersRequest { name_contains: text.to_owned(), page_size: 100, ..Default::default() };
    let page = rpc!(api, MembershipServiceClient, list_members, request).await?;
    let same: Vec<_> = page.members.iter().filter(|m| m.name == text).collect();
    match same.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Ok(text.to_owned()),
        _ => bail!("{} members are named {text}; give the member's roster id instead", same.len()),
    }
}

fn next_step(status: i32) -> Option<ProjectStatus> {
    let at = CHAIN.iter().position(|s| *s as i32 == status)?;
    CHAIN.get(at + 1).copied()
}

/// `学习 study`.
fn status_label(status: i32) -> String {
    let chinese = match ProjectStatus::try_from(status) {
        Ok(ProjectStatus::Declared) => "已申报",
        Ok(ProjectStatus::Study) => "学习",
        Ok(ProjectStatus::Research) => "调研",
        Ok(ProjectStatus::Consultation) => "协商",
        Ok(ProjectStatus::FollowUpReview) => "回头看",
        Ok(ProjectStatus::Outcome) => "成果",
        _ => "",
    };
    format!("{chinese} {}", status_name(status)).trim().to_owned()
}

fn status_name(status: i32) -> String {
    ProjectStatus::try_from(status)
        .map(|s| flags::short_name(s.as_str_name(), "PROJECT_STATUS_"))
        .unwrap_or_else(|_| status.to_string())
}

fn outcome_kind_label(kind: i32) -> &'static str {
    match ProjectOutcomeKind::try_from(kind) {
        Ok(ProjectOutcomeKind::Proposal) => "提案 proposal",
        Ok(ProjectOutcomeKind::Information) => "社情民意 information",
        _ => "",
    }
}

fn project_detail(p: &PerformanceProject) -> String {
    let mut rows = vec![
        vec!["id".to_owned(), p.id.clone()],
        vec!["项目 title".to_owned(), p.title.clone()],
        vec!["委员 member".to_owned(), p.member_name.clone()],
        vec!["年度 year".to_owned(), p.year.to_string()],
        vec!["进度 step".to_owned(), status_label(p.status)],
    ];
    if !p.description.is_empty() {
        rows.push(vec!["计划 plan".to_owned(), p.description.clone()]);
    }
    if !p.outcome_ref.is_empty() {
        rows.push(vec!["成果 outcome".to_owned(), format!("{} {}", outcome_kind_label(p.outcome_kind), p.outcome_ref)]);
    }
    let mut text = render::table(["field", "value"], rows);
    if !p.steps.is_empty() {
        text.push('\n');
        text.push_str(&render::table(
            ["日期 date", "步骤 step", "记录 note"],
            p.steps.iter().map(|s| vec![render::date(s.date.as_ref()), status_label(s.step), s.note.clone()]),
        ));
    }
    text
}

fn project_json(p: &PerformanceProject) -> Value {
    json!({
        "id": p.id,
        "member_id": p.member_id,
        "member_name": p.member_name,
        "year": p.year,
        "title": p.title,
        "description": p.description,
        "status": ProjectStatus::try_from(p.status).map(|s| s.as_str_name()).unwrap_or_default(),
        "steps": p.steps.iter().map(|s| json!({
            "step": ProjectStatus::try_from(s.step).map(|s| s.as_str_name()).unwrap_or_default(),
            "date": render::date(s.date.as_ref()),
            "note": s.note,
            "recorded_by_user_id": s.recorded_by_user_id,
        })).collect::<Vec<_>>(),
        "outcome_kind": ProjectOutcomeKind::try_from(p.outcome_kind).map(|k| k.as_str_name()).unwrap_or_default(),
        "outcome_ref": p.outcome_ref,
    })
}

/// Parses a step: declared, study, research, consultation, follow-up-review,
/// outcome, or 学习, 调研, 协商, 回头看, 成果.
pub fn parse_project_status(text: &str) -> Result<ProjectStatus, String> {
    let by_chinese = match text.trim() {
        "申报" | "已申报" => Some(ProjectStatus::Declared),
        "学习" => Some(ProjectStatus::Study),
        "调研" => Some(ProjectStatus::Research),
        "协商" => Some(ProjectStatus::Consultation),
        "回头看" => Some(ProjectStatus::FollowUpReview),
        "成果" => Some(ProjectStatus::Outcome),
        _ => None,
    };
    if let Some(s) = by_chinese {
        return Ok(s);
    }
    flags::parse_enum(
        text,
        "PROJECT_STATUS_",
        ProjectStatus::from_str_name,
        |s| s == ProjectStatus::Unspecified,
        "declared, study, research, consultation, follow-up-review or outcome (or 学习, 调研, 协商, 回头看, 成果)",
    )
}

/// Parses an outcome kind: proposal or information (提案, 社情民意).
pub fn parse_outcome_kind(text: &str) -> Result<ProjectOutcomeKind, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "proposal" | "提案" => Ok(ProjectOutcomeKind::Proposal),
        "information" | "info" | "社情民意" | "信息" => Ok(ProjectOutcomeKind::Information),
        _ => Err(format!("unknown outcome `{text}`; use proposal or information (提案, 社情民意)")),
    }
}

// ---- Assessment 考核 ----

pub async fn assessment(common: &ClientArgs, command: AssessmentCommand, out: Out<'_>) -> Result<()> {
    let json = common.json;
    if let AssessmentCommand::Confirm { member, note, .. } = &command {
        flags::require_text("the member", member, 60)?;
        if let Some(note) = note {
            flags::require_text("--note", note, 1000)?;
        }
    }
    let mut api = signed_in(common).await?;
    match command {
        AssessmentCommand::Run { year, committee } => {
            let committee_id = committee_id(&mut api, committee).await?;
            let request = ComputeAssessmentRequest { committee_id, year };
            let assessment = rpc!(api, PerformanceServiceClient, compute_assessment, request).await?;
            write_assessment(&assessment, json, out)
        }
        AssessmentCommand::Show { year, committee } => {
            let committee_id = committee_id(&mut api, committee).await?;
            let request = ListAssessmentResultsRequest { committee_id, year };
            let assessment = rpc!(api, PerformanceServiceClient, list_assessment_results, request).await?;
            write_assessment(&assessment, json, out)
        }
        AssessmentCommand::Confirm { member, year, reject, note } => {
            let request = ListAssessmentResultsRequest { committee_id: String::new(), year };
            let assessment = rpc!(api, PerformanceServiceClient, list_assessment_results, request).await?;
            let member = member.trim();
            let matches: Vec<&AssessmentResult> =
                assessment.results.iter().filter(|r| r.member_id == member || r.member_name == member).collect();
            let member_id = match matches.as_slice() {
                [one] => one.member_id.clone(),
                [] => bail!(
                    "{member} has no assessment result for {year}; run `xieshang members assessment run --year {year}` first"
                ),
                _ => bail!("{} members are named {member}; give the member's roster id instead", matches.len()),
            };
            let request =
                ConfirmAssessmentOutcomeRequest { year, member_id, confirm: !reject, note: note.unwrap_or_default() };
            let result = rpc!(api, PerformanceServiceClient, confirm_assessment_outcome, request).await?;
            if json {
                return json_out(out, &result_json(&result));
            }
            let verb = if reject { "Rejected" } else { "Confirmed" };
            line(
                out,
                format!(
                    "{verb} the proposed outcome {} for {} ({year}).",
                    outcome_label(result.proposed_outcome),
                    result.member_name
                ),
            )
        }
    }
}

async fn committee_id(api: &mut Api, code: Option<String>) -> Result<String> {
    match code {
        Some(code) => Ok(super::committees::get_by_code(api, code.trim()).await?.id),
        // The server takes the caller's committee.
        None => Ok(String::new()),
    }
}

fn write_assessment(a: &Assessment, json: bool, out: Out<'_>) -> Result<()> {
    if json {
        return json_out(
            out,
            &json!({
                "committee_id": a.committee_id,
                "year": a.year,
                "results": a.results.iter().map(result_json).collect::<Vec<_>>(),
            }),
        );
    }
    if a.results.is_empty() {
        return line(out, format!("No assessment results for {}.", a.year));
    }
    line(
        out,
        render::table(
            [
                "名次 rank",
                "委员 member",
                "类别 category",
                "积分 points",
                "述职 report",
                "得分 score",
                "建议 proposed",
                "决定 decision",
            ],
            a.results.iter().map(|r| {
                vec![
                    r.rank.to_string(),
                    r.member_name.clone(),
                    category_label(r.category).to_owned(),
                    r.record_points.to_string(),
                    r.report_score.map(|s| format!("{s:.1}")).unwrap_or_else(|| "—".to_owned()),
                    format!("{:.2}", r.score),
                    outcome_label(r.proposed_outcome).to_owned(),
                    decision_label(r.decision).to_owned(),
                ]
            }),
        ),
    )?;
    line(out, format!("{} members assessed for {}.", a.results.len(), a.year))
}

fn category_label(c: i32) -> &'static str {
    match AssessmentCategory::try_from(c) {
        Ok(AssessmentCategory::StandingCommittee) => "常委",
        Ok(AssessmentCategory::Member) => "委员",
        _ => "",
    }
}

fn outcome_label(o: i32) -> &'static str {
    match AssessmentOutcome::try_from(o) {
        Ok(AssessmentOutcome::None) => "—",
        Ok(AssessmentOutcome::Commend) => "优秀委员 commend",
        Ok(AssessmentOutcome::Talk) => "约谈 talk",
        Ok(AssessmentOutcome::ConsiderDismissal) => "劝辞 consider dismissal",
        _ => "",
    }
}

fn decision_label(d: i32) -> &'static str {
    match OutcomeDecision::try_from(d) {
        Ok(OutcomeDecision::Pending) => "待定 pending",
        Ok(OutcomeDecision::Confirmed) => "确认 confirmed",
        Ok(OutcomeDecision::Rejected) => "否决 rejected",
        _ => "",
    }
}

fn result_json(r: &AssessmentResult) -> Value {
    json!({
        "member_id": r.member_id,
        "member_name": r.member_name,
        "category": AssessmentCategory::try_from(r.category).map(|c| c.as_str_name()).unwrap_or_default(),
        "year": r.year,
        "record_points": r.record_points,
        "report_score": r.report_score,
        "score": r.score,
        "rank": r.rank,
        "category_rank": r.category_rank,
        "proposed_outcome": AssessmentOutcome::try_from(r.proposed_outcome).map(|o| o.as_str_name()).unwrap_or_default(),
        "decision": OutcomeDecision::try_from(r.decision).map(|d| d.as_str_name()).unwrap_or_default(),
        "decision_note": r.decision_note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_and_follow_each_other() {
        assert_eq!(parse_project_status("回头看"), Ok(ProjectStatus::FollowUpReview));
        assert_eq!(parse_project_status("follow-up-review"), Ok(ProjectStatus::FollowUpReview));
        assert_eq!(parse_project_status("Study"), Ok(ProjectStatus::Study));
        assert!(parse_project_status("done").unwrap_err().contains("学习"));
        assert_eq!(next_step(ProjectStatus::Declared as i32), Some(ProjectStatus::Study));
        assert_eq!(next_step(ProjectStatus::FollowUpReview as i32), Some(ProjectStatus::Outcome));
        assert_eq!(next_step(ProjectStatus::Outcome as i32), None);
        assert_eq!(status_label(ProjectStatus::Study as i32), "学习 study");
        assert_eq!(parse_outcome_kind("社情民意"), Ok(ProjectOutcomeKind::Information));
    }
}
