//! Annual performance projects (年度履职项目) and the annual assessment (考核):
//! the project chain as a plain state machine, and the assessment formula
//! with its per-category standards — pure rules, unit-tested.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;
use xieshang_platform::ids::{CommitteeId, UserId};

use crate::error::{MembershipError, Result};

small_enum!(
    /// 已申报 → 学习 → 调研 → 协商 → 回头看 → 成果.
    ProjectStatus { Declared = 1, Study = 2, Research = 3, Consultation = 4, FollowUpReview = 5, Outcome = 6 }
);
small_enum!(
    /// What a project ended in.
    OutcomeKind { Proposal = 1, Information = 2 }
);
small_enum!(
    /// 常委 / 委员.
    Category { StandingCommittee = 1, Member = 2 }
);
small_enum!(
    /// 无 / 优秀委员 / 约谈 / 劝辞.
    ProposedOutcome { None = 1, Commend = 2, Talk = 3, ConsiderDismissal = 4 }
);
small_enum!(Decision { Pending = 1, Confirmed = 2, Rejected = 3 });

impl ProjectStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectStatus::Declared => "DECLARED",
            ProjectStatus::Study => "STUDY",
            ProjectStatus::Research => "RESEARCH",
            ProjectStatus::Consultation => "CONSULTATION",
            ProjectStatus::FollowUpReview => "FOLLOW_UP_REVIEW",
            ProjectStatus::Outcome => "OUTCOME",
        }
    }

    /// The step after this one; `None` at the end of the chain.
    pub fn next(self) -> Option<Self> {
        Self::from_i16(self as i16 + 1)
    }

    /// The move `self → to`: only to the next step of the chain.
    pub fn advance(self, to: Self) -> Result<Self> {
        match self.next() {
            Some(next) if next == to => Ok(to),
            Some(next) => Err(MembershipError::precondition(format!(
                "the project is {}; it can only move to {}, not {}",
                self.as_str(),
                next.as_str(),
                to.as_str()
            ))),
            None => {
                Err(MembershipError::precondition(format!("the project is {}; it moves no further", self.as_str())))
            }
        }
    }
}

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Proposal => "PROPOSAL",
            OutcomeKind::Information => "INFORMATION",
        }
    }
}

impl ProposedOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposedOutcome::None => "NONE",
            ProposedOutcome::Commend => "COMMEND",
            ProposedOutcome::Talk => "TALK",
            ProposedOutcome::ConsiderDismissal => "CONSIDER_DISMISSAL",
        }
    }
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Pending => "PENDING",
            Decision::Confirmed => "CONFIRMED",
            Decision::Rejected => "REJECTED",
        }
    }

    /// PENDING → CONFIRMED or REJECTED; a decision is final.
    pub fn decide(self, confirm: bool) -> Result<Self> {
        match self {
            Decision::Pending => Ok(if confirm { Decision::Confirmed } else { Decision::Rejected }),
            done => Err(MembershipError::precondition(format!("the outcome is already {}", done.as_str()))),
        }
    }
}

impl Category {
    pub fn of(standing_committee: bool) -> Self {
        if standing_committee { Category::StandingCommittee } else { Category::Member }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectStep {
    pub step: ProjectStatus,
    pub date: NaiveDate,
    pub note: String,
    pub recorded_by: UserId,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    pub id: Uuid,
    pub committee_id: CommitteeId,
    pub member_id: Uuid,
    pub member_name: String,
    pub year: i32,
    pub title: String,
    pub description: String,
    pub status: ProjectStatus,
    pub steps: Vec<ProjectStep>,
    pub outcome: Option<(OutcomeKind, String)>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A requested move of a project, validated in shape.
#[derive(Clone, Debug)]
pub struct Advance {
    pub to: ProjectStatus,
    pub date: NaiveDate,
    pub note: String,
    pub outcome: Option<(OutcomeKind, String)>,
}

/// The standard of one category. score = points × points_weight% + report × report_weight%.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standard {
    pub category: Category,
    pub points_weight: i32,
    pub report_weight: i32,
    pub commend_top_percent: i32,
    pub talk_bottom_count: i32,
    /// Hundredths of a point.
    pub dismissal_below_centi: i32,
}

impl Standard {
    /// Standing-committee members are held to more (a higher dismissal line,
    /// more weight on reporting) and fewer are commended.
    pub fn default_for(category: Category) -> Self {
        match category {
            Category::StandingCommittee => Standard {
                category,
                points_weight: 50,
                report_weight: 50,
                commend_top_percent: 20,
                talk_bottom_count: 1,
                dismissal_below_centi: 4000,
            },
            Category::Member => Standard {
                category,
                points_weight: 60,
                report_weight: 40,
                commend_top_percent: 25,
                talk_bottom_count: 1,
                dismissal_below_centi: 2000,
            },
        }
    }

    pub fn check(&self) -> Result<()> {
        for (field, v, max) in [
            ("standards.points_weight_percent", self.points_weight, 100),
            ("standards.report_weight_percent", self.report_weight, 100),
            ("standards.commend_top_percent", self.commend_top_percent, 100),
            ("standards.talk_bottom_count", self.talk_bottom_count, 1000),
            ("standards.dismissal_below_score", self.dismissal_below_centi, 100_000),
        ] {
            if !(0..=max).contains(&v) {
                return Err(MembershipError::invalid(field, format!("must be between 0 and {max}")));
            }
        }
        Ok(())
    }

    /// Hundredths of a point: points × pw% + report × rw% (report already in hundredths).
    pub fn score_centi(&self, points: i32, report_centi: Option<i32>) -> i32 {
        let from_points = i64::from(points) * i64::from(self.points_weight);
        let from_report = (i64::from(report_centi.unwrap_or(0)) * i64::from(self.report_weight) + 50) / 100;
        (from_points + from_report) as i32
    }
}

/// One member's input to the assessment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub member_id: Uuid,
    pub name: String,
    pub category: Category,
    pub points: i32,
    pub report_centi: Option<i32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessed {
    pub candidate: Candidate,
    pub score_centi: i32,
    pub rank: i32,
    pub category_rank: i32,
    pub proposed: ProposedOutcome,
}

/// A computed or decided result as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssessmentResult {
    pub assessed: Assessed,
    pub year: i32,
    pub decision: Decision,
    pub decided_by: Option<UserId>,
    pub decision_note: String,
    pub decided_at: Option<DateTime<Utc>>,
}

/// Competition ranks ("1224") of scores already sorted best first.
fn ranks(scores: &[i32]) -> Vec<i32> {
    let mut out: Vec<i32> = Vec::with_capacity(scores.len());
    for (i, s) in scores.iter().enumerate() {
        let r = if i > 0 && scores[i - 1] == *s { out[i - 1] } else { i as i32 + 1 };
        out.push(r);
    }
    out
}

/// Scores, ranks and proposes an outcome for each candidate, best first
/// (ties by name). Within its category a member below the dismissal line is
/// proposed for dismissal; else the top `commend_top_percent`% (rounded
/// down, by position) for commendation; else the bottom `talk_bottom_count`
/// of those above the dismissal line for a talk.
pub fn assess(candidates: Vec<Candidate>, standard: impl Fn(Category) -> Standard) -> Vec<Assessed> {
    let mut scored: Vec<(Candidate, i32)> = candidates
        .into_iter()
        .map(|c| {
            let s = standard(c.category).score_centi(c.points, c.report_centi);
            (c, s)
        })
        .collect();
    scored.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.name.cmp(&b.0.name)));
    let overall = ranks(&scored.iter().map(|s| s.1).collect::<Vec<_>>());
    let mut out: Vec<Assessed> = scored
        .into_iter()
        .zip(overall)
        .map(|((candidate, score_centi), rank)| Assessed {
            candidate,
            score_centi,
            rank,
            category_rank: 0,
            proposed: ProposedOutcome::None,
        })
        .collect();
    for category in Category::ALL {
        let std = standard(*category);
        let idx: Vec<usize> = (0..out.len()).filter(|i| out[*i].candidate.category == *category).collect();
        let n = idx.len();
        let cat_ranks = ranks(&idx.iter().map(|i| out[*i].score_centi).collect::<Vec<_>>());
        let commend = n * std.commend_top_percent as usize / 100;
        let kept = idx.iter().filter(|i| out[**i].score_centi >= std.dismissal_below_centi).count();
        let talk_from = kept.saturating_sub(std.talk_bottom_count as usize);
        for (pos, i) in idx.into_iter().enumerate() {
            let a = &mut out[i];
            a.category_rank = cat_ranks[pos];
            a.proposed = if a.score_centi < std.dismissal_below_centi {
                ProposedOutcome::ConsiderDismissal
            } else if pos < commend {
                ProposedOutcome::Commend
            } else if pos >= talk_from {
                ProposedOutcome::Talk
            } else {
                ProposedOutcome::None
            };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_move_forward_one_step_at_a_time() {
        use ProjectStatus::*;
        assert_eq!(Declared.advance(Study).unwrap(), Study);
        assert_eq!(Study.advance(Research).unwrap(), Research);
        assert_eq!(Research.advance(Consultation).unwrap(), Consultation);
        assert_eq!(Consultation.advance(FollowUpReview).unwrap(), FollowUpReview);
        assert_eq!(FollowUpReview.advance(Outcome).unwrap(), Outcome);
        for from in ProjectStatus::ALL {
            for to in ProjectStatus::ALL {
                if from.next() != Some(*to) {
                    let err = from.advance(*to).unwrap_err();
                    assert!(matches!(err, MembershipError::FailedPrecondition(_)));
                    assert!(err.to_string().contains(from.as_str()), "{err}");
                }
            }
        }
        assert!(Outcome.advance(Declared).unwrap_err().to_string().contains("OUTCOME"));
        assert!(Research.advance(Study).unwrap_err().to_string().contains("RESEARCH"), "never back");
        assert!(Study.advance(Consultation).is_err(), "never skipping");
    }

    #[test]
    fn decisions_are_final() {
        assert_eq!(Decision::Pending.decide(true).unwrap(), Decision::Confirmed);
        assert_eq!(Decision::Pending.decide(false).unwrap(), Decision::Rejected);
        for done in [Decision::Confirmed, Decision::Rejected] {
            for confirm in [true, false] {
                let err = done.decide(confirm).unwrap_err();
                assert!(err.to_string().contains(done.as_str()), "{err}");
            }
        }
    }

    #[test]
    fn standards_are_checked() {
        let mut s = Standard::default_for(Category::Member);
        assert!(s.check().is_ok());
        s.points_weight = 101;
        assert!(s.check().unwrap_err().to_string().contains("standards.points_weight_percent"));
        let mut s = Standard::default_for(Category::StandingCommittee);
        s.talk_bottom_count = -1;
        assert!(s.check().unwrap_err().to_string().contains("standards.talk_bottom_count"));
    }

    #[test]
    fn scores_combine_points_and_report() {
        let s = Standard::default_for(Category::StandingCommittee);
        // 20 × 50% + 90.5 × 50% = 55.25.
        assert_eq!(s.score_centi(20, Some(9050)), 5525);
        assert_eq!(s.score_centi(20, None), 1000);
        let m = Standard::default_for(Category::Member);
        // 30 × 60% + 80 × 40% = 50.
        assert_eq!(m.score_centi(30, Some(8000)), 5000);
    }

    #[test]
    fn outcomes_follow_each_category_standard() {
        let c = |name: &str, category, points, report| Candidate {
            member_id: Uuid::now_v7(),
            name: name.into(),
            category,
            points,
            report_centi: report,
        };
        use Category::*;
        let out = assess(
            vec![
                c("甲", StandingCommittee, 40, Some(9000)), // 65
                c("乙", StandingCommittee, 30, Some(8000)), // 55
                c("丙", StandingCommittee, 10, Some(6000)), // 35 < 40: dismissal
                c("丁", Member, 50, Some(9000)),            // 66
                c("戊", Member, 40, Some(8000)),            // 56
                c("己", Member, 30, Some(7000)),            // 46
                c("庚", Member, 10, None),                  // 6 < 20: dismissal
                c("辛", Member, 25, Some(7000)),            // 43
            ],
            Standard::default_for,
        );
        let got: Vec<(&str, i32, i32, i32, ProposedOutcome)> = out
            .iter()
            .map(|a| (a.candidate.name.as_str(), a.score_centi, a.rank, a.category_rank, a.proposed))
            .collect();
        use ProposedOutcome as P;
        assert_eq!(
            got,
            vec![
                ("丁", 6600, 1, 1, P::Commend),
                ("甲", 6500, 2, 1, P::None),
                ("戊", 5600, 3, 2, P::None),
                ("乙", 5500, 4, 2, P::Talk),
                ("己", 4600, 5, 3, P::None),
                ("辛", 4300, 6, 4, P::Talk),
                ("丙", 3500, 7, 3, P::ConsiderDismissal),
                ("庚", 600, 8, 5, P::ConsiderDismissal),
            ]
        );
        // Without a dismissal line the bottom one is talked with.
        let lenient = |cat| Standard { dismissal_below_centi: 0, ..Standard::default_for(cat) };
        let out = assess(vec![c("甲", Member, 1, None), c("乙", Member, 2, None)], lenient);
        assert_eq!(out[1].proposed, P::Talk);
        assert_eq!(out[0].proposed, P::None, "25% of two is none");
    }
}
