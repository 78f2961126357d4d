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

/// A started server. Dropping it does not stop it; call [`Running::shutdown`].
pub struct Running {
    pub addr: SocketAddr,
    pub db: Db,
    pub bus: Arc<InProcessBus>,
    pub tenants: TenantsService,
    /// The first operator, when this start created one: username and, if
    /// generated, the one-time password.
    pub bootstrap: Option<(String, Option<String>)>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    relay: JoinHandle<()>,
}

impl Running {
    /// Stops accepting, finishes in-flight requests and the relay's batch.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.server.await.context("server task")?.context("server")?;
        self.relay.await.context("relay task")?;
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
    if config.runs("proposals") {
        let proposals = xieshang_proposals::ProposalsService::new(db.clone());
        proposals.add_to(&mut routes, auth.clone());
        for name in xieshang_proposals::SERVICE_NAMES {
            health.set_service_status(*name, ServingStatus::Serving).await;
        }
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

    let (shutdown, mut shutdown_rx) = watch::channel(false);
    let relay =
        tokio::spawn(OutboxRelay::new(db.clone(), bus.clone() as Arc<dyn EventTransport>).run(shutdown_rx.clone()));
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
    Ok(Running { addr, db, bus, tenants, bootstrap, shutdown, server, relay })
}

/// The access-token key: configured, or for the embedded default generated
/// once into `<data_dir>/signing.key`. Replicas on PostgreSQL must share one,
/// so there it must be configured.
fn signing_key(config: &Config) -> anyhow::Result<Vec<u8>> {
    if let Some(key) = &config.auth.signing_key {
        return Ok(key.expose_secret().as_bytes().to_vec());
    }
    if !config.database.is_sqlite() {
        anyhow::bail!(
            "auth.signing_key (XIESHANG__AUTH__SIGNING_KEY) is required with PostgreSQL: every replica must share it"
        );
    }
    let path = config.data_dir.join("signing.key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let key = existing.trim().as_bytes().to_vec();
        if key.len() >= 32 {
            return Ok(key);
        }
    }
    let key = xieshang_platform::auth::random_secret(48);
    write_private(&path, &key).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(key.into_bytes())
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
