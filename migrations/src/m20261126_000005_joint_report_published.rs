//! joint_report_published: the initiator of a three-level joint supervision
//! project publishes its joint report (联动监督报告) to the participants.
//!
//! - `supervision_projects` records the publication (`report_published_at`,
//!   `report_published_by`); both null until published, set once.
//! - `supervision_joint_reports` holds one copy of the report as published per
//!   invited committee, owned by that committee (`committee_id`) like its
//!   participation row, so a participant reads its copy inside its own scope
//!   and never the initiator's project or problems. Problems are a JSON array
//!   (number, problem, suggestion, rectification, date, note): a snapshot, not
//!   kept in step with later rectification.
//!
//! On PostgreSQL the table has the ordinary owner policy, plus two for the
//! initiator, as the invitations in `m20261123_000008_supervision`:
//! `joint_initiator_reads` (its own inserts, which `INSERT … RETURNING` needs
//! to see) and `joint_initiator_publishes`, an INSERT allowed only for a
//! committee it invited to that very project. The initiator cannot change or
//! delete a copy once written.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::rls;
use crate::schema::{col, created_at, fk, fk_committee, id, index, owner};

#[derive(DeriveMigrationName)]
pub struct Migration;

const PROJECTS: &str = "supervision_projects";
const TABLE: &str = "supervision_joint_reports";

/// `supervision_projects`' new columns, null until the report is published.
fn publication_columns() -> Vec<ColumnDef> {
    vec![
        col("report_published_at").timestamp_with_time_zone().null().take(),
        // The user who published.
        col("report_published_by").uuid().null().take(),
    ]
}

/// The initiator's read and insert; the insert names a participation of the
/// same project and committee that the initiator itself invited.
const INITIATOR_POLICIES: &str = r#"
DROP POLICY IF EXISTS joint_initiator_reads ON supervision_joint_reports;
CREATE POLICY joint_initiator_reads ON supervision_joint_reports FOR SELECT
  USING (initiator_committee_id = xieshang_tenant());
DROP POLICY IF EXISTS joint_initiator_publishes ON supervision_joint_reports;
CREATE POLICY joint_initiator_publishes ON supervision_joint_reports FOR INSERT
  WITH CHECK (
    initiator_committee_id = xieshang_tenant()
    AND EXISTS (
      SELECT 1 FROM supervision_participations p
      WHERE p.id = supervision_joint_reports.participation_id
        AND p.project_id = supervision_joint_reports.project_id
        AND p.committee_id = supervision_joint_reports.committee_id
        AND p.initiator_committee_id = xieshang_tenant()
    )
  );
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for mut column in publication_columns() {
            manager.alter_table(Table::alter().table(PROJECTS).add_column(&mut column).to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(TABLE)
                    .col(id())
                    // The participant the copy was published to.
                    .col(owner())
                    .col(col("initiator_committee_id").uuid().not_null())
                    .col(col("project_id").uuid().not_null())
                    .col(col("participation_id").uuid().not_null())
                    .col(col("initiator_name").string_len(80).not_null())
                    .col(col("topic").string_len(100).not_null())
                    .col(col("summary").text().not_null())
                    .col(col("problems").text().not_null())
                    .col(col("reported_at").timestamp_with_time_zone().null())
                    .col(col("published_at").timestamp_with_time_zone().not_null())
                    .col(col("published_by").uuid().not_null())
                    .col(created_at())
                    .foreign_key(&mut fk_committee(TABLE, "committee_id"))
                    .foreign_key(&mut fk(TABLE, "project_id", "supervision_projects"))
                    .foreign_key(&mut fk(TABLE, "participation_id", "supervision_participations"))
                    .to_owned(),
            )
            .await?;
        // One copy per participation: a second publication cannot slip in.
        manager
            .create_index(
                index(TABLE, "ux_supervision_joint_reports_participation", &["participation_id"]).unique().take(),
            )
            .await?;
        manager.create_index(index(TABLE, "ix_supervision_joint_reports_committee", &["committee_id"])).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            rls::protect(manager, TABLE).await?;
            manager.get_connection().execute_unprepared(INITIATOR_POLICIES).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TABLE).if_exists().to_owned()).await?;
        for column in publication_columns().into_iter().rev() {
            let name = column.get_column_name();
            manager.alter_table(Table::alter().table(PROJECTS).drop_column(Alias::new(name)).to_owned()).await?;
        }
        Ok(())
    }
}
