//! The command-line client of Xieshang: `login`, `logout`, `whoami`,
//! `committees …`, `users …`, `proposals …`, `members …`, `reporting …`,
//! `consultation …` and `demo`, all speaking gRPC to a running
//! `xieshang serve`.
//!
//! - `proposals list|search|show|create|submit|file|assign|contact|reply|rate|stats`;
//!   `proposals search "盐碱地" [--state] [--category] [--key] [--overdue]
//!   [--from DATE --to DATE] [--unit U] [--proposer U] [--page-size N] [--page-token T]`
//! - `members list|import|export`; `members projects list|show|declare|advance`
//!   (年度履职项目); `members assessment run|show|confirm` (考核, staff);
//!   `members studios list|show|requests|answer` (委员工作室)
//! - `reporting stats`
//! - `consultation topics list|show|submit|endorse|screen` (议题);
//!   `consultation plan list|show|create|add-item|submit|approve|return|publish --year Y`;
//!   `consultation activities list|show|feedback|rates`;
//!   `consultation supervision list|show` (民主监督);
//!   `consultation stats [--year Y]` (the year's consultation and supervision figures)
//! - `supervision joint create|invite|list|status|show|respond|inspect|submit|report|publish`
//!   (三级政协联动: the initiator opens, follows, reports and publishes; each
//!   invited committee takes part and reads the published joint report)
//!
//! # Embedding in the binary
//!
//! Declare the module in the library (`pub mod client;` in `src/lib.rs`) and
//! flatten [`ClientCommand`] into the binary's subcommand enum, so that the
//! client commands sit at the top level (`xieshang login`, `xieshang committees
//! tree`, …):
//!
//! ```ignore
//! #[derive(clap::Parser)]
//! struct Cli {
//!     #[command(subcommand)]
//!     command: Command,
//! }
//!
//! #[derive(clap::Subcommand)]
//! enum Command {
//!     Serve(ServeArgs),
//!     Migrate(MigrateArgs),
//!     #[command(flatten)]
//!     Client(xieshang::client::ClientCommand),
//! }
//!
//! #[tokio::main]
//! async fn main() -> anyhow::Result<()> {
//!     match Cli::parse().command {
//!         Command::Serve(args) => serve(args).await,
//!         Command::Migrate(args) => migrate(args).await,
//!         Command::Client(cmd) => xieshang::client::run(cmd, &mut std::io::stdout()).await,
//!     }
//! }
//! ```
//!
//! The binary must not define its own `login`, `logout`, `whoami`,
//! `committees`, `users` or `demo` subcommands, nor top-level global arguments
//! named `server`, `json` or `session_file`: every client subcommand carries its
//! own [`ClientArgs`] (`--server`, `--json`, `--session-file`, accepted anywhere
//! after the subcommand name, e.g. `xieshang committees tree --json`).
//!
//! [`run`] writes results to `out` and returns an [`anyhow::Error`] with a
//! human sentence on failure; the binary prints it and exits non-zero. Password
//! prompts go to the terminal, never to `out`; warnings go to stderr.
//!
//! The future returned by [`run`] is `Send`.

use std::io::Write;
use std::path::PathBuf;

/// Calls one RPC through an [`api::Api`] with the stored session's bearer
/// token, refreshing the tokens once on UNAUTHENTICATED:
/// `rpc!(api, CommitteeServiceClient, get_committee, GetCommitteeRequest { .. })`.
/// Evaluates to `Result<Response, api::ApiError>`.
macro_rules! rpc {
    ($api:expr, $client:ident, $method:ident, $request:expr) => {
        $api.call($request, |channel, request| async move { $client::new(channel).$method(request).await })
    };
}

mod api;
mod auth;
mod committees;
mod consultation;
mod demo;
mod demo_consult;
mod demo_joint;
mod demo_members;
mod demo_office;
pub mod demo_year;
mod flags;
mod members;
mod names;
mod performance;
mod proposals;
mod render;
mod session;
mod stats;
mod studios;
mod users;

/// Where the client commands write their results.
pub type Out<'a> = &'a mut (dyn Write + Send);

/// Options shared by every client command.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClientArgs {
    /// Address of the Xieshang server [default: the signed-in session's server,
    /// else http://127.0.0.1:50051]
    #[arg(long, env = "XIESHANG_SERVER", global = true, value_name = "URL")]
    pub server: Option<String>,

    /// Print JSON instead of tables and sentences
    #[arg(long, global = true)]
    pub json: bool,

    /// File holding the signed-in session [default: <config dir>/xieshang/session.json]
    #[arg(long, env = "XIESHANG_SESSION_FILE", global = true, value_name = "PATH")]
    pub session_file: Option<PathBuf>,
}

/// The client commands. Flatten this into the binary's subcommand enum.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ClientCommand {
    /// Sign in and store the session (tokens) for the other commands
    Login(LoginArgs),
    /// Sign out: revoke the session on the server and delete the stored one
    Logout(SimpleArgs),
    /// Show who is signed in, and in which committee
    Whoami(SimpleArgs),
    /// Committees (tenants) and their province → city → county tree
    Committees(CommitteesArgs),
    /// User accounts and roles of a committee
    Users(UsersArgs),
    /// Proposals (提案): list, search, show, draft, submit, file, assign, reply, rate, stats
    Proposals(ProposalsArgs),
    /// Members (委员): the roster (list, import, export), projects, assessment, studios
    Members(MembersArgs),
    /// Annual performance reporting (述职): campaign statistics
    Reporting(ReportingArgs),
    /// Consultation (协商): topics, the annual plan, activities, supervision
    Consultation(consultation::ConsultationArgs),
    /// The annual consultation and supervision plan (`consultation plan` for short)
    Plans(consultation::PlansArgs),
    /// Consultation activities (`consultation activities` for short)
    Activities(consultation::ActivitiesArgs),
    /// Democratic supervision projects (`consultation supervision` for short)
    Supervision(consultation::SupervisionArgs),
    /// Statistics (analytics): a committee's figures, rolled up, by child, as charts and exports
    Stats(stats::StatsArgs),
    /// Load a demo data set (Hebei, Zhejiang, Shaanxi) through the API;
    /// needs a platform operator's session. Safe to run again.
    Demo(DemoArgs),
}

/// A command with nothing but the common options.
#[derive(Debug, Clone, clap::Args)]
pub struct SimpleArgs {
    #[command(flatten)]
    pub common: ClientArgs,
}

/// `xieshang login`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub common: ClientArgs,

    /// Division code of your committee, e.g. 130528; omit for platform operators
    #[arg(long, value_name = "CODE")]
    pub committee: Option<String>,

    /// Your user name
    #[arg(long, short = 'u')]
    pub username: String,

    /// Your password [default: asked on the terminal]
    #[arg(long, env = "XIESHANG_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,

    /// New password to set when the current one is a one-time password
    /// (at least 10 characters) [default: asked on the terminal]
    #[arg(long, env = "XIESHANG_NEW_PASSWORD", hide_env_values = true)]
    pub new_password: Option<String>,
}

/// `xieshang committees …`.
#[derive(Debug, Clone, clap::Args)]
pub struct CommitteesArgs {
    #[command(flatten)]
    pub common: ClientArgs,

    #[command(subcommand)]
    pub command: CommitteesCommand,
}

/// The `committees` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CommitteesCommand {
    /// Print the committee tree below CODE, or below every visible province
    Tree {
        /// Division code of the root, e.g. 130000
        code: Option<String>,
    },
    /// List visible committees as a table
    List {
        /// Only committees of this level: provincial, city or county
        #[arg(long, value_parser = names::parse_level)]
        level: Option<xieshang_proto::common::v1::CommitteeLevel>,
        /// Only direct children of the committee with this code
        #[arg(long, value_name = "CODE")]
        parent: Option<String>,
        /// Only committees whose name contains this text
        #[arg(long, value_name = "TEXT")]
        name: Option<String>,
    },
    /// Show one committee
    Get {
        /// Division code, e.g. 130528
        code: String,
    },
    /// Create a committee
    Create {
        /// GB/T 2260 six-digit division code, e.g. 130528
        #[arg(long)]
        code: String,
        /// Name, e.g. 宁晋县政协 (2-40 characters)
        #[arg(long)]
        name: String,
        /// provincial, city or county
        #[arg(long, value_parser = names::parse_level)]
        level: xieshang_proto::common::v1::CommitteeLevel,
        /// Division code of the parent (required for cities and counties)
        #[arg(long, value_name = "CODE")]
        parent: Option<String>,
        /// Office address
        #[arg(long)]
        office_address: Option<String>,
        /// Office telephone
        #[arg(long)]
        office_phone: Option<String>,
    },
    /// Suspend a committee: its users can no longer sign in
    Suspend {
        /// Division code
        code: String,
        /// Why (kept in the audit log)
        #[arg(long)]
        reason: String,
    },
    /// Reactivate a suspended committee
    Reactivate {
        /// Division code
        code: String,
    },
}

/// `xieshang users …`.
#[derive(Debug, Clone, clap::Args)]
pub struct UsersArgs {
    #[command(flatten)]
    pub common: ClientArgs,

    #[command(subcommand)]
    pub command: UsersCommand,
}

/// The `users` subcommands.
///
/// Roles are written operator, admin, staff, member, judge or handling-unit
/// (case-insensitive).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum UsersCommand {
    /// List a committee's users
    List {
        /// Division code of the committee [default: your own committee; a
        /// platform operator without it lists the platform operators]
        #[arg(long, value_name = "CODE")]
        committee: Option<String>,
        /// Only users holding this role
        #[arg(long, value_parser = names::parse_role)]
        role: Option<xieshang_proto::common::v1::Role>,
        /// Include disabled users
        #[arg(long)]
        all: bool,
    },
    /// Show one user
    Get {
        /// User id
        #[arg(long)]
        id: String,
    },
    /// Create a user; prints the one-time password when none is given
    Create {
        /// Division code of the user's committee [default: your own committee;
        /// a platform operator without it creates a platform operator]
        #[arg(long, value_name = "CODE")]
        committee: Option<String>,
        /// Sign-in name: 3-32 letters, digits, '.', '_' or '-'
        #[arg(long)]
        username: String,
        /// Name shown to people, e.g. 张建国
        #[arg(long = "name", value_name = "DISPLAY_NAME")]
        display_name: String,
        /// Role; repeat for several
        #[arg(long = "role", required = true, value_parser = names::parse_role)]
        roles: Vec<xieshang_proto::common::v1::Role>,
        /// Initial password (at least 10 characters) [default: a generated one-time password]
        #[arg(long)]
        password: Option<String>,
    },
    /// Replace a user's roles
    SetRoles {
        /// User id
        #[arg(long)]
        id: String,
        /// Role; repeat for several
        #[arg(long = "role", required = true, value_parser = names::parse_role)]
        roles: Vec<xieshang_proto::common::v1::Role>,
    },
    /// Disable a user: sign-in stops working and open sessions are revoked
    Disable {
        /// User id
        #[arg(long)]
        id: String,
    },
    /// Enable a disabled user
    Enable {
        /// User id
        #[arg(long)]
        id: String,
    },
    /// Set a new one-time password (printed) and revoke the user's sessions
    ResetPassword {
        /// User id
        #[arg(long)]
        id: String,
    },
}

/// `xieshang proposals …`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProposalsArgs {
    #[command(flatten)]
    pub common: ClientArgs,

    #[command(subcommand)]
    pub command: ProposalsCommand,
}

/// The `proposals` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ProposalsCommand {
    /// List the proposals you may see (yours, assigned to you, or the committee's)
    List {
        /// Only proposals in this state, e.g. submitted, filed, handling, replied
        #[arg(long, value_parser = proposals::parse_state)]
        state: Option<xieshang_proto::proposals::v1::ProposalState>,
        /// Only key proposals (重点提案)
        #[arg(long)]
        key: bool,
    },
    /// Search proposals by words (Chinese segmented, 繁體 folded to 简体), best match first
    Search {
        /// Words to find, e.g. 盐碱地; every word must match (at most 200 characters)
        query: String,
        /// Only proposals in this state, e.g. submitted, filed, handling, replied
        #[arg(long, value_parser = proposals::parse_state)]
        state: Option<xieshang_proto::proposals::v1::ProposalState>,
        /// Only this category: economic, political, cultural, social, ecological, other (or 经济, 生态…)
        #[arg(long, value_parser = proposals::parse_category)]
        category: Option<xieshang_proto::proposals::v1::ProposalCategory>,
        /// Only key proposals (重点提案)
        #[arg(long)]
        key: bool,
        /// Only proposals whose reply is overdue
        #[arg(long)]
        overdue: bool,
        /// Submitted on or after this day (YYYY-MM-DD, China time)
        #[arg(long, value_name = "DATE", value_parser = flags::parse_date)]
        from: Option<xieshang_proto::common::v1::Date>,
        /// Submitted on or before this day (YYYY-MM-DD, China time)
        #[arg(long, value_name = "DATE", value_parser = flags::parse_date)]
        to: Option<xieshang_proto::common::v1::Date>,
        /// Only proposals assigned to this handling unit (username; staff)
        #[arg(long, value_name = "USERNAME")]
        unit: Option<String>,
        /// Only proposals of this proposer (username; staff)
        #[arg(long, value_name = "USERNAME")]
        proposer: Option<String>,
        /// Hits per page, 1-100 [default: 20]
        #[arg(long, value_name = "N")]
        page_size: Option<i32>,
        /// The token printed after the previous page
        #[arg(long, value_name = "TOKEN")]
        page_token: Option<String>,
    },
    /// Show one proposal
    Show {
        /// Proposal id
        id: String,
    },
    /// Draft a proposal of your own (members)
    Create {
        #[arg(long)]
        title: String,
        #[arg(long)]
        body: String,
        /// economic, political, cultural, social, ecological or other (or 经济, 社会…)
        #[arg(long, value_parser = proposals::parse_category)]
        category: xieshang_proto::proposals::v1::ProposalCategory,
    },
    /// Submit your draft for review
    Submit { id: String },
    /// File (立案) a submitted proposal and give it its number (staff)
    File { id: String },
    /// Assign (交办) a filed proposal to handling units, by username (staff)
    Assign {
        id: String,
        /// Lead unit (主办)
        #[arg(long)]
        lead: Option<String>,
        /// Co-unit (会办); repeat for several
        #[arg(long)]
        co: Vec<String>,
        /// Separate unit (分办); repeat for several, instead of --lead
        #[arg(long)]
        separate: Vec<String>,
    },
    /// Record today's contact with the proposer (handling units)
    Contact {
        id: String,
        #[arg(long)]
        note: String,
    },
    /// Reply (答复) to an assigned proposal (handling units)
    Reply {
        id: String,
        /// A (solved/adopted), B (planned) or C (for reference)
        #[arg(long, value_parser = proposals::parse_class)]
        class: xieshang_proto::proposals::v1::ReplyClass,
        #[arg(long)]
        text: String,
    },
    /// Figures of a committee's proposals and information items for a year
    Stats {
        /// Division code [default: your own committee]
        #[arg(long, value_name = "CODE")]
        committee: Option<String>,
        #[arg(long)]
        year: i32,
    },
    /// Rate the reply to your proposal
    Rate {
        id: String,
        /// satisfied, basically-satisfied or dissatisfied (or 满意, 基本满意, 不满意)
        #[arg(long, value_parser = proposals::parse_rating)]
        process: xieshang_proto::proposals::v1::Rating,
        #[arg(long, value_parser = proposals::parse_rating)]
        result: xieshang_proto::proposals::v1::Rating,
        #[arg(long)]
        comment: Option<String>,
    },
}

/// `xieshang members …`.
#[derive(Debug, Clone, clap::Args)]
pub struct MembersArgs {
    #[command(flatten)]
    pub common: ClientArgs,

    #[command(subcommand)]
    pub command: MembersCommand,
}

/// The `members` subcommands (committee staff).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum MembersCommand {
    /// List the committee's serving members (phone numbers masked)
    List {
        /// Only members whose name contains this text
        #[arg(long)]
        name: Option<String>,
        /// Include members who resigned or were dismissed
        #[arg(long)]
        all: bool,
    },
    /// Import members from an .xlsx or .csv roster; all rows or none
    Import {
        file: std::path::PathBuf,
        /// Check every row and report errors without writing anything
        #[arg(long)]
        dry_run: bool,
    },
    /// Export the roster as .xlsx
    Export {
        file: std::path::PathBuf,
        /// Include full phone and ID numbers (audited)
        #[arg(long)]
        reveal: bool,
    },
    /// Annual performance projects (年度履职项目): list, show, declare, advance
    Projects {
        #[command(subcommand)]
        command: ProjectsCommand,
    },
    /// The annual assessment (考核): run, show, confirm (staff)
    Assessment {
        #[command(subcommand)]
        command: AssessmentCommand,
    },
    /// Member studios (委员工作室) and the public's requests to them
    Studios {
        #[command(subcommand)]
        command: StudiosCommand,
    },
}

/// The `members projects` subcommands. Members see and move their own
/// projects; staff every project of the committee.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ProjectsCommand {
    /// List projects, newest steps shown
    List {
        /// Only projects of this year [default: every year]
        #[arg(long, value_parser = flags::parse_year)]
        year: Option<i32>,
        /// Only projects at this step: declared, study, research, consultation,
        /// follow-up-review or outcome (or 学习, 调研, 协商, 回头看, 成果)
        #[arg(long, value_parser = performance::parse_project_status)]
        status: Option<xieshang_proto::membership::v1::ProjectStatus>,
        /// Projects per page, 1-200 [default: 50]
        #[arg(long, value_name = "N")]
        page_size: Option<i32>,
        /// The token printed after the previous page
        #[arg(long, value_name = "TOKEN")]
        page_token: Option<String>,
    },
    /// Show one project with its steps
    Show {
        /// Project id
        id: String,
    },
    /// Declare a project for a year (members for themselves; staff name the member)
    Declare {
        /// Title, e.g. 宁晋县农村生活污水治理
        #[arg(long)]
        title: String,
        /// What you plan to do during the year
        #[arg(long, visible_alias = "description")]
        plan: Option<String>,
        /// The year [default: this year]
        #[arg(long, value_parser = flags::parse_year)]
        year: Option<i32>,
        /// Staff: the member, by roster id or exact name
        #[arg(long, value_name = "ID_OR_NAME")]
        member: Option<String>,
    },
    /// Move a project to its next step (学习 → 调研 → 协商 → 回头看 → 成果), dated, with a note
    Advance {
        /// Project id
        id: String,
        /// What was done
        #[arg(long)]
        note: String,
        /// The step to move to [default: the next one]
        #[arg(long, value_parser = performance::parse_project_status)]
        to: Option<xieshang_proto::membership::v1::ProjectStatus>,
        /// The day it happened (YYYY-MM-DD) [default: today]
        #[arg(long, value_name = "DATE", value_parser = flags::parse_date)]
        date: Option<xieshang_proto::common::v1::Date>,
        /// For the outcome step: proposal or information (提案, 社情民意)
        #[arg(long, value_parser = performance::parse_outcome_kind)]
        outcome: Option<xieshang_proto::membership::v1::ProjectOutcomeKind>,
        /// For the outcome step: the proposal's or information's number or id
        #[arg(long = "ref", value_name = "REF")]
        outcome_ref: Option<String>,
    },
}

/// The `members assessment` subcommands (staff).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum AssessmentCommand {
    /// Compute (or recompute, while nothing is decided) the year's ranked results
    Run {
        /// The year assessed, e.g. 2026
        #[arg(long, value_parser = flags::parse_year)]
        year: i32,
        /// Division code [default: your own committee]
        #[arg(long, value_name = "CODE")]
        committee: Option<String>,
    },
    /// The year's results, ranked, with proposed outcomes and decisions
    Show {
        /// The year assessed, e.g. 2026
        #[arg(long, value_parser = flags::parse_year)]
        year: i32,
        /// Division code [default: your own committee]
        #[arg(long, value_name = "CODE")]
        committee: Option<String>,
    },
    /// Confirm (or, with --reject, reject) one member's proposed outcome
    Confirm {
        /// The member, by roster id or name as shown by `assessment show`
        member: String,
        /// The year assessed, e.g. 2026
        #[arg(long, value_parser = flags::parse_year)]
        year: i32,
        /// Reject the proposed outcome instead of confirming it
        #[arg(long)]
        reject: bool,
        /// Why (kept with the decision)
        #[arg(long)]
        note: Option<String>,
    },
}

/// The `members studios` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum StudiosCommand {
    /// List the committee's studios
    List,
    /// Show one studio: members, service items, ratings
    Show {
        /// Studio id
        id: String,
    },
    /// The public's requests (staff: all; studio members: their studios'), newest first
    Requests {
        /// Only this studio's requests (studio id)
        #[arg(long, value_name = "ID")]
        studio: Option<String>,
        /// Only requests still waiting for an answer
        #[arg(long)]
        open: bool,
    },
    /// Answer a request (staff or a member of the studio)
    Answer {
        /// Request id
        id: String,
        /// The answer (at most 1000 characters)
        #[arg(long)]
        text: String,
    },
}

/// `xieshang reporting …`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportingArgs {
    #[command(flatten)]
    pub common: ClientArgs,

    #[command(subcommand)]
    pub command: ReportingCommand,
}

/// The `reporting` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ReportingCommand {
    /// The reporting campaign's figures for a committee and year
    Stats {
        /// Division code [default: your own committee]
        #[arg(long, value_name = "CODE")]
        committee: Option<String>,
        #[arg(long)]
        year: i32,
    },
}

/// `xieshang demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub common: ClientArgs,

    /// Text appended to every demo password (Xieshang-<code>-<username><suffix>)
    #[arg(long, default_value = "", env = "XIESHANG_DEMO_PASSWORD_SUFFIX")]
    pub password_suffix: String,
}

/// Runs one client command, writing its results to `out`.
pub async fn run(cmd: ClientCommand, out: Out<'_>) -> anyhow::Result<()> {
    match cmd {
        ClientCommand::Login(args) => auth::login(args, out).await,
        ClientCommand::Logout(args) => auth::logout(args.common, out).await,
        ClientCommand::Whoami(args) => auth::whoami(args.common, out).await,
        ClientCommand::Committees(args) => committees::run(args, out).await,
        ClientCommand::Users(args) => users::run(args, out).await,
        ClientCommand::Proposals(args) => proposals::run(args, out).await,
        ClientCommand::Members(args) => members::run(args, out).await,
        ClientCommand::Reporting(args) => members::run_reporting(args, out).await,
        ClientCommand::Consultation(args) => consultation::run(args, out).await,
        ClientCommand::Plans(args) => consultation::run(args.into(), out).await,
        ClientCommand::Activities(args) => consultation::run(args.into(), out).await,
        ClientCommand::Supervision(args) => consultation::run(args.into(), out).await,
        ClientCommand::Stats(args) => stats::run(args, out).await,
        ClientCommand::Demo(args) => demo::run(args, out).await,
    }
}
