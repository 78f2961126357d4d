//! Democratic supervision (民主监督): one committee's supervision projects with
//! their inspections and the numbered problems of their closing report, each
//! tracked to rectification (整改); and three-level joint supervision
//! (三级政协联动专项集体民主监督) across a committee's subtree.
//!
//! Every row belongs to one committee (`committee_id`):
//! - `supervision_projects`, `supervision_problems`: the committee that runs
//!   the project (for a joint project, the initiator). Plain tenant isolation.
//! - `supervision_participations`: the *invited* committee. The row carries a
//!   copy of the project header the participant needs (topic, period,
//!   initiator's name) so that the participant never reads the initiator's rows.
//! - `supervision_inspections`: the committee that inspected — for a joint
//!   project, the participant, in its own area.
//!
//! The one crossing of tenants (docs/ARCHITECTURE.md: "the records of a
//! joint-supervision project it initiated or joined") is explicit and narrow:
//! participation and inspection rows of a joint project carry
//! `initiator_committee_id`, and on PostgreSQL dedicated policies let the
//! initiator (a) READ those rows and (b) INSERT the invitation rows — nothing
//! else. The initiator cannot change or delete a participant's rows; a
//! participant sees only its own rows, never another participant's.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::rls;
use crate::schema::{col, created_at, fk, fk_committee, id, index, owner, updated_at};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Tables with the ordinary one-committee policy.
const OWNED: &[&str] = &["supervision_projects", "supervision_problems"];
/// Tables the initiator of a joint project also reads (see the module docs).
const SHARED: &[&str] = &["supervision_participations", "supervision_inspections"];

/// The initiator of the joint project a row belongs to; null outside joint projects.
fn initiator() -> ColumnDef {
    col("initiator_committee_id").uuid().null().take()
}

/// The owner's full access, plus the initiator's read (and, for
/// participations, the invitation insert). Written here instead of
/// `rls::protect` because of the initiator clauses.
fn shared_policies(table: &str, initiator_inserts: bool) -> String {
    let mut sql = format!(
        r#"
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON {table};
CREATE POLICY tenant_isolation ON {table}
  USING (committee_id = xieshang_tenant() OR xieshang_scope() = 'system')
  WITH CHECK (committee_id = xieshang_tenant() OR xieshang_scope() = 'system');
DROP POLICY IF EXISTS joint_initiator_reads ON {table};
CREATE POLICY joint_initiator_reads ON {table} FOR SELECT
  USING (initiator_committee_id IS NOT NULL AND initiator_committee_id = xieshang_tenant());
"#
    );
    if initiator_inserts {
        sql.push_str(&format!(
            r#"
DROP POLICY IF EXISTS joint_initiator_invites ON {table};
CREATE POLICY joint_initiator_invites ON {table} FOR INSERT
  WITH CHECK (initiator_committee_id IS NOT NULL AND initiator_committee_id = xieshang_tenant());
"#
        ));
    }
    sql
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("supervision_projects")
                    .col(id())
                    .col(owner())
                    // 1 special collective, 2 chairs' meeting inspection,
                    // 3 stationed members, 4 three-level joint (the initiator's project).
                    .col(col("kind").small_integer().not_null())
                    .col(col("topic").string_len(100).not_null())
                    .col(col("start_date").date().not_null())
                    .col(col("end_date").date().not_null())
                    // 1 planned, 2 ongoing, 3 reported, 4 closed.
                    .col(col("state").small_integer().not_null())
                    .col(col("report_summary").text().not_null().default(""))
                    .col(col("reported_at").timestamp_with_time_zone().null())
                    .col(created_at())
                    .col(updated_at())
                    .foreign_key(&mut fk_committee("supervision_projects", "committee_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "supervision_projects",
                "ix_supervision_projects_committee",
                &["committee_id", "state"],
            ))
            .await?;

        // The numbered problems and suggestions of a project's (joint) report.
        manager
            .create_table(
                Table::create()
                    .table("supervision_problems")
                    .col(id())
                    .col(owner())
                    .col(col("project_id").uuid().not_null())
                    .col(col("number").integer().not_null())
                    .col(col("problem").text().not_null())
                    .col(col("suggestion").text().not_null())
                    // 1 open, 2 in progress, 3 rectified, 4 not rectified.
                    .col(col("rectification").small_integer().not_null())
                    .col(col("rectified_on").date().null())
                    .col(col("rectification_note").text().not_null().default(""))
                    .col(updated_at())
                    .foreign_key(&mut fk("supervision_problems", "project_id", "supervision_projects"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("supervision_problems", "ux_supervision_problems_number", &["project_id", "number"])
                    .unique()
                    .take(),
            )
            .await?;

        // An invited committee's part of a joint project, owned by that committee.
        manager
            .create_table(
                Table::create()
                    .table("supervision_participations")
                    .col(id())
                    .col(owner())
                    .col(col("initiator_committee_id").uuid().not_null())
                    .col(col("project_id").uuid().not_null())
                    // Copy of the project header the participant reads.
                    .col(col("initiator_name").string_len(80).not_null())
                    .col(col("topic").string_len(100).not_null())
                    .col(col("start_date").date().not_null())
                    .col(col("end_date").date().not_null())
                    // 1 invited, 2 accepted, 3 declined, 4 submitted.
                    .col(col("state").small_integer().not_null())
                    .col(col("response_note").text().not_null().default(""))
                    .col(col("summary").text().not_null().default(""))
                    .col(col("responded_at").timestamp_with_time_zone().null())
                    .col(col("submitted_at").timestamp_with_time_zone().null())
                    .col(created_at())
                    .col(updated_at())
                    .foreign_key(&mut fk_committee("supervision_participations", "committee_id"))
                    .foreign_key(&mut fk("supervision_participations", "project_id", "supervision_projects"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("supervision_participations", "ux_supervision_participations", &["project_id", "committee_id"])
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "supervision_participations",
                "ix_supervision_participations_committee",
                &["committee_id"],
            ))
            .await?;

        // Inspections (视察): of a project of the owner, or of the owner's part
        // of a joint project (then `participation_id` and the initiator are set).
        manager
            .create_table(
                Table::create()
                    .table("supervision_inspections")
                    .col(id())
                    .col(owner())
                    .col(initiator())
                    .col(col("project_id").uuid().null())
                    .col(col("participation_id").uuid().null())
                    .col(col("date").date().not_null())
                    .col(col("place").string_len(100).not_null())
                    // One name per line; ids of roster entries, one per line.
                    .col(col("member_names").text().not_null().default(""))
                    .col(col("member_ids").text().not_null().default(""))
                    .col(col("findings").text().not_null().default(""))
                    .col(created_at())
                    .foreign_key(&mut fk("supervision_inspections", "project_id", "supervision_projects"))
                    .foreign_key(&mut fk("supervision_inspections", "participation_id", "supervision_participations"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("supervision_inspections", "ix_supervision_inspections_project", &["project_id"]))
            .await?;
        manager
            .create_index(index(
                "supervision_inspections",
                "ix_supervision_inspections_participation",
                &["participation_id"],
            ))
            .await?;

        if manager.get_database_backend() == DbBackend::Postgres {
            for table in OWNED {
                rls::protect(manager, table).await?;
            }
            for table in SHARED {
                rls::grant(manager, table).await?;
                let sql = shared_policies(table, *table == "supervision_participations");
                manager.get_connection().execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in
            ["supervision_inspections", "supervision_participations", "supervision_problems", "supervision_projects"]
        {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
