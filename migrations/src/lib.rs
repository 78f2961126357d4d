//! Database migrations of Xieshang.
//!
//! One migrator for SQLite (the embedded default) and PostgreSQL. Tables are
//! declared with sea-query's schema builder so both backends get the same
//! shape; PostgreSQL additionally gets row-level security (see [`rls`]).
#![forbid(unsafe_code)]

use sea_orm_migration::prelude::*;

mod m20261122_000001_tenants;
mod m20261123_000001_proposals;
mod m20261123_000002_membership;
mod m20261123_000003_information;
mod m20261123_000004_consultation;
mod m20261123_000005_membership_reporting;
mod m20261123_000006_proposals_search;
mod m20261123_000007_analytics;
mod m20261123_000008_supervision;
mod m20261123_000009_membership_projects;
mod m20261123_000010_consultation_quality;
mod m20261123_000011_member_studios;
mod m20261124_000001_proposals_followup;
mod m20261125_000001_analytics_metric_length;
mod m20261126_000001_suggestion_carry;
mod m20261126_000002_event_dead_letters;
mod m20261126_000003_topic_contact_sealed;
mod m20261126_000004_analytics_terms_members;
mod m20261126_000005_joint_report_published;
mod m20261126_000006_rls_per_statement;
pub mod rls;
mod schema;

pub use sea_orm_migration::MigratorTrait;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_tenants::Migration),
            Box::new(m20261123_000001_proposals::Migration),
            Box::new(m20261123_000002_membership::Migration),
            Box::new(m20261123_000003_information::Migration),
            Box::new(m20261123_000004_consultation::Migration),
            Box::new(m20261123_000005_membership_reporting::Migration),
            Box::new(m20261123_000006_proposals_search::Migration),
            Box::new(m20261123_000007_analytics::Migration),
            Box::new(m20261123_000008_supervision::Migration),
            Box::new(m20261123_000009_membership_projects::Migration),
            Box::new(m20261123_000010_consultation_quality::Migration),
            Box::new(m20261123_000011_member_studios::Migration),
            Box::new(m20261124_000001_proposals_followup::Migration),
            Box::new(m20261125_000001_analytics_metric_length::Migration),
            Box::new(m20261126_000001_suggestion_carry::Migration),
            Box::new(m20261126_000002_event_dead_letters::Migration),
            Box::new(m20261126_000003_topic_contact_sealed::Migration),
            Box::new(m20261126_000004_analytics_terms_members::Migration),
            Box::new(m20261126_000005_joint_report_published::Migration),
            Box::new(m20261126_000006_rls_per_statement::Migration),
        ]
    }
}
