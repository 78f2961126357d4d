//! Reference data: sectors, activity groups, special committees, liaison stations.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::Tx;
use xieshang_platform::ids::CommitteeId;

use super::{Page, Store, audit, office, own_committee, uuid_token};
use crate::domain::{ReferenceItem, ReferenceKind, etag};
use crate::entity::reference_item;
use crate::error::{MembershipError, Result};

fn to_domain(row: reference_item::Model) -> ReferenceItem {
    ReferenceItem {
        id: row.id,
        committee_id: CommitteeId(row.committee_id),
        kind: ReferenceKind::from_i16(row.kind).unwrap_or(ReferenceKind::Sector),
        code: row.code,
        name: row.name,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// Checks that `id` is a reference item of `kind` in `committee`; names `field` otherwise.
pub(super) async fn check_reference(
    tx: &Tx,
    committee: CommitteeId,
    kind: ReferenceKind,
    id: Uuid,
    field: &'static str,
) -> Result<()> {
    let found = reference_item::Entity::find_by_id(id)
        .filter(reference_item::Column::CommitteeId.eq(committee.0))
        .filter(reference_item::Column::Kind.eq(kind as i16))
        .one(&**tx)
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(MembershipError::invalid(field, format!("is not a {} of this committee", kind.noun()))),
    }
}

impl Store {
    /// `code` is already validated (`None` when absent); sectors need one.
    pub async fn create_reference_item(
        &self,
        ctx: &TenantContext,
        kind: ReferenceKind,
        code: Option<String>,
        name: String,
    ) -> Result<ReferenceItem> {
        let committee = office(ctx)?;
        if kind == ReferenceKind::Sector && code.is_none() {
            return Err(MembershipError::invalid("item.code", "is required for a sector"));
        }
        let tx = self.begin(ctx).await?;
        let same = |col: reference_item::Column, value: String| {
            reference_item::Entity::find()
                .filter(reference_item::Column::CommitteeId.eq(committee.0))
                .filter(reference_item::Column::Kind.eq(kind as i16))
                .filter(col.eq(value))
        };
        if same(reference_item::Column::Name, name.clone()).one(&*tx).await?.is_some() {
            return Err(MembershipError::exists(
                "item.name",
                format!("this committee already has a {} of that name", kind.noun()),
            ));
        }
        if let Some(code) = &code
            && same(reference_item::Column::Code, code.clone()).one(&*tx).await?.is_some()
        {
            return Err(MembershipError::exists(
                "item.code",
                format!("this committee already has a {} with that code", kind.noun()),
            ));
        }
        let now = xieshang_platform::time::now();
        let row = reference_item::Model {
            id: Uuid::now_v7(),
            committee_id: committee.0,
            kind: kind as i16,
            code,
            name,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        reference_item::Entity::insert(reference_item::ActiveModel::from(row.clone()).reset_all())
            .exec_without_returning(&*tx)
            .await
            .map_err(MembershipError::on_unique("item.name", "already exists in this committee"))?;
        audit(
            &tx,
            ctx,
            committee,
            "member_reference_item",
            row.id,
            json!({"kind": kind.noun(), "code": row.code, "name": row.name}),
        )
        .await?;
        tx.commit().await?;
        Ok(to_domain(row))
    }

    pub async fn list_reference_items(
        &self,
        ctx: &TenantContext,
        kind: ReferenceKind,
        page_size: i32,
        page_token: &str,
    ) -> Result<Page<ReferenceItem>> {
        let committee = own_committee(ctx)?;
        let size = xieshang_platform::page::size(page_size, 100, 500)?;
        let after = uuid_token(page_token)?;
        let tx = self.begin(ctx).await?;
        let mut query = reference_item::Entity::find()
            .filter(reference_item::Column::CommitteeId.eq(committee.0))
            .filter(reference_item::Column::Kind.eq(kind as i16));
        if let Some(after) = after {
            query = query.filter(reference_item::Column::Id.gt(after));
        }
        let mut rows = query.order_by_asc(reference_item::Column::Id).limit(size + 1).all(&*tx).await?;
        tx.commit().await?;
        let more = rows.len() as u64 > size;
        rows.truncate(size as usize);
        let next_page_token = match (more, rows.last()) {
            (true, Some(last)) => xieshang_platform::page::encode(&last.id.to_string()),
            _ => String::new(),
        };
        let mut items: Vec<ReferenceItem> = rows.into_iter().map(to_domain).collect();
        // Within a page, by code then name (ids give the stable paging order).
        items.sort_by(|a, b| a.code.cmp(&b.code).then_with(|| a.name.cmp(&b.name)));
        Ok(Page { items, next_page_token })
    }

    pub async fn rename_reference_item(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        name: String,
        expected_etag: &str,
    ) -> Result<ReferenceItem> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let row = reference_item::Entity::find_by_id(id)
            .filter(reference_item::Column::CommitteeId.eq(committee.0))
            .one(&*tx)
            .await?
            .ok_or(MembershipError::NotFound("reference item"))?;
        if !expected_etag.is_empty() && expected_etag != etag(row.version) {
            return Err(MembershipError::EtagMismatch);
        }
        let old_name = row.name.clone();
        let mut updated = row.clone();
        updated.name = name;
        updated.version += 1;
        updated.updated_at = xieshang_platform::time::now();
        let done = reference_item::Entity::update_many()
            .set(reference_item::ActiveModel::from(updated.clone()).reset_all())
            .filter(reference_item::Column::Id.eq(id))
            .filter(reference_item::Column::Version.eq(row.version))
            .exec(&*tx)
            .await
            .map_err(MembershipError::on_unique("item.name", "already exists in this committee"))?;
        if done.rows_affected == 0 {
            return Err(MembershipError::EtagMismatch);
        }
        audit(
            &tx,
            ctx,
            committee,
            "member_reference_item",
            id,
            json!({"name": {"from": old_name, "to": updated.name}}),
        )
        .await?;
        tx.commit().await?;
        Ok(to_domain(updated))
    }
}
