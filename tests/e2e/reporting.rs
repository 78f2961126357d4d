//! Annual reporting (委员述职) and roster files: a Ningjin-like campaign
//! through the API with every statistic asserted, the refusals a judge and
//! staff meet, and roster import (CSV and XLSX, dry run, all or nothing,
//! progress) and export.

use std::collections::HashMap;
use std::io::Cursor;

use tonic::Code;
use xieshang_membership::spreadsheet::calamine::{Data, Reader, Xlsx};
use xieshang_membership::spreadsheet::rust_xlsxwriter::Workbook;
use xieshang_proto::common::v1::{Date, Role};
use xieshang_proto::membership::v1 as pm;
use xieshang_proto::membership::v1::reporting_service_client::ReportingServiceClient;
use xieshang_tests::*;

use crate::membership::{Client, Ningjin, create, id_number, ningjin, this_year, with_bad_check};

type Reporting = ReportingServiceClient<Authed>;

fn date(month: i32, day: i32) -> Option<Date> {
    Some(Date { year: this_year(), month, day })
}

/// A distinct valid ID number (born 1970-1979) and mobile number for member `i`.
fn identity(i: u32) -> (String, String) {
    (format!("130528197{}0110{:03}", i % 10, i), format!("1383191{:04}", i))
}

struct Campaign {
    n: Ningjin,
    /// 第一活动小组: A1..A12.
    a: Vec<pm::Member>,
    /// 第二活动小组: B1.
    b1: pm::Member,
    judges: Vec<Session>,
}

async fn campaign(app: &TestApp) -> Campaign {
    let n = ningjin(app).await;
    let id = n.tree.ningjin.id.clone();
    let mut judges = Vec::new();
    for (i, name) in ["王振华", "刘淑芬", "陈志强", "杨桂英", "赵德明", "孙丽华"].iter().enumerate() {
        let username = format!("judge{}", i + 1);
        create_user(&n.admin, &id, &username, name, &[Role::Judge]).await;
        judges.push(app.login("130528", &username, PASSWORD).await.unwrap());
    }
    let mut c = n.staff.membership();
    let names = [
        "张立新",
        "李文静",
        "王海涛",
        "赵春梅",
        "刘国庆",
        "陈晓燕",
        "杨建军",
        "黄丽萍",
        "周志刚",
        "吴秀兰",
        "徐明辉",
        "孙玉珍",
    ];
    let mut a = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (id17, phone) = identity(i as u32 + 1);
        a.push(create(&mut c, n.member(name, &id17[..17], &phone)).await.unwrap());
    }
    let (id17, phone) = identity(13);
    let mut b1 = n.member("郭振东", &id17[..17], &phone);
    b1.activity_group_id = n.group_two.clone();
    let b1 = create(&mut c, b1).await.unwrap();
    Campaign { n, a, b1, judges }
}

fn new_session(
    c: &Campaign,
    kind: pm::SessionKind,
    group: &str,
    title: &str,
    day: i32,
    reporters: &[&pm::Member],
    judges: &[&Session],
) -> pm::CreateReportingSessionRequest {
    pm::CreateReportingSessionRequest {
        session: Some(pm::ReportingSession {
            kind: kind as i32,
            activity_group_id: group.into(),
            title: title.into(),
            date: date(4, day),
            place: "宁晋县政协三楼会议室".into(),
            leader_name: "张国强".into(),
            staff_user_id: c.n.staff.user.id.clone(),
            reporter_member_ids: reporters.iter().map(|m| m.id.clone()).collect(),
            judge_user_ids: judges.iter().map(|j| j.user.id.clone()).collect(),
            ..Default::default()
        }),
    }
}

async fn record(r: &mut Reporting, session: &str, m: &pm::Member) {
    r.record_report(pm::RecordReportRequest {
        session_id: session.into(),
        member_id: m.id.clone(),
        work: format!("{}：本职岗位上带头攻坚，企业产值增长一成。", m.name),
        performance: "全年提交提案两件，参加视察调研三次。".into(),
        suggestions: "建议加快县城老旧小区改造，完善农村物流网络。".into(),
    })
    .await
    .unwrap_or_else(|e| panic!("record {}: {e:?}", m.name));
}

async fn score(judge: &Session, session: &str, m: &pm::Member, value: i32) -> Result<pm::Score, tonic::Status> {
    judge
        .reporting()
        .score_report(pm::ScoreReportRequest { session_id: session.into(), member_id: m.id.clone(), score: value })
        .await
        .map(|r| r.into_inner())
}

/// Scores `table[i]` for reporter `reporters[i]`, judge by judge.
async fn score_all(judges: &[&Session], session: &str, reporters: &[&pm::Member], table: &[&[i32]]) {
    for (m, scores) in reporters.iter().zip(table) {
        for (judge, value) in judges.iter().zip(scores.iter()) {
            score(judge, session, m, *value).await.unwrap_or_else(|e| panic!("{}: {e:?}", m.name));
        }
    }
}

async fn get(r: &mut Reporting, id: &str) -> Result<pm::ReportingSession, tonic::Status> {
    r.get_reporting_session(pm::GetReportingSessionRequest { id: id.into() }).await.map(|r| r.into_inner())
}

fn finals(s: &pm::ReportingSession) -> HashMap<String, Option<f64>> {
    s.reports.iter().map(|r| (r.member_name.clone(), r.final_score)).collect()
}

#[tokio::test]
async fn a_ningjin_campaign_gives_every_statistic() {
    let app = spawn_app().await;
    let c = campaign(&app).await;
    let mut r = c.n.staff.reporting();
    let j: Vec<&Session> = c.judges.iter().collect();
    let a: Vec<&pm::Member> = c.a.iter().collect();
    use pm::SessionKind::{MakeUp, Regular};

    let settings = r.get_reporting_settings(pm::GetReportingSettingsRequest {}).await.unwrap().into_inner();
    assert_eq!(settings.score_rule, pm::ScoreRule::TrimmedMeanWhenAtLeastFive as i32, "the default");

    // Refused panels: a member of another group in a regular session; a judge without ROLE_JUDGE.
    let mut wrong = a[..3].to_vec();
    wrong.push(&c.b1);
    let refused = r.create_reporting_session(new_session(&c, Regular, &c.n.group_one, "x", 1, &wrong, &j[..3])).await;
    let status = assert_code(refused, Code::InvalidArgument);
    assert_eq!(violated_field(&status), "session.reporter_member_ids");
    assert!(status.message().contains("郭振东"), "{status:?}");
    let not_judge = [j[0], &c.n.staff];
    let refused =
        r.create_reporting_session(new_session(&c, Regular, &c.n.group_one, "x", 1, &a[..2], &not_judge)).await;
    assert_eq!(violated_field(&assert_code(refused, Code::InvalidArgument)), "session.judge_user_ids");

    // Two regular sessions of 第一活动小组: five judges, then three.
    let s1 = r
        .create_reporting_session(new_session(
            &c,
            Regular,
            &c.n.group_one,
            "第一活动小组述职会（一）",
            10,
            &a[..6],
            &j[..5],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s1.state, pm::SessionState::Scheduled as i32);
    assert_eq!(s1.reports.len(), 6);
    let s2 = r
        .create_reporting_session(new_session(
            &c,
            Regular,
            &c.n.group_one,
            "第一活动小组述职会（二）",
            12,
            &a[6..],
            &j[..3],
        ))
        .await
        .unwrap()
        .into_inner();
    for m in &a[..6] {
        record(&mut r, &s1.id, m).await;
    }
    for m in &a[6..9] {
        record(&mut r, &s2.id, m).await;
    }
    // 吴秀兰 is away and sends a video; 徐明辉 and 孙玉珍 miss the session.
    let video = r
        .submit_video_report(pm::SubmitVideoReportRequest {
            session_id: s2.id.clone(),
            member_id: a[9].id.clone(),
            video_ref: "video://2026/shuzhi/wuxiulan.mp4".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(video.mode, pm::ReportMode::Video as i32);

    let early = score(j[0], &s1.id, a[0], 90).await;
    assert!(assert_code(early, Code::FailedPrecondition).message().contains("SCHEDULED"));
    for s in [&s1, &s2] {
        r.open_reporting_session(pm::OpenReportingSessionRequest { id: s.id.clone() }).await.unwrap();
    }

    let table1: [&[i32]; 6] = [
        &[95, 92, 90, 88, 99],  // trimmed: 92.33
        &[90, 90, 90, 90, 60],  // 90.00
        &[85, 80, 82, 81, 100], // 82.67
        &[70, 72, 74, 76, 78],  // 74.00
        &[55, 58, 59, 60, 0],   // 57.33
        &[50, 55, 58, 100],     // four judges: plain mean 65.75
    ];
    score_all(&j[..5], &s1.id, &a[..6], &table1).await;
    let table2: [&[i32]; 3] = [&[91, 92, 93], &[80, 85, 90], &[89, 90, 90]];
    score_all(&j[..3], &s2.id, &a[6..9], &table2).await;

    // Refusals while scoring.
    let too_high = score(j[0], &s1.id, a[0], 101).await;
    assert_eq!(violated_field(&assert_code(too_high, Code::InvalidArgument)), "score");
    let twice = score(j[0], &s1.id, a[0], 80).await;
    assert!(assert_code(twice, Code::FailedPrecondition).message().contains("already scored"));
    let not_reporter = score(j[0], &s1.id, &c.b1, 80).await;
    assert!(assert_code(not_reporter, Code::FailedPrecondition).message().contains("not a reporter"));
    let by_video = score(j[0], &s2.id, a[9], 80).await;
    assert!(assert_code(by_video, Code::FailedPrecondition).message().contains("VIDEO"));
    // 杨桂英 (judge 4) does not sit on the second session: it does not exist for her.
    assert_code(get(&mut j[3].reporting(), &s2.id).await, Code::NotFound);
    assert_code(score(j[3], &s2.id, a[6], 80).await, Code::NotFound);
    let hers = j[3].reporting().list_reporting_sessions(pm::ListReportingSessionsRequest { year: this_year() }).await;
    let hers: Vec<String> = hers.unwrap().into_inner().sessions.into_iter().map(|s| s.id).collect();
    assert_eq!(hers, vec![s1.id.clone()]);
    // A judge sees only their own scores, and no final score.
    let seen = get(&mut j[0].reporting(), &s1.id).await.unwrap();
    let first = seen.reports.iter().find(|x| x.member_id == a[0].id).unwrap();
    assert_eq!(first.my_scores.iter().map(|s| s.score).collect::<Vec<_>>(), vec![95]);
    assert!(seen.judge_user_ids.is_empty() && first.final_score.is_none() && first.judge_count == 0);
    // Members do not read sessions.
    assert_code(get(&mut c.n.zhang.reporting(), &s1.id).await, Code::PermissionDenied);

    for s in [&s1, &s2] {
        let closed = r.close_reporting_session(pm::CloseReportingSessionRequest { id: s.id.clone() }).await.unwrap();
        assert_eq!(closed.into_inner().score_rule, pm::ScoreRule::TrimmedMeanWhenAtLeastFive as i32);
    }
    let after = score(j[4], &s1.id, a[5], 70).await;
    assert!(assert_code(after, Code::FailedPrecondition).message().contains("CLOSED"));
    let reclose = r.close_reporting_session(pm::CloseReportingSessionRequest { id: s1.id.clone() }).await;
    assert!(assert_code(reclose, Code::FailedPrecondition).message().contains("CLOSED"));
    let f1 = finals(&get(&mut r, &s1.id).await.unwrap());
    assert_eq!(f1["张立新"], Some(92.33));
    assert_eq!(f1["李文静"], Some(90.0));
    assert_eq!(f1["王海涛"], Some(82.67));
    assert_eq!(f1["刘国庆"], Some(57.33));
    assert_eq!(f1["陈晓燕"], Some(65.75));
    let f2 = finals(&get(&mut r, &s2.id).await.unwrap());
    assert_eq!((f2["周志刚"], f2["吴秀兰"], f2["徐明辉"]), (Some(89.67), None, None));

    // Make-up: not for who already reported (even by video); members of any group.
    let reported = r.create_reporting_session(new_session(&c, MakeUp, "", "补述职", 20, &[a[9]], &j[3..])).await;
    let status = assert_code(reported, Code::InvalidArgument);
    assert_eq!(violated_field(&status), "session.reporter_member_ids");
    assert!(status.message().contains("already reported"), "{status:?}");
    let s3 = r
        .create_reporting_session(new_session(&c, MakeUp, "", "补述职会", 20, &[a[10], &c.b1], &j[3..]))
        .await
        .unwrap()
        .into_inner();
    record(&mut r, &s3.id, a[10]).await;
    record(&mut r, &s3.id, &c.b1).await;
    r.open_reporting_session(pm::OpenReportingSessionRequest { id: s3.id.clone() }).await.unwrap();
    score_all(&j[3..], &s3.id, &[a[10], &c.b1], &[&[95, 95, 96], &[70, 70, 71]]).await;
    r.close_reporting_session(pm::CloseReportingSessionRequest { id: s3.id.clone() }).await.unwrap();

    // Suggestions: four raised, three forwarded, two adopted, one not.
    let mut raise = async |session: &str, m: &pm::Member, content: &str| {
        r.raise_suggestion(pm::RaiseSuggestionRequest {
            session_id: session.into(),
            member_id: m.id.clone(),
            content: content.into(),
        })
        .await
        .unwrap()
        .into_inner()
    };
    let g1 = raise(&s1.id, a[0], "加快县城老旧小区改造").await;
    let g2 = raise(&s1.id, a[0], "完善农村物流网络").await;
    let g3 = raise(&s1.id, a[2], "扶持县域特色产业集群").await;
    let g4 = raise(&s2.id, a[6], "加强中小学课后服务").await;
    assert_eq!(g4.state, pm::SuggestionState::Raised as i32);
    let early = r
        .decide_suggestion(pm::DecideSuggestionRequest {
            id: g1.id.clone(),
            adopted: true,
            date: date(5, 2),
            note: "".into(),
        })
        .await;
    assert!(assert_code(early, Code::FailedPrecondition).message().contains("RAISED"));
    for g in [&g1, &g2, &g3] {
        let forwarded = r
            .forward_suggestion(pm::ForwardSuggestionRequest {
                id: g.id.clone(),
                forwarded_to: "县委办公室、县政府办公室".into(),
                date: date(5, 1),
                note: "随述职情况报告一并报送".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(forwarded.state, pm::SuggestionState::Forwarded as i32);
    }
    for (g, adopted) in [(&g1, true), (&g2, true), (&g3, false)] {
        let decided = r
            .decide_suggestion(pm::DecideSuggestionRequest {
                id: g.id.clone(),
                adopted,
                date: date(6, 15),
                note: "县政府办公室反馈".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(decided.decided_on, date(6, 15));
    }
    let listed = r.list_suggestions(pm::ListSuggestionsRequest { year: this_year() }).await.unwrap().into_inner();
    assert_eq!(listed.suggestions.len(), 4);

    let stats = r
        .get_reporting_statistics(pm::GetReportingStatisticsRequest {
            committee_id: c.n.tree.ningjin.id.clone(),
            year: this_year(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.members_due, 13);
    assert_eq!(stats.reported_on_site, 11);
    assert_eq!(stats.reported_by_video, 1);
    assert_eq!(stats.not_reported, 1);
    assert_eq!(stats.on_site_rate_percent, 84.62);
    assert_eq!(stats.scored_at_least_90, 4);
    assert_eq!(stats.excellence_rate_percent, 36.36);
    let expected =
        pm::ScoreDistribution { below_60: 1, from_60_to_69: 1, from_70_to_79: 2, from_80_to_89: 3, at_least_90: 4 };
    assert_eq!(stats.distribution, Some(expected));
    assert_eq!((stats.sessions, stats.make_up_sessions), (3, 1));
    assert_eq!(
        (
            stats.suggestions_raised,
            stats.suggestions_forwarded,
            stats.suggestions_adopted,
            stats.suggestions_not_adopted
        ),
        (4, 3, 2, 1)
    );
    // Another committee's figures do not exist for Ningjin's staff.
    let other = r
        .get_reporting_statistics(pm::GetReportingStatisticsRequest {
            committee_id: c.n.tree.lincheng.id.clone(),
            year: this_year(),
        })
        .await;
    assert_code(other, Code::NotFound);
    // Nor do its sessions for Lincheng's admin.
    let lincheng = app.login("130522", "admin", PASSWORD).await.unwrap();
    assert_code(get(&mut lincheng.reporting(), &s1.id).await, Code::NotFound);
}

#[tokio::test]
async fn plain_mean_is_a_committee_setting() {
    let app = spawn_app().await;
    let c = campaign(&app).await;
    let mut r = c.n.staff.reporting();
    let j: Vec<&Session> = c.judges.iter().collect();
    let set = r
        .update_reporting_settings(pm::UpdateReportingSettingsRequest {
            settings: Some(pm::ReportingSettings { score_rule: pm::ScoreRule::PlainMean as i32, ..Default::default() }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(set.score_rule, pm::ScoreRule::PlainMean as i32);
    let s = r
        .create_reporting_session(new_session(
            &c,
            pm::SessionKind::Regular,
            &c.n.group_one,
            "述职会",
            8,
            &[&c.a[0]],
            &j[..5],
        ))
        .await
        .unwrap()
        .into_inner();
    record(&mut r, &s.id, &c.a[0]).await;
    r.open_reporting_session(pm::OpenReportingSessionRequest { id: s.id.clone() }).await.unwrap();
    score_all(&j[..5], &s.id, &[&c.a[0]], &[&[95, 92, 90, 88, 99]]).await;
    let closed = r.close_reporting_session(pm::CloseReportingSessionRequest { id: s.id.clone() }).await.unwrap();
    let closed = closed.into_inner();
    assert_eq!(closed.score_rule, pm::ScoreRule::PlainMean as i32);
    assert_eq!(closed.reports[0].final_score, Some(92.8));
    assert_eq!(closed.reports[0].judge_count, 5);
}

// ---------------------------------------------------------------------------
// Roster import and export
// ---------------------------------------------------------------------------

const HEADERS: [&str; 15] = [
    "姓名",
    "性别",
    "民族",
    "出生年份",
    "党派",
    "界别",
    "工作单位及职务",
    "手机号",
    "身份证号",
    "届次",
    "职务",
    "常委",
    "活动小组",
    "专委会",
    "联络站",
];

/// A roster row for member `i`: 经济界 by code, 第一活动小组 by name.
fn row(name: &str, i: u32) -> Vec<String> {
    let (id17, phone) = identity(i);
    let cells = [
        name,
        if i.is_multiple_of(2) { "女" } else { "男" },
        "汉族",
        "",
        "民建",
        "12",
        "宁晋县电缆有限公司 总经理",
        &phone,
        &id_number(&id17[..17]),
        "第10届",
        "委员",
        "否",
        "宁晋县第一活动小组",
        "提案委员会",
        "凤凰镇委员联络站",
    ];
    cells.iter().map(|s| (*s).to_owned()).collect()
}

fn csv_file(rows: &[Vec<String>]) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    for r in std::iter::once(HEADERS.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()).chain(rows.iter().cloned()) {
        out.push_str(&r.join(","));
        out.push('\n');
    }
    out.into_bytes()
}

fn xlsx_file(rows: &[Vec<String>]) -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, cells) in rows.iter().enumerate() {
        for (c, v) in cells.iter().enumerate() {
            if c == 9 {
                // 届次 as a number cell, as Excel users type it.
                sheet.write_number(r as u32 + 1, c as u16, 10).unwrap();
            } else {
                sheet.write_string(r as u32 + 1, c as u16, v).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

async fn import(
    c: &mut Client,
    format: pm::RosterFormat,
    content: Vec<u8>,
    dry_run: bool,
    every: i32,
) -> (Vec<pm::ImportProgress>, pm::ImportReport) {
    let request = pm::ImportMembersRequest { format: format as i32, content, dry_run, progress_every: every };
    let mut stream = c.import_members(request).await.unwrap().into_inner();
    let (mut progress, mut report) = (Vec::new(), None);
    while let Some(message) = stream.message().await.unwrap() {
        match message.message.unwrap() {
            pm::import_members_response::Message::Progress(p) => progress.push(p),
            pm::import_members_response::Message::Report(r) => report = Some(r),
        }
    }
    (progress, report.expect("a final report"))
}

async fn roster_names(c: &mut Client) -> Vec<String> {
    let list = c.list_members(pm::ListMembersRequest { page_size: 500, ..Default::default() }).await.unwrap();
    list.into_inner().members.into_iter().map(|m| m.name).collect()
}

#[tokio::test]
async fn roster_import_is_checked_row_by_row_and_all_or_nothing() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut c = n.staff.membership();

    // A CSV with two bad rows (rows 3 and 5 of the sheet).
    let mut rows = vec![row("张立新", 1), row("李文静", 2), row("王海涛", 3), row("赵春梅", 4)];
    rows[1][8] = with_bad_check(&rows[1][8]);
    rows[3][5] = "文艺界".into();
    rows[3][1] = "未知".into();
    let (progress, report) = import(&mut c, pm::RosterFormat::Csv, csv_file(&rows), true, 1).await;
    assert!(report.dry_run && !report.committed);
    assert_eq!((report.rows_total, report.rows_valid, report.members_created), (4, 2, 0));
    let messages: Vec<&str> = report.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        vec![
            "第3行「身份证号」校验位不正确",
            "第5行「性别」应为「男」或「女」",
            "第5行「界别」「文艺界」不是本政协的界别（按名称或代码）",
        ]
    );
    assert_eq!((report.errors[0].row, report.errors[0].column.as_str()), (3, "身份证号"));
    assert_eq!(progress.len(), 4, "one per row");
    assert_eq!(progress.last().unwrap().rows_done, 4);
    assert!(roster_names(&mut c).await.is_empty(), "a dry run writes nothing");

    // Committing the same file writes nothing either.
    let (_, report) = import(&mut c, pm::RosterFormat::Csv, csv_file(&rows), false, 0).await;
    assert!(!report.committed);
    assert_eq!(report.errors.len(), 3);
    assert!(roster_names(&mut c).await.is_empty(), "all or nothing");

    // A good CSV commits every row.
    let good = vec![row("张立新", 1), row("李文静", 2), row("王海涛", 3)];
    let (progress, report) = import(&mut c, pm::RosterFormat::Csv, csv_file(&good), false, 2).await;
    assert!(report.committed && report.errors.is_empty(), "{report:?}");
    assert_eq!(report.members_created, 3);
    assert!(progress.iter().any(|p| p.phase == pm::ImportPhase::Writing as i32 && p.rows_done == 3));
    assert_eq!(roster_names(&mut c).await, vec!["张立新", "李文静", "王海涛"]);
    let first = c.list_members(pm::ListMembersRequest::default()).await.unwrap().into_inner().members.remove(0);
    assert_eq!((first.birth_year, first.term_number, first.title.as_str()), (1971, 10, "总经理"));
    assert_eq!(first.activity_group_id, n.group_one);
    assert_eq!(first.phone, "138****0001");

    // An XLSX of 25 rows, one of them an ID number already on the roster.
    let mut rows: Vec<Vec<String>> = (0..25).map(|i| row(&format!("委员{i:02}"), 100 + i)).collect();
    rows[7][8] = id_number(&identity(2).0[..17]);
    let (progress, report) = import(&mut c, pm::RosterFormat::Xlsx, xlsx_file(&rows), false, 10).await;
    assert!(!report.committed);
    let messages: Vec<&str> = report.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages, vec!["第9行「身份证号」与委员名单中已有的委员重复"]);
    let done: Vec<i32> = progress.iter().map(|p| p.rows_done).collect();
    assert_eq!(done, vec![10, 20, 25]);
    assert_eq!(roster_names(&mut c).await.len(), 3);

    // Fixed, it commits all 25.
    rows[7][8] = id_number(&identity(107).0[..17]);
    let (progress, report) = import(&mut c, pm::RosterFormat::Xlsx, xlsx_file(&rows), false, 10).await;
    assert!(report.committed, "{report:?}");
    assert_eq!(report.members_created, 25);
    assert_eq!(progress.last().unwrap().phase, pm::ImportPhase::Writing as i32);
    assert_eq!(roster_names(&mut c).await.len(), 28);

    // Not a spreadsheet; not staff.
    let garbage = pm::ImportMembersRequest {
        format: pm::RosterFormat::Xlsx as i32,
        content: b"not a workbook".to_vec(),
        ..Default::default()
    };
    let mut stream = c.import_members(garbage).await.unwrap().into_inner();
    assert_eq!(violated_field(&assert_code(stream.message().await, Code::InvalidArgument)), "content");
    let by_member = n
        .zhang
        .membership()
        .import_members(pm::ImportMembersRequest {
            format: pm::RosterFormat::Csv as i32,
            content: csv_file(&good),
            ..Default::default()
        })
        .await;
    assert_code(by_member, Code::PermissionDenied);
}

fn read_export(bytes: Vec<u8>) -> Vec<Vec<String>> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|d| match d {
                    Data::String(s) => s.clone(),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn roster_export_round_trips_and_reveals_only_on_request() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut c = n.staff.membership();
    let rows: Vec<Vec<String>> =
        ["张立新", "李文静", "王海涛", "赵春梅"].iter().zip(1..).map(|(name, i)| row(name, i)).collect();
    let (_, report) = import(&mut c, pm::RosterFormat::Xlsx, xlsx_file(&rows), false, 0).await;
    assert!(report.committed);

    let export = c.export_members(pm::ExportMembersRequest::default()).await.unwrap().into_inner();
    assert_eq!(export.member_count, 4);
    assert!(export.file_name.ends_with(".xlsx"));
    let sheet = read_export(export.content.clone());
    assert_eq!(sheet[0], HEADERS.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>());
    let names: Vec<&str> = sheet[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, vec!["张立新", "李文静", "王海涛", "赵春梅"]);
    assert_eq!(sheet[1][7], "138****0001", "masked by default");
    assert_eq!(sheet[1][5], "经济界");
    assert_eq!(sheet[1][6], "宁晋县电缆有限公司 总经理");

    // The export imports again as it is (with full values): into another committee.
    let revealed =
        c.export_members(pm::ExportMembersRequest { reveal_personal_information: true }).await.unwrap().into_inner();
    let sheet = read_export(revealed.content.clone());
    assert_eq!(sheet[1][7], rows[0][7]);
    assert_eq!(sheet[1][8], rows[0][8]);
    let (_, dry) = import(&mut c, pm::RosterFormat::Xlsx, revealed.content, true, 0).await;
    let duplicates = dry.errors.iter().filter(|e| e.message.contains("已有的委员重复")).count();
    assert_eq!(duplicates, 4, "every row parses; each is already on the roster: {dry:?}");

    // The reveal is audited.
    let audit = n
        .admin
        .audit()
        .list_audit_entries(xieshang_proto::tenants::v1::ListAuditEntriesRequest {
            committee_id: n.tree.ningjin.id.clone(),
            target_type: "member_export".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let revealed_entries = audit.entries.iter().filter(|e| e.changes_json.contains("id_number")).count();
    assert_eq!(revealed_entries, 1, "{audit:?}");
}
