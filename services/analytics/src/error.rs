//! The analytics service's errors and their one mapping to `tonic::Status`.

use sea_orm::DbErr;
use tonic::Status;
use xieshang_platform::PlatformError;
use xieshang_platform::status::{self, InvalidField};

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// Also for committees outside the caller's sight: never reveal that they exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    PermissionDenied(String),
    /// An event log row that does not decode (rebuild).
    #[error("event log row {0} does not decode")]
    Corrupt(String),
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Field(#[from] InvalidField),
    #[error(transparent)]
    Platform(#[from] PlatformError),
}

impl AnalyticsError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid { field, reason: reason.into() }
    }

    pub fn denied(reason: impl Into<String>) -> Self {
        Self::PermissionDenied(reason.into())
    }
}

impl From<AnalyticsError> for Status {
    fn from(err: AnalyticsError) -> Self {
        match err {
            AnalyticsError::Invalid { field, reason } => status::invalid_argument(field, reason),
            AnalyticsError::NotFound(what) => status::not_found(what),
            AnalyticsError::PermissionDenied(reason) => status::permission_denied(reason),
            AnalyticsError::Field(err) => err.into(),
            err @ AnalyticsError::Corrupt(_) => status::internal(&err),
            AnalyticsError::Db(err) => status::internal(&err),
            AnalyticsError::Platform(err) => status::internal(&err),
        }
    }
}

pub type Result<T, E = AnalyticsError> = std::result::Result<T, E>;
