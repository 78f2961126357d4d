//! Assembling and running the server: every configured service on one port,
//! plus health checking, reflection and gRPC-Web.
//!
//! The services themselves cannot tell how they run: each receives a database
//! handle, an event transport to subscribe its handlers to, and a rate limiter
//! where it has a public endpoint. Which ones is decided here, from the
//! configuration alone:
//!
//! - embedded default (no `redis.url`): [`InProcessBus`], in-process rate
//!   limits and revocations — one process only;
//! - distributed (`redis.url` set): [`RedisBus`] on Redis Streams (each
//!   handler a consumer group, this process one consumer), rate limits and
//!   revocations shared through Redis ([`xieshang_platform::redis_state`]).
//!   Health then reports `xieshang.redis` as NOT_SERVING while Redis is
//!   unreachable; everything not needing it keeps serving, and events wait
//!   in the outbox until it returns.
//!
//! Either way, events a handler gives up on (`events.max_attempts`, or a
//! permanent error) are recorded in `event_dead_letters` and the handler goes
//! on; start-up logs how many wait for an operator (`xieshang events
//! dead-letters`), without affecting health.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::service::RoutesBuilder;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use xieshang_platform::auth::{AuthInterceptor, Revocations, TokenKeys};
use xieshang_platform::config::Config;
use xieshang_platform::db::Db;
use xieshang_platform::events::{DeadLetters, EventTransport, InProcessBus, OutboxRelay, RetryPolicy};
use xieshang_platform::limits::{InProcessLimiter, RateLimiter};
use xieshang_platform::redis_bus::{RedisBus, RedisBusOptions, StartFrom};
use xieshang_platform::redis_state::{RedisCommitteeCache, RedisLimiter, RedisState, spawn_revocation_sync};
use xieshang_platform::telemetry::RpcLayer;
use xieshang_tenants::TenantsService;

/// The health-check service name that reports Redis reachability.
pub const REDIS_HEALTH: &str = "xieshang.redis";

/// How long a cached committee lives in Redis at most (changes invalidate it at once).
const COMMITTEE_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// How often overdue proposals are looked for (reminders are per day).
const DEADLINE_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// A started server. Dropping it does not stop it; call [`Running::shutdown`].
pub struct Running {
    pub addr: SocketAddr,
    pub db: Db,
    /// The event transport the services' handlers are subscribed to.
    pub bus: Arc<dyn EventTransport>,
    /// Where the bus records events a handler gave up on.
    pub dead_letters: DeadLetters,
    /// The Prometheus endpoint's address, when `metrics.listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    pub tenants: TenantsService,
    /// Each service, when this process runs it.
    pub proposals: Option<xieshang_proposals::ProposalsService>,
    pub membership: Option<xieshang_membership::MembershipService>,
    pub consultation: Option<xieshang_consultation::ConsultationService>,
    pub analytics: Option<xieshang_analytics::AnalyticsService>,
    /// The first operator, when this start created one: username and, if
    /// generated, the one-time password.
    pub bootstrap: Option<(String, Option<String>)>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    /// Background work that stops on shutdown: the outbox relay, sweeps.
    workers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, finishes in-flight requests and the relay's batch.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.server.await.context("server task")?.context("server")?;
        for worker in self.workers {
            worker.await.context("background task")?;
        }
        Ok(())
    }

    /// Waits until the server stops by itself (it does not, unless it fails).
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        (&mut self.server).await.context("server task")?.context("server")?;
        Ok(())
    }

    /// A sender that triggers graceful shutdown (for signal handlers).
    pub fn shutdown_trigger(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Connects, migrates, bootstraps and starts serving on `config.listen`
/// (port 0 picks a free port; see [`Running::addr`]).
pub async fn start(config: &Config) -> anyhow::Result<Running> {
    let listener =
        TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;

    let db = Db::connect(&config.database)
        .await
        .with_context(|| format!("cannot open the database {}", config.database.redacted_url()))?;
    let key = signing_key(config)?;
    let keys = Arc::new(TokenKeys::new(&key, config.auth.access_token_ttl_secs, config.auth.refresh_token_ttl_secs)?);
    let revocations = Revocations::default();
    let auth = AuthInterceptor::new(keys.clone(), revocations.clone());

    let (shutdown, mut shutdown_rx) = watch::channel(false);
    let mut workers = Vec::new();
    let mut routes = RoutesBuilder::default();
    let (health, health_service) = tonic_health::server::health_reporter();
    let mut bootstrap = None;

    let distributed = match &config.redis.url {
        None => None,
        Some(url) => {
            let url = url.expose_secret();
            let redacted = config.redis.redacted_url().unwrap_or_default();
            let state = RedisState::connect(url, &config.redis.prefix)
                .await
                .with_context(|| format!("cannot reach Redis at {redacted}"))?;
            // Groups created now replay what the stream holds: a service
            // started after others published must still see their events
            // (handlers apply each event once).
            let options = RedisBusOptions {
                start_from: StartFrom::Beginning,
                max_attempts: config.events.max_attempts,
                ..RedisBusOptions::default()
            };
            let bus = RedisBus::connect_with(url, &config.redis.event_stream(), options)
                .await
                .with_context(|| format!("cannot reach Redis at {redacted}"))?;
            Some((state, Arc::new(bus)))
        }
    };
    // Every replica reads committees through one cache; the tenants service
    // invalidates what it changes.
    let db = match &distributed {
        Some((state, _)) => db.with_committee_cache(Arc::new(RedisCommitteeCache::new(state.clone(), COMMITTEE_TTL))),
        None => db,
    };
    let tenants = TenantsService::new(db.clone(), keys.clone(), revocations.clone());
    let dead_letters = DeadLetters::new(db.clone());
    let bus: Arc<dyn EventTransport> = match &distributed {
        Some((_, redis_bus)) => {
            redis_bus.set_dead_letters(dead_letters.clone());
            redis_bus.clone()
        }
        None => Arc::new(InProcessBus::with_dead_letters(
            dead_letters.clone(),
            RetryPolicy::new(config.events.max_attempts),
        )),
    };
    let limiter = |name: &str, limit: usize, window: std::time::Duration| -> Arc<dyn RateLimiter> {
        match &distributed {
            Some((state, _)) => Arc::new(RedisLimiter::new(state.clone(), name, limit, window)),
            None => Arc::new(InProcessLimiter::new(limit, window)),
        }
    };

    // Every process checks tokens, so every process needs the revoked sessions.
    tenants.store().load_revocations().await.context("loading revoked sessions")?;
    if config.runs("tenants") {
        bootstrap = tenants
            .store()
            .bootstrap_operator(
                &config.bootstrap.username,
                config.bootstrap.password.as_ref().map(|p| p.expose_secret()),
            )
            .await
            .map_err(|e| anyhow::anyhow!("creating the first platform operator: {e}"))?;
        tenants.add_to(&mut routes, auth.clone());
        for name in xieshang_tenants::SERVICE_NAMES {
            health.set_service_status(*name, ServingStatus::Serving).await;
        }
    }
    let mut membership_service = None;
    if config.runs("membership") {
        let studio_limiter = limiter(
            "studio-requests",
            xieshang_membership::domain::studios::PUBLIC_LIMIT,
            xieshang_membership::domain::studios::PUBLIC_WINDOW,
        );
        let membership =
            xieshang_membership::MembershipService::with_limiter(db.clone(), pii_key(config)?, studio_limiter);
        membership.add_to(&mut routes, auth.clone());
        for handler in membership.event_handlers() {
            bus.subscribe(handler);
        }
        for name in xieshang_membership::SERVICE_NAMES {
            health.set_service_status(*name, ServingStatus::Serving).await;
        }
        membership_service = Some(membership);
    }
    let mut proposals_service = None;
    if config.runs("proposals") {
        let proposals = xieshang_proposals::ProposalsService::new(db.clone());
        proposals.add_to(&mut routes, auth.clone());
        for handler in proposals.event_handlers() {
            bus.subscribe(handler);
        }
        // Safe on every replica: a reminder is written once per deadline.
        let sweeper = proposals.clone();
        let stop = shutdown_rx.clone();
        workers.push(tokio::spawn(async move { sweeper.run_sweeper(DEADLINE_SWEEP_EVERY, stop).await }));
        proposals_service = Some(proposals);
        for name in xieshang_proposals::SERVICE_NAMES {
            health.set_service_status(*name, ServingStatus::Serving).await;
        }
    }
    let mut consultation_service = None;
    if config.runs("consultation") {
        let topic_limiter =
            limiter("public-topics", xieshang_consultation::PUBLIC_SUBMISSIONS, xieshang_consultation::PUBLIC_WINDOW);
        let consultation =
            xieshang_consultation::ConsultationService::with_limiter(db.clone(), pii_key(config)?, topic_limiter);
        consultation.add_to(&mut routes, auth.clone());
        for handler in consultation.event_handlers() {
            bus.subscribe(handler);
        }
        for name in xieshang_consultation::SERVICE_NAMES {
            health.set_service_status(*name, ServingStatus::Serving).await;
        }
        consultation_service = Some(consultation);
    }
    let mut analytics_service = None;
    if config.runs("analytics") {
        let analytics = xieshang_analytics::AnalyticsService::new(db.clone());
        analytics.add_to(&mut routes, auth.clone());
        for handler in analytics.event_handlers() {
            bus.subscribe(handler);
        }
        for name in xieshang_analytics::SERVICE_NAMES {
            health.set_service_status(*name, ServingStatus::Serving).await;
        }
        analytics_service = Some(analytics);
    }
    health.set_service_status("", ServingStatus::Serving).await;

    if let Some((state, redis_bus)) = &distributed {
        // Handlers are all subscribed by now; each becomes a consumer group.
        let consumer = consumer_name(config, addr);
        workers.extend(redis_bus.start(&consumer, shutdown_rx.clone()).await);
        let store = tenants.store().clone();
        let reload: xieshang_platform::redis_state::Reload = Arc::new(move || {
            let store = store.clone();
            Box::pin(async move { store.load_revocations().await.map_err(|e| e.to_string()) })
        });
        workers.push(spawn_revocation_sync(state.clone(), revocations.clone(), reload, shutdown_rx.clone()));
        workers.push(tokio::spawn(report_redis_health(
            health.clone(),
            state.clone(),
            redis_bus.clone(),
            shutdown_rx.clone(),
        )));
        tracing::info!(redis = %config.redis.redacted_url().unwrap_or_default(), consumer, "events on Redis Streams");
    }
    let metrics_addr = match config.metrics.listen {
        Some(listen) => {
            let (bound, task) = xieshang_platform::metrics::spawn(listen, shutdown_rx.clone())
                .await
                .with_context(|| format!("cannot listen for metrics on {listen}"))?;
            workers.push(task);
            Some(bound)
        }
        None => None,
    };

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(xieshang_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(xieshang_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    routes.add_service(health_service).add_service(reflection_v1).add_service(reflection_v1alpha);

    workers.push(tokio::spawn(OutboxRelay::new(db.clone(), bus.clone()).run(shutdown_rx.clone())));
    // RPCs of services this process does not run go to their peers.
    let forwarder = crate::forward::Forwarder::new(config)?;
    let routes = routes.routes().into_axum_router().fallback_service(forwarder);
    let router = Server::builder()
        .accept_http1(true)
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(RpcLayer::new())
        .add_routes(tonic::service::Routes::from(routes));
    let server = tokio::spawn(async move {
        router
            // Small responses go out at once: without TCP_NODELAY each could wait
            // for the client's delayed ACK (~40 ms on Linux).
            .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), async move {
                let _ = shutdown_rx.wait_for(|stop| *stop).await;
            })
            .await
    });
    report_dead_letters(&dead_letters).await;
    tracing::info!(%addr, database = %config.database.redacted_url(), "xieshang is serving");
    Ok(Running {
        addr,
        db,
        bus,
        dead_letters,
        metrics_addr,
        tenants,
        proposals: proposals_service,
        membership: membership_service,
        consultation: consultation_service,
        analytics: analytics_service,
        bootstrap,
        shutdown,
        server,
        workers,
    })
}

/// Logs how many dead letters wait for an operator. Informational only: a
/// dead letter concerns one event of one handler, so health stays SERVING.
async fn report_dead_letters(dead_letters: &DeadLetters) {
    match dead_letters.count_unresolved().await {
        Ok(0) => {}
        Ok(unresolved) => tracing::warn!(
            unresolved,
            "events that handlers gave up on wait in event_dead_letters; \
             see `xieshang events dead-letters`, then `retry` or `discard` them"
        ),
        Err(err) => tracing::warn!(error = %err, "cannot count the unresolved dead letters"),
    }
}

/// This process's consumer name in every group: stable across restarts of the
/// same pod (its hostname) and listener, so that a restarted process resumes
/// its own pending entries at once instead of waiting for the reclaim.
fn consumer_name(config: &Config, addr: SocketAddr) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "xieshang".to_owned());
    let services = if config.services.is_empty() { "all".to_owned() } else { config.services.join("+") };
    format!("{host}:{}:{services}", addr.port())
}

/// Keeps `xieshang.redis` in the health report (and the `xieshang_redis_up`
/// gauge) in step with whether the last Redis operations succeeded.
async fn report_redis_health(
    health: tonic_health::server::HealthReporter,
    state: RedisState,
    bus: Arc<RedisBus>,
    mut shutdown: watch::Receiver<bool>,
) {
    let gauge = (state.clone(), bus.clone());
    xieshang_platform::metrics::register_gauge(
        "xieshang_redis_up",
        "1 when the last Redis operations (events, shared state) succeeded.",
        move || f64::from(u8::from(gauge.0.health() && gauge.1.health())),
    );
    let mut last = None;
    loop {
        let up = state.health() && bus.health();
        if last != Some(up) {
            let status = if up { ServingStatus::Serving } else { ServingStatus::NotServing };
            health.set_service_status(REDIS_HEALTH, status).await;
            if last.is_some() {
                if up {
                    tracing::info!("Redis is reachable again");
                } else {
                    tracing::warn!("Redis is unreachable: events wait in the outbox");
                }
            }
            last = Some(up);
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// The access-token key: configured, or for the embedded default generated
/// once into `<data_dir>/signing.key`. Replicas on PostgreSQL must share one,
/// so there it must be configured.
fn signing_key(config: &Config) -> anyhow::Result<Vec<u8>> {
    let key =
        configured_or_generated(config, config.auth.signing_key.as_ref(), "signing.key", "auth.signing_key", || {
            xieshang_platform::auth::random_secret(48)
        })?;
    Ok(key.into_bytes())
}

/// The SM4 key for personal information: 32 hex digits, configured, or for
/// the embedded default generated once into `<data_dir>/pii.key`.
fn pii_key(config: &Config) -> anyhow::Result<[u8; 16]> {
    let hex = configured_or_generated(config, config.pii.key.as_ref(), "pii.key", "pii.key", || {
        let bytes: [u8; 16] = rand::random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    })?;
    parse_hex_key(&hex).context("pii.key must be 32 hexadecimal digits (a 128-bit SM4 key)")
}

fn parse_hex_key(hex: &str) -> anyhow::Result<[u8; 16]> {
    let hex = hex.trim();
    anyhow::ensure!(hex.len() == 32 && hex.is_ascii(), "wrong length");
    let mut key = [0u8; 16];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)?;
    }
    Ok(key)
}

/// A secret from configuration or, for the embedded default only, from a
/// file under `data_dir` that is generated on first start. On PostgreSQL
/// several replicas must share the value, so it must be configured.
fn configured_or_generated(
    config: &Config,
    configured: Option<&secrecy::SecretString>,
    file: &str,
    setting: &str,
    generate: impl FnOnce() -> String,
) -> anyhow::Result<String> {
    if let Some(value) = configured {
        return Ok(value.expose_secret().to_owned());
    }
    if !config.database.is_sqlite() {
        let env = format!("XIESHANG__{}", setting.replace('.', "__").to_ascii_uppercase());
        anyhow::bail!("{setting} ({env}) is required with PostgreSQL: every replica must share it");
    }
    let path = config.data_dir.join(file);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if !existing.trim().is_empty() {
            return Ok(existing.trim().to_owned());
        }
    }
    let value = generate();
    write_private(&path, &value).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(value)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pii_keys_are_128_bit_hex() {
        assert_eq!(parse_hex_key("000102030405060708090a0b0c0d0e0f").unwrap()[15], 15);
        assert!(parse_hex_key("0001").is_err());
        assert!(parse_hex_key("zz0102030405060708090a0b0c0d0e0f").is_err());
    }
}
