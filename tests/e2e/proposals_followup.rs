//! After assignment and after the reply, in 宁晋县政协: reminders before the
//! due date, the follow-up review (回头看) of class B replies, co-unit
//! opinions (会办意见) to the lead unit, and removing digest entries. The
//! sweep is called directly with a chosen "now"; everything else goes through
//! the API.

use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use tonic::Code;
use xieshang_platform::time::date_to_proto;
use xieshang_proposals::ProposalsService;
use xieshang_proposals::domain::today;
use xieshang_proto::common::v1::{Date, Role};
use xieshang_proto::events::v1::event::Payload;
use xieshang_proto::proposals::v1 as pp;
use xieshang_proto::proposals::v1::proposal_service_client::ProposalServiceClient;
use xieshang_proto::tenants::v1 as pb;
use xieshang_tests::*;

type Client = ProposalServiceClient<Authed>;

/// 宁晋县政协 with a term and session, its office, a member, a lead unit and
/// two co-units, a unit that handles nothing here; and 临城县's admin.
struct Ningjin {
    tree: Tree,
    admin: Session,
    staff: Session,
    member: Session,
    agriculture: Session,
    water: Session,
    land: Session,
    transport: Session,
    lincheng: Session,
}

async fn ningjin(app: &TestApp) -> Ningjin {
    let tree = seed_tree(app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let id = tree.ningjin.id.clone();
    let mut c = admin.committees();
    open_tenth_term(&mut c, &id).await;
    create_user(&admin, &id, "liuyang", "刘洋", &[Role::Staff]).await;
    create_user(&admin, &id, "wangjianjun", "王建军", &[Role::Member]).await;
    create_user(&admin, &id, "nongyeju", "宁晋县农业农村局", &[Role::HandlingUnit]).await;
    create_user(&admin, &id, "shuiliju", "宁晋县水利局", &[Role::HandlingUnit]).await;
    create_user(&admin, &id, "zirananju", "宁晋县自然资源和规划局", &[Role::HandlingUnit]).await;
    create_user(&admin, &id, "jiaotongju", "宁晋县交通运输局", &[Role::HandlingUnit]).await;
    let login = async |name: &str| app.login("130528", name, PASSWORD).await.unwrap();
    Ningjin {
        staff: login("liuyang").await,
        member: login("wangjianjun").await,
        agriculture: login("nongyeju").await,
        water: login("shuiliju").await,
        land: login("zirananju").await,
        transport: login("jiaotongju").await,
        lincheng: app.login("130522", "admin", PASSWORD).await.unwrap(),
        admin,
        tree,
    }
}

fn wired(app: &TestApp) -> ProposalsService {
    app.running.proposals.clone().expect("the test server runs the proposals service")
}

/// A filed proposal of 王建军.
async fn filed(n: &Ningjin, title: &str) -> pp::Proposal {
    let mut m = n.member.proposals();
    let p = m
        .create_proposal(pp::CreateProposalRequest {
            proposal: Some(pp::Proposal {
                kind: pp::ProposalKind::Individual as i32,
                title: title.into(),
                body: "宁晋县东部乡镇盐碱地面积较大，建议整合农田水利资金，推广暗管排盐与耐盐作物种植。".into(),
                category: pp::ProposalCategory::Economic as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    m.submit_proposal(pp::SubmitProposalRequest { id: p.id.clone() }).await.unwrap();
    n.staff.proposals().file_proposal(pp::FileProposalRequest { id: p.id }).await.unwrap().into_inner()
}

/// A proposal assigned to `lead` with co-units `co`.
async fn assigned(n: &Ningjin, title: &str, lead: &Session, co: &[&Session]) -> pp::Proposal {
    let p = filed(n, title).await;
    n.staff
        .proposals()
        .assign_proposal(pp::AssignProposalRequest {
            id: p.id,
            lead_unit_user_id: lead.user.id.clone(),
            co_unit_user_ids: co.iter().map(|s| s.user.id.clone()).collect(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

async fn contact(unit: &mut Client, id: &str) {
    unit.record_contact(pp::RecordContactRequest {
        id: id.into(),
        contact_date: Some(date_to_proto(today())),
        note: "到王建军委员所在村实地走访".into(),
    })
    .await
    .unwrap();
}

fn naive(d: &Date) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year, d.month as u32, d.day as u32).unwrap()
}

/// Noon in China on `d` plus `days`.
fn noon_after(d: &Date, days: i64) -> chrono::DateTime<Utc> {
    let day = naive(d) + chrono::Duration::days(days);
    Utc.from_utc_datetime(&day.and_hms_opt(4, 0, 0).unwrap())
}

fn state(p: &pp::Proposal) -> pp::ProposalState {
    pp::ProposalState::try_from(p.state).unwrap()
}

#[track_caller]
fn assert_field<T: std::fmt::Debug>(result: Result<T, tonic::Status>, field: &str) {
    let status = assert_code(result, Code::InvalidArgument);
    assert_eq!(violated_field(&status), field, "{status:?}");
}

/// Audit entries of the committee's proposals written by `rpc` (method suffix).
async fn audited(n: &Ningjin, target_type: &str, rpc: &str) -> Vec<pb::AuditEntry> {
    n.admin
        .audit()
        .list_audit_entries(pb::ListAuditEntriesRequest {
            committee_id: n.tree.ningjin.id.clone(),
            target_type: target_type.into(),
            page_size: 200,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries
        .into_iter()
        .filter(|e| e.method.ends_with(rpc))
        .collect()
}

#[tokio::test]
async fn the_sweep_reminds_before_the_due_date_once_within_the_committees_window() {
    let app = spawn_app().await;
    let recorder = Recorder::on(&app);
    let service = wired(&app);
    let n = ningjin(&app).await;
    let mut s = n.staff.proposals();

    // The window is a setting: 7 days until changed, 1..=60, office only.
    let settings = s.get_proposal_settings(pp::GetProposalSettingsRequest {}).await.unwrap().into_inner();
    assert_eq!(settings.due_soon_days, 7);
    let update = |days: i32| pp::UpdateProposalSettingsRequest {
        settings: Some(pp::ProposalSettings { due_soon_days: days, ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["due_soon_days".into()] }),
        etag: String::new(),
    };
    assert_field(s.update_proposal_settings(update(0)).await, "settings.due_soon_days");
    assert_field(s.update_proposal_settings(update(61)).await, "settings.due_soon_days");
    assert_code(n.member.proposals().update_proposal_settings(update(10)).await, Code::PermissionDenied);
    let settings = s.update_proposal_settings(update(10)).await.unwrap().into_inner();
    assert_eq!((settings.due_soon_days, settings.reply_window_months), (10, 3));

    let p = assigned(&n, "关于加快宁晋县盐碱地改良的建议", &n.agriculture, &[]).await;
    let q = assigned(&n, "关于发展宁晋县梨产业的建议", &n.agriculture, &[]).await;
    // q is replied before its window opens: it is never due soon.
    let mut unit = n.agriculture.proposals();
    contact(&mut unit, &q.id).await;
    unit.reply_to_proposal(pp::ReplyToProposalRequest {
        id: q.id.clone(),
        reply_class: pp::ReplyClass::A as i32,
        text: "已将梨产业纳入全县特色农业发展规划。".into(),
    })
    .await
    .unwrap();

    let due = p.due_date.unwrap();
    let store = service.store();
    // Eleven days before: outside the window. Ten days before: reminded once.
    assert_eq!(store.sweep_reminders(noon_after(&due, -11)).await.unwrap().total(), 0);
    let first = store.sweep_reminders(noon_after(&due, -10)).await.unwrap();
    assert_eq!((first.due_soon, first.overdue, first.follow_ups), (1, 0, 0));
    assert_eq!(store.sweep_reminders(noon_after(&due, -9)).await.unwrap().total(), 0);
    // Two replicas at once on the due day: still nothing more.
    let at = noon_after(&due, 0);
    let (a, b) = (store.clone(), store.clone());
    let (x, y) = tokio::join!(
        tokio::spawn(async move { a.sweep_reminders(at).await }),
        tokio::spawn(async move { b.sweep_reminders(at).await })
    );
    assert_eq!(x.unwrap().unwrap().total() + y.unwrap().unwrap().total(), 0);
    // The overdue reminder stays its own, the day after.
    let after = store.sweep_reminders(noon_after(&due, 1)).await.unwrap();
    assert_eq!((after.overdue, after.due_soon), (1, 0));

    // An extended deadline is a new due date: reminded again, once.
    s.extend_deadline(pp::ExtendDeadlineRequest {
        id: p.id.clone(),
        new_due_date: Some(date_to_proto(naive(&due) + chrono::Duration::days(30))),
        reason: "需跨年度统筹资金".into(),
    })
    .await
    .unwrap();
    assert_eq!(store.sweep_reminders(noon_after(&due, 25)).await.unwrap().due_soon, 1);
    assert_eq!(store.sweep_reminders(noon_after(&due, 26)).await.unwrap().due_soon, 0);

    let soon = |id: &str| {
        recorder
            .snapshot()
            .into_iter()
            .filter_map(|e| match e.payload {
                Some(Payload::ProposalDueSoon(d)) if d.proposal_id == id => Some((d.due_date.unwrap(), d.days_left)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let pid = p.id.clone();
    eventually("two ProposalDueSoon events", async || soon(&pid).len() >= 2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let later = date_to_proto(naive(&due) + chrono::Duration::days(30));
    assert_eq!(soon(&p.id), vec![(due, 10), (later, 5)]);
    assert!(soon(&q.id).is_empty());
    let event = recorder
        .snapshot()
        .into_iter()
        .find(|e| matches!(&e.payload, Some(Payload::ProposalDueSoon(d)) if d.proposal_id == p.id))
        .unwrap();
    assert_eq!(event.committee_id, n.tree.ningjin.id);
    assert!(event.actor_user_id.is_empty(), "system work has no actor");
    // Each reminder is audited as the sweep's work.
    let entries = audited(&n, "proposal", "sweep_deadlines").await;
    assert_eq!(entries.iter().filter(|e| e.changes_json.contains("due_soon")).count(), 2);
    app.stop().await;
}

#[tokio::test]
async fn a_b_reply_is_followed_up_when_its_date_comes() {
    let app = spawn_app().await;
    let recorder = Recorder::on(&app);
    let service = wired(&app);
    let n = ningjin(&app).await;
    let (mut s, mut unit, mut m) = (n.staff.proposals(), n.agriculture.proposals(), n.member.proposals());
    let p = assigned(&n, "关于推进宁晋县农村生活污水治理的建议", &n.agriculture, &[]).await;
    let q = assigned(&n, "关于完善宁晋县农村公路养护机制的建议", &n.agriculture, &[]).await;
    contact(&mut unit, &p.id).await;
    contact(&mut unit, &q.id).await;

    let t = today();
    let follow_up = t + chrono::Duration::days(90);
    let schedule = |id: &str, date: Option<NaiveDate>| pp::ScheduleFollowUpRequest {
        id: id.into(),
        unit_user_id: String::new(),
        follow_up_date: date.map(date_to_proto),
    };
    // Not before the unit replied: the state machine, then the unit's own reply.
    let early = assert_code(unit.schedule_follow_up(schedule(&p.id, Some(follow_up))).await, Code::FailedPrecondition);
    assert!(early.message().contains("has not replied"), "{early:?}");
    let replied = unit
        .reply_to_proposal(pp::ReplyToProposalRequest {
            id: p.id.clone(),
            reply_class: pp::ReplyClass::B as i32,
            text: "已将污水治理纳入2027年县级重点项目，分两期实施。".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(state(&replied), pp::ProposalState::Replied);
    assert!(replied.units[0].follow_up_date.is_none());
    // B needs a date after today; only the unit itself or the office set it.
    assert_field(unit.schedule_follow_up(schedule(&p.id, None)).await, "follow_up_date");
    assert_field(unit.schedule_follow_up(schedule(&p.id, Some(t))).await, "follow_up_date");
    assert_field(unit.schedule_follow_up(schedule("", Some(follow_up))).await, "id");
    assert_code(m.schedule_follow_up(schedule(&p.id, Some(follow_up))).await, Code::PermissionDenied);
    assert_code(n.lincheng.proposals().schedule_follow_up(schedule(&p.id, Some(follow_up))).await, Code::NotFound);
    let someone_else =
        pp::ScheduleFollowUpRequest { unit_user_id: n.water.user.id.clone(), ..schedule(&p.id, Some(follow_up)) };
    assert_code(unit.schedule_follow_up(someone_else).await, Code::PermissionDenied);
    let assigned_only = assigned(&n, "关于建设宁晋县智慧农业示范园的建议", &n.agriculture, &[]).await;
    let refused =
        assert_code(s.schedule_follow_up(schedule(&assigned_only.id, Some(follow_up))).await, Code::FailedPrecondition);
    assert!(refused.message().starts_with("proposal is ASSIGNED;"), "{refused:?}");
    // First a date the office moves later (a unit may set it, staff may move it).
    unit.schedule_follow_up(schedule(&p.id, Some(follow_up - chrono::Duration::days(30)))).await.unwrap();
    let scheduled = s.schedule_follow_up(schedule(&p.id, Some(follow_up))).await.unwrap().into_inner();
    assert_eq!(scheduled.units[0].follow_up_date, Some(date_to_proto(follow_up)));
    assert!(scheduled.units[0].follow_up.is_none());
    assert_eq!(audited(&n, "proposal", "/ScheduleFollowUp").await.len(), 2);

    // The office's query: due by a date, not before; office only; bounded.
    let due = |as_of: NaiveDate, within_days: i32| pp::ListDueFollowUpsRequest {
        within_days,
        as_of: Some(date_to_proto(as_of)),
    };
    let listed = s.list_due_follow_ups(due(follow_up, 0)).await.unwrap().into_inner().follow_ups;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].proposal.as_ref().unwrap().id, p.id);
    assert_eq!(listed[0].unit_user_id, n.agriculture.user.id);
    assert_eq!(listed[0].follow_up_date, Some(date_to_proto(follow_up)));
    assert!(s.list_due_follow_ups(due(t, 30)).await.unwrap().into_inner().follow_ups.is_empty());
    assert_eq!(s.list_due_follow_ups(due(t, 90)).await.unwrap().into_inner().follow_ups.len(), 1);
    assert_field(s.list_due_follow_ups(due(t, 367)).await, "within_days");
    assert_code(m.list_due_follow_ups(due(t, 0)).await, Code::PermissionDenied);
    assert!(
        n.lincheng.proposals().list_due_follow_ups(due(follow_up, 0)).await.unwrap().into_inner().follow_ups.is_empty()
    );

    // The sweep reminds once when the date comes.
    let date = date_to_proto(follow_up);
    let store = service.store();
    assert_eq!(store.sweep_reminders(noon_after(&date, -1)).await.unwrap().follow_ups, 0);
    assert_eq!(store.sweep_reminders(noon_after(&date, 0)).await.unwrap().follow_ups, 1);
    assert_eq!(store.sweep_reminders(noon_after(&date, 1)).await.unwrap().follow_ups, 0);
    let pid = p.id.clone();
    let reminders = || {
        recorder
            .snapshot()
            .into_iter()
            .filter_map(|e| match e.payload {
                Some(Payload::ProposalFollowUpDue(f)) if f.proposal_id == pid => Some(f),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    eventually("a ProposalFollowUpDue event", async || !reminders().is_empty()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let events = reminders();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].follow_up_date, Some(date.clone()));
    assert_eq!(events[0].unit_user_ids, vec![n.agriculture.user.id.clone()]);

    // The proposer rates; a CLOSED proposal's B reply is still followed up.
    let closed = m
        .rate_reply(pp::RateReplyRequest {
            id: p.id.clone(),
            process_rating: pp::Rating::Satisfied as i32,
            result_rating: pp::Rating::BasicallySatisfied as i32,
            comment: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(state(&closed), pp::ProposalState::Closed);

    let record = |id: &str, note: &str| pp::RecordFollowUpRequest {
        id: id.into(),
        unit_user_id: String::new(),
        carried_out: true,
        note: note.into(),
    };
    let note = "回头看：一期工程已覆盖12个村，二期已完成招标。";
    // Refusals: the field, the role, another committee, the state, another unit.
    assert_field(s.record_follow_up(record(&p.id, "  ")).await, "note");
    assert_field(s.record_follow_up(record("不是编号", note)).await, "id");
    assert_code(m.record_follow_up(record(&p.id, note)).await, Code::PermissionDenied);
    assert_code(n.lincheng.proposals().record_follow_up(record(&p.id, note)).await, Code::NotFound);
    assert_code(n.water.proposals().record_follow_up(record(&p.id, note)).await, Code::NotFound);
    let refused = assert_code(s.record_follow_up(record(&q.id, note)).await, Code::FailedPrecondition);
    assert!(refused.message().starts_with("proposal is HANDLING;"), "{refused:?}");
    let other_unit = pp::RecordFollowUpRequest { unit_user_id: n.water.user.id.clone(), ..record(&p.id, note) };
    assert_field(s.record_follow_up(other_unit).await, "unit_user_id");

    let done = s.record_follow_up(record(&p.id, note)).await.unwrap().into_inner();
    assert_eq!(state(&done), pp::ProposalState::Closed);
    let result = done.units[0].follow_up.clone().unwrap();
    assert!(result.carried_out);
    assert_eq!(result.note, note);
    assert_eq!(result.recorded_by_user_id, n.staff.user.id);
    // Once only; then it is no longer due, and the sweep stays quiet.
    let again = assert_code(unit.record_follow_up(record(&p.id, note)).await, Code::FailedPrecondition);
    assert!(again.message().contains("already recorded"), "{again:?}");
    assert!(s.list_due_follow_ups(due(follow_up, 0)).await.unwrap().into_inner().follow_ups.is_empty());
    assert_eq!(store.sweep_reminders(noon_after(&date, 2)).await.unwrap().follow_ups, 0);
    // Audited, with the result.
    let entries = audited(&n, "proposal", "/RecordFollowUp").await;
    assert_eq!(entries.len(), 1);
    assert!(entries[0].changes_json.contains("carried_out"), "{}", entries[0].changes_json);

    // A unit records the review of its own B reply (an A reply has none).
    let mut u2 = n.agriculture.proposals();
    u2.reply_to_proposal(pp::ReplyToProposalRequest {
        id: q.id.clone(),
        reply_class: pp::ReplyClass::A as i32,
        text: "已建立县乡村三级农村公路养护体系。".into(),
    })
    .await
    .unwrap();
    let not_b = assert_code(u2.record_follow_up(record(&q.id, note)).await, Code::FailedPrecondition);
    assert!(not_b.message().contains("class A"), "{not_b:?}");
    // An A reply takes no follow-up date.
    let a_date = assert_code(u2.schedule_follow_up(schedule(&q.id, Some(follow_up))).await, Code::InvalidArgument);
    assert_eq!(violated_field(&a_date), "follow_up_date");
    assert!(a_date.message().contains("not class A"), "{a_date:?}");
    app.stop().await;
}

#[tokio::test]
async fn co_units_send_their_opinions_to_the_lead_unit_before_it_replies() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let p = assigned(&n, "关于加强宁晋县滏阳河沿岸生态修复的建议", &n.agriculture, &[&n.water, &n.land]).await;
    let (mut water, mut land, mut lead) = (n.water.proposals(), n.land.proposals(), n.agriculture.proposals());
    let send = |opinion: &str| pp::SendCoUnitOpinionRequest { id: p.id.clone(), opinion: opinion.into() };
    let text = "水利局意见：建议将滏阳河堤防加固与岸线绿化统筹实施，所需资金可申请省级水利专项。";

    // Refusals: the field, the roles, another committee, units not on it.
    assert_field(water.send_co_unit_opinion(send(" ")).await, "opinion");
    assert_field(water.send_co_unit_opinion(send(&"意".repeat(5001))).await, "opinion");
    assert_code(lead.send_co_unit_opinion(send(text)).await, Code::PermissionDenied);
    assert_code(n.member.proposals().send_co_unit_opinion(send(text)).await, Code::PermissionDenied);
    assert_code(n.staff.proposals().send_co_unit_opinion(send(text)).await, Code::PermissionDenied);
    assert_code(n.transport.proposals().send_co_unit_opinion(send(text)).await, Code::NotFound);
    assert_code(n.lincheng.proposals().send_co_unit_opinion(send(text)).await, Code::NotFound);

    let sent = water.send_co_unit_opinion(send(text)).await.unwrap().into_inner();
    assert_eq!((sent.proposal_id.as_str(), sent.unit_user_id.as_str()), (p.id.as_str(), n.water.user.id.as_str()));
    assert_eq!(sent.opinion, text);
    assert!(sent.send_time.is_some());
    let twice = assert_code(water.send_co_unit_opinion(send(text)).await, Code::FailedPrecondition);
    assert!(twice.message().contains("already sent"), "{twice:?}");

    // Who reads them: the lead unit and the office all, a co-unit its own.
    let list = || pp::ListCoUnitOpinionsRequest { id: p.id.clone() };
    let units =
        |r: pp::ListCoUnitOpinionsResponse| -> Vec<String> { r.opinions.into_iter().map(|o| o.unit_user_id).collect() };
    assert_eq!(units(lead.list_co_unit_opinions(list()).await.unwrap().into_inner()), vec![n.water.user.id.clone()]);
    let seen = n.staff.proposals().list_co_unit_opinions(list()).await.unwrap().into_inner();
    assert_eq!(seen.opinions[0].opinion, text);
    assert_eq!(units(water.list_co_unit_opinions(list()).await.unwrap().into_inner()), vec![n.water.user.id.clone()]);
    assert!(land.list_co_unit_opinions(list()).await.unwrap().into_inner().opinions.is_empty());
    assert_code(n.member.proposals().list_co_unit_opinions(list()).await, Code::PermissionDenied);
    assert_code(n.transport.proposals().list_co_unit_opinions(list()).await, Code::NotFound);
    assert_code(n.lincheng.proposals().list_co_unit_opinions(list()).await, Code::NotFound);
    // The opinion is not part of the proposal the proposer reads.
    let p_seen = n.member.proposals().get_proposal(pp::GetProposalRequest { id: p.id.clone() }).await.unwrap();
    assert!(!format!("{:?}", p_seen.into_inner()).contains("水利局意见"));

    // A second co-unit may still send while HANDLING; after the lead replies, no one.
    contact(&mut lead, &p.id).await;
    let land_text = "自然资源和规划局意见：沿岸生态修复用地已纳入国土空间规划，可同步推进。";
    land.send_co_unit_opinion(pp::SendCoUnitOpinionRequest { id: p.id.clone(), opinion: land_text.into() })
        .await
        .unwrap();
    let all = units(lead.list_co_unit_opinions(list()).await.unwrap().into_inner());
    assert_eq!(all, vec![n.water.user.id.clone(), n.land.user.id.clone()]);
    lead.reply_to_proposal(pp::ReplyToProposalRequest {
        id: p.id.clone(),
        reply_class: pp::ReplyClass::A as i32,
        text: "已会同水利、自然资源部门制定滏阳河生态修复实施方案。".into(),
    })
    .await
    .unwrap();
    let late = assert_code(water.send_co_unit_opinion(send(text)).await, Code::FailedPrecondition);
    assert!(late.message().starts_with("proposal is REPLIED;"), "{late:?}");
    assert_eq!(audited(&n, "proposal", "/SendCoUnitOpinion").await.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn staff_remove_digest_entries_and_the_order_stays_dense() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let a = filed(&n, "关于加快宁晋县盐碱地改良的建议").await;
    let b = filed(&n, "关于发展宁晋县梨产业的建议").await;
    let c = filed(&n, "关于推进宁晋县农村生活污水治理的建议").await;
    let mut d = n.staff.digests();
    let digest = d
        .create_digest(pp::CreateDigestRequest { title: "重要提案摘报".into(), period: "2026年第3期".into() })
        .await
        .unwrap()
        .into_inner();
    for (p, summary) in [(&a, "盐碱地改良"), (&b, "梨产业"), (&c, "污水治理")] {
        d.add_digest_entry(pp::AddDigestEntryRequest {
            digest_id: digest.id.clone(),
            proposal_id: p.id.clone(),
            summary: summary.into(),
            position: 0,
        })
        .await
        .unwrap();
    }
    let remove =
        |proposal: &str| pp::RemoveDigestEntryRequest { digest_id: digest.id.clone(), proposal_id: proposal.into() };
    // Refusals: the fields, the role, another committee.
    assert_field(d.remove_digest_entry(remove("")).await, "proposal_id");
    assert_field(
        d.remove_digest_entry(pp::RemoveDigestEntryRequest { digest_id: "x".into(), proposal_id: b.id.clone() }).await,
        "digest_id",
    );
    assert_code(n.member.digests().remove_digest_entry(remove(&b.id)).await, Code::PermissionDenied);
    assert_code(n.lincheng.digests().remove_digest_entry(remove(&b.id)).await, Code::NotFound);

    let after = d.remove_digest_entry(remove(&b.id)).await.unwrap().into_inner();
    let order: Vec<(i32, &str)> = after.entries.iter().map(|e| (e.position, e.proposal_id.as_str())).collect();
    assert_eq!(order, vec![(1, a.id.as_str()), (2, c.id.as_str())]);
    assert_ne!(after.etag, digest.etag);
    // Gone: removing again is NOT_FOUND; adding at 2 and removing the first keeps it dense.
    assert_code(d.remove_digest_entry(remove(&b.id)).await, Code::NotFound);
    d.add_digest_entry(pp::AddDigestEntryRequest {
        digest_id: digest.id.clone(),
        proposal_id: b.id.clone(),
        summary: "梨产业".into(),
        position: 2,
    })
    .await
    .unwrap();
    let after = d.remove_digest_entry(remove(&a.id)).await.unwrap().into_inner();
    let order: Vec<(i32, &str)> = after.entries.iter().map(|e| (e.position, e.proposal_id.as_str())).collect();
    assert_eq!(order, vec![(1, b.id.as_str()), (2, c.id.as_str())]);
    let got = d.get_digest(pp::GetDigestRequest { id: digest.id.clone() }).await.unwrap().into_inner();
    assert_eq!(got.entries.len(), 2);
    let entries = audited(&n, "proposal_digest", "/RemoveDigestEntry").await;
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e.changes_json.contains("removed")));
    app.stop().await;
}
