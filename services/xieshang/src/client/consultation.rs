//! `xieshang consultation …`: topic sourcing (议题征集), the annual plan
//! (年度协商监督计划), consultation activities (协商活动) with their suggestions
//! and feedback, democratic supervision (民主监督) with three-level joint
//! supervision (三级政协联动), and the year's statistics (统计), over the
//! ConsultationService and the SupervisionService.
//!
//! Plans are named by year (one plan per committee and year).

use anyhow::{Result, anyhow, bail};
use serde_json::{Value, json};
use xieshang_proto::common::v1::Date;
use xieshang_proto::consultation::v1::consultation_service_client::ConsultationServiceClient;
use xieshang_proto::consultation::v1::supervision_service_client::SupervisionServiceClient;
use xieshang_proto::consultation::v1::{
    Activity, ActivityStage, AddParticipationInspectionRequest, AddPlanItemRequest, AdoptionRate, ApprovePlanRequest,
    ConsultationStatistics, ConsultationType, CreateJointProjectRequest, CreatePlanRequest, CreateTopicRequest,
    EndorseTopicRequest, FeedbackResult, FileSupervisionReportRequest, GetActivityRequest, GetAdoptionRatesRequest,
    GetConsultationStatisticsRequest, GetJointProgressRequest, GetParticipationRequest, GetSupervisionProjectRequest,
    GetTopicRequest, JointProgress, JointReport, ListActivitiesRequest, ListParticipationsRequest, ListPlansRequest,
    ListSuggestionsRequest, ListSupervisionProjectsRequest, ListTopicsRequest, NewSupervisionProblem, Participation,
    ParticipationState, Plan, PlanItem, PlanState, PublishJointReportRequest, PublishPlanRequest,
    RecordFeedbackRequest, RectificationStatus, RespondToInvitationRequest, ReturnPlanRequest, ScreenTopicRequest,
    Screening, ScreeningVerdict, SubmitParticipationRequest, SubmitPlanRequest, Suggestion, SupervisionInspection,
    SupervisionKind, SupervisionProject, SupervisionState, Topic, TopicSource, TopicState,
};
use xieshang_proto::tenants::v1::auth_service_client::AuthServiceClient;
use xieshang_proto::tenants::v1::{Committee, WhoAmIRequest};

use super::api::Api;
use super::auth::signed_in;
use super::flags;
use super::render::{self, json_out, line};
use super::{ClientArgs, Out};

/// `xieshang consultation …`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConsultationArgs {
    #[command(flatten)]
    pub common: ClientArgs,

    #[command(subcommand)]
    pub command: ConsultationCommand,
}

/// `xieshang plans …`: `xieshang consultation plan …` for short.
#[derive(Debug, Clone, clap::Args)]
pub struct PlansArgs {
    #[command(flatten)]
    pub common: ClientArgs,

    #[command(subcommand)]
    pub command: PlanCommand,
}

/// `xieshang activities …`: `xieshang consultation activities …` for short.
#[derive(Debug, Clone, clap::Args)]
pub struct ActivitiesArgs {
    #[command(flatten)]
    pub common: ClientArgs,

    #[command(subcommand)]
    pub command: ActivitiesCommand,
}

/// `xieshang supervision …`: `xieshang consultation supervision …` for short.
#[derive(Debug, Clone, clap::Args)]
pub struct SupervisionArgs {
    #[command(flatten)]
    pub common: ClientArgs,

    #[command(subcommand)]
    pub command: SupervisionCommand,
}

impl From<PlansArgs> for ConsultationArgs {
    fn from(a: PlansArgs) -> Self {
        Self { common: a.common, command: ConsultationCommand::Plan { command: a.command } }
    }
}

impl From<ActivitiesArgs> for ConsultationArgs {
    fn from(a: ActivitiesArgs) -> Self {
        Self { common: a.common, command: ConsultationCommand::Activities { command: a.command } }
    }
}

impl From<SupervisionArgs> for ConsultationArgs {
    fn from(a: SupervisionArgs) -> Self {
        Self { common: a.common, command: ConsultationCommand::Supervision { command: a.command } }
    }
}

/// The `consultation` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ConsultationCommand {
    /// Candidate topics (议题征集): list, show, submit, endorse, screen
    Topics {
        #[command(subcommand)]
        command: TopicsCommand,
    },
    /// The annual consultation and supervision plan (年度协商监督计划), by year
    Plan {
        #[command(subcommand)]
        command: PlanCommand,
    },
    /// Consultation activities (协商活动): list, show with suggestions and feedback
    Activities {
        #[command(subcommand)]
        command: ActivitiesCommand,
    },
    /// Democratic supervision projects (民主监督) with their problems and rectification
    Supervision {
        #[command(subcommand)]
        command: SupervisionCommand,
    },
    /// Your committee's consultation and supervision figures for a year (统计, staff)
    Stats {
        /// The year [default: this year]
        #[arg(long, value_parser = flags::parse_year)]
        year: Option<i32>,
    },
}

/// The `consultation topics` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TopicsCommand {
    /// List the topics you may read, oldest first
    List {
        /// Only this source: party-government, public, member or committee (or 党政点题, 群众出题, 委员荐题, 政协选题)
        #[arg(long, value_parser = parse_source)]
        source: Option<TopicSource>,
        /// Only this state: proposed, selected or not-selected
        #[arg(long, value_parser = parse_topic_state)]
        state: Option<TopicState>,
        /// Topics per page, 1-200 [default: 50]
        #[arg(long, value_name = "N")]
        page_size: Option<i32>,
        /// The token printed after the previous page
        #[arg(long, value_name = "TOKEN")]
        page_token: Option<String>,
    },
    /// Show one topic with its screening
    Show { id: String },
    /// Propose a topic (members: 委员荐题; staff name the source)
    Submit {
        /// Title, at most 100 characters
        #[arg(long)]
        title: String,
        /// Why the topic matters, at most 2000 characters
        #[arg(long)]
        rationale: String,
        /// Staff: party-government, public, member or committee
        #[arg(long, value_parser = parse_source)]
        source: Option<TopicSource>,
        /// Who proposed it, as shown (e.g. 县委办公室) [default: your name]
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
    /// Endorse a proposed topic (附议; members)
    Endorse { id: String },
    /// Screen a proposed topic against 党政所需, 群众所盼, 政协所能 (staff)
    Screen {
        id: String,
        /// selected or not-selected (入选, 未入选)
        #[arg(long, value_parser = parse_verdict)]
        verdict: ScreeningVerdict,
        /// 党政所需: what the party committee and government need
        #[arg(long)]
        need: String,
        /// 群众所盼: what the public hopes for
        #[arg(long)]
        expectation: String,
        /// 政协所能: what the committee is able to do
        #[arg(long)]
        capacity: String,
    },
}

/// The `consultation plan` subcommands; the plan is named by its year.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum PlanCommand {
    /// List the plans, newest year first
    List,
    /// Show a year's plan with its items
    Show {
        /// The plan's year, e.g. 2026
        #[arg(long, value_parser = flags::parse_year)]
        year: i32,
    },
    /// Start a year's plan, in draft (staff)
    Create {
        /// The plan's year, e.g. 2026
        #[arg(long, value_parser = flags::parse_year)]
        year: i32,
    },
    /// Add an item to a draft or returned plan (staff)
    AddItem {
        /// The plan's year, e.g. 2026
        #[arg(long, value_parser = flags::parse_year)]
        year: i32,
        /// Title, at most 100 characters [default: the topic's title]
        #[arg(long)]
        title: Option<String>,
        /// A selected topic's id
        #[arg(long, value_name = "ID")]
        topic: Option<String>,
        /// plenary, standing-committee-topic, please-consult, counterpart,
        /// sector-round-table, proposal-handling, grassroots or other (or 全体会议, 请你来协商, 对口协商…)
        #[arg(long = "type", value_name = "TYPE", value_parser = parse_type)]
        kind: ConsultationType,
        /// For --type other: the form's name, e.g. 有事好商量
        #[arg(long)]
        type_label: Option<String>,
        /// The lead special committee (牵头专委会), e.g. 经济委员会
        #[arg(long)]
        lead: String,
        /// Planned month, 1-12
        #[arg(long)]
        month: i32,
        /// A participating unit; repeat for several
        #[arg(long = "unit", value_name = "UNIT")]
        units: Vec<String>,
    },
    /// Submit the plan to the party committee (staff)
    Submit {
        /// The plan's year, e.g. 2026
        #[arg(long, value_parser = flags::parse_year)]
        year: i32,
    },
    /// Record the party committee's approval (staff)
    Approve {
        /// The plan's year, e.g. 2026
        #[arg(long, value_parser = flags::parse_year)]
        year: i32,
    },
    /// Record the party committee's return with comments (staff)
    Return {
        /// The plan's year, e.g. 2026
        #[arg(long, value_parser = flags::parse_year)]
        year: i32,
        #[arg(long)]
        comments: String,
    },
    /// Publish an approved plan (staff)
    Publish {
        /// The plan's year, e.g. 2026
        #[arg(long, value_parser = flags::parse_year)]
        year: i32,
    },
}

/// The `consultation activities` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ActivitiesCommand {
    /// List the activities you may read, oldest first
    List {
        /// Only activities counted in this year
        #[arg(long, value_parser = flags::parse_year)]
        year: Option<i32>,
        /// Only this type, e.g. counterpart or 对口协商
        #[arg(long = "type", value_name = "TYPE", value_parser = parse_type)]
        kind: Option<ConsultationType>,
        /// Activities per page, 1-200 [default: 50]
        #[arg(long, value_name = "N")]
        page_size: Option<i32>,
        /// The token printed after the previous page
        #[arg(long, value_name = "TOKEN")]
        page_token: Option<String>,
    },
    /// Show one activity with its visits, suggestions, feedback and adoption rate
    Show { id: String },
    /// Record the receiving body's feedback on a suggestion (staff)
    Feedback {
        /// Suggestion id (see `activities show`)
        id: String,
        /// adopted, partly-adopted or not-adopted (采纳, 部分采纳, 未采纳)
        #[arg(long, value_parser = parse_feedback)]
        result: FeedbackResult,
        /// Required for not-adopted
        #[arg(long)]
        note: Option<String>,
    },
    /// Adoption rates of a year's activities, per activity and type (staff)
    Rates {
        /// The year of the activities, e.g. 2026
        #[arg(long, value_parser = flags::parse_year)]
        year: i32,
    },
}

/// The `consultation supervision` subcommands (staff).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum SupervisionCommand {
    /// List the committee's supervision projects, oldest first
    List {
        /// Only this state: planned, ongoing, reported or closed
        #[arg(long, value_parser = parse_supervision_state)]
        state: Option<SupervisionState>,
    },
    /// Show one project with its inspections, problems and rectification
    Show { id: String },
    /// Three-level joint supervision (三级政协联动): open a project, follow each
    /// participant, take part, write the joint report
    Joint {
        #[command(subcommand)]
        command: JointCommand,
    },
}

/// The `supervision joint` subcommands (staff). The initiator (a provincial or
/// city committee) uses `create`, `status`, `report` and `publish`; an invited
/// committee uses `list`, `show`, `respond`, `inspect` and `submit` on its
/// participation, and reads the published joint report with `show`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum JointCommand {
    /// Open a joint project and invite committees below yours, by division code
    Create {
        /// The topic (监督议题), up to 100 characters
        #[arg(long)]
        topic: String,
        /// First day of the period, YYYY-MM-DD
        #[arg(long, value_parser = flags::parse_date)]
        from: Date,
        /// Last day of the period, YYYY-MM-DD; participants are overdue after it
        #[arg(long, value_parser = flags::parse_date)]
        to: Date,
        /// Committees to invite by division code, e.g. --invite 130500,130528 (repeatable)
        #[arg(long, value_delimiter = ',', required = true)]
        invite: Vec<String>,
    },
    /// Invite more committees to an open project (explains how invitations work)
    Invite {
        /// The joint project's id
        project: String,
        /// Committees by division code
        #[arg(long, value_delimiter = ',')]
        invite: Vec<String>,
    },
    /// Your committee's joint projects (initiated) and invitations (received)
    List,
    /// The initiator's view of one project: each participant's progress
    Status {
        /// The joint project's id
        project: String,
    },
    /// Your committee's part of a joint project, with its inspections
    Show {
        /// The participation's id (see `joint list`)
        participation: String,
    },
    /// Accept or decline an invitation
    Respond {
        /// The participation's id (see `joint list`)
        participation: String,
        /// Take part in the project
        #[arg(long, conflicts_with = "decline", required_unless_present = "decline")]
        accept: bool,
        /// Decline the invitation (needs --note with the reason)
        #[arg(long)]
        decline: bool,
        /// A note to the initiator, up to 500 characters
        #[arg(long)]
        note: Option<String>,
    },
    /// Record an inspection (视察) in your own area
    Inspect {
        /// The participation's id
        participation: String,
        /// The day, YYYY-MM-DD
        #[arg(long, value_parser = flags::parse_date)]
        date: Date,
        /// Where, up to 100 characters
        #[arg(long)]
        place: String,
        /// Who took part (repeatable), up to 30 names
        #[arg(long = "member")]
        members: Vec<String>,
        /// What was found, up to 4000 characters
        #[arg(long)]
        findings: String,
    },
    /// Submit your committee's findings to the initiator
    Submit {
        /// The participation's id
        participation: String,
        /// Summary of findings, up to 4000 characters
        #[arg(long)]
        summary: String,
    },
    /// File the joint report (联动监督报告) as the initiator: summary and numbered problems
    Report {
        /// The joint project's id
        project: String,
        /// Summary, up to 4000 characters
        #[arg(long)]
        summary: String,
        /// A problem found (repeatable; each pairs with the --suggestion in the same position)
        #[arg(long = "problem", required = true)]
        problems: Vec<String>,
        /// The suggestion for the problem in the same position (repeatable)
        #[arg(long = "suggestion", required = true)]
        suggestions: Vec<String>,
    },
    /// Publish the filed joint report to every invited committee (once)
    Publish {
        /// The joint project's id
        project: String,
    },
}

pub async fn run(args: ConsultationArgs, out: Out<'_>) -> Result<()> {
    check(&args.command)?;
    let json = args.common.json;
    let mut api = signed_in(&args.common).await?;
    match args.command {
        ConsultationCommand::Topics { command } => topics(&mut api, command, json, out).await,
        ConsultationCommand::Plan { command } => plan(&mut api, command, json, out).await,
        ConsultationCommand::Activities { command } => activities(&mut api, command, json, out).await,
        ConsultationCommand::Supervision { command } => supervision(&mut api, command, json, out).await,
        ConsultationCommand::Stats { year } => stats(&mut api, year.unwrap_or_else(flags::this_year), json, out).await,
    }
}

/// Checks that need no server.
fn check(command: &ConsultationCommand) -> Result<()> {
    match command {
        ConsultationCommand::Topics { command } => match command {
            TopicsCommand::List { page_size, .. } => flags::check_page_size(*page_size, 200),
            TopicsCommand::Submit { title, rationale, by, .. } => {
                flags::require_text("--title", title, 100)?;
                flags::require_text("--rationale", rationale, 2000)?;
                if let Some(by) = by {
                    flags::require_text("--by", by, 60)?;
                }
                Ok(())
            }
            TopicsCommand::Screen { need, expectation, capacity, .. } => {
                flags::require_text("--need (党政所需)", need, 200)?;
                flags::require_text("--expectation (群众所盼)", expectation, 200)?;
                flags::require_text("--capacity (政协所能)", capacity, 200)
            }
            TopicsCommand::Show { .. } | TopicsCommand::Endorse { .. } => Ok(()),
        },
        ConsultationCommand::Plan { command } => match command {
            PlanCommand::AddItem { title, topic, kind, type_label, lead, month, units, .. } => {
                if title.is_none() && topic.is_none() {
                    bail!("name the item with --title, or --topic with a selected topic's id");
                }
                if let Some(title) = title {
                    flags::require_text("--title", title, 100)?;
                }
                match (kind, type_label) {
                    (ConsultationType::Other, None) => bail!("--type other needs --type-label, e.g. 有事好商量"),
                    (ConsultationType::Other, Some(label)) => flags::require_text("--type-label", label, 30)?,
                    (_, Some(_)) => bail!("--type-label goes only with --type other"),
                    _ => {}
                }
                flags::require_text("--lead", lead, 60)?;
                if !(1..=12).contains(month) {
                    bail!("--month must be between 1 and 12");
                }
                if units.len() > 20 {
                    bail!("at most 20 participating units");
                }
                for unit in units {
                    flags::require_text("--unit", unit, 60)?;
                }
                Ok(())
            }
            PlanCommand::Return { comments, .. } => flags::require_text("--comments", comments, 2000),
            _ => Ok(()),
        },
        ConsultationCommand::Activities { command } => match command {
            ActivitiesCommand::List { page_size, .. } => flags::check_page_size(*page_size, 200),
            ActivitiesCommand::Feedback { result, note, .. } => {
                match note {
                    Some(note) => flags::require_text("--note", note, 1000)?,
                    None if *result == FeedbackResult::NotAdopted => bail!("not-adopted feedback needs --note"),
                    None => {}
                }
                Ok(())
            }
            _ => Ok(()),
        },
        ConsultationCommand::Supervision { command: SupervisionCommand::Joint { command } } => check_joint(command),
        ConsultationCommand::Supervision { .. } | ConsultationCommand::Stats { .. } => Ok(()),
    }
}

/// Division codes from `--invite` (commas, full-width commas or spaces between
/// them), each six digits, no repeats.
fn invited_codes(flag: &[String]) -> Result<Vec<String>> {
    let mut codes: Vec<String> = Vec::new();
    for code in flag.iter().flat_map(|f| f.split([',', '，', '、', ' '])).map(str::trim).filter(|c| !c.is_empty()) {
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            bail!("--invite: `{code}` is not a division code; write six digits, e.g. 130528");
        }
        if codes.iter().any(|c| c == code) {
            bail!("--invite names {code} twice");
        }
        codes.push(code.to_owned());
    }
    if codes.is_empty() {
        bail!("--invite needs at least one division code, e.g. --invite 130500,130528");
    }
    if codes.len() > 200 {
        bail!("--invite names {} committees; a joint project invites at most 200", codes.len());
    }
    Ok(codes)
}

fn check_joint(command: &JointCommand) -> Result<()> {
    match command {
        JointCommand::Create { topic, from, to, invite } => {
            flags::require_text("--topic", topic, 100)?;
            flags::check_range(Some(from), Some(to))?;
            invited_codes(invite).map(drop)
        }
        JointCommand::Respond { decline, note, .. } => match note {
            Some(note) => flags::require_text("--note", note, 500),
            None if *decline => bail!("declining needs --note with the reason, e.g. --note \"本县同期开展专项整治\""),
            None => Ok(()),
        },
        JointCommand::Inspect { place, members, findings, .. } => {
            flags::require_text("--place", place, 100)?;
            flags::require_text("--findings", findings, 4000)?;
            if members.len() > 30 {
                bail!("at most 30 --member names");
            }
            members.iter().try_for_each(|m| flags::require_text("--member", m, 40))
        }
        JointCommand::Submit { summary, .. } => flags::require_text("--summary", summary, 4000),
        JointCommand::Report { summary, problems, suggestions, .. } => {
            flags::require_text("--summary", summary, 4000)?;
            if problems.len() != suggestions.len() {
                bail!(
                    "{} --problem but {} --suggestion: give each problem its suggestion, in the same order",
                    problems.len(),
                    suggestions.len()
                );
            }
            if problems.len() > 100 {
                bail!("at most 100 problems");
            }
            for (problem, suggestion) in problems.iter().zip(suggestions) {
                flags::require_text("--problem", problem, 2000)?;
                flags::require_text("--suggestion", suggestion, 2000)?;
            }
            Ok(())
        }
        JointCommand::Invite { .. }
        | JointCommand::List
        | JointCommand::Status { .. }
        | JointCommand::Show { .. }
        | JointCommand::Publish { .. } => Ok(()),
    }
}

// ---- Topics ----

async fn topics(api: &mut Api, command: TopicsCommand, json: bool, out: Out<'_>) -> Result<()> {
    let topic = match command {
        TopicsCommand::List { source, state, page_size, page_token } => {
            let request = ListTopicsRequest {
                source: source.map(|s| s as i32).unwrap_or_default(),
                state: state.map(|s| s as i32).unwrap_or_default(),
                page_size: page_size.unwrap_or_default(),
                page_token: page_token.unwrap_or_default(),
            };
            let page = rpc!(api, ConsultationServiceClient, list_topics, request).await?;
            if json {
                let items = page.topics.iter().map(topic_json).collect();
                return json_out(out, &flags::paged_json("topics", items, &page.next_page_token));
            }
            if page.topics.is_empty() {
                return line(out, "No topics found.");
            }
            line(
                out,
                render::table(
                    ["id", "议题 title", "来源 source", "提出 by", "附议 endorsed", "状态 state"],
                    page.topics.iter().map(|t| {
                        vec![
                            t.id.clone(),
                            t.title.clone(),
                            source_label(t.source).to_owned(),
                            t.submitter_name.clone(),
                            t.endorsement_count.to_string(),
                            topic_state_label(t.state).to_owned(),
                        ]
                    }),
                ),
            )?;
            return flags::next_page(out, &page.next_page_token);
        }
        TopicsCommand::Show { id } => rpc!(api, ConsultationServiceClient, get_topic, GetTopicRequest { id }).await?,
        TopicsCommand::Submit { title, rationale, source, by } => {
            let topic = Topic {
                title: title.trim().to_owned(),
                rationale: rationale.trim().to_owned(),
                source: source.map(|s| s as i32).unwrap_or_default(),
                submitter_name: by.unwrap_or_default().trim().to_owned(),
                ..Default::default()
            };
            rpc!(api, ConsultationServiceClient, create_topic, CreateTopicRequest { topic: Some(topic) }).await?
        }
        TopicsCommand::Endorse { id } => {
            rpc!(api, ConsultationServiceClient, endorse_topic, EndorseTopicRequest { id }).await?
        }
        TopicsCommand::Screen { id, verdict, need, expectation, capacity } => {
            let request = ScreenTopicRequest {
                id,
                screening: Some(Screening {
                    party_government_need: need.trim().to_owned(),
                    public_expectation: expectation.trim().to_owned(),
                    committee_capacity: capacity.trim().to_owned(),
                    ..Default::default()
                }),
                verdict: verdict as i32,
            };
            rpc!(api, ConsultationServiceClient, screen_topic, request).await?
        }
    };
    if json {
        return json_out(out, &topic_json(&topic));
    }
    let mut rows = vec![
        vec!["id".to_owned(), topic.id.clone()],
        vec!["议题 title".to_owned(), topic.title.clone()],
        vec!["来源 source".to_owned(), source_label(topic.source).to_owned()],
        vec!["提出 by".to_owned(), topic.submitter_name.clone()],
        vec!["状态 state".to_owned(), topic_state_label(topic.state).to_owned()],
        vec!["附议 endorsements".to_owned(), topic.endorsement_count.to_string()],
        vec!["理由 rationale".to_owned(), topic.rationale.clone()],
    ];
    if let Some(s) = &topic.screening
        && !s.party_government_need.is_empty()
    {
        rows.push(vec!["党政所需".to_owned(), s.party_government_need.clone()]);
        rows.push(vec!["群众所盼".to_owned(), s.public_expectation.clone()]);
        rows.push(vec!["政协所能".to_owned(), s.committee_capacity.clone()]);
    }
    if !topic.tracking_code.is_empty() {
        rows.push(vec!["查询码 tracking code".to_owned(), topic.tracking_code.clone()]);
    }
    line(out, render::table(["field", "value"], rows))
}

// ---- Plans ----

/// The plan of `year`, or a sentence saying there is none.
async fn plan_of(api: &mut Api, year: i32) -> Result<Plan> {
    let plans = rpc!(api, ConsultationServiceClient, list_plans, ListPlansRequest { year }).await?.plans;
    plans.into_iter().find(|p| p.year == year).ok_or_else(|| {
        anyhow!(
            "there is no {year} plan you may read; staff create it with `xieshang consultation plan create --year {year}`"
        )
    })
}

async fn plan(api: &mut Api, command: PlanCommand, json: bool, out: Out<'_>) -> Result<()> {
    let plan = match command {
        PlanCommand::List => {
            let plans = rpc!(api, ConsultationServiceClient, list_plans, ListPlansRequest { year: 0 }).await?.plans;
            if json {
                return json_out(out, &Value::Array(plans.iter().map(plan_json).collect()));
            }
            if plans.is_empty() {
                return line(out, "No plans found.");
            }
            return line(
                out,
                render::table(
                    ["年度 year", "状态 state", "事项 items", "修订 amendments", "id"],
                    plans.iter().map(|p| {
                        vec![
                            p.year.to_string(),
                            plan_state_label(p.state).to_owned(),
                            p.items.len().to_string(),
                            p.amendment_count.to_string(),
                            p.id.clone(),
                        ]
                    }),
                ),
            );
        }
        PlanCommand::Show { year } => plan_of(api, year).await?,
        PlanCommand::Create { year } => {
            rpc!(api, ConsultationServiceClient, create_plan, CreatePlanRequest { year }).await?
        }
        PlanCommand::AddItem { year, title, topic, kind, type_label, lead, month, units } => {
            let plan = plan_of(api, year).await?;
            let item = PlanItem {
                topic_id: topic.unwrap_or_default(),
                title: title.unwrap_or_default().trim().to_owned(),
                r#type: kind as i32,
                type_label: type_label.unwrap_or_default().trim().to_owned(),
                lead_committee: lead.trim().to_owned(),
                planned_month: month,
                participating_units: units.into_iter().map(|u| u.trim().to_owned()).collect(),
                ..Default::default()
            };
            let request = AddPlanItemRequest { plan_id: plan.id, item: Some(item) };
            rpc!(api, ConsultationServiceClient, add_plan_item, request).await?
        }
        PlanCommand::Submit { year } => {
            let id = plan_of(api, year).await?.id;
            rpc!(api, ConsultationServiceClient, submit_plan, SubmitPlanRequest { id }).await?
        }
        PlanCommand::Approve { year } => {
            let id = plan_of(api, year).await?.id;
            rpc!(api, ConsultationServiceClient, approve_plan, ApprovePlanRequest { id }).await?
        }
        PlanCommand::Return { year, comments } => {
            let id = plan_of(api, year).await?.id;
            let request = ReturnPlanRequest { id, comments: comments.trim().to_owned() };
            rpc!(api, ConsultationServiceClient, return_plan, request).await?
        }
        PlanCommand::Publish { year } => {
            let id = plan_of(api, year).await?.id;
            rpc!(api, ConsultationServiceClient, publish_plan, PublishPlanRequest { id }).await?
        }
    };
    if json {
        return json_out(out, &plan_json(&plan));
    }
    let mut text = format!("{}年度协商监督计划 — {}", plan.year, plan_state_label(plan.state));
    if plan.amendment_count > 0 {
        text.push_str(&format!(", {} amendment(s)", plan.amendment_count));
    }
    if !plan.return_comments.is_empty() {
        text.push_str(&format!("\n退回意见 returned with: {}", plan.return_comments));
    }
    text.push('\n');
    if plan.items.is_empty() {
        text.push_str("No items yet.");
    } else {
        text.push_str(&render::table(
            ["#", "事项 title", "形式 type", "牵头 lead", "月份 month", "参与单位 units"],
            plan.items.iter().enumerate().map(|(i, item)| {
                vec![
                    (i + 1).to_string(),
                    item.title.clone(),
                    type_text(item.r#type, &item.type_label),
                    item.lead_committee.clone(),
                    if item.planned_month > 0 { format!("{}月", item.planned_month) } else { String::new() },
                    item.participating_units.join("、"),
                ]
            }),
        ));
    }
    line(out, text)
}

// ---- Activities ----

async fn activities(api: &mut Api, command: ActivitiesCommand, json: bool, out: Out<'_>) -> Result<()> {
    match command {
        ActivitiesCommand::List { year, kind, page_size, page_token } => {
            let request = ListActivitiesRequest {
                year: year.unwrap_or_default(),
                r#type: kind.map(|k| k as i32).unwrap_or_default(),
                page_size: page_size.unwrap_or_default(),
                page_token: page_token.unwrap_or_default(),
            };
            let page = rpc!(api, ConsultationServiceClient, list_activities, request).await?;
            if json {
                let items = page.activities.iter().map(activity_json).collect();
                return json_out(out, &flags::paged_json("activities", items, &page.next_page_token));
            }
            if page.activities.is_empty() {
                return line(out, "No activities found.");
            }
            line(
                out,
                render::table(
                    ["id", "年度 year", "活动 title", "形式 type", "阶段 stage", "对口部门 department"],
                    page.activities.iter().map(|a| {
                        vec![
                            a.id.clone(),
                            a.year.to_string(),
                            a.title.clone(),
                            type_text(a.r#type, &a.type_label),
                            stage_label(a.stage).to_owned(),
                            a.department.clone(),
                        ]
                    }),
                ),
            )?;
            flags::next_page(out, &page.next_page_token)
        }
        ActivitiesCommand::Show { id } => {
            let activity =
                rpc!(api, ConsultationServiceClient, get_activity, GetActivityRequest { id: id.clone() }).await?;
            let suggestions =
                rpc!(api, ConsultationServiceClient, list_suggestions, ListSuggestionsRequest { activity_id: id })
                    .await?
                    .suggestions;
            let rate = adoption(&suggestions);
            if json {
                let mut value = activity_json(&activity);
                value["suggestions"] = Value::Array(suggestions.iter().map(suggestion_json).collect());
                value["adoption"] = rate_json(&rate);
                return json_out(out, &value);
            }
            let mut rows = vec![
                vec!["id".to_owned(), activity.id.clone()],
                vec!["活动 title".to_owned(), activity.title.clone()],
                vec!["形式 type".to_owned(), type_text(activity.r#type, &activity.type_label)],
                vec!["年度 year".to_owned(), activity.year.to_string()],
                vec!["阶段 stage".to_owned(), stage_label(activity.stage).to_owned()],
            ];
            if !activity.department.is_empty() {
                rows.push(vec!["对口部门 department".to_owned(), activity.department.clone()]);
            }
            rows.push(vec!["采纳率 adoption rate".to_owned(), rate_text(&rate)]);
            let mut text = render::table(["field", "value"], rows);
            if !activity.visits.is_empty() {
                text.push_str("\n调研 research visits\n");
                text.push_str(&render::table(
                    ["日期 date", "地点 place", "发现 findings"],
                    activity
                        .visits
                        .iter()
                        .map(|v| vec![render::date(v.date.as_ref()), v.place.clone(), v.note.clone()]),
                ));
            }
            if suggestions.is_empty() {
                text.push_str("\nNo suggestions yet.");
            } else {
                text.push_str("\n建议与反馈 suggestions and feedback\n");
                text.push_str(&render::table(
                    ["#", "建议 suggestion", "反馈 feedback", "说明 note", "id"],
                    suggestions.iter().map(|s| {
                        vec![
                            s.number.to_string(),
                            s.text.clone(),
                            feedback_label(s.feedback).to_owned(),
                            s.feedback_note.clone(),
                            s.id.clone(),
                        ]
                    }),
                ));
            }
            line(out, text)
        }
        ActivitiesCommand::Feedback { id, result, note } => {
            let request =
                RecordFeedbackRequest { suggestion_id: id, feedback: result as i32, note: note.unwrap_or_default() };
            let s = rpc!(api, ConsultationServiceClient, record_feedback, request).await?;
            if json {
                return json_out(out, &suggestion_json(&s));
            }
            line(out, format!("Recorded feedback on suggestion {}: {}.", s.number, feedback_label(s.feedback)))
        }
        ActivitiesCommand::Rates { year } => {
            let rates =
                rpc!(api, ConsultationServiceClient, get_adoption_rates, GetAdoptionRatesRequest { year }).await?;
            let total = rates.total.unwrap_or_default();
            if json {
                return json_out(
                    out,
                    &json!({
                        "year": rates.year,
                        "activities": rates.activities.iter().map(|a| json!({
                            "activity_id": a.activity_id,
                            "title": a.title,
                            "type": type_proto(a.r#type),
                            "rate": rate_json(&a.rate.unwrap_or_default()),
                        })).collect::<Vec<_>>(),
                        "types": rates.types.iter().map(|t| json!({
                            "type": type_proto(t.r#type),
                            "rate": rate_json(&t.rate.unwrap_or_default()),
                        })).collect::<Vec<_>>(),
                        "total": rate_json(&total),
                    }),
                );
            }
            let mut rows: Vec<Vec<String>> = rates
                .activities
                .iter()
                .map(|a| rate_row(a.title.clone(), type_text(a.r#type, ""), &a.rate.unwrap_or_default()))
                .collect();
            rows.extend(rates.types.iter().map(|t| {
                rate_row(format!("合计 {}", type_text(t.r#type, "")), String::new(), &t.rate.unwrap_or_default())
            }));
            rows.push(rate_row(format!("{}年 全年 total", rates.year), String::new(), &total));
            line(
                out,
                render::table(
                    [
                        "活动 activity",
                        "形式 type",
                        "建议 suggestions",
                        "已反馈 with feedback",
                        "采纳 adopted",
                        "采纳率 rate",
                    ],
                    rows,
                ),
            )
        }
    }
}

fn rate_row(name: String, kind: String, r: &AdoptionRate) -> Vec<String> {
    vec![
        name,
        kind,
        r.suggestions.to_string(),
        r.with_feedback.to_string(),
        format!("{} + {}", r.adopted, r.partly_adopted),
        flags::percent(r.rate),
    ]
}

/// The adoption rate of suggestions, as the server defines it:
/// (adopted + partly adopted) / those with feedback.
fn adoption(suggestions: &[Suggestion]) -> AdoptionRate {
    let count = |f: FeedbackResult| suggestions.iter().filter(|s| s.feedback == f as i32).count() as i32;
    let adopted = count(FeedbackResult::Adopted);
    let partly_adopted = count(FeedbackResult::PartlyAdopted);
    let not_adopted = count(FeedbackResult::NotAdopted);
    let with_feedback = adopted + partly_adopted + not_adopted;
    let rate = if with_feedback == 0 { 0.0 } else { f64::from(adopted + partly_adopted) / f64::from(with_feedback) };
    AdoptionRate { suggestions: suggestions.len() as i32, with_feedback, adopted, partly_adopted, not_adopted, rate }
}

fn rate_text(r: &AdoptionRate) -> String {
    if r.with_feedback == 0 {
        return format!("— ({} suggestion(s), no feedback yet)", r.suggestions);
    }
    format!(
        "{} ({} adopted + {} partly of {} with feedback; {} suggestion(s))",
        flags::percent(r.rate),
        r.adopted,
        r.partly_adopted,
        r.with_feedback,
        r.suggestions
    )
}

fn rate_json(r: &AdoptionRate) -> Value {
    json!({
        "suggestions": r.suggestions,
        "with_feedback": r.with_feedback,
        "adopted": r.adopted,
        "partly_adopted": r.partly_adopted,
        "not_adopted": r.not_adopted,
        "rate": r.rate,
    })
}

// ---- Supervision ----

async fn supervision(api: &mut Api, command: SupervisionCommand, json: bool, out: Out<'_>) -> Result<()> {
    match command {
        SupervisionCommand::Joint { command } => joint(api, command, json, out).await,
        SupervisionCommand::List { state } => {
            let request = ListSupervisionProjectsRequest { state: state.map(|s| s as i32).unwrap_or_default() };
            let projects = rpc!(api, SupervisionServiceClient, list_supervision_projects, request).await?.projects;
            if json {
                return json_out(out, &Value::Array(projects.iter().map(supervision_json).collect()));
            }
            if projects.is_empty() {
                return line(out, "No supervision projects found.");
            }
            line(
                out,
                render::table(
                    ["id", "监督议题 topic", "形式 kind", "期间 period", "状态 state", "问题 problems"],
                    projects.iter().map(|p| {
                        vec![
                            p.id.clone(),
                            p.topic.clone(),
                            supervision_kind_label(p.kind).to_owned(),
                            period(p),
                            supervision_state_label(p.state).to_owned(),
                            problems_text(p),
                        ]
                    }),
                ),
            )
        }
        SupervisionCommand::Show { id } => {
            let p = rpc!(api, SupervisionServiceClient, get_supervision_project, GetSupervisionProjectRequest { id })
                .await?;
            if json {
                return json_out(out, &supervision_json(&p));
            }
            let mut rows = vec![
                vec!["id".to_owned(), p.id.clone()],
                vec!["监督议题 topic".to_owned(), p.topic.clone()],
                vec!["形式 kind".to_owned(), supervision_kind_label(p.kind).to_owned()],
                vec!["期间 period".to_owned(), period(&p)],
                vec!["状态 state".to_owned(), supervision_state_label(p.state).to_owned()],
            ];
            if !p.report_summary.is_empty() {
                rows.push(vec!["报告 report".to_owned(), p.report_summary.clone()]);
            }
            let mut text = render::table(["field", "value"], rows);
            if !p.inspections.is_empty() {
                text.push_str("\n视察 inspections\n");
                text.push_str(&render::table(
                    ["日期 date", "地点 place", "参加 members", "发现 findings"],
                    p.inspections.iter().map(|i| {
                        vec![
                            render::date(i.date.as_ref()),
                            i.place.clone(),
                            i.member_names.join("、"),
                            i.findings.clone(),
                        ]
                    }),
                ));
            }
            if !p.problems.is_empty() {
                text.push_str("\n问题与整改 problems and rectification\n");
                text.push_str(&render::table(
                    ["#", "问题 problem", "建议 suggestion", "整改 rectification", "说明 note"],
                    p.problems.iter().map(|pr| {
                        let mut status = rectification_label(pr.rectification).to_owned();
                        let day = render::date(pr.rectified_date.as_ref());
                        if !day.is_empty() {
                            status.push_str(&format!(" {day}"));
                        }
                        vec![
                            pr.number.to_string(),
                            pr.problem.clone(),
                            pr.suggestion.clone(),
                            status,
                            pr.rectification_note.clone(),
                        ]
                    }),
                ));
            }
            line(out, text)
        }
    }
}

fn period(p: &SupervisionProject) -> String {
    format!("{} – {}", render::date(p.start_date.as_ref()), render::date(p.end_date.as_ref()))
}

/// "2 of 3 rectified", or empty before the report.
fn problems_text(p: &SupervisionProject) -> String {
    if p.problems.is_empty() {
        return String::new();
    }
    let done = p.problems.iter().filter(|pr| pr.rectification == RectificationStatus::Rectified as i32).count();
    format!("{done}/{} 已整改 rectified", p.problems.len())
}

// ---- Joint supervision ----

/// The caller's committee and every committee below it, by division code.
async fn own_subtree(api: &mut Api) -> Result<(Committee, Vec<Committee>)> {
    let who = rpc!(api, AuthServiceClient, who_am_i, WhoAmIRequest {}).await?;
    let Some(me) = who.committee else {
        bail!("joint supervision is run by a committee's office; sign in as a committee's staff");
    };
    let below = super::committees::subtree_all(api, &me.id).await?;
    Ok((me, below))
}

/// Resolves `--invite` codes to committees of the caller's subtree, refusing
/// any other committee before the server is asked.
fn resolve_invited(me: &Committee, below: &[Committee], codes: &[String]) -> Result<Vec<Committee>> {
    codes
        .iter()
        .map(|code| {
            if *code == me.code {
                bail!("--invite {code} is your own committee ({}); invite committees below it", me.name);
            }
            below.iter().find(|c| c.code == *code).cloned().ok_or_else(|| {
                anyhow!(
                    "--invite {code} is not a committee below {}: a joint project invites only committees of \
                     its own subtree (see `xieshang committees tree`)",
                    render::label(me)
                )
            })
        })
        .collect()
}

/// How far a participant is: the state, with ACCEPTED split by whether it has
/// inspected yet.
fn progress_label(p: &Participation) -> &'static str {
    match ParticipationState::try_from(p.state) {
        Ok(ParticipationState::Invited) => "待回复 invited",
        Ok(ParticipationState::Accepted) if p.inspections.is_empty() => "已接受 accepted",
        Ok(ParticipationState::Accepted) => "视察中 in progress",
        Ok(ParticipationState::Declined) => "已谢绝 declined",
        Ok(ParticipationState::Submitted) => "已提交 submitted",
        _ => "",
    }
}

/// The proto-style name of [`progress_label`], for JSON.
fn progress_name(p: &Participation) -> &'static str {
    match ParticipationState::try_from(p.state) {
        Ok(ParticipationState::Invited) => "INVITED",
        Ok(ParticipationState::Accepted) if p.inspections.is_empty() => "ACCEPTED",
        Ok(ParticipationState::Accepted) => "IN_PROGRESS",
        Ok(ParticipationState::Declined) => "DECLINED",
        Ok(ParticipationState::Submitted) => "SUBMITTED",
        _ => "",
    }
}

fn overdue_text(p: &Participation) -> &'static str {
    if p.overdue { "逾期 overdue" } else { "" }
}

fn participation_period(p: &Participation) -> String {
    format!("{} – {}", render::date(p.start_date.as_ref()), render::date(p.end_date.as_ref()))
}

async fn joint(api: &mut Api, command: JointCommand, json: bool, out: Out<'_>) -> Result<()> {
    match command {
        JointCommand::Create { topic, from, to, invite } => {
            let codes = invited_codes(&invite)?;
            let (me, below) = own_subtree(api).await?;
            let invited = resolve_invited(&me, &below, &codes)?;
            let request = CreateJointProjectRequest {
                topic: topic.trim().to_owned(),
                start_date: Some(from),
                end_date: Some(to),
                invited_committee_ids: invited.iter().map(|c| c.id.clone()).collect(),
            };
            let p = rpc!(api, SupervisionServiceClient, create_joint_project, request).await?;
            if json {
                let mut value = supervision_json(&p);
                value["invited"] = Value::Array(
                    invited.iter().map(|c| json!({"committee_id": c.id, "code": c.code, "name": c.name})).collect(),
                );
                return json_out(out, &value);
            }
            let mut text = format!(
                "Opened joint project {} 「{}」 ({}), {} committee(s) invited by {}:\n",
                p.id,
                p.topic,
                period(&p),
                invited.len(),
                me.name
            );
            text.push_str(&render::table(
                ["委员会 committee", "代码 code", "状态 state"],
                invited.iter().map(|c| vec![c.name.clone(), c.code.clone(), "待回复 invited".to_owned()]),
            ));
            text.push_str(&format!("\nFollow it with `xieshang supervision joint status {}`.", p.id));
            line(out, text)
        }
        JointCommand::Invite { project, invite } => {
            let more = if invite.is_empty() { String::new() } else { format!(" ({})", invite.join(",")) };
            bail!(
                "joint project {project}: committees are invited only when the project is opened — the \
                 SupervisionService has no call to add committees{more} later. Open the project with every \
                 committee at once: `xieshang supervision joint create --topic … --from … --to … --invite \
                 130500,130528`"
            )
        }
        JointCommand::List => {
            let request = ListSupervisionProjectsRequest::default();
            let projects: Vec<SupervisionProject> =
                rpc!(api, SupervisionServiceClient, list_supervision_projects, request)
                    .await?
                    .projects
                    .into_iter()
                    .filter(|p| p.kind == SupervisionKind::ThreeLevelJoint as i32)
                    .collect();
            let request = ListParticipationsRequest::default();
            let parts = rpc!(api, SupervisionServiceClient, list_participations, request).await?.participations;
            if json {
                return json_out(
                    out,
                    &json!({
                        "initiated": projects.iter().map(supervision_json).collect::<Vec<_>>(),
                        "invitations": parts.iter().map(participation_json).collect::<Vec<_>>(),
                    }),
                );
            }
            if projects.is_empty() && parts.is_empty() {
                return line(out, "No joint supervision projects or invitations.");
            }
            let mut text = String::new();
            if !projects.is_empty() {
                text.push_str("发起的联动监督 projects initiated\n");
                text.push_str(&render::table(
                    ["id", "监督议题 topic", "期间 period", "状态 state"],
                    projects.iter().map(|p| {
                        vec![p.id.clone(), p.topic.clone(), period(p), supervision_state_label(p.state).to_owned()]
                    }),
                ));
                text.push('\n');
            }
            if !parts.is_empty() {
                text.push_str("收到的邀请 invitations\n");
                text.push_str(&render::table(
                    ["id", "监督议题 topic", "发起 initiator", "期间 period", "状态 state", "逾期 overdue"],
                    parts.iter().map(|p| {
                        vec![
                            p.id.clone(),
                            p.topic.clone(),
                            p.initiator_name.clone(),
                            participation_period(p),
                            progress_label(p).to_owned(),
                            overdue_text(p).to_owned(),
                        ]
                    }),
                ));
            }
            line(out, text.trim_end())
        }
        JointCommand::Status { project } => {
            let request = GetJointProgressRequest { project_id: project };
            let progress = rpc!(api, SupervisionServiceClient, get_joint_progress, request).await?;
            let p = progress.project.clone().unwrap_or_default();
            if json {
                return json_out(out, &progress_json(&progress));
            }
            let header = render::table(
                ["field", "value"],
                [
                    vec!["id".to_owned(), p.id.clone()],
                    vec!["监督议题 topic".to_owned(), p.topic.clone()],
                    vec!["期间 period".to_owned(), period(&p)],
                    vec!["状态 state".to_owned(), supervision_state_label(p.state).to_owned()],
                    vec!["报告发布 report published".to_owned(), publication_text(&p)],
                    vec![
                        "进度 progress".to_owned(),
                        format!(
                            "邀请 {} · 接受 {} · 谢绝 {} · 提交 {} · 逾期 {}",
                            progress.invited_count,
                            progress.accepted_count,
                            progress.declined_count,
                            progress.submitted_count,
                            progress.overdue_count
                        ),
                    ],
                ],
            );
            let mut text = header;
            text.push_str("\n参加单位 participants\n");
            text.push_str(&render::table(
                [
                    "委员会 committee",
                    "状态 state",
                    "视察 inspections",
                    "回复 responded",
                    "提交 submitted",
                    "逾期 overdue",
                    "摘要或说明 summary / note",
                ],
                progress.participations.iter().map(|part| {
                    let summary =
                        if part.summary.is_empty() { part.response_note.clone() } else { part.summary.clone() };
                    vec![
                        part.committee_name.clone(),
                        progress_label(part).to_owned(),
                        part.inspections.len().to_string(),
                        render::local_time(part.respond_time.as_ref()),
                        render::local_time(part.submit_time.as_ref()),
                        overdue_text(part).to_owned(),
                        summary,
                    ]
                }),
            ));
            if !p.report_summary.is_empty() {
                text.push_str(&format!("\n联动监督报告 joint report\n{}\n", p.report_summary));
                text.push_str(&problems_table(&p));
            }
            line(out, text)
        }
        JointCommand::Show { participation } => {
            let request = GetParticipationRequest { id: participation };
            let p = rpc!(api, SupervisionServiceClient, get_participation, request).await?;
            if json {
                return json_out(out, &participation_json(&p));
            }
            line(out, participation_detail(&p))
        }
        JointCommand::Respond { participation, accept, note, .. } => {
            let request = RespondToInvitationRequest {
                id: participation,
                accept,
                note: note.unwrap_or_default().trim().to_owned(),
            };
            let p = rpc!(api, SupervisionServiceClient, respond_to_invitation, request).await?;
            if json {
                return json_out(out, &participation_json(&p));
            }
            let verb = if accept { "Accepted" } else { "Declined" };
            line(
                out,
                format!(
                    "{verb} the invitation of {} to 「{}」.\n{}",
                    p.initiator_name,
                    p.topic,
                    participation_detail(&p)
                ),
            )
        }
        JointCommand::Inspect { participation, date, place, members, findings } => {
            let request = AddParticipationInspectionRequest {
                participation_id: participation,
                inspection: Some(SupervisionInspection {
                    date: Some(date),
                    place: place.trim().to_owned(),
                    member_names: members.iter().map(|m| m.trim().to_owned()).collect(),
                    findings: findings.trim().to_owned(),
                    ..Default::default()
                }),
            };
            let p = rpc!(api, SupervisionServiceClient, add_participation_inspection, request).await?;
            if json {
                return json_out(out, &participation_json(&p));
            }
            line(out, format!("Recorded the inspection at {}.\n{}", place.trim(), participation_detail(&p)))
        }
        JointCommand::Submit { participation, summary } => {
            let request = SubmitParticipationRequest { id: participation, summary: summary.trim().to_owned() };
            let p = rpc!(api, SupervisionServiceClient, submit_participation, request).await?;
            if json {
                return json_out(out, &participation_json(&p));
            }
            line(
                out,
                format!(
                    "Submitted the findings of {} to {}.\n{}",
                    p.committee_name,
                    p.initiator_name,
                    participation_detail(&p)
                ),
            )
        }
        JointCommand::Publish { project } => {
            let request = PublishJointReportRequest { project_id: project };
            let progress = rpc!(api, SupervisionServiceClient, publish_joint_report, request).await?;
            if json {
                return json_out(out, &progress_json(&progress));
            }
            let p = progress.project.clone().unwrap_or_default();
            let mut text = format!(
                "已发布联动监督报告「{}」：送达 {} 个受邀委员会（{}），发布时间 {}。\n",
                p.topic,
                progress.invited_count,
                progress.participations.iter().map(|part| part.committee_name.as_str()).collect::<Vec<_>>().join("、"),
                render::local_time(p.report_publish_time.as_ref())
            );
            text.push_str(&problems_table(&p));
            text.push_str(
                "\n各参加单位用 `xieshang supervision joint show <participation-id>` 阅看；此后的整改进展不再同步到已发布的报告。",
            );
            line(out, text)
        }
        JointCommand::Report { project, summary, problems, suggestions } => {
            let request = FileSupervisionReportRequest {
                project_id: project,
                summary: summary.trim().to_owned(),
                problems: problems
                    .iter()
                    .zip(&suggestions)
                    .map(|(problem, suggestion)| NewSupervisionProblem {
                        problem: problem.trim().to_owned(),
                        suggestion: suggestion.trim().to_owned(),
                    })
                    .collect(),
            };
            let p = rpc!(api, SupervisionServiceClient, file_supervision_report, request).await?;
            if json {
                return json_out(out, &supervision_json(&p));
            }
            line(
                out,
                format!(
                    "Filed the joint report of 「{}」 with {} problem(s): {}.\n{}",
                    p.topic,
                    p.problems.len(),
                    supervision_state_label(p.state),
                    problems_table(&p)
                ),
            )
        }
    }
}

fn problems_table(p: &SupervisionProject) -> String {
    render::table(
        ["#", "问题 problem", "建议 suggestion", "整改 rectification"],
        p.problems.iter().map(|pr| {
            vec![
                pr.number.to_string(),
                pr.problem.clone(),
                pr.suggestion.clone(),
                rectification_label(pr.rectification).to_owned(),
            ]
        }),
    )
}

/// "已发布 <time>", "未发布 not published" once reported, or empty before.
fn publication_text(p: &SupervisionProject) -> String {
    match &p.report_publish_time {
        Some(t) => format!("已发布 published {}", render::local_time(Some(t))),
        None if p.report_summary.is_empty() => "—".to_owned(),
        None => "未发布 not published (`xieshang supervision joint publish`)".to_owned(),
    }
}

fn progress_json(progress: &JointProgress) -> Value {
    let p = progress.project.clone().unwrap_or_default();
    json!({
        "project": supervision_json(&p),
        "invited_count": progress.invited_count,
        "accepted_count": progress.accepted_count,
        "declined_count": progress.declined_count,
        "submitted_count": progress.submitted_count,
        "overdue_count": progress.overdue_count,
        "participations": progress.participations.iter().map(participation_json).collect::<Vec<_>>(),
    })
}

/// The published joint report, as a participant reads it.
fn joint_report_text(r: &JointReport) -> String {
    let mut text = format!(
        "联动监督报告 joint report — {} 发布于 {}\n{}\n",
        r.initiator_name,
        render::local_time(r.publish_time.as_ref()),
        r.summary
    );
    text.push_str(&render::table(
        ["#", "问题 problem", "建议 suggestion", "整改（发布时）rectification as published"],
        r.problems.iter().map(|pr| {
            vec![
                pr.number.to_string(),
                pr.problem.clone(),
                pr.suggestion.clone(),
                rectification_label(pr.rectification).to_owned(),
            ]
        }),
    ));
    text
}

fn joint_report_json(r: &JointReport) -> Value {
    json!({
        "project_id": r.project_id,
        "initiator_committee_id": r.initiator_committee_id,
        "initiator_name": r.initiator_name,
        "topic": r.topic,
        "summary": r.summary,
        "report_time": render::time_json(r.report_time.as_ref()),
        "publish_time": render::time_json(r.publish_time.as_ref()),
        "problems": r.problems.iter().map(|pr| json!({
            "number": pr.number,
            "problem": pr.problem,
            "suggestion": pr.suggestion,
            "rectification": RectificationStatus::try_from(pr.rectification).map(|r| r.as_str_name()).unwrap_or_default(),
            "rectified_date": render::date(pr.rectified_date.as_ref()),
            "rectification_note": pr.rectification_note,
        })).collect::<Vec<_>>(),
    })
}

/// One participation, as its committee sees it.
fn participation_detail(p: &Participation) -> String {
    let mut rows = vec![
        vec!["id".to_owned(), p.id.clone()],
        vec!["监督议题 topic".to_owned(), p.topic.clone()],
        vec!["发起 initiator".to_owned(), p.initiator_name.clone()],
        vec!["参加 participant".to_owned(), p.committee_name.clone()],
        vec!["期间 period".to_owned(), participation_period(p)],
        vec!["状态 state".to_owned(), format!("{} {}", progress_label(p), overdue_text(p)).trim().to_owned()],
    ];
    if !p.response_note.is_empty() {
        rows.push(vec!["回复 note".to_owned(), p.response_note.clone()]);
    }
    if !p.summary.is_empty() {
        rows.push(vec!["摘要 summary".to_owned(), p.summary.clone()]);
    }
    let mut text = render::table(["field", "value"], rows);
    if !p.inspections.is_empty() {
        text.push_str("\n视察 inspections\n");
        text.push_str(&render::table(
            ["日期 date", "地点 place", "参加 members", "发现 findings"],
            p.inspections.iter().map(|i| {
                vec![render::date(i.date.as_ref()), i.place.clone(), i.member_names.join("、"), i.findings.clone()]
            }),
        ));
    }
    match &p.joint_report {
        Some(report) => {
            text.push('\n');
            text.push_str(&joint_report_text(report));
        }
        None => text.push_str(&format!("\n联动监督报告 joint report: {} 尚未发布 not published yet", p.initiator_name)),
    }
    text
}

fn participation_json(p: &Participation) -> Value {
    json!({
        "id": p.id,
        "project_id": p.project_id,
        "committee_id": p.committee_id,
        "committee_name": p.committee_name,
        "initiator_committee_id": p.initiator_committee_id,
        "initiator_name": p.initiator_name,
        "topic": p.topic,
        "start_date": render::date(p.start_date.as_ref()),
        "end_date": render::date(p.end_date.as_ref()),
        "state": ParticipationState::try_from(p.state).map(|s| s.as_str_name()).unwrap_or_default(),
        "progress": progress_name(p),
        "overdue": p.overdue,
        "response_note": p.response_note,
        "summary": p.summary,
        "respond_time": render::time_json(p.respond_time.as_ref()),
        "submit_time": render::time_json(p.submit_time.as_ref()),
        "joint_report": p.joint_report.as_ref().map(joint_report_json),
        "inspections": p.inspections.iter().map(|i| json!({
            "date": render::date(i.date.as_ref()),
            "place": i.place,
            "member_names": i.member_names,
            "findings": i.findings,
        })).collect::<Vec<_>>(),
    })
}

// ---- Statistics ----

async fn stats(api: &mut Api, year: i32, json: bool, out: Out<'_>) -> Result<()> {
    let request = GetConsultationStatisticsRequest { year };
    let s = rpc!(api, ConsultationServiceClient, get_consultation_statistics, request).await?;
    if json {
        return json_out(out, &statistics_json(&s));
    }
    line(out, statistics_text(&s))
}

/// The figures as tables, one per area, in the order the offices report them.
fn statistics_text(s: &ConsultationStatistics) -> String {
    let plan = s.plan.clone().unwrap_or_default();
    let attendance = s.attendance.unwrap_or_default();
    let suggestions = s.suggestions.unwrap_or_default();
    let quality = s.quality.unwrap_or_default();
    let sv = s.supervision.unwrap_or_default();
    let figure = |k: &str, v: String| vec![k.to_owned(), v];
    let mut text = format!("{}年 协商监督统计 consultation and supervision figures\n", s.year);

    text.push_str("\n议题征集 topics by source\n");
    let mut rows: Vec<Vec<String>> = s
        .topics_by_source
        .iter()
        .map(|t| {
            vec![
                source_label(t.source).to_owned(),
                t.submitted.to_string(),
                t.selected.to_string(),
                t.not_selected.to_string(),
                (t.submitted - t.selected - t.not_selected).to_string(),
            ]
        })
        .collect();
    let not_selected: i32 = s.topics_by_source.iter().map(|t| t.not_selected).sum();
    rows.push(vec![
        "合计 total".to_owned(),
        s.topics.to_string(),
        s.topics_selected.to_string(),
        not_selected.to_string(),
        (s.topics - s.topics_selected - not_selected).to_string(),
    ]);
    text.push_str(&render::table(
        ["来源 source", "征集 submitted", "入选 selected", "未入选 not selected", "待遴选 proposed"],
        rows,
    ));

    text.push_str("\n\n年度协商计划 annual plan\n");
    let state = if plan.state == PlanState::Unspecified as i32 {
        "无计划 no plan".to_owned()
    } else {
        plan_state_label(plan.state).to_owned()
    };
    let mut rows = vec![
        figure("状态 state", state),
        figure("计划项目 items", plan.items.to_string()),
        figure("已开展 items with an activity", plan.items_with_activity.to_string()),
        figure("调整 amendments", plan.amendments.to_string()),
    ];
    rows.extend(plan.items_by_type.iter().map(|t| figure(&format!("  {}", type_label(t.r#type)), t.items.to_string())));
    text.push_str(&render::table(["项目 figure", "数 value"], rows));

    text.push_str("\n\n协商活动 activities by type\n");
    let mut rows: Vec<Vec<String>> = s
        .activities_by_type
        .iter()
        .map(|a| vec![type_label(a.r#type).to_owned(), a.activities.to_string(), a.held.to_string()])
        .collect();
    rows.push(vec!["合计 total".to_owned(), s.activities.to_string(), s.activities_held.to_string()]);
    text.push_str(&render::table(["形式 type", "活动 activities", "已召开 held"], rows));

    text.push_str("\n\n会议出勤 attendance\n");
    text.push_str(&render::table(
        ["项目 figure", "数 value"],
        [
            figure("会议 meetings", attendance.meetings.to_string()),
            figure("应到人次 invitations", attendance.invitations.to_string()),
            figure("出席 present", attendance.present.to_string()),
            figure("请假 on leave", attendance.on_leave.to_string()),
            figure("缺席 absent", attendance.absent.to_string()),
            figure("未登记 unrecorded", attendance.unrecorded.to_string()),
            figure("出勤率 attendance rate", flags::percent(attendance.attendance_rate)),
        ],
    ));

    text.push_str("\n\n建议与采纳 suggestions and adoption\n");
    text.push_str(&render::table(
        ["项目 figure", "数 value"],
        [
            figure("建议 suggestions", suggestions.total.to_string()),
            figure("采纳 adopted", suggestions.adopted.to_string()),
            figure("部分采纳 partly adopted", suggestions.partly_adopted.to_string()),
            figure("未采纳 not adopted", suggestions.not_adopted.to_string()),
            figure("待反馈 awaiting feedback", suggestions.awaiting.to_string()),
            figure("采纳率 adoption rate", flags::percent(suggestions.adoption_rate)),
        ],
    ));

    text.push_str("\n\n质量评价 quality\n");
    let average =
        if quality.scored_activities == 0 { "—".to_owned() } else { format!("{:.2}", quality.average_score) };
    text.push_str(&render::table(
        ["项目 figure", "数 value"],
        [
            figure("已评分活动 scored activities", quality.scored_activities.to_string()),
            figure("平均分 average score", average),
        ],
    ));

    text.push_str("\n\n民主监督与整改 supervision and rectification\n");
    text.push_str(&render::table(
        ["项目 figure", "数 value"],
        [
            figure("监督项目 projects", sv.projects.to_string()),
            figure("已报告 reported", sv.reported_projects.to_string()),
            figure("参加联动 joint parts", sv.joint_parts.to_string()),
            figure("已提交 joint parts submitted", sv.joint_parts_submitted.to_string()),
            figure("视察 inspections", sv.inspections.to_string()),
            figure("问题 problems", sv.problems.to_string()),
            figure("已整改 rectified", sv.rectified.to_string()),
            figure("整改中 in progress", sv.in_progress.to_string()),
            figure("待整改 open", sv.open.to_string()),
            figure("未整改 not rectified", sv.not_rectified.to_string()),
            figure("整改率 rectification rate", flags::percent(sv.rectification_rate)),
        ],
    ));
    text
}

fn statistics_json(s: &ConsultationStatistics) -> Value {
    let plan = s.plan.clone().unwrap_or_default();
    let attendance = s.attendance.unwrap_or_default();
    let suggestions = s.suggestions.unwrap_or_default();
    let quality = s.quality.unwrap_or_default();
    let sv = s.supervision.unwrap_or_default();
    json!({
        "committee_id": s.committee_id,
        "year": s.year,
        "topics": s.topics,
        "topics_selected": s.topics_selected,
        "topics_by_source": s.topics_by_source.iter().map(|t| json!({
            "source": TopicSource::try_from(t.source).map(|x| x.as_str_name()).unwrap_or_default(),
            "submitted": t.submitted,
            "selected": t.selected,
            "not_selected": t.not_selected,
        })).collect::<Vec<_>>(),
        "plan": {
            "state": PlanState::try_from(plan.state).map(|x| x.as_str_name()).unwrap_or_default(),
            "items": plan.items,
            "items_with_activity": plan.items_with_activity,
            "amendments": plan.amendments,
            "items_by_type": plan.items_by_type.iter().map(|t| json!({
                "type": type_proto(t.r#type), "items": t.items,
            })).collect::<Vec<_>>(),
        },
        "activities": s.activities,
        "activities_held": s.activities_held,
        "activities_by_type": s.activities_by_type.iter().map(|a| json!({
            "type": type_proto(a.r#type), "activities": a.activities, "held": a.held,
        })).collect::<Vec<_>>(),
        "attendance": {
            "meetings": attendance.meetings,
            "invitations": attendance.invitations,
            "present": attendance.present,
            "on_leave": attendance.on_leave,
            "absent": attendance.absent,
            "unrecorded": attendance.unrecorded,
            "attendance_rate": attendance.attendance_rate,
        },
        "suggestions": {
            "total": suggestions.total,
            "adopted": suggestions.adopted,
            "partly_adopted": suggestions.partly_adopted,
            "not_adopted": suggestions.not_adopted,
            "awaiting": suggestions.awaiting,
            "adoption_rate": suggestions.adoption_rate,
        },
        "quality": {
            "scored_activities": quality.scored_activities,
            "average_score": quality.average_score,
        },
        "supervision": {
            "projects": sv.projects,
            "reported_projects": sv.reported_projects,
            "joint_parts": sv.joint_parts,
            "joint_parts_submitted": sv.joint_parts_submitted,
            "inspections": sv.inspections,
            "problems": sv.problems,
            "rectified": sv.rectified,
            "in_progress": sv.in_progress,
            "open": sv.open,
            "not_rectified": sv.not_rectified,
            "rectification_rate": sv.rectification_rate,
        },
    })
}

// ---- Names ----

fn source_label(s: i32) -> &'static str {
    match TopicSource::try_from(s) {
        Ok(TopicSource::PartyGovernment) => "党政点题",
        Ok(TopicSource::Public) => "群众出题",
        Ok(TopicSource::Member) => "委员荐题",
        Ok(TopicSource::Committee) => "政协选题",
        _ => "",
    }
}

fn topic_state_label(s: i32) -> &'static str {
    match TopicState::try_from(s) {
        Ok(TopicState::Proposed) => "待遴选 proposed",
        Ok(TopicState::Selected) => "入选 selected",
        Ok(TopicState::NotSelected) => "未入选 not selected",
        _ => "",
    }
}

fn plan_state_label(s: i32) -> &'static str {
    match PlanState::try_from(s) {
        Ok(PlanState::Draft) => "起草 draft",
        Ok(PlanState::Submitted) => "报批 submitted",
        Ok(PlanState::Approved) => "已批准 approved",
        Ok(PlanState::Returned) => "退回 returned",
        Ok(PlanState::Published) => "已发布 published",
        _ => "",
    }
}

fn type_label(t: i32) -> &'static str {
    match ConsultationType::try_from(t) {
        Ok(ConsultationType::Plenary) => "全体会议协商",
        Ok(ConsultationType::StandingCommitteeTopic) => "专题议政性常委会议",
        Ok(ConsultationType::PleaseConsult) => "请你来协商",
        Ok(ConsultationType::Counterpart) => "对口协商",
        Ok(ConsultationType::SectorRoundTable) => "界别协商",
        Ok(ConsultationType::ProposalHandling) => "提案办理协商",
        Ok(ConsultationType::Grassroots) => "基层协商",
        Ok(ConsultationType::Other) => "其他",
        _ => "",
    }
}

/// The type's Chinese name, or the label of an OTHER form.
fn type_text(t: i32, label: &str) -> String {
    if t == ConsultationType::Other as i32 && !label.is_empty() { label.to_owned() } else { type_label(t).to_owned() }
}

fn type_proto(t: i32) -> &'static str {
    ConsultationType::try_from(t).map(|t| t.as_str_name()).unwrap_or_default()
}

fn stage_label(s: i32) -> &'static str {
    match ActivityStage::try_from(s) {
        Ok(ActivityStage::Research) => "调研 research",
        Ok(ActivityStage::Meeting) => "协商会议 meeting",
        Ok(ActivityStage::Report) => "成果报送 report",
        Ok(ActivityStage::Feedback) => "反馈 feedback",
        Ok(ActivityStage::FollowUp) => "跟踪落实 follow-up",
        _ => "",
    }
}

fn feedback_label(f: i32) -> &'static str {
    match FeedbackResult::try_from(f) {
        Ok(FeedbackResult::Adopted) => "采纳 adopted",
        Ok(FeedbackResult::PartlyAdopted) => "部分采纳 partly adopted",
        Ok(FeedbackResult::NotAdopted) => "未采纳 not adopted",
        _ => "待反馈 waiting",
    }
}

fn supervision_kind_label(k: i32) -> &'static str {
    match SupervisionKind::try_from(k) {
        Ok(SupervisionKind::SpecialCollective) => "专项集体民主监督",
        Ok(SupervisionKind::ChairsMeetingInspection) => "主席会议视察",
        Ok(SupervisionKind::StationedMembers) => "委员驻点监督",
        Ok(SupervisionKind::ThreeLevelJoint) => "三级政协联动",
        _ => "",
    }
}

fn supervision_state_label(s: i32) -> &'static str {
    match SupervisionState::try_from(s) {
        Ok(SupervisionState::Planned) => "计划 planned",
        Ok(SupervisionState::Ongoing) => "进行中 ongoing",
        Ok(SupervisionState::Reported) => "已报告 reported",
        Ok(SupervisionState::Closed) => "已结束 closed",
        _ => "",
    }
}

fn rectification_label(s: i32) -> &'static str {
    match RectificationStatus::try_from(s) {
        Ok(RectificationStatus::Open) => "待整改 open",
        Ok(RectificationStatus::InProgress) => "整改中 in progress",
        Ok(RectificationStatus::Rectified) => "已整改 rectified",
        Ok(RectificationStatus::NotRectified) => "未整改 not rectified",
        _ => "",
    }
}

// ---- Parsers ----

fn parse_source(text: &str) -> Result<TopicSource, String> {
    match text.trim() {
        "党政点题" | "党政" => return Ok(TopicSource::PartyGovernment),
        "群众出题" | "群众" => return Ok(TopicSource::Public),
        "委员荐题" | "委员" => return Ok(TopicSource::Member),
        "政协选题" | "政协" => return Ok(TopicSource::Committee),
        _ => {}
    }
    flags::parse_enum(
        text,
        "TOPIC_SOURCE_",
        TopicSource::from_str_name,
        |s| s == TopicSource::Unspecified,
        "party-government, public, member or committee (or 党政点题, 群众出题, 委员荐题, 政协选题)",
    )
}

fn parse_topic_state(text: &str) -> Result<TopicState, String> {
    flags::parse_enum(
        text,
        "TOPIC_STATE_",
        TopicState::from_str_name,
        |s| s == TopicState::Unspecified,
        "proposed, selected or not-selected",
    )
}

fn parse_verdict(text: &str) -> Result<ScreeningVerdict, String> {
    match text.trim() {
        "入选" => return Ok(ScreeningVerdict::Selected),
        "未入选" => return Ok(ScreeningVerdict::NotSelected),
        _ => {}
    }
    flags::parse_enum(
        text,
        "SCREENING_VERDICT_",
        ScreeningVerdict::from_str_name,
        |v| v == ScreeningVerdict::Unspecified,
        "selected or not-selected (入选, 未入选)",
    )
}

fn parse_type(text: &str) -> Result<ConsultationType, String> {
    let chinese = match text.trim() {
        "全体会议" | "全体会议协商" => Some(ConsultationType::Plenary),
        "专题议政性常委会议" | "常委会议" => Some(ConsultationType::StandingCommitteeTopic),
        "请你来协商" => Some(ConsultationType::PleaseConsult),
        "对口协商" => Some(ConsultationType::Counterpart),
        "界别协商" | "界别圆桌会" => Some(ConsultationType::SectorRoundTable),
        "提案办理协商" => Some(ConsultationType::ProposalHandling),
        "基层协商" => Some(ConsultationType::Grassroots),
        "其他" => Some(ConsultationType::Other),
        _ => None,
    };
    if let Some(t) = chinese {
        return Ok(t);
    }
    flags::parse_enum(
        text,
        "CONSULTATION_TYPE_",
        ConsultationType::from_str_name,
        |t| t == ConsultationType::Unspecified,
        "plenary, standing-committee-topic, please-consult, counterpart, sector-round-table, \
         proposal-handling, grassroots or other (or 全体会议, 请你来协商, 对口协商, 界别协商, 基层协商…)",
    )
}

fn parse_feedback(text: &str) -> Result<FeedbackResult, String> {
    match text.trim() {
        "采纳" => return Ok(FeedbackResult::Adopted),
        "部分采纳" => return Ok(FeedbackResult::PartlyAdopted),
        "未采纳" => return Ok(FeedbackResult::NotAdopted),
        _ => {}
    }
    flags::parse_enum(
        text,
        "FEEDBACK_RESULT_",
        FeedbackResult::from_str_name,
        |f| f == FeedbackResult::Unspecified,
        "adopted, partly-adopted or not-adopted (采纳, 部分采纳, 未采纳)",
    )
}

fn parse_supervision_state(text: &str) -> Result<SupervisionState, String> {
    flags::parse_enum(
        text,
        "SUPERVISION_STATE_",
        SupervisionState::from_str_name,
        |s| s == SupervisionState::Unspecified,
        "planned, ongoing, reported or closed",
    )
}

// ---- JSON ----

fn topic_json(t: &Topic) -> Value {
    json!({
        "id": t.id,
        "title": t.title,
        "rationale": t.rationale,
        "source": TopicSource::try_from(t.source).map(|s| s.as_str_name()).unwrap_or_default(),
        "submitter_name": t.submitter_name,
        "state": TopicState::try_from(t.state).map(|s| s.as_str_name()).unwrap_or_default(),
        "endorsement_count": t.endorsement_count,
        "endorsed_by_me": t.endorsed_by_me,
        "screening": t.screening.as_ref().map(|s| json!({
            "party_government_need": s.party_government_need,
            "public_expectation": s.public_expectation,
            "committee_capacity": s.committee_capacity,
        })),
        "tracking_code": t.tracking_code,
    })
}

fn plan_json(p: &Plan) -> Value {
    json!({
        "id": p.id,
        "year": p.year,
        "state": PlanState::try_from(p.state).map(|s| s.as_str_name()).unwrap_or_default(),
        "return_comments": p.return_comments,
        "amendment_count": p.amendment_count,
        "items": p.items.iter().map(|i| json!({
            "id": i.id,
            "topic_id": i.topic_id,
            "title": i.title,
            "type": type_proto(i.r#type),
            "type_label": i.type_label,
            "lead_committee": i.lead_committee,
            "planned_month": i.planned_month,
            "participating_units": i.participating_units,
        })).collect::<Vec<_>>(),
    })
}

fn activity_json(a: &Activity) -> Value {
    json!({
        "id": a.id,
        "title": a.title,
        "type": type_proto(a.r#type),
        "type_label": a.type_label,
        "department": a.department,
        "plan_item_id": a.plan_item_id,
        "year": a.year,
        "stage": ActivityStage::try_from(a.stage).map(|s| s.as_str_name()).unwrap_or_default(),
        "visits": a.visits.iter().map(|v| json!({
            "id": v.id,
            "date": render::date(v.date.as_ref()),
            "place": v.place,
            "note": v.note,
        })).collect::<Vec<_>>(),
    })
}

fn suggestion_json(s: &Suggestion) -> Value {
    json!({
        "id": s.id,
        "activity_id": s.activity_id,
        "number": s.number,
        "text": s.text,
        "feedback": FeedbackResult::try_from(s.feedback).map(|f| f.as_str_name()).unwrap_or_default(),
        "feedback_note": s.feedback_note,
    })
}

fn supervision_json(p: &SupervisionProject) -> Value {
    json!({
        "id": p.id,
        "kind": SupervisionKind::try_from(p.kind).map(|k| k.as_str_name()).unwrap_or_default(),
        "topic": p.topic,
        "start_date": render::date(p.start_date.as_ref()),
        "end_date": render::date(p.end_date.as_ref()),
        "state": SupervisionState::try_from(p.state).map(|s| s.as_str_name()).unwrap_or_default(),
        "report_summary": p.report_summary,
        "report_publish_time": render::time_json(p.report_publish_time.as_ref()),
        "inspections": p.inspections.iter().map(|i| json!({
            "date": render::date(i.date.as_ref()),
            "place": i.place,
            "member_names": i.member_names,
            "findings": i.findings,
        })).collect::<Vec<_>>(),
        "problems": p.problems.iter().map(|pr| json!({
            "number": pr.number,
            "problem": pr.problem,
            "suggestion": pr.suggestion,
            "rectification": RectificationStatus::try_from(pr.rectification).map(|r| r.as_str_name()).unwrap_or_default(),
            "rectified_date": render::date(pr.rectified_date.as_ref()),
            "rectification_note": pr.rectification_note,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_english_and_chinese() {
        assert_eq!(parse_type("对口协商"), Ok(ConsultationType::Counterpart));
        assert_eq!(parse_type("please-consult"), Ok(ConsultationType::PleaseConsult));
        assert!(parse_type("座谈").unwrap_err().contains("counterpart"));
        assert_eq!(parse_source("委员荐题"), Ok(TopicSource::Member));
        assert_eq!(parse_source("party-government"), Ok(TopicSource::PartyGovernment));
        assert_eq!(parse_verdict("not-selected"), Ok(ScreeningVerdict::NotSelected));
        assert_eq!(parse_feedback("部分采纳"), Ok(FeedbackResult::PartlyAdopted));
        assert_eq!(parse_supervision_state("closed"), Ok(SupervisionState::Closed));
        assert!(parse_topic_state("unspecified").is_err());
    }

    #[test]
    fn invited_codes_split_on_commas_and_refuse_bad_ones() {
        let flag = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(invited_codes(&flag(&["130500,130528", "130522"])).unwrap(), ["130500", "130528", "130522"]);
        assert_eq!(invited_codes(&flag(&["130500，130528、130522"])).unwrap().len(), 3);
        assert!(invited_codes(&flag(&["13052"])).unwrap_err().to_string().contains("not a division code"));
        assert!(invited_codes(&flag(&["130528", "130528"])).unwrap_err().to_string().contains("twice"));
        assert!(invited_codes(&flag(&[" , "])).is_err());
    }

    #[test]
    fn adoption_counts_only_suggestions_with_feedback() {
        let s = |f: FeedbackResult| Suggestion { feedback: f as i32, ..Default::default() };
        let rate = adoption(&[
            s(FeedbackResult::Adopted),
            s(FeedbackResult::PartlyAdopted),
            s(FeedbackResult::NotAdopted),
            s(FeedbackResult::Unspecified),
        ]);
        assert_eq!((rate.suggestions, rate.with_feedback), (4, 3));
        assert!((rate.rate - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(adoption(&[]).rate, 0.0);
        assert!(rate_text(&rate).starts_with("66.7%"));
    }
}
