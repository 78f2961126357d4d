//! Deadlines: the office's list of overdue and soon-due proposals, and the
//! periodic sweep that reminds once per deadline.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::audit::{Actor, AuditRecord};
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::Scope;
use xieshang_platform::ids::CommitteeId;
use xieshang_proto::events::v1 as events;
use xieshang_proto::events::v1::event::Payload;

use super::information::system_origin;
use super::{Store, load, own_committee, require_office};
use crate::domain::{self, Proposal, ProposalState};
use crate::entity::proposal;
use crate::error::{ProposalsError, Result};

/// The states in which a reply is owed.
const AWAITING_REPLY: [ProposalState; 2] = [ProposalState::Assigned, ProposalState::Handling];

/// Reminder kind for a passed deadline.
const OVERDUE: &str = "overdue";

/// [`Store::list_due_proposals`]' answer.
pub struct DueProposals {
    pub overdue: Vec<Proposal>,
    pub due_soon: Vec<Proposal>,
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
        let insert = Query::insert()
            .into_table("proposal_reminders")
            .columns(["id", "committee_id", "proposal_id", "due_date", "kind", "created_at"])
            .values_panic([
                Uuid::now_v7().into(),
                committee.0.into(),
                id.into(),
                due.into(),
                OVERDUE.into(),
                xieshang_platform::time::now().into(),
            ])
            .on_conflict(OnConflict::columns(["proposal_id", "due_date", "kind"]).do_nothing().to_owned())
            .to_owned();
        let inserted = tx.execute(&insert).await?.rows_affected() == 1;
        if inserted {
            let actor = Actor { user_id: None, username: "system".into(), method: "sweep_deadlines".into() };
            let record = AuditRecord {
                committee: Some(committee),
                target_type: "proposal",
                target_id: id.to_string(),
                changes: json!({"overdue": due.to_string()}),
            };
            tx.audit(&actor, record).await?;
            let event = Payload::ProposalOverdue(events::ProposalOverdue {
                proposal_id: id.to_string(),
                due_date: Some(xieshang_platform::time::date_to_proto(due)),
            });
            tx.emit(&system_origin(&tx, committee).await?, event).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }
}
