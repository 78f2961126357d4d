//! The committee tree as every service reads it on hot paths: a committee's
//! code, name, path (its ancestors) and whether it is suspended.
//!
//! Every change a service makes emits an event naming the committee and its
//! ancestors, so each mutation needs the committee's path; reads check that a
//! committee is in the caller's subtree. [`Tx::committee`] answers these from
//! a [`CommitteeCache`] before touching the `committees` table:
//!
//! - embedded: [`InProcessCommitteeCache`], a map in this process;
//! - distributed: [`RedisCommitteeCache`](crate::redis_state::RedisCommitteeCache),
//!   one copy in Redis that every replica of every service reads.
//!
//! **Invalidation is explicit**: the tenants service marks each committee it
//! changes ([`Tx::committee_changed`]), and the entry is dropped when that
//! transaction commits — after, so that no reader can put the old row back
//! in between. Entries also expire (`ttl`), which bounds the damage of a
//! missed invalidation (e.g. Redis unreachable at that moment). Paths never
//! change (parent, level and code are immutable), so the ancestors an event
//! carries are never stale.

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::Tx;
use crate::ids::CommitteeId;

/// What hot paths need to know of a committee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitteeEntry {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    /// `/<province>/<city>/<county>/`, ids.
    pub path: String,
    pub suspended: bool,
}

impl CommitteeEntry {
    /// The committee's ancestors, nearest first.
    pub fn ancestors(&self) -> Vec<CommitteeId> {
        let mut ids: Vec<CommitteeId> = self
            .path
            .split('/')
            .filter_map(|s| Uuid::parse_str(s).ok())
            .filter(|id| *id != self.id)
            .map(CommitteeId)
            .collect();
        ids.reverse();
        ids
    }

    /// Whether `other` is this committee or one of its ancestors.
    pub fn is_within(&self, other: CommitteeId) -> bool {
        self.id == other.0 || self.ancestors().contains(&other)
    }
}

/// Where committee entries are cached. Failures are not errors: a miss
/// falls back to the database.
#[async_trait]
pub trait CommitteeCache: Send + Sync + 'static {
    async fn get(&self, id: CommitteeId) -> Option<CommitteeEntry>;
    async fn put(&self, entry: &CommitteeEntry);
    async fn invalidate(&self, id: CommitteeId);
}

/// The embedded default: a map in this process (one process, so explicit
/// invalidation reaches every reader).
#[derive(Default)]
pub struct InProcessCommitteeCache {
    entries: RwLock<HashMap<CommitteeId, CommitteeEntry>>,
}

#[async_trait]
impl CommitteeCache for InProcessCommitteeCache {
    async fn get(&self, id: CommitteeId) -> Option<CommitteeEntry> {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).get(&id).cloned()
    }

    async fn put(&self, entry: &CommitteeEntry) {
        self.entries.write().unwrap_or_else(|e| e.into_inner()).insert(CommitteeId(entry.id), entry.clone());
    }

    async fn invalidate(&self, id: CommitteeId) {
        self.entries.write().unwrap_or_else(|e| e.into_inner()).remove(&id);
    }
}

impl Tx {
    /// The committee `id`, from the cache or else the `committees` table
    /// (a registry without row-level security: readable in any scope).
    pub async fn committee(&self, id: CommitteeId) -> Result<Option<CommitteeEntry>, DbErr> {
        if let Some(entry) = self.committee_cache().get(id).await {
            return Ok(Some(entry));
        }
        let select = Query::select()
            .columns(["id", "code", "name", "path", "suspended"])
            .from("committees")
            .and_where(Expr::col("id").eq(id.0))
            .to_owned();
        let Some(row) = self.query_one(&select).await? else { return Ok(None) };
        let entry = CommitteeEntry {
            id: row.try_get("", "id")?,
            code: row.try_get::<String>("", "code")?.trim().to_owned(),
            name: row.try_get("", "name")?,
            path: row.try_get("", "path")?,
            suspended: row.try_get("", "suspended")?,
        };
        self.committee_cache().put(&entry).await;
        Ok(Some(entry))
    }

    /// The ancestors of `id`, nearest first (empty for an unknown committee).
    pub async fn committee_ancestors(&self, id: CommitteeId) -> Result<Vec<CommitteeId>, DbErr> {
        Ok(self.committee(id).await?.map(|c| c.ancestors()).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ningjin() -> CommitteeEntry {
        let (hebei, xingtai, ningjin) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        CommitteeEntry {
            id: ningjin,
            code: "130528".into(),
            name: "宁晋县政协".into(),
            path: format!("/{hebei}/{xingtai}/{ningjin}/"),
            suspended: false,
        }
    }

    #[test]
    fn ancestors_are_nearest_first_without_the_committee_itself() {
        let entry = ningjin();
        let ids: Vec<Uuid> = entry.path.split('/').filter_map(|s| Uuid::parse_str(s).ok()).collect();
        assert_eq!(entry.ancestors(), vec![CommitteeId(ids[1]), CommitteeId(ids[0])]);
        assert!(entry.is_within(CommitteeId(ids[0])) && entry.is_within(CommitteeId(entry.id)));
        assert!(!entry.is_within(CommitteeId(Uuid::now_v7())));
    }

    #[tokio::test]
    async fn the_in_process_cache_forgets_invalidated_entries() {
        let cache = InProcessCommitteeCache::default();
        let entry = ningjin();
        cache.put(&entry).await;
        assert_eq!(cache.get(CommitteeId(entry.id)).await, Some(entry.clone()));
        cache.invalidate(CommitteeId(entry.id)).await;
        assert_eq!(cache.get(CommitteeId(entry.id)).await, None);
    }
}
