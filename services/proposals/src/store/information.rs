//! Social-conditions information (社情民意信息): submission, review, and
//! reporting upward. The one record that crosses tenants: forwarding writes a
//! copy owned by the parent committee, in the parent's scope; what the parent
//! does with it comes back to the original through events (see
//! [`Store::apply_upward`]), applied in the original's scope.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::audit::{Actor, AuditRecord};
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::{Scope, Tx};
use xieshang_platform::events::EventOrigin;
use xieshang_platform::ids::{CommitteeId, UserId};
use xieshang_platform::time::now;
use xieshang_proto::common::v1::Role;
use xieshang_proto::events::v1 as events;
use xieshang_proto::events::v1::event::Payload;

use super::settings::settings_of;
use super::{Page, Store, holders, is_office, origin, own_committee, record, require_office};
use crate::domain::{
    self, Information, InformationAction, InformationState, Level, SHORT_TEXT_MAX, TITLE_MAX, UpwardStatus,
    apply_information, required_text,
};
use crate::entity::{committee, information, upward, user};
use crate::error::{ProposalsError, Result};

/// A new item: the caller is the first author.
#[derive(Clone, Debug)]
pub struct NewInformation {
    pub title: String,
    pub body: String,
    pub co_authors: Vec<UserId>,
}

/// Filters of [`Store::list_information`].
#[derive(Clone, Debug, Default)]
pub struct InformationFilter {
    pub state: Option<InformationState>,
    /// Only items forwarded here from below (true), or only the committee's own (false).
    pub received: Option<bool>,
    pub page_size: i32,
    pub page_token: String,
}

/// What a committee further up did, as an event tells it.
#[derive(Clone, Debug)]
pub struct Upward {
    pub event_id: Uuid,
    pub origin_committee: CommitteeId,
    pub origin_item: Uuid,
    pub adopted: bool,
    pub by_committee: CommitteeId,
    pub at: DateTime<Utc>,
}

fn title(v: &str) -> Result<String> {
    required_text(v, TITLE_MAX).map_err(|r| ProposalsError::invalid("information.title", r))
}

fn body(v: &str, max: i32) -> Result<String> {
    required_text(v, max.max(1) as usize).map_err(|r| ProposalsError::invalid("information.body", r))
}

fn ids_json(ids: &[UserId]) -> String {
    serde_json::to_string(&ids.iter().map(ToString::to_string).collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into())
}

fn parse_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

fn state_of(row: &information::Model) -> InformationState {
    InformationState::parse(&row.state).unwrap_or(InformationState::Submitted)
}

fn authors(row: &information::Model) -> Vec<UserId> {
    parse_list(&row.author_user_ids).iter().filter_map(|s| Uuid::parse_str(s).ok()).map(UserId).collect()
}

fn visible(row: &information::Model, ctx: &TenantContext) -> bool {
    if ctx.is_operator() {
        return true;
    }
    if ctx.committee_id() != Some(CommitteeId(row.committee_id)) {
        return false;
    }
    is_office(ctx) || authors(row).contains(&ctx.user_id)
}

fn to_domain(row: information::Model, ups: Vec<upward::Model>) -> Information {
    Information {
        id: row.id,
        committee_id: CommitteeId(row.committee_id),
        state: state_of(&row),
        authors: authors(&row),
        author_names: parse_list(&row.author_names),
        title: row.title,
        body: row.body,
        origin_committee_id: CommitteeId(row.origin_committee_id),
        origin_item_id: row.origin_item_id,
        forwarded_to: row.forwarded_to_committee_id.map(CommitteeId),
        received_from: row.received_from_committee_id.map(CommitteeId),
        decline_reason: row.decline_reason,
        instruction_leader: row.instruction_leader,
        instruction_text: row.instruction_text,
        upward: ups
            .into_iter()
            .map(|u| UpwardStatus {
                adopted: u.kind == "adopted",
                committee_id: CommitteeId(u.by_committee_id),
                committee_name: u.by_committee_name,
                level: Level::from_i16(u.by_level),
                at: u.occurred_at,
            })
            .collect(),
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

async fn upward_of(tx: &Tx, ids: Vec<Uuid>) -> Result<HashMap<Uuid, Vec<upward::Model>>> {
    let mut out: HashMap<Uuid, Vec<upward::Model>> = HashMap::new();
    for u in upward::Entity::find()
        .filter(upward::Column::ItemId.is_in(ids))
        .order_by_asc(upward::Column::OccurredAt)
        .order_by_asc(upward::Column::EventId)
        .all(&**tx)
        .await?
    {
        out.entry(u.item_id).or_default().push(u);
    }
    Ok(out)
}

async fn find_visible(tx: &Tx, ctx: &TenantContext, id: Uuid) -> Result<information::Model> {
    match information::Entity::find_by_id(id).one(&**tx).await? {
        Some(row) if visible(&row, ctx) => Ok(row),
        _ => Err(ProposalsError::NotFound("information item")),
    }
}

/// Writes a changed row back, bumping its version; `EtagMismatch` if it changed meanwhile.
async fn save(tx: &Tx, mut row: information::Model) -> Result<()> {
    let (id, old) = (row.id, row.version);
    row.version = old + 1;
    row.updated_at = now();
    let active = information::ActiveModel::from(row).reset_all();
    let done = information::Entity::update_many()
        .set(active)
        .filter(information::Column::Id.eq(id))
        .filter(information::Column::Version.eq(old))
        .exec(&**tx)
        .await?;
    if done.rows_affected == 0 {
        return Err(ProposalsError::EtagMismatch);
    }
    Ok(())
}

fn step(row: &mut information::Model, action: InformationAction) -> Result<InformationState> {
    let to = apply_information(state_of(row), action)?;
    row.state = to.as_str().to_owned();
    Ok(to)
}

async fn committee_row(tx: &Tx, id: CommitteeId) -> Result<committee::Model> {
    committee::Entity::find_by_id(id.0).one(&**tx).await?.ok_or(ProposalsError::NotFound("committee"))
}

impl Store {
    async fn finish_information(&self, tx: Tx, id: Uuid) -> Result<Information> {
        let row =
            information::Entity::find_by_id(id).one(&*tx).await?.ok_or(ProposalsError::NotFound("information item"))?;
        let mut ups = upward_of(&tx, vec![id]).await?;
        tx.commit().await?;
        Ok(to_domain(row, ups.remove(&id).unwrap_or_default()))
    }

    /// Submits an item; members and information officers (staff) only.
    pub async fn submit_information(&self, ctx: &TenantContext, input: NewInformation) -> Result<Information> {
        let committee = own_committee(ctx)?;
        if !ctx.has_role(Role::Member) && !ctx.has_role(Role::Staff) {
            return Err(ProposalsError::denied(
                "only members (ROLE_MEMBER) and information officers (ROLE_STAFF) submit information",
            ));
        }
        const AUTHORS: &str = "information.author_user_ids";
        let title = title(&input.title)?;
        let co: Vec<UserId> = input.co_authors.iter().copied().filter(|u| *u != ctx.user_id).collect();
        if co.len() > 20 {
            return Err(ProposalsError::invalid(AUTHORS, "at most 20 co-authors"));
        }
        if co.iter().collect::<HashSet<_>>().len() != co.len() {
            return Err(ProposalsError::invalid(AUTHORS, "names an author twice"));
        }
        let tx = self.begin(ctx).await?;
        let settings = settings_of(&tx, committee).await?;
        let body = body(&input.body, settings.information_body_max)?;
        let mut allowed: HashSet<UserId> = holders(&tx, committee, Role::Member, &co).await?.into_iter().collect();
        allowed.extend(holders(&tx, committee, Role::Staff, &co).await?);
        if let Some(missing) = co.iter().find(|u| !allowed.contains(u)) {
            return Err(ProposalsError::invalid(
                AUTHORS,
                format!("{missing} is not a member or staff of this committee"),
            ));
        }
        let author_ids: Vec<UserId> = std::iter::once(ctx.user_id).chain(co).collect();
        let names: HashMap<Uuid, String> = user::Entity::find()
            .filter(user::Column::Id.is_in(author_ids.iter().map(|u| u.0)))
            .all(&*tx)
            .await?
            .into_iter()
            .map(|u| (u.id, u.display_name))
            .collect();
        let author_names: Vec<String> =
            author_ids.iter().map(|u| names.get(&u.0).cloned().unwrap_or_default()).collect();
        let id = Uuid::now_v7();
        let at = now();
        information::Entity::insert(information::ActiveModel {
            id: Set(id),
            committee_id: Set(committee.0),
            title: Set(title.clone()),
            body: Set(body),
            state: Set(InformationState::Submitted.as_str().to_owned()),
            author_user_ids: Set(ids_json(&author_ids)),
            author_names: Set(serde_json::to_string(&author_names).unwrap_or_else(|_| "[]".into())),
            submitted_by: Set(ctx.user_id.0),
            origin_committee_id: Set(committee.0),
            origin_item_id: Set(id),
            forwarded_to_committee_id: Set(None),
            forwarded_item_id: Set(None),
            forwarded_at: Set(None),
            received_from_committee_id: Set(None),
            decline_reason: Set(String::new()),
            instruction_leader: Set(String::new()),
            instruction_text: Set(String::new()),
            adopted_at: Set(None),
            instructed_at: Set(None),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .exec_without_returning(&*tx)
        .await?;
        let author_strings: Vec<String> = author_ids.iter().map(ToString::to_string).collect();
        let event = Payload::InformationSubmitted(events::InformationSubmitted {
            information_id: id.to_string(),
            author_user_ids: author_strings.clone(),
        });
        record(
            &tx,
            ctx,
            committee,
            "information",
            id,
            json!({"submitted": {"title": title, "authors": author_strings}}),
            Some(event),
        )
        .await?;
        self.finish_information(tx, id).await
    }

    /// An item the caller may see.
    pub async fn get_information(&self, ctx: &TenantContext, id: Uuid) -> Result<Information> {
        let tx = self.begin(ctx).await?;
        let row = find_visible(&tx, ctx, id).await?;
        let mut ups = upward_of(&tx, vec![id]).await?;
        tx.commit().await?;
        Ok(to_domain(row, ups.remove(&id).unwrap_or_default()))
    }

    /// The items the caller may see, newest first, paged.
    pub async fn list_information(&self, ctx: &TenantContext, filter: InformationFilter) -> Result<Page<Information>> {
        let size = xieshang_platform::page::size(filter.page_size, 50, 200)?;
        let before = match xieshang_platform::page::decode(&filter.page_token)? {
            Some(key) => Some(
                Uuid::parse_str(&key)
                    .map_err(|_| ProposalsError::invalid("page_token", "is not a token this server issued"))?,
            ),
            None => None,
        };
        let tx = self.begin(ctx).await?;
        let mut query = information::Entity::find();
        if !ctx.is_operator() {
            query = query.filter(information::Column::CommitteeId.eq(own_committee(ctx)?.0));
            if !is_office(ctx) {
                query = query.filter(information::Column::AuthorUserIds.like(format!("%\"{}\"%", ctx.user_id)));
            }
        }
        if let Some(state) = filter.state {
            query = query.filter(information::Column::State.eq(state.as_str()));
        }
        match filter.received {
            Some(true) => query = query.filter(information::Column::ReceivedFromCommitteeId.is_not_null()),
            Some(false) => query = query.filter(information::Column::ReceivedFromCommitteeId.is_null()),
            None => {}
        }
        if let Some(before) = before {
            query = query.filter(information::Column::Id.lt(before));
        }
        let mut rows = query.order_by_desc(information::Column::Id).limit(size + 1).all(&*tx).await?;
        let more = rows.len() as u64 > size;
        rows.truncate(size as usize);
        let mut ups = upward_of(&tx, rows.iter().map(|r| r.id).collect()).await?;
        tx.commit().await?;
        let next_page_token = if more {
            rows.last().map(|r| xieshang_platform::page::encode(&r.id.to_string())).unwrap_or_default()
        } else {
            String::new()
        };
        let items = rows
            .into_iter()
            .map(|r| {
                let id = r.id;
                to_domain(r, ups.remove(&id).unwrap_or_default())
            })
            .collect();
        Ok(Page { items, next_page_token })
    }

    /// Staff edit an item under review.
    pub async fn edit_information(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        new_title: Option<String>,
        new_body: Option<String>,
        etag: &str,
    ) -> Result<Information> {
        require_office(ctx)?;
        if new_title.is_none() && new_body.is_none() {
            return Err(ProposalsError::invalid("title", "give a new title or body"));
        }
        let tx = self.begin(ctx).await?;
        let mut row = find_visible(&tx, ctx, id).await?;
        if !etag.is_empty() && etag != domain::etag(row.version) {
            return Err(ProposalsError::EtagMismatch);
        }
        step(&mut row, InformationAction::Edit)?;
        let committee = CommitteeId(row.committee_id);
        let mut changed = Vec::new();
        if let Some(t) = new_title {
            row.title = title(&t)?;
            changed.push("title");
        }
        if let Some(b) = new_body {
            let settings = settings_of(&tx, committee).await?;
            row.body = body(&b, settings.information_body_max)?;
            changed.push("body");
        }
        save(&tx, row).await?;
        record(&tx, ctx, committee, "information", id, json!({"state": "EDITED", "edited": changed}), None).await?;
        self.finish_information(tx, id).await
    }

    /// Staff adopt (采用) an item under review; the original's authors are credited.
    pub async fn adopt_information(&self, ctx: &TenantContext, id: Uuid) -> Result<Information> {
        require_office(ctx)?;
        let tx = self.begin(ctx).await?;
        let mut row = find_visible(&tx, ctx, id).await?;
        step(&mut row, InformationAction::Adopt)?;
        row.adopted_at = Some(now());
        let committee = CommitteeId(row.committee_id);
        let here = committee_row(&tx, committee).await?;
        let event = Payload::InformationAdopted(events::InformationAdopted {
            information_id: row.origin_item_id.to_string(),
            author_user_ids: parse_list(&row.author_user_ids),
            adopting_committee_id: committee.to_string(),
            adopting_level: i32::from(here.level),
            origin_committee_id: row.origin_committee_id.to_string(),
        });
        save(&tx, row).await?;
        record(&tx, ctx, committee, "information", id, json!({"state": "ADOPTED"}), Some(event)).await?;
        self.finish_information(tx, id).await
    }

    /// Staff decline an item under review, with a reason.
    pub async fn decline_information(&self, ctx: &TenantContext, id: Uuid, why: &str) -> Result<Information> {
        require_office(ctx)?;
        let why = required_text(why, SHORT_TEXT_MAX).map_err(|r| ProposalsError::invalid("reason", r))?;
        let tx = self.begin(ctx).await?;
        let mut row = find_visible(&tx, ctx, id).await?;
        step(&mut row, InformationAction::Decline)?;
        row.decline_reason = why.clone();
        let committee = CommitteeId(row.committee_id);
        save(&tx, row).await?;
        record(&tx, ctx, committee, "information", id, json!({"state": "DECLINED", "reason": why}), None).await?;
        self.finish_information(tx, id).await
    }

    /// Staff record a leader's instruction (批示) on an adopted item.
    pub async fn instruct_information(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        leader: &str,
        text: &str,
    ) -> Result<Information> {
        require_office(ctx)?;
        let leader = required_text(leader, domain::NAME_MAX).map_err(|r| ProposalsError::invalid("leader", r))?;
        let text = required_text(text, 1000).map_err(|r| ProposalsError::invalid("text", r))?;
        let tx = self.begin(ctx).await?;
        let mut row = find_visible(&tx, ctx, id).await?;
        step(&mut row, InformationAction::Instruct)?;
        row.instruction_leader = leader.clone();
        row.instruction_text = text.clone();
        row.instructed_at = Some(now());
        let committee = CommitteeId(row.committee_id);
        let event = Payload::InformationInstructed(events::InformationInstructed {
            information_id: row.origin_item_id.to_string(),
            author_user_ids: parse_list(&row.author_user_ids),
            instructing_committee_id: committee.to_string(),
            origin_committee_id: row.origin_committee_id.to_string(),
        });
        save(&tx, row).await?;
        record(
            &tx,
            ctx,
            committee,
            "information",
            id,
            json!({"instruction": {"leader": leader, "text": text}}),
            Some(event),
        )
        .await?;
        self.finish_information(tx, id).await
    }

    /// Staff report an item upward (上报), once, to the parent committee.
    ///
    /// Two transactions, each in its committee's scope: the item here is
    /// marked forwarded (a conditional update, so only one forward wins),
    /// then the parent's copy is written in the parent's scope. Should the
    /// second fail, the mark is taken back.
    pub async fn forward_information(&self, ctx: &TenantContext, id: Uuid) -> Result<Information> {
        require_office(ctx)?;
        let tx = self.begin(ctx).await?;
        let mut row = find_visible(&tx, ctx, id).await?;
        step(&mut row, InformationAction::Forward)?;
        if let Some(to) = row.forwarded_to_committee_id {
            return Err(ProposalsError::precondition(format!("information item was already reported upward to {to}")));
        }
        let committee = CommitteeId(row.committee_id);
        let here = committee_row(&tx, committee).await?;
        let parent = here
            .parent_id
            .map(CommitteeId)
            .ok_or_else(|| ProposalsError::precondition("the committee has no parent committee to report to"))?;
        let copy_id = Uuid::now_v7();
        let at = now();
        let original = row.clone();
        row.forwarded_to_committee_id = Some(parent.0);
        row.forwarded_item_id = Some(copy_id);
        row.forwarded_at = Some(at);
        save(&tx, row).await?;
        record(
            &tx,
            ctx,
            committee,
            "information",
            id,
            json!({"forwarded_to": parent.to_string(), "copy": copy_id.to_string()}),
            None,
        )
        .await?;
        tx.commit().await?;

        let written = async {
            let tx = self.db.begin(Scope::Committee(parent)).await?;
            information::Entity::insert(information::ActiveModel {
                id: Set(copy_id),
                committee_id: Set(parent.0),
                title: Set(original.title.clone()),
                body: Set(original.body.clone()),
                state: Set(InformationState::Submitted.as_str().to_owned()),
                author_user_ids: Set(original.author_user_ids.clone()),
                author_names: Set(original.author_names.clone()),
                submitted_by: Set(ctx.user_id.0),
                origin_committee_id: Set(original.origin_committee_id),
                origin_item_id: Set(original.origin_item_id),
                forwarded_to_committee_id: Set(None),
                forwarded_item_id: Set(None),
                forwarded_at: Set(None),
                received_from_committee_id: Set(Some(committee.0)),
                decline_reason: Set(String::new()),
                instruction_leader: Set(String::new()),
                instruction_text: Set(String::new()),
                adopted_at: Set(None),
                instructed_at: Set(None),
                version: Set(1),
                created_at: Set(at),
                updated_at: Set(at),
            })
            .exec_without_returning(&*tx)
            .await?;
            record(
                &tx,
                ctx,
                parent,
                "information",
                copy_id,
                json!({"received_from": committee.to_string(), "origin_item": original.origin_item_id.to_string()}),
                None,
            )
            .await?;
            tx.commit().await?;
            Ok::<_, ProposalsError>(())
        }
        .await;
        if let Err(err) = written {
            tracing::warn!(error = %err, item = %id, "reporting upward failed; taking the mark back");
            let tx = self.begin(ctx).await?;
            information::Entity::update_many()
                .col_expr(
                    information::Column::ForwardedToCommitteeId,
                    sea_orm::sea_query::Expr::value(Option::<Uuid>::None),
                )
                .col_expr(information::Column::ForwardedItemId, sea_orm::sea_query::Expr::value(Option::<Uuid>::None))
                .col_expr(
                    information::Column::ForwardedAt,
                    sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(information::Column::Id.eq(id))
                .filter(information::Column::ForwardedItemId.eq(copy_id))
                .exec(&*tx)
                .await?;
            tx.commit().await?;
            return Err(err);
        }
        let tx = self.begin(ctx).await?;
        self.finish_information(tx, id).await
    }

    /// Applies what a committee further up did to the original item, in the
    /// original's committee scope. Idempotent: keyed by the event id. Returns
    /// whether anything changed.
    pub async fn apply_upward(&self, up: Upward) -> Result<bool> {
        if up.by_committee == up.origin_committee {
            return Ok(false);
        }
        let tx = self.db.begin(Scope::Committee(up.origin_committee)).await?;
        let exists = information::Entity::find_by_id(up.origin_item)
            .filter(information::Column::CommitteeId.eq(up.origin_committee.0))
            .one(&*tx)
            .await?
            .is_some();
        if !exists {
            tx.commit().await?;
            return Ok(false);
        }
        let (by_name, by_level) = match committee::Entity::find_by_id(up.by_committee.0).one(&*tx).await? {
            Some(c) => (c.name, c.level),
            None => (String::new(), 0),
        };
        let kind = if up.adopted { "adopted" } else { "instructed" };
        let insert = Query::insert()
            .into_table("information_upward")
            .columns([
                "event_id",
                "committee_id",
                "item_id",
                "kind",
                "by_committee_id",
                "by_committee_name",
                "by_level",
                "occurred_at",
            ])
            .values_panic([
                up.event_id.into(),
                up.origin_committee.0.into(),
                up.origin_item.into(),
                kind.into(),
                up.by_committee.0.into(),
                by_name.clone().into(),
                by_level.into(),
                up.at.into(),
            ])
            .on_conflict(OnConflict::column("event_id").do_nothing().to_owned())
            .to_owned();
        let inserted = tx.execute(&insert).await?.rows_affected() == 1;
        if inserted {
            let actor = Actor { user_id: None, username: "system".into(), method: "event:information-upward".into() };
            let record = AuditRecord {
                committee: Some(up.origin_committee),
                target_type: "information",
                target_id: up.origin_item.to_string(),
                changes: json!({"upward": kind, "by": by_name, "event": up.event_id.to_string()}),
            };
            tx.audit(&actor, record).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }
}

/// Where events of the system itself (no user) belong.
pub(super) async fn system_origin(tx: &Tx, committee: CommitteeId) -> Result<EventOrigin> {
    origin(tx, None, committee).await
}
