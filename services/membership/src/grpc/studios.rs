//! `xieshang.membership.v1.StudioService`: member studios (委员工作室) and the
//! public's requests — conversions and handlers.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use xieshang_platform::auth::{authenticated, rpc_method};
use xieshang_platform::limits::RateLimiter;
use xieshang_platform::status::invalid_argument;
use xieshang_platform::time::{date_from_proto, date_to_proto, timestamp};
use xieshang_proto::membership::v1 as pb;

use super::{Reply, enum_value, id, optional_id, required};
use crate::domain::studios::{
    DraftKind, MAX_CONTENT, NewStudio, PublicRequest, Rating, RequestKind, Studio, StudioRequest,
};
use crate::domain::{phone, text};
use crate::store::Store;

fn rating_to_proto(r: Rating) -> pb::StarRating {
    pb::StarRating {
        stars: i32::from(r.stars),
        date: Some(date_to_proto(r.date)),
        note: r.note,
        rated_by_user_id: r.rated_by.to_string(),
        create_time: Some(timestamp(r.created_at)),
    }
}

fn studio_to_proto(s: Studio) -> pb::Studio {
    pb::Studio {
        stars: i32::from(s.stars()),
        id: s.id.to_string(),
        committee_id: s.committee_id.to_string(),
        name: s.name,
        sector_id: s.sector_id.to_string(),
        address: s.address,
        members: s
            .members
            .into_iter()
            .map(|(member_id, name)| pb::StudioMember { member_id: member_id.to_string(), name })
            .collect(),
        service_items: s.service_items,
        ratings: s.ratings.into_iter().map(rating_to_proto).collect(),
        create_time: Some(timestamp(s.created_at)),
    }
}

fn request_to_proto(r: StudioRequest) -> pb::StudioRequest {
    pb::StudioRequest {
        id: r.id.to_string(),
        studio_id: r.studio_id.to_string(),
        studio_name: r.studio_name,
        kind: r.kind as i32,
        content: r.content,
        contact_name: r.contact_name,
        contact_phone: r.contact_phone_masked,
        tracking_code: r.tracking_code,
        state: r.state as i32,
        answer: r.answer,
        answered_by_user_id: r.answered_by.map(|u| u.to_string()).unwrap_or_default(),
        answer_time: r.answered_at.map(timestamp),
        draft_kind: r.draft_kind.map_or(0, |k| k as i32),
        drafted_by_user_id: r.drafted_by.map(|u| u.to_string()).unwrap_or_default(),
        create_time: Some(timestamp(r.created_at)),
    }
}

fn division_code(field: &str, s: &str) -> Result<String, Status> {
    let s = s.trim();
    if s.len() == 6 && s.chars().all(|c| c.is_ascii_digit()) {
        Ok(s.to_owned())
    } else {
        Err(invalid_argument(field, "must be a 6-digit division code"))
    }
}

/// A mainland mobile number for the public's contact: 11 digits, `1[3-9]…`.
fn mobile(field: &'static str, s: &str) -> Result<String, Status> {
    let digits = phone(field, s)?;
    if !matches!(digits.as_bytes()[1], b'3'..=b'9') {
        return Err(invalid_argument(field, "must be a mainland mobile number (1[3-9] and nine digits)"));
    }
    Ok(digits)
}

/// `xieshang.membership.v1.StudioService`.
pub struct StudioApi {
    pub store: Store,
    pub limiter: Arc<dyn RateLimiter>,
}

#[tonic::async_trait]
impl pb::studio_service_server::StudioService for StudioApi {
    async fn create_studio(&self, req: Request<pb::CreateStudioRequest>) -> Reply<pb::Studio> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        if r.service_items.len() > 100 {
            return Err(invalid_argument("service_items", "must be at most 100 items"));
        }
        let new = NewStudio {
            name: text("name", &r.name, 60, true)?,
            sector_id: id("sector_id", &r.sector_id)?,
            address: text("address", &r.address, 200, true)?,
            member_ids: r.member_ids.iter().map(|m| id("member_ids", m)).collect::<Result<_, _>>()?,
            service_items: r
                .service_items
                .iter()
                .map(|s| text("service_items", s, 100, true))
                .collect::<Result<_, _>>()?,
        };
        Ok(Response::new(studio_to_proto(self.store.create_studio(ctx, new).await?)))
    }

    async fn get_studio(&self, req: Request<pb::GetStudioRequest>) -> Reply<pb::Studio> {
        let ctx = authenticated(&req)?;
        let studio_id = id("id", &req.get_ref().id)?;
        Ok(Response::new(studio_to_proto(self.store.get_studio(ctx, studio_id).await?)))
    }

    async fn list_studios(&self, req: Request<pb::ListStudiosRequest>) -> Reply<pb::ListStudiosResponse> {
        let ctx = authenticated(&req)?;
        let studios = self.store.list_studios(ctx).await?;
        Ok(Response::new(pb::ListStudiosResponse { studios: studios.into_iter().map(studio_to_proto).collect() }))
    }

    async fn rate_studio(&self, req: Request<pb::RateStudioRequest>) -> Reply<pb::Studio> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let studio_id = id("studio_id", &r.studio_id)?;
        if !(1..=5).contains(&r.stars) {
            return Err(invalid_argument("stars", "must be between 1 and 5"));
        }
        let date = date_from_proto("date", r.date.as_ref())?;
        let note = text("note", &r.note, 500, false)?;
        Ok(Response::new(studio_to_proto(self.store.rate_studio(ctx, studio_id, r.stars as i16, date, note).await?)))
    }

    async fn submit_studio_request(
        &self,
        req: Request<pb::SubmitStudioRequestRequest>,
    ) -> Reply<pb::SubmitStudioRequestResponse> {
        // Public: no `authenticated` — the interceptor lets token-less calls through.
        let client = req.remote_addr().map(|a| a.ip());
        let method = rpc_method(&req);
        let r = req.get_ref();
        let contact = r.contact.as_ref().ok_or_else(|| invalid_argument("contact", "is required"))?;
        let public = PublicRequest {
            committee_code: division_code("committee_code", &r.committee_code)?,
            studio_id: id("studio_id", &r.studio_id)?,
            kind: required("kind", enum_value("kind", r.kind, RequestKind::from_i16, "studio request kind")?)?,
            content: text("content", &r.content, MAX_CONTENT, true)?,
            contact_name: text("contact.name", &contact.name, 40, true)?,
            contact_phone: mobile("contact.phone", &contact.phone)?,
        };
        let tracking_code = self.store.submit_studio_request(self.limiter.as_ref(), client, method, public).await?;
        Ok(Response::new(pb::SubmitStudioRequestResponse { tracking_code }))
    }

    async fn get_studio_request_status(
        &self,
        req: Request<pb::GetStudioRequestStatusRequest>,
    ) -> Reply<pb::StudioRequestStatus> {
        // Public: only the state and the answer.
        let code = req.get_ref().tracking_code.trim();
        if code.is_empty() {
            return Err(invalid_argument("tracking_code", "is required"));
        }
        let (tracking_code, state, answer) = self.store.studio_request_status(code).await?;
        Ok(Response::new(pb::StudioRequestStatus { tracking_code, state: state as i32, answer }))
    }

    async fn list_studio_requests(
        &self,
        req: Request<pb::ListStudioRequestsRequest>,
    ) -> Reply<pb::ListStudioRequestsResponse> {
        let ctx = authenticated(&req)?;
        let studio_id = optional_id("studio_id", &req.get_ref().studio_id)?;
        let requests = self.store.list_studio_requests(ctx, studio_id).await?;
        Ok(Response::new(pb::ListStudioRequestsResponse {
            requests: requests.into_iter().map(request_to_proto).collect(),
        }))
    }

    async fn answer_studio_request(&self, req: Request<pb::AnswerStudioRequestRequest>) -> Reply<pb::StudioRequest> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let request_id = id("id", &r.id)?;
        let answer = text("answer", &r.answer, 2000, true)?;
        Ok(Response::new(request_to_proto(self.store.answer_studio_request(ctx, request_id, answer).await?)))
    }

    async fn mark_studio_request_drafted(
        &self,
        req: Request<pb::MarkStudioRequestDraftedRequest>,
    ) -> Reply<pb::StudioRequest> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let request_id = id("id", &r.id)?;
        let kind = required("kind", enum_value("kind", r.kind, DraftKind::from_i16, "studio draft kind")?)?;
        Ok(Response::new(request_to_proto(self.store.mark_studio_request_drafted(ctx, request_id, kind).await?)))
    }
}
