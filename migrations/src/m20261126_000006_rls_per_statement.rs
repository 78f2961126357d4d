//! rls_per_statement: every `tenant_isolation` policy evaluates the caller's
//! scope once per statement instead of once per row (see
//! [`crate::rls::tenant_isolation`]), and full-text matching may use its index
//! under row-level security.
//!
//! PostgreSQL applies a query's own conditions only after the policy's unless
//! they are LEAKPROOF, so `search_document @@ query` could not use the GIN
//! index on an RLS-protected table: a search read every proposal of the
//! committee. `ts_match_vq` (the `tsvector @@ tsquery` operator) only compares
//! its two arguments and raises no data-dependent error, so it is marked
//! LEAKPROOF — which takes a superuser. Without one (a managed database whose
//! migration role is not superuser) the migration says so in a notice and
//! search stays correct, only slower; `docs/OPERATIONS.md` tells how to do it
//! by hand. SQLite has neither policies nor this operator: nothing to do.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::rls;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        let tables = db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                // The policies `rls::protect` wrote (their platform clause
                // tells them from the supervision tables' own variant).
                "SELECT tablename FROM pg_policies \
                 WHERE schemaname = current_schema() AND policyname = 'tenant_isolation' \
                   AND qual LIKE '%committee_id IS NULL%' ORDER BY tablename",
            ))
            .await?;
        for row in tables {
            let table: String = row.try_get("", "tablename")?;
            db.execute_unprepared(&rls::tenant_isolation(&quoted(&table))).await?;
        }
        db.execute_unprepared(
            r#"
DO $$
BEGIN
  ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) LEAKPROOF;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'ts_match_vq is not LEAKPROOF (needs a superuser): full-text search cannot use its index under row-level security; see docs/OPERATIONS.md';
END
$$;
"#,
        )
        .await?;
        Ok(())
    }

    /// The policies keep their per-statement form (they mean the same), and
    /// the operator stays LEAKPROOF: undoing either would only make queries
    /// slower.
    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}

/// `name` as a quoted SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
