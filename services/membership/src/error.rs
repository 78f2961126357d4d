//! The membership service's errors and their one mapping to `tonic::Status`.

use sea_orm::{DbErr, SqlErr};
use tonic::Status;
use xieshang_platform::PlatformError;
use xieshang_platform::status::{self, InvalidField};

#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{field}: {reason}")]
    AlreadyExists { field: &'static str, reason: String },
    /// Also for records of another committee: never reveal that they exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("etag mismatch")]
    EtagMismatch,
    /// A public submission over its per-address limit.
    #[error("{0}")]
    RateLimited(String),
    /// Encrypted personal information did not decrypt (wrong key or tampering).
    #[error("personal information of a member does not decrypt with the configured key")]
    Crypto,
    /// A spreadsheet could not be written.
    #[error("cannot write the spreadsheet: {0}")]
    Spreadsheet(String),
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Field(#[from] InvalidField),
    #[error(transparent)]
    Platform(#[from] PlatformError),
}

impl MembershipError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid { field, reason: reason.into() }
    }

    pub fn exists(field: &'static str, reason: impl Into<String>) -> Self {
        Self::AlreadyExists { field, reason: reason.into() }
    }

    pub fn denied(reason: impl Into<String>) -> Self {
        Self::PermissionDenied(reason.into())
    }

    pub fn precondition(reason: impl Into<String>) -> Self {
        Self::FailedPrecondition(reason.into())
    }

    /// Turns a unique-constraint violation (a race lost to a concurrent
    /// insert) into `AlreadyExists` on `field`.
    pub fn on_unique<'a>(field: &'static str, reason: &'a str) -> impl FnOnce(DbErr) -> Self + 'a {
        move |err| match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::exists(field, reason),
            _ => Self::Db(err),
        }
    }
}

impl From<MembershipError> for Status {
    fn from(err: MembershipError) -> Self {
        match err {
            MembershipError::Invalid { field, reason } => status::invalid_argument(field, reason),
            MembershipError::AlreadyExists { field, reason } => status::already_exists(field, reason),
            MembershipError::NotFound(what) => status::not_found(what),
            MembershipError::PermissionDenied(reason) => status::permission_denied(reason),
            MembershipError::FailedPrecondition(reason) => status::failed_precondition(reason),
            MembershipError::EtagMismatch => status::etag_mismatch(),
            MembershipError::RateLimited(reason) => Status::resource_exhausted(reason),
            MembershipError::Field(err) => err.into(),
            MembershipError::Crypto => status::internal(&MembershipError::Crypto),
            err @ MembershipError::Spreadsheet(_) => status::internal(&err),
            MembershipError::Db(err) => status::internal(&err),
            MembershipError::Platform(err) => status::internal(&err),
        }
    }
}

pub type Result<T, E = MembershipError> = std::result::Result<T, E>;
