//! The gRPC surface of `SupervisionService` (democratic supervision and
//! three-level joint supervision): authenticate → convert and validate →
//! call the store → convert back.

use tonic::{Request, Response, Status};
use uuid::Uuid;
use xieshang_platform::auth::authenticated;
use xieshang_platform::status::invalid_argument;
use xieshang_platform::time::{date_from_proto, date_to_proto, timestamp};
use xieshang_proto::consultation::v1 as pb;

use crate::domain::supervision::{
    Inspection, JointProgress, JointReport, NewInspection, Participation, ParticipationState, Problem, Rectification,
    SupervisionAction, SupervisionKind, SupervisionProject, SupervisionState,
};
use crate::store::Store;

type Reply<T> = Result<Response<T>, Status>;

fn id(field: &str, s: &str) -> Result<Uuid, Status> {
    if s.is_empty() {
        return Err(invalid_argument(field, "is required"));
    }
    Uuid::parse_str(s).map_err(|_| invalid_argument(field, "is not a valid id"))
}

fn enum_value<T>(field: &str, v: i32, from: fn(i16) -> Option<T>, what: &str) -> Result<Option<T>, Status> {
    if v == 0 {
        return Ok(None);
    }
    i16::try_from(v)
        .ok()
        .and_then(from)
        .map(Some)
        .ok_or_else(|| invalid_argument(field, format!("{v} is not a {what}")))
}

fn inspection_to_proto(i: Inspection) -> pb::SupervisionInspection {
    pb::SupervisionInspection {
        id: i.id.to_string(),
        date: Some(date_to_proto(i.date)),
        place: i.place,
        member_ids: i.member_ids.iter().map(Uuid::to_string).collect(),
        member_names: i.member_names,
        findings: i.findings,
    }
}

fn problem_to_proto(p: Problem) -> pb::SupervisionProblem {
    pb::SupervisionProblem {
        number: p.number,
        problem: p.problem,
        suggestion: p.suggestion,
        rectification: p.rectification as i32,
        rectified_date: p.rectified_on.map(date_to_proto),
        rectification_note: p.note,
    }
}

fn project_to_proto(p: SupervisionProject) -> pb::SupervisionProject {
    pb::SupervisionProject {
        id: p.id.to_string(),
        committee_id: p.committee_id.to_string(),
        kind: p.kind as i32,
        topic: p.topic,
        start_date: Some(date_to_proto(p.start)),
        end_date: Some(date_to_proto(p.end)),
        state: p.state as i32,
        inspections: p.inspections.into_iter().map(inspection_to_proto).collect(),
        report_summary: p.report_summary,
        problems: p.problems.into_iter().map(problem_to_proto).collect(),
        create_time: Some(timestamp(p.created_at)),
        update_time: Some(timestamp(p.updated_at)),
        report_publish_time: p.report_published_at.map(timestamp),
    }
}

fn joint_report_to_proto(r: JointReport) -> pb::JointReport {
    pb::JointReport {
        project_id: r.project_id.to_string(),
        initiator_committee_id: r.initiator.to_string(),
        initiator_name: r.initiator_name,
        topic: r.topic,
        summary: r.summary,
        problems: r.problems.into_iter().map(problem_to_proto).collect(),
        report_time: r.reported_at.map(timestamp),
        publish_time: Some(timestamp(r.published_at)),
    }
}

fn participation_to_proto(p: Participation) -> pb::Participation {
    pb::Participation {
        id: p.id.to_string(),
        project_id: p.project_id.to_string(),
        committee_id: p.committee_id.to_string(),
        committee_name: p.committee_name,
        initiator_committee_id: p.initiator.to_string(),
        initiator_name: p.initiator_name,
        topic: p.topic,
        start_date: Some(date_to_proto(p.start)),
        end_date: Some(date_to_proto(p.end)),
        state: p.state as i32,
        response_note: p.response_note,
        summary: p.summary,
        inspections: p.inspections.into_iter().map(inspection_to_proto).collect(),
        overdue: p.overdue,
        respond_time: p.responded_at.map(timestamp),
        submit_time: p.submitted_at.map(timestamp),
        joint_report: p.joint_report.map(joint_report_to_proto),
    }
}

/// The initiator's combined view with its counts.
fn progress_to_proto(progress: JointProgress) -> pb::JointProgress {
    let count = |f: &dyn Fn(&Participation) -> bool| progress.participations.iter().filter(|p| f(p)).count() as i32;
    let accepted_count = count(&|p| matches!(p.state, ParticipationState::Accepted | ParticipationState::Submitted));
    let declined_count = count(&|p| p.state == ParticipationState::Declined);
    let submitted_count = count(&|p| p.state == ParticipationState::Submitted);
    let overdue_count = count(&|p| p.overdue);
    pb::JointProgress {
        invited_count: progress.participations.len() as i32,
        accepted_count,
        declined_count,
        submitted_count,
        overdue_count,
        project: Some(project_to_proto(progress.project)),
        participations: progress.participations.into_iter().map(participation_to_proto).collect(),
    }
}

fn new_inspection(i: Option<&pb::SupervisionInspection>) -> Result<NewInspection, Status> {
    let i = i.ok_or_else(|| invalid_argument("inspection", "is required"))?;
    Ok(NewInspection {
        date: date_from_proto("inspection.date", i.date.as_ref())?,
        place: i.place.clone(),
        member_ids: i.member_ids.iter().map(|m| id("inspection.member_ids", m)).collect::<Result<_, _>>()?,
        member_names: i.member_names.clone(),
        findings: i.findings.clone(),
    })
}

pub struct SupervisionApi(pub Store);

#[tonic::async_trait]
impl pb::supervision_service_server::SupervisionService for SupervisionApi {
    async fn create_supervision_project(
        &self,
        req: Request<pb::CreateSupervisionProjectRequest>,
    ) -> Reply<pb::SupervisionProject> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let kind = enum_value("kind", r.kind, SupervisionKind::from_i16, "supervision kind")?
            .ok_or_else(|| invalid_argument("kind", "is required"))?;
        let start = date_from_proto("start_date", r.start_date.as_ref())?;
        let end = date_from_proto("end_date", r.end_date.as_ref())?;
        let p = self.0.create_supervision_project(ctx, kind, &r.topic, start, end).await?;
        Ok(Response::new(project_to_proto(p)))
    }

    async fn get_supervision_project(
        &self,
        req: Request<pb::GetSupervisionProjectRequest>,
    ) -> Reply<pb::SupervisionProject> {
        let ctx = authenticated(&req)?;
        let id = id("id", &req.get_ref().id)?;
        Ok(Response::new(project_to_proto(self.0.get_supervision_project(ctx, id).await?)))
    }

    async fn list_supervision_projects(
        &self,
        req: Request<pb::ListSupervisionProjectsRequest>,
    ) -> Reply<pb::ListSupervisionProjectsResponse> {
        let ctx = authenticated(&req)?;
        let state = enum_value("state", req.get_ref().state, SupervisionState::from_i16, "supervision state")?;
        let projects = self.0.list_supervision_projects(ctx, state).await?;
        Ok(Response::new(pb::ListSupervisionProjectsResponse {
            projects: projects.into_iter().map(project_to_proto).collect(),
        }))
    }

    async fn start_supervision_project(
        &self,
        req: Request<pb::StartSupervisionProjectRequest>,
    ) -> Reply<pb::SupervisionProject> {
        let ctx = authenticated(&req)?;
        let id = id("id", &req.get_ref().id)?;
        Ok(Response::new(project_to_proto(self.0.move_supervision_project(ctx, id, SupervisionAction::Start).await?)))
    }

    async fn add_supervision_inspection(
        &self,
        req: Request<pb::AddSupervisionInspectionRequest>,
    ) -> Reply<pb::SupervisionProject> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let project_id = id("project_id", &r.project_id)?;
        let new = new_inspection(r.inspection.as_ref())?;
        Ok(Response::new(project_to_proto(self.0.add_supervision_inspection(ctx, project_id, new).await?)))
    }

    async fn file_supervision_report(
        &self,
        req: Request<pb::FileSupervisionReportRequest>,
    ) -> Reply<pb::SupervisionProject> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let project_id = id("project_id", &r.project_id)?;
        let problems: Vec<(String, String)> =
            r.problems.iter().map(|p| (p.problem.clone(), p.suggestion.clone())).collect();
        let p = self.0.file_supervision_report(ctx, project_id, &r.summary, &problems).await?;
        Ok(Response::new(project_to_proto(p)))
    }

    async fn update_rectification(
        &self,
        req: Request<pb::UpdateRectificationRequest>,
    ) -> Reply<pb::SupervisionProject> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let project_id = id("project_id", &r.project_id)?;
        if r.number < 1 {
            return Err(invalid_argument("number", "must be a problem number, from 1"));
        }
        let to = enum_value("status", r.status, Rectification::from_i16, "rectification status")?
            .filter(|s| *s != Rectification::Open)
            .ok_or_else(|| invalid_argument("status", "must be IN_PROGRESS, RECTIFIED or NOT_RECTIFIED"))?;
        let date = r.rectified_date.as_ref().map(|d| date_from_proto("rectified_date", Some(d))).transpose()?;
        let p = self.0.update_rectification(ctx, project_id, r.number, to, date, &r.note).await?;
        Ok(Response::new(project_to_proto(p)))
    }

    async fn close_supervision_project(
        &self,
        req: Request<pb::CloseSupervisionProjectRequest>,
    ) -> Reply<pb::SupervisionProject> {
        let ctx = authenticated(&req)?;
        let id = id("id", &req.get_ref().id)?;
        Ok(Response::new(project_to_proto(self.0.move_supervision_project(ctx, id, SupervisionAction::Close).await?)))
    }

    async fn create_joint_project(&self, req: Request<pb::CreateJointProjectRequest>) -> Reply<pb::SupervisionProject> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let start = date_from_proto("start_date", r.start_date.as_ref())?;
        let end = date_from_proto("end_date", r.end_date.as_ref())?;
        let invited =
            r.invited_committee_ids.iter().map(|c| id("invited_committee_ids", c)).collect::<Result<Vec<_>, _>>()?;
        let p = self.0.create_joint_project(ctx, &r.topic, start, end, invited).await?;
        Ok(Response::new(project_to_proto(p)))
    }

    async fn get_joint_progress(&self, req: Request<pb::GetJointProgressRequest>) -> Reply<pb::JointProgress> {
        let ctx = authenticated(&req)?;
        let project_id = id("project_id", &req.get_ref().project_id)?;
        Ok(Response::new(progress_to_proto(self.0.joint_progress(ctx, project_id).await?)))
    }

    async fn publish_joint_report(&self, req: Request<pb::PublishJointReportRequest>) -> Reply<pb::JointProgress> {
        let ctx = authenticated(&req)?;
        let project_id = id("project_id", &req.get_ref().project_id)?;
        Ok(Response::new(progress_to_proto(self.0.publish_joint_report(ctx, project_id).await?)))
    }

    async fn list_participations(
        &self,
        req: Request<pb::ListParticipationsRequest>,
    ) -> Reply<pb::ListParticipationsResponse> {
        let ctx = authenticated(&req)?;
        let state = enum_value("state", req.get_ref().state, ParticipationState::from_i16, "participation state")?;
        let parts = self.0.list_participations(ctx, state).await?;
        Ok(Response::new(pb::ListParticipationsResponse {
            participations: parts.into_iter().map(participation_to_proto).collect(),
        }))
    }

    async fn get_participation(&self, req: Request<pb::GetParticipationRequest>) -> Reply<pb::Participation> {
        let ctx = authenticated(&req)?;
        let id = id("id", &req.get_ref().id)?;
        Ok(Response::new(participation_to_proto(self.0.get_participation(ctx, id).await?)))
    }

    async fn respond_to_invitation(&self, req: Request<pb::RespondToInvitationRequest>) -> Reply<pb::Participation> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let id = id("id", &r.id)?;
        Ok(Response::new(participation_to_proto(self.0.respond_to_invitation(ctx, id, r.accept, &r.note).await?)))
    }

    async fn add_participation_inspection(
        &self,
        req: Request<pb::AddParticipationInspectionRequest>,
    ) -> Reply<pb::Participation> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let id = id("participation_id", &r.participation_id)?;
        let new = new_inspection(r.inspection.as_ref())?;
        Ok(Response::new(participation_to_proto(self.0.add_participation_inspection(ctx, id, new).await?)))
    }

    async fn submit_participation(&self, req: Request<pb::SubmitParticipationRequest>) -> Reply<pb::Participation> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let id = id("id", &r.id)?;
        Ok(Response::new(participation_to_proto(self.0.submit_participation(ctx, id, &r.summary).await?)))
    }
}
