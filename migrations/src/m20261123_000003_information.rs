//! Social-conditions information (社情民意信息), its upward status as learnt
//! from events, deadline reminders of proposals, and the per-committee limit
//! on an information item's length.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::rls;
use crate::schema::{col, created_at, fk_committee, id, index, owner, updated_at};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &["information_items", "information_upward", "proposal_reminders"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One item per committee that holds it: the original in the authors'
        // committee, and a copy in each committee it was forwarded up to.
        manager
            .create_table(
                Table::create()
                    .table("information_items")
                    .col(id())
                    .col(owner())
                    .col(col("title").string_len(400).not_null())
                    .col(col("body").text().not_null())
                    .col(col("state").string_len(40).not_null())
                    // JSON arrays: the authors' user ids and display names.
                    .col(col("author_user_ids").text().not_null())
                    .col(col("author_names").text().not_null())
                    .col(col("submitted_by").uuid().not_null())
                    // Where it was written; equal to committee_id and id for an original.
                    .col(col("origin_committee_id").uuid().not_null())
                    .col(col("origin_item_id").uuid().not_null())
                    // The copy in the parent committee, once forwarded.
                    .col(col("forwarded_to_committee_id").uuid().null())
                    .col(col("forwarded_item_id").uuid().null())
                    .col(col("forwarded_at").timestamp_with_time_zone().null())
                    // The committee it was forwarded from (copies only).
                    .col(col("received_from_committee_id").uuid().null())
                    .col(col("decline_reason").text().not_null().default(""))
                    .col(col("instruction_leader").string_len(400).not_null().default(""))
                    .col(col("instruction_text").text().not_null().default(""))
                    .col(col("adopted_at").timestamp_with_time_zone().null())
                    .col(col("instructed_at").timestamp_with_time_zone().null())
                    .col(col("version").integer().not_null().default(1))
                    .col(created_at())
                    .col(updated_at())
                    .foreign_key(&mut fk_committee("information_items", "committee_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("information_items", "ix_information_items_committee", &["committee_id", "state"]))
            .await?;
        manager
            .create_index(index("information_items", "ix_information_items_origin", &["origin_committee_id"]))
            .await?;

        // What happened to an original further up (adopted, instructed), one
        // row per consumed event: the event id is the key, so applying an
        // event twice changes nothing. Owned by the origin committee.
        manager
            .create_table(
                Table::create()
                    .table("information_upward")
                    .col(col("event_id").uuid().not_null().primary_key())
                    .col(owner())
                    .col(col("item_id").uuid().not_null())
                    // "adopted" or "instructed".
                    .col(col("kind").string_len(20).not_null())
                    .col(col("by_committee_id").uuid().not_null())
                    .col(col("by_committee_name").string_len(80).not_null())
                    .col(col("by_level").small_integer().not_null())
                    .col(col("occurred_at").timestamp_with_time_zone().not_null())
                    .foreign_key(&mut fk_committee("information_upward", "committee_id"))
                    .foreign_key(
                        &mut ForeignKey::create()
                            .name("fk_information_upward_item")
                            .from("information_upward", "item_id")
                            .to("information_items", "id")
                            .on_delete(ForeignKeyAction::Cascade)
                            .take(),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("information_upward", "ix_information_upward_item", &["item_id"])).await?;

        // Deadline reminders: at most one per (proposal, due date, kind), so a
        // sweep that runs twice, or on several replicas, reminds once.
        manager
            .create_table(
                Table::create()
                    .table("proposal_reminders")
                    .col(id())
                    .col(owner())
                    .col(col("proposal_id").uuid().not_null())
                    .col(col("due_date").date().not_null())
                    .col(col("kind").string_len(20).not_null())
                    .col(created_at())
                    .foreign_key(&mut fk_committee("proposal_reminders", "committee_id"))
                    .foreign_key(
                        &mut ForeignKey::create()
                            .name("fk_proposal_reminders_proposal")
                            .from("proposal_reminders", "proposal_id")
                            .to("proposals", "id")
                            .on_delete(ForeignKeyAction::Cascade)
                            .take(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("proposal_reminders", "ux_proposal_reminders_key", &["proposal_id", "due_date", "kind"])
                    .unique()
                    .take(),
            )
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table("proposal_settings")
                    .add_column(col("information_body_max").integer().not_null().default(1500))
                    .to_owned(),
            )
            .await?;

        if manager.get_database_backend() == DbBackend::Postgres {
            for table in TABLES {
                rls::protect(manager, table).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("proposal_settings").drop_column("information_body_max").to_owned())
            .await?;
        for table in TABLES.iter().rev() {
            manager.drop_table(Table::drop().table(*table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
