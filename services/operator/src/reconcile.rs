//! The reconciler's plumbing: reads the committee from the tenants service, asks
//! [`plan::decide`](crate::plan::decide) what to do, performs it, and reports on the resource
//! (status, events). Status is compared before it is patched, so a pass over an unchanged,
//! reconciled resource writes nothing anywhere.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{self, finalizer};
use kube::runtime::reflector::Store;
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::json;
use xieshang_proto::tenants::v1 as pb;

use crate::crd::{Committee, CommitteeStatus, Condition, FINALIZER, READY};
use crate::plan::{self, Claim, Plan, Reason, Step};
use crate::tenants::{Tenants, TenantsError, observe};

/// Name the operator reports events and leases under.
pub const CONTROLLER_NAME: &str = "xieshang-operator";

/// Requeue of a resource that waits on something outside it (a conflicting claim, a parent).
const RECHECK_BLOCKED: Duration = Duration::from_secs(300);
const RECHECK_PARENT: Duration = Duration::from_secs(30);
/// Periodic re-read of a reconciled committee, to notice edits made in the tenants service.
const RECHECK_READY: Duration = Duration::from_secs(600);
/// Error backoff: doubles from the first delay, capped.
pub const BACKOFF_FIRST: Duration = Duration::from_secs(5);
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error(transparent)]
    Tenants(#[from] TenantsError),
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
    #[error("the Committee resource has no namespace")]
    NoNamespace,
}

/// Shared by every reconcile.
pub struct Context {
    pub client: Client,
    pub tenants: Tenants,
    recorder: Recorder,
    /// Every `Committee` the controller sees, to find competing claims on a code.
    claims: Option<Store<Committee>>,
    failures: std::sync::Mutex<HashMap<(String, String), u32>>,
}

impl Context {
    /// `claims` is the controller's reflector store; `None` disables the competing-claim rule.
    pub fn new(client: Client, tenants: Tenants, instance: &str, claims: Option<Store<Committee>>) -> Self {
        let reporter = Reporter { controller: CONTROLLER_NAME.into(), instance: Some(instance.into()) };
        let recorder = Recorder::new(client.clone(), reporter);
        Self { client, tenants, recorder, claims, failures: Default::default() }
    }

    fn rival(&self, obj: &Committee) -> Option<Claim> {
        let store = self.claims.as_ref()?;
        let others: Vec<Claim> =
            store.state().iter().filter(|o| o.spec.code == obj.spec.code).map(|o| claim_of(o)).collect();
        plan::winning_rival(&claim_of(obj), &others).cloned()
    }

    async fn event(&self, obj: &Committee, type_: EventType, reason: &str, action: &str, note: String) {
        let event = Event { type_, reason: reason.into(), note: Some(note), action: action.into(), secondary: None };
        if let Err(e) = self.recorder.publish(&event, &obj.object_ref(&())).await {
            tracing::warn!(error = %e, committee = %obj.name_any(), "could not publish an event");
        }
    }

    fn key(obj: &Committee) -> (String, String) {
        (obj.namespace().unwrap_or_default(), obj.name_any())
    }
}

fn claim_of(o: &Committee) -> Claim {
    Claim {
        namespace: o.namespace().unwrap_or_default(),
        name: o.name_any(),
        holds_committee: o.status.as_ref().is_some_and(|s| s.committee_id.is_some()),
        created: o.metadata.creation_timestamp.as_ref().map_or(i64::MAX, |t| t.0.as_second()),
    }
}

/// The delay before retrying after the `failures`-th consecutive error: 5 s, 10 s, 20 s … 5 min.
pub fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    BACKOFF_FIRST.saturating_mul(1 << exp).min(BACKOFF_MAX)
}

/// `error_policy` of the controller: exponential backoff per resource.
pub fn error_policy(obj: Arc<Committee>, error: &Error, ctx: Arc<Context>) -> Action {
    let n = {
        let mut failures = ctx.failures.lock().unwrap_or_else(|e| e.into_inner());
        let n = failures.entry(Context::key(&obj)).or_insert(0);
        *n += 1;
        *n
    };
    let delay = backoff(n);
    tracing::warn!(committee = %obj.name_any(), %error, failures = n, ?delay, "reconcile failed; retrying");
    Action::requeue(delay)
}

/// Reconciles one resource: the finalizer first, then apply or cleanup.
pub async fn reconcile(obj: Arc<Committee>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = obj.namespace().ok_or(Error::NoNamespace)?;
    let api: Api<Committee> = Api::namespaced(ctx.client.clone(), &ns);
    let key = Context::key(&obj);
    let result = finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            finalizer::Event::Apply(obj) => apply(&obj, &ctx, &api).await,
            finalizer::Event::Cleanup(obj) => cleanup(&obj, &ctx).await,
        }
    })
    .await;
    match result {
        Ok(action) => {
            ctx.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
            Ok(action)
        }
        Err(finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e)) => Err(e),
        Err(e) => Err(Error::Finalizer(Box::new(e))),
    }
}

/// The outcome to report on the `Ready` condition.
struct Outcome<'a> {
    committee: Option<&'a pb::Committee>,
    reason: Reason,
    message: String,
}

async fn apply(obj: &Committee, ctx: &Context, api: &Api<Committee>) -> Result<Action, Error> {
    let spec = &obj.spec;
    let rival = ctx.rival(obj);
    let found = if plan::validate(spec).is_ok() && rival.is_none() {
        match ctx.tenants.committee_by_code(&spec.code).await {
            Ok(found) => found,
            Err(e) => return fail(obj, ctx, api, e).await,
        }
    } else {
        None
    };
    let observed = found.as_ref().map(observe);
    match plan::decide(spec, obj.status.as_ref(), rival.as_ref(), observed.as_ref()) {
        Plan::Blocked { reason, message } => blocked(obj, ctx, api, found.as_ref(), reason, message).await,
        Plan::Create => create(obj, ctx, api).await,
        Plan::Converge { committee_id, adopt, steps } => {
            let mut current = found.clone().expect("converge implies a committee");
            if adopt {
                if let Err(e) = ensure_admin(obj, ctx, &committee_id).await {
                    return fail(obj, ctx, api, e).await;
                }
                let note = format!("adopted the existing committee {} ({})", spec.code, committee_id);
                ctx.event(obj, EventType::Normal, "Adopted", "Adopt", note).await;
            }
            for step in steps {
                let (result, reason, note) = match &step {
                    Step::Rename { to } => (
                        ctx.tenants.rename_committee(&committee_id, &current.etag, to).await,
                        "Renamed",
                        format!("renamed {:?} to {to:?}", current.name),
                    ),
                    Step::Suspend => (
                        ctx.tenants
                            .suspend_committee(&committee_id, &suspend_reason(obj, "spec.suspended is true"))
                            .await,
                        "Suspended",
                        "suspended as spec.suspended asks".into(),
                    ),
                    Step::Reactivate => (
                        ctx.tenants.reactivate_committee(&committee_id).await,
                        "Reactivated",
                        "reactivated as spec.suspended is false".into(),
                    ),
                };
                match result {
                    Ok(updated) => current = updated,
                    Err(e) => return fail(obj, ctx, api, e).await,
                }
                ctx.event(obj, EventType::Normal, reason, "Update", note).await;
            }
            let outcome =
                Outcome { committee: Some(&current), reason: Reason::Reconciled, message: ready_message(&current) };
            report(obj, ctx, api, outcome).await?;
            Ok(Action::requeue(RECHECK_READY))
        }
    }
}

fn suspend_reason(obj: &Committee, why: &str) -> String {
    format!("Committee {}/{}: {why}", obj.namespace().unwrap_or_default(), obj.name_any())
}

fn ready_message(c: &pb::Committee) -> String {
    let state = if c.state == pb::CommitteeState::Suspended as i32 { "suspended" } else { "active" };
    format!("committee {} ({}) is {state}", c.code, c.id)
}

async fn create(obj: &Committee, ctx: &Context, api: &Api<Committee>) -> Result<Action, Error> {
    let spec = &obj.spec;
    let parent_id = match spec.parent_code.as_deref() {
        None => String::new(),
        Some(code) => match ctx.tenants.committee_by_code(code).await {
            Ok(Some(parent)) => parent.id,
            Ok(None) => {
                let message = format!("the parent committee {code} does not exist in the tenants service");
                blocked(obj, ctx, api, None, Reason::ParentNotFound, message).await?;
                return Ok(Action::requeue(RECHECK_PARENT));
            }
            Err(e) => return fail(obj, ctx, api, e).await,
        },
    };
    let mut created = match ctx.tenants.create_committee(&spec.code, &spec.name, spec.level, &parent_id).await {
        Ok(c) => c,
        Err(e) => return fail(obj, ctx, api, e).await,
    };
    let note = format!("created committee {} ({})", created.code, created.id);
    ctx.event(obj, EventType::Normal, "Created", "Create", note).await;
    if let Err(e) = ctx.tenants.create_admin(&created.id, &spec.admin).await {
        return fail(obj, ctx, api, e).await;
    }
    if spec.suspended {
        match ctx.tenants.suspend_committee(&created.id, &suspend_reason(obj, "spec.suspended is true")).await {
            Ok(c) => created = c,
            Err(e) => return fail(obj, ctx, api, e).await,
        }
    }
    let outcome = Outcome { committee: Some(&created), reason: Reason::Reconciled, message: ready_message(&created) };
    report(obj, ctx, api, outcome).await?;
    Ok(Action::requeue(RECHECK_READY))
}

/// Creates the first admin unless a user with that username exists (disabled ones count).
async fn ensure_admin(obj: &Committee, ctx: &Context, committee_id: &str) -> Result<(), TenantsError> {
    if !ctx.tenants.has_user(committee_id, &obj.spec.admin.username).await? {
        ctx.tenants.create_admin(committee_id, &obj.spec.admin).await?;
    }
    Ok(())
}

/// Reports a condition that no write can fix now; the Warning event goes out only when the
/// status changes, so a blocked resource is not re-announced on every pass.
async fn blocked(
    obj: &Committee,
    ctx: &Context,
    api: &Api<Committee>,
    found: Option<&pb::Committee>,
    reason: Reason,
    message: String,
) -> Result<Action, Error> {
    // A committee that is not ours must not leak into our status.
    let owned = found.filter(|c| obj.status.as_ref().and_then(|s| s.committee_id.as_deref()) == Some(c.id.as_str()));
    let changed = report(obj, ctx, api, Outcome { committee: owned, reason, message: message.clone() }).await?;
    if changed {
        ctx.event(obj, EventType::Warning, reason.as_str(), "Reconcile", message).await;
    }
    Ok(match reason {
        Reason::ParentNotFound => Action::requeue(RECHECK_PARENT),
        Reason::InvalidSpec | Reason::ImmutableFieldChanged => Action::await_change(),
        _ => Action::requeue(RECHECK_BLOCKED),
    })
}

/// A failed tenants call: an invalid request waits for a new spec; everything else is reported
/// (status for an unreachable service or refused account, an event always) and returned as an
/// error so that `error_policy` retries with backoff.
async fn fail(obj: &Committee, ctx: &Context, api: &Api<Committee>, error: TenantsError) -> Result<Action, Error> {
    let reason = match &error {
        TenantsError::Invalid(message) => {
            return blocked(obj, ctx, api, None, Reason::InvalidSpec, message.clone()).await;
        }
        TenantsError::Unavailable(_) => Some(Reason::TenantsUnavailable),
        TenantsError::Auth(_) => Some(Reason::TenantsAuthFailed),
        _ => None,
    };
    if let Some(reason) = reason {
        let outcome = Outcome { committee: None, reason, message: error.to_string() };
        if let Err(e) = report(obj, ctx, api, outcome).await {
            tracing::warn!(error = %e, committee = %obj.name_any(), "could not patch the status");
        }
    }
    let event_reason = reason.map_or("ReconcileFailed", Reason::as_str);
    ctx.event(obj, EventType::Warning, event_reason, "Reconcile", error.to_string()).await;
    Err(error.into())
}

/// The status this outcome calls for, given the current one.
pub fn next_status(
    obj: &Committee,
    outcome_committee: Option<&pb::Committee>,
    reason: Reason,
    message: &str,
    now: Timestamp,
) -> CommitteeStatus {
    let old = obj.status.clone().unwrap_or_default();
    let status = if reason == Reason::Reconciled { "True" } else { "False" };
    let last_transition_time = match old.ready() {
        Some(c) if c.status == status => c.last_transition_time.clone(),
        _ => Timestamp::from_second(now.as_second()).unwrap_or(now).to_string(),
    };
    let ready = Condition {
        type_: READY.into(),
        status: status.into(),
        reason: reason.as_str().into(),
        message: message.into(),
        last_transition_time,
        observed_generation: obj.metadata.generation,
    };
    let mut conditions: Vec<Condition> = old.conditions.iter().filter(|c| c.type_ != READY).cloned().collect();
    conditions.insert(0, ready);
    CommitteeStatus {
        committee_id: outcome_committee.map(|c| c.id.clone()).or(old.committee_id.clone()),
        state: outcome_committee
            .map(|c| if c.state == pb::CommitteeState::Suspended as i32 { "Suspended" } else { "Active" }.to_owned())
            .or(old.state.clone()),
        observed_generation: obj.metadata.generation,
        conditions,
    }
}

/// Patches the status when it differs from the current one; returns whether it did.
async fn report(obj: &Committee, _ctx: &Context, api: &Api<Committee>, outcome: Outcome<'_>) -> Result<bool, Error> {
    let next = next_status(obj, outcome.committee, outcome.reason, &outcome.message, Timestamp::now());
    if obj.status.as_ref() == Some(&next) {
        return Ok(false);
    }
    api.patch_status(&obj.name_any(), &PatchParams::default(), &Patch::Merge(json!({ "status": next }))).await?;
    Ok(true)
}

/// On delete: suspend the owned committee (never delete it); the finalizer is removed after.
async fn cleanup(obj: &Committee, ctx: &Context) -> Result<Action, Error> {
    if plan::validate(&obj.spec).is_err() {
        return Ok(Action::await_change());
    }
    let result = async {
        let found = ctx.tenants.committee_by_code(&obj.spec.code).await?;
        let observed = found.as_ref().map(observe);
        if let Some(id) = plan::on_delete(obj.status.as_ref(), observed.as_ref()) {
            ctx.tenants.suspend_committee(id, &suspend_reason(obj, "the resource was deleted")).await?;
            Ok::<_, TenantsError>(Some(id.to_owned()))
        } else {
            Ok(None)
        }
    }
    .await;
    match result {
        Ok(Some(id)) => {
            let note = format!("suspended committee {} ({id}) as its resource was deleted", obj.spec.code);
            ctx.event(obj, EventType::Normal, "Suspended", "Delete", note).await;
            Ok(Action::await_change())
        }
        Ok(None) => Ok(Action::await_change()),
        Err(e) => {
            let reason = if matches!(e, TenantsError::Unavailable(_)) { "TenantsUnavailable" } else { "CleanupFailed" };
            ctx.event(obj, EventType::Warning, reason, "Delete", e.to_string()).await;
            Err(e.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds_to_five_minutes() {
        let secs: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }
}
