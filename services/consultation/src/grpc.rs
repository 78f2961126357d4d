//! The gRPC surface: the only module that touches generated protobuf types.
//! Every handler reads the same: authenticate (except the two public RPCs) →
//! convert and validate → call the store → convert back; errors map through
//! `ConsultationError`.

use tonic::{Request, Response, Status};
use uuid::Uuid;
use xieshang_platform::auth::{authenticated, rpc_method};
use xieshang_platform::status::invalid_argument;
use xieshang_platform::time::{date_from_proto, date_to_proto, timestamp};
use xieshang_proto::consultation::v1 as pb;

use crate::domain::statistics::ConsultationStatistics;
use crate::domain::{
    self, Activity, ActivityStage, AdoptionRates, Attendance, AttendanceEntry, CarryTarget, ConsultationType,
    FeedbackResult, Meeting, MeetingKind, NewActivity, NewMeeting, NewPlanItem, Plan, PlanAction, SpeechKind,
    Suggestion, Tally, Topic, TopicSource, TopicState,
};
use crate::store::{ActivityFilter, MeetingFilter, NewTopic, PublicTopic, Store, TopicFilter};

type Reply<T> = Result<Response<T>, Status>;

fn id(field: &str, s: &str) -> Result<Uuid, Status> {
    if s.is_empty() {
        return Err(invalid_argument(field, "is required"));
    }
    Uuid::parse_str(s).map_err(|_| invalid_argument(field, "is not a valid id"))
}

fn optional_id(field: &str, s: &str) -> Result<Option<Uuid>, Status> {
    if s.is_empty() { Ok(None) } else { id(field, s).map(Some) }
}

/// Parses a protobuf enum number into a domain enum; `None` for UNSPECIFIED.
fn enum_value<T>(field: &str, v: i32, from: fn(i16) -> Option<T>, what: &str) -> Result<Option<T>, Status> {
    if v == 0 {
        return Ok(None);
    }
    i16::try_from(v)
        .ok()
        .and_then(from)
        .map(Some)
        .ok_or_else(|| invalid_argument(field, format!("{v} is not a {what}")))
}

fn required<T>(field: &str, v: Option<T>) -> Result<T, Status> {
    v.ok_or_else(|| invalid_argument(field, "is required"))
}

fn required_enum<T>(field: &str, v: i32, from: fn(i16) -> Option<T>, what: &str) -> Result<T, Status> {
    required(field, enum_value(field, v, from, what)?)
}

fn opt_string(v: Option<Uuid>) -> String {
    v.map(|u| u.to_string()).unwrap_or_default()
}

fn optional_year(field: &'static str, v: i32) -> Result<Option<i32>, Status> {
    if v == 0 { Ok(None) } else { Ok(Some(domain::year(field, v)?)) }
}

fn topic_to_proto(t: Topic) -> pb::Topic {
    pb::Topic {
        id: t.id.to_string(),
        committee_id: t.committee_id.to_string(),
        title: t.title,
        rationale: t.rationale,
        source: t.source as i32,
        submitter_user_id: t.submitter.map(|u| u.to_string()).unwrap_or_default(),
        submitter_name: t.submitter_name,
        state: t.state as i32,
        endorsement_count: t.endorsement_count,
        endorsed_by_me: t.endorsed_by_me,
        screening: t.screening.map(|s| pb::Screening {
            party_government_need: s.party_government_need,
            public_expectation: s.public_expectation,
            committee_capacity: s.committee_capacity,
            screened_by_user_id: s.screened_by.map(|u| u.to_string()).unwrap_or_default(),
            screen_time: s.screened_at.map(timestamp),
        }),
        contact: t.contact.map(|(name, phone)| pb::PublicContact { name, phone }),
        tracking_code: t.tracking_code.unwrap_or_default(),
        create_time: Some(timestamp(t.created_at)),
        update_time: Some(timestamp(t.updated_at)),
    }
}

fn plan_to_proto(p: Plan) -> pb::Plan {
    pb::Plan {
        id: p.id.to_string(),
        committee_id: p.committee_id.to_string(),
        year: p.year,
        state: p.state as i32,
        return_comments: p.return_comments,
        items: p
            .items
            .into_iter()
            .map(|i| pb::PlanItem {
                id: i.id.to_string(),
                topic_id: opt_string(i.topic_id),
                title: i.title,
                r#type: i.kind as i32,
                type_label: i.type_label,
                lead_committee: i.lead_committee,
                planned_month: i32::from(i.planned_month),
                participating_units: i.participating_units,
            })
            .collect(),
        amendment_count: p.amendment_count,
        create_time: Some(timestamp(p.created_at)),
        update_time: Some(timestamp(p.updated_at)),
    }
}

/// A plan item as entered; `field` is the path of the item in the request.
fn new_plan_item(field: &'static str, i: &pb::PlanItem) -> Result<NewPlanItem, Status> {
    // Static field paths per request shape.
    let (title_f, type_f, label_f, lead_f, month_f, units_f, topic_f) = match field {
        "add_items" => (
            "add_items.title",
            "add_items.type",
            "add_items.type_label",
            "add_items.lead_committee",
            "add_items.planned_month",
            "add_items.participating_units",
            "add_items.topic_id",
        ),
        _ => (
            "item.title",
            "item.type",
            "item.type_label",
            "item.lead_committee",
            "item.planned_month",
            "item.participating_units",
            "item.topic_id",
        ),
    };
    let kind = required_enum(type_f, i.r#type, ConsultationType::from_i16, "consultation type")?;
    let type_label = domain::text(label_f, &i.type_label, 30, false)?;
    domain::check_label(kind, &type_label, label_f)?;
    let title = domain::text(title_f, &i.title, 100, false)?;
    Ok(NewPlanItem {
        topic_id: optional_id(topic_f, &i.topic_id)?,
        title: (!title.is_empty()).then_some(title),
        kind,
        type_label,
        lead_committee: domain::line(lead_f, &i.lead_committee, 60)?,
        planned_month: domain::month(month_f, i.planned_month)?,
        participating_units: domain::lines(units_f, &i.participating_units, 60, 20)?,
    })
}

fn activity_to_proto(a: Activity) -> pb::Activity {
    pb::Activity {
        id: a.id.to_string(),
        committee_id: a.committee_id.to_string(),
        title: a.title,
        r#type: a.kind as i32,
        type_label: a.type_label,
        department: a.department,
        plan_item_id: opt_string(a.plan_item_id),
        year: a.year,
        stage: a.stage as i32,
        leading_group_id: opt_string(a.leading_group_id),
        visits: a
            .visits
            .into_iter()
            .map(|v| pb::ResearchVisit {
                id: v.id.to_string(),
                date: Some(date_to_proto(v.date)),
                place: v.place,
                note: v.note,
            })
            .collect(),
        create_time: Some(timestamp(a.created_at)),
        update_time: Some(timestamp(a.updated_at)),
    }
}

fn meeting_to_proto(m: Meeting) -> pb::Meeting {
    pb::Meeting {
        id: m.id.to_string(),
        committee_id: m.committee_id.to_string(),
        kind: m.kind as i32,
        title: m.title,
        date: Some(date_to_proto(m.date)),
        place: m.place,
        activity_id: opt_string(m.activity_id),
        agenda: m.agenda,
        invitees: m
            .invitees
            .into_iter()
            .map(|i| pb::Invitee {
                member_id: i.member_id.to_string(),
                member_name: i.member_name,
                attendance: i.attendance.map_or(0, |a| a as i32),
                leave_reason: i.leave_reason,
            })
            .collect(),
        observers: m.observers,
        speeches: m
            .speeches
            .into_iter()
            .map(|s| pb::Speech {
                id: s.id.to_string(),
                member_id: s.member_id.to_string(),
                title: s.title,
                kind: s.kind as i32,
            })
            .collect(),
        create_time: Some(timestamp(m.created_at)),
    }
}

fn suggestion_to_proto(s: Suggestion) -> pb::Suggestion {
    pb::Suggestion {
        id: s.id.to_string(),
        activity_id: s.activity_id.to_string(),
        number: s.number,
        text: s.text,
        feedback: s.feedback.map_or(0, |f| f as i32),
        feedback_note: s.feedback_note,
        feedback_time: s.feedback_at.map(timestamp),
    }
}

fn rate_to_proto(t: Tally) -> pb::AdoptionRate {
    pb::AdoptionRate {
        suggestions: t.suggestions,
        with_feedback: t.with_feedback(),
        adopted: t.adopted,
        partly_adopted: t.partly_adopted,
        not_adopted: t.not_adopted,
        rate: t.rate(),
    }
}

fn rates_to_proto(r: AdoptionRates) -> pb::AdoptionRates {
    pb::AdoptionRates {
        year: r.year,
        activities: r
            .activities
            .into_iter()
            .map(|a| pb::ActivityAdoption {
                activity_id: a.activity_id.to_string(),
                title: a.title,
                r#type: a.kind as i32,
                rate: Some(rate_to_proto(a.tally)),
            })
            .collect(),
        types: r
            .types
            .into_iter()
            .map(|(kind, tally)| pb::TypeAdoption { r#type: kind as i32, rate: Some(rate_to_proto(tally)) })
            .collect(),
        total: Some(rate_to_proto(r.total)),
    }
}

fn statistics_to_proto(s: ConsultationStatistics) -> pb::ConsultationStatistics {
    let topics = s.topic_total();
    let activities = s.activity_total();
    let ConsultationStatistics {
        committee_id,
        year,
        topics: by_source,
        plan,
        activities: by_type,
        attendance,
        suggestions,
        quality,
        supervision,
    } = s;
    pb::ConsultationStatistics {
        committee_id: committee_id.to_string(),
        year,
        topics_by_source: by_source
            .into_iter()
            .map(|(source, c)| pb::TopicSourceCount {
                source: source as i32,
                submitted: c.submitted,
                selected: c.selected,
                not_selected: c.not_selected,
            })
            .collect(),
        topics: topics.submitted,
        topics_selected: topics.selected,
        plan: Some(pb::PlanFigures {
            state: plan.state.map_or(0, |p| p as i32),
            items: plan.items,
            items_by_type: plan
                .items_by_type
                .into_iter()
                .map(|(kind, items)| pb::PlanItemTypeCount { r#type: kind as i32, items })
                .collect(),
            items_with_activity: plan.items_with_activity,
            amendments: plan.amendments,
        }),
        activities_by_type: by_type
            .into_iter()
            .map(|(kind, c)| pb::ActivityTypeCount { r#type: kind as i32, activities: c.activities, held: c.held })
            .collect(),
        activities: activities.activities,
        activities_held: activities.held,
        attendance: Some(pb::AttendanceFigures {
            meetings: attendance.meetings,
            invitations: attendance.invitations(),
            present: attendance.present,
            on_leave: attendance.on_leave,
            absent: attendance.absent,
            unrecorded: attendance.unrecorded,
            attendance_rate: attendance.rate(),
        }),
        suggestions: Some(pb::SuggestionFigures {
            total: suggestions.suggestions,
            adopted: suggestions.adopted,
            partly_adopted: suggestions.partly_adopted,
            not_adopted: suggestions.not_adopted,
            awaiting: suggestions.suggestions - suggestions.with_feedback(),
            adoption_rate: suggestions.rate(),
        }),
        quality: Some(pb::QualityFigures {
            scored_activities: quality.scored_activities,
            average_score: quality.average_score,
        }),
        supervision: Some(pb::SupervisionFigures {
            projects: supervision.projects,
            reported_projects: supervision.reported_projects,
            joint_parts: supervision.joint_parts,
            joint_parts_submitted: supervision.joint_parts_submitted,
            inspections: supervision.inspections,
            problems: supervision.problems(),
            rectified: supervision.rectified,
            not_rectified: supervision.not_rectified,
            in_progress: supervision.in_progress,
            open: supervision.open,
            rectification_rate: supervision.rectification_rate(),
        }),
    }
}

/// `xieshang.consultation.v1.ConsultationService`.
pub struct ConsultationApi(pub Store);

impl ConsultationApi {
    async fn transition(
        &self,
        req: &Request<impl Send>,
        id_field: &str,
        plan: &str,
        action: PlanAction,
        comments: Option<String>,
    ) -> Reply<pb::Plan> {
        let ctx = authenticated(req)?;
        let plan_id = id(id_field, plan)?;
        Ok(Response::new(plan_to_proto(self.0.transition_plan(ctx, plan_id, action, comments).await?)))
    }
}

#[tonic::async_trait]
impl pb::consultation_service_server::ConsultationService for ConsultationApi {
    async fn create_topic(&self, req: Request<pb::CreateTopicRequest>) -> Reply<pb::Topic> {
        let ctx = authenticated(&req)?;
        let t = req.get_ref().topic.as_ref().ok_or_else(|| invalid_argument("topic", "is required"))?;
        let new = NewTopic {
            title: domain::line("topic.title", &t.title, 100)?,
            rationale: domain::text("topic.rationale", &t.rationale, 2000, true)?,
            source: enum_value("topic.source", t.source, TopicSource::from_i16, "topic source")?,
            submitter_name: domain::text("topic.submitter_name", &t.submitter_name, 60, false)?,
        };
        Ok(Response::new(topic_to_proto(self.0.create_topic(ctx, new).await?)))
    }

    async fn get_topic(&self, req: Request<pb::GetTopicRequest>) -> Reply<pb::Topic> {
        let ctx = authenticated(&req)?;
        let topic_id = id("id", &req.get_ref().id)?;
        Ok(Response::new(topic_to_proto(self.0.get_topic(ctx, topic_id).await?)))
    }

    async fn list_topics(&self, req: Request<pb::ListTopicsRequest>) -> Reply<pb::ListTopicsResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let filter = TopicFilter {
            source: enum_value("source", r.source, TopicSource::from_i16, "topic source")?,
            state: enum_value("state", r.state, TopicState::from_i16, "topic state")?,
            page_size: r.page_size,
            page_token: r.page_token.clone(),
        };
        let page = self.0.list_topics(ctx, filter).await?;
        Ok(Response::new(pb::ListTopicsResponse {
            topics: page.items.into_iter().map(topic_to_proto).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn endorse_topic(&self, req: Request<pb::EndorseTopicRequest>) -> Reply<pb::Topic> {
        let ctx = authenticated(&req)?;
        let topic_id = id("id", &req.get_ref().id)?;
        Ok(Response::new(topic_to_proto(self.0.endorse_topic(ctx, topic_id).await?)))
    }

    async fn screen_topic(&self, req: Request<pb::ScreenTopicRequest>) -> Reply<pb::Topic> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let topic_id = id("id", &r.id)?;
        let s = r.screening.as_ref().ok_or_else(|| invalid_argument("screening", "is required"))?;
        let notes = [
            domain::text("screening.party_government_need", &s.party_government_need, 200, true)?,
            domain::text("screening.public_expectation", &s.public_expectation, 200, true)?,
            domain::text("screening.committee_capacity", &s.committee_capacity, 200, true)?,
        ];
        let verdict = match r.verdict {
            v if v == pb::ScreeningVerdict::Selected as i32 => true,
            v if v == pb::ScreeningVerdict::NotSelected as i32 => false,
            0 => return Err(invalid_argument("verdict", "is required")),
            v => return Err(invalid_argument("verdict", format!("{v} is not a screening verdict"))),
        };
        Ok(Response::new(topic_to_proto(self.0.screen_topic(ctx, topic_id, notes, verdict).await?)))
    }

    async fn submit_public_topic(
        &self,
        req: Request<pb::SubmitPublicTopicRequest>,
    ) -> Reply<pb::SubmitPublicTopicResponse> {
        // Public: no `authenticated` — the interceptor lets token-less calls through.
        let client = req.remote_addr().map(|a| a.ip());
        let method = rpc_method(&req);
        let r = req.get_ref();
        let contact = r.contact.as_ref().ok_or_else(|| invalid_argument("contact", "is required"))?;
        let public = PublicTopic {
            committee_code: domain::division_code("committee_code", &r.committee_code)?,
            title: domain::line("title", &r.title, 100)?,
            rationale: domain::text("rationale", &r.rationale, 2000, true)?,
            contact_name: domain::line("contact.name", &contact.name, 40)?,
            contact_phone: domain::mobile("contact.phone", &contact.phone)?,
        };
        let tracking_code = self.0.submit_public_topic(client, method, public).await?;
        Ok(Response::new(pb::SubmitPublicTopicResponse { tracking_code }))
    }

    async fn get_public_topic_status(
        &self,
        req: Request<pb::GetPublicTopicStatusRequest>,
    ) -> Reply<pb::PublicTopicStatus> {
        let code = req.get_ref().tracking_code.trim();
        if code.is_empty() {
            return Err(invalid_argument("tracking_code", "is required"));
        }
        let state = self.0.public_topic_status(code).await?;
        Ok(Response::new(pb::PublicTopicStatus { tracking_code: code.to_uppercase(), state: state as i32 }))
    }

    async fn reveal_topic_contact(&self, req: Request<pb::RevealTopicContactRequest>) -> Reply<pb::PublicContact> {
        let ctx = authenticated(&req)?;
        let topic_id = id("id", &req.get_ref().id)?;
        let (name, phone) = self.0.reveal_topic_contact(ctx, topic_id).await?;
        Ok(Response::new(pb::PublicContact { name, phone }))
    }

    async fn create_plan(&self, req: Request<pb::CreatePlanRequest>) -> Reply<pb::Plan> {
        let ctx = authenticated(&req)?;
        let year = domain::year("year", req.get_ref().year)?;
        Ok(Response::new(plan_to_proto(self.0.create_plan(ctx, year).await?)))
    }

    async fn get_plan(&self, req: Request<pb::GetPlanRequest>) -> Reply<pb::Plan> {
        let ctx = authenticated(&req)?;
        let plan_id = id("id", &req.get_ref().id)?;
        Ok(Response::new(plan_to_proto(self.0.get_plan(ctx, plan_id).await?)))
    }

    async fn list_plans(&self, req: Request<pb::ListPlansRequest>) -> Reply<pb::ListPlansResponse> {
        let ctx = authenticated(&req)?;
        let year = optional_year("year", req.get_ref().year)?;
        let plans = self.0.list_plans(ctx, year).await?;
        Ok(Response::new(pb::ListPlansResponse { plans: plans.into_iter().map(plan_to_proto).collect() }))
    }

    async fn add_plan_item(&self, req: Request<pb::AddPlanItemRequest>) -> Reply<pb::Plan> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let plan_id = id("plan_id", &r.plan_id)?;
        let item = new_plan_item("item", r.item.as_ref().ok_or_else(|| invalid_argument("item", "is required"))?)?;
        Ok(Response::new(plan_to_proto(self.0.add_plan_item(ctx, plan_id, item).await?)))
    }

    async fn remove_plan_item(&self, req: Request<pb::RemovePlanItemRequest>) -> Reply<pb::Plan> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let plan_id = id("plan_id", &r.plan_id)?;
        let item_id = id("item_id", &r.item_id)?;
        Ok(Response::new(plan_to_proto(self.0.remove_plan_item(ctx, plan_id, item_id).await?)))
    }

    async fn submit_plan(&self, req: Request<pb::SubmitPlanRequest>) -> Reply<pb::Plan> {
        self.transition(&req, "id", &req.get_ref().id, PlanAction::Submit, None).await
    }

    async fn approve_plan(&self, req: Request<pb::ApprovePlanRequest>) -> Reply<pb::Plan> {
        self.transition(&req, "id", &req.get_ref().id, PlanAction::Approve, None).await
    }

    async fn return_plan(&self, req: Request<pb::ReturnPlanRequest>) -> Reply<pb::Plan> {
        let comments = domain::text("comments", &req.get_ref().comments, 2000, true)?;
        self.transition(&req, "id", &req.get_ref().id, PlanAction::Return, Some(comments)).await
    }

    async fn publish_plan(&self, req: Request<pb::PublishPlanRequest>) -> Reply<pb::Plan> {
        self.transition(&req, "id", &req.get_ref().id, PlanAction::Publish, None).await
    }

    async fn amend_plan(&self, req: Request<pb::AmendPlanRequest>) -> Reply<pb::Plan> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let plan_id = id("id", &r.id)?;
        let reason = domain::text("reason", &r.reason, 500, true)?;
        let add = r.add_items.iter().map(|i| new_plan_item("add_items", i)).collect::<Result<Vec<_>, Status>>()?;
        let remove = r.remove_item_ids.iter().map(|s| id("remove_item_ids", s)).collect::<Result<Vec<_>, Status>>()?;
        Ok(Response::new(plan_to_proto(self.0.amend_plan(ctx, plan_id, reason, add, remove).await?)))
    }

    async fn list_plan_amendments(
        &self,
        req: Request<pb::ListPlanAmendmentsRequest>,
    ) -> Reply<pb::ListPlanAmendmentsResponse> {
        let ctx = authenticated(&req)?;
        let plan_id = id("plan_id", &req.get_ref().plan_id)?;
        let amendments = self.0.list_plan_amendments(ctx, plan_id).await?;
        Ok(Response::new(pb::ListPlanAmendmentsResponse {
            amendments: amendments
                .into_iter()
                .map(|a| pb::PlanAmendment {
                    id: a.id.to_string(),
                    reason: a.reason,
                    added_titles: a.added_titles,
                    removed_titles: a.removed_titles,
                    amended_by_user_id: a.amended_by.map(|u| u.to_string()).unwrap_or_default(),
                    amend_time: Some(timestamp(a.created_at)),
                })
                .collect(),
        }))
    }

    async fn create_activity(&self, req: Request<pb::CreateActivityRequest>) -> Reply<pb::Activity> {
        let ctx = authenticated(&req)?;
        let a = req.get_ref().activity.as_ref().ok_or_else(|| invalid_argument("activity", "is required"))?;
        let new = NewActivity {
            title: domain::line("activity.title", &a.title, 100)?,
            kind: required_enum("activity.type", a.r#type, ConsultationType::from_i16, "consultation type")?,
            type_label: domain::text("activity.type_label", &a.type_label, 30, false)?,
            department: domain::text("activity.department", &a.department, 60, false)?,
            plan_item_id: optional_id("activity.plan_item_id", &a.plan_item_id)?,
            year: optional_year("activity.year", a.year)?,
        };
        Ok(Response::new(activity_to_proto(self.0.create_activity(ctx, new).await?)))
    }

    async fn get_activity(&self, req: Request<pb::GetActivityRequest>) -> Reply<pb::Activity> {
        let ctx = authenticated(&req)?;
        let activity_id = id("id", &req.get_ref().id)?;
        Ok(Response::new(activity_to_proto(self.0.get_activity(ctx, activity_id).await?)))
    }

    async fn list_activities(&self, req: Request<pb::ListActivitiesRequest>) -> Reply<pb::ListActivitiesResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let filter = ActivityFilter {
            year: optional_year("year", r.year)?,
            kind: enum_value("type", r.r#type, ConsultationType::from_i16, "consultation type")?,
            page_size: r.page_size,
            page_token: r.page_token.clone(),
        };
        let page = self.0.list_activities(ctx, filter).await?;
        Ok(Response::new(pb::ListActivitiesResponse {
            activities: page.items.into_iter().map(activity_to_proto).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn add_research_visit(&self, req: Request<pb::AddResearchVisitRequest>) -> Reply<pb::Activity> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let activity_id = id("activity_id", &r.activity_id)?;
        let v = r.visit.as_ref().ok_or_else(|| invalid_argument("visit", "is required"))?;
        let date = date_from_proto("visit.date", v.date.as_ref())?;
        let place = domain::line("visit.place", &v.place, 100)?;
        let note = domain::text("visit.note", &v.note, 2000, false)?;
        Ok(Response::new(activity_to_proto(self.0.add_research_visit(ctx, activity_id, date, place, note).await?)))
    }

    async fn advance_activity(&self, req: Request<pb::AdvanceActivityRequest>) -> Reply<pb::Activity> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let activity_id = id("id", &r.id)?;
        let stage = required_enum("stage", r.stage, ActivityStage::from_i16, "activity stage")?;
        Ok(Response::new(activity_to_proto(self.0.advance_activity(ctx, activity_id, stage).await?)))
    }

    async fn create_meeting(&self, req: Request<pb::CreateMeetingRequest>) -> Reply<pb::Meeting> {
        let ctx = authenticated(&req)?;
        let m = req.get_ref().meeting.as_ref().ok_or_else(|| invalid_argument("meeting", "is required"))?;
        if m.invitees.len() > 500 {
            return Err(invalid_argument("meeting.invitees", "must have at most 500 entries"));
        }
        let new = NewMeeting {
            kind: required_enum("meeting.kind", m.kind, MeetingKind::from_i16, "meeting kind")?,
            title: domain::line("meeting.title", &m.title, 100)?,
            date: date_from_proto("meeting.date", m.date.as_ref())?,
            place: domain::text("meeting.place", &m.place, 100, false)?,
            activity_id: optional_id("meeting.activity_id", &m.activity_id)?,
            agenda: domain::lines("meeting.agenda", &m.agenda, 200, 30)?,
            invitees: m
                .invitees
                .iter()
                .map(|i| id("meeting.invitees.member_id", &i.member_id))
                .collect::<Result<Vec<_>, Status>>()?,
            observers: domain::lines("meeting.observers", &m.observers, 60, 100)?,
        };
        Ok(Response::new(meeting_to_proto(self.0.create_meeting(ctx, new).await?)))
    }

    async fn get_meeting(&self, req: Request<pb::GetMeetingRequest>) -> Reply<pb::Meeting> {
        let ctx = authenticated(&req)?;
        let meeting_id = id("id", &req.get_ref().id)?;
        Ok(Response::new(meeting_to_proto(self.0.get_meeting(ctx, meeting_id).await?)))
    }

    async fn list_meetings(&self, req: Request<pb::ListMeetingsRequest>) -> Reply<pb::ListMeetingsResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let filter = MeetingFilter {
            activity_id: optional_id("activity_id", &r.activity_id)?,
            kind: enum_value("kind", r.kind, MeetingKind::from_i16, "meeting kind")?,
            page_size: r.page_size,
            page_token: r.page_token.clone(),
        };
        let page = self.0.list_meetings(ctx, filter).await?;
        Ok(Response::new(pb::ListMeetingsResponse {
            meetings: page.items.into_iter().map(meeting_to_proto).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn record_attendance(&self, req: Request<pb::RecordAttendanceRequest>) -> Reply<pb::Meeting> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let meeting_id = id("meeting_id", &r.meeting_id)?;
        let entries = r
            .entries
            .iter()
            .map(|e| {
                Ok(AttendanceEntry {
                    member_id: id("entries.member_id", &e.member_id)?,
                    attendance: required_enum("entries.attendance", e.attendance, Attendance::from_i16, "attendance")?,
                    leave_reason: domain::text("entries.leave_reason", &e.leave_reason, 200, false)?,
                })
            })
            .collect::<Result<Vec<_>, Status>>()?;
        Ok(Response::new(meeting_to_proto(self.0.record_attendance(ctx, meeting_id, entries).await?)))
    }

    async fn record_speech(&self, req: Request<pb::RecordSpeechRequest>) -> Reply<pb::Meeting> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let meeting_id = id("meeting_id", &r.meeting_id)?;
        let s = r.speech.as_ref().ok_or_else(|| invalid_argument("speech", "is required"))?;
        let member_id = id("speech.member_id", &s.member_id)?;
        let title = domain::line("speech.title", &s.title, 100)?;
        let kind = required_enum("speech.kind", s.kind, SpeechKind::from_i16, "speech kind")?;
        Ok(Response::new(meeting_to_proto(self.0.record_speech(ctx, meeting_id, member_id, title, kind).await?)))
    }

    async fn add_suggestion(&self, req: Request<pb::AddSuggestionRequest>) -> Reply<pb::Suggestion> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let activity_id = id("activity_id", &r.activity_id)?;
        let text = domain::text("text", &r.text, 2000, true)?;
        Ok(Response::new(suggestion_to_proto(self.0.add_suggestion(ctx, activity_id, text).await?)))
    }

    async fn list_suggestions(&self, req: Request<pb::ListSuggestionsRequest>) -> Reply<pb::ListSuggestionsResponse> {
        let ctx = authenticated(&req)?;
        let activity_id = id("activity_id", &req.get_ref().activity_id)?;
        let suggestions = self.0.list_suggestions(ctx, activity_id).await?;
        Ok(Response::new(pb::ListSuggestionsResponse {
            suggestions: suggestions.into_iter().map(suggestion_to_proto).collect(),
        }))
    }

    async fn record_feedback(&self, req: Request<pb::RecordFeedbackRequest>) -> Reply<pb::Suggestion> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let suggestion_id = id("suggestion_id", &r.suggestion_id)?;
        let result = required_enum("feedback", r.feedback, FeedbackResult::from_i16, "feedback result")?;
        let note = domain::text("note", &r.note, 1000, false)?;
        Ok(Response::new(suggestion_to_proto(self.0.record_feedback(ctx, suggestion_id, result, note).await?)))
    }

    async fn carry_suggestion(&self, req: Request<pb::CarrySuggestionRequest>) -> Reply<pb::CarrySuggestionResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let suggestion_id = id("suggestion_id", &r.suggestion_id)?;
        let target = required_enum("target", r.target, CarryTarget::from_i16, "carry target")?;
        let member_id = id("member_id", &r.member_id)?;
        let carried = self.0.carry_suggestion(ctx, suggestion_id, target, member_id, &r.title).await?;
        Ok(Response::new(pb::CarrySuggestionResponse {
            suggestion: Some(suggestion_to_proto(carried.suggestion)),
            target: carried.target as i32,
            owner_user_id: carried.owner_user_id.to_string(),
            draft_id: carried.draft_id.to_string(),
        }))
    }

    async fn get_adoption_rates(&self, req: Request<pb::GetAdoptionRatesRequest>) -> Reply<pb::AdoptionRates> {
        let ctx = authenticated(&req)?;
        let year = domain::year("year", req.get_ref().year)?;
        Ok(Response::new(rates_to_proto(self.0.adoption_rates(ctx, year).await?)))
    }

    async fn get_consultation_statistics(
        &self,
        req: Request<pb::GetConsultationStatisticsRequest>,
    ) -> Reply<pb::ConsultationStatistics> {
        let ctx = authenticated(&req)?;
        let pb::GetConsultationStatisticsRequest { year } = *req.get_ref();
        let year = domain::year("year", year)?;
        Ok(Response::new(statistics_to_proto(self.0.consultation_statistics(ctx, year).await?)))
    }
}
