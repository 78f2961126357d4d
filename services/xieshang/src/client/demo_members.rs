//! The demo year's membership work in 宁晋县政协: the 述职 campaign,
//! 年度履职项目 and 委员工作室 (see `demo_year`).

use std::collections::HashMap;

use anyhow::{Context, Result, bail};
use xieshang_proto::membership::v1 as pm;
use xieshang_proto::membership::v1::membership_service_client::MembershipServiceClient;
use xieshang_proto::membership::v1::performance_service_client::PerformanceServiceClient;
use xieshang_proto::membership::v1::reporting_service_client::ReportingServiceClient;
use xieshang_proto::membership::v1::studio_service_client::StudioServiceClient;
use xieshang_proto::proposals::v1 as pp;
use xieshang_proto::proposals::v1::proposal_service_client::ProposalServiceClient;

use super::api::Api;
use super::demo_year::{CODE, JUDGES, Logins, ReportingFigures, YEAR, on, outcome, reference, user_id};

/// The whole roster, sorted by name so that every choice below is the same
/// on every server (ids are random).
pub(super) async fn roster(staff: &mut Api) -> Result<Vec<pm::Member>> {
    let mut members = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = pm::ListMembersRequest { page_size: 500, page_token, ..Default::default() };
        let page = rpc!(staff, MembershipServiceClient, list_members, request).await?;
        members.extend(page.members);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    members.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(members)
}

/// One 述职会 of an activity group: who of the group (by place in the
/// name-sorted group) is away and sends a video, and who misses it and
/// reports at the make-up session.
struct SessionSpec {
    group_code: &'static str,
    title: &'static str,
    date: (i32, i32),
    leader: &'static str,
    video: Option<usize>,
    absent: Option<usize>,
}

const PLACE: &str = "宁晋县政协三楼会议室";

/// Ningjin reports group by group; the demo shows three groups' sessions.
const SESSIONS: &[SessionSpec] = &[
    SessionSpec {
        group_code: "G1",
        title: "第一活动小组委员述职会",
        date: (11, 18),
        leader: "王建平",
        video: None,
        absent: Some(4),
    },
    SessionSpec {
        group_code: "G2",
        title: "第二活动小组委员述职会",
        date: (11, 20),
        leader: "王建平",
        video: Some(3),
        absent: None,
    },
    SessionSpec {
        group_code: "G3",
        title: "第三活动小组委员述职会",
        date: (11, 25),
        leader: "陈秀芝",
        video: None,
        absent: Some(2),
    },
];

const MAKE_UP: (&str, (i32, i32), &str) = ("委员补述职会", (12, 9), "陈秀芝");

/// Final scores of the on-site reporters, in the order they report. Every
/// judge gives the score plus one of [`JUDGE_OFFSETS`], which sum to zero and
/// whose extremes are symmetric: plain and trimmed mean both give the score.
const FINAL_SCORES: &[i32] = &[93, 88, 91, 85, 79, 95, 90, 86, 82, 92, 87, 76, 89, 94];
const JUDGE_OFFSETS: &[i32] = &[-2, 1, 0, -1, 2];

/// Suggestions raised in reports: (session, place of the reporter among the
/// session's on-site reporters, content, forwarded, adopted).
const REPORT_SUGGESTIONS: &[(usize, usize, &str, bool, Option<bool>)] = &[
    (0, 0, "建议加快县城老旧小区改造，同步完善养老托育设施。", true, Some(true)),
    (0, 1, "建议完善农村寄递物流网络，打通农产品上行“最后一公里”。", true, Some(true)),
    (1, 0, "建议设立县级光伏产业发展基金，支持企业技术改造。", true, Some(false)),
    (2, 0, "建议加强中小学课后服务师资保障。", false, None),
];

/// The campaign's statistics for a roster whose groups have `group_size` members.
pub(super) fn reporting_figures(group_size: usize, roster_size: usize) -> ReportingFigures {
    let in_group = |i: Option<usize>| i.is_some_and(|i| i < group_size);
    let video = SESSIONS.iter().filter(|s| in_group(s.video)).count();
    let absent = SESSIONS.iter().filter(|s| in_group(s.absent)).count();
    // Who missed their group's session reports on site at the make-up.
    let on_site = SESSIONS.len() * group_size - video;
    let at_least_90 = (0..on_site).filter(|k| FINAL_SCORES[k % FINAL_SCORES.len()] >= 90).count();
    let forwarded = REPORT_SUGGESTIONS.iter().filter(|s| s.3).count();
    let adopted = REPORT_SUGGESTIONS.iter().filter(|s| s.4 == Some(true)).count();
    let not_adopted = REPORT_SUGGESTIONS.iter().filter(|s| s.4 == Some(false)).count();
    let n = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
    ReportingFigures {
        members_due: n(roster_size),
        sessions: n(SESSIONS.len() + usize::from(absent > 0)),
        make_up_sessions: n(usize::from(absent > 0)),
        reported_on_site: n(on_site),
        reported_by_video: n(video),
        scored_at_least_90: n(at_least_90),
        suggestions_raised: n(REPORT_SUGGESTIONS.len()),
        suggestions_forwarded: n(forwarded),
        suggestions_adopted: n(adopted),
        suggestions_not_adopted: n(not_adopted),
    }
}

/// The 述职 campaign of the year; skipped when the year has sessions.
pub(super) async fn load_reporting(staff: &mut Api, logins: &mut Logins<'_>, roster: &[pm::Member]) -> Result<String> {
    let existing =
        rpc!(staff, ReportingServiceClient, list_reporting_sessions, pm::ListReportingSessionsRequest { year: YEAR })
            .await?;
    let created = existing.sessions.is_empty();
    let mut on_site_total = 0;
    let mut video_total = 0;
    if created {
        let groups: HashMap<String, String> =
            reference(staff, pm::ReferenceKind::ActivityGroup).await?.into_iter().map(|g| (g.code, g.id)).collect();
        let mut judge_ids = Vec::new();
        for (username, _, _) in JUDGES {
            judge_ids.push(user_id(logins.get(CODE, username).await?));
        }
        let staff_id = user_id(staff);
        let mut scores = FINAL_SCORES.iter().cycle();
        let mut missed: Vec<&pm::Member> = Vec::new();
        // Each session's on-site reporters, for the suggestions.
        let mut on_site: Vec<Vec<&pm::Member>> = Vec::new();

        for spec in SESSIONS {
            let Some(group) = groups.get(spec.group_code) else {
                bail!("宁晋县政协 has no activity group {}", spec.group_code);
            };
            let members: Vec<&pm::Member> = roster.iter().filter(|m| m.activity_group_id == *group).collect();
            let session = create_session(
                staff,
                pm::SessionKind::Regular,
                group,
                spec.title,
                spec.date,
                spec.leader,
                &staff_id,
                &members,
                &judge_ids,
            )
            .await?;
            let mut here = Vec::new();
            for (i, member) in members.iter().enumerate() {
                if spec.absent == Some(i) {
                    missed.push(member);
                } else if spec.video == Some(i) {
                    let request = pm::SubmitVideoReportRequest {
                        session_id: session.clone(),
                        member_id: member.id.clone(),
                        video_ref: format!("宁晋县政协述职视频库/{YEAR}/{}/{}.mp4", spec.group_code, member.name),
                    };
                    rpc!(staff, ReportingServiceClient, submit_video_report, request)
                        .await
                        .with_context(|| format!("recording {}'s video report", member.name))?;
                    video_total += 1;
                } else {
                    here.push(*member);
                }
            }
            run_session(staff, logins, &session, &here, &mut scores).await?;
            on_site_total += here.len();
            on_site.push(here);
        }
        if !missed.is_empty() {
            let (title, date, leader) = MAKE_UP;
            let session =
                create_session(staff, pm::SessionKind::MakeUp, "", title, date, leader, &staff_id, &missed, &judge_ids)
                    .await?;
            run_session(staff, logins, &session, &missed, &mut scores).await?;
            on_site_total += missed.len();
        }
        let sessions = regular_sessions(staff).await?;
        raise_suggestions(staff, &sessions, &on_site).await?;
    }
    let sessions = if created { SESSIONS.len() + 1 } else { existing.sessions.len() };
    Ok(if created {
        format!(
            "述职 {YEAR}: {sessions} sessions (1 make-up), {on_site_total} members reported on site and {video_total} by video, \
             scored by {} judges; {} suggestions raised and tracked — created",
            JUDGES.len(),
            REPORT_SUGGESTIONS.len()
        )
    } else {
        format!("述职 {YEAR}: {sessions} sessions — {}", outcome(false))
    })
}

/// The year's regular sessions by date (the make-up is last).
async fn regular_sessions(staff: &mut Api) -> Result<Vec<pm::ReportingSession>> {
    let list =
        rpc!(staff, ReportingServiceClient, list_reporting_sessions, pm::ListReportingSessionsRequest { year: YEAR })
            .await?;
    Ok(list.sessions.into_iter().filter(|s| s.kind == pm::SessionKind::Regular as i32).collect())
}

#[allow(clippy::too_many_arguments)]
async fn create_session(
    staff: &mut Api,
    kind: pm::SessionKind,
    group: &str,
    title: &str,
    (month, day): (i32, i32),
    leader: &str,
    staff_id: &str,
    reporters: &[&pm::Member],
    judges: &[String],
) -> Result<String> {
    let session = pm::ReportingSession {
        kind: kind as i32,
        activity_group_id: group.to_owned(),
        title: title.to_owned(),
        date: on(month, day),
        place: PLACE.to_owned(),
        leader_name: leader.to_owned(),
        staff_user_id: staff_id.to_owned(),
        reporter_member_ids: reporters.iter().map(|m| m.id.clone()).collect(),
        judge_user_ids: judges.to_vec(),
        ..Default::default()
    };
    let request = pm::CreateReportingSessionRequest { session: Some(session) };
    let created = rpc!(staff, ReportingServiceClient, create_reporting_session, request)
        .await
        .with_context(|| format!("scheduling {title}"))?;
    Ok(created.id)
}

/// Records the on-site reports, opens the session, lets every judge score
/// every reporter and closes it.
async fn run_session<'a>(
    staff: &mut Api,
    logins: &mut Logins<'_>,
    session: &str,
    reporters: &[&pm::Member],
    scores: &mut impl Iterator<Item = &'a i32>,
) -> Result<()> {
    for member in reporters {
        let request = pm::RecordReportRequest {
            session_id: session.to_owned(),
            member_id: member.id.clone(),
            work: format!("{}：立足{}岗位，带头完成年度工作任务。", member.name, member.work_unit),
            performance: "全年参加全体会议和常委会议，提交提案、社情民意信息，参加视察调研和协商活动。".to_owned(),
            suggestions: "建议持续优化营商环境，加快县域特色产业集群发展。".to_owned(),
        };
        rpc!(staff, ReportingServiceClient, record_report, request)
            .await
            .with_context(|| format!("recording {}'s report", member.name))?;
    }
    rpc!(
        staff,
        ReportingServiceClient,
        open_reporting_session,
        pm::OpenReportingSessionRequest { id: session.to_owned() }
    )
    .await?;
    let finals: Vec<i32> = reporters.iter().map(|_| scores.next().copied().unwrap_or(85)).collect();
    for ((username, _, _), offset) in JUDGES.iter().zip(JUDGE_OFFSETS.iter().cycle()) {
        let judge = logins.get(CODE, username).await?;
        for (member, final_score) in reporters.iter().zip(&finals) {
            let request = pm::ScoreReportRequest {
                session_id: session.to_owned(),
                member_id: member.id.clone(),
                score: (final_score + offset).clamp(0, 100),
            };
            rpc!(judge, ReportingServiceClient, score_report, request)
                .await
                .with_context(|| format!("scoring {}", member.name))?;
        }
    }
    rpc!(
        staff,
        ReportingServiceClient,
        close_reporting_session,
        pm::CloseReportingSessionRequest { id: session.to_owned() }
    )
    .await?;
    Ok(())
}

async fn raise_suggestions(
    staff: &mut Api,
    sessions: &[pm::ReportingSession],
    on_site: &[Vec<&pm::Member>],
) -> Result<()> {
    // Sessions come back by date, as SESSIONS are.
    for (session_index, reporter, content, forwarded, adopted) in REPORT_SUGGESTIONS {
        let (Some(session), Some(member)) =
            (sessions.get(*session_index), on_site.get(*session_index).and_then(|r| r.get(*reporter)))
        else {
            continue;
        };
        let request = pm::RaiseSuggestionRequest {
            session_id: session.id.clone(),
            member_id: member.id.clone(),
            content: (*content).to_owned(),
        };
        let raised = rpc!(staff, ReportingServiceClient, raise_suggestion, request).await?;
        if *forwarded {
            let request = pm::ForwardSuggestionRequest {
                id: raised.id.clone(),
                forwarded_to: "县委办公室、县政府办公室".to_owned(),
                date: on(12, 15),
                note: "随年度委员述职情况报告一并报送".to_owned(),
            };
            rpc!(staff, ReportingServiceClient, forward_suggestion, request).await?;
        }
        if let Some(adopted) = adopted {
            let request = pm::DecideSuggestionRequest {
                id: raised.id,
                adopted: *adopted,
                date: on(12, 29),
                note: if *adopted { "已列入县政府2026年重点工作" } else { "受财力所限，暂缓实施" }.to_owned(),
            };
            rpc!(staff, ReportingServiceClient, decide_suggestion, request).await?;
        }
    }
    Ok(())
}

/// A member's 年度履职项目 and the step it has reached.
pub(super) struct ProjectSpec {
    member: &'static str,
    title: &'static str,
    description: &'static str,
    reaches: pm::ProjectStatus,
}

pub(super) const PROJECTS: &[ProjectSpec] = &[
    ProjectSpec {
        member: "zhangjianguo",
        title: "盐碱地改良利用调研与建言",
        description: "围绕东部乡镇盐碱地改良，学习政策、实地调研、参加协商，形成提案。",
        reaches: pm::ProjectStatus::Outcome,
    },
    ProjectSpec {
        member: "zhangjianguo",
        title: "光伏产业链延伸发展跟踪",
        description: "跟踪光伏产业链配套园区建设进展，参与界别圆桌会协商。",
        reaches: pm::ProjectStatus::FollowUpReview,
    },
    ProjectSpec {
        member: "lixiuying",
        title: "农村留守儿童关爱服务",
        description: "走访乡镇中心学校，了解留守儿童心理健康教育情况。",
        reaches: pm::ProjectStatus::Consultation,
    },
    ProjectSpec {
        member: "lixiuying",
        title: "县域养老服务体系建设",
        description: "调研社区嵌入式养老服务和医养结合情况。",
        reaches: pm::ProjectStatus::Research,
    },
    ProjectSpec {
        member: "wangjianmin",
        title: "老旧小区加装电梯推进",
        description: "学习外地加装电梯补助办法，为民生议事堂协商做准备。",
        reaches: pm::ProjectStatus::Study,
    },
    ProjectSpec {
        member: "wangjianmin",
        title: "县城公共停车设施规划",
        description: "围绕县城停车难问题开展履职。",
        reaches: pm::ProjectStatus::Declared,
    },
];

/// The steps after DECLARED, with the month each is done in and its note.
const STEPS: &[(pm::ProjectStatus, i32, &str)] = &[
    (pm::ProjectStatus::Study, 3, "参加县政协组织的专题学习"),
    (pm::ProjectStatus::Research, 5, "赴乡镇实地调研，召开座谈会"),
    (pm::ProjectStatus::Consultation, 7, "在协商会上发言，提出意见建议"),
    (pm::ProjectStatus::FollowUpReview, 10, "回头看：跟踪相关部门落实情况"),
    (pm::ProjectStatus::Outcome, 11, "形成提案"),
];

/// Members declare and advance their own projects; skipped when the year has projects.
pub(super) async fn load_projects(staff: &mut Api, logins: &mut Logins<'_>) -> Result<String> {
    let request = pm::ListProjectsRequest { year: YEAR, page_size: 1, ..Default::default() };
    let existing = rpc!(staff, PerformanceServiceClient, list_projects, request).await?;
    let created = existing.projects.is_empty();
    if created {
        for spec in PROJECTS {
            let member = logins.get(CODE, spec.member).await?;
            let request = pm::DeclareProjectRequest {
                member_id: String::new(),
                year: YEAR,
                title: spec.title.to_owned(),
                description: spec.description.to_owned(),
            };
            let project = rpc!(member, PerformanceServiceClient, declare_project, request)
                .await
                .with_context(|| format!("declaring 「{}」", spec.title))?;
            for (step, month, note) in STEPS.iter().take_while(|(s, _, _)| (*s as i32) <= spec.reaches as i32) {
                let (outcome_kind, outcome_ref) = if *step == pm::ProjectStatus::Outcome {
                    (pm::ProjectOutcomeKind::Proposal, own_proposal_ref(member).await?)
                } else {
                    (pm::ProjectOutcomeKind::Unspecified, String::new())
                };
                let request = pm::AdvanceProjectRequest {
                    id: project.id.clone(),
                    to: *step as i32,
                    date: on(*month, 15),
                    note: (*note).to_owned(),
                    outcome_kind: outcome_kind as i32,
                    outcome_ref,
                };
                rpc!(member, PerformanceServiceClient, advance_project, request)
                    .await
                    .with_context(|| format!("moving 「{}」 on", spec.title))?;
            }
        }
    }
    Ok(format!("年度履职项目 {YEAR}: {} projects, from declared to outcome — {}", PROJECTS.len(), outcome(created)))
}

/// The member's first proposal of the demo (the outcome of their project).
async fn own_proposal_ref(member: &mut Api) -> Result<String> {
    let request = pp::ListProposalsRequest { page_size: 50, ..Default::default() };
    let proposals = rpc!(member, ProposalServiceClient, list_proposals, request).await?.proposals;
    let Some(first) = proposals.iter().find(|p| p.title.contains("盐碱地")).or(proposals.first()) else {
        bail!("the member has no proposal to name as the project's outcome");
    };
    Ok(first.id.clone())
}

/// A 委员工作室: name, sector code, address, members (by name), service items, stars.
pub(super) struct StudioSpec {
    name: &'static str,
    sector: &'static str,
    address: &'static str,
    members: &'static [&'static str],
    items: &'static [&'static str],
    stars: i32,
}

pub(super) const STUDIOS: &[StudioSpec] = &[
    StudioSpec {
        name: "凤凰镇委员工作室",
        sector: "06",
        address: "宁晋县凤凰镇人民政府二楼",
        members: &["张建国", "李秀英"],
        items: &["惠农政策咨询", "农技服务", "邻里矛盾调解"],
        stars: 4,
    },
    StudioSpec {
        name: "光伏产业委员工作室",
        sector: "05",
        address: "宁晋县经济开发区晶龙大街",
        members: &["王建民"],
        items: &["企业诉求收集", "法律咨询"],
        stars: 5,
    },
];

/// Studios with their members and a star rating; skipped when the committee has studios.
pub(super) async fn load_studios(staff: &mut Api, roster: &[pm::Member]) -> Result<String> {
    let existing = rpc!(staff, StudioServiceClient, list_studios, pm::ListStudiosRequest {}).await?;
    let created = existing.studios.is_empty();
    if created {
        let sectors: HashMap<String, String> =
            reference(staff, pm::ReferenceKind::Sector).await?.into_iter().map(|s| (s.code, s.id)).collect();
        for spec in STUDIOS {
            let member_ids = spec
                .members
                .iter()
                .filter_map(|name| roster.iter().find(|m| m.name == *name).map(|m| m.id.clone()))
                .collect();
            let request = pm::CreateStudioRequest {
                name: spec.name.to_owned(),
                sector_id: sectors.get(spec.sector).cloned().unwrap_or_default(),
                address: spec.address.to_owned(),
                member_ids,
                service_items: spec.items.iter().map(|s| (*s).to_owned()).collect(),
            };
            let studio = rpc!(staff, StudioServiceClient, create_studio, request)
                .await
                .with_context(|| format!("creating {}", spec.name))?;
            let request = pm::RateStudioRequest {
                studio_id: studio.id,
                stars: spec.stars,
                date: on(12, 20),
                note: "年度星级评定".to_owned(),
            };
            rpc!(staff, StudioServiceClient, rate_studio, request).await?;
        }
    }
    Ok(format!("委员工作室: {} studios, rated — {}", STUDIOS.len(), outcome(created)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_scores_average_to_the_final_score() {
        assert_eq!(JUDGE_OFFSETS.iter().sum::<i32>(), 0);
        assert_eq!(JUDGE_OFFSETS.len(), JUDGES.len());
        let f = reporting_figures(5, 45);
        assert_eq!((f.reported_on_site, f.reported_by_video, f.sessions, f.make_up_sessions), (14, 1, 4, 1));
        assert!(FINAL_SCORES.len() >= f.reported_on_site as usize);
    }

    #[test]
    fn projects_reach_every_step() {
        for status in 1..=6 {
            assert!(PROJECTS.iter().any(|p| p.reaches as i32 == status), "{status}");
        }
    }
}
