//! Sign-in, token refresh and rotation, logout, and the first operator.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::audit::{Actor, AuditRecord};
use xieshang_platform::auth::{self, CommitteeRef, RefreshToken, TenantContext, TokenSubject};
use xieshang_platform::db::Scope;
use xieshang_platform::ids::{CommitteeId, UserId};
use xieshang_proto::common::v1::Role;

use super::committees::hydrate;
use super::users::{load_user, user_scope, with_roles, write_roles};
use super::{Store, Viewer};
use crate::domain::{self, Committee, User};
use crate::entity::{auth_session, committee, user};
use crate::error::{Result, TenantsError};

/// Access and refresh tokens for a signed-in user.
pub struct Tokens {
    pub access_token: String,
    pub access_expires: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_expires: DateTime<Utc>,
}

pub struct LoginOutcome {
    pub tokens: Tokens,
    pub user: User,
}

const WRONG_CREDENTIALS: &str = "committee code, username or password is wrong";

impl Store {
    pub async fn login(
        &self,
        method: String,
        committee_code: &str,
        username: &str,
        password: &str,
    ) -> Result<LoginOutcome> {
        let code = committee_code.trim();
        let username = username.trim().to_ascii_lowercase();
        if username.is_empty() {
            return Err(TenantsError::invalid("username", "is required"));
        }
        if password.is_empty() {
            return Err(TenantsError::invalid("password", "is required"));
        }
        // Committees are a registry without row-level security: find the
        // tenant first, then read the user inside its scope.
        let committee = if code.is_empty() {
            None
        } else {
            let tx = self.db.begin(Scope::Platform).await?;
            let row = committee::Entity::find().filter(committee::Column::Code.eq(code)).one(&*tx).await?;
            tx.commit().await?;
            Some(row.ok_or_else(|| TenantsError::Unauthenticated(WRONG_CREDENTIALS.into()))?)
        };
        let committee_id = committee.as_ref().map(|c| CommitteeId(c.id));
        let scope = committee_id.map_or(Scope::Platform, Scope::Committee);

        let tx = self.db.begin(scope).await?;
        let row = user::Entity::find()
            .filter(user::Column::Scope.eq(user_scope(committee_id)))
            .filter(user::Column::Username.eq(username.clone()))
            .one(&*tx)
            .await?;
        tx.commit().await?;
        // Verify outside the transaction: Argon2 is slow on purpose. Unknown
        // users cost a hash too, so timing does not tell who exists.
        let Some(row) = row else {
            let _ = auth::verify_password(password, DUMMY_HASH);
            return Err(TenantsError::Unauthenticated(WRONG_CREDENTIALS.into()));
        };
        if !auth::verify_password(password, &row.password_hash) {
            return Err(TenantsError::Unauthenticated(WRONG_CREDENTIALS.into()));
        }
        if row.disabled {
            return Err(TenantsError::FailedPrecondition(
                "this account is disabled; ask your committee's admin".into(),
            ));
        }
        if committee.as_ref().is_some_and(|c| c.suspended) {
            return Err(TenantsError::FailedPrecondition("this committee is suspended on the platform".into()));
        }

        let tx = self.db.begin(scope).await?;
        let user = with_roles(&tx, vec![row]).await?.remove(0);
        let session_id = Uuid::now_v7();
        let secret = auth::random_secret(32);
        let now = xieshang_platform::time::now();
        let refresh_expires = now + self.keys.refresh_ttl;
        auth_session::Entity::insert(auth_session::ActiveModel {
            id: Set(session_id),
            committee_id: Set(committee_id.map(|c| c.0)),
            user_id: Set(user.id.0),
            secret_hash: Set(auth::sha256_hex(&secret)),
            expires_at: Set(refresh_expires),
            revoked_at: Set(None),
            created_at: Set(now),
            last_used_at: Set(now),
        })
        .exec_without_returning(&*tx)
        .await?;
        let actor = Actor { user_id: Some(user.id), username: user.username.clone(), method };
        tx.audit(
            &actor,
            AuditRecord {
                committee: committee_id,
                target_type: "session",
                target_id: session_id.to_string(),
                changes: json!({"signed_in": true}),
            },
        )
        .await?;
        tx.commit().await?;

        let committee_ref = committee.map(|c| CommitteeRef { id: CommitteeId(c.id), code: c.code });
        let tokens = self.tokens(&user, committee_ref, session_id, &secret, refresh_expires)?;
        Ok(LoginOutcome { tokens, user })
    }

    /// Rotates a refresh token. Presenting an already-rotated token ends the
    /// session: someone else may hold a copy of it.
    pub async fn refresh(&self, token: &str) -> Result<LoginOutcome> {
        let invalid = || TenantsError::Unauthenticated("refresh token is invalid or expired; sign in again".into());
        let parsed = RefreshToken::parse(token.trim()).ok_or_else(invalid)?;
        let scope = parsed.committee.map_or(Scope::Platform, Scope::Committee);
        let tx = self.db.begin(scope).await?;
        let session = auth_session::Entity::find_by_id(parsed.session_id)
            .filter(match parsed.committee {
                Some(c) => auth_session::Column::CommitteeId.eq(c.0),
                None => auth_session::Column::CommitteeId.is_null(),
            })
            .one(&*tx)
            .await?
            .ok_or_else(invalid)?;
        let now = xieshang_platform::time::now();
        if session.revoked_at.is_some() || session.expires_at <= now {
            return Err(invalid());
        }
        if session.secret_hash != auth::sha256_hex(&parsed.secret) {
            auth_session::Entity::update_many()
                .col_expr(auth_session::Column::RevokedAt, Expr::value(now))
                .filter(auth_session::Column::Id.eq(session.id))
                .exec(&*tx)
                .await?;
            tx.commit().await?;
            self.forget_sessions(vec![session.id]);
            tracing::warn!(session = %session.id, "a rotated refresh token was presented again; session ended");
            return Err(invalid());
        }
        let row = user::Entity::find_by_id(session.user_id).one(&*tx).await?.ok_or_else(invalid)?;
        if row.disabled {
            return Err(invalid());
        }
        let committee = match session.committee_id {
            Some(id) => {
                let c = committee::Entity::find_by_id(id).one(&*tx).await?.ok_or_else(invalid)?;
                if c.suspended {
                    return Err(TenantsError::FailedPrecondition("this committee is suspended on the platform".into()));
                }
                Some(CommitteeRef { id: CommitteeId(c.id), code: c.code })
            }
            None => None,
        };
        let user = with_roles(&tx, vec![row]).await?.remove(0);
        let secret = auth::random_secret(32);
        auth_session::Entity::update_many()
            .col_expr(auth_session::Column::SecretHash, Expr::value(auth::sha256_hex(&secret)))
            .col_expr(auth_session::Column::LastUsedAt, Expr::value(now))
            .filter(auth_session::Column::Id.eq(session.id))
            .exec(&*tx)
            .await?;
        tx.commit().await?;
        let tokens = self.tokens(&user, committee, session.id, &secret, session.expires_at)?;
        Ok(LoginOutcome { tokens, user })
    }

    /// Ends the caller's session; its access tokens stop working at once.
    pub async fn logout(&self, ctx: &TenantContext) -> Result<()> {
        let tx = self.db.begin(ctx.own_scope()).await?;
        auth_session::Entity::update_many()
            .col_expr(auth_session::Column::RevokedAt, Expr::value(xieshang_platform::time::now()))
            .filter(auth_session::Column::Id.eq(ctx.session_id))
            .filter(auth_session::Column::UserId.eq(ctx.user_id.0))
            .filter(auth_session::Column::RevokedAt.is_null())
            .exec(&*tx)
            .await?;
        tx.audit(
            &Actor::from(ctx),
            AuditRecord {
                committee: ctx.committee_id(),
                target_type: "session",
                target_id: ctx.session_id.to_string(),
                changes: json!({"signed_out": true}),
            },
        )
        .await?;
        tx.commit().await?;
        self.forget_sessions(vec![ctx.session_id]);
        Ok(())
    }

    pub async fn who_am_i(&self, ctx: &TenantContext) -> Result<(User, Option<Committee>)> {
        let tx = self.db.begin(ctx.own_scope()).await?;
        let user = load_user(&tx, ctx.user_id).await?;
        let committee = match ctx.committee_id() {
            Some(id) => {
                let viewer = Viewer::of(&tx, ctx).await?;
                let row = super::committees::find_visible(&tx, &viewer, id).await?;
                let mut c = hydrate(&tx, vec![row]).await?.remove(0);
                c.current_term = super::terms::current_term(&tx, id).await?;
                Some(c)
            }
            None => None,
        };
        tx.commit().await?;
        Ok((user, committee))
    }

    /// Creates the first platform operator if there is none. Returns the
    /// username and, when no password was configured, the generated one-time
    /// password (to be shown once).
    pub async fn bootstrap_operator(
        &self,
        username: &str,
        password: Option<&str>,
    ) -> Result<Option<(String, Option<String>)>> {
        let tx = self.db.begin(Scope::Platform).await?;
        let existing = user::Entity::find().filter(user::Column::CommitteeId.is_null()).count(&*tx).await?;
        tx.commit().await?;
        if existing > 0 {
            return Ok(None);
        }
        let username = domain::username(username)?;
        if let Some(p) = password {
            domain::new_password("bootstrap.password", p)?;
        }
        let one_time = password.is_none().then(auth::one_time_password);
        let hash = auth::hash_password(password.or(one_time.as_deref()).unwrap_or_default())?;
        let tx = self.db.begin(Scope::Platform).await?;
        let id = UserId::new();
        let now = xieshang_platform::time::now();
        user::Entity::insert(user::ActiveModel {
            id: Set(id.0),
            committee_id: Set(None),
            scope: Set(user_scope(None)),
            username: Set(username.clone()),
            display_name: Set("平台运维".to_owned()),
            password_hash: Set(hash),
            disabled: Set(false),
            must_change_password: Set(one_time.is_some()),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&*tx)
        .await?;
        write_roles(&tx, id, None, &[Role::PlatformOperator]).await?;
        let actor = Actor { user_id: None, username: "system".into(), method: "bootstrap".into() };
        tx.audit(
            &actor,
            AuditRecord {
                committee: None,
                target_type: "user",
                target_id: id.to_string(),
                changes: json!({"created": {"username": username, "roles": ["ROLE_PLATFORM_OPERATOR"]}}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Some((username, one_time)))
    }

    /// Loads sessions revoked recently enough that their access tokens might
    /// still be valid (after a restart, the in-memory set is empty).
    pub async fn load_revocations(&self) -> Result<usize> {
        let since = xieshang_platform::time::now() - self.keys.access_ttl;
        let tx = self.db.begin(Scope::System).await?;
        let rows = auth_session::Entity::find().filter(auth_session::Column::RevokedAt.gt(since)).all(&*tx).await?;
        tx.commit().await?;
        let n = rows.len();
        for row in rows {
            if let Some(at) = row.revoked_at {
                self.revocations.apply_announced(row.id, (at + self.keys.access_ttl).timestamp());
            }
        }
        Ok(n)
    }

    fn tokens(
        &self,
        user: &User,
        committee: Option<CommitteeRef>,
        session_id: Uuid,
        secret: &str,
        refresh_expires: DateTime<Utc>,
    ) -> Result<Tokens> {
        let subject = TokenSubject {
            user_id: user.id,
            username: user.username.clone(),
            session_id,
            committee: committee.clone(),
            roles: user.roles.clone(),
            must_change_password: user.must_change_password,
        };
        let (access_token, access_expires) = self.keys.issue(&subject)?;
        let refresh_token =
            RefreshToken { committee: committee.map(|c| c.id), session_id, secret: secret.to_owned() }.encode();
        Ok(Tokens { access_token, access_expires, refresh_token, refresh_expires })
    }
}

/// A valid Argon2 hash of a random string, verified against when the user
/// does not exist so that failures take the same time.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2ZlN0QfF0c7Zq1WkQv6mT3p1HkqfYQxLrL0Z2bE9n0Q";
