//! `xieshang demo`: loads a small, realistic data set through the public API,
//! as a platform operator. Running it again changes nothing: committees that
//! exist are fetched by code, users that exist are skipped, and a term or
//! plenary session is opened only where none is.

use std::collections::HashMap;
use std::fmt;

use anyhow::{Result, bail};
use serde_json::{Value, json};
use tonic::Code;
use xieshang_proto::common::v1::{CommitteeLevel, Date, Role};
use xieshang_proto::tenants::v1::auth_service_client::AuthServiceClient;
use xieshang_proto::tenants::v1::committee_service_client::CommitteeServiceClient;
use xieshang_proto::tenants::v1::user_service_client::UserServiceClient;
use xieshang_proto::tenants::v1::{
    Committee, CreateCommitteeRequest, CreatePlenarySessionRequest, CreateTermRequest, CreateUserRequest,
    ListPlenarySessionsRequest, LogoutRequest, PlenarySession, Term, User, WhoAmIRequest,
};

use super::api::{Api, ApiError};
use super::auth::signed_in;
use super::committees::get_by_code;
use super::names::role_name;
use super::render::{self, json_out, line, table};
use super::{DemoArgs, Out};

use CommitteeLevel::{City, County, Provincial};

/// One demo committee.
#[derive(Debug, Clone, Copy)]
pub struct DemoCommittee {
    pub code: &'static str,
    pub name: &'static str,
    pub level: CommitteeLevel,
    pub parent: Option<&'static str>,
    /// Display name of the committee's `admin` user.
    pub admin_name: &'static str,
    /// Number of the current term (届).
    pub term: i32,
    pub term_start: (i32, i32, i32),
    pub session_start: (i32, i32, i32),
}

/// One demo user besides the admins.
#[derive(Debug, Clone, Copy)]
pub struct DemoUser {
    pub committee: &'static str,
    pub username: &'static str,
    pub display_name: &'static str,
    pub role: Role,
}

#[allow(clippy::too_many_arguments)]
const fn committee(
    code: &'static str,
    name: &'static str,
    level: CommitteeLevel,
    parent: Option<&'static str>,
    admin_name: &'static str,
    term: i32,
    term_start: (i32, i32, i32),
    session_start: (i32, i32, i32),
) -> DemoCommittee {
    DemoCommittee { code, name, level, parent, admin_name, term, term_start, session_start }
}

/// The demo committees, parents before children.
#[rustfmt::skip]
pub const COMMITTEES: &[DemoCommittee] = &[
    committee("130000", "河北省政协", Provincial, None, "王秀兰", 13, (2023, 1, 12), (2025, 1, 14)),
    committee("130100", "石家庄市政协", City, Some("130000"), "李建华", 14, (2022, 1, 5), (2025, 1, 8)),
    committee("130123", "正定县政协", County, Some("130100"), "赵国庆", 10, (2021, 12, 28), (2025, 1, 6)),
    committee("130129", "赞皇县政协", County, Some("130100"), "孙玉梅", 10, (2021, 12, 27), (2025, 1, 7)),
    committee("130500", "邢台市政协", City, Some("130000"), "刘芳", 15, (2022, 1, 6), (2025, 1, 9)),
    committee("130506", "南和区政协", County, Some("130500"), "陈志强", 2, (2021, 12, 24), (2025, 1, 3)),
    committee("130522", "临城县政协", County, Some("130500"), "杨丽", 10, (2021, 12, 25), (2025, 1, 4)),
    committee("130523", "内丘县政协", County, Some("130500"), "黄敏", 10, (2021, 12, 26), (2025, 1, 5)),
    committee("130524", "柏乡县政协", County, Some("130500"), "周海涛", 10, (2021, 12, 27), (2025, 1, 6)),
    committee("130525", "隆尧县政协", County, Some("130500"), "吴静", 10, (2021, 12, 28), (2025, 1, 7)),
    committee("130528", "宁晋县政协", County, Some("130500"), "徐军", 11, (2021, 12, 29), (2025, 1, 10)),
    committee("330000", "浙江省政协", Provincial, None, "马超", 13, (2023, 1, 12), (2025, 1, 13)),
    committee("330400", "嘉兴市政协", City, Some("330000"), "朱红", 9, (2022, 2, 15), (2025, 1, 9)),
    committee("330481", "海宁市政协", County, Some("330400"), "胡斌", 10, (2021, 12, 20), (2025, 1, 6)),
    committee("330483", "桐乡市政协", County, Some("330400"), "郭淑华", 10, (2021, 12, 21), (2025, 1, 7)),
    committee("610000", "陕西省政协", Provincial, None, "何建平", 13, (2023, 1, 11), (2025, 1, 15)),
    committee("610100", "西安市政协", City, Some("610000"), "高洁", 15, (2022, 1, 10), (2025, 1, 10)),
    committee("610116", "长安区政协", County, Some("610100"), "曹永刚", 5, (2021, 12, 22), (2025, 1, 8)),
];

/// Users besides the admins.
pub const USERS: &[DemoUser] = &[
    DemoUser { committee: "130528", username: "liting", display_name: "李婷", role: Role::Staff },
    DemoUser { committee: "130528", username: "zhangjianguo", display_name: "张建国", role: Role::Member },
    DemoUser { committee: "130528", username: "lixiuying", display_name: "李秀英", role: Role::Member },
    DemoUser { committee: "130528", username: "wangjianmin", display_name: "王建民", role: Role::Member },
    DemoUser {
        committee: "130528", username: "nongyeju", display_name: "宁晋县农业农村局", role: Role::HandlingUnit
    },
    DemoUser {
        committee: "130528",
        username: "zhujianju",
        display_name: "宁晋县住房和城乡建设局",
        role: Role::HandlingUnit,
    },
    // The judges (评委) of 宁晋's 述职 campaign and quality evaluations.
    DemoUser { committee: "130528", username: "gaojianhua", display_name: "高建华", role: Role::Judge },
    DemoUser { committee: "130528", username: "liushufen", display_name: "刘淑芬", role: Role::Judge },
    DemoUser { committee: "130528", username: "zhaodeming", display_name: "赵德明", role: Role::Judge },
    DemoUser { committee: "130528", username: "sunlihua", display_name: "孙丽华", role: Role::Judge },
    DemoUser { committee: "130528", username: "majunfeng", display_name: "马俊峰", role: Role::Judge },
    DemoUser { committee: "330481", username: "chenjing", display_name: "陈静", role: Role::Staff },
    DemoUser { committee: "330481", username: "shenguoqiang", display_name: "沈国强", role: Role::Member },
];

/// User name of every committee's administrator.
pub const ADMIN_USERNAME: &str = "admin";

/// The deterministic demo password of a user.
pub fn demo_password(code: &str, username: &str, suffix: &str) -> String {
    format!("Xieshang-{code}-{username}{suffix}")
}

/// Every demo login: (committee, username, display name, role), admins first
/// within each committee.
pub fn demo_logins() -> Vec<(&'static DemoCommittee, &'static str, &'static str, Role)> {
    let mut logins = Vec::new();
    for c in COMMITTEES {
        logins.push((c, ADMIN_USERNAME, c.admin_name, Role::CommitteeAdmin));
        for u in USERS.iter().filter(|u| u.committee == c.code) {
            logins.push((c, u.username, u.display_name, u.role));
        }
    }
    logins
}

/// What happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Created,
    Existed,
    Skipped,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Created => "created",
            Outcome::Existed => "existed",
            Outcome::Skipped => "skipped",
        })
    }
}

fn date((year, month, day): (i32, i32, i32)) -> Date {
    Date { year, month, day }
}

/// Errors that mean "it is already there".
fn already_there(e: &ApiError) -> bool {
    matches!(e.code, Code::AlreadyExists | Code::FailedPrecondition)
}

/// Creates the committee, or fetches it by code when it exists.
async fn ensure_committee(
    api: &mut Api,
    spec: &DemoCommittee,
    parent: Option<&Committee>,
) -> Result<(Committee, Outcome)> {
    let request = CreateCommitteeRequest {
        committee: Some(Committee {
            code: spec.code.to_owned(),
            name: spec.name.to_owned(),
            level: spec.level as i32,
            parent_id: parent.map(|p| p.id.clone()).unwrap_or_default(),
            ..Default::default()
        }),
    };
    match rpc!(api, CommitteeServiceClient, create_committee, request).await {
        Ok(created) => Ok((created, Outcome::Created)),
        Err(e) if e.code == Code::AlreadyExists => match get_by_code(api, spec.code).await {
            Ok(existing) => Ok((existing, Outcome::Existed)),
            Err(_) => bail!("cannot create {} ({}): {e}", spec.name, spec.code),
        },
        Err(e) => bail!("cannot create {} ({}): {e}", spec.name, spec.code),
    }
}

/// Creates a user with an explicit password, or skips an existing one.
async fn ensure_user(
    api: &mut Api,
    committee: &Committee,
    username: &str,
    display_name: &str,
    role: Role,
    password: &str,
) -> Result<Outcome> {
    let request = CreateUserRequest {
        user: Some(User {
            committee_id: committee.id.clone(),
            username: username.to_owned(),
            display_name: display_name.to_owned(),
            roles: vec![role as i32],
            ..Default::default()
        }),
        password: password.to_owned(),
    };
    match rpc!(api, UserServiceClient, create_user, request).await {
        Ok(_) => Ok(Outcome::Created),
        Err(e) if e.code == Code::AlreadyExists => Ok(Outcome::Existed),
        Err(e) => bail!("cannot create user {username} in {}: {e}", render::label(committee)),
    }
}

/// Opens the term and a plenary session where none is.
async fn ensure_sittings(
    api: &mut Api,
    committee: &Committee,
    spec: &DemoCommittee,
) -> Result<(Outcome, Outcome), ApiError> {
    let (term, term_outcome) = match &committee.current_term {
        Some(term) if !term.id.is_empty() => (term.clone(), Outcome::Existed),
        _ => {
            let request = CreateTermRequest {
                committee_id: committee.id.clone(),
                term: Some(Term { number: spec.term, start_date: Some(date(spec.term_start)), ..Default::default() }),
            };
            match rpc!(api, CommitteeServiceClient, create_term, request).await {
                Ok(term) => (term, Outcome::Created),
                Err(e) if already_there(&e) => match get_by_code(api, &committee.code).await?.current_term {
                    Some(term) => (term, Outcome::Existed),
                    None => return Err(e),
                },
                Err(e) => return Err(e),
            }
        }
    };
    if term.latest_session_number > 0 {
        return Ok((term_outcome, Outcome::Existed));
    }
    let request = ListPlenarySessionsRequest { term_id: term.id.clone() };
    let sessions = rpc!(api, CommitteeServiceClient, list_plenary_sessions, request).await?;
    if !sessions.sessions.is_empty() {
        return Ok((term_outcome, Outcome::Existed));
    }
    let request = CreatePlenarySessionRequest {
        committee_id: committee.id.clone(),
        session: Some(PlenarySession { start_date: Some(date(spec.session_start)), ..Default::default() }),
    };
    match rpc!(api, CommitteeServiceClient, create_plenary_session, request).await {
        Ok(_) => Ok((term_outcome, Outcome::Created)),
        Err(e) if already_there(&e) => Ok((term_outcome, Outcome::Existed)),
        Err(e) => Err(e),
    }
}

/// One row of the summary.
struct Loaded {
    committee: Committee,
    committee_outcome: Outcome,
    term: Outcome,
    session: Outcome,
}

/// One row of the logins table.
struct Login {
    code: &'static str,
    committee: &'static str,
    username: &'static str,
    display_name: &'static str,
    password: String,
    role: Role,
    outcome: Outcome,
}

pub async fn run(args: DemoArgs, out: Out<'_>) -> Result<()> {
    let mut api = signed_in(&args.common).await?;
    let who = rpc!(api, AuthServiceClient, who_am_i, WhoAmIRequest {}).await?;
    let is_operator = who.user.as_ref().is_some_and(|u| u.roles.contains(&(Role::PlatformOperator as i32)));
    if !is_operator {
        bail!(
            "the demo data must be loaded by a platform operator; sign in as one with `xieshang login --username <operator>` (no --committee)"
        );
    }
    let suffix = args.password_suffix;
    if !args.common.json {
        line(out, format!("Loading the demo data into {} …", api.server()))?;
    }

    let mut loaded: Vec<Loaded> = Vec::new();
    let mut by_code: HashMap<&'static str, Committee> = HashMap::new();
    let mut logins: Vec<Login> = Vec::new();
    let logins_wanted = demo_logins();

    for spec in COMMITTEES {
        let parent = match spec.parent {
            Some(code) => match by_code.get(code) {
                Some(parent) => Some(parent.clone()),
                None => bail!("demo data error: parent {code} of {} comes later", spec.code),
            },
            None => None,
        };
        let (committee, committee_outcome) = ensure_committee(&mut api, spec, parent.as_ref()).await?;

        for (c, username, display_name, role) in logins_wanted.iter().filter(|l| l.0.code == spec.code) {
            let password = demo_password(c.code, username, &suffix);
            let outcome = ensure_user(&mut api, &committee, username, display_name, *role, &password).await?;
            logins.push(Login {
                code: c.code,
                committee: c.name,
                username,
                display_name,
                password,
                role: *role,
                outcome,
            });
        }

        let (term, session) = match ensure_sittings(&mut api, &committee, spec).await {
            Ok(done) => done,
            // Terms and sessions belong to the committee's own admin or
            // staff: open them as the committee's admin.
            Err(e) if e.code == Code::PermissionDenied => {
                let password = demo_password(spec.code, ADMIN_USERNAME, &suffix);
                match api.sign_in(spec.code, ADMIN_USERNAME, &password).await {
                    Ok(session) => {
                        let mut admin = api.ephemeral(session);
                        let done = ensure_sittings(&mut admin, &committee, spec).await.map_err(|e| {
                            anyhow::anyhow!(
                                "cannot open a term or plenary session for {}: {e}",
                                render::label(&committee)
                            )
                        });
                        // Best effort: end the admin's session again.
                        let _ = rpc!(admin, AuthServiceClient, logout, LogoutRequest {}).await;
                        done?
                    }
                    // Its admin's password is no longer the demo one: leave
                    // the term and sessions as they are.
                    Err(login) => {
                        eprintln!(
                            "warning: term and plenary session of {} left alone: {e}; signing in as its admin failed: {login}",
                            render::label(&committee)
                        );
                        (Outcome::Skipped, Outcome::Skipped)
                    }
                }
            }
            Err(e) => bail!("cannot open a term or plenary session for {}: {e}", render::label(&committee)),
        };
        by_code.insert(spec.code, committee.clone());
        loaded.push(Loaded { committee, committee_outcome, term, session });
    }

    let office = super::demo_office::load(&api, &suffix).await?;
    let year = super::demo_year::load(&api, &suffix).await?;

    if args.common.json {
        let value = json!({
            "server": api.server(),
            "office": {"committee_code": super::demo_office::CODE, "members": office.members, "proposals": office.proposals},
            "year": {"year": super::demo_year::YEAR, "parts": year.lines},
            "committees": loaded.iter().map(|l| {
                let mut v = render::committee_json(&l.committee);
                v["demo"] = json!({
                    "committee": l.committee_outcome.to_string(),
                    "term": l.term.to_string(),
                    "plenary_session": l.session.to_string(),
                });
                v
            }).collect::<Vec<Value>>(),
            "logins": logins.iter().map(|l| json!({
                "committee_code": l.code,
                "committee": l.committee,
                "username": l.username,
                "display_name": l.display_name,
                "password": l.password,
                "role": l.role.as_str_name(),
                "user": l.outcome.to_string(),
            })).collect::<Vec<Value>>(),
        });
        return json_out(out, &value);
    }

    line(
        out,
        table(
            ["code", "committee", "level", "status", "term", "plenary session"],
            loaded.iter().map(|l| {
                let indent = "  ".repeat(usize::try_from(l.committee.depth).unwrap_or(0));
                vec![
                    l.committee.code.clone(),
                    format!("{indent}{}", l.committee.name),
                    super::names::level_name(l.committee.level),
                    l.committee_outcome.to_string(),
                    l.term.to_string(),
                    l.session.to_string(),
                ]
            }),
        ),
    )?;
    line(out, "")?;
    if office.members + office.proposals > 0 {
        line(
            out,
            format!(
                "宁晋县政协: {} members on the roster, {} proposals in every state of their lifecycle.",
                office.members, office.proposals
            ),
        )?;
        line(out, "")?;
    }
    line(out, format!("A year of committee work ({}):", super::demo_year::YEAR))?;
    for part in &year.lines {
        line(out, format!("  {part}"))?;
    }
    line(out, "")?;
    line(out, "Demo logins:")?;
    line(
        out,
        table(
            ["committee code", "committee", "username", "name", "password", "role", "user"],
            logins.iter().map(|l| {
                vec![
                    l.code.to_owned(),
                    l.committee.to_owned(),
                    l.username.to_owned(),
                    l.display_name.to_owned(),
                    l.password.clone(),
                    role_name(l.role).to_owned(),
                    match l.outcome {
                        Outcome::Created => "created".to_owned(),
                        Outcome::Existed | Outcome::Skipped => "existed (password unchanged)".to_owned(),
                    },
                ]
            }),
        ),
    )?;
    line(out, "")?;
    line(
        out,
        format!(
            "Sign in as a committee admin with:\n  xieshang login --committee 130528 --username admin\n(password: {})",
            demo_password("130528", ADMIN_USERNAME, &suffix)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_first_and_levels_nest() {
        let mut seen: HashMap<&str, CommitteeLevel> = HashMap::new();
        for c in COMMITTEES {
            match c.parent {
                None => assert_eq!(c.level, Provincial, "{}", c.code),
                Some(parent) => {
                    let parent_level =
                        seen.get(parent).copied().unwrap_or_else(|| panic!("{} before {parent}", c.code));
                    assert_eq!(c.level as i32, parent_level as i32 + 1, "{}", c.code);
                    // A child's code shares its parent's prefix.
                    let prefix = if parent_level == Provincial { &parent[..2] } else { &parent[..4] };
                    assert!(c.code.starts_with(prefix), "{} under {parent}", c.code);
                }
            }
            assert!(seen.insert(c.code, c.level).is_none(), "duplicate {}", c.code);
        }
        assert_eq!(COMMITTEES.len(), 18);
    }

    #[test]
    fn names_are_chinese_and_of_allowed_length() {
        for c in COMMITTEES {
            let chars = c.name.chars().count();
            assert!((2..=40).contains(&chars), "{}", c.name);
            assert!(c.name.chars().any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch)), "{}", c.name);
            assert!(c.term > 0);
            assert!(c.session_start > c.term_start, "{}", c.code);
        }
    }

    #[test]
    fn logins_and_passwords() {
        let logins = demo_logins();
        assert_eq!(logins.len(), COMMITTEES.len() + USERS.len());
        for (c, username, _, _) in &logins {
            let password = demo_password(c.code, username, "");
            assert!(password.chars().count() >= 10);
            assert!(username.len() >= 3 && username.len() <= 32);
        }
        assert_eq!(demo_password("130528", "admin", "!"), "Xieshang-130528-admin!");
        let ningjin: Vec<_> = logins.iter().filter(|l| l.0.code == "130528").map(|l| (l.1, l.3)).collect();
        assert_eq!(
            ningjin,
            vec![
                ("admin", Role::CommitteeAdmin),
                ("liting", Role::Staff),
                ("zhangjianguo", Role::Member),
                ("lixiuying", Role::Member),
                ("wangjianmin", Role::Member),
                ("nongyeju", Role::HandlingUnit),
                ("zhujianju", Role::HandlingUnit),
                ("gaojianhua", Role::Judge),
                ("liushufen", Role::Judge),
                ("zhaodeming", Role::Judge),
                ("sunlihua", Role::Judge),
                ("majunfeng", Role::Judge),
            ]
        );
        for u in USERS {
            assert!(COMMITTEES.iter().any(|c| c.code == u.committee));
        }
        // The year's judges are the demo's judge users.
        for (username, name, _) in super::super::demo_year::JUDGES {
            assert!(USERS.iter().any(|u| u.username == *username && u.display_name == *name && u.role == Role::Judge));
        }
    }
}
