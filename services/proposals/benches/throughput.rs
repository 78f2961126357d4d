//! Benchmark (not a test) of the proposals store:
//! (a) submission → filing throughput: a member drafts and submits, the office
//!     files, through `Store` with real `TenantContext`s, one after another;
//! (b) search latency (p50/p95 of 100 queries) over a generated corpus of
//!     realistic Chinese proposals (deterministic), by a staff member.
//!
//! SQLite always (a fresh file in a temporary directory); PostgreSQL too when
//! `XIESHANG_BENCH_DATABASE_URL` is set (a server URL; a fresh database is
//! created on it and dropped afterwards).
//!
//! ```text
//! cargo bench -p xieshang-proposals --features bench-support --bench throughput -- \
//!     [--proposals 100000] [--filings 2000] [--queries 100]
//! ```

use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, Value};
use uuid::Uuid;
use xieshang_platform::auth::{CommitteeRef, TenantContext};
use xieshang_platform::config::{Config, Value as ConfigValue};
use xieshang_platform::db::{Db, Scope};
use xieshang_platform::ids::{CommitteeId, UserId};
use xieshang_proposals::domain::{Category, Kind, ProposalState};
use xieshang_proposals::store::{BenchProposal, NewProposal, SearchFilter, Store};
use xieshang_proto::common::v1::Role;

struct Args {
    proposals: usize,
    filings: usize,
    queries: usize,
}

fn args() -> Args {
    let mut a = Args { proposals: 100_000, filings: 2_000, queries: 100 };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> usize {
            it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match arg.as_str() {
            "--proposals" => a.proposals = value("--proposals"),
            "--filings" => a.filings = value("--filings"),
            "--queries" => a.queries = value("--queries"),
            // cargo bench passes --bench; ignore what is not ours.
            _ => {}
        }
    }
    a
}

/// A deterministic generator (64-bit LCG), so every run has the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[(self.next() as usize) % list.len()]
    }
}

const PLACES: &[&str] = &[
    "宁晋县",
    "临城县",
    "邢台市",
    "县城",
    "东部乡镇",
    "城乡结合部",
    "开发区",
    "老城区",
    "山区",
    "革命老区",
    "沿河村庄",
    "工业园区",
];
const VERBS: &[&str] = &["加快", "推进", "加强", "完善", "优化", "促进", "规范", "健全", "深化", "支持"];
const TOPICS: &[&str] = &[
    "盐碱地改良",
    "农村饮水安全",
    "政协协商民主建设",
    "居家养老服务",
    "学前教育资源配置",
    "中小企业融资",
    "生活垃圾分类",
    "乡村振兴",
    "基层医疗保障",
    "非物质文化遗产保护",
    "新能源汽车充电设施",
    "智慧交通建设",
    "河道综合治理",
    "大气污染防治",
    "老旧小区改造",
    "农产品冷链物流",
    "职业技能培训",
    "营商环境",
    "社区治理",
    "文旅融合发展",
];
const SENTENCES: &[&str] = &[
    "当前{p}在{t}方面仍存在短板，群众反映较为集中。",
    "建议{v}{t}工作，整合相关资金，形成部门合力。",
    "调研发现，{p}部分群众对{t}的满意度不高，主要原因是投入不足、机制不健全。",
    "建议由县政府牵头，建立{t}联席会议制度，定期协商解决重点难点问题。",
    "要把{t}纳入年度重点工作，明确责任单位和完成时限。",
    "可借鉴外地经验，探索政府引导、市场运作、社会参与的{t}模式。",
    "建议加大财政投入力度，{v}{p}基础设施建设。",
    "应当充分听取群众意见，发挥政协委员联系界别群众的作用。",
    "同时要加强督查考核，确保各项措施落到实处。",
    "建议{v}人才队伍建设，提高基层服务能力和水平。",
];
const QUERIES: &[&str] = &[
    "盐碱地",
    "饮水",
    "協商",
    "协商民主",
    "养老",
    "養老服務",
    "学前教育",
    "融资",
    "垃圾分类",
    "乡村振兴",
    "医疗",
    "文化遗产",
    "充电",
    "交通",
    "河道",
    "污染",
    "老旧小区",
    "冷链",
    "技能培训",
    "营商环境",
    "社区",
    "文旅",
    "财政 投入",
    "联席会议",
    "宁晋县 养老",
];

fn fill(template: &str, rng: &mut Rng, topic: &str) -> String {
    template.replace("{p}", rng.pick(PLACES)).replace("{v}", rng.pick(VERBS)).replace("{t}", topic)
}

/// A proposal: title 关于{verb}{place}{topic}的建议, body 4–9 sentences.
fn generate(rng: &mut Rng) -> (String, String, Category) {
    let topic = rng.pick(TOPICS);
    let title = format!("关于{}{}{}的建议", rng.pick(VERBS), rng.pick(PLACES), topic);
    let n = 4 + (rng.next() % 6) as usize;
    let body: String = (0..n).map(|_| fill(rng.pick(SENTENCES), rng, topic)).collect();
    let category = Category::from_i16(1 + (rng.next() % 6) as i16).unwrap_or(Category::Other);
    (title, body, category)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Runs `sql` (with `?` placeholders) on either backend.
async fn exec(db: &Db, sql: &str, values: Vec<Value>) {
    let backend = db.backend();
    let sql = if backend == DbBackend::Postgres {
        let mut out = String::new();
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(c);
            }
        }
        out
    } else {
        sql.to_owned()
    };
    let tx = db.begin(Scope::System).await.expect("begin");
    tx.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await.expect("seed statement");
    tx.commit().await.expect("commit");
}

struct Fixture {
    member: TenantContext,
    staff: TenantContext,
}

/// One committee with a term, a plenary session, a member and a staff member.
async fn fixture(db: &Db) -> Fixture {
    let committee = Uuid::now_v7();
    let now = Utc::now();
    exec(
        db,
        "INSERT INTO committees (id, code, name, level, parent_id, sibling_scope, path, depth, version, created_at, \
         updated_at) VALUES (?, '130528', '宁晋县政协', 3, NULL, 'root', ?, 0, 1, ?, ?)",
        vec![committee.into(), format!("/{committee}/").into(), now.into(), now.into()],
    )
    .await;
    let term = Uuid::now_v7();
    exec(
        db,
        "INSERT INTO terms (id, committee_id, number, start_date, created_at) VALUES (?, ?, 10, ?, ?)",
        vec![term.into(), committee.into(), NaiveDate::from_ymd_opt(2021, 12, 15).unwrap().into(), now.into()],
    )
    .await;
    exec(
        db,
        "INSERT INTO plenary_sessions (id, committee_id, term_id, number, start_date, created_at) \
         VALUES (?, ?, ?, 1, ?, ?)",
        vec![
            Uuid::now_v7().into(),
            committee.into(),
            term.into(),
            NaiveDate::from_ymd_opt(2022, 1, 10).unwrap().into(),
            now.into(),
        ],
    )
    .await;
    let user = async |name: &str, role: Role| {
        let id = Uuid::now_v7();
        exec(
            db,
            "INSERT INTO users (id, committee_id, scope, username, display_name, password_hash, version, created_at, \
             updated_at) VALUES (?, ?, ?, ?, ?, 'x', 1, ?, ?)",
            vec![
                id.into(),
                committee.into(),
                committee.to_string().into(),
                name.into(),
                name.into(),
                now.into(),
                now.into(),
            ],
        )
        .await;
        exec(
            db,
            "INSERT INTO user_roles (user_id, committee_id, role) VALUES (?, ?, ?)",
            vec![id.into(), committee.into(), (role as i16).into()],
        )
        .await;
        TenantContext {
            user_id: UserId(id),
            username: name.to_owned(),
            session_id: Uuid::now_v7(),
            committee: Some(CommitteeRef { id: CommitteeId(committee), code: "130528".into() }),
            roles: vec![role],
            method: "/bench".into(),
        }
    };
    let member = user("wangjianjun", Role::Member).await;
    let staff = user("liuyang", Role::Staff).await;
    Fixture { member, staff }
}

async fn run(label: &str, url: &str, dir: &std::path::Path, a: &Args) {
    let overrides = [
        ("listen", ConfigValue::from("127.0.0.1:0")),
        ("data_dir", ConfigValue::from(dir.display().to_string())),
        ("database.url", ConfigValue::from(url.to_owned())),
        ("auth.signing_key", ConfigValue::from("bench-signing-key-bench-signing-key-0123456789")),
        ("pii.key", ConfigValue::from("0123456789abcdef0123456789abcdef")),
        ("log.filter", ConfigValue::from("warn")),
    ];
    let config = Config::load(None, &overrides).expect("config");
    let db = Db::connect(&config.database).await.expect("database");
    let f = fixture(&db).await;
    let store = Store::new(db.clone());

    // (a) Submission → filing.
    let mut rng = Rng(2026);
    let started = Instant::now();
    let mut ids = Vec::with_capacity(a.filings);
    for _ in 0..a.filings {
        let (title, body, category) = generate(&mut rng);
        let input = NewProposal {
            kind: Kind::Individual,
            title,
            body,
            category,
            co_signers: Vec::new(),
            sponsor: String::new(),
        };
        let p = store.create_proposal(&f.member, input).await.expect("create");
        store.submit_proposal(&f.member, p.id).await.expect("submit");
        ids.push(p.id);
    }
    let submitted = started.elapsed();
    let filing = Instant::now();
    for id in &ids {
        store.file_proposal(&f.staff, *id).await.expect("file");
    }
    let filed = filing.elapsed();
    let total = started.elapsed();
    let rate = |n: usize, d: Duration| n as f64 / d.as_secs_f64();
    println!("[{label}] submission → filing, {} proposals, sequential:", a.filings);
    println!("  draft + submit : {:>8.1} proposals/s ({:.2} s)", rate(a.filings, submitted), submitted.as_secs_f64());
    println!("  file (numbered): {:>8.1} proposals/s ({:.2} s)", rate(a.filings, filed), filed.as_secs_f64());
    println!("  end to end     : {:>8.1} proposals/s ({:.2} s)", rate(a.filings, total), total.as_secs_f64());

    // (b) Search over the corpus (the filed ones above count towards it).
    let corpus = a.proposals.saturating_sub(a.filings);
    let loading = Instant::now();
    let mut left = corpus;
    while left > 0 {
        let n = left.min(2_000);
        let items = (0..n)
            .map(|i| {
                let (title, body, category) = generate(&mut rng);
                let state = [ProposalState::Submitted, ProposalState::Filed, ProposalState::Closed][i % 3];
                BenchProposal { title, body, category, state, submitted_at: Utc::now() }
            })
            .collect();
        store.bench_import(&f.member, items).await.expect("import");
        left -= n;
    }
    // What autovacuum does after a bulk load, so the searches below run
    // with the plans of a database in use.
    if db.connection().get_database_backend() == DbBackend::Postgres {
        db.connection().execute_unprepared("VACUUM ANALYZE proposals").await.expect("analyze");
    }
    println!(
        "[{label}] corpus: {} proposals ({} imported in {:.1} s, segmented and indexed)",
        a.proposals,
        corpus,
        loading.elapsed().as_secs_f64()
    );
    let mut times = Vec::with_capacity(a.queries);
    let mut hits = 0usize;
    for i in 0..a.queries {
        let filter = SearchFilter { query: QUERIES[i % QUERIES.len()].to_owned(), page_size: 20, ..Default::default() };
        let t = Instant::now();
        let page = store.search_proposals(&f.staff, filter).await.expect("search");
        times.push(t.elapsed());
        hits += page.items.len();
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len().max(1) as u32;
    println!(
        "[{label}] search, {} queries (first page of 20, staff): p50 {}  p95 {}  mean {}  max {}  ({} hits)",
        a.queries,
        ms(percentile(&times, 0.50)),
        ms(percentile(&times, 0.95)),
        ms(mean),
        ms(*times.last().unwrap()),
        hits
    );
    db.connection().clone().close().await.ok();
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let slash = base.rfind('/').expect("a postgres URL names a database");
    let mut out = format!("{}/{}", &base[..slash], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[tokio::main]
async fn main() {
    let a = args();
    let dir = std::env::temp_dir().join(format!("xieshang-bench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let sqlite = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    run("sqlite", &sqlite, &dir, &a).await;
    if let Ok(server) = std::env::var("XIESHANG_BENCH_DATABASE_URL") {
        let admin = Database::connect(server.clone()).await.expect("PostgreSQL reachable");
        let name = format!("xs_bench_{}", Uuid::new_v4().simple());
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create bench database");
        run("postgres", &with_database(&server, &name), &dir, &a).await;
        if std::env::var_os("XIESHANG_BENCH_KEEP").is_some() {
            println!("[postgres] kept the database {name}");
        } else {
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok();
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
