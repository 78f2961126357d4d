//! The tenants service as the operator uses it: a platform-operator session (AuthService.Login,
//! refreshed before the access token expires, re-login when the refresh fails or a call answers
//! UNAUTHENTICATED) and the few committee and user calls the reconciler makes.
//!
//! Every call carries the bearer token and a deadline, so a hung tenants service shows up as
//! `TenantsUnavailable` and the reconciler backs off instead of blocking forever.

use std::future::Future;
use std::time::{Duration, SystemTime};

use tokio::sync::Mutex;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Response, Status};
use xieshang_proto::common::v1::{CommitteeLevel as PbLevel, Role};
use xieshang_proto::tenants::v1 as pb;
use xieshang_proto::tenants::v1::auth_service_client::AuthServiceClient;
use xieshang_proto::tenants::v1::committee_service_client::CommitteeServiceClient;
use xieshang_proto::tenants::v1::user_service_client::UserServiceClient;

use crate::crd::{AdminContact, CommitteeLevel};
use crate::plan::Observed;

/// A failed call to the tenants service, sorted by what the reconciler does about it.
#[derive(Debug, thiserror::Error)]
pub enum TenantsError {
    /// Not reachable, timed out, or failed internally: retry with backoff.
    #[error("the tenants service is unavailable: {0}")]
    Unavailable(String),
    /// The operator's account was refused: retry with backoff (credentials may be rotated).
    #[error("the tenants service refused the operator's account: {0}")]
    Auth(String),
    /// The request was rejected as invalid: wait for the spec to change.
    #[error("the tenants service rejected the request: {0}")]
    Invalid(String),
    /// A record was not found.
    #[error("not found: {0}")]
    NotFound(String),
    /// A concurrent change (etag, already exists, wrong state): retry, the next pass re-reads.
    #[error("concurrent change in the tenants service: {0}")]
    Conflict(String),
    /// The operator is misconfigured (e.g. a malformed URL).
    #[error("tenants client configuration: {0}")]
    Config(String),
}

impl From<Status> for TenantsError {
    fn from(s: Status) -> Self {
        let msg = format!("{:?}: {}", s.code(), s.message());
        match s.code() {
            Code::Unauthenticated | Code::PermissionDenied => TenantsError::Auth(msg),
            Code::InvalidArgument | Code::OutOfRange => TenantsError::Invalid(msg),
            Code::NotFound => TenantsError::NotFound(msg),
            Code::AlreadyExists | Code::Aborted | Code::FailedPrecondition => TenantsError::Conflict(msg),
            _ => TenantsError::Unavailable(msg),
        }
    }
}

/// Where and as whom to connect.
#[derive(Clone)]
pub struct TenantsConfig {
    pub url: String,
    pub username: String,
    pub password: String,
    /// Deadline of every call.
    pub timeout: Duration,
}

impl std::fmt::Debug for TenantsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantsConfig")
            .field("url", &self.url)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

struct Session {
    access_token: String,
    access_expires: SystemTime,
    refresh_token: String,
    refresh_expires: SystemTime,
}

/// Renew this long before the access token expires, so a call never starts with a stale token.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// A platform-operator session on the tenants service.
pub struct Tenants {
    channel: Channel,
    config: TenantsConfig,
    session: Mutex<Option<Session>>,
}

fn expiry(t: Option<prost_types::Timestamp>) -> SystemTime {
    t.and_then(|t| SystemTime::try_from(t).ok()).unwrap_or(SystemTime::UNIX_EPOCH)
}

impl Tenants {
    /// Connects lazily: an unreachable service fails calls (and readiness of nothing else).
    pub fn new(config: TenantsConfig) -> Result<Self, TenantsError> {
        let channel = Endpoint::from_shared(config.url.clone())
            .map_err(|e| TenantsError::Config(format!("{}: {e}", config.url)))?
            .connect_timeout(config.timeout)
            .timeout(config.timeout)
            .connect_lazy();
        Ok(Self { channel, config, session: Mutex::new(None) })
    }

    fn request<T>(&self, message: T, token: Option<&str>) -> Result<Request<T>, TenantsError> {
        let mut request = Request::new(message);
        request.set_timeout(self.config.timeout);
        if let Some(token) = token {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|_| TenantsError::Auth("the access token is not valid metadata".into()))?;
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }

    /// A valid access token: the cached one, a refreshed one, or a new login.
    async fn token(&self) -> Result<String, TenantsError> {
        let mut guard = self.session.lock().await;
        let now = SystemTime::now();
        if let Some(s) = guard.as_ref()
            && s.access_expires > now + EXPIRY_MARGIN
        {
            return Ok(s.access_token.clone());
        }
        let mut auth = AuthServiceClient::new(self.channel.clone());
        let refreshed = match guard.as_ref() {
            Some(s) if s.refresh_expires > now + EXPIRY_MARGIN => {
                let request = self.request(pb::RefreshRequest { refresh_token: s.refresh_token.clone() }, None)?;
                match auth.refresh(request).await {
                    Ok(r) => Some(r.into_inner()),
                    Err(status) if matches!(TenantsError::from(status.clone()), TenantsError::Unavailable(_)) => {
                        return Err(status.into());
                    }
                    // A rotated or revoked refresh token: sign in afresh.
                    Err(_) => None,
                }
            }
            _ => None,
        };
        let login = match refreshed {
            Some(r) => r,
            None => {
                let request = self.request(
                    pb::LoginRequest {
                        committee_code: String::new(),
                        username: self.config.username.clone(),
                        password: self.config.password.clone(),
                    },
                    None,
                )?;
                auth.login(request).await?.into_inner()
            }
        };
        let token = login.access_token.clone();
        *guard = Some(Session {
            access_token: login.access_token,
            access_expires: expiry(login.access_token_expire_time),
            refresh_token: login.refresh_token,
            refresh_expires: expiry(login.refresh_token_expire_time),
        });
        Ok(token)
    }

    /// Runs one authenticated call; on UNAUTHENTICATED (a revoked token) signs in again once.
    async fn call<T, R, F, Fut>(&self, message: T, f: F) -> Result<R, TenantsError>
    where
        T: Clone,
        F: Fn(Channel, Request<T>) -> Fut,
        Fut: Future<Output = Result<Response<R>, Status>>,
    {
        for attempt in 0..2 {
            let token = self.token().await?;
            match f(self.channel.clone(), self.request(message.clone(), Some(&token))?).await {
                Ok(r) => return Ok(r.into_inner()),
                Err(s) if s.code() == Code::Unauthenticated && attempt == 0 => {
                    *self.session.lock().await = None;
                }
                Err(s) => return Err(s.into()),
            }
        }
        Err(TenantsError::Auth("signed in again, still unauthenticated".into()))
    }

    /// The committee with this division code, if any.
    pub async fn committee_by_code(&self, code: &str) -> Result<Option<pb::Committee>, TenantsError> {
        let request = pb::GetCommitteeRequest { id: String::new(), code: code.into() };
        match self.call(request, |ch, r| async move { CommitteeServiceClient::new(ch).get_committee(r).await }).await {
            Ok(c) => Ok(Some(c)),
            Err(TenantsError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn create_committee(
        &self,
        code: &str,
        name: &str,
        level: CommitteeLevel,
        parent_id: &str,
    ) -> Result<pb::Committee, TenantsError> {
        let request = pb::CreateCommitteeRequest {
            committee: Some(pb::Committee {
                code: code.into(),
                name: name.into(),
                level: level_to_proto(level) as i32,
                parent_id: parent_id.into(),
                ..Default::default()
            }),
        };
        self.call(request, |ch, r| async move { CommitteeServiceClient::new(ch).create_committee(r).await }).await
    }

    /// Renames, guarded by the etag last read (ABORTED → `Conflict` if someone edited since).
    pub async fn rename_committee(&self, id: &str, etag: &str, name: &str) -> Result<pb::Committee, TenantsError> {
        let request = pb::UpdateCommitteeRequest {
            committee: Some(pb::Committee {
                id: id.into(),
                name: name.into(),
                etag: etag.into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["name".into()] }),
        };
        self.call(request, |ch, r| async move { CommitteeServiceClient::new(ch).update_committee(r).await }).await
    }

    pub async fn suspend_committee(&self, id: &str, reason: &str) -> Result<pb::Committee, TenantsError> {
        let request = pb::SuspendCommitteeRequest { id: id.into(), reason: reason.into() };
        self.call(request, |ch, r| async move { CommitteeServiceClient::new(ch).suspend_committee(r).await }).await
    }

    pub async fn reactivate_committee(&self, id: &str) -> Result<pb::Committee, TenantsError> {
        let request = pb::ReactivateCommitteeRequest { id: id.into() };
        self.call(request, |ch, r| async move { CommitteeServiceClient::new(ch).reactivate_committee(r).await }).await
    }

    /// Whether the committee has a user with this username (disabled ones included).
    pub async fn has_user(&self, committee_id: &str, username: &str) -> Result<bool, TenantsError> {
        let mut page_token = String::new();
        loop {
            let request = pb::ListUsersRequest {
                committee_id: committee_id.into(),
                include_disabled: true,
                page_size: 500,
                page_token: page_token.clone(),
                ..Default::default()
            };
            let page =
                self.call(request, |ch, r| async move { UserServiceClient::new(ch).list_users(r).await }).await?;
            if page.users.iter().any(|u| u.username == username) {
                return Ok(true);
            }
            if page.next_page_token.is_empty() {
                return Ok(false);
            }
            page_token = page.next_page_token;
        }
    }

    /// Creates the first administrator. The one-time password the service returns is dropped on
    /// purpose (see [`AdminContact`]).
    pub async fn create_admin(&self, committee_id: &str, admin: &AdminContact) -> Result<pb::User, TenantsError> {
        let request = pb::CreateUserRequest {
            user: Some(pb::User {
                committee_id: committee_id.into(),
                username: admin.username.clone(),
                display_name: admin.display_name.clone(),
                roles: vec![Role::CommitteeAdmin as i32],
                ..Default::default()
            }),
            password: String::new(),
        };
        let response =
            self.call(request, |ch, r| async move { UserServiceClient::new(ch).create_user(r).await }).await?;
        Ok(response.user.unwrap_or_default())
    }
}

pub fn level_to_proto(level: CommitteeLevel) -> PbLevel {
    match level {
        CommitteeLevel::Province => PbLevel::Provincial,
        CommitteeLevel::City => PbLevel::City,
        CommitteeLevel::County => PbLevel::County,
    }
}

pub fn level_from_proto(level: i32) -> Option<CommitteeLevel> {
    match PbLevel::try_from(level).ok()? {
        PbLevel::Provincial => Some(CommitteeLevel::Province),
        PbLevel::City => Some(CommitteeLevel::City),
        PbLevel::County => Some(CommitteeLevel::County),
        PbLevel::Unspecified => None,
    }
}

/// The committee reduced to what the decision compares.
pub fn observe(c: &pb::Committee) -> Observed {
    Observed {
        id: c.id.clone(),
        code: c.code.clone(),
        name: c.name.clone(),
        level: level_from_proto(c.level),
        parent_code: (!c.parent_code.is_empty()).then(|| c.parent_code.clone()),
        suspended: c.state == pb::CommitteeState::Suspended as i32,
        etag: c.etag.clone(),
    }
}
