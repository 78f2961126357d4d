//! Digests of important proposals (重要提案摘报): the office compiles FILED
//! (or later) proposals with summaries, orders them, and exports the digest.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::Tx;
use xieshang_platform::ids::CommitteeId;
use xieshang_platform::time::now;

use super::{Page, Store, find_visible, own_committee, record, require_office};
use crate::digest::{self, Digest, DigestEntry, SUMMARY_MAX};
use crate::domain::{NAME_MAX, TITLE_MAX, required_text};
use crate::entity::{digest as digest_row, digest_entry, proposal};
use crate::error::{ProposalsError, Result};

/// A proposal to add to a digest.
#[derive(Clone, Debug)]
pub struct NewDigestEntry {
    pub proposal_id: Uuid,
    pub summary: String,
    /// 1-based; 0 appends.
    pub position: i32,
}

/// Document formats of [`Store::export_digest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Markdown,
    Docx,
}

/// An exported digest.
pub struct Exported {
    pub content: Vec<u8>,
    pub media_type: &'static str,
    pub file_name: String,
}

/// The caller's committee's digest, or `NotFound` (also for another committee's).
async fn find_digest(tx: &Tx, committee: CommitteeId, id: Uuid) -> Result<digest_row::Model> {
    digest_row::Entity::find_by_id(id)
        .filter(digest_row::Column::CommitteeId.eq(committee.0))
        .one(&**tx)
        .await?
        .ok_or(ProposalsError::NotFound("digest"))
}

async fn entries_of(tx: &Tx, id: Uuid) -> Result<Vec<digest_entry::Model>> {
    Ok(digest_entry::Entity::find()
        .filter(digest_entry::Column::DigestId.eq(id))
        .order_by_asc(digest_entry::Column::Position)
        .order_by_asc(digest_entry::Column::ProposalId)
        .all(&**tx)
        .await?)
}

/// The digest with its entries and their proposals' numbers and titles.
async fn assemble(tx: &Tx, row: digest_row::Model) -> Result<Digest> {
    let entries = entries_of(tx, row.id).await?;
    let ids: Vec<Uuid> = entries.iter().map(|e| e.proposal_id).collect();
    let proposals: std::collections::HashMap<Uuid, proposal::Model> = proposal::Entity::find()
        .filter(proposal::Column::Id.is_in(ids))
        .filter(proposal::Column::CommitteeId.eq(row.committee_id))
        .all(&**tx)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    Ok(Digest {
        id: row.id,
        committee_id: CommitteeId(row.committee_id),
        title: row.title,
        period: row.period,
        entries: entries
            .into_iter()
            .map(|e| {
                let p = proposals.get(&e.proposal_id);
                DigestEntry {
                    position: e.position,
                    proposal_id: e.proposal_id,
                    number: p.and_then(|p| p.number),
                    title: p.map(|p| p.title.clone()).unwrap_or_default(),
                    summary: e.summary,
                }
            })
            .collect(),
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Bumps the digest's version after a change of its entries.
async fn touch(tx: &Tx, id: Uuid) -> Result<()> {
    digest_row::Entity::update_many()
        .col_expr(digest_row::Column::Version, Expr::col(digest_row::Column::Version).add(1))
        .col_expr(digest_row::Column::UpdatedAt, Expr::value(now()))
        .filter(digest_row::Column::Id.eq(id))
        .exec(&**tx)
        .await?;
    Ok(())
}

impl Store {
    /// Starts an empty digest. The office only.
    pub async fn create_digest(&self, ctx: &TenantContext, title: &str, period: &str) -> Result<Digest> {
        let committee = own_committee(ctx)?;
        require_office(ctx)?;
        let title = required_text(title, TITLE_MAX).map_err(|r| ProposalsError::invalid("title", r))?;
        let period = required_text(period, NAME_MAX).map_err(|r| ProposalsError::invalid("period", r))?;
        let tx = self.begin(ctx).await?;
        let (id, at) = (Uuid::now_v7(), now());
        digest_row::Entity::insert(digest_row::ActiveModel {
            id: Set(id),
            committee_id: Set(committee.0),
            title: Set(title.clone()),
            period: Set(period.clone()),
            created_by: Set(ctx.user_id.0),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .exec_without_returning(&*tx)
        .await?;
        record(
            &tx,
            ctx,
            committee,
            "proposal_digest",
            id,
            json!({"created": {"title": title, "period": period}}),
            None,
        )
        .await?;
        let found = assemble(&tx, find_digest(&tx, committee, id).await?).await?;
        tx.commit().await?;
        Ok(found)
    }

    /// A digest of the caller's committee. The office only.
    pub async fn get_digest(&self, ctx: &TenantContext, id: Uuid) -> Result<Digest> {
        let committee = own_committee(ctx)?;
        require_office(ctx)?;
        let tx = self.begin(ctx).await?;
        let found = assemble(&tx, find_digest(&tx, committee, id).await?).await?;
        tx.commit().await?;
        Ok(found)
    }

    /// The committee's digests without entries, newest first, paged. The office only.
    pub async fn list_digests(&self, ctx: &TenantContext, page_size: i32, page_token: &str) -> Result<Page<Digest>> {
        let committee = own_committee(ctx)?;
        require_office(ctx)?;
        let size = xieshang_platform::page::size(page_size, 20, 100)?;
        let before = match xieshang_platform::page::decode(page_token)? {
            Some(key) => Some(
                Uuid::parse_str(&key)
                    .map_err(|_| ProposalsError::invalid("page_token", "is not a token this server issued"))?,
            ),
            None => None,
        };
        let tx = self.begin(ctx).await?;
        let mut query = digest_row::Entity::find().filter(digest_row::Column::CommitteeId.eq(committee.0));
        if let Some(before) = before {
            query = query.filter(digest_row::Column::Id.lt(before));
        }
        let mut rows = query.order_by_desc(digest_row::Column::Id).limit(size + 1).all(&*tx).await?;
        tx.commit().await?;
        let more = rows.len() as u64 > size;
        rows.truncate(size as usize);
        let next_page_token = match rows.last() {
            Some(last) if more => xieshang_platform::page::encode(&last.id.to_string()),
            _ => String::new(),
        };
        let items = rows
            .into_iter()
            .map(|r| Digest {
                id: r.id,
                committee_id: CommitteeId(r.committee_id),
                title: r.title,
                period: r.period,
                entries: Vec::new(),
                version: r.version,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
            .collect();
        Ok(Page { items, next_page_token })
    }

    /// Adds a FILED (or later) proposal with its summary. The office only.
    pub async fn add_digest_entry(
        &self,
        ctx: &TenantContext,
        digest_id: Uuid,
        entry: NewDigestEntry,
    ) -> Result<Digest> {
        let committee = own_committee(ctx)?;
        require_office(ctx)?;
        let summary = required_text(&entry.summary, SUMMARY_MAX).map_err(|r| ProposalsError::invalid("summary", r))?;
        let tx = self.begin(ctx).await?;
        let row = find_digest(&tx, committee, digest_id).await?;
        let found = find_visible(&tx, ctx, entry.proposal_id).await?;
        digest::digestible(found.state()).map_err(ProposalsError::precondition)?;
        let entries = entries_of(&tx, digest_id).await?;
        if entries.iter().any(|e| e.proposal_id == entry.proposal_id) {
            return Err(ProposalsError::invalid("proposal_id", "is already in this digest"));
        }
        let position = digest::insert_position(entry.position, entries.len());
        digest_entry::Entity::update_many()
            .col_expr(digest_entry::Column::Position, Expr::col(digest_entry::Column::Position).add(1))
            .filter(digest_entry::Column::DigestId.eq(digest_id))
            .filter(digest_entry::Column::Position.gte(position))
            .exec(&*tx)
            .await?;
        digest_entry::Entity::insert(digest_entry::ActiveModel {
            digest_id: Set(digest_id),
            proposal_id: Set(entry.proposal_id),
            committee_id: Set(committee.0),
            position: Set(position),
            summary: Set(summary.clone()),
            created_at: Set(now()),
        })
        .exec_without_returning(&*tx)
        .await?;
        touch(&tx, digest_id).await?;
        record(
            &tx,
            ctx,
            committee,
            "proposal_digest",
            digest_id,
            json!({"added": {"proposal": entry.proposal_id.to_string(), "position": position, "summary": summary}}),
            None,
        )
        .await?;
        let found = assemble(&tx, row).await?;
        tx.commit().await?;
        Ok(found)
    }

    /// Puts the entries in the order of `proposal_ids` (each entry once). The office only.
    pub async fn reorder_digest(&self, ctx: &TenantContext, digest_id: Uuid, proposal_ids: &[Uuid]) -> Result<Digest> {
        let committee = own_committee(ctx)?;
        require_office(ctx)?;
        let tx = self.begin(ctx).await?;
        let row = find_digest(&tx, committee, digest_id).await?;
        let current: Vec<Uuid> = entries_of(&tx, digest_id).await?.into_iter().map(|e| e.proposal_id).collect();
        let order = digest::reorder(&current, proposal_ids).map_err(|r| ProposalsError::invalid("proposal_ids", r))?;
        for (i, id) in order.iter().enumerate() {
            digest_entry::Entity::update_many()
                .col_expr(digest_entry::Column::Position, Expr::value(i as i32 + 1))
                .filter(digest_entry::Column::DigestId.eq(digest_id))
                .filter(digest_entry::Column::ProposalId.eq(*id))
                .exec(&*tx)
                .await?;
        }
        touch(&tx, digest_id).await?;
        let order_json: Vec<String> = order.iter().map(ToString::to_string).collect();
        record(&tx, ctx, committee, "proposal_digest", digest_id, json!({"reordered": order_json}), None).await?;
        let found = assemble(&tx, row).await?;
        tx.commit().await?;
        Ok(found)
    }

    /// Removes a proposal's entry; the later entries move up, so positions
    /// stay contiguous. The office only.
    pub async fn remove_digest_entry(&self, ctx: &TenantContext, digest_id: Uuid, proposal_id: Uuid) -> Result<Digest> {
        let committee = own_committee(ctx)?;
        require_office(ctx)?;
        let tx = self.begin(ctx).await?;
        let row = find_digest(&tx, committee, digest_id).await?;
        let Some(entry) = entries_of(&tx, digest_id).await?.into_iter().find(|e| e.proposal_id == proposal_id) else {
            return Err(ProposalsError::NotFound("digest entry"));
        };
        digest_entry::Entity::delete_many()
            .filter(digest_entry::Column::DigestId.eq(digest_id))
            .filter(digest_entry::Column::ProposalId.eq(proposal_id))
            .exec(&*tx)
            .await?;
        digest_entry::Entity::update_many()
            .col_expr(digest_entry::Column::Position, Expr::col(digest_entry::Column::Position).sub(1))
            .filter(digest_entry::Column::DigestId.eq(digest_id))
            .filter(digest_entry::Column::Position.gt(entry.position))
            .exec(&*tx)
            .await?;
        touch(&tx, digest_id).await?;
        record(
            &tx,
            ctx,
            committee,
            "proposal_digest",
            digest_id,
            json!({"removed": {"proposal": proposal_id.to_string(), "position": entry.position}}),
            None,
        )
        .await?;
        let found = assemble(&tx, row).await?;
        tx.commit().await?;
        Ok(found)
    }

    /// The digest as a Markdown or Word document. The office only.
    pub async fn export_digest(&self, ctx: &TenantContext, id: Uuid, format: ExportFormat) -> Result<Exported> {
        let d = self.get_digest(ctx, id).await?;
        let base = format!("{}-{}", d.title, d.period).replace(['/', '\\', ':', '"', '<', '>', '|', '?', '*'], "_");
        Ok(match format {
            ExportFormat::Markdown => Exported {
                content: digest::to_markdown(&d).into_bytes(),
                media_type: "text/markdown; charset=utf-8",
                file_name: format!("{base}.md"),
            },
            ExportFormat::Docx => Exported {
                content: digest::to_docx(&d)
                    .map_err(|e| ProposalsError::precondition(format!("export failed: {e}")))?,
                media_type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                file_name: format!("{base}.docx"),
            },
        })
    }
}
