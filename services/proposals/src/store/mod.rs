//! The repository: every operation takes the caller's [`TenantContext`] and
//! opens its transaction with the caller's scope, so no query runs unscoped.
//!
//! Scopes: a committee's users act in `Scope::Committee(own)`; platform
//! operators act platform-wide (`Scope::System`).

mod deadlines;
mod digest;
mod followup;
mod information;
mod lifecycle;
mod search;
mod settings;
mod statistics;

use std::collections::HashMap;
pub use xieshang_platform::page::Page;

use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;
use xieshang_platform::audit::{Actor, AuditRecord};
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::{Db, Tx};
use xieshang_platform::events::EventOrigin;
use xieshang_platform::ids::{CommitteeId, UserId};
use xieshang_proto::common::v1::Role;
use xieshang_proto::events::v1::event::Payload;

pub use deadlines::{DueFollowUp, DueProposals, Sweep};
pub use digest::{ExportFormat, Exported, NewDigestEntry};
pub use information::{InformationFilter, NewInformation, Upward};
pub use lifecycle::{Assignment, NewProposal, ProposalPatch};
#[cfg(feature = "bench-support")]
pub use search::BenchProposal;
pub(crate) use search::index_proposal;
pub use search::{QUERY_MAX, SearchFilter, SearchHit};
pub use settings::SettingsPatch;

use crate::domain::{
    AssignedUnit, Category, CoSignature, Conversion, FollowUp, Kind, Proposal, ProposalState, Rating, ReplyClass,
    UnitRole,
};
use crate::entity::{co_signer, proposal, unit, user_role};
use crate::error::{ProposalsError, Result};

/// Filters of [`Store::list_proposals`]; `None` means any.
#[derive(Clone, Debug, Default)]
pub struct ProposalFilter {
    pub state: Option<ProposalState>,
    pub category: Option<Category>,
    pub key: Option<bool>,
    pub unit: Option<UserId>,
    pub proposer: Option<UserId>,
    pub page_size: i32,
    pub page_token: String,
}

#[derive(Clone)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Opens a transaction in the caller's scope.
    async fn begin(&self, ctx: &TenantContext) -> Result<Tx> {
        Ok(self.db.begin(ctx.scope()).await?)
    }

    /// A proposal the caller may see.
    pub async fn get_proposal(&self, ctx: &TenantContext, id: Uuid) -> Result<Proposal> {
        let tx = self.begin(ctx).await?;
        let found = find_visible(&tx, ctx, id).await?;
        tx.commit().await?;
        Ok(found.into_domain())
    }

    /// The proposals the caller may see, oldest first, paged.
    pub async fn list_proposals(&self, ctx: &TenantContext, filter: ProposalFilter) -> Result<Page<Proposal>> {
        let size = xieshang_platform::page::size(filter.page_size, 50, 200)?;
        let after = match xieshang_platform::page::decode(&filter.page_token)? {
            Some(key) => Some(
                Uuid::parse_str(&key)
                    .map_err(|_| ProposalsError::invalid("page_token", "is not a token this server issued"))?,
            ),
            None => None,
        };
        let tx = self.begin(ctx).await?;
        let mut query = proposal::Entity::find();
        if !ctx.is_operator() {
            query = query.filter(proposal::Column::CommitteeId.eq(own_committee(ctx)?.0));
        }
        if is_office(ctx) {
            // Other people's drafts stay private.
            query = query.filter(
                Condition::any()
                    .add(proposal::Column::State.ne(ProposalState::Draft.as_str()))
                    .add(proposal::Column::ProposerUserId.eq(ctx.user_id.0)),
            );
        } else {
            // Members see their own and co-signed proposals; units their assigned ones.
            let me = ctx.user_id.0;
            let co_signed: Vec<Uuid> = co_signer::Entity::find()
                .filter(co_signer::Column::UserId.eq(me))
                .all(&*tx)
                .await?
                .into_iter()
                .map(|c| c.proposal_id)
                .collect();
            let assigned: Vec<Uuid> = unit::Entity::find()
                .filter(unit::Column::UnitUserId.eq(me))
                .all(&*tx)
                .await?
                .into_iter()
                .map(|u| u.proposal_id)
                .collect();
            query = query.filter(
                Condition::any()
                    .add(proposal::Column::ProposerUserId.eq(me))
                    .add(proposal::Column::Id.is_in(co_signed))
                    .add(proposal::Column::Id.is_in(assigned)),
            );
        }
        if let Some(state) = filter.state {
            query = query.filter(proposal::Column::State.eq(state.as_str()));
        }
        if let Some(category) = filter.category {
            query = query.filter(proposal::Column::Category.eq(category as i16));
        }
        if let Some(key) = filter.key {
            query = query.filter(proposal::Column::Key.eq(key));
        }
        if let Some(proposer) = filter.proposer {
            query = query.filter(proposal::Column::ProposerUserId.eq(proposer.0));
        }
        if let Some(unit_user) = filter.unit {
            let ids: Vec<Uuid> = unit::Entity::find()
                .filter(unit::Column::UnitUserId.eq(unit_user.0))
                .all(&*tx)
                .await?
                .into_iter()
                .map(|u| u.proposal_id)
                .collect();
            query = query.filter(proposal::Column::Id.is_in(ids));
        }
        if let Some(after) = after {
            query = query.filter(proposal::Column::Id.gt(after));
        }
        let mut rows = query.order_by_asc(proposal::Column::Id).limit(size + 1).all(&*tx).await?;
        let more = rows.len() as u64 > size;
        rows.truncate(size as usize);
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut co_signers: HashMap<Uuid, Vec<co_signer::Model>> = HashMap::new();
        for c in co_signer::Entity::find()
            .filter(co_signer::Column::ProposalId.is_in(ids.clone()))
            .order_by_asc(co_signer::Column::UserId)
            .all(&*tx)
            .await?
        {
            co_signers.entry(c.proposal_id).or_default().push(c);
        }
        let mut units: HashMap<Uuid, Vec<unit::Model>> = HashMap::new();
        for u in unit::Entity::find()
            .filter(unit::Column::ProposalId.is_in(ids))
            .order_by_asc(unit::Column::Role)
            .order_by_asc(unit::Column::UnitUserId)
            .all(&*tx)
            .await?
        {
            units.entry(u.proposal_id).or_default().push(u);
        }
        tx.commit().await?;
        let next_page_token = if more {
            rows.last().map(|r| xieshang_platform::page::encode(&r.id.to_string())).unwrap_or_default()
        } else {
            String::new()
        };
        let items = rows
            .into_iter()
            .map(|row| {
                let id = row.id;
                Loaded {
                    row,
                    co_signers: co_signers.remove(&id).unwrap_or_default(),
                    units: units.remove(&id).unwrap_or_default(),
                }
                .into_domain()
            })
            .collect();
        Ok(Page { items, next_page_token })
    }
}

fn own_committee(ctx: &TenantContext) -> Result<CommitteeId> {
    ctx.committee_id().ok_or_else(|| ProposalsError::denied("only a committee's users work on its proposals"))
}

/// The committee's office: staff and admins (and platform operators) see and
/// review every proposal of the committee.
fn is_office(ctx: &TenantContext) -> bool {
    ctx.is_operator() || ctx.has_role(Role::Staff) || ctx.has_role(Role::CommitteeAdmin)
}

fn require_office(ctx: &TenantContext) -> Result<()> {
    if is_office(ctx) { Ok(()) } else { Err(ProposalsError::denied("this needs the STAFF or COMMITTEE_ADMIN role")) }
}

/// A proposal row with its co-signers and units.
pub(crate) struct Loaded {
    pub row: proposal::Model,
    pub co_signers: Vec<co_signer::Model>,
    pub units: Vec<unit::Model>,
}

impl Loaded {
    fn committee(&self) -> CommitteeId {
        CommitteeId(self.row.committee_id)
    }

    fn state(&self) -> ProposalState {
        ProposalState::parse(&self.row.state).unwrap_or(ProposalState::Draft)
    }

    fn is_proposer(&self, ctx: &TenantContext) -> bool {
        self.row.proposer_user_id == ctx.user_id.0
    }

    fn co_signer(&self, ctx: &TenantContext) -> Option<&co_signer::Model> {
        self.co_signers.iter().find(|c| c.user_id == ctx.user_id.0)
    }

    fn unit(&self, ctx: &TenantContext) -> Option<&unit::Model> {
        self.units.iter().find(|u| u.unit_user_id == ctx.user_id.0)
    }

    /// Who may see it: see the module docs of `grpc` and the proto.
    fn visible_to(&self, ctx: &TenantContext) -> bool {
        if ctx.is_operator() {
            return true;
        }
        if ctx.committee_id() != Some(self.committee()) {
            return false;
        }
        if self.is_proposer(ctx) || self.co_signer(ctx).is_some() || self.unit(ctx).is_some() {
            return true;
        }
        // The office sees everything but other people's drafts.
        is_office(ctx) && self.state() != ProposalState::Draft
    }

    fn proposer_ids(&self) -> Vec<String> {
        std::iter::once(self.row.proposer_user_id)
            .chain(self.co_signers.iter().map(|c| c.user_id))
            .map(|u| u.to_string())
            .collect()
    }

    fn category_name(&self) -> String {
        Category::from_i16(self.row.category).map(|c| c.as_str().to_owned()).unwrap_or_default()
    }

    pub fn into_domain(self) -> Proposal {
        let Loaded { row, co_signers, units } = self;
        Proposal {
            id: row.id,
            committee_id: CommitteeId(row.committee_id),
            kind: Kind::from_i16(row.kind).unwrap_or(Kind::Individual),
            title: row.title,
            body: row.body,
            category: Category::from_i16(row.category).unwrap_or(Category::Other),
            proposer: UserId(row.proposer_user_id),
            co_signers: co_signers
                .into_iter()
                .map(|c| CoSignature { user_id: UserId(c.user_id), confirmed: c.confirmed })
                .collect(),
            sponsor: row.sponsor,
            state: ProposalState::parse(&row.state).unwrap_or(ProposalState::Draft),
            number: row.number,
            term_id: row.term_id,
            session_id: row.session_id,
            key: row.key,
            supervising_leader: row.supervising_leader,
            decline_reason: row.decline_reason,
            conversion: Conversion::from_i16(row.conversion),
            merged_into: row.merged_into,
            units: units
                .into_iter()
                .map(|u| AssignedUnit {
                    user_id: UserId(u.unit_user_id),
                    role: UnitRole::from_i16(u.role).unwrap_or(UnitRole::Lead),
                    contact_date: u.contact_date,
                    contact_note: u.contact_note,
                    reply_class: ReplyClass::from_i16(u.reply_class),
                    reply_text: u.reply_text,
                    replied_at: u.replied_at,
                    on_time: u.on_time,
                    follow_up_date: u.follow_up_date,
                    follow_up: match (u.follow_up_carried_out, u.follow_up_by, u.follow_up_at) {
                        (Some(carried_out), Some(by), Some(at)) => {
                            Some(FollowUp { carried_out, note: u.follow_up_note, by: UserId(by), at })
                        }
                        _ => None,
                    },
                })
                .collect(),
            assign_date: row.assign_date,
            due_date: row.due_date,
            deadline_extended: row.deadline_extended,
            rehandle_count: row.rehandle_count,
            process_rating: Rating::from_i16(row.process_rating),
            result_rating: Rating::from_i16(row.result_rating),
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            submitted_at: row.submitted_at,
        }
    }
}

async fn load(tx: &Tx, id: Uuid) -> Result<Option<Loaded>> {
    let Some(row) = proposal::Entity::find_by_id(id).one(&**tx).await? else { return Ok(None) };
    let co_signers = co_signer::Entity::find()
        .filter(co_signer::Column::ProposalId.eq(id))
        .order_by_asc(co_signer::Column::UserId)
        .all(&**tx)
        .await?;
    let units = unit::Entity::find()
        .filter(unit::Column::ProposalId.eq(id))
        .order_by_asc(unit::Column::Role)
        .order_by_asc(unit::Column::UnitUserId)
        .all(&**tx)
        .await?;
    Ok(Some(Loaded { row, co_signers, units }))
}

/// A proposal the caller may see, or `NotFound` (also for another committee's).
async fn find_visible(tx: &Tx, ctx: &TenantContext, id: Uuid) -> Result<Loaded> {
    match load(tx, id).await? {
        Some(found) if found.visible_to(ctx) => Ok(found),
        _ => Err(ProposalsError::NotFound("proposal")),
    }
}

/// Writes a changed row back, bumping its version; `EtagMismatch` when
/// someone else changed it since it was read.
async fn save(tx: &Tx, mut row: proposal::Model) -> Result<()> {
    let (id, old) = (row.id, row.version);
    row.version = old + 1;
    row.updated_at = xieshang_platform::time::now();
    let active = proposal::ActiveModel::from(row).reset_all();
    let result = proposal::Entity::update_many()
        .set(active)
        .filter(proposal::Column::Id.eq(id))
        .filter(proposal::Column::Version.eq(old))
        .exec(&**tx)
        .await?;
    if result.rows_affected == 0 {
        return Err(ProposalsError::EtagMismatch);
    }
    Ok(())
}

/// Audits a change of a proposal (in its committee), and emits its event.
async fn record(
    tx: &Tx,
    ctx: &TenantContext,
    committee_id: CommitteeId,
    target_type: &str,
    target_id: impl ToString,
    changes: serde_json::Value,
    event: Option<Payload>,
) -> Result<()> {
    let record = AuditRecord { committee: Some(committee_id), target_type, target_id: target_id.to_string(), changes };
    tx.audit(&Actor::from(ctx), record).await?;
    if let Some(payload) = event {
        tx.emit(&origin(tx, Some(ctx.user_id), committee_id).await?, payload).await?;
    }
    Ok(())
}

/// Where an event of a committee belongs: the committee and its ancestors, nearest first.
async fn origin(tx: &Tx, actor: Option<UserId>, id: CommitteeId) -> Result<EventOrigin> {
    Ok(EventOrigin::of(tx, id, actor).await?)
}

/// The ids among `users` that hold `role` in `committee`.
async fn holders(tx: &Tx, committee_id: CommitteeId, role: Role, users: &[UserId]) -> Result<Vec<UserId>> {
    let ids: Vec<Uuid> = users.iter().map(|u| u.0).collect();
    Ok(user_role::Entity::find()
        .filter(user_role::Column::UserId.is_in(ids))
        .filter(user_role::Column::Role.eq(role as i16))
        .filter(user_role::Column::CommitteeId.eq(committee_id.0))
        .all(&**tx)
        .await?
        .into_iter()
        .map(|r| UserId(r.user_id))
        .collect())
}
