//! Lease-based leader election against the fake API server.

mod common;

use std::time::Duration;

use common::FakeApi;
use http::Method;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::ObjectMeta;
use xieshang_operator::leader::{LeaderElector, LeaseConfig};

const LEASE_PATH: &str = "/apis/coordination.k8s.io/v1/namespaces/xieshang-system/leases";

/// Now, at the microsecond precision a `MicroTime` keeps.
fn now() -> Timestamp {
    Timestamp::from_microsecond(Timestamp::now().as_microsecond()).unwrap()
}

fn elector(client: kube::Client, identity: &str) -> LeaderElector {
    LeaderElector::new(client, LeaseConfig::new("xieshang-system", identity))
}

fn held_by(identity: &str, renewed: Timestamp) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some("xieshang-operator".into()),
            namespace: Some("xieshang-system".into()),
            resource_version: Some("7".into()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(identity.into()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(MicroTime(renewed)),
            renew_time: Some(MicroTime(renewed)),
            lease_transitions: Some(2),
            ..Default::default()
        }),
    }
}

#[tokio::test]
async fn acquires_a_free_lease_and_renews_it() {
    let (client, api) = FakeApi::start(None);
    let me = elector(client, "xieshang-operator-0");
    let t0 = now();

    assert!(me.try_acquire_or_renew(t0).await.unwrap());
    let log = api.take_log();
    let calls: Vec<_> = log.iter().map(|r| (r.method.clone(), r.path.clone())).collect();
    assert_eq!(
        calls,
        vec![(Method::GET, format!("{LEASE_PATH}/xieshang-operator")), (Method::POST, LEASE_PATH.to_owned())]
    );
    let lease = api.lease().unwrap();
    let spec = lease.spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("xieshang-operator-0"));
    assert_eq!(spec.lease_duration_seconds, Some(15));
    assert_eq!(spec.lease_transitions, Some(0));

    let t1 = t0 + SignedDuration::from_secs(5);
    assert!(me.try_acquire_or_renew(t1).await.unwrap());
    let log = api.take_log();
    assert_eq!(log[1].method, Method::PUT);
    assert_eq!(log[1].body["metadata"]["resourceVersion"], "1", "the write names the version it read");
    let spec = api.lease().unwrap().spec.unwrap();
    assert_eq!(spec.renew_time.unwrap().0, t1);
    assert_eq!(spec.acquire_time.unwrap().0, t0, "renewing keeps the acquire time");
    assert_eq!(spec.lease_transitions, Some(0));
}

#[tokio::test]
async fn does_not_take_a_lease_another_replica_holds() {
    let (client, api) = FakeApi::start(None);
    let now = now();
    api.set_lease(Some(held_by("xieshang-operator-1", now - SignedDuration::from_secs(3))));
    let me = elector(client, "xieshang-operator-0");

    assert!(!me.try_acquire_or_renew(now).await.unwrap());
    let log = api.take_log();
    assert_eq!(log.len(), 1, "a standby only reads the Lease");
    assert_eq!(log[0].method, Method::GET);
    assert_eq!(api.lease().unwrap().spec.unwrap().holder_identity.as_deref(), Some("xieshang-operator-1"));
}

#[tokio::test]
async fn takes_over_an_expired_lease() {
    let (client, api) = FakeApi::start(None);
    let now = now();
    api.set_lease(Some(held_by("xieshang-operator-1", now - SignedDuration::from_secs(16))));
    let me = elector(client, "xieshang-operator-0");

    assert!(me.try_acquire_or_renew(now).await.unwrap());
    let log = api.take_log();
    assert_eq!(log[1].method, Method::PUT);
    assert_eq!(log[1].body["metadata"]["resourceVersion"], "7");
    let spec = api.lease().unwrap().spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("xieshang-operator-0"));
    assert_eq!(spec.acquire_time.unwrap().0, now);
    assert_eq!(spec.lease_transitions, Some(3));
}

#[tokio::test]
async fn losing_a_race_is_not_leading() {
    let (client, api) = FakeApi::start(None);
    let now = now();
    api.set_lease(Some(held_by("xieshang-operator-1", now - SignedDuration::from_secs(60))));
    api.conflict_next_lease_write();
    let me = elector(client.clone(), "xieshang-operator-0");
    assert!(!me.try_acquire_or_renew(now).await.unwrap(), "a 409 on takeover means another replica won");

    // Two replicas creating the Lease at once: the second create is refused.
    api.set_lease(None);
    let other = elector(client, "xieshang-operator-1");
    assert!(other.try_acquire_or_renew(now).await.unwrap());
    api.set_lease(None);
    api.conflict_next_lease_write();
    assert!(!me.try_acquire_or_renew(now).await.unwrap());
}

#[tokio::test]
async fn run_publishes_leadership_and_readiness() {
    let (client, api) = FakeApi::start(None);
    let mut config = LeaseConfig::new("xieshang-system", "xieshang-operator-0");
    config.renew_interval = Duration::from_millis(20);
    let (leader_tx, mut leader_rx) = tokio::sync::watch::channel(false);
    let (ready_tx, mut ready_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move { LeaderElector::new(client, config).run(leader_tx, ready_tx).await });

    tokio::time::timeout(Duration::from_secs(5), leader_rx.wait_for(|l| *l)).await.unwrap().unwrap();
    tokio::time::timeout(Duration::from_secs(5), ready_rx.wait_for(|r| *r)).await.unwrap().unwrap();

    // Another replica takes the Lease (as if ours had lapsed): leadership is dropped.
    api.set_lease(Some(held_by("xieshang-operator-1", Timestamp::now() + SignedDuration::from_secs(60))));
    tokio::time::timeout(Duration::from_secs(5), leader_rx.wait_for(|l| !*l)).await.unwrap().unwrap();
    assert!(*ready_rx.borrow(), "a standby is still ready");
    task.abort();
}

#[tokio::test]
async fn release_gives_up_only_our_own_lease() {
    let (client, api) = FakeApi::start(None);
    let me = elector(client.clone(), "xieshang-operator-0");
    let other = elector(client, "xieshang-operator-1");
    let t0 = now();
    assert!(me.try_acquire_or_renew(t0).await.unwrap());
    me.release().await.unwrap();
    let spec = api.lease().unwrap().spec.unwrap();
    assert_eq!(spec.holder_identity, None);
    assert_eq!(spec.lease_duration_seconds, Some(1));

    // A released Lease is free: another replica takes it at once, well before it would expire.
    assert!(other.try_acquire_or_renew(t0).await.unwrap());
    api.take_log();
    me.release().await.unwrap();
    let log = api.take_log();
    assert_eq!(log.len(), 1, "releasing someone else's Lease only reads it");
    assert_eq!(api.lease().unwrap().spec.unwrap().holder_identity.as_deref(), Some("xieshang-operator-1"));
}
