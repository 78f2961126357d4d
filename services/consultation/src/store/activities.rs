//! Consultation activities (协商活动): stages, research visits, the numbered
//! suggestions of their report, the receiving body's feedback, and adoption rates.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::Tx;
use xieshang_platform::ids::CommitteeId;
use xieshang_platform::ids::UserId;
use xieshang_proto::events::v1::event::Payload;
use xieshang_proto::events::v1::{
    ConsultationActivityHeld, DraftTarget, SuggestionCarriedForward, SuggestionFeedbackGiven,
};

use super::plans::plan_year_of_item;
use super::quality::next_leader;
use super::{Page, Store, audit, is_office, my_member_ids, office, origin, own_committee, paged, uuid_token};
use crate::domain::{
    self, Activity, ActivityAdoption, ActivityStage, AdoptionRates, CarriedSuggestion, CarryTarget, ConsultationType,
    FeedbackResult, NewActivity, Suggestion, Tally, Visit,
};
use crate::entity::{activity, invitee, meeting, member, suggestion, visit};
use crate::error::{ConsultationError, Result};

/// Filters of [`Store::list_activities`]; `None` means any.
#[derive(Clone, Debug, Default)]
pub struct ActivityFilter {
    pub year: Option<i32>,
    pub kind: Option<ConsultationType>,
    pub page_size: i32,
    pub page_token: String,
}

fn stage_of(row: &activity::Model) -> ActivityStage {
    ActivityStage::from_i16(row.stage).unwrap_or(ActivityStage::Research)
}

fn kind_of(row: &activity::Model) -> ConsultationType {
    ConsultationType::from_i16(row.consultation_type).unwrap_or(ConsultationType::Other)
}

fn to_domain(row: activity::Model, visits: Vec<visit::Model>) -> Activity {
    Activity {
        id: row.id,
        committee_id: CommitteeId(row.committee_id),
        stage: stage_of(&row),
        leading_group_id: row.leading_group_id,
        title: row.title,
        kind: ConsultationType::from_i16(row.consultation_type).unwrap_or(ConsultationType::Other),
        type_label: row.type_label,
        department: row.department,
        plan_item_id: row.plan_item_id,
        year: row.year,
        visits: visits.into_iter().map(|v| Visit { id: v.id, date: v.date, place: v.place, note: v.note }).collect(),
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn suggestion_to_domain(row: suggestion::Model) -> Suggestion {
    Suggestion {
        id: row.id,
        activity_id: row.activity_id,
        number: row.number,
        text: row.text,
        feedback: FeedbackResult::from_i16(row.feedback),
        feedback_note: row.feedback_note,
        feedback_at: row.feedback_at,
    }
}

/// The refusal of a second carry: what the suggestion was carried into, and when.
fn already_carried(row: &suggestion::Model) -> Option<ConsultationError> {
    let at = row.carried_at?;
    let into = match row.carried_target.and_then(CarryTarget::from_i16) {
        Some(CarryTarget::Information) => "an information item",
        _ => "a proposal draft",
    };
    let draft = row.carried_draft_id.map(|d| format!(" {d}")).unwrap_or_default();
    // China Standard Time, where committees work; UTC+8 is always a valid offset.
    let when = match chrono::FixedOffset::east_opt(8 * 3600) {
        Some(cst) => at.with_timezone(&cst).format("%Y-%m-%d %H:%M:%S (UTC+8)").to_string(),
        None => at.to_rfc3339(),
    };
    Some(ConsultationError::precondition(format!(
        "the suggestion is CARRIED: already carried forward into {into}{draft} at {when}; a suggestion is carried \
         forward once"
    )))
}

/// The activities a member may read: those of meetings they are invited to.
async fn invited_activity_ids(tx: &Tx, ctx: &TenantContext, committee: CommitteeId) -> Result<Vec<Uuid>> {
    let members = my_member_ids(tx, ctx, committee).await?;
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let meetings: Vec<Uuid> = invitee::Entity::find()
        .filter(invitee::Column::CommitteeId.eq(committee.0))
        .filter(invitee::Column::MemberId.is_in(members))
        .all(&**tx)
        .await?
        .into_iter()
        .map(|i| i.meeting_id)
        .collect();
    Ok(meeting::Entity::find()
        .filter(meeting::Column::Id.is_in(meetings))
        .all(&**tx)
        .await?
        .into_iter()
        .filter_map(|m| m.activity_id)
        .collect())
}

/// An activity the caller may read (office: any of the committee's; members:
/// those they are invited to a meeting of), or `NotFound`.
async fn find_readable(tx: &Tx, ctx: &TenantContext, id: Uuid) -> Result<activity::Model> {
    let committee = own_committee(ctx)?;
    let row = activity::Entity::find_by_id(id)
        .filter(activity::Column::CommitteeId.eq(committee.0))
        .one(&**tx)
        .await?
        .ok_or(ConsultationError::NotFound("activity"))?;
    if is_office(ctx) || invited_activity_ids(tx, ctx, committee).await?.contains(&id) {
        Ok(row)
    } else {
        Err(ConsultationError::NotFound("activity"))
    }
}

/// An activity of the caller's committee, for the office to change.
pub(super) async fn find_managed(tx: &Tx, committee: CommitteeId, id: Uuid) -> Result<activity::Model> {
    activity::Entity::find_by_id(id)
        .filter(activity::Column::CommitteeId.eq(committee.0))
        .one(&**tx)
        .await?
        .ok_or(ConsultationError::NotFound("activity"))
}

async fn visits_of(tx: &Tx, activity_id: Uuid) -> Result<Vec<visit::Model>> {
    Ok(visit::Entity::find()
        .filter(visit::Column::ActivityId.eq(activity_id))
        .order_by_asc(visit::Column::Date)
        .order_by_asc(visit::Column::Id)
        .all(&**tx)
        .await?)
}

async fn save(tx: &Tx, mut row: activity::Model) -> Result<activity::Model> {
    row.updated_at = xieshang_platform::time::now();
    activity::ActiveModel::from(row.clone()).reset_all().update(&**tx).await?;
    Ok(row)
}

impl Store {
    /// Creates an activity in stage RESEARCH. Staff.
    pub async fn create_activity(&self, ctx: &TenantContext, new: NewActivity) -> Result<Activity> {
        let committee = office(ctx)?;
        new.check()?;
        let tx = self.begin(ctx).await?;
        let plan_year = match new.plan_item_id {
            Some(item) => Some(plan_year_of_item(&tx, committee, item).await?),
            None => None,
        };
        let year = new.year.or(plan_year).ok_or_else(|| {
            ConsultationError::invalid("activity.year", "is required for an activity not linked to a plan item")
        })?;
        // A sector round table's leading joint group, by the rotation.
        let leading_group_id = if new.kind == ConsultationType::SectorRoundTable {
            next_leader(&tx, committee, year).await?
        } else {
            None
        };
        let now = xieshang_platform::time::now();
        let row = activity::Model {
            id: Uuid::now_v7(),
            committee_id: committee.0,
            title: new.title,
            consultation_type: new.kind as i16,
            type_label: new.type_label,
            department: new.department,
            plan_item_id: new.plan_item_id,
            year,
            stage: ActivityStage::Research as i16,
            leading_group_id,
            created_at: now,
            updated_at: now,
        };
        activity::ActiveModel::from(row.clone()).reset_all().insert(&*tx).await?;
        audit(
            &tx,
            ctx,
            committee,
            "consultation_activity",
            row.id,
            json!({"title": row.title,
            "type": new.kind.as_str(), "year": year, "plan_item_id": row.plan_item_id, "stage": "RESEARCH",
            "leading_group_id": row.leading_group_id}),
        )
        .await?;
        tx.commit().await?;
        Ok(to_domain(row, Vec::new()))
    }

    pub async fn get_activity(&self, ctx: &TenantContext, id: Uuid) -> Result<Activity> {
        let tx = self.begin(ctx).await?;
        let row = find_readable(&tx, ctx, id).await?;
        let visits = visits_of(&tx, id).await?;
        tx.commit().await?;
        Ok(to_domain(row, visits))
    }

    /// The activities the caller may read, oldest first, paged.
    pub async fn list_activities(&self, ctx: &TenantContext, filter: ActivityFilter) -> Result<Page<Activity>> {
        let committee = own_committee(ctx)?;
        let size = xieshang_platform::page::size(filter.page_size, 50, 200)?;
        let after = uuid_token(&filter.page_token)?;
        let tx = self.begin(ctx).await?;
        let mut query = activity::Entity::find().filter(activity::Column::CommitteeId.eq(committee.0));
        if !is_office(ctx) {
            query = query.filter(activity::Column::Id.is_in(invited_activity_ids(&tx, ctx, committee).await?));
        }
        if let Some(year) = filter.year {
            query = query.filter(activity::Column::Year.eq(year));
        }
        if let Some(kind) = filter.kind {
            query = query.filter(activity::Column::ConsultationType.eq(kind as i16));
        }
        if let Some(after) = after {
            query = query.filter(activity::Column::Id.gt(after));
        }
        let rows = query.order_by_asc(activity::Column::Id).limit(size + 1).all(&*tx).await?;
        let mut visits: BTreeMap<Uuid, Vec<visit::Model>> = BTreeMap::new();
        for v in visit::Entity::find()
            .filter(visit::Column::ActivityId.is_in(rows.iter().map(|r| r.id).collect::<Vec<_>>()))
            .order_by_asc(visit::Column::Date)
            .order_by_asc(visit::Column::Id)
            .all(&*tx)
            .await?
        {
            visits.entry(v.activity_id).or_default().push(v);
        }
        tx.commit().await?;
        Ok(paged(
            rows,
            size,
            |r| r.id,
            |r| {
                let v = visits.remove(&r.id).unwrap_or_default();
                to_domain(r, v)
            },
        ))
    }

    /// Records a research visit of an activity in stage RESEARCH. Staff.
    pub async fn add_research_visit(
        &self,
        ctx: &TenantContext,
        activity_id: Uuid,
        date: NaiveDate,
        place: String,
        note: String,
    ) -> Result<Activity> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let row = find_managed(&tx, committee, activity_id).await?;
        stage_of(&row).require(&[ActivityStage::Research], "research visits are recorded")?;
        let v = visit::Model {
            id: Uuid::now_v7(),
            committee_id: committee.0,
            activity_id,
            date,
            place,
            note,
            created_at: xieshang_platform::time::now(),
        };
        visit::ActiveModel::from(v.clone()).reset_all().insert(&*tx).await?;
        let row = save(&tx, row).await?;
        audit(
            &tx,
            ctx,
            committee,
            "consultation_activity",
            activity_id,
            json!({"visit": v.id,
            "date": v.date.to_string(), "place": v.place}),
        )
        .await?;
        let visits = visits_of(&tx, activity_id).await?;
        tx.commit().await?;
        Ok(to_domain(row, visits))
    }

    /// Moves an activity forward to a later stage. Staff. Moving past the
    /// MEETING stage emits `ConsultationActivityHeld` (once: stages only move forward).
    pub async fn advance_activity(&self, ctx: &TenantContext, id: Uuid, to: ActivityStage) -> Result<Activity> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let mut row = find_managed(&tx, committee, id).await?;
        let from = stage_of(&row);
        row.stage = from.advance(to)? as i16;
        let row = save(&tx, row).await?;
        audit(&tx, ctx, committee, "consultation_activity", id, json!({"from": from.as_str(), "to": to.as_str()}))
            .await?;
        if from.is_held(to) {
            let payload = Payload::ConsultationActivityHeld(ConsultationActivityHeld {
                activity_id: id.to_string(),
                consultation_type: kind_of(&row).as_str().to_owned(),
                year: row.year,
            });
            tx.emit(&origin(&tx, Some(ctx.user_id), committee).await?, payload).await?;
        }
        let visits = visits_of(&tx, id).await?;
        tx.commit().await?;
        Ok(to_domain(row, visits))
    }

    /// Adds the next numbered suggestion to the report of an activity in stage REPORT. Staff.
    pub async fn add_suggestion(&self, ctx: &TenantContext, activity_id: Uuid, text: String) -> Result<Suggestion> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let row = find_managed(&tx, committee, activity_id).await?;
        stage_of(&row).require(&[ActivityStage::Report], "suggestions are added")?;
        let last = suggestion::Entity::find()
            .filter(suggestion::Column::ActivityId.eq(activity_id))
            .order_by_desc(suggestion::Column::Number)
            .one(&*tx)
            .await?;
        let s = suggestion::Model {
            id: Uuid::now_v7(),
            committee_id: committee.0,
            activity_id,
            number: last.map_or(1, |l| l.number + 1),
            text,
            feedback: 0,
            feedback_note: String::new(),
            feedback_at: None,
            created_at: xieshang_platform::time::now(),
            carried_target: None,
            carried_draft_id: None,
            carried_at: None,
            carried_by: None,
        };
        suggestion::ActiveModel::from(s.clone()).reset_all().insert(&*tx).await.map_err(
            ConsultationError::on_unique("activity_id", "another suggestion was added at the same time; retry"),
        )?;
        audit(
            &tx,
            ctx,
            committee,
            "consultation_suggestion",
            s.id,
            json!({"activity_id": activity_id,
            "number": s.number}),
        )
        .await?;
        tx.commit().await?;
        Ok(suggestion_to_domain(s))
    }

    /// An activity's suggestions by number.
    pub async fn list_suggestions(&self, ctx: &TenantContext, activity_id: Uuid) -> Result<Vec<Suggestion>> {
        let tx = self.begin(ctx).await?;
        find_readable(&tx, ctx, activity_id).await?;
        let rows = suggestion::Entity::find()
            .filter(suggestion::Column::ActivityId.eq(activity_id))
            .order_by_asc(suggestion::Column::Number)
            .all(&*tx)
            .await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(suggestion_to_domain).collect())
    }

    /// Records the receiving body's feedback on a suggestion of an activity
    /// in stage FEEDBACK or FOLLOW_UP. Staff.
    pub async fn record_feedback(
        &self,
        ctx: &TenantContext,
        suggestion_id: Uuid,
        result: FeedbackResult,
        note: String,
    ) -> Result<Suggestion> {
        let committee = office(ctx)?;
        if result == FeedbackResult::NotAdopted && note.is_empty() {
            return Err(ConsultationError::invalid("note", "is required for NOT_ADOPTED: say why"));
        }
        let tx = self.begin(ctx).await?;
        let mut s = suggestion::Entity::find_by_id(suggestion_id)
            .filter(suggestion::Column::CommitteeId.eq(committee.0))
            .one(&*tx)
            .await?
            .ok_or(ConsultationError::NotFound("suggestion"))?;
        let row = find_managed(&tx, committee, s.activity_id).await?;
        stage_of(&row).require(&[ActivityStage::Feedback, ActivityStage::FollowUp], "feedback is recorded")?;
        let previous = FeedbackResult::from_i16(s.feedback);
        let before = previous.map(FeedbackResult::as_str);
        s.feedback = result as i16;
        s.feedback_note = note;
        s.feedback_at = Some(xieshang_platform::time::now());
        // Only the feedback columns: a whole-row write would undo a carry
        // committed since this transaction read the row.
        suggestion::Entity::update_many()
            .col_expr(suggestion::Column::Feedback, Expr::value(s.feedback))
            .col_expr(suggestion::Column::FeedbackNote, Expr::value(s.feedback_note.clone()))
            .col_expr(suggestion::Column::FeedbackAt, Expr::value(s.feedback_at))
            .filter(suggestion::Column::Id.eq(s.id))
            .filter(suggestion::Column::CommitteeId.eq(committee.0))
            .exec(&*tx)
            .await?;
        audit(
            &tx,
            ctx,
            committee,
            "consultation_suggestion",
            s.id,
            json!({"feedback": result.as_str(),
            "before": before}),
        )
        .await?;
        // A correction to the same result changes nothing worth counting.
        if previous != Some(result) {
            let payload = Payload::SuggestionFeedbackGiven(SuggestionFeedbackGiven {
                suggestion_id: s.id.to_string(),
                activity_id: s.activity_id.to_string(),
                result: result.event_value().to_owned(),
                previous_result: previous.map(|p| p.event_value().to_owned()).unwrap_or_default(),
                consultation_type: kind_of(&row).as_str().to_owned(),
            });
            tx.emit(&origin(&tx, Some(ctx.user_id), committee).await?, payload).await?;
        }
        tx.commit().await?;
        Ok(suggestion_to_domain(s))
    }

    /// Carries a suggestion on into a proposal draft or an information item
    /// owned by `member_id`'s user account: emits `SuggestionCarriedForward`,
    /// which the proposals service turns into the draft (its id is the
    /// event's). Staff.
    pub async fn carry_suggestion(
        &self,
        ctx: &TenantContext,
        suggestion_id: Uuid,
        target: CarryTarget,
        member_id: Uuid,
        title: &str,
    ) -> Result<CarriedSuggestion> {
        let committee = office(ctx)?;
        // The proposals service's title limit: the draft must be a valid one.
        let title = domain::text("title", title, 100, true)?;
        let tx = self.begin(ctx).await?;
        let s = suggestion::Entity::find_by_id(suggestion_id)
            .filter(suggestion::Column::CommitteeId.eq(committee.0))
            .one(&*tx)
            .await?
            .ok_or(ConsultationError::NotFound("suggestion"))?;
        if let Some(refusal) = already_carried(&s) {
            return Err(refusal);
        }
        let row = find_managed(&tx, committee, s.activity_id).await?;
        let owner = member::Entity::find_by_id(member_id)
            .filter(member::Column::CommitteeId.eq(committee.0))
            .one(&*tx)
            .await?
            .ok_or(ConsultationError::NotFound("member"))?;
        let owner_user = owner.user_id.map(UserId).ok_or_else(|| {
            ConsultationError::precondition(format!(
                "member {} has no user account to own the draft; link one first",
                owner.id
            ))
        })?;
        let source_note = format!("来源：协商活动「{}」第{}条建议", row.title, s.number);
        let payload = Payload::SuggestionCarriedForward(SuggestionCarriedForward {
            suggestion_id: s.id.to_string(),
            activity_id: s.activity_id.to_string(),
            target: match target {
                CarryTarget::Proposal => DraftTarget::Proposal,
                CarryTarget::Information => DraftTarget::Information,
            } as i32,
            owner_user_id: owner_user.to_string(),
            owner_member_id: owner.id.to_string(),
            title: title.clone(),
            body: s.text.clone(),
            source_note,
        });
        let draft_id = tx.emit(&origin(&tx, Some(ctx.user_id), committee).await?, payload).await?;
        // The guard under concurrency: of two carries that both read the row
        // uncarried, only one updates it (PostgreSQL re-checks the condition
        // after the first commits; SQLite has one writer); the other rolls
        // back its event with the refusal.
        let claimed = suggestion::Entity::update_many()
            .col_expr(suggestion::Column::CarriedTarget, Expr::value(target as i16))
            .col_expr(suggestion::Column::CarriedDraftId, Expr::value(draft_id))
            .col_expr(suggestion::Column::CarriedAt, Expr::value(xieshang_platform::time::now()))
            .col_expr(suggestion::Column::CarriedBy, Expr::value(ctx.user_id.0))
            .filter(suggestion::Column::Id.eq(s.id))
            .filter(suggestion::Column::CommitteeId.eq(committee.0))
            .filter(suggestion::Column::CarriedAt.is_null())
            .exec(&*tx)
            .await?;
        if claimed.rows_affected == 0 {
            let now = suggestion::Entity::find_by_id(s.id).one(&*tx).await?;
            return Err(now
                .as_ref()
                .and_then(already_carried)
                .unwrap_or_else(|| ConsultationError::precondition("the suggestion is already carried forward")));
        }
        audit(
            &tx,
            ctx,
            committee,
            "consultation_suggestion",
            s.id,
            json!({"carried": target.as_str(), "member_id": owner.id, "title": title, "draft_id": draft_id}),
        )
        .await?;
        tx.commit().await?;
        Ok(CarriedSuggestion { suggestion: suggestion_to_domain(s), target, owner_user_id: owner_user, draft_id })
    }

    /// Adoption rates of `year`'s activities: per activity, per type, in total. Staff.
    pub async fn adoption_rates(&self, ctx: &TenantContext, year: i32) -> Result<AdoptionRates> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let activities = activity::Entity::find()
            .filter(activity::Column::CommitteeId.eq(committee.0))
            .filter(activity::Column::Year.eq(year))
            .order_by_asc(activity::Column::Id)
            .all(&*tx)
            .await?;
        let suggestions = suggestion::Entity::find()
            .filter(suggestion::Column::ActivityId.is_in(activities.iter().map(|a| a.id).collect::<Vec<_>>()))
            .all(&*tx)
            .await?;
        tx.commit().await?;
        let mut per_activity: BTreeMap<Uuid, Tally> = BTreeMap::new();
        for s in &suggestions {
            per_activity.entry(s.activity_id).or_default().add(FeedbackResult::from_i16(s.feedback));
        }
        let mut types: BTreeMap<ConsultationType, Tally> = BTreeMap::new();
        let mut total = Tally::default();
        let mut rows = Vec::new();
        for a in activities {
            let kind = ConsultationType::from_i16(a.consultation_type).unwrap_or(ConsultationType::Other);
            let tally = per_activity.remove(&a.id).unwrap_or_default();
            types.entry(kind).or_default().merge(&tally);
            total.merge(&tally);
            rows.push(ActivityAdoption { activity_id: a.id, title: a.title, kind, tally });
        }
        Ok(AdoptionRates { year, activities: rows, types: types.into_iter().collect(), total })
    }
}
