//! The repository: every operation takes the caller's [`TenantContext`] and
//! opens its transaction with the caller's scope, so no query runs unscoped.
//!
//! Membership is kept by each committee for itself: callers act inside their
//! own committee (`Scope::Committee(own)`); a record of another committee is
//! `NotFound`. The committee's office (ROLE_STAFF, ROLE_COMMITTEE_ADMIN)
//! manages the roster and records; a member reads only their own.
//!
//! Personal information is sealed by [`Pii`] before it reaches a row and
//! opened only to mask it or for [`Store::reveal_member_contact`]. It never
//! goes into audit `changes`.

mod events;
mod members;
mod projects;
mod records;
mod reference;
mod reporting;
mod roster;
mod studios;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use uuid::Uuid;
use xieshang_platform::audit::{Actor, AuditRecord};
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::{Db, Tx};
use xieshang_platform::ids::{CommitteeId, UserId};
pub use xieshang_platform::page::Page;
use xieshang_proto::common::v1::Role;

pub use members::{MemberFilter, MemberPatch};
pub use projects::NewProject;
pub use records::NewRecordEntry;
pub(crate) use records::{AutomaticEntry, insert_automatic_entry};

use crate::crypto::Pii;
use crate::entity::user_role;
use crate::error::{MembershipError, Result};

#[derive(Clone)]
pub struct Store {
    db: Db,
    pii: Pii,
}

impl Store {
    pub fn new(db: Db, pii: Pii) -> Self {
        Self { db, pii }
    }

    /// `PermissionDenied` unless the caller works in their committee's office.
    pub fn check_office(&self, ctx: &TenantContext) -> Result<()> {
        office(ctx).map(|_| ())
    }

    /// Opens a transaction in the caller's scope.
    async fn begin(&self, ctx: &TenantContext) -> Result<Tx> {
        Ok(self.db.begin(ctx.scope()).await?)
    }
}

/// The caller's committee: membership is kept by each committee for itself.
fn own_committee(ctx: &TenantContext) -> Result<CommitteeId> {
    ctx.committee_id().ok_or_else(|| MembershipError::denied("only a committee's users work on its members"))
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
        Err(MembershipError::denied("this needs the STAFF or COMMITTEE_ADMIN role"))
    }
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
    let record = AuditRecord { committee: Some(committee), target_type, target_id: target_id.to_string(), changes };
    tx.audit(&Actor::from(ctx), record).await?;
    Ok(())
}

/// Whether `user` holds ROLE_MEMBER in `committee`.
async fn is_member_user(tx: &Tx, committee: CommitteeId, user: UserId) -> Result<bool> {
    Ok(user_role::Entity::find()
        .filter(user_role::Column::UserId.eq(user.0))
        .filter(user_role::Column::Role.eq(Role::Member as i16))
        .filter(user_role::Column::CommitteeId.eq(committee.0))
        .one(&**tx)
        .await?
        .is_some())
}

/// Whether `user` holds `role` in `committee`.
async fn has_user_role(tx: &Tx, committee: CommitteeId, user: UserId, role: Role) -> Result<bool> {
    Ok(user_role::Entity::find()
        .filter(user_role::Column::UserId.eq(user.0))
        .filter(user_role::Column::Role.eq(role as i16))
        .filter(user_role::Column::CommitteeId.eq(committee.0))
        .one(&**tx)
        .await?
        .is_some())
}

/// Parses a page token holding a UUID.
fn uuid_token(token: &str) -> Result<Option<Uuid>> {
    xieshang_platform::page::decode(token)?
        .map(|t| {
            Uuid::parse_str(&t).map_err(|_| MembershipError::invalid("page_token", "is not a token this server issued"))
        })
        .transpose()
}
