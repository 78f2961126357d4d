//! Drafts other services ask for, by event.
//!
//! Consultation carries a suggestion on (`SuggestionCarriedForward`) and the
//! membership studios turn a public request (`StudioRequestDrafted`) into
//! either a DRAFT proposal (提案) proposed by the named member, for them to
//! edit and submit, or a social-conditions information item (社情民意信息)
//! authored by the member. Information has no draft state: the item enters
//! the office's review as SUBMITTED, as when an information officer submits
//! it, and emits `InformationSubmitted`.
//!
//! The draft's id is the event's id, so applying an event twice finds the
//! draft already there and changes nothing; the check and the insert share
//! one transaction in the event's committee scope (a concurrent duplicate
//! loses on the primary key and is retried, then finds it). The body carries
//! a note of its source; the audit row names the event.
//!
//! Requests that cannot be honoured (the owner holds no member role in the
//! committee, malformed ids) are logged and skipped: retrying cannot repair
//! them, and they must not hold up the events behind them.

use std::collections::HashMap;

use async_trait::async_trait;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::audit::{Actor, AuditRecord};
use xieshang_platform::db::{Db, Scope, Tx};
use xieshang_platform::events::{EventHandler, EventOrigin, HandlerError};
use xieshang_platform::ids::{CommitteeId, UserId};
use xieshang_platform::time::now;
use xieshang_proto::common::v1::Role;
use xieshang_proto::events::v1 as events;
use xieshang_proto::events::v1::event::Payload;
use xieshang_proto::events::v1::{DraftTarget, Event};

use crate::domain::{BODY_MAX, Category, InformationState, Kind, TITLE_MAX};
use crate::entity::{NewRow, information, proposal, user, user_role};
use crate::error::Result;

/// The consumer of draft requests.
pub struct DraftRequests {
    pub db: Db,
}

/// One draft to create, as an event asks for it.
#[derive(Clone, Debug, PartialEq)]
struct DraftRequest {
    /// Also the draft's id.
    event_id: Uuid,
    committee: CommitteeId,
    /// The staff member who asked (carried the suggestion, turned the request).
    actor: Option<UserId>,
    target: DraftTarget,
    owner: Option<UserId>,
    title: String,
    body: String,
    /// "suggestion" or "studio_request", and its id: for the audit log.
    source: (&'static str, String),
}

fn uuid(s: &str) -> Option<Uuid> {
    Uuid::parse_str(s).ok()
}

fn clip(s: &str, max: usize) -> String {
    s.trim().chars().take(max).collect()
}

/// The draft an event asks for; `None` for other events and malformed ones.
fn request_of(event: &Event) -> Option<DraftRequest> {
    let (target, owner, title, body, note, source) = match &event.payload {
        Some(Payload::SuggestionCarriedForward(c)) => {
            (c.target, &c.owner_user_id, &c.title, &c.body, &c.source_note, ("suggestion", &c.suggestion_id))
        }
        Some(Payload::StudioRequestDrafted(d)) => {
            (d.target, &d.owner_user_id, &d.title, &d.body, &d.source_note, ("studio_request", &d.request_id))
        }
        _ => return None,
    };
    let target = DraftTarget::try_from(target).ok().filter(|t| *t != DraftTarget::Unspecified)?;
    let title = clip(title, TITLE_MAX);
    if title.is_empty() {
        return None;
    }
    // The note goes last, so it survives clipping of a long body.
    let note = clip(note, 200);
    let room = BODY_MAX.saturating_sub(note.chars().count() + 2);
    let body = if note.is_empty() { clip(body, BODY_MAX) } else { format!("{}\n\n{note}", clip(body, room)) };
    Some(DraftRequest {
        event_id: uuid(&event.id)?,
        committee: CommitteeId(uuid(&event.committee_id)?),
        actor: uuid(&event.actor_user_id).map(UserId),
        target,
        owner: uuid(owner).map(UserId),
        title,
        body,
        source: (source.0, source.1.clone()),
    })
}

/// Whether `user` holds `role` in `committee`.
async fn holds(tx: &Tx, committee: CommitteeId, role: Role, user: UserId) -> Result<bool> {
    Ok(user_role::Entity::find()
        .filter(user_role::Column::UserId.eq(user.0))
        .filter(user_role::Column::Role.eq(role as i16))
        .filter(user_role::Column::CommitteeId.eq(committee.0))
        .one(&**tx)
        .await?
        .is_some())
}

fn system_actor(r: &DraftRequest) -> Actor {
    let method = match r.source.0 {
        "suggestion" => "event:suggestion-carried-forward",
        _ => "event:studio-request-drafted",
    };
    Actor { user_id: None, username: "system".into(), method: method.into() }
}

impl DraftRequests {
    /// Creates the draft unless it exists. Returns whether it created one.
    async fn apply(&self, r: DraftRequest) -> Result<bool> {
        let tx = self.db.begin(Scope::Committee(r.committee)).await?;
        let created = match r.target {
            DraftTarget::Proposal => self.proposal(&tx, &r).await?,
            DraftTarget::Information => self.information(&tx, &r).await?,
            DraftTarget::Unspecified => false,
        };
        tx.commit().await?;
        Ok(created)
    }

    async fn proposal(&self, tx: &Tx, r: &DraftRequest) -> Result<bool> {
        if proposal::Entity::find_by_id(r.event_id).one(&**tx).await?.is_some() {
            return Ok(false);
        }
        // Only members draft proposals (as in CreateProposal).
        let owner = match r.owner {
            Some(owner) if holds(tx, r.committee, Role::Member, owner).await? => owner,
            _ => {
                tracing::warn!(event = %r.event_id, owner = ?r.owner, "proposal draft skipped: the owner is not a member of the committee");
                return Ok(false);
            }
        };
        let at = now();
        proposal::Entity::insert(proposal::ActiveModel::from(NewRow {
            id: r.event_id,
            committee_id: r.committee.0,
            kind: Kind::Individual as i16,
            title: r.title.clone(),
            body: r.body.clone(),
            // The proposer picks the category when editing the draft.
            category: Category::Other as i16,
            proposer_user_id: owner.0,
            sponsor: String::new(),
            at,
        }))
        .exec_without_returning(&**tx)
        .await?;
        // A draft must be findable by its proposer like any other.
        crate::store::index_proposal(tx, r.committee, r.event_id, &r.title, &r.body).await?;
        let record = AuditRecord {
            committee: Some(r.committee),
            target_type: "proposal",
            target_id: r.event_id.to_string(),
            changes: json!({"drafted": {"kind": Kind::Individual as i16, "title": r.title,
                "category": Category::Other.as_str(), "proposer": owner.to_string(),
                "from": {r.source.0: r.source.1, "requested_by": r.actor.map(|u| u.to_string())}}}),
        };
        tx.audit(&system_actor(r), record).await?;
        Ok(true)
    }

    async fn information(&self, tx: &Tx, r: &DraftRequest) -> Result<bool> {
        if information::Entity::find_by_id(r.event_id).one(&**tx).await?.is_some() {
            return Ok(false);
        }
        // Members and information officers (staff) author information, as in SubmitInformation.
        let mut author = None;
        for candidate in [r.owner, r.actor].into_iter().flatten() {
            if holds(tx, r.committee, Role::Member, candidate).await?
                || holds(tx, r.committee, Role::Staff, candidate).await?
            {
                author = Some(candidate);
                break;
            }
        }
        let Some(author) = author else {
            tracing::warn!(event = %r.event_id, "information item skipped: no member or staff account to author it");
            return Ok(false);
        };
        let names: HashMap<Uuid, String> = user::Entity::find()
            .filter(user::Column::Id.eq(author.0))
            .all(&**tx)
            .await?
            .into_iter()
            .map(|u| (u.id, u.display_name))
            .collect();
        let author_ids = vec![author.to_string()];
        let author_names = vec![names.get(&author.0).cloned().unwrap_or_default()];
        let at = now();
        information::Entity::insert(information::ActiveModel {
            id: Set(r.event_id),
            committee_id: Set(r.committee.0),
            title: Set(r.title.clone()),
            body: Set(r.body.clone()),
            state: Set(InformationState::Submitted.as_str().to_owned()),
            author_user_ids: Set(serde_json::to_string(&author_ids).unwrap_or_else(|_| "[]".into())),
            author_names: Set(serde_json::to_string(&author_names).unwrap_or_else(|_| "[]".into())),
            submitted_by: Set(r.actor.unwrap_or(author).0),
            origin_committee_id: Set(r.committee.0),
            origin_item_id: Set(r.event_id),
            forwarded_to_committee_id: Set(None),
            forwarded_item_id: Set(None),
            forwarded_at: Set(None),
            received_from_committee_id: Set(None),
            decline_reason: Set(String::new()),
            instruction_leader: Set(String::new()),
            instruction_text: Set(String::new()),
            adopted_at: Set(None),
            instructed_at: Set(None),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .exec_without_returning(&**tx)
        .await?;
        let record = AuditRecord {
            committee: Some(r.committee),
            target_type: "information",
            target_id: r.event_id.to_string(),
            changes: json!({"submitted": {"title": r.title, "authors": author_ids,
                "from": {r.source.0: r.source.1, "requested_by": r.actor.map(|u| u.to_string())}}}),
        };
        tx.audit(&system_actor(r), record).await?;
        let event = Payload::InformationSubmitted(events::InformationSubmitted {
            information_id: r.event_id.to_string(),
            author_user_ids: author_ids,
        });
        tx.emit(&EventOrigin::of(tx, r.committee, r.actor).await?, event).await?;
        Ok(true)
    }
}

#[async_trait]
impl EventHandler for DraftRequests {
    fn name(&self) -> &str {
        "proposals-draft-requests"
    }

    async fn handle(&self, event: &Event) -> std::result::Result<(), HandlerError> {
        if !matches!(event.payload, Some(Payload::SuggestionCarriedForward(_) | Payload::StudioRequestDrafted(_))) {
            return Ok(());
        }
        let Some(request) = request_of(event) else {
            tracing::warn!(event = %event.id, "malformed draft request skipped");
            return Ok(());
        };
        // Database errors are returned, so the relay delivers the event again.
        let created = self.apply(request).await.map_err(|e| Box::new(e) as HandlerError)?;
        tracing::debug!(event = %event.id, created, "draft request applied");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use events::{StudioRequestDrafted, SuggestionCarriedForward};

    fn event(payload: Payload) -> Event {
        Event {
            id: Uuid::now_v7().to_string(),
            committee_id: Uuid::now_v7().to_string(),
            actor_user_id: Uuid::now_v7().to_string(),
            payload: Some(payload),
            ..Default::default()
        }
    }

    #[test]
    fn a_carried_suggestion_becomes_a_request_with_its_source_last() {
        let owner = Uuid::now_v7();
        let e = event(Payload::SuggestionCarriedForward(SuggestionCarriedForward {
            suggestion_id: "s1".into(),
            target: DraftTarget::Proposal as i32,
            owner_user_id: owner.to_string(),
            title: "  关于建设县城停车场的建议 ".into(),
            body: "在县城新建立体停车场。".into(),
            source_note: "来源：协商活动「城区停车难」第1条建议".into(),
            ..Default::default()
        }));
        let r = request_of(&e).unwrap();
        assert_eq!(r.event_id.to_string(), e.id);
        assert_eq!(r.owner, Some(UserId(owner)));
        assert_eq!(r.title, "关于建设县城停车场的建议");
        assert_eq!(r.body, "在县城新建立体停车场。\n\n来源：协商活动「城区停车难」第1条建议");
        assert_eq!(r.source, ("suggestion", "s1".to_owned()));
    }

    #[test]
    fn long_bodies_are_clipped_before_the_note_and_bad_requests_are_none() {
        let e = event(Payload::StudioRequestDrafted(StudioRequestDrafted {
            target: DraftTarget::Information as i32,
            title: "标题".into(),
            body: "盐".repeat(BODY_MAX + 10),
            source_note: "来源".into(),
            ..Default::default()
        }));
        let r = request_of(&e).unwrap();
        assert_eq!(r.body.chars().count(), BODY_MAX);
        assert!(r.body.ends_with("\n\n来源"));
        assert_eq!(r.owner, None);

        let unspecified =
            event(Payload::StudioRequestDrafted(StudioRequestDrafted { title: "标题".into(), ..Default::default() }));
        assert!(request_of(&unspecified).is_none());
        let untitled = event(Payload::StudioRequestDrafted(StudioRequestDrafted {
            target: DraftTarget::Proposal as i32,
            ..Default::default()
        }));
        assert!(request_of(&untitled).is_none());
    }
}
