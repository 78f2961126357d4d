//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several replicas exactly one
//! reconciles (kube-runtime 5 has no leader election of its own).
//!
//! Every write names the `resourceVersion` it read, so two candidates racing for the same Lease
//! cannot both win: the API server answers the loser with 409 Conflict. A holder renews every
//! `renew_interval`; the others take over only once `renewTime + leaseDurationSeconds` has passed.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tokio::sync::watch;

/// Name of the operator's Lease.
pub const LEASE_NAME: &str = "xieshang-operator";

#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    /// This replica, e.g. the pod name.
    pub identity: String,
    /// How long a Lease stays valid after its last renewal.
    pub lease_duration: Duration,
    /// How often the holder renews (and a standby retries); well below `lease_duration`.
    pub renew_interval: Duration,
}

impl LeaseConfig {
    pub fn new(namespace: impl Into<String>, identity: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: LEASE_NAME.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_interval: Duration::from_secs(5),
        }
    }
}

/// One replica's view of the Lease.
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

impl LeaderElector {
    pub fn new(client: Client, config: LeaseConfig) -> Self {
        Self { api: Api::namespaced(client, &config.namespace), config }
    }

    fn duration_seconds(&self) -> i32 {
        i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(i32::MAX).max(1)
    }

    /// One round: create the Lease if absent, renew it if ours, take it over if expired.
    /// Returns whether this replica leads now. Losing a race (409) is `Ok(false)`, not an error.
    pub async fn try_acquire_or_renew(&self, now: Timestamp) -> Result<bool, kube::Error> {
        let me = &self.config.identity;
        // A MicroTime keeps microseconds; write what will be read back.
        let now = Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now);
        let current = match self.api.get(&self.config.name).await {
            Ok(lease) => lease,
            Err(e) if is_not_found(&e) => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.config.name.clone()),
                        namespace: Some(self.config.namespace.clone()),
                        ..Default::default()
                    },
                    spec: Some(LeaseSpec {
                        holder_identity: Some(me.clone()),
                        lease_duration_seconds: Some(self.duration_seconds()),
                        acquire_time: Some(MicroTime(now)),
                        renew_time: Some(MicroTime(now)),
                        lease_transitions: Some(0),
                        ..Default::default()
                    }),
                };
                return match self.api.create(&PostParams::default(), &lease).await {
                    Ok(_) => Ok(true),
                    Err(e) if is_conflict(&e) => Ok(false),
                    Err(e) => Err(e),
                };
            }
            Err(e) => return Err(e),
        };
        let spec = current.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.as_deref().filter(|h| !h.is_empty());
        let mut next = current.clone();
        let next_spec = next.spec.get_or_insert_with(Default::default);
        next_spec.renew_time = Some(MicroTime(now));
        next_spec.lease_duration_seconds = Some(self.duration_seconds());
        if holder != Some(me.as_str()) {
            if holder.is_some() && !expired(&spec, now) {
                return Ok(false);
            }
            next_spec.holder_identity = Some(me.clone());
            next_spec.acquire_time = Some(MicroTime(now));
            next_spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        // `next` keeps the resourceVersion read above: a concurrent writer makes this a 409.
        match self.api.replace(&self.config.name, &PostParams::default(), &next).await {
            Ok(_) => Ok(true),
            Err(e) if is_conflict(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Gives the Lease up on shutdown, so a standby takes over at once instead of after
    /// `lease_duration`. Does nothing when another replica holds it.
    pub async fn release(&self) -> Result<(), kube::Error> {
        let mut lease = match self.api.get(&self.config.name).await {
            Ok(lease) => lease,
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        let Some(spec) = lease.spec.as_mut() else { return Ok(()) };
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        match self.api.replace(&self.config.name, &PostParams::default(), &lease).await {
            Err(e) if !is_conflict(&e) => Err(e),
            _ => Ok(()),
        }
    }

    /// Runs forever: publishes leadership on `leader`, and on `api_ok` whether the last round
    /// reached the API server (readiness). A failed renewal drops leadership at once, so that a
    /// partitioned leader stops before another replica's takeover can start.
    pub async fn run(&self, leader: watch::Sender<bool>, api_ok: watch::Sender<bool>) {
        let mut ticker = tokio::time::interval(self.config.renew_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let leads = match self.try_acquire_or_renew(Timestamp::now()).await {
                Ok(leads) => {
                    api_ok.send_replace(true);
                    leads
                }
                Err(e) => {
                    tracing::warn!(error = %e, "lease round failed");
                    api_ok.send_replace(false);
                    false
                }
            };
            if *leader.borrow() != leads {
                tracing::info!(identity = %self.config.identity, leads, "leadership changed");
            }
            leader.send_if_modified(|l| std::mem::replace(l, leads) != leads);
        }
    }
}

/// Whether the Lease's holder let it lapse (no renew time counts as lapsed).
fn expired(spec: &LeaseSpec, now: Timestamp) -> bool {
    let Some(renewed) = spec.renew_time.as_ref() else { return true };
    let seconds = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    renewed.0 + SignedDuration::from_secs(seconds) < now
}
