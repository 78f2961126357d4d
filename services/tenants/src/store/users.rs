//! Users and roles. A committee's admin manages that committee's users only;
//! platform operators manage everyone. Users of another committee — even a
//! subordinate one — are `NotFound`.

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::auth::{self, TenantContext};
use xieshang_platform::db::{Scope, Tx};
use xieshang_platform::ids::{CommitteeId, UserId};
use xieshang_platform::page;
use xieshang_proto::common::v1::Role;
use xieshang_proto::events::v1 as events;
use xieshang_proto::events::v1::event::Payload;

use super::{Page, Store, audit, origin};
use crate::domain::{self, User};
use crate::entity::{auth_session, committee, user, user_role};
use crate::error::{Result, TenantsError};

pub struct NewUser {
    pub committee_id: Option<CommitteeId>,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<i32>,
    /// None: generate a one-time password.
    pub password: Option<String>,
}

#[derive(Default)]
pub struct UserFilter {
    pub committee_id: Option<CommitteeId>,
    pub role: Option<Role>,
    pub include_disabled: bool,
    pub page_size: i32,
    pub page_token: String,
}

/// `scope` column value of a user: the committee id, or "platform".
pub(super) fn user_scope(committee: Option<CommitteeId>) -> String {
    committee.map_or_else(|| "platform".to_owned(), |c| c.to_string())
}

impl Store {
    /// Creates a user; returns it with the one-time password if one was generated.
    pub async fn create_user(&self, ctx: &TenantContext, input: NewUser) -> Result<(User, Option<String>)> {
        manage(ctx, input.committee_id)?;
        let username = domain::username(&input.username)?;
        let display_name = domain::display_name(&input.display_name)?;
        let roles = domain::role_set(&input.roles, input.committee_id.is_some())?;
        if let Some(p) = &input.password {
            domain::new_password("password", p)?;
        }
        let (password, one_time) = match input.password {
            Some(p) => (p, None),
            None => {
                let p = auth::one_time_password();
                (p.clone(), Some(p))
            }
        };
        let hash = auth::hash_password(&password)?;

        let tx = self.begin(ctx).await?;
        if let Some(cid) = input.committee_id {
            let exists = committee::Entity::find_by_id(cid.0).one(&*tx).await?;
            if exists.is_none() {
                return Err(TenantsError::NotFound("committee"));
            }
        }
        let scope = user_scope(input.committee_id);
        let taken = user::Entity::find()
            .filter(user::Column::Scope.eq(scope.clone()))
            .filter(user::Column::Username.eq(username.clone()))
            .one(&*tx)
            .await?;
        if taken.is_some() {
            return Err(TenantsError::exists(
                "user.username",
                format!("{username} is already taken in this committee"),
            ));
        }
        let id = UserId::new();
        let now = xieshang_platform::time::now();
        user::Entity::insert(user::ActiveModel {
            id: Set(id.0),
            committee_id: Set(input.committee_id.map(|c| c.0)),
            scope: Set(scope),
            username: Set(username.clone()),
            display_name: Set(display_name.clone()),
            password_hash: Set(hash),
            disabled: Set(false),
            must_change_password: Set(one_time.is_some()),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&*tx)
        .await
        .map_err(TenantsError::on_unique("user.username", "this username is already taken in this committee"))?;
        write_roles(&tx, id, input.committee_id, &roles).await?;
        let role_names: Vec<&str> = roles.iter().map(|r| r.as_str_name()).collect();
        audit(
            &tx,
            ctx,
            input.committee_id,
            "user",
            id,
            json!({"created": {"username": username, "display_name": display_name, "roles": role_names}}),
        )
        .await?;
        tx.emit(
            &origin(&tx, Some(ctx), input.committee_id).await?,
            Payload::UserCreated(events::UserCreated {
                user_id: id.to_string(),
                username,
                roles: roles.iter().map(|r| *r as i32).collect(),
            }),
        )
        .await?;
        let created = load_user(&tx, id).await?;
        tx.commit().await?;
        Ok((created, one_time))
    }

    pub async fn get_user(&self, ctx: &TenantContext, id: UserId) -> Result<User> {
        let tx = self.begin(ctx).await?;
        let found = load_user(&tx, id).await?;
        if found.id != ctx.user_id {
            read_users(ctx, found.committee_id)?;
        }
        tx.commit().await?;
        Ok(found)
    }

    pub async fn list_users(&self, ctx: &TenantContext, filter: UserFilter) -> Result<Page<User>> {
        read_users(ctx, filter.committee_id)?;
        let size = page::size(filter.page_size, 50, 500)?;
        let after = page::decode(&filter.page_token)?;
        let tx = self.begin(ctx).await?;
        let mut query = user::Entity::find().filter(user::Column::Scope.eq(user_scope(filter.committee_id)));
        if !filter.include_disabled {
            query = query.filter(user::Column::Disabled.eq(false));
        }
        if let Some(role) = filter.role {
            let holders: Vec<Uuid> = user_role::Entity::find()
                .filter(user_role::Column::Role.eq(role as i32 as i16))
                .filter(match filter.committee_id {
                    Some(c) => user_role::Column::CommitteeId.eq(c.0),
                    None => user_role::Column::CommitteeId.is_null(),
                })
                .all(&*tx)
                .await?
                .into_iter()
                .map(|r| r.user_id)
                .collect();
            query = query.filter(user::Column::Id.is_in(holders));
        }
        if let Some(after) = after {
            query = query.filter(user::Column::Username.gt(after));
        }
        let mut rows = query.order_by_asc(user::Column::Username).limit(size + 1).all(&*tx).await?;
        let more = rows.len() as u64 > size;
        rows.truncate(size as usize);
        let next_page_token = match (more, rows.last()) {
            (true, Some(last)) => page::encode(&last.username),
            _ => String::new(),
        };
        let items = with_roles(&tx, rows).await?;
        tx.commit().await?;
        Ok(Page { items, next_page_token })
    }

    pub async fn update_user(
        &self,
        ctx: &TenantContext,
        id: UserId,
        display_name: Option<String>,
        etag: &str,
    ) -> Result<User> {
        let Some(display_name) = display_name else {
            return Err(TenantsError::invalid("update_mask", "must name display_name"));
        };
        let display_name = domain::display_name(&display_name).map_err(|_| {
            TenantsError::invalid("user.display_name", "must be 1 to 40 characters without control characters")
        })?;
        let tx = self.begin(ctx).await?;
        let row = find_user(&tx, id).await?;
        if id != ctx.user_id {
            manage(ctx, row.committee_id.map(CommitteeId))?;
        }
        domain::check_etag(etag, row.version)?;
        bump(&tx, &row, |u| u.col_expr(user::Column::DisplayName, Expr::value(display_name.clone()))).await?;
        audit(
            &tx,
            ctx,
            row.committee_id.map(CommitteeId),
            "user",
            id,
            json!({"display_name": {"from": row.display_name, "to": display_name}}),
        )
        .await?;
        let updated = load_user(&tx, id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Replaces a user's roles and ends their sessions, so the new roles
    /// take effect at once.
    pub async fn set_user_roles(&self, ctx: &TenantContext, id: UserId, roles: &[i32], etag: &str) -> Result<User> {
        let tx = self.begin(ctx).await?;
        let row = find_user(&tx, id).await?;
        let committee = row.committee_id.map(CommitteeId);
        manage(ctx, committee)?;
        if id == ctx.user_id {
            return Err(TenantsError::denied("you cannot change your own roles"));
        }
        if !ctx.is_operator() && roles.contains(&(Role::PlatformOperator as i32)) {
            return Err(TenantsError::denied("only platform operators grant PLATFORM_OPERATOR"));
        }
        let roles = domain::role_set(roles, committee.is_some())?;
        domain::check_etag(etag, row.version)?;
        let before = role_names(&roles_of(&tx, &[row.id]).await?.remove(&row.id).unwrap_or_default());
        user_role::Entity::delete_many().filter(user_role::Column::UserId.eq(row.id)).exec(&*tx).await?;
        write_roles(&tx, id, committee, &roles).await?;
        bump(&tx, &row, |u| u).await?;
        let revoked = self.end_sessions(&tx, id).await?;
        audit(&tx, ctx, committee, "user", id, json!({"roles": {"from": before, "to": role_names(&roles)}})).await?;
        tx.emit(
            &origin(&tx, Some(ctx), committee).await?,
            Payload::UserRolesChanged(events::UserRolesChanged {
                user_id: id.to_string(),
                roles: roles.iter().map(|r| *r as i32).collect(),
            }),
        )
        .await?;
        let updated = load_user(&tx, id).await?;
        tx.commit().await?;
        self.forget_sessions(revoked);
        Ok(updated)
    }

    pub async fn set_user_disabled(&self, ctx: &TenantContext, id: UserId, disabled: bool) -> Result<User> {
        let tx = self.begin(ctx).await?;
        let row = find_user(&tx, id).await?;
        let committee = row.committee_id.map(CommitteeId);
        manage(ctx, committee)?;
        if id == ctx.user_id {
            return Err(TenantsError::denied("you cannot disable or enable yourself"));
        }
        if row.disabled == disabled {
            let state = if disabled { "already disabled" } else { "not disabled" };
            return Err(TenantsError::FailedPrecondition(format!("the user is {state}")));
        }
        bump(&tx, &row, |u| u.col_expr(user::Column::Disabled, Expr::value(disabled))).await?;
        let revoked = if disabled { self.end_sessions(&tx, id).await? } else { Vec::new() };
        audit(&tx, ctx, committee, "user", id, json!({"disabled": disabled})).await?;
        tx.emit(
            &origin(&tx, Some(ctx), committee).await?,
            Payload::UserStateChanged(events::UserStateChanged { user_id: id.to_string(), disabled }),
        )
        .await?;
        let updated = load_user(&tx, id).await?;
        tx.commit().await?;
        self.forget_sessions(revoked);
        Ok(updated)
    }

    /// Sets a new one-time password and ends the user's sessions.
    pub async fn reset_password(&self, ctx: &TenantContext, id: UserId) -> Result<String> {
        let password = auth::one_time_password();
        let hash = auth::hash_password(&password)?;
        let tx = self.begin(ctx).await?;
        let row = find_user(&tx, id).await?;
        let committee = row.committee_id.map(CommitteeId);
        manage(ctx, committee)?;
        bump(&tx, &row, |u| {
            u.col_expr(user::Column::PasswordHash, Expr::value(hash.clone()))
                .col_expr(user::Column::MustChangePassword, Expr::value(true))
        })
        .await?;
        let revoked = self.end_sessions(&tx, id).await?;
        audit(&tx, ctx, committee, "user", id, json!({"password": "reset"})).await?;
        tx.commit().await?;
        self.forget_sessions(revoked);
        Ok(password)
    }

    /// The caller changes their own password.
    pub async fn change_password(&self, ctx: &TenantContext, current: &str, new: &str) -> Result<()> {
        domain::new_password("new_password", new)?;
        if current == new {
            return Err(TenantsError::invalid("new_password", "must differ from the current password"));
        }
        let row = {
            let tx = self.begin_own(ctx).await?;
            let row = find_user(&tx, ctx.user_id).await?;
            tx.commit().await?;
            row
        };
        // Hashing is slow on purpose; do it outside any transaction.
        if !auth::verify_password(current, &row.password_hash) {
            return Err(TenantsError::invalid("current_password", "is not your current password"));
        }
        let hash = auth::hash_password(new)?;
        let tx = self.begin_own(ctx).await?;
        let row = find_user(&tx, ctx.user_id).await?;
        bump(&tx, &row, |u| {
            u.col_expr(user::Column::PasswordHash, Expr::value(hash.clone()))
                .col_expr(user::Column::MustChangePassword, Expr::value(false))
        })
        .await?;
        audit(&tx, ctx, row.committee_id.map(CommitteeId), "user", ctx.user_id, json!({"password": "changed"})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A transaction over the caller's own rows (also for operators, whose
    /// own rows belong to the platform).
    async fn begin_own(&self, ctx: &TenantContext) -> Result<Tx> {
        Ok(self.db.begin(ctx.own_scope()).await?)
    }

    /// Revokes every open session of a user in `tx`; returns them for [`Store::forget_sessions`].
    pub(super) async fn end_sessions(&self, tx: &Tx, user: UserId) -> Result<Vec<Uuid>> {
        let open: Vec<Uuid> = auth_session::Entity::find()
            .filter(auth_session::Column::UserId.eq(user.0))
            .filter(auth_session::Column::RevokedAt.is_null())
            .all(&**tx)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect();
        if !open.is_empty() {
            auth_session::Entity::update_many()
                .col_expr(auth_session::Column::RevokedAt, Expr::value(xieshang_platform::time::now()))
                .filter(auth_session::Column::Id.is_in(open.clone()))
                .exec(&**tx)
                .await?;
        }
        Ok(open)
    }

    /// After commit: refuse the revoked sessions' access tokens at once.
    pub(super) fn forget_sessions(&self, sessions: Vec<Uuid>) {
        let until = chrono::Utc::now() + self.keys.access_ttl;
        for session in sessions {
            self.revocations.revoke(session, until);
        }
    }
}

/// Managing users of `committee` (None: platform operators) needs the
/// committee's admin role or the operator role.
fn manage(ctx: &TenantContext, committee: Option<CommitteeId>) -> Result<()> {
    if ctx.is_operator() {
        return Ok(());
    }
    if committee.is_none() || committee != ctx.committee_id() {
        return Err(TenantsError::NotFound("committee"));
    }
    if ctx.has_role(Role::CommitteeAdmin) {
        Ok(())
    } else {
        Err(TenantsError::denied("managing users needs the COMMITTEE_ADMIN role"))
    }
}

/// Reading a committee's users needs its admin or staff role.
fn read_users(ctx: &TenantContext, committee: Option<CommitteeId>) -> Result<()> {
    if ctx.is_operator() {
        return Ok(());
    }
    if committee.is_none() || committee != ctx.committee_id() {
        return Err(TenantsError::NotFound("committee"));
    }
    if ctx.has_role(Role::CommitteeAdmin) || ctx.has_role(Role::Staff) {
        Ok(())
    } else {
        Err(TenantsError::denied("reading users needs the COMMITTEE_ADMIN or STAFF role"))
    }
}

/// A user row the caller's scope may touch: the code filter here is the
/// first wall, row-level security the second.
pub(super) async fn find_user(tx: &Tx, id: UserId) -> Result<user::Model> {
    let mut query = user::Entity::find_by_id(id.0);
    if let Scope::Committee(own) = tx.scope() {
        query = query.filter(user::Column::CommitteeId.eq(own.0));
    } else if tx.scope() == Scope::Platform {
        query = query.filter(user::Column::CommitteeId.is_null());
    }
    query.one(&**tx).await?.ok_or(TenantsError::NotFound("user"))
}

pub(super) async fn load_user(tx: &Tx, id: UserId) -> Result<User> {
    let row = find_user(tx, id).await?;
    Ok(with_roles(tx, vec![row]).await?.remove(0))
}

async fn roles_of(tx: &Tx, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<Role>>> {
    let mut map: HashMap<Uuid, Vec<Role>> = HashMap::new();
    if ids.is_empty() {
        return Ok(map);
    }
    let rows = user_role::Entity::find()
        .filter(user_role::Column::UserId.is_in(ids.to_vec()))
        .order_by_asc(user_role::Column::Role)
        .all(&**tx)
        .await?;
    for row in rows {
        if let Ok(role) = Role::try_from(i32::from(row.role)) {
            map.entry(row.user_id).or_default().push(role);
        }
    }
    Ok(map)
}

pub(super) async fn with_roles(tx: &Tx, rows: Vec<user::Model>) -> Result<Vec<User>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut roles = roles_of(tx, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| User {
            roles: roles.remove(&r.id).unwrap_or_default(),
            id: UserId(r.id),
            committee_id: r.committee_id.map(CommitteeId),
            username: r.username,
            display_name: r.display_name,
            disabled: r.disabled,
            must_change_password: r.must_change_password,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect())
}

pub(super) async fn write_roles(tx: &Tx, user: UserId, committee: Option<CommitteeId>, roles: &[Role]) -> Result<()> {
    let rows = roles.iter().map(|r| user_role::ActiveModel {
        user_id: Set(user.0),
        role: Set(*r as i32 as i16),
        committee_id: Set(committee.map(|c| c.0)),
    });
    user_role::Entity::insert_many(rows).exec_without_returning(&**tx).await?;
    Ok(())
}

/// Updates a user row, bumping its version and update time.
async fn bump(
    tx: &Tx,
    row: &user::Model,
    set: impl FnOnce(sea_orm::UpdateMany<user::Entity>) -> sea_orm::UpdateMany<user::Entity>,
) -> Result<()> {
    let stmt = user::Entity::update_many()
        .col_expr(user::Column::Version, Expr::value(row.version + 1))
        .col_expr(user::Column::UpdatedAt, Expr::value(xieshang_platform::time::now()));
    let result =
        set(stmt).filter(user::Column::Id.eq(row.id)).filter(user::Column::Version.eq(row.version)).exec(&**tx).await?;
    if result.rows_affected == 0 {
        return Err(TenantsError::EtagMismatch);
    }
    Ok(())
}

fn role_names(roles: &[Role]) -> Vec<&'static str> {
    roles.iter().map(|r| r.as_str_name()).collect()
}
