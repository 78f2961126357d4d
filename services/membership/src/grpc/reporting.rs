//! `xieshang.membership.v1.ReportingService`: conversions and handlers.

use tonic::{Request, Response, Status};
use xieshang_platform::auth::authenticated;
use xieshang_platform::ids::{CommitteeId, UserId};
use xieshang_platform::status::invalid_argument;
use xieshang_platform::time::{date_from_proto, date_to_proto, timestamp};
use xieshang_proto::membership::v1 as pb;

use super::{Reply, enum_value, id, optional_id, required};
use crate::domain::reporting::{
    NewSession, Report, ReportingSession, Score, ScoreRule, SessionKind, Statistics, Suggestion,
};
use crate::domain::text;
use crate::store::Store;

fn score_to_proto(s: Score) -> pb::Score {
    pb::Score {
        session_id: s.session_id.to_string(),
        member_id: s.member_id.to_string(),
        judge_user_id: s.judge.to_string(),
        score: s.score,
        create_time: Some(timestamp(s.created_at)),
    }
}

fn report_to_proto(r: Report) -> pb::Report {
    pb::Report {
        session_id: r.session_id.to_string(),
        member_id: r.member_id.to_string(),
        member_name: r.member_name,
        mode: r.mode as i32,
        work: r.work,
        performance: r.performance,
        suggestions: r.suggestions,
        video_ref: r.video_ref,
        final_score: r.final_score_centi.map(|c| f64::from(c) / 100.0),
        judge_count: r.judge_count,
        my_scores: r.my_scores.into_iter().map(score_to_proto).collect(),
    }
}

fn session_to_proto(s: ReportingSession) -> pb::ReportingSession {
    pb::ReportingSession {
        id: s.id.to_string(),
        committee_id: s.committee_id.to_string(),
        kind: s.kind as i32,
        activity_group_id: s.activity_group_id.map(|g| g.to_string()).unwrap_or_default(),
        title: s.title,
        date: Some(date_to_proto(s.date)),
        place: s.place,
        leader_name: s.leader_name,
        staff_user_id: s.staff_user.to_string(),
        reporter_member_ids: s.reporters.iter().map(ToString::to_string).collect(),
        judge_user_ids: s.judges.iter().map(ToString::to_string).collect(),
        state: s.state as i32,
        score_rule: s.score_rule.map_or(0, |r| r as i32),
        reports: s.reports.into_iter().map(report_to_proto).collect(),
        year: s.year,
        create_time: Some(timestamp(s.created_at)),
        update_time: Some(timestamp(s.updated_at)),
    }
}

fn suggestion_to_proto(s: Suggestion) -> pb::Suggestion {
    pb::Suggestion {
        id: s.id.to_string(),
        session_id: s.session_id.to_string(),
        member_id: s.member_id.to_string(),
        content: s.content,
        state: s.state as i32,
        forwarded_to: s.forwarded_to,
        forwarded_on: s.forwarded_on.map(date_to_proto),
        forward_note: s.forward_note,
        decided_on: s.decided_on.map(date_to_proto),
        decision_note: s.decision_note,
        year: s.year,
        create_time: Some(timestamp(s.created_at)),
        update_time: Some(timestamp(s.updated_at)),
    }
}

fn statistics_to_proto(committee: CommitteeId, year: i32, s: Statistics) -> pb::ReportingStatistics {
    let d = s.distribution;
    pb::ReportingStatistics {
        committee_id: committee.to_string(),
        year,
        members_due: s.members_due,
        reported_on_site: s.reported_on_site,
        reported_by_video: s.reported_by_video,
        not_reported: s.not_reported,
        on_site_rate_percent: s.on_site_rate_percent,
        scored_at_least_90: s.scored_at_least_90,
        excellence_rate_percent: s.excellence_rate_percent,
        distribution: Some(pb::ScoreDistribution {
            below_60: d.below_60,
            from_60_to_69: d.from_60_to_69,
            from_70_to_79: d.from_70_to_79,
            from_80_to_89: d.from_80_to_89,
            at_least_90: d.at_least_90,
        }),
        sessions: s.sessions,
        make_up_sessions: s.make_up_sessions,
        suggestions_raised: s.suggestions_raised,
        suggestions_forwarded: s.suggestions_forwarded,
        suggestions_adopted: s.suggestions_adopted,
        suggestions_not_adopted: s.suggestions_not_adopted,
    }
}

fn settings_to_proto(committee: CommitteeId, rule: ScoreRule) -> pb::ReportingSettings {
    pb::ReportingSettings { committee_id: committee.to_string(), score_rule: rule as i32 }
}

fn new_session(s: &pb::ReportingSession) -> Result<NewSession, Status> {
    Ok(NewSession {
        kind: required("session.kind", enum_value("session.kind", s.kind, SessionKind::from_i16, "session kind")?)?,
        activity_group_id: optional_id("session.activity_group_id", &s.activity_group_id)?,
        title: text("session.title", &s.title, 100, true)?,
        date: date_from_proto("session.date", s.date.as_ref())?,
        place: text("session.place", &s.place, 100, true)?,
        leader_name: text("session.leader_name", &s.leader_name, 40, true)?,
        staff_user: UserId::parse("session.staff_user_id", &s.staff_user_id)?,
        reporters: s
            .reporter_member_ids
            .iter()
            .map(|m| id("session.reporter_member_ids", m))
            .collect::<Result<_, _>>()?,
        judges: s
            .judge_user_ids
            .iter()
            .map(|j| UserId::parse("session.judge_user_ids", j))
            .collect::<Result<_, _>>()?,
    })
}

/// `xieshang.membership.v1.ReportingService`.
pub struct ReportingApi(pub Store);

#[tonic::async_trait]
impl pb::reporting_service_server::ReportingService for ReportingApi {
    async fn get_reporting_settings(
        &self,
        req: Request<pb::GetReportingSettingsRequest>,
    ) -> Reply<pb::ReportingSettings> {
        let ctx = authenticated(&req)?;
        let (committee, rule) = self.0.get_reporting_settings(ctx).await?;
        Ok(Response::new(settings_to_proto(committee, rule)))
    }

    async fn update_reporting_settings(
        &self,
        req: Request<pb::UpdateReportingSettingsRequest>,
    ) -> Reply<pb::ReportingSettings> {
        let ctx = authenticated(&req)?;
        let s = req.get_ref().settings.as_ref().ok_or_else(|| invalid_argument("settings", "is required"))?;
        let rule = required(
            "settings.score_rule",
            enum_value("settings.score_rule", s.score_rule, ScoreRule::from_i16, "score rule")?,
        )?;
        let (committee, rule) = self.0.set_reporting_settings(ctx, rule).await?;
        Ok(Response::new(settings_to_proto(committee, rule)))
    }

    async fn create_reporting_session(
        &self,
        req: Request<pb::CreateReportingSessionRequest>,
    ) -> Reply<pb::ReportingSession> {
        let ctx = authenticated(&req)?;
        let s = req.get_ref().session.as_ref().ok_or_else(|| invalid_argument("session", "is required"))?;
        let new = new_session(s)?;
        Ok(Response::new(session_to_proto(self.0.create_reporting_session(ctx, new).await?)))
    }

    async fn get_reporting_session(&self, req: Request<pb::GetReportingSessionRequest>) -> Reply<pb::ReportingSession> {
        let ctx = authenticated(&req)?;
        let session_id = id("id", &req.get_ref().id)?;
        Ok(Response::new(session_to_proto(self.0.get_reporting_session(ctx, session_id).await?)))
    }

    async fn list_reporting_sessions(
        &self,
        req: Request<pb::ListReportingSessionsRequest>,
    ) -> Reply<pb::ListReportingSessionsResponse> {
        let ctx = authenticated(&req)?;
        let sessions = self.0.list_reporting_sessions(ctx, req.get_ref().year).await?;
        Ok(Response::new(pb::ListReportingSessionsResponse {
            sessions: sessions.into_iter().map(session_to_proto).collect(),
        }))
    }

    async fn open_reporting_session(
        &self,
        req: Request<pb::OpenReportingSessionRequest>,
    ) -> Reply<pb::ReportingSession> {
        let ctx = authenticated(&req)?;
        let session_id = id("id", &req.get_ref().id)?;
        Ok(Response::new(session_to_proto(self.0.open_reporting_session(ctx, session_id).await?)))
    }

    async fn close_reporting_session(
        &self,
        req: Request<pb::CloseReportingSessionRequest>,
    ) -> Reply<pb::ReportingSession> {
        let ctx = authenticated(&req)?;
        let session_id = id("id", &req.get_ref().id)?;
        Ok(Response::new(session_to_proto(self.0.close_reporting_session(ctx, session_id).await?)))
    }

    async fn record_report(&self, req: Request<pb::RecordReportRequest>) -> Reply<pb::Report> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let session_id = id("session_id", &r.session_id)?;
        let member_id = id("member_id", &r.member_id)?;
        let parts = [
            text("work", &r.work, 5000, true)?,
            text("performance", &r.performance, 5000, true)?,
            text("suggestions", &r.suggestions, 5000, true)?,
        ];
        Ok(Response::new(report_to_proto(self.0.record_report(ctx, session_id, member_id, parts).await?)))
    }

    async fn submit_video_report(&self, req: Request<pb::SubmitVideoReportRequest>) -> Reply<pb::Report> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let session_id = id("session_id", &r.session_id)?;
        let member_id = id("member_id", &r.member_id)?;
        let video = text("video_ref", &r.video_ref, 300, true)?;
        Ok(Response::new(report_to_proto(self.0.submit_video_report(ctx, session_id, member_id, video).await?)))
    }

    async fn score_report(&self, req: Request<pb::ScoreReportRequest>) -> Reply<pb::Score> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let session_id = id("session_id", &r.session_id)?;
        let member_id = id("member_id", &r.member_id)?;
        Ok(Response::new(score_to_proto(self.0.score_report(ctx, session_id, member_id, r.score).await?)))
    }

    async fn raise_suggestion(&self, req: Request<pb::RaiseSuggestionRequest>) -> Reply<pb::Suggestion> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let session_id = id("session_id", &r.session_id)?;
        let member_id = id("member_id", &r.member_id)?;
        let content = text("content", &r.content, 2000, true)?;
        Ok(Response::new(suggestion_to_proto(self.0.raise_suggestion(ctx, session_id, member_id, content).await?)))
    }

    async fn forward_suggestion(&self, req: Request<pb::ForwardSuggestionRequest>) -> Reply<pb::Suggestion> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let suggestion = id("id", &r.id)?;
        let to = text("forwarded_to", &r.forwarded_to, 100, true)?;
        let date = date_from_proto("date", r.date.as_ref())?;
        let note = text("note", &r.note, 2000, false)?;
        Ok(Response::new(suggestion_to_proto(self.0.forward_suggestion(ctx, suggestion, to, date, note).await?)))
    }

    async fn decide_suggestion(&self, req: Request<pb::DecideSuggestionRequest>) -> Reply<pb::Suggestion> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let suggestion = id("id", &r.id)?;
        let date = date_from_proto("date", r.date.as_ref())?;
        let note = text("note", &r.note, 2000, false)?;
        Ok(Response::new(suggestion_to_proto(self.0.decide_suggestion(ctx, suggestion, r.adopted, date, note).await?)))
    }

    async fn list_suggestions(&self, req: Request<pb::ListSuggestionsRequest>) -> Reply<pb::ListSuggestionsResponse> {
        let ctx = authenticated(&req)?;
        let suggestions = self.0.list_suggestions(ctx, req.get_ref().year).await?;
        Ok(Response::new(pb::ListSuggestionsResponse {
            suggestions: suggestions.into_iter().map(suggestion_to_proto).collect(),
        }))
    }

    async fn get_reporting_statistics(
        &self,
        req: Request<pb::GetReportingStatisticsRequest>,
    ) -> Reply<pb::ReportingStatistics> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let committee =
            if r.committee_id.is_empty() { None } else { Some(CommitteeId::parse("committee_id", &r.committee_id)?) };
        let (committee, year, stats) = self.0.reporting_statistics(ctx, committee, r.year).await?;
        Ok(Response::new(statistics_to_proto(committee, year, stats)))
    }
}
