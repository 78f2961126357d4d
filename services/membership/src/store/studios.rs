//! Member studios (委员工作室) and the public's requests to them.
//!
//! Staff manage studios and see every request of their committee; a member
//! account linked to a member of a studio sees and answers that studio's
//! requests — any other request is `NotFound`, as is another committee's.
//! The two public operations have no caller: they resolve the committee from
//! its division code in the platform scope, then work in that committee's
//! own scope. The contact phone is sealed; it never reaches the audit log.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::audit::{Actor, AuditRecord};
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::{Scope, Tx};
use xieshang_platform::events::EventOrigin;
use xieshang_platform::ids::{CommitteeId, UserId};
use xieshang_platform::limits::RateLimiter;
use xieshang_proto::events::v1::event::Payload;
use xieshang_proto::events::v1::{DraftTarget, StudioRequestDrafted};

use super::reference::check_reference;
use super::{Store, audit, is_office, office, own_committee};
use crate::domain::studios::{
    DraftKind, NewStudio, PublicRequest, Rating, RequestKind, RequestState, Studio, StudioRequest, tracking_code,
    tracking_code_committee,
};
use crate::domain::{ReferenceKind, mask_phone};
use crate::entity::{committee, member, studio, studio_member, studio_rating, studio_request};
use crate::error::{MembershipError, Result};

/// The associated-data field the contact phone is sealed under.
const PHONE_FIELD: &str = "studio_request/contact_phone";

async fn find_studio(tx: &Tx, committee: CommitteeId, id: Uuid) -> Result<studio::Model> {
    studio::Entity::find_by_id(id)
        .filter(studio::Column::CommitteeId.eq(committee.0))
        .one(&**tx)
        .await?
        .ok_or(MembershipError::NotFound("studio"))
}

async fn view(tx: &Tx, rows: Vec<studio::Model>) -> Result<Vec<Studio>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let links =
        studio_member::Entity::find().filter(studio_member::Column::StudioId.is_in(ids.clone())).all(&**tx).await?;
    let names: HashMap<Uuid, String> = member::Entity::find()
        .filter(member::Column::Id.is_in(links.iter().map(|l| l.member_id).collect::<Vec<_>>()))
        .all(&**tx)
        .await?
        .into_iter()
        .map(|m| (m.id, m.name))
        .collect();
    let mut members: HashMap<Uuid, Vec<(Uuid, String)>> = HashMap::new();
    for l in links {
        members
            .entry(l.studio_id)
            .or_default()
            .push((l.member_id, names.get(&l.member_id).cloned().unwrap_or_default()));
    }
    let mut ratings: HashMap<Uuid, Vec<Rating>> = HashMap::new();
    for r in studio_rating::Entity::find()
        .filter(studio_rating::Column::StudioId.is_in(ids))
        .order_by_asc(studio_rating::Column::Date)
        .order_by_asc(studio_rating::Column::CreatedAt)
        .order_by_asc(studio_rating::Column::Id)
        .all(&**tx)
        .await?
    {
        ratings.entry(r.studio_id).or_default().push(Rating {
            stars: r.stars,
            date: r.date,
            note: r.note,
            rated_by: UserId(r.rated_by),
            created_at: r.created_at,
        });
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut ms = members.remove(&r.id).unwrap_or_default();
            ms.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
            Studio {
                id: r.id,
                committee_id: CommitteeId(r.committee_id),
                name: r.name,
                sector_id: r.sector_id,
                address: r.address,
                members: ms,
                service_items: serde_json::from_str(&r.service_items).unwrap_or_default(),
                ratings: ratings.remove(&r.id).unwrap_or_default(),
                created_at: r.created_at,
            }
        })
        .collect())
}

async fn view_one(tx: &Tx, row: studio::Model) -> Result<Studio> {
    view(tx, vec![row]).await?.pop().ok_or(MembershipError::NotFound("studio"))
}

/// The studios whose requests the caller sees: `None` for all (staff).
async fn visible_studios(tx: &Tx, ctx: &TenantContext, committee: CommitteeId) -> Result<Option<Vec<Uuid>>> {
    if is_office(ctx) {
        return Ok(None);
    }
    let mine: Vec<Uuid> = member::Entity::find()
        .filter(member::Column::CommitteeId.eq(committee.0))
        .filter(member::Column::UserId.eq(ctx.user_id.0))
        .all(&**tx)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    if mine.is_empty() {
        return Err(MembershipError::denied("this needs a member account linked to a member, or the STAFF role"));
    }
    Ok(Some(
        studio_member::Entity::find()
            .filter(studio_member::Column::CommitteeId.eq(committee.0))
            .filter(studio_member::Column::MemberId.is_in(mine))
            .all(&**tx)
            .await?
            .into_iter()
            .map(|l| l.studio_id)
            .collect(),
    ))
}

async fn committee_by_code(tx: &Tx, code: &str) -> Result<CommitteeId> {
    committee::Entity::find()
        .filter(committee::Column::Code.eq(code))
        .filter(committee::Column::Suspended.eq(false))
        .one(&**tx)
        .await?
        .map(|c| CommitteeId(c.id))
        .ok_or(MembershipError::NotFound("committee"))
}

/// The account that owns a draft made from a request: the studio member who
/// answered it, else the studio's first member (roster order) with an account.
async fn draft_owner(tx: &Tx, row: &studio_request::Model) -> Result<Option<Uuid>> {
    let links = studio_member::Entity::find()
        .filter(studio_member::Column::CommitteeId.eq(row.committee_id))
        .filter(studio_member::Column::StudioId.eq(row.studio_id))
        .all(&**tx)
        .await?;
    let accounts: Vec<Uuid> = member::Entity::find()
        .filter(member::Column::CommitteeId.eq(row.committee_id))
        .filter(member::Column::Id.is_in(links.iter().map(|l| l.member_id).collect::<Vec<_>>()))
        .order_by_asc(member::Column::Id)
        .all(&**tx)
        .await?
        .into_iter()
        .filter_map(|m| m.user_id)
        .collect();
    Ok(row.answered_by.filter(|u| accounts.contains(u)).or_else(|| accounts.first().copied()))
}

/// The event announcing a request's draft: title, body and source in words,
/// never the requester's contact.
fn drafted_event(row: &studio_request::Model, studio_name: &str, kind: DraftKind, owner: Option<Uuid>) -> Payload {
    let what = match RequestKind::from_i16(row.kind) {
        Some(RequestKind::Suggestion) => "建议",
        Some(RequestKind::Help) => "求助",
        _ => "咨询",
    };
    let snippet: String = row.content.chars().take(40).collect();
    let title: String = format!("{studio_name}群众{what}：{snippet}").chars().take(100).collect();
    let body = if row.answer.is_empty() {
        row.content.clone()
    } else {
        format!("{}\n\n工作室答复：{}", row.content, row.answer)
    };
    Payload::StudioRequestDrafted(StudioRequestDrafted {
        request_id: row.id.to_string(),
        studio_id: row.studio_id.to_string(),
        target: match kind {
            DraftKind::Proposal => DraftTarget::Proposal,
            DraftKind::Information => DraftTarget::Information,
        } as i32,
        owner_user_id: owner.map(|u| u.to_string()).unwrap_or_default(),
        title,
        body,
        source_note: format!("来源：委员工作室「{studio_name}」群众{what}（跟踪码 {}）", row.tracking_code),
    })
}

impl Store {
    fn request_view(&self, row: studio_request::Model, studio_name: String) -> Result<StudioRequest> {
        let phone = self.pii.open(row.id, PHONE_FIELD, &row.contact_phone_enc)?;
        Ok(StudioRequest {
            id: row.id,
            studio_id: row.studio_id,
            studio_name,
            kind: RequestKind::from_i16(row.kind).unwrap_or(RequestKind::Question),
            content: row.content,
            contact_name: row.contact_name,
            contact_phone_masked: mask_phone(&phone),
            tracking_code: row.tracking_code,
            state: RequestState::from_i16(row.state).unwrap_or(RequestState::Received),
            answer: row.answer,
            answered_by: row.answered_by.map(UserId),
            answered_at: row.answered_at,
            draft_kind: DraftKind::from_i16(row.draft_kind),
            drafted_by: row.drafted_by.map(UserId),
            created_at: row.created_at,
        })
    }

    /// Staff: a studio with its members (of this committee) and service items.
    pub async fn create_studio(&self, ctx: &TenantContext, new: NewStudio) -> Result<Studio> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        check_reference(&tx, committee, ReferenceKind::Sector, new.sector_id, "sector_id").await?;
        let mut member_ids = new.member_ids.clone();
        member_ids.sort();
        member_ids.dedup();
        let found = member::Entity::find()
            .filter(member::Column::CommitteeId.eq(committee.0))
            .filter(member::Column::Id.is_in(member_ids.clone()))
            .all(&*tx)
            .await?;
        if found.len() != member_ids.len() {
            return Err(MembershipError::invalid("member_ids", "must be members of this committee"));
        }
        let now = xieshang_platform::time::now();
        let row = studio::Model {
            id: Uuid::now_v7(),
            committee_id: committee.0,
            name: new.name,
            sector_id: new.sector_id,
            address: new.address,
            service_items: serde_json::to_string(&new.service_items).unwrap_or_else(|_| "[]".into()),
            created_at: now,
            updated_at: now,
        };
        studio::ActiveModel::from(row.clone()).reset_all().insert(&*tx).await?;
        for m in &member_ids {
            let link = studio_member::Model { committee_id: committee.0, studio_id: row.id, member_id: *m };
            studio_member::ActiveModel::from(link).reset_all().insert(&*tx).await?;
        }
        audit(
            &tx,
            ctx,
            committee,
            "member_studio",
            row.id,
            json!({"name": row.name, "members": member_ids, "service_items": new.service_items}),
        )
        .await?;
        let out = view_one(&tx, row).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Users of the committee read its studios.
    pub async fn get_studio(&self, ctx: &TenantContext, id: Uuid) -> Result<Studio> {
        let committee = own_committee(ctx)?;
        let tx = self.begin(ctx).await?;
        let row = find_studio(&tx, committee, id).await?;
        let out = view_one(&tx, row).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub async fn list_studios(&self, ctx: &TenantContext) -> Result<Vec<Studio>> {
        let committee = own_committee(ctx)?;
        let tx = self.begin(ctx).await?;
        let rows = studio::Entity::find()
            .filter(studio::Column::CommitteeId.eq(committee.0))
            .order_by_asc(studio::Column::Name)
            .order_by_asc(studio::Column::Id)
            .all(&*tx)
            .await?;
        let out = view(&tx, rows).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Staff: records a star rating (already validated 1-5).
    pub async fn rate_studio(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        stars: i16,
        date: NaiveDate,
        note: String,
    ) -> Result<Studio> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let row = find_studio(&tx, committee, id).await?;
        let rating = studio_rating::Model {
            id: Uuid::now_v7(),
            committee_id: committee.0,
            studio_id: id,
            stars,
            date,
            note: note.clone(),
            rated_by: ctx.user_id.0,
            created_at: xieshang_platform::time::now(),
        };
        studio_rating::ActiveModel::from(rating).reset_all().insert(&*tx).await?;
        audit(
            &tx,
            ctx,
            committee,
            "member_studio",
            id,
            json!({"stars": stars, "date": date.to_string(), "note": note}),
        )
        .await?;
        let out = view_one(&tx, row).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// The public's request (no caller), rate-limited per client address and
    /// committee. Returns the tracking code. `method` is the RPC path for the audit log.
    pub async fn submit_studio_request(
        &self,
        limiter: &dyn RateLimiter,
        client: Option<IpAddr>,
        method: String,
        p: PublicRequest,
    ) -> Result<String> {
        let client = client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        if !limiter.try_acquire(&format!("studio-request|{client}|{}", p.committee_code)).await {
            return Err(MembershipError::RateLimited(
                "too many studio requests from your address to this committee; try again in 10 minutes".into(),
            ));
        }
        let lookup = self.db.begin(Scope::Platform).await?;
        let committee = committee_by_code(&lookup, &p.committee_code).await?;
        lookup.commit().await?;

        let tx = self.db.begin(Scope::Committee(committee)).await?;
        find_studio(&tx, committee, p.studio_id).await?;
        let code = tracking_code(&p.committee_code);
        let now = xieshang_platform::time::now();
        let id = Uuid::now_v7();
        let row = studio_request::Model {
            id,
            committee_id: committee.0,
            studio_id: p.studio_id,
            kind: p.kind as i16,
            content: p.content,
            contact_name: p.contact_name,
            contact_phone_enc: self.pii.seal(id, PHONE_FIELD, &p.contact_phone),
            tracking_code: code.clone(),
            state: RequestState::Received as i16,
            answer: String::new(),
            answered_by: None,
            answered_at: None,
            draft_kind: 0,
            drafted_by: None,
            drafted_at: None,
            created_at: now,
            updated_at: now,
        };
        studio_request::ActiveModel::from(row).reset_all().insert(&*tx).await?;
        // The contact is personal information: never in the audit log.
        let actor = Actor { user_id: None, username: "public".into(), method };
        let record = AuditRecord {
            committee: Some(committee),
            target_type: "member_studio_request",
            target_id: id.to_string(),
            changes: json!({"studio_id": p.studio_id, "kind": p.kind as i16, "tracking_code": code}),
        };
        tx.audit(&actor, record).await?;
        tx.commit().await?;
        Ok(code)
    }

    /// The state and answer of a public request; `NotFound` for unknown codes.
    pub async fn studio_request_status(&self, tracking: &str) -> Result<(String, RequestState, String)> {
        let code = tracking.trim().to_uppercase();
        let division = tracking_code_committee(&code).ok_or(MembershipError::NotFound("studio request"))?;
        let lookup = self.db.begin(Scope::Platform).await?;
        let committee =
            committee_by_code(&lookup, division).await.map_err(|_| MembershipError::NotFound("studio request"))?;
        lookup.commit().await?;
        let tx = self.db.begin(Scope::Committee(committee)).await?;
        let row = studio_request::Entity::find()
            .filter(studio_request::Column::CommitteeId.eq(committee.0))
            .filter(studio_request::Column::TrackingCode.eq(code.clone()))
            .one(&*tx)
            .await?
            .ok_or(MembershipError::NotFound("studio request"))?;
        tx.commit().await?;
        Ok((code, RequestState::from_i16(row.state).unwrap_or(RequestState::Received), row.answer))
    }

    /// Staff: every request (optionally of one studio); a member: their studios'.
    pub async fn list_studio_requests(
        &self,
        ctx: &TenantContext,
        studio_id: Option<Uuid>,
    ) -> Result<Vec<StudioRequest>> {
        let committee = own_committee(ctx)?;
        let tx = self.begin(ctx).await?;
        let visible = visible_studios(&tx, ctx, committee).await?;
        let mut q = studio_request::Entity::find().filter(studio_request::Column::CommitteeId.eq(committee.0));
        if let Some(ids) = visible {
            q = q.filter(studio_request::Column::StudioId.is_in(ids));
        }
        if let Some(s) = studio_id {
            q = q.filter(studio_request::Column::StudioId.eq(s));
        }
        let rows = q
            .order_by_desc(studio_request::Column::CreatedAt)
            .order_by_desc(studio_request::Column::Id)
            .all(&*tx)
            .await?;
        let names: HashMap<Uuid, String> = studio::Entity::find()
            .filter(studio::Column::CommitteeId.eq(committee.0))
            .all(&*tx)
            .await?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect();
        tx.commit().await?;
        rows.into_iter()
            .map(|r| {
                let name = names.get(&r.studio_id).cloned().unwrap_or_default();
                self.request_view(r, name)
            })
            .collect()
    }

    /// A request the caller may see, with its studio's name.
    async fn visible_request(&self, tx: &Tx, ctx: &TenantContext, id: Uuid) -> Result<(studio_request::Model, String)> {
        let committee = own_committee(ctx)?;
        let row = studio_request::Entity::find_by_id(id)
            .filter(studio_request::Column::CommitteeId.eq(committee.0))
            .one(&**tx)
            .await?
            .ok_or(MembershipError::NotFound("studio request"))?;
        if let Some(ids) = visible_studios(tx, ctx, committee).await?
            && !ids.contains(&row.studio_id)
        {
            return Err(MembershipError::NotFound("studio request"));
        }
        let name = find_studio(tx, committee, row.studio_id).await?.name;
        Ok((row, name))
    }

    /// RECEIVED → ANSWERED, by staff or a member of the studio.
    pub async fn answer_studio_request(&self, ctx: &TenantContext, id: Uuid, answer: String) -> Result<StudioRequest> {
        let tx = self.begin(ctx).await?;
        let (row, name) = self.visible_request(&tx, ctx, id).await?;
        if row.state != RequestState::Received as i16 {
            return Err(MembershipError::precondition("the request is already answered"));
        }
        let now = xieshang_platform::time::now();
        let mut active = studio_request::ActiveModel::from(row.clone());
        active.state = sea_orm::Set(RequestState::Answered as i16);
        active.answer = sea_orm::Set(answer.clone());
        active.answered_by = sea_orm::Set(Some(ctx.user_id.0));
        active.answered_at = sea_orm::Set(Some(now));
        active.updated_at = sea_orm::Set(now);
        let updated = active.update(&*tx).await?;
        audit(
            &tx,
            ctx,
            CommitteeId(row.committee_id),
            "member_studio_request",
            id,
            json!({"state": "ANSWERED", "answer": answer}),
        )
        .await?;
        tx.commit().await?;
        self.request_view(updated, name)
    }

    /// Staff: records that the request became a proposal or information draft,
    /// and emits `StudioRequestDrafted` so the proposals service creates it
    /// (owned by [`draft_owner`]).
    pub async fn mark_studio_request_drafted(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        kind: DraftKind,
    ) -> Result<StudioRequest> {
        office(ctx)?;
        let tx = self.begin(ctx).await?;
        let (row, name) = self.visible_request(&tx, ctx, id).await?;
        if row.draft_kind != 0 {
            return Err(MembershipError::precondition("the request is already turned into a draft"));
        }
        let now = xieshang_platform::time::now();
        let mut active = studio_request::ActiveModel::from(row.clone());
        active.draft_kind = sea_orm::Set(kind as i16);
        active.drafted_by = sea_orm::Set(Some(ctx.user_id.0));
        active.drafted_at = sea_orm::Set(Some(now));
        active.updated_at = sea_orm::Set(now);
        let updated = active.update(&*tx).await?;
        let committee = CommitteeId(row.committee_id);
        let owner = draft_owner(&tx, &row).await?;
        let payload = drafted_event(&row, &name, kind, owner);
        let draft_id = tx.emit(&EventOrigin::of(&tx, committee, Some(ctx.user_id)).await?, payload).await?;
        audit(
            &tx,
            ctx,
            committee,
            "member_studio_request",
            id,
            json!({"draft_kind": kind as i16, "owner_user_id": owner, "draft_id": draft_id}),
        )
        .await?;
        tx.commit().await?;
        self.request_view(updated, name)
    }
}
