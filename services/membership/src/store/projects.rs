//! Annual performance projects (年度履职项目) and the annual assessment (考核).
//!
//! A member works on their own projects only — another member's project is
//! `NotFound`, as is another committee's. The office sees and moves every
//! project of its committee and alone runs the assessment.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::Tx;
use xieshang_platform::ids::{CommitteeId, UserId};

use super::reporting::check_year;
use super::{Page, Store, audit, is_office, office, own_committee, uuid_token};
use crate::domain::MemberStatus;
use crate::domain::projects::{
    Advance, Assessed, AssessmentResult, Candidate, Category, Decision, OutcomeKind, Project, ProjectStatus,
    ProjectStep, ProposedOutcome, Standard, assess,
};
use crate::entity::{assessment_result, assessment_standard, member, project, project_step, record_entry, report};
use crate::error::{MembershipError, Result};

/// A new project: `member_id` None means the caller's own member.
#[derive(Clone, Debug)]
pub struct NewProject {
    pub member_id: Option<Uuid>,
    pub year: i32,
    pub title: String,
    pub description: String,
}

/// Who works on projects.
#[derive(Clone, Copy)]
enum Actor {
    Office,
    Member(Uuid),
}

/// The member linked to the caller's account.
async fn own_member(tx: &Tx, committee: CommitteeId, user: UserId) -> Result<member::Model> {
    member::Entity::find()
        .filter(member::Column::CommitteeId.eq(committee.0))
        .filter(member::Column::UserId.eq(user.0))
        .one(&**tx)
        .await?
        .ok_or_else(|| MembershipError::denied("this needs a member account linked to a member, or the STAFF role"))
}

async fn actor(tx: &Tx, ctx: &TenantContext) -> Result<(CommitteeId, Actor)> {
    let committee = own_committee(ctx)?;
    if is_office(ctx) {
        return Ok((committee, Actor::Office));
    }
    Ok((committee, Actor::Member(own_member(tx, committee, ctx.user_id).await?.id)))
}

/// A project the actor may see: a member only their own.
async fn find_project(tx: &Tx, committee: CommitteeId, actor: Actor, id: Uuid) -> Result<project::Model> {
    let row = project::Entity::find_by_id(id)
        .filter(project::Column::CommitteeId.eq(committee.0))
        .one(&**tx)
        .await?
        .ok_or(MembershipError::NotFound("project"))?;
    match actor {
        Actor::Member(m) if m != row.member_id => Err(MembershipError::NotFound("project")),
        _ => Ok(row),
    }
}

fn status_of(row: &project::Model) -> ProjectStatus {
    ProjectStatus::from_i16(row.status).unwrap_or(ProjectStatus::Declared)
}

/// The projects with their steps and member names.
async fn view(tx: &Tx, rows: Vec<project::Model>) -> Result<Vec<Project>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let members: Vec<Uuid> = rows.iter().map(|r| r.member_id).collect();
    let mut steps: HashMap<Uuid, Vec<ProjectStep>> = HashMap::new();
    for s in project_step::Entity::find()
        .filter(project_step::Column::ProjectId.is_in(ids))
        .order_by_asc(project_step::Column::Step)
        .all(&**tx)
        .await?
    {
        steps.entry(s.project_id).or_default().push(ProjectStep {
            step: ProjectStatus::from_i16(s.step).unwrap_or(ProjectStatus::Declared),
            date: s.date,
            note: s.note,
            recorded_by: UserId(s.recorded_by),
            created_at: s.created_at,
        });
    }
    let names: HashMap<Uuid, String> = member::Entity::find()
        .filter(member::Column::Id.is_in(members))
        .all(&**tx)
        .await?
        .into_iter()
        .map(|m| (m.id, m.name))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| Project {
            id: r.id,
            committee_id: CommitteeId(r.committee_id),
            member_id: r.member_id,
            member_name: names.get(&r.member_id).cloned().unwrap_or_default(),
            year: r.year,
            status: status_of(&r),
            title: r.title,
            description: r.description,
            steps: steps.remove(&r.id).unwrap_or_default(),
            outcome: OutcomeKind::from_i16(r.outcome_kind).map(|k| (k, r.outcome_ref)),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect())
}

async fn view_one(tx: &Tx, row: project::Model) -> Result<Project> {
    view(tx, vec![row]).await?.pop().ok_or(MembershipError::NotFound("project"))
}

async fn standards_of(tx: &Tx, committee: CommitteeId) -> Result<Vec<Standard>> {
    let rows = assessment_standard::Entity::find()
        .filter(assessment_standard::Column::CommitteeId.eq(committee.0))
        .all(&**tx)
        .await?;
    Ok(Category::ALL
        .iter()
        .map(|c| {
            rows.iter().find(|r| r.category == *c as i16).map_or(Standard::default_for(*c), |r| Standard {
                category: *c,
                points_weight: r.points_weight,
                report_weight: r.report_weight,
                commend_top_percent: r.commend_top_percent,
                talk_bottom_count: r.talk_bottom_count,
                dismissal_below_centi: r.dismissal_below_centi,
            })
        })
        .collect())
}

fn standard_json(s: &Standard) -> serde_json::Value {
    json!({"points_weight": s.points_weight, "report_weight": s.report_weight,
        "commend_top_percent": s.commend_top_percent, "talk_bottom_count": s.talk_bottom_count,
        "dismissal_below_centi": s.dismissal_below_centi})
}

/// The committee asked for: the caller's own (another one is `NotFound`).
fn same_committee(own: CommitteeId, asked: Option<CommitteeId>) -> Result<CommitteeId> {
    match asked {
        Some(c) if c != own => Err(MembershipError::NotFound("committee")),
        _ => Ok(own),
    }
}

async fn results_of(tx: &Tx, committee: CommitteeId, year: i32) -> Result<Vec<AssessmentResult>> {
    let rows = assessment_result::Entity::find()
        .filter(assessment_result::Column::CommitteeId.eq(committee.0))
        .filter(assessment_result::Column::Year.eq(year))
        .all(&**tx)
        .await?;
    let names: HashMap<Uuid, String> = member::Entity::find()
        .filter(member::Column::CommitteeId.eq(committee.0))
        .all(&**tx)
        .await?
        .into_iter()
        .map(|m| (m.id, m.name))
        .collect();
    let mut out: Vec<AssessmentResult> = rows
        .into_iter()
        .map(|r| AssessmentResult {
            assessed: Assessed {
                candidate: Candidate {
                    member_id: r.member_id,
                    name: names.get(&r.member_id).cloned().unwrap_or_default(),
                    category: Category::from_i16(r.category).unwrap_or(Category::Member),
                    points: r.record_points,
                    report_centi: r.report_score_centi,
                },
                score_centi: r.score_centi,
                rank: r.rank,
                category_rank: r.category_rank,
                proposed: ProposedOutcome::from_i16(r.proposed_outcome).unwrap_or(ProposedOutcome::None),
            },
            year: r.year,
            decision: Decision::from_i16(r.decision).unwrap_or(Decision::Pending),
            decided_by: r.decided_by.map(UserId),
            decision_note: r.decision_note,
            decided_at: r.decided_at,
        })
        .collect();
    out.sort_by(|a, b| {
        a.assessed.rank.cmp(&b.assessed.rank).then_with(|| a.assessed.candidate.name.cmp(&b.assessed.candidate.name))
    });
    Ok(out)
}

impl Store {
    /// Declares a project (DECLARED). A member for themselves; the office names the member.
    pub async fn declare_project(&self, ctx: &TenantContext, new: NewProject) -> Result<Project> {
        let year = check_year(new.year)?;
        let tx = self.begin(ctx).await?;
        let (committee, actor) = actor(&tx, ctx).await?;
        let member_id = match (actor, new.member_id) {
            (Actor::Member(own), None) => own,
            (Actor::Member(own), Some(m)) if m == own => own,
            (Actor::Member(_), Some(_)) => {
                return Err(MembershipError::denied("members declare projects only for themselves"));
            }
            (Actor::Office, None) => return Err(MembershipError::invalid("member_id", "is required")),
            (Actor::Office, Some(m)) => m,
        };
        let m = member::Entity::find_by_id(member_id)
            .filter(member::Column::CommitteeId.eq(committee.0))
            .one(&*tx)
            .await?
            .ok_or_else(|| MembershipError::invalid("member_id", "is not a member of this committee"))?;
        if m.status != MemberStatus::Serving as i16 {
            return Err(MembershipError::precondition(format!("{} is not serving", m.name)));
        }
        let now = xieshang_platform::time::now();
        let row = project::Model {
            id: Uuid::now_v7(),
            committee_id: committee.0,
            member_id,
            year,
            title: new.title,
            description: new.description,
            status: ProjectStatus::Declared as i16,
            outcome_kind: 0,
            outcome_ref: String::new(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        project::Entity::insert(project::ActiveModel::from(row.clone()).reset_all())
            .exec_without_returning(&*tx)
            .await?;
        let changes = json!({"member_id": member_id, "year": year, "title": row.title, "status": "DECLARED"});
        audit(&tx, ctx, committee, "member_project", row.id, changes).await?;
        let project = view_one(&tx, row).await?;
        tx.commit().await?;
        Ok(project)
    }

    pub async fn get_project(&self, ctx: &TenantContext, id: Uuid) -> Result<Project> {
        let tx = self.begin(ctx).await?;
        let (committee, actor) = actor(&tx, ctx).await?;
        let row = find_project(&tx, committee, actor, id).await?;
        let project = view_one(&tx, row).await?;
        tx.commit().await?;
        Ok(project)
    }

    /// Oldest first, paged. The office sees the committee's; a member their own.
    pub async fn list_projects(
        &self,
        ctx: &TenantContext,
        year: Option<i32>,
        status: Option<ProjectStatus>,
        page_size: i32,
        page_token: &str,
    ) -> Result<Page<Project>> {
        let size = xieshang_platform::page::size(page_size, 50, 500)?;
        let after = uuid_token(page_token)?;
        if let Some(y) = year {
            check_year(y)?;
        }
        let tx = self.begin(ctx).await?;
        let (committee, actor) = actor(&tx, ctx).await?;
        let mut query = project::Entity::find().filter(project::Column::CommitteeId.eq(committee.0));
        if let Actor::Member(m) = actor {
            query = query.filter(project::Column::MemberId.eq(m));
        }
        if let Some(y) = year {
            query = query.filter(project::Column::Year.eq(y));
        }
        if let Some(s) = status {
            query = query.filter(project::Column::Status.eq(s as i16));
        }
        if let Some(after) = after {
            query = query.filter(project::Column::Id.gt(after));
        }
        let mut rows = query.order_by_asc(project::Column::Id).limit(size + 1).all(&*tx).await?;
        let more = rows.len() as u64 > size;
        rows.truncate(size as usize);
        let next_page_token = match (more, rows.last()) {
            (true, Some(last)) => xieshang_platform::page::encode(&last.id.to_string()),
            _ => String::new(),
        };
        let items = view(&tx, rows).await?;
        tx.commit().await?;
        Ok(Page { items, next_page_token })
    }

    /// Moves a project one step forward, dated, with a note.
    pub async fn advance_project(&self, ctx: &TenantContext, id: Uuid, advance: Advance) -> Result<Project> {
        let tx = self.begin(ctx).await?;
        let (committee, actor) = actor(&tx, ctx).await?;
        let mut row = find_project(&tx, committee, actor, id).await?;
        let from = status_of(&row);
        let to = from.advance(advance.to)?;
        let last: Option<NaiveDate> = project_step::Entity::find()
            .filter(project_step::Column::ProjectId.eq(id))
            .order_by_desc(project_step::Column::Step)
            .one(&*tx)
            .await?
            .map(|s| s.date);
        if let Some(last) = last.filter(|l| advance.date < *l) {
            return Err(MembershipError::invalid("date", format!("is before the previous step's date {last}")));
        }
        match (to, &advance.outcome) {
            (ProjectStatus::Outcome, None) => {
                return Err(MembershipError::invalid("outcome_kind", "is required for the OUTCOME step"));
            }
            (ProjectStatus::Outcome, Some((kind, reference))) => {
                row.outcome_kind = *kind as i16;
                row.outcome_ref = reference.clone();
            }
            (_, Some(_)) => {
                return Err(MembershipError::invalid("outcome_kind", "is only for the OUTCOME step"));
            }
            (_, None) => {}
        }
        let now = xieshang_platform::time::now();
        project_step::Entity::insert(
            project_step::ActiveModel::from(project_step::Model {
                committee_id: committee.0,
                project_id: id,
                step: to as i16,
                date: advance.date,
                note: advance.note.clone(),
                recorded_by: ctx.user_id.0,
                created_at: now,
            })
            .reset_all(),
        )
        .exec_without_returning(&*tx)
        .await?;
        let old = row.version;
        row.status = to as i16;
        row.version = old + 1;
        row.updated_at = now;
        let done = project::Entity::update_many()
            .set(project::ActiveModel::from(row.clone()).reset_all())
            .filter(project::Column::Id.eq(id))
            .filter(project::Column::Version.eq(old))
            .exec(&*tx)
            .await?;
        if done.rows_affected == 0 {
            return Err(MembershipError::EtagMismatch);
        }
        let mut changes = json!({"status": {"from": from.as_str(), "to": to.as_str()},
            "date": advance.date.to_string(), "note": advance.note});
        if let Some((kind, reference)) = &advance.outcome {
            changes["outcome"] = json!({"kind": kind.as_str(), "ref": reference});
        }
        audit(&tx, ctx, committee, "member_project", id, changes).await?;
        let project = view_one(&tx, row).await?;
        tx.commit().await?;
        Ok(project)
    }

    /// The committee's standards per category (defaults unless set). Office.
    pub async fn get_assessment_settings(&self, ctx: &TenantContext) -> Result<(CommitteeId, Vec<Standard>)> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let standards = standards_of(&tx, committee).await?;
        tx.commit().await?;
        Ok((committee, standards))
    }

    /// Replaces the standards of the categories given. Office.
    pub async fn set_assessment_settings(
        &self,
        ctx: &TenantContext,
        standards: Vec<Standard>,
    ) -> Result<(CommitteeId, Vec<Standard>)> {
        let committee = office(ctx)?;
        if standards.is_empty() {
            return Err(MembershipError::invalid("standards", "names no category"));
        }
        for (i, s) in standards.iter().enumerate() {
            s.check()?;
            if standards[..i].iter().any(|o| o.category == s.category) {
                return Err(MembershipError::invalid("standards.category", "names a category twice"));
            }
        }
        let tx = self.begin(ctx).await?;
        let before = standards_of(&tx, committee).await?;
        let now = xieshang_platform::time::now();
        let mut changes = json!({});
        for s in &standards {
            assessment_standard::Entity::delete_many()
                .filter(assessment_standard::Column::CommitteeId.eq(committee.0))
                .filter(assessment_standard::Column::Category.eq(s.category as i16))
                .exec(&*tx)
                .await?;
            let row = assessment_standard::Model {
                committee_id: committee.0,
                category: s.category as i16,
                points_weight: s.points_weight,
                report_weight: s.report_weight,
                commend_top_percent: s.commend_top_percent,
                talk_bottom_count: s.talk_bottom_count,
                dismissal_below_centi: s.dismissal_below_centi,
                updated_at: now,
            };
            assessment_standard::Entity::insert(assessment_standard::ActiveModel::from(row).reset_all())
                .exec_without_returning(&*tx)
                .await?;
            let old = before.iter().find(|b| b.category == s.category).copied().unwrap_or(*s);
            let key = if s.category == Category::StandingCommittee { "standing_committee" } else { "member" };
            changes[key] = json!({"from": standard_json(&old), "to": standard_json(s)});
        }
        audit(&tx, ctx, committee, "member_assessment_standards", committee, changes).await?;
        let standards = standards_of(&tx, committee).await?;
        tx.commit().await?;
        Ok((committee, standards))
    }

    /// Computes the year's assessment of the serving members: record points of
    /// the year and the best final reporting score. Replaces earlier results
    /// while none is decided. Office.
    pub async fn compute_assessment(
        &self,
        ctx: &TenantContext,
        asked: Option<CommitteeId>,
        year: i32,
    ) -> Result<(CommitteeId, Vec<AssessmentResult>)> {
        let committee = same_committee(office(ctx)?, asked)?;
        let year = check_year(year)?;
        let tx = self.begin(ctx).await?;
        let decided = assessment_result::Entity::find()
            .filter(assessment_result::Column::CommitteeId.eq(committee.0))
            .filter(assessment_result::Column::Year.eq(year))
            .filter(assessment_result::Column::Decision.ne(Decision::Pending as i16))
            .one(&*tx)
            .await?;
        if decided.is_some() {
            return Err(MembershipError::precondition(format!(
                "the {year} assessment already has CONFIRMED or REJECTED outcomes; it is not recomputed"
            )));
        }
        let members = member::Entity::find()
            .filter(member::Column::CommitteeId.eq(committee.0))
            .filter(member::Column::Status.eq(MemberStatus::Serving as i16))
            .all(&*tx)
            .await?;
        let (first, last) = (
            NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default(),
            NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or_default(),
        );
        let mut points: HashMap<Uuid, i32> = HashMap::new();
        for e in record_entry::Entity::find()
            .filter(record_entry::Column::CommitteeId.eq(committee.0))
            .filter(record_entry::Column::Date.between(first, last))
            .all(&*tx)
            .await?
        {
            *points.entry(e.member_id).or_default() += e.points;
        }
        let mut reports: HashMap<Uuid, i32> = HashMap::new();
        for r in report::Entity::find()
            .filter(report::Column::CommitteeId.eq(committee.0))
            .filter(report::Column::Year.eq(year))
            .all(&*tx)
            .await?
        {
            if let Some(c) = r.final_score_centi {
                let best = reports.entry(r.member_id).or_insert(c);
                *best = (*best).max(c);
            }
        }
        let standards = standards_of(&tx, committee).await?;
        let standard =
            |c: Category| standards.iter().find(|s| s.category == c).copied().unwrap_or(Standard::default_for(c));
        let candidates = members
            .iter()
            .map(|m| Candidate {
                member_id: m.id,
                name: m.name.clone(),
                category: Category::of(m.standing_committee),
                points: points.get(&m.id).copied().unwrap_or(0),
                report_centi: reports.get(&m.id).copied(),
            })
            .collect();
        let assessed = assess(candidates, standard);
        assessment_result::Entity::delete_many()
            .filter(assessment_result::Column::CommitteeId.eq(committee.0))
            .filter(assessment_result::Column::Year.eq(year))
            .exec(&*tx)
            .await?;
        let now = xieshang_platform::time::now();
        for a in &assessed {
            let row = assessment_result::Model {
                id: Uuid::now_v7(),
                committee_id: committee.0,
                year,
                member_id: a.candidate.member_id,
                category: a.candidate.category as i16,
                record_points: a.candidate.points,
                report_score_centi: a.candidate.report_centi,
                score_centi: a.score_centi,
                rank: a.rank,
                category_rank: a.category_rank,
                proposed_outcome: a.proposed as i16,
                decision: Decision::Pending as i16,
                decided_by: None,
                decision_note: String::new(),
                decided_at: None,
                version: 1,
                created_at: now,
            };
            assessment_result::Entity::insert(assessment_result::ActiveModel::from(row).reset_all())
                .exec_without_returning(&*tx)
                .await?;
        }
        let count = |o: ProposedOutcome| assessed.iter().filter(|a| a.proposed == o).count();
        let changes = json!({"year": year, "members": assessed.len(),
            "commend": count(ProposedOutcome::Commend), "talk": count(ProposedOutcome::Talk),
            "consider_dismissal": count(ProposedOutcome::ConsiderDismissal)});
        audit(&tx, ctx, committee, "member_assessment", format!("{committee}/{year}"), changes).await?;
        let results = results_of(&tx, committee, year).await?;
        tx.commit().await?;
        Ok((committee, results))
    }

    /// Confirms or rejects one member's proposed outcome. Office; audited.
    pub async fn decide_assessment_outcome(
        &self,
        ctx: &TenantContext,
        year: i32,
        member_id: Uuid,
        confirm: bool,
        note: String,
    ) -> Result<AssessmentResult> {
        let committee = office(ctx)?;
        let year = check_year(year)?;
        let tx = self.begin(ctx).await?;
        let mut row = assessment_result::Entity::find()
            .filter(assessment_result::Column::CommitteeId.eq(committee.0))
            .filter(assessment_result::Column::Year.eq(year))
            .filter(assessment_result::Column::MemberId.eq(member_id))
            .one(&*tx)
            .await?
            .ok_or(MembershipError::NotFound("assessment result"))?;
        let from = Decision::from_i16(row.decision).unwrap_or(Decision::Pending);
        let to = from.decide(confirm)?;
        let old = row.version;
        row.decision = to as i16;
        row.decided_by = Some(ctx.user_id.0);
        row.decided_at = Some(xieshang_platform::time::now());
        row.decision_note = note.clone();
        row.version = old + 1;
        let done = assessment_result::Entity::update_many()
            .set(assessment_result::ActiveModel::from(row.clone()).reset_all())
            .filter(assessment_result::Column::Id.eq(row.id))
            .filter(assessment_result::Column::Version.eq(old))
            .exec(&*tx)
            .await?;
        if done.rows_affected == 0 {
            return Err(MembershipError::EtagMismatch);
        }
        let proposed = ProposedOutcome::from_i16(row.proposed_outcome).unwrap_or(ProposedOutcome::None);
        let changes = json!({"member_id": member_id, "year": year, "proposed_outcome": proposed.as_str(),
            "decision": {"from": from.as_str(), "to": to.as_str()}, "note": note});
        audit(&tx, ctx, committee, "member_assessment_result", row.id, changes).await?;
        let result = results_of(&tx, committee, year)
            .await?
            .into_iter()
            .find(|r| r.assessed.candidate.member_id == member_id)
            .ok_or(MembershipError::NotFound("assessment result"))?;
        tx.commit().await?;
        Ok(result)
    }

    /// The year's results, ranked. Office.
    pub async fn list_assessment_results(
        &self,
        ctx: &TenantContext,
        asked: Option<CommitteeId>,
        year: i32,
    ) -> Result<(CommitteeId, Vec<AssessmentResult>)> {
        let committee = same_committee(office(ctx)?, asked)?;
        let year = check_year(year)?;
        let tx = self.begin(ctx).await?;
        let results = results_of(&tx, committee, year).await?;
        tx.commit().await?;
        Ok((committee, results))
    }
}
