//! Analytics: counters per (committee, rollup, period, metric), fed by the
//! domain events, and the consumer's bookkeeping (applied event ids and a
//! position per consumer).
//!
//! A counter row carries its committee's materialized path (copied from
//! `committees.path`), so PostgreSQL row-level security can let a committee
//! read its own rows and its descendants' — never a sibling's or a parent's —
//! with one policy: the row's path contains the caller's tenant id.
//! The bookkeeping tables belong to no committee: only the `system` scope
//! (the background consumer) sees them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::rls;
use crate::schema::{col, index, updated_at};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("analytics_counters")
                    .col(col("committee_id").uuid().not_null())
                    // 1 OWN (the committee's own records), 2 SUBTREE (itself and every descendant).
                    .col(col("rollup").small_integer().not_null())
                    // "2025", "2025-Q1" or "2025-03" (China Standard Time).
                    .col(col("period").string_len(8).not_null())
                    .col(col("metric").string_len(40).not_null())
                    .col(col("value").big_integer().not_null())
                    // The committee's materialized path, "/<province>/<city>/<county>/".
                    .col(col("committee_path").string_len(200).not_null())
                    .primary_key(Index::create().col("committee_id").col("rollup").col("period").col("metric"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("analytics_counters", "ix_analytics_counters_path", &["committee_path"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("analytics_applied_events")
                    .col(col("consumer").string_len(40).not_null())
                    .col(col("event_id").uuid().not_null())
                    .primary_key(Index::create().col("consumer").col("event_id"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("analytics_positions")
                    .col(col("consumer").string_len(40).not_null().primary_key())
                    .col(col("last_event_id").uuid().null())
                    .col(col("events_applied").big_integer().not_null())
                    .col(updated_at())
                    .to_owned(),
            )
            .await?;

        if manager.get_database_backend() == DbBackend::Postgres {
            for table in ["analytics_counters", "analytics_applied_events", "analytics_positions"] {
                rls::grant(manager, table).await?;
            }
            manager
                .get_connection()
                .execute_unprepared(
                    r#"
ALTER TABLE analytics_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_counters FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS subtree_read ON analytics_counters;
CREATE POLICY subtree_read ON analytics_counters
  USING (
    committee_path LIKE '%/' || xieshang_tenant()::text || '/%'
    OR xieshang_scope() = 'system'
  )
  WITH CHECK (xieshang_scope() = 'system');

ALTER TABLE analytics_applied_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_applied_events FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS system_only ON analytics_applied_events;
CREATE POLICY system_only ON analytics_applied_events
  USING (xieshang_scope() = 'system') WITH CHECK (xieshang_scope() = 'system');

ALTER TABLE analytics_positions ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_positions FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS system_only ON analytics_positions;
CREATE POLICY system_only ON analytics_positions
  USING (xieshang_scope() = 'system') WITH CHECK (xieshang_scope() = 'system');
"#,
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["analytics_positions", "analytics_applied_events", "analytics_counters"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
