//! Membership (委员管理): the committee's reference data (sectors, activity
//! groups, special committees, liaison stations), the roster with its status
//! history, performance-record entries and the points per kind and year.
//!
//! Phone and ID number are stored only encrypted (SM4-CCM, nonce kept with
//! the ciphertext); `id_digest` is a keyed digest of the ID number so that
//! duplicates within a committee are refused without decrypting.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::rls;
use crate::schema::{col, created_at, fk, fk_committee, id, index, owner, updated_at};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] =
    &["member_reference_items", "members", "member_status_changes", "member_record_entries", "member_point_rules"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // 界别 / 委员活动小组 / 专委会 / 联络站, told apart by `kind`.
        manager
            .create_table(
                Table::create()
                    .table("member_reference_items")
                    .col(id())
                    .col(owner())
                    // 1 sector, 2 activity group, 3 special committee, 4 liaison station.
                    .col(col("kind").small_integer().not_null())
                    // Null when the item has no code (unique indexes ignore nulls).
                    .col(col("code").string_len(10).null())
                    .col(col("name").string_len(60).not_null())
                    .col(col("version").integer().not_null().default(1))
                    .col(created_at())
                    .col(updated_at())
                    .foreign_key(&mut fk_committee("member_reference_items", "committee_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("member_reference_items", "ux_member_reference_items_name", &["committee_id", "kind", "name"])
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                index("member_reference_items", "ux_member_reference_items_code", &["committee_id", "kind", "code"])
                    .unique()
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("members")
                    .col(id())
                    .col(owner())
                    .col(col("name").string_len(40).not_null())
                    .col(col("gender").small_integer().not_null())
                    .col(col("ethnicity").string_len(20).not_null().default(""))
                    .col(col("birth_year").integer().not_null())
                    .col(col("party").small_integer().not_null())
                    .col(col("sector_id").uuid().not_null())
                    .col(col("work_unit").string_len(100).not_null().default(""))
                    .col(col("title").string_len(100).not_null().default(""))
                    // SM4-CCM: 13-byte nonce || ciphertext || 16-byte tag.
                    .col(col("phone_enc").blob().not_null())
                    .col(col("id_number_enc").blob().not_null())
                    // HMAC-SHA256 of the ID number (hex) under a key derived from the PII key.
                    .col(col("id_digest").string_len(64).not_null())
                    .col(col("term_number").integer().not_null())
                    .col(col("role").small_integer().not_null())
                    .col(col("standing_committee").boolean().not_null().default(false))
                    .col(col("activity_group_id").uuid().null())
                    .col(col("special_committee_id").uuid().null())
                    .col(col("liaison_station_id").uuid().null())
                    .col(col("user_id").uuid().null())
                    // 1 serving, 2 resigned, 3 dismissed.
                    .col(col("status").small_integer().not_null())
                    .col(col("status_date").date().null())
                    .col(col("version").integer().not_null().default(1))
                    .col(created_at())
                    .col(updated_at())
                    .foreign_key(&mut fk_committee("members", "committee_id"))
                    .foreign_key(&mut fk("members", "sector_id", "member_reference_items"))
                    .foreign_key(&mut fk("members", "activity_group_id", "member_reference_items"))
                    .foreign_key(&mut fk("members", "special_committee_id", "member_reference_items"))
                    .foreign_key(&mut fk("members", "liaison_station_id", "member_reference_items"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("members", "ux_members_id_digest", &["committee_id", "id_digest"]).unique().take())
            .await?;
        manager.create_index(index("members", "ux_members_user", &["committee_id", "user_id"]).unique().take()).await?;
        manager.create_index(index("members", "ix_members_committee_status", &["committee_id", "status"])).await?;
        manager.create_index(index("members", "ix_members_group", &["activity_group_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("member_status_changes")
                    .col(id())
                    .col(owner())
                    .col(col("member_id").uuid().not_null())
                    .col(col("from_status").small_integer().not_null())
                    .col(col("to_status").small_integer().not_null())
                    .col(col("effective_date").date().not_null())
                    .col(col("reason").text().not_null())
                    .col(col("changed_by").uuid().null())
                    .col(created_at())
                    .foreign_key(&mut fk("member_status_changes", "member_id", "members"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("member_status_changes", "ix_member_status_changes_member", &["member_id"])).await?;

        // 履职档案 entries. (source_event_id, member_id) is unique: an event
        // delivered twice gives one entry.
        manager
            .create_table(
                Table::create()
                    .table("member_record_entries")
                    .col(id())
                    .col(owner())
                    .col(col("member_id").uuid().not_null())
                    .col(col("kind").small_integer().not_null())
                    .col(col("date").date().not_null())
                    .col(col("points").integer().not_null())
                    .col(col("description").text().not_null())
                    .col(col("evidence_ref").string_len(200).not_null().default(""))
                    // 1 automatic (from an event), 2 entered by staff.
                    .col(col("source").small_integer().not_null())
                    .col(col("source_event_id").uuid().null())
                    .col(col("verified_by").uuid().null())
                    .col(created_at())
                    .foreign_key(&mut fk("member_record_entries", "member_id", "members"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("member_record_entries", "ux_member_record_entries_event", &["source_event_id", "member_id"])
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(index("member_record_entries", "ix_member_record_entries_member", &["member_id", "date"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("member_point_rules")
                    .col(owner())
                    .col(col("year").integer().not_null())
                    .col(col("kind").small_integer().not_null())
                    .col(col("points").integer().not_null())
                    .col(updated_at())
                    .primary_key(Index::create().col("committee_id").col("year").col("kind"))
                    .foreign_key(&mut fk_committee("member_point_rules", "committee_id"))
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
