use tonic::Status;

use crate::status;

/// Errors of the platform kit itself.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("configuration: {0}")]
    Config(String),
    #[error("access token: {0}")]
    Token(#[from] jsonwebtoken::errors::Error),
    #[error("password hashing: {0}")]
    Password(String),
    #[error("event bus: {0}")]
    Bus(String),
    #[error("telemetry: {0}")]
    Telemetry(String),
}

impl From<PlatformError> for Status {
    fn from(err: PlatformError) -> Self {
        status::internal(&err)
    }
}
