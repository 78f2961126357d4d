//! The repository: counters written by the consumer and the rebuild, and read
//! by the RPCs. Every read takes the caller's [`TenantContext`] and runs in
//! the caller's scope (PostgreSQL row-level security lets a committee read
//! its own and its descendants' counters only).
//!
//! Writes run as `Scope::System`: the consumer and the rebuild are background
//! workers, and one event updates several committees' rows (its committee's
//! OWN counters and the SUBTREE counters of the committee and each ancestor),
//! which no single committee scope may write.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use prost::Message;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter};
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::{Db, Scope, Tx};
use xieshang_platform::ids::CommitteeId;
use xieshang_proto::common::v1::Role;
use xieshang_proto::events::v1::Event;

use crate::domain::{self, BreakdownRow, Counts, Fact, Figures, Period, Rollup, path_ids};
use crate::entity::committee;
use crate::error::{AnalyticsError, Result};

/// The consumer's name in `analytics_applied_events` and `analytics_positions`.
pub const CONSUMER: &str = "analytics";

/// How far the consumer has got.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub last_event_id: Option<Uuid>,
    pub events_applied: i64,
}

/// What a rebuild did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RebuildReport {
    /// Rows of the event log read.
    pub events_read: usize,
    /// Events that counted (the rest concern nothing analytics counts).
    pub events_applied: usize,
    /// Counter rows written.
    pub counters: usize,
}

/// One counter row, as stored.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Counter {
    pub committee_id: Uuid,
    pub rollup: Rollup,
    pub period: String,
    pub metric: String,
    pub value: i64,
    pub committee_path: String,
}

/// Counter increments keyed by (committee, rollup, period, metric), with the committee's path.
#[derive(Default)]
struct Deltas(BTreeMap<(Uuid, Rollup, String, &'static str), (i64, String)>);

impl Deltas {
    /// Adds one fact: to its committee's OWN counters and to the SUBTREE
    /// counters of the committee and each ancestor, for each period.
    /// Facts about committees without a path (unknown) are skipped.
    fn add(&mut self, fact: &Fact, path: &str) {
        let ids = path_ids(path);
        if ids.last() != Some(&fact.committee) {
            return;
        }
        let periods = Period::containing(fact.at);
        let mut prefix = String::from("/");
        for id in &ids {
            prefix.push_str(&id.to_string());
            prefix.push('/');
            for period in &periods {
                let key = (*id, Rollup::Subtree, period.to_string(), fact.metric);
                self.0.entry(key).or_insert_with(|| (0, prefix.clone())).0 += fact.value;
            }
        }
        for period in &periods {
            let key = (fact.committee, Rollup::Own, period.to_string(), fact.metric);
            self.0.entry(key).or_insert_with(|| (0, path.to_owned())).0 += fact.value;
        }
    }
}

#[derive(Clone)]
pub struct Store {
    db: Db,
}

/// The committee's office (staff, admins) and operators read figures.
fn require_office(ctx: &TenantContext) -> Result<()> {
    if ctx.is_operator() || ctx.has_role(Role::Staff) || ctx.has_role(Role::CommitteeAdmin) {
        Ok(())
    } else {
        Err(AnalyticsError::denied("this needs the STAFF or COMMITTEE_ADMIN role"))
    }
}

/// The platform-wide view is the operators'.
fn require_operator(ctx: &TenantContext) -> Result<()> {
    if ctx.is_operator() {
        Ok(())
    } else {
        Err(AnalyticsError::denied("the national figures are read by platform operators"))
    }
}

/// The committee, if the caller may read its figures: operators any; anyone
/// else their own committee and those below it. Any other is `NotFound`.
async fn in_sight(tx: &Tx, ctx: &TenantContext, id: CommitteeId) -> Result<committee::Model> {
    let found = committee::Entity::find_by_id(id.0).one(&**tx).await?.ok_or(AnalyticsError::NotFound("committee"))?;
    if ctx.is_operator() {
        return Ok(found);
    }
    match ctx.committee_id() {
        Some(me) if path_ids(&found.path).contains(&me.0) => Ok(found),
        _ => Err(AnalyticsError::NotFound("committee")),
    }
}

/// Counters of `committees` for one rollup and some periods, by (committee, period).
async fn read_counts(
    tx: &Tx,
    committees: &[Uuid],
    rollup: Rollup,
    periods: &[Period],
) -> Result<HashMap<(Uuid, String), Counts>> {
    let select = Query::select()
        .columns(["committee_id", "period", "metric", "value"])
        .from("analytics_counters")
        .and_where(Expr::col("committee_id").is_in(committees.iter().copied()))
        .and_where(Expr::col("rollup").eq(rollup as i16))
        .and_where(Expr::col("period").is_in(periods.iter().map(ToString::to_string)))
        .to_owned();
    let mut out: HashMap<(Uuid, String), Counts> = HashMap::new();
    for row in tx.query_all(&select).await? {
        let committee: Uuid = row.try_get("", "committee_id")?;
        let period: String = row.try_get("", "period")?;
        let metric: String = row.try_get("", "metric")?;
        let value: i64 = row.try_get("", "value")?;
        out.entry((committee, period)).or_default().add(&metric, value);
    }
    Ok(out)
}

/// The committees without a parent (the provinces).
async fn roots(tx: &Tx) -> Result<Vec<committee::Model>> {
    Ok(committee::Entity::find().filter(committee::Column::ParentId.is_null()).all(&**tx).await?)
}

/// `committees`' SUBTREE figures for `period`, with the previous period's
/// value of `measure`, ranked by it. Commits `tx`.
async fn ranked(tx: Tx, committees: Vec<committee::Model>, period: Period, measure: &str) -> Result<Vec<BreakdownRow>> {
    let ids: Vec<Uuid> = committees.iter().map(|c| c.id).collect();
    let previous = period.previous();
    let mut counts = read_counts(&tx, &ids, Rollup::Subtree, &[period, previous]).await?;
    tx.commit().await?;
    let mut rows: Vec<BreakdownRow> = committees
        .into_iter()
        .map(|child| {
            let now = counts.remove(&(child.id, period.to_string())).unwrap_or_default();
            let before = counts.remove(&(child.id, previous.to_string())).unwrap_or_default();
            let (value, undefined) = now.measure(measure);
            BreakdownRow {
                rank: 0,
                committee_id: child.id,
                code: child.code,
                name: child.name,
                value,
                previous_value: before.measure(measure).0,
                undefined,
                figures: Figures { committee_id: child.id, period, rollup: Rollup::Subtree, counts: now },
            }
        })
        .collect();
    domain::rank(&mut rows);
    Ok(rows)
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Every metric of a committee for a period.
    pub async fn figures(
        &self,
        ctx: &TenantContext,
        committee: CommitteeId,
        period: Period,
        rollup: Rollup,
    ) -> Result<Figures> {
        require_office(ctx)?;
        let tx = self.db.begin(ctx.scope()).await?;
        in_sight(&tx, ctx, committee).await?;
        let mut counts = read_counts(&tx, &[committee.0], rollup, &[period]).await?;
        tx.commit().await?;
        let counts = counts.remove(&(committee.0, period.to_string())).unwrap_or_default();
        Ok(Figures { committee_id: committee.0, period, rollup, counts })
    }

    /// The direct children's SUBTREE figures, ranked by `measure` (a metric or rate).
    pub async fn breakdown(
        &self,
        ctx: &TenantContext,
        committee: CommitteeId,
        period: Period,
        measure: &str,
    ) -> Result<Vec<BreakdownRow>> {
        require_office(ctx)?;
        domain::check_measure("metric", measure)?;
        let tx = self.db.begin(ctx.scope()).await?;
        in_sight(&tx, ctx, committee).await?;
        let children = committee::Entity::find().filter(committee::Column::ParentId.eq(committee.0)).all(&*tx).await?;
        ranked(tx, children, period, measure).await
    }

    /// The whole platform's figures: the SUBTREE counters of every root
    /// committee (the provinces) summed — 31 lookups, not a scan. Operators only.
    pub async fn national_figures(&self, ctx: &TenantContext, period: Period) -> Result<Figures> {
        require_operator(ctx)?;
        let tx = self.db.begin(ctx.scope()).await?;
        let roots = roots(&tx).await?;
        let ids: Vec<Uuid> = roots.iter().map(|c| c.id).collect();
        let counts = read_counts(&tx, &ids, Rollup::Subtree, &[period]).await?;
        tx.commit().await?;
        let mut total = Counts::default();
        for one in counts.into_values() {
            for (metric, value) in one.0 {
                total.add(&metric, value);
            }
        }
        Ok(Figures { committee_id: Uuid::nil(), period, rollup: Rollup::Subtree, counts: total })
    }

    /// The root committees (the provinces), ranked like a breakdown. Operators only.
    pub async fn national_breakdown(
        &self,
        ctx: &TenantContext,
        period: Period,
        measure: &str,
    ) -> Result<Vec<BreakdownRow>> {
        require_operator(ctx)?;
        domain::check_measure("metric", measure)?;
        let tx = self.db.begin(ctx.scope()).await?;
        let roots = roots(&tx).await?;
        ranked(tx, roots, period, measure).await
    }

    /// Twelve monthly values of a metric or rate, January first.
    pub async fn time_series(
        &self,
        ctx: &TenantContext,
        committee: CommitteeId,
        measure: &str,
        year: i32,
        rollup: Rollup,
    ) -> Result<Vec<(Period, f64, bool)>> {
        require_office(ctx)?;
        domain::check_measure("metric", measure)?;
        if !(1949..=9999).contains(&year) {
            return Err(AnalyticsError::invalid("year", "must be a four-digit year from 1949"));
        }
        let tx = self.db.begin(ctx.scope()).await?;
        in_sight(&tx, ctx, committee).await?;
        let months = Period::months(year);
        let mut counts = read_counts(&tx, &[committee.0], rollup, &months).await?;
        tx.commit().await?;
        Ok(months
            .into_iter()
            .map(|m| {
                let (value, undefined) =
                    counts.remove(&(committee.0, m.to_string())).unwrap_or_default().measure(measure);
                (m, value, undefined)
            })
            .collect())
    }

    /// Applies one event's facts once: records the event id (insert if
    /// absent) and, only when it was new, adds to the counters and moves the
    /// position — all in one transaction. Returns whether it was new.
    pub async fn apply(&self, event_id: Uuid, facts: &[Fact]) -> Result<bool> {
        let tx = self.db.begin(Scope::System).await?;
        let insert = Query::insert()
            .into_table("analytics_applied_events")
            .columns(["consumer", "event_id"])
            .values_panic([CONSUMER.into(), event_id.into()])
            .on_conflict(OnConflict::columns(["consumer", "event_id"]).do_nothing().to_owned())
            .to_owned();
        if tx.execute(&insert).await?.rows_affected() == 0 {
            tx.commit().await?;
            return Ok(false);
        }
        // Paths from the committee cache: no query for a committee seen before.
        let mut paths: HashMap<Uuid, Option<String>> = HashMap::new();
        for fact in facts {
            if !paths.contains_key(&fact.committee) {
                let entry = tx.committee(CommitteeId(fact.committee)).await?;
                paths.insert(fact.committee, entry.map(|c| c.path));
            }
        }
        let mut deltas = Deltas::default();
        for fact in facts {
            match paths.get(&fact.committee).and_then(Option::as_ref) {
                Some(path) => deltas.add(fact, path),
                None => {
                    tracing::warn!(event = %event_id, committee = %fact.committee, "analytics skips a fact about an unknown committee")
                }
            }
        }
        // One statement for every counter the event touches (the keys are
        // distinct, so no row is hit twice).
        if !deltas.0.is_empty() {
            let mut upsert = Query::insert();
            upsert.into_table("analytics_counters").columns([
                "committee_id",
                "rollup",
                "period",
                "metric",
                "value",
                "committee_path",
            ]);
            for ((committee_id, rollup, period, metric), (value, path)) in deltas.0 {
                upsert.values_panic([
                    committee_id.into(),
                    (rollup as i16).into(),
                    period.into(),
                    metric.into(),
                    value.into(),
                    path.into(),
                ]);
            }
            upsert.on_conflict(
                OnConflict::columns(["committee_id", "rollup", "period", "metric"])
                    .value("value", Expr::col(("analytics_counters", "value")).add(Expr::col(("excluded", "value"))))
                    .to_owned(),
            );
            tx.execute(&upsert).await?;
        }
        let position = Query::insert()
            .into_table("analytics_positions")
            .columns(["consumer", "last_event_id", "events_applied", "updated_at"])
            .values_panic([CONSUMER.into(), Some(event_id).into(), 1i64.into(), xieshang_platform::time::now().into()])
            .on_conflict(
                OnConflict::column("consumer")
                    .update_columns(["last_event_id", "updated_at"])
                    .value("events_applied", Expr::col(("analytics_positions", "events_applied")).add(Expr::val(1i64)))
                    .to_owned(),
            )
            .to_owned();
        tx.execute(&position).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The consumer's recorded position.
    pub async fn position(&self) -> Result<Position> {
        let tx = self.db.begin(Scope::System).await?;
        let select = Query::select()
            .columns(["last_event_id", "events_applied"])
            .from("analytics_positions")
            .and_where(Expr::col("consumer").eq(CONSUMER))
            .to_owned();
        let row = tx.query_one(&select).await?;
        tx.commit().await?;
        Ok(match row {
            Some(row) => Position {
                last_event_id: row.try_get("", "last_event_id")?,
                events_applied: row.try_get("", "events_applied")?,
            },
            None => Position::default(),
        })
    }

    /// Every counter row, ordered (for comparisons and repair checks).
    pub async fn counters(&self) -> Result<Vec<Counter>> {
        let tx = self.db.begin(Scope::System).await?;
        let select = Query::select()
            .columns(["committee_id", "rollup", "period", "metric", "value", "committee_path"])
            .from("analytics_counters")
            .to_owned();
        let rows = tx.query_all(&select).await?;
        tx.commit().await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(Counter {
                committee_id: row.try_get("", "committee_id")?,
                rollup: Rollup::from_i16(row.try_get("", "rollup")?)
                    .ok_or_else(|| AnalyticsError::Corrupt("analytics_counters.rollup".into()))?,
                period: row.try_get("", "period")?,
                metric: row.try_get("", "metric")?,
                value: row.try_get("", "value")?,
                committee_path: row.try_get("", "committee_path")?,
            });
        }
        out.sort();
        Ok(out)
    }

    /// Recomputes every counter from the retained event log (the outbox, in
    /// id order) in one transaction: the fresh counters, the applied event
    /// ids and the position replace the old ones at commit, so readers see
    /// either the old figures or the new. Events still to be delivered are
    /// already counted and recorded as applied, so their delivery changes
    /// nothing. On PostgreSQL the bookkeeping table is locked first, so the
    /// consumer waits for the rebuild; an event committed while the log is
    /// read and not seen by it is not recorded as applied, so the consumer
    /// counts it afterwards. Writers of events are never blocked.
    ///
    /// The log is read a page at a time (keyset on the id), so memory holds
    /// the counters and the applied ids, not the events. `progress` hears
    /// after every page and every write batch.
    pub async fn rebuild(
        &self,
        facts_of: impl Fn(&Event) -> Vec<Fact>,
        progress: &(dyn Fn(RebuildProgress) + Sync),
    ) -> Result<RebuildReport> {
        const PAGE: u64 = 20_000;
        let tx = self.db.begin(Scope::System).await?;
        if tx.get_database_backend() == DbBackend::Postgres {
            tx.execute_unprepared("LOCK TABLE analytics_applied_events IN EXCLUSIVE MODE").await?;
        }
        let paths: HashMap<Uuid, String> =
            committee::Entity::find().all(&*tx).await?.into_iter().map(|c| (c.id, c.path)).collect();
        let mut report = RebuildReport::default();
        let mut deltas = Deltas::default();
        let mut applied: Vec<Uuid> = Vec::new();
        let mut after: Option<Uuid> = None;
        loop {
            let mut select = Query::select();
            select.columns(["id", "payload"]).from("outbox").order_by("id", Order::Asc).limit(PAGE);
            if let Some(last) = after {
                select.and_where(Expr::col("id").gt(last));
            }
            let rows = tx.query_all(&select).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.try_get("", "id")?);
            report.events_read += rows.len();
            for row in rows {
                let id: Uuid = row.try_get("", "id")?;
                let payload: Vec<u8> = row.try_get("", "payload")?;
                let event = Event::decode(payload.as_slice()).map_err(|_| AnalyticsError::Corrupt(id.to_string()))?;
                let facts = facts_of(&event);
                if facts.is_empty() {
                    continue;
                }
                let event_id = Uuid::parse_str(&event.id).unwrap_or(id);
                for fact in &facts {
                    if let Some(path) = paths.get(&fact.committee) {
                        deltas.add(fact, path);
                    }
                }
                applied.push(event_id);
            }
            progress(RebuildProgress::Read { events: report.events_read, counted: applied.len() });
        }
        report.events_applied = applied.len();
        report.counters = deltas.0.len();

        tx.execute(&Query::delete().from_table("analytics_counters").to_owned()).await?;
        let rows: Vec<_> = std::mem::take(&mut deltas.0).into_iter().collect();
        let mut written = 0;
        for chunk in rows.chunks(2_000) {
            let mut insert = Query::insert();
            insert.into_table("analytics_counters").columns([
                "committee_id",
                "rollup",
                "period",
                "metric",
                "value",
                "committee_path",
            ]);
            for ((committee_id, rollup, period, metric), (value, path)) in chunk {
                insert.values_panic([
                    (*committee_id).into(),
                    (*rollup as i16).into(),
                    period.clone().into(),
                    (*metric).into(),
                    (*value).into(),
                    path.clone().into(),
                ]);
            }
            tx.execute(&insert).await?;
            written += chunk.len();
            progress(RebuildProgress::Counters { written, of: rows.len() });
        }
        drop(rows);
        tx.execute(
            &Query::delete()
                .from_table("analytics_applied_events")
                .and_where(Expr::col("consumer").eq(CONSUMER))
                .to_owned(),
        )
        .await?;
        let mut recorded = 0;
        for chunk in applied.chunks(5_000) {
            let mut insert = Query::insert();
            insert.into_table("analytics_applied_events").columns(["consumer", "event_id"]);
            for id in chunk {
                insert.values_panic([CONSUMER.into(), (*id).into()]);
            }
            tx.execute(&insert).await?;
            recorded += chunk.len();
            progress(RebuildProgress::Applied { recorded, of: applied.len() });
        }
        let position = Query::insert()
            .into_table("analytics_positions")
            .columns(["consumer", "last_event_id", "events_applied", "updated_at"])
            .values_panic([
                CONSUMER.into(),
                applied.last().copied().into(),
                (applied.len() as i64).into(),
                xieshang_platform::time::now().into(),
            ])
            .on_conflict(
                OnConflict::column("consumer")
                    .update_columns(["last_event_id", "events_applied", "updated_at"])
                    .to_owned(),
            )
            .to_owned();
        tx.execute(&position).await?;
        tx.commit().await?;
        Ok(report)
    }
}

/// Where a rebuild is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RebuildProgress {
    /// Events of the log read so far, and how many of them counted.
    Read { events: usize, counted: usize },
    /// Counter rows written.
    Counters { written: usize, of: usize },
    /// Applied event ids recorded.
    Applied { recorded: usize, of: usize },
}

/// The instant of an event, for its periods; now when it has none.
pub fn occurred(seconds: i64, nanos: i32) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(seconds, Ord::max(nanos, 0) as u32).unwrap_or_else(xieshang_platform::time::now)
}

#[cfg(test)]
mod tests {
    use crate::domain::METRICS;

    /// `analytics_counters.metric` holds 64 characters (migration
    /// `analytics_metric_length`): a longer name fails its upsert on PostgreSQL.
    #[test]
    fn every_metric_name_fits_the_counter_column() {
        for metric in METRICS {
            assert!(metric.len() <= 64, "{metric} is {} characters", metric.len());
        }
    }
}
