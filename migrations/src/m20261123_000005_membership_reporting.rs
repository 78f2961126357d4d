//! Annual reporting (委员述职): the committee's scoring rule, sessions with
//! their judge panels, one report per reporter and session (three parts on
//! site, or a video reference), the judges' scores, and the suggestions raised
//! in reports with their follow-up (forwarded → adopted / not adopted).
//!
//! Campaign statistics are computed from these rows; no totals are stored.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::rls;
use crate::schema::{col, created_at, fk, fk_committee, id, index, owner, updated_at};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &[
    "member_reporting_settings",
    "member_reporting_sessions",
    "member_reporting_judges",
    "member_reports",
    "member_report_scores",
    "member_report_suggestions",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("member_reporting_settings")
                    .col(col("committee_id").uuid().not_null().primary_key())
                    // 1 trimmed mean when at least five judges scored, 2 plain mean.
                    .col(col("score_rule").small_integer().not_null())
                    .col(updated_at())
                    .foreign_key(&mut fk_committee("member_reporting_settings", "committee_id"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("member_reporting_sessions")
                    .col(id())
                    .col(owner())
                    .col(col("year").integer().not_null())
                    // 1 regular, 2 make-up.
                    .col(col("kind").small_integer().not_null())
                    // Required for regular sessions; optional for make-ups.
                    .col(col("activity_group_id").uuid().null())
                    .col(col("title").string_len(100).not_null())
                    .col(col("date").date().not_null())
                    .col(col("place").string_len(100).not_null())
                    .col(col("leader_name").string_len(40).not_null())
                    .col(col("staff_user_id").uuid().not_null())
                    // 1 scheduled, 2 open (scoring), 3 closed.
                    .col(col("state").small_integer().not_null())
                    // The rule applied at close (null before).
                    .col(col("score_rule").small_integer().null())
                    .col(col("version").integer().not_null().default(1))
                    .col(created_at())
                    .col(updated_at())
                    .foreign_key(&mut fk_committee("member_reporting_sessions", "committee_id"))
                    .foreign_key(&mut fk("member_reporting_sessions", "activity_group_id", "member_reference_items"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "member_reporting_sessions",
                "ix_member_reporting_sessions_year",
                &["committee_id", "year"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("member_reporting_judges")
                    .col(owner())
                    .col(col("session_id").uuid().not_null())
                    .col(col("judge_user_id").uuid().not_null())
                    .primary_key(Index::create().col("session_id").col("judge_user_id"))
                    .foreign_key(&mut fk("member_reporting_judges", "session_id", "member_reporting_sessions"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("member_reporting_judges", "ix_member_reporting_judges_judge", &["judge_user_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("member_reports")
                    .col(id())
                    .col(owner())
                    .col(col("session_id").uuid().not_null())
                    .col(col("member_id").uuid().not_null())
                    .col(col("year").integer().not_null())
                    // 1 not yet reported, 2 on site, 3 by video.
                    .col(col("mode").small_integer().not_null().default(1))
                    // 本职工作 / 委员履职 / 意见建议.
                    .col(col("work_text").text().not_null())
                    .col(col("performance_text").text().not_null())
                    .col(col("suggestions_text").text().not_null())
                    .col(col("video_ref").string_len(300).not_null().default(""))
                    // Hundredths of a point, set when the session closes.
                    .col(col("final_score_centi").integer().null())
                    .col(col("scored_by").integer().null())
                    .col(created_at())
                    .col(updated_at())
                    .foreign_key(&mut fk("member_reports", "session_id", "member_reporting_sessions"))
                    .foreign_key(&mut fk("member_reports", "member_id", "members"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("member_reports", "ux_member_reports_session_member", &["session_id", "member_id"])
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(index("member_reports", "ix_member_reports_year", &["committee_id", "year", "member_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("member_report_scores")
                    .col(owner())
                    .col(col("session_id").uuid().not_null())
                    .col(col("member_id").uuid().not_null())
                    .col(col("judge_user_id").uuid().not_null())
                    .col(col("score").small_integer().not_null())
                    .col(created_at())
                    // One score per judge and reporter: scoring twice is refused.
                    .primary_key(Index::create().col("session_id").col("member_id").col("judge_user_id"))
                    .foreign_key(&mut fk("member_report_scores", "session_id", "member_reporting_sessions"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("member_report_suggestions")
                    .col(id())
                    .col(owner())
                    .col(col("session_id").uuid().not_null())
                    .col(col("member_id").uuid().not_null())
                    .col(col("year").integer().not_null())
                    .col(col("content").text().not_null())
                    // 1 raised, 2 forwarded, 3 adopted, 4 not adopted.
                    .col(col("state").small_integer().not_null())
                    .col(col("forwarded_to").string_len(100).not_null().default(""))
                    .col(col("forwarded_on").date().null())
                    .col(col("forward_note").text().not_null())
                    .col(col("decided_on").date().null())
                    .col(col("decision_note").text().not_null())
                    .col(col("version").integer().not_null().default(1))
                    .col(created_at())
                    .col(updated_at())
                    .foreign_key(&mut fk("member_report_suggestions", "session_id", "member_reporting_sessions"))
                    .foreign_key(&mut fk("member_report_suggestions", "member_id", "members"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "member_report_suggestions",
                "ix_member_report_suggestions_year",
                &["committee_id", "year"],
            ))
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
