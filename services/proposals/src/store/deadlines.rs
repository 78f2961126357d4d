//! Deadlines: the office's list of overdue and soon-due proposals, and the
//! periodic sweep that reminds once per deadline.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::audit::{Actor, AuditRecord};
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::{Scope, Tx};
use xieshang_platform::ids::{CommitteeId, UserId};
use xieshang_proto::events::v1 as events;
use xieshang_proto::events::v1::event::Payload;

use super::information::system_origin;
use super::settings::settings_of;
use super::{Store, load, own_committee, require_office};
use crate::domain::{self, Proposal, ProposalState, ReplyClass};
use crate::entity::{proposal, unit};
use crate::error::{ProposalsError, Result};

/// The states in which a reply is owed.
const AWAITING_REPLY: [ProposalState; 2] = [ProposalState::Assigned, ProposalState::Handling];

/// Reminder kind for a passed deadline.
const OVERDUE: &str = "overdue";
/// Reminder kind for a deadline within the committee's due-soon window.
const DUE_SOON: &str = "due_soon";
/// Reminder kind for a class B reply's follow-up review (回头看) date.
const FOLLOW_UP: &str = "follow_up";

/// What one run of [`Store::sweep_reminders`] emitted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    pub overdue: usize,
    pub due_soon: usize,
    pub follow_ups: usize,
}

impl Sweep {
    pub fn total(&self) -> usize {
        self.overdue + self.due_soon + self.follow_ups
    }
}

/// A class B reply awaiting its follow-up review.
pub struct DueFollowUp {
    pub proposal: Proposal,
    pub unit: UserId,
    pub date: NaiveDate,
}

/// Inserts the reminder row of (proposal, date, kind) unless it exists;
/// true when this call inserted it (and so should emit).
async fn insert_reminder(tx: &Tx, committee: CommitteeId, id: Uuid, date: NaiveDate, kind: &str) -> Result<bool> {
    let insert = Query::insert()
        .into_table("proposal_reminders")
        .columns(["id", "committee_id", "proposal_id", "due_date", "kind", "created_at"])
        .values_panic([
            Uuid::now_v7().into(),
            committee.0.into(),
            id.into(),
            date.into(),
            kind.into(),
            xieshang_platform::time::now().into(),
        ])
        .on_conflict(OnConflict::columns(["proposal_id", "due_date", "kind"]).do_nothing().to_owned())
        .to_owned();
    Ok(tx.execute(&insert).await?.rows_affected() == 1)
}

/// Audits a reminder as the system, and emits its event.
async fn remind(tx: &Tx, committee: CommitteeId, id: Uuid, changes: serde_json::Value, event: Payload) -> Result<()> {
    let actor = Actor { user_id: None, username: "system".into(), method: "sweep_deadlines".into() };
    let record =
        AuditRecord { committee: Some(committee), target_type: "proposal", target_id: id.to_string(), changes };
    tx.audit(&actor, record).await?;
    tx.emit(&system_origin(tx, committee).await?, event).await?;
    Ok(())
}

/// [`Store::list_due_proposals`]' answer.
pub struct DueProposals {
    pub overdue: Vec<Proposal>,
    pub due_soon: Vec<Proposal>,
}

/// Proposals without a reminder of `kind` for their current due date: a
/// sweep reads only new work, however many reminders the table holds.
fn not_reminded(kind: &'static str) -> Expr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from("proposal_reminders")
            .and_where(Expr::col(("proposal_reminders", "proposal_id")).equals(("proposals", "id")))
            .and_where(Expr::col(("proposal_reminders", "due_date")).equals(("proposals", "due_date")))
            .and_where(Expr::col(("proposal_reminders", "kind")).eq(kind))
            .to_owned(),
    )
    .not()
}

fn awaiting_reply() -> Vec<&'static str> {
    AWAITING_REPLY.iter().map(|s| s.as_str()).collect()
}

impl Store {
    /// Overdue proposals (due before `as_of`, no reply) and those due within
    /// `within_days` of `as_of`. The office only.
    pub async fn list_due_proposals(
        &self,
        ctx: &TenantContext,
        within_days: i32,
        as_of: Option<NaiveDate>,
    ) -> Result<DueProposals> {
        let committee = own_committee(ctx)?;
        require_office(ctx)?;
        let days = match within_days {
            0 => 14,
            d if (1..=366).contains(&d) => d,
            _ => return Err(ProposalsError::invalid("within_days", "must be between 1 and 366")),
        };
        let as_of = as_of.unwrap_or_else(domain::today);
        let horizon = as_of + Duration::days(i64::from(days));
        let tx = self.begin(ctx).await?;
        let rows = proposal::Entity::find()
            .filter(proposal::Column::CommitteeId.eq(committee.0))
            .filter(proposal::Column::State.is_in(awaiting_reply()))
            .filter(proposal::Column::DueDate.lte(horizon))
            .order_by_asc(proposal::Column::DueDate)
            .order_by_asc(proposal::Column::Id)
            .all(&*tx)
            .await?;
        let mut due = DueProposals { overdue: Vec::new(), due_soon: Vec::new() };
        for row in rows {
            let Some(date) = row.due_date else { continue };
            let Some(found) = load(&tx, row.id).await? else { continue };
            if date < as_of { due.overdue.push(found.into_domain()) } else { due.due_soon.push(found.into_domain()) }
        }
        tx.commit().await?;
        Ok(due)
    }

    /// Every reminder due at `now`: overdue replies ([`Store::sweep_deadlines`]),
    /// replies due within each committee's due-soon window (`ProposalDueSoon`,
    /// once per (proposal, due date)), and class B replies whose follow-up
    /// date has come (`ProposalFollowUpDue`, once per (proposal, date)). Like
    /// the overdue sweep, safe to run twice or on several replicas at once.
    pub async fn sweep_reminders(&self, now: DateTime<Utc>) -> Result<Sweep> {
        let overdue = self.sweep_deadlines(now).await?;
        let today = (now + Duration::hours(8)).date_naive();
        let tx = self.db.begin(Scope::System).await?;
        let soon: Vec<(Uuid, Uuid)> = proposal::Entity::find()
            .filter(proposal::Column::State.is_in(awaiting_reply()))
            .filter(proposal::Column::DueDate.gte(today))
            .filter(proposal::Column::DueDate.lte(today + Duration::days(i64::from(domain::DUE_SOON_DAYS_MAX))))
            .filter(not_reminded(DUE_SOON))
            .order_by_asc(proposal::Column::Id)
            .all(&*tx)
            .await?
            .into_iter()
            .map(|p| (p.id, p.committee_id))
            .collect();
        let mut follow_ups: Vec<(Uuid, Uuid, NaiveDate)> = unit::Entity::find()
            .filter(unit::Column::ReplyClass.eq(ReplyClass::B as i16))
            .filter(unit::Column::FollowUpDate.lte(today))
            .filter(unit::Column::FollowUpAt.is_null())
            .order_by_asc(unit::Column::ProposalId)
            .all(&*tx)
            .await?
            .into_iter()
            .filter_map(|u| Some((u.proposal_id, u.committee_id, u.follow_up_date?)))
            .collect();
        follow_ups.dedup();
        tx.commit().await?;
        let mut sweep = Sweep { overdue, ..Sweep::default() };
        for (id, committee) in soon {
            if self.remind_due_soon(CommitteeId(committee), id, today).await? {
                sweep.due_soon += 1;
            }
        }
        for (id, committee, date) in follow_ups {
            if self.remind_follow_up(CommitteeId(committee), id, date).await? {
                sweep.follow_ups += 1;
            }
        }
        Ok(sweep)
    }

    async fn remind_due_soon(&self, committee: CommitteeId, id: Uuid, today: NaiveDate) -> Result<bool> {
        let tx = self.db.begin(Scope::Committee(committee)).await?;
        let Some(row) =
            proposal::Entity::find_by_id(id).filter(proposal::Column::CommitteeId.eq(committee.0)).one(&*tx).await?
        else {
            return Ok(false);
        };
        let window = settings_of(&tx, committee).await?.due_soon_days;
        let state = ProposalState::parse(&row.state);
        let Some(due) = row
            .due_date
            .filter(|d| domain::due_soon(*d, today, window) && state.is_some_and(|s| AWAITING_REPLY.contains(&s)))
        else {
            tx.commit().await?;
            return Ok(false);
        };
        let inserted = insert_reminder(&tx, committee, id, due, DUE_SOON).await?;
        if inserted {
            let days_left = (due - today).num_days() as i32;
            let event = Payload::ProposalDueSoon(events::ProposalDueSoon {
                proposal_id: id.to_string(),
                due_date: Some(xieshang_platform::time::date_to_proto(due)),
                days_left,
            });
            remind(&tx, committee, id, json!({"due_soon": due.to_string(), "days_left": days_left}), event).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    async fn remind_follow_up(&self, committee: CommitteeId, id: Uuid, date: NaiveDate) -> Result<bool> {
        let tx = self.db.begin(Scope::Committee(committee)).await?;
        // Checked again in the committee's scope: it may have been recorded meanwhile.
        let units: Vec<String> = unit::Entity::find()
            .filter(unit::Column::ProposalId.eq(id))
            .filter(unit::Column::CommitteeId.eq(committee.0))
            .filter(unit::Column::ReplyClass.eq(ReplyClass::B as i16))
            .filter(unit::Column::FollowUpDate.eq(date))
            .filter(unit::Column::FollowUpAt.is_null())
            .order_by_asc(unit::Column::UnitUserId)
            .all(&*tx)
            .await?
            .into_iter()
            .map(|u| u.unit_user_id.to_string())
            .collect();
        if units.is_empty() {
            tx.commit().await?;
            return Ok(false);
        }
        let inserted = insert_reminder(&tx, committee, id, date, FOLLOW_UP).await?;
        if inserted {
            let event = Payload::ProposalFollowUpDue(events::ProposalFollowUpDue {
                proposal_id: id.to_string(),
                follow_up_date: Some(xieshang_platform::time::date_to_proto(date)),
                unit_user_ids: units.clone(),
            });
            remind(&tx, committee, id, json!({"follow_up_due": date.to_string(), "units": units}), event).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// Class B replies whose follow-up review is due by `as_of` plus
    /// `within_days` and not recorded yet, earliest first. The office only.
    pub async fn list_due_follow_ups(
        &self,
        ctx: &TenantContext,
        within_days: i32,
        as_of: Option<NaiveDate>,
    ) -> Result<Vec<DueFollowUp>> {
        let committee = own_committee(ctx)?;
        require_office(ctx)?;
        if !(0..=366).contains(&within_days) {
            return Err(ProposalsError::invalid("within_days", "must be between 0 and 366"));
        }
        let horizon = as_of.unwrap_or_else(domain::today) + Duration::days(i64::from(within_days));
        let tx = self.begin(ctx).await?;
        let rows = unit::Entity::find()
            .filter(unit::Column::CommitteeId.eq(committee.0))
            .filter(unit::Column::ReplyClass.eq(ReplyClass::B as i16))
            .filter(unit::Column::FollowUpDate.lte(horizon))
            .filter(unit::Column::FollowUpAt.is_null())
            .order_by_asc(unit::Column::FollowUpDate)
            .order_by_asc(unit::Column::ProposalId)
            .order_by_asc(unit::Column::UnitUserId)
            .all(&*tx)
            .await?;
        let mut due = Vec::new();
        for row in rows {
            let Some(date) = row.follow_up_date else { continue };
            let Some(found) = load(&tx, row.proposal_id).await? else { continue };
            due.push(DueFollowUp { proposal: found.into_domain(), unit: UserId(row.unit_user_id), date });
        }
        tx.commit().await?;
        Ok(due)
    }

    /// Reminds of every proposal whose reply is overdue at `now` (China
    /// Standard Time), once per (proposal, due date): the reminder row's
    /// unique key decides, so running twice, or on several replicas at once,
    /// emits one `ProposalOverdue` per deadline. Returns how many it emitted.
    ///
    /// The list of candidates is read platform-wide (a background worker);
    /// each reminder, its audit row and its event are written in the
    /// proposal's own committee scope.
    pub async fn sweep_deadlines(&self, now: DateTime<Utc>) -> Result<usize> {
        let today = (now + Duration::hours(8)).date_naive();
        let tx = self.db.begin(Scope::System).await?;
        let candidates: Vec<(Uuid, Uuid)> = proposal::Entity::find()
            .filter(proposal::Column::State.is_in(awaiting_reply()))
            .filter(proposal::Column::DueDate.lt(today))
            .filter(not_reminded(OVERDUE))
            .order_by_asc(proposal::Column::Id)
            .all(&*tx)
            .await?
            .into_iter()
            .map(|p| (p.id, p.committee_id))
            .collect();
        tx.commit().await?;
        let mut sent = 0;
        for (id, committee) in candidates {
            if self.remind_overdue(CommitteeId(committee), id, today).await? {
                sent += 1;
            }
        }
        Ok(sent)
    }

    async fn remind_overdue(&self, committee: CommitteeId, id: Uuid, today: NaiveDate) -> Result<bool> {
        let tx = self.db.begin(Scope::Committee(committee)).await?;
        // Checked again in the committee's scope: it may have been replied meanwhile.
        let Some(row) =
            proposal::Entity::find_by_id(id).filter(proposal::Column::CommitteeId.eq(committee.0)).one(&*tx).await?
        else {
            return Ok(false);
        };
        let state = ProposalState::parse(&row.state);
        let Some(due) = row.due_date.filter(|d| *d < today && state.is_some_and(|s| AWAITING_REPLY.contains(&s)))
        else {
            tx.commit().await?;
            return Ok(false);
        };
        let inserted = insert_reminder(&tx, committee, id, due, OVERDUE).await?;
        if inserted {
            let event = Payload::ProposalOverdue(events::ProposalOverdue {
                proposal_id: id.to_string(),
                due_date: Some(xieshang_platform::time::date_to_proto(due)),
            });
            remind(&tx, committee, id, json!({"overdue": due.to_string()}), event).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }
}
