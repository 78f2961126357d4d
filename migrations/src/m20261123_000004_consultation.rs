//! Consultation (协商): topics (议题征集) with endorsements, the annual plan
//! (年度协商监督计划) with its items and amendments, activities with research
//! visits, meetings with invitees (attendance) and speeches, and the numbered
//! suggestions of an activity's report with their feedback.
//!
//! Every table belongs to one committee (`committee_id`, row-level security on
//! PostgreSQL). States and kinds are small integers; their meaning is in
//! `xieshang-consultation`'s `domain` module.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::rls;
use crate::schema::{col, created_at, fk, fk_committee, id, index, owner, updated_at};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &[
    "consultation_topics",
    "consultation_topic_endorsements",
    "consultation_plans",
    "consultation_plan_items",
    "consultation_plan_amendments",
    "consultation_activities",
    "consultation_visits",
    "consultation_meetings",
    "consultation_meeting_invitees",
    "consultation_speeches",
    "consultation_suggestions",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("consultation_topics")
                    .col(id())
                    .col(owner())
                    .col(col("title").string_len(100).not_null())
                    .col(col("rationale").text().not_null())
                    // 1 party/government, 2 public, 3 member, 4 committee.
                    .col(col("source").small_integer().not_null())
                    .col(col("submitter_user_id").uuid().null())
                    .col(col("submitter_name").string_len(60).not_null().default(""))
                    // Public submissions only: the contact, for staff to reply.
                    .col(col("contact_name").string_len(40).null())
                    .col(col("contact_phone").string_len(11).null())
                    .col(col("tracking_code").string_len(24).null())
                    // 1 proposed, 2 selected, 3 not selected.
                    .col(col("state").small_integer().not_null())
                    .col(col("endorsement_count").integer().not_null().default(0))
                    .col(col("need_note").string_len(200).null())
                    .col(col("expectation_note").string_len(200).null())
                    .col(col("capacity_note").string_len(200).null())
                    .col(col("screened_by").uuid().null())
                    .col(col("screened_at").timestamp_with_time_zone().null())
                    .col(created_at())
                    .col(updated_at())
                    .foreign_key(&mut fk_committee("consultation_topics", "committee_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("consultation_topics", "ux_consultation_topics_tracking", &["tracking_code"]).unique().take(),
            )
            .await?;
        manager
            .create_index(index("consultation_topics", "ix_consultation_topics_committee", &["committee_id", "state"]))
            .await?;

        // One endorsement per user and topic.
        manager
            .create_table(
                Table::create()
                    .table("consultation_topic_endorsements")
                    .col(col("topic_id").uuid().not_null())
                    .col(col("user_id").uuid().not_null())
                    .col(owner())
                    .col(created_at())
                    .primary_key(Index::create().col("topic_id").col("user_id"))
                    .foreign_key(&mut fk("consultation_topic_endorsements", "topic_id", "consultation_topics"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("consultation_plans")
                    .col(id())
                    .col(owner())
                    .col(col("year").integer().not_null())
                    // 1 draft, 2 submitted, 3 approved, 4 returned, 5 published.
                    .col(col("state").small_integer().not_null())
                    .col(col("return_comments").text().not_null().default(""))
                    .col(col("amendment_count").integer().not_null().default(0))
                    .col(created_at())
                    .col(updated_at())
                    .foreign_key(&mut fk_committee("consultation_plans", "committee_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("consultation_plans", "ux_consultation_plans_year", &["committee_id", "year"]).unique().take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("consultation_plan_items")
                    .col(id())
                    .col(owner())
                    .col(col("plan_id").uuid().not_null())
                    .col(col("topic_id").uuid().null())
                    .col(col("title").string_len(100).not_null())
                    .col(col("consultation_type").small_integer().not_null())
                    .col(col("type_label").string_len(30).not_null().default(""))
                    .col(col("lead_committee").string_len(60).not_null())
                    .col(col("planned_month").small_integer().not_null())
                    // One unit per line.
                    .col(col("participating_units").text().not_null().default(""))
                    // Null once removed by an amendment (kept for history and links).
                    .col(col("removed_at").timestamp_with_time_zone().null())
                    .col(created_at())
                    .foreign_key(&mut fk("consultation_plan_items", "plan_id", "consultation_plans"))
                    .foreign_key(&mut fk("consultation_plan_items", "topic_id", "consultation_topics"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("consultation_plan_items", "ix_consultation_plan_items_plan", &["plan_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("consultation_plan_amendments")
                    .col(id())
                    .col(owner())
                    .col(col("plan_id").uuid().not_null())
                    .col(col("reason").string_len(500).not_null())
                    // One title per line.
                    .col(col("added_titles").text().not_null().default(""))
                    .col(col("removed_titles").text().not_null().default(""))
                    .col(col("amended_by").uuid().null())
                    .col(created_at())
                    .foreign_key(&mut fk("consultation_plan_amendments", "plan_id", "consultation_plans"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("consultation_plan_amendments", "ix_consultation_plan_amendments_plan", &["plan_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("consultation_activities")
                    .col(id())
                    .col(owner())
                    .col(col("title").string_len(100).not_null())
                    .col(col("consultation_type").small_integer().not_null())
                    .col(col("type_label").string_len(30).not_null().default(""))
                    .col(col("department").string_len(60).not_null().default(""))
                    .col(col("plan_item_id").uuid().null())
                    .col(col("year").integer().not_null())
                    // 1 research, 2 meeting, 3 report, 4 feedback, 5 follow-up.
                    .col(col("stage").small_integer().not_null())
                    .col(created_at())
                    .col(updated_at())
                    .foreign_key(&mut fk_committee("consultation_activities", "committee_id"))
                    .foreign_key(&mut fk("consultation_activities", "plan_item_id", "consultation_plan_items"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "consultation_activities",
                "ix_consultation_activities_year",
                &["committee_id", "year"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("consultation_visits")
                    .col(id())
                    .col(owner())
                    .col(col("activity_id").uuid().not_null())
                    .col(col("date").date().not_null())
                    .col(col("place").string_len(100).not_null())
                    .col(col("note").text().not_null().default(""))
                    .col(created_at())
                    .foreign_key(&mut fk("consultation_visits", "activity_id", "consultation_activities"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("consultation_visits", "ix_consultation_visits_activity", &["activity_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("consultation_meetings")
                    .col(id())
                    .col(owner())
                    // 1 plenary, 2 standing committee, 3 chairs, 4 secretaries-general, 5 activity.
                    .col(col("kind").small_integer().not_null())
                    .col(col("title").string_len(100).not_null())
                    .col(col("date").date().not_null())
                    .col(col("place").string_len(100).not_null().default(""))
                    .col(col("activity_id").uuid().null())
                    // One agenda item / observer per line.
                    .col(col("agenda").text().not_null().default(""))
                    .col(col("observers").text().not_null().default(""))
                    .col(created_at())
                    .foreign_key(&mut fk_committee("consultation_meetings", "committee_id"))
                    .foreign_key(&mut fk("consultation_meetings", "activity_id", "consultation_activities"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("consultation_meetings", "ix_consultation_meetings_activity", &["activity_id"]))
            .await?;

        // Invited members and their sign-in; `member_id` is a row of `members`.
        manager
            .create_table(
                Table::create()
                    .table("consultation_meeting_invitees")
                    .col(col("meeting_id").uuid().not_null())
                    .col(col("member_id").uuid().not_null())
                    .col(owner())
                    .col(col("position").integer().not_null())
                    // 0 not recorded, 1 present, 2 on leave, 3 absent.
                    .col(col("attendance").small_integer().not_null().default(0))
                    .col(col("leave_reason").string_len(200).not_null().default(""))
                    .col(col("recorded_at").timestamp_with_time_zone().null())
                    .primary_key(Index::create().col("meeting_id").col("member_id"))
                    .foreign_key(&mut fk("consultation_meeting_invitees", "meeting_id", "consultation_meetings"))
                    .foreign_key(&mut fk("consultation_meeting_invitees", "member_id", "members"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("consultation_meeting_invitees", "ix_consultation_invitees_member", &["member_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("consultation_speeches")
                    .col(id())
                    .col(owner())
                    .col(col("meeting_id").uuid().not_null())
                    .col(col("member_id").uuid().not_null())
                    .col(col("title").string_len(100).not_null())
                    // 1 oral, 2 written.
                    .col(col("kind").small_integer().not_null())
                    .col(created_at())
                    .foreign_key(&mut fk("consultation_speeches", "meeting_id", "consultation_meetings"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("consultation_speeches", "ix_consultation_speeches_meeting", &["meeting_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("consultation_suggestions")
                    .col(id())
                    .col(owner())
                    .col(col("activity_id").uuid().not_null())
                    .col(col("number").integer().not_null())
                    .col(col("text").text().not_null())
                    // 0 none yet, 1 adopted, 2 partly adopted, 3 not adopted.
                    .col(col("feedback").small_integer().not_null().default(0))
                    .col(col("feedback_note").text().not_null().default(""))
                    .col(col("feedback_at").timestamp_with_time_zone().null())
                    .col(created_at())
                    .foreign_key(&mut fk("consultation_suggestions", "activity_id", "consultation_activities"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("consultation_suggestions", "ux_consultation_suggestions_number", &["activity_id", "number"])
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
