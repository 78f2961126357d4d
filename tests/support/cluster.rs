//! Distributed mode under test: each service as its own `xieshang serve`
//! process on loopback, against the local PostgreSQL and Redis, the way the
//! Helm chart runs them (one process per service, migrations run once by a
//! separate `xieshang migrate up`).
//!
//! Redis may be reached through a [`RedisProxy`] the test controls, to cut the
//! traffic and restore it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tonic::transport::Channel;

use crate::{OPERATOR_PASSWORD, Session, TempDir, fresh_postgres_database, login_at};

/// Where the local Redis listens (`XIESHANG_TEST_REDIS_URL` overrides).
pub fn redis_url() -> String {
    std::env::var("XIESHANG_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The `xieshang` binary: `XIESHANG_BIN`, or built now with the cargo that
/// builds this suite (a no-op when it is up to date). `--workspace --all-targets`
/// keeps the feature set of the suite's own build, so no dependency is rebuilt.
pub fn xieshang_binary() -> PathBuf {
    if let Ok(path) = std::env::var("XIESHANG_BIN") {
        return PathBuf::from(path);
    }
    let output = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--workspace", "--all-targets", "--message-format=json"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo build for the xieshang binary");
    assert!(output.status.success(), "cargo build -p xieshang failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|message| message.get("executable").and_then(|e| e.as_str()).map(PathBuf::from))
        .filter(|path| path.file_name().is_some_and(|name| name == "xieshang"))
        .last()
        .expect("cargo reported the xieshang executable")
}

/// One `xieshang serve --services <name>` process.
pub struct Process {
    pub name: String,
    pub addr: SocketAddr,
    pub channel: Channel,
    child: Child,
    env: BTreeMap<String, String>,
}

impl Process {
    async fn spawn(name: &str, listen: SocketAddr, env: &BTreeMap<String, String>) -> Self {
        let mut command = Command::new(xieshang_binary());
        command
            .arg("serve")
            .envs(env)
            .env("XIESHANG__SERVICES", name)
            .env("XIESHANG__LISTEN", listen.to_string())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("start xieshang serve");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("{name}: no address printed within 60 s"))
                .expect("read stdout")
                .unwrap_or_else(|| panic!("{name}: exited before serving"));
            if let Some(addr) = line.rsplit(" on ").next().filter(|_| line.contains("is serving gRPC")) {
                break addr.trim().parse::<SocketAddr>().expect("printed address");
            }
        };
        // Keep draining stdout so the process never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.expect("connect");
        Self { name: name.to_owned(), addr, channel, child, env: env.clone() }
    }

    /// SIGKILL: no shutdown, no flushing, pending stream entries stay pending.
    pub async fn kill(&mut self) {
        self.child.start_kill().expect("SIGKILL");
        let _ = self.child.wait().await;
    }

    /// Starts the same service again on the same address (the same consumer
    /// name, as a restarted container in the same pod would have).
    pub async fn restart(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        *self = Self::spawn(&self.name.clone(), self.addr, &self.env.clone()).await;
    }

    /// Graceful stop (SIGTERM, as Kubernetes sends).
    pub async fn terminate(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(20), self.child.wait()).await;
        let _ = self.child.start_kill();
    }
}

/// Every service in its own process, one PostgreSQL database, one Redis.
pub struct Cluster {
    pub database_url: String,
    pub redis_prefix: String,
    pub processes: BTreeMap<String, Process>,
    _dir: TempDir,
}

impl Cluster {
    /// Migrates a fresh database, then starts one process per service
    /// (`tenants` first: it creates the platform operator), reaching Redis at `redis`.
    pub async fn start(services: &[&str], redis: &str) -> Self {
        Self::start_with(services, redis, &[]).await
    }

    /// [`Cluster::start`] with extra environment for every process.
    pub async fn start_with(services: &[&str], redis: &str, extra_env: &[(&str, &str)]) -> Self {
        let dir = TempDir(std::env::temp_dir().join(format!("xieshang-cluster-{}", uuid::Uuid::new_v4().simple())));
        std::fs::create_dir_all(&dir.0).unwrap();
        let database_url = fresh_postgres_database().await;
        let redis_prefix = format!("xieshang-test-{}", uuid::Uuid::new_v4().simple());
        let env: BTreeMap<String, String> = [
            ("XIESHANG__DATABASE__URL", database_url.as_str()),
            ("XIESHANG__DATABASE__AUTO_MIGRATE", "false"),
            ("XIESHANG__DATA_DIR", &dir.0.display().to_string()),
            ("XIESHANG__REDIS__URL", redis),
            ("XIESHANG__REDIS__PREFIX", &redis_prefix),
            ("XIESHANG__AUTH__SIGNING_KEY", "test-signing-key-test-signing-key-0123456789"),
            ("XIESHANG__PII__KEY", "0123456789abcdef0123456789abcdef"),
            ("XIESHANG__BOOTSTRAP__PASSWORD", OPERATOR_PASSWORD),
            ("XIESHANG__LOG__FILTER", "warn"),
        ]
        .into_iter()
        .chain(extra_env.iter().copied())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();

        let migrated = Command::new(xieshang_binary())
            .args(["migrate", "up"])
            .envs(&env)
            .stdout(Stdio::null())
            .status()
            .await
            .expect("run xieshang migrate up");
        assert!(migrated.success(), "xieshang migrate up failed");

        // Every process knows every other's address (`peers`), as in the Helm chart.
        let mut env = env;
        let mut addresses = BTreeMap::new();
        for name in services {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = probe.local_addr().unwrap();
            env.insert(format!("XIESHANG__PEERS__{}", name.to_ascii_uppercase()), format!("http://{addr}"));
            addresses.insert(*name, addr);
        }
        let mut processes = BTreeMap::new();
        for name in services {
            processes.insert((*name).to_owned(), Process::spawn(name, addresses[name], &env).await);
        }
        Self { database_url, redis_prefix, processes, _dir: dir }
    }

    pub fn channel(&self, service: &str) -> Channel {
        self.processes.get(service).unwrap_or_else(|| panic!("{service} is not running")).channel.clone()
    }

    pub fn process(&mut self, service: &str) -> &mut Process {
        self.processes.get_mut(service).unwrap_or_else(|| panic!("{service} is not running"))
    }

    /// Signs in through the tenants process.
    pub async fn login(&self, committee_code: &str, username: &str, password: &str) -> Session {
        login_at(self.channel("tenants"), committee_code, username, password)
            .await
            .unwrap_or_else(|e| panic!("{username}@{committee_code} signs in: {e:?}"))
    }

    /// Stops every process and removes this run's Redis keys.
    pub async fn stop(mut self) {
        for (_, process) in std::mem::take(&mut self.processes) {
            process.terminate().await;
        }
        if let Ok(client) = redis::Client::open(redis_url()) {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{}:*", self.redis_prefix))
                    .query_async(&mut conn)
                    .await
                    .unwrap_or_default();
                if !keys.is_empty() {
                    let _: Result<i64, _> = redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
                }
            }
        }
    }
}

impl Session {
    /// The same signed-in user, talking to another process.
    pub fn on(&self, channel: Channel) -> Session {
        Session { channel, ..self.clone() }
    }
}

/// A TCP proxy in front of Redis that the test can cut and restore.
pub struct RedisProxy {
    pub addr: SocketAddr,
    upstream: SocketAddr,
    state: Arc<Mutex<ProxyState>>,
}

#[derive(Default)]
struct ProxyState {
    acceptor: Option<JoinHandle<()>>,
    connections: Vec<JoinHandle<()>>,
}

impl RedisProxy {
    /// Listens on a free loopback port, forwarding to the local Redis.
    pub async fn start() -> Self {
        let upstream: SocketAddr = redis_url()
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .parse()
            .expect("XIESHANG_TEST_REDIS_URL is redis://host:port");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Self { addr: listener.local_addr().unwrap(), upstream, state: Arc::default() };
        proxy.accept_with(listener);
        proxy
    }

    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    fn accept_with(&self, listener: TcpListener) {
        let state = self.state.clone();
        let upstream = self.upstream;
        let acceptor = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { return };
                let connection = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                state.lock().unwrap().connections.push(connection);
            }
        });
        self.state.lock().unwrap().acceptor = Some(acceptor);
    }

    /// Drops every connection and refuses new ones: Redis is "down".
    pub fn cut(&self) {
        let mut state = self.state.lock().unwrap();
        if let Some(acceptor) = state.acceptor.take() {
            acceptor.abort();
        }
        for connection in state.connections.drain(..) {
            connection.abort();
        }
    }

    /// Listens again on the same port: Redis is "back".
    pub async fn restore(&self) {
        let listener = TcpListener::bind(self.addr).await.expect("rebind the proxy port");
        self.accept_with(listener);
    }
}
