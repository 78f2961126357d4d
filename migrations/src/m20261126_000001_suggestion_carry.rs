//! suggestion_carry: a consultation suggestion is carried forward (into a
//! proposal draft or an information item) at most once.
//!
//! No new table: the carry is recorded on the suggestion's own row
//! (`consultation_suggestions`, already under row-level security). The store
//! claims the row with `UPDATE … WHERE carried_at IS NULL` in the carrying
//! transaction, so of two concurrent carries exactly one updates a row and the
//! other is refused; the unique index on `carried_draft_id` keeps one draft
//! from ever being claimed by two suggestions. SQLite adds one column per
//! `ALTER TABLE`, so each column is its own step.

use sea_orm_migration::prelude::*;

use crate::schema::{col, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "consultation_suggestions";
const DRAFT_INDEX: &str = "ux_consultation_suggestions_carried_draft";

/// `consultation_suggestions`' new columns, all null until carried.
fn carry_columns() -> Vec<ColumnDef> {
    vec![
        // 1 proposal, 2 information (the `CarryTarget` values).
        col("carried_target").small_integer().null().take(),
        // The draft's id in the proposals service: the event's id.
        col("carried_draft_id").uuid().null().take(),
        col("carried_at").timestamp_with_time_zone().null().take(),
        col("carried_by").uuid().null().take(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for mut column in carry_columns() {
            manager.alter_table(Table::alter().table(TABLE).add_column(&mut column).to_owned()).await?;
        }
        manager.create_index(index(TABLE, DRAFT_INDEX, &["carried_draft_id"]).unique().to_owned()).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(DRAFT_INDEX).table(TABLE).to_owned()).await?;
        for column in carry_columns().into_iter().rev() {
            let name = column.get_column_name();
            manager.alter_table(Table::alter().table(TABLE).drop_column(Alias::new(name)).to_owned()).await?;
        }
        Ok(())
    }
}
