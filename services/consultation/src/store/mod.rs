//! The repository: every operation takes the caller's [`TenantContext`] and
//! opens its transaction with the caller's scope, so no query runs unscoped.
//! The two public operations (SubmitPublicTopic, GetPublicTopicStatus) have
//! no caller: they look the committee up by division code in the registry
//! and then work in that committee's scope.
//!
//! Consultation is kept by each committee for itself: callers act inside
//! their own committee (`Scope::Committee(own)`); a record of another
//! committee is `NotFound`. The office (ROLE_STAFF, ROLE_COMMITTEE_ADMIN)
//! manages everything; what members may read is documented per operation
//! (and in the contract).

mod activities;
mod meetings;
mod plans;
mod quality;
mod statistics;
mod supervision;
mod topics;

use std::sync::Arc;
pub use xieshang_platform::page::Page;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use uuid::Uuid;
use xieshang_platform::audit::{Actor, AuditRecord};
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::{Db, Tx};
use xieshang_platform::events::EventOrigin;
use xieshang_platform::ids::{CommitteeId, UserId};
use xieshang_proto::common::v1::Role;

pub use activities::ActivityFilter;
pub use meetings::MeetingFilter;
pub use topics::{NewTopic, PublicTopic, TopicFilter};

use crate::entity::member;
use crate::error::{ConsultationError, Result};
use xieshang_platform::limits::RateLimiter;
use xieshang_platform::pii::Pii;

#[derive(Clone)]
pub struct Store {
    db: Db,
    limiter: Arc<dyn RateLimiter>,
    /// Seals the public's contact phones (topics); None in tools built without the key.
    pii: Option<Pii>,
}

impl Store {
    /// `limiter` counts public topic submissions per client address and
    /// committee; `pii` seals the public's contact phones.
    pub fn new(db: Db, limiter: Arc<dyn RateLimiter>, pii: Option<Pii>) -> Self {
        Self { db, limiter, pii }
    }

    /// The SM4 sealing of personal information, or an internal error in a
    /// process built without `pii.key`.
    fn pii(&self) -> Result<&Pii> {
        self.pii.as_ref().ok_or(ConsultationError::NoPiiKey)
    }

    /// Opens a transaction in the caller's scope.
    async fn begin(&self, ctx: &TenantContext) -> Result<Tx> {
        Ok(self.db.begin(ctx.scope()).await?)
    }
}

/// The caller's committee: consultation is kept by each committee for itself.
fn own_committee(ctx: &TenantContext) -> Result<CommitteeId> {
    ctx.committee_id().ok_or_else(|| ConsultationError::denied("only a committee's users work on its consultation"))
}

/// The committee's office: staff and admins.
fn is_office(ctx: &TenantContext) -> bool {
    ctx.has_role(Role::Staff) || ctx.has_role(Role::CommitteeAdmin)
}

/// The caller's committee, when the caller works in its office.
fn office(ctx: &TenantContext) -> Result<CommitteeId> {
    let committee = own_committee(ctx)?;
    if is_office(ctx) {
        Ok(committee)
    } else {
        Err(ConsultationError::denied("this needs the STAFF or COMMITTEE_ADMIN role"))
    }
}

/// Audits a change in `committee` by `actor`.
async fn audit_as(
    tx: &Tx,
    actor: &Actor,
    committee: CommitteeId,
    target_type: &str,
    target_id: impl ToString,
    changes: Value,
) -> Result<()> {
    let record = AuditRecord { committee: Some(committee), target_type, target_id: target_id.to_string(), changes };
    tx.audit(actor, record).await?;
    Ok(())
}

/// Audits a change in the caller's committee.
async fn audit(
    tx: &Tx,
    ctx: &TenantContext,
    committee: CommitteeId,
    target_type: &str,
    target_id: impl ToString,
    changes: Value,
) -> Result<()> {
    audit_as(tx, &Actor::from(ctx), committee, target_type, target_id, changes).await
}

/// Where an event of a committee belongs: the committee and its ancestors, nearest first.
async fn origin(tx: &Tx, actor: Option<UserId>, id: CommitteeId) -> Result<EventOrigin> {
    Ok(EventOrigin::of(tx, id, actor).await?)
}

/// The roster entries of `committee` linked to the caller's user (usually one).
async fn my_member_ids(tx: &Tx, ctx: &TenantContext, committee: CommitteeId) -> Result<Vec<Uuid>> {
    Ok(member::Entity::find()
        .filter(member::Column::CommitteeId.eq(committee.0))
        .filter(member::Column::UserId.eq(ctx.user_id.0))
        .all(&**tx)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect())
}

/// Parses a page token holding a UUID.
fn uuid_token(token: &str) -> Result<Option<Uuid>> {
    xieshang_platform::page::decode(token)?
        .map(|t| {
            Uuid::parse_str(&t)
                .map_err(|_| ConsultationError::invalid("page_token", "is not a token this server issued"))
        })
        .transpose()
}

/// Cuts a fetched `size + 1` rows down to a page and its next token.
fn paged<R, T>(mut rows: Vec<R>, size: u64, key: impl Fn(&R) -> Uuid, map: impl FnMut(R) -> T) -> Page<T> {
    let more = rows.len() as u64 > size;
    rows.truncate(size as usize);
    let next_page_token = if more {
        rows.last().map(|r| xieshang_platform::page::encode(&key(r).to_string())).unwrap_or_default()
    } else {
        String::new()
    };
    Page { items: rows.into_iter().map(map).collect(), next_page_token }
}
