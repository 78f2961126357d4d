//! Short command-line names of roles, levels and states, both ways.

use xieshang_proto::common::v1::{CommitteeLevel, Role};
use xieshang_proto::tenants::v1::CommitteeState;

/// Lower-case, with `_` and spaces turned into `-`.
fn canonical(text: &str) -> String {
    text.trim().to_lowercase().replace(['_', ' '], "-")
}

/// Parses a role: operator, admin, staff, member, judge, handling-unit
/// (case-insensitive; long forms like `committee-admin` and proto names like
/// `ROLE_STAFF` work too).
pub fn parse_role(text: &str) -> Result<Role, String> {
    let name = canonical(text);
    let name = name.strip_prefix("role-").unwrap_or(&name);
    match name {
        "operator" | "platform-operator" => Ok(Role::PlatformOperator),
        "admin" | "committee-admin" | "administrator" => Ok(Role::CommitteeAdmin),
        "staff" => Ok(Role::Staff),
        "member" => Ok(Role::Member),
        "judge" => Ok(Role::Judge),
        "handling-unit" | "handlingunit" | "unit" => Ok(Role::HandlingUnit),
        _ => Err(format!(
            "unknown role `{}`; expected one of: operator, admin, staff, member, judge, handling-unit",
            text.trim()
        )),
    }
}

/// The short name of a role, as [`parse_role`] reads it.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Unspecified => "unspecified",
        Role::PlatformOperator => "operator",
        Role::CommitteeAdmin => "admin",
        Role::Staff => "staff",
        Role::Member => "member",
        Role::Judge => "judge",
        Role::HandlingUnit => "handling-unit",
    }
}

/// The short name of a role number from the wire (unknown numbers shown as such).
pub fn role_name_i32(role: i32) -> String {
    Role::try_from(role).map(|r| role_name(r).to_owned()).unwrap_or_else(|_| format!("role-{role}"))
}

/// The proto name of a role number (`ROLE_STAFF`), for JSON.
pub fn role_proto_name(role: i32) -> String {
    Role::try_from(role).map(|r| r.as_str_name().to_owned()).unwrap_or_else(|_| role.to_string())
}

/// Parses a committee level: provincial, city or county (case-insensitive;
/// `province`, `prefecture`, `district`, 省, 市, 县 and proto names work too).
pub fn parse_level(text: &str) -> Result<CommitteeLevel, String> {
    let name = canonical(text);
    let name = name.strip_prefix("committee-level-").unwrap_or(&name);
    match name {
        "provincial" | "province" | "省" | "省级" => Ok(CommitteeLevel::Provincial),
        "city" | "prefecture" | "市" | "市级" => Ok(CommitteeLevel::City),
        "county" | "district" | "县" | "区" | "县级" => Ok(CommitteeLevel::County),
        _ => Err(format!("unknown level `{}`; expected provincial, city or county", text.trim())),
    }
}

/// The short name of a level number from the wire.
pub fn level_name(level: i32) -> String {
    match CommitteeLevel::try_from(level) {
        Ok(CommitteeLevel::Provincial) => "provincial".to_owned(),
        Ok(CommitteeLevel::City) => "city".to_owned(),
        Ok(CommitteeLevel::County) => "county".to_owned(),
        Ok(CommitteeLevel::Unspecified) => "unspecified".to_owned(),
        Err(_) => format!("level-{level}"),
    }
}

/// The proto name of a level number (`COMMITTEE_LEVEL_CITY`), for JSON.
pub fn level_proto_name(level: i32) -> String {
    CommitteeLevel::try_from(level).map(|l| l.as_str_name().to_owned()).unwrap_or_else(|_| level.to_string())
}

/// The short name of a committee state number.
pub fn state_name(state: i32) -> String {
    match CommitteeState::try_from(state) {
        Ok(CommitteeState::Active) => "active".to_owned(),
        Ok(CommitteeState::Suspended) => "suspended".to_owned(),
        Ok(CommitteeState::Unspecified) => "unspecified".to_owned(),
        Err(_) => format!("state-{state}"),
    }
}

/// The proto name of a committee state number, for JSON.
pub fn state_proto_name(state: i32) -> String {
    CommitteeState::try_from(state).map(|s| s.as_str_name().to_owned()).unwrap_or_else(|_| state.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_case_insensitively() {
        assert_eq!(parse_role("operator"), Ok(Role::PlatformOperator));
        assert_eq!(parse_role("Admin"), Ok(Role::CommitteeAdmin));
        assert_eq!(parse_role("STAFF"), Ok(Role::Staff));
        assert_eq!(parse_role(" member "), Ok(Role::Member));
        assert_eq!(parse_role("Judge"), Ok(Role::Judge));
        assert_eq!(parse_role("handling-unit"), Ok(Role::HandlingUnit));
        assert_eq!(parse_role("Handling_Unit"), Ok(Role::HandlingUnit));
        assert_eq!(parse_role("ROLE_COMMITTEE_ADMIN"), Ok(Role::CommitteeAdmin));
        assert_eq!(parse_role("role_platform_operator"), Ok(Role::PlatformOperator));
        assert!(parse_role("chairman").unwrap_err().contains("handling-unit"));
        assert!(parse_role("").is_err());
        assert!(parse_role("unspecified").is_err());
    }

    #[test]
    fn role_names_round_trip() {
        for role in
            [Role::PlatformOperator, Role::CommitteeAdmin, Role::Staff, Role::Member, Role::Judge, Role::HandlingUnit]
        {
            assert_eq!(parse_role(role_name(role)), Ok(role));
            assert_eq!(role_name_i32(role as i32), role_name(role));
        }
        assert_eq!(role_name_i32(99), "role-99");
        assert_eq!(role_proto_name(Role::Staff as i32), "ROLE_STAFF");
    }

    #[test]
    fn levels_parse_case_insensitively() {
        assert_eq!(parse_level("provincial"), Ok(CommitteeLevel::Provincial));
        assert_eq!(parse_level("Province"), Ok(CommitteeLevel::Provincial));
        assert_eq!(parse_level("CITY"), Ok(CommitteeLevel::City));
        assert_eq!(parse_level("county"), Ok(CommitteeLevel::County));
        assert_eq!(parse_level("District"), Ok(CommitteeLevel::County));
        assert_eq!(parse_level("县"), Ok(CommitteeLevel::County));
        assert_eq!(parse_level("COMMITTEE_LEVEL_CITY"), Ok(CommitteeLevel::City));
        assert!(parse_level("village").unwrap_err().contains("provincial, city or county"));
        for level in [CommitteeLevel::Provincial, CommitteeLevel::City, CommitteeLevel::County] {
            assert_eq!(parse_level(&level_name(level as i32)), Ok(level));
        }
        assert_eq!(level_proto_name(2), "COMMITTEE_LEVEL_CITY");
        assert_eq!(level_name(7), "level-7");
    }

    #[test]
    fn states_have_names() {
        assert_eq!(state_name(CommitteeState::Active as i32), "active");
        assert_eq!(state_name(CommitteeState::Suspended as i32), "suspended");
        assert_eq!(state_proto_name(CommitteeState::Suspended as i32), "COMMITTEE_STATE_SUSPENDED");
    }
}
