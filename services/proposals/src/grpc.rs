//! The gRPC surface: the only module that touches generated protobuf types.
//! Every handler reads the same: authenticate → convert and validate →
//! call the store → convert back; errors map through `ProposalsError`.

use chrono::NaiveDate;
use tonic::{Request, Response, Status};
use uuid::Uuid;
use xieshang_platform::auth::authenticated;
use xieshang_platform::ids::UserId;
use xieshang_platform::status::invalid_argument;
use xieshang_platform::time::{date_from_proto, date_to_proto, timestamp};
use xieshang_proto::common::v1::CommitteeLevel;
use xieshang_proto::proposals::v1 as pb;

use crate::domain::{
    self, Category, Conversion, InformationState, Kind, Level, ProposalState, Rating, ReplyClass, Settings, UnitRole,
};
use crate::store::{
    Assignment, ExportFormat, InformationFilter, NewDigestEntry, NewInformation, ProposalFilter, ProposalPatch,
    SearchFilter, SettingsPatch, Store,
};
use xieshang_platform::ids::CommitteeId;

type Reply<T> = Result<Response<T>, Status>;

fn id(field: &str, s: &str) -> Result<Uuid, Status> {
    if s.is_empty() {
        return Err(invalid_argument(field, "is required"));
    }
    Uuid::parse_str(s).map_err(|_| invalid_argument(field, "is not a valid id"))
}

fn user_ids(field: &str, list: &[String]) -> Result<Vec<UserId>, Status> {
    list.iter().map(|s| UserId::parse(field, s)).collect()
}

fn optional_user(field: &str, s: &str) -> Result<Option<UserId>, Status> {
    if s.is_empty() { Ok(None) } else { UserId::parse(field, s).map(Some) }
}

fn kind(field: &str, v: i32) -> Result<Kind, Status> {
    match pb::ProposalKind::try_from(v) {
        Ok(pb::ProposalKind::Individual) => Ok(Kind::Individual),
        Ok(pb::ProposalKind::Joint) => Ok(Kind::Joint),
        Ok(pb::ProposalKind::Collective) => Ok(Kind::Collective),
        Ok(pb::ProposalKind::Unspecified) => Err(invalid_argument(field, "is required")),
        Err(_) => Err(invalid_argument(field, format!("{v} is not a proposal kind"))),
    }
}

fn category(field: &str, v: i32) -> Result<Option<Category>, Status> {
    match pb::ProposalCategory::try_from(v) {
        Ok(pb::ProposalCategory::Unspecified) => Ok(None),
        Ok(c) => Ok(Category::from_i16(c as i16)),
        Err(_) => Err(invalid_argument(field, format!("{v} is not a proposal category"))),
    }
}

fn required_category(field: &str, v: i32) -> Result<Category, Status> {
    category(field, v)?.ok_or_else(|| invalid_argument(field, "is required"))
}

fn state_from_proto(v: i32) -> Result<Option<ProposalState>, Status> {
    use pb::ProposalState as S;
    Ok(Some(match S::try_from(v).map_err(|_| invalid_argument("state", format!("{v} is not a proposal state")))? {
        S::Unspecified => return Ok(None),
        S::Draft => ProposalState::Draft,
        S::Submitted => ProposalState::Submitted,
        S::Withdrawn => ProposalState::Withdrawn,
        S::Filed => ProposalState::Filed,
        S::Declined => ProposalState::Declined,
        S::Merged => ProposalState::Merged,
        S::Assigned => ProposalState::Assigned,
        S::AwaitingReassignment => ProposalState::AwaitingReassignment,
        S::Handling => ProposalState::Handling,
        S::Replied => ProposalState::Replied,
        S::Closed => ProposalState::Closed,
    }))
}

fn state_to_proto(s: ProposalState) -> pb::ProposalState {
    use pb::ProposalState as S;
    match s {
        ProposalState::Draft => S::Draft,
        ProposalState::Submitted => S::Submitted,
        ProposalState::Withdrawn => S::Withdrawn,
        ProposalState::Filed => S::Filed,
        ProposalState::Declined => S::Declined,
        ProposalState::Merged => S::Merged,
        ProposalState::Assigned => S::Assigned,
        ProposalState::AwaitingReassignment => S::AwaitingReassignment,
        ProposalState::Handling => S::Handling,
        ProposalState::Replied => S::Replied,
        ProposalState::Closed => S::Closed,
    }
}

fn rating(field: &str, v: i32) -> Result<Rating, Status> {
    match pb::Rating::try_from(v) {
        Ok(pb::Rating::Unspecified) => Err(invalid_argument(field, "is required")),
        Ok(r) => Ok(Rating::from_i16(r as i16).expect("enum numbers match")),
        Err(_) => Err(invalid_argument(field, format!("{v} is not a rating"))),
    }
}

fn reply_class(field: &str, v: i32) -> Result<ReplyClass, Status> {
    match pb::ReplyClass::try_from(v) {
        Ok(pb::ReplyClass::Unspecified) => Err(invalid_argument(field, "is required")),
        Ok(c) => Ok(ReplyClass::from_i16(c as i16).expect("enum numbers match")),
        Err(_) => Err(invalid_argument(field, format!("{v} is not a reply class"))),
    }
}

fn conversion(field: &str, v: i32) -> Result<Conversion, Status> {
    match pb::Conversion::try_from(v) {
        Ok(pb::Conversion::Unspecified) => Ok(Conversion::None),
        Ok(c) => Ok(Conversion::from_i16(c as i16).expect("enum numbers match")),
        Err(_) => Err(invalid_argument(field, format!("{v} is not a conversion"))),
    }
}

fn proposal_to_proto(p: domain::Proposal) -> pb::Proposal {
    pb::Proposal {
        id: p.id.to_string(),
        committee_id: p.committee_id.to_string(),
        kind: p.kind as i32,
        title: p.title,
        body: p.body,
        category: p.category as i32,
        proposer_user_id: p.proposer.to_string(),
        co_signer_user_ids: p.co_signers.iter().map(|c| c.user_id.to_string()).collect(),
        co_signatures: p
            .co_signers
            .iter()
            .map(|c| pb::CoSignature { user_id: c.user_id.to_string(), confirmed: c.confirmed })
            .collect(),
        sponsor: p.sponsor,
        state: state_to_proto(p.state) as i32,
        number: p.number.unwrap_or(0),
        term_id: p.term_id.map(|t| t.to_string()).unwrap_or_default(),
        session_id: p.session_id.map(|t| t.to_string()).unwrap_or_default(),
        key: p.key,
        supervising_leader: p.supervising_leader,
        decline_reason: p.decline_reason,
        conversion: p.conversion.map_or(0, |c| c as i32),
        merged_into_proposal_id: p.merged_into.map(|t| t.to_string()).unwrap_or_default(),
        units: p
            .units
            .into_iter()
            .map(|u| pb::AssignedUnit {
                user_id: u.user_id.to_string(),
                role: match u.role {
                    UnitRole::Lead => pb::UnitRole::Lead,
                    UnitRole::Co => pb::UnitRole::Co,
                    UnitRole::Separate => pb::UnitRole::Separate,
                } as i32,
                contact_date: u.contact_date.map(date_to_proto),
                contact_note: u.contact_note,
                reply_class: u.reply_class.map_or(0, |c| c as i32),
                reply_text: u.reply_text,
                reply_time: u.replied_at.map(timestamp),
                on_time: u.on_time,
                follow_up_date: u.follow_up_date.map(date_to_proto),
                follow_up: u.follow_up.map(|f| pb::FollowUpResult {
                    carried_out: f.carried_out,
                    note: f.note,
                    recorded_by_user_id: f.by.to_string(),
                    record_time: Some(timestamp(f.at)),
                }),
            })
            .collect(),
        assign_date: p.assign_date.map(date_to_proto),
        due_date: p.due_date.map(date_to_proto),
        deadline_extended: p.deadline_extended,
        rehandle_count: p.rehandle_count,
        process_rating: p.process_rating.map_or(0, |r| r as i32),
        result_rating: p.result_rating.map_or(0, |r| r as i32),
        create_time: Some(timestamp(p.created_at)),
        update_time: Some(timestamp(p.updated_at)),
        submit_time: p.submitted_at.map(timestamp),
        etag: domain::etag(p.version),
    }
}

fn settings_to_proto(committee: CommitteeId, s: Settings) -> pb::ProposalSettings {
    pb::ProposalSettings {
        committee_id: committee.to_string(),
        objection_window_days: s.objection_window_days,
        co_unit_opinion_months: s.co_unit_opinion_months,
        reply_window_months: s.reply_window_months,
        etag: domain::etag(s.version),
        information_body_max_chars: s.information_body_max,
        due_soon_days: s.due_soon_days,
    }
}

/// Paths of a field mask, checked against the allowed ones.
fn mask_paths<'a>(mask: Option<&'a prost_types::FieldMask>, allowed: &[&str]) -> Result<Vec<&'a str>, Status> {
    let mask = mask.ok_or_else(|| invalid_argument("update_mask", "is required"))?;
    if mask.paths.is_empty() {
        return Err(invalid_argument("update_mask", "names no field"));
    }
    mask.paths
        .iter()
        .map(|p| {
            if allowed.contains(&p.as_str()) {
                Ok(p.as_str())
            } else {
                Err(invalid_argument("update_mask", format!("{p} cannot be updated; allowed: {}", allowed.join(", "))))
            }
        })
        .collect()
}

fn optional_date(field: &str, d: Option<&xieshang_proto::common::v1::Date>) -> Result<Option<NaiveDate>, Status> {
    match d {
        Some(d) => date_from_proto(field, Some(d)).map(Some),
        None => Ok(None),
    }
}

fn opinion_to_proto(o: domain::CoUnitOpinion) -> pb::CoUnitOpinion {
    pb::CoUnitOpinion {
        proposal_id: o.proposal_id.to_string(),
        unit_user_id: o.unit.to_string(),
        opinion: o.opinion,
        send_time: Some(timestamp(o.sent_at)),
    }
}

fn ok(p: domain::Proposal) -> Reply<pb::Proposal> {
    Ok(Response::new(proposal_to_proto(p)))
}

/// `xieshang.proposals.v1.ProposalService`.
pub struct ProposalApi(pub Store);

#[tonic::async_trait]
impl pb::proposal_service_server::ProposalService for ProposalApi {
    async fn create_proposal(&self, req: Request<pb::CreateProposalRequest>) -> Reply<pb::Proposal> {
        let ctx = authenticated(&req)?;
        let p = req.get_ref().proposal.as_ref().ok_or_else(|| invalid_argument("proposal", "is required"))?;
        let input = crate::store::NewProposal {
            kind: kind("proposal.kind", p.kind)?,
            title: p.title.clone(),
            body: p.body.clone(),
            category: required_category("proposal.category", p.category)?,
            co_signers: user_ids("proposal.co_signer_user_ids", &p.co_signer_user_ids)?,
            sponsor: p.sponsor.clone(),
        };
        ok(self.0.create_proposal(ctx, input).await?)
    }

    async fn get_proposal(&self, req: Request<pb::GetProposalRequest>) -> Reply<pb::Proposal> {
        let ctx = authenticated(&req)?;
        ok(self.0.get_proposal(ctx, id("id", &req.get_ref().id)?).await?)
    }

    async fn list_proposals(&self, req: Request<pb::ListProposalsRequest>) -> Reply<pb::ListProposalsResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let filter = ProposalFilter {
            state: state_from_proto(r.state)?,
            category: category("category", r.category)?,
            key: r.key,
            unit: optional_user("unit_user_id", &r.unit_user_id)?,
            proposer: optional_user("proposer_user_id", &r.proposer_user_id)?,
            page_size: r.page_size,
            page_token: r.page_token.clone(),
        };
        let page = self.0.list_proposals(ctx, filter).await?;
        Ok(Response::new(pb::ListProposalsResponse {
            proposals: page.items.into_iter().map(proposal_to_proto).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn update_proposal(&self, req: Request<pb::UpdateProposalRequest>) -> Reply<pb::Proposal> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let p = r.proposal.as_ref().ok_or_else(|| invalid_argument("proposal", "is required"))?;
        let proposal_id = id("proposal.id", &p.id)?;
        let mut patch = ProposalPatch::default();
        for path in mask_paths(r.update_mask.as_ref(), &["title", "body", "category", "co_signer_user_ids"])? {
            match path {
                "title" => patch.title = Some(p.title.clone()),
                "body" => patch.body = Some(p.body.clone()),
                "category" => patch.category = Some(required_category("proposal.category", p.category)?),
                _ => patch.co_signers = Some(user_ids("proposal.co_signer_user_ids", &p.co_signer_user_ids)?),
            }
        }
        ok(self.0.update_proposal(ctx, proposal_id, patch, &r.etag).await?)
    }

    async fn confirm_co_signature(&self, req: Request<pb::ConfirmCoSignatureRequest>) -> Reply<pb::Proposal> {
        let ctx = authenticated(&req)?;
        ok(self.0.confirm_co_signature(ctx, id("id", &req.get_ref().id)?).await?)
    }

    async fn submit_proposal(&self, req: Request<pb::SubmitProposalRequest>) -> Reply<pb::Proposal> {
        let ctx = authenticated(&req)?;
        ok(self.0.submit_proposal(ctx, id("id", &req.get_ref().id)?).await?)
    }

    async fn withdraw_proposal(&self, req: Request<pb::WithdrawProposalRequest>) -> Reply<pb::Proposal> {
        let ctx = authenticated(&req)?;
        ok(self.0.withdraw_proposal(ctx, id("id", &req.get_ref().id)?).await?)
    }

    async fn file_proposal(&self, req: Request<pb::FileProposalRequest>) -> Reply<pb::Proposal> {
        let ctx = authenticated(&req)?;
        ok(self.0.file_proposal(ctx, id("id", &req.get_ref().id)?).await?)
    }

    async fn decline_proposal(&self, req: Request<pb::DeclineProposalRequest>) -> Reply<pb::Proposal> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let proposal_id = id("id", &r.id)?;
        ok(self.0.decline_proposal(ctx, proposal_id, &r.reason, conversion("conversion", r.conversion)?).await?)
    }

    async fn merge_proposal(&self, req: Request<pb::MergeProposalRequest>) -> Reply<pb::Proposal> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let (from, into) = (id("id", &r.id)?, id("into_proposal_id", &r.into_proposal_id)?);
        ok(self.0.merge_proposal(ctx, from, into, &r.reason).await?)
    }

    async fn mark_key_proposal(&self, req: Request<pb::MarkKeyProposalRequest>) -> Reply<pb::Proposal> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        ok(self.0.mark_key(ctx, id("id", &r.id)?, r.key, &r.supervising_leader).await?)
    }

    async fn assign_proposal(&self, req: Request<pb::AssignProposalRequest>) -> Reply<pb::Proposal> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let proposal_id = id("id", &r.id)?;
        let assignment = match (r.lead_unit_user_id.is_empty(), r.unit_user_ids.is_empty()) {
            (false, true) => Assignment::Lead {
                lead: UserId::parse("lead_unit_user_id", &r.lead_unit_user_id)?,
                co: user_ids("co_unit_user_ids", &r.co_unit_user_ids)?,
            },
            (true, false) if r.co_unit_user_ids.is_empty() => {
                Assignment::Separate(user_ids("unit_user_ids", &r.unit_user_ids)?)
            }
            (true, false) => {
                return Err(invalid_argument("co_unit_user_ids", "co-units need a lead unit"));
            }
            _ => {
                return Err(invalid_argument(
                    "lead_unit_user_id",
                    "give either a lead unit (with co-units) or separate unit_user_ids",
                ));
            }
        };
        ok(self.0.assign_proposal(ctx, proposal_id, assignment).await?)
    }

    async fn object_to_assignment(&self, req: Request<pb::ObjectToAssignmentRequest>) -> Reply<pb::Proposal> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        ok(self.0.object_to_assignment(ctx, id("id", &r.id)?, &r.reason).await?)
    }

    async fn record_contact(&self, req: Request<pb::RecordContactRequest>) -> Reply<pb::Proposal> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let proposal_id = id("id", &r.id)?;
        let date = date_from_proto("contact_date", r.contact_date.as_ref())?;
        ok(self.0.record_contact(ctx, proposal_id, date, &r.note).await?)
    }

    async fn reply_to_proposal(&self, req: Request<pb::ReplyToProposalRequest>) -> Reply<pb::Proposal> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let proposal_id = id("id", &r.id)?;
        ok(self.0.reply(ctx, proposal_id, reply_class("reply_class", r.reply_class)?, &r.text).await?)
    }

    async fn extend_deadline(&self, req: Request<pb::ExtendDeadlineRequest>) -> Reply<pb::Proposal> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let proposal_id = id("id", &r.id)?;
        let due = date_from_proto("new_due_date", r.new_due_date.as_ref())?;
        ok(self.0.extend_deadline(ctx, proposal_id, due, &r.reason).await?)
    }

    async fn rate_reply(&self, req: Request<pb::RateReplyRequest>) -> Reply<pb::Proposal> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let proposal_id = id("id", &r.id)?;
        let process = rating("process_rating", r.process_rating)?;
        let result = rating("result_rating", r.result_rating)?;
        ok(self.0.rate_reply(ctx, proposal_id, process, result, &r.comment).await?)
    }

    async fn get_proposal_settings(&self, req: Request<pb::GetProposalSettingsRequest>) -> Reply<pb::ProposalSettings> {
        let ctx = authenticated(&req)?;
        let (committee, s) = self.0.get_settings(ctx).await?;
        Ok(Response::new(settings_to_proto(committee, s)))
    }

    async fn update_proposal_settings(
        &self,
        req: Request<pb::UpdateProposalSettingsRequest>,
    ) -> Reply<pb::ProposalSettings> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let s = r.settings.as_ref().ok_or_else(|| invalid_argument("settings", "is required"))?;
        let mut patch = SettingsPatch::default();
        for path in mask_paths(
            r.update_mask.as_ref(),
            &[
                "objection_window_days",
                "co_unit_opinion_months",
                "reply_window_months",
                "information_body_max_chars",
                "due_soon_days",
            ],
        )? {
            match path {
                "due_soon_days" => patch.due_soon_days = Some(s.due_soon_days),
                "objection_window_days" => patch.objection_window_days = Some(s.objection_window_days),
                "co_unit_opinion_months" => patch.co_unit_opinion_months = Some(s.co_unit_opinion_months),
                "reply_window_months" => patch.reply_window_months = Some(s.reply_window_months),
                _ => patch.information_body_max = Some(s.information_body_max_chars),
            }
        }
        let (committee, updated) = self.0.update_settings(ctx, patch, &r.etag).await?;
        Ok(Response::new(settings_to_proto(committee, updated)))
    }

    async fn list_due_proposals(
        &self,
        req: Request<pb::ListDueProposalsRequest>,
    ) -> Reply<pb::ListDueProposalsResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let as_of = match &r.as_of {
            Some(d) => Some(date_from_proto("as_of", Some(d))?),
            None => None,
        };
        let due = self.0.list_due_proposals(ctx, r.within_days, as_of).await?;
        Ok(Response::new(pb::ListDueProposalsResponse {
            overdue: due.overdue.into_iter().map(proposal_to_proto).collect(),
            due_soon: due.due_soon.into_iter().map(proposal_to_proto).collect(),
        }))
    }

    async fn schedule_follow_up(&self, req: Request<pb::ScheduleFollowUpRequest>) -> Reply<pb::Proposal> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let proposal_id = id("id", &r.id)?;
        let unit = optional_user("unit_user_id", &r.unit_user_id)?;
        let date = optional_date("follow_up_date", r.follow_up_date.as_ref())?;
        ok(self.0.schedule_follow_up(ctx, proposal_id, unit, date).await?)
    }

    async fn record_follow_up(&self, req: Request<pb::RecordFollowUpRequest>) -> Reply<pb::Proposal> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let proposal_id = id("id", &r.id)?;
        let unit = optional_user("unit_user_id", &r.unit_user_id)?;
        ok(self.0.record_follow_up(ctx, proposal_id, unit, r.carried_out, &r.note).await?)
    }

    async fn list_due_follow_ups(
        &self,
        req: Request<pb::ListDueFollowUpsRequest>,
    ) -> Reply<pb::ListDueFollowUpsResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let as_of = optional_date("as_of", r.as_of.as_ref())?;
        let due = self.0.list_due_follow_ups(ctx, r.within_days, as_of).await?;
        Ok(Response::new(pb::ListDueFollowUpsResponse {
            follow_ups: due
                .into_iter()
                .map(|d| pb::DueFollowUp {
                    proposal: Some(proposal_to_proto(d.proposal)),
                    unit_user_id: d.unit.to_string(),
                    follow_up_date: Some(date_to_proto(d.date)),
                })
                .collect(),
        }))
    }

    async fn send_co_unit_opinion(&self, req: Request<pb::SendCoUnitOpinionRequest>) -> Reply<pb::CoUnitOpinion> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let proposal_id = id("id", &r.id)?;
        Ok(Response::new(opinion_to_proto(self.0.send_co_unit_opinion(ctx, proposal_id, &r.opinion).await?)))
    }

    async fn list_co_unit_opinions(
        &self,
        req: Request<pb::ListCoUnitOpinionsRequest>,
    ) -> Reply<pb::ListCoUnitOpinionsResponse> {
        let ctx = authenticated(&req)?;
        let opinions = self.0.list_co_unit_opinions(ctx, id("id", &req.get_ref().id)?).await?;
        Ok(Response::new(pb::ListCoUnitOpinionsResponse {
            opinions: opinions.into_iter().map(opinion_to_proto).collect(),
        }))
    }

    async fn search_proposals(&self, req: Request<pb::SearchProposalsRequest>) -> Reply<pb::SearchProposalsResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let optional_date = |field: &str, d: Option<&xieshang_proto::common::v1::Date>| match d {
            Some(d) => date_from_proto(field, Some(d)).map(Some),
            None => Ok(None),
        };
        let filter = SearchFilter {
            query: r.query.clone(),
            state: state_from_proto(r.state)?,
            category: category("category", r.category)?,
            key: r.key,
            unit: optional_user("unit_user_id", &r.unit_user_id)?,
            proposer: optional_user("proposer_user_id", &r.proposer_user_id)?,
            overdue: r.overdue,
            submitted_from: optional_date("submitted_from", r.submitted_from.as_ref())?,
            submitted_to: optional_date("submitted_to", r.submitted_to.as_ref())?,
            page_size: r.page_size,
            page_token: r.page_token.clone(),
        };
        let page = self.0.search_proposals(ctx, filter).await?;
        Ok(Response::new(pb::SearchProposalsResponse {
            hits: page
                .items
                .into_iter()
                .map(|h| pb::SearchHit {
                    proposal: Some(proposal_to_proto(h.proposal)),
                    snippet: h.snippet,
                    score: h.score,
                })
                .collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn get_proposal_statistics(
        &self,
        req: Request<pb::GetProposalStatisticsRequest>,
    ) -> Reply<pb::ProposalStatistics> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let committee = CommitteeId(id("committee_id", &r.committee_id)?);
        let start = date_from_proto("start_date", r.start_date.as_ref())?;
        let end = date_from_proto("end_date", r.end_date.as_ref())?;
        let s = self.0.proposal_statistics(ctx, committee, start, end).await?;
        let replies = s.class_a + s.class_b + s.class_c;
        Ok(Response::new(pb::ProposalStatistics {
            committee_id: committee.to_string(),
            start_date: Some(date_to_proto(start)),
            end_date: Some(date_to_proto(end)),
            received: s.received,
            filed: s.filed,
            filing_rate: domain::ratio(s.filed, s.received),
            by_category: s
                .by_category
                .iter()
                .map(|(c, received, filed)| pb::CategoryCount {
                    category: *c as i32,
                    received: *received,
                    filed: *filed,
                })
                .collect(),
            by_unit: s
                .by_unit
                .iter()
                .map(|u| pb::UnitCount {
                    unit_user_id: u.unit.map(|x| x.to_string()).unwrap_or_default(),
                    unit_name: u.name.clone(),
                    assigned: u.assigned,
                    replied: u.replied,
                    replied_on_time: u.replied_on_time,
                })
                .collect(),
            replied: s.replied,
            replied_on_time: s.replied_on_time,
            overdue: s.overdue,
            class_a: s.class_a,
            class_b: s.class_b,
            class_c: s.class_c,
            class_a_share: domain::ratio(s.class_a, replies),
            class_b_share: domain::ratio(s.class_b, replies),
            class_c_share: domain::ratio(s.class_c, replies),
            rated: s.rated,
            satisfaction_rate: domain::ratio(s.satisfied, s.rated),
            rehandled: s.rehandled,
            information_submitted: s.information_submitted,
            information_adopted: s.information_adopted,
            information_instructed: s.information_instructed,
            information_adopted_by_level: s
                .information_adopted_by_level
                .iter()
                .map(|(level, n)| pb::LevelCount { level: level_to_proto(*level) as i32, adopted: *n })
                .collect(),
        }))
    }
}

fn level_to_proto(l: Level) -> CommitteeLevel {
    match l {
        Level::Provincial => CommitteeLevel::Provincial,
        Level::City => CommitteeLevel::City,
        Level::County => CommitteeLevel::County,
    }
}

fn information_state_to_proto(s: InformationState) -> pb::InformationState {
    match s {
        InformationState::Submitted => pb::InformationState::Submitted,
        InformationState::Edited => pb::InformationState::Edited,
        InformationState::Adopted => pb::InformationState::Adopted,
        InformationState::Declined => pb::InformationState::Declined,
    }
}

fn information_state_from_proto(v: i32) -> Result<Option<InformationState>, Status> {
    use pb::InformationState as S;
    Ok(Some(
        match S::try_from(v).map_err(|_| invalid_argument("state", format!("{v} is not an information state")))? {
            S::Unspecified => return Ok(None),
            S::Submitted => InformationState::Submitted,
            S::Edited => InformationState::Edited,
            S::Adopted => InformationState::Adopted,
            S::Declined => InformationState::Declined,
        },
    ))
}

fn information_to_proto(i: domain::Information) -> pb::InformationItem {
    pb::InformationItem {
        id: i.id.to_string(),
        committee_id: i.committee_id.to_string(),
        title: i.title,
        body: i.body,
        state: information_state_to_proto(i.state) as i32,
        author_user_ids: i.authors.iter().map(ToString::to_string).collect(),
        author_names: i.author_names,
        origin_committee_id: i.origin_committee_id.to_string(),
        origin_item_id: i.origin_item_id.to_string(),
        forwarded_to_committee_id: i.forwarded_to.map(|c| c.to_string()).unwrap_or_default(),
        received_from_committee_id: i.received_from.map(|c| c.to_string()).unwrap_or_default(),
        decline_reason: i.decline_reason,
        instruction_leader: i.instruction_leader,
        instruction_text: i.instruction_text,
        upward: i
            .upward
            .into_iter()
            .map(|u| pb::UpwardStatus {
                kind: if u.adopted { "adopted" } else { "instructed" }.into(),
                committee_id: u.committee_id.to_string(),
                committee_name: u.committee_name,
                level: u.level.map_or(0, |l| level_to_proto(l) as i32),
                time: Some(timestamp(u.at)),
            })
            .collect(),
        create_time: Some(timestamp(i.created_at)),
        update_time: Some(timestamp(i.updated_at)),
        etag: domain::etag(i.version),
    }
}

fn item(i: domain::Information) -> Reply<pb::InformationItem> {
    Ok(Response::new(information_to_proto(i)))
}

/// `xieshang.proposals.v1.InformationService`.
pub struct InformationApi(pub Store);

#[tonic::async_trait]
impl pb::information_service_server::InformationService for InformationApi {
    async fn submit_information(&self, req: Request<pb::SubmitInformationRequest>) -> Reply<pb::InformationItem> {
        let ctx = authenticated(&req)?;
        let i = req.get_ref().information.as_ref().ok_or_else(|| invalid_argument("information", "is required"))?;
        let input = NewInformation {
            title: i.title.clone(),
            body: i.body.clone(),
            co_authors: user_ids("information.author_user_ids", &i.author_user_ids)?,
        };
        item(self.0.submit_information(ctx, input).await?)
    }

    async fn get_information(&self, req: Request<pb::GetInformationRequest>) -> Reply<pb::InformationItem> {
        let ctx = authenticated(&req)?;
        item(self.0.get_information(ctx, id("id", &req.get_ref().id)?).await?)
    }

    async fn list_information(&self, req: Request<pb::ListInformationRequest>) -> Reply<pb::ListInformationResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let filter = InformationFilter {
            state: information_state_from_proto(r.state)?,
            received: r.received,
            page_size: r.page_size,
            page_token: r.page_token.clone(),
        };
        let page = self.0.list_information(ctx, filter).await?;
        Ok(Response::new(pb::ListInformationResponse {
            items: page.items.into_iter().map(information_to_proto).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn edit_information(&self, req: Request<pb::EditInformationRequest>) -> Reply<pb::InformationItem> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let item_id = id("id", &r.id)?;
        let title = (!r.title.is_empty()).then(|| r.title.clone());
        let body = (!r.body.is_empty()).then(|| r.body.clone());
        item(self.0.edit_information(ctx, item_id, title, body, &r.etag).await?)
    }

    async fn adopt_information(&self, req: Request<pb::AdoptInformationRequest>) -> Reply<pb::InformationItem> {
        let ctx = authenticated(&req)?;
        item(self.0.adopt_information(ctx, id("id", &req.get_ref().id)?).await?)
    }

    async fn decline_information(&self, req: Request<pb::DeclineInformationRequest>) -> Reply<pb::InformationItem> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        item(self.0.decline_information(ctx, id("id", &r.id)?, &r.reason).await?)
    }

    async fn instruct_information(&self, req: Request<pb::InstructInformationRequest>) -> Reply<pb::InformationItem> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        item(self.0.instruct_information(ctx, id("id", &r.id)?, &r.leader, &r.text).await?)
    }

    async fn forward_information(&self, req: Request<pb::ForwardInformationRequest>) -> Reply<pb::InformationItem> {
        let ctx = authenticated(&req)?;
        item(self.0.forward_information(ctx, id("id", &req.get_ref().id)?).await?)
    }
}

fn digest_to_proto(d: crate::digest::Digest) -> pb::Digest {
    pb::Digest {
        id: d.id.to_string(),
        committee_id: d.committee_id.to_string(),
        title: d.title,
        period: d.period,
        entries: d
            .entries
            .into_iter()
            .map(|e| pb::DigestEntry {
                position: e.position,
                proposal_id: e.proposal_id.to_string(),
                proposal_number: e.number.unwrap_or(0),
                proposal_title: e.title,
                summary: e.summary,
            })
            .collect(),
        create_time: Some(timestamp(d.created_at)),
        update_time: Some(timestamp(d.updated_at)),
        etag: domain::etag(d.version),
    }
}

fn digest(d: crate::digest::Digest) -> Reply<pb::Digest> {
    Ok(Response::new(digest_to_proto(d)))
}

/// `xieshang.proposals.v1.DigestService`.
pub struct DigestApi(pub Store);

#[tonic::async_trait]
impl pb::digest_service_server::DigestService for DigestApi {
    async fn create_digest(&self, req: Request<pb::CreateDigestRequest>) -> Reply<pb::Digest> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        digest(self.0.create_digest(ctx, &r.title, &r.period).await?)
    }

    async fn get_digest(&self, req: Request<pb::GetDigestRequest>) -> Reply<pb::Digest> {
        let ctx = authenticated(&req)?;
        digest(self.0.get_digest(ctx, id("id", &req.get_ref().id)?).await?)
    }

    async fn list_digests(&self, req: Request<pb::ListDigestsRequest>) -> Reply<pb::ListDigestsResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let page = self.0.list_digests(ctx, r.page_size, &r.page_token).await?;
        Ok(Response::new(pb::ListDigestsResponse {
            digests: page.items.into_iter().map(digest_to_proto).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn add_digest_entry(&self, req: Request<pb::AddDigestEntryRequest>) -> Reply<pb::Digest> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let digest_id = id("digest_id", &r.digest_id)?;
        let entry = NewDigestEntry {
            proposal_id: id("proposal_id", &r.proposal_id)?,
            summary: r.summary.clone(),
            position: r.position,
        };
        digest(self.0.add_digest_entry(ctx, digest_id, entry).await?)
    }

    async fn reorder_digest(&self, req: Request<pb::ReorderDigestRequest>) -> Reply<pb::Digest> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let digest_id = id("digest_id", &r.digest_id)?;
        let ids = r.proposal_ids.iter().map(|s| id("proposal_ids", s)).collect::<Result<Vec<_>, _>>()?;
        digest(self.0.reorder_digest(ctx, digest_id, &ids).await?)
    }

    async fn remove_digest_entry(&self, req: Request<pb::RemoveDigestEntryRequest>) -> Reply<pb::Digest> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let digest_id = id("digest_id", &r.digest_id)?;
        digest(self.0.remove_digest_entry(ctx, digest_id, id("proposal_id", &r.proposal_id)?).await?)
    }

    async fn export_digest(&self, req: Request<pb::ExportDigestRequest>) -> Reply<pb::ExportDigestResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let digest_id = id("id", &r.id)?;
        let format = match pb::DigestFormat::try_from(r.format) {
            Ok(pb::DigestFormat::Markdown) => ExportFormat::Markdown,
            Ok(pb::DigestFormat::Docx) => ExportFormat::Docx,
            Ok(pb::DigestFormat::Unspecified) => return Err(invalid_argument("format", "is required")),
            Err(_) => return Err(invalid_argument("format", format!("{} is not a digest format", r.format))),
        };
        let out = self.0.export_digest(ctx, digest_id, format).await?;
        Ok(Response::new(pb::ExportDigestResponse {
            content: out.content,
            media_type: out.media_type.to_owned(),
            file_name: out.file_name,
        }))
    }
}
