//! Terms (届) and plenary sessions (次会议): proposals and reports are
//! numbered within them, so their order is strict.

use chrono::NaiveDate;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::Tx;
use xieshang_platform::ids::CommitteeId;
use xieshang_proto::common::v1::Role;
use xieshang_proto::events::v1 as events;
use xieshang_proto::events::v1::event::Payload;

use super::{Store, audit, origin};
use crate::domain::{PlenarySession, Term};
use crate::entity::{committee, plenary_session, term};
use crate::error::{Result, TenantsError};

impl Store {
    /// Opens a new term; the previous one ends the day the new one starts.
    pub async fn create_term(
        &self,
        ctx: &TenantContext,
        committee_id: CommitteeId,
        number: i32,
        start_date: NaiveDate,
    ) -> Result<Term> {
        own_office(ctx, committee_id)?;
        if !(1..=100).contains(&number) {
            return Err(TenantsError::invalid("term.number", "must be between 1 and 100"));
        }
        let tx = self.begin(ctx).await?;
        require_committee(&tx, committee_id).await?;
        let previous = latest_term(&tx, committee_id).await?;
        if let Some(prev) = &previous {
            if number <= prev.number {
                return Err(TenantsError::invalid(
                    "term.number",
                    format!("must be greater than the current term's number ({})", prev.number),
                ));
            }
            if start_date <= prev.start_date {
                return Err(TenantsError::invalid(
                    "term.start_date",
                    format!("must be after the current term's start ({})", prev.start_date),
                ));
            }
            term::Entity::update_many()
                .col_expr(term::Column::EndDate, Expr::value(Some(start_date)))
                .filter(term::Column::Id.eq(prev.id))
                .exec(&*tx)
                .await?;
        }
        let id = Uuid::now_v7();
        term::Entity::insert(term::ActiveModel {
            id: Set(id),
            committee_id: Set(committee_id.0),
            number: Set(number),
            start_date: Set(start_date),
            end_date: Set(None),
            created_at: Set(xieshang_platform::time::now()),
        })
        .exec_without_returning(&*tx)
        .await
        .map_err(TenantsError::on_unique("term.number", "this term already exists"))?;
        audit(
            &tx,
            ctx,
            Some(committee_id),
            "term",
            id,
            json!({"opened": {"number": number, "start_date": start_date.to_string()}}),
        )
        .await?;
        tx.emit(
            &origin(&tx, Some(ctx), Some(committee_id)).await?,
            Payload::TermOpened(events::TermOpened {
                term_id: id.to_string(),
                number,
                start_date: Some(xieshang_platform::time::date_to_proto(start_date)),
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(Term { id, committee_id, number, start_date, end_date: None, latest_session_number: 0 })
    }

    /// Terms of a committee, newest first.
    pub async fn list_terms(&self, ctx: &TenantContext, committee_id: CommitteeId) -> Result<Vec<Term>> {
        own_records(ctx, committee_id)?;
        let tx = self.begin(ctx).await?;
        let rows = term::Entity::find()
            .filter(term::Column::CommitteeId.eq(committee_id.0))
            .order_by_desc(term::Column::Number)
            .all(&*tx)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let latest = latest_session_number(&tx, row.id).await?;
            out.push(to_term(row, latest));
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Opens the next plenary session of the committee's current term.
    pub async fn create_plenary_session(
        &self,
        ctx: &TenantContext,
        committee_id: CommitteeId,
        start_date: NaiveDate,
    ) -> Result<PlenarySession> {
        own_office(ctx, committee_id)?;
        let tx = self.begin(ctx).await?;
        require_committee(&tx, committee_id).await?;
        let current = latest_term(&tx, committee_id).await?.ok_or_else(|| {
            TenantsError::FailedPrecondition("open a term (CreateTerm) before its plenary sessions".into())
        })?;
        if start_date < current.start_date {
            return Err(TenantsError::invalid(
                "session.start_date",
                format!("must not be before the term's start ({})", current.start_date),
            ));
        }
        let number = latest_session_number(&tx, current.id).await? + 1;
        let id = Uuid::now_v7();
        plenary_session::Entity::insert(plenary_session::ActiveModel {
            id: Set(id),
            committee_id: Set(committee_id.0),
            term_id: Set(current.id),
            number: Set(number),
            start_date: Set(start_date),
            created_at: Set(xieshang_platform::time::now()),
        })
        .exec_without_returning(&*tx)
        .await
        .map_err(TenantsError::on_unique("session.number", "another session was opened at the same time; retry"))?;
        audit(
            &tx,
            ctx,
            Some(committee_id),
            "plenary_session",
            id,
            json!({"opened": {"term": current.number, "number": number}}),
        )
        .await?;
        tx.emit(
            &origin(&tx, Some(ctx), Some(committee_id)).await?,
            Payload::PlenarySessionOpened(events::PlenarySessionOpened {
                session_id: id.to_string(),
                term_id: current.id.to_string(),
                number,
                start_date: Some(xieshang_platform::time::date_to_proto(start_date)),
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(PlenarySession { id, term_id: current.id, number, start_date })
    }

    pub async fn list_plenary_sessions(&self, ctx: &TenantContext, term_id: Uuid) -> Result<Vec<PlenarySession>> {
        let tx = self.begin(ctx).await?;
        let term = term::Entity::find_by_id(term_id).one(&*tx).await?.ok_or(TenantsError::NotFound("term"))?;
        if own_records(ctx, CommitteeId(term.committee_id)).is_err() {
            return Err(TenantsError::NotFound("term"));
        }
        let rows = plenary_session::Entity::find()
            .filter(plenary_session::Column::TermId.eq(term_id))
            .filter(plenary_session::Column::CommitteeId.eq(term.committee_id))
            .order_by_asc(plenary_session::Column::Number)
            .all(&*tx)
            .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|r| PlenarySession { id: r.id, term_id: r.term_id, number: r.number, start_date: r.start_date })
            .collect())
    }
}

/// A committee's records are read by its own users and by operators only;
/// anyone else is told they do not exist.
fn own_records(ctx: &TenantContext, committee_id: CommitteeId) -> Result<()> {
    if ctx.is_operator() || ctx.committee_id() == Some(committee_id) {
        Ok(())
    } else {
        Err(TenantsError::NotFound("committee"))
    }
}

/// Terms and sessions are kept by the committee's own office.
fn own_office(ctx: &TenantContext, committee_id: CommitteeId) -> Result<()> {
    own_records(ctx, committee_id)?;
    if ctx.is_operator() || ctx.has_role(Role::CommitteeAdmin) || ctx.has_role(Role::Staff) {
        Ok(())
    } else {
        Err(TenantsError::denied("this needs the COMMITTEE_ADMIN or STAFF role"))
    }
}

async fn require_committee(tx: &Tx, id: CommitteeId) -> Result<()> {
    committee::Entity::find_by_id(id.0).one(&**tx).await?.map(|_| ()).ok_or(TenantsError::NotFound("committee"))
}

async fn latest_term(tx: &Tx, committee_id: CommitteeId) -> Result<Option<term::Model>> {
    Ok(term::Entity::find()
        .filter(term::Column::CommitteeId.eq(committee_id.0))
        .order_by_desc(term::Column::Number)
        .one(&**tx)
        .await?)
}

async fn latest_session_number(tx: &Tx, term_id: Uuid) -> Result<i32> {
    Ok(plenary_session::Entity::find()
        .filter(plenary_session::Column::TermId.eq(term_id))
        .order_by_desc(plenary_session::Column::Number)
        .one(&**tx)
        .await?
        .map_or(0, |s| s.number))
}

fn to_term(row: term::Model, latest_session_number: i32) -> Term {
    Term {
        id: row.id,
        committee_id: CommitteeId(row.committee_id),
        number: row.number,
        start_date: row.start_date,
        end_date: row.end_date,
        latest_session_number,
    }
}

/// The committee's current term (the latest opened), if any.
pub(super) async fn current_term(tx: &Tx, committee_id: CommitteeId) -> Result<Option<Term>> {
    match latest_term(tx, committee_id).await? {
        Some(row) => {
            let latest = latest_session_number(tx, row.id).await?;
            Ok(Some(to_term(row, latest)))
        }
        None => Ok(None),
    }
}
