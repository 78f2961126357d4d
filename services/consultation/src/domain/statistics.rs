//! A committee's consultation and supervision figures for one year
//! (协商监督工作统计): plain counts and the rates derived from them. The
//! contract (`ConsultationStatistics` in consultation.proto) says which
//! records each figure counts; the rates are defined here once.

use std::collections::BTreeMap;

use xieshang_platform::ids::CommitteeId;

use super::supervision::{ParticipationState, Rectification, SupervisionState};
use super::{ActivityStage, Attendance, ConsultationType, FeedbackResult, PlanState, Tally, TopicSource, TopicState};

/// `part / whole`, 0 when `whole` is 0 (no records: no rate to speak of).
pub fn ratio(part: i32, whole: i32) -> f64 {
    if whole == 0 { 0.0 } else { f64::from(part) / f64::from(whole) }
}

/// Topics of one source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceCount {
    pub submitted: i32,
    pub selected: i32,
    pub not_selected: i32,
}

impl SourceCount {
    pub fn add(&mut self, state: Option<TopicState>, n: i32) {
        self.submitted += n;
        match state {
            Some(TopicState::Selected) => self.selected += n,
            Some(TopicState::NotSelected) => self.not_selected += n,
            Some(TopicState::Proposed) | None => {}
        }
    }
}

/// The year's plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanFigures {
    /// None: no plan for the year.
    pub state: Option<PlanState>,
    pub items: i32,
    pub items_by_type: BTreeMap<ConsultationType, i32>,
    pub items_with_activity: i32,
    pub amendments: i32,
}

/// Activities of one type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ActivityCount {
    pub activities: i32,
    pub held: i32,
}

impl ActivityCount {
    /// `n` activities in `stage`: held once past the meeting.
    pub fn add(&mut self, stage: Option<ActivityStage>, n: i32) {
        self.activities += n;
        if stage.is_some_and(|s| s > ActivityStage::Meeting) {
            self.held += n;
        }
    }
}

/// Sign-in at the year's meetings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttendanceFigures {
    pub meetings: i32,
    pub present: i32,
    pub on_leave: i32,
    pub absent: i32,
    pub unrecorded: i32,
}

impl AttendanceFigures {
    pub fn add(&mut self, attendance: Option<Attendance>, n: i32) {
        match attendance {
            Some(Attendance::Present) => self.present += n,
            Some(Attendance::OnLeave) => self.on_leave += n,
            Some(Attendance::Absent) => self.absent += n,
            None => self.unrecorded += n,
        }
    }

    pub fn invitations(&self) -> i32 {
        self.present + self.on_leave + self.absent + self.unrecorded
    }

    /// present / (present + on leave + absent): unrecorded sign-ins do not count.
    pub fn rate(&self) -> f64 {
        ratio(self.present, self.present + self.on_leave + self.absent)
    }
}

/// Quality scores of the year's activities.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QualityFigures {
    pub scored_activities: i32,
    /// Mean weighted score of the scored activities, two decimals; 0 without any.
    pub average_score: f64,
}

impl QualityFigures {
    /// From the weighted scores of the scored activities.
    pub fn of(scores: &[f64]) -> Self {
        if scores.is_empty() {
            return Self::default();
        }
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        Self { scored_activities: scores.len() as i32, average_score: (mean * 100.0).round() / 100.0 }
    }
}

/// Democratic supervision of the year.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SupervisionFigures {
    pub projects: i32,
    pub reported_projects: i32,
    pub joint_parts: i32,
    pub joint_parts_submitted: i32,
    pub inspections: i32,
    pub open: i32,
    pub in_progress: i32,
    pub rectified: i32,
    pub not_rectified: i32,
}

impl SupervisionFigures {
    pub fn add_project(&mut self, state: Option<SupervisionState>, n: i32) {
        self.projects += n;
        if matches!(state, Some(SupervisionState::Reported | SupervisionState::Closed)) {
            self.reported_projects += n;
        }
    }

    /// A part of another committee's joint project; declined parts are not work done.
    pub fn add_part(&mut self, state: Option<ParticipationState>, n: i32) {
        match state {
            Some(ParticipationState::Declined) => {}
            Some(ParticipationState::Submitted) => {
                self.joint_parts += n;
                self.joint_parts_submitted += n;
            }
            _ => self.joint_parts += n,
        }
    }

    pub fn add_problem(&mut self, status: Option<Rectification>, n: i32) {
        match status {
            Some(Rectification::Rectified) => self.rectified += n,
            Some(Rectification::NotRectified) => self.not_rectified += n,
            Some(Rectification::InProgress) => self.in_progress += n,
            Some(Rectification::Open) | None => self.open += n,
        }
    }

    pub fn problems(&self) -> i32 {
        self.open + self.in_progress + self.rectified + self.not_rectified
    }

    /// rectified / problems reported.
    pub fn rectification_rate(&self) -> f64 {
        ratio(self.rectified, self.problems())
    }
}

/// One committee's figures for a year.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsultationStatistics {
    pub committee_id: CommitteeId,
    pub year: i32,
    /// Every source, zeros included.
    pub topics: BTreeMap<TopicSource, SourceCount>,
    pub plan: PlanFigures,
    /// Types with at least one activity.
    pub activities: BTreeMap<ConsultationType, ActivityCount>,
    pub attendance: AttendanceFigures,
    /// The suggestions of the year's activities (as [`super::AdoptionRates`]' total).
    pub suggestions: Tally,
    pub quality: QualityFigures,
    pub supervision: SupervisionFigures,
}

impl ConsultationStatistics {
    pub fn new(committee_id: CommitteeId, year: i32) -> Self {
        Self {
            committee_id,
            year,
            topics: TopicSource::ALL.iter().map(|s| (*s, SourceCount::default())).collect(),
            plan: PlanFigures::default(),
            activities: BTreeMap::new(),
            attendance: AttendanceFigures::default(),
            suggestions: Tally::default(),
            quality: QualityFigures::default(),
            supervision: SupervisionFigures::default(),
        }
    }

    /// `n` suggestions with `feedback`.
    pub fn add_suggestions(&mut self, feedback: Option<FeedbackResult>, n: i32) {
        for _ in 0..n {
            self.suggestions.add(feedback);
        }
    }

    pub fn topic_total(&self) -> SourceCount {
        self.topics.values().fold(SourceCount::default(), |mut t, c| {
            t.submitted += c.submitted;
            t.selected += c.selected;
            t.not_selected += c.not_selected;
            t
        })
    }

    pub fn activity_total(&self) -> ActivityCount {
        self.activities.values().fold(ActivityCount::default(), |mut t, c| {
            t.activities += c.activities;
            t.held += c.held;
            t
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attendance_rate_leaves_out_unrecorded_sign_ins() {
        let mut a = AttendanceFigures::default();
        a.add(Some(Attendance::Present), 7);
        a.add(Some(Attendance::OnLeave), 2);
        a.add(Some(Attendance::Absent), 1);
        a.add(None, 5);
        assert_eq!(a.invitations(), 15);
        assert!((a.rate() - 0.7).abs() < 1e-12);
        assert_eq!(AttendanceFigures::default().rate(), 0.0);
    }

    #[test]
    fn activities_count_as_held_once_past_the_meeting() {
        let mut c = ActivityCount::default();
        c.add(Some(ActivityStage::Research), 1);
        c.add(Some(ActivityStage::Meeting), 2);
        c.add(Some(ActivityStage::Report), 3);
        c.add(Some(ActivityStage::FollowUp), 4);
        assert_eq!(c, ActivityCount { activities: 10, held: 7 });
    }

    #[test]
    fn rectification_rate_is_over_every_reported_problem() {
        let mut s = SupervisionFigures::default();
        s.add_problem(Some(Rectification::Rectified), 3);
        s.add_problem(Some(Rectification::NotRectified), 1);
        s.add_problem(Some(Rectification::InProgress), 2);
        s.add_problem(Some(Rectification::Open), 2);
        assert_eq!(s.problems(), 8);
        assert!((s.rectification_rate() - 0.375).abs() < 1e-12);
        s.add_part(Some(ParticipationState::Declined), 1);
        s.add_part(Some(ParticipationState::Accepted), 1);
        s.add_part(Some(ParticipationState::Submitted), 2);
        assert_eq!((s.joint_parts, s.joint_parts_submitted), (3, 2));
        assert_eq!(SupervisionFigures::default().rectification_rate(), 0.0);
    }

    #[test]
    fn quality_average_is_over_scored_activities_only() {
        assert_eq!(QualityFigures::of(&[]), QualityFigures::default());
        let q = QualityFigures::of(&[81.0, 76.5, 90.25]);
        assert_eq!(q.scored_activities, 3);
        assert_eq!(q.average_score, 82.58);
    }

    #[test]
    fn every_source_is_listed_and_selected_topics_counted() {
        let mut s = ConsultationStatistics::new(CommitteeId(uuid::Uuid::nil()), 2026);
        assert_eq!(s.topics.len(), 4);
        s.topics.entry(TopicSource::Public).or_default().add(Some(TopicState::Selected), 2);
        s.topics.entry(TopicSource::Member).or_default().add(Some(TopicState::Proposed), 1);
        s.topics.entry(TopicSource::Member).or_default().add(Some(TopicState::NotSelected), 1);
        assert_eq!(s.topic_total(), SourceCount { submitted: 4, selected: 2, not_selected: 1 });
    }
}
