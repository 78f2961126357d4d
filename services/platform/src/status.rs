//! Building blocks for mapping errors to `tonic::Status`.
//!
//! Each service crate has one error enum and one `From<Error> for Status`
//! built from these, so every service answers alike: `InvalidArgument` names
//! the field (as a `BadRequest` detail, readable by any gRPC client), a record
//! of another committee is `NotFound`, and internal failures are logged here,
//! with their detail, and answered with a safe message.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// A request field that failed validation, for crates' error enums to wrap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidField {
    pub field: &'static str,
    pub reason: String,
}

impl InvalidField {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self { field, reason: reason.into() }
    }
}

impl From<InvalidField> for Status {
    fn from(err: InvalidField) -> Self {
        invalid_argument(err.field, err.reason)
    }
}

/// `InvalidArgument` naming `field`, with a `BadRequest` field violation.
pub fn invalid_argument(field: &str, description: impl Into<String>) -> Status {
    let description = description.into();
    Status::with_error_details(
        Code::InvalidArgument,
        format!("{field}: {description}"),
        ErrorDetails::with_bad_request_violation(field, description),
    )
}

/// `NotFound` for a kind of record, without saying whether it exists elsewhere.
pub fn not_found(what: &str) -> Status {
    Status::not_found(format!("{what} not found"))
}

pub fn already_exists(field: &str, description: impl Into<String>) -> Status {
    let description = description.into();
    Status::with_error_details(
        Code::AlreadyExists,
        format!("{field}: {description}"),
        ErrorDetails::with_bad_request_violation(field, description),
    )
}

pub fn permission_denied(description: impl Into<String>) -> Status {
    Status::permission_denied(description)
}

pub fn failed_precondition(description: impl Into<String>) -> Status {
    Status::failed_precondition(description)
}

/// Optimistic concurrency: the etag the caller sent no longer matches.
pub fn etag_mismatch() -> Status {
    Status::aborted("the record was changed by someone else; read it again and retry")
}

/// Logs `err` with its full detail and answers with a message that reveals nothing.
pub fn internal(err: &dyn std::error::Error) -> Status {
    tracing::error!(error = %err, detail = ?err, "internal error");
    Status::internal("internal error; the operators have been notified in the logs")
}
