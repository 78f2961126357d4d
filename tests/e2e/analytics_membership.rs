//! Membership figures in analytics: 宁晋县政协 enrols members (one by one and
//! by a roster import), runs its reporting campaign (a regular session with
//! judges' scores, a video report and a member who misses it, then a make-up
//! session), records performance entries (by staff, and one from a filed
//! proposal, delivered three times), and sees a member resign and another
//! dismissed. 临城县政协 enrols one member. Analytics counts all of it for
//! 宁晋县 and rolls it up to 邢台市; the rates follow the reporting service's
//! campaign statistics; a rebuild from the event log equals the counters.

use std::collections::BTreeMap;

use xieshang_membership::roster_file::HEADERS;
use xieshang_proto::analytics::v1 as pa;
use xieshang_proto::analytics::v1::analytics_service_client::AnalyticsServiceClient;
use xieshang_proto::common::v1::{Date, Role};
use xieshang_proto::events::v1::Event;
use xieshang_proto::events::v1::event::Payload;
use xieshang_proto::membership::v1 as pm;
use xieshang_proto::proposals::v1 as pp;
use xieshang_tests::*;

use crate::membership::{Client, Ningjin, create, id_number, ningjin, this_year};

fn analytics(s: &Session) -> AnalyticsServiceClient<Authed> {
    AnalyticsServiceClient::with_interceptor(s.channel.clone(), s.bearer())
}

async fn figures(s: &Session, committee: &str, rollup: pa::Rollup) -> pa::Figures {
    analytics(s)
        .get_figures(pa::GetFiguresRequest {
            committee_id: committee.into(),
            period: this_year().to_string(),
            rollup: rollup as i32,
        })
        .await
        .unwrap()
        .into_inner()
}

fn counts(f: &pa::Figures) -> BTreeMap<String, i64> {
    f.counts.iter().map(|(k, v)| (k.clone(), *v)).collect()
}

/// A rate's (numerator, denominator, value, undefined).
fn rate(f: &pa::Figures, name: &str) -> (i64, i64, f64, bool) {
    let r = f.rates.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("rate {name}"));
    (r.numerator, r.denominator, r.value, r.undefined)
}

fn date(month: i32, day: i32) -> Option<Date> {
    Some(Date { year: this_year(), month, day })
}

/// A distinct valid ID number (first 17 characters; born 1975) and mobile number for member `i`.
fn identity(i: u32) -> (String, String) {
    (format!("1305281975{:02}12{:03}", i % 12 + 1, i), format!("1393190{i:04}"))
}

/// A roster file (CSV, UTF-8 with BOM) of members of 经济界 (by code), 第二活动小组.
fn roster_csv(members: &[(&str, u32)]) -> Vec<u8> {
    let mut out = format!("\u{feff}{}\n", HEADERS.join(","));
    for (name, i) in members {
        let (id17, phone) = identity(*i);
        let id = id_number(&id17);
        let cells = [
            name,
            "女",
            "汉族",
            "",
            "九三学社",
            "12",
            "宁晋县人民医院 主任医师",
            phone.as_str(),
            id.as_str(),
            "第10届",
            "委员",
            "否",
            "宁晋县第二活动小组",
            "提案委员会",
            "凤凰镇委员联络站",
        ];
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out.into_bytes()
}

async fn import(c: &mut Client, content: Vec<u8>) -> pm::ImportReport {
    let request =
        pm::ImportMembersRequest { format: pm::RosterFormat::Csv as i32, content, dry_run: false, progress_every: 0 };
    let mut stream = c.import_members(request).await.unwrap().into_inner();
    let mut report = None;
    while let Some(message) = stream.message().await.unwrap() {
        if let Some(pm::import_members_response::Message::Report(r)) = message.message {
            report = Some(r);
        }
    }
    report.expect("a final report")
}

/// Records an on-site report's three parts.
async fn report_on_site(staff: &Session, session: &str, m: &pm::Member) {
    staff
        .reporting()
        .record_report(pm::RecordReportRequest {
            session_id: session.into(),
            member_id: m.id.clone(),
            work: format!("{}：立足本职，带领团队完成年度重点任务。", m.name),
            performance: "全年提交提案两件，参加视察调研三次，撰写社情民意信息一篇。".into(),
            suggestions: "建议加快盐碱地综合治理，完善农村养老服务网络。".into(),
        })
        .await
        .unwrap_or_else(|e| panic!("report of {}: {e:?}", m.name));
}

/// Each judge scores `reporters[i]` with `table[i]`.
async fn score_all(judges: &[Session], session: &str, reporters: &[&pm::Member], table: &[&[i32]]) {
    for (m, scores) in reporters.iter().zip(table) {
        for (judge, score) in judges.iter().zip(scores.iter()) {
            judge
                .reporting()
                .score_report(pm::ScoreReportRequest {
                    session_id: session.into(),
                    member_id: m.id.clone(),
                    score: *score,
                })
                .await
                .unwrap_or_else(|e| panic!("score of {}: {e:?}", m.name));
        }
    }
}

fn session(
    n: &Ningjin,
    kind: pm::SessionKind,
    group: &str,
    title: &str,
    day: i32,
    reporters: &[&pm::Member],
    judges: &[Session],
) -> pm::CreateReportingSessionRequest {
    pm::CreateReportingSessionRequest {
        session: Some(pm::ReportingSession {
            kind: kind as i32,
            activity_group_id: group.into(),
            title: title.into(),
            date: date(4, day),
            place: "宁晋县政协三楼会议室".into(),
            leader_name: "张国强".into(),
            staff_user_id: n.staff.user.id.clone(),
            reporter_member_ids: reporters.iter().map(|m| m.id.clone()).collect(),
            judge_user_ids: judges.iter().map(|j| j.user.id.clone()).collect(),
            ..Default::default()
        }),
    }
}

/// The membership events recorded so far.
fn membership_events(recorder: &Recorder) -> Vec<Event> {
    recorder
        .snapshot()
        .into_iter()
        .filter(|e| {
            matches!(
                e.payload,
                Some(
                    Payload::MemberEnrolled(_)
                        | Payload::MemberStatusChanged(_)
                        | Payload::ReportingSessionClosed(_)
                        | Payload::PerformanceEntryRecorded(_)
                )
            )
        })
        .collect()
}

#[tokio::test]
async fn membership_events_feed_the_figures_of_the_county_and_its_city() {
    let app = spawn_app().await;
    let recorder = Recorder::on(&app);
    let n = ningjin(&app).await;
    let ningjin_id = n.tree.ningjin.id.clone();
    let mut roster = n.staff.membership();
    let mut reporting = n.staff.reporting();
    open_tenth_term(&mut n.admin.committees(), &ningjin_id).await;

    // Seven members of 第一活动小组, one by one; 张建国 has an account.
    let names = ["张立新", "李文静", "王海涛", "赵春梅", "刘国庆", "陈晓燕"];
    let mut a = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (id17, phone) = identity(i as u32 + 1);
        a.push(create(&mut roster, n.member(name, &id17, &phone)).await.unwrap());
    }
    let (id17, phone) = identity(7);
    let mut zhang = n.member("张建国", &id17, &phone);
    zhang.user_id = n.zhang.user.id.clone();
    let zhang = create(&mut roster, zhang).await.unwrap();
    // Two more by a roster import (第二活动小组).
    let imported = import(&mut roster, roster_csv(&[("孙玉珍", 8), ("郭振东", 9)])).await;
    assert!(imported.committed && imported.errors.is_empty(), "{imported:?}");
    assert_eq!(imported.members_created, 2);

    // Judges.
    let mut judges = Vec::new();
    for (i, name) in ["王振华", "刘淑芬", "陈志强", "杨桂英", "赵德明"].iter().enumerate() {
        let username = format!("judge{}", i + 1);
        create_user(&n.admin, &ningjin_id, &username, name, &[Role::Judge]).await;
        judges.push(app.login("130528", &username, PASSWORD).await.unwrap());
    }

    // 第一活动小组述职会: six reporters, five judges. 刘国庆 sends a video; 陈晓燕 misses it.
    let reporters: Vec<&pm::Member> = a.iter().collect();
    let regular = reporting
        .create_reporting_session(session(
            &n,
            pm::SessionKind::Regular,
            &n.group_one,
            "第一活动小组委员述职会",
            10,
            &reporters,
            &judges,
        ))
        .await
        .unwrap()
        .into_inner();
    for m in &a[..4] {
        report_on_site(&n.staff, &regular.id, m).await;
    }
    reporting
        .submit_video_report(pm::SubmitVideoReportRequest {
            session_id: regular.id.clone(),
            member_id: a[4].id.clone(),
            video_ref: "video://shuzhi/liuguoqing.mp4".into(),
        })
        .await
        .unwrap();
    reporting.open_reporting_session(pm::OpenReportingSessionRequest { id: regular.id.clone() }).await.unwrap();
    let table: [&[i32]; 4] = [
        &[95, 92, 90, 88, 99],  // trimmed mean 92.33: excellent
        &[90, 90, 90, 90, 60],  // 90.00: excellent
        &[85, 80, 82, 81, 100], // 82.67
        &[70, 72, 74, 76, 78],  // 74.00
    ];
    score_all(&judges, &regular.id, &reporters[..4], &table).await;
    // A suggestion raised before the close.
    reporting
        .raise_suggestion(pm::RaiseSuggestionRequest {
            session_id: regular.id.clone(),
            member_id: a[0].id.clone(),
            content: "加快县城老旧小区改造".into(),
        })
        .await
        .unwrap();
    reporting.close_reporting_session(pm::CloseReportingSessionRequest { id: regular.id.clone() }).await.unwrap();

    // 补述职会: 陈晓燕 reports on site, three judges (plain mean 92.00: excellent).
    let make_up = reporting
        .create_reporting_session(session(&n, pm::SessionKind::MakeUp, "", "委员补述职会", 20, &[&a[5]], &judges[..3]))
        .await
        .unwrap()
        .into_inner();
    report_on_site(&n.staff, &make_up.id, &a[5]).await;
    reporting.open_reporting_session(pm::OpenReportingSessionRequest { id: make_up.id.clone() }).await.unwrap();
    score_all(&judges[..3], &make_up.id, &[&a[5]], &[&[91, 92, 93]]).await;
    reporting.close_reporting_session(pm::CloseReportingSessionRequest { id: make_up.id.clone() }).await.unwrap();

    // Performance entries by staff: a plenary speech worth 6, a service entry at the default 2.
    let entry =
        |member: &pm::Member, kind: pm::RecordKind, points: i32, description: &str| pm::CreateRecordEntryRequest {
            entry: Some(pm::RecordEntry {
                member_id: member.id.clone(),
                kind: kind as i32,
                date: date(3, 5),
                points,
                description: description.into(),
                evidence_ref: "县政协十届五次会议大会发言材料".into(),
                ..Default::default()
            }),
        };
    roster.create_record_entry(entry(&a[0], pm::RecordKind::Speeches, 6, "政协全会大会发言")).await.unwrap();
    let service = roster
        .create_record_entry(entry(&a[1], pm::RecordKind::Service, 0, "走访联系界别群众"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(service.points, 2, "the default rule");

    // 张建国's proposal is filed: a PROPOSALS entry (5 points) from the event.
    let mut proposals = n.zhang.proposals();
    let draft = proposals
        .create_proposal(pp::CreateProposalRequest {
            proposal: Some(pp::Proposal {
                kind: pp::ProposalKind::Individual as i32,
                title: "关于推进宁晋县盐碱地综合治理的建议".into(),
                body: "宁晋县东部乡镇盐碱地面积较大，建议整合农田水利资金，推广暗管排盐与耐盐作物种植。".into(),
                category: pp::ProposalCategory::Economic as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    proposals.submit_proposal(pp::SubmitProposalRequest { id: draft.id.clone() }).await.unwrap();
    n.staff.proposals().file_proposal(pp::FileProposalRequest { id: draft.id.clone() }).await.unwrap();

    // The same ProposalFiled delivered twice more adds no entry, no event, no
    // count. (Whatever a delivery emitted would be relayed before the events of
    // the changes below, which the figures are awaited on.)
    let find_filed = || {
        recorder.find(|e| match &e.payload {
            Some(Payload::ProposalFiled(f)) if f.proposal_id == draft.id => Some(e.clone()),
            _ => None,
        })
    };
    eventually("the ProposalFiled event", async || find_filed().is_some()).await;
    let filed = find_filed().expect("the ProposalFiled event");
    app.running.bus.publish(&filed).await.unwrap();
    app.running.bus.publish(&filed).await.unwrap();

    // 刘国庆 resigns; 赵春梅 is dismissed (劝辞).
    let status = |m: &pm::Member, to: pm::MemberStatus, reason: &str| pm::ChangeMemberStatusRequest {
        id: m.id.clone(),
        status: to as i32,
        effective_date: date(6, 30),
        reason: reason.into(),
        etag: String::new(),
    };
    roster
        .change_member_status(status(&a[4], pm::MemberStatus::Resigned, "工作调动，本人申请辞去委员职务"))
        .await
        .unwrap();
    roster.change_member_status(status(&a[3], pm::MemberStatus::Dismissed, "经主席会议研究，劝辞")).await.unwrap();

    // 临城县政协 enrols one member.
    let lincheng_admin = app.login("130522", "admin", PASSWORD).await.unwrap();
    let mut lincheng = lincheng_admin.membership();
    let sector = reference_item(&mut lincheng, pm::ReferenceKind::Sector, "05", "农业界").await;
    let committee = reference_item(&mut lincheng, pm::ReferenceKind::SpecialCommittee, "", "农业和农村委员会").await;
    let (id17, phone) = identity(10);
    create(
        &mut lincheng,
        pm::Member {
            name: "赵丽华".into(),
            gender: pm::Gender::Female as i32,
            ethnicity: "汉族".into(),
            party: pm::PartyAffiliation::Capd as i32,
            sector_id: sector,
            work_unit: "临城县核桃产业协会".into(),
            title: "会长".into(),
            phone,
            id_number: id_number(&id17),
            term_number: 10,
            role: pm::MemberRole::Member as i32,
            special_committee_id: committee,
            ..Default::default()
        },
    )
    .await
    .unwrap();

    // 宁晋县's own figures for the year.
    let expected: BTreeMap<String, i64> = [
        ("members_enrolled", 9),
        ("members_departed", 2),
        ("reporting_due", 6),
        ("reported_on_site", 5),
        ("reported_by_video", 1),
        ("not_reported", 0),
        ("reports_excellent", 3),
        ("performance_entries", 3),
        ("performance_points", 13),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let picked = |f: &pa::Figures| -> BTreeMap<String, i64> {
        let all = counts(f);
        expected.keys().map(|k| (k.clone(), all.get(k).copied().unwrap_or(-1))).collect()
    };
    eventually("宁晋县's figures to count every membership event", async || {
        picked(&figures(&n.admin, &ningjin_id, pa::Rollup::Own).await) == expected
    })
    .await;
    let city = app.login("130500", "admin", PASSWORD).await.unwrap();
    let xingtai_id = n.tree.xingtai.id.clone();
    eventually("邢台市's rolled-up figures to count 临城县's member", async || {
        counts(&figures(&city, &xingtai_id, pa::Rollup::Subtree).await).get("members_enrolled") == Some(&10)
    })
    .await;

    let own = figures(&n.admin, &ningjin_id, pa::Rollup::Own).await;
    assert_eq!(picked(&own), expected);
    assert_eq!(rate(&own, "reporting_on_site_rate"), (5, 6, 5.0 / 6.0, false));
    assert_eq!(rate(&own, "reporting_rate"), (6, 6, 1.0, false));
    assert_eq!(rate(&own, "excellence_rate"), (3, 5, 0.6, false));
    // The reporting service's own campaign statistics agree on who reported and who excelled.
    let stats = reporting
        .get_reporting_statistics(pm::GetReportingStatisticsRequest {
            committee_id: ningjin_id.clone(),
            year: this_year(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((stats.reported_on_site, stats.reported_by_video, stats.scored_at_least_90), (5, 1, 3));
    assert_eq!(stats.excellence_rate_percent, 60.0);

    // The county's subtree is its own; the city's adds 临城县's member.
    let ningjin_subtree = counts(&figures(&city, &ningjin_id, pa::Rollup::Subtree).await);
    assert_eq!(ningjin_subtree, counts(&own));
    let xingtai = figures(&city, &xingtai_id, pa::Rollup::Subtree).await;
    let mut rolled_up = counts(&own);
    *rolled_up.get_mut("members_enrolled").unwrap() += 1;
    assert_eq!(counts(&xingtai), rolled_up);
    assert_eq!(rate(&xingtai, "excellence_rate"), (3, 5, 0.6, false));
    assert_eq!(rate(&xingtai, "reporting_on_site_rate"), (5, 6, 5.0 / 6.0, false));
    // 临城县 enrolled a member and did nothing else: its reporting rates have no data.
    let lincheng_own = figures(&lincheng_admin, &n.tree.lincheng.id, pa::Rollup::Own).await;
    assert_eq!(counts(&lincheng_own).get("members_enrolled"), Some(&1));
    assert!(!counts(&lincheng_own).contains_key("reporting_due"), "an unused family stays out");
    assert_eq!(rate(&lincheng_own, "excellence_rate"), (0, 0, 0.0, true));
    assert_eq!(rate(&lincheng_own, "reporting_on_site_rate"), (0, 0, 0.0, true));
    // 邢台市's own records are empty: none of the membership families shows.
    let xingtai_own = counts(&figures(&city, &xingtai_id, pa::Rollup::Own).await);
    assert!(!xingtai_own.contains_key("members_enrolled") && !xingtai_own.contains_key("performance_points"));

    // The events, as emitted: once each, with ids only — no names or numbers.
    // (The recorder hears an event after analytics has counted it.)
    eventually("17 membership events recorded", async || membership_events(&recorder).len() == 17).await;
    let events = membership_events(&recorder);
    assert_eq!(events.len(), 17, "10 enrolled, 2 sessions closed, 3 entries, 2 status changes");
    let enrolled = events.iter().filter(|e| matches!(e.payload, Some(Payload::MemberEnrolled(_)))).count();
    assert_eq!(enrolled, 10);
    let closed: Vec<(bool, i32, i32, i32, i32, i32, i32)> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Some(Payload::ReportingSessionClosed(c)) => Some((
                c.make_up,
                c.members_due,
                c.reported_on_site,
                c.reported_by_video,
                c.not_reported,
                c.reports_excellent,
                c.suggestions_raised,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(closed, [(false, 6, 4, 1, 1, 2, 1), (true, 0, 1, 0, -1, 1, 0)]);
    let entries: Vec<(&str, i32, &str)> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Some(Payload::PerformanceEntryRecorded(r)) => Some((r.kind.as_str(), r.points, r.source.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(entries, [("SPEECHES", 6, "STAFF"), ("SERVICE", 2, "STAFF"), ("PROPOSALS", 5, "AUTOMATIC")]);
    let automatic = events
        .iter()
        .find_map(|e| match &e.payload {
            Some(Payload::PerformanceEntryRecorded(r)) if r.source == "AUTOMATIC" => Some(r.member_id.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(automatic, zhang.id);
    let changed: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Some(Payload::MemberStatusChanged(c)) => Some((c.from.as_str(), c.to.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(changed, [("SERVING", "RESIGNED"), ("SERVING", "DISMISSED")]);
    for e in &events {
        let text = format!("{:?}", e.payload);
        assert!(
            !["张立新", "李文静", "赵丽华", "1393190", "130528197"].iter().any(|p| text.contains(p)),
            "personal information in {text}"
        );
        // Every event is about a county under 邢台市, which its rollup needs.
        assert!(e.ancestor_committee_ids.contains(&xingtai_id), "{e:?}");
    }

    // A rebuild from the event log equals the incremental counters.
    let service = app.running.analytics.as_ref().expect("analytics runs");
    let before = service.store().counters().await.unwrap();
    service.rebuild(&|_| {}).await.unwrap();
    assert_eq!(service.store().counters().await.unwrap(), before);
    app.stop().await;
}
