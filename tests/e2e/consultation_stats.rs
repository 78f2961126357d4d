//! Consultation statistics (协商监督工作统计) of 宁晋县政协 for 2026, built
//! through the gRPC API and asserted figure by figure: topics of the four
//! sources, the published and amended plan, activities held by type, sign-in
//! at meetings, suggestions and feedback, quality scores, and democratic
//! supervision including its part of 邢台市政协's joint project. Records of 2025
//! and of 临城县政协 do not count; each committee sees only its own figures.
//!
//! Also the public's contact phone sealed with SM4: the stored row holds no
//! plain phone, staff see it masked, reveal it audited, and `xieshang pii
//! rekey` moves it — and seals a legacy plain one — to a new key.

use sea_orm::{ConnectionTrait, Statement, Value as SqlValue};
use tonic::Code;
use xieshang_platform::db::{Db, Scope};
use xieshang_platform::pii::{Pii, TOPIC_CONTACT_PHONE};
use xieshang_proto::common::v1::{Date, Role};
use xieshang_proto::consultation::v1 as pc;
use xieshang_proto::consultation::v1::quality_service_client::QualityServiceClient;
use xieshang_proto::consultation::v1::supervision_service_client::SupervisionServiceClient;
use xieshang_proto::membership::v1 as pm;
use xieshang_tests::*;

type Client = ConsultationServiceClient<Authed>;

const KEY_A: &str = "0123456789abcdef0123456789abcdef";
const KEY_B: &str = "fedcba9876543210fedcba9876543210";

fn key(hex: &str) -> [u8; 16] {
    xieshang_platform::pii::parse_key(hex).unwrap()
}

fn date(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(Date { year, month, day })
}

fn supervision(s: &Session) -> SupervisionServiceClient<Authed> {
    SupervisionServiceClient::with_interceptor(s.channel.clone(), s.bearer())
}

fn quality(s: &Session) -> QualityServiceClient<Authed> {
    QualityServiceClient::with_interceptor(s.channel.clone(), s.bearer())
}

fn public(app: &TestApp) -> ConsultationServiceClient<tonic::transport::Channel> {
    ConsultationServiceClient::new(app.channel.clone())
}

/// An ID number (居民身份证号码) with its GB 11643 check character.
fn id_number(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    format!("{first17}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

async fn statistics(c: &mut Client, year: i32) -> Result<pc::ConsultationStatistics, tonic::Status> {
    c.get_consultation_statistics(pc::GetConsultationStatisticsRequest { year }).await.map(|r| r.into_inner())
}

async fn topic(c: &mut Client, title: &str, source: pc::TopicSource, submitter: &str) -> pc::Topic {
    c.create_topic(pc::CreateTopicRequest {
        topic: Some(pc::Topic {
            title: title.into(),
            rationale: "事关宁晋县经济社会发展和群众切身利益，需要政协协商凝聚共识。".into(),
            source: source as i32,
            submitter_name: submitter.into(),
            ..Default::default()
        }),
    })
    .await
    .unwrap_or_else(|e| panic!("{title}: {e:?}"))
    .into_inner()
}

async fn screen(c: &mut Client, id: &str, selected: bool) {
    let verdict = if selected { pc::ScreeningVerdict::Selected } else { pc::ScreeningVerdict::NotSelected };
    c.screen_topic(pc::ScreenTopicRequest {
        id: id.into(),
        screening: Some(pc::Screening {
            party_government_need: "县委县政府年度重点工作".into(),
            public_expectation: "群众反映集中".into(),
            committee_capacity: "专委会有调研基础".into(),
            ..Default::default()
        }),
        verdict: verdict as i32,
    })
    .await
    .unwrap();
}

async fn submit_public(app: &TestApp, code: &str, title: &str, name: &str, phone: &str) -> String {
    public(app)
        .submit_public_topic(pc::SubmitPublicTopicRequest {
            committee_code: code.into(),
            title: title.into(),
            rationale: "群众反映强烈，希望政协组织协商。".into(),
            contact: Some(pc::PublicContact { name: name.into(), phone: phone.into() }),
        })
        .await
        .unwrap()
        .into_inner()
        .tracking_code
}

fn item(title: &str, kind: pc::ConsultationType, topic_id: &str, month: i32) -> pc::PlanItem {
    pc::PlanItem {
        topic_id: topic_id.into(),
        title: title.into(),
        r#type: kind as i32,
        lead_committee: "经济委员会".into(),
        planned_month: month,
        ..Default::default()
    }
}

async fn activity(c: &mut Client, title: &str, kind: pc::ConsultationType, plan_item: &str, year: i32) -> String {
    let (department, label) = match kind {
        pc::ConsultationType::Counterpart => ("宁晋县农业农村局", ""),
        pc::ConsultationType::Other => ("", "有事好商量"),
        _ => ("", ""),
    };
    c.create_activity(pc::CreateActivityRequest {
        activity: Some(pc::Activity {
            title: title.into(),
            r#type: kind as i32,
            type_label: label.into(),
            department: department.into(),
            plan_item_id: plan_item.into(),
            year,
            ..Default::default()
        }),
    })
    .await
    .unwrap_or_else(|e| panic!("{title}: {e:?}"))
    .into_inner()
    .id
}

async fn advance(c: &mut Client, id: &str, stage: pc::ActivityStage) {
    c.advance_activity(pc::AdvanceActivityRequest { id: id.into(), stage: stage as i32 }).await.unwrap();
}

async fn suggest(c: &mut Client, activity: &str, text: &str) -> String {
    c.add_suggestion(pc::AddSuggestionRequest { activity_id: activity.into(), text: text.into() })
        .await
        .unwrap()
        .into_inner()
        .id
}

async fn feedback(c: &mut Client, suggestion: &str, result: pc::FeedbackResult) {
    let note = if result == pc::FeedbackResult::NotAdopted { "与现行政策不符，暂不采纳" } else { "" };
    c.record_feedback(pc::RecordFeedbackRequest {
        suggestion_id: suggestion.into(),
        feedback: result as i32,
        note: note.into(),
    })
    .await
    .unwrap();
}

async fn meeting(
    c: &mut Client,
    kind: pc::MeetingKind,
    title: &str,
    day: Option<Date>,
    activity: &str,
    invitees: &[&String],
) -> String {
    c.create_meeting(pc::CreateMeetingRequest {
        meeting: Some(pc::Meeting {
            kind: kind as i32,
            title: title.into(),
            date: day,
            place: "宁晋县政协三楼会议室".into(),
            activity_id: activity.into(),
            agenda: vec!["通报情况".into(), "委员发言".into()],
            invitees: invitees.iter().map(|m| pc::Invitee { member_id: (*m).clone(), ..Default::default() }).collect(),
            ..Default::default()
        }),
    })
    .await
    .unwrap_or_else(|e| panic!("{title}: {e:?}"))
    .into_inner()
    .id
}

async fn sign_in(c: &mut Client, meeting: &str, entries: &[(&String, pc::Attendance)]) {
    c.record_attendance(pc::RecordAttendanceRequest {
        meeting_id: meeting.into(),
        entries: entries
            .iter()
            .map(|(m, a)| pc::AttendanceEntry {
                member_id: (*m).clone(),
                attendance: *a as i32,
                leave_reason: if *a == pc::Attendance::OnLeave { "外出学习".into() } else { String::new() },
            })
            .collect(),
    })
    .await
    .unwrap();
}

fn inspection(day: Option<Date>, place: &str, findings: &str) -> Option<pc::SupervisionInspection> {
    Some(pc::SupervisionInspection {
        date: day,
        place: place.into(),
        member_names: vec!["张建国".into(), "李秀英".into()],
        findings: findings.into(),
        ..Default::default()
    })
}

/// 宁晋县政协's roster: four members (no accounts needed: staff sign them in).
async fn roster(staff: &Session) -> Vec<String> {
    let mut m = staff.membership();
    let sector = reference_item(&mut m, pm::ReferenceKind::Sector, "12", "经济界").await;
    let special = reference_item(&mut m, pm::ReferenceKind::SpecialCommittee, "", "经济委员会").await;
    let people = [
        ("张建国", "13052819720305123", "13831912345"),
        ("李秀英", "13052819800612234", "13931954321"),
        ("王志刚", "13052819750918345", "15030912345"),
        ("赵敏", "13052819830227456", "13703195678"),
    ];
    let mut ids = Vec::new();
    for (name, id17, phone) in people {
        let member = m
            .create_member(pm::CreateMemberRequest {
                member: Some(pm::Member {
                    name: name.into(),
                    gender: pm::Gender::Male as i32,
                    party: pm::PartyAffiliation::Cdl as i32,
                    sector_id: sector.clone(),
                    work_unit: "宁晋县晶龙实业集团".into(),
                    phone: phone.into(),
                    id_number: id_number(id17),
                    term_number: 10,
                    role: pm::MemberRole::Member as i32,
                    special_committee_id: special.clone(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        ids.push(member.into_inner().id);
    }
    ids
}

#[tokio::test]
async fn a_county_years_consultation_figures_are_counted_exactly() {
    use pc::ConsultationType as T;
    use pc::TopicSource as S;
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let nj = tree.ningjin.id.clone();
    create_user(&admin, &nj, "liuyang", "刘洋", &[Role::Staff]).await;
    let judge = create_user(&admin, &nj, "sunjudge", "孙建华", &[Role::Judge]).await;
    create_user(&admin, &nj, "zhangjianguo", "张建国", &[Role::Member]).await;
    let staff = app.login("130528", "liuyang", PASSWORD).await.unwrap();
    let judge_s = app.login("130528", "sunjudge", PASSWORD).await.unwrap();
    let member = app.login("130528", "zhangjianguo", PASSWORD).await.unwrap();
    let mut c = staff.consultation();
    let members = roster(&staff).await;

    // An empty year: every source listed with zeros, nothing else.
    let empty = statistics(&mut c, 2026).await.unwrap();
    assert_eq!(empty.committee_id, nj);
    assert_eq!(
        empty.topics_by_source.iter().map(|t| (t.source, t.submitted)).collect::<Vec<_>>(),
        vec![(1, 0), (2, 0), (3, 0), (4, 0)]
    );
    assert_eq!(empty.plan.as_ref().unwrap().state, pc::PlanState::Unspecified as i32);
    assert!(empty.activities_by_type.is_empty());
    assert_eq!(empty.suggestions.as_ref().unwrap().adoption_rate, 0.0);
    assert_eq!(empty.attendance.as_ref().unwrap().attendance_rate, 0.0);

    // ---- Topics: 党政点题 2 (1 selected), 群众出题 3 (1 selected, 1 not), 委员荐题 2 (1 not), 政协选题 1 (selected).
    let salt = topic(&mut c, "推进盐碱地综合利用", S::PartyGovernment, "县委办公室").await;
    topic(&mut c, "优化县域营商环境", S::PartyGovernment, "县政府办公室").await;
    for (title, phone) in
        [("老旧小区加装电梯", "13831900001"), ("农村学校午餐质量", "13831900002"), ("县城停车难", "13831900003")]
    {
        submit_public(&app, "130528", title, "孙丽", phone).await;
    }
    let elder = topic(&mut c, "发展农村居家养老服务", S::Member, "张建国").await;
    topic(&mut c, "支持晶硅光伏产业链延伸", S::Member, "李秀英").await;
    let river = topic(&mut c, "滏阳河生态治理", S::Committee, "").await;
    screen(&mut c, &salt.id, true).await;
    screen(&mut c, &river.id, true).await;
    screen(&mut c, &elder.id, false).await;
    let publics = c
        .list_topics(pc::ListTopicsRequest { source: S::Public as i32, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .topics;
    assert_eq!(publics.len(), 3);
    screen(&mut c, &publics[0].id, true).await;
    screen(&mut c, &publics[1].id, false).await;

    // ---- The 2026 plan: four items, one removed while drafting; published; amended (one out, one in).
    let plan = c.create_plan(pc::CreatePlanRequest { year: 2026 }).await.unwrap().into_inner();
    let add = async |c: &mut Client, i: pc::PlanItem| {
        c.add_plan_item(pc::AddPlanItemRequest { plan_id: plan.id.clone(), item: Some(i) }).await.unwrap().into_inner()
    };
    add(&mut c, item("", T::PleaseConsult, &salt.id, 3)).await;
    add(&mut c, item("关于高标准农田建设的对口协商", T::Counterpart, "", 5)).await;
    add(&mut c, item("经济界圆桌会：民营企业融资", T::SectorRoundTable, "", 6)).await;
    let drafted = add(&mut c, item("关于文旅融合的协商", T::Plenary, "", 9)).await;
    let [please_item, counterpart_item, round_item, plenary_item] = [0, 1, 2, 3].map(|i| drafted.items[i].id.clone());
    c.remove_plan_item(pc::RemovePlanItemRequest { plan_id: plan.id.clone(), item_id: plenary_item }).await.unwrap();
    for step in ["submit", "approve", "publish"] {
        match step {
            "submit" => c.submit_plan(pc::SubmitPlanRequest { id: plan.id.clone() }).await.map(|_| ()),
            "approve" => c.approve_plan(pc::ApprovePlanRequest { id: plan.id.clone() }).await.map(|_| ()),
            _ => c.publish_plan(pc::PublishPlanRequest { id: plan.id.clone() }).await.map(|_| ()),
        }
        .unwrap();
    }
    c.amend_plan(pc::AmendPlanRequest {
        id: plan.id.clone(),
        reason: "县委调整年度重点，增设基层协商".into(),
        add_items: vec![item("民生议事堂：农村饮水安全", T::Grassroots, "", 10)],
        remove_item_ids: vec![counterpart_item],
    })
    .await
    .unwrap();

    // ---- Activities of 2026.
    let a1 = activity(&mut c, "关于推进盐碱地综合利用的请你来协商", T::PleaseConsult, &please_item, 0).await;
    let a2 = activity(&mut c, "经济界圆桌会：民营企业融资难题", T::SectorRoundTable, &round_item, 0).await;
    let a3 = activity(&mut c, "关于高标准农田建设的对口协商", T::Counterpart, "", 2026).await;
    activity(&mut c, "关于县域医共体建设的请你来协商", T::PleaseConsult, "", 2026).await;
    let a5 = activity(&mut c, "有事好商量：背街小巷改造", T::Other, "", 2026).await;
    // One of 2025: neither it nor its suggestion counts.
    let old = activity(&mut c, "关于冬季清洁取暖的请你来协商", T::PleaseConsult, "", 2025).await;

    advance(&mut c, &a1, pc::ActivityStage::Meeting).await;
    advance(&mut c, &a1, pc::ActivityStage::Report).await;
    let s1 = suggest(&mut c, &a1, "设立盐碱地改良专项资金").await;
    let s2 = suggest(&mut c, &a1, "引进耐盐碱作物品种").await;
    let s3 = suggest(&mut c, &a1, "组建县级技术服务队").await;
    advance(&mut c, &a1, pc::ActivityStage::Feedback).await;
    feedback(&mut c, &s1, pc::FeedbackResult::Adopted).await;
    feedback(&mut c, &s2, pc::FeedbackResult::PartlyAdopted).await;
    feedback(&mut c, &s3, pc::FeedbackResult::NotAdopted).await;
    advance(&mut c, &a2, pc::ActivityStage::Report).await;
    suggest(&mut c, &a2, "搭建政银企对接平台").await;
    suggest(&mut c, &a2, "扩大应急转贷资金规模").await;
    advance(&mut c, &a3, pc::ActivityStage::Meeting).await;
    advance(&mut c, &a5, pc::ActivityStage::Report).await;
    let s6 = suggest(&mut c, &a5, "分批改造背街小巷路面").await;
    advance(&mut c, &a5, pc::ActivityStage::Feedback).await;
    feedback(&mut c, &s6, pc::FeedbackResult::Adopted).await;
    advance(&mut c, &a5, pc::ActivityStage::FollowUp).await;
    advance(&mut c, &old, pc::ActivityStage::Report).await;
    let s_old = suggest(&mut c, &old, "推广空气源热泵").await;
    advance(&mut c, &old, pc::ActivityStage::Feedback).await;
    feedback(&mut c, &s_old, pc::FeedbackResult::Adopted).await;

    // ---- Meetings: two in 2026 (8 invitations), one on 2025-12-30 that does not count.
    let all: Vec<&String> = members.iter().collect();
    let m1 = meeting(&mut c, pc::MeetingKind::Activity, "盐碱地综合利用协商会", date(2026, 3, 18), &a1, &all).await;
    sign_in(
        &mut c,
        &m1,
        &[
            (&members[0], pc::Attendance::Present),
            (&members[1], pc::Attendance::Present),
            (&members[2], pc::Attendance::Present),
            (&members[3], pc::Attendance::OnLeave),
        ],
    )
    .await;
    let m2 =
        meeting(&mut c, pc::MeetingKind::StandingCommittee, "十届政协第十二次常委会议", date(2026, 6, 20), "", &all)
            .await;
    sign_in(
        &mut c,
        &m2,
        &[
            (&members[0], pc::Attendance::Present),
            (&members[1], pc::Attendance::Present),
            (&members[2], pc::Attendance::Absent),
        ],
    )
    .await;
    let m3 = meeting(&mut c, pc::MeetingKind::Chairs, "主席会议", date(2025, 12, 30), "", &all[..2]).await;
    sign_in(&mut c, &m3, &[(&members[0], pc::Attendance::Present), (&members[1], pc::Attendance::Absent)]).await;

    // ---- Quality: a1 by two evaluators, a2 by one; a5 not scored.
    let mut q = quality(&staff);
    let std = q
        .set_quality_standard(pc::SetQualityStandardRequest {
            standard: Some(pc::QualityStandard {
                year: 2026,
                criteria: [("建言质量", 40), ("调研深度", 30), ("成果转化", 30)]
                    .iter()
                    .map(|(name, weight)| pc::QualityCriterion {
                        name: (*name).into(),
                        weight: *weight,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let criteria: Vec<String> = std.criteria.iter().map(|c| c.id.clone()).collect();
    let scores = |values: [i32; 3]| {
        criteria
            .iter()
            .zip(values)
            .map(|(c, v)| pc::CriterionScore { criterion_id: c.clone(), score: v, ..Default::default() })
            .collect::<Vec<_>>()
    };
    q.assign_evaluators(pc::AssignEvaluatorsRequest {
        activity_id: a1.clone(),
        evaluator_user_ids: vec![staff.user.id.clone(), judge.id.clone()],
    })
    .await
    .unwrap();
    q.assign_evaluators(pc::AssignEvaluatorsRequest {
        activity_id: a2.clone(),
        evaluator_user_ids: vec![staff.user.id.clone()],
    })
    .await
    .unwrap();
    // a1: means 85, 75, 60 → (40×85 + 30×75 + 30×60) / 100 = 74.5; a2: (40×95 + 30×90 + 30×80) / 100 = 89.
    q.score_activity(pc::ScoreActivityRequest { activity_id: a1.clone(), scores: scores([80, 70, 60]) }).await.unwrap();
    quality(&judge_s)
        .score_activity(pc::ScoreActivityRequest { activity_id: a1.clone(), scores: scores([90, 80, 60]) })
        .await
        .unwrap();
    q.score_activity(pc::ScoreActivityRequest { activity_id: a2.clone(), scores: scores([95, 90, 80]) }).await.unwrap();

    // ---- Supervision: two own projects of 2026 (one reported with four problems), one of 2025.
    let mut sv = supervision(&staff);
    let project = |kind: pc::SupervisionKind, topic: &str, start: Option<Date>, end: Option<Date>| {
        pc::CreateSupervisionProjectRequest { kind: kind as i32, topic: topic.into(), start_date: start, end_date: end }
    };
    let p1 = sv
        .create_supervision_project(project(
            pc::SupervisionKind::SpecialCollective,
            "农村人居环境整治专项民主监督",
            date(2026, 4, 1),
            date(2026, 10, 31),
        ))
        .await
        .unwrap()
        .into_inner()
        .id;
    sv.create_supervision_project(project(
        pc::SupervisionKind::ChairsMeetingInspection,
        "主席会议视察义务教育均衡发展",
        date(2026, 9, 1),
        date(2026, 9, 30),
    ))
    .await
    .unwrap();
    sv.create_supervision_project(project(
        pc::SupervisionKind::StationedMembers,
        "委员驻点监督县医院",
        date(2025, 5, 1),
        date(2025, 12, 31),
    ))
    .await
    .unwrap();
    sv.start_supervision_project(pc::StartSupervisionProjectRequest { id: p1.clone() }).await.unwrap();
    sv.add_supervision_inspection(pc::AddSupervisionInspectionRequest {
        project_id: p1.clone(),
        inspection: inspection(date(2026, 5, 12), "苏家庄镇", "垃圾转运不及时"),
    })
    .await
    .unwrap();
    let problems = ["垃圾转运不及时", "厕所改造后管护缺位", "污水管网覆盖不足", "村庄绿化养护资金短缺"];
    sv.file_supervision_report(pc::FileSupervisionReportRequest {
        project_id: p1.clone(),
        summary: "农村人居环境整治总体推进有力，仍有短板。".into(),
        problems: problems
            .iter()
            .map(|p| pc::NewSupervisionProblem { problem: (*p).into(), suggestion: "建议限期整改".into() })
            .collect(),
    })
    .await
    .unwrap();
    let rectify = async |sv: &mut SupervisionServiceClient<Authed>, number: i32, status: pc::RectificationStatus| {
        let (day, note) = match status {
            pc::RectificationStatus::Rectified => (date(2026, 11, 20), "已整改到位"),
            pc::RectificationStatus::NotRectified => (None, "资金未落实"),
            _ => (None, ""),
        };
        sv.update_rectification(pc::UpdateRectificationRequest {
            project_id: p1.clone(),
            number,
            status: status as i32,
            rectified_date: day,
            note: note.into(),
        })
        .await
        .unwrap();
    };
    for number in 1..=3 {
        rectify(&mut sv, number, pc::RectificationStatus::InProgress).await;
    }
    rectify(&mut sv, 1, pc::RectificationStatus::Rectified).await;
    rectify(&mut sv, 2, pc::RectificationStatus::NotRectified).await;

    // 邢台市政协 opens a joint project and invites 宁晋县 and 临城县; 宁晋 inspects and submits.
    let city_admin = app.login("130500", "admin", PASSWORD).await.unwrap();
    let joint = supervision(&city_admin)
        .create_joint_project(pc::CreateJointProjectRequest {
            topic: "大气污染防治三级联动民主监督".into(),
            start_date: date(2026, 5, 1),
            end_date: date(2026, 11, 30),
            invited_committee_ids: vec![nj.clone(), tree.lincheng.id.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    let part =
        sv.list_participations(pc::ListParticipationsRequest::default()).await.unwrap().into_inner().participations;
    assert_eq!(part.len(), 1);
    sv.respond_to_invitation(pc::RespondToInvitationRequest {
        id: part[0].id.clone(),
        accept: true,
        note: String::new(),
    })
    .await
    .unwrap();
    sv.add_participation_inspection(pc::AddParticipationInspectionRequest {
        participation_id: part[0].id.clone(),
        inspection: inspection(date(2026, 6, 3), "宁晋县经济开发区", "部分企业在线监测设备未联网"),
    })
    .await
    .unwrap();
    sv.submit_participation(pc::SubmitParticipationRequest {
        id: part[0].id.clone(),
        summary: "宁晋县检查企业12家，发现问题3个。".into(),
    })
    .await
    .unwrap();

    // 临城县政协's own records: they never reach 宁晋's figures.
    let lc_admin = app.login("130522", "admin", PASSWORD).await.unwrap();
    let mut lc = lc_admin.consultation();
    let lc_topic = topic(&mut lc, "临城县核桃产业提质", S::Committee, "").await;
    screen(&mut lc, &lc_topic.id, true).await;
    submit_public(&app, "130522", "岐山湖景区交通", "周强", "13931900009").await;
    activity(&mut lc, "关于核桃产业的请你来协商", T::PleaseConsult, "", 2026).await;

    // ---- The figures.
    let s = statistics(&mut c, 2026).await.unwrap();
    assert_eq!((s.committee_id.as_str(), s.year), (nj.as_str(), 2026));
    let by_source: Vec<(i32, i32, i32, i32)> =
        s.topics_by_source.iter().map(|t| (t.source, t.submitted, t.selected, t.not_selected)).collect();
    assert_eq!(
        by_source,
        vec![
            (S::PartyGovernment as i32, 2, 1, 0),
            (S::Public as i32, 3, 1, 1),
            (S::Member as i32, 2, 0, 1),
            (S::Committee as i32, 1, 1, 0)
        ]
    );
    assert_eq!((s.topics, s.topics_selected), (8, 3));

    let plan = s.plan.clone().unwrap();
    assert_eq!(plan.state, pc::PlanState::Published as i32);
    assert_eq!((plan.items, plan.items_with_activity, plan.amendments), (3, 2, 1));
    let items: Vec<(i32, i32)> = plan.items_by_type.iter().map(|t| (t.r#type, t.items)).collect();
    assert_eq!(items, vec![(T::PleaseConsult as i32, 1), (T::SectorRoundTable as i32, 1), (T::Grassroots as i32, 1)]);

    let kinds: Vec<(i32, i32, i32)> = s.activities_by_type.iter().map(|a| (a.r#type, a.activities, a.held)).collect();
    assert_eq!(
        kinds,
        vec![
            (T::PleaseConsult as i32, 2, 1),
            (T::Counterpart as i32, 1, 0),
            (T::SectorRoundTable as i32, 1, 1),
            (T::Other as i32, 1, 1)
        ]
    );
    assert_eq!((s.activities, s.activities_held), (5, 3));

    let a = s.attendance.clone().unwrap();
    assert_eq!((a.meetings, a.invitations, a.present, a.on_leave, a.absent, a.unrecorded), (2, 8, 5, 1, 1, 1));
    assert!((a.attendance_rate - 5.0 / 7.0).abs() < 1e-12, "{}", a.attendance_rate);

    let g = s.suggestions.clone().unwrap();
    assert_eq!((g.total, g.adopted, g.partly_adopted, g.not_adopted, g.awaiting), (6, 2, 1, 1, 2));
    assert!((g.adoption_rate - 0.75).abs() < 1e-12, "{}", g.adoption_rate);
    // The same count as GetAdoptionRates' total for the year.
    let rates = c.get_adoption_rates(pc::GetAdoptionRatesRequest { year: 2026 }).await.unwrap().into_inner();
    let total = rates.total.unwrap();
    assert_eq!((total.suggestions, total.adopted, total.rate), (g.total, g.adopted, g.adoption_rate));

    let quality_figures = s.quality.clone().unwrap();
    assert_eq!(quality_figures.scored_activities, 2);
    assert_eq!(quality_figures.average_score, 81.75);
    // The same weighted scores RankActivities computes.
    let ranked =
        q.rank_activities(pc::RankActivitiesRequest { year: 2026, ..Default::default() }).await.unwrap().into_inner();
    let ranked: Vec<f64> = ranked.activities.iter().map(|r| r.score).collect();
    assert_eq!(ranked, vec![89.0, 74.5]);

    let v = s.supervision.clone().unwrap();
    assert_eq!(
        (v.projects, v.reported_projects, v.joint_parts, v.joint_parts_submitted, v.inspections),
        (2, 1, 1, 1, 2)
    );
    assert_eq!((v.problems, v.rectified, v.not_rectified, v.in_progress, v.open), (4, 1, 1, 1, 1));
    assert!((v.rectification_rate - 0.25).abs() < 1e-12);

    // 2025: one activity with one adopted suggestion, one meeting, one project.
    let last = statistics(&mut c, 2025).await.unwrap();
    assert_eq!((last.topics, last.activities, last.activities_held), (0, 1, 1));
    assert_eq!(last.suggestions.unwrap().adopted, 1);
    let a25 = last.attendance.unwrap();
    assert_eq!((a25.meetings, a25.present, a25.absent), (1, 1, 1));
    assert_eq!(last.supervision.unwrap().projects, 1);
    assert_eq!(last.plan.unwrap().state, pc::PlanState::Unspecified as i32);

    // ---- Isolation: each committee's staff see their own figures only.
    let lc_stats = statistics(&mut lc, 2026).await.unwrap();
    assert_eq!(lc_stats.committee_id, tree.lincheng.id);
    assert_eq!((lc_stats.topics, lc_stats.topics_selected, lc_stats.activities), (2, 1, 1));
    let lc_sv = lc_stats.supervision.unwrap();
    // Invited too, but it never answered: an open invitation is a part, with nothing filed.
    assert_eq!((lc_sv.projects, lc_sv.joint_parts, lc_sv.joint_parts_submitted, lc_sv.inspections), (0, 1, 0, 0));
    assert_eq!(lc_stats.attendance.unwrap().invitations, 0);
    // The initiator counts its joint project, never the participants' inspections or parts.
    let city = statistics(&mut city_admin.consultation(), 2026).await.unwrap();
    assert_eq!(city.committee_id, tree.xingtai.id);
    let city_sv = city.supervision.unwrap();
    assert_eq!((city_sv.projects, city_sv.joint_parts, city_sv.inspections, city_sv.problems), (1, 0, 0, 0));
    assert_eq!(city.topics, 0);
    assert_eq!(joint.state, pc::SupervisionState::Ongoing as i32);
    // 宁晋's figures did not move with the others' records.
    assert_eq!(statistics(&mut c, 2026).await.unwrap(), s);

    // ---- Refusals: a bad year names `year`; members may not read the figures.
    for year in [0, 1999, 2101] {
        assert_eq!(violated_field(&assert_code(statistics(&mut c, year).await, Code::InvalidArgument)), "year");
    }
    assert_code(statistics(&mut member.consultation(), 2026).await, Code::PermissionDenied);
}

/// A topic's stored (plain legacy phone, sealed phone), by tracking code.
async fn stored_contact(db: &Db, tracking_code: &str) -> (Option<String>, Option<Vec<u8>>) {
    let tx = db.begin(Scope::System).await.unwrap();
    let sql = match db.backend() {
        sea_orm::DbBackend::Postgres => {
            "SELECT contact_phone, contact_phone_enc FROM consultation_topics WHERE tracking_code = $1"
        }
        _ => "SELECT contact_phone, contact_phone_enc FROM consultation_topics WHERE tracking_code = ?",
    };
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(db.backend(), sql, [SqlValue::from(tracking_code)]))
        .await
        .unwrap()
        .expect("the topic's row");
    (row.try_get("", "contact_phone").unwrap(), row.try_get("", "contact_phone_enc").unwrap())
}

/// Turns a topic's contact back into a legacy row (plain phone, nothing sealed), as
/// rows written before the migration `m20261126_000003_topic_contact_sealed` are.
async fn make_legacy(db: &Db, tracking_code: &str, phone: &str) {
    let tx = db.begin(Scope::System).await.unwrap();
    let sql = match db.backend() {
        sea_orm::DbBackend::Postgres => {
            "UPDATE consultation_topics SET contact_phone = $1, contact_phone_enc = NULL WHERE tracking_code = $2"
        }
        _ => "UPDATE consultation_topics SET contact_phone = ?, contact_phone_enc = NULL WHERE tracking_code = ?",
    };
    let values = [SqlValue::from(phone), SqlValue::from(tracking_code)];
    tx.execute_raw(Statement::from_sql_and_values(db.backend(), sql, values)).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn public_contact_phones_are_sealed_masked_revealed_and_rekeyed() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    create_user(&admin, &tree.ningjin.id, "liuyang", "刘洋", &[Role::Staff]).await;
    create_user(&admin, &tree.ningjin.id, "zhangjianguo", "张建国", &[Role::Member]).await;
    let staff = app.login("130528", "liuyang", PASSWORD).await.unwrap();
    let member = app.login("130528", "zhangjianguo", PASSWORD).await.unwrap();
    let mut c = staff.consultation();
    let sealed_code = submit_public(&app, "130528", "老旧小区加装电梯", "孙丽", "13831900001").await;
    let legacy_code = submit_public(&app, "130528", "县城停车难", "王强", "15931907777").await;
    let db = app.running.db.clone();

    // Stored sealed: no plain column, and the bytes do not contain the number.
    let (plain, enc) = stored_contact(&db, &sealed_code).await;
    assert_eq!(plain, None);
    let enc = enc.expect("the phone is sealed");
    assert!(!enc.windows(11).any(|w| w == b"13831900001"), "the sealed bytes hold the plain phone");
    assert!(!String::from_utf8_lossy(&enc).contains("0001"));

    // Staff see it masked; the full number only by reveal, which is audited.
    let topics = c.list_topics(pc::ListTopicsRequest::default()).await.unwrap().into_inner().topics;
    let sealed = topics.iter().find(|t| t.tracking_code == sealed_code).unwrap();
    let contact = sealed.contact.clone().unwrap();
    assert_eq!((contact.name.as_str(), contact.phone.as_str()), ("孙丽", "138****0001"));
    let got = c.get_topic(pc::GetTopicRequest { id: sealed.id.clone() }).await.unwrap().into_inner();
    assert_eq!(got.contact.unwrap().phone, "138****0001");
    let shown =
        c.reveal_topic_contact(pc::RevealTopicContactRequest { id: sealed.id.clone() }).await.unwrap().into_inner();
    assert_eq!((shown.name.as_str(), shown.phone.as_str()), ("孙丽", "13831900001"));
    let audit = admin
        .audit()
        .list_audit_entries(xieshang_proto::tenants::v1::ListAuditEntriesRequest {
            committee_id: tree.ningjin.id.clone(),
            target_type: "consultation_topic".into(),
            page_size: 50,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let text = format!("{audit:?}");
    assert!(text.contains("reveal_contact"), "the reveal is audited");
    assert!(!text.contains("13831900001"), "the audit log never holds the phone");
    assert_code(
        member.consultation().reveal_topic_contact(pc::RevealTopicContactRequest { id: sealed.id.clone() }).await,
        Code::PermissionDenied,
    );
    let own = topic(&mut c, "滏阳河生态治理", pc::TopicSource::Committee, "").await;
    assert_code(c.reveal_topic_contact(pc::RevealTopicContactRequest { id: own.id.clone() }).await, Code::NotFound);

    // A legacy row (plain phone from before sealing) reads the same way.
    make_legacy(&db, &legacy_code, "15931907777").await;
    let legacy = topics.iter().find(|t| t.tracking_code == legacy_code).unwrap();
    let got = c.get_topic(pc::GetTopicRequest { id: legacy.id.clone() }).await.unwrap().into_inner();
    assert_eq!(got.contact.unwrap().phone, "159****7777");

    // The rotation moves the sealed phone and seals the legacy one, clearing the plain column.
    app.running.shutdown().await.unwrap();
    let report = xieshang_membership::rekey::rekey(&db, key(KEY_A), key(KEY_B), &mut |_| {}).await.unwrap();
    assert_eq!((report.topics_rekeyed, report.topics_current, report.topics_sealed), (1, 0, 1));
    let new = Pii::new(key(KEY_B));
    for (code, id, phone) in [(&sealed_code, &sealed.id, "13831900001"), (&legacy_code, &legacy.id, "15931907777")] {
        let (plain, enc) = stored_contact(&db, code).await;
        assert_eq!(plain, None, "{code}: no plain phone remains");
        let id = uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(new.open(id, TOPIC_CONTACT_PHONE, &enc.unwrap()).unwrap(), phone);
    }
    let again = xieshang_membership::rekey::rekey(&db, key(KEY_A), key(KEY_B), &mut |_| {}).await.unwrap();
    assert_eq!((again.topics_rekeyed, again.topics_current, again.topics_sealed), (0, 2, 0));
}
