//! proposals_followup: the due-soon reminder window, the follow-up review
//! (回头看) of class B replies, and co-unit opinions (会办意见).
//!
//! No new table: the new data lives on rows already protected by row-level
//! security (`proposal_settings`, `proposal_units`), and the sweep's reminder
//! rows (`proposal_reminders`) gain new kinds only ("due_soon", "follow_up").
//! SQLite adds one column per `ALTER TABLE`, so each column is its own step.

use sea_orm_migration::prelude::*;

use crate::schema::col;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `proposal_units`' new columns.
fn unit_columns() -> Vec<ColumnDef> {
    vec![
        // Class B replies: when the follow-up review is due.
        col("follow_up_date").date().null().take(),
        // The review's result: null until recorded.
        col("follow_up_carried_out").boolean().null().take(),
        col("follow_up_note").text().not_null().default("").take(),
        col("follow_up_by").uuid().null().take(),
        col("follow_up_at").timestamp_with_time_zone().null().take(),
        // A co-unit's opinion to the lead unit; empty until sent.
        col("opinion").text().not_null().default("").take(),
        col("opinion_at").timestamp_with_time_zone().null().take(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("proposal_settings")
                    .add_column(col("due_soon_days").integer().not_null().default(7))
                    .to_owned(),
            )
            .await?;
        for mut column in unit_columns() {
            manager.alter_table(Table::alter().table("proposal_units").add_column(&mut column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in unit_columns().into_iter().rev() {
            let name = column.get_column_name();
            manager
                .alter_table(Table::alter().table("proposal_units").drop_column(Alias::new(name)).to_owned())
                .await?;
        }
        manager.alter_table(Table::alter().table("proposal_settings").drop_column("due_soon_days").to_owned()).await?;
        Ok(())
    }
}
