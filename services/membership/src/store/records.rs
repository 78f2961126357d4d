//! Performance records (履职档案): entries, points per kind and year, and a
//! member's own view with their rank in their activity group.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TryInsertResult,
};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::audit::{Actor, AuditRecord};
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::Tx;
use xieshang_platform::ids::{CommitteeId, UserId};

use super::events::{emit_all, performance_entry_recorded};
use super::members::{find_readable, to_domain as member_to_domain};
use super::{Page, Store, audit, office, own_committee};
use crate::domain::{MemberStatus, MyRecord, PointRules, RecordEntry, RecordKind, RecordSource, rank};
use crate::entity::{member, point_rule, record_entry};
use crate::error::{MembershipError, Result};

/// An entry entered by staff. `points` None: the committee's rule.
#[derive(Clone, Debug)]
pub struct NewRecordEntry {
    pub member_id: Uuid,
    pub kind: RecordKind,
    pub date: NaiveDate,
    pub points: Option<i32>,
    pub description: String,
    pub evidence_ref: String,
}

/// An entry derived from another service's event.
#[derive(Clone, Debug)]
pub(crate) struct AutomaticEntry {
    pub committee: CommitteeId,
    pub member_id: Uuid,
    pub kind: RecordKind,
    pub date: NaiveDate,
    pub description: String,
    pub evidence_ref: String,
    pub event_id: Uuid,
}

fn to_domain(row: record_entry::Model) -> RecordEntry {
    RecordEntry {
        id: row.id,
        member_id: row.member_id,
        kind: RecordKind::from_i16(row.kind).unwrap_or(RecordKind::Service),
        date: row.date,
        points: row.points,
        description: row.description,
        evidence_ref: row.evidence_ref,
        source: RecordSource::from_i16(row.source).unwrap_or(RecordSource::Staff),
        source_event_id: row.source_event_id,
        verified_by: row.verified_by.map(UserId),
        created_at: row.created_at,
    }
}

fn year_range(year: i32) -> (NaiveDate, NaiveDate) {
    (NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default(), NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or_default())
}

fn check_year(year: i32) -> Result<i32> {
    if (2000..=2100).contains(&year) {
        Ok(year)
    } else {
        Err(MembershipError::invalid("year", "must be between 2000 and 2100"))
    }
}

/// The committee's points per kind for `year`: its rules over the defaults.
pub(crate) async fn rules_of(tx: &Tx, committee: CommitteeId, year: i32) -> Result<PointRules> {
    let rows = point_rule::Entity::find()
        .filter(point_rule::Column::CommitteeId.eq(committee.0))
        .filter(point_rule::Column::Year.eq(year))
        .all(&**tx)
        .await?;
    let mut rules = PointRules::defaults(year);
    for (kind, points) in &mut rules.rules {
        if let Some(row) = rows.iter().find(|r| r.kind == *kind as i16) {
            *points = row.points;
        }
    }
    Ok(rules)
}

/// Inserts an entry from an event unless the same event already gave this
/// member one (unique `(source_event_id, member_id)`). Audits what it
/// inserted with `actor`. Returns whether it inserted.
pub(crate) async fn insert_automatic_entry(tx: &Tx, actor: &Actor, entry: AutomaticEntry) -> Result<bool> {
    let points = rules_of(tx, entry.committee, entry.date.year()).await?.points(entry.kind);
    let row = record_entry::Model {
        id: Uuid::now_v7(),
        committee_id: entry.committee.0,
        member_id: entry.member_id,
        kind: entry.kind as i16,
        date: entry.date,
        points,
        description: entry.description,
        evidence_ref: entry.evidence_ref,
        source: RecordSource::Automatic as i16,
        source_event_id: Some(entry.event_id),
        verified_by: None,
        created_at: xieshang_platform::time::now(),
    };
    let outcome = record_entry::Entity::insert(record_entry::ActiveModel::from(row.clone()).reset_all())
        .on_conflict_do_nothing_on([record_entry::Column::SourceEventId, record_entry::Column::MemberId])
        .exec_without_returning(&**tx)
        .await?;
    let inserted = matches!(outcome, TryInsertResult::Inserted(n) if n > 0);
    if inserted {
        let record = AuditRecord {
            committee: Some(entry.committee),
            target_type: "member_record_entry",
            target_id: row.id.to_string(),
            changes: json!({"member_id": row.member_id, "kind": entry.kind.as_str(), "points": points,
                "date": row.date.to_string(), "source_event_id": entry.event_id}),
        };
        tx.audit(actor, record).await?;
        // Only when this call inserted: a second delivery of the source event emits nothing.
        emit_all(tx, entry.committee, actor.user_id, [performance_entry_recorded(&row)]).await?;
    }
    Ok(inserted)
}

impl Store {
    /// An entry entered by staff; it counts as verified by them.
    pub async fn create_record_entry(&self, ctx: &TenantContext, new: NewRecordEntry) -> Result<RecordEntry> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        member::Entity::find_by_id(new.member_id)
            .filter(member::Column::CommitteeId.eq(committee.0))
            .one(&*tx)
            .await?
            .ok_or_else(|| MembershipError::invalid("entry.member_id", "is not a member of this committee"))?;
        let points = match new.points {
            Some(p) => p,
            None => rules_of(&tx, committee, new.date.year()).await?.points(new.kind),
        };
        let row = record_entry::Model {
            id: Uuid::now_v7(),
            committee_id: committee.0,
            member_id: new.member_id,
            kind: new.kind as i16,
            date: new.date,
            points,
            description: new.description,
            evidence_ref: new.evidence_ref,
            source: RecordSource::Staff as i16,
            source_event_id: None,
            verified_by: Some(ctx.user_id.0),
            created_at: xieshang_platform::time::now(),
        };
        record_entry::Entity::insert(record_entry::ActiveModel::from(row.clone()).reset_all())
            .exec_without_returning(&*tx)
            .await?;
        let changes = json!({"member_id": row.member_id, "kind": new.kind.as_str(), "points": points,
            "date": row.date.to_string(), "description": row.description, "evidence_ref": row.evidence_ref});
        audit(&tx, ctx, committee, "member_record_entry", row.id, changes).await?;
        emit_all(&tx, committee, Some(ctx.user_id), [performance_entry_recorded(&row)]).await?;
        tx.commit().await?;
        Ok(to_domain(row))
    }

    pub async fn verify_record_entry(&self, ctx: &TenantContext, id: Uuid) -> Result<RecordEntry> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let mut row = record_entry::Entity::find_by_id(id)
            .filter(record_entry::Column::CommitteeId.eq(committee.0))
            .one(&*tx)
            .await?
            .ok_or(MembershipError::NotFound("record entry"))?;
        if row.verified_by.is_some() {
            return Err(MembershipError::precondition("the entry is already verified"));
        }
        row.verified_by = Some(ctx.user_id.0);
        record_entry::Entity::update(record_entry::ActiveModel::from(row.clone()).reset_all()).exec(&*tx).await?;
        audit(&tx, ctx, committee, "member_record_entry", id, json!({"verified_by": ctx.user_id.0})).await?;
        tx.commit().await?;
        Ok(to_domain(row))
    }

    /// A member's entries, newest date first, paged; `year` 0 for every year.
    pub async fn list_record_entries(
        &self,
        ctx: &TenantContext,
        member_id: Uuid,
        year: i32,
        page_size: i32,
        page_token: &str,
    ) -> Result<Page<RecordEntry>> {
        let size = xieshang_platform::page::size(page_size, 50, 500)?;
        let after = match xieshang_platform::page::decode(page_token)? {
            Some(token) => Some(
                token
                    .split_once('|')
                    .and_then(|(d, id)| {
                        Some((NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?, Uuid::parse_str(id).ok()?))
                    })
                    .ok_or_else(|| MembershipError::invalid("page_token", "is not a token this server issued"))?,
            ),
            None => None,
        };
        if year != 0 {
            check_year(year)?;
        }
        let tx = self.begin(ctx).await?;
        find_readable(&tx, ctx, member_id).await?;
        let mut query = record_entry::Entity::find().filter(record_entry::Column::MemberId.eq(member_id));
        if year != 0 {
            let (from, to) = year_range(year);
            query = query.filter(record_entry::Column::Date.between(from, to));
        }
        if let Some((date, id)) = after {
            query =
                query.filter(Condition::any().add(record_entry::Column::Date.lt(date)).add(
                    Condition::all().add(record_entry::Column::Date.eq(date)).add(record_entry::Column::Id.lt(id)),
                ));
        }
        let mut rows = query
            .order_by_desc(record_entry::Column::Date)
            .order_by_desc(record_entry::Column::Id)
            .limit(size + 1)
            .all(&*tx)
            .await?;
        tx.commit().await?;
        let more = rows.len() as u64 > size;
        rows.truncate(size as usize);
        let next_page_token = match (more, rows.last()) {
            (true, Some(last)) => xieshang_platform::page::encode(&format!("{}|{}", last.date, last.id)),
            _ => String::new(),
        };
        Ok(Page { items: rows.into_iter().map(to_domain).collect(), next_page_token })
    }

    pub async fn get_point_rules(&self, ctx: &TenantContext, year: i32) -> Result<(CommitteeId, PointRules)> {
        let committee = own_committee(ctx)?;
        let year = check_year(year)?;
        let tx = self.begin(ctx).await?;
        let rules = rules_of(&tx, committee, year).await?;
        tx.commit().await?;
        Ok((committee, rules))
    }

    /// Sets the points of the given kinds for `year`; other kinds keep theirs.
    pub async fn set_point_rules(
        &self,
        ctx: &TenantContext,
        year: i32,
        rules: Vec<(RecordKind, i32)>,
    ) -> Result<(CommitteeId, PointRules)> {
        let committee = office(ctx)?;
        let year = check_year(year)?;
        if rules.is_empty() {
            return Err(MembershipError::invalid("rules.rules", "names no kind"));
        }
        for (_, points) in &rules {
            if !(0..=100).contains(points) {
                return Err(MembershipError::invalid("rules.rules.points", "must be between 0 and 100"));
            }
        }
        let tx = self.begin(ctx).await?;
        let now = xieshang_platform::time::now();
        for (kind, points) in &rules {
            point_rule::Entity::delete_many()
                .filter(point_rule::Column::CommitteeId.eq(committee.0))
                .filter(point_rule::Column::Year.eq(year))
                .filter(point_rule::Column::Kind.eq(*kind as i16))
                .exec(&*tx)
                .await?;
            let row = point_rule::Model {
                committee_id: committee.0,
                year,
                kind: *kind as i16,
                points: *points,
                updated_at: now,
            };
            point_rule::Entity::insert(point_rule::ActiveModel::from(row).reset_all())
                .exec_without_returning(&*tx)
                .await?;
        }
        let changed: serde_json::Map<String, serde_json::Value> =
            rules.iter().map(|(k, p)| (k.as_str().to_owned(), json!(p))).collect();
        audit(
            &tx,
            ctx,
            committee,
            "member_point_rules",
            format!("{committee}/{year}"),
            json!({"year": year, "points": changed}),
        )
        .await?;
        let current = rules_of(&tx, committee, year).await?;
        tx.commit().await?;
        Ok((committee, current))
    }

    /// The caller's own record for `year`, with their rank in their activity
    /// group; of other members only names.
    pub async fn get_my_record(&self, ctx: &TenantContext, year: i32) -> Result<MyRecord> {
        let committee = own_committee(ctx)?;
        let year = check_year(year)?;
        let tx = self.begin(ctx).await?;
        let me = member::Entity::find()
            .filter(member::Column::CommitteeId.eq(committee.0))
            .filter(member::Column::UserId.eq(ctx.user_id.0))
            .one(&*tx)
            .await?
            .ok_or(MembershipError::NotFound("member linked to your account"))?;
        let (from, to) = year_range(year);
        let entries: Vec<RecordEntry> = record_entry::Entity::find()
            .filter(record_entry::Column::MemberId.eq(me.id))
            .filter(record_entry::Column::Date.between(from, to))
            .order_by_desc(record_entry::Column::Date)
            .order_by_desc(record_entry::Column::Id)
            .all(&*tx)
            .await?
            .into_iter()
            .map(to_domain)
            .collect();
        let total_points = entries.iter().map(|e| e.points).sum();
        let (mut group_rank, mut group_size, mut ranking) = (0, 0, Vec::new());
        if let Some(group) = me.activity_group_id {
            let peers = member::Entity::find()
                .filter(member::Column::CommitteeId.eq(committee.0))
                .filter(member::Column::ActivityGroupId.eq(group))
                .filter(member::Column::Status.eq(MemberStatus::Serving as i16))
                .all(&*tx)
                .await?;
            let ids: Vec<Uuid> = peers.iter().map(|p| p.id).collect();
            let mut totals: HashMap<Uuid, i32> = HashMap::new();
            for e in record_entry::Entity::find()
                .filter(record_entry::Column::MemberId.is_in(ids))
                .filter(record_entry::Column::Date.between(from, to))
                .all(&*tx)
                .await?
            {
                *totals.entry(e.member_id).or_default() += e.points;
            }
            let ranked =
                rank(peers.iter().map(|p| (p.id, p.name.clone(), totals.get(&p.id).copied().unwrap_or(0))).collect());
            group_size = ranked.len() as i32;
            group_rank = ranked.iter().find(|r| r.0 == me.id).map_or(0, |r| r.3);
            ranking = ranked.into_iter().map(|(_, name, _, rank)| (rank, name)).collect();
        }
        tx.commit().await?;
        Ok(MyRecord {
            member: member_to_domain(&self.pii, me)?,
            year,
            entries,
            total_points,
            group_rank,
            group_size,
            ranking,
        })
    }
}
