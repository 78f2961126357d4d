//! After the reply: the follow-up review (回头看) of class B replies; and
//! before it: co-unit opinions (会办意见) to the lead unit.

use chrono::NaiveDate;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::ids::UserId;
use xieshang_platform::time::now;

use super::lifecycle::step;
use super::settings::settings_of;
use super::{Loaded, Store, find_visible, is_office, record, save};
use crate::domain::{
    self, Action, CoUnitOpinion, FOLLOW_UP_NOTE_MAX, OPINION_MAX, Proposal, ReplyClass, UnitRole, required_text,
};
use crate::entity::unit;
use crate::error::{ProposalsError, Result};

/// The unit whose class B reply is scheduled or reviewed: the one named (a
/// unit may name only itself), the caller when it is a unit, or the only
/// class B reply awaiting review.
fn reviewed_unit<'a>(
    found: &'a Loaded,
    ctx: &TenantContext,
    requested: Option<UserId>,
) -> Result<(UserId, &'a unit::Model)> {
    let office = is_office(ctx);
    let target = match requested {
        Some(u) if !office && u != ctx.user_id => {
            return Err(ProposalsError::denied("a unit follows up its own reply only"));
        }
        Some(u) => u,
        None if !office => ctx.user_id,
        None => {
            let pending: Vec<UserId> = found
                .units
                .iter()
                .filter(|u| u.reply_class == ReplyClass::B as i16 && u.follow_up_at.is_none())
                .map(|u| UserId(u.unit_user_id))
                .collect();
            match pending.as_slice() {
                [only] => *only,
                [] => return Err(ProposalsError::precondition("no class B reply of this proposal awaits review")),
                _ => {
                    return Err(ProposalsError::invalid(
                        "unit_user_id",
                        "is required: several units' class B replies await review",
                    ));
                }
            }
        }
    };
    match found.units.iter().find(|u| u.unit_user_id == target.0) {
        Some(row) => Ok((target, row)),
        None => Err(ProposalsError::invalid("unit_user_id", format!("{target} is not a unit of this proposal"))),
    }
}

impl Store {
    /// Sets (or moves) when a unit's class B reply is followed up. The office
    /// for any unit, a unit for its own reply.
    pub async fn schedule_follow_up(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        unit_user: Option<UserId>,
        date: Option<NaiveDate>,
    ) -> Result<Proposal> {
        let tx = self.begin(ctx).await?;
        let mut found = find_visible(&tx, ctx, id).await?;
        if !is_office(ctx) && found.unit(ctx).is_none() {
            return Err(ProposalsError::denied(
                "only staff, committee admins or the replying unit schedule a follow-up review",
            ));
        }
        step(&mut found, Action::ScheduleFollowUp)?;
        let (target, row) = reviewed_unit(&found, ctx, unit_user)?;
        if row.replied_at.is_none() {
            return Err(ProposalsError::precondition(format!(
                "proposal is {}; the unit has not replied yet",
                found.state()
            )));
        }
        if row.follow_up_at.is_some() {
            return Err(ProposalsError::precondition("the follow-up review of this reply is already recorded"));
        }
        let class = ReplyClass::from_i16(row.reply_class).unwrap_or(ReplyClass::C);
        let date = match domain::follow_up_date(class, date, domain::today()) {
            Ok(Some(d)) => d,
            Ok(None) => {
                return Err(ProposalsError::invalid(
                    "follow_up_date",
                    format!("only a class B reply has a follow-up date, not class {}", class.as_str()),
                ));
            }
            Err(reason) => return Err(ProposalsError::invalid("follow_up_date", reason)),
        };
        let old = row.follow_up_date;
        unit::Entity::update_many()
            .col_expr(unit::Column::FollowUpDate, Expr::value(Some(date)))
            .filter(unit::Column::ProposalId.eq(id))
            .filter(unit::Column::UnitUserId.eq(target.0))
            .exec(&*tx)
            .await?;
        let committee = found.committee();
        save(&tx, found.row).await?;
        record(
            &tx,
            ctx,
            committee,
            "proposal",
            id,
            json!({"follow_up_date": {"unit": target.to_string(), "from": old.map(|d| d.to_string()),
                "to": date.to_string()}}),
            None,
        )
        .await?;
        self.finish(tx, id).await
    }

    /// Records the follow-up review of a unit's class B reply. The office for
    /// any unit, a unit for its own reply.
    pub async fn record_follow_up(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        unit_user: Option<UserId>,
        carried_out: bool,
        note: &str,
    ) -> Result<Proposal> {
        let note = required_text(note, FOLLOW_UP_NOTE_MAX).map_err(|r| ProposalsError::invalid("note", r))?;
        let tx = self.begin(ctx).await?;
        let mut found = find_visible(&tx, ctx, id).await?;
        if !is_office(ctx) && found.unit(ctx).is_none() {
            return Err(ProposalsError::denied(
                "only staff, committee admins or the replying unit record a follow-up review",
            ));
        }
        step(&mut found, Action::RecordFollowUp)?;
        let (target, row) = reviewed_unit(&found, ctx, unit_user)?;
        if row.reply_class != ReplyClass::B as i16 {
            let class = ReplyClass::from_i16(row.reply_class).map_or("none", |c| c.as_str());
            return Err(ProposalsError::precondition(format!(
                "the unit's reply is class {class}; only a class B reply is followed up"
            )));
        }
        if row.follow_up_at.is_some() {
            return Err(ProposalsError::precondition("the follow-up review of this reply is already recorded"));
        }
        unit::Entity::update_many()
            .col_expr(unit::Column::FollowUpCarriedOut, Expr::value(Some(carried_out)))
            .col_expr(unit::Column::FollowUpNote, Expr::value(note.clone()))
            .col_expr(unit::Column::FollowUpBy, Expr::value(Some(ctx.user_id.0)))
            .col_expr(unit::Column::FollowUpAt, Expr::value(Some(now())))
            .filter(unit::Column::ProposalId.eq(id))
            .filter(unit::Column::UnitUserId.eq(target.0))
            .exec(&*tx)
            .await?;
        let committee = found.committee();
        save(&tx, found.row).await?;
        record(
            &tx,
            ctx,
            committee,
            "proposal",
            id,
            json!({"follow_up": {"unit": target.to_string(), "carried_out": carried_out, "note": note}}),
            None,
        )
        .await?;
        self.finish(tx, id).await
    }

    /// A co-unit sends its opinion to the lead unit: once, before the lead
    /// unit replies, within the committee's opinion window.
    pub async fn send_co_unit_opinion(&self, ctx: &TenantContext, id: Uuid, opinion: &str) -> Result<CoUnitOpinion> {
        let opinion = required_text(opinion, OPINION_MAX).map_err(|r| ProposalsError::invalid("opinion", r))?;
        let tx = self.begin(ctx).await?;
        let found = find_visible(&tx, ctx, id).await?;
        let Some(mine) = found.unit(ctx).filter(|u| u.role == UnitRole::Co as i16).cloned() else {
            return Err(ProposalsError::denied("only a co-unit (会办) of this proposal sends an opinion"));
        };
        domain::apply(found.state(), Action::SendOpinion)?;
        if found.units.iter().any(|u| u.role == UnitRole::Lead as i16 && u.replied_at.is_some()) {
            return Err(ProposalsError::precondition("the lead unit has already replied; opinions come before it"));
        }
        if mine.opinion_at.is_some() {
            return Err(ProposalsError::precondition("your unit has already sent its opinion"));
        }
        let committee = found.committee();
        if let Some(assigned) = found.row.assign_date {
            let months = settings_of(&tx, committee).await?.co_unit_opinion_months;
            let last = domain::opinion_window_end(assigned, months);
            if domain::today() > last {
                return Err(ProposalsError::precondition(format!("the co-unit opinion window closed on {last}")));
            }
        }
        let at = now();
        unit::Entity::update_many()
            .col_expr(unit::Column::Opinion, Expr::value(opinion.clone()))
            .col_expr(unit::Column::OpinionAt, Expr::value(Some(at)))
            .filter(unit::Column::ProposalId.eq(id))
            .filter(unit::Column::UnitUserId.eq(ctx.user_id.0))
            .exec(&*tx)
            .await?;
        record(&tx, ctx, committee, "proposal", id, json!({"co_unit_opinion": {"opinion": opinion}}), None).await?;
        tx.commit().await?;
        Ok(CoUnitOpinion { proposal_id: id, unit: ctx.user_id, opinion, sent_at: at })
    }

    /// The co-unit opinions the caller may read: all for the office and the
    /// lead unit, its own for a co-unit.
    pub async fn list_co_unit_opinions(&self, ctx: &TenantContext, id: Uuid) -> Result<Vec<CoUnitOpinion>> {
        let tx = self.begin(ctx).await?;
        let found = find_visible(&tx, ctx, id).await?;
        tx.commit().await?;
        let role = found.unit(ctx).and_then(|u| UnitRole::from_i16(u.role));
        let all = is_office(ctx) || role == Some(UnitRole::Lead);
        if !all && role != Some(UnitRole::Co) {
            return Err(ProposalsError::denied("only the lead unit, staff and committee admins read co-unit opinions"));
        }
        let mut opinions: Vec<CoUnitOpinion> = found
            .units
            .into_iter()
            .filter(|u| all || u.unit_user_id == ctx.user_id.0)
            .filter_map(|u| {
                Some(CoUnitOpinion {
                    proposal_id: id,
                    unit: UserId(u.unit_user_id),
                    sent_at: u.opinion_at?,
                    opinion: u.opinion,
                })
            })
            .collect();
        opinions.sort_by_key(|o| o.sent_at);
        Ok(opinions)
    }
}
