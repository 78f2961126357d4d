//! Committees, terms, users, roles, sign-in sessions, the audit log and the
//! event outbox.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::rls;
use crate::schema::{col, committee_id, created_at, fk_committee, id, index, updated_at};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TENANT_TABLES: &[&str] =
    &["terms", "plenary_sessions", "users", "user_roles", "auth_sessions", "audit_log", "outbox"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DbBackend::Postgres;

        // 政协委员会 — committees. Platform registry: readable by code that has
        // checked visibility, so no RLS here (see docs/ARCHITECTURE.md).
        manager
            .create_table(
                Table::create()
                    .table("committees")
                    .col(id())
                    .col(col("code").char_len(6).not_null().unique_key())
                    .col(col("name").string_len(80).not_null())
                    .col(col("level").small_integer().not_null())
                    .col(col("parent_id").uuid().null())
                    // Parent id, or "root": makes names unique among siblings
                    // with one plain unique index on both backends.
                    .col(col("sibling_scope").string_len(40).not_null())
                    // Materialized path of ids, "/<province>/<city>/<county>/".
                    .col(col("path").string_len(200).not_null())
                    .col(col("depth").small_integer().not_null())
                    .col(col("office_address").string_len(200).not_null().default(""))
                    .col(col("office_phone").string_len(40).not_null().default(""))
                    .col(col("suspended").boolean().not_null().default(false))
                    .col(col("suspended_reason").string_len(500).not_null().default(""))
                    .col(col("version").integer().not_null().default(1))
                    .col(created_at())
                    .col(updated_at())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_committees_parent")
                            .from("committees", "parent_id")
                            .to("committees", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("committees", "ux_committees_sibling_name", &["sibling_scope", "name"]).unique().take())
            .await?;
        manager.create_index(index("committees", "ix_committees_path", &["path"])).await?;
        manager.create_index(index("committees", "ix_committees_parent", &["parent_id"])).await?;

        // 届 — terms.
        manager
            .create_table(
                Table::create()
                    .table("terms")
                    .col(id())
                    .col(col("committee_id").uuid().not_null())
                    .col(col("number").integer().not_null())
                    .col(col("start_date").date().not_null())
                    .col(col("end_date").date().null())
                    .col(created_at())
                    .foreign_key(&mut fk_committee("terms", "committee_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("terms", "ux_terms_committee_number", &["committee_id", "number"]).unique().take())
            .await?;

        // 次会议 — plenary sessions within a term.
        manager
            .create_table(
                Table::create()
                    .table("plenary_sessions")
                    .col(id())
                    .col(col("committee_id").uuid().not_null())
                    .col(col("term_id").uuid().not_null())
                    .col(col("number").integer().not_null())
                    .col(col("start_date").date().not_null())
                    .col(created_at())
                    .foreign_key(&mut fk_committee("plenary_sessions", "committee_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_plenary_sessions_term")
                            .from("plenary_sessions", "term_id")
                            .to("terms", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("plenary_sessions", "ux_plenary_sessions_term_number", &["term_id", "number"]).unique().take(),
            )
            .await?;

        // Users; committee_id null for platform operators.
        manager
            .create_table(
                Table::create()
                    .table("users")
                    .col(id())
                    .col(committee_id())
                    // Committee id, or "platform": usernames are unique per scope.
                    .col(col("scope").string_len(40).not_null())
                    .col(col("username").string_len(32).not_null())
                    .col(col("display_name").string_len(80).not_null())
                    .col(col("password_hash").string_len(200).not_null())
                    .col(col("disabled").boolean().not_null().default(false))
                    .col(col("must_change_password").boolean().not_null().default(false))
                    .col(col("version").integer().not_null().default(1))
                    .col(created_at())
                    .col(updated_at())
                    .foreign_key(&mut fk_committee("users", "committee_id"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("users", "ux_users_scope_username", &["scope", "username"]).unique().take()).await?;
        manager.create_index(index("users", "ix_users_committee", &["committee_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("user_roles")
                    .col(col("user_id").uuid().not_null())
                    .col(committee_id())
                    .col(col("role").small_integer().not_null())
                    .primary_key(Index::create().col("user_id").col("role"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_roles_user")
                            .from("user_roles", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("user_roles", "ix_user_roles_committee_role", &["committee_id", "role"])).await?;

        // Sign-in sessions behind refresh tokens (only a hash of the secret is kept).
        manager
            .create_table(
                Table::create()
                    .table("auth_sessions")
                    .col(id())
                    .col(committee_id())
                    .col(col("user_id").uuid().not_null())
                    .col(col("secret_hash").string_len(64).not_null())
                    .col(col("expires_at").timestamp_with_time_zone().not_null())
                    .col(col("revoked_at").timestamp_with_time_zone().null())
                    .col(created_at())
                    .col(col("last_used_at").timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_auth_sessions_user")
                            .from("auth_sessions", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("auth_sessions", "ix_auth_sessions_user", &["user_id"])).await?;
        manager.create_index(index("auth_sessions", "ix_auth_sessions_revoked", &["revoked_at"])).await?;

        // Audit log: one row per mutation, written in the mutation's transaction.
        manager
            .create_table(
                Table::create()
                    .table("audit_log")
                    .col(id())
                    .col(committee_id())
                    .col(col("actor_user_id").uuid().null())
                    .col(col("actor_username").string_len(32).not_null())
                    .col(col("method").string_len(200).not_null())
                    .col(col("target_type").string_len(40).not_null())
                    .col(col("target_id").string_len(64).not_null())
                    .col(col("changes").text().not_null())
                    .col(created_at())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("audit_log", "ix_audit_log_committee_created", &["committee_id", "created_at"]))
            .await?;

        // Transactional outbox of domain events (xieshang.events.v1.Event, encoded).
        manager
            .create_table(
                Table::create()
                    .table("outbox")
                    .col(id())
                    .col(committee_id())
                    .col(col("event_type").string_len(100).not_null())
                    .col(col("payload").blob().not_null())
                    .col(created_at())
                    .col(col("published_at").timestamp_with_time_zone().null())
                    // Lease of the relay that is publishing the row, so that
                    // several replicas never publish the same row at once.
                    .col(col("claimed_until").timestamp_with_time_zone().null())
                    .col(col("attempts").integer().not_null().default(0))
                    .col(col("last_error").text().null())
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("outbox", "ix_outbox_unpublished", &["published_at", "id"])).await?;

        if postgres {
            rls::install_support(manager).await?;
            rls::grant(manager, "committees").await?;
            for table in TENANT_TABLES {
                rls::protect(manager, table).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in
            ["outbox", "audit_log", "auth_sessions", "user_roles", "users", "plenary_sessions", "terms", "committees"]
        {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
