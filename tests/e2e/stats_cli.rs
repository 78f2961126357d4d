//! `xieshang stats …` against a real server: activity created through the
//! real APIs in 宁晋县, counted by analytics, then read back through the CLI
//! as tables, JSON, .xlsx and CSV exports, a Markdown summary and SVG charts —
//! and refused where the caller may not look.

use crate::analytics::{County, county};
use std::io::Cursor;
use std::str::FromStr;

use tonic::metadata::MetadataValue;
use xieshang_membership::spreadsheet::calamine::{Data, Reader, Xlsx};
use xieshang_proto::analytics::v1 as pa;
use xieshang_proto::analytics::v1::analytics_service_client::AnalyticsServiceClient;
use xieshang_proto::common::v1::Date;
use xieshang_proto::proposals::v1 as pp;
use xieshang_tests::*;

use crate::cli::{CliUser, xieshang};

/// Today in China Standard Time: ("2026", "2026-11", 11).
fn this_year_and_month() -> (String, String, usize) {
    let now = xieshang_platform::time::now() + chrono::Duration::hours(8);
    (now.format("%Y").to_string(), now.format("%Y-%m").to_string(), now.format("%m").to_string().parse().unwrap())
}

fn today() -> Date {
    let now = xieshang_platform::time::now() + chrono::Duration::hours(8);
    let parts: Vec<i32> = now.format("%Y-%m-%d").to_string().split('-').map(|x| x.parse().unwrap()).collect();
    Date { year: parts[0], month: parts[1], day: parts[2] }
}

/// A proposal created, submitted and filed; replied on time with `class` when given.
async fn proposal(c: &County, title: &str, reply: Option<pp::ReplyClass>) {
    let mut member = c.member.proposals();
    let id = member
        .create_proposal(pp::CreateProposalRequest {
            proposal: Some(pp::Proposal {
                kind: pp::ProposalKind::Individual as i32,
                title: title.into(),
                body: "建议整合农田水利资金，推广暗管排盐与耐盐作物种植，提高盐碱地综合利用水平。".into(),
                category: pp::ProposalCategory::Economic as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .id;
    member.submit_proposal(pp::SubmitProposalRequest { id: id.clone() }).await.unwrap();
    let mut office = c.admin.proposals();
    office.file_proposal(pp::FileProposalRequest { id: id.clone() }).await.unwrap();
    let Some(class) = reply else { return };
    office
        .assign_proposal(pp::AssignProposalRequest {
            id: id.clone(),
            lead_unit_user_id: c.unit.user.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut unit = c.unit.proposals();
    unit.record_contact(pp::RecordContactRequest {
        id: id.clone(),
        contact_date: Some(today()),
        note: "电话沟通".into(),
    })
    .await
    .unwrap();
    unit.reply_to_proposal(pp::ReplyToProposalRequest {
        id,
        reply_class: class as i32,
        text: "已研究办理，具体情况如下。".into(),
    })
    .await
    .unwrap();
}

/// The cells of the table line whose text contains `needle` (box borders dropped).
fn row<'a>(table: &'a str, needle: &str) -> Vec<&'a str> {
    let line = table.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no row {needle}:\n{table}"));
    line.split(['│', '┆']).map(str::trim).filter(|c| !c.is_empty()).collect()
}

/// A worksheet of an .xlsx as rows of cells.
fn worksheet(bytes: &[u8], name: &str) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).expect("a valid .xlsx");
    let range = book.worksheet_range(name).unwrap_or_else(|e| panic!("sheet {name}: {e}"));
    range.rows().map(<[Data]>::to_vec).collect()
}

fn xlsx_row<'a>(rows: &'a [Vec<Data>], needle: &str) -> &'a [Data] {
    rows.iter()
        .find(|r| r.iter().any(|c| matches!(c, Data::String(s) if s.contains(needle))))
        .unwrap_or_else(|| panic!("no row {needle} in {rows:?}"))
}

#[tokio::test]
async fn stats_cli_tables_exports_summary_and_charts() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let ningjin = county(&app, "130528", &tree.ningjin.id).await;
    // 宁晋县: 3 submitted and filed; 2 assigned and replied on time (A, B).
    proposal(&ningjin, "关于加快盐碱地改良的建议", Some(pp::ReplyClass::A)).await;
    proposal(&ningjin, "关于完善农村供水管网的建议", Some(pp::ReplyClass::B)).await;
    proposal(&ningjin, "关于规范县城夜市管理的建议", None).await;
    let (year, month, month_n) = this_year_and_month();
    let previous_year = (year.parse::<i32>().unwrap() - 1).to_string();

    // Wait until analytics has counted all of it, rolled up to the province.
    let province_session = app.login("130000", "admin", PASSWORD).await.unwrap();
    let analytics = AnalyticsServiceClient::with_interceptor(
        province_session.channel.clone(),
        Bearer(Some(MetadataValue::from_str(&format!("Bearer {}", province_session.access_token)).unwrap())),
    );
    eventually("analytics to count the proposals", async || {
        let f = analytics
            .clone()
            .get_figures(pa::GetFiguresRequest {
                committee_id: tree.hebei.id.clone(),
                period: year.clone(),
                rollup: pa::Rollup::Subtree as i32,
            })
            .await
            .unwrap()
            .into_inner();
        let n = |m: &str| f.counts.get(m).copied().unwrap_or(0);
        (n("proposals_submitted"), n("proposals_filed"), n("proposals_assigned"), n("proposals_replied"))
            == (3, 3, 2, 2)
            && n("proposals_replied_on_time") == 2
    })
    .await;

    let province = CliUser::signed_in(&app, "130000", "admin").await;

    // The county's figures for the year: counts, rates with both labels, the change.
    let shown = province.run(&["stats", "show", "--committee", "130528", "--year", &year]).await.unwrap();
    assert!(shown.contains("宁晋县政协 (130528)"), "{shown}");
    assert_eq!(row(&shown, "proposals submitted 提交提案"), ["proposals submitted 提交提案", "3", "0", "+3"]);
    assert_eq!(row(&shown, "proposals filed 立案"), ["proposals filed 立案", "3", "0", "+3"]);
    assert_eq!(row(&shown, "replied on time 按期答复"), ["replied on time 按期答复", "2", "0", "+2"]);
    assert_eq!(row(&shown, "on-time reply rate 按期答复率"), ["on-time reply rate 按期答复率", "100.0%", "—", "—"]);
    assert_eq!(row(&shown, "class A share A类占比"), ["class A share A类占比", "50.0%", "—", "—"]);
    assert_eq!(row(&shown, "filing rate 立案率")[1], "100.0%");
    assert!(shown.contains(&previous_year), "{shown}");
    // Figures with nothing in either period are left out on the terminal, unless --all.
    assert!(!shown.contains("proposals declined 不予立案") && shown.contains("--all lists them"), "{shown}");
    let all = province.run(&["stats", "show", "--committee", "130528", "--year", &year, "--all"]).await.unwrap();
    assert_eq!(row(&all, "proposals declined 不予立案"), ["proposals declined 不予立案", "0", "0", "0"]);

    // The month, own records only: the same counts.
    let monthly =
        province.run(&["stats", "show", "--committee", "130528", "--month", &month, "--rollup", "own"]).await.unwrap();
    assert_eq!(row(&monthly, "proposals submitted 提交提案")[1], "3");

    // By child from the province: 邢台市 (rank 1) with its numbers, then its counties.
    let by_child = province
        .run(&["stats", "show", "--committee", "130000", "--year", &year, "--by-child", "--rank-by", "proposals_filed"])
        .await
        .unwrap();
    let xingtai = row(&by_child, "邢台市政协");
    // rank, code, name, filed now/before/Δ, submitted, filed, replied, on time, on-time rate, satisfaction, info…
    assert_eq!(&xingtai[..10], ["1", "130500", "邢台市政协", "3", "0", "+3", "3", "3", "2", "2"], "{by_child}");
    assert_eq!(xingtai[10], "100.0%", "{by_child}");
    let ningjin_row = row(&by_child, "宁晋县政协");
    assert_eq!(&ningjin_row[..7], ["1", "130528", "宁晋县政协", "3", "0", "+3", "3"], "{by_child}");
    let lincheng_row = row(&by_child, "临城县政协");
    assert_eq!(&lincheng_row[..7], ["2", "130522", "临城县政协", "0", "0", "0", "0"], "{by_child}");
    assert_eq!(lincheng_row[10], "—", "no replies, no rate: {by_child}");
    let at = |name: &str| by_child.find(name).unwrap();
    assert!(at("邢台市政协") < at("宁晋县政协") && at("邢台市政协") < at("临城县政协"), "{by_child}");
    assert!(!by_child.contains("浙江") && !by_child.contains("海宁"), "{by_child}");

    // The same as JSON.
    let json: serde_json::Value = serde_json::from_str(
        &province
            .run(&["stats", "show", "--committee", "130000", "--year", &year, "--by-child", "--json"])
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["figures"]["counts"]["proposals_submitted"], 3);
    assert_eq!(json["figures"]["rates"]["on_time_reply_rate"]["value"], 1.0);
    assert_eq!(json["previous_period"], previous_year.as_str());
    let rows = json["by_child"]["rows"].as_array().unwrap();
    assert_eq!(rows[0]["code"], "130500");
    assert_eq!(rows[0]["parent_code"], serde_json::Value::Null);
    assert_eq!(rows[0]["figures"]["counts"]["proposals_replied"], 2);
    assert!(rows.iter().any(|r| r["code"] == "130528" && r["parent_code"] == "130500"), "{json}");

    // .xlsx export: numbers as numbers, rates as fractions, one sheet per table.
    let xlsx = province.file("stats.xlsx");
    let printed = province
        .run(&["stats", "show", "--committee", "130000", "--year", &year, "--by-child", "--export", &xlsx])
        .await
        .unwrap();
    assert!(printed.contains("Wrote the table(s) to"), "{printed}");
    let bytes = std::fs::read(&xlsx).unwrap();
    assert!(bytes.starts_with(b"PK"));
    let figures = worksheet(&bytes, "figures");
    assert_eq!(figures[0][0], Data::String("figure 指标".into()));
    assert_eq!(figures[0][1], Data::String(year.clone()));
    let submitted = xlsx_row(&figures, "proposals submitted 提交提案");
    assert_eq!(&submitted[1..4], [Data::Float(3.0), Data::Float(0.0), Data::Float(3.0)]);
    assert_eq!(xlsx_row(&figures, "on-time reply rate 按期答复率")[1], Data::Float(1.0));
    let children = worksheet(&bytes, "by child");
    let city = xlsx_row(&children, "邢台市政协");
    assert_eq!(city[1], Data::String("130500".into()));
    assert_eq!(city[6], Data::Float(3.0));

    // CSV export: UTF-8 with BOM, the same rows.
    let csv = province.file("stats.csv");
    province
        .run(&["stats", "show", "--committee", "130000", "--year", &year, "--by-child", "--export", &csv])
        .await
        .unwrap();
    let bytes = std::fs::read(&csv).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.lines().any(|l| l == "proposals submitted 提交提案,3,0,+3"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("1,130500,邢台市政协,")), "{text}");

    // A bad extension is refused before anything is written.
    let pdf = province.file("stats.pdf");
    let err = province
        .run(&["stats", "show", "--committee", "130000", "--year", &year, "--export", &pdf])
        .await
        .expect_err("a .pdf export is refused");
    assert!(format!("{err:#}").contains("the export must be an .xlsx or a .csv file"), "{err:#}");
    assert!(!std::path::Path::new(&pdf).exists());

    // The one-page summary: headline figures, the ranking, proposals filed by month.
    let md = province.file("summary.md");
    province.run(&["stats", "summary", "--committee", "130000", "--year", &year, "--out", &md]).await.unwrap();
    let summary = std::fs::read_to_string(&md).unwrap();
    assert!(summary.starts_with("# 河北省政协 (130000)"), "{summary}");
    assert!(summary.contains("| proposals filed 立案 | 3 | 0 | +3 |"), "{summary}");
    assert!(summary.contains("| on-time reply rate 按期答复率 | 100.0% | — | — |"), "{summary}");
    assert!(summary.contains("Top 3 by on-time reply rate 按期答复率"), "{summary}");
    assert!(summary.contains("| 1 | 邢台市政协 (130500) | 100.0% |"), "{summary}");
    let by_month: Vec<&str> = summary
        .lines()
        .find(|l| l.starts_with("| proposals filed 立案 |") && l.split('|').count() > 10)
        .unwrap_or_else(|| panic!("no monthly row: {summary}"))
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(by_month.len(), 14, "{by_month:?}");
    assert_eq!(by_month[month_n], "3", "{by_month:?}");
    assert_eq!(by_month[13], "3", "the year's total: {by_month:?}");
    let summary_xlsx = province.file("summary.xlsx");
    province
        .run(&["stats", "summary", "--committee", "130000", "--year", &year, "--out", &summary_xlsx])
        .await
        .unwrap();
    let top = worksheet(&std::fs::read(&summary_xlsx).unwrap(), "top 3");
    assert_eq!(xlsx_row(&top, "邢台市政协")[2], Data::Float(1.0));

    // Charts: the monthly line and the ranking's bars, as SVG.
    let line_svg = province.file("filed.svg");
    let said = province
        .run(&[
            "stats",
            "chart",
            "--committee",
            "130500",
            "--year",
            &year,
            "--figure",
            "proposals_filed",
            "--out",
            &line_svg,
        ])
        .await
        .unwrap();
    assert!(said.contains("Wrote the chart"), "{said}");
    let svg = std::fs::read_to_string(&line_svg).unwrap();
    assert!(svg.contains("<svg") && (svg.contains("<polyline") || svg.contains("<path")), "{svg}");
    assert!(svg.contains("邢台市政协"), "the title names the committee");
    let bars_svg = province.file("ranking.svg");
    province
        .run(&[
            "stats",
            "chart",
            "--committee",
            "130500",
            "--year",
            &year,
            "--figure",
            "proposals_submitted",
            "--by-child",
            "--out",
            &bars_svg,
        ])
        .await
        .unwrap();
    let svg = std::fs::read_to_string(&bars_svg).unwrap();
    assert!(svg.contains("<svg") && svg.contains("<rect") && svg.contains("宁晋县政协"), "{svg}");
    let err = province
        .run(&["stats", "chart", "--committee", "130500", "--year", &year, "--out", &province.file("c.png")])
        .await
        .expect_err("a .png chart is refused");
    assert!(format!("{err:#}").contains("the chart must be an .svg file"), "{err:#}");

    // A county's office asking for the province: the server's NotFound, as a sentence.
    let county_office = CliUser::signed_in(&app, "130528", "admin").await;
    let own = county_office.run(&["stats", "show", "--year", &year]).await.unwrap();
    assert_eq!(row(&own, "proposals submitted 提交提案")[1], "3", "{own}");
    let err = county_office
        .run(&["stats", "show", "--committee", "130000", "--year", &year])
        .await
        .expect_err("a county cannot read its province");
    let sentence = format!("{err:#}");
    assert!(sentence.starts_with("not found"), "{sentence}");
    assert!(sentence.contains("河北省政协 (130000)") && sentence.contains("not visible to you"), "{sentence}");
    let code = err.root_cause().to_string();
    assert!(!code.contains("status:"), "no raw gRPC status: {code}");
    app.stop().await;
}

#[tokio::test]
async fn stats_cli_refuses_unknown_figures_and_formats_before_calling() {
    // No server is needed: every one of these is refused before connecting.
    let session = ["--server", "http://127.0.0.1:9", "--session-file", "/nonexistent/session.json"];
    let run = async |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(session);
        xieshang(&all).await.expect_err("refused").to_string()
    };
    let err = run(&["stats", "show", "--year", "2025", "--export", "out.ods"]).await;
    assert!(err.contains("out.ods: the export must be an .xlsx or a .csv file"), "{err}");
    let err = run(&["stats", "summary", "--year", "2025", "--out", "summary.docx"]).await;
    assert!(err.contains("the summary must be a .md or an .xlsx file"), "{err}");
    let err = run(&["stats", "chart", "--year", "2025", "--out", "chart.pdf"]).await;
    assert!(err.contains("the chart must be an .svg file"), "{err}");
    let err = run(&["stats", "show", "--year", "2025", "--rank-by", "happiness"]).await;
    assert!(err.contains("unknown figure `happiness`"), "{err}");
    let err = run(&["stats", "show", "--month", "07"]).await;
    assert!(err.contains("give the month as YYYY-MM"), "{err}");
    let err = run(&["stats", "show", "--year", "2025", "--quarter", "2", "--month", "2025-07"]).await;
    assert!(err.contains("cannot be used with"), "{err}");
    let err = run(&["stats", "show", "--year", "2025", "--term", "10"]).await;
    assert!(err.contains("cannot be used with"), "{err}");
    let err = run(&["stats", "show", "--term", "十"]).await;
    assert!(err.contains("is not a term number"), "{err}");
    let err = run(&["stats", "members", "--metric", "happiness", "--year", "2025"]).await;
    assert!(err.contains("unknown member figure `happiness`"), "{err}");
}

#[tokio::test]
async fn stats_cli_shows_a_term_and_ranks_the_members() {
    let app = spawn_app().await;
    let n = crate::membership::ningjin(&app).await;
    open_tenth_term(&mut n.admin.committees(), &n.tree.ningjin.id).await;
    let mut roster = n.staff.membership();
    let mut members = Vec::new();
    for (name, id17, phone) in
        [("张建国", "13052819720305123", "13831912345"), ("李秀英", "13052819800612234", "13931955678")]
    {
        members.push(crate::membership::create(&mut roster, n.member(name, id17, phone)).await.unwrap());
    }
    // 李秀英 9 points, 张建国 4.
    for (who, points, what) in [(1, 6, "政协全会大会发言"), (1, 3, "参加专题视察"), (0, 4, "走访联系界别群众")]
    {
        roster
            .create_record_entry(xieshang_proto::membership::v1::CreateRecordEntryRequest {
                entry: Some(xieshang_proto::membership::v1::RecordEntry {
                    member_id: members[who].id.clone(),
                    kind: xieshang_proto::membership::v1::RecordKind::Speeches as i32,
                    date: Some(today()),
                    points,
                    description: what.into(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap();
    }
    let (year, _, _) = this_year_and_month();
    let office = CliUser::signed_in(&app, "130528", "admin").await;
    let ranked = async || office.run(&["stats", "members", "--metric", "performance_points", "--year", &year]).await;
    eventually("the entries are counted", async || {
        ranked().await.is_ok_and(|t| t.contains("李秀英") && t.contains("9"))
    })
    .await;
    let table = ranked().await.unwrap();
    assert_eq!(row(&table, "李秀英"), ["1", "李秀英", "9"], "{table}");
    assert_eq!(row(&table, "张建国"), ["2", "张建国", "4"], "{table}");
    assert!(table.find("李秀英").unwrap() < table.find("张建国").unwrap(), "{table}");
    assert!(table.contains("performance points 履职积分"), "{table}");
    let json: serde_json::Value = serde_json::from_str(
        &office.run(&["stats", "members", "--term", "10", "--metric", "speech_entries", "--json"]).await.unwrap(),
    )
    .unwrap();
    assert_eq!(json["period"], "T10");
    let listed: Vec<(String, i64)> = json["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap().to_owned(), m["value"].as_i64().unwrap()))
        .collect();
    assert_eq!(listed, [("李秀英".to_owned(), 2), ("张建国".to_owned(), 1)]);
    assert_eq!(json["members"][0]["member_id"], members[1].id);

    // The term's figures, compared with the one before.
    let shown = office.run(&["stats", "show", "--term", "10", "--rollup", "own"]).await.unwrap();
    assert!(shown.contains("T10") && shown.contains("T9"), "{shown}");
    assert_eq!(row(&shown, "performance points 履职积分")[1], "13", "{shown}");
    let err = office.run(&["stats", "show", "--term", "11"]).await.expect_err("no 11th term");
    assert!(format!("{err:#}").contains("has not opened that term"), "{err:#}");

    // The city's office reads 宁晋县's figures but ranks no member of it.
    let city = CliUser::signed_in(&app, "130500", "admin").await;
    let own = city.run(&["stats", "members", "--year", &year]).await.unwrap();
    assert!(!own.contains("李秀英") && !own.contains("张建国"), "{own}");
    app.stop().await;
}
