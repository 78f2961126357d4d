//! sea-orm entities: the tables as stored. Only `store` uses them.
//!
//! `committee`, `member` and `user_role` are small read-only views of other
//! services' tables (same database, same tenant scope): the committee
//! registry (for division codes and event ancestors), the membership roster
//! (to check invited members and name them), its SECTOR reference items (for
//! joint groups), and the tenants' users and roles (to check evaluators). In
//! distributed mode they become replicas fed by those services' events.

use xieshang_platform::entity;

entity!(topic, "consultation_topics", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub title: String,
    pub rationale: String,
    pub source: i16,
    pub submitter_user_id: Option<Uuid>,
    pub submitter_name: String,
    pub contact_name: Option<String>,
    /// Legacy: the plain phone of rows written before phones were sealed
    /// (migration `m20261126_000003_topic_contact_sealed`); new rows leave it NULL.
    pub contact_phone: Option<String>,
    /// The phone sealed with SM4-CCM (`pii::TOPIC_CONTACT_PHONE`, bound to the topic id).
    pub contact_phone_enc: Option<Vec<u8>>,
    pub tracking_code: Option<String>,
    pub state: i16,
    pub endorsement_count: i32,
    pub need_note: Option<String>,
    pub expectation_note: Option<String>,
    pub capacity_note: Option<String>,
    pub screened_by: Option<Uuid>,
    pub screened_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(endorsement, "consultation_topic_endorsements", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub topic_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub committee_id: Uuid,
    pub created_at: DateTimeUtc,
});

entity!(plan, "consultation_plans", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub year: i32,
    pub state: i16,
    pub return_comments: String,
    pub amendment_count: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(plan_item, "consultation_plan_items", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub plan_id: Uuid,
    pub topic_id: Option<Uuid>,
    pub title: String,
    pub consultation_type: i16,
    pub type_label: String,
    pub lead_committee: String,
    pub planned_month: i16,
    pub participating_units: String,
    pub removed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
});

entity!(amendment, "consultation_plan_amendments", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub plan_id: Uuid,
    pub reason: String,
    pub added_titles: String,
    pub removed_titles: String,
    pub amended_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
});

entity!(activity, "consultation_activities", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub title: String,
    pub consultation_type: i16,
    pub type_label: String,
    pub department: String,
    pub plan_item_id: Option<Uuid>,
    pub year: i32,
    pub stage: i16,
    pub leading_group_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(visit, "consultation_visits", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub activity_id: Uuid,
    pub date: Date,
    pub place: String,
    pub note: String,
    pub created_at: DateTimeUtc,
});

entity!(meeting, "consultation_meetings", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub kind: i16,
    pub title: String,
    pub date: Date,
    pub place: String,
    pub activity_id: Option<Uuid>,
    pub agenda: String,
    pub observers: String,
    pub created_at: DateTimeUtc,
});

entity!(invitee, "consultation_meeting_invitees", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub meeting_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: Uuid,
    pub committee_id: Uuid,
    pub position: i32,
    pub attendance: i16,
    pub leave_reason: String,
    pub recorded_at: Option<DateTimeUtc>,
});

entity!(speech, "consultation_speeches", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub meeting_id: Uuid,
    pub member_id: Uuid,
    pub title: String,
    pub kind: i16,
    pub created_at: DateTimeUtc,
});

entity!(suggestion, "consultation_suggestions", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub activity_id: Uuid,
    pub number: i32,
    pub text: String,
    pub feedback: i16,
    pub feedback_note: String,
    pub feedback_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// Set once, when carried forward (`CarrySuggestion`); null before.
    pub carried_target: Option<i16>,
    pub carried_draft_id: Option<Uuid>,
    pub carried_at: Option<DateTimeUtc>,
    pub carried_by: Option<Uuid>,
});

entity!(sv_project, "supervision_projects", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub kind: i16,
    pub topic: String,
    pub start_date: Date,
    pub end_date: Date,
    pub state: i16,
    pub report_summary: String,
    pub reported_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Set once, when a joint project's report is published (`PublishJointReport`).
    pub report_published_at: Option<DateTimeUtc>,
    pub report_published_by: Option<Uuid>,
});

entity!(sv_problem, "supervision_problems", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub project_id: Uuid,
    pub number: i32,
    pub problem: String,
    pub suggestion: String,
    pub rectification: i16,
    pub rectified_on: Option<Date>,
    pub rectification_note: String,
    pub updated_at: DateTimeUtc,
});

entity!(sv_participation, "supervision_participations", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub initiator_committee_id: Uuid,
    pub project_id: Uuid,
    pub initiator_name: String,
    pub topic: String,
    pub start_date: Date,
    pub end_date: Date,
    pub state: i16,
    pub response_note: String,
    pub summary: String,
    pub responded_at: Option<DateTimeUtc>,
    pub submitted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

// A joint report as published to one participant (its owner): a copy.
entity!(sv_joint_report, "supervision_joint_reports", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub initiator_committee_id: Uuid,
    pub project_id: Uuid,
    pub participation_id: Uuid,
    pub initiator_name: String,
    pub topic: String,
    pub summary: String,
    /// JSON array of the problems as published (see the store).
    pub problems: String,
    pub reported_at: Option<DateTimeUtc>,
    pub published_at: DateTimeUtc,
    pub published_by: Uuid,
    pub created_at: DateTimeUtc,
});

entity!(sv_inspection, "supervision_inspections", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub initiator_committee_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub participation_id: Option<Uuid>,
    pub date: Date,
    pub place: String,
    pub member_names: String,
    pub member_ids: String,
    pub findings: String,
    pub created_at: DateTimeUtc,
});

entity!(committee, "committees", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub path: String,
    pub suspended: bool,
});

entity!(member, "members", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub name: String,
    pub user_id: Option<Uuid>,
});

entity!(quality_criterion, "consultation_quality_criteria", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub year: i32,
    pub position: i32,
    pub name: String,
    pub weight: i32,
    pub created_at: DateTimeUtc,
});

entity!(quality_evaluator, "consultation_quality_evaluators", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub activity_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub committee_id: Uuid,
    pub created_at: DateTimeUtc,
});

entity!(quality_score, "consultation_quality_scores", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub activity_id: Uuid,
    pub evaluator_user_id: Uuid,
    pub criterion_id: Uuid,
    pub score: i16,
    pub created_at: DateTimeUtc,
});

entity!(joint_group, "consultation_joint_groups", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub name: String,
    pub position: i32,
    pub created_at: DateTimeUtc,
});

entity!(joint_group_sector, "consultation_joint_group_sectors", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub sector_id: Uuid,
    pub committee_id: Uuid,
    pub group_id: Uuid,
});

// Read-only: membership's reference items (kind 1 = SECTOR).
entity!(reference_item, "member_reference_items", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub kind: i16,
    pub name: String,
});

// Read-only: the tenants' users.
entity!(user, "users", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Option<Uuid>,
    pub display_name: String,
    pub disabled: bool,
});

// Read-only: the tenants' user roles (`common.v1.Role` numbers).
entity!(user_role, "user_roles", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub role: i16,
    pub committee_id: Option<Uuid>,
});
