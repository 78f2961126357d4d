//! The shared runtime kit every Xieshang service is built on.
//!
//! - [`config`]: layered configuration (defaults → file → `XIESHANG__…` → flags).
//! - [`telemetry`]: logs, OpenTelemetry traces and per-RPC metrics.
//! - [`db`]: connections, migrations and tenant-scoped transactions ([`db::Tx`]).
//! - [`directory`]: the committee tree's hot entries, cached, invalidated on change.
//! - [`auth`]: access tokens, the interceptor and the [`auth::TenantContext`].
//! - [`audit`]: the audit row every mutation writes in its transaction.
//! - [`events`]: the transactional outbox, the event bus and its relay.
//! - [`status`]: the building blocks every service's error → `tonic::Status` mapping uses.
//! - [`page`]: page tokens and page sizes.
//! - [`limits`]: rate limits of the public endpoints.
//! - [`pii`]: personal information sealed at rest with SM4-CCM (`pii.key`), and masking.
//! - [`metrics`]: the Prometheus scrape endpoint.
//! - [`redis_bus`]: the Redis Streams event transport (distributed mode).
//! - [`redis_state`]: state every replica shares in distributed mode (revoked
//!   sessions, rate-limit counters).
#![forbid(unsafe_code)]

/// Declares a sea-orm entity without relations: `entity!(name, "table", { fields })`
/// expands to `pub mod name { Model, Entity, Column, ActiveModel, … }`.
#[macro_export]
macro_rules! entity {
    ($name:ident, $table:literal, { $($body:tt)* }) => {
        pub mod $name {
            use sea_orm::entity::prelude::*;

            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
            #[sea_orm(table_name = $table)]
            pub struct Model { $($body)* }

            #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
            pub enum Relation {}

            impl ActiveModelBehavior for ActiveModel {}
        }
    };
}

pub mod audit;
pub mod auth;
pub mod config;
pub mod db;
pub mod directory;
pub mod events;
pub mod ids;
pub mod limits;
pub mod metrics;
pub mod page;
pub mod pii;
pub mod redis_bus;
pub mod redis_state;
pub mod status;
pub mod telemetry;
pub mod time;

mod error;
pub use error::PlatformError;
