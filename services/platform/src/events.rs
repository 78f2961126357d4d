//! Domain events: the transactional outbox, the bus, and the relay between them.
//!
//! A change writes its event into the `outbox` table in the change's own
//! transaction ([`Tx::emit`]). The [`OutboxRelay`] then publishes unpublished
//! rows in id order through an [`EventTransport`] and marks them published.
//! Delivery is at least once: a crash between publishing and marking
//! publishes again, so every [`EventHandler`] must apply an event once by
//! remembering its id.
//!
//! The embedded default uses [`InProcessBus`], which hands events to the
//! handlers registered in this process. A Redis Streams transport (distributed
//! mode) implements the same trait; services cannot tell them apart.
//!
//! # Events a handler cannot apply (dead letters)
//!
//! A handler error is **retryable** unless the handler marks it
//! [`permanent`] (retrying the same event can never succeed, e.g. it violates
//! a constraint). Both transports follow one [`RetryPolicy`]: a permanent
//! error, or a retryable one on the `max_attempts`-th attempt
//! (`events.max_attempts`), moves the event into the `event_dead_letters`
//! table **for that handler** ([`DeadLetters`]) and the handler moves on to
//! the next event. Each dead letter is logged at error level and counted in
//! `xieshang_events_dead_lettered_total{handler}`. The entry keeps the encoded
//! event, so an operator can re-deliver it once the cause is fixed
//! (`xieshang events retry`, [`DeadLetters::retry`]) or discard it
//! (`xieshang events discard`). Recording comes before moving on: if the
//! record cannot be written, the event is retried like any failure, so
//! nothing is lost.
//!
//! Ordering: events still reach each handler in outbox order, except that a
//! dead-lettered event is skipped, and applied later — out of order — if it is
//! retried. Until it is dead-lettered, a failing event holds back the events
//! after it (on the in-process bus: for every handler, since one relay
//! publishes one event at a time; on Redis: for that consumer group only).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use prost::Message;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Order, Query};
use sea_orm::{ConnectionTrait, DbBackend, DbErr};
use tokio::sync::{Notify, watch};
use uuid::Uuid;
use xieshang_proto::events::v1::{Event, event::Payload};

use crate::PlatformError;
use crate::db::{Db, Scope, Tx};
use crate::ids::{CommitteeId, UserId};

/// Error a handler returns. Retryable (the event is delivered again, up to
/// [`RetryPolicy::max_attempts`]) unless made with [`permanent`].
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// A handler error that retrying cannot cure: the event goes to the
/// dead-letter table at once. Made by [`permanent`]; recognised by
/// [`is_permanent`] anywhere in an error's source chain, so wrapping it in
/// another error keeps it permanent.
#[derive(Debug)]
pub struct Permanent(HandlerError);

impl std::fmt::Display for Permanent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Permanent {
    // The wrapped error's own cause: `Permanent` is a marker, not a layer of
    // the message.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Marks `err` as permanent: `Err(permanent(e))` from a handler dead-letters
/// the event without retrying it.
pub fn permanent(err: impl Into<HandlerError>) -> HandlerError {
    Box::new(Permanent(err.into()))
}

/// Whether `err`, or any error in its source chain, is [`Permanent`].
pub fn is_permanent(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(err) = current {
        if err.is::<Permanent>() {
            return true;
        }
        current = err.source();
    }
    false
}

/// When a handler gives up on an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts (the first delivery included) after which a retryable error
    /// dead-letters the event. At least 1.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 10 }
    }
}

/// What to do with an event its handler just failed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Leave it where it is and deliver it again later.
    Retry,
    /// Record it in `event_dead_letters` and move on.
    DeadLetter,
}

impl RetryPolicy {
    pub fn new(max_attempts: u32) -> Self {
        Self { max_attempts: Ord::max(max_attempts, 1) }
    }

    /// The verdict on a failure; `attempts` counts deliveries so far, this one included.
    pub fn verdict(&self, err: &(dyn std::error::Error + 'static), attempts: u32) -> Verdict {
        if is_permanent(err) || attempts >= Ord::max(self.max_attempts, 1) {
            Verdict::DeadLetter
        } else {
            Verdict::Retry
        }
    }
}

/// Applies events. Must be idempotent: the same event may arrive twice.
#[async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Stable name, used as the consumer's name (e.g. a Redis consumer group).
    fn name(&self) -> &str;
    async fn handle(&self, event: &Event) -> Result<(), HandlerError>;
}

/// Carries published events to handlers.
#[async_trait]
pub trait EventTransport: Send + Sync + 'static {
    /// Delivers `event`; an error means "not delivered, try again".
    async fn publish(&self, event: &Event) -> Result<(), PlatformError>;
    /// Registers a handler for every event published from now on.
    fn subscribe(&self, handler: Arc<dyn EventHandler>);
}

/// The embedded transport: handlers in this process, called in turn.
///
/// A handler failure fails the publication, so the relay retries the event
/// (with backoff) before any later one. With [`InProcessBus::with_dead_letters`]
/// the [`RetryPolicy`] applies: a handler that gives up on the event has it
/// recorded as a dead letter, and the publication goes on with the next
/// handler. Handlers that already applied an event (or gave up on it) are not
/// called again when the relay retries it for another handler. Attempts are
/// counted in memory: a restart counts afresh.
#[derive(Default)]
pub struct InProcessBus {
    handlers: RwLock<Vec<Arc<dyn EventHandler>>>,
    dead_letters: Option<(DeadLetters, RetryPolicy)>,
    /// Events some handler failed on and that are still to be delivered, by event id.
    unfinished: Mutex<HashMap<String, Unfinished>>,
}

/// How far the handlers got with an event the relay is retrying.
#[derive(Default)]
struct Unfinished {
    /// Handlers that applied the event or dead-lettered it.
    settled: HashSet<String>,
    /// Failing handlers: attempts so far, and the first failure.
    failures: HashMap<String, FirstFailure>,
}

struct FirstFailure {
    attempts: u32,
    error: String,
    at: DateTime<Utc>,
}

impl InProcessBus {
    /// Retries failing events forever (no dead letters).
    pub fn new() -> Self {
        Self::default()
    }

    /// Dead-letters events a handler gives up on, per `policy`, into `dead_letters`.
    pub fn with_dead_letters(dead_letters: DeadLetters, policy: RetryPolicy) -> Self {
        Self { dead_letters: Some((dead_letters, policy)), ..Self::default() }
    }

    fn unfinished(&self) -> std::sync::MutexGuard<'_, HashMap<String, Unfinished>> {
        self.unfinished.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a failure of `handler` on `event`; returns the attempts so far and the first failure.
    fn count_failure(&self, handler: &str, event: &Event, error: &str) -> (u32, String, DateTime<Utc>) {
        let mut unfinished = self.unfinished();
        let entry = unfinished.entry(event.id.clone()).or_default();
        let failure = entry.failures.entry(handler.to_owned()).or_insert_with(|| FirstFailure {
            attempts: 0,
            error: error.to_owned(),
            at: crate::time::now(),
        });
        failure.attempts = failure.attempts.saturating_add(1);
        (failure.attempts, failure.error.clone(), failure.at)
    }

    /// Remembers, for the relay's next attempt at `event`, the handlers that
    /// are done with it. Only a failed publication calls this, so the common
    /// path takes no lock per handler.
    fn remember_settled(&self, event: &Event, settled: Vec<String>) {
        let mut unfinished = self.unfinished();
        let entry = unfinished.entry(event.id.clone()).or_default();
        for handler in settled {
            entry.failures.remove(&handler);
            entry.settled.insert(handler);
        }
    }
}

#[async_trait]
impl EventTransport for InProcessBus {
    async fn publish(&self, event: &Event) -> Result<(), PlatformError> {
        let handlers: Vec<_> = self.handlers.read().unwrap_or_else(|e| e.into_inner()).clone();
        let earlier = self.unfinished().get(&event.id).map(|u| u.settled.clone()).unwrap_or_default();
        let mut settled = Vec::new();
        for handler in handlers {
            let name = handler.name();
            if earlier.contains(name) {
                continue;
            }
            let err = match apply(handler.as_ref(), event).await {
                Ok(()) => {
                    settled.push(name.to_owned());
                    continue;
                }
                Err(err) => err,
            };
            let failed = PlatformError::Bus(format!("handler {name} failed on {}: {err}", event.id));
            let Some((dead_letters, policy)) = &self.dead_letters else {
                return Err(failed);
            };
            let error = err.to_string();
            let (attempts, first_error, first_at) = self.count_failure(name, event, &error);
            if policy.verdict(&*err, attempts) == Verdict::Retry {
                self.remember_settled(event, settled);
                return Err(failed);
            }
            let failure = Failure { attempts, first_error, first_failed_at: first_at, last_error: error };
            // Not recorded, not skipped: the relay retries and this handler
            // (already past its attempts) records it on the next delivery.
            let id = match dead_letters.record(name, event, &failure).await {
                Ok(id) => id,
                Err(e) => {
                    self.remember_settled(event, settled);
                    return Err(PlatformError::Bus(format!(
                        "handler {name} gave up on {} but the dead letter was not recorded: {e}",
                        event.id
                    )));
                }
            };
            dead_lettered(name, event, id, &failure);
            settled.push(name.to_owned());
        }
        self.unfinished().remove(&event.id);
        Ok(())
    }

    fn subscribe(&self, handler: Arc<dyn EventHandler>) {
        self.handlers.write().unwrap_or_else(|e| e.into_inner()).push(handler);
    }
}

/// Runs `handler` on `event` inside a span that continues the trace of the
/// request that caused the event (its `trace_context`), so that one trace
/// shows the request in one service and its effects in the others — across
/// processes when the transport is Redis.
pub async fn apply(handler: &dyn EventHandler, event: &Event) -> Result<(), HandlerError> {
    use tracing::Instrument as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let kind = event.payload.as_ref().map(event_type).unwrap_or_default();
    let span = tracing::info_span!(
        "event",
        otel.name = %format!("{} {kind}", handler.name()),
        otel.kind = "consumer",
        event.id = %event.id,
        event.handler = handler.name(),
    );
    let _ = span.set_parent(crate::telemetry::extract_trace_context(&event.trace_context));
    handler.handle(event).instrument(span).await
}

/// Name of a payload variant, e.g. "CommitteeCreated", for the outbox row.
pub fn event_type(payload: &Payload) -> String {
    // prost derives Debug as `Variant(Message { .. })`; the variant name is
    // what operators want to see in the table.
    let debug = format!("{payload:?}");
    debug.split('(').next().unwrap_or_default().to_owned()
}

/// Where an event belongs: its committee and that committee's ancestors,
/// nearest first.
#[derive(Clone, Debug, Default)]
pub struct EventOrigin {
    pub committee: Option<CommitteeId>,
    pub ancestors: Vec<CommitteeId>,
    pub actor: Option<UserId>,
}

impl EventOrigin {
    /// An event about `committee`: the committee and its ancestors (from the
    /// committee cache), caused by `actor`.
    pub async fn of(tx: &Tx, committee: CommitteeId, actor: Option<UserId>) -> Result<Self, DbErr> {
        Ok(Self { committee: Some(committee), ancestors: tx.committee_ancestors(committee).await?, actor })
    }
}

impl Tx {
    /// Writes an event into the outbox in this transaction; the relay
    /// publishes it after commit. Returns the event id.
    pub async fn emit(&self, origin: &EventOrigin, payload: Payload) -> Result<Uuid, DbErr> {
        let id = Uuid::now_v7();
        let now = crate::time::now();
        let event = Event {
            id: id.to_string(),
            occur_time: Some(crate::time::timestamp(now)),
            committee_id: origin.committee.map(|c| c.to_string()).unwrap_or_default(),
            ancestor_committee_ids: origin.ancestors.iter().map(ToString::to_string).collect(),
            actor_user_id: origin.actor.map(|u| u.to_string()).unwrap_or_default(),
            trace_context: crate::telemetry::current_trace_context(),
            payload: Some(payload.clone()),
        };
        let insert = Query::insert()
            .into_table("outbox")
            .columns(["id", "committee_id", "event_type", "payload", "created_at", "attempts"])
            .values_panic([
                id.into(),
                // The row belongs to the writing transaction's committee (row-level
                // security checks it); the envelope names the event's own committee.
                self.scope().committee().map(|c| c.0).into(),
                event_type(&payload).into(),
                event.encode_to_vec().into(),
                now.into(),
                0i32.into(),
            ])
            .to_owned();
        self.execute(&insert).await?;
        self.mark_outbox_written();
        Ok(id)
    }
}

/// How long a relay may hold claimed rows before another replica takes them over.
const LEASE: Duration = Duration::from_secs(30);
const BATCH: u64 = 100;

/// Publishes the outbox through a transport, in id order, until shut down.
pub struct OutboxRelay {
    db: Db,
    transport: Arc<dyn EventTransport>,
    wake: Arc<Notify>,
}

impl OutboxRelay {
    pub fn new(db: Db, transport: Arc<dyn EventTransport>) -> Self {
        let wake = db.outbox_signal();
        Self { db, transport, wake }
    }

    /// Runs until `shutdown` turns true. Wakes on every commit that wrote an
    /// event, and at least once a second (other processes write too).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut failures = 0u32;
        loop {
            match self.drain().await {
                Ok(_) => failures = 0,
                Err(err) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %err, failures, "outbox relay could not publish; will retry");
                }
            }
            let pause = if failures == 0 {
                Duration::from_secs(1)
            } else {
                Duration::from_millis(200u64.saturating_mul(1 << Ord::min(failures, 6)))
            };
            tokio::select! {
                _ = self.wake.notified(), if failures == 0 => {}
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// Publishes everything currently unpublished; returns how many events went out.
    pub async fn drain(&self) -> Result<usize, PlatformError> {
        let mut total = 0;
        loop {
            let batch = self.claim().await?;
            if batch.is_empty() {
                return Ok(total);
            }
            let mut published = Vec::with_capacity(batch.len());
            let mut failure = None;
            for (id, payload) in &batch {
                let outcome = match Event::decode(payload.as_slice()) {
                    Ok(event) => self.transport.publish(&event).await,
                    Err(e) => Err(PlatformError::Bus(format!("outbox row {id} does not decode: {e}"))),
                };
                match outcome {
                    Ok(()) => published.push(*id),
                    Err(err) => {
                        failure = Some((*id, err));
                        break;
                    }
                }
            }
            total += published.len();
            self.settle(&batch, &published, failure.as_ref()).await?;
            if let Some((_, err)) = failure {
                return Err(err);
            }
        }
    }

    /// Claims the oldest unpublished rows for this relay (a lease, so that
    /// replicas share the work and a dead relay's rows are taken over).
    async fn claim(&self) -> Result<Vec<(Uuid, Vec<u8>)>, PlatformError> {
        let tx = self.db.begin(Scope::System).await?;
        let now = crate::time::now();
        let mut select = Query::select();
        select
            .columns(["id", "payload"])
            .from("outbox")
            .and_where(Expr::col("published_at").is_null())
            .and_where(Expr::col("claimed_until").is_null().or(Expr::col("claimed_until").lt(now)))
            .order_by("id", Order::Asc)
            .limit(BATCH);
        if tx.get_database_backend() == DbBackend::Postgres {
            select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let rows = tx.query_all(&select).await?;
        let mut batch = Vec::with_capacity(rows.len());
        for row in rows {
            batch.push((row.try_get::<Uuid>("", "id")?, row.try_get::<Vec<u8>>("", "payload")?));
        }
        if !batch.is_empty() {
            let lease = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
            let update = Query::update()
                .table("outbox")
                .value("claimed_until", lease)
                .and_where(Expr::col("id").is_in(batch.iter().map(|(id, _)| *id)))
                .to_owned();
            tx.execute(&update).await?;
        }
        tx.commit().await?;
        Ok(batch)
    }

    /// Marks published rows, records the failure, and releases the rest.
    async fn settle(
        &self,
        batch: &[(Uuid, Vec<u8>)],
        published: &[Uuid],
        failure: Option<&(Uuid, PlatformError)>,
    ) -> Result<(), PlatformError> {
        let tx = self.db.begin(Scope::System).await?;
        if !published.is_empty() {
            let update = Query::update()
                .table("outbox")
                .value("published_at", crate::time::now())
                .value("claimed_until", Option::<chrono::DateTime<Utc>>::None)
                .and_where(Expr::col("id").is_in(published.iter().copied()))
                .to_owned();
            tx.execute(&update).await?;
        }
        if let Some((failed, err)) = failure {
            let update = Query::update()
                .table("outbox")
                .value("attempts", Expr::col("attempts").add(1))
                .value("last_error", err.to_string())
                .and_where(Expr::col("id").eq(*failed))
                .to_owned();
            tx.execute(&update).await?;
            let rest: Vec<Uuid> = batch.iter().map(|(id, _)| *id).filter(|id| !published.contains(id)).collect();
            let release = Query::update()
                .table("outbox")
                .value("claimed_until", Option::<chrono::DateTime<Utc>>::None)
                .and_where(Expr::col("id").is_in(rest))
                .to_owned();
            tx.execute(&release).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// A handler's failures on one event, as recorded in its dead letter.
#[derive(Clone, Debug)]
pub struct Failure {
    /// Deliveries that failed, the last one included.
    pub attempts: u32,
    pub first_error: String,
    pub first_failed_at: DateTime<Utc>,
    pub last_error: String,
}

/// Logs and counts a dead letter that was just recorded (both transports).
pub(crate) fn dead_lettered(handler: &str, event: &Event, id: Uuid, failure: &Failure) {
    let kind = event.payload.as_ref().map(event_type).unwrap_or_default();
    tracing::error!(
        event.id = %event.id, event.handler = handler, event.kind = %kind, dead_letter = %id,
        attempts = failure.attempts, error = %failure.last_error,
        "handler gave up on the event: recorded as a dead letter, later events go on \
         (see `xieshang events dead-letters`)"
    );
    crate::metrics::record_dead_letter(handler);
}

/// One row of `event_dead_letters`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    pub id: Uuid,
    pub event_id: Uuid,
    pub handler: String,
    pub event_type: String,
    /// The committee the event is about, if any.
    pub committee_id: Option<Uuid>,
    /// The encoded `Event`, as published.
    pub payload: Vec<u8>,
    pub attempts: u32,
    pub first_error: String,
    pub last_error: String,
    pub first_failed_at: DateTime<Utc>,
    pub last_failed_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// `retried`, or `discarded: <reason>`.
    pub resolution: Option<String>,
}

/// Why a dead letter could not be retried or discarded.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("no dead letter {0}")]
    NotFound(Uuid),
    #[error("dead letter {id} is already resolved ({resolution})")]
    Resolved { id: Uuid, resolution: String },
    #[error("dead letter {id} is for handler {expected:?}, not {given:?}")]
    WrongHandler { id: Uuid, expected: String, given: String },
    #[error("dead letter {id} does not hold a decodable event: {reason}")]
    Undecodable { id: Uuid, reason: String },
    #[error("handler {handler} failed again on dead letter {id}: {error}")]
    FailedAgain { id: Uuid, handler: String, error: String },
}

/// The columns of `event_dead_letters`; an insert sets the first 11.
const DEAD_LETTER_COLUMNS: [&str; 13] = [
    "id",
    "event_id",
    "handler",
    "event_type",
    "committee_id",
    "payload",
    "attempts",
    "first_error",
    "last_error",
    "first_failed_at",
    "last_failed_at",
    "resolved_at",
    "resolution",
];

/// The `event_dead_letters` table. Every operation runs in the `System` scope
/// (the table holds events of every committee; only background workers and
/// operators' tools touch it).
#[derive(Clone)]
pub struct DeadLetters {
    db: Db,
}

impl DeadLetters {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Records that `handler` gave up on `event`. An open entry for the same
    /// (event, handler) — a redelivery after a crash between recording and
    /// moving on — is updated instead of duplicated. Returns the entry's id.
    pub async fn record(&self, handler: &str, event: &Event, failure: &Failure) -> Result<Uuid, DbErr> {
        let event_id = Uuid::parse_str(&event.id)
            .map_err(|e| DbErr::Custom(format!("event id {:?} is not a UUID: {e}", event.id)))?;
        let now = crate::time::now();
        let attempts = i32::try_from(failure.attempts).unwrap_or(i32::MAX);
        let tx = self.db.begin(Scope::System).await?;
        let open = Query::select()
            .column("id")
            .from("event_dead_letters")
            .and_where(Expr::col("event_id").eq(event_id))
            .and_where(Expr::col("handler").eq(handler))
            .and_where(Expr::col("resolved_at").is_null())
            .limit(1)
            .to_owned();
        let id = match tx.query_one(&open).await? {
            Some(row) => {
                let id = row.try_get::<Uuid>("", "id")?;
                let update = Query::update()
                    .table("event_dead_letters")
                    .value("attempts", Expr::col("attempts").add(attempts))
                    .value("last_error", failure.last_error.clone())
                    .value("last_failed_at", now)
                    .and_where(Expr::col("id").eq(id))
                    .to_owned();
                tx.execute(&update).await?;
                id
            }
            None => {
                let id = Uuid::now_v7();
                let committee = Uuid::parse_str(&event.committee_id).ok();
                let kind = event.payload.as_ref().map(event_type).unwrap_or_default();
                let insert = Query::insert()
                    .into_table("event_dead_letters")
                    .columns(DEAD_LETTER_COLUMNS[..11].iter().copied())
                    .values_panic([
                        id.into(),
                        event_id.into(),
                        handler.into(),
                        kind.into(),
                        committee.into(),
                        event.encode_to_vec().into(),
                        attempts.into(),
                        failure.first_error.clone().into(),
                        failure.last_error.clone().into(),
                        failure.first_failed_at.into(),
                        now.into(),
                    ])
                    .to_owned();
                tx.execute(&insert).await?;
                id
            }
        };
        tx.commit().await?;
        Ok(id)
    }

    /// Entries, oldest failure first: the unresolved ones, or all of them;
    /// those of `handler` only when given.
    pub async fn list(&self, handler: Option<&str>, include_resolved: bool) -> Result<Vec<DeadLetter>, DbErr> {
        let mut select = Query::select();
        select.columns(DEAD_LETTER_COLUMNS).from("event_dead_letters");
        if let Some(handler) = handler {
            select.and_where(Expr::col("handler").eq(handler));
        }
        if !include_resolved {
            select.and_where(Expr::col("resolved_at").is_null());
        }
        select.order_by("first_failed_at", Order::Asc).order_by("id", Order::Asc);
        let tx = self.db.begin(Scope::System).await?;
        let rows = tx.query_all(&select).await?;
        tx.commit().await?;
        rows.iter().map(dead_letter).collect()
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<DeadLetter>, DbErr> {
        let select = Query::select()
            .columns(DEAD_LETTER_COLUMNS)
            .from("event_dead_letters")
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        let tx = self.db.begin(Scope::System).await?;
        let row = tx.query_one(&select).await?;
        tx.commit().await?;
        row.as_ref().map(dead_letter).transpose()
    }

    /// How many entries wait for an operator.
    pub async fn count_unresolved(&self) -> Result<u64, DbErr> {
        let select = Query::select()
            .expr_as(Expr::col("id").count(), "n")
            .from("event_dead_letters")
            .and_where(Expr::col("resolved_at").is_null())
            .to_owned();
        let tx = self.db.begin(Scope::System).await?;
        let row = tx.query_one(&select).await?;
        tx.commit().await?;
        let n = row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Re-delivers entry `id` to `handler` (which must be the handler it was
    /// recorded for) and marks it resolved (`retried`) when the handler
    /// succeeds. A failure is recorded on the entry (attempts, last error)
    /// and returned; the entry stays open.
    pub async fn retry(&self, id: Uuid, handler: &dyn EventHandler) -> Result<DeadLetter, DeadLetterError> {
        let entry = self.open_entry(id).await?;
        if entry.handler != handler.name() {
            return Err(DeadLetterError::WrongHandler {
                id,
                expected: entry.handler,
                given: handler.name().to_owned(),
            });
        }
        let event = Event::decode(entry.payload.as_slice())
            .map_err(|e| DeadLetterError::Undecodable { id, reason: e.to_string() })?;
        // No transaction is held while the handler runs: it opens its own
        // (SQLite has one connection).
        match apply(handler, &event).await {
            Ok(()) => {
                self.resolve(id, "retried").await?;
                Ok(entry)
            }
            Err(err) => {
                let error = err.to_string();
                let update = Query::update()
                    .table("event_dead_letters")
                    .value("attempts", Expr::col("attempts").add(1))
                    .value("last_error", error.clone())
                    .value("last_failed_at", crate::time::now())
                    .and_where(Expr::col("id").eq(id))
                    .to_owned();
                let tx = self.db.begin(Scope::System).await?;
                tx.execute(&update).await?;
                tx.commit().await?;
                Err(DeadLetterError::FailedAgain { id, handler: entry.handler, error })
            }
        }
    }

    /// Marks entry `id` resolved without applying it.
    pub async fn discard(&self, id: Uuid, reason: &str) -> Result<DeadLetter, DeadLetterError> {
        let entry = self.open_entry(id).await?;
        self.resolve(id, &format!("discarded: {}", reason.trim())).await?;
        Ok(entry)
    }

    async fn open_entry(&self, id: Uuid) -> Result<DeadLetter, DeadLetterError> {
        let entry = self.get(id).await?.ok_or(DeadLetterError::NotFound(id))?;
        match (&entry.resolved_at, &entry.resolution) {
            (Some(_), resolution) => {
                Err(DeadLetterError::Resolved { id, resolution: resolution.clone().unwrap_or_default() })
            }
            (None, _) => Ok(entry),
        }
    }

    /// Sets `resolved_at` and `resolution` of an open entry; a concurrent
    /// resolution wins (the entry is then reported as already resolved).
    async fn resolve(&self, id: Uuid, resolution: &str) -> Result<(), DeadLetterError> {
        let update = Query::update()
            .table("event_dead_letters")
            .value("resolved_at", crate::time::now())
            .value("resolution", resolution)
            .and_where(Expr::col("id").eq(id))
            .and_where(Expr::col("resolved_at").is_null())
            .to_owned();
        let tx = self.db.begin(Scope::System).await?;
        let result = tx.execute(&update).await?;
        tx.commit().await?;
        if result.rows_affected() == 0 {
            return Err(DeadLetterError::Resolved { id, resolution: "by someone else".to_owned() });
        }
        Ok(())
    }
}

fn dead_letter(row: &sea_orm::QueryResult) -> Result<DeadLetter, DbErr> {
    Ok(DeadLetter {
        id: row.try_get("", "id")?,
        event_id: row.try_get("", "event_id")?,
        handler: row.try_get("", "handler")?,
        event_type: row.try_get("", "event_type")?,
        committee_id: row.try_get("", "committee_id")?,
        payload: row.try_get("", "payload")?,
        attempts: u32::try_from(row.try_get::<i32>("", "attempts")?).unwrap_or(0),
        first_error: row.try_get("", "first_error")?,
        last_error: row.try_get("", "last_error")?,
        first_failed_at: row.try_get("", "first_failed_at")?,
        last_failed_at: row.try_get("", "last_failed_at")?,
        resolved_at: row.try_get("", "resolved_at")?,
        resolution: row.try_get("", "resolution")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use xieshang_proto::events::v1::CommitteeCreated;

    #[test]
    fn event_types_are_variant_names() {
        let payload = Payload::CommitteeCreated(CommitteeCreated { code: "130528".into(), ..Default::default() });
        assert_eq!(event_type(&payload), "CommitteeCreated");
    }

    /// An error that wraps another, as a handler's own error type would.
    #[derive(Debug, thiserror::Error)]
    #[error("applying failed")]
    struct Wrapper(#[source] Permanent);

    #[test]
    fn permanent_errors_are_recognised_through_wrappers() {
        let plain: HandlerError = "connection reset".into();
        assert!(!is_permanent(&*plain));
        let marked = permanent("counter row violates a constraint");
        assert!(is_permanent(&*marked));
        assert_eq!(marked.to_string(), "counter row violates a constraint", "the marker adds nothing to the message");
        let wrapped: HandlerError = Box::new(Wrapper(Permanent("bad row".into())));
        assert!(is_permanent(&*wrapped));
    }

    #[test]
    fn the_policy_gives_up_on_permanent_errors_at_once_and_on_retryable_ones_at_the_limit() {
        let policy = RetryPolicy::new(3);
        let retryable: HandlerError = "timeout".into();
        assert_eq!(policy.verdict(&*retryable, 1), Verdict::Retry);
        assert_eq!(policy.verdict(&*retryable, 2), Verdict::Retry);
        assert_eq!(policy.verdict(&*retryable, 3), Verdict::DeadLetter);
        assert_eq!(policy.verdict(&*retryable, 4), Verdict::DeadLetter, "past the limit (e.g. a record that failed)");
        let fatal = permanent("constraint");
        assert_eq!(policy.verdict(&*fatal, 1), Verdict::DeadLetter);
    }

    #[test]
    fn at_least_one_attempt_is_made() {
        assert_eq!(RetryPolicy::new(0).max_attempts, 1);
        let retryable: HandlerError = "timeout".into();
        assert_eq!(RetryPolicy { max_attempts: 0 }.verdict(&*retryable, 1), Verdict::DeadLetter);
        assert_eq!(RetryPolicy::default().max_attempts, 10);
    }

    /// Fails on chosen events: permanently, or (retryably) until healed.
    struct Faulty {
        name: &'static str,
        permanent_on: Option<String>,
        retryable_on: Mutex<Option<String>>,
        calls: Mutex<HashMap<String, u32>>,
        applied: Mutex<Vec<String>>,
    }

    impl Faulty {
        fn new(name: &'static str, permanent_on: Option<&str>, retryable_on: Option<&str>) -> Arc<Self> {
            Arc::new(Self {
                name,
                permanent_on: permanent_on.map(str::to_owned),
                retryable_on: Mutex::new(retryable_on.map(str::to_owned)),
                calls: Mutex::default(),
                applied: Mutex::default(),
            })
        }

        fn calls(&self, event: &Event) -> u32 {
            self.calls.lock().unwrap().get(&event.id).copied().unwrap_or(0)
        }

        fn applied(&self) -> Vec<String> {
            self.applied.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl EventHandler for Faulty {
        fn name(&self) -> &str {
            self.name
        }

        async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
            *self.calls.lock().unwrap().entry(event.id.clone()).or_default() += 1;
            if self.permanent_on.as_deref() == Some(event.id.as_str()) {
                return Err(permanent("violates a constraint"));
            }
            if self.retryable_on.lock().unwrap().as_deref() == Some(event.id.as_str()) {
                return Err("database is busy".into());
            }
            self.applied.lock().unwrap().push(event.id.clone());
            Ok(())
        }
    }

    /// A migrated SQLite database in a temporary directory (removed on drop).
    struct TempDb(std::path::PathBuf, Db);

    impl Drop for TempDb {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    async fn temp_db() -> TempDb {
        let dir = std::env::temp_dir().join(format!("xieshang-events-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = crate::config::DatabaseConfig {
            url: format!("sqlite://{}?mode=rwc", dir.join("events.db").display()).into(),
            ..Default::default()
        };
        let db = Db::connect(&config).await.expect("temporary database");
        TempDb(dir, db)
    }

    fn event() -> Event {
        Event {
            id: Uuid::now_v7().to_string(),
            committee_id: Uuid::now_v7().to_string(),
            payload: Some(Payload::CommitteeCreated(CommitteeCreated { code: "130528".into(), ..Default::default() })),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn the_in_process_bus_dead_letters_what_a_handler_gives_up_on_and_moves_on() {
        let temp = temp_db().await;
        let dead_letters = DeadLetters::new(temp.1.clone());
        let bus = InProcessBus::with_dead_letters(dead_letters.clone(), RetryPolicy::new(3));
        let (poison, flaky, next) = (event(), event(), event());
        let strict = Faulty::new("strict", Some(&poison.id), None);
        let slow = Faulty::new("slow", None, Some(&flaky.id));
        bus.subscribe(strict.clone());
        bus.subscribe(slow.clone());

        // A permanent error: dead-lettered at once, the other handler still applies it.
        bus.publish(&poison).await.expect("published: the strict handler gave up");
        assert_eq!(strict.calls(&poison), 1);
        assert_eq!(slow.applied(), [poison.id.clone()]);

        // A retryable error: the publication fails (the relay retries) until the third attempt.
        assert!(bus.publish(&flaky).await.is_err());
        assert!(bus.publish(&flaky).await.is_err());
        bus.publish(&flaky).await.expect("third attempt: the slow handler gave up");
        assert_eq!(slow.calls(&flaky), 3);
        assert_eq!(strict.calls(&flaky), 1, "a handler that applied the event is not called again");

        bus.publish(&next).await.expect("later events are not held back");
        assert_eq!(strict.applied(), [flaky.id.clone(), next.id.clone()]);
        assert_eq!(slow.applied(), [poison.id.clone(), next.id.clone()]);

        let open = dead_letters.list(None, false).await.unwrap();
        assert_eq!(open.len(), 2, "{open:?}");
        let strict_entry = &open[0];
        assert_eq!((strict_entry.handler.as_str(), strict_entry.event_id.to_string()), ("strict", poison.id.clone()));
        assert_eq!(strict_entry.attempts, 1);
        assert_eq!(strict_entry.event_type, "CommitteeCreated");
        assert_eq!(strict_entry.committee_id.map(|c| c.to_string()), Some(poison.committee_id.clone()));
        assert_eq!(Event::decode(strict_entry.payload.as_slice()).unwrap(), poison);
        let slow_entry = &open[1];
        assert_eq!((slow_entry.handler.as_str(), slow_entry.attempts), ("slow", 3));
        assert_eq!(slow_entry.first_error, "database is busy");
        assert_eq!(dead_letters.list(Some("slow"), false).await.unwrap().len(), 1);
        assert_eq!(dead_letters.count_unresolved().await.unwrap(), 2);

        // Retry: refused for another handler, fails while the fault lasts, resolves once healed.
        assert!(matches!(
            dead_letters.retry(slow_entry.id, strict.as_ref()).await,
            Err(DeadLetterError::WrongHandler { .. })
        ));
        assert!(matches!(
            dead_letters.retry(slow_entry.id, slow.as_ref()).await,
            Err(DeadLetterError::FailedAgain { .. })
        ));
        let entry = dead_letters.get(slow_entry.id).await.unwrap().unwrap();
        assert_eq!((entry.attempts, entry.resolved_at), (4, None));
        *slow.retryable_on.lock().unwrap() = None;
        dead_letters.retry(slow_entry.id, slow.as_ref()).await.expect("applied once healed");
        assert!(slow.applied().contains(&flaky.id));
        let entry = dead_letters.get(slow_entry.id).await.unwrap().unwrap();
        assert_eq!(entry.resolution.as_deref(), Some("retried"));
        assert!(entry.resolved_at.is_some());
        assert!(matches!(
            dead_letters.retry(slow_entry.id, slow.as_ref()).await,
            Err(DeadLetterError::Resolved { .. })
        ));

        // Discard: resolved without applying.
        dead_letters.discard(strict_entry.id, " bad data, fixed by hand ").await.unwrap();
        let entry = dead_letters.get(strict_entry.id).await.unwrap().unwrap();
        assert_eq!(entry.resolution.as_deref(), Some("discarded: bad data, fixed by hand"));
        assert_eq!(strict.calls(&poison), 1);
        assert_eq!(dead_letters.count_unresolved().await.unwrap(), 0);
        assert_eq!(dead_letters.list(None, true).await.unwrap().len(), 2);
        assert!(matches!(dead_letters.discard(Uuid::now_v7(), "x").await, Err(DeadLetterError::NotFound(_))));
    }

    #[tokio::test]
    async fn recording_an_open_dead_letter_again_updates_it() {
        let temp = temp_db().await;
        let dead_letters = DeadLetters::new(temp.1.clone());
        let poison = event();
        let failure = |error: &str| Failure {
            attempts: 2,
            first_error: "first".into(),
            first_failed_at: crate::time::now(),
            last_error: error.into(),
        };
        let id = dead_letters.record("h", &poison, &failure("second")).await.unwrap();
        let again = dead_letters.record("h", &poison, &failure("third")).await.unwrap();
        assert_eq!(id, again);
        let entry = dead_letters.get(id).await.unwrap().unwrap();
        assert_eq!((entry.attempts, entry.first_error.as_str(), entry.last_error.as_str()), (4, "first", "third"));
        // Another handler's failure on the same event is its own entry.
        assert_ne!(dead_letters.record("other", &poison, &failure("x")).await.unwrap(), id);
        // Without a dead-letter store the bus keeps the old contract: fail, retry forever.
        let bus = InProcessBus::new();
        bus.subscribe(Faulty::new("strict", Some(&poison.id), None));
        for _ in 0..12 {
            assert!(bus.publish(&poison).await.is_err());
        }
    }
}
