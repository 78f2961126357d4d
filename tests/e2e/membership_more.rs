//! Membership, continued: rotating the SM4 key of personal information
//! (`xieshang pii rekey`) across a restart, and roster CSV files in GBK
//! (GB 18030), as Excel on Chinese Windows saves them.

use sea_orm::{ConnectionTrait, Statement, Value as SqlValue};
use secrecy::SecretString;
use tonic::Code;
use tonic::transport::Channel;
use xieshang_membership::roster_file::HEADERS;
use xieshang_membership::spreadsheet::encoding_rs;
use xieshang_platform::db::{Db, Scope};
use xieshang_proto::membership::v1 as pm;
use xieshang_proto::membership::v1::studio_service_client::StudioServiceClient;
use xieshang_tests::*;

use crate::membership::{Client, create, id_number, ningjin};

const KEY_A: &str = "0123456789abcdef0123456789abcdef";
const KEY_B: &str = "fedcba9876543210fedcba9876543210";

fn key(hex: &str) -> [u8; 16] {
    xieshang_membership::rekey::parse_key(hex).unwrap()
}

async fn reveal(c: &mut Client, id: &str) -> (String, String) {
    let r = c.reveal_member_contact(pm::RevealMemberContactRequest { id: id.into() }).await.unwrap().into_inner();
    (r.phone, r.id_number)
}

/// A member's stored (phone_enc, id_number_enc, id_digest).
async fn stored(db: &Db, id: &str) -> (Vec<u8>, Vec<u8>, String) {
    let tx = db.begin(Scope::System).await.unwrap();
    let sql = match db.backend() {
        sea_orm::DbBackend::Postgres => "SELECT phone_enc, id_number_enc, id_digest FROM members WHERE id = $1",
        _ => "SELECT phone_enc, id_number_enc, id_digest FROM members WHERE id = ?",
    };
    let id = uuid::Uuid::parse_str(id).unwrap();
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(db.backend(), sql, [SqlValue::from(id)]))
        .await
        .unwrap()
        .expect("the member's row");
    (
        row.try_get("", "phone_enc").unwrap(),
        row.try_get("", "id_number_enc").unwrap(),
        row.try_get("", "id_digest").unwrap(),
    )
}

/// Puts a member's stored values back (to fake a run that stopped before reaching it).
async fn restore(db: &Db, id: &str, (phone, id_number, digest): (Vec<u8>, Vec<u8>, String)) {
    let tx = db.begin(Scope::System).await.unwrap();
    let sql = match db.backend() {
        sea_orm::DbBackend::Postgres => {
            "UPDATE members SET phone_enc = $1, id_number_enc = $2, id_digest = $3 WHERE id = $4"
        }
        _ => "UPDATE members SET phone_enc = ?, id_number_enc = ?, id_digest = ? WHERE id = ?",
    };
    let id = uuid::Uuid::parse_str(id).unwrap();
    let values = [SqlValue::from(phone), SqlValue::from(id_number), SqlValue::from(digest), SqlValue::from(id)];
    tx.execute_raw(Statement::from_sql_and_values(db.backend(), sql, values)).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn rekey_moves_personal_information_to_a_new_key_across_a_restart() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut c = n.staff.membership();
    let people = [
        ("张建国", "13052819720305123", "13831912345"),
        ("李秀英", "13052819800612234", "13931955678"),
        ("王建民", "13052819650101345", "13703191234"),
    ];
    let mut members = Vec::new();
    for (name, id17, phone) in people {
        let m = create(&mut c, n.member(name, id17, phone)).await.unwrap();
        assert_eq!(reveal(&mut c, &m.id).await, (phone.to_owned(), id_number(id17)));
        members.push(m);
    }
    // A studio request from the public: its contact phone is sealed too.
    let studio = StudioServiceClient::with_interceptor(n.staff.channel.clone(), n.staff.bearer())
        .create_studio(pm::CreateStudioRequest {
            name: "张建国委员工作室".into(),
            sector_id: n.sector_economy.clone(),
            address: "宁晋县凤凰镇政府二楼".into(),
            member_ids: vec![members[0].id.clone()],
            service_items: vec!["政策咨询".into()],
        })
        .await
        .unwrap()
        .into_inner();
    StudioServiceClient::new(app.channel.clone())
        .submit_studio_request(pm::SubmitStudioRequestRequest {
            committee_code: "130528".into(),
            studio_id: studio.id.clone(),
            kind: pm::StudioRequestKind::Help as i32,
            content: "小区门口路灯坏了一个月，能否帮忙反映？".into(),
            contact: Some(pm::StudioContact { name: "王大妈".into(), phone: "13831901234".into() }),
        })
        .await
        .unwrap();
    let db = app.running.db.clone();
    let under_a = stored(&db, &members[1].id).await;

    // The servers stop; the rekey runs against the same database.
    let mut config = app.config.clone();
    app.running.shutdown().await.unwrap();
    let mut progress = Vec::new();
    let report =
        xieshang_membership::rekey::rekey(&db, key(KEY_A), key(KEY_B), &mut |p| progress.push(p)).await.unwrap();
    assert_eq!((report.members_rekeyed, report.members_current, report.committees_changed), (3, 0, 1));
    assert_eq!((report.requests_rekeyed, report.requests_current), (1, 0));
    let last = progress.last().expect("progress is reported");
    assert_eq!((last.rows_done, last.rows_total), (4, 4));
    assert!(progress.iter().any(|p| p.committee_code == "130528"));
    let under_b = stored(&db, &members[1].id).await;
    assert_ne!(under_a.2, under_b.2, "the ID-number digest moves with the key");

    // A run that stopped before reaching a member: running again finishes it
    // and leaves the others alone.
    restore(&db, &members[1].id, under_a).await;
    let report = xieshang_membership::rekey::rekey(&db, key(KEY_A), key(KEY_B), &mut |_| {}).await.unwrap();
    assert_eq!((report.members_rekeyed, report.members_current, report.requests_current), (1, 2, 1));
    let report = xieshang_membership::rekey::rekey(&db, key(KEY_A), key(KEY_B), &mut |_| {}).await.unwrap();
    assert_eq!((report.members_rekeyed, report.members_current, report.committees_changed), (0, 3, 0));
    // Rotating back and forth works the same way.
    let back = xieshang_membership::rekey::rekey(&db, key(KEY_B), key(KEY_A), &mut |_| {}).await.unwrap();
    assert_eq!(back.members_rekeyed, 3);
    let report = xieshang_membership::rekey::rekey(&db, key(KEY_A), key(KEY_B), &mut |_| {}).await.unwrap();
    assert_eq!(report.members_rekeyed, 3);
    // A wrong "current" key decrypts nothing: refused, not silently kept; so is "rotating" to the same key.
    let third = key("00000000000000000000000000000001");
    assert!(xieshang_membership::rekey::rekey(&db, third, key(KEY_A), &mut |_| {}).await.is_err());
    assert!(xieshang_membership::rekey::rekey(&db, key(KEY_B), key(KEY_B), &mut |_| {}).await.is_err());

    // One audit row per committee and run that changed something, counts only.
    let tx = db.begin(Scope::System).await.unwrap();
    let audit = tx
        .query_all_raw(Statement::from_string(
            db.backend(),
            "SELECT changes FROM audit_log WHERE method = 'cli:pii rekey' ORDER BY created_at",
        ))
        .await
        .unwrap();
    assert_eq!(audit.len(), 4);
    let changes: String = audit[0].try_get("", "changes").unwrap();
    assert!(changes.contains("\"members_rekeyed\":3") && !changes.contains("1383"), "{changes}");
    drop(tx);

    // Restarted with key B: everything reads back as it was.
    config.pii.key = Some(SecretString::from(KEY_B.to_owned()));
    let running = xieshang::app::start(&config).await.expect("restarts with the new key");
    let channel = Channel::from_shared(format!("http://{}", running.addr)).unwrap().connect().await.unwrap();
    let staff = login_at(channel, "130528", "liuyang", PASSWORD).await.unwrap();
    let mut c = staff.membership();
    for ((_, id17, phone), m) in people.iter().zip(&members) {
        assert_eq!(reveal(&mut c, &m.id).await, ((*phone).to_owned(), id_number(id17)));
        let got = c.get_member(pm::GetMemberRequest { id: m.id.clone() }).await.unwrap().into_inner();
        assert_eq!((got.phone, got.id_number, got.etag), (m.phone.clone(), m.id_number.clone(), m.etag.clone()));
    }
    // Duplicate ID numbers are still caught under the new key.
    let dup = create(&mut c, n.member("张建华", people[0].1, "13831900000")).await;
    assert_eq!(violated_field(&assert_code(dup, Code::AlreadyExists)), "member.id_number");
    let fresh = create(&mut c, n.member("赵春梅", "13052819900101456", "13831900001")).await.unwrap();
    assert_eq!(reveal(&mut c, &fresh.id).await.0, "13831900001");
    let requests = StudioServiceClient::with_interceptor(staff.channel.clone(), staff.bearer())
        .list_studio_requests(pm::ListStudioRequestsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .requests;
    assert_eq!(requests[0].contact_phone, "138****1234");
    running.shutdown().await.unwrap();
}

/// A roster row as committees fill them in.
fn row(name: &str, gender: &str, id17: &str, phone: &str, unit: &str) -> Vec<String> {
    let cells = [
        name,
        gender,
        "汉族",
        "",
        "民建",
        "经济界",
        unit,
        phone,
        &id_number(id17),
        "第10届",
        "委员",
        "否",
        "宁晋县第一活动小组",
        "提案委员会",
        "凤凰镇委员联络站",
    ];
    cells.iter().map(|c| (*c).to_owned()).collect()
}

/// A CSV as Excel's plain "CSV" saves it on Chinese Windows: GBK, no BOM, CRLF.
fn gbk_csv(rows: &[Vec<String>]) -> Vec<u8> {
    let mut text = HEADERS.join(",");
    text.push_str("\r\n");
    for r in rows {
        text.push_str(&r.join(","));
        text.push_str("\r\n");
    }
    let (bytes, _, lossy) = encoding_rs::GBK.encode(&text);
    assert!(!lossy);
    bytes.into_owned()
}

async fn import(c: &mut Client, content: Vec<u8>, dry_run: bool) -> Result<pm::ImportReport, tonic::Status> {
    let request =
        pm::ImportMembersRequest { format: pm::RosterFormat::Csv as i32, content, dry_run, progress_every: 0 };
    let mut stream = c.import_members(request).await?.into_inner();
    let mut report = None;
    while let Some(message) = stream.message().await? {
        if let Some(pm::import_members_response::Message::Report(r)) = message.message {
            report = Some(r);
        }
    }
    Ok(report.expect("a final report"))
}

#[tokio::test]
async fn gbk_csv_rosters_import_like_utf8_ones() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut c = n.staff.membership();
    let rows = vec![
        row("张建国", "男", "13052819720305123", "13831912345", "宁晋县晶龙实业集团 副总经理"),
        row("李秀英", "女", "13052819800612234", "13931955678", "宁晋县人民医院 院长"),
        row("王建民", "男", "13052819650101345", "13703191234", "河北宁晋松宝集团 董事长"),
    ];
    let file = gbk_csv(&rows);
    assert!(std::str::from_utf8(&file).is_err(), "really GBK");

    let report = import(&mut c, file.clone(), true).await.unwrap();
    assert!(report.dry_run && !report.committed && report.errors.is_empty(), "{report:?}");
    assert_eq!((report.rows_total, report.rows_valid), (3, 3));
    let listed = c.list_members(pm::ListMembersRequest::default()).await.unwrap().into_inner().members;
    assert!(listed.is_empty(), "a dry run writes nothing");

    let report = import(&mut c, file, false).await.unwrap();
    assert!(report.committed && report.members_created == 3, "{report:?}");
    let listed = c.list_members(pm::ListMembersRequest::default()).await.unwrap().into_inner().members;
    let got: Vec<(&str, &str, &str)> =
        listed.iter().map(|m| (m.name.as_str(), m.work_unit.as_str(), m.title.as_str())).collect();
    assert_eq!(got[0].0, "张建国");
    assert!(got[0].1.contains("宁晋县晶龙实业集团"), "{got:?}");
    assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), vec!["张建国", "李秀英", "王建民"]);
    assert_eq!(reveal(&mut c, &listed[1].id).await, ("13931955678".to_owned(), id_number("13052819800612234")));

    // The same rows in GBK again are duplicates, found as such (the text was decoded right).
    let report = import(&mut c, gbk_csv(&rows[..1]), true).await.unwrap();
    assert_eq!(report.errors[0].message, "第2行「身份证号」与委员名单中已有的委员重复");

    // Bytes that are neither UTF-8 nor GBK: refused, naming the line.
    let mut bad = gbk_csv(&[row("赵春梅", "女", "13052819900101456", "13831900001", "宁晋县第二中学 教师")]);
    bad.extend_from_slice(b"\xFF\xFF,\xE5\r\n");
    let err = import(&mut c, bad, true).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("第3行") && err.message().contains("GBK"), "{}", err.message());
}
