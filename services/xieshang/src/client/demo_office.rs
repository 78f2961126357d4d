//! The demo's office work in 宁晋县政协 (130528): a roster of members with
//! the committee's sectors, activity groups and special committees, and a
//! session's worth of proposals in every state of their lifecycle. Loaded
//! through the API by the committee's own staff, members and handling units;
//! skipped when the committee already has members or proposals.

use anyhow::{Context, Result, bail};
use xieshang_proto::common::v1::Date;
use xieshang_proto::membership::v1::membership_service_client::MembershipServiceClient;
use xieshang_proto::membership::v1::{
    CreateMemberRequest, CreateReferenceItemRequest, Gender, ListMembersRequest, Member, MemberRole, PartyAffiliation,
    ReferenceItem, ReferenceKind,
};
use xieshang_proto::proposals::v1::proposal_service_client::ProposalServiceClient;
use xieshang_proto::proposals::v1::{
    AssignProposalRequest, CreateProposalRequest, DeclineProposalRequest, FileProposalRequest, ListProposalsRequest,
    MergeProposalRequest, ObjectToAssignmentRequest, Proposal, ProposalCategory, ProposalKind, RateReplyRequest,
    Rating, RecordContactRequest, ReplyClass, ReplyToProposalRequest, SubmitProposalRequest, WithdrawProposalRequest,
};
use xieshang_proto::tenants::v1::auth_service_client::AuthServiceClient;
use xieshang_proto::tenants::v1::{LogoutRequest, WhoAmIRequest};

use super::api::{Api, ApiError};
use super::demo::demo_password;

pub const CODE: &str = "130528";

/// Sectors (界别) of the county committee: (code, name).
const SECTORS: &[(&str, &str)] = &[
    ("01", "中国共产党"),
    ("02", "中国民主同盟"),
    ("03", "中国民主建国会"),
    ("04", "无党派人士"),
    ("05", "经济界"),
    ("06", "农业界"),
    ("07", "教育界"),
    ("08", "医药卫生界"),
    ("09", "科学技术界"),
    ("10", "社会福利和社会保障界"),
];

/// Ningjin splits its members into nine activity groups.
const GROUPS: &[&str] = &[
    "第一活动小组",
    "第二活动小组",
    "第三活动小组",
    "第四活动小组",
    "第五活动小组",
    "第六活动小组",
    "第七活动小组",
    "第八活动小组",
    "第九活动小组",
];

const SPECIAL_COMMITTEES: &[&str] =
    &["提案委员会", "经济委员会", "农业农村委员会", "文化文史和学习委员会", "社会和法制委员会"];

const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡"];
const GIVEN: &[&str] = &[
    "建华", "秀英", "国强", "丽娟", "志明", "海燕", "文博", "桂兰", "永刚", "晓红", "春生", "玉梅", "德胜", "淑芬",
    "立新", "红霞",
];
const UNITS: &[(&str, &str)] = &[
    ("宁晋县第一中学", "高级教师"),
    ("宁晋县人民医院", "主任医师"),
    ("河北晶龙实业集团", "副总经理"),
    ("凤凰镇人民政府", "副镇长"),
    ("宁晋县农业农村局", "农艺师"),
    ("苏家庄镇东马庄村", "党支部书记"),
    ("宁晋县科技和工业信息化局", "工程师"),
    ("宁晋县律师协会", "律师"),
];

/// The members linked to demo user accounts: (member name, username).
pub const LINKED_MEMBERS: &[(&str, &str)] =
    &[("张建国", "zhangjianguo"), ("李秀英", "lixiuying"), ("王建民", "wangjianmin")];

/// How many generated members (besides the linked ones) the roster gets.
const GENERATED_MEMBERS: usize = 42;

/// GB 11643 check character of the first 17 digits of an ID number.
fn id_check(first17: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = first17.chars().zip(WEIGHTS).map(|(c, w)| c.to_digit(10).unwrap_or(0) * w).sum();
    CHECK[(sum % 11) as usize]
}

/// A deterministic, valid ID number of someone born in Ningjin.
fn id_number(i: usize, birth_year: i32, female: bool) -> String {
    let month = 1 + (i % 12);
    let day = 1 + (i * 7 % 28);
    // The sequence's last digit is odd for men, even for women.
    let seq = (i * 2 % 998) + usize::from(!female);
    let first17 = format!("130528{birth_year:04}{month:02}{day:02}{seq:03}");
    format!("{first17}{}", id_check(&first17))
}

struct Reference {
    sectors: Vec<String>,
    groups: Vec<String>,
    special_committees: Vec<String>,
}

/// What the office part loaded, for the summary.
pub struct OfficeSummary {
    pub members: usize,
    pub proposals: usize,
}

pub async fn load(api: &Api, suffix: &str) -> Result<OfficeSummary> {
    let mut staff = sign_in(api, "liting", suffix).await?;
    let members = load_roster(&mut staff, api, suffix).await.context("loading 宁晋县's roster")?;
    let proposals = load_proposals(&mut staff, api, suffix).await.context("loading 宁晋县's proposals")?;
    let _ = rpc!(staff, AuthServiceClient, logout, LogoutRequest {}).await;
    Ok(OfficeSummary { members, proposals })
}

async fn sign_in(api: &Api, username: &str, suffix: &str) -> Result<Api> {
    let session = api
        .sign_in(CODE, username, &demo_password(CODE, username, suffix))
        .await
        .with_context(|| format!("signing in as {username} of {CODE}"))?;
    Ok(api.ephemeral(session))
}

async fn reference_item(api: &mut Api, kind: ReferenceKind, code: &str, name: &str) -> Result<String, ApiError> {
    let item = ReferenceItem { kind: kind as i32, code: code.to_owned(), name: name.to_owned(), ..Default::default() };
    let created =
        rpc!(api, MembershipServiceClient, create_reference_item, CreateReferenceItemRequest { item: Some(item) })
            .await?;
    Ok(created.id)
}

/// Creates the roster unless the committee has members already. Returns how many were created.
async fn load_roster(staff: &mut Api, api: &Api, suffix: &str) -> Result<usize> {
    let existing =
        rpc!(staff, MembershipServiceClient, list_members, ListMembersRequest { page_size: 1, ..Default::default() })
            .await?;
    if !existing.members.is_empty() {
        return Ok(0);
    }
    let mut reference = Reference { sectors: Vec::new(), groups: Vec::new(), special_committees: Vec::new() };
    for (code, name) in SECTORS {
        reference.sectors.push(reference_item(staff, ReferenceKind::Sector, code, name).await?);
    }
    for (i, name) in GROUPS.iter().enumerate() {
        reference.groups.push(reference_item(staff, ReferenceKind::ActivityGroup, &format!("G{}", i + 1), name).await?);
    }
    for (i, name) in SPECIAL_COMMITTEES.iter().enumerate() {
        let code = format!("S{}", i + 1);
        reference.special_committees.push(reference_item(staff, ReferenceKind::SpecialCommittee, &code, name).await?);
    }

    let mut people: Vec<(String, Option<String>)> = Vec::new();
    for (name, username) in LINKED_MEMBERS {
        let who = sign_in(api, username, suffix).await?;
        let user_id = who.session().map(|s| s.user_id.clone()).unwrap_or_default();
        people.push(((*name).to_owned(), Some(user_id)));
    }
    for i in 0..GENERATED_MEMBERS {
        let name = format!("{}{}", SURNAMES[i % SURNAMES.len()], GIVEN[(i * 7 + 3) % GIVEN.len()]);
        if !people.iter().any(|(n, _)| *n == name) {
            people.push((name, None));
        }
    }
    let parties = [
        PartyAffiliation::Cpc,
        PartyAffiliation::Cdl,
        PartyAffiliation::Cndca,
        PartyAffiliation::NonPartisan,
        PartyAffiliation::Cpc,
        PartyAffiliation::Masses,
    ];
    for (i, (name, user_id)) in people.iter().enumerate() {
        let female = name == "李秀英" || (i >= LINKED_MEMBERS.len() && i % 3 == 1);
        let birth_year = 1962 + (i as i32 * 3 % 25);
        let (unit, title) = UNITS[i % UNITS.len()];
        let role = match i {
            0 => MemberRole::StandingMember,
            _ if i % 9 == 4 => MemberRole::StandingMember,
            _ => MemberRole::Member,
        };
        let member = Member {
            name: name.clone(),
            gender: if female { Gender::Female } else { Gender::Male } as i32,
            ethnicity: "汉族".to_owned(),
            birth_year,
            party: parties[i % parties.len()] as i32,
            sector_id: reference.sectors[i % reference.sectors.len()].clone(),
            work_unit: unit.to_owned(),
            title: title.to_owned(),
            phone: format!("139{:08}", 31_052_800 + i * 37),
            id_number: id_number(i, birth_year, female),
            term_number: 10,
            role: role as i32,
            standing_committee: role == MemberRole::StandingMember,
            activity_group_id: reference.groups[i % reference.groups.len()].clone(),
            special_committee_id: reference.special_committees[i % reference.special_committees.len()].clone(),
            user_id: user_id.clone().unwrap_or_default(),
            ..Default::default()
        };
        rpc!(staff, MembershipServiceClient, create_member, CreateMemberRequest { member: Some(member) })
            .await
            .with_context(|| format!("creating member {name}"))?;
    }
    Ok(people.len())
}

/// A proposal the demo drafts, and how far it gets.
struct DemoProposal {
    proposer: &'static str,
    title: &'static str,
    body: &'static str,
    category: ProposalCategory,
    goes_to: Stage,
}

/// In lifecycle order: a proposal gets every step of the stages before its
/// own, except the side exits (withdrawn, declined, merged), which are taken
/// from the state before them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Draft,
    Submitted,
    Withdrawn,
    Declined,
    Merged,
    Filed,
    Assigned,
    /// The lead unit objected to the assignment (AWAITING_REASSIGNMENT).
    Objected,
    Contacted,
    Replied,
    Closed,
}

const PROPOSALS: &[DemoProposal] = &[
    DemoProposal {
        proposer: "zhangjianguo",
        title: "关于加快宁晋县盐碱地改良利用的建议",
        body: "我县东部乡镇盐碱地面积较大，建议统筹高标准农田建设资金，开展盐碱地改良试点，推广耐盐作物品种。",
        category: ProposalCategory::Ecological,
        goes_to: Stage::Closed,
    },
    DemoProposal {
        proposer: "lixiuying",
        title: "关于加强农村留守儿童心理健康教育的建议",
        body: "建议在乡镇中心学校配备专职心理健康教师，建立留守儿童成长档案，定期开展心理辅导。",
        category: ProposalCategory::Social,
        goes_to: Stage::Replied,
    },
    DemoProposal {
        proposer: "wangjianmin",
        title: "关于推进老旧小区加装电梯的建议",
        body: "县城部分老旧小区居民老龄化程度高，建议出台加装电梯补助办法，简化审批流程。",
        category: ProposalCategory::Social,
        goes_to: Stage::Contacted,
    },
    DemoProposal {
        proposer: "zhangjianguo",
        title: "关于扶持宁晋县光伏产业链延伸发展的建议",
        body: "依托晶龙等龙头企业，建议设立产业链配套园区，引进组件、支架、储能等上下游企业。",
        category: ProposalCategory::Economic,
        goes_to: Stage::Assigned,
    },
    DemoProposal {
        proposer: "lixiuying",
        title: "关于规范县城夜市经营秩序的建议",
        body: "建议划定夜市经营区域，统一管理油烟排放和垃圾清运，兼顾群众生活便利与市容整洁。",
        category: ProposalCategory::Social,
        goes_to: Stage::Filed,
    },
    DemoProposal {
        proposer: "wangjianmin",
        title: "关于增加县城公共停车位的建议",
        body: "建议利用闲置地块建设立体停车场，推动机关单位停车场错时向社会开放。",
        category: ProposalCategory::Economic,
        goes_to: Stage::Declined,
    },
    DemoProposal {
        proposer: "zhangjianguo",
        title: "关于保护和传承宁晋县非物质文化遗产的建议",
        body: "建议对宁晋县丝弦等非遗项目开展系统整理，支持传承人进校园、进社区。",
        category: ProposalCategory::Cultural,
        goes_to: Stage::Submitted,
    },
    DemoProposal {
        proposer: "lixiuying",
        title: "关于完善县域养老服务体系的建议",
        body: "（草稿）建议发展社区嵌入式养老服务，推动医养结合。",
        category: ProposalCategory::Social,
        goes_to: Stage::Draft,
    },
    DemoProposal {
        proposer: "wangjianmin",
        title: "关于规范县城夜间经营摊点管理的建议",
        body: "建议统一规划夜间经营摊点，落实门前三包责任，方便群众又不扰民。",
        category: ProposalCategory::Social,
        goes_to: Stage::Merged,
    },
    DemoProposal {
        proposer: "zhangjianguo",
        title: "关于建设县域冷链物流中心的建议",
        body: "建议在县城周边规划建设冷链物流中心，服务果蔬和肉类产品外销。",
        category: ProposalCategory::Economic,
        goes_to: Stage::Objected,
    },
    DemoProposal {
        proposer: "lixiuying",
        title: "关于增设农村公交线路的建议",
        body: "（提案人经调研了解到相关线路已在规划中，主动撤回。）",
        category: ProposalCategory::Social,
        goes_to: Stage::Withdrawn,
    },
];

/// The proposals the office sees: all but drafts, which stay their proposer's.
pub const PROPOSALS_SEEN_BY_STAFF: usize = 10;

/// Into which proposal the merged one goes (by title): the filed one on the same matter.
const MERGED_INTO: &str = "关于规范县城夜市经营秩序的建议";

/// Drafts the demo proposals and takes each to its stage, unless the
/// committee has proposals already. Returns how many were created.
async fn load_proposals(staff: &mut Api, api: &Api, suffix: &str) -> Result<usize> {
    let existing =
        rpc!(staff, ProposalServiceClient, list_proposals, ListProposalsRequest { page_size: 1, ..Default::default() })
            .await?;
    if !existing.proposals.is_empty() {
        return Ok(0);
    }
    let mut lead_unit = sign_in(api, "nongyeju", suffix).await?;
    let unit_id =
        rpc!(lead_unit, AuthServiceClient, who_am_i, WhoAmIRequest {}).await?.user.map(|u| u.id).unwrap_or_default();
    let co_unit = sign_in(api, "zhujianju", suffix).await?;
    let co_unit_id = co_unit.session().map(|s| s.user_id.clone()).unwrap_or_default();

    let mut created_ids: Vec<(&str, String)> = Vec::new();
    for spec in PROPOSALS {
        let mut proposer = sign_in(api, spec.proposer, suffix).await?;
        let draft = Proposal {
            kind: ProposalKind::Individual as i32,
            title: spec.title.to_owned(),
            body: spec.body.to_owned(),
            category: spec.category as i32,
            ..Default::default()
        };
        let created =
            rpc!(proposer, ProposalServiceClient, create_proposal, CreateProposalRequest { proposal: Some(draft) })
                .await?;
        let id = created.id;
        created_ids.push((spec.title, id.clone()));
        if spec.goes_to >= Stage::Submitted {
            rpc!(proposer, ProposalServiceClient, submit_proposal, SubmitProposalRequest { id: id.clone() }).await?;
        }
        if spec.goes_to == Stage::Withdrawn {
            rpc!(proposer, ProposalServiceClient, withdraw_proposal, WithdrawProposalRequest { id: id.clone() })
                .await?;
        }
        if spec.goes_to == Stage::Merged {
            let Some(into) = created_ids.iter().find(|(title, _)| *title == MERGED_INTO) else {
                bail!("demo data error: 「{MERGED_INTO}」 must come before the proposal merged into it");
            };
            let request = MergeProposalRequest {
                id: id.clone(),
                into_proposal_id: into.1.clone(),
                reason: format!("与《{MERGED_INTO}》内容相近，并案办理"),
            };
            rpc!(staff, ProposalServiceClient, merge_proposal, request).await?;
        }
        if spec.goes_to == Stage::Declined {
            let request = DeclineProposalRequest {
                id: id.clone(),
                reason: "所提问题已列入县政府年度民生实事，建议转为社情民意信息反映".to_owned(),
                ..Default::default()
            };
            rpc!(staff, ProposalServiceClient, decline_proposal, request).await?;
        }
        if spec.goes_to >= Stage::Filed {
            rpc!(staff, ProposalServiceClient, file_proposal, FileProposalRequest { id: id.clone() }).await?;
        }
        if spec.goes_to >= Stage::Assigned {
            let request = AssignProposalRequest {
                id: id.clone(),
                lead_unit_user_id: unit_id.clone(),
                co_unit_user_ids: vec![co_unit_id.clone()],
                ..Default::default()
            };
            rpc!(staff, ProposalServiceClient, assign_proposal, request).await?;
        }
        if spec.goes_to == Stage::Objected {
            let request = ObjectToAssignmentRequest {
                id: id.clone(),
                reason: "冷链物流中心规划建设主要由县发展和改革局、县商务局负责，建议改由其承办".to_owned(),
            };
            rpc!(lead_unit, ProposalServiceClient, object_to_assignment, request).await?;
        }
        if spec.goes_to >= Stage::Contacted {
            let request = RecordContactRequest {
                id: id.clone(),
                contact_date: Some(Date { year: 2025, month: 3, day: 12 }),
                note: "电话沟通并实地走访，听取提案人意见".to_owned(),
            };
            rpc!(lead_unit, ProposalServiceClient, record_contact, request).await?;
        }
        if spec.goes_to >= Stage::Replied {
            let request = ReplyToProposalRequest {
                id: id.clone(),
                reply_class: ReplyClass::B as i32,
                text: "所提建议已列入明年工作计划，将分步实施。".to_owned(),
            };
            rpc!(lead_unit, ProposalServiceClient, reply_to_proposal, request).await?;
        }
        if spec.goes_to >= Stage::Closed {
            let request = RateReplyRequest {
                id: id.clone(),
                process_rating: Rating::Satisfied as i32,
                result_rating: Rating::BasicallySatisfied as i32,
                comment: "办理态度认真，期待早日落实".to_owned(),
            };
            rpc!(proposer, ProposalServiceClient, rate_reply, request).await?;
        }
        let _ = rpc!(proposer, AuthServiceClient, logout, LogoutRequest {}).await;
    }
    let _ = rpc!(lead_unit, AuthServiceClient, logout, LogoutRequest {}).await;
    Ok(PROPOSALS.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_id_numbers_carry_a_valid_check_character() {
        // GB 11643's worked example.
        assert_eq!(id_check("11010519491231002"), 'X');
        let id = id_number(5, 1970, true);
        assert_eq!(id.len(), 18);
        assert!(id.starts_with("1305281970"));
        assert_eq!(id.chars().last(), Some(id_check(&id[..17])));
    }

    #[test]
    fn proposals_cover_every_stage() {
        for stage in [
            Stage::Draft,
            Stage::Submitted,
            Stage::Withdrawn,
            Stage::Declined,
            Stage::Merged,
            Stage::Filed,
            Stage::Assigned,
            Stage::Objected,
            Stage::Contacted,
            Stage::Replied,
            Stage::Closed,
        ] {
            assert!(PROPOSALS.iter().any(|p| p.goes_to == stage));
        }
        let drafts = PROPOSALS.iter().filter(|p| p.goes_to == Stage::Draft).count();
        assert_eq!(PROPOSALS_SEEN_BY_STAFF, PROPOSALS.len() - drafts);
    }
}
