//! Reading the audit log.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::ids::CommitteeId;
use xieshang_platform::page;
use xieshang_proto::common::v1::Role;

use super::{Page, Store};
use crate::entity::audit_entry;
use crate::error::{Result, TenantsError};

impl Store {
    /// A committee's audit log, newest first. Its admins read it; operators
    /// read any committee's, and the platform's own (`committee` None).
    pub async fn list_audit_entries(
        &self,
        ctx: &TenantContext,
        committee: Option<CommitteeId>,
        target_type: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<Page<audit_entry::Model>> {
        if !ctx.is_operator() {
            if committee.is_none() || committee != ctx.committee_id() {
                return Err(TenantsError::NotFound("committee"));
            }
            if !ctx.has_role(Role::CommitteeAdmin) {
                return Err(TenantsError::denied("reading the audit log needs the COMMITTEE_ADMIN role"));
            }
        }
        let size = page::size(page_size, 50, 500)?;
        let before = page::decode(page_token)?
            .map(|t| {
                Uuid::parse_str(&t)
                    .map_err(|_| TenantsError::invalid("page_token", "is not a token this server issued"))
            })
            .transpose()?;
        let tx = self.begin(ctx).await?;
        let mut query = audit_entry::Entity::find().filter(match committee {
            Some(c) => audit_entry::Column::CommitteeId.eq(c.0),
            None => audit_entry::Column::CommitteeId.is_null(),
        });
        if !target_type.is_empty() {
            query = query.filter(audit_entry::Column::TargetType.eq(target_type));
        }
        if let Some(before) = before {
            query = query.filter(audit_entry::Column::Id.lt(before));
        }
        // Ids are UUIDv7: ordering by id is ordering by time.
        let mut rows = query.order_by_desc(audit_entry::Column::Id).limit(size + 1).all(&*tx).await?;
        tx.commit().await?;
        let more = rows.len() as u64 > size;
        rows.truncate(size as usize);
        let next_page_token = match (more, rows.last()) {
            (true, Some(last)) => page::encode(&last.id.to_string()),
            _ => String::new(),
        };
        Ok(Page { items: rows, next_page_token })
    }
}
