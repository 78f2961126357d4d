//! analytics_metric_length: `analytics_counters.metric` from 40 to 64
//! characters. `consultations_held_standing_committee_topic` (43) did not fit:
//! on PostgreSQL its upsert failed, and the consumer retried the event forever.
//! SQLite does not enforce lengths; only PostgreSQL changes.

use sea_orm_migration::prelude::*;

use sea_orm_migration::sea_orm::DbBackend;

use crate::schema::col;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Longest metric name a counter row holds.
const METRIC_MAX: u32 = 64;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .alter_table(
                Table::alter()
                    .table("analytics_counters")
                    .modify_column(col("metric").string_len(METRIC_MAX).not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .alter_table(
                Table::alter()
                    .table("analytics_counters")
                    .modify_column(col("metric").string_len(40).not_null())
                    .to_owned(),
            )
            .await
    }
}
