//! Annual reporting (委员述职): sessions, reports, scores, suggestions, the
//! final-score rule and the campaign statistics — plain types and pure rules.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;
use xieshang_platform::ids::{CommitteeId, UserId};

small_enum!(
    /// How a reporter's final score comes from the judges' scores.
    ScoreRule { TrimmedMeanWhenAtLeastFive = 1, PlainMean = 2 }
);
small_enum!(SessionKind { Regular = 1, MakeUp = 2 });
small_enum!(SessionState { Scheduled = 1, Open = 2, Closed = 3 });
small_enum!(
    /// Pending: scheduled, not reported yet.
    ReportMode { Pending = 1, OnSite = 2, Video = 3 }
);
small_enum!(SuggestionState { Raised = 1, Forwarded = 2, Adopted = 3, NotAdopted = 4 });

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Scheduled => "SCHEDULED",
            SessionState::Open => "OPEN",
            SessionState::Closed => "CLOSED",
        }
    }
}

impl SuggestionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SuggestionState::Raised => "RAISED",
            SuggestionState::Forwarded => "FORWARDED",
            SuggestionState::Adopted => "ADOPTED",
            SuggestionState::NotAdopted => "NOT_ADOPTED",
        }
    }
}

impl ReportMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportMode::Pending => "PENDING",
            ReportMode::OnSite => "ON_SITE",
            ReportMode::Video => "VIDEO",
        }
    }

    /// On site or by video.
    pub fn reported(self) -> bool {
        self != ReportMode::Pending
    }
}

impl ScoreRule {
    pub fn as_str(self) -> &'static str {
        match self {
            ScoreRule::TrimmedMeanWhenAtLeastFive => "TRIMMED_MEAN_WHEN_AT_LEAST_FIVE",
            ScoreRule::PlainMean => "PLAIN_MEAN",
        }
    }
}

/// One judge's score of one reporter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Score {
    pub session_id: Uuid,
    pub member_id: Uuid,
    pub judge: UserId,
    pub score: i32,
    pub created_at: DateTime<Utc>,
}

/// One reporter's report in a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub session_id: Uuid,
    pub member_id: Uuid,
    pub member_name: String,
    pub mode: ReportMode,
    pub work: String,
    pub performance: String,
    pub suggestions: String,
    pub video_ref: String,
    /// Hundredths of a point; `None` before close or when unscored. Staff only.
    pub final_score_centi: Option<i32>,
    /// Staff only (0 for judges).
    pub judge_count: i32,
    /// The calling judge's own scores.
    pub my_scores: Vec<Score>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportingSession {
    pub id: Uuid,
    pub committee_id: CommitteeId,
    pub kind: SessionKind,
    pub activity_group_id: Option<Uuid>,
    pub title: String,
    pub date: NaiveDate,
    pub year: i32,
    pub place: String,
    pub leader_name: String,
    pub staff_user: UserId,
    pub reporters: Vec<Uuid>,
    /// Staff only (empty for judges).
    pub judges: Vec<UserId>,
    pub state: SessionState,
    pub score_rule: Option<ScoreRule>,
    pub reports: Vec<Report>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A session to schedule, validated in shape.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub kind: SessionKind,
    pub activity_group_id: Option<Uuid>,
    pub title: String,
    pub date: NaiveDate,
    pub place: String,
    pub leader_name: String,
    pub staff_user: UserId,
    pub reporters: Vec<Uuid>,
    pub judges: Vec<UserId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub id: Uuid,
    pub session_id: Uuid,
    pub member_id: Uuid,
    pub year: i32,
    pub content: String,
    pub state: SuggestionState,
    pub forwarded_to: String,
    pub forwarded_on: Option<NaiveDate>,
    pub forward_note: String,
    pub decided_on: Option<NaiveDate>,
    pub decision_note: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The final score in hundredths of a point (rounded half up), `None`
/// without scores. The trimmed rule drops one highest and one lowest score
/// when at least five judges scored.
pub fn final_score_centi(rule: ScoreRule, scores: &[i32]) -> Option<i32> {
    if scores.is_empty() {
        return None;
    }
    let mut sorted = scores.to_vec();
    sorted.sort_unstable();
    let counted = match rule {
        ScoreRule::TrimmedMeanWhenAtLeastFive if sorted.len() >= 5 => &sorted[1..sorted.len() - 1],
        _ => &sorted[..],
    };
    let n = counted.len() as i64;
    let sum: i64 = counted.iter().map(|s| i64::from(*s)).sum();
    Some(((sum * 200 + n) / (2 * n)) as i32)
}

/// `part / whole` in percent, rounded to two decimals; 0 when `whole` is 0.
pub fn percent(part: i32, whole: i32) -> f64 {
    if whole == 0 { 0.0 } else { (f64::from(part) * 10_000.0 / f64::from(whole)).round() / 100.0 }
}

/// Final scores by band: <60, 60–69, 70–79, 80–89, ≥90.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Distribution {
    pub below_60: i32,
    pub from_60_to_69: i32,
    pub from_70_to_79: i32,
    pub from_80_to_89: i32,
    pub at_least_90: i32,
}

impl Distribution {
    fn add(&mut self, centi: i32) {
        match centi {
            c if c < 6000 => self.below_60 += 1,
            c if c < 7000 => self.from_60_to_69 += 1,
            c if c < 8000 => self.from_70_to_79 += 1,
            c if c < 9000 => self.from_80_to_89 += 1,
            _ => self.at_least_90 += 1,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Statistics {
    pub members_due: i32,
    pub reported_on_site: i32,
    pub reported_by_video: i32,
    pub not_reported: i32,
    pub on_site_rate_percent: f64,
    pub scored_at_least_90: i32,
    pub excellence_rate_percent: f64,
    pub distribution: Distribution,
    pub sessions: i32,
    pub make_up_sessions: i32,
    pub suggestions_raised: i32,
    pub suggestions_forwarded: i32,
    pub suggestions_adopted: i32,
    pub suggestions_not_adopted: i32,
}

/// One report row of the year, as the statistics need it.
#[derive(Clone, Copy, Debug)]
pub struct ReportFact {
    pub member_id: Uuid,
    pub mode: ReportMode,
    pub final_score_centi: Option<i32>,
}

/// A campaign's figures. Each member counts once: on site when they reported
/// on site in any session (their best final score counts), else by video,
/// else not reported. Members who reported count as due even when the roster
/// no longer shows them serving.
pub fn statistics(
    due: &[Uuid],
    reports: &[ReportFact],
    session_kinds: &[SessionKind],
    suggestions: &[SuggestionState],
) -> Statistics {
    #[derive(Default)]
    struct Outcome {
        on_site: bool,
        video: bool,
        best: Option<i32>,
    }
    let mut by_member: HashMap<Uuid, Outcome> = due.iter().map(|m| (*m, Outcome::default())).collect();
    for r in reports {
        let o = by_member.entry(r.member_id).or_default();
        match r.mode {
            ReportMode::OnSite => {
                o.on_site = true;
                if let Some(c) = r.final_score_centi {
                    o.best = Some(o.best.map_or(c, |b| b.max(c)));
                }
            }
            ReportMode::Video => o.video = true,
            ReportMode::Pending => {}
        }
    }
    let mut s = Statistics { members_due: by_member.len() as i32, ..Default::default() };
    for o in by_member.values() {
        if o.on_site {
            s.reported_on_site += 1;
            if let Some(c) = o.best {
                s.distribution.add(c);
            }
        } else if o.video {
            s.reported_by_video += 1;
        } else {
            s.not_reported += 1;
        }
    }
    s.scored_at_least_90 = s.distribution.at_least_90;
    s.on_site_rate_percent = percent(s.reported_on_site, s.members_due);
    s.excellence_rate_percent = percent(s.scored_at_least_90, s.reported_on_site);
    s.sessions = session_kinds.len() as i32;
    s.make_up_sessions = session_kinds.iter().filter(|k| **k == SessionKind::MakeUp).count() as i32;
    s.suggestions_raised = suggestions.len() as i32;
    s.suggestions_forwarded = suggestions.iter().filter(|s| **s != SuggestionState::Raised).count() as i32;
    s.suggestions_adopted = suggestions.iter().filter(|s| **s == SuggestionState::Adopted).count() as i32;
    s.suggestions_not_adopted = suggestions.iter().filter(|s| **s == SuggestionState::NotAdopted).count() as i32;
    s
}

/// What closing one session changes in the campaign figures of its year.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CampaignChange {
    pub members_due: i32,
    pub reported_on_site: i32,
    pub reported_by_video: i32,
    pub not_reported: i32,
    /// Members whose best on-site final score is 90 or more.
    pub reports_excellent: i32,
}

/// The change closing a session makes to its year's figures, each member
/// counted once as in [`statistics`] (due when scheduled in a closed
/// session): `before` are the reports of the year's sessions closed earlier,
/// `closing` those of the session closing, with their final scores. The
/// changes of a year's closes sum to the figures of its closed sessions, so a
/// counter that adds them up stays exact; a make-up session moves members
/// from not reported to reported, which makes its `not_reported` negative.
pub fn campaign_change(before: &[ReportFact], closing: &[ReportFact]) -> CampaignChange {
    let was = statistics(&[], before, &[], &[]);
    let all: Vec<ReportFact> = before.iter().chain(closing).copied().collect();
    let now = statistics(&[], &all, &[], &[]);
    CampaignChange {
        members_due: now.members_due - was.members_due,
        reported_on_site: now.reported_on_site - was.reported_on_site,
        reported_by_video: now.reported_by_video - was.reported_by_video,
        not_reported: now.not_reported - was.not_reported,
        reports_excellent: now.scored_at_least_90 - was.scored_at_least_90,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimmed_mean_needs_five_judges() {
        let rule = ScoreRule::TrimmedMeanWhenAtLeastFive;
        assert_eq!(final_score_centi(rule, &[95, 92, 90, 88, 99]), Some(9233));
        assert_eq!(final_score_centi(rule, &[50, 55, 58, 100]), Some(6575), "four judges: plain mean");
        assert_eq!(final_score_centi(ScoreRule::PlainMean, &[95, 92, 90, 88, 99]), Some(9280));
        assert_eq!(final_score_centi(rule, &[]), None);
        // 89.666… rounds to 89.67, 2/3 up.
        assert_eq!(final_score_centi(rule, &[89, 90, 90]), Some(8967));
        assert_eq!(final_score_centi(rule, &[0, 0, 0, 1, 1, 1]), Some(50));
    }

    #[test]
    fn percentages_round_to_two_decimals() {
        assert_eq!(percent(263, 268), 98.13);
        assert_eq!(percent(54, 263), 20.53);
        assert_eq!(percent(1, 0), 0.0);
    }

    #[test]
    fn each_member_counts_once() {
        let (a, b, c, d) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let fact = |member_id, mode, final_score_centi| ReportFact { member_id, mode, final_score_centi };
        let reports = [
            fact(a, ReportMode::Pending, None),
            fact(a, ReportMode::OnSite, Some(9100)),
            fact(b, ReportMode::Video, None),
            fact(c, ReportMode::Pending, None),
            // Reported, though no longer on the serving roster.
            fact(d, ReportMode::OnSite, Some(5999)),
        ];
        let kinds = [SessionKind::Regular, SessionKind::MakeUp];
        let states = [SuggestionState::Raised, SuggestionState::Adopted, SuggestionState::NotAdopted];
        let s = statistics(&[a, b, c], &reports, &kinds, &states);
        assert_eq!((s.members_due, s.reported_on_site, s.reported_by_video, s.not_reported), (4, 2, 1, 1));
        assert_eq!((s.on_site_rate_percent, s.scored_at_least_90, s.excellence_rate_percent), (50.0, 1, 50.0));
        assert_eq!(s.distribution, Distribution { below_60: 1, at_least_90: 1, ..Default::default() });
        assert_eq!((s.sessions, s.make_up_sessions), (2, 1));
        assert_eq!((s.suggestions_raised, s.suggestions_forwarded, s.suggestions_adopted), (3, 2, 1));
    }

    #[test]
    fn closes_change_the_campaign_so_that_changes_sum_to_its_figures() {
        let (a, b, c, d) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let fact = |member_id, mode, final_score_centi| ReportFact { member_id, mode, final_score_centi };
        // A regular session: a on site (92.33), b by video, c and d missed it.
        let regular = [
            fact(a, ReportMode::OnSite, Some(9233)),
            fact(b, ReportMode::Video, None),
            fact(c, ReportMode::Pending, None),
            fact(d, ReportMode::Pending, None),
        ];
        let first = campaign_change(&[], &regular);
        assert_eq!(
            first,
            CampaignChange {
                members_due: 4,
                reported_on_site: 1,
                reported_by_video: 1,
                not_reported: 2,
                reports_excellent: 1
            }
        );
        // A make-up session hears c (95.00); d still misses it.
        let make_up = [fact(c, ReportMode::OnSite, Some(9500)), fact(d, ReportMode::Pending, None)];
        let second = campaign_change(&regular, &make_up);
        assert_eq!(
            second,
            CampaignChange {
                members_due: 0,
                reported_on_site: 1,
                reported_by_video: 0,
                not_reported: -1,
                reports_excellent: 1
            }
        );
        // Summed, the changes are the figures of every closed session.
        let all: Vec<ReportFact> = regular.iter().chain(&make_up).copied().collect();
        let s = statistics(&[], &all, &[], &[]);
        assert_eq!(first.members_due + second.members_due, s.members_due);
        assert_eq!(first.reported_on_site + second.reported_on_site, s.reported_on_site);
        assert_eq!(first.not_reported + second.not_reported, s.not_reported);
        assert_eq!(first.reports_excellent + second.reports_excellent, s.scored_at_least_90);
        // A better score in a later on-site report makes a member excellent once.
        let again =
            campaign_change(&[fact(a, ReportMode::OnSite, Some(8500))], &[fact(a, ReportMode::OnSite, Some(9100))]);
        assert_eq!(again, CampaignChange { reports_excellent: 1, ..Default::default() });
        let none = campaign_change(&all, &[fact(a, ReportMode::OnSite, Some(9900))]);
        assert_eq!(none, CampaignChange::default(), "a is excellent already");
    }
}
