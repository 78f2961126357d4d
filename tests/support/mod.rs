//! Test support: `spawn_app()` starts the real server on a free loopback port
//! with a fresh database, and typed helpers talk gRPC to it.
//!
//! The backend comes from `XIESHANG_TEST_BACKEND`: `sqlite` (default; a file
//! in a temporary directory) or `postgres` (a new database per test on
//! `XIESHANG_TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`).
#![forbid(unsafe_code)]

pub mod cluster;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use sea_orm::{ConnectionTrait, Database};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};
use xieshang::app::Running;
use xieshang_platform::config::{Config, Value};
use xieshang_proto::common::v1::{CommitteeLevel, Role};
use xieshang_proto::tenants::v1 as pb;

pub use pb::audit_service_client::AuditServiceClient;
pub use pb::auth_service_client::AuthServiceClient;
pub use pb::committee_service_client::CommitteeServiceClient;
pub use pb::user_service_client::UserServiceClient;
use xieshang_platform::events::{EventHandler, HandlerError};
pub use xieshang_proto::consultation::v1::consultation_service_client::ConsultationServiceClient;
use xieshang_proto::events::v1::Event;
pub use xieshang_proto::membership::v1::membership_service_client::MembershipServiceClient;
pub use xieshang_proto::membership::v1::reporting_service_client::ReportingServiceClient;
pub use xieshang_proto::proposals::v1::digest_service_client::DigestServiceClient;
pub use xieshang_proto::proposals::v1::information_service_client::InformationServiceClient;
pub use xieshang_proto::proposals::v1::proposal_service_client::ProposalServiceClient;

pub const OPERATOR_PASSWORD: &str = "运维-operator-2026";
/// Password every fixture user gets.
pub const PASSWORD: &str = "Xieshang-测试-2026";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_env() -> Self {
        match std::env::var("XIESHANG_TEST_BACKEND").as_deref() {
            Ok("postgres") => Backend::Postgres,
            Ok("sqlite") | Err(_) => Backend::Sqlite,
            Ok(other) => panic!("XIESHANG_TEST_BACKEND={other}: expected sqlite or postgres"),
        }
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub backend: Backend,
    pub running: Running,
    pub channel: Channel,
    pub config: Config,
    _dir: TempDir,
}

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The PostgreSQL server the suites (and the benches) create their databases on.
pub fn postgres_base() -> String {
    std::env::var("XIESHANG_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Replaces the database name of a postgres URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let slash = base.rfind('/').expect("postgres URL has a database");
    let mut out = format!("{}/{}", &base[..slash], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Creates a fresh database for one test; drops those older runs left behind.
async fn fresh_postgres_database() -> String {
    let base = postgres_base();
    let admin = Database::connect(base.clone()).await.expect("PostgreSQL must be reachable for the postgres suite");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let stale = admin
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT datname FROM pg_database WHERE datname LIKE 'xs_test_%'",
        ))
        .await
        .expect("list test databases");
    for row in stale {
        let name: String = row.try_get("", "datname").unwrap();
        let created: u64 = name.split('_').nth(2).and_then(|t| t.parse().ok()).unwrap_or(now);
        if now.saturating_sub(created) > 3600 {
            let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
    }
    let name = format!("xs_test_{now}_{}", uuid::Uuid::new_v4().simple());
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
    admin.close().await.ok();
    with_database(&base, &name)
}

/// Starts the server on 127.0.0.1:0 with a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// [`spawn_app`] with more settings, e.g. `("events.max_attempts", Value::from(2u32))`;
/// they win over the test defaults.
pub async fn spawn_app_with(settings: &[(&str, Value)]) -> TestApp {
    let backend = Backend::from_env();
    let dir = TempDir(std::env::temp_dir().join(format!("xieshang-test-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.0.join("xieshang.db").display()),
        Backend::Postgres => fresh_postgres_database().await,
    };
    let overrides = [
        ("listen", Value::from("127.0.0.1:0")),
        ("data_dir", Value::from(dir.0.display().to_string())),
        ("database.url", Value::from(url)),
        ("auth.signing_key", Value::from("test-signing-key-test-signing-key-0123456789")),
        ("pii.key", Value::from("0123456789abcdef0123456789abcdef")),
        ("bootstrap.password", Value::from(OPERATOR_PASSWORD)),
        ("log.filter", Value::from("warn")),
    ];
    let overrides: Vec<(&str, Value)> = overrides.into_iter().chain(settings.iter().cloned()).collect();
    let config = Config::load(None, &overrides).expect("test config");
    let _ = xieshang_platform::telemetry::init(&config.log, "xieshang-test").map(std::mem::forget);
    let running = xieshang::app::start(&config).await.expect("server starts");
    let addr = running.addr;
    let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.expect("connect");
    TestApp { addr, backend, running, channel, config, _dir: dir }
}

/// Adds `authorization: Bearer …` to every call.
#[derive(Clone)]
pub struct Bearer(pub Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(token) = &self.0 {
            request.metadata_mut().insert("authorization", token.clone());
        }
        Ok(request)
    }
}

pub type Authed = InterceptedService<Channel, Bearer>;

/// A signed-in user's clients.
#[derive(Clone)]
pub struct Session {
    pub channel: Channel,
    pub access_token: String,
    pub refresh_token: String,
    pub user: pb::User,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("user", &self.user.username).finish_non_exhaustive()
    }
}

impl Session {
    /// The `authorization` metadata of this session, for any generated client.
    pub fn bearer(&self) -> Bearer {
        Bearer(Some(MetadataValue::from_str(&format!("Bearer {}", self.access_token)).unwrap()))
    }

    pub fn committees(&self) -> CommitteeServiceClient<Authed> {
        CommitteeServiceClient::with_interceptor(self.channel.clone(), self.bearer())
    }

    pub fn users(&self) -> UserServiceClient<Authed> {
        UserServiceClient::with_interceptor(self.channel.clone(), self.bearer())
    }

    pub fn auth(&self) -> AuthServiceClient<Authed> {
        AuthServiceClient::with_interceptor(self.channel.clone(), self.bearer())
    }

    pub fn audit(&self) -> AuditServiceClient<Authed> {
        AuditServiceClient::with_interceptor(self.channel.clone(), self.bearer())
    }

    pub fn proposals(&self) -> ProposalServiceClient<Authed> {
        ProposalServiceClient::with_interceptor(self.channel.clone(), self.bearer())
    }

    pub fn information(&self) -> InformationServiceClient<Authed> {
        InformationServiceClient::with_interceptor(self.channel.clone(), self.bearer())
    }

    pub fn membership(&self) -> MembershipServiceClient<Authed> {
        MembershipServiceClient::with_interceptor(self.channel.clone(), self.bearer())
    }

    pub fn reporting(&self) -> ReportingServiceClient<Authed> {
        ReportingServiceClient::with_interceptor(self.channel.clone(), self.bearer())
    }

    pub fn digests(&self) -> DigestServiceClient<Authed> {
        DigestServiceClient::with_interceptor(self.channel.clone(), self.bearer())
    }

    pub fn consultation(&self) -> ConsultationServiceClient<Authed> {
        ConsultationServiceClient::with_interceptor(self.channel.clone(), self.bearer())
    }
}

/// Creates a membership reference item (sector 界别, activity group, special
/// committee, liaison station) and returns its id.
pub async fn reference_item(
    c: &mut MembershipServiceClient<Authed>,
    kind: xieshang_proto::membership::v1::ReferenceKind,
    code: &str,
    name: &str,
) -> String {
    let item = xieshang_proto::membership::v1::ReferenceItem {
        kind: kind as i32,
        code: code.into(),
        name: name.into(),
        ..Default::default()
    };
    c.create_reference_item(xieshang_proto::membership::v1::CreateReferenceItemRequest { item: Some(item) })
        .await
        .unwrap_or_else(|e| panic!("reference item {name}: {e:?}"))
        .into_inner()
        .id
}

/// Records every event published on the bus, once per event id.
#[derive(Default)]
pub struct Recorder {
    pub events: std::sync::Mutex<Vec<Event>>,
}

#[async_trait::async_trait]
impl EventHandler for Recorder {
    fn name(&self) -> &str {
        "test-recorder"
    }

    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        if !events.iter().any(|e| e.id == event.id) {
            events.push(event.clone());
        }
        Ok(())
    }
}

impl Recorder {
    /// Subscribes a new recorder to the app's bus.
    pub fn on(app: &TestApp) -> std::sync::Arc<Self> {
        let recorder = std::sync::Arc::new(Self::default());
        app.running.bus.subscribe(recorder.clone());
        recorder
    }

    /// The first recorded event `pick` accepts.
    pub fn find<T>(&self, pick: impl Fn(&Event) -> Option<T>) -> Option<T> {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).iter().find_map(pick)
    }

    pub fn snapshot(&self) -> Vec<Event> {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Polls `check` every 20 ms until it holds; fails the test after 15 s.
pub async fn eventually<F: AsyncFn() -> bool>(what: &str, check: F) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

impl TestApp {
    /// Clients without a token.
    pub fn anonymous(&self) -> Session {
        Session {
            channel: self.channel.clone(),
            access_token: String::new(),
            refresh_token: String::new(),
            user: pb::User::default(),
        }
    }

    pub fn anonymous_committees(&self) -> CommitteeServiceClient<Channel> {
        CommitteeServiceClient::new(self.channel.clone())
    }

    pub async fn login(&self, committee_code: &str, username: &str, password: &str) -> Result<Session, Status> {
        login_at(self.channel.clone(), committee_code, username, password).await
    }

    pub async fn operator(&self) -> Session {
        self.login("", "operator", OPERATOR_PASSWORD).await.expect("operator signs in")
    }

    /// Stops the server gracefully.
    pub async fn stop(self) {
        self.running.shutdown().await.expect("clean shutdown");
    }
}

/// Signs in at the server behind `channel`.
pub async fn login_at(
    channel: Channel,
    committee_code: &str,
    username: &str,
    password: &str,
) -> Result<Session, Status> {
    let response = AuthServiceClient::new(channel.clone())
        .login(pb::LoginRequest {
            committee_code: committee_code.into(),
            username: username.into(),
            password: password.into(),
        })
        .await?
        .into_inner();
    Ok(Session {
        channel,
        access_token: response.access_token,
        refresh_token: response.refresh_token,
        user: response.user.unwrap_or_default(),
    })
}

pub fn committee(code: &str, name: &str, level: CommitteeLevel, parent_id: &str) -> pb::CreateCommitteeRequest {
    pb::CreateCommitteeRequest {
        committee: Some(pb::Committee {
            code: code.into(),
            name: name.into(),
            level: level as i32,
            parent_id: parent_id.into(),
            ..Default::default()
        }),
    }
}

/// The fixture tree, with each committee's id.
pub struct Tree {
    pub hebei: pb::Committee,
    pub xingtai: pb::Committee,
    pub ningjin: pb::Committee,
    pub lincheng: pb::Committee,
    pub zhejiang: pb::Committee,
    pub jiaxing: pb::Committee,
    pub haining: pb::Committee,
}

/// 河北省 → 邢台市 → 宁晋县, 临城县; 浙江省 → 嘉兴市 → 海宁市 — each with an
/// `admin` (password [`PASSWORD`]), created by the operator.
pub async fn seed_tree(app: &TestApp) -> Tree {
    seed_tree_as(&app.operator().await).await
}

/// [`seed_tree`], by a signed-in platform operator of any server.
pub async fn seed_tree_as(op: &Session) -> Tree {
    let mut c = op.committees();
    let mut make = async |code: &str, name: &str, level: CommitteeLevel, parent: &str| {
        c.create_committee(committee(code, name, level, parent)).await.expect(name).into_inner()
    };
    let hebei = make("130000", "河北省政协", CommitteeLevel::Provincial, "").await;
    let xingtai = make("130500", "邢台市政协", CommitteeLevel::City, &hebei.id).await;
    let ningjin = make("130528", "宁晋县政协", CommitteeLevel::County, &xingtai.id).await;
    let lincheng = make("130522", "临城县政协", CommitteeLevel::County, &xingtai.id).await;
    let zhejiang = make("330000", "浙江省政协", CommitteeLevel::Provincial, "").await;
    let jiaxing = make("330400", "嘉兴市政协", CommitteeLevel::City, &zhejiang.id).await;
    let haining = make("330481", "海宁市政协", CommitteeLevel::County, &jiaxing.id).await;
    let admins = [
        (&hebei, "李建华"),
        (&xingtai, "王秀兰"),
        (&ningjin, "张国强"),
        (&lincheng, "赵丽娟"),
        (&zhejiang, "陈志明"),
        (&jiaxing, "周敏"),
        (&haining, "徐海峰"),
    ];
    for (committee, name) in admins {
        create_user(op, &committee.id, "admin", name, &[Role::CommitteeAdmin]).await;
    }
    Tree { hebei, xingtai, ningjin, lincheng, zhejiang, jiaxing, haining }
}

/// Creates a user with [`PASSWORD`].
pub async fn create_user(
    by: &Session,
    committee_id: &str,
    username: &str,
    display_name: &str,
    roles: &[Role],
) -> pb::User {
    by.users()
        .create_user(pb::CreateUserRequest {
            user: Some(pb::User {
                committee_id: committee_id.into(),
                username: username.into(),
                display_name: display_name.into(),
                roles: roles.iter().map(|r| *r as i32).collect(),
                ..Default::default()
            }),
            password: PASSWORD.into(),
        })
        .await
        .unwrap_or_else(|e| panic!("create {username}: {e:?}"))
        .into_inner()
        .user
        .expect("user")
}

/// The field named by an `InvalidArgument`/`AlreadyExists` status's BadRequest detail.
pub fn violated_field(status: &Status) -> String {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .and_then(|b| b.field_violations.first().map(|v| v.field.clone()))
        .unwrap_or_default()
}

/// Asserts a result failed with `code`.
#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(result: Result<T, Status>, code: tonic::Code) -> Status {
    match result {
        Ok(v) => panic!("expected {code:?}, got Ok({v:?})"),
        Err(status) => {
            assert_eq!(status.code(), code, "unexpected status: {status:?}");
            status
        }
    }
}

/// Opens the 10th term (from 2021-12-15) and its first plenary session
/// (2022-01-10) of a committee, so that its proposals can be filed.
pub async fn open_tenth_term(c: &mut CommitteeServiceClient<Authed>, committee_id: &str) {
    c.create_term(pb::CreateTermRequest {
        committee_id: committee_id.into(),
        term: Some(pb::Term {
            number: 10,
            start_date: Some(xieshang_proto::common::v1::Date { year: 2021, month: 12, day: 15 }),
            ..Default::default()
        }),
    })
    .await
    .expect("open the 10th term");
    c.create_plenary_session(pb::CreatePlenarySessionRequest {
        committee_id: committee_id.into(),
        session: Some(pb::PlenarySession {
            start_date: Some(xieshang_proto::common::v1::Date { year: 2022, month: 1, day: 10 }),
            ..Default::default()
        }),
    })
    .await
    .expect("open the first plenary session");
}
