//! The tenants service's errors and their one mapping to `tonic::Status`.

use sea_orm::{DbErr, SqlErr};
use tonic::Status;
use xieshang_platform::PlatformError;
use xieshang_platform::status::{self, InvalidField};

#[derive(Debug, thiserror::Error)]
pub enum TenantsError {
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
    #[error("{0}")]
    Unauthenticated(String),
    #[error("etag mismatch")]
    EtagMismatch,
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Field(#[from] InvalidField),
    #[error(transparent)]
    Platform(#[from] PlatformError),
}

impl TenantsError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid { field, reason: reason.into() }
    }

    pub fn exists(field: &'static str, reason: impl Into<String>) -> Self {
        Self::AlreadyExists { field, reason: reason.into() }
    }

    pub fn denied(reason: impl Into<String>) -> Self {
        Self::PermissionDenied(reason.into())
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

impl From<TenantsError> for Status {
    fn from(err: TenantsError) -> Self {
        match err {
            TenantsError::Invalid { field, reason } => status::invalid_argument(field, reason),
            TenantsError::AlreadyExists { field, reason } => status::already_exists(field, reason),
            TenantsError::NotFound(what) => status::not_found(what),
            TenantsError::PermissionDenied(reason) => status::permission_denied(reason),
            TenantsError::FailedPrecondition(reason) => status::failed_precondition(reason),
            TenantsError::Unauthenticated(reason) => Status::unauthenticated(reason),
            TenantsError::EtagMismatch => status::etag_mismatch(),
            TenantsError::Field(err) => err.into(),
            TenantsError::Db(err) => status::internal(&err),
            TenantsError::Platform(err) => status::internal(&err),
        }
    }
}

pub type Result<T, E = TenantsError> = std::result::Result<T, E>;
