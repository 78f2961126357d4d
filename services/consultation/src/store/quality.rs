//! Quality evaluation (协商议政质量评价): the yearly scoring standard, the
//! evaluators of activities, their scores and the ranking; and the joint
//! groups (联组) of sectors with the round-table rotation. The rules live in
//! [`crate::domain::quality`].

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::Tx;
use xieshang_platform::ids::CommitteeId;
use xieshang_proto::common::v1::Role;

use super::activities::find_managed;
use super::{Store, audit, is_office, office, own_committee};
use crate::domain::ConsultationType;
use crate::domain::quality::{
    self, ActivityQuality, Criterion, Evaluator, JointGroup, NewCriterion, QualityStandard, RankedActivity, Rotation,
    Score,
};
use crate::entity::{
    activity, joint_group, joint_group_sector, quality_criterion, quality_evaluator, quality_score, reference_item,
    user, user_role,
};
use crate::error::{ConsultationError, Result};

/// `member_reference_items.kind` of a sector (界别).
const SECTOR: i16 = 1;
/// At most this many evaluators per call, sectors per group.
const MAX_LIST: usize = 50;
pub const MAX_ROTATION: i32 = 50;

pub(super) async fn criteria_of(tx: &Tx, committee: CommitteeId, year: i32) -> Result<Vec<quality_criterion::Model>> {
    Ok(quality_criterion::Entity::find()
        .filter(quality_criterion::Column::CommitteeId.eq(committee.0))
        .filter(quality_criterion::Column::Year.eq(year))
        .order_by_asc(quality_criterion::Column::Position)
        .all(&**tx)
        .await?)
}

fn standard(committee: CommitteeId, year: i32, rows: Vec<quality_criterion::Model>) -> QualityStandard {
    QualityStandard {
        committee_id: committee,
        year,
        criteria: rows.into_iter().map(|c| Criterion { id: c.id, name: c.name, weight: c.weight }).collect(),
    }
}

fn score_to_domain(s: quality_score::Model) -> Score {
    Score { evaluator: s.evaluator_user_id, criterion_id: s.criterion_id, score: s.score, created_at: s.created_at }
}

async fn evaluator_ids(tx: &Tx, activity_id: Uuid) -> Result<Vec<Uuid>> {
    Ok(quality_evaluator::Entity::find()
        .filter(quality_evaluator::Column::ActivityId.eq(activity_id))
        .order_by_asc(quality_evaluator::Column::CreatedAt)
        .order_by_asc(quality_evaluator::Column::UserId)
        .all(&**tx)
        .await?
        .into_iter()
        .map(|e| e.user_id)
        .collect())
}

/// The groups of `committee` in rotation order.
async fn groups_of(tx: &Tx, committee: CommitteeId) -> Result<Vec<joint_group::Model>> {
    Ok(joint_group::Entity::find()
        .filter(joint_group::Column::CommitteeId.eq(committee.0))
        .order_by_asc(joint_group::Column::Position)
        .all(&**tx)
        .await?)
}

/// Groups with their sectors' names, as listed by `sector_ids` of each group.
async fn with_sectors(tx: &Tx, groups: Vec<joint_group::Model>) -> Result<Vec<JointGroup>> {
    let links = joint_group_sector::Entity::find()
        .filter(joint_group_sector::Column::GroupId.is_in(groups.iter().map(|g| g.id).collect::<Vec<_>>()))
        .all(&**tx)
        .await?;
    let names: BTreeMap<Uuid, String> = reference_item::Entity::find()
        .filter(reference_item::Column::Id.is_in(links.iter().map(|l| l.sector_id).collect::<Vec<_>>()))
        .all(&**tx)
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let mut sectors: BTreeMap<Uuid, Vec<(Uuid, String)>> = BTreeMap::new();
    for l in links {
        let name = names.get(&l.sector_id).cloned().unwrap_or_default();
        sectors.entry(l.group_id).or_default().push((l.sector_id, name));
    }
    Ok(groups
        .into_iter()
        .map(|g| {
            let mut s = sectors.remove(&g.id).unwrap_or_default();
            s.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
            JointGroup { id: g.id, name: g.name, position: g.position, sectors: s }
        })
        .collect())
}

/// The last round table of `year` or before that had a leading group:
/// (activity, group).
async fn last_round_table(tx: &Tx, committee: CommitteeId, year: i32) -> Result<Option<(Uuid, Uuid)>> {
    Ok(activity::Entity::find()
        .filter(activity::Column::CommitteeId.eq(committee.0))
        .filter(activity::Column::ConsultationType.eq(ConsultationType::SectorRoundTable as i16))
        .filter(activity::Column::Year.lte(year))
        .filter(activity::Column::LeadingGroupId.is_not_null())
        .order_by_desc(activity::Column::Year)
        .order_by_desc(activity::Column::Id)
        .one(&**tx)
        .await?
        .and_then(|a| a.leading_group_id.map(|g| (a.id, g))))
}

/// The joint group to lead the next round table of `year`, by the rotation;
/// none while the committee has no joint groups.
pub(super) async fn next_leader(tx: &Tx, committee: CommitteeId, year: i32) -> Result<Option<Uuid>> {
    let groups: Vec<Uuid> = groups_of(tx, committee).await?.into_iter().map(|g| g.id).collect();
    let last = last_round_table(tx, committee, year).await?.map(|(_, g)| g);
    Ok(quality::rotation(&groups, last, 1).first().copied())
}

impl Store {
    /// Sets the scoring standard of `year`, replacing one no score was recorded against. Staff.
    pub async fn set_quality_standard(
        &self,
        ctx: &TenantContext,
        year: i32,
        criteria: Vec<NewCriterion>,
    ) -> Result<QualityStandard> {
        let committee = office(ctx)?;
        let criteria = quality::check_criteria(&criteria)?;
        let tx = self.begin(ctx).await?;
        let old = criteria_of(&tx, committee, year).await?;
        if !old.is_empty() {
            let used = quality_score::Entity::find()
                .filter(quality_score::Column::CriterionId.is_in(old.iter().map(|c| c.id).collect::<Vec<_>>()))
                .count(&*tx)
                .await?;
            if used > 0 {
                return Err(ConsultationError::precondition(format!(
                    "the {year} standard is IN_USE: {used} scores were recorded against it; it can no longer be replaced"
                )));
            }
            quality_criterion::Entity::delete_many()
                .filter(quality_criterion::Column::CommitteeId.eq(committee.0))
                .filter(quality_criterion::Column::Year.eq(year))
                .exec(&*tx)
                .await?;
        }
        let now = xieshang_platform::time::now();
        let mut rows = Vec::with_capacity(criteria.len());
        for (i, c) in criteria.into_iter().enumerate() {
            let row = quality_criterion::Model {
                id: Uuid::now_v7(),
                committee_id: committee.0,
                year,
                position: i as i32 + 1,
                name: c.name,
                weight: c.weight,
                created_at: now,
            };
            quality_criterion::ActiveModel::from(row.clone()).reset_all().insert(&*tx).await.map_err(
                ConsultationError::on_unique("standard.year", "the standard was set at the same time; retry"),
            )?;
            rows.push(row);
        }
        audit(
            &tx,
            ctx,
            committee,
            "consultation_quality_standard",
            year,
            json!({"year": year, "replaced": !old.is_empty(),
            "criteria": rows.iter().map(|c| json!({"name": c.name, "weight": c.weight})).collect::<Vec<_>>()}),
        )
        .await?;
        tx.commit().await?;
        Ok(standard(committee, year, rows))
    }

    /// The scoring standard of `year`. Any user of the committee.
    pub async fn get_quality_standard(&self, ctx: &TenantContext, year: i32) -> Result<QualityStandard> {
        let committee = own_committee(ctx)?;
        let tx = self.begin(ctx).await?;
        let rows = criteria_of(&tx, committee, year).await?;
        tx.commit().await?;
        if rows.is_empty() {
            return Err(ConsultationError::NotFound("quality standard"));
        }
        Ok(standard(committee, year, rows))
    }

    /// Names evaluators of an activity: users of the committee holding
    /// ROLE_JUDGE or ROLE_STAFF. Staff.
    pub async fn assign_evaluators(
        &self,
        ctx: &TenantContext,
        activity_id: Uuid,
        users: Vec<Uuid>,
    ) -> Result<Vec<Evaluator>> {
        let committee = office(ctx)?;
        if users.is_empty() || users.len() > MAX_LIST {
            return Err(ConsultationError::invalid("evaluator_user_ids", format!("must name 1 to {MAX_LIST} users")));
        }
        let tx = self.begin(ctx).await?;
        find_managed(&tx, committee, activity_id).await?;
        let existing: BTreeSet<Uuid> = evaluator_ids(&tx, activity_id).await?.into_iter().collect();
        let mut added = Vec::new();
        for u in users.into_iter().collect::<BTreeSet<_>>() {
            let found = user::Entity::find_by_id(u)
                .filter(user::Column::CommitteeId.eq(committee.0))
                .one(&*tx)
                .await?
                .filter(|u| !u.disabled);
            if found.is_none() {
                return Err(ConsultationError::invalid(
                    "evaluator_user_ids",
                    format!("{u} is not an active user of the committee"),
                ));
            }
            let eligible = user_role::Entity::find()
                .filter(user_role::Column::UserId.eq(u))
                .filter(user_role::Column::CommitteeId.eq(committee.0))
                .filter(user_role::Column::Role.is_in([Role::Judge as i16, Role::Staff as i16]))
                .count(&*tx)
                .await?;
            if eligible == 0 {
                return Err(ConsultationError::invalid(
                    "evaluator_user_ids",
                    format!("{u} holds neither ROLE_JUDGE nor ROLE_STAFF"),
                ));
            }
            if existing.contains(&u) {
                continue;
            }
            let row = quality_evaluator::Model {
                activity_id,
                user_id: u,
                committee_id: committee.0,
                created_at: xieshang_platform::time::now(),
            };
            quality_evaluator::ActiveModel::from(row).reset_all().insert(&*tx).await.map_err(
                ConsultationError::on_unique("evaluator_user_ids", "named at the same time by another call; retry"),
            )?;
            added.push(u);
        }
        if !added.is_empty() {
            audit(&tx, ctx, committee, "consultation_activity", activity_id, json!({"evaluators_added": added}))
                .await?;
        }
        let ids = evaluator_ids(&tx, activity_id).await?;
        let names: BTreeMap<Uuid, String> = user::Entity::find()
            .filter(user::Column::Id.is_in(ids.clone()))
            .all(&*tx)
            .await?
            .into_iter()
            .map(|u| (u.id, u.display_name))
            .collect();
        tx.commit().await?;
        Ok(ids
            .into_iter()
            .map(|id| Evaluator { user_id: id, display_name: names.get(&id).cloned().unwrap_or_default() })
            .collect())
    }

    /// Records the caller's scores of an activity, once per criterion. Evaluators of the activity.
    pub async fn score_activity(
        &self,
        ctx: &TenantContext,
        activity_id: Uuid,
        scores: Vec<(Uuid, i32)>,
    ) -> Result<ActivityQuality> {
        let committee = own_committee(ctx)?;
        if scores.is_empty() {
            return Err(ConsultationError::invalid("scores", "is required"));
        }
        let me = ctx.user_id.0;
        let tx = self.begin(ctx).await?;
        let row = find_managed(&tx, committee, activity_id).await?;
        if !evaluator_ids(&tx, activity_id).await?.contains(&me) {
            return Err(ConsultationError::denied("only the evaluators named for this activity score it"));
        }
        let criteria = criteria_of(&tx, committee, row.year).await?;
        if criteria.is_empty() {
            return Err(ConsultationError::precondition(format!(
                "the committee has no scoring standard for {}: it is UNDEFINED",
                row.year
            )));
        }
        let mut seen = BTreeSet::new();
        let mut checked = Vec::with_capacity(scores.len());
        for (criterion, value) in scores {
            if !criteria.iter().any(|c| c.id == criterion) {
                return Err(ConsultationError::invalid(
                    "scores.criterion_id",
                    format!("{criterion} is not a criterion of the {} standard", row.year),
                ));
            }
            if !seen.insert(criterion) {
                return Err(ConsultationError::invalid("scores.criterion_id", format!("{criterion} is given twice")));
            }
            checked.push((criterion, quality::check_score(value)?));
        }
        let mine = quality_score::Entity::find()
            .filter(quality_score::Column::ActivityId.eq(activity_id))
            .filter(quality_score::Column::EvaluatorUserId.eq(me))
            .all(&*tx)
            .await?;
        if let Some(done) = mine.iter().find(|s| seen.contains(&s.criterion_id)) {
            return Err(ConsultationError::exists(
                "scores.criterion_id",
                format!("you have already scored criterion {} of this activity", done.criterion_id),
            ));
        }
        let now = xieshang_platform::time::now();
        for (criterion, score) in &checked {
            let s = quality_score::Model {
                id: Uuid::now_v7(),
                committee_id: committee.0,
                activity_id,
                evaluator_user_id: me,
                criterion_id: *criterion,
                score: *score,
                created_at: now,
            };
            quality_score::ActiveModel::from(s).reset_all().insert(&*tx).await.map_err(
                ConsultationError::on_unique("scores.criterion_id", "you have already scored this criterion"),
            )?;
        }
        audit(
            &tx,
            ctx,
            committee,
            "consultation_activity",
            activity_id,
            json!({"scored": checked.iter().map(|(c, s)| json!({"criterion_id": c, "score": s})).collect::<Vec<_>>()}),
        )
        .await?;
        let quality = quality_of(&tx, ctx, row, false).await?;
        tx.commit().await?;
        Ok(quality)
    }

    /// Staff: every score and the weighted score; an evaluator: their own scores.
    pub async fn get_activity_quality(&self, ctx: &TenantContext, activity_id: Uuid) -> Result<ActivityQuality> {
        let committee = own_committee(ctx)?;
        let tx = self.begin(ctx).await?;
        let row = find_managed(&tx, committee, activity_id).await?;
        let office = is_office(ctx);
        if !office && !evaluator_ids(&tx, activity_id).await?.contains(&ctx.user_id.0) {
            return Err(ConsultationError::denied("only the office and the activity's evaluators see its scores"));
        }
        let quality = quality_of(&tx, ctx, row, office).await?;
        tx.commit().await?;
        Ok(quality)
    }

    /// `year`'s activities (of `kind`, if given) with at least one score, ranked. Staff.
    pub async fn rank_activities(
        &self,
        ctx: &TenantContext,
        year: i32,
        kind: Option<ConsultationType>,
    ) -> Result<Vec<RankedActivity>> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let mut query = activity::Entity::find()
            .filter(activity::Column::CommitteeId.eq(committee.0))
            .filter(activity::Column::Year.eq(year));
        if let Some(kind) = kind {
            query = query.filter(activity::Column::ConsultationType.eq(kind as i16));
        }
        let activities = query.order_by_asc(activity::Column::Id).all(&*tx).await?;
        let weights: Vec<(Uuid, i32)> =
            criteria_of(&tx, committee, year).await?.into_iter().map(|c| (c.id, c.weight)).collect();
        let mut scores: BTreeMap<Uuid, Vec<quality_score::Model>> = BTreeMap::new();
        for s in quality_score::Entity::find()
            .filter(quality_score::Column::ActivityId.is_in(activities.iter().map(|a| a.id).collect::<Vec<_>>()))
            .all(&*tx)
            .await?
        {
            scores.entry(s.activity_id).or_default().push(s);
        }
        tx.commit().await?;
        let scored: Vec<((activity::Model, i32), f64)> = activities
            .into_iter()
            .filter_map(|a| {
                let s = scores.remove(&a.id)?;
                let pairs: Vec<(Uuid, i16)> = s.iter().map(|s| (s.criterion_id, s.score)).collect();
                let evaluators = s.iter().map(|s| s.evaluator_user_id).collect::<BTreeSet<_>>().len() as i32;
                Some(((a, evaluators), quality::weighted_score(&weights, &pairs)))
            })
            .collect();
        Ok(quality::rank(scored)
            .into_iter()
            .map(|(rank, (a, evaluator_count), score)| RankedActivity {
                rank,
                activity_id: a.id,
                title: a.title,
                kind: ConsultationType::from_i16(a.consultation_type).unwrap_or(ConsultationType::Other),
                score,
                evaluator_count,
            })
            .collect())
    }

    /// Creates a joint group of the committee's sectors, last in the rotation. Staff.
    pub async fn create_joint_group(
        &self,
        ctx: &TenantContext,
        name: String,
        sector_ids: Vec<Uuid>,
    ) -> Result<JointGroup> {
        let committee = office(ctx)?;
        if sector_ids.is_empty() || sector_ids.len() > MAX_LIST {
            return Err(ConsultationError::invalid("group.sector_ids", format!("must name 1 to {MAX_LIST} sectors")));
        }
        let tx = self.begin(ctx).await?;
        let groups = groups_of(&tx, committee).await?;
        if groups.iter().any(|g| g.name == name) {
            return Err(ConsultationError::exists("group.name", format!("the committee already has {name}")));
        }
        let mut seen = BTreeSet::new();
        for s in &sector_ids {
            if !seen.insert(*s) {
                return Err(ConsultationError::invalid("group.sector_ids", format!("{s} is given twice")));
            }
            let sector = reference_item::Entity::find_by_id(*s)
                .filter(reference_item::Column::CommitteeId.eq(committee.0))
                .filter(reference_item::Column::Kind.eq(SECTOR))
                .one(&*tx)
                .await?
                .ok_or_else(|| {
                    ConsultationError::invalid(
                        "group.sector_ids",
                        format!("{s} is not a sector (界别) of the committee"),
                    )
                })?;
            if let Some(link) = joint_group_sector::Entity::find_by_id(*s).one(&*tx).await? {
                let other = groups.iter().find(|g| g.id == link.group_id).map_or("another group", |g| g.name.as_str());
                return Err(ConsultationError::invalid(
                    "group.sector_ids",
                    format!("{} is already in {other}: a sector is in at most one joint group", sector.name),
                ));
            }
        }
        let row = joint_group::Model {
            id: Uuid::now_v7(),
            committee_id: committee.0,
            name,
            position: groups.last().map_or(1, |g| g.position + 1),
            created_at: xieshang_platform::time::now(),
        };
        joint_group::ActiveModel::from(row.clone())
            .reset_all()
            .insert(&*tx)
            .await
            .map_err(ConsultationError::on_unique("group.name", "another group was created at the same time; retry"))?;
        for s in &sector_ids {
            let link = joint_group_sector::Model { sector_id: *s, committee_id: committee.0, group_id: row.id };
            joint_group_sector::ActiveModel::from(link).reset_all().insert(&*tx).await.map_err(
                ConsultationError::on_unique("group.sector_ids", "a sector was grouped at the same time; retry"),
            )?;
        }
        audit(
            &tx,
            ctx,
            committee,
            "consultation_joint_group",
            row.id,
            json!({"name": row.name, "position": row.position, "sector_ids": sector_ids}),
        )
        .await?;
        let group = with_sectors(&tx, vec![row]).await?.remove(0);
        tx.commit().await?;
        Ok(group)
    }

    pub async fn get_joint_group(&self, ctx: &TenantContext, id: Uuid) -> Result<JointGroup> {
        let committee = own_committee(ctx)?;
        let tx = self.begin(ctx).await?;
        let row = joint_group::Entity::find_by_id(id)
            .filter(joint_group::Column::CommitteeId.eq(committee.0))
            .one(&*tx)
            .await?
            .ok_or(ConsultationError::NotFound("joint group"))?;
        let group = with_sectors(&tx, vec![row]).await?.remove(0);
        tx.commit().await?;
        Ok(group)
    }

    /// The committee's joint groups in rotation order.
    pub async fn list_joint_groups(&self, ctx: &TenantContext) -> Result<Vec<JointGroup>> {
        let committee = own_committee(ctx)?;
        let tx = self.begin(ctx).await?;
        let groups = groups_of(&tx, committee).await?;
        let groups = with_sectors(&tx, groups).await?;
        tx.commit().await?;
        Ok(groups)
    }

    /// The leading groups of the next `count` round tables of `year`.
    pub async fn round_table_rotation(&self, ctx: &TenantContext, year: i32, count: i32) -> Result<Rotation> {
        let committee = own_committee(ctx)?;
        if !(1..=MAX_ROTATION).contains(&count) {
            return Err(ConsultationError::invalid("count", format!("must be between 1 and {MAX_ROTATION}")));
        }
        let tx = self.begin(ctx).await?;
        let groups = with_sectors(&tx, groups_of(&tx, committee).await?).await?;
        if groups.is_empty() {
            return Err(ConsultationError::precondition(
                "the committee's joint groups (联组) are UNDEFINED: create them first",
            ));
        }
        let after = last_round_table(&tx, committee, year).await?;
        tx.commit().await?;
        let ids: Vec<Uuid> = groups.iter().map(|g| g.id).collect();
        let slots = quality::rotation(&ids, after.map(|(_, g)| g), count as usize)
            .into_iter()
            .filter_map(|id| groups.iter().find(|g| g.id == id).cloned())
            .collect();
        Ok(Rotation { year, after, slots })
    }
}

/// The quality view of an activity: everything for the office, else the caller's own scores.
async fn quality_of(tx: &Tx, ctx: &TenantContext, row: activity::Model, office: bool) -> Result<ActivityQuality> {
    let committee = CommitteeId(row.committee_id);
    let criteria = criteria_of(tx, committee, row.year).await?;
    let position: BTreeMap<Uuid, i32> = criteria.iter().map(|c| (c.id, c.position)).collect();
    let mut query = quality_score::Entity::find().filter(quality_score::Column::ActivityId.eq(row.id));
    if !office {
        query = query.filter(quality_score::Column::EvaluatorUserId.eq(ctx.user_id.0));
    }
    let mut scores: Vec<Score> = query.all(&**tx).await?.into_iter().map(score_to_domain).collect();
    scores.sort_by_key(|s| (s.evaluator, position.get(&s.criterion_id).copied().unwrap_or(i32::MAX)));
    let (score, evaluator_count) = if office {
        let weights: Vec<(Uuid, i32)> = criteria.iter().map(|c| (c.id, c.weight)).collect();
        let pairs: Vec<(Uuid, i16)> = scores.iter().map(|s| (s.criterion_id, s.score)).collect();
        (Some(quality::weighted_score(&weights, &pairs)), Some(evaluator_ids(tx, row.id).await?.len() as i32))
    } else {
        (None, None)
    };
    Ok(ActivityQuality {
        activity_id: row.id,
        title: row.title,
        kind: ConsultationType::from_i16(row.consultation_type).unwrap_or(ConsultationType::Other),
        year: row.year,
        score,
        evaluator_count,
        scores,
    })
}
