//! The demo year's three-level joint supervision (三级政协联动专项集体民主监督):
//! 河北省政协 opens a project on groundwater overdraft, a pressing matter of
//! the Hebei plain, and invites 邢台市政协 and its counties; each accepts,
//! inspects its own area and submits its findings; the province writes and
//! files the joint report and publishes it to the participants (see
//! `demo_year`).
//!
//! Every step is taken only where it is missing, so a run stopped half-way
//! is finished by the next one and a complete project is left alone.

use anyhow::{Context, Result, bail};
use xieshang_proto::consultation::v1 as pc;
use xieshang_proto::consultation::v1::supervision_service_client::SupervisionServiceClient;
use xieshang_proto::tenants::v1::committee_service_client::CommitteeServiceClient;
use xieshang_proto::tenants::v1::{Committee, GetCommitteeRequest};

use super::api::Api;
use super::demo_year::{ADMIN_USERNAME, Logins, PROVINCE, YEAR, logout, on, outcome};

pub(super) const TOPIC: &str = "地下水超采综合治理三级政协联动民主监督";

/// The invited committees, in invitation order: (code, inspected place,
/// who took part, findings, summary).
pub(super) const PARTICIPANTS: &[(&str, &str, &str, &str)] = &[
    (
        "130500",
        "邢台市南水北调配套水厂",
        "城区地表水替代地下水基本完成，部分工业企业自备井尚未关停。",
        "市级层面水源置换进展顺利，自备井关停仍需加力。",
    ),
    (
        "130506",
        "南和区和阳镇高效节水灌溉项目区",
        "喷灌、滴灌设施覆盖率提高，部分设施管护不到位。",
        "节水灌溉推广较好，后期管护机制有待健全。",
    ),
    (
        "130522",
        "临城县岐山湖水源地",
        "水源地保护措施到位，山区小型集雨工程利用率不高。",
        "水源地保护扎实，集雨工程需提高利用率。",
    ),
    (
        "130523",
        "内丘县农村供水水源置换工程",
        "农村饮水水源置换完成八成，个别村仍饮用深层地下水。",
        "水源置换基本完成，剩余村庄需加快实施。",
    ),
    (
        "130524",
        "柏乡县季节性休耕试点",
        "冬小麦季节性休耕农户补贴发放及时，群众认可度高。",
        "季节性休耕试点效果明显，可扩大范围。",
    ),
    (
        "130525",
        "隆尧县东方食品城取水口",
        "重点用水企业计量监控全覆盖，超计划用水累进加价落实不严。",
        "企业取水计量到位，价格杠杆作用发挥不足。",
    ),
    (
        "130528",
        "宁晋县苏家庄镇地下水压采区",
        "机井关停和封存台账清楚，部分封存井存在私自启用现象。",
        "宁晋县压采任务完成，封存井监管需加强。",
    ),
];

/// The joint report's problems and suggestions.
pub(super) const PROBLEMS: &[(&str, &str)] = &[
    ("部分工业企业自备井关停滞后", "倒排工期，对具备替代水源条件的自备井限期关停"),
    ("封存机井存在私自启用现象", "建立机井封存巡查制度，纳入河湖长制考核"),
    ("节水设施后期管护机制不健全", "明确管护主体和经费，推行专业化管护"),
];

const SUMMARY: &str = "三级政协联动监督覆盖邢台市及六个县（区），共开展视察七次。地下水压采任务总体完成，\
                       水源置换进展顺利，发现问题三项，提出建议三条。";

/// The joint project, created or finished where missing.
pub(super) async fn load(logins: &mut Logins<'_>) -> Result<String> {
    // The province works beside the participants: a session of its own.
    let mut province = logins.fresh(PROVINCE, ADMIN_USERNAME).await?;
    let result = run(&mut province, logins).await;
    logout(&mut province).await;
    let created = result?;
    Ok(format!(
        "三级联动监督 {YEAR}: 河北省政协 with 邢台市政协 and {} of its counties, each inspected and submitted; joint \
         report with {} problems filed and published to the participants — {}",
        PARTICIPANTS.len() - 1,
        PROBLEMS.len(),
        outcome(created)
    ))
}

/// Returns whether anything was done.
async fn run(province: &mut Api, logins: &mut Logins<'_>) -> Result<bool> {
    let request = pc::ListSupervisionProjectsRequest::default();
    let projects = rpc!(province, SupervisionServiceClient, list_supervision_projects, request).await?;
    let existing = projects
        .projects
        .into_iter()
        .find(|p| p.kind == pc::SupervisionKind::ThreeLevelJoint as i32 && p.topic == TOPIC);
    let mut changed = false;
    let project = match existing {
        Some(project) => project,
        None => {
            let mut invited = Vec::new();
            for (code, ..) in PARTICIPANTS {
                invited.push(committee_id(province, code).await?);
            }
            let request = pc::CreateJointProjectRequest {
                topic: TOPIC.to_owned(),
                start_date: on(4, 1),
                end_date: on(10, 31),
                invited_committee_ids: invited,
            };
            changed = true;
            rpc!(province, SupervisionServiceClient, create_joint_project, request)
                .await
                .context("opening the joint project")?
        }
    };
    let reported_now = project.state == pc::SupervisionState::Ongoing as i32;
    if reported_now {
        // Each part checks its own state, so a stopped run is finished here.
        for (code, place, findings, summary) in PARTICIPANTS {
            take_part(logins.get(code, ADMIN_USERNAME).await?, code, &project.id, place, findings, summary)
                .await
                .with_context(|| format!("the part of {code}"))?;
        }
        let request = pc::FileSupervisionReportRequest {
            project_id: project.id.clone(),
            summary: SUMMARY.to_owned(),
            problems: PROBLEMS
                .iter()
                .map(|(problem, suggestion)| pc::NewSupervisionProblem {
                    problem: (*problem).to_owned(),
                    suggestion: (*suggestion).to_owned(),
                })
                .collect(),
        };
        rpc!(province, SupervisionServiceClient, file_supervision_report, request)
            .await
            .context("filing the joint report")?;
        changed = true;
    }
    // The last step: publish once, so every participant reads the report.
    let reported = reported_now || project.state == pc::SupervisionState::Reported as i32;
    if reported && project.report_publish_time.is_none() {
        let request = pc::PublishJointReportRequest { project_id: project.id.clone() };
        rpc!(province, SupervisionServiceClient, publish_joint_report, request)
            .await
            .context("publishing the joint report")?;
        changed = true;
    }
    Ok(changed)
}

async fn committee_id(province: &mut Api, code: &str) -> Result<String> {
    let request = GetCommitteeRequest { id: String::new(), code: code.to_owned() };
    let committee: Committee = rpc!(province, CommitteeServiceClient, get_committee, request)
        .await
        .with_context(|| format!("looking up committee {code}"))?;
    Ok(committee.id)
}

/// One invited committee's part, as its admin: accept, inspect, submit —
/// whichever of these is still to do.
async fn take_part(
    admin: &mut Api,
    code: &str,
    project_id: &str,
    place: &str,
    findings: &str,
    summary: &str,
) -> Result<()> {
    let list =
        rpc!(admin, SupervisionServiceClient, list_participations, pc::ListParticipationsRequest::default()).await?;
    let Some(mut part) = list.participations.into_iter().find(|p| p.project_id == project_id) else {
        bail!("committee {code} has no invitation to the joint project");
    };
    if part.state == pc::ParticipationState::Submitted as i32 {
        return Ok(());
    }
    if part.state == pc::ParticipationState::Invited as i32 {
        let request = pc::RespondToInvitationRequest {
            id: part.id.clone(),
            accept: true,
            note: "按照省政协统一部署，组织委员开展本辖区监督".to_owned(),
        };
        part = rpc!(admin, SupervisionServiceClient, respond_to_invitation, request).await?;
    }
    if part.inspections.is_empty() {
        let request = pc::AddParticipationInspectionRequest {
            participation_id: part.id.clone(),
            inspection: Some(pc::SupervisionInspection {
                date: on(6, 10),
                place: place.to_owned(),
                member_names: vec!["政协主席".to_owned(), "相关专委会委员".to_owned()],
                findings: findings.to_owned(),
                ..Default::default()
            }),
        };
        rpc!(admin, SupervisionServiceClient, add_participation_inspection, request).await?;
    }
    let request = pc::SubmitParticipationRequest { id: part.id.clone(), summary: summary.to_owned() };
    rpc!(admin, SupervisionServiceClient, submit_participation, request).await?;
    Ok(())
}
