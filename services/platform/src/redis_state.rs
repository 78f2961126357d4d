//! State every replica must share in distributed mode, kept in Redis:
//! revoked sessions, the counters behind public rate limits, and the
//! committee cache ([`RedisCommitteeCache`]). (Events travel
//! on Redis Streams: see [`crate::redis_bus`].)
//!
//! Both degrade rather than fail when Redis is unreachable, because neither is
//! the system of record:
//!
//! - **Revocations.** The database (`auth_sessions.revoked_at`) is the truth;
//!   each process keeps the set in memory (the auth interceptor is on every
//!   request's path and must not wait on the network). A revocation made in
//!   one process is announced on a Redis channel and applied by the others at
//!   once ([`spawn_revocation_sync`]). Each (re)subscription, and every
//!   [`RESYNC_EVERY`], reloads the set from the database, so an announcement
//!   lost during an outage is picked up within that period.
//! - **Rate limits.** [`RedisLimiter`] keeps a sliding window per key in a
//!   sorted set, atomically (one Lua script). Without Redis it falls back to
//!   this process's own window: limits then hold per replica instead of per
//!   installation, and public endpoints keep working.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::PlatformError;
use crate::auth::Revocations;
use crate::directory::{CommitteeCache, CommitteeEntry};
use crate::ids::CommitteeId;
use crate::limits::{InProcessLimiter, RateLimiter};

/// How often every process reloads revoked sessions from the database.
pub const RESYNC_EVERY: Duration = Duration::from_secs(30);

/// One Redis connection (multiplexed, reconnecting) and the installation's key prefix.
#[derive(Clone)]
pub struct RedisState {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
    healthy: Arc<AtomicBool>,
}

impl RedisState {
    /// Connects to `url`. Fails if Redis cannot be reached now; later outages
    /// are survived (the connection reconnects, callers degrade).
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, PlatformError> {
        let client = redis::Client::open(url).map_err(|e| PlatformError::Bus(format!("invalid Redis URL: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_max_delay(2_000)
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(Duration::from_secs(2));
        let conn = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|e| PlatformError::Bus(format!("cannot connect to Redis: {e}")))?;
        Ok(Self { client, conn, prefix: prefix.to_owned(), healthy: Arc::new(AtomicBool::new(true)) })
    }

    /// Whether the last operation on this connection succeeded.
    pub fn health(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    fn key(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.prefix)
    }

    fn record<T>(&self, result: &redis::RedisResult<T>) {
        self.healthy.store(result.is_ok(), Ordering::Relaxed);
    }
}

/// Reloads revocations from the database; returns how many it found.
pub type Reload = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<usize, String>> + Send>> + Send + Sync>;

/// Keeps this process's [`Revocations`] in step with every other process's:
/// announces local revocations, applies announced ones, and reloads from the
/// database on every (re)subscription and every [`RESYNC_EVERY`].
pub fn spawn_revocation_sync(
    state: RedisState,
    revocations: Revocations,
    reload: Reload,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let mut local = revocations.announcements();
    let channel = state.key("revocations");
    tokio::spawn(async move {
        let mut failures = 0u32;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let subscribed = async {
                let mut pubsub = state.client.get_async_pubsub().await?;
                pubsub.subscribe(&channel).await?;
                Ok::<_, redis::RedisError>(pubsub)
            }
            .await;
            state.record(&subscribed);
            let mut pubsub = match subscribed {
                Ok(pubsub) => pubsub,
                Err(err) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %err, "cannot subscribe to revocation announcements; retrying");
                    // Meanwhile keep draining local revocations (the database has them).
                    let pause = Duration::from_millis(200u64 << failures.min(7));
                    let deadline = tokio::time::sleep(pause);
                    tokio::pin!(deadline);
                    loop {
                        tokio::select! {
                            _ = &mut deadline => break,
                            Some(_) = local.recv() => {}
                            _ = shutdown.changed() => return,
                        }
                    }
                    continue;
                }
            };
            failures = 0;
            // Anything announced while we were not listening is in the database.
            resync(&reload).await;
            let mut resync_timer = tokio::time::interval(RESYNC_EVERY);
            resync_timer.reset();
            let mut messages = pubsub.on_message();
            loop {
                tokio::select! {
                    message = messages.next() => {
                        let Some(message) = message else {
                            tracing::warn!("revocation announcements connection lost; resubscribing");
                            break;
                        };
                        let text: String = message.get_payload().unwrap_or_default();
                        match parse_announcement(&text) {
                            Some((session, until)) => revocations.apply_announced(session, until),
                            None => tracing::warn!(payload = %text, "ignoring a malformed revocation announcement"),
                        }
                    }
                    Some((session, until)) = local.recv() => {
                        let result = redis::cmd("PUBLISH")
                            .arg(&channel)
                            .arg(format!("{session} {until}"))
                            .query_async::<i64>(&mut state.conn.clone())
                            .await;
                        state.record(&result);
                        if let Err(err) = result {
                            tracing::warn!(error = %err, "cannot announce a revocation; other processes resync from the database");
                        }
                    }
                    _ = resync_timer.tick() => resync(&reload).await,
                    _ = shutdown.changed() => return,
                }
            }
        }
    })
}

async fn resync(reload: &Reload) {
    if let Err(err) = reload().await {
        tracing::warn!(error = %err, "cannot reload revoked sessions from the database");
    }
}

fn parse_announcement(text: &str) -> Option<(Uuid, i64)> {
    let (session, until) = text.split_once(' ')?;
    Some((session.parse().ok()?, until.parse().ok()?))
}

/// Sliding-window rate limit shared by every replica (see the module docs).
pub struct RedisLimiter {
    state: RedisState,
    name: String,
    fallback: InProcessLimiter,
}

/// Trims the window, counts, and records the attempt if under the limit —
/// atomically, so concurrent replicas cannot both take the last slot.
const SLIDING_WINDOW: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return 1
";

impl RedisLimiter {
    /// `name` separates the limits of different endpoints; `limit` attempts per `window` and key.
    pub fn new(state: RedisState, name: &str, limit: usize, window: Duration) -> Self {
        Self { state, name: name.to_owned(), fallback: InProcessLimiter::new(limit, window) }
    }
}

#[async_trait]
impl RateLimiter for RedisLimiter {
    async fn try_acquire(&self, key: &str) -> bool {
        let (limit, window) = self.fallback.limit();
        let now_ms = chrono::Utc::now().timestamp_millis();
        // EVAL rather than EVALSHA: the script is tiny, and this needs no script cache.
        let result = redis::cmd("EVAL")
            .arg(SLIDING_WINDOW)
            .arg(1)
            .arg(self.state.key(&format!("ratelimit:{}:{key}", self.name)))
            .arg(now_ms)
            .arg(window.as_millis() as i64)
            .arg(limit)
            .arg(Uuid::now_v7().to_string())
            .query_async::<i64>(&mut self.state.conn.clone())
            .await;
        self.state.record(&result);
        match result {
            Ok(allowed) => allowed == 1,
            Err(err) => {
                tracing::warn!(error = %err, limiter = %self.name, "Redis unavailable; rate limit falls back to this replica");
                self.fallback.try_acquire(key).await
            }
        }
    }
}

/// The committee cache in Redis, one copy for every replica of every
/// service (see [`crate::directory`]): `<prefix>:committee:<id>` holds the
/// entry as JSON, expiring after `ttl`; the tenants service deletes it when it
/// changes the committee. Redis errors count as misses.
pub struct RedisCommitteeCache {
    state: RedisState,
    ttl: Duration,
}

impl RedisCommitteeCache {
    pub fn new(state: RedisState, ttl: Duration) -> Self {
        Self { state, ttl }
    }

    fn key(&self, id: CommitteeId) -> String {
        self.state.key(&format!("committee:{id}"))
    }
}

#[async_trait]
impl CommitteeCache for RedisCommitteeCache {
    async fn get(&self, id: CommitteeId) -> Option<CommitteeEntry> {
        let result =
            redis::cmd("GET").arg(self.key(id)).query_async::<Option<String>>(&mut self.state.conn.clone()).await;
        self.state.record(&result);
        serde_json::from_str(&result.ok()??).ok()
    }

    async fn put(&self, entry: &CommitteeEntry) {
        let Ok(json) = serde_json::to_string(entry) else { return };
        let result = redis::cmd("SET")
            .arg(self.key(CommitteeId(entry.id)))
            .arg(json)
            .arg("EX")
            .arg(self.ttl.as_secs().max(1))
            .query_async::<()>(&mut self.state.conn.clone())
            .await;
        self.state.record(&result);
    }

    async fn invalidate(&self, id: CommitteeId) {
        let result = redis::cmd("DEL").arg(self.key(id)).query_async::<i64>(&mut self.state.conn.clone()).await;
        self.state.record(&result);
        if let Err(err) = result {
            tracing::warn!(committee = %id, error = %err, "cannot invalidate the cached committee; it expires on its own");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_round_trip() {
        let session = Uuid::now_v7();
        assert_eq!(parse_announcement(&format!("{session} 1790000000")), Some((session, 1_790_000_000)));
        assert_eq!(parse_announcement("garbage"), None);
        assert_eq!(parse_announcement("not-a-uuid 12"), None);
    }
}
