//! Events a handler can never apply: recorded in `event_dead_letters` for that
//! handler, which goes on with later events; listed, retried and discarded
//! with `xieshang events …`.
//!
//! The poison comes from a test handler subscribed to the running server's
//! bus (as `Recorder` is): it refuses chosen real events (the committees the
//! operator creates) until the test heals it.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use clap::Parser;
use xieshang::cli::{Cli, Command};
use xieshang::events_cli::{EventsAction, Handlers};
use xieshang_platform::config::Value;
use xieshang_platform::events::{EventHandler, HandlerError, permanent};
use xieshang_proto::common::v1::CommitteeLevel;
use xieshang_proto::events::v1::{Event, event::Payload};
use xieshang_tests::*;

/// Refuses the `CommitteeCreated` event of one committee code — permanently,
/// or with a retryable error — until healed; records the codes it applied.
struct Refuser {
    name: &'static str,
    refuse: Mutex<Option<String>>,
    permanent: bool,
    applied: Mutex<Vec<String>>,
}

impl Refuser {
    fn new(name: &'static str, code: &str, permanent: bool) -> Arc<Self> {
        Arc::new(Self { name, refuse: Mutex::new(Some(code.to_owned())), permanent, applied: Mutex::default() })
    }

    fn applied(&self) -> Vec<String> {
        self.applied.lock().unwrap().clone()
    }

    fn heal(&self) {
        *self.refuse.lock().unwrap() = None;
    }
}

#[async_trait]
impl EventHandler for Refuser {
    fn name(&self) -> &str {
        self.name
    }

    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        let Some(Payload::CommitteeCreated(created)) = &event.payload else { return Ok(()) };
        if self.refuse.lock().unwrap().as_deref() == Some(created.code.as_str()) {
            let err = format!("committee {} violates a constraint", created.code);
            return Err(if self.permanent { permanent(err) } else { err.into() });
        }
        let mut applied = self.applied.lock().unwrap();
        if !applied.contains(&created.code) {
            applied.push(created.code.clone());
        }
        Ok(())
    }
}

fn events_action(args: &[&str]) -> EventsAction {
    let cli = Cli::try_parse_from(["xieshang", "events"].into_iter().chain(args.iter().copied())).expect("parses");
    let Command::Events { action } = cli.command else { panic!("not an events command: {args:?}") };
    action
}

/// `xieshang events …` as the binary runs it: against the app's database,
/// with the services' own handlers.
async fn xieshang_events(app: &TestApp, args: &[&str]) -> anyhow::Result<String> {
    let mut out = Vec::new();
    xieshang::events_cli::run(&app.config, events_action(args), &mut out).await?;
    Ok(String::from_utf8(out)?)
}

/// The same, re-delivering to `handlers` (the test's own).
async fn xieshang_events_with(app: &TestApp, handlers: Handlers, args: &[&str]) -> anyhow::Result<String> {
    let mut out = Vec::new();
    xieshang::events_cli::execute(&app.running.dead_letters, &handlers, events_action(args), &mut out).await?;
    Ok(String::from_utf8(out)?)
}

#[tokio::test]
async fn a_permanent_failure_is_dead_lettered_without_blocking_later_events_and_retried_once_fixed() {
    let app = spawn_app().await;
    let refuser = Refuser::new("test-refuser", "130000", true);
    app.running.bus.subscribe(refuser.clone());
    let op = app.operator().await;
    let mut committees = op.committees();
    let hebei = committees
        .create_committee(committee("130000", "河北省政协", CommitteeLevel::Provincial, ""))
        .await
        .unwrap()
        .into_inner();
    committees.create_committee(committee("130500", "邢台市政协", CommitteeLevel::City, &hebei.id)).await.unwrap();
    committees.create_committee(committee("330000", "浙江省政协", CommitteeLevel::Provincial, "")).await.unwrap();

    eventually("the events after the poison one applied", async || refuser.applied() == ["130500", "330000"]).await;
    let open = app.running.dead_letters.list(Some("test-refuser"), false).await.unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    let entry = &open[0];
    assert_eq!(entry.event_type, "CommitteeCreated");
    assert_eq!(entry.committee_id.map(|c| c.to_string()), Some(hebei.id.clone()));
    assert_eq!(entry.attempts, 1, "a permanent error is not retried");
    assert_eq!(entry.last_error, "committee 130000 violates a constraint");
    assert!(
        xieshang_platform::metrics::render().contains("xieshang_events_dead_lettered_total{handler=\"test-refuser\"}")
    );

    // The operator's listing, as JSON and as a table.
    let json = xieshang_events(&app, &["dead-letters", "--handler", "test-refuser", "--json"]).await.unwrap();
    let listed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(listed[0]["id"], entry.id.to_string());
    assert_eq!(listed[0]["event_id"], entry.event_id.to_string());
    assert_eq!(listed[0]["committee_id"], hebei.id);
    assert_eq!(listed[0]["resolved_at"], serde_json::Value::Null);
    let printed = xieshang_events(&app, &["dead-letters"]).await.unwrap();
    assert!(printed.contains(&entry.id.to_string()) && printed.contains("test-refuser"), "{printed}");
    assert!(printed.contains("CommitteeCreated") && printed.contains("1 unresolved"), "{printed}");
    let other = xieshang_events(&app, &["dead-letters", "--handler", "analytics"]).await.unwrap();
    assert!(other.contains("no unresolved dead letters"), "{other}");

    // Retrying while the fault lasts fails and keeps the entry open.
    let id = entry.id.to_string();
    let handlers = || Handlers { handlers: vec![refuser.clone() as Arc<dyn EventHandler>], unavailable: None };
    let err = xieshang_events_with(&app, handlers(), &["retry", &id]).await.expect_err("still refused");
    assert!(format!("{err:#}").contains("violates a constraint"), "{err:#}");
    let still = app.running.dead_letters.get(entry.id).await.unwrap().unwrap();
    assert_eq!((still.attempts, still.resolved_at), (2, None));
    // The binary's own handlers do not include the test's.
    let err = xieshang_events(&app, &["retry", &id]).await.expect_err("unknown handler");
    assert!(format!("{err:#}").contains("no handler named \"test-refuser\""), "{err:#}");

    // Fixed: the retry applies it and resolves the entry.
    refuser.heal();
    let retried = xieshang_events_with(&app, handlers(), &["retry", &id]).await.unwrap();
    assert!(retried.contains(&format!("retried {id}")), "{retried}");
    assert_eq!(refuser.applied(), ["130500", "330000", "130000"], "applied after the later events");
    let resolved = app.running.dead_letters.get(entry.id).await.unwrap().unwrap();
    assert_eq!(resolved.resolution.as_deref(), Some("retried"));
    assert!(resolved.resolved_at.is_some());
    assert!(xieshang_events(&app, &["dead-letters"]).await.unwrap().contains("no unresolved dead letters"));
    let all = xieshang_events(&app, &["dead-letters", "--resolved"]).await.unwrap();
    assert!(all.contains("retried") && all.contains(&id), "{all}");

    // `retry` with the binary's handlers: a real service handler re-applies a
    // stored event (idempotently) and the entry resolves.
    let event = <Event as prost::Message>::decode(entry.payload.as_slice()).unwrap();
    let failure = xieshang_platform::events::Failure {
        attempts: 1,
        first_error: "test".into(),
        first_failed_at: chrono::Utc::now(),
        last_error: "test".into(),
    };
    let analytics = app.running.dead_letters.record("analytics", &event, &failure).await.unwrap().to_string();
    let retried = xieshang_events(&app, &["retry", "--all"]).await.unwrap();
    assert!(retried.contains(&format!("retried {analytics}")), "{retried}");
    assert_eq!(app.running.dead_letters.count_unresolved().await.unwrap(), 0);

    app.stop().await;
}

#[tokio::test]
async fn a_retryable_failure_is_dead_lettered_after_max_attempts_and_can_be_discarded() {
    let app = spawn_app_with(&[("events.max_attempts", Value::from(2u32))]).await;
    let refuser = Refuser::new("test-flaky", "130000", false);
    app.running.bus.subscribe(refuser.clone());
    let op = app.operator().await;
    let mut committees = op.committees();
    let hebei = committees
        .create_committee(committee("130000", "河北省政协", CommitteeLevel::Provincial, ""))
        .await
        .unwrap()
        .into_inner();
    committees.create_committee(committee("130500", "邢台市政协", CommitteeLevel::City, &hebei.id)).await.unwrap();

    eventually("the later event applied once the failing one is set aside", async || refuser.applied() == ["130500"])
        .await;
    let open = app.running.dead_letters.list(None, false).await.unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!((open[0].handler.as_str(), open[0].attempts), ("test-flaky", 2));
    let id = open[0].id.to_string();

    let err = xieshang_events(&app, &["discard", &id, "--reason", "  "]).await.expect_err("a reason is required");
    assert!(err.to_string().contains("--reason"), "{err}");
    let discarded =
        xieshang_events(&app, &["discard", &id, "--reason", "duplicate committee, fixed by hand"]).await.unwrap();
    assert!(discarded.contains(&format!("discarded {id}")), "{discarded}");
    let entry = app.running.dead_letters.get(open[0].id).await.unwrap().unwrap();
    assert_eq!(entry.resolution.as_deref(), Some("discarded: duplicate committee, fixed by hand"));
    assert_eq!(refuser.applied(), ["130500"], "discarding does not apply");
    let err = xieshang_events(&app, &["discard", &id, "--reason", "again"]).await.expect_err("already resolved");
    assert!(err.to_string().contains("already resolved"), "{err}");

    app.stop().await;
}
