//! The repository: counters written by the consumer and the rebuild, and read
//! by the RPCs. Every read takes the caller's [`TenantContext`] and runs in
//! the caller's scope (PostgreSQL row-level security lets a committee read
//! its own and its descendants' counters only).
//!
//! Writes run as `Scope::System`: the consumer and the rebuild are background
//! workers, and one event updates several committees' rows (its committee's
//! OWN counters and the SUBTREE counters of the committee and each ancestor),
//! which no single committee scope may write.
//!
//! Term (届) counters: an event counts in the term of each committee on its
//! path that contains the event's day — the committee's own term for its OWN
//! and SUBTREE rows ("T10"), each ancestor's own term for the ancestor's
//! SUBTREE row — and, for a breakdown over a parent's term, in the parent's
//! term under each child's SUBTREE row ("P10"). Member counters live in
//! `analytics_member_counters`, in the member's own committee only.

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

use crate::domain::{
    self, BreakdownRow, Counts, EventFacts, Fact, Figures, MemberFact, MemberPlace, OpenedTerm, Period, Rollup, Terms,
    local_date, parent_term_key, path_ids,
};
use crate::entity::{committee, member};
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
    /// Member counter rows written.
    pub member_counters: usize,
    /// Terms recorded (from the log's `TermOpened`).
    pub terms: usize,
}

/// One member counter row, as stored.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MemberCounter {
    pub committee_id: Uuid,
    pub period: String,
    pub metric: String,
    pub member_id: Uuid,
    pub value: i64,
}

/// One recorded term, as stored.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TermRow {
    pub committee_id: Uuid,
    pub number: i32,
    pub term_id: Uuid,
    pub start_date: chrono::NaiveDate,
}

/// One page of a member ranking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRanking {
    pub committee_id: Uuid,
    pub places: Vec<MemberPlace>,
    /// Members ranked in all (every page).
    pub total: usize,
    pub next_page_token: String,
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
    /// counters of the committee and each ancestor, for each period — the
    /// year, quarter and month, and each committee's own term on that day;
    /// and to each child's SUBTREE counter keyed by its parent's term ("P…").
    /// Facts about committees without a path (unknown) are skipped.
    fn add(&mut self, fact: &Fact, path: &str, terms: &Terms) {
        let ids = path_ids(path);
        if ids.last() != Some(&fact.committee) {
            return;
        }
        let day = local_date(fact.at);
        let mut keys: Vec<String> = Period::containing(fact.at).iter().map(ToString::to_string).collect();
        let calendar = keys.len();
        let mut prefix = String::from("/");
        for (i, id) in ids.iter().enumerate() {
            prefix.push_str(&id.to_string());
            prefix.push('/');
            keys.truncate(calendar);
            keys.extend(terms.at(*id, day).map(|n| Period::Term(n).to_string()));
            if i > 0 {
                keys.extend(terms.at(ids[i - 1], day).map(parent_term_key));
            }
            for key in &keys {
                let key = (*id, Rollup::Subtree, key.clone(), fact.metric);
                self.0.entry(key).or_insert_with(|| (0, prefix.clone())).0 += fact.value;
            }
        }
        keys.truncate(calendar);
        keys.extend(terms.at(fact.committee, day).map(|n| Period::Term(n).to_string()));
        for key in keys {
            let key = (fact.committee, Rollup::Own, key, fact.metric);
            self.0.entry(key).or_insert_with(|| (0, path.to_owned())).0 += fact.value;
        }
    }
}

/// Member counter increments keyed by (committee, period, metric, member).
#[derive(Default)]
struct MemberDeltas(BTreeMap<(Uuid, String, &'static str, Uuid), i64>);

impl MemberDeltas {
    /// Adds one member fact in its committee only: the year, quarter, month
    /// and the committee's term on that day.
    fn add(&mut self, fact: &MemberFact, terms: &Terms) {
        let day = local_date(fact.at);
        let periods = Period::containing(fact.at).into_iter().chain(terms.at(fact.committee, day).map(Period::Term));
        for period in periods {
            *self.0.entry((fact.committee, period.to_string(), fact.metric, fact.member)).or_default() += fact.value;
        }
    }

    /// One multi-row upsert (PostgreSQL and SQLite alike); None when empty.
    fn statement(
        rows: &[((Uuid, String, &'static str, Uuid), i64)],
        upsert: bool,
    ) -> Option<sea_orm::sea_query::InsertStatement> {
        if rows.is_empty() {
            return None;
        }
        let mut insert = Query::insert();
        insert.into_table("analytics_member_counters").columns([
            "committee_id",
            "period",
            "metric",
            "member_id",
            "value",
        ]);
        for ((committee_id, period, metric, member_id), value) in rows {
            insert.values_panic([
                (*committee_id).into(),
                period.clone().into(),
                (*metric).into(),
                (*member_id).into(),
                (*value).into(),
            ]);
        }
        if upsert {
            insert.on_conflict(
                OnConflict::columns(["committee_id", "period", "metric", "member_id"])
                    .value(
                        "value",
                        Expr::col(("analytics_member_counters", "value")).add(Expr::col(("excluded", "value"))),
                    )
                    .to_owned(),
            );
        }
        Some(insert)
    }
}

/// The recorded terms of `committees`.
async fn load_terms(tx: &Tx, committees: &[Uuid]) -> Result<Terms> {
    let mut terms = Terms::default();
    if committees.is_empty() {
        return Ok(terms);
    }
    let select = Query::select()
        .columns(["committee_id", "number", "start_date"])
        .from("analytics_terms")
        .and_where(Expr::col("committee_id").is_in(committees.iter().copied()))
        .to_owned();
    for row in tx.query_all(&select).await? {
        let committee: Uuid = row.try_get("", "committee_id")?;
        let number: i32 = row.try_get("", "number")?;
        let start: chrono::NaiveDate = row.try_get("", "start_date")?;
        let number = u32::try_from(number).map_err(|_| AnalyticsError::Corrupt("analytics_terms.number".into()))?;
        terms.open(committee, number, start);
    }
    Ok(terms)
}

/// A term period must be one the committee has opened; other periods pass.
async fn check_term(tx: &Tx, committee: Uuid, period: Period) -> Result<Terms> {
    let terms = load_terms(tx, &[committee]).await?;
    if let Period::Term(n) = period
        && terms.span(committee, n).is_none()
    {
        return Err(AnalyticsError::NotFound("term"));
    }
    Ok(terms)
}

/// National figures sum the provinces, whose terms differ: no term there.
fn no_national_term(period: Period) -> Result<()> {
    match period {
        Period::Term(_) => Err(AnalyticsError::invalid(
            "period",
            "a term (届) belongs to one committee; name the committee to read its term figures",
        )),
        _ => Ok(()),
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

/// Counters of `committees` for one rollup and some period keys, by (committee, key).
async fn read_counts(
    tx: &Tx,
    committees: &[Uuid],
    rollup: Rollup,
    keys: &[String],
) -> Result<HashMap<(Uuid, String), Counts>> {
    let select = Query::select()
        .columns(["committee_id", "period", "metric", "value"])
        .from("analytics_counters")
        .and_where(Expr::col("committee_id").is_in(committees.iter().copied()))
        .and_where(Expr::col("rollup").eq(rollup as i16))
        .and_where(Expr::col("period").is_in(keys.iter().cloned()))
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

/// Values of `measure` for some periods of one committee, in order. Commits `tx`.
async fn series(
    tx: Tx,
    committee: Uuid,
    measure: &str,
    periods: Vec<Period>,
    rollup: Rollup,
) -> Result<Vec<(Period, f64, bool)>> {
    let keys: Vec<String> = periods.iter().map(ToString::to_string).collect();
    let mut counts = read_counts(&tx, &[committee], rollup, &keys).await?;
    tx.commit().await?;
    Ok(periods
        .into_iter()
        .map(|p| {
            let (value, undefined) = counts.remove(&(committee, p.to_string())).unwrap_or_default().measure(measure);
            (p, value, undefined)
        })
        .collect())
}

/// Inserts terms with their committees' paths; a term already recorded is left as it is.
fn term_insert(terms: &[(OpenedTerm, String)]) -> sea_orm::sea_query::InsertStatement {
    let mut insert = Query::insert();
    insert.into_table("analytics_terms").columns(["committee_id", "number", "term_id", "start_date", "committee_path"]);
    for (term, path) in terms {
        insert.values_panic([
            term.committee.into(),
            (term.number as i32).into(),
            term.term_id.into(),
            term.start.into(),
            path.clone().into(),
        ]);
    }
    insert.on_conflict(OnConflict::columns(["committee_id", "number"]).do_nothing().to_owned());
    insert
}

/// The committees without a parent (the provinces).
async fn roots(tx: &Tx) -> Result<Vec<committee::Model>> {
    Ok(committee::Entity::find().filter(committee::Column::ParentId.is_null()).all(&**tx).await?)
}

/// `committees`' SUBTREE figures for `period`, with the previous period's
/// value of `measure`, ranked by it. A term is the parent's: each child's
/// counters over its parent's term ("P…" keys). Commits `tx`.
async fn ranked(tx: Tx, committees: Vec<committee::Model>, period: Period, measure: &str) -> Result<Vec<BreakdownRow>> {
    let ids: Vec<Uuid> = committees.iter().map(|c| c.id).collect();
    let previous = period.previous();
    let (now_key, before_key) = (period.child_key(), previous.child_key());
    let mut counts = read_counts(&tx, &ids, Rollup::Subtree, &[now_key.clone(), before_key.clone()]).await?;
    tx.commit().await?;
    let mut rows: Vec<BreakdownRow> = committees
        .into_iter()
        .map(|child| {
            let now = counts.remove(&(child.id, now_key.clone())).unwrap_or_default();
            let before = counts.remove(&(child.id, before_key.clone())).unwrap_or_default();
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
        check_term(&tx, committee.0, period).await?;
        let mut counts = read_counts(&tx, &[committee.0], rollup, &[period.to_string()]).await?;
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
        check_term(&tx, committee.0, period).await?;
        let children = committee::Entity::find().filter(committee::Column::ParentId.eq(committee.0)).all(&*tx).await?;
        ranked(tx, children, period, measure).await
    }

    /// The whole platform's figures: the SUBTREE counters of every root
    /// committee (the provinces) summed — 31 lookups, not a scan. Operators only.
    pub async fn national_figures(&self, ctx: &TenantContext, period: Period) -> Result<Figures> {
        require_operator(ctx)?;
        no_national_term(period)?;
        let tx = self.db.begin(ctx.scope()).await?;
        let roots = roots(&tx).await?;
        let ids: Vec<Uuid> = roots.iter().map(|c| c.id).collect();
        let counts = read_counts(&tx, &ids, Rollup::Subtree, &[period.to_string()]).await?;
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
        no_national_term(period)?;
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
        series(tx, committee.0, measure, Period::months(year), rollup).await
    }

    /// One value per calendar year a term of the committee spans (through
    /// the current year for the current term). The years at the term's edges
    /// also hold the days of the neighbouring terms.
    pub async fn term_series(
        &self,
        ctx: &TenantContext,
        committee: CommitteeId,
        measure: &str,
        term: u32,
        rollup: Rollup,
    ) -> Result<Vec<(Period, f64, bool)>> {
        require_office(ctx)?;
        domain::check_measure("metric", measure)?;
        let tx = self.db.begin(ctx.scope()).await?;
        in_sight(&tx, ctx, committee).await?;
        let terms = check_term(&tx, committee.0, Period::Term(term)).await?;
        let today = local_date(xieshang_platform::time::now());
        let years = terms.years(committee.0, term, today).ok_or(AnalyticsError::NotFound("term"))?;
        series(tx, committee.0, measure, years.into_iter().map(Period::Year).collect(), rollup).await
    }

    /// A member ranking of the caller's own committee by a member metric,
    /// a page at a time. Member figures never leave their committee: only
    /// its office (STAFF or COMMITTEE_ADMIN) reads them. Another committee —
    /// a child, a parent, a sibling — is NOT_FOUND; operators and members
    /// are PERMISSION_DENIED (members have their group's ranking in
    /// membership's GetMyRecord). Serving members without a count are
    /// listed with 0, so the office sees who has none.
    pub async fn rank_members(
        &self,
        ctx: &TenantContext,
        committee: Option<CommitteeId>,
        period: Period,
        metric: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<MemberRanking> {
        if ctx.is_operator() {
            return Err(AnalyticsError::denied("member rankings are read by the committee's own office only"));
        }
        require_office(ctx)?;
        let own = ctx.committee_id().ok_or_else(|| AnalyticsError::denied("member rankings need a committee"))?;
        domain::check_member_metric("metric", metric)?;
        let size = xieshang_platform::page::size(page_size, 50, 500)? as usize;
        let after = xieshang_platform::page::decode(page_token)?;
        if committee.is_some_and(|c| c != own) {
            return Err(AnalyticsError::NotFound("committee"));
        }
        let tx = self.db.begin(ctx.scope()).await?;
        check_term(&tx, own.0, period).await?;
        let select = Query::select()
            .columns(["member_id", "value"])
            .from("analytics_member_counters")
            .and_where(Expr::col("committee_id").eq(own.0))
            .and_where(Expr::col("period").eq(period.to_string()))
            .and_where(Expr::col("metric").eq(metric))
            .to_owned();
        let mut values: HashMap<Uuid, i64> = HashMap::new();
        for row in tx.query_all(&select).await? {
            values.insert(row.try_get("", "member_id")?, row.try_get("", "value")?);
        }
        // Names from membership's roster (same database, the caller's scope, read only).
        let roster = member::Entity::find().filter(member::Column::CommitteeId.eq(own.0)).all(&*tx).await?;
        tx.commit().await?;
        let mut rows: Vec<(Uuid, String, i64)> = Vec::new();
        for m in roster {
            match values.remove(&m.id) {
                Some(value) => rows.push((m.id, m.name, value)),
                None if m.status == member::SERVING => rows.push((m.id, m.name, 0)),
                None => {}
            }
        }
        // Counted members no longer on the roster keep their place, without a name.
        rows.extend(values.into_iter().map(|(id, value)| (id, String::new(), value)));
        let ranked = domain::rank_members(rows);
        let total = ranked.len();
        let start = match &after {
            None => 0,
            Some(key) => match ranked.iter().position(|p| p.after(key) == Some(true)) {
                Some(i) => i,
                None if ranked.first().is_some_and(|p| p.after(key).is_none()) => {
                    return Err(AnalyticsError::invalid("page_token", "is not a token this server issued"));
                }
                None => total,
            },
        };
        let places: Vec<MemberPlace> = ranked.into_iter().skip(start).take(size).collect();
        let next_page_token = match places.last() {
            Some(last) if start + places.len() < total => xieshang_platform::page::encode(&last.key()),
            _ => String::new(),
        };
        Ok(MemberRanking { committee_id: own.0, places, total, next_page_token })
    }

    /// Records a term (届) of a committee from `TermOpened`, once (the
    /// committee and number are the key, so a second delivery changes
    /// nothing). A term of an unknown committee is skipped.
    pub async fn open_term(&self, term: &OpenedTerm) -> Result<()> {
        let tx = self.db.begin(Scope::System).await?;
        let Some(entry) = tx.committee(CommitteeId(term.committee)).await? else {
            tracing::warn!(committee = %term.committee, "analytics skips a term of an unknown committee");
            tx.commit().await?;
            return Ok(());
        };
        tx.execute(&term_insert(&[(term.clone(), entry.path)])).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies one event's facts once: records the event id (insert if
    /// absent) and, only when it was new, adds to the counters and moves the
    /// position — all in one transaction. Returns whether it was new.
    pub async fn apply(&self, event_id: Uuid, event: &EventFacts) -> Result<bool> {
        let facts: &[Fact] = &event.counts;
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
        for committee in facts.iter().map(|f| f.committee).chain(event.members.iter().map(|f| f.committee)) {
            if !paths.contains_key(&committee) {
                let entry = tx.committee(CommitteeId(committee)).await?;
                paths.insert(committee, entry.map(|c| c.path));
            }
        }
        // The terms of every committee on the paths: one query.
        let mut on_paths: Vec<Uuid> = paths.values().flatten().flat_map(|p| path_ids(p)).collect();
        on_paths.sort();
        on_paths.dedup();
        let terms = load_terms(&tx, &on_paths).await?;
        let mut deltas = Deltas::default();
        let mut members = MemberDeltas::default();
        for fact in &event.members {
            if paths.get(&fact.committee).is_some_and(Option::is_some) {
                members.add(fact, &terms);
            }
        }
        for fact in facts {
            match paths.get(&fact.committee).and_then(Option::as_ref) {
                Some(path) => deltas.add(fact, path, &terms),
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
        let rows: Vec<_> = members.0.into_iter().collect();
        if let Some(upsert) = MemberDeltas::statement(&rows, true) {
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

    /// Every row of `table` (its `columns`) as `T`, ordered — for comparisons
    /// and repair checks, never on a request path.
    async fn all_rows<T: Ord>(
        &self,
        table: &'static str,
        columns: &[&'static str],
        row_to: impl Fn(&sea_orm::QueryResult) -> Result<T>,
    ) -> Result<Vec<T>> {
        let tx = self.db.begin(Scope::System).await?;
        let select = Query::select().columns(columns.iter().copied()).from(table).to_owned();
        let rows = tx.query_all(&select).await?;
        tx.commit().await?;
        let mut out = rows.iter().map(row_to).collect::<Result<Vec<T>>>()?;
        out.sort();
        Ok(out)
    }

    /// Every counter row, ordered (for comparisons and repair checks).
    pub async fn counters(&self) -> Result<Vec<Counter>> {
        let columns = ["committee_id", "rollup", "period", "metric", "value", "committee_path"];
        self.all_rows("analytics_counters", &columns, |row| {
            Ok(Counter {
                committee_id: row.try_get("", "committee_id")?,
                rollup: Rollup::from_i16(row.try_get("", "rollup")?)
                    .ok_or_else(|| AnalyticsError::Corrupt("analytics_counters.rollup".into()))?,
                period: row.try_get("", "period")?,
                metric: row.try_get("", "metric")?,
                value: row.try_get("", "value")?,
                committee_path: row.try_get("", "committee_path")?,
            })
        })
        .await
    }

    /// Every member counter row, ordered (for comparisons and repair checks).
    pub async fn member_counters(&self) -> Result<Vec<MemberCounter>> {
        let columns = ["committee_id", "period", "metric", "member_id", "value"];
        self.all_rows("analytics_member_counters", &columns, |row| {
            Ok(MemberCounter {
                committee_id: row.try_get("", "committee_id")?,
                period: row.try_get("", "period")?,
                metric: row.try_get("", "metric")?,
                member_id: row.try_get("", "member_id")?,
                value: row.try_get("", "value")?,
            })
        })
        .await
    }

    /// Every recorded term, ordered.
    pub async fn terms(&self) -> Result<Vec<TermRow>> {
        let columns = ["committee_id", "number", "term_id", "start_date"];
        self.all_rows("analytics_terms", &columns, |row| {
            Ok(TermRow {
                committee_id: row.try_get("", "committee_id")?,
                number: row.try_get("", "number")?,
                term_id: row.try_get("", "term_id")?,
                start_date: row.try_get("", "start_date")?,
            })
        })
        .await
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
    ///
    /// Terms are replayed from the log's `TermOpened` in log order, as the
    /// consumer met them, so each event falls in the same term as it did
    /// when applied; the recorded terms and the member counters are
    /// replaced too.
    pub async fn rebuild(
        &self,
        facts_of: impl Fn(&Event) -> EventFacts,
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
        let mut members = MemberDeltas::default();
        let mut terms = Terms::default();
        let mut opened: Vec<(OpenedTerm, String)> = Vec::new();
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
                if let Some(term) = &facts.term
                    && let Some(path) = paths.get(&term.committee)
                {
                    // As `open_term`: the first record of a number stands.
                    if terms.span(term.committee, term.number).is_none() {
                        terms.open(term.committee, term.number, term.start);
                        opened.push((term.clone(), path.clone()));
                    }
                }
                if !facts.counts_anything() {
                    continue;
                }
                let event_id = Uuid::parse_str(&event.id).unwrap_or(id);
                for fact in &facts.counts {
                    if let Some(path) = paths.get(&fact.committee) {
                        deltas.add(fact, path, &terms);
                    }
                }
                for fact in &facts.members {
                    if paths.contains_key(&fact.committee) {
                        members.add(fact, &terms);
                    }
                }
                applied.push(event_id);
            }
            progress(RebuildProgress::Read { events: report.events_read, counted: applied.len() });
        }
        report.events_applied = applied.len();
        report.counters = deltas.0.len();
        report.member_counters = members.0.len();
        report.terms = opened.len();

        tx.execute(&Query::delete().from_table("analytics_terms").to_owned()).await?;
        for chunk in opened.chunks(1_000) {
            tx.execute(&term_insert(chunk)).await?;
        }
        tx.execute(&Query::delete().from_table("analytics_member_counters").to_owned()).await?;
        let member_rows: Vec<_> = std::mem::take(&mut members.0).into_iter().collect();
        for chunk in member_rows.chunks(2_000) {
            if let Some(insert) = MemberDeltas::statement(chunk, false) {
                tx.execute(&insert).await?;
            }
        }
        drop(member_rows);

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
    use chrono::{NaiveDate, TimeZone, Utc};
    use uuid::Uuid;

    use super::{Deltas, MemberDeltas};
    use crate::domain::{Fact, METRICS, MemberFact, Rollup, Terms};

    /// 河北省 / 邢台市 / 宁晋县 with their terms, and a path for 宁晋县.
    fn tree() -> ([Uuid; 3], String, Terms) {
        let ids = [Uuid::from_u128(0x130000), Uuid::from_u128(0x130500), Uuid::from_u128(0x130528)];
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let mut terms = Terms::default();
        terms.open(ids[0], 12, day(2018, 1, 24));
        terms.open(ids[0], 13, day(2023, 1, 12));
        terms.open(ids[1], 14, day(2021, 12, 27));
        terms.open(ids[2], 10, day(2021, 12, 15));
        (ids, format!("/{}/{}/{}/", ids[0], ids[1], ids[2]), terms)
    }

    #[test]
    fn an_event_counts_in_each_committees_own_term_and_its_parents() {
        let (ids, path, terms) = tree();
        let [hebei, xingtai, ningjin] = ids;
        // 2021-12-20 in Beijing: 宁晋's 10th term, before 邢台's 14th (no term of 邢台 recorded), 河北's 12th.
        let at = Utc.with_ymd_and_hms(2021, 12, 20, 2, 0, 0).unwrap();
        let mut deltas = Deltas::default();
        deltas.add(&Fact { committee: ningjin, metric: "proposals_submitted", at, value: 1 }, &path, &terms);
        let mut keys: Vec<(Uuid, Rollup, String)> = deltas.0.keys().map(|(c, r, p, _)| (*c, *r, p.clone())).collect();
        keys.retain(|(_, _, p)| p.starts_with(['T', 'P']));
        keys.sort();
        let mut expected = vec![
            (hebei, Rollup::Subtree, "T12".to_owned()),
            (xingtai, Rollup::Subtree, "P12".to_owned()),
            (ningjin, Rollup::Own, "T10".to_owned()),
            (ningjin, Rollup::Subtree, "T10".to_owned()),
        ];
        expected.sort();
        assert_eq!(keys, expected);
        // Every term row is one of the 7 rows beyond year, quarter and month (3 × 4).
        assert_eq!(deltas.0.len(), 12 + 4);

        // 2023-06-01: all three have a term; 宁晋 also counts for its parent's 14th.
        let at = Utc.with_ymd_and_hms(2023, 6, 1, 2, 0, 0).unwrap();
        let mut deltas = Deltas::default();
        deltas.add(&Fact { committee: ningjin, metric: "proposals_submitted", at, value: 2 }, &path, &terms);
        let terms_rows: Vec<(Uuid, Rollup, String, i64)> = deltas
            .0
            .iter()
            .filter(|((_, _, p, _), _)| p.starts_with(['T', 'P']))
            .map(|((c, r, p, _), (v, _))| (*c, *r, p.clone(), *v))
            .collect();
        assert!(terms_rows.contains(&(hebei, Rollup::Subtree, "T13".into(), 2)));
        assert!(terms_rows.contains(&(xingtai, Rollup::Subtree, "T14".into(), 2)));
        assert!(terms_rows.contains(&(xingtai, Rollup::Subtree, "P13".into(), 2)));
        assert!(terms_rows.contains(&(ningjin, Rollup::Subtree, "P14".into(), 2)));
        assert_eq!(terms_rows.len(), 6);
    }

    #[test]
    fn member_facts_stay_in_their_committee() {
        let (ids, _, terms) = tree();
        let member = Uuid::from_u128(7);
        let at = Utc.with_ymd_and_hms(2023, 6, 1, 2, 0, 0).unwrap();
        let mut deltas = MemberDeltas::default();
        deltas.add(&MemberFact { committee: ids[2], member, metric: "performance_points", at, value: 5 }, &terms);
        let keys: Vec<(Uuid, &str, i64)> = deltas.0.iter().map(|((c, p, _, _), v)| (*c, p.as_str(), *v)).collect();
        assert_eq!(keys, vec![(ids[2], "2023", 5), (ids[2], "2023-06", 5), (ids[2], "2023-Q2", 5), (ids[2], "T10", 5)]);
    }

    /// `analytics_counters.metric` holds 64 characters (migration
    /// `analytics_metric_length`): a longer name fails its upsert on PostgreSQL.
    #[test]
    fn every_metric_name_fits_the_counter_column() {
        for metric in METRICS {
            assert!(metric.len() <= 64, "{metric} is {} characters", metric.len());
        }
    }
}
