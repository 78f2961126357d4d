//! Database connections, migrations and tenant-scoped transactions.
//!
//! Every request-path query runs inside a [`Tx`] opened with a [`Scope`]. On
//! PostgreSQL the scope is written into the transaction with
//! `set_config('app.tenant_id', …, true)`, and row-level security (see
//! `xieshang_migrations::rls`) filters every tenant-owned table by it — a
//! second wall behind the `committee_id` filters the code writes itself.
//!
//! SQLite (the embedded default) gets a single pooled connection: SQLite
//! allows one writer at a time, and a lone connection turns lock contention
//! into orderly queueing instead of `SQLITE_BUSY` errors. **Never** open a
//! second transaction while holding one; it would wait forever.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, Statement,
    TransactionTrait,
};
use secrecy::ExposeSecret;
use tokio::sync::Notify;
use xieshang_migrations::{Migrator, MigratorTrait};

use crate::PlatformError;
use crate::config::DatabaseConfig;
use crate::directory::{CommitteeCache, InProcessCommitteeCache};
use crate::ids::CommitteeId;

/// Whose rows a transaction may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One committee's rows.
    Committee(CommitteeId),
    /// Rows that belong to no committee (platform operators, platform audit).
    Platform,
    /// Every row. Background workers only (the outbox relay, start-up), never a request.
    System,
}

impl Scope {
    fn setting(self) -> String {
        match self {
            Scope::Committee(id) => id.to_string(),
            Scope::Platform => "platform".to_owned(),
            Scope::System => "system".to_owned(),
        }
    }

    /// The committee a scope belongs to, for columns that record it.
    pub fn committee(self) -> Option<CommitteeId> {
        match self {
            Scope::Committee(id) => Some(id),
            _ => None,
        }
    }
}

/// A pool of connections to one database.
#[derive(Clone)]
pub struct Db {
    conn: DatabaseConnection,
    /// Woken after a transaction that wrote to the outbox commits.
    outbox_written: Arc<Notify>,
    /// The committee tree's hot entries (see [`crate::directory`]).
    committees: Arc<dyn CommitteeCache>,
}

impl Db {
    /// Connects with the application's settings. Runs pending migrations
    /// first when `auto_migrate` is on.
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, PlatformError> {
        if config.auto_migrate {
            migrate_up(config).await?;
        }
        let conn = connect_app(config).await?;
        Ok(Self {
            conn,
            outbox_written: Arc::new(Notify::new()),
            committees: Arc::new(InProcessCommitteeCache::default()),
        })
    }

    /// Uses `cache` for committee entries (the shared one in distributed mode).
    pub fn with_committee_cache(mut self, cache: Arc<dyn CommitteeCache>) -> Self {
        self.committees = cache;
        self
    }

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// The raw pool, for health checks and tests. Request code uses [`Db::begin`].
    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Starts a transaction that sees only what `scope` allows.
    pub async fn begin(&self, scope: Scope) -> Result<Tx, DbErr> {
        let inner = self.conn.begin().await?;
        if inner.get_database_backend() == DbBackend::Postgres {
            inner
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT set_config('app.tenant_id', $1, true)",
                    [scope.setting().into()],
                ))
                .await?;
        }
        Ok(Tx {
            inner,
            scope,
            wrote_outbox: AtomicBool::new(false),
            outbox_written: self.outbox_written.clone(),
            committees: self.committees.clone(),
            changed_committees: std::sync::Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn outbox_signal(&self) -> Arc<Notify> {
        self.outbox_written.clone()
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.conn.ping().await
    }
}

/// A transaction bound to a [`Scope`]. Dereferences to sea-orm's transaction,
/// so entities and queries run on it directly.
pub struct Tx {
    inner: DatabaseTransaction,
    scope: Scope,
    wrote_outbox: AtomicBool,
    outbox_written: Arc<Notify>,
    committees: Arc<dyn CommitteeCache>,
    /// Committees this transaction changed: their cache entries go on commit.
    changed_committees: std::sync::Mutex<Vec<CommitteeId>>,
}

impl Tx {
    pub fn scope(&self) -> Scope {
        self.scope
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        self.inner.commit().await?;
        if self.wrote_outbox.load(Ordering::Relaxed) {
            self.outbox_written.notify_one();
        }
        let changed = std::mem::take(&mut *self.changed_committees.lock().unwrap_or_else(|e| e.into_inner()));
        for id in changed {
            self.committees.invalidate(id).await;
        }
        Ok(())
    }

    /// Marks a committee as changed by this transaction: its cached entry is
    /// dropped once the transaction commits.
    pub fn committee_changed(&self, id: CommitteeId) {
        self.changed_committees.lock().unwrap_or_else(|e| e.into_inner()).push(id);
    }

    pub(crate) fn committee_cache(&self) -> &dyn CommitteeCache {
        self.committees.as_ref()
    }

    pub(crate) fn mark_outbox_written(&self) {
        self.wrote_outbox.store(true, Ordering::Relaxed);
    }
}

impl Deref for Tx {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.inner
    }
}

/// Applies every pending migration, connecting with the admin URL.
pub async fn migrate_up(config: &DatabaseConfig) -> Result<(), PlatformError> {
    let admin = connect_admin(config).await?;
    Migrator::up(&admin, None).await?;
    admin.close().await?;
    Ok(())
}

/// Connects for schema changes: the admin URL (or the URL), no role switch.
pub async fn connect_admin(config: &DatabaseConfig) -> Result<DatabaseConnection, PlatformError> {
    let url = config.admin_url.as_ref().unwrap_or(&config.url).expose_secret().to_owned();
    let mut options = base_options(&url)?;
    options.max_connections(1);
    Ok(Database::connect(options).await?)
}

async fn connect_app(config: &DatabaseConfig) -> Result<DatabaseConnection, PlatformError> {
    let url = config.url.expose_secret().to_owned();
    let mut options = base_options(&url)?;
    if config.is_sqlite() {
        options.max_connections(1).min_connections(1);
    } else {
        options.max_connections(config.max_connections.max(1));
        let role = config.app_role.trim().to_owned();
        if !role.is_empty() {
            if !role.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(PlatformError::Config(format!("database.app_role {role:?} is not a plain role name")));
            }
            let set_role = format!("SET ROLE {role}");
            options.map_sqlx_postgres_pool_opts(move |pool| {
                let set_role = set_role.clone();
                pool.after_connect(move |conn, _meta| {
                    // Checked above to be a plain identifier.
                    let sql = sea_orm::sqlx::AssertSqlSafe(set_role.clone());
                    Box::pin(async move { sea_orm::sqlx::raw_sql(sql).execute(conn).await.map(|_| ()) })
                })
            });
        }
    }
    let conn = Database::connect(options).await?;
    if conn.get_database_backend() == DbBackend::Postgres {
        warn_if_rls_bypassed(&conn).await?;
    }
    Ok(conn)
}

fn base_options(url: &str) -> Result<ConnectOptions, PlatformError> {
    if url.starts_with("sqlite:") {
        if let Some(parent) = sqlite_file(url).and_then(|p| p.parent().map(ToOwned::to_owned)) {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(&parent)
                    .map_err(|e| PlatformError::Config(format!("cannot create {}: {e}", parent.display())))?;
            }
        }
    } else if !url.starts_with("postgres:") && !url.starts_with("postgresql:") {
        return Err(PlatformError::Config("database.url must start with sqlite:// or postgres://".into()));
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30))
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    Ok(options)
}

fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// Superusers and `BYPASSRLS` roles ignore row-level security; say so loudly.
async fn warn_if_rls_bypassed(conn: &DatabaseConnection) -> Result<(), DbErr> {
    let row = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT rolsuper OR rolbypassrls AS bypass FROM pg_roles WHERE rolname = current_user",
        ))
        .await?;
    let bypass = row.map(|r| r.try_get::<bool>("", "bypass")).transpose()?.unwrap_or(false);
    if bypass {
        tracing::warn!(
            "the database role bypasses row-level security; set database.app_role or connect as a member of xieshang_app"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_are_found_in_urls() {
        assert_eq!(sqlite_file("sqlite://data/x.db?mode=rwc"), Some("data/x.db".into()));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }

    #[test]
    fn scopes_are_written_as_rls_expects() {
        assert_eq!(Scope::Platform.setting(), "platform");
        assert_eq!(Scope::System.setting(), "system");
    }
}
