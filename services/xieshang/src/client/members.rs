//! `xieshang members …` and `xieshang reporting stats`: the roster and the
//! annual reporting campaign, for the committee office.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use xieshang_proto::membership::v1::import_members_response::Message as ImportMessage;
use xieshang_proto::membership::v1::membership_service_client::MembershipServiceClient;
use xieshang_proto::membership::v1::reporting_service_client::ReportingServiceClient;
use xieshang_proto::membership::v1::{
    ExportMembersRequest, GetReportingStatisticsRequest, ImportMembersRequest, ImportReport, ListMembersRequest,
    Member, MemberStatus, PartyAffiliation, RosterFormat,
};

use super::api::{Api, ApiError};
use super::auth::signed_in;
use super::render::{self, json_out, line};
use super::{MembersArgs, MembersCommand, Out, ReportingArgs, ReportingCommand};

/// Every page of ListMembers.
async fn list_all(api: &mut Api, mut request: ListMembersRequest) -> Result<Vec<Member>, ApiError> {
    let mut all = Vec::new();
    request.page_size = 500;
    loop {
        let page = rpc!(api, MembershipServiceClient, list_members, request.clone()).await?;
        all.extend(page.members);
        if page.next_page_token.is_empty() || page.next_page_token == request.page_token {
            return Ok(all);
        }
        request.page_token = page.next_page_token;
    }
}

/// The committee id for `--committee CODE`, or the signed-in user's own.
async fn committee_id(api: &mut Api, code: Option<String>) -> Result<String> {
    let code = match code {
        Some(code) => code,
        None => api.session().map(|s| s.committee_code.clone()).unwrap_or_default(),
    };
    if code.is_empty() {
        bail!("name the committee with --committee CODE");
    }
    Ok(super::committees::get_by_code(api, &code).await?.id)
}

pub async fn run(args: MembersArgs, out: Out<'_>) -> Result<()> {
    let json = args.common.json;
    let command = match args.command {
        MembersCommand::Projects { command } => return super::performance::projects(&args.common, command, out).await,
        MembersCommand::Assessment { command } => {
            return super::performance::assessment(&args.common, command, out).await;
        }
        MembersCommand::Studios { command } => return super::studios::run(&args.common, command, out).await,
        command => command,
    };
    let mut api = signed_in(&args.common).await?;
    match command {
        MembersCommand::List { name, all } => {
            let request = ListMembersRequest {
                name_contains: name.unwrap_or_default(),
                status: if all { 0 } else { MemberStatus::Serving as i32 },
                ..Default::default()
            };
            let members = list_all(&mut api, request).await?;
            if json {
                return json_out(out, &Value::Array(members.iter().map(member_json).collect()));
            }
            if members.is_empty() {
                return line(out, "No members found.");
            }
            line(
                out,
                render::table(
                    ["name", "party", "work unit", "title", "phone", "status"],
                    members.iter().map(|m| {
                        vec![
                            m.name.clone(),
                            party_name(m.party).to_owned(),
                            m.work_unit.clone(),
                            m.title.clone(),
                            m.phone.clone(),
                            status_name(m.status).to_owned(),
                        ]
                    }),
                ),
            )?;
            line(out, format!("{} members.", members.len()))
        }
        MembersCommand::Import { file, dry_run } => import(&mut api, &file, dry_run, json, out).await,
        MembersCommand::Export { file, reveal } => {
            let request = ExportMembersRequest { reveal_personal_information: reveal };
            let export = rpc!(api, MembershipServiceClient, export_members, request).await?;
            std::fs::write(&file, &export.content).with_context(|| format!("cannot write {}", file.display()))?;
            line(out, format!("Wrote the roster to {} ({} bytes).", file.display(), export.content.len()))
        }
        MembersCommand::Projects { .. } | MembersCommand::Assessment { .. } | MembersCommand::Studios { .. } => {
            unreachable!("handled above")
        }
    }
}

async fn import(api: &mut Api, file: &Path, dry_run: bool, json: bool, out: Out<'_>) -> Result<()> {
    let format = match file.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("xlsx") => RosterFormat::Xlsx,
        Some("csv") => RosterFormat::Csv,
        _ => bail!("{}: the roster must be an .xlsx or a .csv file", file.display()),
    };
    let content = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let request = ImportMembersRequest { format: format as i32, content, dry_run, progress_every: 100 };
    let mut stream = rpc!(api, MembershipServiceClient, import_members, request).await?;
    let mut report: Option<ImportReport> = None;
    let mut stderr = std::io::stderr();
    while let Some(message) = stream.message().await.map_err(|s| ApiError::from_status(&s, api.server()))? {
        match message.message {
            Some(ImportMessage::Progress(p)) if !json => {
                let _ = write!(stderr, "\r  {} / {} rows", p.rows_done, p.rows_total);
            }
            Some(ImportMessage::Report(r)) => report = Some(r),
            _ => {}
        }
    }
    if !json {
        let _ = writeln!(stderr);
    }
    let Some(report) = report else { bail!("the server ended the import without a report") };
    if json {
        return json_out(
            out,
            &json!({
                "dry_run": report.dry_run,
                "rows_total": report.rows_total,
                "rows_valid": report.rows_valid,
                "committed": report.committed,
                "members_created": report.members_created,
                "errors": report.errors.iter().map(|e| json!({"row": e.row, "column": e.column, "message": e.message})).collect::<Vec<_>>(),
            }),
        );
    }
    for error in &report.errors {
        line(out, &error.message)?;
    }
    let verdict = match (report.dry_run, report.committed, report.errors.is_empty()) {
        (true, _, true) => format!("Dry run: all {} rows are valid; nothing was written.", report.rows_total),
        (true, _, false) => format!(
            "Dry run: {} of {} rows have errors; nothing was written.",
            report.rows_total - report.rows_valid,
            report.rows_total
        ),
        (false, true, _) => format!("Imported {} members.", report.members_created),
        (false, false, _) => format!(
            "Nothing was imported: {} of {} rows have errors (the import is all or nothing).",
            report.rows_total - report.rows_valid,
            report.rows_total
        ),
    };
    line(out, verdict)?;
    if !report.dry_run && !report.committed {
        bail!("import refused");
    }
    Ok(())
}

pub async fn run_reporting(args: ReportingArgs, out: Out<'_>) -> Result<()> {
    let json = args.common.json;
    let mut api = signed_in(&args.common).await?;
    match args.command {
        ReportingCommand::Stats { committee, year } => {
            let committee_id = committee_id(&mut api, committee).await?;
            let request = GetReportingStatisticsRequest { committee_id, year };
            let s = rpc!(api, ReportingServiceClient, get_reporting_statistics, request).await?;
            let d = s.distribution.unwrap_or_default();
            if json {
                return json_out(
                    out,
                    &json!({
                        "year": s.year,
                        "members_due": s.members_due,
                        "reported_on_site": s.reported_on_site,
                        "reported_by_video": s.reported_by_video,
                        "not_reported": s.not_reported,
                        "on_site_rate_percent": s.on_site_rate_percent,
                        "scored_at_least_90": s.scored_at_least_90,
                        "excellence_rate_percent": s.excellence_rate_percent,
                        "distribution": [d.below_60, d.from_60_to_69, d.from_70_to_79, d.from_80_to_89, d.at_least_90],
                        "sessions": s.sessions,
                        "make_up_sessions": s.make_up_sessions,
                        "suggestions_raised": s.suggestions_raised,
                        "suggestions_forwarded": s.suggestions_forwarded,
                        "suggestions_adopted": s.suggestions_adopted,
                    }),
                );
            }
            let rows: Vec<(String, String)> = vec![
                ("委员应述职 members due".into(), s.members_due.to_string()),
                ("现场述职 reported on site".into(), s.reported_on_site.to_string()),
                ("视频述职 reported by video".into(), s.reported_by_video.to_string()),
                ("未述职 not reported".into(), s.not_reported.to_string()),
                ("现场述职率 on-site rate".into(), format!("{:.2}%", s.on_site_rate_percent)),
                ("90分以上 scored ≥ 90".into(), s.scored_at_least_90.to_string()),
                ("优秀率 excellence rate".into(), format!("{:.2}%", s.excellence_rate_percent)),
                (
                    "分数分布 <60 / 60s / 70s / 80s / ≥90".into(),
                    format!(
                        "{} / {} / {} / {} / {}",
                        d.below_60, d.from_60_to_69, d.from_70_to_79, d.from_80_to_89, d.at_least_90
                    ),
                ),
                ("述职会 sessions (make-up)".into(), format!("{} ({})", s.sessions, s.make_up_sessions)),
                (
                    "意见建议 raised / forwarded / adopted".into(),
                    format!("{} / {} / {}", s.suggestions_raised, s.suggestions_forwarded, s.suggestions_adopted),
                ),
            ];
            line(out, render::table(["figure", s.year.to_string().as_str()], rows.into_iter().map(|(k, v)| vec![k, v])))
        }
    }
}

fn party_name(party: i32) -> &'static str {
    match PartyAffiliation::try_from(party) {
        Ok(PartyAffiliation::Cpc) => "中共",
        Ok(PartyAffiliation::Rcck) => "民革",
        Ok(PartyAffiliation::Cdl) => "民盟",
        Ok(PartyAffiliation::Cndca) => "民建",
        Ok(PartyAffiliation::Capd) => "民进",
        Ok(PartyAffiliation::Cpwdp) => "农工党",
        Ok(PartyAffiliation::Czgp) => "致公党",
        Ok(PartyAffiliation::Js) => "九三学社",
        Ok(PartyAffiliation::Tdsl) => "台盟",
        Ok(PartyAffiliation::NonPartisan) => "无党派",
        Ok(PartyAffiliation::Masses) => "群众",
        _ => "",
    }
}

fn status_name(status: i32) -> &'static str {
    match MemberStatus::try_from(status) {
        Ok(MemberStatus::Serving) => "serving",
        Ok(MemberStatus::Resigned) => "resigned",
        Ok(MemberStatus::Dismissed) => "dismissed",
        _ => "",
    }
}

fn member_json(m: &Member) -> Value {
    json!({
        "id": m.id,
        "name": m.name,
        "party": PartyAffiliation::try_from(m.party).map(|p| p.as_str_name()).unwrap_or_default(),
        "work_unit": m.work_unit,
        "title": m.title,
        "phone": m.phone,
        "status": MemberStatus::try_from(m.status).map(|s| s.as_str_name()).unwrap_or_default(),
        "user_id": m.user_id,
    })
}
