//! Consultation (协商) in 宁晋县政协: topics from the four sources (including
//! the public's sign-in-free, rate-limited submission), endorsements and
//! screening; the annual plan's lifecycle with a return and an amendment; an
//! activity through its stages with a meeting, sign-in feeding members'
//! performance records; suggestions, feedback and adoption rates; isolation.

use std::time::Duration;

use tonic::Code;
use tonic::transport::Channel;
use xieshang_proto::common::v1::{Date, Role};
use xieshang_proto::consultation::v1 as pc;
use xieshang_proto::consultation::v1::consultation_service_client::ConsultationServiceClient;
use xieshang_proto::events::v1::event::Payload;
use xieshang_proto::membership::v1 as pm;
use xieshang_tests::*;

type Client = ConsultationServiceClient<Authed>;

fn public(app: &TestApp) -> ConsultationServiceClient<Channel> {
    ConsultationServiceClient::new(app.channel.clone())
}

/// An ID number (居民身份证号码) with its GB 11643 check character.
fn id_number(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    format!("{first17}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

/// 宁晋县政协 with office staff, two member accounts linked to roster entries
/// (张建国, 李秀英), a member without an account (王志刚), and a member
/// account not linked to the roster (赵敏).
struct Ningjin {
    tree: Tree,
    staff: Session,
    zhang: Session,
    li: Session,
    zhao: Session,
    zhang_member: String,
    li_member: String,
    wang_member: String,
}

async fn ningjin(app: &TestApp) -> Ningjin {
    let tree = seed_tree(app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let id = tree.ningjin.id.clone();
    create_user(&admin, &id, "liuyang", "刘洋", &[Role::Staff]).await;
    let zhang_user = create_user(&admin, &id, "zhangjianguo", "张建国", &[Role::Member]).await;
    let li_user = create_user(&admin, &id, "lixiuying", "李秀英", &[Role::Member]).await;
    create_user(&admin, &id, "zhaomin", "赵敏", &[Role::Member]).await;
    let staff = app.login("130528", "liuyang", PASSWORD).await.unwrap();
    let zhang = app.login("130528", "zhangjianguo", PASSWORD).await.unwrap();
    let li = app.login("130528", "lixiuying", PASSWORD).await.unwrap();
    let zhao = app.login("130528", "zhaomin", PASSWORD).await.unwrap();

    let mut m = staff.membership();
    let sector = reference_item(&mut m, pm::ReferenceKind::Sector, "12", "经济界").await;
    let special = reference_item(&mut m, pm::ReferenceKind::SpecialCommittee, "", "经济委员会").await;
    let mut member = async |name: &str, id17: &str, phone: &str, user_id: &str| {
        m.create_member(pm::CreateMemberRequest {
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
                user_id: user_id.into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:?}"))
        .into_inner()
        .id
    };
    let zhang_member = member("张建国", "13052819720305123", "13831912345", &zhang_user.id).await;
    let li_member = member("李秀英", "13052819800612234", "13931954321", &li_user.id).await;
    let wang_member = member("王志刚", "13052819750918345", "15030912345", "").await;
    Ningjin { tree, staff, zhang, li, zhao, zhang_member, li_member, wang_member }
}

fn topic(title: &str, source: pc::TopicSource, submitter: &str) -> pc::CreateTopicRequest {
    pc::CreateTopicRequest {
        topic: Some(pc::Topic {
            title: title.into(),
            rationale: "宁晋县盐碱地面积较大，综合利用潜力可观，需要政协协商凝聚共识。".into(),
            source: source as i32,
            submitter_name: submitter.into(),
            ..Default::default()
        }),
    }
}

fn public_topic(code: &str, title: &str, phone: &str) -> pc::SubmitPublicTopicRequest {
    pc::SubmitPublicTopicRequest {
        committee_code: code.into(),
        title: title.into(),
        rationale: "小区周边缺少停车位，群众出行不便。".into(),
        contact: Some(pc::PublicContact { name: "孙丽".into(), phone: phone.into() }),
    }
}

fn screening(verdict: pc::ScreeningVerdict, id: &str) -> pc::ScreenTopicRequest {
    pc::ScreenTopicRequest {
        id: id.into(),
        screening: Some(pc::Screening {
            party_government_need: "县委县政府年度重点工作".into(),
            public_expectation: "群众关注度高".into(),
            committee_capacity: "经济委员会有调研基础".into(),
            ..Default::default()
        }),
        verdict: verdict as i32,
    }
}

async fn selected_topic(c: &mut Client, title: &str) -> pc::Topic {
    let t = c.create_topic(topic(title, pc::TopicSource::PartyGovernment, "县委办公室")).await.unwrap().into_inner();
    c.screen_topic(screening(pc::ScreeningVerdict::Selected, &t.id)).await.unwrap().into_inner()
}

fn plan_item(title: &str, kind: pc::ConsultationType, month: i32) -> pc::PlanItem {
    pc::PlanItem {
        title: title.into(),
        r#type: kind as i32,
        lead_committee: "经济委员会".into(),
        planned_month: month,
        participating_units: vec!["县农业农村局".into(), "县自然资源和规划局".into()],
        ..Default::default()
    }
}

fn date(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(Date { year, month, day })
}

#[tokio::test]
async fn topics_from_four_sources_are_endorsed_and_screened() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut staff = n.staff.consultation();
    let mut zhang = n.zhang.consultation();
    let mut li = n.li.consultation();

    let party = staff
        .create_topic(topic("关于推进盐碱地综合利用的协商", pc::TopicSource::PartyGovernment, "县委办公室"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(party.state, pc::TopicState::Proposed as i32);
    assert_eq!(party.submitter_name, "县委办公室");
    let own = staff
        .create_topic(topic("关于发展县域特色产业集群的协商", pc::TopicSource::Committee, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.source, pc::TopicSource::Committee as i32);
    let no_source = staff.create_topic(topic("无来源", pc::TopicSource::Unspecified, "")).await;
    assert_eq!(violated_field(&assert_code(no_source, Code::InvalidArgument)), "topic.source");

    // 委员荐题: a member's topic is MEMBER; other sources are refused.
    let recommended = zhang
        .create_topic(topic("关于加强农村养老服务的建议", pc::TopicSource::Unspecified, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(recommended.source, pc::TopicSource::Member as i32);
    assert_eq!(recommended.submitter_user_id, n.zhang.user.id);
    let as_party = zhang.create_topic(topic("冒充党政点题", pc::TopicSource::PartyGovernment, "")).await;
    assert_code(as_party, Code::PermissionDenied);

    // 群众出题 without a token.
    let bad_phone = public(&app).submit_public_topic(public_topic("130528", "停车难", "12345678901")).await;
    assert_eq!(violated_field(&assert_code(bad_phone, Code::InvalidArgument)), "contact.phone");
    let unknown = public(&app).submit_public_topic(public_topic("139999", "停车难", "13831900001")).await;
    assert_code(unknown, Code::NotFound);
    let tracking = public(&app)
        .submit_public_topic(public_topic("130528", "关于解决老旧小区停车难的建议", "138-3190-0001"))
        .await
        .unwrap()
        .into_inner()
        .tracking_code;
    assert!(tracking.starts_with("130528-"), "{tracking}");
    let status = public(&app)
        .get_public_topic_status(pc::GetPublicTopicStatusRequest { tracking_code: tracking.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.state, pc::TopicState::Proposed as i32);
    let wrong = public(&app)
        .get_public_topic_status(pc::GetPublicTopicStatusRequest { tracking_code: "130528-000000000000".into() })
        .await;
    assert_code(wrong, Code::NotFound);

    // Staff see all four sources, and the public contact (its phone masked: it is sealed at rest).
    let all = staff.list_topics(pc::ListTopicsRequest::default()).await.unwrap().into_inner().topics;
    let mut sources: Vec<i32> = all.iter().map(|t| t.source).collect();
    sources.sort();
    assert_eq!(sources, vec![1, 2, 3, 4]);
    let from_public = all.iter().find(|t| t.source == pc::TopicSource::Public as i32).unwrap();
    assert_eq!(from_public.tracking_code, tracking);
    let contact = from_public.contact.as_ref().unwrap();
    assert_eq!((contact.name.as_str(), contact.phone.as_str()), ("孙丽", "138****0001"));

    // Members read their own and the members' recommended topics only.
    let seen_by_li = li.list_topics(pc::ListTopicsRequest::default()).await.unwrap().into_inner().topics;
    assert_eq!(seen_by_li.iter().map(|t| t.id.clone()).collect::<Vec<_>>(), vec![recommended.id.clone()]);
    assert_code(li.get_topic(pc::GetTopicRequest { id: from_public.id.clone() }).await, Code::NotFound);

    // Endorsements (附议): once per member.
    let once = li.endorse_topic(pc::EndorseTopicRequest { id: recommended.id.clone() }).await.unwrap().into_inner();
    assert_eq!((once.endorsement_count, once.endorsed_by_me), (1, true));
    let twice = li.endorse_topic(pc::EndorseTopicRequest { id: recommended.id.clone() }).await;
    assert_code(twice, Code::AlreadyExists);
    let by_zhang = zhang.endorse_topic(pc::EndorseTopicRequest { id: recommended.id.clone() }).await.unwrap();
    assert_eq!(by_zhang.into_inner().endorsement_count, 2);
    assert_code(
        staff.endorse_topic(pc::EndorseTopicRequest { id: recommended.id.clone() }).await,
        Code::PermissionDenied,
    );

    // Screening against the three criteria; members may not screen.
    let by_member = li.screen_topic(screening(pc::ScreeningVerdict::Selected, &recommended.id)).await;
    assert_code(by_member, Code::PermissionDenied);
    let missing_note = staff
        .screen_topic(pc::ScreenTopicRequest {
            id: party.id.clone(),
            screening: Some(pc::Screening { party_government_need: "需要".into(), ..Default::default() }),
            verdict: pc::ScreeningVerdict::Selected as i32,
        })
        .await;
    assert_eq!(violated_field(&assert_code(missing_note, Code::InvalidArgument)), "screening.public_expectation");
    let screened =
        staff.screen_topic(screening(pc::ScreeningVerdict::Selected, &from_public.id)).await.unwrap().into_inner();
    assert_eq!(screened.state, pc::TopicState::Selected as i32);
    let s = screened.screening.unwrap();
    assert_eq!(s.committee_capacity, "经济委员会有调研基础");
    assert_eq!(s.screened_by_user_id, n.staff.user.id);
    let rejected =
        staff.screen_topic(screening(pc::ScreeningVerdict::NotSelected, &recommended.id)).await.unwrap().into_inner();
    assert_eq!(rejected.state, pc::TopicState::NotSelected as i32);
    let again = staff.screen_topic(screening(pc::ScreeningVerdict::Selected, &recommended.id)).await;
    assert!(assert_code(again, Code::FailedPrecondition).message().contains("NOT_SELECTED"));
    let late = zhang.endorse_topic(pc::EndorseTopicRequest { id: recommended.id.clone() }).await;
    assert!(assert_code(late, Code::FailedPrecondition).message().contains("NOT_SELECTED"));

    // The public sees the new state, and nothing else.
    let status = public(&app)
        .get_public_topic_status(pc::GetPublicTopicStatusRequest { tracking_code: tracking.to_lowercase() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.state, pc::TopicState::Selected as i32);
    // Nothing else is open without a token.
    assert_code(public(&app).list_topics(pc::ListTopicsRequest::default()).await, Code::Unauthenticated);
    app.stop().await;
}

#[tokio::test]
async fn public_submissions_are_rate_limited_per_address_and_committee() {
    let app = spawn_app().await;
    seed_tree(&app).await;
    let mut c = public(&app);
    for i in 1..=5 {
        c.submit_public_topic(public_topic("130528", &format!("第{i}条群众建议"), "13831900001"))
            .await
            .unwrap_or_else(|e| panic!("submission {i}: {e:?}"));
    }
    let sixth = c.submit_public_topic(public_topic("130528", "第6条群众建议", "13831900001")).await;
    let status = assert_code(sixth, Code::ResourceExhausted);
    assert!(status.message().contains("too many"), "{status:?}");
    // Another committee counts separately.
    c.submit_public_topic(public_topic("330481", "关于海宁皮革城周边交通的建议", "13957300001")).await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn plan_is_submitted_returned_approved_published_and_amended() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut c = n.staff.consultation();
    let saline = selected_topic(&mut c, "关于推进盐碱地综合利用的协商").await;
    let proposed =
        c.create_topic(topic("关于农村人居环境整治的协商", pc::TopicSource::Committee, "")).await.unwrap().into_inner();

    let plan = c.create_plan(pc::CreatePlanRequest { year: 2026 }).await.unwrap().into_inner();
    assert_eq!(plan.state, pc::PlanState::Draft as i32);
    assert_code(c.create_plan(pc::CreatePlanRequest { year: 2026 }).await, Code::AlreadyExists);
    assert_eq!(
        violated_field(&assert_code(c.create_plan(pc::CreatePlanRequest { year: 1990 }).await, Code::InvalidArgument)),
        "year"
    );
    let empty = c.submit_plan(pc::SubmitPlanRequest { id: plan.id.clone() }).await;
    assert!(assert_code(empty, Code::FailedPrecondition).message().contains("DRAFT"));

    // Items: a selected topic (title from the topic), free titles; a proposed topic is refused.
    let mut from_topic = plan_item("", pc::ConsultationType::PleaseConsult, 5);
    from_topic.topic_id = saline.id.clone();
    let p = c.add_plan_item(pc::AddPlanItemRequest { plan_id: plan.id.clone(), item: Some(from_topic) }).await.unwrap();
    assert_eq!(p.into_inner().items[0].title, "关于推进盐碱地综合利用的协商");
    let mut unscreened = plan_item("", pc::ConsultationType::Counterpart, 6);
    unscreened.topic_id = proposed.id.clone();
    let refused = c.add_plan_item(pc::AddPlanItemRequest { plan_id: plan.id.clone(), item: Some(unscreened) }).await;
    assert!(assert_code(refused, Code::FailedPrecondition).message().contains("PROPOSED"));
    let bad_month = c
        .add_plan_item(pc::AddPlanItemRequest {
            plan_id: plan.id.clone(),
            item: Some(plan_item("月份错误", pc::ConsultationType::Plenary, 13)),
        })
        .await;
    assert_eq!(violated_field(&assert_code(bad_month, Code::InvalidArgument)), "item.planned_month");
    let no_label = c
        .add_plan_item(pc::AddPlanItemRequest {
            plan_id: plan.id.clone(),
            item: Some(plan_item("有事好商量", pc::ConsultationType::Other, 7)),
        })
        .await;
    assert_eq!(violated_field(&assert_code(no_label, Code::InvalidArgument)), "item.type_label");
    let p = c
        .add_plan_item(pc::AddPlanItemRequest {
            plan_id: plan.id.clone(),
            item: Some(plan_item("关于县域医共体建设的专题议政", pc::ConsultationType::StandingCommitteeTopic, 9)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p.items.len(), 2);
    assert_eq!(p.items[1].participating_units, vec!["县农业农村局", "县自然资源和规划局"]);

    // Members do not see a plan before it is published.
    let mut member = n.zhang.consultation();
    assert_code(member.get_plan(pc::GetPlanRequest { id: plan.id.clone() }).await, Code::NotFound);
    assert_code(member.create_plan(pc::CreatePlanRequest { year: 2027 }).await, Code::PermissionDenied);

    let p = c.submit_plan(pc::SubmitPlanRequest { id: plan.id.clone() }).await.unwrap().into_inner();
    assert_eq!(p.state, pc::PlanState::Submitted as i32);
    let edit = c
        .add_plan_item(pc::AddPlanItemRequest {
            plan_id: plan.id.clone(),
            item: Some(plan_item("提交后加项", pc::ConsultationType::Plenary, 3)),
        })
        .await;
    assert!(assert_code(edit, Code::FailedPrecondition).message().contains("SUBMITTED"));
    let early = c.publish_plan(pc::PublishPlanRequest { id: plan.id.clone() }).await;
    assert!(assert_code(early, Code::FailedPrecondition).message().contains("SUBMITTED"));
    let no_comments = c.return_plan(pc::ReturnPlanRequest { id: plan.id.clone(), comments: " ".into() }).await;
    assert_eq!(violated_field(&assert_code(no_comments, Code::InvalidArgument)), "comments");

    // The party committee returns it; the office edits and submits again.
    let p = c
        .return_plan(pc::ReturnPlanRequest {
            id: plan.id.clone(), comments: "医共体议题并入民生专题，另行安排".into()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p.state, pc::PlanState::Returned as i32);
    assert_eq!(p.return_comments, "医共体议题并入民生专题，另行安排");
    let p = c
        .remove_plan_item(pc::RemovePlanItemRequest { plan_id: plan.id.clone(), item_id: p.items[1].id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p.items.len(), 1);
    c.submit_plan(pc::SubmitPlanRequest { id: plan.id.clone() }).await.unwrap();
    let p = c.approve_plan(pc::ApprovePlanRequest { id: plan.id.clone() }).await.unwrap().into_inner();
    assert_eq!(p.state, pc::PlanState::Approved as i32);
    let not_yet =
        c.amend_plan(pc::AmendPlanRequest { id: plan.id.clone(), reason: "调整".into(), ..Default::default() }).await;
    assert_code(not_yet, Code::InvalidArgument);
    let p = c.publish_plan(pc::PublishPlanRequest { id: plan.id.clone() }).await.unwrap().into_inner();
    assert_eq!(p.state, pc::PlanState::Published as i32);

    // Published: changed only by amendment.
    let direct = c
        .add_plan_item(pc::AddPlanItemRequest {
            plan_id: plan.id.clone(),
            item: Some(plan_item("发布后加项", pc::ConsultationType::Plenary, 3)),
        })
        .await;
    assert!(assert_code(direct, Code::FailedPrecondition).message().contains("PUBLISHED"));
    let resubmit = c.submit_plan(pc::SubmitPlanRequest { id: plan.id.clone() }).await;
    assert!(assert_code(resubmit, Code::FailedPrecondition).message().contains("PUBLISHED"));
    let no_reason = c
        .amend_plan(pc::AmendPlanRequest {
            id: plan.id.clone(),
            add_items: vec![plan_item("补充", pc::ConsultationType::Plenary, 3)],
            ..Default::default()
        })
        .await;
    assert_eq!(violated_field(&assert_code(no_reason, Code::InvalidArgument)), "reason");
    let mut round_table =
        plan_item("关于宁晋县电线电缆产业转型升级的界别协商", pc::ConsultationType::SectorRoundTable, 8);
    round_table.participating_units = vec!["县工业和信息化局".into()];
    let p = c
        .amend_plan(pc::AmendPlanRequest {
            id: plan.id.clone(),
            reason: "县委新增重点工作".into(),
            add_items: vec![round_table],
            remove_item_ids: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((p.state, p.items.len(), p.amendment_count), (pc::PlanState::Published as i32, 2, 1));
    let amendments = c
        .list_plan_amendments(pc::ListPlanAmendmentsRequest { plan_id: plan.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .amendments;
    assert_eq!(amendments.len(), 1);
    assert_eq!(amendments[0].reason, "县委新增重点工作");
    assert_eq!(amendments[0].added_titles, vec!["关于宁晋县电线电缆产业转型升级的界别协商"]);
    assert_eq!(amendments[0].amended_by_user_id, n.staff.user.id);

    // Members read the published plan.
    let read = member.get_plan(pc::GetPlanRequest { id: plan.id.clone() }).await.unwrap().into_inner();
    assert_eq!(read.items.len(), 2);
    let listed = member.list_plans(pc::ListPlansRequest::default()).await.unwrap().into_inner().plans;
    assert_eq!(listed.len(), 1);

    // Every change is audited: create, 2 items added, submit, return, remove, submit, approve, publish, amend.
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let entries = admin
        .audit()
        .list_audit_entries(xieshang_proto::tenants::v1::ListAuditEntriesRequest {
            committee_id: n.tree.ningjin.id.clone(),
            target_type: "consultation_plan".into(),
            page_size: 200,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(entries.iter().filter(|e| e.target_id == plan.id).count(), 10);
    app.stop().await;
}

/// (member id, attendance) of the recorded AttendanceRecorded events of a meeting.
fn attendance_of(recorder: &Recorder, meeting_id: &str) -> Vec<(String, String)> {
    recorder
        .snapshot()
        .iter()
        .filter_map(|e| match &e.payload {
            Some(Payload::AttendanceRecorded(a)) if a.meeting_id == meeting_id => {
                Some((a.member_id.clone(), a.attendance.clone()))
            }
            _ => None,
        })
        .collect()
}

async fn wait_for(recorder: &Recorder, meeting_id: &str, count: usize) -> Vec<(String, String)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let seen = attendance_of(recorder, meeting_id);
        if seen.len() >= count {
            return seen;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {count} events: {seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn activity_runs_through_its_stages_with_a_meeting_and_sign_in() {
    let app = spawn_app().await;
    let recorder = Recorder::on(&app);
    let n = ningjin(&app).await;
    let mut c = n.staff.consultation();

    let missing_department = c
        .create_activity(pc::CreateActivityRequest {
            activity: Some(pc::Activity {
                title: "关于高标准农田建设的对口协商".into(),
                r#type: pc::ConsultationType::Counterpart as i32,
                year: 2026,
                ..Default::default()
            }),
        })
        .await;
    assert_eq!(violated_field(&assert_code(missing_department, Code::InvalidArgument)), "activity.department");
    let activity = c
        .create_activity(pc::CreateActivityRequest {
            activity: Some(pc::Activity {
                title: "关于推进盐碱地综合利用的协商".into(),
                r#type: pc::ConsultationType::PleaseConsult as i32,
                department: "县农业农村局".into(),
                year: 2026,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(activity.stage, pc::ActivityStage::Research as i32);

    let a = c
        .add_research_visit(pc::AddResearchVisitRequest {
            activity_id: activity.id.clone(),
            visit: Some(pc::ResearchVisit {
                date: date(2026, 3, 10),
                place: "宁晋县北河庄镇盐碱地改良示范区".into(),
                note: "改良后小麦亩产提高约15%".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.visits.len(), 1);
    let a = c
        .advance_activity(pc::AdvanceActivityRequest {
            id: activity.id.clone(),
            stage: pc::ActivityStage::Meeting as i32,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.stage, pc::ActivityStage::Meeting as i32);
    let back = c
        .advance_activity(pc::AdvanceActivityRequest {
            id: activity.id.clone(),
            stage: pc::ActivityStage::Research as i32,
        })
        .await;
    assert!(assert_code(back, Code::FailedPrecondition).message().contains("MEETING"));
    let late_visit = c
        .add_research_visit(pc::AddResearchVisitRequest {
            activity_id: activity.id.clone(),
            visit: Some(pc::ResearchVisit { date: date(2026, 3, 20), place: "大曹庄".into(), ..Default::default() }),
        })
        .await;
    assert!(assert_code(late_visit, Code::FailedPrecondition).message().contains("MEETING"));

    // The meeting, with invited members checked against the roster.
    let invite =
        |ids: &[&String]| ids.iter().map(|id| pc::Invitee { member_id: (*id).clone(), ..Default::default() }).collect();
    let meeting_of = |invitees: Vec<pc::Invitee>, activity_id: &str| pc::CreateMeetingRequest {
        meeting: Some(pc::Meeting {
            kind: pc::MeetingKind::Activity as i32,
            title: "“请你来协商”座谈会：盐碱地综合利用".into(),
            date: date(2026, 3, 18),
            place: "县政协三楼会议室".into(),
            activity_id: activity_id.into(),
            agenda: vec!["县农业农村局通报盐碱地改良情况".into(), "委员发言".into(), "县领导回应".into()],
            invitees,
            observers: vec!["县农业农村局局长".into(), "北河庄镇镇长".into()],
            ..Default::default()
        }),
    };
    let stranger = uuid::Uuid::now_v7().to_string();
    let unknown = c.create_meeting(meeting_of(invite(&[&n.zhang_member, &stranger]), &activity.id)).await;
    assert_eq!(violated_field(&assert_code(unknown, Code::InvalidArgument)), "meeting.invitees.member_id");
    let no_activity = c.create_meeting(meeting_of(invite(&[&n.zhang_member]), "")).await;
    assert_eq!(violated_field(&assert_code(no_activity, Code::InvalidArgument)), "meeting.activity_id");
    let meeting = c
        .create_meeting(meeting_of(invite(&[&n.zhang_member, &n.li_member, &n.wang_member]), &activity.id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        meeting.invitees.iter().map(|i| i.member_name.as_str()).collect::<Vec<_>>(),
        ["张建国", "李秀英", "王志刚"]
    );
    assert_eq!(meeting.agenda.len(), 3);

    // Sign-in.
    let entry = |member: &str, a: pc::Attendance, reason: &str| pc::AttendanceEntry {
        member_id: member.into(),
        attendance: a as i32,
        leave_reason: reason.into(),
    };
    let no_reason = c
        .record_attendance(pc::RecordAttendanceRequest {
            meeting_id: meeting.id.clone(),
            entries: vec![entry(&n.li_member, pc::Attendance::OnLeave, "")],
        })
        .await;
    assert_eq!(violated_field(&assert_code(no_reason, Code::InvalidArgument)), "entries.leave_reason");
    let m = c
        .record_attendance(pc::RecordAttendanceRequest {
            meeting_id: meeting.id.clone(),
            entries: vec![
                entry(&n.zhang_member, pc::Attendance::Present, ""),
                entry(&n.li_member, pc::Attendance::OnLeave, "赴省参加培训"),
                entry(&n.wang_member, pc::Attendance::Absent, ""),
            ],
        })
        .await
        .unwrap()
        .into_inner();
    let attendance: Vec<i32> = m.invitees.iter().map(|i| i.attendance).collect();
    assert_eq!(attendance, [1, 2, 3]);
    assert_eq!(m.invitees[1].leave_reason, "赴省参加培训");
    let mut seen = wait_for(&recorder, &meeting.id, 3).await;
    seen.sort();
    let mut expected = vec![
        (n.zhang_member.clone(), "present".to_owned()),
        (n.li_member.clone(), "on_leave".to_owned()),
        (n.wang_member.clone(), "absent".to_owned()),
    ];
    expected.sort();
    assert_eq!(seen, expected);
    // The events carry the meeting's date and the committee.
    {
        let events = recorder.snapshot();
        let e = events.iter().find(|e| matches!(&e.payload, Some(Payload::AttendanceRecorded(_)))).unwrap();
        assert_eq!(e.committee_id, n.tree.ningjin.id);
        assert_eq!(e.ancestor_committee_ids, vec![n.tree.xingtai.id.clone(), n.tree.hebei.id.clone()]);
        let Some(Payload::AttendanceRecorded(a)) = &e.payload else { unreachable!() };
        assert_eq!(a.date, date(2026, 3, 18));
    }

    // The same value again emits nothing; a change emits the new value.
    c.record_attendance(pc::RecordAttendanceRequest {
        meeting_id: meeting.id.clone(),
        entries: vec![entry(&n.zhang_member, pc::Attendance::Present, "")],
    })
    .await
    .unwrap();
    c.record_attendance(pc::RecordAttendanceRequest {
        meeting_id: meeting.id.clone(),
        entries: vec![entry(&n.wang_member, pc::Attendance::Present, "")],
    })
    .await
    .unwrap();
    let seen = wait_for(&recorder, &meeting.id, 4).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(attendance_of(&recorder, &meeting.id).len(), 4, "{seen:?}");
    assert_eq!(seen.last().unwrap(), &(n.wang_member.clone(), "present".to_owned()));
    let uninvited = c
        .record_attendance(pc::RecordAttendanceRequest {
            meeting_id: meeting.id.clone(),
            entries: vec![entry(&stranger, pc::Attendance::Present, "")],
        })
        .await;
    assert_eq!(violated_field(&assert_code(uninvited, Code::InvalidArgument)), "entries.member_id");

    // Speeches.
    let m = c
        .record_speech(pc::RecordSpeechRequest {
            meeting_id: meeting.id.clone(),
            speech: Some(pc::Speech {
                member_id: n.zhang_member.clone(),
                title: "关于建立盐碱地改良长效投入机制的建议".into(),
                kind: pc::SpeechKind::Oral as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(m.speeches.len(), 1);
    assert_eq!(m.speeches[0].kind, pc::SpeechKind::Oral as i32);

    // 张建国 (linked to his account) was present at the activity's meeting: his
    // performance record gains a CONSULTATIONS entry (协商活动), not a MEETINGS one.
    let mut mine = n.zhang.membership();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let record = mine.get_my_record(pm::GetMyRecordRequest { year: 2026 }).await.unwrap().into_inner();
        let of = |kind: pm::RecordKind| record.entries.iter().filter(|e| e.kind == kind as i32).collect::<Vec<_>>();
        let consultations = of(pm::RecordKind::Consultations);
        if !consultations.is_empty() {
            assert_eq!(consultations.len(), 1);
            assert!(consultations[0].evidence_ref.contains(&meeting.id));
            assert!(consultations[0].evidence_ref.contains(&activity.id));
            assert_eq!(consultations[0].date, date(2026, 3, 18));
            assert!(of(pm::RecordKind::Meetings).is_empty(), "one credit for one presence");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for the CONSULTATIONS entry");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Invited members read the meeting and its activity; others do not.
    let mut li = n.li.consultation();
    li.get_meeting(pc::GetMeetingRequest { id: meeting.id.clone() }).await.unwrap();
    li.get_activity(pc::GetActivityRequest { id: activity.id.clone() }).await.unwrap();
    let listed = li.list_meetings(pc::ListMeetingsRequest::default()).await.unwrap().into_inner().meetings;
    assert_eq!(listed.len(), 1);
    let mut zhao = n.zhao.consultation();
    assert_code(zhao.get_meeting(pc::GetMeetingRequest { id: meeting.id.clone() }).await, Code::NotFound);
    assert_code(zhao.get_activity(pc::GetActivityRequest { id: activity.id.clone() }).await, Code::NotFound);
    assert!(
        zhao.list_activities(pc::ListActivitiesRequest::default()).await.unwrap().into_inner().activities.is_empty()
    );
    assert_code(
        li.record_attendance(pc::RecordAttendanceRequest {
            meeting_id: meeting.id.clone(),
            entries: vec![entry(&n.li_member, pc::Attendance::Present, "")],
        })
        .await,
        Code::PermissionDenied,
    );

    // On to the report, feedback and follow-up.
    for stage in [pc::ActivityStage::Report, pc::ActivityStage::Feedback, pc::ActivityStage::FollowUp] {
        let a = c
            .advance_activity(pc::AdvanceActivityRequest { id: activity.id.clone(), stage: stage as i32 })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(a.stage, stage as i32);
    }
    let beyond = c
        .advance_activity(pc::AdvanceActivityRequest {
            id: activity.id.clone(),
            stage: pc::ActivityStage::FollowUp as i32,
        })
        .await;
    assert!(assert_code(beyond, Code::FailedPrecondition).message().contains("FOLLOW_UP"));
    app.stop().await;
}

async fn activity_with_suggestions(
    c: &mut Client,
    title: &str,
    kind: pc::ConsultationType,
    suggestions: &[&str],
) -> (pc::Activity, Vec<pc::Suggestion>) {
    let a = c
        .create_activity(pc::CreateActivityRequest {
            activity: Some(pc::Activity { title: title.into(), r#type: kind as i32, year: 2026, ..Default::default() }),
        })
        .await
        .unwrap()
        .into_inner();
    c.advance_activity(pc::AdvanceActivityRequest { id: a.id.clone(), stage: pc::ActivityStage::Report as i32 })
        .await
        .unwrap();
    let mut added = Vec::new();
    for text in suggestions {
        let s = c
            .add_suggestion(pc::AddSuggestionRequest { activity_id: a.id.clone(), text: (*text).into() })
            .await
            .unwrap()
            .into_inner();
        added.push(s);
    }
    c.advance_activity(pc::AdvanceActivityRequest { id: a.id.clone(), stage: pc::ActivityStage::Feedback as i32 })
        .await
        .unwrap();
    (a, added)
}

async fn feedback(c: &mut Client, s: &pc::Suggestion, f: pc::FeedbackResult, note: &str) {
    c.record_feedback(pc::RecordFeedbackRequest { suggestion_id: s.id.clone(), feedback: f as i32, note: note.into() })
        .await
        .unwrap();
}

#[tokio::test]
async fn suggestions_get_feedback_and_adoption_rates_add_up() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut c = n.staff.consultation();

    // Suggestions belong to the REPORT stage.
    let early = c
        .create_activity(pc::CreateActivityRequest {
            activity: Some(pc::Activity {
                title: "民生议事堂：老旧小区加装电梯".into(),
                r#type: pc::ConsultationType::Grassroots as i32,
                year: 2026,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let refused =
        c.add_suggestion(pc::AddSuggestionRequest { activity_id: early.id.clone(), text: "先行先试".into() }).await;
    assert!(assert_code(refused, Code::FailedPrecondition).message().contains("RESEARCH"));

    let (saline, s1) = activity_with_suggestions(
        &mut c,
        "关于推进盐碱地综合利用的协商",
        pc::ConsultationType::PleaseConsult,
        &["设立盐碱地改良专项资金", "推广耐盐碱作物品种", "建立土壤监测网络"],
    )
    .await;
    assert_eq!(s1.iter().map(|s| s.number).collect::<Vec<_>>(), [1, 2, 3]);
    let (cable, s2) = activity_with_suggestions(
        &mut c,
        "关于电线电缆产业转型升级的界别协商",
        pc::ConsultationType::SectorRoundTable,
        &["组建产业创新联合体", "完善检验检测公共服务平台"],
    )
    .await;
    assert_eq!(s2.iter().map(|s| s.number).collect::<Vec<_>>(), [1, 2]);

    let no_note = c
        .record_feedback(pc::RecordFeedbackRequest {
            suggestion_id: s1[2].id.clone(),
            feedback: pc::FeedbackResult::NotAdopted as i32,
            note: String::new(),
        })
        .await;
    assert_eq!(violated_field(&assert_code(no_note, Code::InvalidArgument)), "note");
    feedback(&mut c, &s1[0], pc::FeedbackResult::Adopted, "列入2026年县财政预算").await;
    feedback(&mut c, &s1[1], pc::FeedbackResult::PartlyAdopted, "在北河庄镇试点").await;
    feedback(&mut c, &s1[2], pc::FeedbackResult::NotAdopted, "已纳入省级监测网络").await;
    feedback(&mut c, &s2[0], pc::FeedbackResult::NotAdopted, "暂不具备条件").await;
    // Corrected later: counts once, with the new value.
    feedback(&mut c, &s2[0], pc::FeedbackResult::Adopted, "县工信局牵头组建").await;

    let listed = c
        .list_suggestions(pc::ListSuggestionsRequest { activity_id: saline.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .suggestions;
    assert_eq!(listed[1].feedback, pc::FeedbackResult::PartlyAdopted as i32);
    assert_eq!(listed[1].feedback_note, "在北河庄镇试点");

    let rates = c.get_adoption_rates(pc::GetAdoptionRatesRequest { year: 2026 }).await.unwrap().into_inner();
    let rate =
        |r: &pc::AdoptionRate| (r.suggestions, r.with_feedback, r.adopted, r.partly_adopted, r.not_adopted, r.rate);
    assert_eq!(rates.activities.len(), 3);
    let of = |id: &str| rates.activities.iter().find(|a| a.activity_id == id).unwrap().rate.clone().unwrap();
    assert_eq!(rate(&of(&saline.id)), (3, 3, 1, 1, 1, 2.0 / 3.0));
    assert_eq!(rate(&of(&cable.id)), (2, 1, 1, 0, 0, 1.0));
    assert_eq!(rate(&of(&early.id)), (0, 0, 0, 0, 0, 0.0));
    let types: Vec<(i32, _)> = rates.types.iter().map(|t| (t.r#type, rate(t.rate.as_ref().unwrap()))).collect();
    assert_eq!(
        types,
        vec![
            (pc::ConsultationType::PleaseConsult as i32, (3, 3, 1, 1, 1, 2.0 / 3.0)),
            (pc::ConsultationType::SectorRoundTable as i32, (2, 1, 1, 0, 0, 1.0)),
            (pc::ConsultationType::Grassroots as i32, (0, 0, 0, 0, 0, 0.0)),
        ]
    );
    assert_eq!(rate(rates.total.as_ref().unwrap()), (5, 4, 2, 1, 1, 0.75));
    let other_year = c.get_adoption_rates(pc::GetAdoptionRatesRequest { year: 2025 }).await.unwrap().into_inner();
    assert_eq!(rate(other_year.total.as_ref().unwrap()), (0, 0, 0, 0, 0, 0.0));
    assert_code(
        n.zhang.consultation().get_adoption_rates(pc::GetAdoptionRatesRequest { year: 2026 }).await,
        Code::PermissionDenied,
    );
    app.stop().await;
}

#[tokio::test]
async fn other_committees_see_nothing_and_members_manage_nothing() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut c = n.staff.consultation();
    let t = selected_topic(&mut c, "关于推进盐碱地综合利用的协商").await;
    let plan = c.create_plan(pc::CreatePlanRequest { year: 2026 }).await.unwrap().into_inner();
    let activity = c
        .create_activity(pc::CreateActivityRequest {
            activity: Some(pc::Activity {
                title: "关于推进盐碱地综合利用的协商".into(),
                r#type: pc::ConsultationType::Other as i32,
                type_label: "有事好商量".into(),
                year: 2026,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let meeting = c
        .create_meeting(pc::CreateMeetingRequest {
            meeting: Some(pc::Meeting {
                kind: pc::MeetingKind::Chairs as i32,
                title: "县政协第十届主席会议第五次会议".into(),
                date: date(2026, 4, 2),
                invitees: vec![pc::Invitee { member_id: n.zhang_member.clone(), ..Default::default() }],
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();

    // 临城县 (a sibling county) sees none of it.
    let lincheng = app.login("130522", "admin", PASSWORD).await.unwrap();
    let mut other = lincheng.consultation();
    assert_code(other.get_topic(pc::GetTopicRequest { id: t.id.clone() }).await, Code::NotFound);
    assert_code(other.get_plan(pc::GetPlanRequest { id: plan.id.clone() }).await, Code::NotFound);
    assert_code(other.get_activity(pc::GetActivityRequest { id: activity.id.clone() }).await, Code::NotFound);
    assert_code(other.get_meeting(pc::GetMeetingRequest { id: meeting.id.clone() }).await, Code::NotFound);
    assert_code(other.submit_plan(pc::SubmitPlanRequest { id: plan.id.clone() }).await, Code::NotFound);
    assert_code(other.screen_topic(screening(pc::ScreeningVerdict::NotSelected, &t.id)).await, Code::NotFound);
    assert!(other.list_topics(pc::ListTopicsRequest::default()).await.unwrap().into_inner().topics.is_empty());
    assert!(other.list_plans(pc::ListPlansRequest::default()).await.unwrap().into_inner().plans.is_empty());
    // Nor can it invite 宁晋's members.
    let foreign = other
        .create_meeting(pc::CreateMeetingRequest {
            meeting: Some(pc::Meeting {
                kind: pc::MeetingKind::Plenary as i32,
                title: "临城县政协全体会议".into(),
                date: date(2026, 1, 10),
                invitees: vec![pc::Invitee { member_id: n.zhang_member.clone(), ..Default::default() }],
                ..Default::default()
            }),
        })
        .await;
    assert_eq!(violated_field(&assert_code(foreign, Code::InvalidArgument)), "meeting.invitees.member_id");
    // Its own plan for the same year is its own.
    other.create_plan(pc::CreatePlanRequest { year: 2026 }).await.unwrap();

    // Members of 宁晋 manage nothing.
    let mut member = n.zhang.consultation();
    assert_code(member.create_plan(pc::CreatePlanRequest { year: 2027 }).await, Code::PermissionDenied);
    assert_code(
        member
            .create_activity(pc::CreateActivityRequest {
                activity: Some(pc::Activity {
                    title: "委员自建活动".into(),
                    r#type: pc::ConsultationType::Plenary as i32,
                    year: 2026,
                    ..Default::default()
                }),
            })
            .await,
        Code::PermissionDenied,
    );
    // 张建国 is invited to the chairs' meeting, so he reads it.
    member.get_meeting(pc::GetMeetingRequest { id: meeting.id.clone() }).await.unwrap();
    // Without a token nothing but the public RPCs answer.
    assert_code(public(&app).get_plan(pc::GetPlanRequest { id: plan.id.clone() }).await, Code::Unauthenticated);
    app.stop().await;
}
