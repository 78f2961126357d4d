//! The demo year's consultation work in 宁晋县政协: topics from the four
//! sources screened into the published 年度协商监督计划, joint groups for the
//! round-table rotation, and activities of several types with their research,
//! meetings and attendance, suggestions and feedback, and a quality
//! evaluation (see `demo_year`).

use std::collections::{HashMap, HashSet};

use anyhow::{Context, Result};
use xieshang_proto::consultation::v1 as pc;
use xieshang_proto::consultation::v1::consultation_service_client::ConsultationServiceClient;
use xieshang_proto::consultation::v1::quality_service_client::QualityServiceClient;
use xieshang_proto::membership::v1 as pm;

use super::api::Api;
use super::demo_year::{CODE, JUDGES, Logins, YEAR, on, outcome, reference, user_id};

use pc::ConsultationType as Type;
use pc::TopicSource as Source;

/// A plan item made of a selected topic.
struct ItemSpec {
    kind: Type,
    lead: &'static str,
    month: i32,
    units: &'static [&'static str],
    /// Added after the party committee returned the plan with comments.
    after_return: bool,
}

/// A topic: who proposes it (a department or person for staff-entered
/// topics, the username of a member for 委员荐题), and the plan item it
/// becomes when selected.
struct TopicSpec {
    source: Source,
    title: &'static str,
    rationale: &'static str,
    submitter: &'static str,
    item: Option<ItemSpec>,
}

const TOPICS: &[TopicSpec] = &[
    TopicSpec {
        source: Source::PartyGovernment,
        title: "推进盐碱地综合利用，建设高标准农田",
        rationale: "县委农村工作会议部署盐碱地改良，需要政协围绕资金统筹和技术推广建言。",
        submitter: "中共宁晋县委办公室",
        item: Some(ItemSpec {
            kind: Type::Counterpart,
            lead: "农业农村委员会",
            month: 4,
            units: &["县农业农村局", "县水务局", "县财政局"],
            after_return: false,
        }),
    },
    TopicSpec {
        source: Source::PartyGovernment,
        title: "推进紧密型县域医疗卫生共同体建设",
        rationale: "县政府年度重点改革任务，群众看病就医在乡镇的需求突出。",
        submitter: "宁晋县人民政府办公室",
        item: Some(ItemSpec {
            kind: Type::PleaseConsult,
            lead: "社会和法制委员会",
            month: 6,
            units: &["县卫生健康局", "县医疗保障局", "县人民医院"],
            after_return: false,
        }),
    },
    TopicSpec {
        source: Source::Public,
        title: "老旧小区加装电梯怎么推进",
        rationale: "凤凰镇多个老旧小区居民来信，希望解决老人上下楼难。",
        submitter: "凤凰镇居民 刘桂芳",
        item: Some(ItemSpec {
            kind: Type::Grassroots,
            lead: "社会和法制委员会",
            month: 8,
            units: &["县住房和城乡建设局", "凤凰镇人民政府"],
            after_return: false,
        }),
    },
    TopicSpec {
        source: Source::Member,
        title: "光伏产业链延链补链",
        rationale: "依托龙头企业延伸光伏产业链，是县域经济高质量发展的关键。",
        submitter: "zhangjianguo",
        item: Some(ItemSpec {
            kind: Type::SectorRoundTable,
            lead: "经济委员会",
            month: 9,
            units: &["县发展和改革局", "县科技和工业信息化局"],
            after_return: false,
        }),
    },
    TopicSpec {
        source: Source::Committee,
        title: "宁晋县非物质文化遗产保护传承",
        rationale: "丝弦等非遗项目传承人老龄化，亟需系统保护。",
        submitter: "宁晋县政协文化文史和学习委员会",
        item: Some(ItemSpec {
            kind: Type::SectorRoundTable,
            lead: "文化文史和学习委员会",
            month: 10,
            units: &["县文化广电和旅游局"],
            after_return: false,
        }),
    },
    TopicSpec {
        source: Source::Committee,
        title: "农村人居环境整治重点提案办理",
        rationale: "提案办理协商，推动农村生活污水和垃圾治理提案落实。",
        submitter: "宁晋县政协提案委员会",
        item: Some(ItemSpec {
            kind: Type::ProposalHandling,
            lead: "提案委员会",
            month: 7,
            units: &["县农业农村局", "邢台市生态环境局宁晋县分局"],
            after_return: true,
        }),
    },
    TopicSpec {
        source: Source::Member,
        title: "规范县城夜市经营秩序",
        rationale: "夜市油烟、噪音和垃圾问题群众反映较多。",
        submitter: "lixiuying",
        item: None,
    },
];

/// Members who endorse (附议) the members' topics.
const ENDORSERS: &[&str] = &["lixiuying", "wangjianmin", "zhangjianguo"];

pub(super) fn topics_by_source() -> [usize; 4] {
    let count = |s: Source| TOPICS.iter().filter(|t| t.source == s).count();
    [count(Source::PartyGovernment), count(Source::Public), count(Source::Member), count(Source::Committee)]
}

pub(super) fn topics_selected() -> usize {
    TOPICS.iter().filter(|t| t.item.is_some()).count()
}

pub(super) fn plan_items() -> usize {
    topics_selected()
}

/// Joint groups (联组) of 宁晋's sectors, in rotation order: (name, sector codes).
pub(super) const JOINT_GROUPS: &[(&str, &[&str])] = &[
    ("第一联组（党派、无党派）", &["01", "02", "03", "04"]),
    ("第二联组（经济、农业）", &["05", "06"]),
    ("第三联组（教科卫、社会福利）", &["07", "08", "09", "10"]),
];

/// A meeting of an activity: invitees are `invited` members of the
/// name-sorted roster from `first`; `attendance` has one letter per
/// invitee: P present, L on leave, A absent.
struct MeetingSpec {
    title: &'static str,
    date: (i32, i32),
    place: &'static str,
    agenda: &'static [&'static str],
    observers: &'static [&'static str],
    first: usize,
    attendance: &'static str,
    /// (invitee, title, written?)
    speeches: &'static [(usize, &'static str, bool)],
}

use pc::FeedbackResult as Feedback;

pub(super) struct ActivitySpec {
    title: &'static str,
    kind: Type,
    /// The department consulted (对口部门), for counterpart consultations.
    department: &'static str,
    /// The topic whose plan item it carries out.
    topic: usize,
    visits: &'static [((i32, i32), &'static str, &'static str)],
    meeting: Option<MeetingSpec>,
    suggestions: &'static [(&'static str, Feedback, &'static str)],
    reaches: pc::ActivityStage,
    evaluated: bool,
}

pub(super) const ACTIVITIES: &[ActivitySpec] = &[
    ActivitySpec {
        title: "关于推进盐碱地综合利用的对口协商",
        kind: Type::Counterpart,
        department: "宁晋县农业农村局",
        topic: 0,
        visits: &[
            ((3, 12), "大陆村镇盐碱地改良示范区", "示范区改良后小麦亩产提高两成，但配套灌排设施不足。"),
            ((3, 20), "东汪镇高标准农田项目区", "项目区建设标准不一，后期管护责任不清。"),
        ],
        meeting: Some(MeetingSpec {
            title: "盐碱地综合利用对口协商会",
            date: (4, 17),
            place: "宁晋县政协常委会议室",
            agenda: &["通报盐碱地综合利用工作情况", "委员发言", "县政府领导讲话"],
            observers: &["县农业农村局局长", "县水务局副局长"],
            first: 0,
            attendance: "PPPPPPPLLA",
            speeches: &[(0, "统筹资金推进盐碱地改良", false), (3, "推广耐盐作物品种", true)],
        }),
        suggestions: &[
            ("统筹高标准农田建设和盐碱地改良资金，集中连片推进。", Feedback::Adopted, "已纳入2026年高标准农田建设计划"),
            ("建立耐盐作物品种试验示范基地。", Feedback::PartlyAdopted, "在大陆村镇先行试点"),
            ("设立盐碱地改良专项补贴。", Feedback::NotAdopted, "受县级财力所限，暂不设立"),
        ],
        reaches: pc::ActivityStage::FollowUp,
        evaluated: true,
    },
    ActivitySpec {
        title: "“请你来协商”：推进紧密型县域医共体建设",
        department: "",
        kind: Type::PleaseConsult,
        topic: 1,
        visits: &[((5, 22), "宁晋县人民医院及河渠镇卫生院", "乡镇卫生院人才短缺，检查结果互认不畅。")],
        meeting: Some(MeetingSpec {
            title: "“请你来协商”座谈会",
            date: (6, 19),
            place: "宁晋县政协三楼会议室",
            agenda: &["县卫生健康局通报医共体建设情况", "委员与部门负责人面对面协商"],
            observers: &["县卫生健康局局长", "县医疗保障局局长"],
            first: 10,
            attendance: "PPPPPPPL",
            speeches: &[(1, "推动优质医疗资源下沉乡镇", false)],
        }),
        suggestions: &[
            ("推行医共体内检查检验结果互认。", Feedback::Adopted, "已在医共体内全面推行"),
            ("落实乡镇卫生院人才定向培养政策。", Feedback::Adopted, "列入县卫生健康局年度计划"),
        ],
        reaches: pc::ActivityStage::Feedback,
        evaluated: true,
    },
    ActivitySpec {
        title: "界别圆桌会：光伏产业链延链补链",
        department: "",
        kind: Type::SectorRoundTable,
        topic: 3,
        visits: &[((8, 26), "宁晋县经济开发区光伏产业园", "配套企业少，储能环节空白。")],
        meeting: Some(MeetingSpec {
            title: "经济界、农业界界别圆桌会",
            date: (9, 16),
            place: "宁晋县经济开发区管委会会议室",
            agenda: &["界别委员围绕光伏产业链协商"],
            observers: &["县发展和改革局副局长"],
            first: 18,
            attendance: "PPPPPP",
            speeches: &[(2, "引进储能项目补齐产业链", false)],
        }),
        suggestions: &[
            ("设立光伏配套产业园，引进组件、支架、储能企业。", Feedback::Unspecified, ""),
            ("建立产业链链长制。", Feedback::Unspecified, ""),
        ],
        reaches: pc::ActivityStage::Report,
        evaluated: false,
    },
    ActivitySpec {
        title: "界别圆桌会：宁晋县非物质文化遗产保护传承",
        department: "",
        kind: Type::SectorRoundTable,
        topic: 4,
        visits: &[((10, 14), "宁晋县文化馆", "丝弦剧团演员平均年龄超过五十岁。")],
        meeting: None,
        suggestions: &[],
        reaches: pc::ActivityStage::Research,
        evaluated: false,
    },
    ActivitySpec {
        title: "民生议事堂：老旧小区加装电梯怎么商",
        department: "",
        kind: Type::Grassroots,
        topic: 2,
        visits: &[((7, 30), "凤凰镇建设路小区", "多数住户同意加装，低层住户担心采光和噪音。")],
        meeting: Some(MeetingSpec {
            title: "凤凰镇民生议事堂协商会",
            date: (8, 21),
            place: "凤凰镇建设路社区党群服务中心",
            agenda: &["居民代表介绍诉求", "委员、部门和居民共同协商"],
            observers: &["凤凰镇副镇长", "建设路社区居民代表"],
            first: 26,
            attendance: "PPPPA",
            speeches: &[(0, "分摊费用兼顾低层住户利益", false)],
        }),
        suggestions: &[],
        reaches: pc::ActivityStage::Meeting,
        evaluated: false,
    },
];

pub(super) fn activity_types() -> usize {
    ACTIVITIES.iter().map(|a| a.kind as i32).collect::<HashSet<_>>().len()
}

pub(super) fn meetings() -> usize {
    ACTIVITIES.iter().filter(|a| a.meeting.is_some()).count()
}

/// Present, on leave and absent over every meeting.
pub(super) fn attendance_totals() -> (usize, usize, usize) {
    let letters: String = ACTIVITIES.iter().filter_map(|a| a.meeting.as_ref()).map(|m| m.attendance).collect();
    let count = |c: char| letters.chars().filter(|l| *l == c).count();
    (count('P'), count('L'), count('A'))
}

pub(super) fn suggestions() -> usize {
    ACTIVITIES.iter().map(|a| a.suggestions.len()).sum()
}

pub(super) fn suggestions_with_feedback() -> usize {
    ACTIVITIES.iter().flat_map(|a| a.suggestions).filter(|s| s.1 != Feedback::Unspecified).count()
}

pub(super) fn evaluated_activities() -> usize {
    ACTIVITIES.iter().filter(|a| a.evaluated).count()
}

/// The quality standard of the year: (criterion, weight).
const CRITERIA: &[(&str, i32)] = &[("选题精准", 25), ("调研深入", 25), ("建言质量", 30), ("成果转化", 20)];
/// How many of the demo's judges evaluate (besides the staff member).
const EVALUATING_JUDGES: usize = 2;

/// Loads the plan and the activities; one summary line each.
pub(super) async fn load(staff: &mut Api, logins: &mut Logins<'_>, roster: &[pm::Member]) -> Result<Vec<String>> {
    let (plan, plan_created) = load_plan(staff, logins).await.context("loading the 年度协商监督计划")?;
    let plan_line = format!(
        "协商 {YEAR}: {} topics from the four sources ({} selected), plan {} with {} items — {}",
        TOPICS.len(),
        topics_selected(),
        pc::PlanState::try_from(plan.state)
            .map(|s| s.as_str_name().trim_start_matches("PLAN_STATE_").to_lowercase())
            .unwrap_or_default(),
        plan.items.len(),
        outcome(plan_created)
    );
    let groups_created = load_joint_groups(staff).await.context("creating the joint groups")?;
    let request = pc::ListActivitiesRequest { year: YEAR, page_size: 1, ..Default::default() };
    let existing = rpc!(staff, ConsultationServiceClient, list_activities, request).await?;
    let created = existing.activities.is_empty();
    if created {
        load_activities(staff, logins, roster, &plan).await.context("loading the consultation activities")?;
    }
    let (present, on_leave, absent) = attendance_totals();
    let activity_line = format!(
        "协商活动 {YEAR}: {} activities of {} types, {} meetings (attendance {present} present, {on_leave} on leave, \
         {absent} absent), {} suggestions ({} with feedback), {} evaluated; {} joint groups rotate the round tables — {}",
        ACTIVITIES.len(),
        activity_types(),
        meetings(),
        suggestions(),
        suggestions_with_feedback(),
        evaluated_activities(),
        JOINT_GROUPS.len(),
        outcome(created || groups_created)
    );
    Ok(vec![plan_line, activity_line])
}

/// Topics, screening and the plan, through to PUBLISHED; skipped when the
/// year has a plan. Returns the plan.
async fn load_plan(staff: &mut Api, logins: &mut Logins<'_>) -> Result<(pc::Plan, bool)> {
    let plans = rpc!(staff, ConsultationServiceClient, list_plans, pc::ListPlansRequest { year: YEAR }).await?;
    if let Some(plan) = plans.plans.into_iter().next() {
        let plan = rpc!(staff, ConsultationServiceClient, get_plan, pc::GetPlanRequest { id: plan.id }).await?;
        return Ok((plan, false));
    }

    let mut topic_ids = Vec::new();
    for spec in TOPICS {
        let topic = pc::Topic {
            title: spec.title.to_owned(),
            rationale: spec.rationale.to_owned(),
            source: spec.source as i32,
            submitter_name: if spec.source == Source::Member { String::new() } else { spec.submitter.to_owned() },
            ..Default::default()
        };
        let request = pc::CreateTopicRequest { topic: Some(topic) };
        let created = if spec.source == Source::Member {
            // 委员荐题: the member enters it, other members endorse it.
            let member = logins.get(CODE, spec.submitter).await?;
            let created = rpc!(member, ConsultationServiceClient, create_topic, request).await;
            let created = created.with_context(|| format!("proposing 「{}」", spec.title))?;
            for endorser in ENDORSERS.iter().filter(|e| **e != spec.submitter) {
                let member = logins.get(CODE, endorser).await?;
                let endorsed = rpc!(
                    member,
                    ConsultationServiceClient,
                    endorse_topic,
                    pc::EndorseTopicRequest { id: created.id.clone() }
                )
                .await;
                endorsed.with_context(|| format!("endorsing 「{}」", spec.title))?;
            }
            created
        } else {
            rpc!(staff, ConsultationServiceClient, create_topic, request)
                .await
                .with_context(|| format!("entering 「{}」", spec.title))?
        };
        let selected = spec.item.is_some();
        let request = pc::ScreenTopicRequest {
            id: created.id.clone(),
            screening: Some(pc::Screening {
                party_government_need: "符合县委县政府年度重点工作部署".to_owned(),
                public_expectation: if selected {
                    "群众关注度高，诉求集中"
                } else {
                    "已有部门专项整治，群众诉求正在解决"
                }
                .to_owned(),
                committee_capacity: if selected {
                    "有相关专委会和界别委员力量支撑"
                } else {
                    "宜通过提案和社情民意信息反映"
                }
                .to_owned(),
                ..Default::default()
            }),
            verdict: if selected { pc::ScreeningVerdict::Selected } else { pc::ScreeningVerdict::NotSelected } as i32,
        };
        rpc!(staff, ConsultationServiceClient, screen_topic, request)
            .await
            .with_context(|| format!("screening 「{}」", spec.title))?;
        topic_ids.push(created.id);
    }

    let plan = rpc!(staff, ConsultationServiceClient, create_plan, pc::CreatePlanRequest { year: YEAR }).await?;
    add_items(staff, &plan.id, &topic_ids, false).await?;
    let id = plan.id.clone();
    rpc!(staff, ConsultationServiceClient, submit_plan, pc::SubmitPlanRequest { id: id.clone() }).await?;
    // The county party committee returns the first draft, as happens.
    let request = pc::ReturnPlanRequest {
        id: id.clone(),
        comments: "请增加提案办理协商内容，推动重点提案落实。".to_owned(),
    };
    rpc!(staff, ConsultationServiceClient, return_plan, request).await?;
    add_items(staff, &plan.id, &topic_ids, true).await?;
    rpc!(staff, ConsultationServiceClient, submit_plan, pc::SubmitPlanRequest { id: id.clone() }).await?;
    rpc!(staff, ConsultationServiceClient, approve_plan, pc::ApprovePlanRequest { id: id.clone() }).await?;
    let plan = rpc!(staff, ConsultationServiceClient, publish_plan, pc::PublishPlanRequest { id }).await?;
    Ok((plan, true))
}

/// Adds the plan items of the selected topics, those of the first draft or
/// those added after the plan was returned.
async fn add_items(staff: &mut Api, plan_id: &str, topic_ids: &[String], after_return: bool) -> Result<()> {
    for (spec, topic_id) in TOPICS.iter().zip(topic_ids) {
        let Some(item) = spec.item.as_ref().filter(|i| i.after_return == after_return) else {
            continue;
        };
        let request = pc::AddPlanItemRequest {
            plan_id: plan_id.to_owned(),
            item: Some(pc::PlanItem {
                topic_id: topic_id.clone(),
                r#type: item.kind as i32,
                lead_committee: item.lead.to_owned(),
                planned_month: item.month,
                participating_units: item.units.iter().map(|u| (*u).to_owned()).collect(),
                ..Default::default()
            }),
        };
        rpc!(staff, ConsultationServiceClient, add_plan_item, request)
            .await
            .with_context(|| format!("adding 「{}」 to the plan", spec.title))?;
    }
    Ok(())
}

/// The joint groups of the round-table rotation; skipped when there are some.
/// Returns whether they were created.
async fn load_joint_groups(staff: &mut Api) -> Result<bool> {
    let existing = rpc!(staff, QualityServiceClient, list_joint_groups, pc::ListJointGroupsRequest {}).await?;
    if !existing.groups.is_empty() {
        return Ok(false);
    }
    let sectors: HashMap<String, String> =
        reference(staff, pm::ReferenceKind::Sector).await?.into_iter().map(|s| (s.code, s.id)).collect();
    for (name, codes) in JOINT_GROUPS {
        let sector_ids: Vec<String> = codes.iter().filter_map(|c| sectors.get(*c).cloned()).collect();
        if sector_ids.is_empty() {
            continue;
        }
        let request = pc::CreateJointGroupRequest {
            group: Some(pc::JointGroup { name: (*name).to_owned(), sector_ids, ..Default::default() }),
        };
        rpc!(staff, QualityServiceClient, create_joint_group, request)
            .await
            .with_context(|| format!("creating {name}"))?;
    }
    Ok(true)
}

async fn advance(staff: &mut Api, id: &str, stage: pc::ActivityStage) -> Result<()> {
    let request = pc::AdvanceActivityRequest { id: id.to_owned(), stage: stage as i32 };
    rpc!(staff, ConsultationServiceClient, advance_activity, request)
        .await
        .with_context(|| format!("moving the activity to {}", stage.as_str_name()))?;
    Ok(())
}

async fn load_activities(
    staff: &mut Api,
    logins: &mut Logins<'_>,
    roster: &[pm::Member],
    plan: &pc::Plan,
) -> Result<()> {
    use pc::ActivityStage as Stage;
    let mut evaluated = Vec::new();
    for spec in ACTIVITIES {
        let title = TOPICS.get(spec.topic).map(|t| t.title).unwrap_or_default();
        let plan_item_id = plan.items.iter().find(|i| i.title == title).map(|i| i.id.clone()).unwrap_or_default();
        let activity = pc::Activity {
            title: spec.title.to_owned(),
            r#type: spec.kind as i32,
            department: spec.department.to_owned(),
            plan_item_id,
            year: YEAR,
            ..Default::default()
        };
        let request = pc::CreateActivityRequest { activity: Some(activity) };
        let activity = rpc!(staff, ConsultationServiceClient, create_activity, request)
            .await
            .with_context(|| format!("creating 「{}」", spec.title))?;
        let id = activity.id.clone();
        for ((month, day), place, note) in spec.visits {
            let request = pc::AddResearchVisitRequest {
                activity_id: id.clone(),
                visit: Some(pc::ResearchVisit {
                    date: on(*month, *day),
                    place: (*place).to_owned(),
                    note: (*note).to_owned(),
                    ..Default::default()
                }),
            };
            rpc!(staff, ConsultationServiceClient, add_research_visit, request).await?;
        }
        if spec.reaches as i32 >= Stage::Meeting as i32 {
            advance(staff, &id, Stage::Meeting).await?;
        }
        if let Some(meeting) = &spec.meeting {
            hold_meeting(staff, &id, meeting, roster).await.with_context(|| format!("holding {}", meeting.title))?;
        }
        if spec.reaches as i32 >= Stage::Report as i32 {
            advance(staff, &id, Stage::Report).await?;
        }
        let mut added = Vec::new();
        for (text, _, _) in spec.suggestions {
            let request = pc::AddSuggestionRequest { activity_id: id.clone(), text: (*text).to_owned() };
            added.push(rpc!(staff, ConsultationServiceClient, add_suggestion, request).await?);
        }
        if spec.reaches as i32 >= Stage::Feedback as i32 {
            advance(staff, &id, Stage::Feedback).await?;
            for (suggestion, (_, feedback, note)) in added.iter().zip(spec.suggestions) {
                if *feedback == Feedback::Unspecified {
                    continue;
                }
                let request = pc::RecordFeedbackRequest {
                    suggestion_id: suggestion.id.clone(),
                    feedback: *feedback as i32,
                    note: (*note).to_owned(),
                };
                rpc!(staff, ConsultationServiceClient, record_feedback, request).await?;
            }
        }
        if spec.reaches == Stage::FollowUp {
            advance(staff, &id, Stage::FollowUp).await?;
        }
        if spec.evaluated {
            evaluated.push(id);
        }
    }
    evaluate(staff, logins, &evaluated).await.context("evaluating the activities' quality")
}

async fn hold_meeting(staff: &mut Api, activity_id: &str, spec: &MeetingSpec, roster: &[pm::Member]) -> Result<()> {
    let invited: Vec<&pm::Member> =
        roster.iter().cycle().skip(spec.first).take(spec.attendance.chars().count().min(roster.len())).collect();
    let meeting = pc::Meeting {
        kind: pc::MeetingKind::Activity as i32,
        title: spec.title.to_owned(),
        date: on(spec.date.0, spec.date.1),
        place: spec.place.to_owned(),
        activity_id: activity_id.to_owned(),
        agenda: spec.agenda.iter().map(|a| (*a).to_owned()).collect(),
        invitees: invited.iter().map(|m| pc::Invitee { member_id: m.id.clone(), ..Default::default() }).collect(),
        observers: spec.observers.iter().map(|o| (*o).to_owned()).collect(),
        ..Default::default()
    };
    let meeting =
        rpc!(staff, ConsultationServiceClient, create_meeting, pc::CreateMeetingRequest { meeting: Some(meeting) })
            .await?;
    let entries = invited
        .iter()
        .zip(spec.attendance.chars())
        .map(|(m, letter)| {
            let (attendance, leave_reason) = match letter {
                'L' => (pc::Attendance::OnLeave, "外出参加市里培训"),
                'A' => (pc::Attendance::Absent, ""),
                _ => (pc::Attendance::Present, ""),
            };
            pc::AttendanceEntry {
                member_id: m.id.clone(),
                attendance: attendance as i32,
                leave_reason: leave_reason.to_owned(),
            }
        })
        .collect();
    let request = pc::RecordAttendanceRequest { meeting_id: meeting.id.clone(), entries };
    rpc!(staff, ConsultationServiceClient, record_attendance, request).await?;
    for (invitee, title, written) in spec.speeches {
        let Some(member) = invited.get(*invitee) else {
            continue;
        };
        let request = pc::RecordSpeechRequest {
            meeting_id: meeting.id.clone(),
            speech: Some(pc::Speech {
                member_id: member.id.clone(),
                title: (*title).to_owned(),
                kind: if *written { pc::SpeechKind::Written } else { pc::SpeechKind::Oral } as i32,
                ..Default::default()
            }),
        };
        rpc!(staff, ConsultationServiceClient, record_speech, request).await?;
    }
    Ok(())
}

/// The year's quality standard, and the staff member and two judges scoring
/// the evaluated activities.
async fn evaluate(staff: &mut Api, logins: &mut Logins<'_>, activities: &[String]) -> Result<()> {
    let standard = pc::QualityStandard {
        year: YEAR,
        criteria: CRITERIA
            .iter()
            .map(|(name, weight)| pc::QualityCriterion {
                name: (*name).to_owned(),
                weight: *weight,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let standard = rpc!(
        staff,
        QualityServiceClient,
        set_quality_standard,
        pc::SetQualityStandardRequest { standard: Some(standard) }
    )
    .await?;
    let judges: Vec<&str> = JUDGES.iter().take(EVALUATING_JUDGES).map(|j| j.0).collect();
    let mut ids = vec![user_id(staff)];
    for username in &judges {
        ids.push(user_id(logins.get(CODE, username).await?));
    }
    for activity in activities {
        let request = pc::AssignEvaluatorsRequest { activity_id: activity.clone(), evaluator_user_ids: ids.clone() };
        rpc!(staff, QualityServiceClient, assign_evaluators, request).await?;
    }
    // Scores differ by activity, evaluator (the staff member first) and criterion.
    let scores = |a: usize, e: usize| -> Vec<pc::CriterionScore> {
        standard
            .criteria
            .iter()
            .enumerate()
            .map(|(c, criterion)| pc::CriterionScore {
                criterion_id: criterion.id.clone(),
                score: i32::try_from(95 - (a * 4 + e * 3 + c * 2) % 15).unwrap_or(85),
                ..Default::default()
            })
            .collect()
    };
    for (a, activity) in activities.iter().enumerate() {
        let request = pc::ScoreActivityRequest { activity_id: activity.clone(), scores: scores(a, 0) };
        rpc!(staff, QualityServiceClient, score_activity, request).await?;
        for (e, username) in judges.iter().enumerate() {
            let judge = logins.get(CODE, username).await?;
            let request = pc::ScoreActivityRequest { activity_id: activity.clone(), scores: scores(a, e + 1) };
            rpc!(judge, QualityServiceClient, score_activity, request).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activities_carry_out_selected_topics_and_weights_sum_to_100() {
        for a in ACTIVITIES {
            let topic = &TOPICS[a.topic];
            assert_eq!(topic.item.as_ref().map(|i| i.kind as i32), Some(a.kind as i32), "{}", a.title);
            if let Some(m) = &a.meeting {
                assert!(m.speeches.iter().all(|s| s.0 < m.attendance.len()));
            }
        }
        assert_eq!(CRITERIA.iter().map(|c| c.1).sum::<i32>(), 100);
        assert!(TOPICS.iter().any(|t| t.item.as_ref().is_some_and(|i| i.after_return)));
    }
}
