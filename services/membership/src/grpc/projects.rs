//! `xieshang.membership.v1.PerformanceService`: annual performance projects
//! and the annual assessment — conversions and handlers.

use tonic::{Request, Response, Status};
use xieshang_platform::auth::authenticated;
use xieshang_platform::ids::CommitteeId;
use xieshang_platform::status::invalid_argument;
use xieshang_platform::time::{date_from_proto, date_to_proto, timestamp};
use xieshang_proto::membership::v1 as pb;

use super::{Reply, enum_value, id, optional_id, required};
use crate::domain::projects::{
    Advance, AssessmentResult, Category, OutcomeKind, Project, ProjectStatus, ProjectStep, Standard,
};
use crate::domain::text;
use crate::store::{NewProject, Store};

fn centi(c: i32) -> f64 {
    f64::from(c) / 100.0
}

fn step_to_proto(s: ProjectStep) -> pb::ProjectStep {
    pb::ProjectStep {
        step: s.step as i32,
        date: Some(date_to_proto(s.date)),
        note: s.note,
        recorded_by_user_id: s.recorded_by.to_string(),
        create_time: Some(timestamp(s.created_at)),
    }
}

fn project_to_proto(p: Project) -> pb::PerformanceProject {
    let (outcome_kind, outcome_ref) = p.outcome.map_or((0, String::new()), |(k, r)| (k as i32, r));
    pb::PerformanceProject {
        id: p.id.to_string(),
        committee_id: p.committee_id.to_string(),
        member_id: p.member_id.to_string(),
        member_name: p.member_name,
        year: p.year,
        title: p.title,
        description: p.description,
        status: p.status as i32,
        steps: p.steps.into_iter().map(step_to_proto).collect(),
        outcome_kind,
        outcome_ref,
        create_time: Some(timestamp(p.created_at)),
        update_time: Some(timestamp(p.updated_at)),
    }
}

fn standard_to_proto(s: Standard) -> pb::CategoryStandard {
    pb::CategoryStandard {
        category: s.category as i32,
        points_weight_percent: s.points_weight,
        report_weight_percent: s.report_weight,
        commend_top_percent: s.commend_top_percent,
        talk_bottom_count: s.talk_bottom_count,
        dismissal_below_score: centi(s.dismissal_below_centi),
    }
}

fn standard_from_proto(s: &pb::CategoryStandard) -> Result<Standard, Status> {
    let category = required(
        "standards.category",
        enum_value("standards.category", s.category, Category::from_i16, "assessment category")?,
    )?;
    let below = s.dismissal_below_score;
    if !below.is_finite() || !(0.0..=1000.0).contains(&below) {
        return Err(invalid_argument("standards.dismissal_below_score", "must be between 0 and 1000"));
    }
    Ok(Standard {
        category,
        points_weight: s.points_weight_percent,
        report_weight: s.report_weight_percent,
        commend_top_percent: s.commend_top_percent,
        talk_bottom_count: s.talk_bottom_count,
        dismissal_below_centi: (below * 100.0).round() as i32,
    })
}

fn settings_to_proto(committee: CommitteeId, standards: Vec<Standard>) -> pb::AssessmentSettings {
    pb::AssessmentSettings {
        committee_id: committee.to_string(),
        standards: standards.into_iter().map(standard_to_proto).collect(),
    }
}

fn result_to_proto(r: AssessmentResult) -> pb::AssessmentResult {
    let a = r.assessed;
    pb::AssessmentResult {
        member_id: a.candidate.member_id.to_string(),
        member_name: a.candidate.name,
        category: a.candidate.category as i32,
        year: r.year,
        record_points: a.candidate.points,
        report_score: a.candidate.report_centi.map(centi),
        score: centi(a.score_centi),
        rank: a.rank,
        category_rank: a.category_rank,
        proposed_outcome: a.proposed as i32,
        decision: r.decision as i32,
        decided_by_user_id: r.decided_by.map(|u| u.to_string()).unwrap_or_default(),
        decision_note: r.decision_note,
        decide_time: r.decided_at.map(timestamp),
    }
}

fn assessment_to_proto(committee: CommitteeId, year: i32, results: Vec<AssessmentResult>) -> pb::Assessment {
    pb::Assessment {
        committee_id: committee.to_string(),
        year,
        results: results.into_iter().map(result_to_proto).collect(),
    }
}

fn committee(field: &str, s: &str) -> Result<Option<CommitteeId>, Status> {
    if s.is_empty() { Ok(None) } else { Ok(Some(CommitteeId::parse(field, s)?)) }
}

/// `xieshang.membership.v1.PerformanceService`.
pub struct PerformanceApi(pub Store);

#[tonic::async_trait]
impl pb::performance_service_server::PerformanceService for PerformanceApi {
    async fn declare_project(&self, req: Request<pb::DeclareProjectRequest>) -> Reply<pb::PerformanceProject> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let new = NewProject {
            member_id: optional_id("member_id", &r.member_id)?,
            year: r.year,
            title: text("title", &r.title, 100, true)?,
            description: text("description", &r.description, 5000, false)?,
        };
        Ok(Response::new(project_to_proto(self.0.declare_project(ctx, new).await?)))
    }

    async fn get_project(&self, req: Request<pb::GetProjectRequest>) -> Reply<pb::PerformanceProject> {
        let ctx = authenticated(&req)?;
        let project_id = id("id", &req.get_ref().id)?;
        Ok(Response::new(project_to_proto(self.0.get_project(ctx, project_id).await?)))
    }

    async fn list_projects(&self, req: Request<pb::ListProjectsRequest>) -> Reply<pb::ListProjectsResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let status = enum_value("status", r.status, ProjectStatus::from_i16, "project status")?;
        let year = if r.year == 0 { None } else { Some(r.year) };
        let page = self.0.list_projects(ctx, year, status, r.page_size, &r.page_token).await?;
        Ok(Response::new(pb::ListProjectsResponse {
            projects: page.items.into_iter().map(project_to_proto).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn advance_project(&self, req: Request<pb::AdvanceProjectRequest>) -> Reply<pb::PerformanceProject> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let project_id = id("id", &r.id)?;
        let to = required("to", enum_value("to", r.to, ProjectStatus::from_i16, "project status")?)?;
        let kind = enum_value("outcome_kind", r.outcome_kind, OutcomeKind::from_i16, "project outcome kind")?;
        let outcome = match kind {
            Some(k) => Some((k, text("outcome_ref", &r.outcome_ref, 100, true)?)),
            None if !r.outcome_ref.is_empty() => {
                return Err(invalid_argument("outcome_ref", "needs an outcome_kind"));
            }
            None => None,
        };
        let advance = Advance {
            to,
            date: date_from_proto("date", r.date.as_ref())?,
            note: text("note", &r.note, 2000, true)?,
            outcome,
        };
        Ok(Response::new(project_to_proto(self.0.advance_project(ctx, project_id, advance).await?)))
    }

    async fn get_assessment_settings(
        &self,
        req: Request<pb::GetAssessmentSettingsRequest>,
    ) -> Reply<pb::AssessmentSettings> {
        let ctx = authenticated(&req)?;
        let (committee, standards) = self.0.get_assessment_settings(ctx).await?;
        Ok(Response::new(settings_to_proto(committee, standards)))
    }

    async fn update_assessment_settings(
        &self,
        req: Request<pb::UpdateAssessmentSettingsRequest>,
    ) -> Reply<pb::AssessmentSettings> {
        let ctx = authenticated(&req)?;
        let standards = req.get_ref().standards.iter().map(standard_from_proto).collect::<Result<_, _>>()?;
        let (committee, standards) = self.0.set_assessment_settings(ctx, standards).await?;
        Ok(Response::new(settings_to_proto(committee, standards)))
    }

    async fn compute_assessment(&self, req: Request<pb::ComputeAssessmentRequest>) -> Reply<pb::Assessment> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let asked = committee("committee_id", &r.committee_id)?;
        let (committee, results) = self.0.compute_assessment(ctx, asked, r.year).await?;
        Ok(Response::new(assessment_to_proto(committee, r.year, results)))
    }

    async fn confirm_assessment_outcome(
        &self,
        req: Request<pb::ConfirmAssessmentOutcomeRequest>,
    ) -> Reply<pb::AssessmentResult> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let member_id = id("member_id", &r.member_id)?;
        let note = text("note", &r.note, 2000, false)?;
        let result = self.0.decide_assessment_outcome(ctx, r.year, member_id, r.confirm, note).await?;
        Ok(Response::new(result_to_proto(result)))
    }

    async fn list_assessment_results(&self, req: Request<pb::ListAssessmentResultsRequest>) -> Reply<pb::Assessment> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let asked = committee("committee_id", &r.committee_id)?;
        let (committee, results) = self.0.list_assessment_results(ctx, asked, r.year).await?;
        Ok(Response::new(assessment_to_proto(committee, r.year, results)))
    }
}
