//! A committee's consultation and supervision figures for one year
//! (`GetConsultationStatistics`), counted by SQL `GROUP BY` queries in the
//! caller's scope: each query returns a handful of (category, count) rows,
//! never the records, so a busy committee's year costs the same few round
//! trips as a quiet one's. The domain ([`crate::domain::statistics`]) adds
//! them up and derives the rates.
//!
//! Every query filters by the caller's committee in code as well as by the
//! transaction's tenant (RLS on PostgreSQL), like the rest of the store.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::Tx;
use xieshang_platform::ids::CommitteeId;

use super::quality::criteria_of;
use super::{Store, office};
use crate::domain::quality::weighted_score_of_sums;
use crate::domain::statistics::{ConsultationStatistics, QualityFigures};
use crate::domain::supervision::{ParticipationState, Rectification, SupervisionState};
use crate::domain::{ActivityStage, Attendance, ConsultationType, FeedbackResult, PlanState, TopicSource, TopicState};
use crate::entity::{
    activity, invitee, meeting, plan, plan_item, quality_score, suggestion, sv_inspection, sv_participation,
    sv_problem, sv_project, topic,
};
use crate::error::{ConsultationError, Result};

/// A count from the database (BIGINT on PostgreSQL, INTEGER on SQLite) as the
/// contract's int32; a committee never has 2³¹ records of one kind.
fn n(count: i64) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
}

/// 1 January of `year` and of the next year.
fn year_bounds(year: i32) -> Result<(NaiveDate, NaiveDate)> {
    let first =
        |y| NaiveDate::from_ymd_opt(y, 1, 1).ok_or_else(|| ConsultationError::invalid("year", "is out of range"));
    Ok((first(year)?, first(year + 1)?))
}

/// The UTC instant a China Standard Time day starts: a topic entered on New
/// Year's Eve at 23:30 in 宁晋 belongs to the old year.
fn cst_start(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN)) - Duration::hours(8)
}

/// `SELECT id FROM <table> WHERE <conditions>` as a subquery.
fn ids_of<E: EntityTrait>(entity: E, id: E::Column, filter: sea_orm::Condition) -> SelectStatement {
    Query::select().column(id).from(entity).cond_where(filter).to_owned()
}

impl Store {
    /// The figures of the caller's committee for `year` (validated by the
    /// caller: 2000-2100). Staff.
    pub async fn consultation_statistics(&self, ctx: &TenantContext, year: i32) -> Result<ConsultationStatistics> {
        let committee = office(ctx)?;
        let (jan1, next_jan1) = year_bounds(year)?;
        let mut s = ConsultationStatistics::new(committee, year);
        let tx = self.begin(ctx).await?;
        count_topics(&tx, committee, cst_start(jan1), cst_start(next_jan1), &mut s).await?;
        count_plan(&tx, committee, year, &mut s).await?;
        count_activities(&tx, committee, year, &mut s).await?;
        count_attendance(&tx, committee, jan1, next_jan1, &mut s).await?;
        s.quality = score_activities(&tx, committee, year).await?;
        count_supervision(&tx, committee, jan1, next_jan1, &mut s).await?;
        tx.commit().await?;
        Ok(s)
    }
}

/// The year's activities of the committee, as a subquery of their ids.
fn year_activities(committee: CommitteeId, year: i32) -> SelectStatement {
    ids_of(
        activity::Entity,
        activity::Column::Id,
        sea_orm::Condition::all()
            .add(activity::Column::CommitteeId.eq(committee.0))
            .add(activity::Column::Year.eq(year)),
    )
}

/// Topics entered in `[from, to)`, by source and state.
async fn count_topics(
    tx: &Tx,
    committee: CommitteeId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    s: &mut ConsultationStatistics,
) -> Result<()> {
    let rows: Vec<(i16, i16, i64)> = topic::Entity::find()
        .select_only()
        .column(topic::Column::Source)
        .column(topic::Column::State)
        .column_as(Expr::col(topic::Column::Id).count(), "n")
        .filter(topic::Column::CommitteeId.eq(committee.0))
        .filter(topic::Column::CreatedAt.gte(from))
        .filter(topic::Column::CreatedAt.lt(to))
        .group_by(topic::Column::Source)
        .group_by(topic::Column::State)
        .into_tuple()
        .all(&**tx)
        .await?;
    for (source, state, count) in rows {
        if let Some(source) = TopicSource::from_i16(source) {
            s.topics.entry(source).or_default().add(TopicState::from_i16(state), n(count));
        }
    }
    Ok(())
}

/// The year's plan: its state, current items by type, items taken up by an activity.
async fn count_plan(tx: &Tx, committee: CommitteeId, year: i32, s: &mut ConsultationStatistics) -> Result<()> {
    let Some(row) = plan::Entity::find()
        .filter(plan::Column::CommitteeId.eq(committee.0))
        .filter(plan::Column::Year.eq(year))
        .one(&**tx)
        .await?
    else {
        return Ok(());
    };
    s.plan.state = PlanState::from_i16(row.state);
    s.plan.amendments = row.amendment_count;
    let current = sea_orm::Condition::all()
        .add(plan_item::Column::CommitteeId.eq(committee.0))
        .add(plan_item::Column::PlanId.eq(row.id))
        .add(plan_item::Column::RemovedAt.is_null());
    let by_type: Vec<(i16, i64)> = plan_item::Entity::find()
        .select_only()
        .column(plan_item::Column::ConsultationType)
        .column_as(Expr::col(plan_item::Column::Id).count(), "n")
        .filter(current.clone())
        .group_by(plan_item::Column::ConsultationType)
        .into_tuple()
        .all(&**tx)
        .await?;
    for (kind, count) in by_type {
        let kind = ConsultationType::from_i16(kind).unwrap_or(ConsultationType::Other);
        *s.plan.items_by_type.entry(kind).or_default() += n(count);
        s.plan.items += n(count);
    }
    let taken_up: Option<i64> = activity::Entity::find()
        .select_only()
        .column_as(Expr::col(activity::Column::PlanItemId).count_distinct(), "n")
        .filter(activity::Column::CommitteeId.eq(committee.0))
        .filter(activity::Column::PlanItemId.in_subquery(ids_of(plan_item::Entity, plan_item::Column::Id, current)))
        .into_tuple()
        .one(&**tx)
        .await?;
    s.plan.items_with_activity = n(taken_up.unwrap_or(0));
    Ok(())
}

/// The year's activities by type and stage, and their suggestions by feedback.
async fn count_activities(tx: &Tx, committee: CommitteeId, year: i32, s: &mut ConsultationStatistics) -> Result<()> {
    let rows: Vec<(i16, i16, i64)> = activity::Entity::find()
        .select_only()
        .column(activity::Column::ConsultationType)
        .column(activity::Column::Stage)
        .column_as(Expr::col(activity::Column::Id).count(), "n")
        .filter(activity::Column::CommitteeId.eq(committee.0))
        .filter(activity::Column::Year.eq(year))
        .group_by(activity::Column::ConsultationType)
        .group_by(activity::Column::Stage)
        .into_tuple()
        .all(&**tx)
        .await?;
    for (kind, stage, count) in rows {
        let kind = ConsultationType::from_i16(kind).unwrap_or(ConsultationType::Other);
        s.activities.entry(kind).or_default().add(ActivityStage::from_i16(stage), n(count));
    }
    let feedback: Vec<(i16, i64)> = suggestion::Entity::find()
        .select_only()
        .column(suggestion::Column::Feedback)
        .column_as(Expr::col(suggestion::Column::Id).count(), "n")
        .filter(suggestion::Column::CommitteeId.eq(committee.0))
        .filter(suggestion::Column::ActivityId.in_subquery(year_activities(committee, year)))
        .group_by(suggestion::Column::Feedback)
        .into_tuple()
        .all(&**tx)
        .await?;
    for (result, count) in feedback {
        s.add_suggestions(FeedbackResult::from_i16(result), n(count));
    }
    Ok(())
}

/// Sign-in at the meetings dated in `[jan1, next_jan1)`.
async fn count_attendance(
    tx: &Tx,
    committee: CommitteeId,
    jan1: NaiveDate,
    next_jan1: NaiveDate,
    s: &mut ConsultationStatistics,
) -> Result<()> {
    let meetings = sea_orm::Condition::all()
        .add(meeting::Column::CommitteeId.eq(committee.0))
        .add(meeting::Column::Date.gte(jan1))
        .add(meeting::Column::Date.lt(next_jan1));
    let held: Option<i64> = meeting::Entity::find()
        .select_only()
        .column_as(Expr::col(meeting::Column::Id).count(), "n")
        .filter(meetings.clone())
        .into_tuple()
        .one(&**tx)
        .await?;
    s.attendance.meetings = n(held.unwrap_or(0));
    let rows: Vec<(i16, i64)> = invitee::Entity::find()
        .select_only()
        .column(invitee::Column::Attendance)
        .column_as(Expr::col(invitee::Column::MemberId).count(), "n")
        .filter(invitee::Column::CommitteeId.eq(committee.0))
        .filter(invitee::Column::MeetingId.in_subquery(ids_of(meeting::Entity, meeting::Column::Id, meetings)))
        .group_by(invitee::Column::Attendance)
        .into_tuple()
        .all(&**tx)
        .await?;
    for (attendance, count) in rows {
        s.attendance.add(Attendance::from_i16(attendance), n(count));
    }
    Ok(())
}

/// The weighted scores of the year's scored activities, from per (activity,
/// criterion) sums and counts, under the year's standard.
async fn score_activities(tx: &Tx, committee: CommitteeId, year: i32) -> Result<QualityFigures> {
    let rows: Vec<(Uuid, Uuid, i64, i64)> = quality_score::Entity::find()
        .select_only()
        .column(quality_score::Column::ActivityId)
        .column(quality_score::Column::CriterionId)
        // SUM of a SMALLINT is BIGINT on PostgreSQL, INTEGER on SQLite: both read as i64.
        .column_as(Expr::col(quality_score::Column::Score).sum(), "total")
        .column_as(Expr::col(quality_score::Column::Id).count(), "n")
        .filter(quality_score::Column::CommitteeId.eq(committee.0))
        .filter(quality_score::Column::ActivityId.in_subquery(year_activities(committee, year)))
        .group_by(quality_score::Column::ActivityId)
        .group_by(quality_score::Column::CriterionId)
        .into_tuple()
        .all(&**tx)
        .await?;
    let mut per_activity: BTreeMap<Uuid, BTreeMap<Uuid, (i64, i64)>> = BTreeMap::new();
    for (activity_id, criterion, total, count) in rows {
        per_activity.entry(activity_id).or_default().insert(criterion, (total, count));
    }
    let weights: Vec<(Uuid, i32)> =
        criteria_of(tx, committee, year).await?.into_iter().map(|c| (c.id, c.weight)).collect();
    let scores: Vec<f64> = per_activity.values().map(|per| weighted_score_of_sums(&weights, per)).collect();
    Ok(QualityFigures::of(&scores))
}

/// Own projects and parts of others' joint projects starting in the year,
/// their inspections, and the problems of the projects' reports.
async fn count_supervision(
    tx: &Tx,
    committee: CommitteeId,
    jan1: NaiveDate,
    next_jan1: NaiveDate,
    s: &mut ConsultationStatistics,
) -> Result<()> {
    let projects = sea_orm::Condition::all()
        .add(sv_project::Column::CommitteeId.eq(committee.0))
        .add(sv_project::Column::StartDate.gte(jan1))
        .add(sv_project::Column::StartDate.lt(next_jan1));
    let by_state: Vec<(i16, i64)> = sv_project::Entity::find()
        .select_only()
        .column(sv_project::Column::State)
        .column_as(Expr::col(sv_project::Column::Id).count(), "n")
        .filter(projects.clone())
        .group_by(sv_project::Column::State)
        .into_tuple()
        .all(&**tx)
        .await?;
    for (state, count) in by_state {
        s.supervision.add_project(SupervisionState::from_i16(state), n(count));
    }
    // A participant's own rows only (committee_id = own): never another participant's.
    let parts = sea_orm::Condition::all()
        .add(sv_participation::Column::CommitteeId.eq(committee.0))
        .add(sv_participation::Column::StartDate.gte(jan1))
        .add(sv_participation::Column::StartDate.lt(next_jan1));
    let by_state: Vec<(i16, i64)> = sv_participation::Entity::find()
        .select_only()
        .column(sv_participation::Column::State)
        .column_as(Expr::col(sv_participation::Column::Id).count(), "n")
        .filter(parts.clone())
        .group_by(sv_participation::Column::State)
        .into_tuple()
        .all(&**tx)
        .await?;
    for (state, count) in by_state {
        s.supervision.add_part(ParticipationState::from_i16(state), n(count));
    }
    let working_parts = parts.add(sv_participation::Column::State.ne(ParticipationState::Declined as i16));
    let inspections: Option<i64> = sv_inspection::Entity::find()
        .select_only()
        .column_as(Expr::col(sv_inspection::Column::Id).count(), "n")
        .filter(sv_inspection::Column::CommitteeId.eq(committee.0))
        .filter(
            sea_orm::Condition::any()
                .add(sv_inspection::Column::ProjectId.in_subquery(ids_of(
                    sv_project::Entity,
                    sv_project::Column::Id,
                    projects.clone(),
                )))
                .add(sv_inspection::Column::ParticipationId.in_subquery(ids_of(
                    sv_participation::Entity,
                    sv_participation::Column::Id,
                    working_parts,
                ))),
        )
        .into_tuple()
        .one(&**tx)
        .await?;
    s.supervision.inspections = n(inspections.unwrap_or(0));
    let problems: Vec<(i16, i64)> = sv_problem::Entity::find()
        .select_only()
        .column(sv_problem::Column::Rectification)
        .column_as(Expr::col(sv_problem::Column::Id).count(), "n")
        .filter(sv_problem::Column::CommitteeId.eq(committee.0))
        .filter(sv_problem::Column::ProjectId.in_subquery(ids_of(sv_project::Entity, sv_project::Column::Id, projects)))
        .group_by(sv_problem::Column::Rectification)
        .into_tuple()
        .all(&**tx)
        .await?;
    for (status, count) in problems {
        s.supervision.add_problem(Rectification::from_i16(status), n(count));
    }
    Ok(())
}
