//! Term periods (届) and member rankings in analytics.
//!
//! 河北省 (第十二届 from 2018-01-24, 第十三届 from 2023-01-12), 邢台市 (第十三届
//! from 2016-12-28, 第十四届 from 2021-12-27) and 宁晋县 (第九届 from
//! 2016-12-20, 第十届 from 2021-12-15) open their terms through the tenants
//! API; 临城县 opens none. 宁晋县's office enrols four members and records
//! performance entries today; a member submits a proposal. Earlier years'
//! events (proposals submitted in 宁晋县 and 临城县, entries of 宁晋县's members)
//! go into the event log as the services would have written them, and the
//! relay delivers them like any other event.
//!
//! Expected figures come from the fixture by an independent rule (a term
//! holds the days from its start to the next term's start), per committee:
//! a committee's own term, each ancestor's own term for its rolled-up figures.

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeZone};
use prost::Message;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::Query;
use tonic::Code;
use uuid::Uuid;
use xieshang_platform::db::Scope;
use xieshang_platform::ids::CommitteeId;
use xieshang_proto::analytics::v1 as pa;
use xieshang_proto::analytics::v1::analytics_service_client::AnalyticsServiceClient;
use xieshang_proto::common::v1::Date;
use xieshang_proto::events::v1::{self as ev, event::Payload};
use xieshang_proto::membership::v1 as pm;
use xieshang_proto::proposals::v1 as pp;
use xieshang_proto::tenants::v1 as pb;
use xieshang_tests::*;

use crate::membership::{Ningjin, create, ningjin, this_year};

fn analytics(s: &Session) -> AnalyticsServiceClient<Authed> {
    AnalyticsServiceClient::with_interceptor(s.channel.clone(), s.bearer())
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn today() -> NaiveDate {
    (xieshang_platform::time::now() + chrono::Duration::hours(8)).date_naive()
}

fn proto_date(d: NaiveDate) -> Date {
    use chrono::Datelike;
    Date { year: d.year(), month: d.month() as i32, day: d.day() as i32 }
}

/// Terms as opened: (committee code, number, start).
const TERMS: &[(&str, i32, (i32, u32, u32))] = &[
    ("130528", 9, (2016, 12, 20)),
    ("130528", 10, (2021, 12, 15)),
    ("130500", 13, (2016, 12, 28)),
    ("130500", 14, (2021, 12, 27)),
    ("130000", 12, (2018, 1, 24)),
    ("130000", 13, (2023, 1, 12)),
];

/// The oracle: the committee's term on a day (start ≤ day < next start).
fn term_of(code: &str, on: NaiveDate) -> Option<i32> {
    TERMS
        .iter()
        .filter(|(c, _, (y, m, d))| *c == code && day(*y, *m, *d) <= on)
        .max_by_key(|(_, _, (y, m, d))| day(*y, *m, *d))
        .map(|(_, n, _)| *n)
}

/// The committees a fact in `code` rolls up to, itself first.
fn path_of(code: &str) -> Vec<&'static str> {
    match code {
        "130528" => vec!["130528", "130500", "130000"],
        "130522" => vec!["130522", "130500", "130000"],
        "130500" => vec!["130500", "130000"],
        _ => vec!["130000"],
    }
}

/// One counted fact of the fixture: committee, day, metric, value.
#[derive(Clone, Debug)]
struct Fact {
    code: &'static str,
    on: NaiveDate,
    metric: &'static str,
    value: i64,
}

/// Expected SUBTREE (or OWN) figure of `metric` for `code`'s term `n`.
fn expected(facts: &[Fact], code: &str, n: i32, metric: &str, own: bool) -> i64 {
    facts
        .iter()
        .filter(|f| f.metric == metric)
        .filter(|f| if own { f.code == code } else { path_of(f.code).contains(&code) })
        .filter(|f| term_of(code, f.on) == Some(n))
        .map(|f| f.value)
        .sum()
}

/// 宁晋县's members and the committees' sessions.
struct Fixture {
    app: TestApp,
    n: Ningjin,
    city: Session,
    province: Session,
    lincheng: Session,
    /// 张建国, 李秀英, 王建军, 赵丽华 (roster entries).
    members: Vec<pm::Member>,
    facts: Vec<Fact>,
    /// (member index, day, points) of every performance entry.
    entries: Vec<(usize, NaiveDate, i64)>,
}

async fn open_term(s: &Session, committee_id: &str, number: i32, start: NaiveDate) {
    s.committees()
        .create_term(pb::CreateTermRequest {
            committee_id: committee_id.into(),
            term: Some(pb::Term { number, start_date: Some(proto_date(start)), ..Default::default() }),
        })
        .await
        .unwrap_or_else(|e| panic!("term {number}: {e:?}"));
}

/// Writes an event into the outbox as the service that owns it would have,
/// dated `on` (10:00 in Beijing); the relay delivers it.
async fn past_event(
    app: &TestApp,
    committee: &pb::Committee,
    ancestors: &[&pb::Committee],
    on: NaiveDate,
    payload: Payload,
) -> Uuid {
    let id = Uuid::now_v7();
    let at = chrono::Utc.from_utc_datetime(&on.and_hms_opt(2, 0, 0).unwrap());
    let event = ev::Event {
        id: id.to_string(),
        occur_time: Some(prost_types::Timestamp { seconds: at.timestamp(), nanos: 0 }),
        committee_id: committee.id.clone(),
        ancestor_committee_ids: ancestors.iter().map(|c| c.id.clone()).collect(),
        actor_user_id: String::new(),
        trace_context: Default::default(),
        payload: Some(payload.clone()),
    };
    let tx = app.running.db.begin(Scope::System).await.unwrap();
    let insert = Query::insert()
        .into_table("outbox")
        .columns(["id", "committee_id", "event_type", "payload", "created_at", "attempts"])
        .values_panic([
            id.into(),
            Uuid::parse_str(&committee.id).unwrap().into(),
            xieshang_platform::events::event_type(&payload).into(),
            event.encode_to_vec().into(),
            xieshang_platform::time::now().into(),
            0i32.into(),
        ])
        .to_owned();
    tx.execute(&insert).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn fixture() -> Fixture {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let t = &n.tree;
    let city = app.login("130500", "admin", PASSWORD).await.unwrap();
    let province = app.login("130000", "admin", PASSWORD).await.unwrap();
    let lincheng = app.login("130522", "admin", PASSWORD).await.unwrap();
    for (code, number, (y, m, d)) in TERMS {
        let (office, id) = match *code {
            "130528" => (&n.admin, &t.ningjin.id),
            "130500" => (&city, &t.xingtai.id),
            _ => (&province, &t.hebei.id),
        };
        open_term(office, id, *number, day(*y, *m, *d)).await;
    }
    n.admin
        .committees()
        .create_plenary_session(pb::CreatePlenarySessionRequest {
            committee_id: t.ningjin.id.clone(),
            session: Some(pb::PlenarySession { start_date: Some(proto_date(day(2022, 1, 10))), ..Default::default() }),
        })
        .await
        .unwrap();

    // The roster: 张建国 is linked to his account.
    let mut roster = n.staff.membership();
    let mut members = Vec::new();
    for (name, id17, phone) in [
        ("张建国", "13052819720305123", "13831912345"),
        ("李秀英", "13052819800612234", "13931955678"),
        ("王建军", "13052819681123345", "13731966789"),
        ("赵丽华", "13052819850214456", "13631977890"),
    ] {
        let mut m = n.member(name, id17, phone);
        if name == "张建国" {
            m.user_id = n.zhang.user.id.clone();
        }
        members.push(create(&mut roster, m).await.unwrap_or_else(|e| panic!("{name}: {e:?}")));
    }

    let mut facts = Vec::new();
    let mut entries = Vec::new();
    // Today, through the API: staff record entries (points as given)…
    let now = today();
    for (who, kind, points, what) in [
        (1, pm::RecordKind::Speeches, 6, "政协全会大会发言：推进县域特色产业集群发展"),
        (1, pm::RecordKind::Inspections, 4, "参加农村人居环境整治专题视察"),
        (0, pm::RecordKind::Service, 3, "走访联系经济界群众，收集企业诉求"),
        (0, pm::RecordKind::Speeches, 7, "常委会议书面发言：优化营商环境"),
        (2, pm::RecordKind::Speeches, 5, "界别协商会发言：职业教育产教融合"),
    ] {
        roster
            .create_record_entry(pm::CreateRecordEntryRequest {
                entry: Some(pm::RecordEntry {
                    member_id: members[who].id.clone(),
                    kind: kind as i32,
                    date: Some(proto_date(now)),
                    points,
                    description: what.into(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap();
        entries.push((who, now, i64::from(points)));
        facts.push(Fact { code: "130528", on: now, metric: "performance_points", value: i64::from(points) });
    }
    // …and 张建国 submits a proposal.
    let mut proposals = n.zhang.proposals();
    let draft = proposals
        .create_proposal(pp::CreateProposalRequest {
            proposal: Some(pp::Proposal {
                kind: pp::ProposalKind::Individual as i32,
                title: "关于加快宁晋县盐碱地综合治理的建议".into(),
                body: "建议整合农田水利资金，推广暗管排盐与耐盐作物种植，提高盐碱地综合利用水平。".into(),
                category: pp::ProposalCategory::Economic as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    proposals.submit_proposal(pp::SubmitProposalRequest { id: draft.id }).await.unwrap();
    facts.push(Fact { code: "130528", on: now, metric: "proposals_submitted", value: 1 });

    // Earlier years, in the event log. Around each boundary: 2021-12-10 is
    // still 宁晋's 9th term, 2021-12-20 its 10th but 邢台's 13th, 2023-01-05
    // 河北's 12th, 2023-01-12 河北's 13th (its first day).
    let submitted = || {
        Payload::ProposalSubmitted(ev::ProposalSubmitted {
            proposal_id: Uuid::now_v7().to_string(),
            proposer_user_ids: vec![],
            category: "经济建设".into(),
        })
    };
    let mut last = Uuid::nil();
    for (code, on) in [
        ("130528", day(2016, 12, 25)),
        ("130528", day(2019, 3, 8)),
        ("130528", day(2021, 12, 10)),
        ("130528", day(2021, 12, 20)),
        ("130528", day(2022, 3, 5)),
        ("130528", day(2023, 1, 5)),
        ("130528", day(2023, 1, 12)),
        ("130522", day(2022, 6, 1)),
        ("130522", day(2024, 5, 20)),
        ("130522", day(2024, 5, 21)),
    ] {
        let (committee, ancestors) = match code {
            "130528" => (&t.ningjin, [&t.xingtai, &t.hebei]),
            _ => (&t.lincheng, [&t.xingtai, &t.hebei]),
        };
        last = past_event(&app, committee, &ancestors, on, submitted()).await;
        facts.push(Fact { code, on, metric: "proposals_submitted", value: 1 });
    }
    for (who, kind, points, on) in [(1, "SPEECHES", 8, day(2024, 3, 3)), (2, "MEETINGS", 1, day(2021, 12, 1))] {
        let payload = Payload::PerformanceEntryRecorded(ev::PerformanceEntryRecorded {
            entry_id: Uuid::now_v7().to_string(),
            member_id: members[who].id.clone(),
            kind: kind.into(),
            points,
            source: "STAFF".into(),
            date: Some(proto_date(on)),
        });
        last = past_event(&app, &t.ningjin, &[&t.xingtai, &t.hebei], on, payload).await;
        entries.push((who, on, i64::from(points)));
        facts.push(Fact { code: "130528", on, metric: "performance_points", value: i64::from(points) });
    }
    let service = app.running.analytics.as_ref().expect("analytics runs");
    eventually("the event log is applied", async || service.position().await.unwrap().last_event_id == Some(last))
        .await;
    Fixture { app, n, city, province, lincheng, members, facts, entries }
}

async fn figures(s: &Session, committee: &str, period: &str, rollup: pa::Rollup) -> Result<pa::Figures, tonic::Status> {
    analytics(s)
        .get_figures(pa::GetFiguresRequest {
            committee_id: committee.into(),
            period: period.into(),
            rollup: rollup as i32,
        })
        .await
        .map(|r| r.into_inner())
}

/// Non-zero counts.
fn counts(f: &pa::Figures) -> BTreeMap<String, i64> {
    f.counts.iter().filter(|(_, v)| **v != 0).map(|(k, v)| (k.clone(), *v)).collect()
}

fn add(total: &mut BTreeMap<String, i64>, more: BTreeMap<String, i64>) {
    for (k, v) in more {
        *total.entry(k).or_default() += v;
    }
    total.retain(|_, v| *v != 0);
}

#[tokio::test]
async fn term_figures_follow_each_committees_own_terms() {
    let f = fixture().await;
    let t = &f.n.tree;
    let year = this_year();

    // Every term of every committee, OWN and SUBTREE, against the oracle.
    for (code, n, _) in TERMS {
        let id = match *code {
            "130528" => &t.ningjin.id,
            "130500" => &t.xingtai.id,
            _ => &t.hebei.id,
        };
        for (rollup, own) in [(pa::Rollup::Subtree, false), (pa::Rollup::Own, true)] {
            let got = figures(&f.province, id, &format!("T{n}"), rollup).await.unwrap();
            assert_eq!(got.period, format!("T{n}"));
            for metric in ["proposals_submitted", "performance_points"] {
                let want = expected(&f.facts, code, *n, metric, own);
                assert_eq!(got.counts.get(metric).copied().unwrap_or(0), want, "{code} T{n} {rollup:?} {metric}");
            }
        }
    }
    // The oracle is not trivial: the boundaries split the fixture.
    assert_eq!(expected(&f.facts, "130528", 9, "proposals_submitted", true), 3);
    assert_eq!(expected(&f.facts, "130500", 13, "proposals_submitted", false), 3);
    assert_eq!(expected(&f.facts, "130000", 12, "proposals_submitted", false), 6);

    // A term's figures are the sum over the years in it: 邢台市's 14th term
    // began 2021-12-27 with nothing in its subtree in the days left of 2021,
    // so it is 2022 through this year, every metric — and not the two
    // submissions of December 2021, which fall before its start.
    let mut years = BTreeMap::new();
    for y in 2022..=year {
        add(&mut years, counts(&figures(&f.city, &t.xingtai.id, &y.to_string(), pa::Rollup::Subtree).await.unwrap()));
    }
    let t14 = counts(&figures(&f.city, &t.xingtai.id, "T14", pa::Rollup::Subtree).await.unwrap());
    assert_eq!(t14, years);
    let december = figures(&f.city, &t.xingtai.id, "2021-12", pa::Rollup::Subtree).await.unwrap();
    assert_eq!(december.counts["proposals_submitted"], 2);
    // 宁晋县's two terms hold all its events (none before 2016-12-20).
    let mut all_years = BTreeMap::new();
    for y in 2016..=year {
        add(
            &mut all_years,
            counts(&figures(&f.n.admin, &t.ningjin.id, &y.to_string(), pa::Rollup::Own).await.unwrap()),
        );
    }
    let mut both = counts(&figures(&f.n.admin, &t.ningjin.id, "T9", pa::Rollup::Own).await.unwrap());
    add(&mut both, counts(&figures(&f.n.admin, &t.ningjin.id, "T10", pa::Rollup::Own).await.unwrap()));
    assert_eq!(both, all_years);

    // 邢台市's breakdown over its 14th term: each county's events within it,
    // 临城县 too though it has no terms of its own; against its 13th.
    let breakdown = analytics(&f.city)
        .get_breakdown(pa::GetBreakdownRequest {
            committee_id: t.xingtai.id.clone(),
            period: "T14".into(),
            metric: "proposals_submitted".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((breakdown.period.as_str(), breakdown.previous_period.as_str()), ("T14", "T13"));
    let in_city_term = |code: &str, n: i32| -> f64 {
        f.facts
            .iter()
            .filter(|x| x.code == code && x.metric == "proposals_submitted" && term_of("130500", x.on) == Some(n))
            .map(|x| x.value as f64)
            .sum()
    };
    let rows: Vec<(i32, &str, f64, f64)> =
        breakdown.rows.iter().map(|r| (r.rank, r.code.as_str(), r.value, r.previous_value)).collect();
    let (ningjin_now, lincheng_now) = (in_city_term("130528", 14), in_city_term("130522", 14));
    assert_eq!((ningjin_now, lincheng_now), (4.0, 3.0), "the fixture");
    assert_eq!(
        rows,
        vec![
            (1, "130528", ningjin_now, in_city_term("130528", 13)),
            (2, "130522", lincheng_now, in_city_term("130522", 13)),
        ]
    );
    assert_eq!(breakdown.rows[1].figures.as_ref().unwrap().period, "T14");

    // The time series of a term: one point per calendar year it spans.
    let series = analytics(&f.n.admin)
        .get_time_series(pa::GetTimeSeriesRequest {
            committee_id: t.ningjin.id.clone(),
            metric: "proposals_submitted".into(),
            rollup: pa::Rollup::Own as i32,
            period: "T10".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((series.period.as_str(), series.year), ("T10", 0));
    let points: Vec<(String, f64)> = series.points.iter().map(|p| (p.period.clone(), p.value)).collect();
    let want: Vec<(String, f64)> = (2021..=year)
        .map(|y| {
            let n = f.facts.iter().filter(|x| x.code == "130528" && x.metric == "proposals_submitted");
            (y.to_string(), n.filter(|x| chrono::Datelike::year(&x.on) == y).count() as f64)
        })
        .collect();
    assert_eq!(points, want);

    // Bad and unknown terms.
    for bad in ["T0", "T101", "t10", "T010", "T"] {
        let status = assert_code(figures(&f.n.admin, &t.ningjin.id, bad, pa::Rollup::Own).await, Code::InvalidArgument);
        assert_eq!(violated_field(&status), "period", "{bad}");
    }
    let status = assert_code(figures(&f.n.admin, &t.ningjin.id, "T11", pa::Rollup::Own).await, Code::NotFound);
    assert!(status.message().contains("term"), "{status:?}");
    assert_code(figures(&f.lincheng, &t.lincheng.id, "T10", pa::Rollup::Own).await, Code::NotFound);
    let status = assert_code(
        analytics(&f.n.admin)
            .get_time_series(pa::GetTimeSeriesRequest {
                committee_id: t.ningjin.id.clone(),
                metric: "proposals_submitted".into(),
                period: "2024-Q1".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_field(&status), "period");
    let operator = f.app.operator().await;
    let status = assert_code(figures(&operator, "", "T13", pa::Rollup::Subtree).await, Code::InvalidArgument);
    assert_eq!(violated_field(&status), "period");
    // A sibling's term is as hidden as its figures.
    assert_code(figures(&f.lincheng, &t.ningjin.id, "T10", pa::Rollup::Own).await, Code::NotFound);

    rebuild_equals_incremental(&f.app).await;
    f.app.stop().await;
}

/// A rebuild from the event log gives the same counters, member counters and terms.
async fn rebuild_equals_incremental(app: &TestApp) {
    let service = app.running.analytics.as_ref().expect("analytics runs");
    let store = service.store();
    let (counters, members, terms) =
        (store.counters().await.unwrap(), store.member_counters().await.unwrap(), store.terms().await.unwrap());
    assert!(counters.iter().any(|c| c.period.starts_with('T')) && counters.iter().any(|c| c.period.starts_with('P')));
    assert!(members.iter().any(|c| c.period.starts_with('T')));
    assert_eq!(terms.len(), TERMS.len());
    let report = service.rebuild(&|_| {}).await.unwrap();
    assert_eq!((report.counters, report.member_counters, report.terms), (counters.len(), members.len(), terms.len()));
    assert_eq!(store.counters().await.unwrap(), counters);
    assert_eq!(store.member_counters().await.unwrap(), members);
    assert_eq!(store.terms().await.unwrap(), terms);
}

async fn rank(
    s: &Session,
    committee: &str,
    period: &str,
    metric: &str,
) -> Result<pa::RankMembersResponse, tonic::Status> {
    analytics(s)
        .rank_members(pa::RankMembersRequest {
            committee_id: committee.into(),
            period: period.into(),
            metric: metric.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn members_rank_within_their_own_committee_only() {
    let f = fixture().await;
    let t = &f.n.tree;
    let year = this_year();
    let name = |id: &str| f.members.iter().find(|m| m.id == id).map(|m| m.name.clone()).unwrap();
    let places = |r: &pa::RankMembersResponse| -> Vec<(i32, String, i64)> {
        r.members.iter().map(|p| (p.rank, name(&p.member_id), p.value)).collect()
    };
    // The oracle: points per member in a period, serving members with none at 0.
    let points = |within: &dyn Fn(NaiveDate) -> bool| -> Vec<(String, i64)> {
        let mut by: Vec<(String, i64)> = f
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name.clone(), f.entries.iter().filter(|e| e.0 == i && within(e.1)).map(|e| e.2).sum()))
            .collect();
        by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        by
    };

    // This year: 张建国 and 李秀英 tie at 10 (ranked by name), 王建军 5, 赵丽华 none.
    let this = rank(&f.n.staff, "", &year.to_string(), "performance_points").await.unwrap();
    assert_eq!(this.committee_id, t.ningjin.id);
    let want = points(&|d| chrono::Datelike::year(&d) == year);
    assert_eq!(places(&this).into_iter().map(|(_, n, v)| (n, v)).collect::<Vec<_>>(), want);
    assert_eq!(
        places(&this),
        vec![(1, "张建国".into(), 10), (1, "李秀英".into(), 10), (3, "王建军".into(), 5), (4, "赵丽华".into(), 0)]
    );
    assert_eq!(this.total_size, 4);
    assert!(this.members.iter().all(|p| !p.name.is_empty()));

    // The 10th term adds 李秀英's speech of 2024; the 9th holds 王建军's meeting of December 2021.
    let t10 = rank(&f.n.admin, &t.ningjin.id, "T10", "performance_points").await.unwrap();
    let want = points(&|d| term_of("130528", d) == Some(10));
    assert_eq!(places(&t10).into_iter().map(|(_, n, v)| (n, v)).collect::<Vec<_>>(), want);
    assert_eq!(places(&t10)[0], (1, "李秀英".into(), 18));
    let t9 = rank(&f.n.staff, "", "T9", "meeting_entries").await.unwrap();
    assert_eq!(places(&t9)[0], (1, "王建军".into(), 1));
    assert!(places(&t9)[1..].iter().all(|(rank, _, v)| *rank == 2 && *v == 0));
    let speeches = rank(&f.n.staff, "", "T10", "speech_entries").await.unwrap();
    assert_eq!(
        places(&speeches).iter().map(|(_, n, v)| (n.as_str(), *v)).collect::<Vec<_>>(),
        vec![("李秀英", 2), ("张建国", 1), ("王建军", 1), ("赵丽华", 0)]
    );

    // Pages of two, continuing after the token; the same order as one page.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = analytics(&f.n.staff)
            .rank_members(pa::RankMembersRequest {
                period: "T10".into(),
                metric: "performance_points".into(),
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.members.len() <= 2);
        paged.extend(places(&page));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(paged, places(&t10));
    let status = assert_code(
        analytics(&f.n.staff)
            .rank_members(pa::RankMembersRequest {
                period: "T10".into(),
                metric: "performance_points".into(),
                page_token: "not-a-token".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_field(&status), "page_token");
    for (period, metric, field) in
        [("T10", "proposals_filed", "metric"), ("2025-13", "performance_points", "period"), ("T10", "", "metric")]
    {
        let status = assert_code(rank(&f.n.staff, "", period, metric).await, Code::InvalidArgument);
        assert_eq!(violated_field(&status), field, "{period} {metric}");
    }
    assert_code(rank(&f.n.staff, "", "T11", "performance_points").await, Code::NotFound);

    // Nobody else ranks 宁晋县's members: its city and province (which read
    // its figures) and its sibling get NotFound; a member of 宁晋县 and an
    // operator are refused.
    for office in [&f.city, &f.province, &f.lincheng] {
        assert_code(rank(office, &t.ningjin.id, &year.to_string(), "performance_points").await, Code::NotFound);
    }
    figures(&f.city, &t.ningjin.id, &year.to_string(), pa::Rollup::Own).await.unwrap();
    let own_city = rank(&f.city, "", &year.to_string(), "performance_points").await.unwrap();
    assert!(own_city.members.is_empty(), "邢台市's own ranking holds none of 宁晋县's members");
    assert_code(rank(&f.n.zhang, "", &year.to_string(), "performance_points").await, Code::PermissionDenied);
    let operator = f.app.operator().await;
    assert_code(rank(&operator, &t.ningjin.id, &year.to_string(), "performance_points").await, Code::PermissionDenied);

    // PostgreSQL: the member counters are visible in 宁晋县's scope only.
    if f.app.backend == Backend::Postgres {
        let visible = async |committee: &str| -> i64 {
            let id = CommitteeId(Uuid::parse_str(committee).unwrap());
            let tx = f.app.running.db.begin(Scope::Committee(id)).await.unwrap();
            let row = tx
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    "SELECT COUNT(*) AS n FROM analytics_member_counters",
                ))
                .await
                .unwrap()
                .unwrap();
            tx.commit().await.unwrap();
            row.try_get("", "n").unwrap()
        };
        assert!(visible(&t.ningjin.id).await > 0);
        assert_eq!(visible(&t.xingtai.id).await, 0);
        assert_eq!(visible(&t.hebei.id).await, 0);
        assert_eq!(visible(&t.lincheng.id).await, 0);
    }

    rebuild_equals_incremental(&f.app).await;
    f.app.stop().await;
}
