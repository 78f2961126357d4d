//! Annual performance projects (年度履职项目) with their dated steps, and the
//! annual assessment (考核): standards per category and the computed results
//! with staff decisions on each proposed outcome.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::rls;
use crate::schema::{col, created_at, fk, fk_committee, id, index, owner, updated_at};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] =
    &["member_projects", "member_project_steps", "member_assessment_standards", "member_assessment_results"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("member_projects")
                    .col(id())
                    .col(owner())
                    .col(col("member_id").uuid().not_null())
                    .col(col("year").integer().not_null())
                    .col(col("title").string_len(100).not_null())
                    .col(col("description").text().not_null())
                    // 1 declared, 2 study, 3 research, 4 consultation, 5 follow-up review, 6 outcome.
                    .col(col("status").small_integer().not_null())
                    // 0 none, 1 proposal, 2 information.
                    .col(col("outcome_kind").small_integer().not_null().default(0))
                    .col(col("outcome_ref").string_len(100).not_null().default(""))
                    .col(col("version").integer().not_null().default(1))
                    .col(created_at())
                    .col(updated_at())
                    .foreign_key(&mut fk_committee("member_projects", "committee_id"))
                    .foreign_key(&mut fk("member_projects", "member_id", "members"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("member_projects", "ix_member_projects_year", &["committee_id", "year", "status"]))
            .await?;
        manager.create_index(index("member_projects", "ix_member_projects_member", &["member_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("member_project_steps")
                    .col(owner())
                    .col(col("project_id").uuid().not_null())
                    .col(col("step").small_integer().not_null())
                    .col(col("date").date().not_null())
                    .col(col("note").text().not_null())
                    .col(col("recorded_by").uuid().not_null())
                    .col(created_at())
                    .primary_key(Index::create().col("project_id").col("step"))
                    .foreign_key(&mut fk("member_project_steps", "project_id", "member_projects"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("member_assessment_standards")
                    .col(owner())
                    // 1 standing committee, 2 member.
                    .col(col("category").small_integer().not_null())
                    .col(col("points_weight").integer().not_null())
                    .col(col("report_weight").integer().not_null())
                    .col(col("commend_top_percent").integer().not_null())
                    .col(col("talk_bottom_count").integer().not_null())
                    // Hundredths of a point.
                    .col(col("dismissal_below_centi").integer().not_null())
                    .col(updated_at())
                    .primary_key(Index::create().col("committee_id").col("category"))
                    .foreign_key(&mut fk_committee("member_assessment_standards", "committee_id"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("member_assessment_results")
                    .col(id())
                    .col(owner())
                    .col(col("year").integer().not_null())
                    .col(col("member_id").uuid().not_null())
                    .col(col("category").small_integer().not_null())
                    .col(col("record_points").integer().not_null())
                    .col(col("report_score_centi").integer().null())
                    .col(col("score_centi").integer().not_null())
                    .col(col("rank").integer().not_null())
                    .col(col("category_rank").integer().not_null())
                    // 1 none, 2 commend, 3 talk, 4 consider dismissal.
                    .col(col("proposed_outcome").small_integer().not_null())
                    // 1 pending, 2 confirmed, 3 rejected.
                    .col(col("decision").small_integer().not_null())
                    .col(col("decided_by").uuid().null())
                    .col(col("decision_note").text().not_null())
                    .col(col("decided_at").timestamp_with_time_zone().null())
                    .col(col("version").integer().not_null().default(1))
                    .col(created_at())
                    .foreign_key(&mut fk_committee("member_assessment_results", "committee_id"))
                    .foreign_key(&mut fk("member_assessment_results", "member_id", "members"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "member_assessment_results",
                    "ux_member_assessment_results",
                    &["committee_id", "year", "member_id"],
                )
                .unique()
                .take(),
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
