//! Distributed mode: every service its own `xieshang` process on PostgreSQL,
//! events on Redis Streams (see `xieshang_tests::cluster`). These run only in
//! the PostgreSQL suite (`XIESHANG_TEST_BACKEND=postgres`), which CI requires.
//!
//! - A proposal filed in a county reaches the member's performance record
//!   (membership process) and the province's rolled-up figures (analytics
//!   process); a SIGKILLed consumer, restarted, applies every event of a burst
//!   exactly once (incremental counters equal a full rebuild).
//! - Any process answers any RPC, forwarding to the peer that runs it with a
//!   deadline and the trace context: one request is one trace across processes.
//! - With Redis unreachable, requests keep working, events wait in the outbox,
//!   health reports the degradation, and everything drains when it returns.

use std::time::Duration;

use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use xieshang_platform::config::{Config, Value};
use xieshang_platform::db::Db;
use xieshang_proto::analytics::v1 as pa;
use xieshang_proto::analytics::v1::analytics_service_client::AnalyticsServiceClient;
use xieshang_proto::common::v1::Role;
use xieshang_proto::membership::v1 as pm;
use xieshang_proto::proposals::v1 as pp;
use xieshang_proto::tenants::v1 as pb;
use xieshang_tests::cluster::{Cluster, RedisProxy, redis_url};
use xieshang_tests::*;

use crate::membership::{id_number, this_year};

fn postgres_suite() -> bool {
    if Backend::from_env() == Backend::Postgres {
        return true;
    }
    eprintln!("distributed mode runs in the PostgreSQL suite (XIESHANG_TEST_BACKEND=postgres)");
    false
}

async fn database(url: &str) -> Db {
    let config = Config::load(None, &[("database.url", Value::from(url))]).unwrap();
    Db::connect(&config.database).await.unwrap()
}

/// 宁晋县 ready for proposals: a term, a session, office staff, and 张建国 on
/// the roster with an account — each call made to the process that owns it.
struct Ningjin {
    tree: Tree,
    staff: Session,
    zhang: Session,
    province: Session,
}

async fn ningjin(cluster: &Cluster) -> Ningjin {
    let operator = cluster.login("", "operator", OPERATOR_PASSWORD).await;
    let tree = seed_tree_as(&operator).await;
    let admin = cluster.login("130528", "admin", PASSWORD).await;
    let id = tree.ningjin.id.clone();
    let mut committees = admin.committees();
    open_tenth_term(&mut committees, &id).await;
    create_user(&admin, &id, "liuyang", "刘洋", &[Role::Staff]).await;
    create_user(&admin, &id, "zhangjianguo", "张建国", &[Role::Member]).await;
    let staff = cluster.login("130528", "liuyang", PASSWORD).await;
    let zhang = cluster.login("130528", "zhangjianguo", PASSWORD).await;

    let membership = staff.on(cluster.channel("membership"));
    let mut roster = membership.membership();
    let mut item = async |kind: pm::ReferenceKind, code: &str, name: &str| {
        let item = pm::ReferenceItem { kind: kind as i32, code: code.into(), name: name.into(), ..Default::default() };
        roster.create_reference_item(pm::CreateReferenceItemRequest { item: Some(item) }).await.unwrap().into_inner().id
    };
    let sector_id = item(pm::ReferenceKind::Sector, "12", "经济界").await;
    let activity_group_id = item(pm::ReferenceKind::ActivityGroup, "", "宁晋县第一活动小组").await;
    let special_committee_id = item(pm::ReferenceKind::SpecialCommittee, "", "提案委员会").await;
    let member = pm::Member {
        sector_id,
        activity_group_id,
        special_committee_id,
        name: "张建国".into(),
        gender: pm::Gender::Male as i32,
        ethnicity: "汉族".into(),
        party: pm::PartyAffiliation::Cdl as i32,
        work_unit: "宁晋县晶龙实业集团".into(),
        title: "副总经理".into(),
        phone: "13831912345".into(),
        id_number: id_number("13052819720305123"),
        term_number: 10,
        role: pm::MemberRole::Member as i32,
        user_id: zhang.user.id.clone(),
        ..Default::default()
    };
    let created = membership.membership().create_member(pm::CreateMemberRequest { member: Some(member) }).await;
    created.unwrap_or_else(|e| panic!("create 张建国 on the roster: {e:?}"));
    let province = cluster.login("130000", "admin", PASSWORD).await;
    Ningjin { tree, staff, zhang, province }
}

/// 张建国 drafts and submits a proposal (proposals process); the office files it.
async fn file_proposal(cluster: &Cluster, n: &Ningjin, title: String) {
    file_proposal_via(cluster, n, title, "proposals").await
}

/// The same, with the filing sent to the process running `entry` (which
/// forwards it when that is not the proposals process).
async fn file_proposal_via(cluster: &Cluster, n: &Ningjin, title: String, entry: &str) {
    let mut member = n.zhang.on(cluster.channel("proposals")).proposals();
    let draft = member
        .create_proposal(pp::CreateProposalRequest {
            proposal: Some(pp::Proposal {
                kind: pp::ProposalKind::Individual as i32,
                title,
                body: "宁晋县东部乡镇盐碱地面积较大，建议整合农田水利资金，推广暗管排盐与耐盐作物种植。".into(),
                category: pp::ProposalCategory::Economic as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    member.submit_proposal(pp::SubmitProposalRequest { id: draft.id.clone() }).await.unwrap();
    let mut office = n.staff.on(cluster.channel(entry)).proposals();
    office.file_proposal(pp::FileProposalRequest { id: draft.id }).await.unwrap();
}

async fn record_entries(cluster: &Cluster, n: &Ningjin) -> Option<usize> {
    let mut mine = n.zhang.on(cluster.channel("membership")).membership();
    let record = mine.get_my_record(pm::GetMyRecordRequest { year: this_year() }).await.ok()?.into_inner();
    Some(record.entries.iter().filter(|e| e.kind == pm::RecordKind::Proposals as i32).count())
}

async fn provincial_filed(cluster: &Cluster, n: &Ningjin) -> Option<i64> {
    let session = n.province.on(cluster.channel("analytics"));
    let mut analytics = AnalyticsServiceClient::with_interceptor(session.channel.clone(), session.bearer());
    let figures = analytics
        .get_figures(pa::GetFiguresRequest {
            committee_id: n.tree.hebei.id.clone(),
            period: this_year().to_string(),
            rollup: pa::Rollup::Subtree as i32,
        })
        .await
        .ok()?
        .into_inner();
    Some(figures.counts.get("proposals_filed").copied().unwrap_or(0))
}

async fn wait_for(what: &str, within: Duration, check: impl AsyncFn() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out after {within:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_county_proposal_reaches_other_processes_and_a_killed_consumer_applies_every_event_once() {
    if !postgres_suite() {
        return;
    }
    let mut cluster = Cluster::start(&["tenants", "membership", "proposals", "analytics"], &redis_url()).await;
    let n = ningjin(&cluster).await;

    // One proposal filed in 宁晋县: the member's record (membership process)
    // and 河北省's rolled-up figures (analytics process) both show it.
    file_proposal(&cluster, &n, "关于推进宁晋县盐碱地综合治理的建议".into()).await;
    wait_for("the record entry and the provincial figure", Duration::from_secs(30), async || {
        record_entries(&cluster, &n).await == Some(1) && provincial_filed(&cluster, &n).await == Some(1)
    })
    .await;

    // The committee cache every process shares: the filing cached 宁晋县's
    // entry in Redis; renaming it in the tenants process drops the entry at
    // once, and the next filing caches the new name.
    let key = format!("{}:committee:{}", cluster.redis_prefix, n.tree.ningjin.id);
    let cached = async || -> Option<String> {
        let client = redis::Client::open(redis_url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("GET").arg(&key).query_async::<Option<String>>(&mut conn).await.unwrap()
    };
    assert!(cached().await.is_some_and(|json| json.contains("宁晋县政协")), "the filing cached the committee");
    let operator = cluster.login("", "operator", OPERATOR_PASSWORD).await;
    operator
        .committees()
        .update_committee(pb::UpdateCommitteeRequest {
            committee: Some(pb::Committee {
                id: n.tree.ningjin.id.clone(),
                name: "宁晋县政协委员会".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["name".into()] }),
        })
        .await
        .unwrap();
    assert_eq!(cached().await, None, "the change invalidated the cached committee");
    file_proposal(&cluster, &n, "关于完善宁晋县农村供水保障的建议".into()).await;
    assert!(cached().await.is_some_and(|json| json.contains("宁晋县政协委员会")), "cached again, renamed");

    // A burst of filings; the analytics process is SIGKILLed in the middle of it.
    const BURST: usize = 24;
    for i in 0..BURST {
        if i == BURST / 3 {
            cluster.process("analytics").kill().await;
        }
        file_proposal(&cluster, &n, format!("关于宁晋县第{}批高标准农田建设的建议", i + 1)).await;
    }
    cluster.process("analytics").restart().await;

    let total = (BURST + 2) as i64;
    wait_for("every filing in the record and the provincial figure", Duration::from_secs(60), async || {
        record_entries(&cluster, &n).await == Some(total as usize)
            && provincial_filed(&cluster, &n).await == Some(total)
    })
    .await;

    // Exactly once: nothing more arrives, and the incremental counters equal a
    // full rebuild from the event log.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(provincial_filed(&cluster, &n).await, Some(total));
    assert_eq!(record_entries(&cluster, &n).await, Some(total as usize));
    let analytics = xieshang_analytics::AnalyticsService::new(database(&cluster.database_url).await);
    let incremental = analytics.store().counters().await.unwrap();
    assert!(!incremental.is_empty());
    analytics.rebuild(&|_| {}).await.unwrap();
    assert_eq!(analytics.store().counters().await.unwrap(), incremental, "incremental counters equal a rebuild");
    cluster.stop().await;
}

async fn redis_health(cluster: &Cluster, service: &str) -> Option<i32> {
    let mut health = HealthClient::new(cluster.channel(service));
    let response = health.check(HealthCheckRequest { service: xieshang::app::REDIS_HEALTH.into() }).await.ok()?;
    Some(response.into_inner().status)
}

async fn unpublished(db: &Db) -> i64 {
    use sea_orm::ConnectionTrait;
    // The outbox is readable in the system scope only (row-level security).
    let tx = db.begin(xieshang_platform::db::Scope::System).await.unwrap();
    let row = tx
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL",
        ))
        .await
        .unwrap()
        .unwrap();
    let n = row.try_get("", "n").unwrap();
    tx.commit().await.unwrap();
    n
}

#[tokio::test]
async fn with_redis_unreachable_requests_work_events_wait_and_then_drain() {
    if !postgres_suite() {
        return;
    }
    let proxy = RedisProxy::start().await;
    let cluster = Cluster::start(&["tenants", "membership", "proposals"], &proxy.url()).await;
    let n = ningjin(&cluster).await;
    let db = database(&cluster.database_url).await;
    wait_for("Redis healthy", Duration::from_secs(10), async || {
        redis_health(&cluster, "proposals").await == Some(ServingStatus::Serving as i32)
    })
    .await;

    proxy.cut();
    // Requests that do not need Redis keep working: the filing commits, its
    // events wait in the outbox.
    file_proposal(&cluster, &n, "关于完善宁晋县农村供水保障的建议".into()).await;
    file_proposal(&cluster, &n, "关于加强宁晋县中小学课后服务的建议".into()).await;
    wait_for("health to report Redis down", Duration::from_secs(30), async || {
        redis_health(&cluster, "proposals").await == Some(ServingStatus::NotServing as i32)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(unpublished(&db).await > 0, "events wait in the outbox while Redis is down");
    assert_eq!(record_entries(&cluster, &n).await, Some(0));
    // Signing in and reading do not need Redis either.
    let again = cluster.login("130528", "zhangjianguo", PASSWORD).await;
    let mine =
        again.on(cluster.channel("proposals")).proposals().list_proposals(pp::ListProposalsRequest::default()).await;
    assert!(mine.is_ok(), "{mine:?}");

    proxy.restore().await;
    wait_for("the outbox to drain and the record to catch up", Duration::from_secs(60), async || {
        unpublished(&db).await == 0 && record_entries(&cluster, &n).await == Some(2)
    })
    .await;
    wait_for("health to report Redis back", Duration::from_secs(30), async || {
        redis_health(&cluster, "proposals").await == Some(ServingStatus::Serving as i32)
    })
    .await;
    cluster.stop().await;
}

#[tokio::test]
async fn a_session_ended_in_the_tenants_process_is_refused_by_the_others() {
    if !postgres_suite() {
        return;
    }
    let cluster = Cluster::start(&["tenants", "proposals"], &redis_url()).await;
    let operator = cluster.login("", "operator", OPERATOR_PASSWORD).await;
    let tree = seed_tree_as(&operator).await;
    let admin = cluster.login("130528", "admin", PASSWORD).await;
    let elsewhere = admin.on(cluster.channel("proposals"));
    elsewhere.proposals().list_proposals(pp::ListProposalsRequest::default()).await.unwrap();
    // Any process is an entry point: the tenants process forwards to proposals.
    admin.proposals().list_proposals(pp::ListProposalsRequest::default()).await.unwrap();
    admin.auth().logout(pb::LogoutRequest {}).await.unwrap();
    // The proposals process learns of the logout through Redis, at once.
    wait_for("the proposals process to refuse the ended session", Duration::from_secs(10), async || {
        let result = elsewhere.proposals().list_proposals(pp::ListProposalsRequest::default()).await;
        matches!(result, Err(status) if status.code() == Code::Unauthenticated)
    })
    .await;
    let _ = tree;

    // A peer that is down: the caller gets UNAVAILABLE naming it, at once.
    let mut cluster = cluster;
    cluster.process("proposals").kill().await;
    let again = cluster.login("130528", "admin", PASSWORD).await;
    let status = again.proposals().list_proposals(pp::ListProposalsRequest::default()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("proposals"), "{status:?}");
    cluster.stop().await;
}

/// Collects exported spans: (service.name, trace id, span name).
#[derive(Clone, Default)]
struct OtlpReceiver {
    spans: std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>, String)>>>,
}

#[tonic::async_trait]
impl opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceService for OtlpReceiver {
    async fn export(
        &self,
        request: tonic::Request<opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest>,
    ) -> Result<
        tonic::Response<opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse>,
        tonic::Status,
    > {
        use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
        let mut spans = self.spans.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| r.attributes.iter())
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref()?.value.as_ref())
                .map(|v| match v {
                    Any::StringValue(s) => s.clone(),
                    other => format!("{other:?}"),
                })
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    spans.push((service.clone(), span.trace_id, span.name));
                }
            }
        }
        Ok(tonic::Response::new(Default::default()))
    }
}

#[tonic::async_trait]
impl opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::MetricsService for OtlpReceiver {
    async fn export(
        &self,
        _request: tonic::Request<opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest>,
    ) -> Result<
        tonic::Response<opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse>,
        tonic::Status,
    > {
        Ok(tonic::Response::new(Default::default()))
    }
}

#[tokio::test]
async fn one_request_is_one_trace_across_the_processes_it_reaches() {
    use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::MetricsServiceServer;
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceServiceServer;
    if !postgres_suite() {
        return;
    }
    let receiver = OtlpReceiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let server = tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(receiver.clone()))
        .add_service(MetricsServiceServer::new(receiver.clone()))
        .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener));
    let server = tokio::spawn(server);

    let cluster = Cluster::start_with(
        &["tenants", "membership", "proposals"],
        &redis_url(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
            // Spans are `info`; the rest of the log stays quiet.
            ("XIESHANG__LOG__FILTER", "warn,xieshang_platform::telemetry=info,xieshang_platform::events=info"),
        ],
    )
    .await;
    let n = ningjin(&cluster).await;
    // The filing enters at the tenants process, which forwards it.
    file_proposal_via(&cluster, &n, "关于推进宁晋县盐碱地综合治理的建议".into(), "tenants").await;
    wait_for("the record entry", Duration::from_secs(30), async || record_entries(&cluster, &n).await == Some(1)).await;

    // The forwarding (tenants), the FileProposal RPC (proposals) and its
    // effect (membership applying ProposalFiled) share one trace id.
    const FILE: &str = "/xieshang.proposals.v1.ProposalService/FileProposal";
    let shared = async || {
        let spans = receiver.spans.lock().unwrap().clone();
        let has = |trace: &Vec<u8>, service: &str, name: &dyn Fn(&str) -> bool| {
            spans.iter().any(|(s, t, n)| t == trace && s == service && name(n))
        };
        spans.iter().filter(|(s, _, n)| s == "xieshang-tenants" && n == FILE).any(|(_, trace, _)| {
            has(trace, "xieshang-proposals", &|n| n == FILE)
                && has(trace, "xieshang-membership", &|n| n.contains("ProposalFiled"))
        })
    };
    wait_for("spans of three processes under one trace id", Duration::from_secs(30), shared).await;
    cluster.stop().await;
    server.abort();
}
