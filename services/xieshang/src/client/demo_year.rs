//! The demo's year of committee work (2025), loaded after the office part
//! (roster and proposals of 宁晋县政协, 130528), through the public API as the
//! people who would do it: the office's staff, members, judges, and the
//! admins of the committees taking part in joint supervision.
//!
//! - membership: the 述职 campaign (regular and make-up sessions, a judge
//!   panel, a video report, suggestions tracked), 年度履职项目 at every step,
//!   委员工作室 (`demo_members`);
//! - consultation: topics from the four sources, the published plan, activities
//!   of four types with meetings and attendance, suggestions with feedback and
//!   a quality evaluation (`demo_consult`);
//! - supervision: a three-level joint project of 河北省政协 across 邢台市 and
//!   its counties (`demo_joint`);
//! - proposals: social-conditions information forwarded upward and adopted
//!   with an instruction (here).
//!
//! Each part is skipped when its data exists, so a second run changes
//! nothing. The tables the parts load from also give [`figures`], what a
//! fresh load yields — the end-to-end test checks the server against it.

use std::collections::HashMap;

use anyhow::{Context, Result, bail};
use xieshang_proto::common::v1::Date;
use xieshang_proto::membership::v1 as pm;
use xieshang_proto::membership::v1::membership_service_client::MembershipServiceClient;
use xieshang_proto::proposals::v1 as pp;
use xieshang_proto::proposals::v1::information_service_client::InformationServiceClient;
use xieshang_proto::tenants::v1::LogoutRequest;
use xieshang_proto::tenants::v1::auth_service_client::AuthServiceClient;

use super::api::Api;
use super::demo::demo_password;
use super::{demo_consult, demo_joint, demo_members};

pub use super::demo::{ADMIN_USERNAME, demo_password as password};
pub use super::demo_office::CODE;

/// The year the demo's work is dated in: the demo's plenary sessions opened
/// in January 2025, and a finished year has every stage to show.
pub const YEAR: i32 = 2025;
/// The office user who runs the year's work.
pub const STAFF: &str = "liting";
/// The initiator of the joint supervision project.
pub const PROVINCE: &str = "130000";

/// The demo's judges (评委) in 宁晋县: (username, name, who they are).
pub const JUDGES: &[(&str, &str, &str)] = &[
    ("gaojianhua", "高建华", "县政协考核组成员"),
    ("liushufen", "刘淑芬", "群众代表"),
    ("zhaodeming", "赵德明", "凤凰镇联络站站长"),
    ("sunlihua", "孙丽华", "县政协机关干部"),
    ("majunfeng", "马俊峰", "2024年度优秀委员"),
];

/// What a fresh load of the year yields, from the same tables the parts load.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Topics by source: 党政点题, 群众出题, 委员荐题, 政协选题.
    pub topics_by_source: [usize; 4],
    pub topics_selected: usize,
    pub plan_items: usize,
    pub activities: usize,
    pub activity_types: usize,
    pub meetings: usize,
    /// Attendance over every meeting: present, on leave, absent.
    pub present: usize,
    pub on_leave: usize,
    pub absent: usize,
    pub consultation_suggestions: usize,
    pub suggestions_with_feedback: usize,
    pub joint_groups: usize,
    pub evaluated_activities: usize,
    pub reporting: ReportingFigures,
    pub projects: usize,
    pub studios: usize,
    /// Committees invited to the joint supervision project.
    pub joint_participants: usize,
    pub joint_problems: usize,
    pub information_items: usize,
    /// The office part's proposals the staff see (all but the draft).
    pub proposals_seen_by_staff: usize,
}

/// The 述职 campaign's statistics after a fresh load on the demo roster
/// (45 members, five in each of nine activity groups).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportingFigures {
    pub members_due: i32,
    pub sessions: i32,
    pub make_up_sessions: i32,
    pub reported_on_site: i32,
    pub reported_by_video: i32,
    pub scored_at_least_90: i32,
    pub suggestions_raised: i32,
    pub suggestions_forwarded: i32,
    pub suggestions_adopted: i32,
    pub suggestions_not_adopted: i32,
}

/// The demo roster's size and its activity groups' (see `demo_office`).
pub const ROSTER_SIZE: usize = 45;
pub const GROUP_SIZE: usize = 5;

pub fn figures() -> Figures {
    let (present, on_leave, absent) = demo_consult::attendance_totals();
    Figures {
        topics_by_source: demo_consult::topics_by_source(),
        topics_selected: demo_consult::topics_selected(),
        plan_items: demo_consult::plan_items(),
        activities: demo_consult::ACTIVITIES.len(),
        activity_types: demo_consult::activity_types(),
        meetings: demo_consult::meetings(),
        present,
        on_leave,
        absent,
        consultation_suggestions: demo_consult::suggestions(),
        suggestions_with_feedback: demo_consult::suggestions_with_feedback(),
        joint_groups: demo_consult::JOINT_GROUPS.len(),
        evaluated_activities: demo_consult::evaluated_activities(),
        reporting: demo_members::reporting_figures(GROUP_SIZE, ROSTER_SIZE),
        projects: demo_members::PROJECTS.len(),
        studios: demo_members::STUDIOS.len(),
        joint_participants: demo_joint::PARTICIPANTS.len(),
        joint_problems: demo_joint::PROBLEMS.len(),
        information_items: INFORMATION.len(),
        proposals_seen_by_staff: super::demo_office::PROPOSALS_SEEN_BY_STAFF,
    }
}

/// One summary line per part, for the demo's output.
pub struct YearSummary {
    pub lines: Vec<String>,
}

/// Loads the year; `api` is the operator's connection (for its channel).
pub async fn load(api: &Api, suffix: &str) -> Result<YearSummary> {
    let mut logins = Logins { api, suffix, signed_in: HashMap::new() };
    let result = load_parts(&mut logins).await;
    logins.logout_all().await;
    result
}

async fn load_parts(logins: &mut Logins<'_>) -> Result<YearSummary> {
    // The staff member is used throughout, beside the others: a session of its own.
    let mut staff = logins.fresh(CODE, STAFF).await?;
    let mut lines = Vec::new();
    let roster = demo_members::roster(&mut staff).await.context("reading 宁晋县's roster")?;
    if roster.is_empty() {
        bail!("宁晋县政协 has no members: the year's work needs the demo roster");
    }
    lines.push(demo_members::load_reporting(&mut staff, logins, &roster).await.context("loading the 述职 campaign")?);
    lines.push(demo_members::load_projects(&mut staff, logins).await.context("loading 年度履职项目")?);
    lines.push(demo_members::load_studios(&mut staff, &roster).await.context("loading 委员工作室")?);
    lines.extend(demo_consult::load(&mut staff, logins, &roster).await.context("loading 宁晋县's consultation year")?);
    lines.push(load_information(&mut staff, logins).await.context("loading social-conditions information")?);
    lines.push(demo_joint::load(logins).await.context("loading the three-level joint supervision")?);
    logout(&mut staff).await;
    Ok(YearSummary { lines })
}

/// The demo users' sessions: each user signs in once for the whole year, as
/// password hashing makes signing in the slowest call there is.
pub(super) struct Logins<'a> {
    api: &'a Api,
    suffix: &'a str,
    signed_in: HashMap<(String, String), Api>,
}

impl Logins<'_> {
    /// The session of a demo user of a committee, signing in the first time.
    pub(super) async fn get(&mut self, code: &str, username: &str) -> Result<&mut Api> {
        let key = (code.to_owned(), username.to_owned());
        if !self.signed_in.contains_key(&key) {
            let api = self.fresh(code, username).await?;
            self.signed_in.insert(key.clone(), api);
        }
        self.signed_in.get_mut(&key).context("a session just stored")
    }

    /// A session of its own, for a user needed beside others; the caller logs it out.
    pub(super) async fn fresh(&self, code: &str, username: &str) -> Result<Api> {
        let session = self
            .api
            .sign_in(code, username, &demo_password(code, username, self.suffix))
            .await
            .with_context(|| format!("signing in as {username} of {code}"))?;
        Ok(self.api.ephemeral(session))
    }

    async fn logout_all(&mut self) {
        for api in self.signed_in.values_mut() {
            logout(api).await;
        }
    }
}

/// Ends a session; best effort, as the demo is done with it either way.
pub(super) async fn logout(api: &mut Api) {
    let _ = rpc!(api, AuthServiceClient, logout, LogoutRequest {}).await;
}

pub(super) fn user_id(api: &Api) -> String {
    api.session().map(|s| s.user_id.clone()).unwrap_or_default()
}

/// A date of the demo year.
pub(super) fn on(month: i32, day: i32) -> Option<Date> {
    Some(Date { year: YEAR, month, day })
}

/// Reference items of one kind, by code.
pub(super) async fn reference(staff: &mut Api, kind: pm::ReferenceKind) -> Result<Vec<pm::ReferenceItem>> {
    let request = pm::ListReferenceItemsRequest { kind: kind as i32, page_size: 500, ..Default::default() };
    Ok(rpc!(staff, MembershipServiceClient, list_reference_items, request).await?.items)
}

/// The status word of a part's summary line.
pub(super) fn outcome(created: bool) -> &'static str {
    if created { "created" } else { "existed, left alone" }
}

/// A social-conditions information item and how far it gets.
struct DemoInformation {
    author: &'static str,
    title: &'static str,
    body: &'static str,
    fate: InformationFate,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum InformationFate {
    /// Waiting for the office's review.
    Submitted,
    Declined,
    /// Adopted by the county, reported to 邢台市, adopted there and given a
    /// leader's instruction.
    AdoptedUpward,
}

const INFORMATION: &[DemoInformation] = &[
    DemoInformation {
        author: "wangjianmin",
        title: "关于农村独居老人冬季取暖安全隐患的情况反映",
        body: "入冬以来，部分村独居老人仍使用散煤炉具取暖，一氧化碳中毒隐患突出。建议乡镇逐户排查，\
               为独居老人安装报警器，村两委明确专人定期探视。",
        fate: InformationFate::AdoptedUpward,
    },
    DemoInformation {
        author: "lixiuying",
        title: "关于中小学校园周边交通安全隐患的情况反映",
        body: "县城部分中小学上下学时段接送车辆乱停乱放，学生横穿马路现象较多。建议增设护学岗和限时停车位。",
        fate: InformationFate::Submitted,
    },
    DemoInformation {
        author: "zhangjianguo",
        title: "关于农资价格上涨影响春耕的情况反映",
        body: "部分化肥品种价格较去年同期上涨，群众反映春耕成本增加，建议加强农资市场价格监测。",
        fate: InformationFate::Declined,
    },
];

/// Social-conditions information of 宁晋县: one item is adopted, reported
/// upward to 邢台市 and adopted there with a leader's instruction; skipped
/// when the committee has information items.
async fn load_information(staff: &mut Api, logins: &mut Logins<'_>) -> Result<String> {
    let existing = rpc!(
        staff,
        InformationServiceClient,
        list_information,
        pp::ListInformationRequest { page_size: 1, ..Default::default() }
    )
    .await?;
    let created = existing.items.is_empty();
    if created {
        let city_code = "130500";
        for spec in INFORMATION {
            let author = logins.get(CODE, spec.author).await?;
            let item =
                pp::InformationItem { title: spec.title.to_owned(), body: spec.body.to_owned(), ..Default::default() };
            let request = pp::SubmitInformationRequest { information: Some(item) };
            let item = rpc!(author, InformationServiceClient, submit_information, request)
                .await
                .with_context(|| format!("submitting 「{}」", spec.title))?;
            match spec.fate {
                InformationFate::Submitted => {}
                InformationFate::Declined => {
                    let request = pp::DeclineInformationRequest {
                        id: item.id.clone(),
                        reason: "所反映情况已由县发改局专项监测，暂不采用".to_owned(),
                    };
                    rpc!(staff, InformationServiceClient, decline_information, request).await?;
                }
                InformationFate::AdoptedUpward => {
                    rpc!(
                        staff,
                        InformationServiceClient,
                        adopt_information,
                        pp::AdoptInformationRequest { id: item.id.clone() }
                    )
                    .await?;
                    rpc!(
                        staff,
                        InformationServiceClient,
                        forward_information,
                        pp::ForwardInformationRequest { id: item.id.clone() }
                    )
                    .await
                    .with_context(|| format!("reporting 「{}」 upward", spec.title))?;
                    // The city's office finds the copy by its origin and adopts it.
                    let city = logins.get(city_code, ADMIN_USERNAME).await?;
                    let request =
                        pp::ListInformationRequest { received: Some(true), page_size: 200, ..Default::default() };
                    let received = rpc!(city, InformationServiceClient, list_information, request).await?;
                    let Some(copy) = received.items.into_iter().find(|c| c.origin_item_id == item.id) else {
                        bail!("邢台市政协 did not receive 「{}」", spec.title);
                    };
                    rpc!(
                        city,
                        InformationServiceClient,
                        adopt_information,
                        pp::AdoptInformationRequest { id: copy.id.clone() }
                    )
                    .await?;
                    let request = pp::InstructInformationRequest {
                        id: copy.id,
                        leader: "邢台市人民政府副市长".to_owned(),
                        text: "请市民政局会同各县（市、区）开展独居老人取暖安全排查，确保温暖过冬。".to_owned(),
                    };
                    rpc!(city, InformationServiceClient, instruct_information, request).await?;
                }
            }
        }
    }
    Ok(format!(
        "社情民意信息: {} items, 1 reported to 邢台市政协, adopted and instructed there — {}",
        INFORMATION.len(),
        outcome(created)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_year_has_what_the_issues_ask_for() {
        let f = figures();
        assert!(f.topics_by_source.iter().all(|n| *n > 0), "every source: {:?}", f.topics_by_source);
        assert!(f.activity_types >= 3);
        assert!(f.present > 0 && f.on_leave > 0 && f.absent > 0);
        assert!(f.reporting.make_up_sessions > 0 && f.reporting.reported_by_video > 0);
        assert!(f.reporting.scored_at_least_90 > 0);
        assert!(JUDGES.len() >= 5, "five judges make the trimmed mean");
        assert_eq!(ROSTER_SIZE, GROUP_SIZE * 9);
    }
}
