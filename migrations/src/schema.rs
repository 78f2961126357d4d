//! Column and index helpers shared by the migrations.

use sea_orm_migration::prelude::*;

/// `id uuid primary key`
pub(crate) fn id() -> ColumnDef {
    ColumnDef::new("id").uuid().not_null().primary_key().take()
}

pub(crate) fn col(name: &'static str) -> ColumnDef {
    ColumnDef::new(name)
}

pub(crate) fn created_at() -> ColumnDef {
    col("created_at").timestamp_with_time_zone().not_null().take()
}

pub(crate) fn updated_at() -> ColumnDef {
    col("updated_at").timestamp_with_time_zone().not_null().take()
}

/// Nullable owning committee: null means the row belongs to the platform.
pub(crate) fn committee_id() -> ColumnDef {
    col("committee_id").uuid().null().take()
}

pub(crate) fn fk_committee(table: &'static str, column: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to("committees", "id")
        .on_delete(ForeignKeyAction::Restrict)
        .take()
}

pub(crate) fn index(table: &'static str, name: &str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for c in cols {
        stmt.col(*c);
    }
    stmt.take()
}

/// `committee_id uuid not null`: the row belongs to exactly one committee.
pub(crate) fn owner() -> ColumnDef {
    col("committee_id").uuid().not_null().take()
}

/// A restricting foreign key from `table.column` to `to.id`.
pub(crate) fn fk(table: &'static str, column: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to(to, "id")
        .on_delete(ForeignKeyAction::Restrict)
        .take()
}
