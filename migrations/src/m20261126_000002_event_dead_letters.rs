//! event_dead_letters: events a handler could not apply — a permanent error,
//! or a retryable one that kept failing — set aside so that the handler can
//! move on to later events. The encoded event is kept, so an operator can
//! re-deliver it (`xieshang events retry`) or discard it with a reason.
//!
//! The table belongs to no committee: it holds events of every committee, and
//! only the `system` scope (the relay, the bus consumers, the operator's CLI)
//! reads or writes it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::rls;
use crate::schema::{col, id, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "event_dead_letters";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TABLE)
                    .col(id())
                    .col(col("event_id").uuid().not_null())
                    // The consumer that gave up (`EventHandler::name`, a Redis group name).
                    .col(col("handler").string_len(100).not_null())
                    .col(col("event_type").string_len(100).not_null())
                    // The committee the event is about, if any. No foreign key:
                    // a dead letter must be recordable whatever the event names.
                    .col(col("committee_id").uuid().null())
                    // xieshang.events.v1.Event, encoded: what a retry re-delivers.
                    .col(col("payload").blob().not_null())
                    .col(col("attempts").integer().not_null())
                    .col(col("first_error").text().not_null())
                    .col(col("last_error").text().not_null())
                    .col(col("first_failed_at").timestamp_with_time_zone().not_null())
                    .col(col("last_failed_at").timestamp_with_time_zone().not_null())
                    .col(col("resolved_at").timestamp_with_time_zone().null())
                    // "retried", or "discarded: <reason>".
                    .col(col("resolution").text().null())
                    .to_owned(),
            )
            .await?;
        // The operator's listing: unresolved entries, per handler.
        manager.create_index(index(TABLE, "ix_event_dead_letters_open", &["resolved_at", "handler"])).await?;
        // A redelivered dead letter updates its open entry instead of adding one.
        manager.create_index(index(TABLE, "ix_event_dead_letters_event", &["event_id", "handler"])).await?;

        if manager.get_database_backend() == DbBackend::Postgres {
            rls::grant(manager, TABLE).await?;
            manager
                .get_connection()
                .execute_unprepared(
                    r#"
ALTER TABLE event_dead_letters ENABLE ROW LEVEL SECURITY;
ALTER TABLE event_dead_letters FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS system_only ON event_dead_letters;
CREATE POLICY system_only ON event_dead_letters
  USING (xieshang_scope() = 'system') WITH CHECK (xieshang_scope() = 'system');
"#,
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TABLE).if_exists().to_owned()).await?;
        Ok(())
    }
}
