//! sea-orm entities: the tables as stored. Only `store` and `consumer` use them.
//!
//! `user_role` is a small read-only view of the tenants service's table (same database, same tenant scope). In distributed mode
//! they become a replica fed by the tenants' events.

use xieshang_platform::entity;

entity!(reference_item, "member_reference_items", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub kind: i16,
    pub code: Option<String>,
    pub name: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(member, "members", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub name: String,
    pub gender: i16,
    pub ethnicity: String,
    pub birth_year: i32,
    pub party: i16,
    pub sector_id: Uuid,
    pub work_unit: String,
    pub title: String,
    pub phone_enc: Vec<u8>,
    pub id_number_enc: Vec<u8>,
    pub id_digest: String,
    pub term_number: i32,
    pub role: i16,
    pub standing_committee: bool,
    pub activity_group_id: Option<Uuid>,
    pub special_committee_id: Option<Uuid>,
    pub liaison_station_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub status: i16,
    pub status_date: Option<Date>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(status_change, "member_status_changes", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub member_id: Uuid,
    pub from_status: i16,
    pub to_status: i16,
    pub effective_date: Date,
    pub reason: String,
    pub changed_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
});

entity!(record_entry, "member_record_entries", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub member_id: Uuid,
    pub kind: i16,
    pub date: Date,
    pub points: i32,
    pub description: String,
    pub evidence_ref: String,
    pub source: i16,
    pub source_event_id: Option<Uuid>,
    pub verified_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
});

entity!(point_rule, "member_point_rules", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub committee_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub year: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: i16,
    pub points: i32,
    pub updated_at: DateTimeUtc,
});

entity!(user_role, "user_roles", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub role: i16,
    pub committee_id: Option<Uuid>,
});

entity!(reporting_settings, "member_reporting_settings", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub committee_id: Uuid,
    pub score_rule: i16,
    pub updated_at: DateTimeUtc,
});

entity!(reporting_session, "member_reporting_sessions", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub year: i32,
    pub kind: i16,
    pub activity_group_id: Option<Uuid>,
    pub title: String,
    pub date: Date,
    pub place: String,
    pub leader_name: String,
    pub staff_user_id: Uuid,
    pub state: i16,
    pub score_rule: Option<i16>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(reporting_judge, "member_reporting_judges", {
    pub committee_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub judge_user_id: Uuid,
});

entity!(report, "member_reports", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub session_id: Uuid,
    pub member_id: Uuid,
    pub year: i32,
    pub mode: i16,
    pub work_text: String,
    pub performance_text: String,
    pub suggestions_text: String,
    pub video_ref: String,
    pub final_score_centi: Option<i32>,
    pub scored_by: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(report_score, "member_report_scores", {
    pub committee_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub judge_user_id: Uuid,
    pub score: i16,
    pub created_at: DateTimeUtc,
});

entity!(report_suggestion, "member_report_suggestions", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub session_id: Uuid,
    pub member_id: Uuid,
    pub year: i32,
    pub content: String,
    pub state: i16,
    pub forwarded_to: String,
    pub forwarded_on: Option<Date>,
    pub forward_note: String,
    pub decided_on: Option<Date>,
    pub decision_note: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(project, "member_projects", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub member_id: Uuid,
    pub year: i32,
    pub title: String,
    pub description: String,
    pub status: i16,
    pub outcome_kind: i16,
    pub outcome_ref: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(project_step, "member_project_steps", {
    pub committee_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub project_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub step: i16,
    pub date: Date,
    pub note: String,
    pub recorded_by: Uuid,
    pub created_at: DateTimeUtc,
});

entity!(assessment_standard, "member_assessment_standards", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub committee_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub category: i16,
    pub points_weight: i32,
    pub report_weight: i32,
    pub commend_top_percent: i32,
    pub talk_bottom_count: i32,
    pub dismissal_below_centi: i32,
    pub updated_at: DateTimeUtc,
});

entity!(assessment_result, "member_assessment_results", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub year: i32,
    pub member_id: Uuid,
    pub category: i16,
    pub record_points: i32,
    pub report_score_centi: Option<i32>,
    pub score_centi: i32,
    pub rank: i32,
    pub category_rank: i32,
    pub proposed_outcome: i16,
    pub decision: i16,
    pub decided_by: Option<Uuid>,
    pub decision_note: String,
    pub decided_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
});

// Read-only: the tenants' committees (to resolve a public request's division code).
entity!(committee, "committees", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub code: String,
    pub suspended: bool,
});

entity!(studio, "member_studios", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub name: String,
    pub sector_id: Uuid,
    pub address: String,
    pub service_items: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(studio_member, "member_studio_members", {
    pub committee_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub studio_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: Uuid,
});

entity!(studio_rating, "member_studio_ratings", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub studio_id: Uuid,
    pub stars: i16,
    pub date: Date,
    pub note: String,
    pub rated_by: Uuid,
    pub created_at: DateTimeUtc,
});

entity!(studio_request, "member_studio_requests", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub studio_id: Uuid,
    pub kind: i16,
    pub content: String,
    pub contact_name: String,
    pub contact_phone_enc: Vec<u8>,
    pub tracking_code: String,
    pub state: i16,
    pub answer: String,
    pub answered_by: Option<Uuid>,
    pub answered_at: Option<DateTimeUtc>,
    pub draft_kind: i16,
    pub drafted_by: Option<Uuid>,
    pub drafted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});
