//! sea-orm entities: the tables as stored. Only `store` uses them.
//!
//! `committee` is a small read-only view of the tenants service's registry
//! (same database; the registry has no row-level security). `member` is a
//! read-only view of membership's roster — ids, names and status only — for
//! the names in a member ranking, read in the caller's own committee scope. The counters
//! themselves are read and written with sea-query statements (upserts).

pub mod committee {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "committees")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub code: String,
        pub name: String,
        pub parent_id: Option<Uuid>,
        /// Materialized path of ids, "/<province>/<city>/<county>/".
        pub path: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod member {
    use sea_orm::entity::prelude::*;

    /// `members.status` of a serving member (membership's `MemberStatus::Serving`).
    pub const SERVING: i16 = 1;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "members")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub committee_id: Uuid,
        pub name: String,
        pub status: i16,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
