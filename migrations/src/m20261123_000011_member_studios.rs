//! Member studios (委员工作室): studios with their members and service items,
//! star rating history, and the public's requests with their answers.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::rls;
use crate::schema::{col, created_at, fk, fk_committee, id, index, owner, updated_at};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &["member_studios", "member_studio_members", "member_studio_ratings", "member_studio_requests"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("member_studios")
                    .col(id())
                    .col(owner())
                    .col(col("name").string_len(60).not_null())
                    .col(col("sector_id").uuid().not_null())
                    .col(col("address").string_len(200).not_null())
                    // A JSON array of strings.
                    .col(col("service_items").text().not_null())
                    .col(created_at())
                    .col(updated_at())
                    .foreign_key(&mut fk_committee("member_studios", "committee_id"))
                    .foreign_key(&mut fk("member_studios", "sector_id", "member_reference_items"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("member_studios", "ix_member_studios_committee", &["committee_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("member_studio_members")
                    .col(owner())
                    .col(col("studio_id").uuid().not_null())
                    .col(col("member_id").uuid().not_null())
                    .primary_key(Index::create().col("studio_id").col("member_id"))
                    .foreign_key(&mut fk("member_studio_members", "studio_id", "member_studios"))
                    .foreign_key(&mut fk("member_studio_members", "member_id", "members"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("member_studio_members", "ix_member_studio_members_member", &["member_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("member_studio_ratings")
                    .col(id())
                    .col(owner())
                    .col(col("studio_id").uuid().not_null())
                    .col(col("stars").small_integer().not_null())
                    .col(col("date").date().not_null())
                    .col(col("note").text().not_null())
                    .col(col("rated_by").uuid().not_null())
                    .col(created_at())
                    .foreign_key(&mut fk("member_studio_ratings", "studio_id", "member_studios"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("member_studio_ratings", "ix_member_studio_ratings_studio", &["studio_id", "date"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("member_studio_requests")
                    .col(id())
                    .col(owner())
                    .col(col("studio_id").uuid().not_null())
                    // 1 question, 2 suggestion, 3 help.
                    .col(col("kind").small_integer().not_null())
                    .col(col("content").text().not_null())
                    .col(col("contact_name").string_len(40).not_null())
                    .col(col("contact_phone_enc").blob().not_null())
                    .col(col("tracking_code").string_len(19).not_null())
                    // 1 received, 2 answered.
                    .col(col("state").small_integer().not_null())
                    .col(col("answer").text().not_null().default(""))
                    .col(col("answered_by").uuid().null())
                    .col(col("answered_at").timestamp_with_time_zone().null())
                    // 0 none, 1 proposal, 2 information.
                    .col(col("draft_kind").small_integer().not_null().default(0))
                    .col(col("drafted_by").uuid().null())
                    .col(col("drafted_at").timestamp_with_time_zone().null())
                    .col(created_at())
                    .col(updated_at())
                    .foreign_key(&mut fk_committee("member_studio_requests", "committee_id"))
                    .foreign_key(&mut fk("member_studio_requests", "studio_id", "member_studios"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("member_studio_requests", "ux_member_studio_requests_tracking", &["tracking_code"])
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(index("member_studio_requests", "ix_member_studio_requests_studio", &["studio_id"]))
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
