//! The consultation service's errors and their one mapping to `tonic::Status`.

use sea_orm::{DbErr, SqlErr};
use tonic::Status;
use xieshang_platform::PlatformError;
use xieshang_platform::pii::PiiError;
use xieshang_platform::status::{self, InvalidField};

#[derive(Debug, thiserror::Error)]
pub enum ConsultationError {
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
    /// A public caller went over the submission rate limit.
    #[error("{0}")]
    RateLimited(String),
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Field(#[from] InvalidField),
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// A sealed contact phone did not open: the wrong `pii.key`, or tampering.
    #[error(transparent)]
    Pii(#[from] PiiError),
    /// Personal information was needed in a process built without `pii.key`.
    #[error("this process has no pii.key to seal or open personal information")]
    NoPiiKey,
}

impl ConsultationError {
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

impl From<ConsultationError> for Status {
    fn from(err: ConsultationError) -> Self {
        match err {
            ConsultationError::Invalid { field, reason } => status::invalid_argument(field, reason),
            ConsultationError::AlreadyExists { field, reason } => status::already_exists(field, reason),
            ConsultationError::NotFound(what) => status::not_found(what),
            ConsultationError::PermissionDenied(reason) => status::permission_denied(reason),
            ConsultationError::FailedPrecondition(reason) => status::failed_precondition(reason),
            ConsultationError::RateLimited(reason) => Status::resource_exhausted(reason),
            ConsultationError::Field(err) => err.into(),
            ConsultationError::Db(err) => status::internal(&err),
            ConsultationError::Platform(err) => status::internal(&err),
            ConsultationError::Pii(err) => status::internal(&err),
            ConsultationError::NoPiiKey => status::internal(&ConsultationError::NoPiiKey),
        }
    }
}

pub type Result<T, E = ConsultationError> = std::result::Result<T, E>;
