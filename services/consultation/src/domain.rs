//! Plain domain types and rules: sources, states and stages as Rust enums
//! with their allowed transitions, text validation, and adoption counts.
//! No database, no protobuf; unit-tested below.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;
use xieshang_platform::ids::{CommitteeId, UserId};

use crate::error::{ConsultationError, Result};

/// Declares a small-integer enum with its stored value and display name.
macro_rules! small_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $value,)+
        }

        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant,)+];

            pub fn from_i16(v: i16) -> Option<Self> {
                match v {
                    $($value => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The displayed name, as in the contract's enum, e.g. "PUBLISHED".
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }
    };
}

small_enum!(
    /// Where a topic comes from.
    TopicSource {
        /// 党政点题
        PartyGovernment = 1 => "PARTY_GOVERNMENT",
        /// 群众出题
        Public = 2 => "PUBLIC",
        /// 委员荐题
        Member = 3 => "MEMBER",
        /// 政协选题
        Committee = 4 => "COMMITTEE",
    }
);

small_enum!(
    /// Where a topic stands: proposed, then screened once.
    TopicState {
        Proposed = 1 => "PROPOSED",
        Selected = 2 => "SELECTED",
        NotSelected = 3 => "NOT_SELECTED",
    }
);

small_enum!(
    /// The annual plan's lifecycle.
    PlanState {
        Draft = 1 => "DRAFT",
        Submitted = 2 => "SUBMITTED",
        Approved = 3 => "APPROVED",
        Returned = 4 => "RETURNED",
        Published = 5 => "PUBLISHED",
    }
);

small_enum!(
    /// Type of a consultation activity or plan item.
    ConsultationType {
        Plenary = 1 => "PLENARY",
        StandingCommitteeTopic = 2 => "STANDING_COMMITTEE_TOPIC",
        PleaseConsult = 3 => "PLEASE_CONSULT",
        Counterpart = 4 => "COUNTERPART",
        SectorRoundTable = 5 => "SECTOR_ROUND_TABLE",
        ProposalHandling = 6 => "PROPOSAL_HANDLING",
        Grassroots = 7 => "GRASSROOTS",
        Other = 8 => "OTHER",
    }
);

small_enum!(
    /// Stage of an activity; stages only move forward.
    ActivityStage {
        Research = 1 => "RESEARCH",
        Meeting = 2 => "MEETING",
        Report = 3 => "REPORT",
        Feedback = 4 => "FEEDBACK",
        FollowUp = 5 => "FOLLOW_UP",
    }
);

small_enum!(
    /// Kind of meeting.
    MeetingKind {
        Plenary = 1 => "PLENARY",
        StandingCommittee = 2 => "STANDING_COMMITTEE",
        Chairs = 3 => "CHAIRS",
        SecretariesGeneral = 4 => "SECRETARIES_GENERAL",
        Activity = 5 => "ACTIVITY",
    }
);

small_enum!(
    /// A member's sign-in at a meeting.
    Attendance {
        Present = 1 => "PRESENT",
        OnLeave = 2 => "ON_LEAVE",
        Absent = 3 => "ABSENT",
    }
);

small_enum!(
    /// How a speech was given.
    SpeechKind {
        Oral = 1 => "ORAL",
        Written = 2 => "WRITTEN",
    }
);

small_enum!(
    /// The receiving body's answer to a suggestion.
    FeedbackResult {
        Adopted = 1 => "ADOPTED",
        PartlyAdopted = 2 => "PARTLY_ADOPTED",
        NotAdopted = 3 => "NOT_ADOPTED",
    }
);

small_enum!(
    /// What a suggestion is carried on into.
    CarryTarget {
        /// 提案 (a DRAFT proposal).
        Proposal = 1 => "PROPOSAL",
        /// 社情民意信息.
        Information = 2 => "INFORMATION",
    }
);

/// A suggestion carried on: what was announced to the proposals service.
#[derive(Clone, Debug)]
pub struct CarriedSuggestion {
    pub suggestion: Suggestion,
    pub target: CarryTarget,
    pub owner_user_id: UserId,
    /// The draft's id in the proposals service (the event's id).
    pub draft_id: Uuid,
}

impl TopicState {
    /// Screening decides a PROPOSED topic once.
    pub fn screen(self, selected: bool) -> Result<Self> {
        match self {
            Self::Proposed => Ok(if selected { Self::Selected } else { Self::NotSelected }),
            other => Err(refused("topic", other.as_str(), "only a PROPOSED topic is screened")),
        }
    }

    /// Endorsements are taken while a topic is PROPOSED.
    pub fn check_endorsable(self) -> Result<()> {
        match self {
            Self::Proposed => Ok(()),
            other => Err(refused("topic", other.as_str(), "only a PROPOSED topic can be endorsed")),
        }
    }
}

/// An event of the plan's lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanAction {
    Edit,
    Submit,
    Approve,
    Return,
    Publish,
    Amend,
}

impl PlanAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Edit => "edit",
            Self::Submit => "submit",
            Self::Approve => "approve",
            Self::Return => "return",
            Self::Publish => "publish",
            Self::Amend => "amend",
        }
    }
}

impl PlanState {
    /// The state after `action`, or `FailedPrecondition` naming the current state.
    pub fn apply(self, action: PlanAction) -> Result<Self> {
        use PlanAction as A;
        use PlanState as S;
        let next = match (self, action) {
            (S::Draft | S::Returned, A::Edit) => Some(self),
            (S::Draft | S::Returned, A::Submit) => Some(S::Submitted),
            (S::Submitted, A::Approve) => Some(S::Approved),
            (S::Submitted, A::Return) => Some(S::Returned),
            (S::Approved, A::Publish) => Some(S::Published),
            (S::Published, A::Amend) => Some(S::Published),
            _ => None,
        };
        next.ok_or_else(|| {
            let hint = match action {
                A::Edit => "items change only in DRAFT or RETURNED; a PUBLISHED plan changes by AmendPlan",
                A::Submit => "only a DRAFT or RETURNED plan is submitted",
                A::Approve | A::Return => "only a SUBMITTED plan is approved or returned",
                A::Publish => "only an APPROVED plan is published",
                A::Amend => "only a PUBLISHED plan is amended",
            };
            refused("plan", self.as_str(), &format!("cannot {}: {hint}", action.as_str()))
        })
    }
}

impl ActivityStage {
    /// Moves forward to `to` (skipping stages is allowed, going back or staying is not).
    pub fn advance(self, to: Self) -> Result<Self> {
        if to > self {
            Ok(to)
        } else {
            Err(refused(
                "activity",
                self.as_str(),
                &format!("cannot move to {}: stages only move forward", to.as_str()),
            ))
        }
    }

    /// Whether moving from `self` to `to` passes the MEETING stage, i.e. the
    /// activity's meeting has been held.
    pub fn is_held(self, to: Self) -> bool {
        self <= Self::Meeting && to > Self::Meeting
    }

    /// Refuses work that belongs to another stage.
    pub fn require(self, allowed: &[Self], what: &str) -> Result<()> {
        if allowed.contains(&self) {
            Ok(())
        } else {
            let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
            Err(refused("activity", self.as_str(), &format!("{what} only in stage {}", names.join(" or "))))
        }
    }
}

impl FeedbackResult {
    /// The value of `SuggestionFeedbackGiven.result`.
    pub fn event_value(self) -> &'static str {
        match self {
            Self::Adopted => "adopted",
            Self::PartlyAdopted => "partly_adopted",
            Self::NotAdopted => "not_adopted",
        }
    }
}

impl Attendance {
    /// The value of `AttendanceRecorded.attendance`.
    pub fn event_value(self) -> &'static str {
        match self {
            Self::Present => "present",
            Self::OnLeave => "on_leave",
            Self::Absent => "absent",
        }
    }
}

/// `FailedPrecondition` naming the record's current state.
fn refused(what: &str, state: &str, detail: &str) -> ConsultationError {
    ConsultationError::precondition(format!("the {what} is {state}; {detail}"))
}

/// Trimmed text of at most `max` characters; `required` refuses empty text.
pub fn text(field: &'static str, value: &str, max: usize, required: bool) -> Result<String> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(ConsultationError::invalid(field, "is required"));
    }
    if value.chars().count() > max {
        return Err(ConsultationError::invalid(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ConsultationError::invalid(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// A single-line text (no line breaks), as stored one per line in lists.
pub fn line(field: &'static str, value: &str, max: usize) -> Result<String> {
    let value = text(field, value, max, true)?;
    if value.contains('\n') {
        return Err(ConsultationError::invalid(field, "must be one line"));
    }
    Ok(value)
}

/// A list of single-line texts, at most `max_items`, each at most `max` characters.
pub fn lines(field: &'static str, values: &[String], max: usize, max_items: usize) -> Result<Vec<String>> {
    if values.len() > max_items {
        return Err(ConsultationError::invalid(field, format!("must have at most {max_items} entries")));
    }
    values.iter().map(|v| line(field, v, max)).collect()
}

/// A mainland mobile number (11 digits, `1[3-9]…`); spaces and dashes ignored.
pub fn mobile(field: &'static str, value: &str) -> Result<String> {
    let digits: String = value.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let ok = digits.len() == 11
        && digits.chars().all(|c| c.is_ascii_digit())
        && digits.starts_with('1')
        && matches!(digits.as_bytes()[1], b'3'..=b'9');
    if ok {
        Ok(digits)
    } else {
        Err(ConsultationError::invalid(field, "must be a mainland mobile number: 11 digits, 1[3-9]…"))
    }
}

/// A GB/T 2260 division code: six digits.
pub fn division_code(field: &'static str, value: &str) -> Result<String> {
    let value = value.trim();
    if value.len() == 6 && value.chars().all(|c| c.is_ascii_digit()) {
        Ok(value.to_owned())
    } else {
        Err(ConsultationError::invalid(field, "must be a six-digit division code"))
    }
}

pub fn year(field: &'static str, value: i32) -> Result<i32> {
    if (2000..=2100).contains(&value) {
        Ok(value)
    } else {
        Err(ConsultationError::invalid(field, "must be a year between 2000 and 2100"))
    }
}

pub fn month(field: &'static str, value: i32) -> Result<i16> {
    if (1..=12).contains(&value) {
        Ok(value as i16)
    } else {
        Err(ConsultationError::invalid(field, "must be a month between 1 and 12"))
    }
}

/// A tracking code for a public submission: the committee's division code
/// and twelve random hex digits, e.g. "130528-7F3A9C21B04E".
pub fn tracking_code(committee_code: &str) -> String {
    let random = Uuid::new_v4().simple().to_string().to_uppercase();
    format!("{committee_code}-{}", &random[..12])
}

/// The division code a tracking code starts with, if it has the shape of one.
pub fn tracking_code_committee(code: &str) -> Option<&str> {
    let (division, rest) = code.trim().split_once('-')?;
    let ok = division.len() == 6
        && division.chars().all(|c| c.is_ascii_digit())
        && rest.len() == 12
        && rest.chars().all(|c| c.is_ascii_hexdigit());
    ok.then_some(division)
}

/// Joins single-line values for a text column.
pub fn join_lines(values: &[String]) -> String {
    values.join("\n")
}

/// Splits a text column of single-line values.
pub fn split_lines(value: &str) -> Vec<String> {
    if value.is_empty() { Vec::new() } else { value.split('\n').map(str::to_owned).collect() }
}

// ---------------------------------------------------------------------------
// Records as the API shows them
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Screening {
    pub party_government_need: String,
    pub public_expectation: String,
    pub committee_capacity: String,
    pub screened_by: Option<UserId>,
    pub screened_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug)]
pub struct Topic {
    pub id: Uuid,
    pub committee_id: CommitteeId,
    pub title: String,
    pub rationale: String,
    pub source: TopicSource,
    pub submitter: Option<UserId>,
    pub submitter_name: String,
    pub state: TopicState,
    pub endorsement_count: i32,
    pub endorsed_by_me: bool,
    pub screening: Option<Screening>,
    /// Name and masked phone (`138****5678`); only filled for staff.
    pub contact: Option<(String, String)>,
    pub tracking_code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A plan item as entered (validated in shape).
#[derive(Clone, Debug)]
pub struct NewPlanItem {
    pub topic_id: Option<Uuid>,
    /// None: the topic's title.
    pub title: Option<String>,
    pub kind: ConsultationType,
    pub type_label: String,
    pub lead_committee: String,
    pub planned_month: i16,
    pub participating_units: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct PlanItem {
    pub id: Uuid,
    pub topic_id: Option<Uuid>,
    pub title: String,
    pub kind: ConsultationType,
    pub type_label: String,
    pub lead_committee: String,
    pub planned_month: i16,
    pub participating_units: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub id: Uuid,
    pub committee_id: CommitteeId,
    pub year: i32,
    pub state: PlanState,
    pub return_comments: String,
    pub items: Vec<PlanItem>,
    pub amendment_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct PlanAmendment {
    pub id: Uuid,
    pub reason: String,
    pub added_titles: Vec<String>,
    pub removed_titles: Vec<String>,
    pub amended_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// An activity as entered (validated in shape).
#[derive(Clone, Debug)]
pub struct NewActivity {
    pub title: String,
    pub kind: ConsultationType,
    pub type_label: String,
    pub department: String,
    pub plan_item_id: Option<Uuid>,
    /// None: the linked plan's year.
    pub year: Option<i32>,
}

impl NewActivity {
    /// The rules between fields: OTHER needs a label, COUNTERPART a department.
    pub fn check(&self) -> Result<()> {
        check_label(self.kind, &self.type_label, "activity.type_label")?;
        match (self.kind, self.department.is_empty()) {
            (ConsultationType::Counterpart, true) => Err(ConsultationError::invalid(
                "activity.department",
                "is required for a COUNTERPART consultation (对口协商)",
            )),
            _ => Ok(()),
        }
    }
}

/// OTHER needs a label; other types take none.
pub fn check_label(kind: ConsultationType, label: &str, field: &'static str) -> Result<()> {
    match (kind, label.is_empty()) {
        (ConsultationType::Other, true) => Err(ConsultationError::invalid(field, "is required for type OTHER")),
        (ConsultationType::Other, false) | (_, true) => Ok(()),
        (_, false) => Err(ConsultationError::invalid(field, "is only for type OTHER")),
    }
}

#[derive(Clone, Debug)]
pub struct Visit {
    pub id: Uuid,
    pub date: NaiveDate,
    pub place: String,
    pub note: String,
}

#[derive(Clone, Debug)]
pub struct Activity {
    pub id: Uuid,
    pub committee_id: CommitteeId,
    pub title: String,
    pub kind: ConsultationType,
    pub type_label: String,
    pub department: String,
    pub plan_item_id: Option<Uuid>,
    pub year: i32,
    pub stage: ActivityStage,
    /// For a sector round table: the joint group leading it.
    pub leading_group_id: Option<Uuid>,
    pub visits: Vec<Visit>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A meeting as entered (validated in shape).
#[derive(Clone, Debug)]
pub struct NewMeeting {
    pub kind: MeetingKind,
    pub title: String,
    pub date: NaiveDate,
    pub place: String,
    pub activity_id: Option<Uuid>,
    pub agenda: Vec<String>,
    pub invitees: Vec<Uuid>,
    pub observers: Vec<String>,
}

impl NewMeeting {
    /// ACTIVITY meetings name their activity; others name none; no member twice.
    pub fn check(&self) -> Result<()> {
        match (self.kind, self.activity_id.is_some()) {
            (MeetingKind::Activity, false) => {
                return Err(ConsultationError::invalid("meeting.activity_id", "is required for an ACTIVITY meeting"));
            }
            (MeetingKind::Activity, true) | (_, false) => {}
            (_, true) => {
                return Err(ConsultationError::invalid("meeting.activity_id", "is only for ACTIVITY meetings"));
            }
        }
        let mut seen = std::collections::HashSet::new();
        if self.invitees.iter().any(|m| !seen.insert(*m)) {
            return Err(ConsultationError::invalid("meeting.invitees", "names a member twice"));
        }
        Ok(())
    }
}

#[derive(Clone, Debug)]
pub struct Invitee {
    pub member_id: Uuid,
    pub member_name: String,
    pub attendance: Option<Attendance>,
    pub leave_reason: String,
}

#[derive(Clone, Debug)]
pub struct Speech {
    pub id: Uuid,
    pub member_id: Uuid,
    pub title: String,
    pub kind: SpeechKind,
}

#[derive(Clone, Debug)]
pub struct Meeting {
    pub id: Uuid,
    pub committee_id: CommitteeId,
    pub kind: MeetingKind,
    pub title: String,
    pub date: NaiveDate,
    pub place: String,
    pub activity_id: Option<Uuid>,
    pub agenda: Vec<String>,
    pub invitees: Vec<Invitee>,
    pub observers: Vec<String>,
    pub speeches: Vec<Speech>,
    pub created_at: DateTime<Utc>,
}

/// One member's sign-in to record. ON_LEAVE needs a reason; others take none.
#[derive(Clone, Debug)]
pub struct AttendanceEntry {
    pub member_id: Uuid,
    pub attendance: Attendance,
    pub leave_reason: String,
}

impl AttendanceEntry {
    pub fn check(&self) -> Result<()> {
        match (self.attendance, self.leave_reason.is_empty()) {
            (Attendance::OnLeave, true) => {
                Err(ConsultationError::invalid("entries.leave_reason", "is required for ON_LEAVE (请假)"))
            }
            (Attendance::OnLeave, false) | (_, true) => Ok(()),
            (_, false) => Err(ConsultationError::invalid("entries.leave_reason", "is only for ON_LEAVE")),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Suggestion {
    pub id: Uuid,
    pub activity_id: Uuid,
    pub number: i32,
    pub text: String,
    pub feedback: Option<FeedbackResult>,
    pub feedback_note: String,
    pub feedback_at: Option<DateTime<Utc>>,
}

/// Counts of suggestions and their feedback.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub suggestions: i32,
    pub adopted: i32,
    pub partly_adopted: i32,
    pub not_adopted: i32,
}

impl Tally {
    pub fn add(&mut self, feedback: Option<FeedbackResult>) {
        self.suggestions += 1;
        match feedback {
            Some(FeedbackResult::Adopted) => self.adopted += 1,
            Some(FeedbackResult::PartlyAdopted) => self.partly_adopted += 1,
            Some(FeedbackResult::NotAdopted) => self.not_adopted += 1,
            None => {}
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        self.suggestions += other.suggestions;
        self.adopted += other.adopted;
        self.partly_adopted += other.partly_adopted;
        self.not_adopted += other.not_adopted;
    }

    pub fn with_feedback(&self) -> i32 {
        self.adopted + self.partly_adopted + self.not_adopted
    }

    /// (adopted + partly adopted) / suggestions with feedback; 0 without feedback.
    pub fn rate(&self) -> f64 {
        match self.with_feedback() {
            0 => 0.0,
            n => f64::from(self.adopted + self.partly_adopted) / f64::from(n),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ActivityAdoption {
    pub activity_id: Uuid,
    pub title: String,
    pub kind: ConsultationType,
    pub tally: Tally,
}

#[derive(Clone, Debug)]
pub struct AdoptionRates {
    pub year: i32,
    pub activities: Vec<ActivityAdoption>,
    pub types: Vec<(ConsultationType, Tally)>,
    pub total: Tally,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_refused_naming<T: std::fmt::Debug>(r: Result<T>, state: &str) -> bool {
        matches!(r, Err(ConsultationError::FailedPrecondition(m)) if m.contains(state))
    }

    #[test]
    fn plan_moves_through_its_lifecycle() {
        use PlanAction as A;
        let s = PlanState::Draft;
        assert_eq!(s.apply(A::Edit).unwrap(), PlanState::Draft);
        let s = s.apply(A::Submit).unwrap();
        assert_eq!(s, PlanState::Submitted);
        let s = s.apply(A::Return).unwrap();
        assert_eq!(s, PlanState::Returned);
        assert_eq!(s.apply(A::Edit).unwrap(), PlanState::Returned);
        let s = s.apply(A::Submit).unwrap().apply(A::Approve).unwrap();
        assert_eq!(s, PlanState::Approved);
        let s = s.apply(A::Publish).unwrap();
        assert_eq!(s, PlanState::Published);
        assert_eq!(s.apply(A::Amend).unwrap(), PlanState::Published);
    }

    #[test]
    fn plan_refuses_transitions_naming_the_state() {
        use PlanAction as A;
        assert!(is_refused_naming(PlanState::Draft.apply(A::Approve), "DRAFT"));
        assert!(is_refused_naming(PlanState::Draft.apply(A::Publish), "DRAFT"));
        assert!(is_refused_naming(PlanState::Draft.apply(A::Amend), "DRAFT"));
        assert!(is_refused_naming(PlanState::Submitted.apply(A::Edit), "SUBMITTED"));
        assert!(is_refused_naming(PlanState::Submitted.apply(A::Submit), "SUBMITTED"));
        assert!(is_refused_naming(PlanState::Approved.apply(A::Return), "APPROVED"));
        assert!(is_refused_naming(PlanState::Published.apply(A::Edit), "PUBLISHED"));
        assert!(is_refused_naming(PlanState::Published.apply(A::Submit), "PUBLISHED"));
        assert!(is_refused_naming(PlanState::Returned.apply(A::Publish), "RETURNED"));
    }

    #[test]
    fn topics_are_screened_once_and_endorsed_before() {
        assert_eq!(TopicState::Proposed.screen(true).unwrap(), TopicState::Selected);
        assert_eq!(TopicState::Proposed.screen(false).unwrap(), TopicState::NotSelected);
        assert!(is_refused_naming(TopicState::Selected.screen(false), "SELECTED"));
        assert!(TopicState::Proposed.check_endorsable().is_ok());
        assert!(is_refused_naming(TopicState::NotSelected.check_endorsable(), "NOT_SELECTED"));
    }

    #[test]
    fn activities_only_move_forward() {
        use ActivityStage as S;
        assert_eq!(S::Research.advance(S::Meeting).unwrap(), S::Meeting);
        assert_eq!(S::Meeting.advance(S::FollowUp).unwrap(), S::FollowUp);
        assert!(is_refused_naming(S::Report.advance(S::Meeting), "REPORT"));
        assert!(is_refused_naming(S::Report.advance(S::Report), "REPORT"));
        assert!(S::Report.require(&[S::Report], "suggestions").is_ok());
        assert!(is_refused_naming(S::Meeting.require(&[S::Report], "suggestions"), "MEETING"));
    }

    #[test]
    fn mobile_numbers_and_codes() {
        assert_eq!(mobile("p", "138-3191 2345").unwrap(), "13831912345");
        assert!(mobile("p", "12831912345").is_err());
        assert!(mobile("p", "1383191234").is_err());
        assert!(mobile("p", "0319-5801234").is_err());
        let code = tracking_code("130528");
        assert_eq!(tracking_code_committee(&code), Some("130528"));
        assert_eq!(tracking_code_committee("130528-XYZ"), None);
        assert!(division_code("c", "13052").is_err());
    }

    #[test]
    fn fields_depend_on_types() {
        let mut a = NewActivity {
            title: "关于推进盐碱地综合利用的协商".into(),
            kind: ConsultationType::Counterpart,
            type_label: String::new(),
            department: String::new(),
            plan_item_id: None,
            year: Some(2026),
        };
        assert!(a.check().is_err());
        a.department = "县农业农村局".into();
        assert!(a.check().is_ok());
        assert!(check_label(ConsultationType::Other, "", "f").is_err());
        assert!(check_label(ConsultationType::Plenary, "X", "f").is_err());
        let leave =
            AttendanceEntry { member_id: Uuid::nil(), attendance: Attendance::OnLeave, leave_reason: String::new() };
        assert!(leave.check().is_err());
    }

    #[test]
    fn adoption_rate_counts_only_suggestions_with_feedback() {
        let mut t = Tally::default();
        t.add(Some(FeedbackResult::Adopted));
        t.add(Some(FeedbackResult::PartlyAdopted));
        t.add(Some(FeedbackResult::NotAdopted));
        t.add(None);
        assert_eq!(t.suggestions, 4);
        assert_eq!(t.with_feedback(), 3);
        assert!((t.rate() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(Tally::default().rate(), 0.0);
    }
}

pub mod quality;
pub mod statistics;
pub mod supervision;
