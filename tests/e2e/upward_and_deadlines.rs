//! End-to-end tests that need the service object itself: the event handler
//! that brings a parent committee's adoption back to the county's original
//! item, and the deadline sweep, called directly with a chosen "now".

use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use xieshang_proposals::ProposalsService;
use xieshang_proto::common::v1::{CommitteeLevel, Date, Role};
use xieshang_proto::events::v1::{Event, event::Payload};
use xieshang_proto::proposals::v1 as pp;
use xieshang_proto::tenants::v1 as pb;
use xieshang_tests::*;

/// The server's proposals service (its handlers are on the bus already).
fn wired(app: &TestApp) -> ProposalsService {
    app.running.proposals.clone().expect("the test server runs the proposals service")
}

#[tokio::test]
async fn the_citys_adoption_and_instruction_come_back_to_the_county_item() {
    let app = spawn_app().await;
    let recorder = Recorder::on(&app);
    let service = wired(&app);
    let tree = seed_tree(&app).await;
    let county_admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let city_admin = app.login("130500", "admin", PASSWORD).await.unwrap();
    create_user(&county_admin, &tree.ningjin.id, "liuyang", "刘洋", &[Role::Staff]).await;
    create_user(&county_admin, &tree.ningjin.id, "wangjianjun", "王建军", &[Role::Member]).await;
    create_user(&city_admin, &tree.xingtai.id, "chenjing", "陈静", &[Role::Staff]).await;
    let member = app.login("130528", "wangjianjun", PASSWORD).await.unwrap();
    let county_staff = app.login("130528", "liuyang", PASSWORD).await.unwrap();
    let city_staff = app.login("130500", "chenjing", PASSWORD).await.unwrap();
    let (mut county, mut city) = (county_staff.information(), city_staff.information());

    let original = member
        .information()
        .submit_information(pp::SubmitInformationRequest {
            information: Some(pp::InformationItem {
                title: "关于解决农村集中供水水压不足问题的建议".into(),
                body: "宁晋县部分村庄夏季用水高峰时段水压不足，建议分批更新改造供水管网。".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    county.adopt_information(pp::AdoptInformationRequest { id: original.id.clone() }).await.unwrap();
    county.forward_information(pp::ForwardInformationRequest { id: original.id.clone() }).await.unwrap();
    let copy = city.list_information(pp::ListInformationRequest::default()).await.unwrap().into_inner().items.remove(0);
    city.adopt_information(pp::AdoptInformationRequest { id: copy.id.clone() }).await.unwrap();
    city.instruct_information(pp::InstructInformationRequest {
        id: copy.id.clone(),
        leader: "邢台市委书记 王某".into(),
        text: "请市水利局会同宁晋县政府研究落实。".into(),
    })
    .await
    .unwrap();

    // Once the events are consumed, the county's own item shows both.
    let get = pp::GetInformationRequest { id: original.id.clone() };
    let check = async || {
        let item = county_staff.information().get_information(get.clone()).await.unwrap().into_inner();
        item.upward.len() == 2
    };
    eventually("the county item's upward status", check).await;
    // Its author sees it too.
    let item = member.information().get_information(get.clone()).await.unwrap().into_inner();
    let up: Vec<(&str, &str, &str, i32)> = item
        .upward
        .iter()
        .map(|u| (u.kind.as_str(), u.committee_id.as_str(), u.committee_name.as_str(), u.level))
        .collect();
    assert_eq!(
        up,
        vec![
            ("adopted", tree.xingtai.id.as_str(), "邢台市政协", CommitteeLevel::City as i32),
            ("instructed", tree.xingtai.id.as_str(), "邢台市政协", CommitteeLevel::City as i32),
        ]
    );
    assert_eq!(item.state, pp::InformationState::Adopted as i32);

    // At least once: delivering the same events again changes nothing.
    let upward_events: Vec<Event> = recorder
        .snapshot()
        .into_iter()
        .filter(|e| matches!(e.payload, Some(Payload::InformationAdopted(_) | Payload::InformationInstructed(_))))
        .collect();
    assert_eq!(upward_events.len(), 3, "the county's and the city's adoption, the city's instruction");
    for handler in service.event_handlers() {
        for e in &upward_events {
            handler.handle(e).await.unwrap();
        }
    }
    let item = member.information().get_information(get.clone()).await.unwrap().into_inner();
    assert_eq!(item.upward.len(), 2);

    // The county's statistics count the adoption at both levels.
    let t = xieshang_proposals::domain::today();
    let year = |y: i32| pp::GetProposalStatisticsRequest {
        committee_id: tree.ningjin.id.clone(),
        start_date: Some(Date { year: y, month: 1, day: 1 }),
        end_date: Some(Date { year: y, month: 12, day: 31 }),
    };
    use chrono::Datelike;
    let s = county_staff.proposals().get_proposal_statistics(year(t.year())).await.unwrap().into_inner();
    assert_eq!((s.information_submitted, s.information_adopted, s.information_instructed), (1, 1, 1));
    let levels: Vec<(i32, i32)> = s.information_adopted_by_level.iter().map(|l| (l.level, l.adopted)).collect();
    assert_eq!(levels, vec![(CommitteeLevel::County as i32, 1), (CommitteeLevel::City as i32, 1)]);
    // The city's figures count only what was written there.
    let city_stats = city_staff
        .proposals()
        .get_proposal_statistics(pp::GetProposalStatisticsRequest {
            committee_id: tree.xingtai.id.clone(),
            ..year(t.year())
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(city_stats.information_submitted, 0);

    // The consumer's work is audited in the county's log.
    let audit = county_admin
        .audit()
        .list_audit_entries(pb::ListAuditEntriesRequest {
            committee_id: tree.ningjin.id.clone(),
            target_type: "information".into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(audit.iter().filter(|e| e.method == "event:information-upward").count(), 2);
    app.stop().await;
}

fn naive(d: &Date) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year, d.month as u32, d.day as u32).unwrap()
}

/// Noon in China on `d` plus `days`.
fn noon_after(d: &Date, days: i64) -> chrono::DateTime<Utc> {
    let day = naive(d) + chrono::Duration::days(days);
    Utc.from_utc_datetime(&day.and_hms_opt(4, 0, 0).unwrap())
}

#[tokio::test]
async fn the_sweep_reminds_once_per_deadline_even_when_run_twice_or_concurrently() {
    let app = spawn_app().await;
    let recorder = Recorder::on(&app);
    let service = wired(&app);
    let tree = seed_tree(&app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let id = tree.ningjin.id.clone();
    let mut c = admin.committees();
    open_tenth_term(&mut c, &id).await;
    create_user(&admin, &id, "liuyang", "刘洋", &[Role::Staff]).await;
    create_user(&admin, &id, "wangjianjun", "王建军", &[Role::Member]).await;
    create_user(&admin, &id, "nongyeju", "宁晋县农业农村局", &[Role::HandlingUnit]).await;
    let (member, staff) = (
        app.login("130528", "wangjianjun", PASSWORD).await.unwrap(),
        app.login("130528", "liuyang", PASSWORD).await.unwrap(),
    );
    let unit = app.login("130528", "nongyeju", PASSWORD).await.unwrap();
    let (mut m, mut s) = (member.proposals(), staff.proposals());
    let mut assigned = async |title: &str| {
        let p = m
            .create_proposal(pp::CreateProposalRequest {
                proposal: Some(pp::Proposal {
                    kind: pp::ProposalKind::Individual as i32,
                    title: title.into(),
                    body: "建议整合农田水利资金，推广暗管排盐与耐盐作物种植。".into(),
                    category: pp::ProposalCategory::Economic as i32,
                    ..Default::default()
                }),
            })
            .await
            .unwrap()
            .into_inner();
        m.submit_proposal(pp::SubmitProposalRequest { id: p.id.clone() }).await.unwrap();
        s.file_proposal(pp::FileProposalRequest { id: p.id.clone() }).await.unwrap();
        s.assign_proposal(pp::AssignProposalRequest {
            id: p.id.clone(),
            lead_unit_user_id: unit.user.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
    };
    let p = assigned("关于加快宁晋县盐碱地改良的建议").await;
    let q = assigned("关于发展宁晋县梨产业的建议").await;
    let due = p.due_date.unwrap();
    let store = service.store();

    // Nothing is overdue today, nor on the due day itself.
    assert_eq!(store.sweep_deadlines(xieshang_platform::time::now()).await.unwrap(), 0);
    assert_eq!(store.sweep_deadlines(noon_after(&due, 0)).await.unwrap(), 0);
    // The day after: both are overdue, once — a second run finds them reminded.
    assert_eq!(store.sweep_deadlines(noon_after(&due, 1)).await.unwrap(), 2);
    assert_eq!(store.sweep_deadlines(noon_after(&due, 2)).await.unwrap(), 0);
    // The office's list agrees.
    let listed = s
        .list_due_proposals(pp::ListDueProposalsRequest {
            within_days: 0,
            as_of: Some(xieshang_platform::time::date_to_proto(naive(&due) + chrono::Duration::days(1))),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.overdue.len(), 2);

    // A replied proposal is not reminded; an extended one gets a new deadline,
    // reminded once even by two sweeps running at the same time.
    let mut u = unit.proposals();
    u.record_contact(pp::RecordContactRequest {
        id: q.id.clone(),
        contact_date: Some(xieshang_platform::time::date_to_proto(xieshang_proposals::domain::today())),
        note: "走访".into(),
    })
    .await
    .unwrap();
    u.reply_to_proposal(pp::ReplyToProposalRequest {
        id: q.id.clone(),
        reply_class: pp::ReplyClass::A as i32,
        text: "已列入明年计划。".into(),
    })
    .await
    .unwrap();
    let later = xieshang_platform::time::date_to_proto(naive(&due) + chrono::Duration::days(30));
    s.extend_deadline(pp::ExtendDeadlineRequest {
        id: p.id.clone(),
        new_due_date: Some(later),
        reason: "需跨年度统筹资金".into(),
    })
    .await
    .unwrap();
    let at = noon_after(&later, 1);
    let (a, b) = (store.clone(), store.clone());
    let (x, y) = tokio::join!(
        tokio::spawn(async move { a.sweep_deadlines(at).await }),
        tokio::spawn(async move { b.sweep_deadlines(at).await })
    );
    assert_eq!(x.unwrap().unwrap() + y.unwrap().unwrap(), 1);
    assert_eq!(store.sweep_deadlines(at).await.unwrap(), 0);

    // Exactly one ProposalOverdue per deadline reached the bus.
    let overdue = |id: &str| {
        let mut dates: Vec<Date> = recorder
            .snapshot()
            .into_iter()
            .filter_map(|e| match e.payload {
                Some(Payload::ProposalOverdue(o)) if o.proposal_id == id => o.due_date,
                _ => None,
            })
            .collect();
        dates.sort_by_key(|d| (d.year, d.month, d.day));
        dates
    };
    let want = vec![due, later];
    let pid = p.id.clone();
    eventually("two ProposalOverdue events", async || overdue(&pid).len() >= 2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(overdue(&p.id), want);
    assert_eq!(overdue(&q.id), vec![due]);
    let event = recorder
        .snapshot()
        .into_iter()
        .find(|e| matches!(&e.payload, Some(Payload::ProposalOverdue(o)) if o.proposal_id == p.id))
        .unwrap();
    assert_eq!(event.committee_id, tree.ningjin.id);
    assert_eq!(event.ancestor_committee_ids, vec![tree.xingtai.id.clone(), tree.hebei.id.clone()]);
    assert!(event.actor_user_id.is_empty(), "system work has no actor");

    // The sweeper loop stops on shutdown.
    let (stop, rx) = tokio::sync::watch::channel(false);
    let runner = service.clone();
    let task = tokio::spawn(async move { runner.run_sweeper(Duration::from_millis(50), rx).await });
    tokio::time::sleep(Duration::from_millis(120)).await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task).await.expect("the sweeper stops").unwrap();
    app.stop().await;
}
