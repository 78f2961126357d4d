//! Distributed mode's event path, measured on the local PostgreSQL and Redis:
//!
//! 1. **Redis bus throughput** — events/s through `RedisBus` alone: `XADD` one
//!    at a time (as the relay publishes), and end to end until a consumer
//!    group on a second connection has applied and acknowledged them all.
//! 2. **Event lag** — from the commit of a change that wrote an event to the
//!    outbox, to a handler in "another service" applying it: outbox → relay →
//!    Redis stream → consumer group → handler. p50/p99/max, at a steady rate
//!    and in a burst.
//!
//! Run: `cargo bench -p xieshang-platform --bench event_bus`
//! (`XIESHANG_BENCH_DATABASE_URL`, default postgres://postgres@127.0.0.1:5432/test;
//! `XIESHANG_BENCH_REDIS_URL`, default redis://127.0.0.1:6379). It creates and
//! drops its own database and stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, Database};
use tokio::sync::watch;
use xieshang_platform::config::{Config, Value};
use xieshang_platform::db::{Db, Scope};
use xieshang_platform::events::{EventHandler, EventOrigin, EventTransport, HandlerError, OutboxRelay};
use xieshang_platform::redis_bus::{RedisBus, RedisBusOptions, StartFrom};
use xieshang_proto::events::v1::event::Payload;
use xieshang_proto::events::v1::{CommitteeCreated, Event};

/// Records when each event was applied (the first time).
#[derive(Default)]
struct Arrivals {
    at: Mutex<HashMap<String, Instant>>,
}

#[async_trait]
impl EventHandler for Arrivals {
    fn name(&self) -> &str {
        "bench-arrivals"
    }

    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        self.at.lock().unwrap().entry(event.id.clone()).or_insert_with(Instant::now);
        Ok(())
    }
}

impl Arrivals {
    fn count(&self) -> usize {
        self.at.lock().unwrap().len()
    }

    async fn wait_for(&self, n: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.count() < n {
            assert!(Instant::now() < deadline, "only {} of {n} events arrived within {within:?}", self.count());
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

fn payload(i: usize) -> Payload {
    Payload::CommitteeCreated(CommitteeCreated {
        code: format!("{:06}", 130000 + i % 1000),
        name: "宁晋县政协".into(),
        ..Default::default()
    })
}

fn options() -> RedisBusOptions {
    RedisBusOptions { start_from: StartFrom::Beginning, ..RedisBusOptions::default() }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(label: &str, mut lags: Vec<Duration>) {
    lags.sort();
    println!(
        "{label}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        lags.len(),
        percentile(&lags, 50.0).as_secs_f64() * 1e3,
        percentile(&lags, 99.0).as_secs_f64() * 1e3,
        lags.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

async fn throughput(redis_url: &str, stream: &str, n: usize) {
    let publisher = RedisBus::connect_with(redis_url, stream, options()).await.expect("Redis");
    let consumer = RedisBus::connect_with(redis_url, stream, options()).await.expect("Redis");
    let arrivals = Arc::new(Arrivals::default());
    consumer.subscribe(arrivals.clone());
    let (stop, shutdown) = watch::channel(false);
    let tasks = consumer.start("bench-consumer", shutdown).await;

    let events: Vec<Event> = (0..n)
        .map(|i| Event { id: uuid::Uuid::now_v7().to_string(), payload: Some(payload(i)), ..Default::default() })
        .collect();
    let start = Instant::now();
    for event in &events {
        publisher.publish(event).await.expect("publish");
    }
    let published = start.elapsed();
    arrivals.wait_for(n, Duration::from_secs(300)).await;
    let applied = start.elapsed();
    println!(
        "redis bus: {n} events published one at a time in {:.2} s = {:.0} events/s; applied by a consumer group in {:.2} s = {:.0} events/s end to end",
        published.as_secs_f64(),
        n as f64 / published.as_secs_f64(),
        applied.as_secs_f64(),
        n as f64 / applied.as_secs_f64(),
    );
    let _ = stop.send(true);
    for task in tasks {
        let _ = task.await;
    }
}

/// Commits `n` events (one transaction each), `gap` apart, and measures each
/// one's commit → applied lag.
async fn lag(db: &Db, arrivals: &Arrivals, n: usize, gap: Duration) -> Vec<Duration> {
    let origin = EventOrigin::default();
    let mut committed = Vec::with_capacity(n);
    let before = arrivals.count();
    for i in 0..n {
        let tx = db.begin(Scope::System).await.expect("begin");
        let id = tx.emit(&origin, payload(i)).await.expect("emit");
        tx.commit().await.expect("commit");
        committed.push((id.to_string(), Instant::now()));
        if !gap.is_zero() {
            tokio::time::sleep(gap).await;
        }
    }
    arrivals.wait_for(before + n, Duration::from_secs(300)).await;
    let at = arrivals.at.lock().unwrap();
    committed.iter().map(|(id, t)| at[id].saturating_duration_since(*t)).collect()
}

fn with_database(url: &str, name: &str) -> String {
    let slash = url.rfind('/').expect("postgres URL has a database");
    format!("{}/{name}", &url[..slash])
}

#[tokio::main]
async fn main() {
    let base = std::env::var("XIESHANG_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let redis_url = std::env::var("XIESHANG_BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let run = uuid::Uuid::new_v4().simple().to_string();

    // 1. The Redis bus alone.
    let stream = format!("xieshang-bench-{run}");
    throughput(&redis_url, &stream, 20_000).await;
    let client = redis::Client::open(redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: i64 = redis::cmd("DEL").arg(&stream).query_async(&mut conn).await.unwrap();

    // 2. Commit → applied, through the outbox relay.
    let name = format!("xs_bench_{run}");
    let admin = Database::connect(base.clone()).await.expect("PostgreSQL");
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
    let config = Config::load(None, &[("database.url", Value::from(with_database(&base, &name)))]).unwrap();
    let db = Db::connect(&config.database).await.expect("migrated database");

    let stream = format!("xieshang-bench-lag-{run}");
    let relay_bus = Arc::new(RedisBus::connect_with(&redis_url, &stream, options()).await.unwrap());
    let consumer_bus = RedisBus::connect_with(&redis_url, &stream, options()).await.unwrap();
    let arrivals = Arc::new(Arrivals::default());
    consumer_bus.subscribe(arrivals.clone());
    let (stop, shutdown) = watch::channel(false);
    let mut tasks = consumer_bus.start("bench-other-service", shutdown.clone()).await;
    tasks.push(tokio::spawn(OutboxRelay::new(db.clone(), relay_bus.clone()).run(shutdown)));

    report("event lag, steady (1 commit every 20 ms)", lag(&db, &arrivals, 500, Duration::from_millis(20)).await);
    report("event lag, burst (2,000 commits back to back)", lag(&db, &arrivals, 2_000, Duration::ZERO).await);

    let _ = stop.send(true);
    for task in tasks {
        let _ = task.await;
    }
    let _: i64 = redis::cmd("DEL").arg(&stream).query_async(&mut conn).await.unwrap();
    db.connection().clone().close().await.ok();
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok();
}
