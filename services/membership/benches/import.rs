//! Roster import benchmark: generates a deterministic 1,000-row .xlsx of
//! realistic members (Chinese names, units, valid ID numbers) and imports it
//! through the store — dry run, then the all-or-nothing commit — on SQLite
//! (a temporary file), and on PostgreSQL when `XIESHANG_BENCH_DATABASE_URL`
//! is set (a fresh database is created on that server and dropped after).
//!
//! ```sh
//! cargo bench -p xieshang-membership --bench import
//! XIESHANG_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p xieshang-membership --bench import
//! ```

use std::time::Instant;

use sea_orm::sea_query::Query;
use sea_orm::{ConnectionTrait, Database};
use uuid::Uuid;
use xieshang_membership::MembershipService;
use xieshang_membership::domain::{ReferenceKind, id_check_char};
use xieshang_membership::roster_file::{FileFormat, HEADERS, write_xlsx};
use xieshang_platform::auth::{CommitteeRef, TenantContext};
use xieshang_platform::config::DatabaseConfig;
use xieshang_platform::db::{Db, Scope};
use xieshang_platform::ids::{CommitteeId, UserId};
use xieshang_proto::common::v1::Role;

const ROWS: u32 = 1_000;

/// A small deterministic generator (SplitMix64), so every run imports the same file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const SURNAMES: &[&str] =
    &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "郭"];
const GIVEN: &[&str] = &[
    "建国", "秀英", "志强", "丽华", "海涛", "春梅", "国庆", "晓燕", "建军", "丽萍", "志刚", "明辉", "玉珍", "振东",
    "淑芬", "德明",
];
const UNITS: &[&str] = &[
    "宁晋县晶龙实业集团",
    "宁晋县人民医院",
    "宁晋县第一中学",
    "凤凰镇人民政府",
    "宁晋县电缆有限公司",
    "河北宁晋农村商业银行",
    "宁晋县律师协会",
    "贾家口镇农业合作社",
];
const TITLES: &[&str] = &["总经理", "副院长", "教师", "镇长", "董事长", "主任", "律师", "理事长"];
const PARTIES: &[&str] = &["中共", "民革", "民盟", "民建", "民进", "农工党", "致公党", "九三学社", "无党派", "群众"];
const SECTORS: &[(&str, &str)] =
    &[("01", "中共"), ("03", "民盟"), ("12", "经济界"), ("15", "教育界"), ("17", "医药卫生界")];
const GROUPS: &[&str] = &[
    "第一活动小组",
    "第二活动小组",
    "第三活动小组",
    "第四活动小组",
    "第五活动小组",
    "第六活动小组",
    "第七活动小组",
    "第八活动小组",
    "第九活动小组",
];
const SPECIALS: &[&str] = &["提案委员会", "经济委员会", "文史委员会", "社会法制委员会"];
const STATIONS: &[&str] = &["凤凰镇委员联络站", "贾家口镇委员联络站", "苏家庄镇委员联络站"];

fn roster() -> Vec<[String; 15]> {
    let mut rng = Rng(20_261_123);
    (0..ROWS)
        .map(|i| {
            let year = 1960 + (rng.next() % 30) as u32;
            let month = 1 + (rng.next() % 12) as u32;
            let day = 1 + (rng.next() % 28) as u32;
            let first17 = format!("130528{year}{month:02}{day:02}{:03}", i % 1000);
            let id = format!("{first17}{}", id_check_char(&first17).expect("17 digits"));
            let name = format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN));
            let gender = if rng.next().is_multiple_of(2) { "男" } else { "女" };
            let sector = SECTORS[(rng.next() % SECTORS.len() as u64) as usize].0;
            [
                name,
                gender.to_owned(),
                "汉族".to_owned(),
                year.to_string(),
                rng.pick(PARTIES).to_owned(),
                sector.to_owned(),
                format!("{} {}", rng.pick(UNITS), rng.pick(TITLES)),
                format!("13{}{:08}", 3 + rng.next() % 7, rng.next() % 100_000_000),
                id,
                "10".to_owned(),
                if i % 20 == 0 { "常委" } else { "委员" }.to_owned(),
                if i % 20 == 0 { "是" } else { "否" }.to_owned(),
                rng.pick(GROUPS).to_owned(),
                rng.pick(SPECIALS).to_owned(),
                rng.pick(STATIONS).to_owned(),
            ]
        })
        .collect()
}

async fn run(label: &str, url: &str, file: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
    let config = DatabaseConfig { url: url.to_owned().into(), ..Default::default() };
    let db = Db::connect(&config).await?;
    let committee = CommitteeId(Uuid::now_v7());
    let tx = db.begin(Scope::System).await?;
    let now = xieshang_platform::time::now();
    let insert = Query::insert()
        .into_table("committees")
        .columns(["id", "code", "name", "level", "sibling_scope", "path", "depth", "created_at", "updated_at"])
        .values_panic([
            committee.0.into(),
            "130528".into(),
            "宁晋县政协".into(),
            3i16.into(),
            "root".into(),
            format!("/{}/", committee.0).into(),
            1i16.into(),
            now.into(),
            now.into(),
        ])
        .to_owned();
    tx.execute_raw(tx.get_database_backend().build(&insert)).await?;
    tx.commit().await?;

    let service = MembershipService::new(db, *b"bench-pii-key-16");
    let store = service.store();
    let ctx = TenantContext {
        user_id: UserId(Uuid::now_v7()),
        username: "bench".into(),
        session_id: Uuid::now_v7(),
        committee: Some(CommitteeRef { id: committee, code: "130528".into() }),
        roles: vec![Role::Staff],
        method: "/bench/ImportMembers".into(),
    };
    for (code, name) in SECTORS {
        store.create_reference_item(&ctx, ReferenceKind::Sector, Some((*code).into()), (*name).into()).await?;
    }
    for (kind, names) in [
        (ReferenceKind::ActivityGroup, GROUPS),
        (ReferenceKind::SpecialCommittee, SPECIALS),
        (ReferenceKind::LiaisonStation, STATIONS),
    ] {
        for name in names {
            store.create_reference_item(&ctx, kind, None, (*name).into()).await?;
        }
    }

    let mut progress_messages = 0;
    let mut progress = |_| progress_messages += 1;
    let started = Instant::now();
    let dry = store.import_members(&ctx, FileFormat::Xlsx, file, true, 100, &mut progress).await?;
    let dry_time = started.elapsed();
    assert!(dry.errors.is_empty(), "{:?}", &dry.errors[..dry.errors.len().min(5)]);
    let started = Instant::now();
    let report = store.import_members(&ctx, FileFormat::Xlsx, file, false, 100, &mut progress).await?;
    let commit_time = started.elapsed();
    assert_eq!(report.members_created, ROWS as i32, "{:?}", report.errors);
    println!(
        "{label}: {ROWS} rows — dry run {:.0} ms, import (validate + write, one transaction) {:.0} ms; {} progress messages",
        dry_time.as_secs_f64() * 1000.0,
        commit_time.as_secs_f64() * 1000.0,
        progress_messages,
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows = roster();
    assert_eq!(rows[0].len(), HEADERS.len());
    let started = Instant::now();
    let file = write_xlsx(&rows)?;
    println!(
        "generated {} rows as .xlsx ({} KiB) in {:.0} ms",
        rows.len(),
        file.len() / 1024,
        started.elapsed().as_secs_f64() * 1000.0
    );

    let dir = std::env::temp_dir().join(format!("xieshang-bench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    let outcome = run("sqlite", &url, &file).await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome?;

    if let Ok(base) = std::env::var("XIESHANG_BENCH_DATABASE_URL") {
        let name = format!("xs_bench_{}", Uuid::new_v4().simple());
        let admin = Database::connect(base.clone()).await?;
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
        let (head, query) = base.split_once('?').map_or((base.as_str(), None), |(h, q)| (h, Some(q)));
        let url = format!(
            "{}/{name}{}",
            &head[..head.rfind('/').unwrap_or(head.len())],
            query.map_or(String::new(), |q| format!("?{q}"))
        );
        let outcome = run("postgres", &url, &file).await;
        let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        outcome?;
    }
    Ok(())
}
