//! The annual consultation and supervision plan (年度协商监督计划): items,
//! the approval lifecycle, and amendments of a published plan.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::Tx;
use xieshang_platform::ids::{CommitteeId, UserId};

use super::{Store, audit, is_office, office, own_committee};
use crate::domain::{
    ConsultationType, NewPlanItem, Plan, PlanAction, PlanAmendment, PlanItem, PlanState, TopicState, join_lines,
    split_lines,
};
use crate::entity::{amendment, plan, plan_item, topic};
use crate::error::{ConsultationError, Result};

fn item_to_domain(row: plan_item::Model) -> PlanItem {
    PlanItem {
        id: row.id,
        topic_id: row.topic_id,
        title: row.title,
        kind: ConsultationType::from_i16(row.consultation_type).unwrap_or(ConsultationType::Other),
        type_label: row.type_label,
        lead_committee: row.lead_committee,
        planned_month: row.planned_month,
        participating_units: split_lines(&row.participating_units),
    }
}

fn state_of(row: &plan::Model) -> PlanState {
    PlanState::from_i16(row.state).unwrap_or(PlanState::Draft)
}

/// A plan of the caller's committee the caller may read: the office any,
/// members only PUBLISHED ones; `NotFound` otherwise.
async fn find_readable(tx: &Tx, ctx: &TenantContext, id: Uuid) -> Result<plan::Model> {
    let committee = own_committee(ctx)?;
    let row = plan::Entity::find_by_id(id)
        .filter(plan::Column::CommitteeId.eq(committee.0))
        .one(&**tx)
        .await?
        .ok_or(ConsultationError::NotFound("plan"))?;
    if is_office(ctx) || state_of(&row) == PlanState::Published {
        Ok(row)
    } else {
        Err(ConsultationError::NotFound("plan"))
    }
}

/// The plan's current items, in the order added.
async fn items_of(tx: &Tx, plan_id: Uuid) -> Result<Vec<plan_item::Model>> {
    Ok(plan_item::Entity::find()
        .filter(plan_item::Column::PlanId.eq(plan_id))
        .filter(plan_item::Column::RemovedAt.is_null())
        .order_by_asc(plan_item::Column::Id)
        .all(&**tx)
        .await?)
}

async fn load(tx: &Tx, row: plan::Model) -> Result<Plan> {
    let items = items_of(tx, row.id).await?;
    Ok(Plan {
        id: row.id,
        committee_id: CommitteeId(row.committee_id),
        year: row.year,
        state: state_of(&row),
        return_comments: row.return_comments,
        items: items.into_iter().map(item_to_domain).collect(),
        amendment_count: row.amendment_count,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Inserts an item into a plan; a topic must be a SELECTED topic of the committee.
async fn insert_item(
    tx: &Tx,
    committee: CommitteeId,
    plan_id: Uuid,
    item: NewPlanItem,
    field: &'static str,
) -> Result<plan_item::Model> {
    let mut title = item.title;
    if let Some(topic_id) = item.topic_id {
        let found = topic::Entity::find_by_id(topic_id)
            .filter(topic::Column::CommitteeId.eq(committee.0))
            .one(&**tx)
            .await?
            .ok_or_else(|| ConsultationError::invalid(field, "is not a topic of this committee"))?;
        let state = TopicState::from_i16(found.state).unwrap_or(TopicState::Proposed);
        if state != TopicState::Selected {
            return Err(ConsultationError::precondition(format!(
                "the topic is {}; only a SELECTED topic becomes a plan item",
                state.as_str()
            )));
        }
        title.get_or_insert(found.title);
    }
    let title = title.ok_or_else(|| ConsultationError::invalid("item.title", "is required without a topic"))?;
    let row = plan_item::Model {
        id: Uuid::now_v7(),
        committee_id: committee.0,
        plan_id,
        topic_id: item.topic_id,
        title,
        consultation_type: item.kind as i16,
        type_label: item.type_label,
        lead_committee: item.lead_committee,
        planned_month: item.planned_month,
        participating_units: join_lines(&item.participating_units),
        removed_at: None,
        created_at: xieshang_platform::time::now(),
    };
    plan_item::ActiveModel::from(row.clone()).reset_all().insert(&**tx).await?;
    Ok(row)
}

/// Marks a current item of the plan removed; `NotFound` when it is not one.
async fn remove_item(tx: &Tx, plan_id: Uuid, item_id: Uuid) -> Result<plan_item::Model> {
    let mut row = plan_item::Entity::find_by_id(item_id)
        .filter(plan_item::Column::PlanId.eq(plan_id))
        .filter(plan_item::Column::RemovedAt.is_null())
        .one(&**tx)
        .await?
        .ok_or(ConsultationError::NotFound("plan item"))?;
    row.removed_at = Some(xieshang_platform::time::now());
    plan_item::ActiveModel::from(row.clone()).reset_all().update(&**tx).await?;
    Ok(row)
}

/// Writes the plan row back with a new `updated_at`.
async fn touch(tx: &Tx, mut row: plan::Model) -> Result<plan::Model> {
    row.updated_at = xieshang_platform::time::now();
    plan::ActiveModel::from(row.clone()).reset_all().update(&**tx).await?;
    Ok(row)
}

impl Store {
    /// Creates the committee's plan for `year` in DRAFT. Staff.
    pub async fn create_plan(&self, ctx: &TenantContext, year: i32) -> Result<Plan> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let taken = plan::Entity::find()
            .filter(plan::Column::CommitteeId.eq(committee.0))
            .filter(plan::Column::Year.eq(year))
            .one(&*tx)
            .await?;
        if taken.is_some() {
            return Err(ConsultationError::exists("year", "this committee already has a plan for this year"));
        }
        let now = xieshang_platform::time::now();
        let row = plan::Model {
            id: Uuid::now_v7(),
            committee_id: committee.0,
            year,
            state: PlanState::Draft as i16,
            return_comments: String::new(),
            amendment_count: 0,
            created_at: now,
            updated_at: now,
        };
        plan::ActiveModel::from(row.clone())
            .reset_all()
            .insert(&*tx)
            .await
            .map_err(ConsultationError::on_unique("year", "this committee already has a plan for this year"))?;
        audit(&tx, ctx, committee, "consultation_plan", row.id, json!({"year": year, "state": "DRAFT"})).await?;
        let plan = load(&tx, row).await?;
        tx.commit().await?;
        Ok(plan)
    }

    pub async fn get_plan(&self, ctx: &TenantContext, id: Uuid) -> Result<Plan> {
        let tx = self.begin(ctx).await?;
        let row = find_readable(&tx, ctx, id).await?;
        let plan = load(&tx, row).await?;
        tx.commit().await?;
        Ok(plan)
    }

    /// Plans newest year first; members see only PUBLISHED ones. `year` None: any.
    pub async fn list_plans(&self, ctx: &TenantContext, year: Option<i32>) -> Result<Vec<Plan>> {
        let committee = own_committee(ctx)?;
        let tx = self.begin(ctx).await?;
        let mut query = plan::Entity::find().filter(plan::Column::CommitteeId.eq(committee.0));
        if !is_office(ctx) {
            query = query.filter(plan::Column::State.eq(PlanState::Published as i16));
        }
        if let Some(year) = year {
            query = query.filter(plan::Column::Year.eq(year));
        }
        let mut plans = Vec::new();
        for row in query.order_by_desc(plan::Column::Year).all(&*tx).await? {
            plans.push(load(&tx, row).await?);
        }
        tx.commit().await?;
        Ok(plans)
    }

    /// Adds an item to a DRAFT or RETURNED plan. Staff.
    pub async fn add_plan_item(&self, ctx: &TenantContext, plan_id: Uuid, item: NewPlanItem) -> Result<Plan> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let row = find_readable(&tx, ctx, plan_id).await?;
        state_of(&row).apply(PlanAction::Edit)?;
        let added = insert_item(&tx, committee, plan_id, item, "item.topic_id").await?;
        let row = touch(&tx, row).await?;
        audit(&tx, ctx, committee, "consultation_plan", plan_id, json!({"added_item": added.id, "title": added.title}))
            .await?;
        let plan = load(&tx, row).await?;
        tx.commit().await?;
        Ok(plan)
    }

    /// Removes an item from a DRAFT or RETURNED plan. Staff.
    pub async fn remove_plan_item(&self, ctx: &TenantContext, plan_id: Uuid, item_id: Uuid) -> Result<Plan> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let row = find_readable(&tx, ctx, plan_id).await?;
        state_of(&row).apply(PlanAction::Edit)?;
        let removed = remove_item(&tx, plan_id, item_id).await?;
        let row = touch(&tx, row).await?;
        audit(
            &tx,
            ctx,
            committee,
            "consultation_plan",
            plan_id,
            json!({"removed_item": item_id, "title": removed.title}),
        )
        .await?;
        let plan = load(&tx, row).await?;
        tx.commit().await?;
        Ok(plan)
    }

    /// Submits, approves, returns (with `comments`) or publishes a plan. Staff.
    pub async fn transition_plan(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        action: PlanAction,
        comments: Option<String>,
    ) -> Result<Plan> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let mut row = find_readable(&tx, ctx, id).await?;
        let from = state_of(&row);
        let to = from.apply(action)?;
        if action == PlanAction::Submit && items_of(&tx, id).await?.is_empty() {
            return Err(ConsultationError::precondition(format!(
                "the plan is {}; it has no items to submit",
                from.as_str()
            )));
        }
        row.state = to as i16;
        if let Some(comments) = &comments {
            row.return_comments = comments.clone();
        }
        let row = touch(&tx, row).await?;
        audit(
            &tx,
            ctx,
            committee,
            "consultation_plan",
            id,
            json!({"from": from.as_str(), "to": to.as_str(),
            "comments": comments}),
        )
        .await?;
        let plan = load(&tx, row).await?;
        tx.commit().await?;
        Ok(plan)
    }

    /// Changes a PUBLISHED plan by a recorded amendment. Staff.
    pub async fn amend_plan(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        reason: String,
        add: Vec<NewPlanItem>,
        remove: Vec<Uuid>,
    ) -> Result<Plan> {
        let committee = office(ctx)?;
        if add.is_empty() && remove.is_empty() {
            return Err(ConsultationError::invalid("add_items", "an amendment adds or removes at least one item"));
        }
        let tx = self.begin(ctx).await?;
        let mut row = find_readable(&tx, ctx, id).await?;
        state_of(&row).apply(PlanAction::Amend)?;
        let mut removed_titles = Vec::new();
        for item_id in remove {
            removed_titles.push(remove_item(&tx, id, item_id).await?.title);
        }
        let mut added_titles = Vec::new();
        for item in add {
            added_titles.push(insert_item(&tx, committee, id, item, "add_items.topic_id").await?.title);
        }
        let record = amendment::Model {
            id: Uuid::now_v7(),
            committee_id: committee.0,
            plan_id: id,
            reason: reason.clone(),
            added_titles: join_lines(&added_titles),
            removed_titles: join_lines(&removed_titles),
            amended_by: Some(ctx.user_id.0),
            created_at: xieshang_platform::time::now(),
        };
        amendment::ActiveModel::from(record.clone()).reset_all().insert(&*tx).await?;
        row.amendment_count += 1;
        let row = touch(&tx, row).await?;
        audit(
            &tx,
            ctx,
            committee,
            "consultation_plan",
            id,
            json!({"amendment": record.id, "reason": reason,
            "added": added_titles, "removed": removed_titles}),
        )
        .await?;
        let plan = load(&tx, row).await?;
        tx.commit().await?;
        Ok(plan)
    }

    /// A plan's amendments, oldest first.
    pub async fn list_plan_amendments(&self, ctx: &TenantContext, plan_id: Uuid) -> Result<Vec<PlanAmendment>> {
        let tx = self.begin(ctx).await?;
        find_readable(&tx, ctx, plan_id).await?;
        let rows = amendment::Entity::find()
            .filter(amendment::Column::PlanId.eq(plan_id))
            .order_by_asc(amendment::Column::Id)
            .all(&*tx)
            .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|r| PlanAmendment {
                id: r.id,
                reason: r.reason,
                added_titles: split_lines(&r.added_titles),
                removed_titles: split_lines(&r.removed_titles),
                amended_by: r.amended_by.map(UserId),
                created_at: r.created_at,
            })
            .collect())
    }
}

/// The year of the plan holding a current item of the committee; for activities.
pub(super) async fn plan_year_of_item(tx: &Tx, committee: CommitteeId, item_id: Uuid) -> Result<i32> {
    let item = plan_item::Entity::find_by_id(item_id)
        .filter(plan_item::Column::CommitteeId.eq(committee.0))
        .filter(plan_item::Column::RemovedAt.is_null())
        .one(&**tx)
        .await?
        .ok_or_else(|| {
            ConsultationError::invalid("activity.plan_item_id", "is not a current plan item of this committee")
        })?;
    let plan = plan::Entity::find_by_id(item.plan_id).one(&**tx).await?.ok_or(ConsultationError::NotFound("plan"))?;
    Ok(plan.year)
}
