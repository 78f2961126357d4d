//! Quality evaluation (协商议政质量评价) and sector round-table rotation
//! (界别圆桌会联组轮值): plain types and rules, unit-tested below.
//!
//! The weighted score of an activity is Σ weight(c) × mean(c) / 100 over the
//! criteria c of the year's standard, where mean(c) is the mean of the scores
//! (0–100) given for c; a criterion nobody has scored counts 0. Weights sum to
//! 100, so the score is on the same 0–100 scale, rounded to two decimals.
//!
//! The rotation is a plain round robin over the joint groups in their order,
//! continuing after the group that led the last round table.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;
use xieshang_platform::ids::CommitteeId;

use super::{ConsultationType, text};
use crate::error::{ConsultationError, Result};

/// The weights of a standard's criteria sum to this.
pub const TOTAL_WEIGHT: i32 = 100;
pub const MAX_CRITERIA: usize = 20;
pub const MAX_SCORE: i32 = 100;

/// A criterion as entered.
#[derive(Clone, Debug)]
pub struct NewCriterion {
    pub name: String,
    pub weight: i32,
}

/// Checks a standard's criteria: 1–20, named, distinct, weights 1–100 summing to 100.
pub fn check_criteria(criteria: &[NewCriterion]) -> Result<Vec<NewCriterion>> {
    if criteria.is_empty() || criteria.len() > MAX_CRITERIA {
        return Err(ConsultationError::invalid(
            "standard.criteria",
            format!("must have between 1 and {MAX_CRITERIA} criteria"),
        ));
    }
    let mut names = BTreeSet::new();
    let mut out = Vec::with_capacity(criteria.len());
    for c in criteria {
        let name = text("standard.criteria.name", &c.name, 60, true)?;
        if !names.insert(name.clone()) {
            return Err(ConsultationError::invalid("standard.criteria.name", format!("{name} is given twice")));
        }
        if !(1..=TOTAL_WEIGHT).contains(&c.weight) {
            return Err(ConsultationError::invalid("standard.criteria.weight", "must be between 1 and 100"));
        }
        out.push(NewCriterion { name, weight: c.weight });
    }
    let sum: i32 = out.iter().map(|c| c.weight).sum();
    if sum != TOTAL_WEIGHT {
        return Err(ConsultationError::invalid(
            "standard.criteria",
            format!("the weights must sum to {TOTAL_WEIGHT}, not {sum}"),
        ));
    }
    Ok(out)
}

/// A score: 0–100.
pub fn check_score(value: i32) -> Result<i16> {
    if (0..=MAX_SCORE).contains(&value) {
        Ok(value as i16)
    } else {
        Err(ConsultationError::invalid("scores.score", format!("must be between 0 and {MAX_SCORE}, not {value}")))
    }
}

/// Σ weight × mean score per criterion / 100, rounded to two decimals.
/// `criteria` are (id, weight); `scores` are (criterion id, score).
pub fn weighted_score(criteria: &[(Uuid, i32)], scores: &[(Uuid, i16)]) -> f64 {
    let mut per: BTreeMap<Uuid, (i64, i64)> = BTreeMap::new();
    for (criterion, score) in scores {
        let e = per.entry(*criterion).or_default();
        e.0 += i64::from(*score);
        e.1 += 1;
    }
    weighted_score_of_sums(criteria, &per)
}

/// The same score from per-criterion (sum of scores, number of scores), as a
/// SQL `GROUP BY` delivers them.
pub fn weighted_score_of_sums(criteria: &[(Uuid, i32)], per: &BTreeMap<Uuid, (i64, i64)>) -> f64 {
    let total: f64 = criteria
        .iter()
        .filter_map(|(id, weight)| {
            per.get(id).map(|(sum, n)| (i64::from(*weight) * sum) as f64 / (*n as f64 * f64::from(TOTAL_WEIGHT)))
        })
        .sum();
    (total * 100.0).round() / 100.0
}

/// Ranks by score, highest first; equal scores share a rank (1, 1, 3). Stable otherwise.
pub fn rank<T>(mut items: Vec<(T, f64)>) -> Vec<(i32, T, f64)> {
    items.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut out: Vec<(i32, T, f64)> = Vec::with_capacity(items.len());
    for (i, (item, score)) in items.into_iter().enumerate() {
        let rank = match out.last() {
            Some((r, _, s)) if *s == score => *r,
            _ => i as i32 + 1,
        };
        out.push((rank, item, score));
    }
    out
}

/// The leading groups of the next `count` round tables: a round robin over
/// `groups` (in rotation order) continuing after `last`, the group that led
/// the last round table; from the first group when `last` is none or no
/// longer a group.
pub fn rotation(groups: &[Uuid], last: Option<Uuid>, count: usize) -> Vec<Uuid> {
    if groups.is_empty() {
        return Vec::new();
    }
    let start = last.and_then(|l| groups.iter().position(|g| *g == l)).map_or(0, |i| i + 1);
    (0..count).map(|k| groups[(start + k) % groups.len()]).collect()
}

#[derive(Clone, Debug)]
pub struct Criterion {
    pub id: Uuid,
    pub name: String,
    pub weight: i32,
}

#[derive(Clone, Debug)]
pub struct QualityStandard {
    pub committee_id: CommitteeId,
    pub year: i32,
    pub criteria: Vec<Criterion>,
}

#[derive(Clone, Debug)]
pub struct Evaluator {
    pub user_id: Uuid,
    pub display_name: String,
}

#[derive(Clone, Debug)]
pub struct Score {
    pub evaluator: Uuid,
    pub criterion_id: Uuid,
    pub score: i16,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct ActivityQuality {
    pub activity_id: Uuid,
    pub title: String,
    pub kind: ConsultationType,
    pub year: i32,
    /// Staff only.
    pub score: Option<f64>,
    /// Staff only.
    pub evaluator_count: Option<i32>,
    pub scores: Vec<Score>,
}

#[derive(Clone, Debug)]
pub struct RankedActivity {
    pub rank: i32,
    pub activity_id: Uuid,
    pub title: String,
    pub kind: ConsultationType,
    pub score: f64,
    pub evaluator_count: i32,
}

#[derive(Clone, Debug)]
pub struct JointGroup {
    pub id: Uuid,
    pub name: String,
    pub position: i32,
    /// (sector id, sector name), as entered.
    pub sectors: Vec<(Uuid, String)>,
}

#[derive(Clone, Debug)]
pub struct Rotation {
    pub year: i32,
    /// (activity, its leading group) of the last round table that had one.
    pub after: Option<(Uuid, Uuid)>,
    pub slots: Vec<JointGroup>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str, weight: i32) -> NewCriterion {
        NewCriterion { name: name.into(), weight }
    }

    fn field_of<T: std::fmt::Debug>(r: Result<T>) -> &'static str {
        match r {
            Err(ConsultationError::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn criteria_weights_must_sum_to_100() {
        assert!(check_criteria(&[c("建言质量", 40), c("调研深度", 30), c("成果转化", 30)]).is_ok());
        assert_eq!(field_of(check_criteria(&[c("建言质量", 40), c("调研深度", 30)])), "standard.criteria");
        assert_eq!(field_of(check_criteria(&[])), "standard.criteria");
        assert_eq!(field_of(check_criteria(&[c("建言质量", 0), c("调研深度", 100)])), "standard.criteria.weight");
        assert_eq!(field_of(check_criteria(&[c("建言质量", 50), c("建言质量", 50)])), "standard.criteria.name");
        assert_eq!(field_of(check_criteria(&[c(" ", 100)])), "standard.criteria.name");
    }

    #[test]
    fn scores_are_0_to_100() {
        assert_eq!(check_score(0).unwrap(), 0);
        assert_eq!(check_score(100).unwrap(), 100);
        assert_eq!(field_of(check_score(101)), "scores.score");
        assert_eq!(field_of(check_score(-1)), "scores.score");
    }

    #[test]
    fn weighted_score_is_the_weighted_mean_per_criterion() {
        let (a, b, d) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let criteria = [(a, 40), (b, 30), (d, 30)];
        // Means 90, 80, 70 → (40×90 + 30×80 + 30×70) / 100 = 81.
        let scores = [(a, 80), (a, 90), (a, 100), (b, 70), (b, 80), (b, 90), (d, 60), (d, 60), (d, 90)];
        assert_eq!(weighted_score(&criteria, &scores), 81.0);
        // An unscored criterion counts 0; thirds round to two decimals.
        assert_eq!(weighted_score(&criteria, &[(a, 100)]), 40.0);
        assert_eq!(weighted_score(&criteria, &[(a, 100), (a, 100), (a, 99)]), 39.87);
        assert_eq!(weighted_score(&criteria, &[]), 0.0);
    }

    #[test]
    fn ranking_shares_ranks_on_ties() {
        let ranked = rank(vec![("a", 70.0), ("b", 81.0), ("c", 70.0), ("d", 90.5)]);
        let got: Vec<(i32, &str)> = ranked.iter().map(|(r, t, _)| (*r, *t)).collect();
        assert_eq!(got, vec![(1, "d"), (2, "b"), (3, "a"), (3, "c")]);
    }

    #[test]
    fn rotation_is_a_round_robin_continuing_after_the_last_leader() {
        let g: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        assert_eq!(rotation(&g, None, 5), vec![g[0], g[1], g[2], g[0], g[1]]);
        assert_eq!(rotation(&g, Some(g[0]), 4), vec![g[1], g[2], g[0], g[1]]);
        assert_eq!(rotation(&g, Some(g[2]), 2), vec![g[0], g[1]]);
        // A leader no longer among the groups: start over.
        assert_eq!(rotation(&g, Some(Uuid::now_v7()), 1), vec![g[0]]);
        assert!(rotation(&[], Some(g[0]), 3).is_empty());
        assert!(rotation(&g, None, 0).is_empty());
        // Every group leads equally often over whole cycles.
        let many = rotation(&g, Some(g[1]), 30);
        for group in &g {
            assert_eq!(many.iter().filter(|x| *x == group).count(), 10);
        }
    }
}
