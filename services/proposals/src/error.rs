//! The proposals service's errors and their one mapping to `tonic::Status`.

use sea_orm::DbErr;
use tonic::Status;
use xieshang_platform::PlatformError;
use xieshang_platform::status::{self, InvalidField};

use crate::domain::{InformationRefused, Refused};

#[derive(Debug, thiserror::Error)]
pub enum ProposalsError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// Also for records of another committee, or ones the caller may not see.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    FailedPrecondition(String),
    /// The lifecycle does not allow the action in the current state.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// The information review does not allow the action in the current state.
    #[error(transparent)]
    InformationRefused(#[from] InformationRefused),
    #[error("etag mismatch")]
    EtagMismatch,
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Field(#[from] InvalidField),
    #[error(transparent)]
    Platform(#[from] PlatformError),
}

impl ProposalsError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid { field, reason: reason.into() }
    }

    pub fn denied(reason: impl Into<String>) -> Self {
        Self::PermissionDenied(reason.into())
    }

    pub fn precondition(reason: impl Into<String>) -> Self {
        Self::FailedPrecondition(reason.into())
    }
}

impl From<ProposalsError> for Status {
    fn from(err: ProposalsError) -> Self {
        match err {
            ProposalsError::Invalid { field, reason } => status::invalid_argument(field, reason),
            ProposalsError::NotFound(what) => status::not_found(what),
            ProposalsError::PermissionDenied(reason) => status::permission_denied(reason),
            ProposalsError::FailedPrecondition(reason) => status::failed_precondition(reason),
            ProposalsError::Refused(refused) => status::failed_precondition(refused.to_string()),
            ProposalsError::InformationRefused(refused) => status::failed_precondition(refused.to_string()),
            ProposalsError::EtagMismatch => status::etag_mismatch(),
            ProposalsError::Field(err) => err.into(),
            ProposalsError::Db(err) => status::internal(&err),
            ProposalsError::Platform(err) => status::internal(&err),
        }
    }
}

pub type Result<T, E = ProposalsError> = std::result::Result<T, E>;
