//! Proposals (提案): the proposals, their co-signers, the units handling them,
//! the per-session number counters and the per-committee settings.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::rls;
use crate::schema::{col, created_at, fk_committee, id, index, owner, updated_at};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] =
    &["proposals", "proposal_co_signers", "proposal_units", "proposal_counters", "proposal_settings"];

fn fk_proposal(table: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_proposal"))
        .from(table, "proposal_id")
        .to("proposals", "id")
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("proposals")
                    .col(id())
                    .col(owner())
                    .col(col("kind").small_integer().not_null())
                    .col(col("title").string_len(400).not_null())
                    .col(col("body").text().not_null())
                    .col(col("category").small_integer().not_null())
                    .col(col("proposer_user_id").uuid().not_null())
                    .col(col("sponsor").string_len(400).not_null().default(""))
                    .col(col("state").string_len(40).not_null())
                    // 第N号 within (committee, term, session); null until filed.
                    .col(col("number").integer().null())
                    .col(col("term_id").uuid().null())
                    .col(col("session_id").uuid().null())
                    .col(col("key").boolean().not_null().default(false))
                    .col(col("supervising_leader").string_len(400).not_null().default(""))
                    .col(col("decline_reason").text().not_null().default(""))
                    .col(col("conversion").small_integer().not_null().default(0))
                    .col(col("merged_into").uuid().null())
                    // 0 none, 1 lead + co-units, 2 separate units.
                    .col(col("assignment_mode").small_integer().not_null().default(0))
                    .col(col("assign_date").date().null())
                    .col(col("due_date").date().null())
                    .col(col("deadline_extended").boolean().not_null().default(false))
                    .col(col("rehandle_count").integer().not_null().default(0))
                    .col(col("process_rating").small_integer().not_null().default(0))
                    .col(col("result_rating").small_integer().not_null().default(0))
                    .col(col("version").integer().not_null().default(1))
                    .col(created_at())
                    .col(updated_at())
                    .col(col("submitted_at").timestamp_with_time_zone().null())
                    .foreign_key(&mut fk_committee("proposals", "committee_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("proposals", "ux_proposals_session_number", &["committee_id", "session_id", "number"])
                    .unique()
                    .take(),
            )
            .await?;
        manager.create_index(index("proposals", "ix_proposals_committee_state", &["committee_id", "state"])).await?;
        manager.create_index(index("proposals", "ix_proposals_proposer", &["proposer_user_id"])).await?;

        // 联名 — co-signers of a joint proposal.
        manager
            .create_table(
                Table::create()
                    .table("proposal_co_signers")
                    .col(col("proposal_id").uuid().not_null())
                    .col(col("user_id").uuid().not_null())
                    .col(owner())
                    .col(col("confirmed").boolean().not_null().default(false))
                    .primary_key(Index::create().col("proposal_id").col("user_id"))
                    .foreign_key(&mut fk_proposal("proposal_co_signers"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("proposal_co_signers", "ix_proposal_co_signers_user", &["user_id"])).await?;

        // 承办单位 — the units a proposal is currently assigned to.
        manager
            .create_table(
                Table::create()
                    .table("proposal_units")
                    .col(col("proposal_id").uuid().not_null())
                    .col(col("unit_user_id").uuid().not_null())
                    .col(owner())
                    // 1 lead (主办), 2 co-unit (会办), 3 separate (分办).
                    .col(col("role").small_integer().not_null())
                    .col(col("contact_date").date().null())
                    .col(col("contact_note").text().not_null().default(""))
                    .col(col("reply_class").small_integer().not_null().default(0))
                    .col(col("reply_text").text().not_null().default(""))
                    .col(col("replied_at").timestamp_with_time_zone().null())
                    .col(col("on_time").boolean().not_null().default(false))
                    .primary_key(Index::create().col("proposal_id").col("unit_user_id"))
                    .foreign_key(&mut fk_proposal("proposal_units"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("proposal_units", "ix_proposal_units_unit", &["unit_user_id"])).await?;

        // The last number handed out per (committee, plenary session); bumped
        // in the filing transaction, so numbers are unique and gap-free.
        manager
            .create_table(
                Table::create()
                    .table("proposal_counters")
                    .col(owner())
                    .col(col("session_id").uuid().not_null())
                    .col(col("last_number").integer().not_null().default(0))
                    .primary_key(Index::create().col("committee_id").col("session_id"))
                    .foreign_key(&mut fk_committee("proposal_counters", "committee_id"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("proposal_settings")
                    .col(col("committee_id").uuid().not_null().primary_key())
                    .col(col("objection_window_days").integer().not_null())
                    .col(col("co_unit_opinion_months").integer().not_null())
                    .col(col("reply_window_months").integer().not_null())
                    .col(col("version").integer().not_null().default(1))
                    .col(updated_at())
                    .foreign_key(&mut fk_committee("proposal_settings", "committee_id"))
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
        for table in TABLES.iter().rev() {
            manager.drop_table(Table::drop().table(*table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
