//! Plain domain types and rules of the roster and the performance record:
//! ID-number and phone validation, masking, default points, group ranking.
//! Unit-tested without a database. No type here derives `Serialize`.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use uuid::Uuid;
use xieshang_platform::ids::{CommitteeId, UserId};

use crate::error::{MembershipError, Result};

macro_rules! small_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $n:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(i16)]
        pub enum $name { $($variant = $n),+ }

        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// The variant stored as `n` (numbers match the protobuf enum's).
            pub fn from_i16(n: i16) -> Option<Self> {
                match n {
                    $($n => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

pub mod projects;
pub mod reporting;
pub mod studios;

small_enum!(
    /// Which list a reference item belongs to.
    ReferenceKind { Sector = 1, ActivityGroup = 2, SpecialCommittee = 3, LiaisonStation = 4 }
);
small_enum!(Gender { Male = 1, Female = 2 });
small_enum!(
    /// 中共, the eight democratic parties, 无党派, 群众.
    Party { Cpc = 1, Rcck = 2, Cdl = 3, Cndca = 4, Capd = 5, Cpwdp = 6, Czgp = 7, Js = 8, Tdsl = 9, NonPartisan = 10, Masses = 11 }
);
small_enum!(
    /// 主席, 副主席, 秘书长, 常委, 委员.
    MemberRole { Chair = 1, ViceChair = 2, SecretaryGeneral = 3, StandingMember = 4, Member = 5 }
);
small_enum!(MemberStatus { Serving = 1, Resigned = 2, Dismissed = 3 });
small_enum!(
    /// The seven kinds of performance-record entries.
    RecordKind { Meetings = 1, Proposals = 2, Information = 3, Speeches = 4, Inspections = 5, Consultations = 6, Service = 7 }
);
small_enum!(RecordSource { Automatic = 1, Staff = 2 });

impl ReferenceKind {
    pub fn noun(self) -> &'static str {
        match self {
            ReferenceKind::Sector => "sector",
            ReferenceKind::ActivityGroup => "activity group",
            ReferenceKind::SpecialCommittee => "special committee",
            ReferenceKind::LiaisonStation => "liaison station",
        }
    }
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Serving => "SERVING",
            MemberStatus::Resigned => "RESIGNED",
            MemberStatus::Dismissed => "DISMISSED",
        }
    }
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Meetings => "MEETINGS",
            RecordKind::Proposals => "PROPOSALS",
            RecordKind::Information => "INFORMATION",
            RecordKind::Speeches => "SPEECHES",
            RecordKind::Inspections => "INSPECTIONS",
            RecordKind::Consultations => "CONSULTATIONS",
            RecordKind::Service => "SERVICE",
        }
    }

    /// Points of an entry when the committee set no rule for the year.
    pub fn default_points(self) -> i32 {
        match self {
            RecordKind::Meetings => 2,
            RecordKind::Proposals => 5,
            RecordKind::Information => 3,
            RecordKind::Speeches => 5,
            RecordKind::Inspections => 3,
            RecordKind::Consultations => 3,
            RecordKind::Service => 2,
        }
    }
}

/// A sector, activity group, special committee or liaison station.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceItem {
    pub id: Uuid,
    pub committee_id: CommitteeId,
    pub kind: ReferenceKind,
    pub code: Option<String>,
    pub name: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A member as the API shows them: phone and ID number already masked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: Uuid,
    pub committee_id: CommitteeId,
    pub profile: Profile,
    pub masked_phone: String,
    pub masked_id_number: String,
    pub status: MemberStatus,
    pub status_date: Option<NaiveDate>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The editable, non-secret fields of a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub gender: Gender,
    pub ethnicity: String,
    pub birth_year: i32,
    pub party: Party,
    pub sector_id: Uuid,
    pub work_unit: String,
    pub title: String,
    pub term_number: i32,
    pub role: MemberRole,
    pub standing_committee: bool,
    pub activity_group_id: Option<Uuid>,
    pub special_committee_id: Option<Uuid>,
    pub liaison_station_id: Option<Uuid>,
    pub user_id: Option<UserId>,
}

/// A new member: the profile plus the personal information in clear.
#[derive(Clone, Debug)]
pub struct NewMember {
    pub profile: Profile,
    pub phone: String,
    pub id_number: String,
}

/// One status change of a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChange {
    pub from: MemberStatus,
    pub to: MemberStatus,
    pub effective_date: NaiveDate,
    pub reason: String,
    pub changed_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// One entry of a performance record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordEntry {
    pub id: Uuid,
    pub member_id: Uuid,
    pub kind: RecordKind,
    pub date: NaiveDate,
    pub points: i32,
    pub description: String,
    pub evidence_ref: String,
    pub source: RecordSource,
    pub source_event_id: Option<Uuid>,
    pub verified_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// Points per kind for one year, every kind present, in kind order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointRules {
    pub year: i32,
    pub rules: Vec<(RecordKind, i32)>,
}

impl PointRules {
    pub fn defaults(year: i32) -> Self {
        Self { year, rules: RecordKind::ALL.iter().map(|k| (*k, k.default_points())).collect() }
    }

    pub fn points(&self, kind: RecordKind) -> i32 {
        self.rules.iter().find(|(k, _)| *k == kind).map_or(kind.default_points(), |(_, p)| *p)
    }
}

/// A member's own view of a year.
#[derive(Clone, Debug)]
pub struct MyRecord {
    pub member: Member,
    pub year: i32,
    pub entries: Vec<RecordEntry>,
    pub total_points: i32,
    pub group_rank: i32,
    pub group_size: i32,
    /// (rank, name), best first.
    pub ranking: Vec<(i32, String)>,
}

pub fn etag(version: i32) -> String {
    format!("W/\"{version}\"")
}

/// Trimmed text of at most `max` characters; `required` refuses empty text.
pub fn text(field: &'static str, value: &str, max: usize, required: bool) -> Result<String> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(MembershipError::invalid(field, "is required"));
    }
    if value.chars().count() > max {
        return Err(MembershipError::invalid(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(MembershipError::invalid(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// A reference item's code: 1-10 ASCII letters or digits.
pub fn code(field: &'static str, value: &str) -> Result<String> {
    let value = value.trim();
    if value.is_empty() || value.len() > 10 || !value.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(MembershipError::invalid(field, "must be 1-10 letters or digits"));
    }
    Ok(value.to_owned())
}

/// A mainland mobile number: 11 digits starting with 1 (spaces and dashes ignored).
pub fn phone(field: &'static str, value: &str) -> Result<String> {
    let digits: String = value.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() != 11 || !digits.starts_with('1') || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(MembershipError::invalid(field, "must be an 11-digit mobile number starting with 1"));
    }
    Ok(digits)
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// The check character (GB 11643, ISO 7064 MOD 11-2) of an ID number's first 17 digits.
pub fn id_check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 || !first17.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first17.bytes().zip(ID_WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    Some(ID_CHECK[(sum % 11) as usize] as char)
}

/// A resident ID number (居民身份证号码): 18 characters, a real birth date and
/// a matching check character. Returns it normalized (upper-case X) with the
/// birth year.
pub fn id_number(field: &'static str, value: &str) -> Result<(String, i32)> {
    let value = value.trim().to_ascii_uppercase();
    if value.len() != 18 || !value.is_ascii() {
        return Err(MembershipError::invalid(field, "must be 18 characters"));
    }
    let (first17, check) = value.split_at(17);
    let Some(expected) = id_check_char(first17) else {
        return Err(MembershipError::invalid(field, "the first 17 characters must be digits"));
    };
    let birth = NaiveDate::parse_from_str(&first17[6..14], "%Y%m%d")
        .ok()
        .filter(|d| (1900..=2100).contains(&d.year()))
        .ok_or_else(|| MembershipError::invalid(field, "does not contain a valid birth date"))?;
    if !check.starts_with(expected) {
        return Err(MembershipError::invalid(field, "check digit does not match"));
    }
    Ok((value, birth.year()))
}

/// `138****5678` — the platform's masking, one rule for every service.
pub use xieshang_platform::pii::mask_phone;

/// `130528********1234`.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 11 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}

/// Standard competition ranking ("1224"): best first, equal totals share a
/// rank, ties broken by name for a stable order.
pub fn rank<T: Clone>(mut totals: Vec<(T, String, i32)>) -> Vec<(T, String, i32, i32)> {
    totals.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
    let mut out: Vec<(T, String, i32, i32)> = Vec::with_capacity(totals.len());
    for (i, (key, name, points)) in totals.into_iter().enumerate() {
        let rank = match out.last() {
            Some(prev) if prev.2 == points => prev.3,
            _ => i as i32 + 1,
        };
        out.push((key, name, points, rank));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_check(first17: &str) -> String {
        format!("{first17}{}", id_check_char(first17).unwrap())
    }

    #[test]
    fn id_numbers_are_checked() {
        // The GB 11643 example.
        assert_eq!(id_check_char("11010519491231002"), Some('X'));
        let (id, year) = id_number("member.id_number", "11010519491231002x").unwrap();
        assert_eq!((id.as_str(), year), ("11010519491231002X", 1949));
        let good = with_check("13052819780315123");
        assert_eq!(id_number("f", &good).unwrap().1, 1978);
        let last = good.chars().last().unwrap();
        let wrong = if last == '0' { '1' } else { '0' };
        let bad = format!("{}{wrong}", &good[..17]);
        assert!(id_number("f", &bad).unwrap_err().to_string().contains("check digit"));
        assert!(id_number("f", "1305281978").is_err());
        assert!(id_number("f", &with_check("13052819781315123")).is_err(), "month 13");
    }

    #[test]
    fn phones_and_masks() {
        assert_eq!(phone("p", "138-1234-5678").unwrap(), "13812345678");
        assert!(phone("p", "2381234567").is_err());
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_id_number("130528197803151234"), "130528********1234");
    }

    #[test]
    fn ranking_shares_ranks_on_ties() {
        let ranked = rank(vec![(1, "乙".into(), 5), (2, "甲".into(), 9), (3, "丙".into(), 5), (4, "丁".into(), 0)]);
        let ranks: Vec<(i32, i32)> = ranked.iter().map(|r| (r.0, r.3)).collect();
        assert_eq!(ranks, vec![(2, 1), (3, 2), (1, 2), (4, 4)]);
    }

    #[test]
    fn default_rules_cover_every_kind() {
        let rules = PointRules::defaults(2026);
        assert_eq!(rules.rules.len(), 7);
        assert_eq!(rules.points(RecordKind::Proposals), 5);
    }
}
