//! Democratic supervision (民主监督) and three-level joint supervision.
//!
//! Every operation runs in the caller's own committee scope
//! (`Scope::Committee(own)`, never `System`) and filters by committee in code
//! as well, so SQLite and PostgreSQL answer alike.
//!
//! Joint supervision crosses tenants along exactly two documented paths (see
//! the migration `m20261123_000008_supervision` for the PostgreSQL policies):
//! - the initiator *inserts* the invitation rows (`supervision_participations`
//!   owned by each invited committee, carrying `initiator_committee_id` and a
//!   copy of the project header), after checking that every invited committee
//!   is in its subtree (`committees.path`);
//! - the initiator *reads* the participation and inspection rows whose
//!   `initiator_committee_id` is its own ([`Store::joint_progress`]);
//! - the initiator *publishes* its joint report: one copy per invited
//!   committee in `supervision_joint_reports`, owned by the participant
//!   (migration `m20261126_000005_joint_report_published`,
//!   [`Store::publish_joint_report`]).
//!
//! A participant reads and changes only its own rows; it never reads the
//! initiator's project row nor another participant's rows.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::{Scope, Tx};
use xieshang_platform::ids::CommitteeId;
use xieshang_platform::time::date_to_proto;
use xieshang_proto::events::v1::event::Payload;
use xieshang_proto::events::v1::{
    SupervisionInspectionRecorded, SupervisionRectificationChanged, SupervisionReportFiled,
};

use super::{Store, audit, office, origin};
use crate::domain::supervision::{
    Inspection, JointProgress, JointReport, NewInspection, Participation, ParticipationAction, ParticipationState,
    Problem, Rectification, SupervisionAction, SupervisionKind, SupervisionProject, SupervisionState,
    check_publishable,
};
use crate::domain::{self, supervision};
use crate::entity::{committee, member, sv_inspection, sv_joint_report, sv_participation, sv_problem, sv_project};
use crate::error::{ConsultationError, Result};

fn today() -> NaiveDate {
    xieshang_platform::time::now().date_naive()
}

fn ids_to_text(ids: &[Uuid]) -> String {
    ids.iter().map(Uuid::to_string).collect::<Vec<_>>().join("\n")
}

fn split_lines(s: &str) -> Vec<String> {
    s.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

fn inspection_to_domain(row: sv_inspection::Model) -> Inspection {
    Inspection {
        id: row.id,
        date: row.date,
        place: row.place,
        member_ids: row.member_ids.lines().filter_map(|l| Uuid::parse_str(l).ok()).collect(),
        member_names: split_lines(&row.member_names),
        findings: row.findings,
    }
}

fn problem_to_domain(row: sv_problem::Model) -> Problem {
    Problem {
        number: row.number,
        problem: row.problem,
        suggestion: row.suggestion,
        rectification: Rectification::from_i16(row.rectification).unwrap_or(Rectification::Open),
        rectified_on: row.rectified_on,
        note: row.rectification_note,
    }
}

fn state_of(row: &sv_project::Model) -> SupervisionState {
    SupervisionState::from_i16(row.state).unwrap_or(SupervisionState::Planned)
}

fn participation_state(row: &sv_participation::Model) -> ParticipationState {
    ParticipationState::from_i16(row.state).unwrap_or(ParticipationState::Invited)
}

/// Opens a transaction in the caller's own committee (staff only).
async fn begin_office(store: &Store, ctx: &TenantContext) -> Result<(CommitteeId, Tx)> {
    let committee = office(ctx)?;
    Ok((committee, store.db.begin(Scope::Committee(committee)).await?))
}

async fn find_project(tx: &Tx, committee: CommitteeId, id: Uuid) -> Result<sv_project::Model> {
    sv_project::Entity::find_by_id(id)
        .filter(sv_project::Column::CommitteeId.eq(committee.0))
        .one(&**tx)
        .await?
        .ok_or(ConsultationError::NotFound("supervision project"))
}

async fn load_project(tx: &Tx, row: sv_project::Model) -> Result<SupervisionProject> {
    let inspections = sv_inspection::Entity::find()
        .filter(sv_inspection::Column::CommitteeId.eq(row.committee_id))
        .filter(sv_inspection::Column::ProjectId.eq(row.id))
        .order_by_asc(sv_inspection::Column::Date)
        .order_by_asc(sv_inspection::Column::Id)
        .all(&**tx)
        .await?;
    let problems = sv_problem::Entity::find()
        .filter(sv_problem::Column::CommitteeId.eq(row.committee_id))
        .filter(sv_problem::Column::ProjectId.eq(row.id))
        .order_by_asc(sv_problem::Column::Number)
        .all(&**tx)
        .await?;
    Ok(SupervisionProject {
        id: row.id,
        committee_id: CommitteeId(row.committee_id),
        kind: SupervisionKind::from_i16(row.kind).unwrap_or(SupervisionKind::SpecialCollective),
        state: state_of(&row),
        topic: row.topic,
        start: row.start_date,
        end: row.end_date,
        inspections: inspections.into_iter().map(inspection_to_domain).collect(),
        report_summary: row.report_summary,
        problems: problems.into_iter().map(problem_to_domain).collect(),
        created_at: row.created_at,
        updated_at: row.updated_at,
        report_published_at: row.report_published_at,
    })
}

/// The problems of a published copy: a JSON array, one object per problem,
/// written and read only here (the stored shape is this module's choice).
fn problems_to_json(problems: &[Problem]) -> String {
    let items: Vec<Value> = problems
        .iter()
        .map(|p| {
            json!({"number": p.number, "problem": p.problem, "suggestion": p.suggestion,
                   "rectification": p.rectification as i16, "rectified_on": p.rectified_on, "note": p.note})
        })
        .collect();
    Value::Array(items).to_string()
}

fn problems_from_json(text: &str) -> Result<Vec<Problem>> {
    // Written by `problems_to_json` only: a mismatch is a storage fault, not input.
    let bad = || ConsultationError::Db(DbErr::Custom("supervision_joint_reports.problems is malformed".into()));
    let items: Vec<Value> = serde_json::from_str(text).map_err(|_| bad())?;
    items
        .into_iter()
        .map(|v| {
            let str_of = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
            Ok(Problem {
                number: v.get("number").and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok()).ok_or_else(bad)?,
                problem: str_of("problem").ok_or_else(bad)?,
                suggestion: str_of("suggestion").ok_or_else(bad)?,
                rectification: v
                    .get("rectification")
                    .and_then(Value::as_i64)
                    .and_then(|n| i16::try_from(n).ok())
                    .and_then(Rectification::from_i16)
                    .ok_or_else(bad)?,
                rectified_on: str_of("rectified_on").and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
                note: str_of("note").unwrap_or_default(),
            })
        })
        .collect()
}

fn joint_report_to_domain(row: sv_joint_report::Model) -> Result<JointReport> {
    Ok(JointReport {
        project_id: row.project_id,
        initiator: CommitteeId(row.initiator_committee_id),
        initiator_name: row.initiator_name,
        topic: row.topic,
        summary: row.summary,
        problems: problems_from_json(&row.problems)?,
        reported_at: row.reported_at,
        published_at: row.published_at,
    })
}

async fn save_project(tx: &Tx, mut row: sv_project::Model) -> Result<sv_project::Model> {
    row.updated_at = xieshang_platform::time::now();
    sv_project::ActiveModel::from(row.clone()).reset_all().update(&**tx).await?;
    Ok(row)
}

/// Checks roster ids (of `committee`) and adds their names to the entered ones.
async fn checked_inspection(tx: &Tx, committee: CommitteeId, new: NewInspection) -> Result<NewInspection> {
    let mut new = new.check()?;
    if !new.member_ids.is_empty() {
        let roster = member::Entity::find()
            .filter(member::Column::CommitteeId.eq(committee.0))
            .filter(member::Column::Id.is_in(new.member_ids.clone()))
            .all(&**tx)
            .await?;
        let known: BTreeMap<Uuid, String> = roster.into_iter().map(|m| (m.id, m.name)).collect();
        for id in &new.member_ids {
            let name = known
                .get(id)
                .ok_or_else(|| ConsultationError::invalid("inspection.member_ids", format!("{id} is not a member")))?;
            if !new.member_names.contains(name) {
                new.member_names.push(name.clone());
            }
        }
    }
    Ok(new)
}

fn inspection_row(
    committee: CommitteeId,
    initiator: Option<Uuid>,
    project_id: Option<Uuid>,
    participation_id: Option<Uuid>,
    new: NewInspection,
) -> sv_inspection::Model {
    sv_inspection::Model {
        id: Uuid::now_v7(),
        committee_id: committee.0,
        initiator_committee_id: initiator,
        project_id,
        participation_id,
        date: new.date,
        place: new.place,
        member_names: new.member_names.join("\n"),
        member_ids: ids_to_text(&new.member_ids),
        findings: new.findings,
        created_at: xieshang_platform::time::now(),
    }
}

/// `SupervisionInspectionRecorded` for a stored inspection: its roster
/// members, each once (membership credits each with an INSPECTIONS entry).
fn inspection_recorded(row: &sv_inspection::Model, project_id: Uuid) -> Payload {
    let mut seen = HashSet::new();
    let member_ids = row.member_ids.lines().filter(|l| !l.is_empty() && seen.insert(*l)).map(str::to_owned).collect();
    Payload::SupervisionInspectionRecorded(SupervisionInspectionRecorded {
        inspection_id: row.id.to_string(),
        project_id: project_id.to_string(),
        participation_id: row.participation_id.map(|p| p.to_string()).unwrap_or_default(),
        date: Some(date_to_proto(row.date)),
        member_ids,
    })
}

async fn committee_names(tx: &Tx, ids: Vec<Uuid>) -> Result<BTreeMap<Uuid, String>> {
    Ok(committee::Entity::find()
        .filter(committee::Column::Id.is_in(ids))
        .all(&**tx)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect())
}

fn participation_to_domain(
    row: sv_participation::Model,
    committee_name: String,
    inspections: Vec<sv_inspection::Model>,
    joint_report: Option<JointReport>,
) -> Participation {
    let state = participation_state(&row);
    Participation {
        id: row.id,
        project_id: row.project_id,
        committee_id: CommitteeId(row.committee_id),
        committee_name,
        initiator: CommitteeId(row.initiator_committee_id),
        initiator_name: row.initiator_name,
        topic: row.topic,
        start: row.start_date,
        end: row.end_date,
        overdue: state.is_overdue(row.end_date, today()),
        state,
        response_note: row.response_note,
        summary: row.summary,
        inspections: inspections.into_iter().map(inspection_to_domain).collect(),
        responded_at: row.responded_at,
        submitted_at: row.submitted_at,
        joint_report,
    }
}

/// A participation of the caller's committee (its own row), or `NotFound`.
async fn find_participation(tx: &Tx, committee: CommitteeId, id: Uuid) -> Result<sv_participation::Model> {
    sv_participation::Entity::find_by_id(id)
        .filter(sv_participation::Column::CommitteeId.eq(committee.0))
        .one(&**tx)
        .await?
        .ok_or(ConsultationError::NotFound("participation"))
}

/// The participant's own view of its part, with its copy of the joint report
/// once published.
async fn load_participation(tx: &Tx, row: sv_participation::Model) -> Result<Participation> {
    let inspections = sv_inspection::Entity::find()
        .filter(sv_inspection::Column::CommitteeId.eq(row.committee_id))
        .filter(sv_inspection::Column::ParticipationId.eq(row.id))
        .order_by_asc(sv_inspection::Column::Date)
        .order_by_asc(sv_inspection::Column::Id)
        .all(&**tx)
        .await?;
    let name = committee_names(tx, vec![row.committee_id]).await?.remove(&row.committee_id).unwrap_or_default();
    let report = sv_joint_report::Entity::find()
        .filter(sv_joint_report::Column::CommitteeId.eq(row.committee_id))
        .filter(sv_joint_report::Column::ParticipationId.eq(row.id))
        .one(&**tx)
        .await?
        .map(joint_report_to_domain)
        .transpose()?;
    Ok(participation_to_domain(row, name, inspections, report))
}

async fn save_participation(tx: &Tx, mut row: sv_participation::Model) -> Result<sv_participation::Model> {
    row.updated_at = xieshang_platform::time::now();
    sv_participation::ActiveModel::from(row.clone()).reset_all().update(&**tx).await?;
    Ok(row)
}

/// A joint project of the caller's committee, or `NotFound` (also for its
/// other projects: the joint calls do not reveal them).
async fn find_joint_project(tx: &Tx, initiator: CommitteeId, id: Uuid) -> Result<sv_project::Model> {
    let row = find_project(tx, initiator, id).await?;
    if row.kind != SupervisionKind::ThreeLevelJoint as i16 {
        return Err(ConsultationError::NotFound("joint project"));
    }
    Ok(row)
}

/// The initiator's combined view of a joint project: every participation
/// with its inspections and findings, read under `joint_initiator_reads`.
async fn progress_of(tx: &Tx, initiator: CommitteeId, row: sv_project::Model) -> Result<JointProgress> {
    let parts = sv_participation::Entity::find()
        .filter(sv_participation::Column::InitiatorCommitteeId.eq(initiator.0))
        .filter(sv_participation::Column::ProjectId.eq(row.id))
        .order_by_asc(sv_participation::Column::Id)
        .all(&**tx)
        .await?;
    let mut inspections: BTreeMap<Uuid, Vec<sv_inspection::Model>> = BTreeMap::new();
    for i in sv_inspection::Entity::find()
        .filter(sv_inspection::Column::InitiatorCommitteeId.eq(initiator.0))
        .filter(sv_inspection::Column::ParticipationId.is_in(parts.iter().map(|p| p.id).collect::<Vec<_>>()))
        .order_by_asc(sv_inspection::Column::Date)
        .order_by_asc(sv_inspection::Column::Id)
        .all(&**tx)
        .await?
    {
        if let Some(p) = i.participation_id {
            inspections.entry(p).or_default().push(i);
        }
    }
    let mut names = committee_names(tx, parts.iter().map(|p| p.committee_id).collect()).await?;
    let participations = parts
        .into_iter()
        .map(|p| {
            let name = names.remove(&p.committee_id).unwrap_or_default();
            let found = inspections.remove(&p.id).unwrap_or_default();
            participation_to_domain(p, name, found, None)
        })
        .collect();
    let project = load_project(tx, row).await?;
    Ok(JointProgress { project, participations })
}

impl Store {
    /// Opens a project of the caller's committee in state PLANNED. Staff.
    pub async fn create_supervision_project(
        &self,
        ctx: &TenantContext,
        kind: SupervisionKind,
        topic: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<SupervisionProject> {
        if kind == SupervisionKind::ThreeLevelJoint {
            return Err(ConsultationError::invalid(
                "kind",
                "a THREE_LEVEL_JOINT project is opened by CreateJointProject",
            ));
        }
        let topic = supervision::topic(topic)?;
        let (start, end) = supervision::period(start, end)?;
        let (committee, tx) = begin_office(self, ctx).await?;
        let row = new_project(committee, kind, topic, start, end, SupervisionState::Planned);
        sv_project::ActiveModel::from(row.clone()).reset_all().insert(&*tx).await?;
        audit(
            &tx,
            ctx,
            committee,
            "supervision_project",
            row.id,
            json!({"kind": kind.as_str(), "topic": row.topic, "start_date": start, "end_date": end, "state": "PLANNED"}),
        )
        .await?;
        let project = load_project(&tx, row).await?;
        tx.commit().await?;
        Ok(project)
    }

    pub async fn get_supervision_project(&self, ctx: &TenantContext, id: Uuid) -> Result<SupervisionProject> {
        let (committee, tx) = begin_office(self, ctx).await?;
        let project = load_project(&tx, find_project(&tx, committee, id).await?).await?;
        tx.commit().await?;
        Ok(project)
    }

    /// The committee's projects (including joint projects it initiated), oldest first.
    pub async fn list_supervision_projects(
        &self,
        ctx: &TenantContext,
        state: Option<SupervisionState>,
    ) -> Result<Vec<SupervisionProject>> {
        let (committee, tx) = begin_office(self, ctx).await?;
        let mut query = sv_project::Entity::find().filter(sv_project::Column::CommitteeId.eq(committee.0));
        if let Some(state) = state {
            query = query.filter(sv_project::Column::State.eq(state as i16));
        }
        let mut out = Vec::new();
        for row in query.order_by_asc(sv_project::Column::Id).all(&*tx).await? {
            out.push(load_project(&tx, row).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Moves a project by `action` (start or close), audited.
    pub async fn move_supervision_project(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        action: SupervisionAction,
    ) -> Result<SupervisionProject> {
        let (committee, tx) = begin_office(self, ctx).await?;
        let mut row = find_project(&tx, committee, id).await?;
        let from = state_of(&row);
        let to = from.apply(action)?;
        if action == SupervisionAction::Close {
            let open = sv_problem::Entity::find()
                .filter(sv_problem::Column::CommitteeId.eq(committee.0))
                .filter(sv_problem::Column::ProjectId.eq(id))
                .all(&*tx)
                .await?
                .into_iter()
                .filter(|p| !Rectification::from_i16(p.rectification).is_some_and(Rectification::is_final))
                .count();
            if open > 0 {
                return Err(ConsultationError::precondition(format!(
                    "the supervision project is {}; {open} problem(s) are still OPEN or IN_PROGRESS",
                    from.as_str()
                )));
            }
        }
        row.state = to as i16;
        let row = save_project(&tx, row).await?;
        audit(&tx, ctx, committee, "supervision_project", id, json!({"state": [from.as_str(), to.as_str()]})).await?;
        let project = load_project(&tx, row).await?;
        tx.commit().await?;
        Ok(project)
    }

    /// Records an inspection of an ONGOING project and emits
    /// `SupervisionInspectionRecorded` with it. Staff.
    pub async fn add_supervision_inspection(
        &self,
        ctx: &TenantContext,
        project_id: Uuid,
        new: NewInspection,
    ) -> Result<SupervisionProject> {
        let (committee, tx) = begin_office(self, ctx).await?;
        let row = find_project(&tx, committee, project_id).await?;
        state_of(&row).apply(SupervisionAction::Inspect)?;
        let new = checked_inspection(&tx, committee, new).await?;
        let inspection = inspection_row(committee, None, Some(project_id), None, new);
        sv_inspection::ActiveModel::from(inspection.clone()).reset_all().insert(&*tx).await?;
        audit(
            &tx,
            ctx,
            committee,
            "supervision_project",
            project_id,
            json!({"inspection": {"id": inspection.id, "date": inspection.date, "place": inspection.place}}),
        )
        .await?;
        let payload = inspection_recorded(&inspection, project_id);
        tx.emit(&origin(&tx, Some(ctx.user_id), committee).await?, payload).await?;
        let row = save_project(&tx, row).await?;
        let project = load_project(&tx, row).await?;
        tx.commit().await?;
        Ok(project)
    }

    /// ONGOING → REPORTED with the numbered problems and suggestions. Staff
    /// (for a JOINT project: the initiator's joint report).
    pub async fn file_supervision_report(
        &self,
        ctx: &TenantContext,
        project_id: Uuid,
        summary: &str,
        problems: &[(String, String)],
    ) -> Result<SupervisionProject> {
        let (summary, problems) = supervision::report(summary, problems)?;
        let (committee, tx) = begin_office(self, ctx).await?;
        let mut row = find_project(&tx, committee, project_id).await?;
        let to = state_of(&row).apply(SupervisionAction::Report)?;
        let now = xieshang_platform::time::now();
        for (i, (problem, suggestion)) in problems.iter().enumerate() {
            let p = sv_problem::Model {
                id: Uuid::now_v7(),
                committee_id: committee.0,
                project_id,
                number: i as i32 + 1,
                problem: problem.clone(),
                suggestion: suggestion.clone(),
                rectification: Rectification::Open as i16,
                rectified_on: None,
                rectification_note: String::new(),
                updated_at: now,
            };
            sv_problem::ActiveModel::from(p).reset_all().insert(&*tx).await?;
        }
        row.state = to as i16;
        row.report_summary = summary;
        row.reported_at = Some(now);
        let row = save_project(&tx, row).await?;
        audit(
            &tx,
            ctx,
            committee,
            "supervision_project",
            project_id,
            json!({"state": ["ONGOING", "REPORTED"], "problems": problems.len()}),
        )
        .await?;
        let payload = Payload::SupervisionReportFiled(SupervisionReportFiled {
            project_id: project_id.to_string(),
            problem_count: problems.len() as i32,
        });
        tx.emit(&origin(&tx, Some(ctx.user_id), committee).await?, payload).await?;
        let project = load_project(&tx, row).await?;
        tx.commit().await?;
        Ok(project)
    }

    /// Moves one problem's rectification (整改). Staff; project REPORTED.
    pub async fn update_rectification(
        &self,
        ctx: &TenantContext,
        project_id: Uuid,
        number: i32,
        to: Rectification,
        rectified_on: Option<NaiveDate>,
        note: &str,
    ) -> Result<SupervisionProject> {
        let note = domain::text("note", note, 1000, to == Rectification::NotRectified)?;
        if to == Rectification::Rectified && rectified_on.is_none() {
            return Err(ConsultationError::invalid("rectified_date", "is required for RECTIFIED"));
        }
        let (committee, tx) = begin_office(self, ctx).await?;
        let row = find_project(&tx, committee, project_id).await?;
        state_of(&row).apply(SupervisionAction::Rectify)?;
        let mut problem = sv_problem::Entity::find()
            .filter(sv_problem::Column::CommitteeId.eq(committee.0))
            .filter(sv_problem::Column::ProjectId.eq(project_id))
            .filter(sv_problem::Column::Number.eq(number))
            .one(&*tx)
            .await?
            .ok_or(ConsultationError::NotFound("problem"))?;
        let from = Rectification::from_i16(problem.rectification).unwrap_or(Rectification::Open);
        from.advance(to)?;
        problem.rectification = to as i16;
        if to == Rectification::Rectified {
            problem.rectified_on = rectified_on;
        }
        if !note.is_empty() {
            problem.rectification_note = note;
        }
        problem.updated_at = xieshang_platform::time::now();
        sv_problem::ActiveModel::from(problem.clone()).reset_all().update(&*tx).await?;
        audit(
            &tx,
            ctx,
            committee,
            "supervision_project",
            project_id,
            json!({"problem": number, "rectification": [from.as_str(), to.as_str()],
                   "rectified_on": problem.rectified_on, "note": problem.rectification_note}),
        )
        .await?;
        let payload = Payload::SupervisionRectificationChanged(SupervisionRectificationChanged {
            project_id: project_id.to_string(),
            problem_number: number,
            from: from.event_value().to_owned(),
            to: to.event_value().to_owned(),
        });
        tx.emit(&origin(&tx, Some(ctx.user_id), committee).await?, payload).await?;
        let row = save_project(&tx, row).await?;
        let project = load_project(&tx, row).await?;
        tx.commit().await?;
        Ok(project)
    }

    // ---- Three-level joint supervision ----

    /// Opens a JOINT project (ONGOING) and invites committees of the caller's
    /// subtree: one participation row per invited committee, owned by it.
    pub async fn create_joint_project(
        &self,
        ctx: &TenantContext,
        topic: &str,
        start: NaiveDate,
        end: NaiveDate,
        invited: Vec<Uuid>,
    ) -> Result<SupervisionProject> {
        const FIELD: &str = "invited_committee_ids";
        let topic = supervision::topic(topic)?;
        let (start, end) = supervision::period(start, end)?;
        if invited.is_empty() || invited.len() > 200 {
            return Err(ConsultationError::invalid(FIELD, "must name 1 to 200 committees"));
        }
        if invited.iter().collect::<HashSet<_>>().len() != invited.len() {
            return Err(ConsultationError::invalid(FIELD, "must not repeat a committee"));
        }
        let (initiator, tx) = begin_office(self, ctx).await?;
        let me = committee::Entity::find_by_id(initiator.0)
            .one(&*tx)
            .await?
            .ok_or(ConsultationError::NotFound("committee"))?;
        let found: BTreeMap<Uuid, committee::Model> = committee::Entity::find()
            .filter(committee::Column::Id.is_in(invited.clone()))
            .all(&*tx)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        for id in &invited {
            let below = found.get(id).is_some_and(|c| c.id != me.id && c.path.starts_with(&me.path));
            if !below {
                return Err(ConsultationError::invalid(FIELD, format!("{id} is not a committee below the initiator")));
            }
            if found[id].suspended {
                return Err(ConsultationError::invalid(FIELD, format!("{id} is suspended")));
            }
        }
        let row =
            new_project(initiator, SupervisionKind::ThreeLevelJoint, topic, start, end, SupervisionState::Ongoing);
        sv_project::ActiveModel::from(row.clone()).reset_all().insert(&*tx).await?;
        let now = xieshang_platform::time::now();
        for id in &invited {
            // Inserted in the participant's name: allowed on PostgreSQL only
            // by the `joint_initiator_invites` policy (initiator_committee_id = tenant).
            let p = sv_participation::Model {
                id: Uuid::now_v7(),
                committee_id: *id,
                initiator_committee_id: initiator.0,
                project_id: row.id,
                initiator_name: me.name.clone(),
                topic: row.topic.clone(),
                start_date: start,
                end_date: end,
                state: ParticipationState::Invited as i16,
                response_note: String::new(),
                summary: String::new(),
                responded_at: None,
                submitted_at: None,
                created_at: now,
                updated_at: now,
            };
            sv_participation::ActiveModel::from(p).reset_all().insert(&*tx).await?;
        }
        audit(
            &tx,
            ctx,
            initiator,
            "supervision_project",
            row.id,
            json!({"kind": "THREE_LEVEL_JOINT", "topic": row.topic, "start_date": start, "end_date": end,
                   "invited_committee_ids": invited}),
        )
        .await?;
        let project = load_project(&tx, row).await?;
        tx.commit().await?;
        Ok(project)
    }

    /// The initiator's combined view of a joint project: every participation
    /// with its inspections and findings. This is the one read across
    /// committees (policy `joint_initiator_reads` on PostgreSQL).
    pub async fn joint_progress(&self, ctx: &TenantContext, project_id: Uuid) -> Result<JointProgress> {
        let (initiator, tx) = begin_office(self, ctx).await?;
        let row = find_joint_project(&tx, initiator, project_id).await?;
        let progress = progress_of(&tx, initiator, row).await?;
        tx.commit().await?;
        Ok(progress)
    }

    /// Publishes a REPORTED joint project's report to every invited committee
    /// (declined and unanswered invitations included: the report is the
    /// outcome of a project they were invited to). Each gets a copy, owned by
    /// it, inserted in the initiator's transaction under the
    /// `joint_initiator_publishes` policy; the publication is recorded on the
    /// project and audited. Once only.
    pub async fn publish_joint_report(&self, ctx: &TenantContext, project_id: Uuid) -> Result<JointProgress> {
        let (initiator, tx) = begin_office(self, ctx).await?;
        let row = find_joint_project(&tx, initiator, project_id).await?;
        check_publishable(state_of(&row), row.report_published_at)?;
        let now = xieshang_platform::time::now();
        // The guard under concurrency: of two publications that both read the
        // project unpublished, only one updates it (PostgreSQL re-checks the
        // condition after the first commits; SQLite has one writer).
        let claimed = sv_project::Entity::update_many()
            .col_expr(sv_project::Column::ReportPublishedAt, Expr::value(now))
            .col_expr(sv_project::Column::ReportPublishedBy, Expr::value(ctx.user_id.0))
            .col_expr(sv_project::Column::UpdatedAt, Expr::value(now))
            .filter(sv_project::Column::Id.eq(project_id))
            .filter(sv_project::Column::CommitteeId.eq(initiator.0))
            .filter(sv_project::Column::State.eq(SupervisionState::Reported as i16))
            .filter(sv_project::Column::ReportPublishedAt.is_null())
            .exec(&*tx)
            .await?;
        if claimed.rows_affected == 0 {
            let current = find_joint_project(&tx, initiator, project_id).await?;
            check_publishable(state_of(&current), current.report_published_at)?;
            return Err(ConsultationError::precondition("the joint report is being published by another request"));
        }
        let me = committee::Entity::find_by_id(initiator.0)
            .one(&*tx)
            .await?
            .ok_or(ConsultationError::NotFound("committee"))?;
        let problems: Vec<Problem> = sv_problem::Entity::find()
            .filter(sv_problem::Column::CommitteeId.eq(initiator.0))
            .filter(sv_problem::Column::ProjectId.eq(project_id))
            .order_by_asc(sv_problem::Column::Number)
            .all(&*tx)
            .await?
            .into_iter()
            .map(problem_to_domain)
            .collect();
        let invited = sv_participation::Entity::find()
            .filter(sv_participation::Column::InitiatorCommitteeId.eq(initiator.0))
            .filter(sv_participation::Column::ProjectId.eq(project_id))
            .order_by_asc(sv_participation::Column::Id)
            .all(&*tx)
            .await?;
        let problems_json = problems_to_json(&problems);
        for part in &invited {
            // Inserted in the participant's name: allowed on PostgreSQL only
            // by `joint_initiator_publishes` (a participation this initiator
            // invited to this project).
            let copy = sv_joint_report::Model {
                id: Uuid::now_v7(),
                committee_id: part.committee_id,
                initiator_committee_id: initiator.0,
                project_id,
                participation_id: part.id,
                initiator_name: me.name.clone(),
                topic: row.topic.clone(),
                summary: row.report_summary.clone(),
                problems: problems_json.clone(),
                reported_at: row.reported_at,
                published_at: now,
                published_by: ctx.user_id.0,
                created_at: now,
            };
            sv_joint_report::ActiveModel::from(copy).reset_all().insert(&*tx).await?;
        }
        audit(
            &tx,
            ctx,
            initiator,
            "supervision_project",
            project_id,
            json!({"report_published_at": now, "problems": problems.len(),
                   "published_to": invited.iter().map(|p| p.committee_id).collect::<Vec<_>>()}),
        )
        .await?;
        let row = find_joint_project(&tx, initiator, project_id).await?;
        let progress = progress_of(&tx, initiator, row).await?;
        tx.commit().await?;
        Ok(progress)
    }

    /// The caller's committee's participations (its invitations), oldest first.
    pub async fn list_participations(
        &self,
        ctx: &TenantContext,
        state: Option<ParticipationState>,
    ) -> Result<Vec<Participation>> {
        let (committee, tx) = begin_office(self, ctx).await?;
        let mut query = sv_participation::Entity::find().filter(sv_participation::Column::CommitteeId.eq(committee.0));
        if let Some(state) = state {
            query = query.filter(sv_participation::Column::State.eq(state as i16));
        }
        let mut out = Vec::new();
        for row in query.order_by_asc(sv_participation::Column::Id).all(&*tx).await? {
            out.push(load_participation(&tx, row).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn get_participation(&self, ctx: &TenantContext, id: Uuid) -> Result<Participation> {
        let (committee, tx) = begin_office(self, ctx).await?;
        let part = load_participation(&tx, find_participation(&tx, committee, id).await?).await?;
        tx.commit().await?;
        Ok(part)
    }

    /// INVITED → ACCEPTED or DECLINED (a reason is required to decline).
    pub async fn respond_to_invitation(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        accept: bool,
        note: &str,
    ) -> Result<Participation> {
        let note = domain::text("note", note, 500, !accept)?;
        let (committee, tx) = begin_office(self, ctx).await?;
        let mut row = find_participation(&tx, committee, id).await?;
        let from = participation_state(&row);
        let action = if accept { ParticipationAction::Accept } else { ParticipationAction::Decline };
        let to = from.apply(action)?;
        row.state = to as i16;
        row.response_note = note;
        row.responded_at = Some(xieshang_platform::time::now());
        let row = save_participation(&tx, row).await?;
        audit(&tx, ctx, committee, "supervision_participation", id, json!({"state": [from.as_str(), to.as_str()]}))
            .await?;
        let part = load_participation(&tx, row).await?;
        tx.commit().await?;
        Ok(part)
    }

    /// Records an inspection in the participant's own area (ACCEPTED only)
    /// and emits `SupervisionInspectionRecorded` in the participant's name.
    pub async fn add_participation_inspection(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        new: NewInspection,
    ) -> Result<Participation> {
        let (committee, tx) = begin_office(self, ctx).await?;
        let row = find_participation(&tx, committee, id).await?;
        participation_state(&row).apply(ParticipationAction::Inspect)?;
        let new = checked_inspection(&tx, committee, new).await?;
        let inspection = inspection_row(committee, Some(row.initiator_committee_id), None, Some(id), new);
        sv_inspection::ActiveModel::from(inspection.clone()).reset_all().insert(&*tx).await?;
        audit(
            &tx,
            ctx,
            committee,
            "supervision_participation",
            id,
            json!({"inspection": {"id": inspection.id, "date": inspection.date, "place": inspection.place}}),
        )
        .await?;
        // The participant's own event: its members inspected in its area.
        let payload = inspection_recorded(&inspection, row.project_id);
        tx.emit(&origin(&tx, Some(ctx.user_id), committee).await?, payload).await?;
        let row = save_participation(&tx, row).await?;
        let part = load_participation(&tx, row).await?;
        tx.commit().await?;
        Ok(part)
    }

    /// ACCEPTED → SUBMITTED with a summary of findings; needs an inspection.
    pub async fn submit_participation(&self, ctx: &TenantContext, id: Uuid, summary: &str) -> Result<Participation> {
        let summary = domain::text("summary", summary, 4000, true)?;
        let (committee, tx) = begin_office(self, ctx).await?;
        let mut row = find_participation(&tx, committee, id).await?;
        let from = participation_state(&row);
        let to = from.apply(ParticipationAction::Submit)?;
        let inspected = sv_inspection::Entity::find()
            .filter(sv_inspection::Column::CommitteeId.eq(committee.0))
            .filter(sv_inspection::Column::ParticipationId.eq(id))
            .one(&*tx)
            .await?
            .is_some();
        if !inspected {
            return Err(ConsultationError::precondition(
                "the participation is ACCEPTED; record at least one inspection before submitting",
            ));
        }
        row.state = to as i16;
        row.summary = summary;
        row.submitted_at = Some(xieshang_platform::time::now());
        let row = save_participation(&tx, row).await?;
        audit(&tx, ctx, committee, "supervision_participation", id, json!({"state": [from.as_str(), to.as_str()]}))
            .await?;
        let part = load_participation(&tx, row).await?;
        tx.commit().await?;
        Ok(part)
    }
}

fn new_project(
    committee: CommitteeId,
    kind: SupervisionKind,
    topic: String,
    start: NaiveDate,
    end: NaiveDate,
    state: SupervisionState,
) -> sv_project::Model {
    let now = xieshang_platform::time::now();
    sv_project::Model {
        id: Uuid::now_v7(),
        committee_id: committee.0,
        kind: kind as i16,
        topic,
        start_date: start,
        end_date: end,
        state: state as i16,
        report_summary: String::new(),
        reported_at: None,
        created_at: now,
        updated_at: now,
        report_published_at: None,
        report_published_by: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inspection_event_names_each_roster_member_once_and_its_participation() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let project = Uuid::now_v7();
        let new = NewInspection {
            date: NaiveDate::from_ymd_opt(2026, 5, 12).unwrap(),
            place: "凤凰镇东街村".into(),
            member_ids: vec![a, b, a],
            member_names: vec!["王志强".into()],
            findings: String::new(),
        };
        let own = inspection_row(CommitteeId(Uuid::now_v7()), None, Some(project), None, new.clone());
        let Payload::SupervisionInspectionRecorded(e) = inspection_recorded(&own, project) else {
            panic!("not an inspection event")
        };
        assert_eq!(e.member_ids, [a.to_string(), b.to_string()]);
        assert_eq!((e.inspection_id, e.project_id), (own.id.to_string(), project.to_string()));
        assert!(e.participation_id.is_empty());
        assert_eq!(e.date.map(|d| (d.year, d.month, d.day)), Some((2026, 5, 12)));

        let part = Uuid::now_v7();
        let joint = inspection_row(CommitteeId(Uuid::now_v7()), Some(Uuid::now_v7()), None, Some(part), new);
        let Payload::SupervisionInspectionRecorded(e) = inspection_recorded(&joint, project) else {
            panic!("not an inspection event")
        };
        assert_eq!(e.participation_id, part.to_string());
    }
}
