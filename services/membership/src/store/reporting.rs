//! Annual reporting (委员述职): the scoring rule, sessions and their panels,
//! reports (on site or by video), judges' scores, final scores at close,
//! suggestions with their follow-up, and the campaign statistics.
//!
//! The office manages everything of its committee. A judge reaches only the
//! sessions they sit on (any other is `NotFound`) and sees only their own
//! scores, never the final ones.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::Tx;
use xieshang_platform::ids::{CommitteeId, UserId};
use xieshang_proto::common::v1::Role;

use super::events::{emit_all, reporting_session_closed};
use super::reference::check_reference;
use super::{Store, audit, has_user_role, is_office, office, own_committee};
use crate::domain::reporting::{
    NewSession, Report, ReportFact, ReportMode, ReportingSession, Score, ScoreRule, SessionKind, SessionState,
    Statistics, Suggestion, SuggestionState, campaign_change, final_score_centi, statistics,
};
use crate::domain::{MemberStatus, ReferenceKind};
use crate::entity::{
    member, report, report_score, report_suggestion, reporting_judge, reporting_session, reporting_settings,
};
use crate::error::{MembershipError, Result};

const REPORTERS: &str = "session.reporter_member_ids";
const JUDGES: &str = "session.judge_user_ids";

pub(super) fn check_year(year: i32) -> Result<i32> {
    if (2000..=2100).contains(&year) {
        Ok(year)
    } else {
        Err(MembershipError::invalid("year", "must be between 2000 and 2100"))
    }
}

/// Who is reading sessions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Viewer {
    Office,
    Judge(UserId),
}

fn viewer(ctx: &TenantContext) -> Result<(CommitteeId, Viewer)> {
    let committee = own_committee(ctx)?;
    if is_office(ctx) {
        Ok((committee, Viewer::Office))
    } else if ctx.has_role(Role::Judge) {
        Ok((committee, Viewer::Judge(ctx.user_id)))
    } else {
        Err(MembershipError::denied("this needs the STAFF, COMMITTEE_ADMIN or JUDGE role"))
    }
}

fn state_of(row: &reporting_session::Model) -> SessionState {
    SessionState::from_i16(row.state).unwrap_or(SessionState::Closed)
}

fn mode_of(row: &report::Model) -> ReportMode {
    ReportMode::from_i16(row.mode).unwrap_or(ReportMode::Pending)
}

fn suggestion_state(row: &report_suggestion::Model) -> SuggestionState {
    SuggestionState::from_i16(row.state).unwrap_or(SuggestionState::Raised)
}

async fn rule_of(tx: &Tx, committee: CommitteeId) -> Result<ScoreRule> {
    let row = reporting_settings::Entity::find_by_id(committee.0).one(&**tx).await?;
    Ok(row.and_then(|r| ScoreRule::from_i16(r.score_rule)).unwrap_or(ScoreRule::TrimmedMeanWhenAtLeastFive))
}

async fn find_session(tx: &Tx, committee: CommitteeId, id: Uuid) -> Result<reporting_session::Model> {
    reporting_session::Entity::find_by_id(id)
        .filter(reporting_session::Column::CommitteeId.eq(committee.0))
        .one(&**tx)
        .await?
        .ok_or(MembershipError::NotFound("reporting session"))
}

async fn sits_on(tx: &Tx, session: Uuid, judge: UserId) -> Result<bool> {
    Ok(reporting_judge::Entity::find_by_id((session, judge.0)).one(&**tx).await?.is_some())
}

/// A session the viewer may see: a judge only those they sit on.
async fn find_visible(tx: &Tx, committee: CommitteeId, viewer: Viewer, id: Uuid) -> Result<reporting_session::Model> {
    let row = find_session(tx, committee, id).await?;
    match viewer {
        Viewer::Judge(judge) if !sits_on(tx, id, judge).await? => Err(MembershipError::NotFound("reporting session")),
        _ => Ok(row),
    }
}

async fn find_report(tx: &Tx, session: Uuid, member_id: Uuid) -> Result<report::Model> {
    report::Entity::find()
        .filter(report::Column::SessionId.eq(session))
        .filter(report::Column::MemberId.eq(member_id))
        .one(&**tx)
        .await?
        .ok_or_else(|| MembershipError::precondition("the member is not a reporter of this session"))
}

fn session_to_domain(row: reporting_session::Model, reports: Vec<Report>, judges: Vec<UserId>) -> ReportingSession {
    ReportingSession {
        id: row.id,
        committee_id: CommitteeId(row.committee_id),
        kind: SessionKind::from_i16(row.kind).unwrap_or(SessionKind::Regular),
        activity_group_id: row.activity_group_id,
        title: row.title,
        date: row.date,
        year: row.year,
        place: row.place,
        leader_name: row.leader_name,
        staff_user: UserId(row.staff_user_id),
        reporters: reports.iter().map(|r| r.member_id).collect(),
        judges,
        state: SessionState::from_i16(row.state).unwrap_or(SessionState::Closed),
        score_rule: row.score_rule.and_then(ScoreRule::from_i16),
        reports,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn score_to_domain(row: report_score::Model) -> Score {
    Score {
        session_id: row.session_id,
        member_id: row.member_id,
        judge: UserId(row.judge_user_id),
        score: i32::from(row.score),
        created_at: row.created_at,
    }
}

fn suggestion_to_domain(row: report_suggestion::Model) -> Suggestion {
    Suggestion {
        id: row.id,
        session_id: row.session_id,
        member_id: row.member_id,
        year: row.year,
        state: suggestion_state(&row),
        content: row.content,
        forwarded_to: row.forwarded_to,
        forwarded_on: row.forwarded_on,
        forward_note: row.forward_note,
        decided_on: row.decided_on,
        decision_note: row.decision_note,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// The session with its reports as the viewer may see them.
async fn view(tx: &Tx, row: reporting_session::Model, viewer: Viewer) -> Result<ReportingSession> {
    let reports = report::Entity::find()
        .filter(report::Column::SessionId.eq(row.id))
        .order_by_asc(report::Column::Id)
        .all(&**tx)
        .await?;
    let ids: Vec<Uuid> = reports.iter().map(|r| r.member_id).collect();
    let names: HashMap<Uuid, String> = member::Entity::find()
        .filter(member::Column::Id.is_in(ids))
        .all(&**tx)
        .await?
        .into_iter()
        .map(|m| (m.id, m.name))
        .collect();
    let (judges, mut mine) = match viewer {
        Viewer::Office => {
            let judges = reporting_judge::Entity::find()
                .filter(reporting_judge::Column::SessionId.eq(row.id))
                .order_by_asc(reporting_judge::Column::JudgeUserId)
                .all(&**tx)
                .await?;
            (judges.into_iter().map(|j| UserId(j.judge_user_id)).collect(), HashMap::new())
        }
        Viewer::Judge(judge) => {
            let scores = report_score::Entity::find()
                .filter(report_score::Column::SessionId.eq(row.id))
                .filter(report_score::Column::JudgeUserId.eq(judge.0))
                .all(&**tx)
                .await?;
            let mut mine: HashMap<Uuid, Vec<Score>> = HashMap::new();
            for s in scores {
                mine.entry(s.member_id).or_default().push(score_to_domain(s));
            }
            (Vec::new(), mine)
        }
    };
    let office = viewer == Viewer::Office;
    let reports = reports
        .into_iter()
        .map(|r| Report {
            session_id: r.session_id,
            member_id: r.member_id,
            member_name: names.get(&r.member_id).cloned().unwrap_or_default(),
            mode: mode_of(&r),
            work: r.work_text,
            performance: r.performance_text,
            suggestions: r.suggestions_text,
            video_ref: r.video_ref,
            final_score_centi: if office { r.final_score_centi } else { None },
            judge_count: if office { r.scored_by.unwrap_or(0) } else { 0 },
            my_scores: mine.remove(&r.member_id).unwrap_or_default(),
        })
        .collect();
    Ok(session_to_domain(row, reports, judges))
}

fn report_fact(row: &report::Model) -> ReportFact {
    ReportFact { member_id: row.member_id, mode: mode_of(row), final_score_centi: row.final_score_centi }
}

/// The reports of the committee's sessions of `year` that are closed. On
/// PostgreSQL the year's sessions are locked first, so two sessions of one
/// year closing at once are counted one after the other: each close's change
/// to the campaign figures is computed against the other's committed result.
async fn closed_reports_of_year(tx: &Tx, committee: CommitteeId, year: i32) -> Result<Vec<ReportFact>> {
    let mut sessions = reporting_session::Entity::find()
        .filter(reporting_session::Column::CommitteeId.eq(committee.0))
        .filter(reporting_session::Column::Year.eq(year))
        .order_by_asc(reporting_session::Column::Id);
    if tx.get_database_backend() == DbBackend::Postgres {
        sessions = sessions.lock_exclusive();
    }
    let sessions = sessions.all(&**tx).await?;
    let closed: Vec<Uuid> = sessions.iter().filter(|s| state_of(s) == SessionState::Closed).map(|s| s.id).collect();
    if closed.is_empty() {
        return Ok(Vec::new());
    }
    let reports = report::Entity::find().filter(report::Column::SessionId.is_in(closed)).all(&**tx).await?;
    Ok(reports.iter().map(report_fact).collect())
}

/// Writes a changed session back, bumping its version.
async fn save_session(tx: &Tx, mut row: reporting_session::Model) -> Result<reporting_session::Model> {
    let (id, old) = (row.id, row.version);
    row.version = old + 1;
    row.updated_at = xieshang_platform::time::now();
    let done = reporting_session::Entity::update_many()
        .set(reporting_session::ActiveModel::from(row.clone()).reset_all())
        .filter(reporting_session::Column::Id.eq(id))
        .filter(reporting_session::Column::Version.eq(old))
        .exec(&**tx)
        .await?;
    if done.rows_affected == 0 {
        return Err(MembershipError::EtagMismatch);
    }
    Ok(row)
}

async fn find_suggestion(tx: &Tx, committee: CommitteeId, id: Uuid) -> Result<report_suggestion::Model> {
    report_suggestion::Entity::find_by_id(id)
        .filter(report_suggestion::Column::CommitteeId.eq(committee.0))
        .one(&**tx)
        .await?
        .ok_or(MembershipError::NotFound("suggestion"))
}

async fn save_suggestion(tx: &Tx, mut row: report_suggestion::Model) -> Result<report_suggestion::Model> {
    let (id, old) = (row.id, row.version);
    row.version = old + 1;
    row.updated_at = xieshang_platform::time::now();
    let done = report_suggestion::Entity::update_many()
        .set(report_suggestion::ActiveModel::from(row.clone()).reset_all())
        .filter(report_suggestion::Column::Id.eq(id))
        .filter(report_suggestion::Column::Version.eq(old))
        .exec(&**tx)
        .await?;
    if done.rows_affected == 0 {
        return Err(MembershipError::EtagMismatch);
    }
    Ok(row)
}

impl Store {
    /// The committee's scoring rule (TRIMMED_MEAN_WHEN_AT_LEAST_FIVE unless set).
    pub async fn get_reporting_settings(&self, ctx: &TenantContext) -> Result<(CommitteeId, ScoreRule)> {
        let committee = own_committee(ctx)?;
        let tx = self.begin(ctx).await?;
        let rule = rule_of(&tx, committee).await?;
        tx.commit().await?;
        Ok((committee, rule))
    }

    pub async fn set_reporting_settings(
        &self,
        ctx: &TenantContext,
        rule: ScoreRule,
    ) -> Result<(CommitteeId, ScoreRule)> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let before = rule_of(&tx, committee).await?;
        let row = reporting_settings::Model {
            committee_id: committee.0,
            score_rule: rule as i16,
            updated_at: xieshang_platform::time::now(),
        };
        let exists = reporting_settings::Entity::find_by_id(committee.0).one(&*tx).await?.is_some();
        let active = reporting_settings::ActiveModel::from(row).reset_all();
        if exists {
            active.update(&*tx).await?;
        } else {
            reporting_settings::Entity::insert(active).exec_without_returning(&*tx).await?;
        }
        let changes = json!({"score_rule": {"from": before.as_str(), "to": rule.as_str()}});
        audit(&tx, ctx, committee, "member_reporting_settings", committee, changes).await?;
        tx.commit().await?;
        Ok((committee, rule))
    }

    /// Schedules a session. Regular sessions take members of their activity
    /// group; make-ups members of any group who have not reported that year.
    pub async fn create_reporting_session(&self, ctx: &TenantContext, new: NewSession) -> Result<ReportingSession> {
        let committee = office(ctx)?;
        let year = check_year(new.date.year())
            .map_err(|_| MembershipError::invalid("session.date", "must be in 2000-2100"))?;
        if new.reporters.is_empty() {
            return Err(MembershipError::invalid(REPORTERS, "names no member"));
        }
        if new.judges.is_empty() {
            return Err(MembershipError::invalid(JUDGES, "names no judge"));
        }
        if new.reporters.iter().collect::<HashSet<_>>().len() != new.reporters.len() {
            return Err(MembershipError::invalid(REPORTERS, "names a member twice"));
        }
        if new.judges.iter().collect::<HashSet<_>>().len() != new.judges.len() {
            return Err(MembershipError::invalid(JUDGES, "names a judge twice"));
        }
        let tx = self.begin(ctx).await?;
        match (new.kind, new.activity_group_id) {
            (SessionKind::Regular, None) => {
                return Err(MembershipError::invalid("session.activity_group_id", "is required for a regular session"));
            }
            (_, Some(group)) => {
                check_reference(&tx, committee, ReferenceKind::ActivityGroup, group, "session.activity_group_id")
                    .await?
            }
            (SessionKind::MakeUp, None) => {}
        }
        let staff_ok = has_user_role(&tx, committee, new.staff_user, Role::Staff).await?
            || has_user_role(&tx, committee, new.staff_user, Role::CommitteeAdmin).await?;
        if !staff_ok {
            return Err(MembershipError::invalid("session.staff_user_id", "is not a STAFF user of this committee"));
        }
        let rows: HashMap<Uuid, member::Model> = member::Entity::find()
            .filter(member::Column::CommitteeId.eq(committee.0))
            .filter(member::Column::Id.is_in(new.reporters.clone()))
            .all(&*tx)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        for id in &new.reporters {
            let Some(m) = rows.get(id) else {
                return Err(MembershipError::invalid(REPORTERS, format!("{id} is not a member of this committee")));
            };
            if m.status != MemberStatus::Serving as i16 {
                return Err(MembershipError::invalid(REPORTERS, format!("{} ({id}) is not serving", m.name)));
            }
            if new.kind == SessionKind::Regular && m.activity_group_id != new.activity_group_id {
                return Err(MembershipError::invalid(
                    REPORTERS,
                    format!("{} ({id}) is not in the session's activity group", m.name),
                ));
            }
        }
        if new.kind == SessionKind::MakeUp {
            let done = report::Entity::find()
                .filter(report::Column::CommitteeId.eq(committee.0))
                .filter(report::Column::Year.eq(year))
                .filter(report::Column::MemberId.is_in(new.reporters.clone()))
                .filter(report::Column::Mode.ne(ReportMode::Pending as i16))
                .one(&*tx)
                .await?;
            if let Some(r) = done {
                let name = rows.get(&r.member_id).map_or("", |m| m.name.as_str());
                return Err(MembershipError::invalid(
                    REPORTERS,
                    format!("{name} ({}) has already reported in {year}", r.member_id),
                ));
            }
        }
        for judge in &new.judges {
            if !has_user_role(&tx, committee, *judge, Role::Judge).await? {
                return Err(MembershipError::invalid(
                    JUDGES,
                    format!("{judge} is not a user of this committee with ROLE_JUDGE"),
                ));
            }
        }
        let now = xieshang_platform::time::now();
        let id = Uuid::now_v7();
        let row = reporting_session::Model {
            id,
            committee_id: committee.0,
            year,
            kind: new.kind as i16,
            activity_group_id: new.activity_group_id,
            title: new.title,
            date: new.date,
            place: new.place,
            leader_name: new.leader_name,
            staff_user_id: new.staff_user.0,
            state: SessionState::Scheduled as i16,
            score_rule: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        reporting_session::Entity::insert(reporting_session::ActiveModel::from(row.clone()).reset_all())
            .exec_without_returning(&*tx)
            .await?;
        let judges = new.judges.iter().map(|j| {
            reporting_judge::ActiveModel::from(reporting_judge::Model {
                committee_id: committee.0,
                session_id: id,
                judge_user_id: j.0,
            })
            .reset_all()
        });
        reporting_judge::Entity::insert_many(judges).exec_without_returning(&*tx).await?;
        let reports = new.reporters.iter().map(|m| {
            report::ActiveModel::from(report::Model {
                id: Uuid::now_v7(),
                committee_id: committee.0,
                session_id: id,
                member_id: *m,
                year,
                mode: ReportMode::Pending as i16,
                work_text: String::new(),
                performance_text: String::new(),
                suggestions_text: String::new(),
                video_ref: String::new(),
                final_score_centi: None,
                scored_by: None,
                created_at: now,
                updated_at: now,
            })
            .reset_all()
        });
        report::Entity::insert_many(reports).exec_without_returning(&*tx).await?;
        let changes = json!({
            "kind": row.kind, "activity_group_id": row.activity_group_id, "title": row.title,
            "date": row.date.to_string(), "place": row.place, "leader_name": row.leader_name,
            "staff_user_id": row.staff_user_id, "reporter_member_ids": new.reporters,
            "judge_user_ids": new.judges.iter().map(|j| j.0).collect::<Vec<_>>(),
        });
        audit(&tx, ctx, committee, "member_reporting_session", id, changes).await?;
        let session = view(&tx, row, Viewer::Office).await?;
        tx.commit().await?;
        Ok(session)
    }

    pub async fn get_reporting_session(&self, ctx: &TenantContext, id: Uuid) -> Result<ReportingSession> {
        let (committee, viewer) = viewer(ctx)?;
        let tx = self.begin(ctx).await?;
        let row = find_visible(&tx, committee, viewer, id).await?;
        let session = view(&tx, row, viewer).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Sessions of a year by date, without reports; a judge's only those they sit on.
    pub async fn list_reporting_sessions(&self, ctx: &TenantContext, year: i32) -> Result<Vec<ReportingSession>> {
        let (committee, viewer) = viewer(ctx)?;
        let year = check_year(year)?;
        let tx = self.begin(ctx).await?;
        let mut query = reporting_session::Entity::find()
            .filter(reporting_session::Column::CommitteeId.eq(committee.0))
            .filter(reporting_session::Column::Year.eq(year));
        if let Viewer::Judge(judge) = viewer {
            let mine: Vec<Uuid> = reporting_judge::Entity::find()
                .filter(reporting_judge::Column::CommitteeId.eq(committee.0))
                .filter(reporting_judge::Column::JudgeUserId.eq(judge.0))
                .all(&*tx)
                .await?
                .into_iter()
                .map(|j| j.session_id)
                .collect();
            query = query.filter(reporting_session::Column::Id.is_in(mine));
        }
        let rows = query
            .order_by_asc(reporting_session::Column::Date)
            .order_by_asc(reporting_session::Column::Id)
            .all(&*tx)
            .await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(|r| session_to_domain(r, Vec::new(), Vec::new())).collect())
    }

    /// SCHEDULED → OPEN.
    pub async fn open_reporting_session(&self, ctx: &TenantContext, id: Uuid) -> Result<ReportingSession> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let mut row = find_session(&tx, committee, id).await?;
        let state = state_of(&row);
        if state != SessionState::Scheduled {
            return Err(MembershipError::precondition(format!(
                "the session is {}; only a SCHEDULED session opens",
                state.as_str()
            )));
        }
        row.state = SessionState::Open as i16;
        let row = save_session(&tx, row).await?;
        audit(
            &tx,
            ctx,
            committee,
            "member_reporting_session",
            id,
            json!({"state": {"from": "SCHEDULED", "to": "OPEN"}}),
        )
        .await?;
        let session = view(&tx, row, Viewer::Office).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// OPEN → CLOSED; every on-site reporter gets a final score by the committee's rule.
    pub async fn close_reporting_session(&self, ctx: &TenantContext, id: Uuid) -> Result<ReportingSession> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let mut row = find_session(&tx, committee, id).await?;
        let state = state_of(&row);
        if state != SessionState::Open {
            return Err(MembershipError::precondition(format!(
                "the session is {}; only an OPEN session closes",
                state.as_str()
            )));
        }
        let before = closed_reports_of_year(&tx, committee, row.year).await?;
        let rule = rule_of(&tx, committee).await?;
        let mut scores: HashMap<Uuid, Vec<i32>> = HashMap::new();
        for s in report_score::Entity::find().filter(report_score::Column::SessionId.eq(id)).all(&*tx).await? {
            scores.entry(s.member_id).or_default().push(i32::from(s.score));
        }
        let reports = report::Entity::find().filter(report::Column::SessionId.eq(id)).all(&*tx).await?;
        let mut finals = serde_json::Map::new();
        let mut closing = Vec::with_capacity(reports.len());
        for mut r in reports {
            if mode_of(&r) == ReportMode::OnSite {
                let given = scores.remove(&r.member_id).unwrap_or_default();
                r.final_score_centi = final_score_centi(rule, &given);
                r.scored_by = Some(given.len() as i32);
                r.updated_at = xieshang_platform::time::now();
                finals.insert(r.member_id.to_string(), json!(r.final_score_centi));
                report::ActiveModel::from(r.clone()).reset_all().update(&*tx).await?;
            }
            closing.push(report_fact(&r));
        }
        let change = campaign_change(&before, &closing);
        let suggestions =
            report_suggestion::Entity::find().filter(report_suggestion::Column::SessionId.eq(id)).count(&*tx).await?;
        row.state = SessionState::Closed as i16;
        row.score_rule = Some(rule as i16);
        let row = save_session(&tx, row).await?;
        let changes = json!({"state": {"from": "OPEN", "to": "CLOSED"}, "score_rule": rule.as_str(),
            "final_scores_centi": finals});
        audit(&tx, ctx, committee, "member_reporting_session", id, changes).await?;
        let make_up = SessionKind::from_i16(row.kind) == Some(SessionKind::MakeUp);
        let closed = reporting_session_closed(id, row.year, make_up, &change, suggestions as i32);
        emit_all(&tx, committee, Some(ctx.user_id), [closed]).await?;
        let session = view(&tx, row, Viewer::Office).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Records an on-site report's three parts (本职工作, 委员履职, 意见建议).
    pub async fn record_report(
        &self,
        ctx: &TenantContext,
        session_id: Uuid,
        member_id: Uuid,
        parts: [String; 3],
    ) -> Result<Report> {
        let [work, performance, suggestions] = parts;
        self.change_report(ctx, session_id, member_id, move |r, _| {
            r.mode = ReportMode::OnSite as i16;
            r.work_text = work;
            r.performance_text = performance;
            r.suggestions_text = suggestions;
            r.video_ref = String::new();
            Ok(())
        })
        .await
    }

    /// Records a video submitted instead of reporting on site.
    pub async fn submit_video_report(
        &self,
        ctx: &TenantContext,
        session_id: Uuid,
        member_id: Uuid,
        video_ref: String,
    ) -> Result<Report> {
        self.change_report(ctx, session_id, member_id, move |r, scored| {
            if scored {
                return Err(MembershipError::precondition("the reporter was already scored on site"));
            }
            r.mode = ReportMode::Video as i16;
            r.video_ref = video_ref;
            Ok(())
        })
        .await
    }

    async fn change_report(
        &self,
        ctx: &TenantContext,
        session_id: Uuid,
        member_id: Uuid,
        change: impl FnOnce(&mut report::Model, bool) -> Result<()>,
    ) -> Result<Report> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let session = find_session(&tx, committee, session_id).await?;
        let state = state_of(&session);
        if state == SessionState::Closed {
            return Err(MembershipError::precondition(
                "the session is CLOSED; reports are recorded while it is SCHEDULED or OPEN",
            ));
        }
        let mut row = find_report(&tx, session_id, member_id).await?;
        let scored = report_score::Entity::find()
            .filter(report_score::Column::SessionId.eq(session_id))
            .filter(report_score::Column::MemberId.eq(member_id))
            .one(&*tx)
            .await?
            .is_some();
        change(&mut row, scored)?;
        row.updated_at = xieshang_platform::time::now();
        let mode = mode_of(&row);
        report::ActiveModel::from(row.clone()).reset_all().update(&*tx).await?;
        let changes = json!({"session_id": session_id, "member_id": member_id, "mode": mode.as_str()});
        audit(&tx, ctx, committee, "member_report", row.id, changes).await?;
        let name = member::Entity::find_by_id(member_id).one(&*tx).await?.map(|m| m.name).unwrap_or_default();
        tx.commit().await?;
        Ok(Report {
            session_id,
            member_id,
            member_name: name,
            mode,
            work: row.work_text,
            performance: row.performance_text,
            suggestions: row.suggestions_text,
            video_ref: row.video_ref,
            final_score_centi: None,
            judge_count: 0,
            my_scores: Vec::new(),
        })
    }

    /// A judge on the panel scores an on-site reporter once, while the session is OPEN.
    pub async fn score_report(
        &self,
        ctx: &TenantContext,
        session_id: Uuid,
        member_id: Uuid,
        score: i32,
    ) -> Result<Score> {
        let committee = own_committee(ctx)?;
        if !ctx.has_role(Role::Judge) {
            return Err(MembershipError::denied("only judges (ROLE_JUDGE) score reports"));
        }
        if !(0..=100).contains(&score) {
            return Err(MembershipError::invalid("score", "must be between 0 and 100"));
        }
        let tx = self.begin(ctx).await?;
        let session = find_visible(&tx, committee, Viewer::Judge(ctx.user_id), session_id).await?;
        let state = state_of(&session);
        if state != SessionState::Open {
            return Err(MembershipError::precondition(format!(
                "the session is {}; judges score only while it is OPEN",
                state.as_str()
            )));
        }
        let report = find_report(&tx, session_id, member_id).await?;
        let mode = mode_of(&report);
        if mode != ReportMode::OnSite {
            return Err(MembershipError::precondition(format!(
                "the reporter's report is {}; only on-site reports are scored",
                mode.as_str()
            )));
        }
        if report_score::Entity::find_by_id((session_id, member_id, ctx.user_id.0)).one(&*tx).await?.is_some() {
            return Err(MembershipError::precondition("you have already scored this reporter; a score is final"));
        }
        let row = report_score::Model {
            committee_id: committee.0,
            session_id,
            member_id,
            judge_user_id: ctx.user_id.0,
            score: score as i16,
            created_at: xieshang_platform::time::now(),
        };
        report_score::Entity::insert(report_score::ActiveModel::from(row.clone()).reset_all())
            .exec_without_returning(&*tx)
            .await
            .map_err(|e| match e.sql_err() {
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                    MembershipError::precondition("you have already scored this reporter; a score is final")
                }
                _ => MembershipError::Db(e),
            })?;
        let changes = json!({"session_id": session_id, "member_id": member_id, "score": score});
        audit(&tx, ctx, committee, "member_report_score", report.id, changes).await?;
        tx.commit().await?;
        Ok(score_to_domain(row))
    }

    /// Records one suggestion a reporter raised in their report.
    pub async fn raise_suggestion(
        &self,
        ctx: &TenantContext,
        session_id: Uuid,
        member_id: Uuid,
        content: String,
    ) -> Result<Suggestion> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let session = find_session(&tx, committee, session_id).await?;
        find_report(&tx, session_id, member_id).await?;
        let now = xieshang_platform::time::now();
        let row = report_suggestion::Model {
            id: Uuid::now_v7(),
            committee_id: committee.0,
            session_id,
            member_id,
            year: session.year,
            content,
            state: SuggestionState::Raised as i16,
            forwarded_to: String::new(),
            forwarded_on: None,
            forward_note: String::new(),
            decided_on: None,
            decision_note: String::new(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        report_suggestion::Entity::insert(report_suggestion::ActiveModel::from(row.clone()).reset_all())
            .exec_without_returning(&*tx)
            .await?;
        let changes = json!({"session_id": session_id, "member_id": member_id, "state": "RAISED"});
        audit(&tx, ctx, committee, "member_report_suggestion", row.id, changes).await?;
        tx.commit().await?;
        Ok(suggestion_to_domain(row))
    }

    /// RAISED → FORWARDED.
    pub async fn forward_suggestion(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        to: String,
        date: NaiveDate,
        note: String,
    ) -> Result<Suggestion> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let mut row = find_suggestion(&tx, committee, id).await?;
        let state = suggestion_state(&row);
        if state != SuggestionState::Raised {
            return Err(MembershipError::precondition(format!(
                "the suggestion is {}; only a RAISED suggestion is forwarded",
                state.as_str()
            )));
        }
        row.state = SuggestionState::Forwarded as i16;
        row.forwarded_to = to;
        row.forwarded_on = Some(date);
        row.forward_note = note;
        let row = save_suggestion(&tx, row).await?;
        let changes = json!({"state": {"from": "RAISED", "to": "FORWARDED"}, "forwarded_to": row.forwarded_to,
            "date": date.to_string()});
        audit(&tx, ctx, committee, "member_report_suggestion", id, changes).await?;
        tx.commit().await?;
        Ok(suggestion_to_domain(row))
    }

    /// FORWARDED → ADOPTED or NOT_ADOPTED.
    pub async fn decide_suggestion(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        adopted: bool,
        date: NaiveDate,
        note: String,
    ) -> Result<Suggestion> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let mut row = find_suggestion(&tx, committee, id).await?;
        let state = suggestion_state(&row);
        if state != SuggestionState::Forwarded {
            return Err(MembershipError::precondition(format!(
                "the suggestion is {}; only a FORWARDED suggestion is decided",
                state.as_str()
            )));
        }
        if row.forwarded_on.is_some_and(|f| date < f) {
            return Err(MembershipError::invalid("date", "is before the suggestion was forwarded"));
        }
        let to = if adopted { SuggestionState::Adopted } else { SuggestionState::NotAdopted };
        row.state = to as i16;
        row.decided_on = Some(date);
        row.decision_note = note;
        let row = save_suggestion(&tx, row).await?;
        let changes = json!({"state": {"from": "FORWARDED", "to": to.as_str()}, "date": date.to_string()});
        audit(&tx, ctx, committee, "member_report_suggestion", id, changes).await?;
        tx.commit().await?;
        Ok(suggestion_to_domain(row))
    }

    pub async fn list_suggestions(&self, ctx: &TenantContext, year: i32) -> Result<Vec<Suggestion>> {
        let committee = office(ctx)?;
        let year = check_year(year)?;
        let tx = self.begin(ctx).await?;
        let rows = report_suggestion::Entity::find()
            .filter(report_suggestion::Column::CommitteeId.eq(committee.0))
            .filter(report_suggestion::Column::Year.eq(year))
            .order_by_asc(report_suggestion::Column::Id)
            .all(&*tx)
            .await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(suggestion_to_domain).collect())
    }

    /// The campaign's figures for the caller's committee (`committee` None:
    /// the caller's own; another committee is `NotFound`).
    pub async fn reporting_statistics(
        &self,
        ctx: &TenantContext,
        committee: Option<CommitteeId>,
        year: i32,
    ) -> Result<(CommitteeId, i32, Statistics)> {
        let own = office(ctx)?;
        if committee.is_some_and(|c| c != own) {
            return Err(MembershipError::NotFound("committee"));
        }
        let year = check_year(year)?;
        let tx = self.begin(ctx).await?;
        let members = member::Entity::find().filter(member::Column::CommitteeId.eq(own.0)).all(&*tx).await?;
        // Serving at some time in the year: serving now, or left during or after it.
        let due: Vec<Uuid> = members
            .iter()
            .filter(|m| m.status == MemberStatus::Serving as i16 || m.status_date.is_some_and(|d| d.year() >= year))
            .map(|m| m.id)
            .collect();
        let reports = report::Entity::find()
            .filter(report::Column::CommitteeId.eq(own.0))
            .filter(report::Column::Year.eq(year))
            .all(&*tx)
            .await?;
        let facts: Vec<ReportFact> = reports
            .iter()
            .map(|r| ReportFact { member_id: r.member_id, mode: mode_of(r), final_score_centi: r.final_score_centi })
            .collect();
        let kinds: Vec<SessionKind> = reporting_session::Entity::find()
            .filter(reporting_session::Column::CommitteeId.eq(own.0))
            .filter(reporting_session::Column::Year.eq(year))
            .all(&*tx)
            .await?
            .iter()
            .map(|s| SessionKind::from_i16(s.kind).unwrap_or(SessionKind::Regular))
            .collect();
        let states: Vec<SuggestionState> = report_suggestion::Entity::find()
            .filter(report_suggestion::Column::CommitteeId.eq(own.0))
            .filter(report_suggestion::Column::Year.eq(year))
            .all(&*tx)
            .await?
            .iter()
            .map(suggestion_state)
            .collect();
        tx.commit().await?;
        Ok((own, year, statistics(&due, &facts, &kinds, &states)))
    }
}
