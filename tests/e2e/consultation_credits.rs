//! Performance credits beyond attendance, in 宁晋县政协: speeches at a
//! standing-committee meeting become SPEECHES entries (`SpeechRecorded`), and
//! supervision inspections — of the committee's own project and of its part
//! in 邢台市's joint project — INSPECTIONS entries for each listed member
//! (`SupervisionInspectionRecorded`), at the committee's points for the year.
//! An event delivered again adds nothing; 临城县's member is credited by her
//! own committee only, at its own points.

use tonic::Code;
use xieshang_proto::common::v1::Date;
use xieshang_proto::consultation::v1 as pc;
use xieshang_proto::consultation::v1::supervision_service_client::SupervisionServiceClient;
use xieshang_proto::events::v1::event::Payload;
use xieshang_proto::events::v1::{Event, SpeechRecorded, SupervisionInspectionRecorded};
use xieshang_proto::membership::v1 as pm;
use xieshang_tests::*;

use crate::membership::{create, id_number, ningjin, this_year};

fn supervision(s: &Session) -> SupervisionServiceClient<Authed> {
    SupervisionServiceClient::with_interceptor(s.channel.clone(), s.bearer())
}

fn day(month: i32, day: i32) -> Option<Date> {
    Some(Date { year: this_year(), month, day })
}

/// (kind, points, date) of a member's entries of the year, as `office`
/// reads them, oldest date first.
async fn entries(office: &Session, member_id: &str) -> Vec<(i32, i32, Option<Date>)> {
    let request = pm::ListRecordEntriesRequest { member_id: member_id.into(), year: this_year(), ..Default::default() };
    let mut out: Vec<_> = office
        .membership()
        .list_record_entries(request)
        .await
        .unwrap()
        .into_inner()
        .entries
        .into_iter()
        .map(|e| (e.kind, e.points, e.date))
        .collect();
    out.sort_by_key(|(kind, _, date)| (date.map(|d| (d.month, d.day)), *kind));
    out
}

fn inspection(
    place: &str,
    date: Option<Date>,
    ids: &[&str],
    names: &[&str],
    findings: &str,
) -> pc::SupervisionInspection {
    pc::SupervisionInspection {
        date,
        place: place.into(),
        member_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
        member_names: names.iter().map(|s| (*s).to_owned()).collect(),
        findings: findings.into(),
        ..Default::default()
    }
}

fn speech(member_id: &str, title: &str, kind: pc::SpeechKind) -> Option<pc::Speech> {
    Some(pc::Speech { member_id: member_id.into(), title: title.into(), kind: kind as i32, ..Default::default() })
}

fn invitees(ids: &[&str]) -> Vec<pc::Invitee> {
    ids.iter().map(|id| pc::Invitee { member_id: (*id).into(), ..Default::default() }).collect()
}

#[tokio::test]
async fn speeches_and_inspections_credit_each_member_once_at_the_committees_points() {
    use pm::RecordKind::{Inspections, Speeches};
    let app = spawn_app().await;
    let recorder = Recorder::on(&app);
    let n = ningjin(&app).await;
    let year = this_year();
    let mut roster = n.staff.membership();

    // 宁晋县 values speeches at 6 and inspections at 4 this year (defaults: 5 and 3).
    let rules =
        vec![pm::PointRule { kind: Speeches as i32, points: 6 }, pm::PointRule { kind: Inspections as i32, points: 4 }];
    roster
        .set_point_rules(pm::SetPointRulesRequest { rules: Some(pm::PointRules { year, rules, ..Default::default() }) })
        .await
        .unwrap();

    let mut zhang = n.member("张建国", "13052819700315123", "13831951234");
    zhang.user_id = n.zhang.user.id.clone();
    let zhang = create(&mut roster, zhang).await.unwrap();
    let mut li = n.member("李秀英", "13052819780921246", "13931952345");
    li.user_id = n.li.user.id.clone();
    li.gender = pm::Gender::Female as i32;
    li.work_unit = "宁晋县医院".into();
    li.title = "主任医师".into();
    let li = create(&mut roster, li).await.unwrap();
    let wang = create(&mut roster, n.member("王志强", "13052819750820345", "13731950001")).await.unwrap();

    // 临城县 and its member 赵丽华, who speaks at her own committee's chairs' meeting.
    let lincheng = app.login("130522", "admin", PASSWORD).await.unwrap();
    let mut their_roster = lincheng.membership();
    let zhao = pm::Member {
        name: "赵丽华".into(),
        gender: pm::Gender::Female as i32,
        ethnicity: "汉族".into(),
        party: pm::PartyAffiliation::Js as i32,
        sector_id: reference_item(&mut their_roster, pm::ReferenceKind::Sector, "10", "科技界").await,
        work_unit: "临城县农业农村局".into(),
        title: "高级农艺师".into(),
        phone: "13633190123".into(),
        id_number: id_number("13052219820414262"),
        term_number: 10,
        role: pm::MemberRole::Member as i32,
        special_committee_id: reference_item(
            &mut their_roster,
            pm::ReferenceKind::SpecialCommittee,
            "",
            "农业农村委员会",
        )
        .await,
        ..Default::default()
    };
    let zhao = create(&mut their_roster, zhao).await.unwrap();
    let mut theirs = lincheng.consultation();
    let chairs = theirs
        .create_meeting(pc::CreateMeetingRequest {
            meeting: Some(pc::Meeting {
                kind: pc::MeetingKind::Chairs as i32,
                title: "临城县政协主席会议（扩大）".into(),
                date: day(3, 25),
                place: "县政协二楼会议室".into(),
                invitees: invitees(&[&zhao.id]),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    theirs
        .record_speech(pc::RecordSpeechRequest {
            meeting_id: chairs.id.clone(),
            speech: speech(&zhao.id, "关于发展临城薄皮核桃深加工的建议", pc::SpeechKind::Oral),
        })
        .await
        .unwrap();

    // 宁晋县's standing-committee meeting: 张建国 speaks, 李秀英 hands in a written speech, 王志强 listens.
    let mut c = n.staff.consultation();
    let meeting = c
        .create_meeting(pc::CreateMeetingRequest {
            meeting: Some(pc::Meeting {
                kind: pc::MeetingKind::StandingCommittee as i32,
                title: "政协宁晋县第十届委员会常务委员会第十二次会议".into(),
                date: day(3, 18),
                place: "县政协三楼会议室".into(),
                agenda: vec!["专题协商县域光伏产业高质量发展".into()],
                invitees: invitees(&[&zhang.id, &li.id, &wang.id]),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let speak = |member: &str, title: &str, kind: pc::SpeechKind| pc::RecordSpeechRequest {
        meeting_id: meeting.id.clone(),
        speech: speech(member, title, kind),
    };
    c.record_speech(speak(&zhang.id, "关于加快光伏产业延链补链的建议", pc::SpeechKind::Oral)).await.unwrap();
    c.record_speech(speak(&li.id, "关于推进县域医共体建设的思考", pc::SpeechKind::Written)).await.unwrap();
    // Not invited: refused, and nothing is emitted.
    let stranger = c.record_speech(speak(&zhao.id, "跨县发言", pc::SpeechKind::Oral)).await;
    assert_eq!(violated_field(&assert_code(stranger, Code::InvalidArgument)), "speech.member_id");

    // Special supervision: one inspection with both (张建国 entered twice) and 王志强 by name only.
    let mut sv = supervision(&n.staff);
    let project = sv
        .create_supervision_project(pc::CreateSupervisionProjectRequest {
            kind: pc::SupervisionKind::SpecialCollective as i32,
            topic: "农村人居环境整治专项民主监督".into(),
            start_date: day(4, 1),
            end_date: day(10, 31),
        })
        .await
        .unwrap()
        .into_inner();
    sv.start_supervision_project(pc::StartSupervisionProjectRequest { id: project.id.clone() }).await.unwrap();
    let foreign = sv
        .add_supervision_inspection(pc::AddSupervisionInspectionRequest {
            project_id: project.id.clone(),
            inspection: Some(inspection("凤凰镇东街村", day(5, 12), &[&zhao.id], &[], "x")),
        })
        .await;
    assert_eq!(violated_field(&assert_code(foreign, Code::InvalidArgument)), "inspection.member_ids");
    let inspected = sv
        .add_supervision_inspection(pc::AddSupervisionInspectionRequest {
            project_id: project.id.clone(),
            inspection: Some(inspection(
                "凤凰镇东街村",
                day(5, 12),
                &[&zhang.id, &li.id, &zhang.id],
                &["王志强"],
                "生活垃圾清运不及时，村内坑塘未治理。",
            )),
        })
        .await
        .unwrap()
        .into_inner();
    let own_inspection = inspected.inspections[0].id.clone();

    // 邢台市's joint supervision: 宁晋县 inspects its own area with 李秀英.
    let city = app.login("130500", "admin", PASSWORD).await.unwrap();
    let joint = supervision(&city)
        .create_joint_project(pc::CreateJointProjectRequest {
            topic: "大气污染防治三级联动民主监督".into(),
            start_date: day(1, 1),
            end_date: day(12, 31),
            invited_committee_ids: vec![n.tree.ningjin.id.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    let part = sv.list_participations(pc::ListParticipationsRequest::default()).await.unwrap().into_inner();
    let part = part.participations[0].id.clone();
    sv.respond_to_invitation(pc::RespondToInvitationRequest { id: part.clone(), accept: true, note: String::new() })
        .await
        .unwrap();
    sv.add_participation_inspection(pc::AddParticipationInspectionRequest {
        participation_id: part.clone(),
        inspection: Some(inspection("宁晋县经济开发区", day(6, 20), &[&li.id], &[], "个别企业扬尘管控不到位。")),
    })
    .await
    .unwrap();

    // The performance records: each member's own view, at 宁晋县's points.
    let (s, i) = (Speeches as i32, Inspections as i32);
    let my_record = async |member: &Session| {
        member.membership().get_my_record(pm::GetMyRecordRequest { year }).await.unwrap().into_inner()
    };
    eventually("张建国's SPEECHES and INSPECTIONS entries", async || my_record(&n.zhang).await.entries.len() >= 2)
        .await;
    let record = my_record(&n.zhang).await;
    assert_eq!(record.total_points, 10);
    let spoke = record.entries.iter().find(|e| e.kind == s).expect("a SPEECHES entry");
    assert_eq!(spoke.source, pm::RecordSource::Automatic as i32);
    assert_eq!(spoke.description, "会议口头发言");
    assert!(spoke.evidence_ref.contains(&meeting.id), "{}", spoke.evidence_ref);
    let went = record.entries.iter().find(|e| e.kind == i).expect("an INSPECTIONS entry");
    assert!(went.evidence_ref.contains(&own_inspection), "{}", went.evidence_ref);
    assert_eq!(entries(&n.staff, &zhang.id).await, [(s, 6, day(3, 18)), (i, 4, day(5, 12))]);
    eventually("李秀英's three entries", async || my_record(&n.li).await.entries.len() >= 3).await;
    assert_eq!(my_record(&n.li).await.total_points, 14);
    assert_eq!(entries(&n.staff, &li.id).await, [(s, 6, day(3, 18)), (i, 4, day(5, 12)), (i, 4, day(6, 20))]);
    // 临城县 credits 赵丽华 at its own (default) points.
    eventually("赵丽华's SPEECHES entry", async || !entries(&lincheng, &zhao.id).await.is_empty()).await;

    // The events as emitted: ids only, each inspection's members once.
    let is_credit = |e: &Event| {
        matches!(e.payload, Some(Payload::SpeechRecorded(_) | Payload::SupervisionInspectionRecorded(_)))
            && e.committee_id == n.tree.ningjin.id
    };
    eventually("宁晋县's four credit events", async || {
        recorder.snapshot().iter().filter(|e| is_credit(e)).count() == 4
    })
    .await;
    let credits: Vec<Event> = recorder.snapshot().into_iter().filter(is_credit).collect();
    let inspections: Vec<&SupervisionInspectionRecorded> = credits
        .iter()
        .filter_map(|e| match &e.payload {
            Some(Payload::SupervisionInspectionRecorded(r)) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(inspections[0].member_ids, [zhang.id.clone(), li.id.clone()]);
    assert_eq!(
        (inspections[0].project_id.as_str(), inspections[0].participation_id.as_str()),
        (project.id.as_str(), "")
    );
    assert_eq!(inspections[1].member_ids, [li.id.clone()]);
    assert_eq!(
        (inspections[1].project_id.as_str(), inspections[1].participation_id.as_str()),
        (joint.id.as_str(), part.as_str())
    );
    let speeches: Vec<&SpeechRecorded> = credits
        .iter()
        .filter_map(|e| match &e.payload {
            Some(Payload::SpeechRecorded(r)) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(
        speeches.iter().map(|r| (r.member_id.as_str(), r.kind.as_str())).collect::<Vec<_>>(),
        [(zhang.id.as_str(), "ORAL"), (li.id.as_str(), "WRITTEN")]
    );
    assert_eq!(speeches[0].date, day(3, 18));
    assert!(credits.iter().all(|e| !format!("{e:?}").contains("张建国") && !format!("{e:?}").contains("光伏")));

    // Delivered again, twice: no entry is added.
    for event in &credits {
        app.running.bus.publish(event).await.unwrap();
        app.running.bus.publish(event).await.unwrap();
    }
    assert_eq!(entries(&n.staff, &zhang.id).await.len(), 2);
    assert_eq!(entries(&n.staff, &li.id).await.len(), 3);
    assert_eq!(my_record(&n.zhang).await.total_points, 10);
    assert!(entries(&n.staff, &wang.id).await.is_empty(), "listened and was named only by name");

    // Another committee's events do not reach 宁晋县's members, nor the reverse.
    let forged = |committee: &str, payload: Payload| Event {
        id: uuid::Uuid::now_v7().to_string(),
        committee_id: committee.into(),
        payload: Some(payload),
        ..Default::default()
    };
    let mut stray_speech = speeches[0].clone();
    stray_speech.member_id = zhao.id.clone();
    app.running.bus.publish(&forged(&n.tree.ningjin.id, Payload::SpeechRecorded(stray_speech))).await.unwrap();
    let mut stray_inspection = inspections[0].clone();
    stray_inspection.member_ids = vec![zhang.id.clone(), li.id.clone()];
    let stray_inspection = Payload::SupervisionInspectionRecorded(stray_inspection);
    app.running.bus.publish(&forged(&n.tree.lincheng.id, stray_inspection)).await.unwrap();
    assert_eq!(entries(&lincheng, &zhao.id).await, [(s, 5, day(3, 25))]);
    assert_eq!(entries(&n.staff, &zhang.id).await.len(), 2);
    assert_eq!(entries(&n.staff, &li.id).await.len(), 3);
    app.stop().await;
}
