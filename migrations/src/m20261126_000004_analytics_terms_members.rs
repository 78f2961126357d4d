//! analytics_terms_members: the terms (届) analytics records from `TermOpened`,
//! and member-level counters.
//!
//! - `analytics_terms`: one row per (committee, term number) with its start
//!   date. The consumer picks an event's term per committee from it. A row
//!   carries the committee's path, and as with the counters a committee
//!   reads its own and its descendants' terms (a province reads the term of a
//!   county whose term figures it reads), never a sibling's or a parent's.
//! - `analytics_member_counters`: per (committee, period, metric, member).
//!   Member figures never leave their committee, so the table is protected
//!   like every tenant-owned table: only the committee's own scope (and the
//!   system scope of the consumer and the rebuild) sees a row. The key's
//!   order puts (committee, period, metric) first: a ranking reads one
//!   committee's rows of one period and metric.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::rls;
use crate::schema::col;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("analytics_terms")
                    .col(col("committee_id").uuid().not_null())
                    .col(col("number").integer().not_null())
                    .col(col("term_id").uuid().not_null())
                    .col(col("start_date").date().not_null())
                    // The committee's materialized path, "/<province>/<city>/<county>/".
                    .col(col("committee_path").string_len(200).not_null())
                    .primary_key(Index::create().col("committee_id").col("number"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("analytics_member_counters")
                    .col(col("committee_id").uuid().not_null())
                    // "2025", "2025-Q1", "2025-03" or "T10" (the committee's term).
                    .col(col("period").string_len(8).not_null())
                    .col(col("metric").string_len(64).not_null())
                    .col(col("member_id").uuid().not_null())
                    .col(col("value").big_integer().not_null())
                    .primary_key(Index::create().col("committee_id").col("period").col("metric").col("member_id"))
                    .to_owned(),
            )
            .await?;

        if manager.get_database_backend() == DbBackend::Postgres {
            rls::grant(manager, "analytics_terms").await?;
            manager
                .get_connection()
                .execute_unprepared(
                    r#"
ALTER TABLE analytics_terms ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_terms FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS subtree_read ON analytics_terms;
CREATE POLICY subtree_read ON analytics_terms
  USING (
    committee_path LIKE '%/' || xieshang_tenant()::text || '/%'
    OR xieshang_scope() = 'system'
  )
  WITH CHECK (xieshang_scope() = 'system');
"#,
                )
                .await?;
            rls::protect(manager, "analytics_member_counters").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["analytics_member_counters", "analytics_terms"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
