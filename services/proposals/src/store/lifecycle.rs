//! The proposal lifecycle's mutations. Each checks who the caller is, asks
//! [`crate::domain::apply`] whether the state allows the action, writes the
//! change, its audit row and its event in one transaction.

use std::collections::HashSet;

use chrono::{Duration, NaiveDate};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, Statement,
};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::Tx;
use xieshang_platform::ids::{CommitteeId, UserId};
use xieshang_platform::time::now;
use xieshang_proto::common::v1::Role;
use xieshang_proto::events::v1 as events;
use xieshang_proto::events::v1::event::Payload;

use super::search::index_proposal;
use super::settings::settings_of;
use super::{Loaded, Store, find_visible, holders, load, own_committee, record, require_office, save};
use crate::domain::{
    self, Action, BODY_MAX, Category, Conversion, Kind, NAME_MAX, Proposal, ProposalState, Rating, ReplyClass,
    SHORT_TEXT_MAX, TITLE_MAX, UnitRole, apply, optional_text, required_text,
};
use crate::entity::{NewRow, co_signer, plenary_session, proposal, term, unit};
use crate::error::{ProposalsError, Result};

/// A new draft, as validated by `grpc` (enums) and here (texts, people).
#[derive(Clone, Debug)]
pub struct NewProposal {
    pub kind: Kind,
    pub title: String,
    pub body: String,
    pub category: Category,
    pub co_signers: Vec<UserId>,
    pub sponsor: String,
}

/// Fields of [`Store::update_proposal`]; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ProposalPatch {
    pub title: Option<String>,
    pub body: Option<String>,
    pub category: Option<Category>,
    pub co_signers: Option<Vec<UserId>>,
}

/// Who handles a proposal.
#[derive(Clone, Debug)]
pub enum Assignment {
    /// 主办 and 会办.
    Lead { lead: UserId, co: Vec<UserId> },
    /// 分办.
    Separate(Vec<UserId>),
}

fn title(v: &str) -> Result<String> {
    required_text(v, TITLE_MAX).map_err(|r| ProposalsError::invalid("proposal.title", r))
}

fn body(v: &str) -> Result<String> {
    required_text(v, BODY_MAX).map_err(|r| ProposalsError::invalid("proposal.body", r))
}

fn reason(field: &'static str, v: &str) -> Result<String> {
    required_text(v, SHORT_TEXT_MAX).map_err(|r| ProposalsError::invalid(field, r))
}

/// Moves the row to the state after `action`, or refuses.
pub(super) fn step(found: &mut Loaded, action: Action) -> Result<(ProposalState, ProposalState)> {
    let from = found.state();
    let to = apply(from, action)?;
    found.row.state = to.as_str().to_owned();
    Ok((from, to))
}

/// Checks co-signers of a joint proposal: distinct, not the proposer, members of the committee.
async fn check_co_signers(tx: &Tx, committee: CommitteeId, proposer: UserId, ids: &[UserId]) -> Result<()> {
    const FIELD: &str = "proposal.co_signer_user_ids";
    if ids.is_empty() {
        return Err(ProposalsError::invalid(FIELD, "a joint proposal needs at least one co-signer"));
    }
    if ids.len() > 50 {
        return Err(ProposalsError::invalid(FIELD, "at most 50 co-signers"));
    }
    let distinct: HashSet<_> = ids.iter().collect();
    if distinct.len() != ids.len() {
        return Err(ProposalsError::invalid(FIELD, "names a co-signer twice"));
    }
    if distinct.contains(&proposer) {
        return Err(ProposalsError::invalid(FIELD, "the proposer cannot co-sign their own proposal"));
    }
    let members: HashSet<UserId> = holders(tx, committee, Role::Member, ids).await?.into_iter().collect();
    if let Some(missing) = ids.iter().find(|u| !members.contains(u)) {
        return Err(ProposalsError::invalid(FIELD, format!("{missing} is not a member of this committee")));
    }
    Ok(())
}

async fn insert_co_signers(tx: &Tx, committee: CommitteeId, id: Uuid, ids: &[UserId]) -> Result<()> {
    co_signer::Entity::delete_many().filter(co_signer::Column::ProposalId.eq(id)).exec(&**tx).await?;
    if ids.is_empty() {
        return Ok(());
    }
    co_signer::Entity::insert_many(ids.iter().map(|u| co_signer::ActiveModel {
        proposal_id: Set(id),
        user_id: Set(u.0),
        committee_id: Set(committee.0),
        confirmed: Set(false),
    }))
    .exec_without_returning(&**tx)
    .await?;
    Ok(())
}

impl Store {
    pub(super) async fn finish(&self, tx: Tx, id: Uuid) -> Result<Proposal> {
        let found = load(&tx, id).await?.ok_or(ProposalsError::NotFound("proposal"))?;
        tx.commit().await?;
        Ok(found.into_domain())
    }

    /// Drafts a proposal; the caller (a member) is the proposer.
    pub async fn create_proposal(&self, ctx: &TenantContext, input: NewProposal) -> Result<Proposal> {
        let committee = own_committee(ctx)?;
        if !ctx.has_role(Role::Member) {
            return Err(ProposalsError::denied("only members (ROLE_MEMBER) draft proposals"));
        }
        let title = title(&input.title)?;
        let body = body(&input.body)?;
        let sponsor =
            optional_text(&input.sponsor, NAME_MAX).map_err(|r| ProposalsError::invalid("proposal.sponsor", r))?;
        match input.kind {
            Kind::Collective if sponsor.is_empty() => {
                return Err(ProposalsError::invalid("proposal.sponsor", "a collective proposal names its sponsor"));
            }
            Kind::Individual | Kind::Joint if !sponsor.is_empty() => {
                return Err(ProposalsError::invalid("proposal.sponsor", "only a collective proposal has a sponsor"));
            }
            Kind::Individual | Kind::Collective if !input.co_signers.is_empty() => {
                return Err(ProposalsError::invalid(
                    "proposal.co_signer_user_ids",
                    "only a joint proposal has co-signers",
                ));
            }
            _ => {}
        }
        let tx = self.begin(ctx).await?;
        if input.kind == Kind::Joint {
            check_co_signers(&tx, committee, ctx.user_id, &input.co_signers).await?;
        }
        let id = Uuid::now_v7();
        let at = now();
        proposal::Entity::insert(proposal::ActiveModel::from(NewRow {
            id,
            committee_id: committee.0,
            kind: input.kind as i16,
            title: title.clone(),
            body: body.clone(),
            category: input.category as i16,
            proposer_user_id: ctx.user_id.0,
            sponsor: sponsor.clone(),
            at,
        }))
        .exec_without_returning(&*tx)
        .await?;
        insert_co_signers(&tx, committee, id, &input.co_signers).await?;
        index_proposal(&tx, committee, id, &title, &body).await?;
        let co: Vec<String> = input.co_signers.iter().map(ToString::to_string).collect();
        record(
            &tx,
            ctx,
            committee,
            "proposal",
            id,
            json!({"drafted": {"kind": input.kind as i16, "title": title, "category": input.category.as_str(),
                "co_signers": co, "sponsor": sponsor}}),
            None,
        )
        .await?;
        self.finish(tx, id).await
    }

    /// Changes a draft. The proposer only.
    pub async fn update_proposal(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        patch: ProposalPatch,
        etag: &str,
    ) -> Result<Proposal> {
        let tx = self.begin(ctx).await?;
        let mut found = find_visible(&tx, ctx, id).await?;
        if !found.is_proposer(ctx) {
            return Err(ProposalsError::denied("only the proposer edits a proposal"));
        }
        if !etag.is_empty() && etag != domain::etag(found.row.version) {
            return Err(ProposalsError::EtagMismatch);
        }
        step(&mut found, Action::Edit)?;
        let mut changed = Vec::new();
        if let Some(t) = &patch.title {
            found.row.title = title(t)?;
            changed.push("title");
        }
        if let Some(b) = &patch.body {
            found.row.body = body(b)?;
            changed.push("body");
        }
        if let Some(c) = patch.category {
            found.row.category = c as i16;
            changed.push("category");
        }
        if let Some(co) = &patch.co_signers {
            if found.row.kind != Kind::Joint as i16 {
                return Err(ProposalsError::invalid(
                    "proposal.co_signer_user_ids",
                    "only a joint proposal has co-signers",
                ));
            }
            check_co_signers(&tx, found.committee(), ctx.user_id, co).await?;
            insert_co_signers(&tx, found.committee(), id, co).await?;
            changed.push("co_signer_user_ids");
        }
        let committee = found.committee();
        let text_changed = patch.title.is_some() || patch.body.is_some();
        let (new_title, new_body) = (found.row.title.clone(), found.row.body.clone());
        save(&tx, found.row).await?;
        if text_changed {
            index_proposal(&tx, committee, id, &new_title, &new_body).await?;
        }
        record(&tx, ctx, committee, "proposal", id, json!({"updated": changed}), None).await?;
        self.finish(tx, id).await
    }

    /// A co-signer confirms their signature on a joint draft.
    pub async fn confirm_co_signature(&self, ctx: &TenantContext, id: Uuid) -> Result<Proposal> {
        let tx = self.begin(ctx).await?;
        let mut found = find_visible(&tx, ctx, id).await?;
        if found.co_signer(ctx).is_none() {
            return Err(ProposalsError::denied("only a co-signer of this proposal confirms a signature"));
        }
        step(&mut found, Action::ConfirmCoSignature)?;
        co_signer::Entity::update_many()
            .col_expr(co_signer::Column::Confirmed, Expr::value(true))
            .filter(co_signer::Column::ProposalId.eq(id))
            .filter(co_signer::Column::UserId.eq(ctx.user_id.0))
            .exec(&*tx)
            .await?;
        let committee = found.committee();
        save(&tx, found.row).await?;
        record(&tx, ctx, committee, "proposal", id, json!({"co_signed": ctx.user_id.to_string()}), None).await?;
        self.finish(tx, id).await
    }

    /// Submits a draft for review. The proposer only.
    pub async fn submit_proposal(&self, ctx: &TenantContext, id: Uuid) -> Result<Proposal> {
        let tx = self.begin(ctx).await?;
        let mut found = find_visible(&tx, ctx, id).await?;
        if !found.is_proposer(ctx) {
            return Err(ProposalsError::denied("only the proposer submits a proposal"));
        }
        step(&mut found, Action::Submit)?;
        let pending = found.co_signers.iter().filter(|c| !c.confirmed).count();
        if pending > 0 {
            return Err(ProposalsError::precondition(format!(
                "{pending} co-signer(s) have not confirmed yet (ConfirmCoSignature)"
            )));
        }
        found.row.submitted_at = Some(now());
        let event = Payload::ProposalSubmitted(events::ProposalSubmitted {
            proposal_id: id.to_string(),
            proposer_user_ids: if found.row.kind == Kind::Collective as i16 {
                Vec::new()
            } else {
                found.proposer_ids()
            },
            category: found.category_name(),
        });
        let committee = found.committee();
        save(&tx, found.row).await?;
        record(&tx, ctx, committee, "proposal", id, json!({"state": "SUBMITTED"}), Some(event)).await?;
        self.finish(tx, id).await
    }

    /// Withdraws a draft or a submitted proposal. The proposer only.
    pub async fn withdraw_proposal(&self, ctx: &TenantContext, id: Uuid) -> Result<Proposal> {
        let tx = self.begin(ctx).await?;
        let mut found = find_visible(&tx, ctx, id).await?;
        if !found.is_proposer(ctx) {
            return Err(ProposalsError::denied("only the proposer withdraws a proposal"));
        }
        let (from, _) = step(&mut found, Action::Withdraw)?;
        let committee = found.committee();
        save(&tx, found.row).await?;
        record(&tx, ctx, committee, "proposal", id, json!({"state": {"from": from.as_str(), "to": "WITHDRAWN"}}), None)
            .await?;
        self.finish(tx, id).await
    }

    /// Files a submitted proposal and gives it the next number of the
    /// committee's current term and latest plenary session.
    pub async fn file_proposal(&self, ctx: &TenantContext, id: Uuid) -> Result<Proposal> {
        require_office(ctx)?;
        let tx = self.begin(ctx).await?;
        let mut found = find_visible(&tx, ctx, id).await?;
        step(&mut found, Action::File)?;
        let committee = found.committee();
        let current_term = term::Entity::find()
            .filter(term::Column::CommitteeId.eq(committee.0))
            .order_by_desc(term::Column::Number)
            .one(&*tx)
            .await?
            .ok_or_else(|| ProposalsError::precondition("the committee has no term yet (CreateTerm)"))?;
        let session = plenary_session::Entity::find()
            .filter(plenary_session::Column::CommitteeId.eq(committee.0))
            .filter(plenary_session::Column::TermId.eq(current_term.id))
            .order_by_desc(plenary_session::Column::Number)
            .one(&*tx)
            .await?
            .ok_or_else(|| {
                ProposalsError::precondition("the current term has no plenary session yet (CreatePlenarySession)")
            })?;
        let number = next_number(&tx, committee, session.id).await?;
        found.row.number = Some(number);
        found.row.term_id = Some(current_term.id);
        found.row.session_id = Some(session.id);
        let event = Payload::ProposalFiled(events::ProposalFiled {
            proposal_id: id.to_string(),
            number,
            term_id: current_term.id.to_string(),
            session_id: session.id.to_string(),
            proposer_user_ids: found.proposer_ids(),
            category: found.category_name(),
            key: found.row.key,
        });
        save(&tx, found.row).await?;
        record(
            &tx,
            ctx,
            committee,
            "proposal",
            id,
            json!({"state": "FILED", "number": number, "term": current_term.number, "session": session.number}),
            Some(event),
        )
        .await?;
        self.finish(tx, id).await
    }

    /// Declines a submitted proposal, with a reason.
    pub async fn decline_proposal(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        why: &str,
        conversion: Conversion,
    ) -> Result<Proposal> {
        require_office(ctx)?;
        let why = reason("reason", why)?;
        let tx = self.begin(ctx).await?;
        let mut found = find_visible(&tx, ctx, id).await?;
        step(&mut found, Action::Decline)?;
        found.row.decline_reason = why.clone();
        found.row.conversion = conversion as i16;
        let committee = found.committee();
        save(&tx, found.row).await?;
        let event = Payload::ProposalDeclined(events::ProposalDeclined {
            proposal_id: id.to_string(),
            reason: why.clone(),
            merged_into_proposal_id: String::new(),
        });
        record(
            &tx,
            ctx,
            committee,
            "proposal",
            id,
            json!({"state": "DECLINED", "reason": why, "conversion": conversion as i16}),
            Some(event),
        )
        .await?;
        self.finish(tx, id).await
    }

    /// Merges a proposal into another of the same committee (并案).
    pub async fn merge_proposal(&self, ctx: &TenantContext, id: Uuid, into: Uuid, note: &str) -> Result<Proposal> {
        require_office(ctx)?;
        let note = optional_text(note, SHORT_TEXT_MAX).map_err(|r| ProposalsError::invalid("reason", r))?;
        if id == into {
            return Err(ProposalsError::invalid("into_proposal_id", "a proposal cannot be merged into itself"));
        }
        let tx = self.begin(ctx).await?;
        let mut found = find_visible(&tx, ctx, id).await?;
        let target = match find_visible(&tx, ctx, into).await {
            Ok(t) if t.committee() == found.committee() => t,
            _ => return Err(ProposalsError::NotFound("proposal into_proposal_id")),
        };
        let target_state = target.state();
        apply(target_state, Action::AbsorbMerge).map_err(|_| {
            ProposalsError::precondition(format!(
                "the proposal to merge into is {target_state}; only a SUBMITTED or FILED proposal takes others in"
            ))
        })?;
        step(&mut found, Action::Merge)?;
        found.row.merged_into = Some(into);
        found.row.decline_reason = note.clone();
        let committee = found.committee();
        save(&tx, found.row).await?;
        let event = Payload::ProposalDeclined(events::ProposalDeclined {
            proposal_id: id.to_string(),
            reason: note.clone(),
            merged_into_proposal_id: into.to_string(),
        });
        record(
            &tx,
            ctx,
            committee,
            "proposal",
            id,
            json!({"state": "MERGED", "into": into.to_string(), "reason": note}),
            Some(event),
        )
        .await?;
        self.finish(tx, id).await
    }

    /// Marks (or unmarks) a key proposal and its supervising leader.
    pub async fn mark_key(&self, ctx: &TenantContext, id: Uuid, key: bool, leader: &str) -> Result<Proposal> {
        require_office(ctx)?;
        let leader = optional_text(leader, NAME_MAX).map_err(|r| ProposalsError::invalid("supervising_leader", r))?;
        let tx = self.begin(ctx).await?;
        let mut found = find_visible(&tx, ctx, id).await?;
        step(&mut found, Action::MarkKey)?;
        found.row.key = key;
        found.row.supervising_leader = if key { leader.clone() } else { String::new() };
        let committee = found.committee();
        save(&tx, found.row).await?;
        record(&tx, ctx, committee, "proposal", id, json!({"key": key, "supervising_leader": leader}), None).await?;
        self.finish(tx, id).await
    }

    /// Assigns a filed (or objected-to) proposal to handling units.
    pub async fn assign_proposal(&self, ctx: &TenantContext, id: Uuid, assignment: Assignment) -> Result<Proposal> {
        require_office(ctx)?;
        let units: Vec<(UserId, UnitRole, &'static str)> = match &assignment {
            Assignment::Lead { lead, co } => std::iter::once((*lead, UnitRole::Lead, "lead_unit_user_id"))
                .chain(co.iter().map(|u| (*u, UnitRole::Co, "co_unit_user_ids")))
                .collect(),
            Assignment::Separate(list) => {
                if list.len() < 2 {
                    return Err(ProposalsError::invalid(
                        "unit_user_ids",
                        "give at least two separate units, or one lead unit",
                    ));
                }
                list.iter().map(|u| (*u, UnitRole::Separate, "unit_user_ids")).collect()
            }
        };
        let mut seen = HashSet::new();
        for (u, _, field) in &units {
            if !seen.insert(*u) {
                return Err(ProposalsError::invalid(field, format!("{u} is named twice")));
            }
        }
        let tx = self.begin(ctx).await?;
        let mut found = find_visible(&tx, ctx, id).await?;
        step(&mut found, Action::Assign)?;
        let committee = found.committee();
        let ids: Vec<UserId> = units.iter().map(|(u, _, _)| *u).collect();
        let handlers: HashSet<UserId> = holders(&tx, committee, Role::HandlingUnit, &ids).await?.into_iter().collect();
        if let Some((u, _, field)) = units.iter().find(|(u, _, _)| !handlers.contains(u)) {
            return Err(ProposalsError::invalid(field, format!("{u} is not a handling unit of this committee")));
        }
        let settings = settings_of(&tx, committee).await?;
        let today = domain::today();
        let due = domain::add_months(today, settings.reply_window_months);
        unit::Entity::delete_many().filter(unit::Column::ProposalId.eq(id)).exec(&*tx).await?;
        unit::Entity::insert_many(units.iter().map(|(u, role, _)| unit::ActiveModel {
            proposal_id: Set(id),
            unit_user_id: Set(u.0),
            committee_id: Set(committee.0),
            role: Set(*role as i16),
            contact_date: Set(None),
            contact_note: Set(String::new()),
            reply_class: Set(0),
            reply_text: Set(String::new()),
            replied_at: Set(None),
            on_time: Set(false),
            follow_up_date: Set(None),
            follow_up_carried_out: Set(None),
            follow_up_note: Set(String::new()),
            follow_up_by: Set(None),
            follow_up_at: Set(None),
            opinion: Set(String::new()),
            opinion_at: Set(None),
        }))
        .exec_without_returning(&*tx)
        .await?;
        found.row.assignment_mode = if matches!(assignment, Assignment::Lead { .. }) { 1 } else { 2 };
        found.row.assign_date = Some(today);
        found.row.due_date = Some(due);
        save(&tx, found.row).await?;
        let unit_ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let event = Payload::ProposalAssigned(events::ProposalAssigned {
            proposal_id: id.to_string(),
            unit_user_ids: unit_ids.clone(),
            due_date: Some(xieshang_platform::time::date_to_proto(due)),
        });
        record(
            &tx,
            ctx,
            committee,
            "proposal",
            id,
            json!({"state": "ASSIGNED", "units": unit_ids, "mode": if matches!(assignment, Assignment::Lead { .. }) { "lead" } else { "separate" }, "due_date": due.to_string()}),
            Some(event),
        )
        .await?;
        self.finish(tx, id).await
    }

    /// An assigned unit objects within the objection window.
    pub async fn object_to_assignment(&self, ctx: &TenantContext, id: Uuid, why: &str) -> Result<Proposal> {
        let why = reason("reason", why)?;
        let tx = self.begin(ctx).await?;
        let mut found = find_visible(&tx, ctx, id).await?;
        if found.unit(ctx).is_none() {
            return Err(ProposalsError::denied("only a unit the proposal is assigned to objects to it"));
        }
        step(&mut found, Action::Object)?;
        let committee = found.committee();
        let settings = settings_of(&tx, committee).await?;
        if let Some(assigned) = found.row.assign_date {
            let last = assigned + Duration::days(i64::from(settings.objection_window_days));
            if domain::today() > last {
                return Err(ProposalsError::precondition(format!("the objection window closed on {last}")));
            }
        }
        unit::Entity::delete_many().filter(unit::Column::ProposalId.eq(id)).exec(&*tx).await?;
        found.row.assignment_mode = 0;
        found.row.due_date = None;
        save(&tx, found.row).await?;
        record(&tx, ctx, committee, "proposal", id, json!({"state": "AWAITING_REASSIGNMENT", "reason": why}), None)
            .await?;
        self.finish(tx, id).await
    }

    /// An assigned unit records its contact with the proposer.
    pub async fn record_contact(&self, ctx: &TenantContext, id: Uuid, date: NaiveDate, note: &str) -> Result<Proposal> {
        let note = optional_text(note, 1000).map_err(|r| ProposalsError::invalid("note", r))?;
        if date > domain::today() {
            return Err(ProposalsError::invalid("contact_date", "must not be in the future"));
        }
        let tx = self.begin(ctx).await?;
        let mut found = find_visible(&tx, ctx, id).await?;
        if found.unit(ctx).is_none() {
            return Err(ProposalsError::denied("only a unit the proposal is assigned to records contact"));
        }
        step(&mut found, Action::Contact)?;
        unit::Entity::update_many()
            .col_expr(unit::Column::ContactDate, Expr::value(Some(date)))
            .col_expr(unit::Column::ContactNote, Expr::value(note.clone()))
            .filter(unit::Column::ProposalId.eq(id))
            .filter(unit::Column::UnitUserId.eq(ctx.user_id.0))
            .exec(&*tx)
            .await?;
        let committee = found.committee();
        save(&tx, found.row).await?;
        record(&tx, ctx, committee, "proposal", id, json!({"contacted": date.to_string()}), None).await?;
        self.finish(tx, id).await
    }

    /// The lead unit (or a separate unit) replies, after contact.
    pub async fn reply(&self, ctx: &TenantContext, id: Uuid, class: ReplyClass, text: &str) -> Result<Proposal> {
        let text = required_text(text, BODY_MAX).map_err(|r| ProposalsError::invalid("text", r))?;
        let tx = self.begin(ctx).await?;
        let mut found = find_visible(&tx, ctx, id).await?;
        let Some(mine) = found.unit(ctx).cloned() else {
            return Err(ProposalsError::denied("only a unit the proposal is assigned to replies"));
        };
        if mine.role == UnitRole::Co as i16 {
            return Err(ProposalsError::denied("a co-unit (会办) gives its opinion to the lead unit, which replies"));
        }
        if mine.contact_date.is_none() {
            return Err(ProposalsError::precondition(format!(
                "proposal is {}; contact the proposer (RecordContact) before replying",
                found.state()
            )));
        }
        if mine.replied_at.is_some() {
            return Err(ProposalsError::precondition("your unit has already replied"));
        }
        let others_pending = found
            .units
            .iter()
            .any(|u| u.unit_user_id != ctx.user_id.0 && u.role != UnitRole::Co as i16 && u.replied_at.is_none());
        step(&mut found, Action::Reply { last: !others_pending })?;
        let on_time = found.row.due_date.is_none_or(|due| domain::today() <= due);
        unit::Entity::update_many()
            .col_expr(unit::Column::ReplyClass, Expr::value(class as i16))
            .col_expr(unit::Column::ReplyText, Expr::value(text))
            .col_expr(unit::Column::RepliedAt, Expr::value(Some(now())))
            .col_expr(unit::Column::OnTime, Expr::value(on_time))
            .filter(unit::Column::ProposalId.eq(id))
            .filter(unit::Column::UnitUserId.eq(ctx.user_id.0))
            .exec(&*tx)
            .await?;
        let committee = found.committee();
        let state = found.row.state.clone();
        save(&tx, found.row).await?;
        let event = Payload::ProposalReplied(events::ProposalReplied {
            proposal_id: id.to_string(),
            unit_user_id: ctx.user_id.to_string(),
            reply_class: class.as_str().to_owned(),
            on_time,
        });
        record(
            &tx,
            ctx,
            committee,
            "proposal",
            id,
            json!({"replied": class.as_str(), "on_time": on_time, "state": state}),
            Some(event),
        )
        .await?;
        self.finish(tx, id).await
    }

    /// Moves the due date later, once per proposal.
    pub async fn extend_deadline(&self, ctx: &TenantContext, id: Uuid, due: NaiveDate, why: &str) -> Result<Proposal> {
        require_office(ctx)?;
        let why = reason("reason", why)?;
        let tx = self.begin(ctx).await?;
        let mut found = find_visible(&tx, ctx, id).await?;
        step(&mut found, Action::Extend)?;
        if found.row.deadline_extended {
            return Err(ProposalsError::precondition("the deadline was already extended once"));
        }
        if found.row.due_date.is_some_and(|current| due <= current) {
            return Err(ProposalsError::invalid("new_due_date", "must be after the current due date"));
        }
        let old = found.row.due_date;
        found.row.due_date = Some(due);
        found.row.deadline_extended = true;
        let committee = found.committee();
        save(&tx, found.row).await?;
        record(
            &tx,
            ctx,
            committee,
            "proposal",
            id,
            json!({"due_date": {"from": old.map(|d| d.to_string()), "to": due.to_string()}, "reason": why}),
            None,
        )
        .await?;
        self.finish(tx, id).await
    }

    /// The proposer rates the reply; dissatisfaction sends it back to handling.
    pub async fn rate_reply(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        process: Rating,
        result: Rating,
        comment: &str,
    ) -> Result<Proposal> {
        let comment = optional_text(comment, 1000).map_err(|r| ProposalsError::invalid("comment", r))?;
        let tx = self.begin(ctx).await?;
        let mut found = find_visible(&tx, ctx, id).await?;
        if !found.is_proposer(ctx) {
            return Err(ProposalsError::denied("only the proposer rates the reply"));
        }
        let dissatisfied = process == Rating::Dissatisfied || result == Rating::Dissatisfied;
        step(&mut found, Action::Rate { dissatisfied })?;
        found.row.process_rating = process as i16;
        found.row.result_rating = result as i16;
        let committee = found.committee();
        let mut changes = json!({"process": process.as_str(), "result": result.as_str(), "comment": comment});
        if dissatisfied {
            let settings = settings_of(&tx, committee).await?;
            let due = domain::add_months(domain::today(), settings.reply_window_months);
            found.row.due_date = Some(due);
            found.row.rehandle_count += 1;
            unit::Entity::update_many()
                .col_expr(unit::Column::ReplyClass, Expr::value(0i16))
                .col_expr(unit::Column::ReplyText, Expr::value(String::new()))
                .col_expr(unit::Column::RepliedAt, Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None))
                .col_expr(unit::Column::OnTime, Expr::value(false))
                .col_expr(unit::Column::FollowUpDate, Expr::value(Option::<NaiveDate>::None))
                .col_expr(unit::Column::FollowUpCarriedOut, Expr::value(Option::<bool>::None))
                .col_expr(unit::Column::FollowUpNote, Expr::value(String::new()))
                .col_expr(unit::Column::FollowUpBy, Expr::value(Option::<Uuid>::None))
                .col_expr(unit::Column::FollowUpAt, Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None))
                .filter(unit::Column::ProposalId.eq(id))
                .exec(&*tx)
                .await?;
            changes["state"] = json!("HANDLING");
            changes["due_date"] = json!(due.to_string());
        } else {
            changes["state"] = json!("CLOSED");
        }
        save(&tx, found.row).await?;
        let event = Payload::ProposalRated(events::ProposalRated {
            proposal_id: id.to_string(),
            process_rating: process.as_str().to_owned(),
            result_rating: result.as_str().to_owned(),
        });
        record(&tx, ctx, committee, "proposal", id, changes, Some(event)).await?;
        self.finish(tx, id).await
    }
}

/// The next 第N号 of (committee, session): bumps the counter row in the
/// filing transaction, so the number is unique and, if the transaction rolls
/// back, handed out again (no gaps). The row lock (PostgreSQL) or the single
/// writer (SQLite) serializes concurrent filings.
async fn next_number(tx: &Tx, committee: CommitteeId, session: Uuid) -> Result<i32> {
    let backend = tx.get_database_backend();
    let (insert, bump) = match backend {
        DbBackend::Postgres => (
            "INSERT INTO proposal_counters (committee_id, session_id, last_number) VALUES ($1, $2, 0) \
             ON CONFLICT (committee_id, session_id) DO NOTHING",
            "UPDATE proposal_counters SET last_number = last_number + 1 \
             WHERE committee_id = $1 AND session_id = $2 RETURNING last_number",
        ),
        _ => (
            "INSERT INTO proposal_counters (committee_id, session_id, last_number) VALUES (?, ?, 0) \
             ON CONFLICT (committee_id, session_id) DO NOTHING",
            "UPDATE proposal_counters SET last_number = last_number + 1 \
             WHERE committee_id = ? AND session_id = ? RETURNING last_number",
        ),
    };
    let values = [committee.0.into(), session.into()];
    tx.execute_raw(Statement::from_sql_and_values(backend, insert, values.clone())).await?;
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(backend, bump, values))
        .await?
        .ok_or_else(|| ProposalsError::precondition("the number counter could not be read; retry"))?;
    Ok(row.try_get::<i32>("", "last_number")?)
}
