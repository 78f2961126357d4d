//! Topic sourcing (议题征集): topics from the four sources, members'
//! endorsements, staff's screening, and the public's sign-in-free submission.

use std::collections::HashSet;
use std::net::IpAddr;

use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::audit::Actor;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::{Scope, Tx};
use xieshang_platform::ids::{CommitteeId, UserId};
use xieshang_platform::pii::{Pii, TOPIC_CONTACT_PHONE, mask_phone};
use xieshang_proto::common::v1::Role;

use super::{Page, Store, audit, audit_as, is_office, office, own_committee, paged, uuid_token};
use crate::domain::{self, Screening, Topic, TopicSource, TopicState};
use crate::entity::{committee, endorsement, topic};
use crate::error::{ConsultationError, Result};

/// A topic entered by a signed-in user (validated in shape).
#[derive(Clone, Debug)]
pub struct NewTopic {
    pub title: String,
    pub rationale: String,
    /// None: MEMBER for a member; required for staff.
    pub source: Option<TopicSource>,
    /// Empty: the caller's username.
    pub submitter_name: String,
}

/// A topic submitted by the public (validated in shape).
#[derive(Clone, Debug)]
pub struct PublicTopic {
    pub committee_code: String,
    pub title: String,
    pub rationale: String,
    pub contact_name: String,
    pub contact_phone: String,
}

/// Filters of [`Store::list_topics`]; `None` means any.
#[derive(Clone, Debug, Default)]
pub struct TopicFilter {
    pub source: Option<TopicSource>,
    pub state: Option<TopicState>,
    pub page_size: i32,
    pub page_token: String,
}

/// The submitter's phone in full: the sealed value, or a legacy plain one
/// (rows from before phones were sealed; see the migration
/// `m20261126_000003_topic_contact_sealed`).
fn contact_phone(pii: Result<&Pii>, row: &topic::Model) -> Result<Option<String>> {
    match (&row.contact_phone_enc, &row.contact_phone) {
        (Some(sealed), _) => Ok(Some(pii?.open(row.id, TOPIC_CONTACT_PHONE, sealed)?)),
        (None, legacy) => Ok(legacy.clone()),
    }
}

/// A stored row as the caller sees it: the public contact only for the
/// office, its phone masked (the full one only through [`Store::reveal_topic_contact`]).
fn to_domain(pii: Result<&Pii>, row: topic::Model, endorsed_by_me: bool, office: bool) -> Result<Topic> {
    let screening = row.screened_at.map(|at| Screening {
        party_government_need: row.need_note.clone().unwrap_or_default(),
        public_expectation: row.expectation_note.clone().unwrap_or_default(),
        committee_capacity: row.capacity_note.clone().unwrap_or_default(),
        screened_by: row.screened_by.map(UserId),
        screened_at: Some(at),
    });
    // Only the office's reads open the phone: nobody else is shown it at all.
    let contact = match (office, &row.contact_name) {
        (true, Some(name)) => contact_phone(pii, &row)?.map(|phone| (name.clone(), mask_phone(&phone))),
        _ => None,
    };
    Ok(Topic {
        id: row.id,
        committee_id: CommitteeId(row.committee_id),
        title: row.title,
        rationale: row.rationale,
        source: TopicSource::from_i16(row.source).unwrap_or(TopicSource::Committee),
        submitter: row.submitter_user_id.map(UserId),
        submitter_name: row.submitter_name,
        state: TopicState::from_i16(row.state).unwrap_or(TopicState::Proposed),
        endorsement_count: row.endorsement_count,
        endorsed_by_me,
        screening,
        contact,
        tracking_code: row.tracking_code,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Members read their own topics and the members' recommended ones (to endorse them).
fn member_visible(ctx: &TenantContext) -> Condition {
    Condition::any()
        .add(topic::Column::SubmitterUserId.eq(ctx.user_id.0))
        .add(topic::Column::Source.eq(TopicSource::Member as i16))
}

/// A topic the caller may read, or `NotFound` (also for another committee's).
async fn find_readable(tx: &Tx, ctx: &TenantContext, id: Uuid) -> Result<topic::Model> {
    let committee = own_committee(ctx)?;
    let mut query = topic::Entity::find_by_id(id).filter(topic::Column::CommitteeId.eq(committee.0));
    if !is_office(ctx) {
        query = query.filter(member_visible(ctx));
    }
    query.one(&**tx).await?.ok_or(ConsultationError::NotFound("topic"))
}

async fn endorsed(tx: &Tx, ctx: &TenantContext, ids: Vec<Uuid>) -> Result<HashSet<Uuid>> {
    Ok(endorsement::Entity::find()
        .filter(endorsement::Column::TopicId.is_in(ids))
        .filter(endorsement::Column::UserId.eq(ctx.user_id.0))
        .all(&**tx)
        .await?
        .into_iter()
        .map(|e| e.topic_id)
        .collect())
}

/// A committee accepting public submissions, by division code.
async fn committee_by_code(tx: &Tx, code: &str) -> Result<CommitteeId> {
    committee::Entity::find()
        .filter(committee::Column::Code.eq(code))
        .filter(committee::Column::Suspended.eq(false))
        .one(&**tx)
        .await?
        .map(|c| CommitteeId(c.id))
        .ok_or(ConsultationError::NotFound("committee"))
}

impl Store {
    /// Adds a topic. Staff: any source (required). Members: MEMBER only.
    pub async fn create_topic(&self, ctx: &TenantContext, new: NewTopic) -> Result<Topic> {
        let committee = own_committee(ctx)?;
        let source = if is_office(ctx) {
            new.source.ok_or_else(|| ConsultationError::invalid("topic.source", "is required"))?
        } else if ctx.has_role(Role::Member) {
            match new.source {
                None | Some(TopicSource::Member) => TopicSource::Member,
                Some(_) => return Err(ConsultationError::denied("members propose MEMBER topics (委员荐题) only")),
            }
        } else {
            return Err(ConsultationError::denied("this needs the MEMBER, STAFF or COMMITTEE_ADMIN role"));
        };
        let submitter_name = if new.submitter_name.is_empty() { ctx.username.clone() } else { new.submitter_name };
        let now = xieshang_platform::time::now();
        let row = topic::Model {
            id: Uuid::now_v7(),
            committee_id: committee.0,
            title: new.title,
            rationale: new.rationale,
            source: source as i16,
            submitter_user_id: Some(ctx.user_id.0),
            submitter_name,
            contact_name: None,
            contact_phone: None,
            contact_phone_enc: None,
            tracking_code: None,
            state: TopicState::Proposed as i16,
            endorsement_count: 0,
            need_note: None,
            expectation_note: None,
            capacity_note: None,
            screened_by: None,
            screened_at: None,
            created_at: now,
            updated_at: now,
        };
        let tx = self.begin(ctx).await?;
        topic::ActiveModel::from(row.clone()).reset_all().insert(&*tx).await?;
        audit(
            &tx,
            ctx,
            committee,
            "consultation_topic",
            row.id,
            json!({"title": row.title, "source": source.as_str()}),
        )
        .await?;
        tx.commit().await?;
        to_domain(self.pii(), row, false, is_office(ctx))
    }

    pub async fn get_topic(&self, ctx: &TenantContext, id: Uuid) -> Result<Topic> {
        let tx = self.begin(ctx).await?;
        let row = find_readable(&tx, ctx, id).await?;
        let mine = endorsed(&tx, ctx, vec![id]).await?;
        tx.commit().await?;
        to_domain(self.pii(), row, mine.contains(&id), is_office(ctx))
    }

    /// The topics the caller may read, oldest first, paged.
    pub async fn list_topics(&self, ctx: &TenantContext, filter: TopicFilter) -> Result<Page<Topic>> {
        let committee = own_committee(ctx)?;
        let size = xieshang_platform::page::size(filter.page_size, 50, 200)?;
        let after = uuid_token(&filter.page_token)?;
        let tx = self.begin(ctx).await?;
        let mut query = topic::Entity::find().filter(topic::Column::CommitteeId.eq(committee.0));
        if !is_office(ctx) {
            query = query.filter(member_visible(ctx));
        }
        if let Some(source) = filter.source {
            query = query.filter(topic::Column::Source.eq(source as i16));
        }
        if let Some(state) = filter.state {
            query = query.filter(topic::Column::State.eq(state as i16));
        }
        if let Some(after) = after {
            query = query.filter(topic::Column::Id.gt(after));
        }
        let rows = query.order_by_asc(topic::Column::Id).limit(size + 1).all(&*tx).await?;
        let mine = endorsed(&tx, ctx, rows.iter().map(|r| r.id).collect()).await?;
        tx.commit().await?;
        let office = is_office(ctx);
        let page = paged(
            rows,
            size,
            |r| r.id,
            |r| {
                let me = mine.contains(&r.id);
                to_domain(self.pii(), r, me, office)
            },
        );
        Ok(Page { items: page.items.into_iter().collect::<Result<_>>()?, next_page_token: page.next_page_token })
    }

    /// Endorses a PROPOSED topic, once per user. Members.
    pub async fn endorse_topic(&self, ctx: &TenantContext, id: Uuid) -> Result<Topic> {
        let committee = own_committee(ctx)?;
        let tx = self.begin(ctx).await?;
        let mut row = find_readable(&tx, ctx, id).await?;
        if !ctx.has_role(Role::Member) {
            return Err(ConsultationError::denied("only members (ROLE_MEMBER) endorse topics"));
        }
        TopicState::from_i16(row.state).unwrap_or(TopicState::Proposed).check_endorsable()?;
        let already = endorsement::Entity::find_by_id((id, ctx.user_id.0)).one(&*tx).await?;
        if already.is_some() {
            return Err(ConsultationError::exists("id", "you have already endorsed this topic"));
        }
        let now = xieshang_platform::time::now();
        endorsement::ActiveModel::from(endorsement::Model {
            topic_id: id,
            user_id: ctx.user_id.0,
            committee_id: committee.0,
            created_at: now,
        })
        .reset_all()
        .insert(&*tx)
        .await
        .map_err(ConsultationError::on_unique("id", "you have already endorsed this topic"))?;
        row.endorsement_count += 1;
        row.updated_at = now;
        topic::ActiveModel::from(row.clone()).reset_all().update(&*tx).await?;
        audit(
            &tx,
            ctx,
            committee,
            "consultation_topic",
            id,
            json!({"endorsed": true, "endorsement_count": row.endorsement_count}),
        )
        .await?;
        tx.commit().await?;
        to_domain(self.pii(), row, true, is_office(ctx))
    }

    /// Screens a PROPOSED topic against the three criteria. Staff.
    pub async fn screen_topic(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        notes: [String; 3],
        selected: bool,
    ) -> Result<Topic> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let mut row = find_readable(&tx, ctx, id).await?;
        let state = TopicState::from_i16(row.state).unwrap_or(TopicState::Proposed).screen(selected)?;
        let now = xieshang_platform::time::now();
        let [need, expectation, capacity] = notes;
        row.state = state as i16;
        row.need_note = Some(need);
        row.expectation_note = Some(expectation);
        row.capacity_note = Some(capacity);
        row.screened_by = Some(ctx.user_id.0);
        row.screened_at = Some(now);
        row.updated_at = now;
        topic::ActiveModel::from(row.clone()).reset_all().update(&*tx).await?;
        audit(
            &tx,
            ctx,
            committee,
            "consultation_topic",
            id,
            json!({"state": state.as_str(),
            "party_government_need": row.need_note, "public_expectation": row.expectation_note,
            "committee_capacity": row.capacity_note}),
        )
        .await?;
        let mine = endorsed(&tx, ctx, vec![id]).await?;
        tx.commit().await?;
        to_domain(self.pii(), row, mine.contains(&id), true)
    }

    /// 群众出题: a sign-in-free submission, rate-limited per client address
    /// and committee. Returns the tracking code. `method` is the RPC path for the audit log.
    pub async fn submit_public_topic(&self, client: Option<IpAddr>, method: String, p: PublicTopic) -> Result<String> {
        let client = client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        if !self.limiter.try_acquire(&format!("public-topic|{client}|{}", p.committee_code)).await {
            return Err(ConsultationError::RateLimited(
                "too many topic submissions from your address to this committee; try again in 10 minutes".into(),
            ));
        }
        let lookup = self.db.begin(Scope::Platform).await?;
        let committee = committee_by_code(&lookup, &p.committee_code).await?;
        lookup.commit().await?;

        let code = domain::tracking_code(&p.committee_code);
        let now = xieshang_platform::time::now();
        let id = Uuid::now_v7();
        let row = topic::Model {
            id,
            committee_id: committee.0,
            title: p.title,
            rationale: p.rationale,
            source: TopicSource::Public as i16,
            submitter_user_id: None,
            submitter_name: p.contact_name.clone(),
            contact_name: Some(p.contact_name),
            // Sealed, bound to this topic: never stored in plain.
            contact_phone: None,
            contact_phone_enc: Some(self.pii()?.seal(id, TOPIC_CONTACT_PHONE, &p.contact_phone)),
            tracking_code: Some(code.clone()),
            state: TopicState::Proposed as i16,
            endorsement_count: 0,
            need_note: None,
            expectation_note: None,
            capacity_note: None,
            screened_by: None,
            screened_at: None,
            created_at: now,
            updated_at: now,
        };
        let tx = self.db.begin(Scope::Committee(committee)).await?;
        topic::ActiveModel::from(row.clone()).reset_all().insert(&*tx).await?;
        // The contact is personal information: never in the audit log.
        let actor = Actor { user_id: None, username: "public".into(), method };
        audit_as(
            &tx,
            &actor,
            committee,
            "consultation_topic",
            row.id,
            json!({"title": row.title,
            "source": TopicSource::Public.as_str(), "tracking_code": code}),
        )
        .await?;
        tx.commit().await?;
        Ok(code)
    }

    /// The full contact (name, phone) of a public submission. Staff; every
    /// call is audited (what was revealed, never the value). `NotFound` for a
    /// topic without a public contact.
    pub async fn reveal_topic_contact(&self, ctx: &TenantContext, id: Uuid) -> Result<(String, String)> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let row = find_readable(&tx, ctx, id).await?;
        let phone = contact_phone(self.pii(), &row)?;
        let (Some(name), Some(phone)) = (row.contact_name.clone(), phone) else {
            return Err(ConsultationError::NotFound("public contact"));
        };
        audit(
            &tx,
            ctx,
            committee,
            "consultation_topic",
            id,
            json!({"action": "reveal_contact", "revealed": ["phone"]}),
        )
        .await?;
        tx.commit().await?;
        Ok((name, phone))
    }

    /// The state of a publicly submitted topic; `NotFound` for unknown codes.
    pub async fn public_topic_status(&self, tracking_code: &str) -> Result<TopicState> {
        let code = tracking_code.trim().to_uppercase();
        let division = domain::tracking_code_committee(&code).ok_or(ConsultationError::NotFound("topic"))?;
        let lookup = self.db.begin(Scope::Platform).await?;
        let committee = committee_by_code(&lookup, division).await.map_err(|_| ConsultationError::NotFound("topic"))?;
        lookup.commit().await?;
        let tx = self.db.begin(Scope::Committee(committee)).await?;
        let row = topic::Entity::find()
            .filter(topic::Column::CommitteeId.eq(committee.0))
            .filter(topic::Column::TrackingCode.eq(code))
            .one(&*tx)
            .await?
            .ok_or(ConsultationError::NotFound("topic"))?;
        tx.commit().await?;
        Ok(TopicState::from_i16(row.state).unwrap_or(TopicState::Proposed))
    }
}
