//! `xieshang stats …`: a committee's figures from the analytics service —
//! rolled up the tree, broken down by child committee with a ranking and the
//! change against the previous period, exported as .xlsx or CSV, summed up on
//! one page, and drawn as SVG charts; and the members of one's own committee
//! ranked by a member figure (`stats members`).
//!
//! Committees are named by division code and resolved with the tenants API.
//! Tables go to `out`; progress (many calls for a province's breakdown) goes
//! to stderr, and only when stderr is a terminal.

mod chart;
mod sheet;

use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value, json};
use tonic::Code;
use xieshang_analytics::domain::{MAX_TERM, MEMBER_METRICS, METRICS, Period, RATES};
use xieshang_proto::analytics::v1::analytics_service_client::AnalyticsServiceClient;
use xieshang_proto::analytics::v1::{
    Breakdown, BreakdownRow, Figures, GetBreakdownRequest, GetFiguresRequest, GetTimeSeriesRequest, MemberPlace,
    RankMembersRequest, Rollup, TimeSeries,
};
use xieshang_proto::common::v1::CommitteeLevel;
use xieshang_proto::tenants::v1::Committee;

use self::sheet::{Cell, Sheet};
use super::api::{Api, ApiError};
use super::auth::signed_in;
use super::render::{json_out, label, line};
use super::{ClientArgs, Out};

/// `xieshang stats`.
#[derive(Debug, Clone, clap::Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub common: ClientArgs,

    #[command(subcommand)]
    pub command: StatsCommand,
}

/// The `stats` subcommands.
///
/// Figures are named as the analytics service names them: counts such as
/// proposals_filed or information_adopted, rates such as on_time_reply_rate
/// or satisfaction_rate.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum StatsCommand {
    /// A committee's figures for a year, quarter, month or term (届), with the
    /// change against the previous one; --by-child adds the ranking of the committees below
    Show(ShowArgs),
    /// A one-page summary of a committee's year, as Markdown (.md) or .xlsx
    Summary(SummaryArgs),
    /// An SVG chart: a figure's monthly series, or with --by-child the ranking of the committees below
    Chart(ChartArgs),
    /// The members of your own committee ranked by a member figure (office staff)
    Members(MembersArgs),
}

/// `xieshang stats show`.
#[derive(Debug, Clone, clap::Args)]
pub struct ShowArgs {
    /// Division code, e.g. 130000 [default: your own committee]
    #[arg(long, value_name = "CODE")]
    pub committee: Option<String>,
    /// The year, e.g. 2025 (may be left out with --month YYYY-MM)
    #[arg(long)]
    pub year: Option<i32>,
    /// A quarter of the year: 1-4
    #[arg(long, value_parser = parse_quarter, conflicts_with = "month")]
    pub quarter: Option<u32>,
    /// A month: YYYY-MM, or MM with --year
    #[arg(long, value_name = "YYYY-MM")]
    pub month: Option<String>,
    /// A term (届) of the committee by number, e.g. 10 for 第十届 (instead of --year)
    #[arg(long, value_name = "N", value_parser = parse_term, conflicts_with_all = ["year", "quarter", "month"])]
    pub term: Option<u32>,
    /// own: the committee's own records; subtree: with every committee below it
    #[arg(long, value_parser = parse_rollup, default_value = "subtree")]
    pub rollup: Rollup,
    /// Add the table of the committees below (cities, then each city's counties;
    /// for a term only the committees directly below, over this committee's term)
    #[arg(long)]
    pub by_child: bool,
    /// List every figure, also those with nothing in either period (exports always hold every figure)
    #[arg(long)]
    pub all: bool,
    /// The figure to rank the committees below by, highest first
    #[arg(long, value_name = "FIGURE", default_value = "on_time_reply_rate", value_parser = parse_figure)]
    pub rank_by: String,
    /// Also write the table(s) to an .xlsx or .csv file
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
}

/// `xieshang stats members`.
#[derive(Debug, Clone, clap::Args)]
pub struct MembersArgs {
    /// The member figure to rank by, highest first
    #[arg(long, value_name = "FIGURE", default_value = "performance_points", value_parser = parse_member_figure)]
    pub metric: String,
    /// The year, e.g. 2025 (may be left out with --month YYYY-MM)
    #[arg(long)]
    pub year: Option<i32>,
    /// A quarter of the year: 1-4
    #[arg(long, value_parser = parse_quarter, conflicts_with = "month")]
    pub quarter: Option<u32>,
    /// A month: YYYY-MM, or MM with --year
    #[arg(long, value_name = "YYYY-MM")]
    pub month: Option<String>,
    /// A term (届) of your committee by number, e.g. 10 (instead of --year)
    #[arg(long, value_name = "N", value_parser = parse_term, conflicts_with_all = ["year", "quarter", "month"])]
    pub term: Option<u32>,
    /// List only the first N places
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
}

/// `xieshang stats summary`.
#[derive(Debug, Clone, clap::Args)]
pub struct SummaryArgs {
    /// Division code, e.g. 130000 [default: your own committee]
    #[arg(long, value_name = "CODE")]
    pub committee: Option<String>,
    #[arg(long)]
    pub year: i32,
    /// Where to write the summary: a .md or an .xlsx file
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `xieshang stats chart`.
#[derive(Debug, Clone, clap::Args)]
pub struct ChartArgs {
    /// Division code, e.g. 130000 [default: your own committee]
    #[arg(long, value_name = "CODE")]
    pub committee: Option<String>,
    #[arg(long)]
    pub year: i32,
    /// The figure to draw, e.g. proposals_filed or on_time_reply_rate
    #[arg(long, value_name = "FIGURE", default_value = "proposals_filed", value_parser = parse_figure)]
    pub figure: String,
    /// own or subtree, for the monthly series
    #[arg(long, value_parser = parse_rollup, default_value = "subtree")]
    pub rollup: Rollup,
    /// Draw the ranking of the committees directly below as bars instead of the monthly line
    #[arg(long)]
    pub by_child: bool,
    /// Where to write the chart: an .svg file
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

pub async fn run(args: StatsArgs, out: Out<'_>) -> Result<()> {
    let json = args.common.json;
    match args.command {
        StatsCommand::Show(show_args) => {
            let export = show_args.export.as_deref().map(export_kind).transpose()?;
            let period = period(&show_args)?;
            let mut api = signed_in(&args.common).await?;
            show(&mut api, show_args, period, export, json, out).await
        }
        StatsCommand::Summary(summary_args) => {
            let kind = summary_kind(&summary_args.out)?;
            let mut api = signed_in(&args.common).await?;
            summary(&mut api, summary_args, kind, json, out).await
        }
        StatsCommand::Chart(chart_args) => {
            chart_kind(&chart_args.out)?;
            let mut api = signed_in(&args.common).await?;
            chart(&mut api, chart_args, json, out).await
        }
        StatsCommand::Members(members_args) => {
            let period =
                period_of(members_args.year, members_args.quarter, members_args.month.as_deref(), members_args.term)?;
            let mut api = signed_in(&args.common).await?;
            members(&mut api, members_args, period, json, out).await
        }
    }
}

// ---------------------------------------------------------------------------
// Names, labels, arguments

/// English and Chinese names of every figure.
const LABELS: &[(&str, &str, &str)] = &[
    ("proposals_submitted", "proposals submitted", "提交提案"),
    ("proposals_filed", "proposals filed", "立案"),
    ("proposals_declined", "proposals declined", "不予立案"),
    ("proposals_assigned", "proposals assigned", "交办"),
    ("proposals_replied", "proposals replied", "已答复"),
    ("proposals_replied_on_time", "replied on time", "按期答复"),
    ("reply_class_a", "class A replies", "A类答复"),
    ("reply_class_b", "class B replies", "B类答复"),
    ("reply_class_c", "class C replies", "C类答复"),
    ("proposals_rated", "replies rated", "已评价"),
    ("rated_satisfied", "rated satisfied", "满意"),
    ("rated_basically_satisfied", "rated basically satisfied", "基本满意"),
    ("rated_dissatisfied", "rated dissatisfied", "不满意"),
    ("proposals_overdue", "proposals overdue", "逾期"),
    ("information_submitted", "information submitted", "报送信息"),
    ("information_adopted", "information adopted", "采用信息"),
    ("information_adopted_upward", "adopted upward", "被上级采用"),
    ("information_instructed", "information instructed", "获批示"),
    ("attendance_present", "attendance present", "出席"),
    ("attendance_on_leave", "attendance on leave", "请假"),
    ("attendance_absent", "attendance absent", "缺席"),
    ("consultations_held", "consultations held", "协商活动"),
    ("consultations_held_plenary", "plenary consultations", "全体会议协商"),
    ("consultations_held_standing_committee_topic", "topic standing-committee meetings", "专题议政性常委会议"),
    ("consultations_held_please_consult", "\"please consult\" sessions", "请你来协商"),
    ("consultations_held_counterpart", "counterpart consultations", "对口协商"),
    ("consultations_held_sector_round_table", "sector round tables", "界别协商"),
    ("consultations_held_proposal_handling", "proposal-handling consultations", "提案办理协商"),
    ("consultations_held_grassroots", "grassroots consultations", "基层协商"),
    ("consultations_held_other", "other consultations", "其他协商"),
    ("suggestions_fed_back", "suggestions with feedback", "意见建议已反馈"),
    ("suggestions_adopted", "suggestions adopted", "意见建议采纳"),
    ("suggestions_partly_adopted", "suggestions partly adopted", "部分采纳"),
    ("suggestions_not_adopted", "suggestions not adopted", "未采纳"),
    ("suggestions_carried_to_proposals", "suggestions turned into proposals", "转为提案"),
    ("suggestions_carried_to_information", "suggestions turned into information", "转为社情民意信息"),
    ("supervision_problems_reported", "supervision problems reported", "民主监督发现问题"),
    ("supervision_problems_rectified", "problems rectified", "问题已整改"),
    ("supervision_problems_not_rectified", "problems not rectified", "问题未整改"),
    ("studio_requests_drafted", "studio requests drafted", "委员工作室诉求转化"),
    ("studio_requests_to_proposals", "studio requests to proposals", "工作室诉求转提案"),
    ("studio_requests_to_information", "studio requests to information", "工作室诉求转信息"),
    ("members_enrolled", "members enrolled", "新增委员"),
    ("members_departed", "members departed", "辞去或撤销委员"),
    ("reporting_due", "members due to report", "应述职委员"),
    ("reported_on_site", "reported on site", "现场述职"),
    ("reported_by_video", "reported by video", "视频述职"),
    ("not_reported", "not reported", "未述职"),
    ("reports_excellent", "scored 90 or more", "90分以上"),
    ("performance_entries", "performance entries", "履职记录"),
    ("performance_points", "performance points", "履职积分"),
    ("filing_rate", "filing rate", "立案率"),
    ("on_time_reply_rate", "on-time reply rate", "按期答复率"),
    ("reply_class_a_share", "class A share", "A类占比"),
    ("reply_class_b_share", "class B share", "B类占比"),
    ("reply_class_c_share", "class C share", "C类占比"),
    ("satisfaction_rate", "satisfaction rate", "满意率"),
    ("attendance_rate", "attendance rate", "出席率"),
    ("information_adoption_rate", "information adoption rate", "信息采用率"),
    ("suggestion_adoption_rate", "suggestion adoption rate", "意见建议采纳率"),
    ("rectification_rate", "rectification rate", "整改率"),
    ("reporting_on_site_rate", "on-site reporting rate", "现场述职率"),
    ("reporting_rate", "reporting rate", "述职率"),
    ("excellence_rate", "excellence rate", "优秀率"),
];

/// English and Chinese names of the member figures not named in `LABELS`.
const MEMBER_LABELS: &[(&str, &str, &str)] = &[
    ("proposal_entries", "proposal entries", "提案记录"),
    ("information_entries", "information entries", "社情民意信息记录"),
    ("meeting_entries", "meeting entries", "参加会议记录"),
    ("speech_entries", "speech entries", "发言记录"),
    ("inspection_entries", "inspection and research entries", "视察调研记录"),
    ("consultation_entries", "consultation entries", "协商活动记录"),
    ("service_entries", "service entries", "联系服务群众记录"),
];

/// The figures shown for each committee in the by-child table.
const CHILD_COLUMNS: &[&str] = &[
    "proposals_submitted",
    "proposals_filed",
    "proposals_replied",
    "proposals_replied_on_time",
    "on_time_reply_rate",
    "satisfaction_rate",
    "information_submitted",
    "information_adopted",
];

/// The headline figures of a summary.
const HEADLINE: &[&str] = &[
    "proposals_submitted",
    "proposals_filed",
    "filing_rate",
    "proposals_replied",
    "on_time_reply_rate",
    "satisfaction_rate",
    "proposals_overdue",
    "information_submitted",
    "information_adopted",
    "information_adoption_rate",
    "attendance_rate",
];

/// "on-time reply rate 按期答复率".
fn figure_label(name: &str) -> String {
    match LABELS.iter().chain(MEMBER_LABELS).find(|(n, _, _)| *n == name) {
        Some((_, en, zh)) => format!("{en} {zh}"),
        None => name.replace('_', " "),
    }
}

fn is_rate(name: &str) -> bool {
    RATES.iter().any(|(r, _, _)| *r == name)
}

/// A count or a rate the analytics service knows.
fn parse_figure(text: &str) -> Result<String, String> {
    let name = text.trim().to_ascii_lowercase().replace('-', "_");
    if METRICS.contains(&name.as_str()) || is_rate(&name) {
        return Ok(name);
    }
    let rates: Vec<&str> = RATES.iter().map(|(r, _, _)| *r).collect();
    Err(format!("unknown figure `{text}`; use a count ({}) or a rate ({})", METRICS.join(", "), rates.join(", ")))
}

/// A member figure the analytics service ranks members by.
fn parse_member_figure(text: &str) -> Result<String, String> {
    let name = text.trim().to_ascii_lowercase().replace('-', "_");
    if MEMBER_METRICS.contains(&name.as_str()) {
        return Ok(name);
    }
    Err(format!("unknown member figure `{text}`; use one of {}", MEMBER_METRICS.join(", ")))
}

/// A term number: "10", or "第10届".
fn parse_term(text: &str) -> Result<u32, String> {
    let digits = text.trim().trim_start_matches('第').trim_end_matches('届').trim_start_matches(['T', 't']);
    match digits.parse::<u32>() {
        Ok(n @ 1..=MAX_TERM) => Ok(n),
        _ => Err(format!("`{text}` is not a term number; use 1-{MAX_TERM}, e.g. --term 10 for 第十届")),
    }
}

fn parse_quarter(text: &str) -> Result<u32, String> {
    match text.trim().trim_start_matches(['Q', 'q']).parse::<u32>() {
        Ok(q @ 1..=4) => Ok(q),
        _ => Err(format!("`{text}` is not a quarter; use 1, 2, 3 or 4")),
    }
}

fn parse_rollup(text: &str) -> Result<Rollup, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "own" | "本级" => Ok(Rollup::Own),
        "subtree" | "本级及下级" => Ok(Rollup::Subtree),
        _ => Err(format!("unknown rollup `{text}`; use own or subtree")),
    }
}

fn rollup_text(rollup: Rollup) -> &'static str {
    match rollup {
        Rollup::Own => "own records 本级",
        _ => "with every committee below 本级及下级",
    }
}

/// The period of `stats show`: "2025", "2025-Q3", "2025-07" or "T10".
fn period(args: &ShowArgs) -> Result<Period> {
    period_of(args.year, args.quarter, args.month.as_deref(), args.term)
}

/// A period from --year, --quarter, --month or --term.
fn period_of(year: Option<i32>, quarter: Option<u32>, month: Option<&str>, term: Option<u32>) -> Result<Period> {
    if let Some(n) = term {
        if year.is_some() || quarter.is_some() || month.is_some() {
            bail!("--term names a whole term; leave out --year, --quarter and --month");
        }
        return Ok(Period::Term(n));
    }
    let text = match (month, quarter, year) {
        (Some(month), _, year) => {
            let month = month.trim();
            match (month.split_once('-'), year) {
                (Some((y, _)), Some(year)) if y != year.to_string() => {
                    bail!("--month {month} is not in --year {year}")
                }
                (Some(_), _) => month.to_owned(),
                (None, Some(year)) => format!("{year:04}-{:0>2}", month),
                (None, None) => bail!("give the month as YYYY-MM, or add --year"),
            }
        }
        (None, Some(q), Some(year)) => format!("{year:04}-Q{q}"),
        (None, None, Some(year)) => format!("{year:04}"),
        (None, _, None) => bail!("name the period with --year (and --quarter or --month), or --term"),
    };
    Period::parse("period", &text).map_err(|_| anyhow!("`{text}` is not a year, a quarter or a month"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExportKind {
    Xlsx,
    Csv,
}

fn extension(path: &Path) -> Option<String> {
    path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase)
}

fn export_kind(path: &Path) -> Result<ExportKind> {
    match extension(path).as_deref() {
        Some("xlsx") => Ok(ExportKind::Xlsx),
        Some("csv") => Ok(ExportKind::Csv),
        _ => bail!("{}: the export must be an .xlsx or a .csv file", path.display()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SummaryKind {
    Markdown,
    Xlsx,
}

fn summary_kind(path: &Path) -> Result<SummaryKind> {
    match extension(path).as_deref() {
        Some("md" | "markdown") => Ok(SummaryKind::Markdown),
        Some("xlsx") => Ok(SummaryKind::Xlsx),
        _ => bail!("{}: the summary must be a .md or an .xlsx file", path.display()),
    }
}

fn chart_kind(path: &Path) -> Result<()> {
    match extension(path).as_deref() {
        Some("svg") => Ok(()),
        _ => bail!("{}: the chart must be an .svg file (charts are drawn as SVG only)", path.display()),
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

// ---------------------------------------------------------------------------
// Calls

/// The committee named by `--committee CODE`, or the signed-in user's own.
async fn target(api: &mut Api, code: Option<String>) -> Result<Committee> {
    let code = code.or_else(|| api.session().map(|s| s.committee_code.clone())).unwrap_or_default();
    if code.trim().is_empty() {
        bail!("name the committee with --committee CODE");
    }
    Ok(super::committees::get_by_code(api, &code).await?)
}

/// A refused read of figures, as a sentence naming the committee.
fn refused(err: ApiError, c: &Committee) -> anyhow::Error {
    match err.code {
        Code::NotFound if err.to_string().contains("term") => {
            anyhow!("{err} — {} has not opened that term (届)", label(c))
        }
        Code::NotFound => anyhow!(
            "{err} — the figures of {} are not visible to you: a committee's office reads its own committee and those below it",
            label(c)
        ),
        Code::PermissionDenied => {
            anyhow!("{err} — only a committee's office (staff or admin) and platform operators read statistics")
        }
        _ => err.into(),
    }
}

async fn get_figures(api: &mut Api, c: &Committee, period: &str, rollup: Rollup) -> Result<Figures> {
    let request = GetFiguresRequest { committee_id: c.id.clone(), period: period.to_owned(), rollup: rollup as i32 };
    rpc!(api, AnalyticsServiceClient, get_figures, request).await.map_err(|e| refused(e, c))
}

async fn get_breakdown(api: &mut Api, c: &Committee, period: &str, metric: &str) -> Result<Breakdown> {
    let request =
        GetBreakdownRequest { committee_id: c.id.clone(), period: period.to_owned(), metric: metric.to_owned() };
    rpc!(api, AnalyticsServiceClient, get_breakdown, request).await.map_err(|e| refused(e, c))
}

async fn get_series(api: &mut Api, c: &Committee, metric: &str, year: i32, rollup: Rollup) -> Result<TimeSeries> {
    let request = GetTimeSeriesRequest {
        committee_id: c.id.clone(),
        metric: metric.to_owned(),
        year,
        rollup: rollup as i32,
        period: String::new(),
    };
    rpc!(api, AnalyticsServiceClient, get_time_series, request).await.map_err(|e| refused(e, c))
}

/// "Fetching … (3/12)" on stderr, only when stderr is a terminal and tables (not JSON) are asked for.
struct Progress {
    on: bool,
}

impl Progress {
    fn new(json: bool) -> Self {
        Self { on: !json && std::io::stderr().is_terminal() }
    }

    fn step(&self, done: usize, total: usize, what: &str) {
        if self.on {
            let _ = write!(std::io::stderr(), "\r\x1b[K  fetching {what} ({done}/{total})");
        }
    }

    fn finish(&self) {
        if self.on {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}

/// One row of the by-child table: a direct child, or (below a province) one of a city's counties.
struct ChildRow {
    /// The city's code for a county; empty for a direct child.
    parent_code: String,
    row: BreakdownRow,
    /// The child's figures in the previous period (zeros when it had none).
    previous: Figures,
}

/// The breakdown of `c` in `period`, and (a second call) its children's figures in the previous period.
async fn breakdown_pair(
    api: &mut Api,
    c: &Committee,
    period: &str,
    metric: &str,
) -> Result<(Breakdown, Vec<ChildRow>)> {
    let now = get_breakdown(api, c, period, metric).await?;
    let before = if now.previous_period.starts_with('T') {
        // The term before the committee's first on the platform: nothing to compare with.
        match get_breakdown(api, c, &now.previous_period, metric).await {
            Ok(before) => before,
            Err(_) => Breakdown { period: now.previous_period.clone(), ..Default::default() },
        }
    } else {
        get_breakdown(api, c, &now.previous_period, metric).await?
    };
    let rows = now
        .rows
        .iter()
        .map(|row| {
            let previous = before
                .rows
                .iter()
                .find(|r| r.committee_id == row.committee_id)
                .and_then(|r| r.figures.clone())
                .unwrap_or_else(|| Figures { period: now.previous_period.clone(), ..Default::default() });
            ChildRow { parent_code: String::new(), row: row.clone(), previous }
        })
        .collect();
    Ok((now, rows))
}

/// The breakdown of the committees below `c`: its direct children ranked by
/// `metric`, and below a province each city's counties ranked among themselves.
async fn by_child(
    api: &mut Api,
    c: &Committee,
    period: &str,
    metric: &str,
    progress: &Progress,
) -> Result<(Breakdown, Vec<ChildRow>)> {
    progress.step(0, 1, &label(c));
    let (top, children) = breakdown_pair(api, c, period, metric).await?;
    // A term is the province's own: its cities' terms are numbered otherwise,
    // so the counties are not ranked within a city's term of that number.
    let nested = c.level == CommitteeLevel::Provincial as i32 && !period.starts_with('T');
    let total = children.len();
    let mut rows = Vec::new();
    for (i, child) in children.into_iter().enumerate() {
        let code = child.row.code.clone();
        let city = Committee {
            id: child.row.committee_id.clone(),
            code: code.clone(),
            name: child.row.name.clone(),
            ..Default::default()
        };
        rows.push(child);
        if !nested {
            continue;
        }
        progress.step(i + 1, total, &label(&city));
        let (_, below) = breakdown_pair(api, &city, period, metric).await?;
        rows.extend(below.into_iter().map(|r| ChildRow { parent_code: code.clone(), ..r }));
    }
    progress.finish();
    Ok((top, rows))
}

// ---------------------------------------------------------------------------
// Values

fn count(f: &Figures, metric: &str) -> i64 {
    f.counts.get(metric).copied().unwrap_or(0)
}

/// A rate's value, `None` when it has no data.
fn rate(f: &Figures, name: &str) -> Option<f64> {
    f.rates.iter().find(|r| r.name == name).filter(|r| !r.undefined).map(|r| r.value)
}

/// The cell of a figure in `f`.
fn value_cell(f: &Figures, name: &str) -> Cell {
    if is_rate(name) { Cell::Rate(rate(f, name)) } else { Cell::Count(count(f, name) as f64) }
}

/// The change of a figure from `before` to `now`.
fn change_cell(now: &Figures, before: &Figures, name: &str) -> Cell {
    if is_rate(name) {
        Cell::RateChange(rate(now, name).zip(rate(before, name)).map(|(a, b)| a - b))
    } else {
        Cell::CountChange((count(now, name) - count(before, name)) as f64)
    }
}

/// Figure | period | previous period | Δ, for the given figures.
fn figures_sheet(
    c: &Committee,
    names: &[&str],
    now: &Figures,
    before: &Figures,
    rollup: Rollup,
    sheet_name: &str,
) -> Sheet {
    Sheet {
        name: sheet_name.to_owned(),
        title: format!("{} — {} ({}), compared with {}", label(c), now.period, rollup_text(rollup), before.period),
        header: vec!["figure 指标".into(), now.period.clone(), before.period.clone(), "Δ".into()],
        rows: names
            .iter()
            .map(|name| {
                vec![
                    Cell::text(figure_label(name)),
                    value_cell(now, name),
                    value_cell(before, name),
                    change_cell(now, before, name),
                ]
            })
            .collect(),
    }
}

/// Every count, then every rate.
fn all_figures() -> Vec<&'static str> {
    METRICS.iter().copied().chain(RATES.iter().map(|(r, _, _)| *r)).collect()
}

/// The ranking figure now, in the previous period, and the change.
fn ranking_cells(metric: &str, child: &ChildRow) -> [Cell; 3] {
    let r = &child.row;
    let now = r.figures.clone().unwrap_or_default();
    let value = if is_rate(metric) { Cell::Rate((!r.undefined).then_some(r.value)) } else { Cell::Count(r.value) };
    [value, value_cell(&child.previous, metric), change_cell(&now, &child.previous, metric)]
}

/// The by-child table: rank, code, committee, the ranking figure now, before and Δ, then the usual figures.
fn children_sheet(c: &Committee, breakdown: &Breakdown, rows: &[ChildRow]) -> Sheet {
    let metric = breakdown.metric.as_str();
    let mut header = vec![
        "rank 排名".to_owned(),
        "code 代码".to_owned(),
        "committee 政协".to_owned(),
        format!("{} {}", figure_label(metric), breakdown.period),
        breakdown.previous_period.clone(),
        "Δ".to_owned(),
    ];
    header.extend(CHILD_COLUMNS.iter().map(|m| figure_label(m)));
    let rows = rows
        .iter()
        .map(|child| {
            let r = &child.row;
            let figures = r.figures.clone().unwrap_or_default();
            let name = if child.parent_code.is_empty() { r.name.clone() } else { format!("  {}", r.name) };
            let mut cells = vec![Cell::Count(f64::from(r.rank)), Cell::text(&r.code), Cell::Text(name)];
            cells.extend(ranking_cells(metric, child));
            cells.extend(CHILD_COLUMNS.iter().map(|m| value_cell(&figures, m)));
            cells
        })
        .collect();
    Sheet {
        name: "by child".into(),
        title: format!(
            "Committees below {} — ranked by {}, {} compared with {}",
            label(c),
            figure_label(metric),
            breakdown.period,
            breakdown.previous_period
        ),
        header,
        rows,
    }
}

// ---------------------------------------------------------------------------
// JSON

fn figures_json(f: &Figures) -> Value {
    let counts: Map<String, Value> = METRICS.iter().map(|m| ((*m).to_owned(), json!(count(f, m)))).collect();
    let rates: Map<String, Value> = f
        .rates
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                json!({
                    "value": if r.undefined { Value::Null } else { json!(r.value) },
                    "numerator": r.numerator,
                    "denominator": r.denominator,
                    "undefined": r.undefined,
                }),
            )
        })
        .collect();
    json!({ "period": f.period, "counts": counts, "rates": rates })
}

fn committee_ref(c: &Committee) -> Value {
    json!({ "id": c.id, "code": c.code, "name": c.name })
}

fn children_json(breakdown: &Breakdown, rows: &[ChildRow]) -> Value {
    json!({
        "metric": breakdown.metric,
        "period": breakdown.period,
        "previous_period": breakdown.previous_period,
        "rows": rows.iter().map(|child| {
            let r = &child.row;
            json!({
                "rank": r.rank,
                "committee_id": r.committee_id,
                "code": r.code,
                "name": r.name,
                "parent_code": if child.parent_code.is_empty() { Value::Null } else { json!(child.parent_code) },
                "value": if r.undefined { Value::Null } else { json!(r.value) },
                "previous_value": r.previous_value,
                "change": if r.undefined { Value::Null } else { json!(r.change) },
                "undefined": r.undefined,
                "figures": r.figures.as_ref().map(figures_json),
                "previous_figures": figures_json(&child.previous),
            })
        }).collect::<Vec<_>>(),
    })
}

// ---------------------------------------------------------------------------
// Commands

async fn show(
    api: &mut Api,
    args: ShowArgs,
    period: Period,
    export: Option<ExportKind>,
    json: bool,
    out: Out<'_>,
) -> Result<()> {
    let c = target(api, args.committee).await?;
    let now = get_figures(api, &c, &period.to_string(), args.rollup).await?;
    let previous = period.previous().to_string();
    let before = match (period, get_figures(api, &c, &previous, args.rollup).await) {
        (_, Ok(before)) => before,
        // The term before the committee's first on the platform: nothing to compare with.
        (Period::Term(_), Err(_)) => Figures { period: previous, ..Default::default() },
        (_, Err(err)) => return Err(err),
    };
    let every = all_figures();
    let mut sheets = vec![figures_sheet(&c, &every, &now, &before, args.rollup, "figures")];
    // On the terminal, figures with nothing in either period are left out unless --all.
    let active = |f: &Figures, name: &str| if is_rate(name) { rate(f, name).is_some() } else { count(f, name) != 0 };
    let listed: Vec<&str> = every
        .iter()
        .copied()
        .filter(|n| args.all || HEADLINE.contains(n) || active(&now, n) || active(&before, n))
        .collect();
    let left_out = every.len() - listed.len();
    let mut screen = vec![figures_sheet(&c, &listed, &now, &before, args.rollup, "figures")];
    let mut children = None;
    if args.by_child {
        let progress = Progress::new(json);
        let (breakdown, rows) = by_child(api, &c, &period.to_string(), &args.rank_by, &progress).await?;
        let table = children_sheet(&c, &breakdown, &rows);
        screen.push(table.clone());
        sheets.push(table);
        children = Some(children_json(&breakdown, &rows));
    }
    if let (Some(path), Some(kind)) = (&args.export, export) {
        let bytes = match kind {
            ExportKind::Xlsx => sheet::xlsx(&sheets)?,
            ExportKind::Csv => sheet::csv(&sheets)?,
        };
        write_file(path, &bytes)?;
    }
    if json {
        let mut value = json!({
            "committee": committee_ref(&c),
            "period": now.period,
            "previous_period": before.period,
            "rollup": args.rollup.as_str_name(),
            "figures": figures_json(&now),
            "previous_figures": figures_json(&before),
        });
        if let Some(children) = children {
            value["by_child"] = children;
        }
        if let Some(path) = &args.export {
            value["export"] = json!(path.display().to_string());
        }
        return json_out(out, &value);
    }
    write!(out, "{}", sheet::text(&screen[..1]))?;
    if left_out > 0 {
        line(out, format!("({left_out} figures with nothing in either period are not listed; --all lists them.)"))?;
    }
    if screen.len() > 1 {
        write!(out, "\n{}", sheet::text(&screen[1..]))?;
    }
    if let Some(path) = &args.export {
        line(out, format!("\nWrote the table(s) to {}.", path.display()))?;
    }
    Ok(())
}

/// Every page of the ranking of the caller's committee's members (at most `top` places).
async fn rank_members(
    api: &mut Api,
    period: &str,
    metric: &str,
    top: Option<usize>,
) -> Result<(Vec<MemberPlace>, i32)> {
    let mut places: Vec<MemberPlace> = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = RankMembersRequest {
            committee_id: String::new(),
            period: period.to_owned(),
            metric: metric.to_owned(),
            page_size: 500,
            page_token: page_token.clone(),
        };
        let page = rpc!(api, AnalyticsServiceClient, rank_members, request).await.map_err(|err| match err.code {
            Code::PermissionDenied => anyhow!(
                "{err} — member rankings are read by your committee's office (staff or admin) only; members see their group's ranking in `xieshang members` self-service"
            ),
            Code::NotFound if err.to_string().contains("term") => {
                anyhow!("{err} — your committee has not opened that term (届)")
            }
            _ => err.into(),
        })?;
        places.extend(page.members);
        if page.next_page_token.is_empty() || top.is_some_and(|n| places.len() >= n) {
            if let Some(n) = top {
                places.truncate(n);
            }
            return Ok((places, page.total_size));
        }
        page_token = page.next_page_token;
    }
}

async fn members(api: &mut Api, args: MembersArgs, period: Period, json: bool, out: Out<'_>) -> Result<()> {
    let c = target(api, None).await?;
    let period = period.to_string();
    let (places, total) = rank_members(api, &period, &args.metric, args.top).await?;
    if json {
        return json_out(
            out,
            &json!({
                "committee": committee_ref(&c),
                "period": period,
                "metric": args.metric,
                "total": total,
                "members": places.iter().map(|p| json!({
                    "rank": p.rank,
                    "member_id": p.member_id,
                    "name": p.name,
                    "value": p.value,
                })).collect::<Vec<_>>(),
            }),
        );
    }
    let what = figure_label(&args.metric);
    let table = Sheet {
        name: "members".into(),
        title: format!("Members of {} ranked by {what}, {period}", label(&c)),
        header: vec!["rank 排名".into(), "member 委员".into(), what.clone()],
        rows: places
            .iter()
            .map(|p| {
                let name = if p.name.is_empty() {
                    format!("(no longer on the roster) {}", p.member_id)
                } else {
                    p.name.clone()
                };
                vec![Cell::Count(f64::from(p.rank)), Cell::Text(name), Cell::Count(p.value as f64)]
            })
            .collect(),
    };
    write!(out, "{}", sheet::text(&[table]))?;
    if places.len() < total as usize {
        line(out, format!("({} of {total} members listed.)", places.len()))?;
    }
    Ok(())
}

/// The best and the worst three by a rate: rank, committee, the rate now and before, Δ.
fn top_bottom(breakdown: &Breakdown, children: &[ChildRow], metric: &str) -> (Sheet, Sheet) {
    let defined: Vec<&ChildRow> = children.iter().filter(|c| !c.row.undefined).collect();
    let top: Vec<&ChildRow> = defined.iter().take(3).copied().collect();
    let bottom: Vec<&ChildRow> =
        defined.iter().rev().filter(|c| !top.iter().any(|t| t.row.code == c.row.code)).take(3).copied().collect();
    let header = vec![
        "rank 排名".to_owned(),
        "committee 政协".to_owned(),
        format!("{} {}", figure_label(metric), breakdown.period),
        breakdown.previous_period.clone(),
        "Δ".to_owned(),
    ];
    let rows = |rows: &[&ChildRow]| -> Vec<Vec<Cell>> {
        rows.iter()
            .map(|c| {
                let r = &c.row;
                let mut cells = vec![Cell::Count(f64::from(r.rank)), Cell::text(format!("{} ({})", r.name, r.code))];
                cells.extend(ranking_cells(metric, c));
                cells
            })
            .collect()
    };
    let what = figure_label(metric);
    (
        Sheet { name: "top 3".into(), title: format!("Top 3 by {what}"), header: header.clone(), rows: rows(&top) },
        Sheet { name: "bottom 3".into(), title: format!("Bottom 3 by {what}"), header, rows: rows(&bottom) },
    )
}

/// Twelve months in one row, and the year's total.
fn monthly_sheet(series: &TimeSeries) -> Sheet {
    let metric = series.metric.as_str();
    let mut header: Vec<String> = vec!["figure 指标".into()];
    header.extend((1..=12).map(|m| format!("{m:02}")));
    let mut row = vec![Cell::text(figure_label(metric))];
    row.extend(
        series.points.iter().map(|p| {
            if is_rate(metric) { Cell::Rate((!p.undefined).then_some(p.value)) } else { Cell::Count(p.value) }
        }),
    );
    if !is_rate(metric) {
        header.push("total 合计".into());
        row.push(Cell::Count(series.points.iter().map(|p| p.value).sum()));
    }
    Sheet {
        name: "monthly".into(),
        title: format!("{} by month 按月, {}", figure_label(metric), series.year),
        header,
        rows: vec![row],
    }
}

async fn summary(api: &mut Api, args: SummaryArgs, kind: SummaryKind, json: bool, out: Out<'_>) -> Result<()> {
    let c = target(api, args.committee).await?;
    let year = Period::parse("year", &args.year.to_string()).map_err(|_| anyhow!("{} is not a year", args.year))?;
    let rollup = Rollup::Subtree;
    let now = get_figures(api, &c, &year.to_string(), rollup).await?;
    let before = get_figures(api, &c, &year.previous().to_string(), rollup).await?;
    let ranking = "on_time_reply_rate";
    let (breakdown, children) = breakdown_pair(api, &c, &year.to_string(), ranking).await?;
    let series = get_series(api, &c, "proposals_filed", args.year, rollup).await?;

    let mut headline = figures_sheet(&c, HEADLINE, &now, &before, rollup, "figures");
    headline.title = format!("Headline figures 主要指标, {} compared with {}", now.period, before.period);
    let (top, bottom) = top_bottom(&breakdown, &children, ranking);
    let sheets = vec![headline, top, bottom, monthly_sheet(&series)];
    let title = format!("{} — statistical summary 统计摘要 {}", label(&c), args.year);
    let bytes = match kind {
        SummaryKind::Markdown => {
            let intro = vec![format!(
                "Figures of {} and every committee below it ({} committee(s) directly below), from the analytics service.",
                c.name,
                breakdown.rows.len()
            )];
            sheet::markdown(&title, &intro, &sheets).into_bytes()
        }
        SummaryKind::Xlsx => sheet::xlsx(&sheets)?,
    };
    write_file(&args.out, &bytes)?;
    if json {
        return json_out(
            out,
            &json!({
                "committee": committee_ref(&c),
                "year": args.year,
                "file": args.out.display().to_string(),
                "bytes": bytes.len(),
                "figures": figures_json(&now),
                "previous_figures": figures_json(&before),
                "ranking": children_json(&breakdown, &children),
                "monthly": series.points.iter().map(|p| json!({"period": p.period, "value": p.value})).collect::<Vec<_>>(),
            }),
        );
    }
    line(out, format!("Wrote the {} summary of {} to {}.", args.year, label(&c), args.out.display()))
}

async fn chart(api: &mut Api, args: ChartArgs, json: bool, out: Out<'_>) -> Result<()> {
    let c = target(api, args.committee).await?;
    let figure = args.figure.as_str();
    let scale = if is_rate(figure) { chart::Scale::Rate } else { chart::Scale::Count };
    let what = figure_label(figure);
    let (svg, data) = if args.by_child {
        let breakdown = get_breakdown(api, &c, &format!("{:04}", args.year), figure).await?;
        let bars: Vec<(String, Option<f64>)> =
            breakdown.rows.iter().map(|r| (r.name.clone(), (!r.undefined).then_some(r.value))).collect();
        let title = format!("{} — {what}, {} (ranking of the committees below)", label(&c), args.year);
        let data: Vec<Value> = breakdown
            .rows
            .iter()
            .map(
                |r| json!({"rank": r.rank, "code": r.code, "name": r.name, "value": (!r.undefined).then_some(r.value)}),
            )
            .collect();
        (chart::ranking_bars(&title, &what, scale, &bars)?, data)
    } else {
        let series = get_series(api, &c, figure, args.year, args.rollup).await?;
        let values: Vec<Option<f64>> = series.points.iter().map(|p| (!p.undefined).then_some(p.value)).collect();
        let title = format!("{} — {what}, {} by month", label(&c), args.year);
        let data: Vec<Value> = series
            .points
            .iter()
            .map(|p| json!({"period": p.period, "value": (!p.undefined).then_some(p.value)}))
            .collect();
        (chart::monthly_line(&title, &what, scale, &values)?, data)
    };
    write_file(&args.out, svg.as_bytes())?;
    if json {
        return json_out(
            out,
            &json!({
                "committee": committee_ref(&c),
                "year": args.year,
                "figure": figure,
                "file": args.out.display().to_string(),
                "data": data,
            }),
        );
    }
    line(out, format!("Wrote the chart of {what} for {} to {}.", label(&c), args.out.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show_args(year: Option<i32>, quarter: Option<u32>, month: Option<&str>) -> ShowArgs {
        ShowArgs {
            committee: None,
            year,
            quarter,
            month: month.map(str::to_owned),
            term: None,
            rollup: Rollup::Subtree,
            by_child: false,
            rank_by: "on_time_reply_rate".into(),
            all: false,
            export: None,
        }
    }

    #[test]
    fn periods_from_flags() {
        assert_eq!(period(&show_args(Some(2023), None, None)).unwrap(), Period::Year(2023));
        assert_eq!(period(&show_args(Some(2023), Some(4), None)).unwrap(), Period::Quarter(2023, 4));
        assert_eq!(period(&show_args(None, None, Some("2023-07"))).unwrap(), Period::Month(2023, 7));
        assert_eq!(period(&show_args(Some(2023), None, Some("7"))).unwrap(), Period::Month(2023, 7));
        assert!(period(&show_args(Some(2024), None, Some("2023-07"))).is_err());
        assert!(period(&show_args(None, None, None)).is_err());
        assert!(period(&show_args(None, None, Some("2023-13"))).is_err());
        assert_eq!(Period::Quarter(2023, 1).previous().to_string(), "2022-Q4");
        let mut term = show_args(None, None, None);
        term.term = Some(10);
        assert_eq!(period(&term).unwrap().to_string(), "T10");
        term.year = Some(2023);
        assert!(period(&term).is_err());
        assert_eq!(parse_term("第10届").unwrap(), 10);
        assert_eq!(parse_term("14").unwrap(), 14);
        assert!(parse_term("0").is_err() && parse_term("十").is_err() && parse_term("101").is_err());
        assert_eq!(parse_member_figure("Performance-Points").unwrap(), "performance_points");
        assert!(parse_member_figure("proposals_filed").unwrap_err().contains("performance_points"));
    }

    #[test]
    fn names_and_extensions() {
        assert_eq!(figure_label("on_time_reply_rate"), "on-time reply rate 按期答复率");
        assert_eq!(parse_figure("On-Time-Reply-Rate").unwrap(), "on_time_reply_rate");
        assert!(parse_figure("happiness").unwrap_err().contains("proposals_filed"));
        assert_eq!(parse_rollup("OWN").unwrap(), Rollup::Own);
        assert_eq!(parse_quarter("Q3").unwrap(), 3);
        assert!(parse_quarter("5").is_err());
        assert_eq!(export_kind(Path::new("a.XLSX")).unwrap(), ExportKind::Xlsx);
        assert!(export_kind(Path::new("a.pdf")).unwrap_err().to_string().contains(".xlsx or a .csv"));
        assert_eq!(summary_kind(Path::new("s.md")).unwrap(), SummaryKind::Markdown);
        assert!(chart_kind(Path::new("c.png")).is_err());
        // A figure added to the service later reads by its name.
        assert_eq!(figure_label("new_thing_counted"), "new thing counted");
    }

    #[test]
    fn every_metric_and_rate_has_a_chinese_label() {
        for name in METRICS.iter().chain(RATES.iter().map(|(r, _, _)| r)).chain(MEMBER_METRICS) {
            assert!(LABELS.iter().chain(MEMBER_LABELS).any(|(n, _, _)| n == name), "{name} has no label");
        }
    }
}
