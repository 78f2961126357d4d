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

use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use prost::Message;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Order, Query};
use sea_orm::{ConnectionTrait, DbBackend, DbErr};
use tokio::sync::{Notify, watch};
use uuid::Uuid;
use xieshang_proto::events::v1::{Event, event::Payload};

use crate::PlatformError;
use crate::db::{Db, Scope, Tx};
use crate::ids::{CommitteeId, UserId};

/// Error a handler returns; the relay logs it and retries the event.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

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
#[derive(Default)]
pub struct InProcessBus {
    handlers: RwLock<Vec<Arc<dyn EventHandler>>>,
}

impl InProcessBus {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl EventTransport for InProcessBus {
    async fn publish(&self, event: &Event) -> Result<(), PlatformError> {
        let handlers: Vec<_> = self.handlers.read().unwrap_or_else(|e| e.into_inner()).clone();
        for handler in handlers {
            apply(handler.as_ref(), event)
                .await
                .map_err(|e| PlatformError::Bus(format!("handler {} failed on {}: {e}", handler.name(), event.id)))?;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use xieshang_proto::events::v1::CommitteeCreated;

    #[test]
    fn event_types_are_variant_names() {
        let payload = Payload::CommitteeCreated(CommitteeCreated { code: "130528".into(), ..Default::default() });
        assert_eq!(event_type(&payload), "CommitteeCreated");
    }
}
