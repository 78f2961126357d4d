//! proposals_search: the full-text index of proposals and the digests of
//! important proposals (重要提案摘报).
//!
//! The index holds text the proposals service has already segmented (jieba)
//! and folded (traditional → simplified), one word per space-separated token:
//! - PostgreSQL: a `tsvector` column on `proposals` (so row-level security
//!   covers it), config `simple`, title weighted A and body B, GIN-indexed.
//! - SQLite: an FTS5 table `proposal_search` (committee_id, title, body) whose
//!   rowid is `proposal_search_docs.doc_id`, the proposal's entry.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::rls;
use crate::schema::{col, created_at, fk_committee, id, index, updated_at};

#[derive(DeriveMigrationName)]
pub struct Migration;

const DIGEST_TABLES: &[&str] = &["proposal_digests", "proposal_digest_entries"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "ALTER TABLE proposals ADD COLUMN search_document tsvector;
                 CREATE INDEX ix_proposals_search ON proposals USING GIN (search_document);",
            )
            .await?;
        } else {
            manager
                .create_table(
                    Table::create()
                        .table("proposal_search_docs")
                        .col(col("doc_id").integer().not_null().primary_key().auto_increment())
                        .col(col("proposal_id").uuid().not_null().unique_key())
                        .col(col("committee_id").uuid().not_null())
                        .foreign_key(
                            ForeignKey::create()
                                .name("fk_proposal_search_docs_proposal")
                                .from("proposal_search_docs", "proposal_id")
                                .to("proposals", "id")
                                .on_delete(ForeignKeyAction::Cascade),
                        )
                        .to_owned(),
                )
                .await?;
            db.execute_unprepared(
                "CREATE VIRTUAL TABLE proposal_search USING fts5(committee_id UNINDEXED, title, body, \
                 tokenize = 'unicode61 remove_diacritics 0')",
            )
            .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("proposal_digests")
                    .col(id())
                    .col(col("committee_id").uuid().not_null())
                    .col(col("title").string_len(400).not_null())
                    .col(col("period").string_len(400).not_null())
                    .col(col("created_by").uuid().not_null())
                    .col(col("version").integer().not_null().default(1))
                    .col(created_at())
                    .col(updated_at())
                    .foreign_key(&mut fk_committee("proposal_digests", "committee_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("proposal_digests", "ix_proposal_digests_committee", &["committee_id", "created_at"]))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("proposal_digest_entries")
                    .col(col("digest_id").uuid().not_null())
                    .col(col("proposal_id").uuid().not_null())
                    .col(col("committee_id").uuid().not_null())
                    .col(col("position").integer().not_null())
                    .col(col("summary").text().not_null())
                    .col(created_at())
                    .primary_key(Index::create().col("digest_id").col("proposal_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_proposal_digest_entries_digest")
                            .from("proposal_digest_entries", "digest_id")
                            .to("proposal_digests", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_proposal_digest_entries_proposal")
                            .from("proposal_digest_entries", "proposal_id")
                            .to("proposals", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        if manager.get_database_backend() == DbBackend::Postgres {
            for table in DIGEST_TABLES {
                rls::protect(manager, table).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in DIGEST_TABLES.iter().rev() {
            manager.drop_table(Table::drop().table(*table).if_exists().to_owned()).await?;
        }
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "DROP INDEX IF EXISTS ix_proposals_search; ALTER TABLE proposals DROP COLUMN IF EXISTS search_document;",
            )
            .await?;
        } else {
            db.execute_unprepared("DROP TABLE IF EXISTS proposal_search").await?;
            manager.drop_table(Table::drop().table("proposal_search_docs").if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
