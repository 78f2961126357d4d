//! Access tokens, the interceptor that checks them, and the [`TenantContext`]
//! every handler works with.
//!
//! Access tokens are HS256 JWTs, short-lived (15 minutes by default), naming
//! the user, the session, the committee and the roles. Refresh tokens are
//! opaque (`<scope>.<session id>.<secret>`; only a SHA-256 of the secret is
//! stored) and rotate on every use. Logging out, disabling a user or
//! suspending a committee revokes sessions; the [`Revocations`] set makes the
//! interceptor refuse their still-unexpired access tokens at once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tonic::{Request, Status};
use uuid::Uuid;
use xieshang_proto::common::v1::Role;

use crate::PlatformError;
use crate::db::Scope;
use crate::ids::{CommitteeId, UserId};
use crate::telemetry::RpcMethod;

const ISSUER: &str = "xieshang";

/// RPCs a user holding a one-time password may still call.
const ALLOWED_BEFORE_PASSWORD_CHANGE: &[&str] = &[
    "/xieshang.tenants.v1.UserService/ChangePassword",
    "/xieshang.tenants.v1.AuthService/WhoAmI",
    "/xieshang.tenants.v1.AuthService/Logout",
];

/// The committee a caller belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitteeRef {
    pub id: CommitteeId,
    /// GB/T 2260 division code, e.g. "130528".
    pub code: String,
}

/// Who is calling: taken from a verified access token, never from a request field.
#[derive(Clone, Debug)]
pub struct TenantContext {
    pub user_id: UserId,
    pub username: String,
    pub session_id: Uuid,
    /// None for platform operators.
    pub committee: Option<CommitteeRef>,
    pub roles: Vec<Role>,
    /// Full RPC path, e.g. "/xieshang.tenants.v1.UserService/CreateUser", for the audit log.
    pub method: String,
}

impl TenantContext {
    pub fn is_operator(&self) -> bool {
        self.has_role(Role::PlatformOperator)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// `PermissionDenied` unless the caller holds one of `roles`. Platform
    /// operators pass every check.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), Status> {
        if self.is_operator() || roles.iter().any(|r| self.has_role(*r)) {
            Ok(())
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str_name()).collect();
            Err(Status::permission_denied(format!("this needs one of the roles {}", names.join(", "))))
        }
    }

    pub fn committee_id(&self) -> Option<CommitteeId> {
        self.committee.as_ref().map(|c| c.id)
    }

    /// The scope a request of this caller works in: platform operators act
    /// platform-wide, everyone else inside their own committee.
    pub fn scope(&self) -> Scope {
        if self.is_operator() { Scope::System } else { self.own_scope() }
    }

    /// The scope of the caller's own rows.
    pub fn own_scope(&self) -> Scope {
        self.committee_id().map_or(Scope::Platform, Scope::Committee)
    }
}

/// The authenticated caller of a request, or `Unauthenticated`.
pub fn authenticated<T>(request: &Request<T>) -> Result<&TenantContext, Status> {
    request
        .extensions()
        .get::<TenantContext>()
        .ok_or_else(|| Status::unauthenticated("sign in first: send `authorization: Bearer <access token>`"))
}

/// The RPC path of a request (set by the telemetry layer).
pub fn rpc_method<T>(request: &Request<T>) -> String {
    request.extensions().get::<RpcMethod>().map(|m| m.0.clone()).unwrap_or_default()
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    sid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ccode: Option<String>,
    usr: String,
    roles: Vec<i32>,
    /// The password is one-time and must be changed before anything else.
    #[serde(default)]
    pwc: bool,
    iat: i64,
    exp: i64,
}

/// What an access token says about its holder.
#[derive(Clone, Debug)]
pub struct TokenSubject {
    pub user_id: UserId,
    pub username: String,
    pub session_id: Uuid,
    pub committee: Option<CommitteeRef>,
    pub roles: Vec<Role>,
    pub must_change_password: bool,
}

/// Signs and verifies access tokens.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl TokenKeys {
    pub fn new(secret: &[u8], access_ttl_secs: u64, refresh_ttl_secs: u64) -> Result<Self, PlatformError> {
        if secret.len() < 32 {
            return Err(PlatformError::Config("auth.signing_key must be at least 32 bytes".into()));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 5;
        let secs = |s: u64| Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000));
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl: secs(access_ttl_secs),
            refresh_ttl: secs(refresh_ttl_secs),
        })
    }

    /// Issues an access token; returns it with its expiry.
    pub fn issue(&self, subject: &TokenSubject) -> Result<(String, DateTime<Utc>), PlatformError> {
        let now = Utc::now();
        let exp = now + self.access_ttl;
        let claims = Claims {
            iss: ISSUER.to_owned(),
            sub: subject.user_id.to_string(),
            sid: subject.session_id.to_string(),
            cid: subject.committee.as_ref().map(|c| c.id.to_string()),
            ccode: subject.committee.as_ref().map(|c| c.code.clone()),
            usr: subject.username.clone(),
            roles: subject.roles.iter().map(|r| *r as i32).collect(),
            pwc: subject.must_change_password,
            iat: now.timestamp(),
            exp: exp.timestamp(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, exp))
    }

    /// Verifies signature, issuer and expiry.
    pub fn verify(&self, token: &str) -> Result<(TokenSubject, i64), PlatformError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)?.claims;
        let bad = |what: &str| PlatformError::Config(format!("access token carries a malformed {what}"));
        let user_id = Uuid::parse_str(&claims.sub).map(UserId).map_err(|_| bad("subject"))?;
        let session_id = Uuid::parse_str(&claims.sid).map_err(|_| bad("session"))?;
        let committee = match (claims.cid, claims.ccode) {
            (Some(id), Some(code)) => {
                Some(CommitteeRef { id: Uuid::parse_str(&id).map(CommitteeId).map_err(|_| bad("committee"))?, code })
            }
            _ => None,
        };
        let roles = claims.roles.into_iter().filter_map(|r| Role::try_from(r).ok()).collect();
        Ok((
            TokenSubject {
                user_id,
                username: claims.usr,
                session_id,
                committee,
                roles,
                must_change_password: claims.pwc,
            },
            claims.exp,
        ))
    }
}

/// Sessions revoked while access tokens issued for them may still be valid.
#[derive(Clone, Default)]
pub struct Revocations {
    /// Session id → Unix time after which no token of it can be valid anyway.
    inner: Arc<RwLock<HashMap<Uuid, i64>>>,
    /// Where revocations made in this process are announced to the other
    /// processes (distributed mode; see [`crate::redis_state`]).
    announce: Arc<RwLock<Option<tokio::sync::mpsc::UnboundedSender<(Uuid, i64)>>>>,
}

impl Revocations {
    /// Revokes a session here and announces it to the other processes.
    pub fn revoke(&self, session_id: Uuid, until: DateTime<Utc>) {
        self.insert(session_id, until.timestamp());
        if let Some(announce) = &*self.announce.read().unwrap_or_else(|e| e.into_inner()) {
            let _ = announce.send((session_id, until.timestamp()));
        }
    }

    /// Records a revocation another process announced (not announced again).
    pub fn apply_announced(&self, session_id: Uuid, until_unix: i64) {
        self.insert(session_id, until_unix);
    }

    /// From now on, every [`Revocations::revoke`] is also sent to the returned receiver.
    pub fn announcements(&self) -> tokio::sync::mpsc::UnboundedReceiver<(Uuid, i64)> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        *self.announce.write().unwrap_or_else(|e| e.into_inner()) = Some(tx);
        rx
    }

    fn insert(&self, session_id: Uuid, until_unix: i64) {
        let mut map = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let now = Utc::now().timestamp();
        map.retain(|_, exp| *exp > now);
        map.insert(session_id, until_unix);
    }

    pub fn is_revoked(&self, session_id: &Uuid) -> bool {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).contains_key(session_id)
    }
}

/// Verifies the bearer token, if any, and puts the [`TenantContext`] into the
/// request. A request without a token passes through unauthenticated (Login
/// needs none); a bad token is refused here.
#[derive(Clone)]
pub struct AuthInterceptor {
    keys: Arc<TokenKeys>,
    revocations: Revocations,
}

impl AuthInterceptor {
    pub fn new(keys: Arc<TokenKeys>, revocations: Revocations) -> Self {
        Self { keys, revocations }
    }

    fn check(&self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let Some(value) = request.metadata().get("authorization") else {
            return Ok(request);
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .ok_or_else(|| Status::unauthenticated("authorization must be `Bearer <access token>`"))?;
        let (subject, _exp) = self.keys.verify(token.trim()).map_err(|err| {
            tracing::debug!(error = %err, "access token refused");
            Status::unauthenticated("access token is invalid or expired; sign in again or refresh")
        })?;
        if self.revocations.is_revoked(&subject.session_id) {
            return Err(Status::unauthenticated("this session has ended; sign in again"));
        }
        let method = request.extensions().get::<RpcMethod>().map(|m| m.0.clone()).unwrap_or_default();
        if subject.must_change_password && !ALLOWED_BEFORE_PASSWORD_CHANGE.contains(&method.as_str()) {
            return Err(Status::failed_precondition(
                "change your one-time password first (UserService.ChangePassword)",
            ));
        }
        let span = tracing::Span::current();
        span.record("committee", subject.committee.as_ref().map_or("platform", |c| c.code.as_str()));
        span.record("user", subject.username.as_str());
        request.extensions_mut().insert(TenantContext {
            user_id: subject.user_id,
            username: subject.username,
            session_id: subject.session_id,
            committee: subject.committee,
            roles: subject.roles,
            method,
        });
        Ok(request)
    }
}

impl tonic::service::Interceptor for AuthInterceptor {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        self.check(request)
    }
}

/// Hashes a password with Argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, PlatformError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PlatformError::Password(e.to_string()))
}

/// Checks a password against a stored PHC hash; a malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// A random secret, URL-safe, `bytes` long before encoding.
pub fn random_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A one-time password people can type: 12 characters without look-alikes.
pub fn one_time_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut buf = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    buf.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

/// Hex SHA-256, for refresh-token secrets at rest.
pub fn sha256_hex(data: &str) -> String {
    Sha256::digest(data.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A refresh token, split into its parts.
#[derive(Debug, PartialEq, Eq)]
pub struct RefreshToken {
    /// Committee id, or None for platform users.
    pub committee: Option<CommitteeId>,
    pub session_id: Uuid,
    pub secret: String,
}

impl RefreshToken {
    pub fn encode(&self) -> String {
        let scope = self.committee.map_or_else(|| "platform".to_owned(), |c| c.to_string());
        format!("{scope}.{}.{}", self.session_id, self.secret)
    }

    pub fn parse(token: &str) -> Option<Self> {
        let mut parts = token.splitn(3, '.');
        let scope = parts.next()?;
        let session_id = Uuid::parse_str(parts.next()?).ok()?;
        let secret = parts.next()?.to_owned();
        let committee = match scope {
            "platform" => None,
            id => Some(CommitteeId(Uuid::parse_str(id).ok()?)),
        };
        (!secret.is_empty()).then_some(Self { committee, session_id, secret })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"0123456789abcdef0123456789abcdef", 900, 3600).unwrap()
    }

    fn subject() -> TokenSubject {
        TokenSubject {
            user_id: UserId::new(),
            username: "admin".into(),
            session_id: Uuid::now_v7(),
            committee: Some(CommitteeRef { id: CommitteeId::new(), code: "130528".into() }),
            roles: vec![Role::CommitteeAdmin, Role::Staff],
            must_change_password: false,
        }
    }

    #[test]
    fn tokens_round_trip_and_name_the_committee() {
        let keys = keys();
        let s = subject();
        let (token, _) = keys.issue(&s).unwrap();
        let (back, _) = keys.verify(&token).unwrap();
        assert_eq!(back.user_id, s.user_id);
        assert_eq!(back.committee, s.committee);
        assert_eq!(back.roles, vec![Role::CommitteeAdmin, Role::Staff]);
    }

    #[test]
    fn tokens_signed_with_another_key_are_refused() {
        let other = TokenKeys::new(b"another-key-another-key-another-key!", 900, 3600).unwrap();
        let (token, _) = other.issue(&subject()).unwrap();
        assert!(keys().verify(&token).is_err());
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(TokenKeys::new(b"short", 900, 3600).is_err());
    }

    #[test]
    fn passwords_verify_only_themselves() {
        let hash = hash_password("宁晋县政协-2025").unwrap();
        assert!(verify_password("宁晋县政协-2025", &hash));
        assert!(!verify_password("宁晋县政协-2024", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn refresh_tokens_round_trip() {
        let t =
            RefreshToken { committee: Some(CommitteeId::new()), session_id: Uuid::now_v7(), secret: random_secret(32) };
        assert_eq!(RefreshToken::parse(&t.encode()), Some(t));
        assert_eq!(RefreshToken::parse("platform.nope.x"), None);
        assert_eq!(RefreshToken::parse(""), None);
    }

    #[test]
    fn one_time_passwords_are_long_enough() {
        let p = one_time_password();
        assert_eq!(p.chars().count(), 12);
        assert_ne!(p, one_time_password());
    }

    #[test]
    fn revoked_sessions_are_remembered_until_expiry() {
        let r = Revocations::default();
        let id = Uuid::now_v7();
        r.revoke(id, Utc::now() + Duration::minutes(15));
        assert!(r.is_revoked(&id));
        assert!(!r.is_revoked(&Uuid::now_v7()));
    }
}
