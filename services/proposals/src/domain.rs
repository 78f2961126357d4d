//! Plain proposal types and the lifecycle as an explicit state machine.
//! Unit-tested without a database; nothing here knows protobuf or sea-orm.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;
use xieshang_platform::ids::{CommitteeId, UserId};

/// Where a proposal is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProposalState {
    Draft,
    Submitted,
    Withdrawn,
    Filed,
    Declined,
    Merged,
    /// Assigned; awaiting the units' contact with the proposer.
    Assigned,
    /// A unit objected; staff assign again.
    AwaitingReassignment,
    /// Contacted; being handled.
    Handling,
    /// Replied; awaiting the proposer's rating.
    Replied,
    Closed,
}

impl ProposalState {
    pub const ALL: [ProposalState; 11] = [
        Self::Draft,
        Self::Submitted,
        Self::Withdrawn,
        Self::Filed,
        Self::Declined,
        Self::Merged,
        Self::Assigned,
        Self::AwaitingReassignment,
        Self::Handling,
        Self::Replied,
        Self::Closed,
    ];

    /// The stored and displayed name, e.g. "FILED".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "DRAFT",
            Self::Submitted => "SUBMITTED",
            Self::Withdrawn => "WITHDRAWN",
            Self::Filed => "FILED",
            Self::Declined => "DECLINED",
            Self::Merged => "MERGED",
            Self::Assigned => "ASSIGNED",
            Self::AwaitingReassignment => "AWAITING_REASSIGNMENT",
            Self::Handling => "HANDLING",
            Self::Replied => "REPLIED",
            Self::Closed => "CLOSED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for ProposalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What someone does to a proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Edit,
    ConfirmCoSignature,
    Submit,
    Withdraw,
    File,
    Decline,
    /// Merged away into another proposal.
    Merge,
    /// Another proposal is merged into this one (it stays as it is).
    AbsorbMerge,
    MarkKey,
    Assign,
    Object,
    Contact,
    /// A reply; `last` when no other unit still owes one.
    Reply {
        last: bool,
    },
    Extend,
    /// The proposer's rating; `dissatisfied` when either rating is.
    Rate {
        dissatisfied: bool,
    },
    /// A class B reply's follow-up review (回头看) date is set.
    ScheduleFollowUp,
    /// The follow-up review (回头看) of a class B reply is recorded.
    RecordFollowUp,
    /// A co-unit sends its opinion (会办意见) to the lead unit.
    SendOpinion,
}

impl Action {
    /// The states the action is allowed in, for refusals' messages.
    fn allowed(self) -> &'static [ProposalState] {
        use ProposalState::*;
        match self {
            Action::Edit | Action::ConfirmCoSignature | Action::Submit => &[Draft],
            Action::Withdraw => &[Draft, Submitted],
            Action::File | Action::Decline => &[Submitted],
            Action::Merge | Action::AbsorbMerge => &[Submitted, Filed],
            Action::MarkKey => &[Filed, Assigned, AwaitingReassignment, Handling, Replied],
            Action::Assign => &[Filed, AwaitingReassignment],
            Action::Object => &[Assigned],
            Action::Contact => &[Assigned, Handling],
            Action::Reply { .. } => &[Handling],
            Action::Extend => &[Assigned, Handling],
            Action::Rate { .. } => &[Replied],
            Action::ScheduleFollowUp => &[Handling, Replied, Closed],
            Action::RecordFollowUp => &[Replied, Closed],
            Action::SendOpinion => &[Assigned, Handling],
        }
    }

    /// A verb for messages: "filed", "assigned", …
    fn verb(self) -> &'static str {
        match self {
            Action::Edit => "edited",
            Action::ConfirmCoSignature => "co-signed",
            Action::Submit => "submitted",
            Action::Withdraw => "withdrawn",
            Action::File => "filed",
            Action::Decline => "declined",
            Action::Merge => "merged into another",
            Action::AbsorbMerge => "merged into",
            Action::MarkKey => "marked as a key proposal",
            Action::Assign => "assigned",
            Action::Object => "objected to",
            Action::Contact => "contacted about",
            Action::Reply { .. } => "replied to",
            Action::Extend => "given a later deadline",
            Action::Rate { .. } => "rated",
            Action::ScheduleFollowUp => "given a follow-up date",
            Action::RecordFollowUp => "followed up",
            Action::SendOpinion => "given a co-unit opinion",
        }
    }
}

/// A transition the state machine does not allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub state: ProposalState,
    pub action: Action,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allowed: Vec<&str> = self.action.allowed().iter().map(|s| s.as_str()).collect();
        write!(f, "proposal is {}; only a {} proposal can be {}", self.state, allowed.join(" or "), self.action.verb())
    }
}

impl std::error::Error for Refused {}

/// The lifecycle: the state after `action`, or why it is refused.
pub fn apply(state: ProposalState, action: Action) -> Result<ProposalState, Refused> {
    use ProposalState::*;
    if !action.allowed().contains(&state) {
        return Err(Refused { state, action });
    }
    Ok(match action {
        Action::Edit
        | Action::ConfirmCoSignature
        | Action::MarkKey
        | Action::AbsorbMerge
        | Action::Extend
        | Action::ScheduleFollowUp
        | Action::RecordFollowUp
        | Action::SendOpinion => state,
        Action::Submit => Submitted,
        Action::Withdraw => Withdrawn,
        Action::File => Filed,
        Action::Decline => Declined,
        Action::Merge => Merged,
        Action::Assign => Assigned,
        Action::Object => AwaitingReassignment,
        Action::Contact => Handling,
        Action::Reply { last: true } => Replied,
        Action::Reply { last: false } => Handling,
        Action::Rate { dissatisfied: true } => Handling,
        Action::Rate { dissatisfied: false } => Closed,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Individual = 1,
    Joint = 2,
    Collective = 3,
}

impl Kind {
    pub fn from_i16(v: i16) -> Option<Self> {
        match v {
            1 => Some(Self::Individual),
            2 => Some(Self::Joint),
            3 => Some(Self::Collective),
            _ => None,
        }
    }
}

/// Subject areas; stored as their protobuf numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    Economic = 1,
    Political = 2,
    Cultural = 3,
    Social = 4,
    Ecological = 5,
    Other = 6,
}

impl Category {
    pub fn from_i16(v: i16) -> Option<Self> {
        match v {
            1 => Some(Self::Economic),
            2 => Some(Self::Political),
            3 => Some(Self::Cultural),
            4 => Some(Self::Social),
            5 => Some(Self::Ecological),
            6 => Some(Self::Other),
            _ => None,
        }
    }

    /// The name events carry.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Economic => "经济建设",
            Self::Political => "政治建设",
            Self::Cultural => "文化建设",
            Self::Social => "社会建设",
            Self::Ecological => "生态文明",
            Self::Other => "其他",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitRole {
    Lead = 1,
    Co = 2,
    Separate = 3,
}

impl UnitRole {
    pub fn from_i16(v: i16) -> Option<Self> {
        match v {
            1 => Some(Self::Lead),
            2 => Some(Self::Co),
            3 => Some(Self::Separate),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyClass {
    A = 1,
    B = 2,
    C = 3,
}

impl ReplyClass {
    pub fn from_i16(v: i16) -> Option<Self> {
        match v {
            1 => Some(Self::A),
            2 => Some(Self::B),
            3 => Some(Self::C),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B => "B",
            Self::C => "C",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rating {
    Satisfied = 1,
    BasicallySatisfied = 2,
    Dissatisfied = 3,
}

impl Rating {
    pub fn from_i16(v: i16) -> Option<Self> {
        match v {
            1 => Some(Self::Satisfied),
            2 => Some(Self::BasicallySatisfied),
            3 => Some(Self::Dissatisfied),
            _ => None,
        }
    }

    /// The name events carry.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Satisfied => "satisfied",
            Self::BasicallySatisfied => "basically_satisfied",
            Self::Dissatisfied => "dissatisfied",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conversion {
    None = 1,
    SocialConditionsInformation = 2,
    Letter = 3,
}

impl Conversion {
    pub fn from_i16(v: i16) -> Option<Self> {
        match v {
            1 => Some(Self::None),
            2 => Some(Self::SocialConditionsInformation),
            3 => Some(Self::Letter),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoSignature {
    pub user_id: UserId,
    pub confirmed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssignedUnit {
    pub user_id: UserId,
    pub role: UnitRole,
    pub contact_date: Option<NaiveDate>,
    pub contact_note: String,
    pub reply_class: Option<ReplyClass>,
    pub reply_text: String,
    pub replied_at: Option<DateTime<Utc>>,
    pub on_time: bool,
    /// Class B replies: when the follow-up review (回头看) is due.
    pub follow_up_date: Option<NaiveDate>,
    /// The follow-up review, once recorded.
    pub follow_up: Option<FollowUp>,
}

/// The result of a follow-up review (回头看) of a class B reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowUp {
    pub carried_out: bool,
    pub note: String,
    pub by: UserId,
    pub at: DateTime<Utc>,
}

/// A co-unit's opinion (会办意见) to the lead unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoUnitOpinion {
    pub proposal_id: Uuid,
    pub unit: UserId,
    pub opinion: String,
    pub sent_at: DateTime<Utc>,
}

pub const FOLLOW_UP_NOTE_MAX: usize = 2_000;
/// The longest due-soon reminder window a committee can set, in days.
pub const DUE_SOON_DAYS_MAX: i32 = 60;
pub const OPINION_MAX: usize = 5_000;

/// The follow-up date a reply of `class` carries: required and after `today`
/// for B, absent for A and C. Errors are the reason, for the field `follow_up_date`.
pub fn follow_up_date(
    class: ReplyClass,
    date: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<Option<NaiveDate>, String> {
    match (class, date) {
        (ReplyClass::B, None) => Err("is required for a class B reply".into()),
        (ReplyClass::B, Some(d)) if d <= today => Err(format!("must be after today ({today})")),
        (ReplyClass::B, Some(d)) => Ok(Some(d)),
        (_, None) => Ok(None),
        (c, Some(_)) => Err(format!("only a class B reply has a follow-up date, not class {}", c.as_str())),
    }
}

/// Whether a reply due on `due` is due soon on `today`: not past, and at most
/// `window_days` days away.
pub fn due_soon(due: NaiveDate, today: NaiveDate, window_days: i32) -> bool {
    due >= today && (due - today).num_days() <= i64::from(window_days)
}

/// The last day a co-unit may send its opinion, `months` after assignment.
pub fn opinion_window_end(assigned: NaiveDate, months: i32) -> NaiveDate {
    add_months(assigned, months)
}

/// A proposal as the service hands it out.
#[derive(Clone, Debug)]
pub struct Proposal {
    pub id: Uuid,
    pub committee_id: CommitteeId,
    pub kind: Kind,
    pub title: String,
    pub body: String,
    pub category: Category,
    pub proposer: UserId,
    pub co_signers: Vec<CoSignature>,
    pub sponsor: String,
    pub state: ProposalState,
    pub number: Option<i32>,
    pub term_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub key: bool,
    pub supervising_leader: String,
    pub decline_reason: String,
    pub conversion: Option<Conversion>,
    pub merged_into: Option<Uuid>,
    pub units: Vec<AssignedUnit>,
    pub assign_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub deadline_extended: bool,
    pub rehandle_count: i32,
    pub process_rating: Option<Rating>,
    pub result_rating: Option<Rating>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
}

impl Proposal {
    /// User ids of the proposer and co-signers, the proposer first.
    pub fn proposer_ids(&self) -> Vec<UserId> {
        std::iter::once(self.proposer).chain(self.co_signers.iter().map(|c| c.user_id)).collect()
    }
}

/// Per-committee deadlines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub objection_window_days: i32,
    pub co_unit_opinion_months: i32,
    pub reply_window_months: i32,
    /// Longest body of an information item, in characters.
    pub information_body_max: i32,
    /// Days before the due date from which the sweep reminds it is due soon.
    pub due_soon_days: i32,
    pub version: i32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            objection_window_days: 10,
            co_unit_opinion_months: 1,
            reply_window_months: 3,
            information_body_max: INFORMATION_BODY_DEFAULT,
            due_soon_days: 7,
            version: 0,
        }
    }
}

pub const TITLE_MAX: usize = 100;
pub const BODY_MAX: usize = 20_000;
pub const SHORT_TEXT_MAX: usize = 500;
pub const NAME_MAX: usize = 100;

/// A required text of at most `max` characters, trimmed.
pub fn required_text(value: &str, max: usize) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        Err("is required".into())
    } else if v.chars().count() > max {
        Err(format!("must be at most {max} characters"))
    } else {
        Ok(v.to_owned())
    }
}

/// An optional text of at most `max` characters, trimmed.
pub fn optional_text(value: &str, max: usize) -> Result<String, String> {
    let v = value.trim();
    if v.chars().count() > max { Err(format!("must be at most {max} characters")) } else { Ok(v.to_owned()) }
}

/// Etags are the row version, quoted.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// Today in China Standard Time, where committees work.
pub fn today() -> NaiveDate {
    (Utc::now() + chrono::Duration::hours(8)).date_naive()
}

/// `date` plus `months` calendar months (clamped to the month's end).
pub fn add_months(date: NaiveDate, months: i32) -> NaiveDate {
    date.checked_add_months(chrono::Months::new(months.max(0) as u32)).unwrap_or(date)
}

// ---------------------------------------------------------------------------
// Social-conditions information (社情民意信息)
// ---------------------------------------------------------------------------

/// Where an information item is in its review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InformationState {
    Submitted,
    Edited,
    Adopted,
    Declined,
}

impl InformationState {
    pub const ALL: [InformationState; 4] = [Self::Submitted, Self::Edited, Self::Adopted, Self::Declined];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "SUBMITTED",
            Self::Edited => "EDITED",
            Self::Adopted => "ADOPTED",
            Self::Declined => "DECLINED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for InformationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What staff do to an information item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InformationAction {
    Edit,
    Adopt,
    Decline,
    Instruct,
    Forward,
}

impl InformationAction {
    fn allowed(self) -> &'static [InformationState] {
        use InformationState::*;
        match self {
            Self::Edit | Self::Adopt | Self::Decline => &[Submitted, Edited],
            Self::Instruct => &[Adopted],
            Self::Forward => &[Submitted, Edited, Adopted],
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Self::Edit => "edited",
            Self::Adopt => "adopted",
            Self::Decline => "declined",
            Self::Instruct => "given an instruction",
            Self::Forward => "reported upward",
        }
    }
}

/// An information transition the review does not allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InformationRefused {
    pub state: InformationState,
    pub action: InformationAction,
}

impl fmt::Display for InformationRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allowed: Vec<&str> = self.action.allowed().iter().map(|s| s.as_str()).collect();
        write!(
            f,
            "information item is {}; only a {} item can be {}",
            self.state,
            allowed.join(" or "),
            self.action.verb()
        )
    }
}

impl std::error::Error for InformationRefused {}

/// The review: the state after `action`, or why it is refused.
pub fn apply_information(
    state: InformationState,
    action: InformationAction,
) -> Result<InformationState, InformationRefused> {
    if !action.allowed().contains(&state) {
        return Err(InformationRefused { state, action });
    }
    Ok(match action {
        InformationAction::Edit => InformationState::Edited,
        InformationAction::Adopt => InformationState::Adopted,
        InformationAction::Decline => InformationState::Declined,
        InformationAction::Instruct | InformationAction::Forward => state,
    })
}

/// Committee levels, stored as their protobuf numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Provincial = 1,
    City = 2,
    County = 3,
}

impl Level {
    pub fn from_i16(v: i16) -> Option<Self> {
        match v {
            1 => Some(Self::Provincial),
            2 => Some(Self::City),
            3 => Some(Self::County),
            _ => None,
        }
    }
}

/// What a committee further up did with an original item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpwardStatus {
    pub adopted: bool,
    pub committee_id: CommitteeId,
    pub committee_name: String,
    pub level: Option<Level>,
    pub at: DateTime<Utc>,
}

/// An information item as the service hands it out.
#[derive(Clone, Debug)]
pub struct Information {
    pub id: Uuid,
    pub committee_id: CommitteeId,
    pub title: String,
    pub body: String,
    pub state: InformationState,
    pub authors: Vec<UserId>,
    pub author_names: Vec<String>,
    pub origin_committee_id: CommitteeId,
    pub origin_item_id: Uuid,
    pub forwarded_to: Option<CommitteeId>,
    pub received_from: Option<CommitteeId>,
    pub decline_reason: String,
    pub instruction_leader: String,
    pub instruction_text: String,
    pub upward: Vec<UpwardStatus>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const INFORMATION_BODY_DEFAULT: i32 = 1_500;
pub const INFORMATION_BODY_LIMIT: i32 = 20_000;

/// Figures of one committee and period; see `ProposalStatistics` in the proto.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Statistics {
    pub received: i32,
    pub filed: i32,
    pub by_category: Vec<(Category, i32, i32)>,
    pub by_unit: Vec<UnitFigures>,
    pub replied: i32,
    pub replied_on_time: i32,
    pub overdue: i32,
    pub class_a: i32,
    pub class_b: i32,
    pub class_c: i32,
    pub rated: i32,
    pub satisfied: i32,
    pub rehandled: i32,
    pub information_submitted: i32,
    pub information_adopted: i32,
    pub information_instructed: i32,
    pub information_adopted_by_level: Vec<(Level, i32)>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct UnitFigures {
    pub unit: Option<UserId>,
    pub name: String,
    pub assigned: i32,
    pub replied: i32,
    pub replied_on_time: i32,
}

/// `part / whole`, 0 when `whole` is 0.
pub fn ratio(part: i32, whole: i32) -> f64 {
    if whole == 0 { 0.0 } else { f64::from(part) / f64::from(whole) }
}

#[cfg(test)]
mod tests {
    use super::ProposalState::*;
    use super::*;

    const ACTIONS: [Action; 20] = [
        Action::Edit,
        Action::ConfirmCoSignature,
        Action::Submit,
        Action::Withdraw,
        Action::File,
        Action::Decline,
        Action::Merge,
        Action::AbsorbMerge,
        Action::MarkKey,
        Action::Assign,
        Action::Object,
        Action::Contact,
        Action::Reply { last: true },
        Action::Reply { last: false },
        Action::Extend,
        Action::Rate { dissatisfied: true },
        Action::Rate { dissatisfied: false },
        Action::ScheduleFollowUp,
        Action::RecordFollowUp,
        Action::SendOpinion,
    ];

    /// Every allowed transition, and nothing else.
    fn expected(state: ProposalState, action: Action) -> Option<ProposalState> {
        Some(match (state, action) {
            (Draft, Action::Edit | Action::ConfirmCoSignature) => Draft,
            (Draft, Action::Submit) => Submitted,
            (Draft | Submitted, Action::Withdraw) => Withdrawn,
            (Submitted, Action::File) => Filed,
            (Submitted, Action::Decline) => Declined,
            (Submitted | Filed, Action::Merge) => Merged,
            (Submitted, Action::AbsorbMerge) => Submitted,
            (Filed, Action::AbsorbMerge) => Filed,
            (s @ (Filed | Assigned | AwaitingReassignment | Handling | Replied), Action::MarkKey) => s,
            (Filed | AwaitingReassignment, Action::Assign) => Assigned,
            (Assigned, Action::Object) => AwaitingReassignment,
            (Assigned | Handling, Action::Contact) => Handling,
            (Handling, Action::Reply { last: true }) => Replied,
            (Handling, Action::Reply { last: false }) => Handling,
            (s @ (Assigned | Handling), Action::Extend) => s,
            (Replied, Action::Rate { dissatisfied: true }) => Handling,
            (Replied, Action::Rate { dissatisfied: false }) => Closed,
            (s @ (Handling | Replied | Closed), Action::ScheduleFollowUp) => s,
            (s @ (Replied | Closed), Action::RecordFollowUp) => s,
            (s @ (Assigned | Handling), Action::SendOpinion) => s,
            _ => return None,
        })
    }

    #[test]
    fn every_allowed_and_refused_transition() {
        let mut allowed = 0;
        for state in ProposalState::ALL {
            for action in ACTIONS {
                match (apply(state, action), expected(state, action)) {
                    (Ok(next), Some(want)) => {
                        assert_eq!(next, want, "{state} + {action:?}");
                        allowed += 1;
                    }
                    (Err(refused), None) => {
                        assert_eq!(refused.state, state);
                        assert!(refused.to_string().starts_with(&format!("proposal is {state};")), "{refused}");
                    }
                    (got, want) => panic!("{state} + {action:?}: got {got:?}, expected {want:?}"),
                }
            }
        }
        assert_eq!(allowed, 34);
    }

    #[test]
    fn the_happy_path_ends_closed() {
        let path = [
            Action::Edit,
            Action::ConfirmCoSignature,
            Action::Submit,
            Action::File,
            Action::MarkKey,
            Action::Assign,
            Action::Contact,
            Action::Reply { last: true },
            Action::Rate { dissatisfied: true },
            Action::Reply { last: true },
            Action::Rate { dissatisfied: false },
        ];
        let end = path.into_iter().try_fold(Draft, apply).unwrap();
        assert_eq!(end, Closed);
    }

    #[test]
    fn objection_leads_back_to_assignment() {
        let s = [Action::Assign, Action::Object, Action::Assign].into_iter().try_fold(Filed, apply).unwrap();
        assert_eq!(s, Assigned);
    }

    #[test]
    fn refusals_name_the_current_state() {
        let refused = apply(Filed, Action::File).unwrap_err();
        assert_eq!(refused.to_string(), "proposal is FILED; only a SUBMITTED proposal can be filed");
        let refused = apply(Submitted, Action::Edit).unwrap_err();
        assert_eq!(refused.to_string(), "proposal is SUBMITTED; only a DRAFT proposal can be edited");
        assert!(apply(Closed, Action::Rate { dissatisfied: true }).is_err());
    }

    #[test]
    fn final_states_allow_nothing_but_nothing() {
        for state in [Withdrawn, Declined, Merged, Closed] {
            // A closed proposal's B reply is still followed up (回头看).
            let follow_up = [Action::ScheduleFollowUp, Action::RecordFollowUp];
            for action in ACTIONS.into_iter().filter(|a| !(state == Closed && follow_up.contains(a))) {
                assert!(apply(state, action).is_err(), "{state} + {action:?}");
            }
        }
    }

    #[test]
    fn states_round_trip_their_names() {
        for s in ProposalState::ALL {
            assert_eq!(ProposalState::parse(s.as_str()), Some(s));
        }
        assert_eq!(ProposalState::parse("nonsense"), None);
    }

    #[test]
    fn texts_are_checked_in_characters() {
        assert!(required_text(&"盐".repeat(100), TITLE_MAX).is_ok());
        assert!(required_text(&"盐".repeat(101), TITLE_MAX).is_err());
        assert_eq!(required_text("  ", TITLE_MAX).unwrap_err(), "is required");
    }

    #[test]
    fn deadlines_add_calendar_months() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert_eq!(add_months(d, 3), NaiveDate::from_ymd_opt(2027, 2, 28).unwrap());
    }
    #[test]
    fn information_review_allows_exactly_these() {
        use InformationAction as A;
        use InformationState as S;
        let actions = [A::Edit, A::Adopt, A::Decline, A::Instruct, A::Forward];
        let mut allowed = 0;
        for state in S::ALL {
            for action in actions {
                let want = match (state, action) {
                    (S::Submitted | S::Edited, A::Edit) => Some(S::Edited),
                    (S::Submitted | S::Edited, A::Adopt) => Some(S::Adopted),
                    (S::Submitted | S::Edited, A::Decline) => Some(S::Declined),
                    (S::Adopted, A::Instruct) => Some(S::Adopted),
                    (s @ (S::Submitted | S::Edited | S::Adopted), A::Forward) => Some(s),
                    _ => None,
                };
                match (apply_information(state, action), want) {
                    (Ok(got), Some(want)) => {
                        assert_eq!(got, want);
                        allowed += 1;
                    }
                    (Err(refused), None) => {
                        assert!(refused.to_string().starts_with(&format!("information item is {state};")))
                    }
                    (got, want) => panic!("{state} + {action:?}: got {got:?}, expected {want:?}"),
                }
            }
        }
        assert_eq!(allowed, 10);
        assert_eq!(
            apply_information(S::Declined, A::Adopt).unwrap_err().to_string(),
            "information item is DECLINED; only a SUBMITTED or EDITED item can be adopted"
        );
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn follow_up_dates_belong_to_b_replies_in_the_future() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let later = NaiveDate::from_ymd_opt(2027, 6, 30).unwrap();
        assert_eq!(follow_up_date(ReplyClass::B, Some(later), today), Ok(Some(later)));
        assert_eq!(follow_up_date(ReplyClass::B, None, today).unwrap_err(), "is required for a class B reply");
        assert!(follow_up_date(ReplyClass::B, Some(today), today).unwrap_err().starts_with("must be after today"));
        assert_eq!(follow_up_date(ReplyClass::A, None, today), Ok(None));
        assert_eq!(follow_up_date(ReplyClass::C, None, today), Ok(None));
        assert_eq!(
            follow_up_date(ReplyClass::A, Some(later), today).unwrap_err(),
            "only a class B reply has a follow-up date, not class A"
        );
        assert!(follow_up_date(ReplyClass::C, Some(later), today).is_err());
    }

    #[test]
    fn follow_ups_and_opinions_keep_the_state_and_name_it_when_refused() {
        assert_eq!(apply(Replied, Action::RecordFollowUp), Ok(Replied));
        assert_eq!(apply(Closed, Action::RecordFollowUp), Ok(Closed));
        assert_eq!(
            apply(Handling, Action::RecordFollowUp).unwrap_err().to_string(),
            "proposal is HANDLING; only a REPLIED or CLOSED proposal can be followed up"
        );
        assert_eq!(apply(Handling, Action::ScheduleFollowUp), Ok(Handling));
        assert_eq!(
            apply(Assigned, Action::ScheduleFollowUp).unwrap_err().to_string(),
            "proposal is ASSIGNED; only a HANDLING or REPLIED or CLOSED proposal can be given a follow-up date"
        );
        assert_eq!(apply(Assigned, Action::SendOpinion), Ok(Assigned));
        assert_eq!(
            apply(Replied, Action::SendOpinion).unwrap_err().to_string(),
            "proposal is REPLIED; only a ASSIGNED or HANDLING proposal can be given a co-unit opinion"
        );
    }

    #[test]
    fn due_soon_is_a_window_before_the_due_date() {
        let due = NaiveDate::from_ymd_opt(2027, 2, 28).unwrap();
        let day = |d: u32| NaiveDate::from_ymd_opt(2027, 2, d).unwrap();
        assert!(!due_soon(due, day(20), 7));
        assert!(due_soon(due, day(21), 7));
        assert!(due_soon(due, day(28), 7));
        assert!(!due_soon(due, NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(), 7));
        assert_eq!(opinion_window_end(NaiveDate::from_ymd_opt(2027, 1, 31).unwrap(), 1), day(28));
    }

    #[test]
    fn ratios_are_zero_over_nothing() {
        assert_eq!(ratio(0, 0), 0.0);
        assert_eq!(ratio(1, 4), 0.25);
    }
}
