//! Assembling and running the server: one process, every configured service
//! on one port, plus health checking, reflection and gRPC-Web.

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
use xieshang_platform::events::{EventTransport, InProcessBus, OutboxRelay};
use xieshang_platform::telemetry::RpcLayer;
use xieshang_tenants::TenantsService;

/// How often overdue proposals are looked for (reminders are per day).
const DEADLINE_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// A started server. Dropping it does not stop it; call [`Running::shutdown`].
pub struct Running {
    pub addr: SocketAddr,
    pub db: Db,
    pub bus: Arc<InProcessBus>,
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

    let bus = Arc::new(InProcessBus::new());
    let (shutdown, mut shutdown_rx) = watch::channel(false);
    let mut workers = Vec::new();
    let tenants = TenantsService::new(db.clone(), keys.clone(), revocations.clone());
    let mut routes = RoutesBuilder::default();
    let (health, health_service) = tonic_health::server::health_reporter();
    let mut bootstrap = None;

    if config.runs("tenants") {
        tenants.store().load_revocations().await.context("loading revoked sessions")?;
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
        let membership = xieshang_membership::MembershipService::new(db.clone(), pii_key(config)?);
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
        let consultation = xieshang_consultation::ConsultationService::new(db.clone());
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

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(xieshang_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(xieshang_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    routes.add_service(health_service).add_service(reflection_v1).add_service(reflection_v1alpha);

    workers.push(tokio::spawn(
        OutboxRelay::new(db.clone(), bus.clone() as Arc<dyn EventTransport>).run(shutdown_rx.clone()),
    ));
    let router = Server::builder()
        .accept_http1(true)
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(RpcLayer::new())
        .add_routes(routes.routes());
    let server = tokio::spawn(async move {
        router
            .serve_with_incoming_shutdown(TcpIncoming::from(listener), async move {
                let _ = shutdown_rx.wait_for(|stop| *stop).await;
            })
            .await
    });
    tracing::info!(%addr, database = %config.database.redacted_url(), "xieshang is serving");
    Ok(Running {
        addr,
        db,
        bus,
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
