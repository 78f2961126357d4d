//! Full-text search over proposals' titles and bodies.
//!
//! The text is segmented and folded in Rust ([`crate::text`]); the database
//! indexes the space-separated words. One [`SearchIndex`] interface, two
//! implementations chosen by the backend:
//! - PostgreSQL: `proposals.search_document` (`tsvector`, config `simple`,
//!   title weight A, body B, GIN index), queried with `plainto_tsquery` and
//!   ranked with `ts_rank`; the column is on the RLS-protected table.
//! - SQLite: the FTS5 table `proposal_search` (committee_id, title, body),
//!   ranked by bm25 with the title weighted 4:1.
//!
//! The index entry is written in the transaction that creates or edits the
//! proposal. Every query names the caller's committee, and the filters and
//! the visibility of ListProposals are applied in the same SQL statement.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, Statement, Value};
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::Tx;
use xieshang_platform::ids::{CommitteeId, UserId};

use super::{Loaded, Page, Store, is_office, own_committee};
use crate::domain::{Category, Proposal, ProposalState};
use crate::entity::{co_signer, proposal, unit};
use crate::error::{ProposalsError, Result};
use crate::text;

/// The longest query, in characters.
pub const QUERY_MAX: usize = 200;

/// [`Store::search_proposals`]' question; `None` (or `false`) means any.
#[derive(Clone, Debug, Default)]
pub struct SearchFilter {
    pub query: String,
    pub state: Option<ProposalState>,
    pub category: Option<Category>,
    pub key: Option<bool>,
    pub unit: Option<UserId>,
    pub proposer: Option<UserId>,
    /// Only proposals whose reply is overdue today.
    pub overdue: bool,
    /// Submitted on or after / on or before these days (China time).
    pub submitted_from: Option<NaiveDate>,
    pub submitted_to: Option<NaiveDate>,
    pub page_size: i32,
    pub page_token: String,
}

/// One result: the proposal, a highlighted passage and the relevance.
#[derive(Clone, Debug)]
pub struct SearchHit {
    pub proposal: Proposal,
    pub snippet: String,
    /// Higher is better; comparable within one answer.
    pub score: f64,
}

/// A SQL statement being written, with its bound values in order.
pub(crate) struct Sql {
    backend: DbBackend,
    pub text: String,
    values: Vec<Value>,
}

impl Sql {
    fn new(backend: DbBackend) -> Self {
        Self { backend, text: String::new(), values: Vec::new() }
    }

    /// Binds a value and returns its placeholder.
    fn bind(&mut self, v: impl Into<Value>) -> String {
        self.values.push(v.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".to_owned(),
        }
    }

    fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn statement(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

/// The conditions on `p` (proposals) besides the text match: the caller's
/// committee, what the caller may see, and the filters.
pub(crate) struct Conditions {
    committee: CommitteeId,
    me: UserId,
    office: bool,
    filter: SearchFilter,
    today: NaiveDate,
}

/// Midnight of `day` in China Standard Time (UTC+8), as UTC.
fn china_midnight(day: NaiveDate) -> DateTime<Utc> {
    (day.and_hms_opt(0, 0, 0).expect("midnight exists") - Duration::hours(8)).and_utc()
}

impl Conditions {
    /// Appends ` AND …` for each condition.
    fn write(&self, sql: &mut Sql) {
        let committee = sql.bind(self.committee.0);
        sql.push(&format!(" AND p.committee_id = {committee}"));
        let me = self.me.0;
        if self.office {
            // Other people's drafts stay private.
            let draft = sql.bind(ProposalState::Draft.as_str());
            let me = sql.bind(me);
            sql.push(&format!(" AND (p.state <> {draft} OR p.proposer_user_id = {me})"));
        } else {
            let (a, b, c) = (sql.bind(me), sql.bind(me), sql.bind(me));
            sql.push(&format!(
                " AND (p.proposer_user_id = {a} \
                 OR EXISTS (SELECT 1 FROM proposal_co_signers c WHERE c.proposal_id = p.id AND c.user_id = {b}) \
                 OR EXISTS (SELECT 1 FROM proposal_units u WHERE u.proposal_id = p.id AND u.unit_user_id = {c}))"
            ));
        }
        let f = &self.filter;
        if let Some(state) = f.state {
            let v = sql.bind(state.as_str());
            sql.push(&format!(" AND p.state = {v}"));
        }
        if let Some(category) = f.category {
            let v = sql.bind(category as i16);
            sql.push(&format!(" AND p.category = {v}"));
        }
        if let Some(key) = f.key {
            let v = sql.bind(key);
            sql.push(&format!(" AND p.key = {v}"));
        }
        if let Some(proposer) = f.proposer {
            let v = sql.bind(proposer.0);
            sql.push(&format!(" AND p.proposer_user_id = {v}"));
        }
        if let Some(unit) = f.unit {
            let v = sql.bind(unit.0);
            sql.push(&format!(
                " AND EXISTS (SELECT 1 FROM proposal_units fu WHERE fu.proposal_id = p.id AND fu.unit_user_id = {v})"
            ));
        }
        if f.overdue {
            let (a, b) = (sql.bind(ProposalState::Assigned.as_str()), sql.bind(ProposalState::Handling.as_str()));
            let today = sql.bind(self.today);
            sql.push(&format!(" AND p.state IN ({a}, {b}) AND p.due_date < {today}"));
        }
        if let Some(from) = f.submitted_from {
            let v = sql.bind(china_midnight(from));
            sql.push(&format!(" AND p.submitted_at >= {v}"));
        }
        if let Some(to) = f.submitted_to {
            let v = sql.bind(china_midnight(to + Duration::days(1)));
            sql.push(&format!(" AND p.submitted_at < {v}"));
        }
    }
}

/// One full-text index of proposals; see the module docs.
#[async_trait]
pub(crate) trait SearchIndex: Send + Sync {
    /// Writes (or rewrites) a proposal's entry, in the caller's transaction.
    async fn put(&self, tx: &Tx, committee: CommitteeId, id: Uuid, title: &str, body: &str) -> Result<()>;

    /// Ids and scores (higher is better) of the proposals matching every
    /// term and the conditions, best first, `limit` from `offset`.
    async fn find(
        &self,
        tx: &Tx,
        terms: &[String],
        conditions: &Conditions,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<(Uuid, f64)>>;
}

/// PostgreSQL: `tsvector` column, GIN index, `ts_rank`.
struct PostgresIndex;

#[async_trait]
impl SearchIndex for PostgresIndex {
    async fn put(&self, tx: &Tx, committee: CommitteeId, id: Uuid, title: &str, body: &str) -> Result<()> {
        tx.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "UPDATE proposals SET search_document = {} WHERE id = $3 AND committee_id = $4",
                pg_document("$1", "$2")
            ),
            [text::document(title).into(), text::document(body).into(), id.into(), committee.0.into()],
        ))
        .await?;
        Ok(())
    }

    async fn find(
        &self,
        tx: &Tx,
        terms: &[String],
        conditions: &Conditions,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<(Uuid, f64)>> {
        let mut sql = Sql::new(DbBackend::Postgres);
        let query = sql.bind(terms.join(" "));
        sql.push(&format!(
            "SELECT p.id AS id, ts_rank(p.search_document, q)::float8 AS score \
             FROM proposals p, plainto_tsquery('simple', {query}) q WHERE p.search_document @@ q"
        ));
        conditions.write(&mut sql);
        sql.push(&format!(" ORDER BY score DESC, p.id LIMIT {limit} OFFSET {offset}"));
        rows(tx, sql).await
    }
}

/// The PostgreSQL document of a proposal from its segmented title and body
/// (SQL expressions): the title weighs A, the body B.
fn pg_document(title: &str, body: &str) -> String {
    format!("setweight(to_tsvector('simple', {title}), 'A') || setweight(to_tsvector('simple', {body}), 'B')")
}

/// SQLite: FTS5 table, bm25.
struct SqliteIndex;

#[async_trait]
impl SearchIndex for SqliteIndex {
    async fn put(&self, tx: &Tx, committee: CommitteeId, id: Uuid, title: &str, body: &str) -> Result<()> {
        let b = DbBackend::Sqlite;
        tx.execute_raw(Statement::from_sql_and_values(
            b,
            "INSERT INTO proposal_search_docs (proposal_id, committee_id) VALUES (?, ?) \
             ON CONFLICT (proposal_id) DO NOTHING",
            [id.into(), committee.0.into()],
        ))
        .await?;
        let row = tx
            .query_one_raw(Statement::from_sql_and_values(
                b,
                "SELECT doc_id FROM proposal_search_docs WHERE proposal_id = ?",
                [id.into()],
            ))
            .await?
            .ok_or(ProposalsError::NotFound("proposal"))?;
        let doc: i64 = row.try_get("", "doc_id")?;
        tx.execute_raw(Statement::from_sql_and_values(b, "DELETE FROM proposal_search WHERE rowid = ?", [doc.into()]))
            .await?;
        tx.execute_raw(Statement::from_sql_and_values(
            b,
            "INSERT INTO proposal_search (rowid, committee_id, title, body) VALUES (?, ?, ?, ?)",
            [doc.into(), committee.0.into(), text::document(title).into(), text::document(body).into()],
        ))
        .await?;
        Ok(())
    }

    async fn find(
        &self,
        tx: &Tx,
        terms: &[String],
        conditions: &Conditions,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<(Uuid, f64)>> {
        // Each term a quoted phrase; FTS5 requires them all.
        let matching: Vec<String> = terms.iter().map(|t| format!("\"{t}\"")).collect();
        let mut sql = Sql::new(DbBackend::Sqlite);
        let query = sql.bind(matching.join(" "));
        let committee = sql.bind(conditions.committee.0);
        // The full-text match runs first (materialized), then the joins by
        // key (CROSS JOIN keeps SQLite from looping over proposals instead).
        sql.push(&format!(
            "WITH hits AS MATERIALIZED (\
               SELECT rowid AS doc, -bm25(proposal_search, 0.0, 4.0, 1.0) AS score FROM proposal_search \
               WHERE proposal_search MATCH {query} AND committee_id = {committee}) \
             SELECT p.id AS id, h.score AS score \
             FROM hits h \
             CROSS JOIN proposal_search_docs d ON d.doc_id = h.doc \
             CROSS JOIN proposals p ON p.id = d.proposal_id \
             WHERE 1 = 1"
        ));
        conditions.write(&mut sql);
        sql.push(&format!(" ORDER BY h.score DESC, p.id LIMIT {limit} OFFSET {offset}"));
        rows(tx, sql).await
    }
}

async fn rows(tx: &Tx, sql: Sql) -> Result<Vec<(Uuid, f64)>> {
    let found = tx.query_all_raw(sql.statement()).await?;
    found.into_iter().map(|r| Ok((r.try_get::<Uuid>("", "id")?, r.try_get::<f64>("", "score")?))).collect()
}

/// The index of the transaction's backend.
pub(crate) fn index_of(tx: &Tx) -> &'static dyn SearchIndex {
    match tx.get_database_backend() {
        DbBackend::Postgres => &PostgresIndex,
        _ => &SqliteIndex,
    }
}

/// Writes a proposal's index entry (in the caller's transaction).
pub(crate) async fn index_proposal(tx: &Tx, committee: CommitteeId, id: Uuid, title: &str, body: &str) -> Result<()> {
    index_of(tx).put(tx, committee, id, title, body).await
}

/// Proposals by id, with co-signers and units, in the order of `ids`.
async fn hydrate(tx: &Tx, ids: &[Uuid]) -> Result<Vec<Loaded>> {
    let mut rows: HashMap<Uuid, proposal::Model> = proposal::Entity::find()
        .filter(proposal::Column::Id.is_in(ids.to_vec()))
        .all(&**tx)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let mut co_signers: HashMap<Uuid, Vec<co_signer::Model>> = HashMap::new();
    for c in co_signer::Entity::find()
        .filter(co_signer::Column::ProposalId.is_in(ids.to_vec()))
        .order_by_asc(co_signer::Column::UserId)
        .all(&**tx)
        .await?
    {
        co_signers.entry(c.proposal_id).or_default().push(c);
    }
    let mut units: HashMap<Uuid, Vec<unit::Model>> = HashMap::new();
    for u in unit::Entity::find()
        .filter(unit::Column::ProposalId.is_in(ids.to_vec()))
        .order_by_asc(unit::Column::Role)
        .order_by_asc(unit::Column::UnitUserId)
        .all(&**tx)
        .await?
    {
        units.entry(u.proposal_id).or_default().push(u);
    }
    Ok(ids
        .iter()
        .filter_map(|id| {
            let row = rows.remove(id)?;
            Some(Loaded {
                row,
                co_signers: co_signers.remove(id).unwrap_or_default(),
                units: units.remove(id).unwrap_or_default(),
            })
        })
        .collect())
}

impl Store {
    /// Full-text search in the caller's committee, over what the caller may
    /// see (as [`Store::list_proposals`]), best match first, paged.
    pub async fn search_proposals(&self, ctx: &TenantContext, filter: SearchFilter) -> Result<Page<SearchHit>> {
        let committee = own_committee(ctx)?;
        let query = filter.query.trim();
        if query.is_empty() {
            return Err(ProposalsError::invalid("query", "is required"));
        }
        if query.chars().count() > QUERY_MAX {
            return Err(ProposalsError::invalid("query", format!("must be at most {QUERY_MAX} characters")));
        }
        let terms = text::query_terms(query);
        if terms.is_empty() {
            return Err(ProposalsError::invalid("query", "has no words to search for"));
        }
        if let (Some(from), Some(to)) = (filter.submitted_from, filter.submitted_to) {
            if to < from {
                return Err(ProposalsError::invalid("submitted_to", "is before submitted_from"));
            }
        }
        let size = xieshang_platform::page::size(filter.page_size, 20, 100)?;
        let offset = match xieshang_platform::page::decode(&filter.page_token)? {
            Some(key) => key
                .strip_prefix("search:")
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| ProposalsError::invalid("page_token", "is not a token this server issued"))?,
            None => 0,
        };
        let conditions =
            Conditions { committee, me: ctx.user_id, office: is_office(ctx), filter, today: crate::domain::today() };
        let tx = self.begin(ctx).await?;
        let mut found = index_of(&tx).find(&tx, &terms, &conditions, offset, size + 1).await?;
        let more = found.len() as u64 > size;
        found.truncate(size as usize);
        let ids: Vec<Uuid> = found.iter().map(|(id, _)| *id).collect();
        let loaded = hydrate(&tx, &ids).await?;
        tx.commit().await?;
        let scores: HashMap<Uuid, f64> = found.into_iter().collect();
        let items = loaded
            .into_iter()
            // A second wall behind the SQL: only what the caller may see.
            .filter(|l| l.visible_to(ctx))
            .map(|l| {
                let score = scores.get(&l.row.id).copied().unwrap_or_default();
                let snippet = text::snippet(&l.row.title, &l.row.body, &terms);
                SearchHit { proposal: l.into_domain(), snippet, score }
            })
            .collect();
        let next_page_token =
            if more { xieshang_platform::page::encode(&format!("search:{}", offset + size)) } else { String::new() };
        Ok(Page { items, next_page_token })
    }
}

/// A generated proposal for [`Store::bench_import`].
#[cfg(feature = "bench-support")]
#[derive(Clone, Debug)]
pub struct BenchProposal {
    pub title: String,
    pub body: String,
    pub category: Category,
    pub state: ProposalState,
    pub submitted_at: DateTime<Utc>,
}

#[cfg(feature = "bench-support")]
impl Store {
    /// Benchmark only (feature `bench-support`, never in the server): writes
    /// generated proposals of the caller (a member) straight into the tables
    /// and the search index, in one transaction, without audit or events.
    pub async fn bench_import(&self, ctx: &TenantContext, items: Vec<BenchProposal>) -> Result<()> {
        use sea_orm::ActiveValue::Set;
        let committee = own_committee(ctx)?;
        let tx = self.begin(ctx).await?;
        let mut rows = Vec::with_capacity(items.len());
        let mut texts = Vec::with_capacity(items.len());
        for item in items {
            let id = Uuid::now_v7();
            let at = item.submitted_at;
            texts.push((id, item.title.clone(), item.body.clone()));
            let mut row = proposal::ActiveModel::from(crate::entity::NewRow {
                id,
                committee_id: committee.0,
                kind: 1,
                title: item.title,
                body: item.body,
                category: item.category as i16,
                proposer_user_id: ctx.user_id.0,
                sponsor: String::new(),
                at,
            });
            row.state = Set(item.state.as_str().to_owned());
            row.submitted_at = Set(Some(at));
            rows.push(row);
        }
        for chunk in rows.chunks(200) {
            proposal::Entity::insert_many(chunk.to_vec()).exec_without_returning(&*tx).await?;
        }
        if tx.get_database_backend() == DbBackend::Postgres {
            // One statement per 500 documents: an UPDATE per row made loading
            // 100,000 proposals take half an hour.
            for chunk in texts.chunks(500) {
                let mut values = Vec::with_capacity(chunk.len() * 3 + 1);
                let mut rows = Vec::with_capacity(chunk.len());
                values.push(committee.0.into());
                for (id, title, body) in chunk {
                    let n = values.len();
                    rows.push(format!("(${}::uuid, ${}, ${})", n + 1, n + 2, n + 3));
                    values.extend([(*id).into(), text::document(title).into(), text::document(body).into()]);
                }
                let sql = format!(
                    "UPDATE proposals AS p SET search_document = {} FROM (VALUES {}) AS v(id, t, b) \
                     WHERE p.id = v.id AND p.committee_id = $1",
                    pg_document("v.t", "v.b"),
                    rows.join(", ")
                );
                tx.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values)).await?;
            }
        } else {
            for (id, title, body) in texts {
                index_proposal(&tx, committee, id, &title, &body).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
