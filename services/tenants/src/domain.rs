//! Plain domain types and the rules of the committee tree, free of storage
//! and wire types so they can be tested alone.

use chrono::{DateTime, NaiveDate, Utc};
use xieshang_platform::ids::{CommitteeId, UserId};
use xieshang_proto::common::v1::Role;

use crate::error::TenantsError;

/// Level of a committee. The tree is province → city → county.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// 省级 — provincial (also the four municipalities, e.g. 北京市).
    Provincial,
    /// 市级 — city or prefecture.
    City,
    /// 县级 — county, district or county-level city.
    County,
}

impl Level {
    pub fn from_i16(v: i16) -> Option<Self> {
        match v {
            1 => Some(Level::Provincial),
            2 => Some(Level::City),
            3 => Some(Level::County),
            _ => None,
        }
    }

    pub fn as_i16(self) -> i16 {
        match self {
            Level::Provincial => 1,
            Level::City => 2,
            Level::County => 3,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Level::Provincial => "provincial",
            Level::City => "city",
            Level::County => "county",
        }
    }
}

/// Province-level prefixes of GB/T 2260 that have a CPPCC local committee
/// (Hong Kong, Macao and Taiwan have none).
const PROVINCE_PREFIXES: &[u8] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63,
    64, 65,
];

/// 直辖市 — municipalities, whose districts sit directly below the province level.
const MUNICIPALITIES: &[&str] = &["11", "12", "31", "50"];

/// A GB/T 2260 six-digit administrative division code, e.g. "130528".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DivisionCode(String);

impl DivisionCode {
    pub fn parse(s: &str) -> Result<Self, TenantsError> {
        let s = s.trim();
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TenantsError::invalid("code", "must be a six-digit GB/T 2260 division code, e.g. 130528"));
        }
        let province: u8 = s[..2].parse().unwrap_or(0);
        if !PROVINCE_PREFIXES.contains(&province) {
            return Err(TenantsError::invalid("code", format!("{} is not a province-level division prefix", &s[..2])));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The level the code's shape implies.
    pub fn implied_level(&self) -> Level {
        if self.0.ends_with("0000") {
            Level::Provincial
        } else if self.0.ends_with("00") {
            Level::City
        } else {
            Level::County
        }
    }
}

/// What a parent must look like for a new committee.
#[derive(Clone, Debug)]
pub struct ParentInfo {
    pub code: DivisionCode,
    pub level: Level,
}

/// Checks level, code shape and parent together: a city's parent is a
/// province and its code shares the province's two-digit prefix; a county's
/// parent is a city and shares its four-digit prefix. Districts of the four
/// municipalities, and county-level units administered directly by a province
/// (codes xx90xx, e.g. 429004 仙桃市), sit under the province.
pub fn check_placement(code: &DivisionCode, level: Level, parent: Option<&ParentInfo>) -> Result<(), TenantsError> {
    if code.implied_level() != level {
        return Err(TenantsError::invalid(
            "code",
            format!(
                "{} is the code of a {} unit, not of a {} one",
                code.as_str(),
                code.implied_level().label(),
                level.label()
            ),
        ));
    }
    let c = code.as_str();
    match (level, parent) {
        (Level::Provincial, None) => Ok(()),
        (Level::Provincial, Some(_)) => Err(TenantsError::invalid("parent_id", "a provincial committee has no parent")),
        (_, None) => Err(TenantsError::invalid("parent_id", format!("a {} committee needs a parent", level.label()))),
        (Level::City, Some(p)) => {
            if p.level != Level::Provincial {
                return Err(TenantsError::invalid("parent_id", "a city committee's parent must be provincial"));
            }
            if c[..2] != p.code.as_str()[..2] {
                return Err(TenantsError::invalid("code", format!("{c} does not lie within {}", p.code.as_str())));
            }
            Ok(())
        }
        (Level::County, Some(p)) => match p.level {
            Level::City => {
                if c[..4] != p.code.as_str()[..4] {
                    return Err(TenantsError::invalid("code", format!("{c} does not lie within {}", p.code.as_str())));
                }
                Ok(())
            }
            Level::Provincial => {
                let prefix = &c[..2];
                if prefix != &p.code.as_str()[..2] {
                    return Err(TenantsError::invalid("code", format!("{c} does not lie within {}", p.code.as_str())));
                }
                if MUNICIPALITIES.contains(&prefix) || &c[2..4] == "90" {
                    Ok(())
                } else {
                    Err(TenantsError::invalid(
                        "parent_id",
                        "a county committee's parent must be a city, except in municipalities and for directly administered units (xx90xx)",
                    ))
                }
            }
            Level::County => Err(TenantsError::invalid("parent_id", "a county committee cannot have children")),
        },
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// A committee name: 2–40 characters, Chinese, no control characters.
pub fn committee_name(field: &'static str, s: &str) -> Result<String, TenantsError> {
    let s = s.trim();
    let count = s.chars().count();
    if !(2..=40).contains(&count) {
        return Err(TenantsError::invalid(field, "must be 2 to 40 characters"));
    }
    if !s.chars().any(is_cjk) {
        return Err(TenantsError::invalid(field, "must be a Chinese name, e.g. 宁晋县政协"));
    }
    if s.chars().any(char::is_control) {
        return Err(TenantsError::invalid(field, "must not contain control characters"));
    }
    Ok(s.to_owned())
}

/// Optional free text with a length limit.
pub fn short_text(field: &'static str, s: &str, max: usize) -> Result<String, TenantsError> {
    let s = s.trim();
    if s.chars().count() > max {
        return Err(TenantsError::invalid(field, format!("must be at most {max} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(TenantsError::invalid(field, "must not contain control characters"));
    }
    Ok(s.to_owned())
}

/// Sign-in name: 3–32 of letters, digits, '.', '_' and '-'; stored lower-case.
pub fn username(s: &str) -> Result<String, TenantsError> {
    let s = s.trim();
    let ok_len = (3..=32).contains(&s.len());
    let ok_chars = s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok_len || !ok_chars {
        return Err(TenantsError::invalid("username", "must be 3 to 32 letters, digits, '.', '_' or '-'"));
    }
    Ok(s.to_ascii_lowercase())
}

pub fn display_name(s: &str) -> Result<String, TenantsError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(TenantsError::invalid("display_name", "is required"));
    }
    short_text("display_name", s, 40)
}

pub fn new_password(field: &'static str, s: &str) -> Result<(), TenantsError> {
    let count = s.chars().count();
    if count < 10 {
        return Err(TenantsError::invalid(field, "must be at least 10 characters"));
    }
    if count > 128 {
        return Err(TenantsError::invalid(field, "must be at most 128 characters"));
    }
    Ok(())
}

/// Checks a role set for a user of a committee (`committee` true) or of the
/// platform, and returns it sorted without duplicates.
pub fn role_set(roles: &[i32], committee: bool) -> Result<Vec<Role>, TenantsError> {
    let mut out = Vec::new();
    for r in roles {
        let role = Role::try_from(*r)
            .ok()
            .filter(|r| *r != Role::Unspecified)
            .ok_or_else(|| TenantsError::invalid("roles", format!("{r} is not a role")))?;
        if committee && role == Role::PlatformOperator {
            return Err(TenantsError::invalid("roles", "a committee's user cannot be a platform operator"));
        }
        if !committee && role != Role::PlatformOperator {
            return Err(TenantsError::invalid("roles", "a platform user can only be a platform operator"));
        }
        if !out.contains(&role) {
            out.push(role);
        }
    }
    if out.is_empty() {
        return Err(TenantsError::invalid("roles", "at least one role is required"));
    }
    out.sort_by_key(|r| *r as i32);
    Ok(out)
}

/// A committee as the service works with it.
#[derive(Clone, Debug)]
pub struct Committee {
    pub id: CommitteeId,
    pub code: String,
    pub name: String,
    pub level: Level,
    pub parent_id: Option<CommitteeId>,
    pub parent_code: Option<String>,
    /// "/<province id>/<city id>/<own id>/".
    pub path: String,
    pub depth: i16,
    pub office_address: String,
    pub office_phone: String,
    pub suspended: bool,
    pub version: i32,
    pub current_term: Option<Term>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Committee {
    /// Ids of the ancestors, nearest first, read off the path.
    pub fn ancestor_ids(&self) -> Vec<CommitteeId> {
        ancestors_from_path(&self.path, self.id)
    }
}

pub fn ancestors_from_path(path: &str, own: CommitteeId) -> Vec<CommitteeId> {
    let mut ids: Vec<CommitteeId> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .filter_map(|s| uuid::Uuid::parse_str(s).ok().map(CommitteeId))
        .filter(|id| *id != own)
        .collect();
    ids.reverse();
    ids
}

#[derive(Clone, Debug)]
pub struct Term {
    pub id: uuid::Uuid,
    pub committee_id: CommitteeId,
    pub number: i32,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub latest_session_number: i32,
}

#[derive(Clone, Debug)]
pub struct PlenarySession {
    pub id: uuid::Uuid,
    pub term_id: uuid::Uuid,
    pub number: i32,
    pub start_date: NaiveDate,
}

#[derive(Clone, Debug)]
pub struct User {
    pub id: UserId,
    pub committee_id: Option<CommitteeId>,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub disabled: bool,
    pub must_change_password: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An etag from a row version; opaque to clients.
pub fn etag(version: i32) -> String {
    format!("\"v{version}\"")
}

/// Checks a client's etag (empty means "don't check").
pub fn check_etag(sent: &str, version: i32) -> Result<(), TenantsError> {
    if sent.is_empty() || sent == etag(version) { Ok(()) } else { Err(TenantsError::EtagMismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent(code: &str, level: Level) -> ParentInfo {
        ParentInfo { code: DivisionCode::parse(code).unwrap(), level }
    }

    fn field_of(err: TenantsError) -> &'static str {
        match err {
            TenantsError::Invalid { field, .. } => field,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn codes_must_be_six_digits_with_a_real_province_prefix() {
        assert!(DivisionCode::parse("130528").is_ok());
        assert_eq!(field_of(DivisionCode::parse("13052").unwrap_err()), "code");
        assert_eq!(field_of(DivisionCode::parse("13052X").unwrap_err()), "code");
        assert_eq!(field_of(DivisionCode::parse("990000").unwrap_err()), "code");
        assert_eq!(field_of(DivisionCode::parse("810000").unwrap_err()), "code");
    }

    #[test]
    fn the_hebei_chain_is_placed_correctly() {
        let hebei = DivisionCode::parse("130000").unwrap();
        let xingtai = DivisionCode::parse("130500").unwrap();
        let ningjin = DivisionCode::parse("130528").unwrap();
        check_placement(&hebei, Level::Provincial, None).unwrap();
        check_placement(&xingtai, Level::City, Some(&parent("130000", Level::Provincial))).unwrap();
        check_placement(&ningjin, Level::County, Some(&parent("130500", Level::City))).unwrap();
    }

    #[test]
    fn wrong_parents_and_shapes_are_refused() {
        let ningjin = DivisionCode::parse("130528").unwrap();
        // A county under another city.
        assert_eq!(
            field_of(check_placement(&ningjin, Level::County, Some(&parent("130100", Level::City))).unwrap_err()),
            "code"
        );
        // A county directly under a province that is not a municipality.
        assert_eq!(
            field_of(check_placement(&ningjin, Level::County, Some(&parent("130000", Level::Provincial))).unwrap_err()),
            "parent_id"
        );
        // A city code declared as a county.
        let xingtai = DivisionCode::parse("130500").unwrap();
        assert_eq!(
            field_of(check_placement(&xingtai, Level::County, Some(&parent("130000", Level::Provincial))).unwrap_err()),
            "code"
        );
        // A city under a province of another prefix.
        assert_eq!(
            field_of(check_placement(&xingtai, Level::City, Some(&parent("330000", Level::Provincial))).unwrap_err()),
            "code"
        );
        // A province with a parent, a city without one.
        let hebei = DivisionCode::parse("130000").unwrap();
        assert_eq!(
            field_of(
                check_placement(&hebei, Level::Provincial, Some(&parent("330000", Level::Provincial))).unwrap_err()
            ),
            "parent_id"
        );
        assert_eq!(field_of(check_placement(&xingtai, Level::City, None).unwrap_err()), "parent_id");
        // Nothing below a county.
        assert_eq!(
            field_of(check_placement(&ningjin, Level::County, Some(&parent("130528", Level::County))).unwrap_err()),
            "parent_id"
        );
    }

    #[test]
    fn municipal_districts_and_directly_administered_units_sit_under_the_province() {
        let dongcheng = DivisionCode::parse("110101").unwrap();
        check_placement(&dongcheng, Level::County, Some(&parent("110000", Level::Provincial))).unwrap();
        let xiantao = DivisionCode::parse("429004").unwrap();
        check_placement(&xiantao, Level::County, Some(&parent("420000", Level::Provincial))).unwrap();
    }

    #[test]
    fn names_must_be_chinese_and_of_sensible_length() {
        assert_eq!(committee_name("name", " 宁晋县政协 ").unwrap(), "宁晋县政协");
        assert_eq!(field_of(committee_name("name", "Ningjin").unwrap_err()), "name");
        assert_eq!(field_of(committee_name("name", "宁").unwrap_err()), "name");
        assert_eq!(field_of(committee_name("name", &"政".repeat(41)).unwrap_err()), "name");
    }

    #[test]
    fn usernames_are_normalized_and_checked() {
        assert_eq!(username("Zhang.JianGuo").unwrap(), "zhang.jianguo");
        assert!(username("张建国").is_err());
        assert!(username("ab").is_err());
    }

    #[test]
    fn role_sets_keep_operators_apart() {
        assert_eq!(
            role_set(&[Role::Staff as i32, Role::CommitteeAdmin as i32, Role::Staff as i32], true).unwrap(),
            vec![Role::CommitteeAdmin, Role::Staff]
        );
        assert!(role_set(&[Role::PlatformOperator as i32], true).is_err());
        assert!(role_set(&[Role::Staff as i32], false).is_err());
        assert!(role_set(&[], true).is_err());
        assert!(role_set(&[0], true).is_err());
        assert!(role_set(&[99], true).is_err());
    }

    #[test]
    fn ancestors_are_read_off_the_path_nearest_first() {
        let (p, c, k) = (CommitteeId::new(), CommitteeId::new(), CommitteeId::new());
        let path = format!("/{p}/{c}/{k}/");
        assert_eq!(ancestors_from_path(&path, k), vec![c, p]);
    }

    #[test]
    fn etags_must_match_when_sent() {
        assert!(check_etag("", 3).is_ok());
        assert!(check_etag(&etag(3), 3).is_ok());
        assert!(matches!(check_etag(&etag(2), 3), Err(TenantsError::EtagMismatch)));
    }
}
