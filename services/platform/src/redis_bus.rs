//! The distributed event transport: Redis Streams.
//!
//! [`RedisBus`] implements [`EventTransport`] on one Redis stream. The
//! [`OutboxRelay`](crate::events::OutboxRelay) publishes with
//! `XADD <stream> MAXLEN ~ 1000000 * id <event id> payload <protobuf bytes>`;
//! every subscribed [`EventHandler`] consumes through its **own consumer group**
//! named after [`EventHandler::name`], so every handler sees every event, and
//! the replicas of one service (same handler names, different consumer names)
//! share the work.
//!
//! # Delivery guarantees
//!
//! - **At least once.** An entry is acknowledged (`XACK`) only after its
//!   handler returned `Ok`. A handler error, a crash or a lost connection
//!   leaves the entry pending in the group; it is delivered again. Handlers
//!   must therefore be idempotent on the event id (the same contract as the
//!   in-process bus). The bus itself does **not** deduplicate.
//! - **Retry.** After a retryable handler error the consumer backs off and
//!   re-reads its own pending entries (oldest first) before reading anything
//!   new, so within one consumer a failing event holds back the ones after it
//!   — until it is dead-lettered.
//! - **Dead letters.** With [`RedisBus::set_dead_letters`], the
//!   [`RetryPolicy`](crate::events::RetryPolicy) of the in-process bus applies:
//!   a [`permanent`](crate::events::permanent) error, or a retryable one on the
//!   entry's [`RedisBusOptions::max_attempts`]-th delivery (the group's
//!   delivery counter, `XPENDING`, so restarts and reclaims count too), records
//!   the event in `event_dead_letters` for the group's handler and only then
//!   acknowledges it; the group goes on with the next entry. If the record
//!   cannot be written the entry stays pending and is retried, so nothing is
//!   lost. Without a dead-letter store a failing entry is retried forever.
//! - **Reclaim.** Every [`RedisBusOptions::reclaim_every`] each consumer runs
//!   `XAUTOCLAIM … <min idle>` and takes over entries that have been pending
//!   longer than [`RedisBusOptions::min_idle`] (default 30 s), e.g. those held
//!   by a consumer that died between reading and acknowledging. `min_idle` must
//!   exceed the longest time a handler may take, or a slow but alive consumer's
//!   entry is processed twice (harmless for idempotent handlers).
//! - **Undecodable entries.** An entry that does not decode as an `Event` is
//!   logged and acknowledged, so it cannot block its group (the relay only
//!   publishes events it decoded, so such an entry was not written by it).
//! - **Ordering.** The stream keeps publish order, which is outbox order. A
//!   group with a single consumer applies events in that order (a failing event
//!   is retried before later ones; a dead-lettered one is skipped, and applied
//!   out of order if an operator retries it). With several consumers in one group the
//!   entries are spread among them and reclaimed entries come late, so
//!   handlers must not depend on cross-event ordering beyond what their own
//!   idempotent bookkeeping tolerates.
//! - **Groups start at `$`** by default: a handler sees events published after
//!   its group was first created (on its first [`RedisBus::start`]). The group
//!   remembers its position, so restarts and outages lose nothing.
//!   [`StartFrom::Beginning`] replays what the stream still holds instead.
//! - **Retention.** The stream is trimmed to about 1 000 000 entries
//!   ([`RedisBusOptions::max_len`]). A group lagging further behind than that
//!   loses the trimmed entries; reclaim logs them as deleted.
//!
//! # When Redis is down
//!
//! `publish` fails with [`PlatformError::Bus`]; the relay keeps the outbox row
//! unpublished and retries with backoff, so nothing committed is lost and
//! events go out in outbox order once Redis is back. Consumer loops log, back
//! off (capped exponential) and resume; their pending entries are still in the
//! group. [`RedisBus::health`] reports whether the last Redis operation
//! succeeded, for the server's health report. Requests that do not publish or
//! consume keep working: nothing else waits on the bus.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use prost::Message;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamReadReply};
use redis::{RedisError, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use xieshang_proto::events::v1::Event;

use crate::PlatformError;
use crate::events::{DeadLetters, EventHandler, EventTransport, Failure, RetryPolicy, Verdict};

/// Where a newly created consumer group starts reading.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StartFrom {
    /// `$`: only events published after the group was created.
    #[default]
    Latest,
    /// `0`: everything the stream still holds.
    Beginning,
}

/// Tunables of a [`RedisBus`]; the defaults suit production.
#[derive(Clone, Debug)]
pub struct RedisBusOptions {
    /// Approximate stream length kept by `XADD … MAXLEN ~`.
    pub max_len: usize,
    /// Entries read or claimed at once.
    pub batch: usize,
    /// How long `XREADGROUP` blocks waiting for new entries.
    pub block: Duration,
    /// How long an entry must have been pending before another consumer takes it over.
    pub min_idle: Duration,
    /// How often each consumer looks for stuck entries (`XAUTOCLAIM`).
    pub reclaim_every: Duration,
    /// Upper bound of the backoff after Redis or handler errors.
    pub max_backoff: Duration,
    /// Where a consumer group created by [`RedisBus::start`] starts.
    pub start_from: StartFrom,
    /// Timeout of one Redis command (must exceed `block`).
    pub response_timeout: Duration,
    /// Timeout of one connection attempt.
    pub connect_timeout: Duration,
    /// Deliveries of an entry to a group after which a retryable handler
    /// error dead-letters it (see [`RedisBus::set_dead_letters`]).
    pub max_attempts: u32,
}

impl Default for RedisBusOptions {
    fn default() -> Self {
        Self {
            max_len: 1_000_000,
            batch: 100,
            block: Duration::from_secs(1),
            min_idle: Duration::from_secs(30),
            reclaim_every: Duration::from_secs(5),
            max_backoff: Duration::from_secs(30),
            start_from: StartFrom::Latest,
            response_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            max_attempts: RetryPolicy::default().max_attempts,
        }
    }
}

/// The event bus on a Redis stream. Cheap to share behind an `Arc`.
pub struct RedisBus {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    /// Shared multiplexed connection for `XADD`, `XACK`, group creation.
    /// Blocking reads use a connection of their own per consumer loop.
    conn: ConnectionManager,
    stream: String,
    options: RedisBusOptions,
    handlers: Mutex<Vec<Arc<dyn EventHandler>>>,
    healthy: AtomicBool,
    /// Where entries a handler gives up on are recorded; unset: retried forever.
    dead_letters: OnceLock<DeadLetters>,
}

impl RedisBus {
    /// Connects to `url` (e.g. `redis://127.0.0.1:6379`) for events on `stream`,
    /// with default options. Fails if Redis cannot be reached now; later
    /// outages are survived (the connection reconnects).
    pub async fn connect(url: &str, stream: &str) -> Result<Self, PlatformError> {
        Self::connect_with(url, stream, RedisBusOptions::default()).await
    }

    /// [`RedisBus::connect`] with explicit options.
    pub async fn connect_with(url: &str, stream: &str, options: RedisBusOptions) -> Result<Self, PlatformError> {
        let client = redis::Client::open(url).map_err(|e| bus_error("invalid Redis URL", e))?;
        let conn = ConnectionManager::new_with_config(client.clone(), manager_config(&options))
            .await
            .map_err(|e| bus_error("cannot connect to Redis", e))?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                conn,
                stream: stream.to_owned(),
                options,
                handlers: Mutex::new(Vec::new()),
                healthy: AtomicBool::new(true),
                dead_letters: OnceLock::new(),
            }),
        })
    }

    /// The stream this bus publishes to and consumes from.
    pub fn stream(&self) -> &str {
        &self.inner.stream
    }

    /// Records entries a handler gives up on (per [`RedisBusOptions::max_attempts`]
    /// and permanent errors) in `dead_letters` before acknowledging them. Call
    /// before [`RedisBus::start`]; a second call is ignored.
    pub fn set_dead_letters(&self, dead_letters: DeadLetters) {
        let _ = self.inner.dead_letters.set(dead_letters);
    }

    /// Whether the last Redis operation (publish, read, ack, claim) succeeded.
    pub fn health(&self) -> bool {
        self.inner.healthy.load(Ordering::Relaxed)
    }

    /// Creates the consumer group of every subscribed handler (if missing) and
    /// spawns one consumer loop per handler, as consumer `consumer_name` (unique
    /// per process, e.g. the pod name). Call after subscribing: handlers
    /// subscribed later are not consumed. The loops run until `shutdown` turns
    /// true (or its sender is dropped); the returned handles may also be aborted (pending entries stay in
    /// the group and are reclaimed by other consumers).
    ///
    /// Group creation failing (Redis down) is logged; the loops retry it.
    pub async fn start(&self, consumer_name: &str, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let handlers: Vec<_> = self.inner.handlers.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut tasks = Vec::with_capacity(handlers.len());
        for handler in handlers {
            let group = handler.name().to_owned();
            if let Err(err) = self.inner.ensure_group(&group).await {
                tracing::warn!(stream = %self.inner.stream, group, error = %err, "cannot create consumer group yet; will retry");
            }
            let consumer = Consumer {
                inner: Arc::clone(&self.inner),
                handler,
                group,
                name: consumer_name.to_owned(),
                shutdown: shutdown.clone(),
                first_failures: Mutex::default(),
            };
            tasks.push(tokio::spawn(consumer.run()));
        }
        tasks
    }
}

#[async_trait]
impl EventTransport for RedisBus {
    async fn publish(&self, event: &Event) -> Result<(), PlatformError> {
        let inner = &self.inner;
        let result = redis::cmd("XADD")
            .arg(&inner.stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(inner.options.max_len)
            .arg("*")
            .arg("id")
            .arg(&event.id)
            .arg("payload")
            .arg(event.encode_to_vec())
            .query_async::<String>(&mut inner.conn.clone())
            .await;
        inner.record(&result);
        result.map(drop).map_err(|e| bus_error(&format!("cannot publish event {}", event.id), e))
    }

    fn subscribe(&self, handler: Arc<dyn EventHandler>) {
        self.inner.handlers.lock().unwrap_or_else(|e| e.into_inner()).push(handler);
    }
}

impl Inner {
    fn record<T>(&self, result: &Result<T, RedisError>) {
        self.healthy.store(result.is_ok(), Ordering::Relaxed);
    }

    /// `XGROUP CREATE <stream> <group> $|0 MKSTREAM`, tolerating BUSYGROUP.
    async fn ensure_group(&self, group: &str) -> Result<(), RedisError> {
        let start = match self.options.start_from {
            StartFrom::Latest => "$",
            StartFrom::Beginning => "0",
        };
        let result = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.stream)
            .arg(group)
            .arg(start)
            .arg("MKSTREAM")
            .query_async::<()>(&mut self.conn.clone())
            .await;
        let result = match result {
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            other => other,
        };
        self.record(&result);
        result
    }

    async fn ack(&self, group: &str, id: &str) -> Result<(), RedisError> {
        let result =
            redis::cmd("XACK").arg(&self.stream).arg(group).arg(id).query_async::<i64>(&mut self.conn.clone()).await;
        self.record(&result);
        result.map(drop)
    }

    /// How often `entry` has been delivered to `group` (this delivery included).
    async fn deliveries(&self, group: &str, entry: &str) -> Result<u32, RedisError> {
        let result = redis::cmd("XPENDING")
            .arg(&self.stream)
            .arg(group)
            .arg(entry)
            .arg(entry)
            .arg(1)
            .query_async::<StreamPendingCountReply>(&mut self.conn.clone())
            .await;
        self.record(&result);
        // No longer pending (claimed and acknowledged elsewhere): count this delivery only.
        Ok(result?.ids.first().map_or(1, |p| u32::try_from(p.times_delivered).unwrap_or(u32::MAX)))
    }
}

/// At most this many failing entries' first errors are remembered per
/// consumer (entries claimed away by other consumers would otherwise stay).
const FIRST_FAILURES_KEPT: usize = 1024;

/// What a consumer does next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    /// Its own pending entries (`XREADGROUP … 0`): after a start or a failure.
    Pending,
    /// New entries (`XREADGROUP … >`).
    New,
}

/// Outcome of processing a batch.
enum Batch {
    Done,
    /// A handler failed; the entry and those after it stay pending.
    HandlerFailed,
}

struct Consumer {
    inner: Arc<Inner>,
    handler: Arc<dyn EventHandler>,
    group: String,
    name: String,
    shutdown: watch::Receiver<bool>,
    /// First error and time of entries that failed and are still pending, by
    /// entry id, for their dead letter.
    first_failures: Mutex<HashMap<String, (String, chrono::DateTime<chrono::Utc>)>>,
}

impl Consumer {
    async fn run(mut self) {
        let options = self.inner.options.clone();
        let mut conn: Option<ConnectionManager> = None;
        let mut read = Read::Pending;
        let mut failures = 0u32;
        let mut next_reclaim = Instant::now();
        loop {
            // Stop when told to, or when the sender is gone (nobody could tell us any more).
            if *self.shutdown.borrow() || self.shutdown.has_changed().is_err() {
                return;
            }
            let outcome = self.step(&mut conn, &mut read, &mut next_reclaim).await;
            match outcome {
                Ok(Batch::Done) => failures = 0,
                Ok(Batch::HandlerFailed) => {
                    failures = failures.saturating_add(1);
                    read = Read::Pending;
                }
                Err(err) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(
                        stream = %self.inner.stream, group = %self.group, consumer = %self.name,
                        error = %err, failures, "Redis consumer error; backing off"
                    );
                    if err.code() == Some("NOGROUP") {
                        // The stream or group vanished (e.g. Redis restarted without persistence).
                        let _ = self.inner.ensure_group(&self.group).await;
                    }
                    if err.is_io_error() || err.is_connection_dropped() || err.is_timeout() {
                        conn = None;
                    }
                }
            }
            if failures > 0 {
                let pause = backoff(failures, options.max_backoff);
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = self.shutdown.changed() => {}
                }
            }
        }
    }

    /// One iteration: reclaim if due, then read and process one batch.
    async fn step(
        &mut self,
        conn: &mut Option<ConnectionManager>,
        read: &mut Read,
        next_reclaim: &mut Instant,
    ) -> Result<Batch, RedisError> {
        let options = &self.inner.options;
        let mut connection = match conn {
            Some(c) => c.clone(),
            None => {
                let c = ConnectionManager::new_with_config(self.inner.client.clone(), manager_config(options)).await;
                self.inner.record(&c);
                let c = c?;
                *conn = Some(c.clone());
                c
            }
        };
        if Instant::now() >= *next_reclaim {
            *next_reclaim = Instant::now() + options.reclaim_every;
            if let Batch::HandlerFailed = self.reclaim(connection.clone()).await? {
                return Ok(Batch::HandlerFailed);
            }
        }
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP").arg(&self.group).arg(&self.name).arg("COUNT").arg(options.batch);
        match read {
            Read::Pending => cmd.arg("STREAMS").arg(&self.inner.stream).arg("0"),
            Read::New => {
                // Wake up for reclaims and shutdown checks.
                let block = options.block.min(options.reclaim_every).as_millis().max(1);
                cmd.arg("BLOCK").arg(block as u64).arg("STREAMS").arg(&self.inner.stream).arg(">")
            }
        };
        let reply = tokio::select! {
            reply = cmd.query_async::<Option<StreamReadReply>>(&mut connection) => reply,
            _ = self.shutdown.changed() => return Ok(Batch::Done),
        };
        self.inner.record(&reply);
        let entries: Vec<StreamId> =
            reply?.map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect()).unwrap_or_default();
        if *read == Read::Pending && entries.is_empty() {
            *read = Read::New;
        }
        self.process(entries).await
    }

    /// `XAUTOCLAIM` entries idle longer than `min_idle` and processes them.
    async fn reclaim(&self, mut connection: ConnectionManager) -> Result<Batch, RedisError> {
        let options = &self.inner.options;
        let mut cursor = "0-0".to_owned();
        loop {
            let reply = redis::cmd("XAUTOCLAIM")
                .arg(&self.inner.stream)
                .arg(&self.group)
                .arg(&self.name)
                .arg(options.min_idle.as_millis() as u64)
                .arg(&cursor)
                .arg("COUNT")
                .arg(options.batch)
                .query_async::<StreamAutoClaimReply>(&mut connection)
                .await;
            self.inner.record(&reply);
            let reply = reply?;
            if !reply.deleted_ids.is_empty() {
                tracing::warn!(
                    stream = %self.inner.stream, group = %self.group, deleted = ?reply.deleted_ids,
                    "pending entries were trimmed from the stream before being handled"
                );
            }
            if !reply.claimed.is_empty() {
                tracing::info!(
                    stream = %self.inner.stream, group = %self.group, consumer = %self.name,
                    claimed = reply.claimed.len(), "reclaimed stuck entries"
                );
            }
            if let Batch::HandlerFailed = self.process(reply.claimed).await? {
                return Ok(Batch::HandlerFailed);
            }
            if reply.next_stream_id == "0-0" || *self.shutdown.borrow() {
                return Ok(Batch::Done);
            }
            cursor = reply.next_stream_id;
        }
    }

    /// Handles entries in order, acknowledging each after its handler succeeded.
    /// Stops at the first handler error, leaving the rest pending.
    async fn process(&self, entries: Vec<StreamId>) -> Result<Batch, RedisError> {
        for entry in entries {
            let event = match decode(&entry) {
                Ok(event) => event,
                Err(reason) => {
                    tracing::error!(
                        stream = %self.inner.stream, group = %self.group, entry = %entry.id, reason,
                        "undecodable event entry; acknowledging it so it does not block the group"
                    );
                    self.inner.ack(&self.group, &entry.id).await?;
                    continue;
                }
            };
            match crate::events::apply(self.handler.as_ref(), &event).await {
                Ok(()) => {
                    self.inner.ack(&self.group, &entry.id).await?;
                    self.forget_failure(&entry.id);
                }
                Err(err) => {
                    if !self.give_up(&entry.id, &event, &*err).await? {
                        tracing::warn!(
                            stream = %self.inner.stream, group = %self.group, entry = %entry.id, event = %event.id,
                            error = %err, "handler failed; the event stays pending and will be retried"
                        );
                        return Ok(Batch::HandlerFailed);
                    }
                }
            }
        }
        Ok(Batch::Done)
    }

    /// Applies the retry policy to a failed entry: when the handler gives up,
    /// records the dead letter and then acknowledges the entry. Returns
    /// whether the entry is done with (`false`: leave it pending, retry).
    async fn give_up(
        &self,
        entry: &str,
        event: &Event,
        err: &(dyn std::error::Error + Send + Sync + 'static),
    ) -> Result<bool, RedisError> {
        let error = err.to_string();
        let (first_error, first_at) = {
            let mut first = self.first_failures.lock().unwrap_or_else(|e| e.into_inner());
            if first.len() >= FIRST_FAILURES_KEPT && !first.contains_key(entry) {
                first.clear();
            }
            first.entry(entry.to_owned()).or_insert_with(|| (error.clone(), crate::time::now())).clone()
        };
        let Some(dead_letters) = self.inner.dead_letters.get() else {
            return Ok(false);
        };
        let attempts = self.inner.deliveries(&self.group, entry).await?;
        let policy = RetryPolicy::new(self.inner.options.max_attempts);
        if policy.verdict(err, attempts) == Verdict::Retry {
            return Ok(false);
        }
        let failure = Failure { attempts, first_error, first_failed_at: first_at, last_error: error };
        let id = match dead_letters.record(self.handler.name(), event, &failure).await {
            Ok(id) => id,
            Err(db) => {
                // Still pending: retried, and recorded on a later delivery.
                tracing::warn!(
                    stream = %self.inner.stream, group = %self.group, entry, event = %event.id, error = %db,
                    "cannot record the dead letter; the event stays pending"
                );
                return Ok(false);
            }
        };
        crate::events::dead_lettered(self.handler.name(), event, id, &failure);
        // Recorded first: should this acknowledgement fail, the entry comes back
        // and its open dead letter is updated, not duplicated.
        self.inner.ack(&self.group, entry).await?;
        self.forget_failure(entry);
        Ok(true)
    }

    fn forget_failure(&self, entry: &str) {
        let mut first = self.first_failures.lock().unwrap_or_else(|e| e.into_inner());
        if !first.is_empty() {
            first.remove(entry);
        }
    }
}

fn decode(entry: &StreamId) -> Result<Event, String> {
    let payload = match entry.map.get("payload") {
        Some(Value::BulkString(bytes)) => bytes,
        Some(other) => return Err(format!("payload is not a bulk string: {other:?}")),
        None => return Err("no payload field".to_owned()),
    };
    Event::decode(payload.as_slice()).map_err(|e| format!("payload does not decode: {e}"))
}

fn manager_config(options: &RedisBusOptions) -> ConnectionManagerConfig {
    // One quick retry per (re)connection attempt (redis 0.32: 1 s, jittered);
    // the relay and the consumer loops back off on their own beyond that.
    ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_factor(2)
        .set_max_delay(2_000)
        .set_connection_timeout(options.connect_timeout)
        .set_response_timeout(options.response_timeout)
}

/// 100 ms, 200 ms, 400 ms, … capped at `max`.
fn backoff(failures: u32, max: Duration) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    Duration::from_millis(100u64.saturating_mul(1 << exp)).min(max)
}

fn bus_error(what: &str, err: RedisError) -> PlatformError {
    PlatformError::Bus(format!("{what}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_capped_exponential() {
        let max = Duration::from_secs(30);
        assert_eq!(backoff(1, max), Duration::from_millis(100));
        assert_eq!(backoff(2, max), Duration::from_millis(200));
        assert_eq!(backoff(4, max), Duration::from_millis(800));
        assert_eq!(backoff(100, max), max);
    }

    #[test]
    fn entries_without_a_valid_payload_are_poison() {
        let mut entry = StreamId { id: "1-0".into(), ..Default::default() };
        assert!(decode(&entry).is_err());
        entry.map.insert("payload".into(), Value::BulkString(vec![0xff, 0xff, 0xff]));
        assert!(decode(&entry).is_err());
        let event = Event { id: "0192".into(), ..Default::default() };
        entry.map.insert("payload".into(), Value::BulkString(event.encode_to_vec()));
        assert_eq!(decode(&entry).unwrap().id, "0192");
    }
}
