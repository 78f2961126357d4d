//! Committees and the tree: a materialized path of ids
//! ("/<province>/<city>/<county>/") makes ancestors a split of one string and a
//! subtree one indexed `LIKE 'path%'` query, ordered by division code —
//! which is depth-first order, since a child's code extends its parent's prefix.

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::Tx;
use xieshang_platform::ids::CommitteeId;
use xieshang_platform::page;
use xieshang_proto::common::v1::Role;
use xieshang_proto::events::v1 as events;
use xieshang_proto::events::v1::event::Payload;

use super::{Page, Store, Viewer, audit, origin};
use crate::domain::{self, Committee, DivisionCode, Level, ParentInfo};
use crate::entity::{auth_session, committee};
use crate::error::{Result, TenantsError};

pub struct NewCommittee {
    pub code: String,
    pub name: String,
    pub level: Option<Level>,
    pub parent_id: Option<CommitteeId>,
    pub office_address: String,
    pub office_phone: String,
}

#[derive(Default)]
pub struct CommitteeUpdate {
    pub name: Option<String>,
    pub office_address: Option<String>,
    pub office_phone: Option<String>,
    pub etag: String,
}

#[derive(Default)]
pub struct CommitteeFilter {
    pub level: Option<Level>,
    pub parent_id: Option<CommitteeId>,
    pub name_contains: String,
    pub page_size: i32,
    pub page_token: String,
}

impl Store {
    pub async fn create_committee(&self, ctx: &TenantContext, input: NewCommittee) -> Result<Committee> {
        if !ctx.is_operator() && !ctx.has_role(Role::CommitteeAdmin) {
            return Err(TenantsError::denied("creating committees needs the COMMITTEE_ADMIN role"));
        }
        let level = input.level.ok_or_else(|| TenantsError::invalid("level", "is required"))?;
        let code = DivisionCode::parse(&input.code)?;
        let name = domain::committee_name("name", &input.name)?;
        let office_address = domain::short_text("office_address", &input.office_address, 200)?;
        let office_phone = domain::short_text("office_phone", &input.office_phone, 40)?;

        let tx = self.begin(ctx).await?;
        let viewer = Viewer::of(&tx, ctx).await?;
        let parent = match input.parent_id {
            Some(pid) => Some(
                committee::Entity::find_by_id(pid.0)
                    .one(&*tx)
                    .await?
                    .filter(|p| viewer.can_see(p))
                    .ok_or_else(|| TenantsError::invalid("parent_id", "does not name a committee you can see"))?,
            ),
            None => None,
        };
        if let Viewer::Within { own } = &viewer {
            if parent.as_ref().map(|p| p.id) != Some(own.id) {
                return Err(TenantsError::denied(
                    "a committee admin creates direct children of their own committee only",
                ));
            }
        }
        let parent_info = parent
            .as_ref()
            .map(|p| -> Result<ParentInfo> {
                Ok(ParentInfo {
                    code: DivisionCode::parse(&p.code)?,
                    level: Level::from_i16(p.level)
                        .ok_or_else(|| TenantsError::invalid("parent_id", "has no level"))?,
                })
            })
            .transpose()?;
        domain::check_placement(&code, level, parent_info.as_ref())?;
        if parent.as_ref().is_some_and(|p| p.suspended) {
            return Err(TenantsError::FailedPrecondition("the parent committee is suspended".into()));
        }
        if committee::Entity::find().filter(committee::Column::Code.eq(code.as_str())).one(&*tx).await?.is_some() {
            return Err(TenantsError::exists(
                "code",
                format!("a committee with code {} already exists", code.as_str()),
            ));
        }
        let sibling_scope = parent.as_ref().map_or_else(|| "root".to_owned(), |p| p.id.to_string());
        let name_taken = committee::Entity::find()
            .filter(committee::Column::SiblingScope.eq(sibling_scope.clone()))
            .filter(committee::Column::Name.eq(name.clone()))
            .one(&*tx)
            .await?;
        if name_taken.is_some() {
            return Err(TenantsError::exists("name", format!("a sibling committee is already named {name}")));
        }

        let id = CommitteeId::new();
        let path = format!("{}{}/", parent.as_ref().map_or("/", |p| p.path.as_str()), id);
        let depth = parent.as_ref().map_or(0, |p| p.depth + 1);
        let now = xieshang_platform::time::now();
        let model = committee::ActiveModel {
            id: Set(id.0),
            code: Set(code.as_str().to_owned()),
            name: Set(name.clone()),
            level: Set(level.as_i16()),
            parent_id: Set(parent.as_ref().map(|p| p.id)),
            sibling_scope: Set(sibling_scope),
            path: Set(path),
            depth: Set(depth),
            office_address: Set(office_address),
            office_phone: Set(office_phone),
            suspended: Set(false),
            suspended_reason: Set(String::new()),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        };
        committee::Entity::insert(model)
            .exec_without_returning(&*tx)
            .await
            .map_err(TenantsError::on_unique("code", "a committee with this code or sibling name already exists"))?;
        audit(
            &tx,
            ctx,
            Some(id),
            "committee",
            id,
            json!({"created": {"code": code.as_str(), "name": name, "level": level.label(),
                   "parent_id": parent.as_ref().map(|p| p.id.to_string())}}),
        )
        .await?;
        tx.emit(
            &origin(&tx, Some(ctx), Some(id)).await?,
            Payload::CommitteeCreated(events::CommitteeCreated {
                committee_id: id.to_string(),
                code: code.as_str().to_owned(),
                name: name.clone(),
                level: level_to_proto(level),
                parent_committee_id: parent.as_ref().map(|p| p.id.to_string()).unwrap_or_default(),
            }),
        )
        .await?;
        let created = load_visible(&tx, &viewer, id).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Gets a committee by id or code; the caller's own committee comes with its current term.
    pub async fn get_committee(
        &self,
        ctx: &TenantContext,
        id: Option<CommitteeId>,
        code: Option<&str>,
    ) -> Result<Committee> {
        let tx = self.begin(ctx).await?;
        let viewer = Viewer::of(&tx, ctx).await?;
        let row = match (id, code) {
            (Some(id), _) => committee::Entity::find_by_id(id.0).one(&*tx).await?,
            (None, Some(code)) => committee::Entity::find().filter(committee::Column::Code.eq(code)).one(&*tx).await?,
            (None, None) => return Err(TenantsError::invalid("id", "give an id or a code")),
        };
        let row = row.filter(|r| viewer.can_see(r)).ok_or(TenantsError::NotFound("committee"))?;
        let mut committee = hydrate(&tx, vec![row]).await?.remove(0);
        if ctx.is_operator() || ctx.committee_id() == Some(committee.id) {
            committee.current_term = super::terms::current_term(&tx, committee.id).await?;
        }
        tx.commit().await?;
        Ok(committee)
    }

    pub async fn list_committees(&self, ctx: &TenantContext, filter: CommitteeFilter) -> Result<Page<Committee>> {
        let size = page::size(filter.page_size, 50, 500)?;
        let after = page::decode(&filter.page_token)?;
        let tx = self.begin(ctx).await?;
        let viewer = Viewer::of(&tx, ctx).await?;
        let mut query = committee::Entity::find().filter(viewer.condition());
        if let Some(level) = filter.level {
            query = query.filter(committee::Column::Level.eq(level.as_i16()));
        }
        if let Some(parent) = filter.parent_id {
            query = query.filter(committee::Column::ParentId.eq(parent.0));
        }
        let needle = filter.name_contains.trim();
        if !needle.is_empty() {
            query = query.filter(committee::Column::Name.contains(needle));
        }
        if let Some(after) = after {
            query = query.filter(committee::Column::Code.gt(after));
        }
        let rows = query.order_by_asc(committee::Column::Code).limit(size + 1).all(&*tx).await?;
        let page = paged(&tx, rows, size).await?;
        tx.commit().await?;
        Ok(page)
    }

    pub async fn update_committee(
        &self,
        ctx: &TenantContext,
        id: CommitteeId,
        update: CommitteeUpdate,
    ) -> Result<Committee> {
        if update.name.is_none() && update.office_address.is_none() && update.office_phone.is_none() {
            return Err(TenantsError::invalid(
                "update_mask",
                "must name at least one of: name, office_address, office_phone",
            ));
        }
        let name = update.name.as_deref().map(|n| domain::committee_name("committee.name", n)).transpose()?;
        let address = update
            .office_address
            .as_deref()
            .map(|a| domain::short_text("committee.office_address", a, 200))
            .transpose()?;
        let phone =
            update.office_phone.as_deref().map(|p| domain::short_text("committee.office_phone", p, 40)).transpose()?;

        let tx = self.begin(ctx).await?;
        let viewer = Viewer::of(&tx, ctx).await?;
        let row = find_visible(&tx, &viewer, id).await?;
        if !ctx.is_operator() && !(ctx.committee_id() == Some(id) && ctx.has_role(Role::CommitteeAdmin)) {
            return Err(TenantsError::denied("only the committee's own admin may change its settings"));
        }
        domain::check_etag(&update.etag, row.version)?;
        let mut changes = serde_json::Map::new();
        let mut stmt = committee::Entity::update_many()
            .col_expr(committee::Column::Version, Expr::value(row.version + 1))
            .col_expr(committee::Column::UpdatedAt, Expr::value(xieshang_platform::time::now()));
        if let Some(name) = name.filter(|n| *n != row.name) {
            let taken = committee::Entity::find()
                .filter(committee::Column::SiblingScope.eq(row.sibling_scope.clone()))
                .filter(committee::Column::Name.eq(name.clone()))
                .one(&*tx)
                .await?;
            if taken.is_some() {
                return Err(TenantsError::exists(
                    "committee.name",
                    format!("a sibling committee is already named {name}"),
                ));
            }
            changes.insert("name".into(), json!({"from": row.name, "to": name}));
            stmt = stmt.col_expr(committee::Column::Name, Expr::value(name));
        }
        if let Some(address) = address.filter(|a| *a != row.office_address) {
            changes.insert("office_address".into(), json!({"from": row.office_address, "to": address}));
            stmt = stmt.col_expr(committee::Column::OfficeAddress, Expr::value(address));
        }
        if let Some(phone) = phone.filter(|p| *p != row.office_phone) {
            changes.insert("office_phone".into(), json!({"from": row.office_phone, "to": phone}));
            stmt = stmt.col_expr(committee::Column::OfficePhone, Expr::value(phone));
        }
        if changes.is_empty() {
            let unchanged = hydrate(&tx, vec![row]).await?.remove(0);
            tx.commit().await?;
            return Ok(unchanged);
        }
        let result = stmt
            .filter(committee::Column::Id.eq(id.0))
            .filter(committee::Column::Version.eq(row.version))
            .exec(&*tx)
            .await
            .map_err(TenantsError::on_unique("committee.name", "a sibling committee already has this name"))?;
        if result.rows_affected == 0 {
            return Err(TenantsError::EtagMismatch);
        }
        let changed_fields: Vec<String> = changes.keys().cloned().collect();
        tx.committee_changed(id);
        audit(&tx, ctx, Some(id), "committee", id, serde_json::Value::Object(changes)).await?;
        tx.emit(
            &origin(&tx, Some(ctx), Some(id)).await?,
            Payload::CommitteeUpdated(events::CommitteeUpdated { committee_id: id.to_string(), changed_fields }),
        )
        .await?;
        let updated = load_visible(&tx, &viewer, id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Suspends (`Some(reason)`) or reactivates (`None`) a committee. Suspending
    /// ends every open session of its users.
    pub async fn set_committee_suspended(
        &self,
        ctx: &TenantContext,
        id: CommitteeId,
        reason: Option<String>,
    ) -> Result<Committee> {
        let tx = self.begin(ctx).await?;
        let viewer = Viewer::of(&tx, ctx).await?;
        let row = find_visible(&tx, &viewer, id).await?;
        if !ctx.is_operator() {
            return Err(TenantsError::denied("only platform operators suspend or reactivate committees"));
        }
        let suspend = reason.is_some();
        if row.suspended == suspend {
            return Err(TenantsError::FailedPrecondition(
                if suspend { "the committee is already suspended" } else { "the committee is not suspended" }.into(),
            ));
        }
        let reason = reason.unwrap_or_default();
        let now = xieshang_platform::time::now();
        committee::Entity::update_many()
            .col_expr(committee::Column::Suspended, Expr::value(suspend))
            .col_expr(committee::Column::SuspendedReason, Expr::value(reason.clone()))
            .col_expr(committee::Column::Version, Expr::value(row.version + 1))
            .col_expr(committee::Column::UpdatedAt, Expr::value(now))
            .filter(committee::Column::Id.eq(id.0))
            .exec(&*tx)
            .await?;
        let mut revoked = Vec::new();
        if suspend {
            let open = auth_session::Entity::find()
                .filter(auth_session::Column::CommitteeId.eq(id.0))
                .filter(auth_session::Column::RevokedAt.is_null())
                .all(&*tx)
                .await?;
            auth_session::Entity::update_many()
                .col_expr(auth_session::Column::RevokedAt, Expr::value(now))
                .filter(auth_session::Column::CommitteeId.eq(id.0))
                .filter(auth_session::Column::RevokedAt.is_null())
                .exec(&*tx)
                .await?;
            revoked = open.into_iter().map(|s| s.id).collect();
        }
        tx.committee_changed(id);
        audit(&tx, ctx, Some(id), "committee", id, json!({"suspended": suspend, "reason": reason})).await?;
        tx.emit(
            &origin(&tx, Some(ctx), Some(id)).await?,
            Payload::CommitteeStateChanged(events::CommitteeStateChanged {
                committee_id: id.to_string(),
                suspended: suspend,
                reason,
            }),
        )
        .await?;
        let updated = load_visible(&tx, &viewer, id).await?;
        tx.commit().await?;
        for session in revoked {
            self.revocations.revoke(session, now + self.keys.access_ttl);
        }
        Ok(updated)
    }

    /// Ancestors, nearest first.
    pub async fn list_ancestors(&self, ctx: &TenantContext, id: CommitteeId) -> Result<Vec<Committee>> {
        let tx = self.begin(ctx).await?;
        let viewer = Viewer::of(&tx, ctx).await?;
        let row = find_visible(&tx, &viewer, id).await?;
        let ids: Vec<Uuid> = domain::ancestors_from_path(&row.path, id).into_iter().map(|c| c.0).collect();
        let rows = committee::Entity::find()
            .filter(committee::Column::Id.is_in(ids))
            .order_by_desc(committee::Column::Depth)
            .all(&*tx)
            .await?;
        let out = hydrate(&tx, rows).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// The subtree below `id` in depth-first (division code) order, paged,
    /// with the size of the whole subtree.
    pub async fn list_subtree(
        &self,
        ctx: &TenantContext,
        id: CommitteeId,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Page<Committee>, u64)> {
        let size = page::size(page_size, 100, 1000)?;
        let after = page::decode(page_token)?;
        let tx = self.begin(ctx).await?;
        let viewer = Viewer::of(&tx, ctx).await?;
        let root = find_visible(&tx, &viewer, id).await?;
        let base = Condition::all()
            .add(viewer.condition())
            .add(committee::Column::Path.starts_with(root.path.clone()))
            .add(committee::Column::Id.ne(root.id));
        let total = committee::Entity::find().filter(base.clone()).count(&*tx).await?;
        let mut query = committee::Entity::find().filter(base);
        if let Some(after) = after {
            query = query.filter(committee::Column::Code.gt(after));
        }
        let rows = query.order_by_asc(committee::Column::Code).limit(size + 1).all(&*tx).await?;
        let page = paged(&tx, rows, size).await?;
        tx.commit().await?;
        Ok((page, total))
    }
}

pub fn level_to_proto(level: Level) -> i32 {
    use xieshang_proto::common::v1::CommitteeLevel;
    (match level {
        Level::Provincial => CommitteeLevel::Provincial,
        Level::City => CommitteeLevel::City,
        Level::County => CommitteeLevel::County,
    }) as i32
}

/// A committee the caller may see, or `NotFound` — also when it exists but
/// is out of sight, so that its existence is not revealed.
pub(super) async fn find_visible(tx: &Tx, viewer: &Viewer, id: CommitteeId) -> Result<committee::Model> {
    committee::Entity::find_by_id(id.0)
        .one(&**tx)
        .await?
        .filter(|row| viewer.can_see(row))
        .ok_or(TenantsError::NotFound("committee"))
}

async fn load_visible(tx: &Tx, viewer: &Viewer, id: CommitteeId) -> Result<Committee> {
    let row = find_visible(tx, viewer, id).await?;
    Ok(hydrate(tx, vec![row]).await?.remove(0))
}

/// Cuts `rows` (fetched with one extra) to a page and hydrates it.
async fn paged(tx: &Tx, mut rows: Vec<committee::Model>, size: u64) -> Result<Page<Committee>> {
    let more = rows.len() as u64 > size;
    rows.truncate(size as usize);
    let next_page_token = match (more, rows.last()) {
        (true, Some(last)) => page::encode(&last.code),
        _ => String::new(),
    };
    Ok(Page { items: hydrate(tx, rows).await?, next_page_token })
}

/// Turns rows into domain committees, looking up parent codes in one query.
pub(super) async fn hydrate(tx: &Tx, rows: Vec<committee::Model>) -> Result<Vec<Committee>> {
    let parent_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.parent_id).collect();
    let codes: HashMap<Uuid, String> = if parent_ids.is_empty() {
        HashMap::new()
    } else {
        committee::Entity::find()
            .filter(committee::Column::Id.is_in(parent_ids))
            .all(&**tx)
            .await?
            .into_iter()
            .map(|p| (p.id, p.code))
            .collect()
    };
    rows.into_iter()
        .map(|r| {
            let level = Level::from_i16(r.level).ok_or_else(|| {
                TenantsError::Db(sea_orm::DbErr::Custom(format!("committee {} has unknown level {}", r.id, r.level)))
            })?;
            Ok(Committee {
                id: CommitteeId(r.id),
                parent_code: r.parent_id.and_then(|p| codes.get(&p).cloned()),
                code: r.code,
                name: r.name,
                level,
                parent_id: r.parent_id.map(CommitteeId),
                path: r.path,
                depth: r.depth,
                office_address: r.office_address,
                office_phone: r.office_phone,
                suspended: r.suspended,
                version: r.version,
                current_term: None,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
        })
        .collect()
}
