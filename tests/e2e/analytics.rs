//! Analytics: counters fed by the real APIs' events, rolled up the tree;
//! figures, breakdowns and time series; who may read what (and, on
//! PostgreSQL, the row-level security policy); idempotent re-delivery; and a
//! rebuild from the event log that equals the incremental counters.

use std::collections::BTreeMap;
use std::str::FromStr;

use sea_orm::{ConnectionTrait, Statement};
use tonic::Code;
use tonic::metadata::MetadataValue;
use xieshang_platform::db::Scope;
use xieshang_platform::ids::CommitteeId;
use xieshang_proto::analytics::v1 as pa;
use xieshang_proto::analytics::v1::analytics_service_client::AnalyticsServiceClient;
use xieshang_proto::common::v1::{Date, Role};
use xieshang_proto::events::v1::{Event, event::Payload};
use xieshang_proto::proposals::v1 as pp;
use xieshang_tests::*;

type Analytics = AnalyticsServiceClient<Authed>;

fn analytics(session: &Session) -> Analytics {
    AnalyticsServiceClient::with_interceptor(
        session.channel.clone(),
        Bearer(Some(MetadataValue::from_str(&format!("Bearer {}", session.access_token)).unwrap())),
    )
}

/// Today's year and month in China Standard Time ("2026", "2026-11").
fn this_year_and_month() -> (String, String, i32, usize) {
    let now = xieshang_platform::time::now() + chrono::Duration::hours(8);
    let year = now.format("%Y").to_string();
    let month = now.format("%Y-%m").to_string();
    let m: usize = now.format("%m").to_string().parse().unwrap();
    (year.clone(), month, year.parse().unwrap(), m)
}

/// A county with a term and session, its admin (the office), a member and a handling unit.
pub(crate) struct County {
    pub(crate) admin: Session,
    pub(crate) member: Session,
    pub(crate) unit: Session,
}

pub(crate) async fn county(app: &TestApp, code: &str, id: &str) -> County {
    let admin = app.login(code, "admin", PASSWORD).await.unwrap();
    let mut c = admin.committees();
    open_tenth_term(&mut c, id).await;
    create_user(&admin, id, "member", "王建军", &[Role::Member]).await;
    create_user(&admin, id, "unit", "农业农村局", &[Role::HandlingUnit]).await;
    County {
        member: app.login(code, "member", PASSWORD).await.unwrap(),
        unit: app.login(code, "unit", PASSWORD).await.unwrap(),
        admin,
    }
}

#[derive(Clone, Copy)]
enum Fate {
    Declined,
    Filed,
    Replied(pp::ReplyClass),
    Rated(pp::ReplyClass, pp::Rating),
}

/// Drives one proposal through the real API as far as `fate`.
async fn proposal(c: &County, title: &str, fate: Fate) {
    let mut member = c.member.proposals();
    let p = member
        .create_proposal(pp::CreateProposalRequest {
            proposal: Some(pp::Proposal {
                kind: pp::ProposalKind::Individual as i32,
                title: title.into(),
                body: "建议整合农田水利资金，推广暗管排盐与耐盐作物种植，提高盐碱地综合利用水平。".into(),
                category: pp::ProposalCategory::Economic as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let id = p.id;
    member.submit_proposal(pp::SubmitProposalRequest { id: id.clone() }).await.unwrap();
    let mut office = c.admin.proposals();
    match fate {
        Fate::Declined => {
            office
                .decline_proposal(pp::DeclineProposalRequest {
                    id,
                    reason: "属于个人诉求，不予立案".into(),
                    ..Default::default()
                })
                .await
                .unwrap();
            return;
        }
        _ => {}
    }
    office.file_proposal(pp::FileProposalRequest { id: id.clone() }).await.unwrap();
    if let Fate::Filed = fate {
        return;
    }
    office
        .assign_proposal(pp::AssignProposalRequest {
            id: id.clone(),
            lead_unit_user_id: c.unit.user.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let (class, rating) = match fate {
        Fate::Replied(class) => (class, None),
        Fate::Rated(class, rating) => (class, Some(rating)),
        _ => return,
    };
    let mut unit = c.unit.proposals();
    unit.record_contact(pp::RecordContactRequest {
        id: id.clone(),
        contact_date: Some(today()),
        note: "电话沟通".into(),
    })
    .await
    .unwrap();
    unit.reply_to_proposal(pp::ReplyToProposalRequest {
        id: id.clone(),
        reply_class: class as i32,
        text: "已研究办理，具体情况如下。".into(),
    })
    .await
    .unwrap();
    if let Some(rating) = rating {
        member
            .rate_reply(pp::RateReplyRequest {
                id,
                process_rating: pp::Rating::Satisfied as i32,
                result_rating: rating as i32,
                comment: String::new(),
            })
            .await
            .unwrap();
    }
}

fn today() -> Date {
    let now = xieshang_platform::time::now() + chrono::Duration::hours(8);
    let parts: Vec<i32> = now.format("%Y-%m-%d").to_string().split('-').map(|x| x.parse().unwrap()).collect();
    Date { year: parts[0], month: parts[1], day: parts[2] }
}

fn information(title: &str) -> pp::SubmitInformationRequest {
    pp::SubmitInformationRequest {
        information: Some(pp::InformationItem {
            title: title.into(),
            body: "近期部分乡镇反映，农村集中供水工程老化，夏季用水高峰时段水压不足，建议分批更新改造。".into(),
            ..Default::default()
        }),
    }
}

/// Events analytics counts (the rest it ignores).
fn counted(e: &Event) -> bool {
    matches!(
        e.payload,
        Some(
            Payload::ProposalSubmitted(_)
                | Payload::ProposalFiled(_)
                | Payload::ProposalDeclined(_)
                | Payload::ProposalAssigned(_)
                | Payload::ProposalReplied(_)
                | Payload::ProposalRated(_)
                | Payload::ProposalOverdue(_)
                | Payload::InformationSubmitted(_)
                | Payload::InformationAdopted(_)
                | Payload::InformationInstructed(_)
                | Payload::AttendanceRecorded(_)
        )
    )
}

struct Mix {
    app: TestApp,
    tree: Tree,
    recorder: std::sync::Arc<Recorder>,
    ningjin: County,
    lincheng: County,
    city_admin: Session,
    province_admin: Session,
}

/// Events the mix emits: 宁晋县 20, 临城县 7, 海宁市 2.
const MIX_EVENTS: i64 = 29;

/// A realistic mix in 宁晋县, 临城县 and 海宁市, then waits until the
/// analytics consumer's position has caught up with every counted event.
async fn mix() -> Mix {
    let app = spawn_app().await;
    let recorder = Recorder::on(&app);
    let tree = seed_tree(&app).await;
    let ningjin = county(&app, "130528", &tree.ningjin.id).await;
    let lincheng = county(&app, "130522", &tree.lincheng.id).await;
    let haining = county(&app, "330481", &tree.haining.id).await;
    let city_admin = app.login("130500", "admin", PASSWORD).await.unwrap();
    let province_admin = app.login("130000", "admin", PASSWORD).await.unwrap();

    // 宁晋县: 4 submitted, 1 declined, 3 filed and assigned, replied A/B/C on time, 2 rated.
    use pp::{Rating as R, ReplyClass as C};
    proposal(&ningjin, "关于加快盐碱地改良的建议", Fate::Rated(C::A, R::Satisfied)).await;
    proposal(&ningjin, "关于完善农村供水管网的建议", Fate::Rated(C::B, R::BasicallySatisfied)).await;
    proposal(&ningjin, "关于规范县城夜市管理的建议", Fate::Replied(C::C)).await;
    proposal(&ningjin, "关于为我家门前修路的建议", Fate::Declined).await;
    // 临城县: 2 submitted and filed, 1 assigned, replied A, rated satisfied.
    proposal(&lincheng, "关于发展核桃产业的建议", Fate::Rated(C::A, R::Satisfied)).await;
    proposal(&lincheng, "关于保护岐山湖水源的建议", Fate::Filed).await;
    // 海宁市: 1 submitted and filed.
    proposal(&haining, "关于皮革城转型升级的建议", Fate::Filed).await;

    // 宁晋县 information: two items; one adopted, reported upward and adopted by 邢台市.
    let mut member = ningjin.member.information();
    let mut office = ningjin.admin.information();
    member.submit_information(information("关于规范县城夜市管理的信息")).await.unwrap();
    let item = member.submit_information(information("关于农村供水水压不足的信息")).await.unwrap().into_inner();
    office.adopt_information(pp::AdoptInformationRequest { id: item.id.clone() }).await.unwrap();
    office.forward_information(pp::ForwardInformationRequest { id: item.id.clone() }).await.unwrap();
    let mut city = city_admin.information();
    let received = city
        .list_information(pp::ListInformationRequest { received: Some(true), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(received.len(), 1);
    city.adopt_information(pp::AdoptInformationRequest { id: received[0].id.clone() }).await.unwrap();

    let service = app.running.analytics.as_ref().expect("analytics runs").clone();
    eventually("the analytics position to catch up", async || {
        let seen = recorder.snapshot().iter().filter(|e| counted(e)).count() as i64;
        let position = service.position().await.unwrap();
        seen == MIX_EVENTS && position.events_applied == MIX_EVENTS
    })
    .await;
    Mix { app, tree, recorder, ningjin, lincheng, city_admin, province_admin }
}

async fn figures(client: &mut Analytics, committee: &str, period: &str, rollup: pa::Rollup) -> pa::Figures {
    client
        .get_figures(pa::GetFiguresRequest {
            committee_id: committee.into(),
            period: period.into(),
            rollup: rollup as i32,
        })
        .await
        .unwrap()
        .into_inner()
}

fn counts(f: &pa::Figures) -> BTreeMap<String, i64> {
    f.counts.iter().map(|(k, v)| (k.clone(), *v)).collect()
}

fn sum(a: &BTreeMap<String, i64>, b: &BTreeMap<String, i64>) -> BTreeMap<String, i64> {
    a.iter().map(|(k, v)| (k.clone(), v + b.get(k).copied().unwrap_or(0))).collect()
}

fn rate<'a>(f: &'a pa::Figures, name: &str) -> &'a pa::Rate {
    f.rates.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("rate {name}"))
}

#[tokio::test]
async fn figures_roll_up_the_tree_and_rebuild_equals_incremental() {
    let m = mix().await;
    let (year, month, year_n, month_n) = this_year_and_month();
    let mut county = analytics(&m.ningjin.admin);

    // 宁晋县's own figures, exactly.
    let own = figures(&mut county, &m.tree.ningjin.id, &year, pa::Rollup::Own).await;
    let expected: BTreeMap<String, i64> = [
        ("proposals_submitted", 4),
        ("proposals_filed", 3),
        ("proposals_declined", 1),
        ("proposals_assigned", 3),
        ("proposals_replied", 3),
        ("proposals_replied_on_time", 3),
        ("reply_class_a", 1),
        ("reply_class_b", 1),
        ("reply_class_c", 1),
        ("proposals_rated", 2),
        ("rated_satisfied", 1),
        ("rated_basically_satisfied", 1),
        ("rated_dissatisfied", 0),
        ("proposals_overdue", 0),
        ("information_submitted", 2),
        ("information_adopted", 1),
        ("information_adopted_upward", 1),
        ("information_instructed", 0),
        ("attendance_present", 0),
        ("attendance_on_leave", 0),
        ("attendance_absent", 0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(counts(&own), expected);
    assert_eq!(rate(&own, "filing_rate").value, 0.75);
    assert_eq!(rate(&own, "on_time_reply_rate").value, 1.0);
    assert!((rate(&own, "reply_class_a_share").value - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(rate(&own, "satisfaction_rate").value, 1.0);
    assert_eq!(rate(&own, "information_adoption_rate").value, 0.5);
    let attendance = rate(&own, "attendance_rate");
    assert_eq!((attendance.value, attendance.undefined), (0.0, true));
    // The quarter and the month hold the same (everything happened today).
    let this_month = figures(&mut county, &m.tree.ningjin.id, &month, pa::Rollup::Own).await;
    assert_eq!(counts(&this_month), expected);

    // Roll-ups: 邢台市 = its counties + its own adoption; 河北省 = 邢台市 + its own (nothing).
    let mut province = analytics(&m.province_admin);
    let sub = async |c: &mut Analytics, id: &str, rollup| counts(&figures(c, id, &year, rollup).await);
    let ningjin = sub(&mut province, &m.tree.ningjin.id, pa::Rollup::Subtree).await;
    assert_eq!(ningjin, expected);
    let lincheng = sub(&mut province, &m.tree.lincheng.id, pa::Rollup::Subtree).await;
    assert_eq!((lincheng["proposals_submitted"], lincheng["proposals_replied"]), (2, 1));
    let xingtai_own = sub(&mut province, &m.tree.xingtai.id, pa::Rollup::Own).await;
    assert_eq!(xingtai_own["information_adopted"], 1);
    assert_eq!(xingtai_own.values().sum::<i64>(), 1);
    let xingtai = sub(&mut province, &m.tree.xingtai.id, pa::Rollup::Subtree).await;
    assert_eq!(xingtai, sum(&sum(&ningjin, &lincheng), &xingtai_own));
    let hebei_own = sub(&mut province, &m.tree.hebei.id, pa::Rollup::Own).await;
    assert_eq!(hebei_own.values().sum::<i64>(), 0);
    let hebei = sub(&mut province, &m.tree.hebei.id, pa::Rollup::Subtree).await;
    assert_eq!(hebei, sum(&xingtai, &hebei_own));
    // 浙江省 sees only 海宁市's proposal.
    let operator = m.app.operator().await;
    let mut op = analytics(&operator);
    let zhejiang = sub(&mut op, &m.tree.zhejiang.id, pa::Rollup::Subtree).await;
    assert_eq!((zhejiang["proposals_submitted"], zhejiang["proposals_filed"]), (1, 1));
    assert_eq!(zhejiang.values().sum::<i64>(), 2);
    assert_eq!(zhejiang, sub(&mut op, &m.tree.haining.id, pa::Rollup::Subtree).await);

    // Breakdown of 邢台市 by proposals submitted, then by on-time reply rate (a tie: by code).
    let mut city = analytics(&m.city_admin);
    let breakdown = city
        .get_breakdown(pa::GetBreakdownRequest {
            committee_id: m.tree.xingtai.id.clone(),
            period: month.clone(),
            metric: "proposals_submitted".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let rows: Vec<(i32, &str, f64, f64, f64)> =
        breakdown.rows.iter().map(|r| (r.rank, r.code.as_str(), r.value, r.previous_value, r.change)).collect();
    assert_eq!(rows, vec![(1, "130528", 4.0, 0.0, 4.0), (2, "130522", 2.0, 0.0, 2.0)]);
    assert_eq!(counts(breakdown.rows[0].figures.as_ref().unwrap()), expected);
    let by_rate = city
        .get_breakdown(pa::GetBreakdownRequest {
            committee_id: m.tree.xingtai.id.clone(),
            period: year.clone(),
            metric: "reply_class_a_share".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let rows: Vec<(i32, &str)> = by_rate.rows.iter().map(|r| (r.rank, r.code.as_str())).collect();
    assert_eq!(rows, vec![(1, "130522"), (2, "130528")]);
    assert_eq!(by_rate.previous_period, (year_n - 1).to_string());

    // Time series: the month holds the values, the other months nothing.
    let series = city
        .get_time_series(pa::GetTimeSeriesRequest {
            committee_id: m.tree.xingtai.id.clone(),
            metric: "proposals_submitted".into(),
            year: year_n,
            rollup: pa::Rollup::Subtree as i32,
            period: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(series.points.len(), 12);
    for (i, point) in series.points.iter().enumerate() {
        assert_eq!(point.period, format!("{year_n}-{:02}", i + 1));
        assert_eq!(point.value, if i + 1 == month_n { 6.0 } else { 0.0 });
    }

    // Re-delivering every recorded event changes nothing.
    let service = m.app.running.analytics.as_ref().unwrap();
    let before = service.store().counters().await.unwrap();
    assert!(!before.is_empty());
    let events = m.recorder.snapshot();
    for handler in service.event_handlers() {
        for event in &events {
            handler.handle(event).await.unwrap();
        }
    }
    assert_eq!(service.store().counters().await.unwrap(), before);
    assert_eq!(service.position().await.unwrap().events_applied, MIX_EVENTS);

    // A rebuild from the event log equals the incremental counters.
    let report = service.rebuild(&|_| {}).await.unwrap();
    assert_eq!(report.events_applied as i64, MIX_EVENTS);
    assert_eq!(report.counters, before.len());
    assert_eq!(service.store().counters().await.unwrap(), before);
    // …and delivery after a rebuild is still applied once.
    for handler in service.event_handlers() {
        for event in &events {
            handler.handle(event).await.unwrap();
        }
    }
    assert_eq!(service.store().counters().await.unwrap(), before);
    assert_eq!(counts(&figures(&mut county, &m.tree.ningjin.id, &year, pa::Rollup::Own).await), expected);
    m.app.stop().await;
}

#[tokio::test]
async fn a_committee_reads_itself_and_below_never_a_sibling_or_a_parent() {
    let m = mix().await;
    let (year, _, _, _) = this_year_and_month();
    let ask = async |s: &Session, committee: &str, period: &str| {
        analytics(s)
            .get_figures(pa::GetFiguresRequest {
                committee_id: committee.into(),
                period: period.into(),
                rollup: pa::Rollup::Subtree as i32,
            })
            .await
    };
    // A sibling, and a county asking about its city: NotFound.
    assert_code(ask(&m.lincheng.admin, &m.tree.ningjin.id, &year).await, Code::NotFound);
    assert_code(ask(&m.ningjin.admin, &m.tree.xingtai.id, &year).await, Code::NotFound);
    assert_code(ask(&m.ningjin.admin, &m.tree.hebei.id, &year).await, Code::NotFound);
    assert_code(ask(&m.ningjin.admin, &m.tree.haining.id, &year).await, Code::NotFound);
    assert_code(
        analytics(&m.ningjin.admin)
            .get_breakdown(pa::GetBreakdownRequest {
                committee_id: m.tree.xingtai.id.clone(),
                period: year.clone(),
                metric: "proposals_filed".into(),
            })
            .await,
        Code::NotFound,
    );
    // The province reads the county; the county itself.
    let read = ask(&m.province_admin, &m.tree.ningjin.id, &year).await.unwrap().into_inner();
    assert_eq!(read.counts["proposals_submitted"], 4);
    ask(&m.ningjin.admin, &m.tree.ningjin.id, &year).await.unwrap();
    // Members and handling units: PermissionDenied.
    assert_code(ask(&m.ningjin.member, &m.tree.ningjin.id, &year).await, Code::PermissionDenied);
    assert_code(ask(&m.ningjin.unit, &m.tree.ningjin.id, &year).await, Code::PermissionDenied);
    // Bad periods and metrics name their field.
    for bad in ["2025-3", "2025-Q5", "25", "2025-13", ""] {
        let status = assert_code(ask(&m.ningjin.admin, &m.tree.ningjin.id, bad).await, Code::InvalidArgument);
        assert_eq!(violated_field(&status), "period", "{bad:?}");
    }
    let status = assert_code(
        analytics(&m.city_admin)
            .get_breakdown(pa::GetBreakdownRequest {
                committee_id: m.tree.xingtai.id.clone(),
                period: year.clone(),
                metric: "members".into(),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_field(&status), "metric");

    // PostgreSQL: the policy lets a committee's scope read its own and its
    // descendants' counter rows only.
    if m.app.backend == Backend::Postgres {
        let visible = async |committee: &str| -> Vec<String> {
            let id = CommitteeId(uuid::Uuid::parse_str(committee).unwrap());
            let tx = m.app.running.db.begin(Scope::Committee(id)).await.unwrap();
            let rows = tx
                .query_all_raw(Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    "SELECT DISTINCT committee_id::text AS c FROM analytics_counters ORDER BY 1",
                ))
                .await
                .unwrap();
            tx.commit().await.unwrap();
            rows.into_iter().map(|r| r.try_get::<String>("", "c").unwrap()).collect()
        };
        assert_eq!(visible(&m.tree.ningjin.id).await, vec![m.tree.ningjin.id.clone()]);
        let mut below_city = vec![m.tree.xingtai.id.clone(), m.tree.ningjin.id.clone(), m.tree.lincheng.id.clone()];
        below_city.sort();
        assert_eq!(visible(&m.tree.xingtai.id).await, below_city);
        assert!(visible(&m.tree.lincheng.id).await.iter().all(|c| *c == m.tree.lincheng.id));
        assert!(visible(&m.tree.zhejiang.id).await.iter().all(|c| *c != m.tree.ningjin.id && *c != m.tree.hebei.id));
    }
    m.app.stop().await;
}

#[tokio::test]
async fn operators_read_the_national_figures_offices_do_not() {
    let m = mix().await;
    let (year, _, _, _) = this_year_and_month();
    let operator = m.app.operator().await;
    let national = |committee_id: &str, rollup: pa::Rollup| pa::GetFiguresRequest {
        committee_id: committee_id.into(),
        period: year.clone(),
        rollup: rollup as i32,
    };

    // The platform: every province's SUBTREE figures summed.
    let all = analytics(&operator).get_figures(national("", pa::Rollup::Subtree)).await.unwrap().into_inner();
    assert_eq!(all.committee_id, "");
    let hebei = figures(&mut analytics(&operator), &m.tree.hebei.id, &year, pa::Rollup::Subtree).await;
    let zhejiang = figures(&mut analytics(&operator), &m.tree.zhejiang.id, &year, pa::Rollup::Subtree).await;
    assert_eq!(counts(&all), sum(&counts(&hebei), &counts(&zhejiang)));
    assert_eq!(all.counts["proposals_submitted"], 7);
    assert_eq!(rate(&all, "filing_rate").numerator, 6);
    let status =
        assert_code(analytics(&operator).get_figures(national("", pa::Rollup::Own)).await, Code::InvalidArgument);
    assert_eq!(violated_field(&status), "rollup");

    // The provinces ranked by submissions: 河北 (6) before 浙江 (1).
    let provinces = analytics(&operator)
        .get_breakdown(pa::GetBreakdownRequest {
            committee_id: String::new(),
            period: year.clone(),
            metric: "proposals_submitted".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let ranked: Vec<(i32, &str, f64)> = provinces.rows.iter().map(|r| (r.rank, r.code.as_str(), r.value)).collect();
    assert_eq!(ranked, vec![(1, "130000", 6.0), (2, "330000", 1.0)]);

    // A provincial office has no national view: the committee is required.
    let status = assert_code(
        analytics(&m.province_admin).get_figures(national("", pa::Rollup::Subtree)).await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_field(&status), "committee_id");
    m.app.stop().await;
}
