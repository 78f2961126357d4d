//! Plain types of the analytics service: periods (incl. terms), rollups,
//! metrics, member metrics and the rates derived from counters. No database,
//! no protobuf.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};

use crate::error::{AnalyticsError, Result};

/// Whose records a counter counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rollup {
    /// The committee's own records.
    Own = 1,
    /// The committee's and every descendant's.
    Subtree = 2,
}

impl Rollup {
    pub fn from_i16(v: i16) -> Option<Self> {
        match v {
            1 => Some(Self::Own),
            2 => Some(Self::Subtree),
            _ => None,
        }
    }
}

/// The highest term number the tenants service accepts (`CreateTerm`).
pub const MAX_TERM: u32 = 100;

/// A year, a quarter or a month, in China Standard Time; or a term (届) of
/// the committee the figures are about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Year(i32),
    Quarter(i32, u32),
    Month(i32, u32),
    /// The committee's term of this number (第十届 is `Term(10)`), keyed "T10".
    /// An ancestor's counters hold its own terms: an event counts in the term
    /// of each committee on its path that contains the event's date.
    Term(u32),
}

impl Period {
    /// Parses "2025", "2025-Q3", "2025-07" or "T10"; anything else is `InvalidArgument` on `field`.
    pub fn parse(field: &'static str, s: &str) -> Result<Self> {
        let bad = || {
            AnalyticsError::invalid(
                field,
                format!("{s:?} is not a year (2025), quarter (2025-Q3), month (2025-07) or term (T10)"),
            )
        };
        if let Some(n) = s.strip_prefix('T') {
            // Digits only, without a leading zero, so each term has one spelling (its counter key).
            if !n.bytes().all(|b| b.is_ascii_digit()) || n.starts_with('0') {
                return Err(bad());
            }
            return match n.parse::<u32>() {
                Ok(n @ 1..=MAX_TERM) => Ok(Self::Term(n)),
                _ => Err(bad()),
            };
        }
        let year = |y: &str| -> Result<i32> {
            if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) {
                y.parse::<i32>().ok().filter(|y| *y >= 1949).ok_or_else(bad)
            } else {
                Err(bad())
            }
        };
        match s.split_once('-') {
            None => Ok(Self::Year(year(s)?)),
            Some((y, q)) if q.len() == 2 && q.starts_with('Q') => match q[1..].parse::<u32>() {
                Ok(n @ 1..=4) => Ok(Self::Quarter(year(y)?, n)),
                _ => Err(bad()),
            },
            Some((y, m)) if m.len() == 2 && m.bytes().all(|b| b.is_ascii_digit()) => match m.parse::<u32>() {
                Ok(n @ 1..=12) => Ok(Self::Month(year(y)?, n)),
                _ => Err(bad()),
            },
            Some(_) => Err(bad()),
        }
    }

    /// The previous period of the same kind.
    pub fn previous(self) -> Self {
        match self {
            Self::Year(y) => Self::Year(y - 1),
            Self::Quarter(y, 1) => Self::Quarter(y - 1, 4),
            Self::Quarter(y, q) => Self::Quarter(y, q - 1),
            Self::Month(y, 1) => Self::Month(y - 1, 12),
            Self::Month(y, m) => Self::Month(y, m - 1),
            // The first term has none before it: term 0 has no counters, so it reads as zeros.
            Self::Term(n) => Self::Term(n.saturating_sub(1)),
        }
    }

    /// The key under which a direct child's SUBTREE counters for its
    /// parent's term are stored ("P10"), so a breakdown of a term ranks the
    /// children over the parent's own term span; `to_string()` otherwise.
    pub fn child_key(self) -> String {
        match self {
            Self::Term(n) => parent_term_key(n),
            other => other.to_string(),
        }
    }

    /// The year, quarter and month an instant falls in (China Standard Time).
    pub fn containing(at: DateTime<Utc>) -> [Self; 3] {
        let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
        let local = at.with_timezone(&cst);
        let (y, m) = (local.year(), local.month());
        [Self::Year(y), Self::Quarter(y, (m - 1) / 3 + 1), Self::Month(y, m)]
    }

    /// The twelve months of a year.
    pub fn months(year: i32) -> Vec<Self> {
        (1..=12).map(|m| Self::Month(year, m)).collect()
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Year(y) => write!(f, "{y:04}"),
            Self::Quarter(y, q) => write!(f, "{y:04}-Q{q}"),
            Self::Month(y, m) => write!(f, "{y:04}-{m:02}"),
            Self::Term(n) => write!(f, "T{n}"),
        }
    }
}

/// The stored key of a child's counters for its parent's term `n` ("P10").
pub fn parent_term_key(n: u32) -> String {
    format!("P{n}")
}

/// The calendar day of an instant in China Standard Time.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    at.with_timezone(&cst).date_naive()
}

/// A term (届) as recorded from `TermOpened`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedTerm {
    pub committee: uuid::Uuid,
    pub term_id: uuid::Uuid,
    pub number: u32,
    pub start: NaiveDate,
}

/// The terms of some committees: each committee's term on a date is the one
/// whose start ≤ date < the next term's start. Before the first term's start
/// a committee has no term and nothing counts in a term of it.
#[derive(Clone, Debug, Default)]
pub struct Terms(HashMap<uuid::Uuid, Vec<(NaiveDate, u32)>>);

impl Terms {
    /// Records a term (again: the same number replaces its start).
    pub fn open(&mut self, committee: uuid::Uuid, number: u32, start: NaiveDate) {
        let terms = self.0.entry(committee).or_default();
        terms.retain(|(_, n)| *n != number);
        terms.push((start, number));
        terms.sort();
    }

    /// The committee's term on `date`.
    pub fn at(&self, committee: uuid::Uuid, date: NaiveDate) -> Option<u32> {
        let terms = self.0.get(&committee)?;
        terms.iter().take_while(|(start, _)| *start <= date).last().map(|(_, n)| *n)
    }

    /// A term's first day and the next term's first day (None for the current term).
    pub fn span(&self, committee: uuid::Uuid, number: u32) -> Option<(NaiveDate, Option<NaiveDate>)> {
        let terms = self.0.get(&committee)?;
        let i = terms.iter().position(|(_, n)| *n == number)?;
        Some((terms[i].0, terms.get(i + 1).map(|(start, _)| *start)))
    }

    /// The calendar years a term spans, through `today`'s year for the current term.
    pub fn years(&self, committee: uuid::Uuid, number: u32, today: NaiveDate) -> Option<Vec<i32>> {
        let (start, next) = self.span(committee, number)?;
        let last = match next {
            Some(next) => next.pred_opt().unwrap_or(next).year(),
            None => today.year(),
        };
        Some((start.year()..=Ord::max(last, start.year())).collect())
    }
}

/// Every counter metric, in display order.
pub const METRICS: &[&str] = &[
    "proposals_submitted",
    "proposals_filed",
    "proposals_declined",
    "proposals_assigned",
    "proposals_replied",
    "proposals_replied_on_time",
    "reply_class_a",
    "reply_class_b",
    "reply_class_c",
    "proposals_rated",
    "rated_satisfied",
    "rated_basically_satisfied",
    "rated_dissatisfied",
    "proposals_overdue",
    "information_submitted",
    "information_adopted",
    "information_adopted_upward",
    "information_instructed",
    "attendance_present",
    "attendance_on_leave",
    "attendance_absent",
    "consultations_held",
    "consultations_held_plenary",
    "consultations_held_standing_committee_topic",
    "consultations_held_please_consult",
    "consultations_held_counterpart",
    "consultations_held_sector_round_table",
    "consultations_held_proposal_handling",
    "consultations_held_grassroots",
    "consultations_held_other",
    "suggestions_fed_back",
    "suggestions_adopted",
    "suggestions_partly_adopted",
    "suggestions_not_adopted",
    "suggestions_carried_to_proposals",
    "suggestions_carried_to_information",
    "supervision_problems_reported",
    "supervision_problems_rectified",
    "supervision_problems_not_rectified",
    "studio_requests_drafted",
    "studio_requests_to_proposals",
    "studio_requests_to_information",
    "members_enrolled",
    "members_departed",
    "reporting_due",
    "reported_on_site",
    "reported_by_video",
    "not_reported",
    "reports_excellent",
    "performance_entries",
    "performance_points",
];

/// The family of a metric added after the first slice; `None` for the first
/// slice's (proposals, information, attendance).
pub fn later_family(metric: &str) -> Option<&'static str> {
    if metric.starts_with("consultations_") || metric.starts_with("suggestions_") {
        Some("consultation")
    } else if metric.starts_with("supervision_") {
        Some("supervision")
    } else if metric.starts_with("studio_") {
        Some("studios")
    } else if metric.starts_with("members_") {
        Some("membership")
    } else if matches!(
        metric,
        "reporting_due" | "reported_on_site" | "reported_by_video" | "not_reported" | "reports_excellent"
    ) {
        Some("reporting")
    } else if metric.starts_with("performance_") {
        Some("performance")
    } else {
        None
    }
}

/// The counter of consultations held of one type (`ConsultationActivityHeld.consultation_type`).
pub fn consultations_held_of(consultation_type: &str) -> &'static str {
    match consultation_type {
        "PLENARY" => "consultations_held_plenary",
        "STANDING_COMMITTEE_TOPIC" => "consultations_held_standing_committee_topic",
        "PLEASE_CONSULT" => "consultations_held_please_consult",
        "COUNTERPART" => "consultations_held_counterpart",
        "SECTOR_ROUND_TABLE" => "consultations_held_sector_round_table",
        "PROPOSAL_HANDLING" => "consultations_held_proposal_handling",
        "GRASSROOTS" => "consultations_held_grassroots",
        _ => "consultations_held_other",
    }
}

/// Every derived rate: name, numerator metrics (summed), denominator metrics (summed).
pub const RATES: &[(&str, &[&str], &[&str])] = &[
    ("filing_rate", &["proposals_filed"], &["proposals_submitted"]),
    ("on_time_reply_rate", &["proposals_replied_on_time"], &["proposals_replied"]),
    ("reply_class_a_share", &["reply_class_a"], &["proposals_replied"]),
    ("reply_class_b_share", &["reply_class_b"], &["proposals_replied"]),
    ("reply_class_c_share", &["reply_class_c"], &["proposals_replied"]),
    ("satisfaction_rate", &["rated_satisfied", "rated_basically_satisfied"], &["proposals_rated"]),
    ("attendance_rate", &["attendance_present"], &["attendance_present", "attendance_on_leave", "attendance_absent"]),
    ("information_adoption_rate", &["information_adopted"], &["information_submitted"]),
    // As the consultation service's AdoptionRate: adopted and partly adopted over those with feedback.
    ("suggestion_adoption_rate", &["suggestions_adopted", "suggestions_partly_adopted"], &["suggestions_fed_back"]),
    ("rectification_rate", &["supervision_problems_rectified"], &["supervision_problems_reported"]),
    // Annual reporting (述职), as the reporting service's campaign statistics and
    // DOMAIN.md: on site over due (宁晋 263 / 268 ≈ 98%); reported at all (on
    // site or by video) over due; excellent (best final score ≥ 90) over those
    // who reported on site, since only on-site reports are scored (宁晋 54 / 263 ≈ 20%).
    ("reporting_on_site_rate", &["reported_on_site"], &["reporting_due"]),
    ("reporting_rate", &["reported_on_site", "reported_by_video"], &["reporting_due"]),
    ("excellence_rate", &["reports_excellent"], &["reported_on_site"]),
];

/// A metric or rate name a caller may rank or chart by.
pub fn check_measure(field: &'static str, name: &str) -> Result<()> {
    if METRICS.contains(&name) || RATES.iter().any(|(r, _, _)| *r == name) {
        Ok(())
    } else {
        Err(AnalyticsError::invalid(field, format!("{name:?} is not a metric or rate")))
    }
}

/// A rate computed at read time; a zero denominator gives 0, flagged.
#[derive(Clone, Debug, PartialEq)]
pub struct Rate {
    pub name: &'static str,
    pub numerator: i64,
    pub denominator: i64,
    pub value: f64,
    pub undefined: bool,
}

/// The counters of one committee, rollup and period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts(pub BTreeMap<String, i64>);

impl Counts {
    pub fn get(&self, metric: &str) -> i64 {
        self.0.get(metric).copied().unwrap_or(0)
    }

    pub fn add(&mut self, metric: &str, by: i64) {
        *self.0.entry(metric.to_owned()).or_default() += by;
    }

    /// Every metric of the proposals, information and attendance families,
    /// zeros included; the metrics of a later family (consultation,
    /// supervision, studios, membership, reporting, performance) when any of
    /// that family's counters is non-zero,
    /// so committees that do not use it read the figures they always did.
    pub fn all(&self) -> Vec<(&'static str, i64)> {
        let used: Vec<&str> = METRICS.iter().filter(|m| self.get(m) != 0).filter_map(|m| later_family(m)).collect();
        METRICS
            .iter()
            .filter(|m| later_family(m).is_none_or(|f| used.contains(&f)))
            .map(|m| (*m, self.get(m)))
            .collect()
    }

    pub fn rates(&self) -> Vec<Rate> {
        RATES
            .iter()
            .map(|(name, num, den)| {
                let numerator: i64 = num.iter().map(|m| self.get(m)).sum();
                let denominator: i64 = den.iter().map(|m| self.get(m)).sum();
                let undefined = denominator == 0;
                let value = if undefined { 0.0 } else { numerator as f64 / denominator as f64 };
                Rate { name, numerator, denominator, value, undefined }
            })
            .collect()
    }

    /// A metric's count or a rate's value, and whether it is undefined.
    pub fn measure(&self, name: &str) -> (f64, bool) {
        match self.rates().into_iter().find(|r| r.name == name) {
            Some(rate) => (rate.value, rate.undefined),
            None => (self.get(name) as f64, false),
        }
    }
}

/// The figures of one committee, rollup and period.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub committee_id: uuid::Uuid,
    pub period: Period,
    pub rollup: Rollup,
    pub counts: Counts,
}

/// One direct child in a breakdown.
#[derive(Clone, Debug, PartialEq)]
pub struct BreakdownRow {
    pub rank: i32,
    pub committee_id: uuid::Uuid,
    pub code: String,
    pub name: String,
    pub value: f64,
    pub previous_value: f64,
    pub undefined: bool,
    pub figures: Figures,
}

/// Orders rows by value, highest first (undefined rates last), then by
/// division code, and numbers them from 1.
pub fn rank(rows: &mut [BreakdownRow]) {
    rows.sort_by(|a, b| {
        a.undefined
            .cmp(&b.undefined)
            .then(b.value.partial_cmp(&a.value).unwrap_or(std::cmp::Ordering::Equal))
            .then(a.code.cmp(&b.code))
    });
    for (i, row) in rows.iter_mut().enumerate() {
        row.rank = i as i32 + 1;
    }
}

/// One thing to count: a metric of a committee at an instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fact {
    pub committee: uuid::Uuid,
    pub metric: &'static str,
    pub at: DateTime<Utc>,
    /// How much the fact adds: 1 for a count, the points for a sum.
    pub value: i64,
}

/// One thing to count for one member, in the member's own committee only
/// (member counters are never rolled up the tree).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberFact {
    pub committee: uuid::Uuid,
    pub member: uuid::Uuid,
    pub metric: &'static str,
    pub at: DateTime<Utc>,
    pub value: i64,
}

/// What one event contributes: committee counters, member counters, and a
/// term to record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFacts {
    pub counts: Vec<Fact>,
    pub members: Vec<MemberFact>,
    pub term: Option<OpenedTerm>,
}

impl EventFacts {
    /// Whether the event adds to any counter (and so is recorded as applied).
    pub fn counts_anything(&self) -> bool {
        !self.counts.is_empty() || !self.members.is_empty()
    }
}

/// Member-level metrics, in display order: the performance record's points
/// and entries (in total and by kind, from `PerformanceEntryRecorded`) and
/// attendance (from `AttendanceRecorded`).
pub const MEMBER_METRICS: &[&str] = &[
    "performance_points",
    "performance_entries",
    "proposal_entries",
    "information_entries",
    "meeting_entries",
    "speech_entries",
    "inspection_entries",
    "consultation_entries",
    "service_entries",
    "attendance_present",
    "attendance_on_leave",
    "attendance_absent",
];

/// The member metric of a performance-record entry kind (`RecordKind` without prefix).
pub fn member_entries_of(kind: &str) -> Option<&'static str> {
    match kind {
        "PROPOSALS" => Some("proposal_entries"),
        "INFORMATION" => Some("information_entries"),
        "MEETINGS" => Some("meeting_entries"),
        "SPEECHES" => Some("speech_entries"),
        "INSPECTIONS" => Some("inspection_entries"),
        "CONSULTATIONS" => Some("consultation_entries"),
        "SERVICE" => Some("service_entries"),
        _ => None,
    }
}

/// A member metric a caller may rank by.
pub fn check_member_metric(field: &'static str, name: &str) -> Result<()> {
    if MEMBER_METRICS.contains(&name) {
        Ok(())
    } else {
        Err(AnalyticsError::invalid(field, format!("{name:?} is not a member metric ({})", MEMBER_METRICS.join(", "))))
    }
}

/// One member's place in a ranking of their committee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberPlace {
    /// 1 is the highest value; equal values share a rank (1, 1, 3).
    pub rank: i32,
    pub member_id: uuid::Uuid,
    pub name: String,
    pub value: i64,
}

impl MemberPlace {
    /// The place's sort key, for page tokens: value, name, id.
    pub fn key(&self) -> String {
        format!("{}:{}:{}", self.value, self.name, self.member_id)
    }

    /// Whether this place comes after the one with `key` in ranking order.
    pub fn after(&self, key: &str) -> Option<bool> {
        let (value, rest) = key.split_once(':')?;
        let (name, id) = rest.rsplit_once(':')?;
        let value: i64 = value.parse().ok()?;
        let id = uuid::Uuid::parse_str(id).ok()?;
        Some((std::cmp::Reverse(self.value), self.name.as_str(), self.member_id) > (std::cmp::Reverse(value), name, id))
    }
}

/// Orders members by value, highest first, then by name and id, and gives
/// them competition ranks (equal values share a rank), as the membership
/// service's group ranking does.
pub fn rank_members(rows: Vec<(uuid::Uuid, String, i64)>) -> Vec<MemberPlace> {
    let mut rows = rows;
    rows.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)).then(a.0.cmp(&b.0)));
    let mut out: Vec<MemberPlace> = Vec::with_capacity(rows.len());
    for (i, (member_id, name, value)) in rows.into_iter().enumerate() {
        let rank = match out.last() {
            Some(last) if last.value == value => last.rank,
            _ => i as i32 + 1,
        };
        out.push(MemberPlace { rank, member_id, name, value });
    }
    out
}

/// The ancestors in a materialized path "/a/b/c/" (ids parsed), root first.
pub fn path_ids(path: &str) -> Vec<uuid::Uuid> {
    path.split('/').filter_map(|s| uuid::Uuid::parse_str(s).ok()).collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn periods_parse_and_print() {
        for s in ["2025", "2025-Q1", "2025-Q4", "2025-01", "2025-12"] {
            assert_eq!(Period::parse("period", s).unwrap().to_string(), s);
        }
        for s in ["", "25", "2025-Q5", "2025-Q0", "2025-13", "2025-00", "2025-1", "2025-q1", "abcd", "2025-03-01"] {
            match Period::parse("period", s) {
                Err(AnalyticsError::Invalid { field: "period", .. }) => {}
                other => panic!("{s:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn terms_parse_print_and_key_their_children() {
        assert_eq!(Period::parse("period", "T10").unwrap(), Period::Term(10));
        assert_eq!(Period::Term(10).to_string(), "T10");
        assert_eq!(Period::parse("period", "T1").unwrap().previous(), Period::Term(0));
        assert_eq!(Period::Term(14).previous().to_string(), "T13");
        assert_eq!(Period::Term(14).child_key(), "P14");
        assert_eq!(Period::Year(2025).child_key(), "2025");
        assert_eq!(Period::Term(MAX_TERM).to_string().len(), 4, "fits the 8-character period column");
        for s in ["T0", "T101", "T010", "T", "t10", "T+1", "T1.5", "T 10", "10"] {
            match Period::parse("period", s) {
                Err(AnalyticsError::Invalid { field: "period", .. }) => {}
                Ok(Period::Year(_)) if s == "10" => panic!("{s:?} is not a year"),
                other => panic!("{s:?}: {other:?}"),
            }
        }
    }

    /// 宁晋县政协: 第九届 from 2016-12-20, 第十届 from 2021-12-15.
    fn ningjin_terms() -> (uuid::Uuid, Terms) {
        let ningjin = uuid::Uuid::from_u128(0x130528);
        let mut terms = Terms::default();
        // Recorded out of order: the start dates decide.
        terms.open(ningjin, 10, NaiveDate::from_ymd_opt(2021, 12, 15).unwrap());
        terms.open(ningjin, 9, NaiveDate::from_ymd_opt(2016, 12, 20).unwrap());
        (ningjin, terms)
    }

    #[test]
    fn an_events_term_starts_on_its_first_day_and_ends_before_the_next() {
        let (ningjin, terms) = ningjin_terms();
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(terms.at(ningjin, day(2016, 12, 19)), None, "before the first term");
        assert_eq!(terms.at(ningjin, day(2016, 12, 20)), Some(9));
        assert_eq!(terms.at(ningjin, day(2021, 12, 14)), Some(9));
        assert_eq!(terms.at(ningjin, day(2021, 12, 15)), Some(10));
        assert_eq!(terms.at(ningjin, day(2030, 1, 1)), Some(10), "the current term has no end");
        assert_eq!(terms.at(uuid::Uuid::nil(), day(2022, 1, 1)), None, "a committee without terms");
        assert_eq!(terms.span(ningjin, 9), Some((day(2016, 12, 20), Some(day(2021, 12, 15)))));
        assert_eq!(terms.span(ningjin, 11), None);
        assert_eq!(terms.years(ningjin, 9, day(2026, 5, 1)), Some((2016..=2021).collect()));
        assert_eq!(terms.years(ningjin, 10, day(2026, 5, 1)), Some((2021..=2026).collect()));
        // A term ending on 1 January does not reach into that year.
        let mut t = terms.clone();
        t.open(ningjin, 11, day(2027, 1, 1));
        assert_eq!(t.years(ningjin, 10, day(2030, 1, 1)), Some((2021..=2026).collect()));
        // An instant late on 14 December UTC is already the 15th in Beijing.
        let at = chrono::Utc.with_ymd_and_hms(2021, 12, 14, 16, 30, 0).unwrap();
        assert_eq!(terms.at(ningjin, local_date(at)), Some(10));
    }

    #[test]
    fn members_rank_by_value_with_shared_ranks_and_pages_continue_after_a_key() {
        let id = |n: u128| uuid::Uuid::from_u128(n);
        let ranked = rank_members(vec![
            (id(1), "王建军".into(), 12),
            (id(2), "李文静".into(), 20),
            (id(3), "张立新".into(), 12),
            (id(4), "赵丽华".into(), 0),
        ]);
        let order: Vec<(i32, &str, i64)> = ranked.iter().map(|p| (p.rank, p.name.as_str(), p.value)).collect();
        // Ties share a rank and are ordered by name (code points: 张 before 王).
        assert_eq!(order, vec![(1, "李文静", 20), (2, "张立新", 12), (2, "王建军", 12), (4, "赵丽华", 0)]);
        let key = ranked[1].key();
        let after: Vec<bool> = ranked.iter().map(|p| p.after(&key).unwrap()).collect();
        assert_eq!(after, vec![false, false, true, true]);
        assert_eq!(ranked[0].after("nonsense"), None);
        assert!(check_member_metric("metric", "performance_points").is_ok());
        assert!(matches!(
            check_member_metric("metric", "proposals_filed"),
            Err(AnalyticsError::Invalid { field: "metric", .. })
        ));
        for kind in ["PROPOSALS", "INFORMATION", "MEETINGS", "SPEECHES", "INSPECTIONS", "CONSULTATIONS", "SERVICE"] {
            assert!(MEMBER_METRICS.contains(&member_entries_of(kind).unwrap()), "{kind}");
        }
        assert_eq!(member_entries_of("OTHER"), None);
    }

    #[test]
    fn previous_periods_cross_years() {
        assert_eq!(Period::Year(2025).previous(), Period::Year(2024));
        assert_eq!(Period::Quarter(2025, 1).previous(), Period::Quarter(2024, 4));
        assert_eq!(Period::Quarter(2025, 3).previous(), Period::Quarter(2025, 2));
        assert_eq!(Period::Month(2025, 1).previous(), Period::Month(2024, 12));
        assert_eq!(Period::Month(2025, 7).previous(), Period::Month(2025, 6));
    }

    #[test]
    fn instants_fall_in_china_standard_time_periods() {
        // 2025-03-31 17:00 UTC is 2025-04-01 01:00 in Beijing.
        let at = Utc.with_ymd_and_hms(2025, 3, 31, 17, 0, 0).unwrap();
        assert_eq!(Period::containing(at), [Period::Year(2025), Period::Quarter(2025, 2), Period::Month(2025, 4)]);
        let at = Utc.with_ymd_and_hms(2024, 12, 31, 15, 59, 59).unwrap();
        assert_eq!(Period::containing(at), [Period::Year(2024), Period::Quarter(2024, 4), Period::Month(2024, 12)]);
    }

    #[test]
    fn rates_with_zero_denominators_are_zero_and_flagged() {
        let mut c = Counts::default();
        c.add("proposals_submitted", 4);
        c.add("proposals_filed", 3);
        c.add("proposals_rated", 4);
        c.add("rated_satisfied", 2);
        c.add("rated_basically_satisfied", 1);
        let rates = c.rates();
        let get = |n: &str| rates.iter().find(|r| r.name == n).unwrap().clone();
        assert_eq!((get("filing_rate").value, get("filing_rate").undefined), (0.75, false));
        assert_eq!(get("satisfaction_rate").value, 0.75);
        let on_time = get("on_time_reply_rate");
        assert_eq!((on_time.value, on_time.undefined, on_time.denominator), (0.0, true, 0));
        assert_eq!(c.measure("proposals_filed"), (3.0, false));
        assert_eq!(c.measure("attendance_rate"), (0.0, true));
        assert!(check_measure("metric", "filing_rate").is_ok());
        assert!(check_measure("metric", "nonsense").is_err());
        assert!(check_measure("metric", "suggestion_adoption_rate").is_ok());
        assert!(check_measure("metric", "consultations_held_please_consult").is_ok());
    }

    #[test]
    fn consultation_rates_follow_the_consultation_service() {
        let mut c = Counts::default();
        c.add("suggestions_fed_back", 4);
        c.add("suggestions_adopted", 2);
        c.add("suggestions_partly_adopted", 1);
        c.add("supervision_problems_reported", 3);
        c.add("supervision_problems_rectified", 1);
        assert_eq!(c.measure("suggestion_adoption_rate"), (0.75, false));
        let (rate, undefined) = c.measure("rectification_rate");
        assert!((rate - 1.0 / 3.0).abs() < 1e-9 && !undefined);
        for t in ["PLENARY", "PLEASE_CONSULT", "SECTOR_ROUND_TABLE", "GRASSROOTS", "OTHER", "?"] {
            assert!(METRICS.contains(&consultations_held_of(t)), "{t}");
        }
        assert_eq!(consultations_held_of("COUNTERPART"), "consultations_held_counterpart");
        // A family shows up whole once one of its counters is used.
        let names: Vec<&str> = c.all().into_iter().map(|(m, _)| m).collect();
        assert!(names.contains(&"suggestions_not_adopted") && names.contains(&"consultations_held_other"));
        assert!(names.contains(&"supervision_problems_not_rectified"));
        assert!(!names.iter().any(|m| m.starts_with("studio_")));
        assert!(names.contains(&"proposals_overdue"));
        assert_eq!(Counts::default().all().len(), 21);
    }

    #[test]
    fn reporting_rates_follow_the_ningjin_campaign() {
        // 宁晋: 268 due, 263 on site, 5 by video (none missing), 54 scored 90 or more.
        let mut c = Counts::default();
        c.add("reporting_due", 268);
        c.add("reported_on_site", 263);
        c.add("reported_by_video", 5);
        c.add("reports_excellent", 54);
        let (on_site, undefined) = c.measure("reporting_on_site_rate");
        assert!((on_site - 263.0 / 268.0).abs() < 1e-9 && !undefined, "{on_site}");
        assert_eq!(c.measure("reporting_rate"), (1.0, false));
        let (excellent, _) = c.measure("excellence_rate");
        assert!((excellent - 54.0 / 263.0).abs() < 1e-9, "{excellent}");
        let rates = c.rates();
        let excellence = rates.iter().find(|r| r.name == "excellence_rate").unwrap();
        assert_eq!((excellence.numerator, excellence.denominator), (54, 263));
        // Nobody due, nobody on site: undefined, not zero.
        let empty = Counts::default();
        for rate in ["reporting_on_site_rate", "reporting_rate", "excellence_rate"] {
            assert_eq!(empty.measure(rate), (0.0, true), "{rate}");
            assert!(check_measure("metric", rate).is_ok());
        }
        for metric in ["members_enrolled", "not_reported", "performance_points", "reports_excellent"] {
            assert!(check_measure("metric", metric).is_ok(), "{metric}");
        }
    }

    #[test]
    fn membership_families_show_up_once_used() {
        assert_eq!(later_family("members_departed"), Some("membership"));
        assert_eq!(later_family("reporting_due"), Some("reporting"));
        assert_eq!(later_family("reported_by_video"), Some("reporting"));
        assert_eq!(later_family("not_reported"), Some("reporting"));
        assert_eq!(later_family("reports_excellent"), Some("reporting"));
        assert_eq!(later_family("performance_points"), Some("performance"));
        assert_eq!(later_family("reply_class_a"), None, "a first-slice metric stays always listed");
        let mut c = Counts::default();
        c.add("performance_points", 5);
        let names: Vec<&str> = c.all().into_iter().map(|(m, _)| m).collect();
        assert!(names.contains(&"performance_entries") && names.contains(&"performance_points"));
        assert!(!names.contains(&"members_enrolled") && !names.contains(&"reporting_due"));
        // A make-up session's negative change to not_reported still shows the family.
        let mut c = Counts::default();
        c.add("not_reported", -1);
        let names: Vec<&str> = c.all().into_iter().map(|(m, _)| m).collect();
        assert!(names.contains(&"reported_on_site"));
    }

    #[test]
    fn ranking_puts_undefined_last_and_breaks_ties_by_code() {
        let figures = Figures {
            committee_id: uuid::Uuid::nil(),
            period: Period::Year(2025),
            rollup: Rollup::Subtree,
            counts: Counts::default(),
        };
        let row = |code: &str, value: f64, undefined: bool| BreakdownRow {
            rank: 0,
            committee_id: uuid::Uuid::nil(),
            code: code.into(),
            name: String::new(),
            value,
            previous_value: 0.0,
            undefined,
            figures: figures.clone(),
        };
        let mut rows = vec![row("130522", 0.0, true), row("130528", 0.5, false), row("130521", 0.5, false)];
        rank(&mut rows);
        let order: Vec<(&str, i32)> = rows.iter().map(|r| (r.code.as_str(), r.rank)).collect();
        assert_eq!(order, vec![("130521", 1), ("130528", 2), ("130522", 3)]);
    }

    #[test]
    fn paths_split_into_ids() {
        let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        assert_eq!(path_ids(&format!("/{a}/{b}/")), vec![a, b]);
    }
}
