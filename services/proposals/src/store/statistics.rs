//! Figures of one committee for a period, counted from the records.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::ids::{CommitteeId, UserId};

use super::{Store, require_office};
use crate::domain::{self, Category, Level, ProposalState, Rating, ReplyClass, Statistics, UnitFigures, UnitRole};
use crate::entity::{committee, information, proposal, unit, upward, user};
use crate::error::{ProposalsError, Result};

/// The UTC instant a China Standard Time day starts.
fn day_start(d: NaiveDate) -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()) - Duration::hours(8)
}

impl Store {
    /// The committee's figures for `start..=end`. Its office (or operators)
    /// only; any other committee is `NotFound`.
    pub async fn proposal_statistics(
        &self,
        ctx: &TenantContext,
        committee_id: CommitteeId,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Statistics> {
        if !ctx.is_operator() && ctx.committee_id() != Some(committee_id) {
            return Err(ProposalsError::NotFound("committee"));
        }
        require_office(ctx)?;
        if end < start {
            return Err(ProposalsError::invalid("end_date", "must not be before start_date"));
        }
        let (from, to) = (day_start(start), day_start(end + Duration::days(1)));
        let tx = self.begin(ctx).await?;
        let here = committee::Entity::find_by_id(committee_id.0)
            .one(&*tx)
            .await?
            .ok_or(ProposalsError::NotFound("committee"))?;
        let rows = proposal::Entity::find()
            .filter(proposal::Column::CommitteeId.eq(committee_id.0))
            .filter(proposal::Column::SubmittedAt.gte(from))
            .filter(proposal::Column::SubmittedAt.lt(to))
            .all(&*tx)
            .await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let units = unit::Entity::find().filter(unit::Column::ProposalId.is_in(ids)).all(&*tx).await?;
        let unit_names: HashMap<Uuid, String> = user::Entity::find()
            .filter(user::Column::Id.is_in(units.iter().map(|u| u.unit_user_id).collect::<HashSet<_>>()))
            .all(&*tx)
            .await?
            .into_iter()
            .map(|u| (u.id, u.display_name))
            .collect();
        let items = information::Entity::find()
            .filter(information::Column::CommitteeId.eq(committee_id.0))
            .filter(information::Column::OriginCommitteeId.eq(committee_id.0))
            .filter(information::Column::CreatedAt.gte(from))
            .filter(information::Column::CreatedAt.lt(to))
            .all(&*tx)
            .await?;
        let ups =
            upward::Entity::find().filter(upward::Column::ItemId.is_in(items.iter().map(|i| i.id))).all(&*tx).await?;
        tx.commit().await?;

        let mut s = Statistics { received: rows.len() as i32, ..Default::default() };
        let as_of = Ord::min(end + Duration::days(1), domain::today());
        let mut by_category: BTreeMap<i16, (i32, i32)> = BTreeMap::new();
        let mut units_of: HashMap<Uuid, Vec<&unit::Model>> = HashMap::new();
        for u in &units {
            units_of.entry(u.proposal_id).or_default().push(u);
        }
        for row in &rows {
            let filed = row.number.is_some();
            let entry = by_category.entry(row.category).or_default();
            entry.0 += 1;
            if filed {
                s.filed += 1;
                entry.1 += 1;
            }
            let state = ProposalState::parse(&row.state);
            let repliers: Vec<&&unit::Model> = units_of
                .get(&row.id)
                .map(|v| v.iter().filter(|u| u.role != UnitRole::Co as i16).collect())
                .unwrap_or_default();
            if matches!(state, Some(ProposalState::Replied | ProposalState::Closed)) {
                s.replied += 1;
                if !repliers.is_empty() && repliers.iter().all(|u| u.replied_at.is_some() && u.on_time) {
                    s.replied_on_time += 1;
                }
            }
            if matches!(state, Some(ProposalState::Assigned | ProposalState::Handling))
                && row.due_date.is_some_and(|d| d < as_of)
            {
                s.overdue += 1;
            }
            if let Some(result) = Rating::from_i16(row.result_rating) {
                s.rated += 1;
                if result != Rating::Dissatisfied {
                    s.satisfied += 1;
                }
            }
            if row.rehandle_count > 0 {
                s.rehandled += 1;
            }
        }
        s.by_category =
            by_category.into_iter().filter_map(|(c, (r, f))| Category::from_i16(c).map(|c| (c, r, f))).collect();
        let mut per_unit: HashMap<Uuid, UnitFigures> = HashMap::new();
        for u in &units {
            match ReplyClass::from_i16(u.reply_class) {
                Some(ReplyClass::A) => s.class_a += 1,
                Some(ReplyClass::B) => s.class_b += 1,
                Some(ReplyClass::C) => s.class_c += 1,
                None => {}
            }
            let f = per_unit.entry(u.unit_user_id).or_insert_with(|| UnitFigures {
                unit: Some(UserId(u.unit_user_id)),
                name: unit_names.get(&u.unit_user_id).cloned().unwrap_or_default(),
                ..Default::default()
            });
            f.assigned += 1;
            if u.replied_at.is_some() {
                f.replied += 1;
                if u.on_time {
                    f.replied_on_time += 1;
                }
            }
        }
        let mut by_unit: Vec<UnitFigures> = per_unit.into_values().collect();
        by_unit.sort_by(|a, b| a.name.cmp(&b.name).then(a.unit.cmp(&b.unit)));
        s.by_unit = by_unit;

        // Information written here: adopted or instructed here or further up.
        s.information_submitted = items.len() as i32;
        let mut adopted: HashSet<Uuid> = HashSet::new();
        let mut instructed: HashSet<Uuid> = HashSet::new();
        let mut by_level: BTreeMap<Level, HashSet<Uuid>> = BTreeMap::new();
        for item in &items {
            if item.state == domain::InformationState::Adopted.as_str() {
                adopted.insert(item.id);
                if let Some(level) = Level::from_i16(here.level) {
                    by_level.entry(level).or_default().insert(item.id);
                }
            }
            if !item.instruction_text.is_empty() {
                instructed.insert(item.id);
            }
        }
        for u in &ups {
            if u.kind == "adopted" {
                adopted.insert(u.item_id);
                if let Some(level) = Level::from_i16(u.by_level) {
                    by_level.entry(level).or_default().insert(u.item_id);
                }
            } else {
                instructed.insert(u.item_id);
            }
        }
        s.information_adopted = adopted.len() as i32;
        s.information_instructed = instructed.len() as i32;
        // Own level first, then up the tree.
        s.information_adopted_by_level = by_level.into_iter().rev().map(|(l, ids)| (l, ids.len() as i32)).collect();
        Ok(s)
    }
}
