//! PostgreSQL row-level security, the second wall behind tenant-scoped code.
//!
//! Every transaction the application opens sets `app.tenant_id` with
//! `set_config(…, true)` (transaction-local) to one of:
//! - a committee id: rows of that committee only;
//! - `platform`: rows that belong to no committee (platform operators, platform audit);
//! - `system`: every row — only background workers (the outbox relay) use it, never a request.
//!
//! An unset or unknown value matches no row. The application connects as a
//! role that is a member of [`APP_ROLE`]: it owns no table and cannot bypass
//! RLS; `FORCE ROW LEVEL SECURITY` makes even the owner obey the policies.

use sea_orm_migration::prelude::*;

/// The role the application runs as (through a login role that is a member).
pub const APP_ROLE: &str = "xieshang_app";

/// Creates the helper functions and the application role. Idempotent, and safe
/// when several databases of one cluster are migrated at once (roles are
/// cluster-wide).
pub async fn install_support(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    db.execute_unprepared(&format!(
        r#"
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
    CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;

CREATE OR REPLACE FUNCTION xieshang_scope() RETURNS text
  LANGUAGE sql STABLE AS
$$ SELECT coalesce(current_setting('app.tenant_id', true), '') $$;

CREATE OR REPLACE FUNCTION xieshang_tenant() RETURNS uuid
  LANGUAGE sql STABLE AS
$$ SELECT CASE
     WHEN xieshang_scope() ~ '^[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}$'
     THEN xieshang_scope()::uuid
   END $$;

GRANT USAGE ON SCHEMA public TO {APP_ROLE};
GRANT EXECUTE ON FUNCTION xieshang_scope() TO {APP_ROLE};
GRANT EXECUTE ON FUNCTION xieshang_tenant() TO {APP_ROLE};
"#
    ))
    .await?;
    Ok(())
}

/// Grants the application role plain data access to `table` (no DDL).
pub async fn grant(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    manager
        .get_connection()
        .execute_unprepared(&format!("GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE};"))
        .await?;
    Ok(())
}

/// Turns on forced row-level security for a table with a nullable
/// `committee_id` column, and grants the application role access to it.
pub async fn protect(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    grant(manager, table).await?;
    manager
        .get_connection()
        .execute_unprepared(&format!(
            r#"
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
{}"#,
            tenant_isolation(table)
        ))
        .await?;
    Ok(())
}

/// The `tenant_isolation` policy of `table` (dropped first if present).
///
/// The scope functions are wrapped in scalar sub-selects so that PostgreSQL
/// evaluates them once per statement (an InitPlan), not once per row: called
/// bare, the inlined regular expression of `xieshang_tenant()` ran for every
/// row a query looked at — most of a 100,000-proposal search's time.
pub fn tenant_isolation(table: &str) -> String {
    format!(
        r#"DROP POLICY IF EXISTS tenant_isolation ON {table};
CREATE POLICY tenant_isolation ON {table}
  USING (
    committee_id = (SELECT xieshang_tenant())
    OR (committee_id IS NULL AND (SELECT xieshang_scope()) = 'platform')
    OR (SELECT xieshang_scope()) = 'system'
  )
  WITH CHECK (
    committee_id = (SELECT xieshang_tenant())
    OR (committee_id IS NULL AND (SELECT xieshang_scope()) = 'platform')
    OR (SELECT xieshang_scope()) = 'system'
  );
"#
    )
}
