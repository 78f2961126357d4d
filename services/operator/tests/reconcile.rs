//! The reconciler against a fake Kubernetes API (tower-test) and a real tenants service
//! (in-process, SQLite, loopback). Each test drives `reconcile` directly, one pass at a time.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{FakeApi, Recorded};
use http::Method;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::runtime::{reflector, watcher};
use xieshang_operator::crd::{AdminContact, Committee, CommitteeLevel, CommitteeSpec, FINALIZER};
use xieshang_operator::reconcile::{Context, Error, error_policy, reconcile};
use xieshang_operator::tenants::{Tenants, TenantsConfig, TenantsError};
use xieshang_proto::common::v1::{CommitteeLevel as PbLevel, Role};
use xieshang_proto::tenants::v1 as pb;
use xieshang_tests::{OPERATOR_PASSWORD, Session, TestApp, committee, spawn_app};

const NS: &str = "xingtai";
const NAME: &str = "ningjin";
const FULL_NAME: &str = "中国人民政治协商会议宁晋县委员会";
const STATUS_PATH: &str = "/apis/xieshang.io/v1/namespaces/xingtai/committees/ningjin/status";
const OBJECT_PATH: &str = "/apis/xieshang.io/v1/namespaces/xingtai/committees/ningjin";
const EVENTS_PATH: &str = "/apis/events.k8s.io/v1/namespaces/xingtai/events";

/// 宁晋县 under 邢台市, as a resource already carrying the finalizer.
fn ningjin_cr() -> Committee {
    let mut cr = Committee::new(
        NAME,
        CommitteeSpec {
            code: "130528".into(),
            name: FULL_NAME.into(),
            level: CommitteeLevel::County,
            parent_code: Some("130500".into()),
            admin: AdminContact {
                username: "ningjin-admin".into(),
                display_name: "张国强".into(),
                phone: Some("0319-5812345".into()),
                email: Some("zhangguoqiang@example.cn".into()),
            },
            suspended: false,
        },
    );
    cr.metadata.namespace = Some(NS.into());
    cr.metadata.uid = Some("6f1c2a7e-0d4b-4c55-9f0e-2b1f3c4d5e6f".into());
    cr.metadata.resource_version = Some("1".into());
    cr.metadata.generation = Some(1);
    cr.metadata.creation_timestamp = Some(Time(Timestamp::from_second(1_767_225_600).unwrap()));
    cr.metadata.finalizers = Some(vec![FINALIZER.into()]);
    cr
}

fn tenants_at(url: String) -> Tenants {
    Tenants::new(TenantsConfig {
        url,
        username: "operator".into(),
        password: OPERATOR_PASSWORD.into(),
        timeout: Duration::from_secs(10),
    })
    .unwrap()
}

fn context(client: kube::Client, tenants: Tenants) -> Arc<Context> {
    Arc::new(Context::new(client, tenants, "xieshang-operator-0", None))
}

/// The tenants service with 河北省 → 邢台市 (and optionally an unrelated 宁晋县政协).
async fn tenants_app(with_parents: bool) -> (TestApp, Session) {
    let app = spawn_app().await;
    let op = app.operator().await;
    if with_parents {
        let mut c = op.committees();
        let hebei = c.create_committee(committee("130000", "河北省政协", PbLevel::Provincial, "")).await.unwrap();
        c.create_committee(committee("130500", "邢台市政协", PbLevel::City, &hebei.into_inner().id)).await.unwrap();
    }
    (app, op)
}

async fn by_code(op: &Session, code: &str) -> Option<pb::Committee> {
    let request = pb::GetCommitteeRequest { id: String::new(), code: code.into() };
    op.committees().get_committee(request).await.ok().map(|r| r.into_inner())
}

async fn audit_count(op: &Session, committee_id: &str) -> usize {
    let request =
        pb::ListAuditEntriesRequest { committee_id: committee_id.into(), page_size: 500, ..Default::default() };
    op.audit().list_audit_entries(request).await.unwrap().into_inner().entries.len()
}

fn methods_and_paths(log: &[Recorded]) -> Vec<(Method, &str)> {
    log.iter().map(|r| (r.method.clone(), r.path.as_str())).collect()
}

/// One pass over the resource the fake server holds now.
async fn pass(api: &FakeApi, ctx: &Arc<Context>) -> Result<Action, Error> {
    reconcile(Arc::new(api.committee()), ctx.clone()).await
}

/// Creates 宁晋县 through the operator; returns the pieces for the next step.
async fn created() -> (TestApp, Session, FakeApi, Arc<Context>) {
    let (app, op) = tenants_app(true).await;
    let (client, api) = FakeApi::start(Some(ningjin_cr()));
    let ctx = context(client, tenants_at(format!("http://{}", app.addr)));
    assert_eq!(pass(&api, &ctx).await.unwrap(), Action::requeue(Duration::from_secs(600)));
    api.take_log();
    (app, op, api, ctx)
}

#[tokio::test]
async fn creates_the_committee_and_its_admin_and_a_second_pass_writes_nothing() {
    let (app, op) = tenants_app(true).await;
    let (client, api) = FakeApi::start(Some(ningjin_cr()));
    let ctx = context(client, tenants_at(format!("http://{}", app.addr)));

    let action = pass(&api, &ctx).await.unwrap();
    assert_eq!(action, Action::requeue(Duration::from_secs(600)));

    let c = by_code(&op, "130528").await.expect("宁晋县 exists in the tenants service");
    assert_eq!(c.name, FULL_NAME);
    assert_eq!(c.level, PbLevel::County as i32);
    assert_eq!(c.parent_code, "130500");
    assert_eq!(c.state, pb::CommitteeState::Active as i32);
    let users = op
        .users()
        .list_users(pb::ListUsersRequest { committee_id: c.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .users;
    let admin = users.iter().find(|u| u.username == "ningjin-admin").expect("the first admin exists");
    assert_eq!(admin.display_name, "张国强");
    assert_eq!(admin.roles, vec![Role::CommitteeAdmin as i32]);

    let log = api.take_log();
    assert_eq!(methods_and_paths(&log), vec![(Method::POST, EVENTS_PATH), (Method::PATCH, STATUS_PATH)]);
    assert_eq!(log[0].body["reason"], "Created");
    assert_eq!(log[0].body["type"], "Normal");
    assert_eq!(log[0].body["reportingController"], "xieshang-operator");
    let status = &log[1].body["status"];
    assert_eq!(status["committeeId"], c.id.as_str());
    assert_eq!(status["state"], "Active");
    assert_eq!(status["observedGeneration"], 1);
    let ready = &status["conditions"][0];
    assert_eq!(ready["type"], "Ready");
    assert_eq!(ready["status"], "True");
    assert_eq!(ready["reason"], "Reconciled");
    assert_eq!(ready["observedGeneration"], 1);
    assert!(ready["lastTransitionTime"].as_str().unwrap().ends_with('Z'));

    // Idempotence: the same resource, now with its status, makes no write anywhere.
    let audit_before = audit_count(&op, &c.id).await;
    let action = pass(&api, &ctx).await.unwrap();
    assert_eq!(action, Action::requeue(Duration::from_secs(600)));
    assert!(api.take_log().is_empty(), "a second pass must not call the Kubernetes API");
    let after = by_code(&op, "130528").await.unwrap();
    assert_eq!(after.etag, c.etag, "a second pass must not update the committee");
    assert_eq!(audit_count(&op, &c.id).await, audit_before, "a second pass must not write to the audit log");
}

#[tokio::test]
async fn renames_suspends_and_reactivates_per_spec() {
    let (_app, op, api, ctx) = created().await;
    let before = by_code(&op, "130528").await.unwrap();

    let mut cr = api.committee();
    cr.spec.name = "宁晋县政协".into();
    cr.metadata.generation = Some(2);
    api.set_committee(cr);
    pass(&api, &ctx).await.unwrap();
    let c = by_code(&op, "130528").await.unwrap();
    assert_eq!(c.name, "宁晋县政协");
    assert_ne!(c.etag, before.etag);
    let log = api.take_log();
    assert_eq!(methods_and_paths(&log), vec![(Method::POST, EVENTS_PATH), (Method::PATCH, STATUS_PATH)]);
    assert_eq!(log[0].body["reason"], "Renamed");
    assert_eq!(log[1].body["status"]["observedGeneration"], 2);
    assert_eq!(log[1].body["status"]["conditions"][0]["observedGeneration"], 2);

    let mut cr = api.committee();
    cr.spec.suspended = true;
    cr.metadata.generation = Some(3);
    api.set_committee(cr);
    pass(&api, &ctx).await.unwrap();
    assert_eq!(by_code(&op, "130528").await.unwrap().state, pb::CommitteeState::Suspended as i32);
    let log = api.take_log();
    assert_eq!(log[0].body["reason"], "Suspended");
    assert_eq!(log[1].body["status"]["state"], "Suspended");
    assert_eq!(log[1].body["status"]["conditions"][0]["status"], "True");

    // Suspended and unchanged: nothing to do.
    pass(&api, &ctx).await.unwrap();
    assert!(api.take_log().is_empty());

    let mut cr = api.committee();
    cr.spec.suspended = false;
    cr.metadata.generation = Some(4);
    api.set_committee(cr);
    pass(&api, &ctx).await.unwrap();
    assert_eq!(by_code(&op, "130528").await.unwrap().state, pb::CommitteeState::Active as i32);
    let log = api.take_log();
    assert_eq!(log[0].body["reason"], "Reactivated");
    assert_eq!(log[1].body["status"]["state"], "Active");
}

#[tokio::test]
async fn deleting_suspends_the_committee_and_removes_the_finalizer() {
    let (_app, op, api, ctx) = created().await;
    let mut cr = api.committee();
    cr.metadata.deletion_timestamp = Some(Time(Timestamp::now()));
    api.set_committee(cr);

    let action = pass(&api, &ctx).await.unwrap();
    assert_eq!(action, Action::await_change());
    let c = by_code(&op, "130528").await.expect("the committee is never deleted");
    assert_eq!(c.state, pb::CommitteeState::Suspended as i32);

    let log = api.take_log();
    assert_eq!(methods_and_paths(&log), vec![(Method::POST, EVENTS_PATH), (Method::PATCH, OBJECT_PATH)]);
    assert_eq!(log[0].body["reason"], "Suspended");
    let ops = log[1].body.as_array().unwrap();
    assert_eq!(ops[0]["op"], "test");
    assert_eq!(ops[0]["value"], FINALIZER);
    assert_eq!(ops[1]["op"], "remove");
    assert_eq!(ops[1]["path"], "/metadata/finalizers/0");
    assert!(api.committee().metadata.finalizers.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn adds_the_finalizer_before_anything_else() {
    let (app, op) = tenants_app(true).await;
    let mut cr = ningjin_cr();
    cr.metadata.finalizers = None;
    let (client, api) = FakeApi::start(Some(cr));
    let ctx = context(client, tenants_at(format!("http://{}", app.addr)));

    assert_eq!(pass(&api, &ctx).await.unwrap(), Action::await_change());
    let log = api.take_log();
    assert_eq!(methods_and_paths(&log), vec![(Method::PATCH, OBJECT_PATH)]);
    assert_eq!(log[0].body[1]["op"], "add");
    assert_eq!(log[0].body[1]["value"][0], FINALIZER);
    assert!(by_code(&op, "130528").await.is_none(), "nothing is created before the finalizer is in place");
}

#[tokio::test]
async fn tenants_unavailable_is_reported_and_retried_with_backoff() {
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (client, api) = FakeApi::start(Some(ningjin_cr()));
    let ctx = context(client, tenants_at(format!("http://{closed}")));

    let obj = Arc::new(api.committee());
    let err = reconcile(obj.clone(), ctx.clone()).await.expect_err("an unreachable tenants service is an error");
    assert!(matches!(err, Error::Tenants(TenantsError::Unavailable(_))), "{err:?}");

    let log = api.take_log();
    assert_eq!(methods_and_paths(&log), vec![(Method::PATCH, STATUS_PATH), (Method::POST, EVENTS_PATH)]);
    let ready = &log[0].body["status"]["conditions"][0];
    assert_eq!(ready["status"], "False");
    assert_eq!(ready["reason"], "TenantsUnavailable");
    assert!(log[0].body["status"].get("committeeId").is_none());
    assert_eq!(log[1].body["type"], "Warning");
    assert_eq!(log[1].body["reason"], "TenantsUnavailable");

    assert_eq!(error_policy(obj.clone(), &err, ctx.clone()), Action::requeue(Duration::from_secs(5)));
    assert_eq!(error_policy(obj.clone(), &err, ctx.clone()), Action::requeue(Duration::from_secs(10)));
    assert_eq!(error_policy(obj.clone(), &err, ctx.clone()), Action::requeue(Duration::from_secs(20)));

    // Still down: the status says so already, only the event is repeated.
    let err = pass(&api, &ctx).await.unwrap_err();
    assert!(matches!(err, Error::Tenants(TenantsError::Unavailable(_))));
    let log = api.take_log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].method, Method::PATCH, "the event recorder counts repeats in a series");
    assert!(log[0].path.starts_with(EVENTS_PATH));
    assert_eq!(log[0].body["series"]["count"], 2);
}

#[tokio::test]
async fn a_committee_the_resource_did_not_create_is_a_code_conflict() {
    let (app, op) = tenants_app(true).await;
    let xingtai = by_code(&op, "130500").await.unwrap();
    let existing = op
        .committees()
        .create_committee(committee("130528", "宁晋县政协", PbLevel::County, &xingtai.id))
        .await
        .unwrap()
        .into_inner();
    let audit_before = audit_count(&op, &existing.id).await;
    let (client, api) = FakeApi::start(Some(ningjin_cr()));
    let ctx = context(client, tenants_at(format!("http://{}", app.addr)));

    let action = pass(&api, &ctx).await.unwrap();
    assert_eq!(action, Action::requeue(Duration::from_secs(300)));
    let log = api.take_log();
    assert_eq!(methods_and_paths(&log), vec![(Method::PATCH, STATUS_PATH), (Method::POST, EVENTS_PATH)]);
    let status = &log[0].body["status"];
    assert!(status.get("committeeId").is_none(), "a foreign committee is not recorded as ours");
    assert_eq!(status["conditions"][0]["status"], "False");
    assert_eq!(status["conditions"][0]["reason"], "CodeConflict");
    assert!(status["conditions"][0]["message"].as_str().unwrap().contains("130528"));
    assert_eq!(log[1].body["type"], "Warning");
    assert_eq!(log[1].body["reason"], "CodeConflict");

    let after = by_code(&op, "130528").await.unwrap();
    assert_eq!(after.etag, existing.etag, "no write to a committee we do not own");
    assert_eq!(after.name, "宁晋县政协");
    assert_eq!(audit_count(&op, &existing.id).await, audit_before);

    // Still conflicting: no status change, no new event.
    pass(&api, &ctx).await.unwrap();
    assert!(api.take_log().is_empty());
}

#[tokio::test]
async fn an_identical_existing_committee_is_adopted() {
    let (app, op) = tenants_app(true).await;
    let xingtai = by_code(&op, "130500").await.unwrap();
    let existing = op
        .committees()
        .create_committee(committee("130528", FULL_NAME, PbLevel::County, &xingtai.id))
        .await
        .unwrap()
        .into_inner();
    let (client, api) = FakeApi::start(Some(ningjin_cr()));
    let ctx = context(client, tenants_at(format!("http://{}", app.addr)));

    pass(&api, &ctx).await.unwrap();
    let log = api.take_log();
    assert_eq!(methods_and_paths(&log), vec![(Method::POST, EVENTS_PATH), (Method::PATCH, STATUS_PATH)]);
    assert_eq!(log[0].body["reason"], "Adopted");
    assert_eq!(log[1].body["status"]["committeeId"], existing.id.as_str());
    assert_eq!(log[1].body["status"]["conditions"][0]["status"], "True");
    let users = op
        .users()
        .list_users(pb::ListUsersRequest { committee_id: existing.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .users;
    assert!(users.iter().any(|u| u.username == "ningjin-admin"), "the first admin is ensured on adoption");
    assert_eq!(by_code(&op, "130528").await.unwrap().etag, existing.etag);
}

#[tokio::test]
async fn a_missing_parent_is_reported_and_rechecked() {
    let (app, op) = tenants_app(false).await;
    let (client, api) = FakeApi::start(Some(ningjin_cr()));
    let ctx = context(client, tenants_at(format!("http://{}", app.addr)));

    assert_eq!(pass(&api, &ctx).await.unwrap(), Action::requeue(Duration::from_secs(30)));
    let log = api.take_log();
    assert_eq!(methods_and_paths(&log), vec![(Method::PATCH, STATUS_PATH), (Method::POST, EVENTS_PATH)]);
    assert_eq!(log[0].body["status"]["conditions"][0]["reason"], "ParentNotFound");
    assert_eq!(log[1].body["reason"], "ParentNotFound");
    assert!(by_code(&op, "130528").await.is_none());
}

#[tokio::test]
async fn a_second_resource_claiming_the_same_code_is_a_conflict() {
    let (app, op) = tenants_app(true).await;
    // 临城县's resource in another namespace, older, and already holding 130528 by mistake of a
    // copy-paste: it wins the code; ours must not touch the tenants service.
    let mut rival = ningjin_cr();
    rival.metadata.namespace = Some("default".into());
    rival.metadata.name = Some("ningjin-copy".into());
    rival.metadata.uid = Some("0a6f4d3e-1111-4c55-9f0e-2b1f3c4d5e6f".into());
    rival.status = Some(xieshang_operator::crd::CommitteeStatus {
        committee_id: Some("0190c0de-0000-7000-8000-000000000000".into()),
        ..Default::default()
    });
    let (store, mut writer) = reflector::store::<Committee>();
    writer.apply_watcher_event(&watcher::Event::Apply(rival));
    writer.apply_watcher_event(&watcher::Event::Apply(ningjin_cr()));

    let (client, api) = FakeApi::start(Some(ningjin_cr()));
    let ctx =
        Arc::new(Context::new(client, tenants_at(format!("http://{}", app.addr)), "xieshang-operator-0", Some(store)));
    assert_eq!(pass(&api, &ctx).await.unwrap(), Action::requeue(Duration::from_secs(300)));
    let log = api.take_log();
    assert_eq!(log[0].body["status"]["conditions"][0]["reason"], "CodeConflict");
    assert!(log[0].body["status"]["conditions"][0]["message"].as_str().unwrap().contains("default/ningjin-copy"));
    assert!(by_code(&op, "130528").await.is_none());
}
