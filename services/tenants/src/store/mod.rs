//! The repository: every operation takes the caller's [`TenantContext`] and
//! opens its transaction with the caller's scope, so no query runs unscoped.
//!
//! Scopes: a committee's users act in `Scope::Committee(own)`; platform
//! operators act platform-wide (`Scope::System`). Committees themselves are a
//! registry readable across tenants, filtered here by [`Viewer`].

mod audit;
mod auth;
mod committees;
mod terms;
mod users;

use std::sync::Arc;
pub use xieshang_platform::page::Page;

use sea_orm::{ColumnTrait, EntityTrait};
use xieshang_platform::audit::{Actor, AuditRecord};
use xieshang_platform::auth::{Revocations, TenantContext, TokenKeys};
use xieshang_platform::db::{Db, Tx};
use xieshang_platform::events::EventOrigin;
use xieshang_platform::ids::CommitteeId;

pub use auth::{LoginOutcome, Tokens};
pub use committees::{CommitteeFilter, CommitteeUpdate, NewCommittee, level_to_proto};
pub use users::{NewUser, UserFilter};

use crate::entity::committee;
use crate::error::{Result, TenantsError};

#[derive(Clone)]
pub struct Store {
    db: Db,
    keys: Arc<TokenKeys>,
    revocations: Revocations,
}

impl Store {
    pub fn new(db: Db, keys: Arc<TokenKeys>, revocations: Revocations) -> Self {
        Self { db, keys, revocations }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Opens a transaction in the caller's scope.
    async fn begin(&self, ctx: &TenantContext) -> Result<Tx> {
        Ok(self.db.begin(ctx.scope()).await?)
    }
}

/// Which committee an audit row or event of the caller's change belongs to:
/// the caller's own committee, or for operators the committee they changed.
fn acting_committee(ctx: &TenantContext, target: Option<CommitteeId>) -> Option<CommitteeId> {
    if ctx.is_operator() { target } else { ctx.committee_id() }
}

async fn audit(
    tx: &Tx,
    ctx: &TenantContext,
    target: Option<CommitteeId>,
    target_type: &str,
    target_id: impl ToString,
    changes: serde_json::Value,
) -> Result<()> {
    let record = AuditRecord {
        committee: acting_committee(ctx, target),
        target_type,
        target_id: target_id.to_string(),
        changes,
    };
    tx.audit(&Actor::from(ctx), record).await?;
    Ok(())
}

/// Where an event of a committee belongs: the committee and its ancestors.
async fn origin(tx: &Tx, ctx: Option<&TenantContext>, committee: Option<CommitteeId>) -> Result<EventOrigin> {
    let actor = ctx.map(|c| c.user_id);
    match committee {
        Some(id) => Ok(EventOrigin::of(tx, id, actor).await?),
        None => Ok(EventOrigin { committee: None, ancestors: Vec::new(), actor }),
    }
}

/// What the caller may see of the committee tree.
pub(crate) enum Viewer {
    /// Platform operators see every committee.
    All,
    /// Everyone else: their own committee, its ancestors and its descendants.
    Within { own: committee::Model },
}

impl Viewer {
    async fn of(tx: &Tx, ctx: &TenantContext) -> Result<Self> {
        if ctx.is_operator() {
            return Ok(Viewer::All);
        }
        let id = ctx.committee_id().ok_or_else(|| TenantsError::Unauthenticated("token names no committee".into()))?;
        let own = committee::Entity::find_by_id(id.0)
            .one(&**tx)
            .await?
            .ok_or_else(|| TenantsError::Unauthenticated("your committee no longer exists".into()))?;
        Ok(Viewer::Within { own })
    }

    fn can_see(&self, row: &committee::Model) -> bool {
        match self {
            Viewer::All => true,
            Viewer::Within { own } => row.path.starts_with(&own.path) || own.path.contains(&format!("/{}/", row.id)),
        }
    }

    /// The same rule as a query condition.
    fn condition(&self) -> sea_orm::Condition {
        match self {
            Viewer::All => sea_orm::Condition::all(),
            Viewer::Within { own } => {
                let ancestors: Vec<uuid::Uuid> = crate::domain::ancestors_from_path(&own.path, CommitteeId(own.id))
                    .into_iter()
                    .map(|c| c.0)
                    .collect();
                sea_orm::Condition::any()
                    .add(committee::Column::Path.starts_with(own.path.clone()))
                    .add(committee::Column::Id.is_in(ancestors))
            }
        }
    }
}
