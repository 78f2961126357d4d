//! sea-orm entities: the tables as stored. Only `store` uses them.
//!
//! `committee`, `term`, `plenary_session` and `user_role` are small read-only
//! views of the tenants service's tables (same database, same tenant scope).
//! In distributed mode they become a replica fed by the tenants' events
//! (CommitteeCreated, TermOpened, PlenarySessionOpened, UserRolesChanged).

use xieshang_platform::entity;

entity!(proposal, "proposals", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub kind: i16,
    pub title: String,
    pub body: String,
    pub category: i16,
    pub proposer_user_id: Uuid,
    pub sponsor: String,
    pub state: String,
    pub number: Option<i32>,
    pub term_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub key: bool,
    pub supervising_leader: String,
    pub decline_reason: String,
    pub conversion: i16,
    pub merged_into: Option<Uuid>,
    pub assignment_mode: i16,
    pub assign_date: Option<Date>,
    pub due_date: Option<Date>,
    pub deadline_extended: bool,
    pub rehandle_count: i32,
    pub process_rating: i16,
    pub result_rating: i16,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub submitted_at: Option<DateTimeUtc>,
});

entity!(co_signer, "proposal_co_signers", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub proposal_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub committee_id: Uuid,
    pub confirmed: bool,
});

entity!(unit, "proposal_units", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub proposal_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub unit_user_id: Uuid,
    pub committee_id: Uuid,
    pub role: i16,
    pub contact_date: Option<Date>,
    pub contact_note: String,
    pub reply_class: i16,
    pub reply_text: String,
    pub replied_at: Option<DateTimeUtc>,
    pub on_time: bool,
    pub follow_up_date: Option<Date>,
    pub follow_up_carried_out: Option<bool>,
    pub follow_up_note: String,
    pub follow_up_by: Option<Uuid>,
    pub follow_up_at: Option<DateTimeUtc>,
    pub opinion: String,
    pub opinion_at: Option<DateTimeUtc>,
});

entity!(settings, "proposal_settings", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub committee_id: Uuid,
    pub objection_window_days: i32,
    pub co_unit_opinion_months: i32,
    pub reply_window_months: i32,
    pub information_body_max: i32,
    pub due_soon_days: i32,
    pub version: i32,
    pub updated_at: DateTimeUtc,
});

entity!(committee, "committees", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub level: i16,
    pub parent_id: Option<Uuid>,
    pub path: String,
});

entity!(user, "users", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Option<Uuid>,
    pub display_name: String,
});

entity!(information, "information_items", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub title: String,
    pub body: String,
    pub state: String,
    pub author_user_ids: String,
    pub author_names: String,
    pub submitted_by: Uuid,
    pub origin_committee_id: Uuid,
    pub origin_item_id: Uuid,
    pub forwarded_to_committee_id: Option<Uuid>,
    pub forwarded_item_id: Option<Uuid>,
    pub forwarded_at: Option<DateTimeUtc>,
    pub received_from_committee_id: Option<Uuid>,
    pub decline_reason: String,
    pub instruction_leader: String,
    pub instruction_text: String,
    pub adopted_at: Option<DateTimeUtc>,
    pub instructed_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(upward, "information_upward", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: Uuid,
    pub committee_id: Uuid,
    pub item_id: Uuid,
    pub kind: String,
    pub by_committee_id: Uuid,
    pub by_committee_name: String,
    pub by_level: i16,
    pub occurred_at: DateTimeUtc,
});

entity!(term, "terms", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub number: i32,
});

entity!(plenary_session, "plenary_sessions", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub term_id: Uuid,
    pub number: i32,
});

entity!(user_role, "user_roles", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub role: i16,
    pub committee_id: Option<Uuid>,
});

entity!(digest, "proposal_digests", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    pub title: String,
    pub period: String,
    pub created_by: Uuid,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(digest_entry, "proposal_digest_entries", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub digest_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub proposal_id: Uuid,
    pub committee_id: Uuid,
    pub position: i32,
    pub summary: String,
    pub created_at: DateTimeUtc,
});

/// A new row in DRAFT: everything a later step sets (number, review,
/// assignment, ratings) at its empty value. The one place a proposal row is born.
pub(crate) struct NewRow {
    pub id: uuid::Uuid,
    pub committee_id: uuid::Uuid,
    pub kind: i16,
    pub title: String,
    pub body: String,
    pub category: i16,
    pub proposer_user_id: uuid::Uuid,
    pub sponsor: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl From<NewRow> for proposal::ActiveModel {
    fn from(r: NewRow) -> Self {
        use sea_orm::ActiveValue::Set;
        Self {
            id: Set(r.id),
            committee_id: Set(r.committee_id),
            kind: Set(r.kind),
            title: Set(r.title),
            body: Set(r.body),
            category: Set(r.category),
            proposer_user_id: Set(r.proposer_user_id),
            sponsor: Set(r.sponsor),
            state: Set(crate::domain::ProposalState::Draft.as_str().to_owned()),
            number: Set(None),
            term_id: Set(None),
            session_id: Set(None),
            key: Set(false),
            supervising_leader: Set(String::new()),
            decline_reason: Set(String::new()),
            conversion: Set(0),
            merged_into: Set(None),
            assignment_mode: Set(0),
            assign_date: Set(None),
            due_date: Set(None),
            deadline_extended: Set(false),
            rehandle_count: Set(0),
            process_rating: Set(0),
            result_rating: Set(0),
            version: Set(1),
            created_at: Set(r.at),
            updated_at: Set(r.at),
            submitted_at: Set(None),
        }
    }
}
