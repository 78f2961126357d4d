//! Tables, trees and JSON for people and scripts. Proto types do not derive
//! `Serialize`, so JSON is built by hand here.

use anyhow::Result;
use comfy_table::{ContentArrangement, Table, presets};
use serde_json::{Value, json};
use xieshang_proto::common::v1::Date;
use xieshang_proto::tenants::v1::{Committee, Term, User, WhoAmIResponse};

use super::Out;
use super::names::{level_name, level_proto_name, role_name_i32, role_proto_name, state_name, state_proto_name};

/// A table with the given header and rows, drawn with box characters (no
/// rules between rows, so long lists stay compact).
pub fn table<H, R, C>(header: H, rows: R) -> String
where
    H: IntoIterator,
    H::Item: Into<comfy_table::Cell>,
    R: IntoIterator<Item = C>,
    C: IntoIterator,
    C::Item: Into<comfy_table::Cell>,
{
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(header.into_iter().collect::<Vec<_>>());
    for row in rows {
        table.add_row(row.into_iter().collect::<Vec<_>>());
    }
    table.to_string()
}

/// Writes `text` and a line break.
pub fn line(out: Out<'_>, text: impl AsRef<str>) -> Result<()> {
    writeln!(out, "{}", text.as_ref())?;
    Ok(())
}

/// Writes a JSON value, pretty-printed.
pub fn json_out(out: Out<'_>, value: &Value) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

/// `2025-01-08`, or empty when unset.
pub fn date(date: Option<&Date>) -> String {
    match date {
        Some(d) if d.year != 0 => format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
        _ => String::new(),
    }
}

fn date_json(d: Option<&Date>) -> Value {
    match d {
        Some(d) if d.year != 0 => Value::String(date(Some(d))),
        _ => Value::Null,
    }
}

fn timestamp_json(t: Option<&prost_types::Timestamp>) -> Value {
    t.map(|t| Value::String(t.to_string())).unwrap_or(Value::Null)
}

fn timestamp(t: Option<&prost_types::Timestamp>) -> String {
    t.map(ToString::to_string).unwrap_or_default()
}

/// `2025-06-10 14:03` in China Standard Time (where offices work), or empty when unset.
pub fn local_time(t: Option<&prost_types::Timestamp>) -> String {
    let Some(t) = t else { return String::new() };
    let cst = chrono::FixedOffset::east_opt(8 * 3600);
    match (chrono::DateTime::from_timestamp(t.seconds, 0), cst) {
        (Some(utc), Some(cst)) => utc.with_timezone(&cst).format("%Y-%m-%d %H:%M").to_string(),
        _ => t.to_string(),
    }
}

/// A timestamp as RFC 3339 text for JSON, or null when unset.
pub fn time_json(t: Option<&prost_types::Timestamp>) -> Value {
    timestamp_json(t)
}

/// `name (code)`.
pub fn label(c: &Committee) -> String {
    format!("{} ({})", c.name, c.code)
}

/// "term 14, since 2023-01-13, 2 plenary session(s)".
pub fn term_text(t: &Term) -> String {
    let mut text = format!("term {}", t.number);
    let start = date(t.start_date.as_ref());
    if !start.is_empty() {
        text.push_str(&format!(", since {start}"));
    }
    if t.latest_session_number > 0 {
        text.push_str(&format!(", {} plenary session(s)", t.latest_session_number));
    }
    text
}

pub fn term_json(t: &Term) -> Value {
    json!({
        "id": t.id,
        "committee_id": t.committee_id,
        "number": t.number,
        "start_date": date_json(t.start_date.as_ref()),
        "end_date": date_json(t.end_date.as_ref()),
        "latest_session_number": t.latest_session_number,
    })
}

/// The JSON form of a committee (levels and states by proto name).
pub fn committee_json(c: &Committee) -> Value {
    json!({
        "id": c.id,
        "code": c.code,
        "name": c.name,
        "level": level_proto_name(c.level),
        "parent_id": c.parent_id,
        "parent_code": c.parent_code,
        "depth": c.depth,
        "state": state_proto_name(c.state),
        "office_address": c.office_address,
        "office_phone": c.office_phone,
        "current_term": c.current_term.as_ref().map(term_json),
        "create_time": timestamp_json(c.create_time.as_ref()),
        "update_time": timestamp_json(c.update_time.as_ref()),
        "etag": c.etag,
    })
}

pub fn committees_json(committees: &[Committee]) -> Value {
    Value::Array(committees.iter().map(committee_json).collect())
}

/// Table of committees: code, name, level, parent code, state.
pub fn committees_table(committees: &[Committee]) -> String {
    table(
        ["code", "name", "level", "parent code", "state"],
        committees.iter().map(|c| {
            vec![c.code.clone(), c.name.clone(), level_name(c.level), c.parent_code.clone(), state_name(c.state)]
        }),
    )
}

/// Field/value table of one committee.
pub fn committee_detail(c: &Committee) -> String {
    let rows = vec![
        vec!["id".to_owned(), c.id.clone()],
        vec!["code".to_owned(), c.code.clone()],
        vec!["name".to_owned(), c.name.clone()],
        vec!["level".to_owned(), level_name(c.level)],
        vec!["parent code".to_owned(), c.parent_code.clone()],
        vec!["state".to_owned(), state_name(c.state)],
        vec!["office address".to_owned(), c.office_address.clone()],
        vec!["office phone".to_owned(), c.office_phone.clone()],
        vec!["current term".to_owned(), c.current_term.as_ref().map(term_text).unwrap_or_default()],
        vec!["created".to_owned(), timestamp(c.create_time.as_ref())],
        vec!["updated".to_owned(), timestamp(c.update_time.as_ref())],
    ];
    table(["field", "value"], rows)
}

/// The indented tree of `root` and its subtree (depth-first order, as
/// ListSubtree returns it): two spaces per level below the root.
pub fn tree(root: &Committee, descendants: &[Committee]) -> String {
    let mut text = label(root);
    text.push('\n');
    for c in descendants {
        let indent = usize::try_from(c.depth.saturating_sub(root.depth)).unwrap_or(0);
        text.push_str(&"  ".repeat(indent));
        text.push_str(&label(c));
        text.push('\n');
    }
    text
}

/// Roles, comma-separated by short name.
pub fn roles_text(roles: &[i32]) -> String {
    roles.iter().map(|r| role_name_i32(*r)).collect::<Vec<_>>().join(", ")
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

pub fn user_json(u: &User) -> Value {
    json!({
        "id": u.id,
        "committee_id": u.committee_id,
        "username": u.username,
        "display_name": u.display_name,
        "roles": u.roles.iter().map(|r| role_proto_name(*r)).collect::<Vec<_>>(),
        "disabled": u.disabled,
        "must_change_password": u.must_change_password,
        "create_time": timestamp_json(u.create_time.as_ref()),
        "update_time": timestamp_json(u.update_time.as_ref()),
        "etag": u.etag,
    })
}

/// Table of users: id, username, display name, roles, disabled.
pub fn users_table(users: &[User]) -> String {
    table(
        ["id", "username", "display name", "roles", "disabled"],
        users.iter().map(|u| {
            vec![
                u.id.clone(),
                u.username.clone(),
                u.display_name.clone(),
                roles_text(&u.roles),
                yes_no(u.disabled).to_owned(),
            ]
        }),
    )
}

/// Field/value table of one user.
pub fn user_detail(u: &User) -> String {
    let rows = vec![
        vec!["id".to_owned(), u.id.clone()],
        vec!["username".to_owned(), u.username.clone()],
        vec!["display name".to_owned(), u.display_name.clone()],
        vec!["roles".to_owned(), roles_text(&u.roles)],
        vec!["committee id".to_owned(), u.committee_id.clone()],
        vec!["disabled".to_owned(), yes_no(u.disabled).to_owned()],
        vec!["must change password".to_owned(), yes_no(u.must_change_password).to_owned()],
        vec!["created".to_owned(), timestamp(u.create_time.as_ref())],
        vec!["updated".to_owned(), timestamp(u.update_time.as_ref())],
    ];
    table(["field", "value"], rows)
}

/// JSON of a WhoAmI answer.
pub fn whoami_json(server: &str, who: &WhoAmIResponse) -> Value {
    json!({
        "server": server,
        "user": who.user.as_ref().map(user_json),
        "committee": who.committee.as_ref().map(committee_json),
    })
}

/// Sentences of a WhoAmI answer.
pub fn whoami_text(server: &str, who: &WhoAmIResponse) -> String {
    let mut text = String::new();
    if let Some(u) = &who.user {
        text.push_str(&format!("user:      {} ({})\n", u.display_name, u.username));
        text.push_str(&format!("roles:     {}\n", roles_text(&u.roles)));
        if u.must_change_password {
            text.push_str("password:  one-time; run `xieshang login` to set a new one\n");
        }
    }
    match &who.committee {
        Some(c) => {
            text.push_str(&format!("committee: {} — {}", label(c), level_name(c.level)));
            if !c.parent_code.is_empty() {
                text.push_str(&format!(", under {}", c.parent_code));
            }
            text.push('\n');
        }
        None => text.push_str("committee: none (platform operator)\n"),
    }
    text.push_str(&format!("server:    {server}\n"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use xieshang_proto::common::v1::{CommitteeLevel, Role};

    fn committee(code: &str, name: &str, depth: i32, level: CommitteeLevel) -> Committee {
        Committee { code: code.into(), name: name.into(), depth, level: level as i32, ..Default::default() }
    }

    #[test]
    fn tree_indents_by_depth_below_the_root() {
        let root = committee("130000", "河北省政协", 0, CommitteeLevel::Provincial);
        let below = vec![
            committee("130100", "石家庄市政协", 1, CommitteeLevel::City),
            committee("130123", "正定县政协", 2, CommitteeLevel::County),
            committee("130500", "邢台市政协", 1, CommitteeLevel::City),
            committee("130528", "宁晋县政协", 2, CommitteeLevel::County),
        ];
        assert_eq!(
            tree(&root, &below),
            "河北省政协 (130000)\n  石家庄市政协 (130100)\n    正定县政协 (130123)\n  邢台市政协 (130500)\n    宁晋县政协 (130528)\n"
        );
    }

    #[test]
    fn tree_of_a_city_starts_at_its_depth() {
        let root = committee("130500", "邢台市政协", 1, CommitteeLevel::City);
        let below = vec![committee("130528", "宁晋县政协", 2, CommitteeLevel::County)];
        assert_eq!(tree(&root, &below), "邢台市政协 (130500)\n  宁晋县政协 (130528)\n");
        assert_eq!(tree(&root, &[]), "邢台市政协 (130500)\n");
        // A depth above the root's never indents negatively.
        let odd = vec![committee("130000", "河北省政协", 0, CommitteeLevel::Provincial)];
        assert_eq!(tree(&root, &odd), "邢台市政协 (130500)\n河北省政协 (130000)\n");
    }

    #[test]
    fn committee_json_uses_proto_names() {
        let mut c = committee("130528", "宁晋县政协", 2, CommitteeLevel::County);
        c.parent_code = "130500".into();
        c.state = xieshang_proto::tenants::v1::CommitteeState::Active as i32;
        let v = committee_json(&c);
        assert_eq!(v["code"], "130528");
        assert_eq!(v["level"], "COMMITTEE_LEVEL_COUNTY");
        assert_eq!(v["state"], "COMMITTEE_STATE_ACTIVE");
        assert_eq!(v["parent_code"], "130500");
        assert_eq!(v["depth"], 2);
        assert_eq!(v["current_term"], Value::Null);
    }

    #[test]
    fn tables_hold_the_values() {
        let c = committee("130528", "宁晋县政协", 2, CommitteeLevel::County);
        let text = committees_table(&[c]);
        assert!(text.contains("宁晋县政协"));
        assert!(text.contains("county"));
        let u = User {
            username: "zhangjianguo".into(),
            display_name: "张建国".into(),
            roles: vec![Role::Member as i32, Role::Judge as i32],
            ..Default::default()
        };
        let text = users_table(std::slice::from_ref(&u));
        assert!(text.contains("member, judge"));
        assert_eq!(user_json(&u)["roles"][1], "ROLE_JUDGE");
    }

    #[test]
    fn dates_are_iso() {
        assert_eq!(date(Some(&Date { year: 2025, month: 1, day: 8 })), "2025-01-08");
        assert_eq!(date(None), "");
    }
}
