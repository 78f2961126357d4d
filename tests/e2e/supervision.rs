//! Democratic supervision (民主监督): a one-committee project through its
//! lifecycle with rectification (整改) tracking, and three-level joint
//! supervision (三级政协联动) — 河北省政协 opens a project and invites 邢台市 and
//! 宁晋县; each participant accepts and files findings for its own area; the
//! initiator sees them combined, writes the joint report and publishes it to
//! the participants. A committee outside the project sees nothing,
//! participants never see each other's parts, and on PostgreSQL row-level
//! security shows the same.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tonic::Code;
use xieshang_platform::db::Scope;
use xieshang_platform::ids::CommitteeId;
use xieshang_proto::common::v1::{Date, Role};
use xieshang_proto::consultation::v1 as pc;
use xieshang_proto::consultation::v1::supervision_service_client::SupervisionServiceClient;
use xieshang_tests::*;

type Client = SupervisionServiceClient<Authed>;

fn client(s: &Session) -> Client {
    SupervisionServiceClient::with_interceptor(s.channel.clone(), s.bearer())
}

fn date(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(Date { year, month, day })
}

fn inspection(month: i32, day: i32, place: &str, names: &[&str], findings: &str) -> Option<pc::SupervisionInspection> {
    Some(pc::SupervisionInspection {
        date: date(2026, month, day),
        place: place.into(),
        member_names: names.iter().map(|n| (*n).to_owned()).collect(),
        findings: findings.into(),
        ..Default::default()
    })
}

fn refused_naming<T: std::fmt::Debug>(r: Result<T, tonic::Status>, state: &str) {
    let status = assert_code(r, Code::FailedPrecondition);
    assert!(status.message().contains(state), "{state} not named in: {}", status.message());
}

async fn rectify(
    c: &mut Client,
    project: &str,
    number: i32,
    status: pc::RectificationStatus,
    rectified: Option<Date>,
    note: &str,
) -> Result<pc::SupervisionProject, tonic::Status> {
    c.update_rectification(pc::UpdateRectificationRequest {
        project_id: project.into(),
        number,
        status: status as i32,
        rectified_date: rectified,
        note: note.into(),
    })
    .await
    .map(|r| r.into_inner())
}

#[tokio::test]
async fn a_project_of_one_committee_runs_to_closing_with_rectification_tracked() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    create_user(&admin, &tree.ningjin.id, "liuyang", "刘洋", &[Role::Staff]).await;
    create_user(&admin, &tree.ningjin.id, "zhangjianguo", "张建国", &[Role::Member]).await;
    let staff = app.login("130528", "liuyang", PASSWORD).await.unwrap();
    let member = app.login("130528", "zhangjianguo", PASSWORD).await.unwrap();
    let mut c = client(&staff);

    // Validation names the field.
    let bad = c
        .create_supervision_project(pc::CreateSupervisionProjectRequest {
            kind: pc::SupervisionKind::SpecialCollective as i32,
            topic: "农村人居环境整治专项民主监督".into(),
            start_date: date(2026, 10, 31),
            end_date: date(2026, 4, 1),
        })
        .await;
    assert_eq!(violated_field(&assert_code(bad, Code::InvalidArgument)), "end_date");
    let joint = c
        .create_supervision_project(pc::CreateSupervisionProjectRequest {
            kind: pc::SupervisionKind::ThreeLevelJoint as i32,
            topic: "x".into(),
            start_date: date(2026, 4, 1),
            end_date: date(2026, 10, 31),
        })
        .await;
    assert_eq!(violated_field(&assert_code(joint, Code::InvalidArgument)), "kind");
    // Members do not manage supervision.
    let by_member = client(&member)
        .create_supervision_project(pc::CreateSupervisionProjectRequest {
            kind: pc::SupervisionKind::StationedMembers as i32,
            topic: "委员驻点监督县医院".into(),
            start_date: date(2026, 4, 1),
            end_date: date(2026, 10, 31),
        })
        .await;
    assert_code(by_member, Code::PermissionDenied);

    let p = c
        .create_supervision_project(pc::CreateSupervisionProjectRequest {
            kind: pc::SupervisionKind::SpecialCollective as i32,
            topic: "农村人居环境整治专项民主监督".into(),
            start_date: date(2026, 4, 1),
            end_date: date(2026, 10, 31),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p.state, pc::SupervisionState::Planned as i32);
    assert_eq!(p.committee_id, tree.ningjin.id);

    // PLANNED: no inspections, no report.
    let early = c
        .add_supervision_inspection(pc::AddSupervisionInspectionRequest {
            project_id: p.id.clone(),
            inspection: inspection(5, 12, "凤凰镇东街村", &["张建国"], "垃圾清运不及时"),
        })
        .await;
    refused_naming(early, "PLANNED");
    let early = c
        .file_supervision_report(pc::FileSupervisionReportRequest {
            project_id: p.id.clone(),
            summary: "总结".into(),
            problems: vec![pc::NewSupervisionProblem { problem: "问题".into(), suggestion: "建议".into() }],
        })
        .await;
    refused_naming(early, "PLANNED");

    let p = c.start_supervision_project(pc::StartSupervisionProjectRequest { id: p.id }).await.unwrap().into_inner();
    assert_eq!(p.state, pc::SupervisionState::Ongoing as i32);
    refused_naming(
        c.start_supervision_project(pc::StartSupervisionProjectRequest { id: p.id.clone() }).await,
        "ONGOING",
    );
    refused_naming(
        c.close_supervision_project(pc::CloseSupervisionProjectRequest { id: p.id.clone() }).await,
        "ONGOING",
    );

    for (month, day, place, findings) in [
        (5, 12, "凤凰镇东街村", "生活垃圾清运不及时，部分村庄存在积存垃圾"),
        (6, 3, "贾家口镇北张村", "改厕后续管护机制不健全"),
    ] {
        c.add_supervision_inspection(pc::AddSupervisionInspectionRequest {
            project_id: p.id.clone(),
            inspection: inspection(month, day, place, &["张建国", "李秀英"], findings),
        })
        .await
        .unwrap();
    }
    let no_place = c
        .add_supervision_inspection(pc::AddSupervisionInspectionRequest {
            project_id: p.id.clone(),
            inspection: inspection(6, 4, " ", &[], ""),
        })
        .await;
    assert_eq!(violated_field(&assert_code(no_place, Code::InvalidArgument)), "inspection.place");

    let p = c
        .file_supervision_report(pc::FileSupervisionReportRequest {
            project_id: p.id.clone(),
            summary: "全县农村人居环境整治取得阶段性成效，仍存在短板。".into(),
            problems: vec![
                pc::NewSupervisionProblem {
                    problem: "生活垃圾清运不及时".into(),
                    suggestion: "建立村收集、镇转运、县处理的长效机制".into(),
                },
                pc::NewSupervisionProblem {
                    problem: "改厕后续管护机制不健全".into(),
                    suggestion: "明确管护主体和经费保障".into(),
                },
            ],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p.state, pc::SupervisionState::Reported as i32);
    assert_eq!(p.inspections.len(), 2);
    assert_eq!(p.problems.iter().map(|x| x.number).collect::<Vec<_>>(), vec![1, 2]);
    assert!(p.problems.iter().all(|x| x.rectification == pc::RectificationStatus::Open as i32));
    let late = c
        .add_supervision_inspection(pc::AddSupervisionInspectionRequest {
            project_id: p.id.clone(),
            inspection: inspection(7, 1, "凤凰镇", &[], ""),
        })
        .await;
    refused_naming(late, "REPORTED");

    // Rectification: OPEN → IN_PROGRESS → RECTIFIED (date) / NOT_RECTIFIED (note).
    use pc::RectificationStatus as R;
    refused_naming(rectify(&mut c, &p.id, 1, R::Rectified, date(2026, 9, 1), "").await, "OPEN");
    rectify(&mut c, &p.id, 1, R::InProgress, None, "县城管局牵头整改").await.unwrap();
    let no_date = rectify(&mut c, &p.id, 1, R::Rectified, None, "").await;
    assert_eq!(violated_field(&assert_code(no_date, Code::InvalidArgument)), "rectified_date");
    let p = rectify(&mut c, &p.id, 1, R::Rectified, date(2026, 9, 20), "已建成转运站3座").await.unwrap();
    assert_eq!(p.problems[0].rectification, R::Rectified as i32);
    assert_eq!(p.problems[0].rectified_date, date(2026, 9, 20));
    assert_eq!(p.problems[0].rectification_note, "已建成转运站3座");
    refused_naming(rectify(&mut c, &p.id, 1, R::InProgress, None, "").await, "RECTIFIED");
    assert_code(rectify(&mut c, &p.id, 9, R::InProgress, None, "").await, Code::NotFound);

    // Not closed while a problem is open.
    refused_naming(
        c.close_supervision_project(pc::CloseSupervisionProjectRequest { id: p.id.clone() }).await,
        "REPORTED",
    );
    rectify(&mut c, &p.id, 2, R::InProgress, None, "").await.unwrap();
    let no_note = rectify(&mut c, &p.id, 2, R::NotRectified, None, "").await;
    assert_eq!(violated_field(&assert_code(no_note, Code::InvalidArgument)), "note");
    rectify(&mut c, &p.id, 2, R::NotRectified, None, "经费缺口待明年预算解决").await.unwrap();
    let p = c.close_supervision_project(pc::CloseSupervisionProjectRequest { id: p.id }).await.unwrap().into_inner();
    assert_eq!(p.state, pc::SupervisionState::Closed as i32);
    refused_naming(
        c.start_supervision_project(pc::StartSupervisionProjectRequest { id: p.id.clone() }).await,
        "CLOSED",
    );
    refused_naming(rectify(&mut c, &p.id, 2, R::Rectified, date(2026, 12, 1), "").await, "CLOSED");

    let listed = c.list_supervision_projects(pc::ListSupervisionProjectsRequest::default()).await.unwrap().into_inner();
    assert_eq!(listed.projects.len(), 1);

    // Another committee: NotFound, and nothing listed.
    let lincheng = app.login("130522", "admin", PASSWORD).await.unwrap();
    let mut l = client(&lincheng);
    assert_code(l.get_supervision_project(pc::GetSupervisionProjectRequest { id: p.id.clone() }).await, Code::NotFound);
    assert_code(rectify(&mut l, &p.id, 2, R::Rectified, date(2026, 12, 1), "").await, Code::NotFound);
    let theirs = l.list_supervision_projects(pc::ListSupervisionProjectsRequest::default()).await.unwrap().into_inner();
    assert!(theirs.projects.is_empty());
    app.stop().await;
}

fn joint(topic: &str, invited: &[&str]) -> pc::CreateJointProjectRequest {
    pc::CreateJointProjectRequest {
        topic: topic.into(),
        start_date: date(2026, 3, 1),
        end_date: date(2099, 11, 30),
        invited_committee_ids: invited.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn publish(project_id: &str) -> pc::PublishJointReportRequest {
    pc::PublishJointReportRequest { project_id: project_id.into() }
}

async fn only_participation(c: &mut Client) -> pc::Participation {
    let mut list = c.list_participations(pc::ListParticipationsRequest::default()).await.unwrap().into_inner();
    assert_eq!(list.participations.len(), 1, "{list:?}");
    list.participations.remove(0)
}

#[tokio::test]
async fn three_level_joint_supervision_crosses_committees_only_as_far_as_the_project() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let mut hebei = client(&app.login("130000", "admin", PASSWORD).await.unwrap());
    let mut xingtai = client(&app.login("130500", "admin", PASSWORD).await.unwrap());
    let mut ningjin = client(&app.login("130528", "admin", PASSWORD).await.unwrap());
    let mut lincheng = client(&app.login("130522", "admin", PASSWORD).await.unwrap());
    const TOPIC: &str = "大气污染防治三级联动民主监督";

    // Only committees below the initiator.
    let outside = hebei.create_joint_project(joint(TOPIC, &[&tree.xingtai.id, &tree.zhejiang.id])).await;
    assert_eq!(violated_field(&assert_code(outside, Code::InvalidArgument)), "invited_committee_ids");
    let itself = hebei.create_joint_project(joint(TOPIC, &[&tree.hebei.id])).await;
    assert_eq!(violated_field(&assert_code(itself, Code::InvalidArgument)), "invited_committee_ids");
    // A city cannot invite a county of another city.
    let other_city = xingtai.create_joint_project(joint("扬尘治理联动监督", &[&tree.haining.id])).await;
    assert_eq!(violated_field(&assert_code(other_city, Code::InvalidArgument)), "invited_committee_ids");
    let none = hebei.create_joint_project(joint(TOPIC, &[])).await;
    assert_eq!(violated_field(&assert_code(none, Code::InvalidArgument)), "invited_committee_ids");

    let project =
        hebei.create_joint_project(joint(TOPIC, &[&tree.xingtai.id, &tree.ningjin.id])).await.unwrap().into_inner();
    assert_eq!(project.kind, pc::SupervisionKind::ThreeLevelJoint as i32);
    assert_eq!(project.state, pc::SupervisionState::Ongoing as i32);

    // Each invited committee sees the brief: topic, period, initiator.
    let xt = only_participation(&mut xingtai).await;
    let nj = only_participation(&mut ningjin).await;
    for part in [&xt, &nj] {
        assert_eq!(part.topic, TOPIC);
        assert_eq!(part.initiator_name, "河北省政协");
        assert_eq!(part.initiator_committee_id, tree.hebei.id);
        assert_eq!(part.project_id, project.id);
        assert_eq!(part.start_date, date(2026, 3, 1));
        assert_eq!(part.state, pc::ParticipationState::Invited as i32);
    }
    assert_eq!(nj.committee_id, tree.ningjin.id);
    assert_eq!(nj.committee_name, "宁晋县政协");

    // Not invited: nothing at all.
    let mine = lincheng.list_participations(pc::ListParticipationsRequest::default()).await.unwrap().into_inner();
    assert!(mine.participations.is_empty());
    assert_code(lincheng.get_participation(pc::GetParticipationRequest { id: nj.id.clone() }).await, Code::NotFound);
    let progress = lincheng.get_joint_progress(pc::GetJointProgressRequest { project_id: project.id.clone() }).await;
    assert_code(progress, Code::NotFound);
    let project_read =
        lincheng.get_supervision_project(pc::GetSupervisionProjectRequest { id: project.id.clone() }).await;
    assert_code(project_read, Code::NotFound);
    // A participant reads its own part, not the initiator's project nor the progress.
    let project_read =
        ningjin.get_supervision_project(pc::GetSupervisionProjectRequest { id: project.id.clone() }).await;
    assert_code(project_read, Code::NotFound);
    let progress = ningjin.get_joint_progress(pc::GetJointProgressRequest { project_id: project.id.clone() }).await;
    assert_code(progress, Code::NotFound);
    // Nor can the initiator act on a participant's part.
    let respond = hebei
        .respond_to_invitation(pc::RespondToInvitationRequest { id: nj.id.clone(), accept: true, note: String::new() })
        .await;
    assert_code(respond, Code::NotFound);

    // Inspections only once accepted.
    let early = ningjin
        .add_participation_inspection(pc::AddParticipationInspectionRequest {
            participation_id: nj.id.clone(),
            inspection: inspection(4, 8, "宁晋县经济开发区", &["张国强"], "x"),
        })
        .await;
    refused_naming(early, "INVITED");
    for (c, id) in [(&mut xingtai, &xt.id), (&mut ningjin, &nj.id)] {
        let accepted = c
            .respond_to_invitation(pc::RespondToInvitationRequest {
                id: id.clone(),
                accept: true,
                note: "按省政协部署开展".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(accepted.state, pc::ParticipationState::Accepted as i32);
    }
    let twice = ningjin
        .respond_to_invitation(pc::RespondToInvitationRequest { id: nj.id.clone(), accept: false, note: "x".into() })
        .await;
    refused_naming(twice, "ACCEPTED");

    // Each files findings for its own area.
    xingtai
        .add_participation_inspection(pc::AddParticipationInspectionRequest {
            participation_id: xt.id.clone(),
            inspection: inspection(4, 15, "邢台市襄都区钢铁企业", &["王秀兰"], "部分企业超低排放改造进度滞后"),
        })
        .await
        .unwrap();
    let submit_empty = ningjin
        .submit_participation(pc::SubmitParticipationRequest {
            id: nj.id.clone(), summary: "宁晋县监督情况".into()
        });
    refused_naming(submit_empty.await, "ACCEPTED");
    let nj_part = ningjin
        .add_participation_inspection(pc::AddParticipationInspectionRequest {
            participation_id: nj.id.clone(),
            inspection: inspection(4, 22, "宁晋县大曹庄工业园区", &["张国强"], "散煤复烧现象时有发生"),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(nj_part.inspections.len(), 1);
    let nj_part = ningjin
        .submit_participation(pc::SubmitParticipationRequest {
            id: nj.id.clone(),
            summary: "宁晋县清洁取暖改造基本完成，散煤管控仍需加强。".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(nj_part.state, pc::ParticipationState::Submitted as i32);

    // Participants never see each other's parts.
    assert_code(ningjin.get_participation(pc::GetParticipationRequest { id: xt.id.clone() }).await, Code::NotFound);
    let inspect_other = ningjin
        .add_participation_inspection(pc::AddParticipationInspectionRequest {
            participation_id: xt.id.clone(),
            inspection: inspection(4, 23, "邢台市", &[], ""),
        })
        .await;
    assert_code(inspect_other, Code::NotFound);
    let own = only_participation(&mut ningjin).await;
    assert_eq!(own.inspections.len(), 1);
    assert!(own.inspections.iter().all(|i| !i.findings.contains("超低排放")));

    // The initiator sees the combined progress.
    let progress = hebei
        .get_joint_progress(pc::GetJointProgressRequest { project_id: project.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((progress.invited_count, progress.accepted_count, progress.submitted_count), (2, 2, 1));
    assert_eq!((progress.declined_count, progress.overdue_count), (0, 0));
    let by_name = |name: &str| progress.participations.iter().find(|p| p.committee_name == name).unwrap();
    let x = by_name("邢台市政协");
    assert_eq!(x.state, pc::ParticipationState::Accepted as i32);
    assert_eq!(x.inspections[0].findings, "部分企业超低排放改造进度滞后");
    let n = by_name("宁晋县政协");
    assert_eq!(n.state, pc::ParticipationState::Submitted as i32);
    assert_eq!(n.summary, "宁晋县清洁取暖改造基本完成，散煤管控仍需加强。");
    assert_eq!(n.inspections[0].place, "宁晋县大曹庄工业园区");
    assert_eq!(n.inspections[0].member_names, vec!["张国强".to_owned()]);

    // Nothing to publish before the joint report is filed; no report to read.
    let early = hebei.publish_joint_report(publish(&project.id)).await;
    refused_naming(early, "ONGOING");
    assert!(only_participation(&mut ningjin).await.joint_report.is_none());

    // …and writes the joint report.
    let report = hebei
        .file_supervision_report(pc::FileSupervisionReportRequest {
            project_id: project.id.clone(),
            summary: "三级政协联动监督覆盖市县两级，发现问题2项。".into(),
            problems: vec![
                pc::NewSupervisionProblem {
                    problem: "钢铁企业超低排放改造进度滞后".into(),
                    suggestion: "压实企业主体责任，倒排工期".into(),
                },
                pc::NewSupervisionProblem {
                    problem: "农村散煤复烧".into(),
                    suggestion: "巩固清洁取暖成果，加强执法巡查".into(),
                },
            ],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.state, pc::SupervisionState::Reported as i32);
    assert_eq!(report.problems.len(), 2);
    assert!(report.report_publish_time.is_none());

    // Filed is not yet published: participants do not read it.
    for c in [&mut xingtai, &mut ningjin] {
        assert!(only_participation(c).await.joint_report.is_none());
    }
    // Only the initiator publishes: a participant, an outsider and the
    // initiator's members are refused as for the other initiator-only calls.
    for c in [&mut xingtai, &mut ningjin, &mut lincheng] {
        assert_code(c.publish_joint_report(publish(&project.id)).await, Code::NotFound);
    }
    let admin = app.login("130000", "admin", PASSWORD).await.unwrap();
    create_user(&admin, &tree.hebei.id, "zhaomin", "赵敏", &[Role::Member]).await;
    let mut hebei_member = client(&app.login("130000", "zhaomin", PASSWORD).await.unwrap());
    assert_code(hebei_member.publish_joint_report(publish(&project.id)).await, Code::PermissionDenied);
    assert_eq!(
        violated_field(&assert_code(hebei.publish_joint_report(publish("")).await, Code::InvalidArgument)),
        "project_id"
    );

    let published = hebei.publish_joint_report(publish(&project.id)).await.unwrap().into_inner();
    let published_project = published.project.clone().unwrap();
    assert_eq!(published_project.state, pc::SupervisionState::Reported as i32);
    let publish_time = published_project.report_publish_time.expect("publication recorded");
    assert_eq!(published.invited_count, 2);
    let again = hebei.publish_joint_report(publish(&project.id)).await;
    refused_naming(again, "REPORTED");
    let again = hebei.publish_joint_report(publish(&project.id)).await;
    refused_naming(again, "already published");
    let read_back =
        hebei.get_supervision_project(pc::GetSupervisionProjectRequest { id: project.id.clone() }).await.unwrap();
    assert_eq!(read_back.into_inner().report_publish_time, Some(publish_time));

    // Rectification goes on after publication; the published copies do not follow it.
    rectify(&mut hebei, &project.id, 1, pc::RectificationStatus::InProgress, None, "").await.unwrap();

    // Each participant reads the report as published, with the initiator's name…
    for (c, own_id) in [(&mut xingtai, &xt.id), (&mut ningjin, &nj.id)] {
        let part = c.get_participation(pc::GetParticipationRequest { id: own_id.clone() }).await.unwrap().into_inner();
        let r = part.joint_report.expect("the published joint report");
        assert_eq!((r.initiator_name.as_str(), r.topic.as_str()), ("河北省政协", TOPIC));
        assert_eq!(
            (r.project_id.as_str(), r.initiator_committee_id.as_str()),
            (project.id.as_str(), tree.hebei.id.as_str())
        );
        assert_eq!(r.summary, "三级政协联动监督覆盖市县两级，发现问题2项。");
        assert_eq!(r.publish_time, Some(publish_time));
        assert!(r.report_time.is_some());
        let numbers: Vec<_> = r.problems.iter().map(|p| (p.number, p.problem.as_str())).collect();
        assert_eq!(numbers, [(1, "钢铁企业超低排放改造进度滞后"), (2, "农村散煤复烧")]);
        assert_eq!(r.problems[0].suggestion, "压实企业主体责任，倒排工期");
        assert!(r.problems.iter().all(|p| p.rectification == pc::RectificationStatus::Open as i32));
        // …and still only its own part.
        assert_eq!(part.id, *own_id);
        assert_eq!(only_participation(c).await.joint_report.map(|r| r.summary), Some(r.summary));
    }
    assert_code(ningjin.get_participation(pc::GetParticipationRequest { id: xt.id.clone() }).await, Code::NotFound);
    assert_code(xingtai.get_participation(pc::GetParticipationRequest { id: nj.id.clone() }).await, Code::NotFound);
    // The outsider still sees nothing of the project.
    assert!(
        lincheng
            .list_participations(pc::ListParticipationsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .participations
            .is_empty()
    );
    assert_code(lincheng.get_participation(pc::GetParticipationRequest { id: nj.id.clone() }).await, Code::NotFound);

    // A city's own joint project: 临城县 declines (with a reason).
    let city_project =
        xingtai.create_joint_project(joint("扬尘治理联动监督", &[&tree.lincheng.id])).await.unwrap().into_inner();
    let lc = only_participation(&mut lincheng).await;
    assert_eq!(lc.initiator_name, "邢台市政协");
    let no_reason = lincheng
        .respond_to_invitation(pc::RespondToInvitationRequest { id: lc.id.clone(), accept: false, note: " ".into() })
        .await;
    assert_eq!(violated_field(&assert_code(no_reason, Code::InvalidArgument)), "note");
    let declined = lincheng
        .respond_to_invitation(pc::RespondToInvitationRequest {
            id: lc.id.clone(),
            accept: false,
            note: "同期开展省级督察迎检".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(declined.state, pc::ParticipationState::Declined as i32);
    let city_progress = xingtai
        .get_joint_progress(pc::GetJointProgressRequest { project_id: city_project.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(city_progress.declined_count, 1);
    assert_eq!(city_progress.participations[0].response_note, "同期开展省级督察迎检");
    // 河北省 initiated neither this project nor sees it through its own.
    let foreign = hebei.get_joint_progress(pc::GetJointProgressRequest { project_id: city_project.id.clone() }).await;
    assert_code(foreign, Code::NotFound);
    assert_code(hebei.publish_joint_report(publish(&city_project.id)).await, Code::NotFound);
    // A declined committee was invited: it reads the published report too.
    xingtai
        .file_supervision_report(pc::FileSupervisionReportRequest {
            project_id: city_project.id.clone(),
            summary: "施工扬尘管控总体到位。".into(),
            problems: vec![pc::NewSupervisionProblem {
                problem: "渣土车遮盖不严".into(),
                suggestion: "加强路面执法".into(),
            }],
        })
        .await
        .unwrap();
    xingtai.publish_joint_report(publish(&city_project.id)).await.unwrap();
    let lc = only_participation(&mut lincheng).await;
    assert_eq!(lc.state, pc::ParticipationState::Declined as i32);
    let r = lc.joint_report.expect("the declined committee reads the published report");
    assert_eq!((r.initiator_name.as_str(), r.problems.len()), ("邢台市政协", 1));
    // 宁晋县 was not invited to the city's project: it sees only the province's report.
    let mine = ningjin.list_participations(pc::ListParticipationsRequest::default()).await.unwrap().into_inner();
    assert_eq!(mine.participations.len(), 1);
    assert_eq!(mine.participations[0].joint_report.as_ref().map(|r| r.initiator_name.as_str()), Some("河北省政协"));

    if app.backend == Backend::Postgres {
        let sql = |s: &str| Statement::from_string(DbBackend::Postgres, s);
        let id = |s: &str| CommitteeId::parse("id", s).unwrap();
        let db = app.running.db.clone();
        let owners = async |scope: Scope, table: &str| -> Vec<String> {
            let tx = db.begin(scope).await.unwrap();
            let rows = tx
                .query_all_raw(sql(&format!("SELECT committee_id::text AS c FROM {table} ORDER BY committee_id")))
                .await
                .unwrap();
            rows.iter().map(|r| r.try_get::<String>("", "c").unwrap()).collect()
        };
        // 宁晋县 (raw query, no filter): only its own participation and inspection rows, no project rows.
        let ningjin_scope = || Scope::Committee(id(&tree.ningjin.id));
        assert_eq!(owners(ningjin_scope(), "supervision_participations").await, vec![tree.ningjin.id.clone()]);
        assert_eq!(owners(ningjin_scope(), "supervision_inspections").await, vec![tree.ningjin.id.clone()]);
        assert!(owners(ningjin_scope(), "supervision_projects").await.is_empty());
        // 临城县: only its own declined participation.
        let lincheng_rows = owners(Scope::Committee(id(&tree.lincheng.id)), "supervision_participations").await;
        assert_eq!(lincheng_rows, vec![tree.lincheng.id.clone()]);
        // 河北省 reads exactly the rows of the project it initiated (not 邢台's own project).
        let mut expected = vec![tree.xingtai.id.clone(), tree.ningjin.id.clone()];
        expected.sort();
        assert_eq!(owners(Scope::Committee(id(&tree.hebei.id)), "supervision_participations").await, expected);
        // …but cannot change them: the read policy is SELECT only.
        let tx = db.begin(Scope::Committee(id(&tree.hebei.id))).await.unwrap();
        let changed = tx.execute_unprepared("UPDATE supervision_participations SET summary = 'changed'").await.unwrap();
        assert_eq!(changed.rows_affected(), 0);
        let deleted = tx.execute_unprepared("DELETE FROM supervision_inspections").await.unwrap();
        assert_eq!(deleted.rows_affected(), 0);
        drop(tx);
        // 宁晋县 cannot forge a row for 临城县.
        let tx = db.begin(ningjin_scope()).await.unwrap();
        let forged = format!(
            "INSERT INTO supervision_inspections (id, committee_id, date, place, member_names, member_ids, findings, \
             created_at) VALUES (gen_random_uuid(), '{}', '2026-05-01', 'x', '', '', '', now())",
            tree.lincheng.id
        );
        let err = tx.execute_unprepared(&forged).await.expect_err("RLS refuses a foreign committee's row");
        assert!(err.to_string().contains("row-level security"), "{err}");
        drop(tx);

        // Published copies: each participant reads its own only; the
        // initiator reads what it published and nothing else.
        const REPORTS: &str = "supervision_joint_reports";
        assert_eq!(owners(ningjin_scope(), REPORTS).await, vec![tree.ningjin.id.clone()]);
        assert_eq!(owners(Scope::Committee(id(&tree.lincheng.id)), REPORTS).await, vec![tree.lincheng.id.clone()]);
        assert_eq!(owners(Scope::Committee(id(&tree.hebei.id)), REPORTS).await, expected);
        let mut xingtai_reads = vec![tree.xingtai.id.clone(), tree.lincheng.id.clone()];
        xingtai_reads.sort();
        assert_eq!(owners(Scope::Committee(id(&tree.xingtai.id)), REPORTS).await, xingtai_reads);
        // The initiator cannot change a copy once published.
        let tx = db.begin(Scope::Committee(id(&tree.hebei.id))).await.unwrap();
        let changed = tx.execute_unprepared("UPDATE supervision_joint_reports SET summary = 'changed'").await.unwrap();
        assert_eq!(changed.rows_affected(), 0);
        // Nor publish to a committee it did not invite to that project
        // (临城县, under 宁晋县's participation).
        let forged = format!(
            "INSERT INTO supervision_joint_reports (id, committee_id, initiator_committee_id, project_id, \
             participation_id, initiator_name, topic, summary, problems, published_at, published_by, created_at) \
             VALUES (gen_random_uuid(), '{}', '{}', '{}', '{}', '河北省政协', 'x', 'x', '[]', now(), \
             gen_random_uuid(), now())",
            tree.lincheng.id, tree.hebei.id, project.id, nj.id
        );
        let err = tx.execute_unprepared(&forged).await.expect_err("RLS refuses a copy for an uninvited committee");
        assert!(err.to_string().contains("row-level security"), "{err}");
        drop(tx);
        // Nor may a participant forge a copy for a sibling.
        let tx = db.begin(ningjin_scope()).await.unwrap();
        let forged = format!(
            "INSERT INTO supervision_joint_reports (id, committee_id, initiator_committee_id, project_id, \
             participation_id, initiator_name, topic, summary, problems, published_at, published_by, created_at) \
             VALUES (gen_random_uuid(), '{}', '{}', '{}', '{}', '河北省政协', 'x', 'x', '[]', now(), \
             gen_random_uuid(), now())",
            tree.xingtai.id, tree.hebei.id, project.id, xt.id
        );
        let err = tx.execute_unprepared(&forged).await.expect_err("RLS refuses a sibling's copy");
        assert!(err.to_string().contains("row-level security"), "{err}");
    }
    app.stop().await;
}
