//! Democratic supervision (民主监督): kinds, the project's lifecycle, the
//! rectification (整改) of each reported problem, and a committee's part in a
//! three-level joint project. Plain Rust, unit-tested below.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;
use xieshang_platform::ids::CommitteeId;

use super::{line, lines, refused, text};
use crate::error::{ConsultationError, Result};

small_enum!(
    /// Kind of supervision project.
    SupervisionKind {
        /// 专项集体民主监督
        SpecialCollective = 1 => "SPECIAL_COLLECTIVE",
        /// 主席会议视察
        ChairsMeetingInspection = 2 => "CHAIRS_MEETING_INSPECTION",
        /// 委员驻点监督
        StationedMembers = 3 => "STATIONED_MEMBERS",
        /// 三级政协联动专项集体民主监督, the initiator's project.
        ThreeLevelJoint = 4 => "THREE_LEVEL_JOINT",
    }
);

small_enum!(
    /// A supervision project's lifecycle.
    SupervisionState {
        Planned = 1 => "PLANNED",
        Ongoing = 2 => "ONGOING",
        Reported = 3 => "REPORTED",
        Closed = 4 => "CLOSED",
    }
);

small_enum!(
    /// Rectification (整改) of one reported problem.
    Rectification {
        Open = 1 => "OPEN",
        InProgress = 2 => "IN_PROGRESS",
        Rectified = 3 => "RECTIFIED",
        NotRectified = 4 => "NOT_RECTIFIED",
    }
);

small_enum!(
    /// An invited committee's part of a joint project.
    ParticipationState {
        Invited = 1 => "INVITED",
        Accepted = 2 => "ACCEPTED",
        Declined = 3 => "DECLINED",
        Submitted = 4 => "SUBMITTED",
    }
);

/// An event of a project's lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SupervisionAction {
    Start,
    Inspect,
    Report,
    Rectify,
    Close,
}

impl SupervisionState {
    /// The state after `action`, or `FailedPrecondition` naming the current state.
    pub fn apply(self, action: SupervisionAction) -> Result<Self> {
        use SupervisionAction as A;
        use SupervisionState as S;
        match (self, action) {
            (S::Planned, A::Start) => Ok(S::Ongoing),
            (S::Ongoing, A::Inspect) => Ok(S::Ongoing),
            (S::Ongoing, A::Report) => Ok(S::Reported),
            (S::Reported, A::Rectify) => Ok(S::Reported),
            (S::Reported, A::Close) => Ok(S::Closed),
            _ => {
                let hint = match action {
                    A::Start => "only a PLANNED project is started",
                    A::Inspect => "inspections are recorded while the project is ONGOING",
                    A::Report => "only an ONGOING project files its report",
                    A::Rectify => "rectification is tracked while the project is REPORTED",
                    A::Close => "only a REPORTED project is closed",
                };
                Err(refused("supervision project", self.as_str(), hint))
            }
        }
    }
}

impl Rectification {
    /// OPEN → IN_PROGRESS → RECTIFIED or NOT_RECTIFIED.
    pub fn advance(self, to: Self) -> Result<Self> {
        use Rectification as R;
        match (self, to) {
            (R::Open, R::InProgress) | (R::InProgress, R::Rectified | R::NotRectified) => Ok(to),
            _ => Err(refused(
                "problem",
                self.as_str(),
                &format!("cannot move to {}: OPEN → IN_PROGRESS → RECTIFIED or NOT_RECTIFIED", to.as_str()),
            )),
        }
    }

    /// The value of `SupervisionRectificationChanged.from`/`to`.
    pub fn event_value(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::InProgress => "in_progress",
            Self::Rectified => "rectified",
            Self::NotRectified => "not_rectified",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Rectified | Self::NotRectified)
    }
}

/// An event of a participation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParticipationAction {
    Accept,
    Decline,
    Inspect,
    Submit,
}

impl ParticipationState {
    pub fn apply(self, action: ParticipationAction) -> Result<Self> {
        use ParticipationAction as A;
        use ParticipationState as S;
        match (self, action) {
            (S::Invited, A::Accept) => Ok(S::Accepted),
            (S::Invited, A::Decline) => Ok(S::Declined),
            (S::Accepted, A::Inspect) => Ok(S::Accepted),
            (S::Accepted, A::Submit) => Ok(S::Submitted),
            _ => {
                let hint = match action {
                    A::Accept | A::Decline => "only an INVITED committee accepts or declines",
                    A::Inspect => "inspections are recorded once ACCEPTED and before submission",
                    A::Submit => "only an ACCEPTED part is submitted",
                };
                Err(refused("participation", self.as_str(), hint))
            }
        }
    }

    /// Late: neither declined nor submitted after the project's end date.
    pub fn is_overdue(self, end: NaiveDate, today: NaiveDate) -> bool {
        matches!(self, Self::Invited | Self::Accepted) && today > end
    }
}

/// A checked period: start on or before end.
pub fn period(start: NaiveDate, end: NaiveDate) -> Result<(NaiveDate, NaiveDate)> {
    if start > end {
        return Err(ConsultationError::invalid("end_date", "must not be before start_date"));
    }
    Ok((start, end))
}

/// The topic of a project.
pub fn topic(value: &str) -> Result<String> {
    line("topic", value, 100)
}

/// An inspection as entered.
#[derive(Clone, Debug)]
pub struct NewInspection {
    pub date: NaiveDate,
    pub place: String,
    pub member_ids: Vec<Uuid>,
    pub member_names: Vec<String>,
    pub findings: String,
}

impl NewInspection {
    pub fn check(mut self) -> Result<Self> {
        self.place = line("inspection.place", &self.place, 100)?;
        self.member_names = lines("inspection.member_names", &self.member_names, 40, 30)?;
        if self.member_ids.len() > 30 {
            return Err(ConsultationError::invalid("inspection.member_ids", "must have at most 30 entries"));
        }
        self.findings = text("inspection.findings", &self.findings, 4000, false)?;
        Ok(self)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    pub id: Uuid,
    pub date: NaiveDate,
    pub place: String,
    pub member_ids: Vec<Uuid>,
    pub member_names: Vec<String>,
    pub findings: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub number: i32,
    pub problem: String,
    pub suggestion: String,
    pub rectification: Rectification,
    pub rectified_on: Option<NaiveDate>,
    pub note: String,
}

/// Checks a report's problems and suggestions (numbered from 1 in this order).
pub fn report(summary: &str, problems: &[(String, String)]) -> Result<(String, Vec<(String, String)>)> {
    let summary = text("summary", summary, 4000, true)?;
    if problems.is_empty() || problems.len() > 100 {
        return Err(ConsultationError::invalid("problems", "must have 1 to 100 entries"));
    }
    let problems = problems
        .iter()
        .map(|(p, s)| Ok((text("problems.problem", p, 2000, true)?, text("problems.suggestion", s, 2000, true)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok((summary, problems))
}

#[derive(Clone, Debug)]
pub struct SupervisionProject {
    pub id: Uuid,
    pub committee_id: CommitteeId,
    pub kind: SupervisionKind,
    pub topic: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub state: SupervisionState,
    pub inspections: Vec<Inspection>,
    pub report_summary: String,
    pub problems: Vec<Problem>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When a joint project's report was published to the participants.
    pub report_published_at: Option<DateTime<Utc>>,
}

/// A joint report (联动监督报告) as published to one participant.
#[derive(Clone, Debug)]
pub struct JointReport {
    pub project_id: Uuid,
    pub initiator: CommitteeId,
    pub initiator_name: String,
    pub topic: String,
    pub summary: String,
    /// Rectification as of publication.
    pub problems: Vec<Problem>,
    pub reported_at: Option<DateTime<Utc>>,
    pub published_at: DateTime<Utc>,
}

/// A time as the offices read it: China Standard Time (UTC+8).
fn china_time(at: DateTime<Utc>) -> String {
    match chrono::FixedOffset::east_opt(8 * 3600) {
        Some(cst) => at.with_timezone(&cst).format("%Y-%m-%d %H:%M:%S (UTC+8)").to_string(),
        None => at.to_rfc3339(),
    }
}

/// Whether a joint project's report may be published now: REPORTED and not
/// yet published; otherwise `FailedPrecondition` naming the state.
pub fn check_publishable(state: SupervisionState, published_at: Option<DateTime<Utc>>) -> Result<()> {
    if state != SupervisionState::Reported {
        return Err(refused(
            "supervision project",
            state.as_str(),
            "only a REPORTED joint project (its joint report filed) publishes the report",
        ));
    }
    if let Some(at) = published_at {
        return Err(ConsultationError::precondition(format!(
            "the supervision project is REPORTED and its joint report was already published at {}; a joint report \
             is published once",
            china_time(at)
        )));
    }
    Ok(())
}

#[derive(Clone, Debug)]
pub struct Participation {
    pub id: Uuid,
    pub project_id: Uuid,
    pub committee_id: CommitteeId,
    pub committee_name: String,
    pub initiator: CommitteeId,
    pub initiator_name: String,
    pub topic: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub state: ParticipationState,
    pub response_note: String,
    pub summary: String,
    pub inspections: Vec<Inspection>,
    pub overdue: bool,
    pub responded_at: Option<DateTime<Utc>>,
    pub submitted_at: Option<DateTime<Utc>>,
    /// The published joint report: the participant's own copy, if published.
    pub joint_report: Option<JointReport>,
}

#[derive(Clone, Debug)]
pub struct JointProgress {
    pub project: SupervisionProject,
    pub participations: Vec<Participation>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_naming<T: std::fmt::Debug>(r: Result<T>, state: &str) -> bool {
        matches!(r, Err(ConsultationError::FailedPrecondition(m)) if m.contains(state))
    }

    #[test]
    fn project_moves_through_its_lifecycle() {
        use SupervisionAction as A;
        let s = SupervisionState::Planned.apply(A::Start).unwrap();
        assert_eq!(s, SupervisionState::Ongoing);
        assert_eq!(s.apply(A::Inspect).unwrap(), SupervisionState::Ongoing);
        let s = s.apply(A::Report).unwrap();
        assert_eq!(s, SupervisionState::Reported);
        assert_eq!(s.apply(A::Rectify).unwrap(), SupervisionState::Reported);
        assert_eq!(s.apply(A::Close).unwrap(), SupervisionState::Closed);
    }

    #[test]
    fn project_refuses_transitions_naming_the_state() {
        use SupervisionAction as A;
        assert!(refused_naming(SupervisionState::Planned.apply(A::Inspect), "PLANNED"));
        assert!(refused_naming(SupervisionState::Planned.apply(A::Report), "PLANNED"));
        assert!(refused_naming(SupervisionState::Ongoing.apply(A::Start), "ONGOING"));
        assert!(refused_naming(SupervisionState::Ongoing.apply(A::Close), "ONGOING"));
        assert!(refused_naming(SupervisionState::Reported.apply(A::Inspect), "REPORTED"));
        for a in [A::Start, A::Inspect, A::Report, A::Rectify, A::Close] {
            assert!(refused_naming(SupervisionState::Closed.apply(a), "CLOSED"));
        }
    }

    #[test]
    fn rectification_follows_its_arrows() {
        use Rectification as R;
        assert_eq!(R::Open.advance(R::InProgress).unwrap(), R::InProgress);
        assert_eq!(R::InProgress.advance(R::Rectified).unwrap(), R::Rectified);
        assert_eq!(R::InProgress.advance(R::NotRectified).unwrap(), R::NotRectified);
        assert!(refused_naming(R::Open.advance(R::Rectified), "OPEN"));
        assert!(refused_naming(R::Rectified.advance(R::InProgress), "RECTIFIED"));
        assert!(refused_naming(R::NotRectified.advance(R::Rectified), "NOT_RECTIFIED"));
        assert!(R::Rectified.is_final() && R::NotRectified.is_final() && !R::InProgress.is_final());
    }

    #[test]
    fn participation_is_accepted_or_declined_then_submitted() {
        use ParticipationAction as A;
        use ParticipationState as S;
        assert_eq!(S::Invited.apply(A::Accept).unwrap(), S::Accepted);
        assert_eq!(S::Invited.apply(A::Decline).unwrap(), S::Declined);
        assert_eq!(S::Accepted.apply(A::Submit).unwrap(), S::Submitted);
        assert!(refused_naming(S::Invited.apply(A::Inspect), "INVITED"));
        assert!(refused_naming(S::Declined.apply(A::Accept), "DECLINED"));
        assert!(refused_naming(S::Submitted.apply(A::Inspect), "SUBMITTED"));
        let end = NaiveDate::from_ymd_opt(2026, 9, 30).unwrap();
        let later = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        assert!(S::Accepted.is_overdue(end, later));
        assert!(!S::Accepted.is_overdue(end, end));
        assert!(!S::Submitted.is_overdue(end, later) && !S::Declined.is_overdue(end, later));
    }

    #[test]
    fn a_joint_report_is_published_once_and_only_when_reported() {
        use SupervisionState as S;
        assert!(check_publishable(S::Reported, None).is_ok());
        assert!(refused_naming(check_publishable(S::Ongoing, None), "ONGOING"));
        assert!(refused_naming(check_publishable(S::Closed, None), "CLOSED"));
        let at = DateTime::parse_from_rfc3339("2026-10-09T02:00:00Z").unwrap().with_timezone(&Utc);
        let r = check_publishable(S::Reported, Some(at));
        assert!(refused_naming(r, "already published at 2026-10-09 10:00"));
    }

    #[test]
    fn periods_and_reports_are_checked() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert!(period(d(3, 1), d(9, 30)).is_ok());
        assert!(matches!(period(d(9, 30), d(3, 1)), Err(ConsultationError::Invalid { field: "end_date", .. })));
        assert!(matches!(report("总结", &[]), Err(ConsultationError::Invalid { field: "problems", .. })));
        let (_, problems) = report(" 总结 ", &[("扬尘管控不到位".into(), "加强工地围挡".into())]).unwrap();
        assert_eq!(problems.len(), 1);
    }
}
