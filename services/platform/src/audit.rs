//! The audit log: one row per mutation, written in the mutation's own
//! transaction, so a change and its audit row commit or vanish together.

use sea_orm::sea_query::Query;
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use crate::auth::TenantContext;
use crate::db::Tx;
use crate::ids::{CommitteeId, UserId};

/// Who made a change, through which RPC.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub username: String,
    pub method: String,
}

impl From<&TenantContext> for Actor {
    fn from(ctx: &TenantContext) -> Self {
        Self { user_id: Some(ctx.user_id), username: ctx.username.clone(), method: ctx.method.clone() }
    }
}

/// One audited change. `changes` is JSON; personal information never goes in it.
pub struct AuditRecord<'a> {
    pub committee: Option<CommitteeId>,
    pub target_type: &'a str,
    pub target_id: String,
    pub changes: serde_json::Value,
}

impl Tx {
    /// Writes an audit row in this transaction.
    pub async fn audit(&self, actor: &Actor, record: AuditRecord<'_>) -> Result<(), DbErr> {
        let insert = Query::insert()
            .into_table("audit_log")
            .columns([
                "id",
                "committee_id",
                "actor_user_id",
                "actor_username",
                "method",
                "target_type",
                "target_id",
                "changes",
                "created_at",
            ])
            .values_panic([
                Uuid::now_v7().into(),
                record.committee.map(|c| c.0).into(),
                actor.user_id.map(|u| u.0).into(),
                actor.username.clone().into(),
                actor.method.clone().into(),
                record.target_type.to_owned().into(),
                record.target_id.into(),
                record.changes.to_string().into(),
                crate::time::now().into(),
            ])
            .to_owned();
        self.execute(&insert).await?;
        Ok(())
    }
}
