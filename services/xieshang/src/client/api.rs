//! Connection to the server, bearer tokens, one automatic token refresh, and
//! gRPC errors turned into sentences.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Response, Status};
use xieshang_proto::tenants::v1::auth_service_client::AuthServiceClient;
use xieshang_proto::tenants::v1::{LoginRequest, LoginResponse, RefreshRequest};

use super::session::{self, Session};

/// How long to wait for the server to accept the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for one answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A failed call: the gRPC code (to branch on) and a sentence for people.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: Code,
    sentence: String,
}

impl ApiError {
    pub fn from_status(status: &Status, server: &str) -> Self {
        Self { code: status.code(), sentence: describe_status(status.code(), status.message(), server) }
    }

    fn local(code: Code, sentence: impl Into<String>) -> Self {
        Self { code, sentence: sentence.into() }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sentence)
    }
}

impl std::error::Error for ApiError {}

/// The sentence shown for a gRPC error.
pub fn describe_status(code: Code, message: &str, server: &str) -> String {
    let message = message.trim();
    let with = |prefix: &str| {
        if message.is_empty() { prefix.to_owned() } else { format!("{prefix}: {message}") }
    };
    match code {
        Code::Ok => "no error".to_owned(),
        Code::NotFound => with("not found"),
        Code::Unauthenticated => "not signed in or session expired; run `xieshang login`".to_owned(),
        Code::PermissionDenied => with("permission denied"),
        Code::AlreadyExists => with("already exists"),
        Code::InvalidArgument => with("invalid request"),
        Code::OutOfRange => with("out of range"),
        Code::FailedPrecondition => {
            let lower = message.to_lowercase();
            if lower.contains("password") && lower.contains("change") {
                format!("{}; run `xieshang login` to set a new password", with("the password must be changed first"))
            } else {
                with("not possible in the current state")
            }
        }
        Code::Aborted => with("the record was changed by someone else meanwhile; read it again and retry"),
        Code::Unavailable => {
            format!("cannot reach the server at {server}; is `xieshang serve` running?")
        }
        Code::DeadlineExceeded => format!("the server at {server} did not answer in time"),
        Code::ResourceExhausted => with("too many requests or too much data"),
        Code::Unimplemented => with("the server does not support this call"),
        Code::Cancelled => with("the call was cancelled"),
        Code::Internal | Code::Unknown | Code::DataLoss => with("server error"),
    }
}

/// A connection to the server, with the stored session when there is one.
pub struct Api {
    channel: Channel,
    server: String,
    session: Option<Session>,
    /// Where refreshed tokens are saved; `None` keeps them in memory only.
    session_path: Option<PathBuf>,
}

impl Api {
    /// Connects to `server` without a session (for sign-in).
    pub async fn connect(server: &str) -> Result<Self> {
        let channel = connect_channel(server).await?;
        Ok(Self { channel, server: server.to_owned(), session: None, session_path: None })
    }

    /// Connects with a session; refreshed tokens are saved to `session_path`
    /// when given.
    pub async fn with_session(server: &str, session: Session, session_path: Option<PathBuf>) -> Result<Self> {
        let mut api = Self::connect(server).await?;
        api.session = Some(session);
        api.session_path = session_path;
        Ok(api)
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// Another connection sharing this channel, signed in with `session`,
    /// whose tokens are never saved.
    pub fn ephemeral(&self, session: Session) -> Self {
        Self { channel: self.channel.clone(), server: self.server.clone(), session: Some(session), session_path: None }
    }

    /// `AuthService.Login`, without a session.
    pub async fn login(&self, request: LoginRequest) -> Result<LoginResponse, ApiError> {
        AuthServiceClient::new(self.channel.clone())
            .login(request)
            .await
            .map(Response::into_inner)
            .map_err(|status| self.sign_in_error(&status))
    }

    /// Signs in and returns a session for this server.
    pub async fn sign_in(&self, committee_code: &str, username: &str, password: &str) -> Result<Session, ApiError> {
        let response = self
            .login(LoginRequest {
                committee_code: committee_code.to_owned(),
                username: username.to_owned(),
                password: password.to_owned(),
            })
            .await?;
        Ok(self.session_from(response, committee_code))
    }

    /// A session from a login or refresh answer.
    pub fn session_from(&self, response: LoginResponse, committee_code: &str) -> Session {
        let user = response.user.unwrap_or_default();
        Session {
            server: self.server.clone(),
            access_token: response.access_token,
            refresh_token: response.refresh_token,
            username: user.username,
            committee_code: committee_code.to_owned(),
            user_id: user.id,
            display_name: user.display_name,
        }
    }

    /// Calls `f` with the session's bearer token. On UNAUTHENTICATED, trades
    /// the refresh token for new tokens once (saving them) and calls again.
    pub async fn call<T, R, F, Fut>(&mut self, message: T, f: F) -> Result<R, ApiError>
    where
        T: Clone,
        F: Fn(Channel, Request<T>) -> Fut,
        Fut: Future<Output = Result<Response<R>, Status>>,
    {
        let token = match &self.session {
            Some(session) => session.access_token.clone(),
            None => return Err(not_signed_in()),
        };
        let first = f(self.channel.clone(), bearer(message.clone(), &token)?).await;
        match first {
            Ok(response) => Ok(response.into_inner()),
            Err(status) if status.code() == Code::Unauthenticated => {
                self.refresh().await?;
                let token = self.session.as_ref().map(|s| s.access_token.clone()).unwrap_or_default();
                f(self.channel.clone(), bearer(message, &token)?)
                    .await
                    .map(Response::into_inner)
                    .map_err(|status| ApiError::from_status(&status, &self.server))
            }
            Err(status) => Err(ApiError::from_status(&status, &self.server)),
        }
    }

    /// Calls `f` with an explicit access token, without refreshing.
    pub async fn call_with_token<T, R, F, Fut>(&self, token: &str, message: T, f: F) -> Result<R, ApiError>
    where
        F: FnOnce(Channel, Request<T>) -> Fut,
        Fut: Future<Output = Result<Response<R>, Status>>,
    {
        f(self.channel.clone(), bearer(message, token)?)
            .await
            .map(Response::into_inner)
            .map_err(|status| ApiError::from_status(&status, &self.server))
    }

    /// Trades the refresh token for new tokens and saves them.
    async fn refresh(&mut self) -> Result<(), ApiError> {
        let Some(session) = self.session.as_mut() else {
            return Err(not_signed_in());
        };
        if session.refresh_token.is_empty() {
            return Err(not_signed_in());
        }
        let response = AuthServiceClient::new(self.channel.clone())
            .refresh(RefreshRequest { refresh_token: session.refresh_token.clone() })
            .await
            .map(Response::into_inner)
            .map_err(|status| match status.code() {
                // A dead refresh token, a disabled user or a suspended
                // committee: the only way on is to sign in again.
                Code::Unauthenticated | Code::PermissionDenied | Code::FailedPrecondition | Code::NotFound => {
                    not_signed_in()
                }
                _ => ApiError::from_status(&status, &self.server),
            })?;
        session.access_token = response.access_token;
        if !response.refresh_token.is_empty() {
            session.refresh_token = response.refresh_token;
        }
        if let Some(user) = response.user {
            session.user_id = user.id;
            session.display_name = user.display_name;
        }
        if let Some(path) = &self.session_path
            && let Err(e) = session::save(path, session)
        {
            // The call can still go on; the next command signs in again.
            eprintln!("warning: {e:#}");
        }
        Ok(())
    }

    fn sign_in_error(&self, status: &Status) -> ApiError {
        match status.code() {
            Code::Unauthenticated | Code::PermissionDenied | Code::NotFound => {
                let message = status.message().trim();
                let sentence = if message.is_empty() {
                    "sign-in refused: wrong committee, user name or password".to_owned()
                } else {
                    format!("sign-in refused: {message}")
                };
                ApiError { code: status.code(), sentence }
            }
            _ => ApiError::from_status(status, &self.server),
        }
    }
}

fn not_signed_in() -> ApiError {
    ApiError::local(Code::Unauthenticated, describe_status(Code::Unauthenticated, "", ""))
}

/// A request carrying `authorization: Bearer <token>`.
fn bearer<T>(message: T, token: &str) -> Result<Request<T>, ApiError> {
    let mut request = Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {token}").parse().map_err(|_| {
        ApiError::local(Code::Unauthenticated, "the stored access token is malformed; run `xieshang login`")
    })?;
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}

async fn connect_channel(server: &str) -> Result<Channel> {
    let unreachable = || format!("cannot reach the server at {server}; is `xieshang serve` running?");
    let endpoint = Endpoint::from_shared(server.to_owned())
        .map_err(|_| anyhow!("`{server}` is not a valid server address (expected e.g. {})", session::DEFAULT_SERVER))?
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT);
    endpoint.connect().await.with_context(unreachable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_become_sentences() {
        let server = "http://127.0.0.1:50051";
        assert_eq!(describe_status(Code::NotFound, "committee 999999", server), "not found: committee 999999");
        assert_eq!(
            describe_status(Code::Unauthenticated, "token expired", server),
            "not signed in or session expired; run `xieshang login`"
        );
        assert_eq!(
            describe_status(Code::Unavailable, "tcp connect error", server),
            "cannot reach the server at http://127.0.0.1:50051; is `xieshang serve` running?"
        );
        assert_eq!(describe_status(Code::PermissionDenied, "", server), "permission denied");
        assert_eq!(
            describe_status(Code::AlreadyExists, "code 130528 is taken", server),
            "already exists: code 130528 is taken"
        );
        assert!(
            describe_status(Code::FailedPrecondition, "you must change your password first", server)
                .contains("xieshang login")
        );
        assert_eq!(
            describe_status(Code::FailedPrecondition, "committee has no current term", server),
            "not possible in the current state: committee has no current term"
        );
        assert_eq!(describe_status(Code::Internal, " boom ", server), "server error: boom");
    }

    #[test]
    fn api_error_keeps_code_and_sentence() {
        let e = ApiError::from_status(&Status::not_found("user 1"), "http://x");
        assert_eq!(e.code, Code::NotFound);
        assert_eq!(e.to_string(), "not found: user 1");
        let any: anyhow::Error = e.into();
        assert_eq!(any.downcast_ref::<ApiError>().map(|e| e.code), Some(Code::NotFound));
    }

    #[test]
    fn bearer_sets_authorization() {
        let request = bearer((), "abc.def").unwrap();
        assert_eq!(request.metadata().get("authorization").unwrap(), "Bearer abc.def");
        assert!(bearer((), "bad\ntoken").is_err());
    }
}
