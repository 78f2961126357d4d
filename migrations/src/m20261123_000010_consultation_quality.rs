//! Consultation quality evaluation (协商议政质量评价) and sector round-table
//! rotation (界别圆桌会联组轮值), owned by the consultation service.
//!
//! - `consultation_quality_criteria`: a committee's scoring standard for a
//!   year, one row per criterion with its weight (the weights sum to 100).
//! - `consultation_quality_evaluators`: the evaluators named for an activity.
//! - `consultation_quality_scores`: one score (0–100) per activity,
//!   evaluator and criterion — the unique index refuses a second one.
//! - `consultation_joint_groups` and `consultation_joint_group_sectors`: the
//!   committee's joint groups (联组) of sectors, in rotation order; a sector is
//!   in at most one group (primary key `sector_id`).
//! - `consultation_activities.leading_group_id`: the joint group leading a
//!   sector round table, computed when the activity is created.
//!
//! Every table carries `committee_id`; on PostgreSQL the ordinary
//! one-committee policy applies.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::rls;
use crate::schema::{col, created_at, fk, fk_committee, id, index, owner};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &[
    "consultation_quality_criteria",
    "consultation_quality_evaluators",
    "consultation_quality_scores",
    "consultation_joint_groups",
    "consultation_joint_group_sectors",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("consultation_quality_criteria")
                    .col(id())
                    .col(owner())
                    .col(col("year").integer().not_null())
                    .col(col("position").integer().not_null())
                    .col(col("name").string_len(60).not_null())
                    .col(col("weight").integer().not_null())
                    .col(created_at())
                    .foreign_key(&mut fk_committee("consultation_quality_criteria", "committee_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "consultation_quality_criteria",
                    "ux_consultation_quality_criteria_position",
                    &["committee_id", "year", "position"],
                )
                .unique()
                .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("consultation_quality_evaluators")
                    .col(col("activity_id").uuid().not_null())
                    .col(col("user_id").uuid().not_null())
                    .col(owner())
                    .col(created_at())
                    .primary_key(Index::create().col("activity_id").col("user_id"))
                    .foreign_key(&mut fk("consultation_quality_evaluators", "activity_id", "consultation_activities"))
                    .foreign_key(&mut fk("consultation_quality_evaluators", "user_id", "users"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("consultation_quality_scores")
                    .col(id())
                    .col(owner())
                    .col(col("activity_id").uuid().not_null())
                    .col(col("evaluator_user_id").uuid().not_null())
                    .col(col("criterion_id").uuid().not_null())
                    .col(col("score").small_integer().not_null())
                    .col(created_at())
                    .foreign_key(&mut fk("consultation_quality_scores", "activity_id", "consultation_activities"))
                    .foreign_key(&mut fk(
                        "consultation_quality_scores",
                        "criterion_id",
                        "consultation_quality_criteria",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "consultation_quality_scores",
                    "ux_consultation_quality_scores_once",
                    &["activity_id", "evaluator_user_id", "criterion_id"],
                )
                .unique()
                .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("consultation_joint_groups")
                    .col(id())
                    .col(owner())
                    .col(col("name").string_len(60).not_null())
                    // Rotation order within the committee.
                    .col(col("position").integer().not_null())
                    .col(created_at())
                    .foreign_key(&mut fk_committee("consultation_joint_groups", "committee_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "consultation_joint_groups",
                    "ux_consultation_joint_groups_position",
                    &["committee_id", "position"],
                )
                .unique()
                .take(),
            )
            .await?;
        manager
            .create_index(
                index("consultation_joint_groups", "ux_consultation_joint_groups_name", &["committee_id", "name"])
                    .unique()
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("consultation_joint_group_sectors")
                    .col(col("sector_id").uuid().not_null().primary_key())
                    .col(owner())
                    .col(col("group_id").uuid().not_null())
                    .foreign_key(&mut fk("consultation_joint_group_sectors", "group_id", "consultation_joint_groups"))
                    .foreign_key(&mut fk("consultation_joint_group_sectors", "sector_id", "member_reference_items"))
                    .to_owned(),
            )
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table("consultation_activities")
                    .add_column(col("leading_group_id").uuid().null())
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
            .alter_table(Table::alter().table("consultation_activities").drop_column("leading_group_id").to_owned())
            .await?;
        for table in TABLES.iter().rev() {
            manager.drop_table(Table::drop().table(*table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
