//! The national-scale analytics benchmark (a bench binary printing figures,
//! not a test).
//!
//! A deterministic generator writes a national dataset straight into the
//! services' tables — committees (31 provinces, 330 cities, 2,850 counties
//! at `--scale national`), terms and plenary sessions, 30 sectors per
//! committee, about 600,000 members (ID numbers and phones sealed with SM4 as
//! the membership service does), about 1,000,000 proposals in a realistic mix
//! of states with their handling units, about 200,000 social-conditions
//! information items and a year of meetings with sign-in — together with the
//! domain events those records produced, in the transactional outbox (the
//! event log analytics consumes), as delivered. It bypasses the RPCs (their
//! validation and audit are not what is measured) and reports its own speed.
//!
//! Then, on each backend:
//! 1. a full rebuild of the analytics counters from the event log;
//! 2. the real server started on that database; a province's dashboard (its
//!    rolled-up figures and the by-city breakdown, two RPCs as a provincial
//!    office) and the national one (the platform's figures and the
//!    by-province breakdown, as an operator) over gRPC — p50/p99;
//! 3. the same dashboards computed naively by SQL aggregation over the raw
//!    tables of the subtree — and a check that they equal the counters;
//! 4. event application through the analytics consumer (events/s), and the
//!    lag from a proposal submitted over gRPC to the updated provincial
//!    figure (outbox → in-process bus → consumer → read);
//! 5. peak resident memory of each phase (VmHWM, reset between phases).
//!
//! ```text
//! cargo bench -p xieshang-tests --bench national -- \
//!     [--scale national|province|small] [--backend both|sqlite|postgres] \
//!     [--reads 200] [--naive-runs 5] [--apply 5000] [--lag 50] [--keep]
//! ```
//! PostgreSQL: `XIESHANG_BENCH_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); a fresh database is created
//! and dropped at the end (`--keep` keeps it, and the SQLite file). An
//! interrupted run leaves only a throwaway database, dropped by the next run.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use prost::Message;
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, Value};
use uuid::Uuid;
use xieshang_platform::config::{Config, Value as ConfigValue};
use xieshang_proto::analytics::v1 as pa;
use xieshang_proto::analytics::v1::analytics_service_client::AnalyticsServiceClient;
use xieshang_proto::common::v1::{CommitteeLevel, Date, Role};
use xieshang_proto::events::v1 as ev;
use xieshang_proto::events::v1::event::Payload;
use xieshang_proto::proposals::v1 as pp;
use xieshang_tests::{
    OPERATOR_PASSWORD, PASSWORD, Session, TempDir, create_user, login_at, postgres_base, with_database,
};

// ---------------------------------------------------------------------------
// Arguments

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scale {
    /// 31 provinces, 330 cities, 2,850 counties.
    National,
    /// One province of 11 cities and 96 counties.
    Province,
    /// One province of 3 cities and 9 counties (a quick check).
    Small,
}

struct Args {
    scale: Scale,
    sqlite: bool,
    postgres: bool,
    reads: usize,
    naive_runs: usize,
    apply: usize,
    lag: usize,
    keep: bool,
}

fn args() -> Args {
    let mut a = Args {
        scale: Scale::National,
        sqlite: true,
        postgres: true,
        reads: 200,
        naive_runs: 5,
        apply: 5_000,
        lag: 50,
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().unwrap_or_else(|| panic!("{name} needs a value"));
        let mut number =
            |name: &str| -> usize { value(name).parse().unwrap_or_else(|_| panic!("{name} needs a number")) };
        match arg.as_str() {
            "--scale" => {
                a.scale = match value("--scale").as_str() {
                    "national" => Scale::National,
                    "province" => Scale::Province,
                    "small" => Scale::Small,
                    other => panic!("--scale {other}: expected national, province or small"),
                }
            }
            "--backend" => {
                (a.sqlite, a.postgres) = match value("--backend").as_str() {
                    "both" => (true, true),
                    "sqlite" => (true, false),
                    "postgres" => (false, true),
                    other => panic!("--backend {other}: expected both, sqlite or postgres"),
                }
            }
            "--reads" => a.reads = number("--reads").max(1),
            "--naive-runs" => a.naive_runs = number("--naive-runs").max(1),
            "--apply" => a.apply = number("--apply"),
            "--lag" => a.lag = number("--lag"),
            "--keep" => a.keep = true,
            // cargo bench passes --bench; ignore what is not ours.
            _ => {}
        }
    }
    a
}

// ---------------------------------------------------------------------------
// Deterministic randomness

/// SplitMix64: the same dataset on every run and every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len() as u64) as usize]
    }
    fn uuid(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
    /// A time-ordered id (v7) for an event at `at`, like the outbox's own.
    fn uuid_at(&mut self, at: DateTime<Utc>) -> Uuid {
        let mut bytes = [0u8; 10];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis() as u64, &bytes).into_uuid()
    }
}

// ---------------------------------------------------------------------------
// The dataset's shape

const YEAR: i32 = 2025;

#[rustfmt::skip]
const PROVINCES: &[(&str, &str)] = &[
    ("11", "北京市"), ("12", "天津市"), ("13", "河北省"), ("14", "山西省"), ("15", "内蒙古自治区"),
    ("21", "辽宁省"), ("22", "吉林省"), ("23", "黑龙江省"), ("31", "上海市"), ("32", "江苏省"),
    ("33", "浙江省"), ("34", "安徽省"), ("35", "福建省"), ("36", "江西省"), ("37", "山东省"),
    ("41", "河南省"), ("42", "湖北省"), ("43", "湖南省"), ("44", "广东省"), ("45", "广西壮族自治区"),
    ("46", "海南省"), ("50", "重庆市"), ("51", "四川省"), ("52", "贵州省"), ("53", "云南省"),
    ("54", "西藏自治区"), ("61", "陕西省"), ("62", "甘肃省"), ("63", "青海省"), ("64", "宁夏回族自治区"),
    ("65", "新疆维吾尔自治区"),
];

const NAME_HEAD: &[&str] = &[
    "安", "宝", "昌", "德", "东", "丰", "广", "海", "河", "华", "建", "江", "金", "景", "开", "乐", "临", "龙", "南",
    "宁", "平", "庆", "青", "瑞", "山", "泰", "天", "通", "武", "西", "新", "兴", "阳", "永", "玉", "云", "长", "镇",
];
const NAME_TAIL: &[&str] = &[
    "城", "川", "丰", "海", "和", "河", "化", "江", "康", "丘", "林", "陵", "宁", "平", "泉", "山", "水", "台", "阳",
    "源", "州", "庄",
];

#[rustfmt::skip]
const SECTORS: &[&str] = &[
    "中国共产党", "中国国民党革命委员会", "中国民主同盟", "中国民主建国会", "中国民主促进会", "中国农工民主党",
    "中国致公党", "九三学社", "台湾民主自治同盟", "无党派人士", "中国共产主义青年团", "中华全国总工会",
    "中华全国妇女联合会", "中华全国青年联合会", "中华全国工商业联合会", "中国科学技术协会", "中华全国台湾同胞联谊会",
    "中华全国归国华侨联合会", "文化艺术界", "科学技术界", "社会科学界", "经济界", "农业界", "教育界", "体育界",
    "新闻出版界", "医药卫生界", "对外友好界", "社会福利和社会保障界", "少数民族界",
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
];
const GIVEN: &[&str] = &[
    "建华", "秀兰", "国强", "丽娟", "志明", "海峰", "敏", "静", "伟", "芳", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    "明", "超", "霞", "平", "刚", "桂英", "玉兰", "文博", "晓东", "春燕", "红梅", "建军", "立新",
];
const UNITS: &[&str] = &[
    "县人民医院",
    "第一中学",
    "农业农村局",
    "市场监督管理局",
    "供销合作社",
    "农村信用联社",
    "律师事务所",
    "科技有限公司",
    "职业技术学校",
    "文化馆",
    "水利局",
    "卫生健康委员会",
];
const TOPICS: &[&str] = &[
    "盐碱地改良",
    "农村供水管网",
    "县域医共体建设",
    "义务教育优质均衡",
    "老旧小区改造",
    "农村人居环境整治",
    "中小企业融资",
    "养老服务体系",
    "非物质文化遗产保护",
    "河湖长制落实",
    "冬季清洁取暖",
    "职业教育产教融合",
];

/// A committee of the generated tree.
struct Committee {
    id: Uuid,
    code: String,
    name: String,
    level: CommitteeLevel,
    parent: Option<usize>,
    path: String,
    /// Ancestors' ids, nearest first (as events carry them).
    ancestors: Vec<String>,
    /// Generated per committee: members, proposals, information items.
    members: usize,
    proposals: usize,
    information: usize,
    /// The current term and plenary session (第十届, 第一次会议).
    term: Uuid,
    session: Uuid,
    /// The office's staff user (the actor of office events) and handling units.
    staff: Uuid,
    units: Vec<Uuid>,
}

fn tree(scale: Scale, rng: &mut Rng) -> Vec<Committee> {
    let (provinces, cities_of, counties_of): (usize, fn(usize) -> usize, fn(usize) -> usize) = match scale {
        // 20 provinces of 11 cities and 11 of 10: 330; 210 cities of 9 counties and 120 of 8: 2,850.
        Scale::National => (31, |p| if p % 31 < 20 { 11 } else { 10 }, |c| if c % 11 < 7 { 9 } else { 8 }),
        Scale::Province => (1, |_| 11, |c| if c % 11 < 8 { 9 } else { 8 }),
        Scale::Small => (1, |_| 3, |_| 3),
    };
    let mut out: Vec<Committee> = Vec::new();
    let mut city_n = 0usize;
    let mut county_n = 0usize;
    let make = |out: &mut Vec<Committee>, code: String, name: String, level, parent: Option<usize>, rng: &mut Rng| {
        let id = rng.uuid();
        let (path, ancestors) = match parent {
            Some(p) => {
                let parent = &out[p];
                let mut ancestors = vec![parent.id.to_string()];
                ancestors.extend(parent.ancestors.iter().cloned());
                (format!("{}{id}/", parent.path), ancestors)
            }
            None => (format!("/{id}/"), Vec::new()),
        };
        // Volumes per committee: about 600,000 members and 1,000,000 proposals nationally.
        let (members, proposals, information) = match level {
            CommitteeLevel::Provincial => (600, 700, 200),
            CommitteeLevel::City => (350, 450, 120),
            _ => (163, 290, 55),
        };
        let jitter = |n: usize, rng: &mut Rng| n - n / 10 + rng.below((n / 5) as u64 + 1) as usize;
        let committee = Committee {
            id,
            code,
            name,
            level,
            parent,
            path,
            ancestors,
            members: jitter(members, rng),
            proposals: jitter(proposals, rng),
            information: jitter(information, rng),
            term: rng.uuid(),
            session: rng.uuid(),
            staff: rng.uuid(),
            units: (0..12).map(|_| rng.uuid()).collect(),
        };
        out.push(committee);
        out.len() - 1
    };
    for (p, (code, name)) in
        PROVINCES.iter().cycle().skip(if scale == Scale::National { 0 } else { 2 }).take(provinces).enumerate()
    {
        let province =
            make(&mut out, format!("{code}0000"), format!("{name}政协"), CommitteeLevel::Provincial, None, rng);
        for c in 1..=cities_of(p) {
            let city_name = format!(
                "{}{}",
                NAME_HEAD[city_n % NAME_HEAD.len()],
                NAME_TAIL[(city_n / NAME_HEAD.len()) % NAME_TAIL.len()]
            );
            let city_counties = counties_of(city_n);
            city_n += 1;
            let city = make(
                &mut out,
                format!("{code}{c:02}00"),
                format!("{city_name}市政协"),
                CommitteeLevel::City,
                Some(province),
                rng,
            );
            for k in 1..=city_counties {
                let n = county_n * 7 + 3;
                let county_name =
                    format!("{}{}", NAME_HEAD[n % NAME_HEAD.len()], NAME_TAIL[(n / NAME_HEAD.len()) % NAME_TAIL.len()]);
                county_n += 1;
                make(
                    &mut out,
                    format!("{code}{c:02}{k:02}"),
                    format!("{county_name}县政协"),
                    CommitteeLevel::County,
                    Some(city),
                    rng,
                );
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Bulk writing

/// Buffers rows of one table and writes them as multi-row INSERTs.
struct Bulk {
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Value>>,
    per_statement: usize,
    written: usize,
    busy: Duration,
}

impl Bulk {
    fn new(table: &'static str, columns: &'static [&'static str]) -> Self {
        // Under both backends' bind-parameter limits (SQLite 32,766; PostgreSQL 65,535).
        let per_statement = (30_000 / columns.len()).min(2_000);
        Self { table, columns, rows: Vec::new(), per_statement, written: 0, busy: Duration::ZERO }
    }

    async fn push(&mut self, conn: &DatabaseConnection, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
        if self.rows.len() >= self.per_statement {
            self.flush(conn).await;
        }
    }

    async fn flush(&mut self, conn: &DatabaseConnection) {
        if self.rows.is_empty() {
            return;
        }
        let started = Instant::now();
        let mut insert = Query::insert();
        insert.into_table(Alias::new(self.table)).columns(self.columns.iter().map(|c| Alias::new(*c)));
        let n = self.rows.len();
        for row in self.rows.drain(..) {
            insert.values_panic(row.into_iter().map(Expr::val));
        }
        let (sql, values) = match conn.get_database_backend() {
            DbBackend::Postgres => insert.build(sea_orm::sea_query::PostgresQueryBuilder),
            _ => insert.build(sea_orm::sea_query::SqliteQueryBuilder),
        };
        conn.execute_raw(Statement::from_sql_and_values(conn.get_database_backend(), sql, values))
            .await
            .unwrap_or_else(|e| panic!("insert into {}: {e}", self.table));
        self.written += n;
        self.busy += started.elapsed();
        progress(&format!("{}: {} rows", self.table, self.written));
    }

    /// Rows written, the time spent in this table's INSERTs, and the rate over that time.
    fn report(&self) -> String {
        let secs = self.busy.as_secs_f64();
        format!(
            "{:<30} {:>10} rows  {:>7.1} s in INSERTs  {:>9.0} rows/s",
            self.table,
            self.written,
            secs,
            self.written as f64 / secs.max(1e-9)
        )
    }
}

/// An updating line on a terminal; nothing otherwise (the phase totals are printed).
fn progress(line: &str) {
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[2K{line}");
        let _ = std::io::stderr().flush();
    }
}

fn clear_progress() {
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[2K");
    }
}

/// 10:00 in China Standard Time on `date`, plus `seconds`.
fn at(date: NaiveDate, seconds: i64) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_hms_opt(2, 0, 0).expect("a valid time")) + chrono::Duration::seconds(seconds)
}

fn day(d: NaiveDate, days: i64) -> NaiveDate {
    d + chrono::Duration::days(days)
}

fn proto_date(d: NaiveDate) -> Date {
    Date { year: d.year(), month: d.month() as i32, day: d.day() as i32 }
}

/// What the generator wrote, for the report.
#[derive(Default)]
struct Generated {
    tables: Vec<String>,
    events: usize,
    seconds: f64,
}

/// The outbox row of one event, as delivered.
fn outbox_row(rng: &mut Rng, committee: &Committee, actor: Uuid, when: DateTime<Utc>, payload: Payload) -> Vec<Value> {
    let id = rng.uuid_at(when);
    let event = ev::Event {
        id: id.to_string(),
        occur_time: Some(prost_types::Timestamp { seconds: when.timestamp(), nanos: 0 }),
        committee_id: committee.id.to_string(),
        ancestor_committee_ids: committee.ancestors.clone(),
        actor_user_id: actor.to_string(),
        trace_context: Default::default(),
        payload: Some(payload.clone()),
    };
    vec![
        id.into(),
        Some(committee.id).into(),
        xieshang_platform::events::event_type(&payload).into(),
        event.encode_to_vec().into(),
        when.into(),
        Some(when).into(),
        1i32.into(),
    ]
}

/// A valid-looking 18-digit resident ID number (GB 11643 check digit),
/// unique in its committee by the sequence number (the member's place in the roster).
fn id_number(region: &str, birth_year: i32, sequence: usize, rng: &mut Rng) -> String {
    let body = format!("{region}{birth_year}{:02}{:02}{:03}", 1 + rng.below(12), 1 + rng.below(28), sequence % 1000);
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

async fn generate(
    conn: &DatabaseConnection,
    committees: &[Committee],
    rng: &mut Rng,
    pii: &xieshang_membership::Pii,
) -> Generated {
    let started = Instant::now();
    let now: DateTime<Utc> = Utc.with_ymd_and_hms(YEAR, 1, 1, 0, 0, 0).single().expect("a valid time");
    let mut outbox =
        Bulk::new("outbox", &["id", "committee_id", "event_type", "payload", "created_at", "published_at", "attempts"]);

    let mut rows = Bulk::new(
        "committees",
        &["id", "code", "name", "level", "parent_id", "sibling_scope", "path", "depth", "created_at", "updated_at"],
    );
    for c in committees {
        let parent = c.parent.map(|p| committees[p].id);
        let scope = parent.map_or_else(|| "root".to_owned(), |p| p.to_string());
        rows.push(
            conn,
            vec![
                c.id.into(),
                c.code.clone().into(),
                c.name.clone().into(),
                (c.level as i16).into(),
                parent.into(),
                scope.into(),
                c.path.clone().into(),
                (c.ancestors.len() as i16).into(),
                now.into(),
                now.into(),
            ],
        )
        .await;
    }
    rows.flush(conn).await;
    let mut report = vec![rows.report()];

    let term_start = NaiveDate::from_ymd_opt(2021, 12, 15).expect("a date");
    let session_start = NaiveDate::from_ymd_opt(2022, 1, 10).expect("a date");
    let mut terms = Bulk::new("terms", &["id", "committee_id", "number", "start_date", "created_at"]);
    let mut sessions =
        Bulk::new("plenary_sessions", &["id", "committee_id", "term_id", "number", "start_date", "created_at"]);
    for c in committees {
        terms.push(conn, vec![c.term.into(), c.id.into(), 10i32.into(), term_start.into(), now.into()]).await;
        sessions
            .push(
                conn,
                vec![c.session.into(), c.id.into(), c.term.into(), 1i32.into(), session_start.into(), now.into()],
            )
            .await;
    }
    terms.flush(conn).await;
    sessions.flush(conn).await;
    report.push(terms.report());
    report.push(sessions.report());

    // Sectors (界别), then members with a sector each; 15% sit on the standing committee.
    let mut sectors = Bulk::new(
        "member_reference_items",
        &["id", "committee_id", "kind", "code", "name", "created_at", "updated_at"],
    );
    let mut sector_ids: Vec<Vec<Uuid>> = Vec::with_capacity(committees.len());
    for c in committees {
        let mut ids = Vec::with_capacity(SECTORS.len());
        for (i, name) in SECTORS.iter().enumerate() {
            let id = rng.uuid();
            ids.push(id);
            sectors
                .push(
                    conn,
                    vec![
                        id.into(),
                        c.id.into(),
                        1i16.into(),
                        format!("{:02}", i + 1).into(),
                        (*name).into(),
                        now.into(),
                        now.into(),
                    ],
                )
                .await;
        }
        sector_ids.push(ids);
    }
    sectors.flush(conn).await;
    report.push(sectors.report());

    let mut members = Bulk::new(
        "members",
        &[
            "id",
            "committee_id",
            "name",
            "gender",
            "ethnicity",
            "birth_year",
            "party",
            "sector_id",
            "work_unit",
            "phone_enc",
            "id_number_enc",
            "id_digest",
            "term_number",
            "role",
            "standing_committee",
            "user_id",
            "status",
            "created_at",
            "updated_at",
        ],
    );
    // Per committee: (member id, user id, standing) — for proposals, information and meetings.
    let mut rosters: Vec<Vec<(Uuid, Uuid, bool)>> = Vec::with_capacity(committees.len());
    for (ci, c) in committees.iter().enumerate() {
        let mut roster = Vec::with_capacity(c.members);
        for sequence in 0..c.members {
            let id = rng.uuid();
            let user = rng.uuid();
            let standing = rng.unit() < 0.15;
            let birth_year = 1958 + rng.below(35) as i32;
            let number = id_number(&c.code, birth_year, sequence, rng);
            let phone = format!("1{}{:09}", 3 + rng.below(7), rng.below(1_000_000_000));
            let name = format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN));
            let unit = format!("{}{}", c.name.trim_end_matches("政协"), rng.pick(UNITS));
            members
                .push(
                    conn,
                    vec![
                        id.into(),
                        c.id.into(),
                        name.into(),
                        (1 + rng.below(2) as i16).into(),
                        "汉族".into(),
                        birth_year.into(),
                        (1 + rng.below(10) as i16).into(),
                        sector_ids[ci][rng.below(SECTORS.len() as u64) as usize].into(),
                        unit.into(),
                        pii.seal(id, "phone", &phone).into(),
                        pii.seal(id, "id_number", &number).into(),
                        pii.id_digest(&number).into(),
                        10i32.into(),
                        1i16.into(),
                        standing.into(),
                        Some(user).into(),
                        1i16.into(),
                        now.into(),
                        now.into(),
                    ],
                )
                .await;
            roster.push((id, user, standing));
        }
        rosters.push(roster);
    }
    members.flush(conn).await;
    report.push(members.report());

    // Proposals: submitted in the first half of the year; 2% awaiting review,
    // 7% declined, 2% filed only; the rest assigned to one unit with a
    // three-month deadline: 8% still being handled, the rest replied (A 55%,
    // B 35%, C 10%; late replies and unanswered ones get an overdue reminder
    // at the deadline), 85% of replies rated.
    let mut proposals = Bulk::new(
        "proposals",
        &[
            "id",
            "committee_id",
            "kind",
            "title",
            "body",
            "category",
            "proposer_user_id",
            "state",
            "number",
            "term_id",
            "session_id",
            "assignment_mode",
            "assign_date",
            "due_date",
            "rehandle_count",
            "process_rating",
            "result_rating",
            "created_at",
            "updated_at",
            "submitted_at",
        ],
    );
    let mut units = Bulk::new(
        "proposal_units",
        &[
            "proposal_id",
            "unit_user_id",
            "committee_id",
            "role",
            "contact_date",
            "reply_class",
            "reply_text",
            "replied_at",
            "on_time",
        ],
    );
    let mut reminders =
        Bulk::new("proposal_reminders", &["id", "committee_id", "proposal_id", "due_date", "kind", "created_at"]);
    const CATEGORIES: [&str; 6] = ["经济建设", "政治建设", "文化建设", "社会建设", "生态文明", "其他"];
    let year_start = NaiveDate::from_ymd_opt(YEAR, 1, 6).expect("a date");
    for (ci, c) in committees.iter().enumerate() {
        let roster = &rosters[ci];
        let mut number = 0i32;
        for _ in 0..c.proposals {
            let id = rng.uuid();
            let proposer = roster[rng.below(roster.len() as u64) as usize].1;
            let category = 1 + rng.below(6) as usize;
            let topic = rng.pick(TOPICS);
            let submitted_on = day(year_start, rng.below(176) as i64);
            let submitted = at(submitted_on, rng.below(28_000) as i64);
            let push_event = |rng: &mut Rng, actor: Uuid, when: DateTime<Utc>, payload: Payload| {
                outbox_row(rng, c, actor, when, payload)
            };
            let mut events = vec![push_event(
                rng,
                proposer,
                submitted,
                Payload::ProposalSubmitted(ev::ProposalSubmitted {
                    proposal_id: id.to_string(),
                    proposer_user_ids: vec![proposer.to_string()],
                    category: CATEGORIES[category - 1].into(),
                }),
            )];
            let roll = rng.unit();
            let mut state = "SUBMITTED";
            let (mut filed_number, mut assign_date, mut due_date) = (None, None, None);
            let (mut process_rating, mut result_rating, mut rehandle) = (0i16, 0i16, 0i32);
            let mut unit_row = None;
            let mut late_rows: Vec<Vec<Value>> = Vec::new();
            if (0.02..0.09).contains(&roll) {
                state = "DECLINED";
                events.push(push_event(
                    rng,
                    c.staff,
                    at(day(submitted_on, 3), 0),
                    Payload::ProposalDeclined(ev::ProposalDeclined {
                        proposal_id: id.to_string(),
                        reason: "属于个人诉求，不予立案".into(),
                        merged_into_proposal_id: String::new(),
                    }),
                ));
            } else if roll >= 0.09 {
                state = "FILED";
                number += 1;
                filed_number = Some(number);
                events.push(push_event(
                    rng,
                    c.staff,
                    at(day(submitted_on, 5), 0),
                    Payload::ProposalFiled(ev::ProposalFiled {
                        proposal_id: id.to_string(),
                        number,
                        term_id: c.term.to_string(),
                        session_id: c.session.to_string(),
                        proposer_user_ids: vec![proposer.to_string()],
                        category: CATEGORIES[category - 1].into(),
                        key: false,
                    }),
                ));
            }
            if roll >= 0.11 {
                let unit = c.units[rng.below(c.units.len() as u64) as usize];
                let assigned_on = day(submitted_on, 12);
                let due = assigned_on.checked_add_months(Months::new(3)).expect("a date");
                state = "HANDLING";
                assign_date = Some(assigned_on);
                due_date = Some(due);
                events.push(push_event(
                    rng,
                    c.staff,
                    at(assigned_on, 0),
                    Payload::ProposalAssigned(ev::ProposalAssigned {
                        proposal_id: id.to_string(),
                        unit_user_ids: vec![unit.to_string()],
                        due_date: Some(proto_date(due)),
                    }),
                ));
                // The deadline sweep's reminder row and event, the day after the deadline.
                let mut late = Vec::new();
                let mut overdue = |rng: &mut Rng, due: NaiveDate, events: &mut Vec<Vec<Value>>| {
                    let when = at(day(due, 1), -7_200);
                    late.push(vec![
                        rng.uuid_at(when).into(),
                        c.id.into(),
                        id.into(),
                        due.into(),
                        "overdue".into(),
                        when.into(),
                    ]);
                    events.push(outbox_row(
                        rng,
                        c,
                        Uuid::nil(),
                        when,
                        Payload::ProposalOverdue(ev::ProposalOverdue {
                            proposal_id: id.to_string(),
                            due_date: Some(proto_date(due)),
                        }),
                    ));
                };
                let mut reply = (0i16, None, false);
                if rng.unit() < 0.08 {
                    overdue(rng, due, &mut events);
                } else {
                    let replied_on = day(assigned_on, 20 + rng.below(80) as i64);
                    let on_time = replied_on <= due;
                    if !on_time {
                        overdue(rng, due, &mut events);
                    }
                    let class = match rng.unit() {
                        r if r < 0.55 => 1i16,
                        r if r < 0.90 => 2,
                        _ => 3,
                    };
                    let replied = at(replied_on, 3_600);
                    reply = (class, Some(replied), on_time);
                    state = "REPLIED";
                    events.push(push_event(
                        rng,
                        unit,
                        replied,
                        Payload::ProposalReplied(ev::ProposalReplied {
                            proposal_id: id.to_string(),
                            unit_user_id: unit.to_string(),
                            reply_class: ["A", "B", "C"][class as usize - 1].into(),
                            on_time,
                        }),
                    ));
                    if rng.unit() < 0.85 {
                        let rating = |r: f64| match r {
                            r if r < 0.78 => 1i16,
                            r if r < 0.97 => 2,
                            _ => 3,
                        };
                        process_rating = rating(rng.unit());
                        result_rating = rating(rng.unit());
                        const NAMES: [&str; 3] = ["satisfied", "basically_satisfied", "dissatisfied"];
                        let rated_on = day(replied_on, 7 + rng.below(14) as i64);
                        events.push(push_event(
                            rng,
                            proposer,
                            at(rated_on, 0),
                            Payload::ProposalRated(ev::ProposalRated {
                                proposal_id: id.to_string(),
                                process_rating: NAMES[process_rating as usize - 1].into(),
                                result_rating: NAMES[result_rating as usize - 1].into(),
                            }),
                        ));
                        // Dissatisfied goes back to the unit with a new deadline,
                        // long past by now: the sweep has reminded of it.
                        (state, rehandle) = if result_rating == 3 { ("HANDLING", 1) } else { ("CLOSED", 0) };
                        if result_rating == 3 {
                            let again = rated_on.checked_add_months(Months::new(3)).expect("a date");
                            due_date = Some(again);
                            overdue(rng, again, &mut events);
                        }
                    }
                }
                late_rows = late;
                unit_row = Some(vec![
                    id.into(),
                    unit.into(),
                    c.id.into(),
                    1i16.into(),
                    Some(day(assigned_on, 10)).into(),
                    reply.0.into(),
                    if reply.1.is_some() { "经研究，现答复如下……" } else { "" }.into(),
                    reply.1.into(),
                    reply.2.into(),
                ]);
            }
            proposals
                .push(
                    conn,
                    vec![
                        id.into(),
                        c.id.into(),
                        1i16.into(),
                        format!("关于{topic}的建议").into(),
                        format!("建议围绕{topic}加大统筹力度，完善配套政策，明确责任分工，推动{topic}工作取得实效。")
                            .into(),
                        (category as i16).into(),
                        proposer.into(),
                        state.into(),
                        filed_number.into(),
                        filed_number.map(|_| c.term).into(),
                        filed_number.map(|_| c.session).into(),
                        (if assign_date.is_some() { 1i16 } else { 0 }).into(),
                        assign_date.into(),
                        due_date.into(),
                        rehandle.into(),
                        process_rating.into(),
                        result_rating.into(),
                        submitted.into(),
                        submitted.into(),
                        Some(submitted).into(),
                    ],
                )
                .await;
            // Units and reminders reference their proposals: those go first.
            if let Some(row) = unit_row {
                if units.rows.len() + 1 >= units.per_statement {
                    proposals.flush(conn).await;
                }
                units.push(conn, row).await;
            }
            for row in late_rows {
                if reminders.rows.len() + 1 >= reminders.per_statement {
                    proposals.flush(conn).await;
                }
                reminders.push(conn, row).await;
            }
            for row in events {
                outbox.push(conn, row).await;
            }
        }
    }
    // Units reference proposals: write the proposals first.
    proposals.flush(conn).await;
    units.flush(conn).await;
    reminders.flush(conn).await;
    report.push(proposals.report());
    report.push(units.report());
    report.push(reminders.report());

    // Social-conditions information: 30% adopted by the committee, 10% declined.
    let mut information = Bulk::new(
        "information_items",
        &[
            "id",
            "committee_id",
            "title",
            "body",
            "state",
            "author_user_ids",
            "author_names",
            "submitted_by",
            "origin_committee_id",
            "origin_item_id",
            "adopted_at",
            "created_at",
            "updated_at",
        ],
    );
    for (ci, c) in committees.iter().enumerate() {
        let roster = &rosters[ci];
        for _ in 0..c.information {
            let id = rng.uuid();
            let author = roster[rng.below(roster.len() as u64) as usize].1;
            let topic = rng.pick(TOPICS);
            let submitted_on = day(year_start, rng.below(300) as i64);
            let submitted = at(submitted_on, rng.below(28_000) as i64);
            let roll = rng.unit();
            let adopted = (roll < 0.30).then(|| at(day(submitted_on, 10), 0));
            let state = if adopted.is_some() {
                "ADOPTED"
            } else if roll < 0.40 {
                "DECLINED"
            } else {
                "SUBMITTED"
            };
            let authors = format!("[\"{author}\"]");
            information
                .push(
                    conn,
                    vec![
                        id.into(),
                        c.id.into(),
                        format!("关于{topic}中群众反映问题的信息").into(),
                        format!("近期群众反映{topic}推进中存在落实不到位的问题，建议有关部门加强督导。").into(),
                        state.into(),
                        authors.clone().into(),
                        "[\"委员\"]".into(),
                        author.into(),
                        c.id.into(),
                        id.into(),
                        adopted.into(),
                        submitted.into(),
                        submitted.into(),
                    ],
                )
                .await;
            let row = outbox_row(
                rng,
                c,
                author,
                submitted,
                Payload::InformationSubmitted(ev::InformationSubmitted {
                    information_id: id.to_string(),
                    author_user_ids: vec![author.to_string()],
                }),
            );
            outbox.push(conn, row).await;
            if let Some(adopted) = adopted {
                let row = outbox_row(
                    rng,
                    c,
                    c.staff,
                    adopted,
                    Payload::InformationAdopted(ev::InformationAdopted {
                        information_id: id.to_string(),
                        author_user_ids: vec![author.to_string()],
                        adopting_committee_id: c.id.to_string(),
                        adopting_level: c.level as i32,
                        origin_committee_id: c.id.to_string(),
                    }),
                );
                outbox.push(conn, row).await;
            }
        }
    }
    information.flush(conn).await;
    report.push(information.report());

    // Meetings: the plenary session (every member) and two standing
    // committee meetings (its members); 92% present, 6% on leave, 2% absent.
    let mut meetings =
        Bulk::new("consultation_meetings", &["id", "committee_id", "kind", "title", "date", "place", "created_at"]);
    let mut invitees = Bulk::new(
        "consultation_meeting_invitees",
        &["meeting_id", "member_id", "committee_id", "position", "attendance", "leave_reason", "recorded_at"],
    );
    let meeting_days =
        [(1i16, 3, 10, "全体会议"), (2, 6, 18, "常务委员会第十次会议"), (2, 10, 22, "常务委员会第十一次会议")];
    for (ci, c) in committees.iter().enumerate() {
        let mut ids = Vec::new();
        for (kind, month, dom, title) in meeting_days {
            let id = rng.uuid();
            let date = NaiveDate::from_ymd_opt(YEAR, month, dom).expect("a date");
            meetings
                .push(
                    conn,
                    vec![
                        id.into(),
                        c.id.into(),
                        kind.into(),
                        format!("{}{title}", c.name).into(),
                        date.into(),
                        "政协会议中心".into(),
                        at(date, -86_400).into(),
                    ],
                )
                .await;
            ids.push((id, kind, date));
        }
        meetings.flush(conn).await;
        for (meeting, kind, date) in ids {
            for (position, (member, user, standing)) in rosters[ci].iter().enumerate() {
                if kind == 2 && !standing {
                    continue;
                }
                let (attendance, name, reason) = match rng.unit() {
                    r if r < 0.92 => (1i16, "present", ""),
                    r if r < 0.98 => (2, "on_leave", "因公出差"),
                    _ => (3, "absent", ""),
                };
                let recorded = at(date, 1_800 + position as i64);
                invitees
                    .push(
                        conn,
                        vec![
                            meeting.into(),
                            (*member).into(),
                            c.id.into(),
                            (position as i32).into(),
                            attendance.into(),
                            reason.into(),
                            Some(recorded).into(),
                        ],
                    )
                    .await;
                let row = outbox_row(
                    rng,
                    c,
                    *user,
                    recorded,
                    Payload::AttendanceRecorded(ev::AttendanceRecorded {
                        meeting_id: meeting.to_string(),
                        member_id: member.to_string(),
                        attendance: name.into(),
                        date: Some(proto_date(date)),
                        ..Default::default()
                    }),
                );
                outbox.push(conn, row).await;
            }
        }
    }
    meetings.flush(conn).await;
    invitees.flush(conn).await;
    report.push(meetings.report());
    report.push(invitees.report());
    outbox.flush(conn).await;
    report.push(outbox.report());
    clear_progress();
    Generated { events: outbox.written, tables: report, seconds: started.elapsed().as_secs_f64() }
}

// ---------------------------------------------------------------------------
// The naive baseline: the same figures by aggregation over the raw tables

/// Figures by (group, metric): "" for the whole subtree, or a direct child's id.
type Table = BTreeMap<String, BTreeMap<String, i64>>;

/// Runs the naive aggregation for the subtree whose paths start with
/// `prefix` ("" for the whole platform): one set of totals and one grouped by
/// the direct child (the path segment after the prefix).
async fn naive_dashboard(conn: &DatabaseConnection, prefix: &str) -> Table {
    let backend = conn.get_database_backend();
    let from = at(NaiveDate::from_ymd_opt(YEAR, 1, 1).expect("a date"), -36_000);
    let to = at(NaiveDate::from_ymd_opt(YEAR + 1, 1, 1).expect("a date"), -36_000);
    // 1-based position of the direct child's id in a path "/<36>/<36>/…".
    let child_at = if prefix.is_empty() { 2 } else { prefix.len() + 1 };
    let queries: [&str; 5] = [
        "SELECT {g} AS g, COUNT(*) AS proposals_submitted,
            SUM(CASE WHEN p.number IS NOT NULL THEN 1 ELSE 0 END) AS proposals_filed,
            SUM(CASE WHEN p.state = 'DECLINED' THEN 1 ELSE 0 END) AS proposals_declined,
            SUM(CASE WHEN p.assign_date IS NOT NULL THEN 1 ELSE 0 END) AS proposals_assigned,
            SUM(CASE WHEN p.result_rating <> 0 THEN 1 ELSE 0 END) AS proposals_rated,
            SUM(CASE WHEN p.result_rating = 1 THEN 1 ELSE 0 END) AS rated_satisfied,
            SUM(CASE WHEN p.result_rating = 2 THEN 1 ELSE 0 END) AS rated_basically_satisfied,
            SUM(CASE WHEN p.result_rating = 3 THEN 1 ELSE 0 END) AS rated_dissatisfied
         FROM proposals p JOIN committees c ON c.id = p.committee_id
         WHERE c.path LIKE $1 AND p.submitted_at >= $2 AND p.submitted_at < $3 GROUP BY 1",
        "SELECT {g} AS g, COUNT(*) AS proposals_replied,
            SUM(CASE WHEN u.on_time THEN 1 ELSE 0 END) AS proposals_replied_on_time,
            SUM(CASE WHEN u.reply_class = 1 THEN 1 ELSE 0 END) AS reply_class_a,
            SUM(CASE WHEN u.reply_class = 2 THEN 1 ELSE 0 END) AS reply_class_b,
            SUM(CASE WHEN u.reply_class = 3 THEN 1 ELSE 0 END) AS reply_class_c
         FROM proposal_units u JOIN committees c ON c.id = u.committee_id
         WHERE c.path LIKE $1 AND u.replied_at >= $2 AND u.replied_at < $3 GROUP BY 1",
        // The deadline sweep's reminders are the raw record of overdue proposals.
        "SELECT {g} AS g, COUNT(*) AS proposals_overdue
         FROM proposal_reminders r JOIN committees c ON c.id = r.committee_id
         WHERE c.path LIKE $1 AND r.kind = 'overdue' AND r.created_at >= $2 AND r.created_at < $3 GROUP BY 1",
        "SELECT {g} AS g, COUNT(*) AS information_submitted,
            SUM(CASE WHEN i.adopted_at >= $2 AND i.adopted_at < $3 THEN 1 ELSE 0 END) AS information_adopted
         FROM information_items i JOIN committees c ON c.id = i.committee_id
         WHERE c.path LIKE $1 AND i.created_at >= $2 AND i.created_at < $3 GROUP BY 1",
        "SELECT {g} AS g,
            SUM(CASE WHEN a.attendance = 1 THEN 1 ELSE 0 END) AS attendance_present,
            SUM(CASE WHEN a.attendance = 2 THEN 1 ELSE 0 END) AS attendance_on_leave,
            SUM(CASE WHEN a.attendance = 3 THEN 1 ELSE 0 END) AS attendance_absent
         FROM consultation_meeting_invitees a JOIN committees c ON c.id = a.committee_id
         WHERE c.path LIKE $1 AND a.recorded_at >= $2 AND a.recorded_at < $3 GROUP BY 1",
    ];
    let mut out = Table::new();
    for sql in queries {
        for group in ["''", &format!("SUBSTR(c.path, {child_at}, 36)")] {
            let mut sql = sql.replace("{g}", group);
            if group == "''" {
                sql = sql.replace(" GROUP BY 1", "");
                sql = sql.replace("SELECT '' AS g,", "SELECT");
            }
            if backend == DbBackend::Sqlite {
                // SQLite's numbered parameters: ?1 … ?3 mean what $1 … $3 do.
                sql = sql.replace('$', "?");
            }
            let values: Vec<Value> = vec![format!("{prefix}%").into(), from.into(), to.into()];
            let rows = conn
                .query_all_raw(Statement::from_sql_and_values(backend, &sql, values))
                .await
                .unwrap_or_else(|e| panic!("naive query: {e}\n{sql}"));
            for row in rows {
                let key: String = if group == "''" { String::new() } else { row.try_get("", "g").unwrap_or_default() };
                if group != "''" && key.is_empty() {
                    // The committee's own records: no child's.
                    continue;
                }
                let entry = out.entry(key).or_default();
                for column in metric_columns(&sql) {
                    let value: Option<i64> = row.try_get("", &column).ok().flatten();
                    *entry.entry(column).or_default() += value.unwrap_or(0);
                }
            }
        }
    }
    out
}

/// The `AS name` columns of a naive query, but the group.
fn metric_columns(sql: &str) -> Vec<String> {
    sql.split(" AS ")
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next())
        .filter(|name| *name != "g")
        .map(str::to_owned)
        .collect()
}

/// The metrics the naive baseline computes, compared with the counters.
const COMPARED: &[&str] = &[
    "proposals_submitted",
    "proposals_filed",
    "proposals_declined",
    "proposals_assigned",
    "proposals_replied",
    "proposals_replied_on_time",
    "reply_class_a",
    "reply_class_b",
    "reply_class_c",
    "proposals_rated",
    "rated_satisfied",
    "rated_basically_satisfied",
    "rated_dissatisfied",
    "proposals_overdue",
    "information_submitted",
    "information_adopted",
    "attendance_present",
    "attendance_on_leave",
    "attendance_absent",
];

// ---------------------------------------------------------------------------
// Measuring

/// Peak resident memory (VmHWM) since the last reset, in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Resets the peak to the current resident size (Linux: clear_refs 5).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

struct Latency {
    p50: Duration,
    p99: Duration,
    max: Duration,
}

fn latency(mut samples: Vec<Duration>) -> Latency {
    samples.sort();
    Latency { p50: percentile(&samples, 0.5), p99: percentile(&samples, 0.99), max: *samples.last().expect("samples") }
}

impl std::fmt::Display for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "p50 {}  p99 {}  max {}", ms(self.p50), ms(self.p99), ms(self.max))
    }
}

type Analytics = AnalyticsServiceClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, xieshang_tests::Bearer>,
>;

fn analytics(session: &Session) -> Analytics {
    AnalyticsServiceClient::with_interceptor(session.channel.clone(), session.bearer())
}

/// A dashboard as an office reads it: the rolled-up figures and the
/// breakdown by direct child (ranked by the on-time reply rate).
async fn dashboard(client: &mut Analytics, committee: &str) -> (pa::Figures, pa::Breakdown) {
    let figures = client
        .get_figures(pa::GetFiguresRequest {
            committee_id: committee.into(),
            period: YEAR.to_string(),
            rollup: pa::Rollup::Subtree as i32,
        })
        .await
        .expect("figures")
        .into_inner();
    let breakdown = client
        .get_breakdown(pa::GetBreakdownRequest {
            committee_id: committee.into(),
            period: YEAR.to_string(),
            metric: "on_time_reply_rate".into(),
        })
        .await
        .expect("breakdown")
        .into_inner();
    (figures, breakdown)
}

/// Compares the naive table with the counters' dashboard; returns the differences.
fn differences(naive: &Table, figures: &pa::Figures, breakdown: &pa::Breakdown) -> Vec<String> {
    let mut out = Vec::new();
    let mut check =
        |who: &str, naive: Option<&BTreeMap<String, i64>>, counted: &std::collections::HashMap<String, i64>| {
            for metric in COMPARED {
                let a = naive.and_then(|n| n.get(*metric)).copied().unwrap_or(0);
                let b = counted.get(*metric).copied().unwrap_or(0);
                if a != b {
                    out.push(format!("{who} {metric}: naive {a}, counters {b}"));
                }
            }
        };
    check("total", naive.get(""), &figures.counts);
    for row in &breakdown.rows {
        let counted = row.figures.as_ref().map(|f| f.counts.clone()).unwrap_or_default();
        check(&row.code, naive.get(&row.committee_id), &counted);
    }
    out
}

struct Outcome {
    label: &'static str,
    lines: Vec<String>,
}

async fn run(label: &'static str, url: &str, dir: &std::path::Path, a: &Args) -> Outcome {
    let mut lines = Vec::new();
    let mut say = |line: String| {
        clear_progress();
        println!("[{label}] {line}");
        lines.push(line);
    };
    let overrides = [
        ("listen", ConfigValue::from("127.0.0.1:0")),
        ("data_dir", ConfigValue::from(dir.display().to_string())),
        ("database.url", ConfigValue::from(url.to_owned())),
        ("auth.signing_key", ConfigValue::from("bench-signing-key-bench-signing-key-0123456789")),
        ("pii.key", ConfigValue::from("0123456789abcdef0123456789abcdef")),
        ("bootstrap.password", ConfigValue::from(OPERATOR_PASSWORD)),
        ("log.filter", ConfigValue::from("error")),
    ];
    let config = Config::load(None, &overrides).expect("bench config");
    xieshang_platform::db::migrate_up(&config.database).await.expect("migrate");
    let conn = xieshang_platform::db::connect_admin(&config.database).await.expect("connect");

    // Generation.
    reset_peak();
    let mut rng = Rng(0x5853_2025);
    let committees = tree(a.scale, &mut rng);
    let pii = xieshang_membership::Pii::new(
        xieshang_membership::rekey::parse_key("0123456789abcdef0123456789abcdef").expect("key"),
    );
    let generated = generate(&conn, &committees, &mut rng, &pii).await;
    // Planner statistics for both the counters and the naive baseline.
    conn.execute_unprepared("ANALYZE").await.expect("analyze");
    let (provinces, cities, counties) = committees.iter().fold((0, 0, 0), |(p, c, k), x| match x.level {
        CommitteeLevel::Provincial => (p + 1, c, k),
        CommitteeLevel::City => (p, c + 1, k),
        _ => (p, c, k + 1),
    });
    say(format!(
        "generated {provinces} provinces, {cities} cities, {counties} counties; {} members, {} proposals, {} information items; {} events — in {:.1} s (peak {:.0} MiB)",
        committees.iter().map(|c| c.members).sum::<usize>(),
        committees.iter().map(|c| c.proposals).sum::<usize>(),
        committees.iter().map(|c| c.information).sum::<usize>(),
        generated.events,
        generated.seconds,
        peak_mib()
    ));
    for line in &generated.tables {
        say(format!("  {line}"));
    }

    // (4) Rebuild from the event log.
    reset_peak();
    let db = xieshang_platform::db::Db::connect(&config.database).await.expect("connect");
    let service = xieshang_analytics::AnalyticsService::new(db);
    let started = Instant::now();
    let rebuilt = service
        .rebuild(&|p| {
            if let xieshang_analytics::RebuildProgress::Read { events, .. } = p {
                progress(&format!("rebuild: {events} events read"))
            }
        })
        .await
        .expect("rebuild");
    let rebuild_secs = started.elapsed().as_secs_f64();
    say(format!(
        "rebuild: {} events read, {} counted, {} counters written in {:.1} s ({:.0} events/s; peak {:.0} MiB)",
        rebuilt.events_read,
        rebuilt.events_applied,
        rebuilt.counters,
        rebuild_secs,
        rebuilt.events_read as f64 / rebuild_secs,
        peak_mib()
    ));
    drop(service);

    // The real server on the generated database.
    reset_peak();
    let running = xieshang::app::start(&config).await.expect("server starts");
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", running.addr))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let operator = login_at(channel.clone(), "", "operator", OPERATOR_PASSWORD).await.expect("operator signs in");
    // 河北省 in the national tree (the first province otherwise), one of its counties.
    let province = committees.iter().find(|c| c.code == "130000").unwrap_or(&committees[0]);
    let county = committees
        .iter()
        .find(|c| c.level == CommitteeLevel::County && c.path.starts_with(&province.path))
        .expect("a county");
    create_user(&operator, &province.id.to_string(), "benchoffice", "省政协研究室", &[Role::Staff]).await;
    create_user(&operator, &county.id.to_string(), "benchmember", "王建军", &[Role::Member]).await;
    let office = login_at(channel.clone(), &province.code, "benchoffice", PASSWORD).await.expect("office signs in");
    let member = login_at(channel.clone(), &county.code, "benchmember", PASSWORD).await.expect("member signs in");

    // (1) Dashboards over gRPC.
    let mut client = analytics(&office);
    let (figures, breakdown) = dashboard(&mut client, &province.id.to_string()).await;
    let mut samples = Vec::with_capacity(a.reads);
    for _ in 0..a.reads {
        let started = Instant::now();
        dashboard(&mut client, &province.id.to_string()).await;
        samples.push(started.elapsed());
    }
    let provincial = latency(samples);
    let mut national_client = analytics(&operator);
    let (national_figures, national_breakdown) = dashboard(&mut national_client, "").await;
    let mut samples = Vec::with_capacity(a.reads);
    for _ in 0..a.reads {
        let started = Instant::now();
        dashboard(&mut national_client, "").await;
        samples.push(started.elapsed());
    }
    let national = latency(samples);
    say(format!(
        "provincial dashboard ({}, {} cities) over gRPC, {} reads: {provincial}",
        province.name,
        breakdown.rows.len(),
        a.reads
    ));
    say(format!(
        "national dashboard ({} provinces) over gRPC, {} reads: {national}",
        national_breakdown.rows.len(),
        a.reads
    ));

    // (2) The naive baseline, and that it equals the counters.
    let mut naive_samples = Vec::new();
    let mut naive_province = Table::new();
    for _ in 0..a.naive_runs {
        let started = Instant::now();
        naive_province = naive_dashboard(&conn, &province.path).await;
        naive_samples.push(started.elapsed());
    }
    let naive_provincial = latency(naive_samples);
    let mut naive_samples = Vec::new();
    let mut naive_national = Table::new();
    for _ in 0..a.naive_runs {
        let started = Instant::now();
        naive_national = naive_dashboard(&conn, "").await;
        naive_samples.push(started.elapsed());
    }
    let naive_nation = latency(naive_samples);
    let mut wrong = differences(&naive_province, &figures, &breakdown);
    wrong.extend(differences(&naive_national, &national_figures, &national_breakdown));
    say(format!(
        "naive SQL, provincial dashboard, {} runs: {naive_provincial} — {:.0}× the counters' p50",
        a.naive_runs,
        naive_provincial.p50.as_secs_f64() / provincial.p50.as_secs_f64()
    ));
    say(format!(
        "naive SQL, national dashboard, {} runs: {naive_nation} — {:.0}× the counters' p50",
        a.naive_runs,
        naive_nation.p50.as_secs_f64() / national.p50.as_secs_f64()
    ));
    if wrong.is_empty() {
        say(format!(
            "naive == counters: all {} compared metrics equal, for the province, each city, the platform and each province",
            COMPARED.len()
        ));
    } else {
        for w in wrong.iter().take(20) {
            say(format!("MISMATCH {w}"));
        }
        panic!("the counters and the naive baseline differ in {} places", wrong.len());
    }
    say(format!("serving and reading: peak {:.0} MiB", peak_mib()));

    // (3a) Event application through the analytics consumer, one event per transaction.
    if a.apply > 0 {
        reset_peak();
        let handler = running.analytics.as_ref().expect("analytics runs").event_handlers().remove(0);
        let counties: Vec<&Committee> = committees.iter().filter(|c| c.level == CommitteeLevel::County).collect();
        let now = Utc::now();
        let events: Vec<ev::Event> = (0..a.apply)
            .map(|i| {
                let c = counties[rng.below(counties.len() as u64) as usize];
                ev::Event {
                    id: rng.uuid_at(now).to_string(),
                    occur_time: Some(prost_types::Timestamp { seconds: now.timestamp(), nanos: i as i32 }),
                    committee_id: c.id.to_string(),
                    ancestor_committee_ids: c.ancestors.clone(),
                    actor_user_id: Uuid::nil().to_string(),
                    trace_context: Default::default(),
                    payload: Some(Payload::ProposalSubmitted(ev::ProposalSubmitted {
                        proposal_id: rng.uuid().to_string(),
                        proposer_user_ids: vec![],
                        category: "经济建设".into(),
                    })),
                }
            })
            .collect();
        let started = Instant::now();
        for event in &events {
            handler.handle(event).await.expect("applied");
        }
        let secs = started.elapsed().as_secs_f64();
        say(format!(
            "event application: {} events in {:.2} s = {:.0} events/s (each: the committee and {} ancestors × year, quarter, month; peak {:.0} MiB)",
            a.apply,
            secs,
            a.apply as f64 / secs,
            county.ancestors.len(),
            peak_mib()
        ));
    }

    // (3b) Lag: a proposal submitted over gRPC → the provincial figure.
    if a.lag > 0 {
        let this_year = Utc::now().year().to_string();
        let mut proposals = member.proposals();
        let read = async |client: &mut Analytics| -> i64 {
            client
                .get_figures(pa::GetFiguresRequest {
                    committee_id: province.id.to_string(),
                    period: this_year.clone(),
                    rollup: pa::Rollup::Subtree as i32,
                })
                .await
                .expect("figures")
                .into_inner()
                .counts
                .get("proposals_submitted")
                .copied()
                .unwrap_or(0)
        };
        let mut samples = Vec::with_capacity(a.lag);
        for i in 0..a.lag {
            let before = read(&mut client).await;
            let draft = proposals
                .create_proposal(pp::CreateProposalRequest {
                    proposal: Some(pp::Proposal {
                        kind: pp::ProposalKind::Individual as i32,
                        title: format!("关于推进县域医共体建设的建议（{}）", i + 1),
                        body: "建议完善县乡村三级医疗服务网络，推动优质医疗资源下沉。".into(),
                        category: pp::ProposalCategory::Social as i32,
                        ..Default::default()
                    }),
                })
                .await
                .expect("draft")
                .into_inner();
            proposals.submit_proposal(pp::SubmitProposalRequest { id: draft.id }).await.expect("submit");
            let committed = Instant::now();
            loop {
                if read(&mut client).await > before {
                    break;
                }
                if committed.elapsed() > Duration::from_secs(30) {
                    panic!("the provincial figure did not move within 30 s");
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            samples.push(committed.elapsed());
        }
        say(format!("lag, proposal submitted → provincial figure, {} proposals: {}", a.lag, latency(samples)));
    }

    running.shutdown().await.expect("clean shutdown");
    conn.close().await.ok();
    Outcome { label, lines }
}

#[tokio::main]
async fn main() {
    let a = args();
    println!(
        "national analytics benchmark: scale {:?}, {} reads, {} naive runs, {} events applied, {} lag samples",
        a.scale, a.reads, a.naive_runs, a.apply, a.lag
    );
    let mut outcomes = Vec::new();
    if a.sqlite {
        let dir = TempDir(std::env::temp_dir().join(format!("xieshang-national-{}", std::process::id())));
        std::fs::create_dir_all(&dir.0).expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.0.join("xieshang.db").display());
        outcomes.push(run("sqlite", &url, &dir.0, &a).await);
        let size: u64 = std::fs::read_dir(&dir.0)
            .map(|d| d.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum())
            .unwrap_or(0);
        println!("[sqlite] database files: {:.0} MiB", size as f64 / 1048576.0);
        if a.keep {
            println!("[sqlite] kept {}", dir.0.display());
            std::mem::forget(dir);
        }
    }
    if a.postgres {
        // XIESHANG_BENCH_DATABASE_URL, else the suites' server.
        let base = std::env::var("XIESHANG_BENCH_DATABASE_URL").unwrap_or_else(|_| postgres_base());
        let admin = Database::connect(base.clone()).await.expect("PostgreSQL must be reachable");
        for row in admin
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT datname FROM pg_database WHERE datname LIKE 'xs_bench_%'",
            ))
            .await
            .expect("list bench databases")
        {
            let name: String = row.try_get("", "datname").expect("datname");
            if !a.keep {
                let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
            }
        }
        let name = format!("xs_bench_{}", std::process::id());
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create bench database");
        let dir = TempDir(std::env::temp_dir().join(format!("xieshang-national-pg-{}", std::process::id())));
        std::fs::create_dir_all(&dir.0).expect("temp dir");
        outcomes.push(run("postgres", &with_database(&base, &name), &dir.0, &a).await);
        let size = admin
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT pg_database_size('{name}') AS s"),
            ))
            .await
            .ok()
            .flatten()
            .and_then(|r| r.try_get::<i64>("", "s").ok())
            .unwrap_or(0);
        println!("[postgres] database size: {:.0} MiB", size as f64 / 1048576.0);
        if a.keep {
            println!("[postgres] kept database {name}");
        } else {
            let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
    }
    println!("\nsummary");
    for o in outcomes {
        for line in o.lines {
            println!("[{}] {line}", o.label);
        }
    }
}
