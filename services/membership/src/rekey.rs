//! Rotating the SM4 key of personal information (密钥轮换): re-encrypts every
//! stored value (members' phone and ID number, studio requests' contact
//! phone, and the consultation service's public topic contacts) from the
//! current key to a new one and recomputes the keyed ID-number digests, one
//! committee per transaction. Topic contacts still in the legacy plain column
//! (written before they were sealed) are sealed under the new key here and
//! the plain value cleared: the migration that introduced sealing could not,
//! having no key.
//!
//! The topic table is the consultation service's; it is reached here, through
//! a minimal entity of the two columns involved, because the key is one per
//! installation and one command must rotate all of it.
//!
//! Restartable without bookkeeping: each value is tried under the new key
//! first (see [`Pii::reseal`]), so committees already moved are counted as
//! such and a run that stopped half way finishes on the next run. Values are
//! never logged and never reach the audit log; the run writes one audit row
//! per committee it changed, with counts only.
//!
//! Servers must not write personal information while it runs (they would
//! seal new values under the old key after their committee was done): the
//! operator stops them, runs this, swaps the key, and starts them again.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::audit::{Actor, AuditRecord};
use xieshang_platform::db::{Db, Scope, Tx};
use xieshang_platform::ids::CommitteeId;

use xieshang_platform::pii::TOPIC_CONTACT_PHONE;

use crate::crypto::Pii;
pub use crate::crypto::parse_key;
use crate::entity::{committee, member, studio_request};

// The consultation service's topics: only what the rotation reads and writes.
xieshang_platform::entity!(topic, "consultation_topics", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub committee_id: Uuid,
    /// Legacy plain phone (rows from before sealing).
    pub contact_phone: Option<String>,
    pub contact_phone_enc: Option<Vec<u8>>,
});
use crate::error::{MembershipError, Result};

/// Where a run is, after each committee and every [`PROGRESS_EVERY`] rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RekeyProgress {
    /// The committee being worked on (its division code).
    pub committee_code: String,
    pub rows_done: u64,
    pub rows_total: u64,
}

/// What a run did. `*_rekeyed` rows were moved by this run; `*_current` were
/// already under the new key (from an earlier, interrupted run).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RekeyReport {
    pub committees: u64,
    pub committees_changed: u64,
    pub members_rekeyed: u64,
    pub members_current: u64,
    pub requests_rekeyed: u64,
    pub requests_current: u64,
    /// Public topic contacts (consultation) moved, already current, and
    /// sealed for the first time from the legacy plain column.
    pub topics_rekeyed: u64,
    pub topics_current: u64,
    pub topics_sealed: u64,
}

/// Progress is reported at least this often (in rows) within a committee.
pub const PROGRESS_EVERY: u64 = 200;

/// The studio requests' phone field, as `store::studios` seals it.
const REQUEST_PHONE: &str = "studio_request/contact_phone";

/// Re-encrypts everything sealed under `old_key` to `new_key`. A value that
/// opens under neither stops the run with [`MembershipError::Crypto`] (the
/// committee being worked on is rolled back, earlier ones stay done): that
/// means `old_key` is not the key the data was written with.
pub async fn rekey(
    db: &Db,
    old_key: [u8; 16],
    new_key: [u8; 16],
    progress: &mut (dyn FnMut(RekeyProgress) + Send),
) -> Result<RekeyReport> {
    if old_key == new_key {
        return Err(MembershipError::precondition("the new key is the key in use: nothing to rotate"));
    }
    let (old, new) = (Pii::new(old_key), Pii::new(new_key));
    let tx = db.begin(Scope::System).await?;
    let committees = committee::Entity::find().order_by_asc(committee::Column::Code).all(&*tx).await?;
    let rows_total = member::Entity::find().count(&*tx).await?
        + studio_request::Entity::find().count(&*tx).await?
        + topic::Entity::find().filter(with_contact()).count(&*tx).await?;
    tx.commit().await?;

    let mut report = RekeyReport { committees: committees.len() as u64, ..Default::default() };
    let mut rows_done = 0u64;
    for c in committees {
        let mut tick = |done: u64| {
            progress(RekeyProgress { committee_code: c.code.clone(), rows_done: done, rows_total });
        };
        let tx = db.begin(Scope::System).await?;
        let (members_rekeyed, members_current) =
            rekey_members(&tx, &old, &new, c.id, &mut rows_done, &mut tick).await?;
        let (requests_rekeyed, requests_current) =
            rekey_requests(&tx, &old, &new, c.id, &mut rows_done, &mut tick).await?;
        let topics = rekey_topics(&tx, &old, &new, c.id, &mut rows_done, &mut tick).await?;
        if members_rekeyed + requests_rekeyed + topics.rekeyed + topics.sealed > 0 {
            // Counts only: which values moved is no one's business, and their contents never go here.
            let actor = Actor { user_id: None, username: "system".into(), method: "cli:pii rekey".into() };
            let changes = json!({
                "action": "rekey_personal_information",
                "members_rekeyed": members_rekeyed,
                "studio_requests_rekeyed": requests_rekeyed,
                "topic_contacts_rekeyed": topics.rekeyed,
                "topic_contacts_sealed": topics.sealed,
            });
            let record = AuditRecord {
                committee: Some(CommitteeId(c.id)),
                target_type: "committee",
                target_id: c.id.to_string(),
                changes,
            };
            tx.audit(&actor, record).await?;
            report.committees_changed += 1;
        }
        tx.commit().await?;
        report.members_rekeyed += members_rekeyed;
        report.members_current += members_current;
        report.requests_rekeyed += requests_rekeyed;
        report.requests_current += requests_current;
        report.topics_rekeyed += topics.rekeyed;
        report.topics_current += topics.current;
        report.topics_sealed += topics.sealed;
        tick(rows_done);
    }
    Ok(report)
}

/// Moves one committee's members; returns (moved, already current).
async fn rekey_members(
    tx: &Tx,
    old: &Pii,
    new: &Pii,
    committee: Uuid,
    rows_done: &mut u64,
    tick: &mut impl FnMut(u64),
) -> Result<(u64, u64)> {
    let rows = member::Entity::find()
        .filter(member::Column::CommitteeId.eq(committee))
        .order_by_asc(member::Column::Id)
        .all(&**tx)
        .await?;
    let (mut moved, mut current) = (0, 0);
    for row in rows {
        let (_, phone) = old.reseal(new, row.id, "phone", &row.phone_enc)?;
        let (id_number, id_enc) = old.reseal(new, row.id, "id_number", &row.id_number_enc)?;
        // The digest is keyed from the SM4 key, so it moves with it; the
        // per-committee unique index then keeps working under the new key.
        let digest = new.id_digest(&id_number);
        if phone.is_none() && id_enc.is_none() && digest == row.id_digest {
            current += 1;
        } else {
            // Neither version nor updated_at changes: the member's data did
            // not, and etags that clients hold stay valid.
            member::Entity::update_many()
                .col_expr(member::Column::PhoneEnc, Expr::value(phone.unwrap_or(row.phone_enc)))
                .col_expr(member::Column::IdNumberEnc, Expr::value(id_enc.unwrap_or(row.id_number_enc)))
                .col_expr(member::Column::IdDigest, Expr::value(digest))
                .filter(member::Column::Id.eq(row.id))
                .exec(&**tx)
                .await?;
            moved += 1;
        }
        *rows_done += 1;
        if rows_done.is_multiple_of(PROGRESS_EVERY) {
            tick(*rows_done);
        }
    }
    Ok((moved, current))
}

/// Moves one committee's studio requests (their contact phone); returns (moved, already current).
async fn rekey_requests(
    tx: &Tx,
    old: &Pii,
    new: &Pii,
    committee: Uuid,
    rows_done: &mut u64,
    tick: &mut impl FnMut(u64),
) -> Result<(u64, u64)> {
    let rows = studio_request::Entity::find()
        .filter(studio_request::Column::CommitteeId.eq(committee))
        .order_by_asc(studio_request::Column::Id)
        .all(&**tx)
        .await?;
    let (mut moved, mut current) = (0, 0);
    for row in rows {
        match old.reseal(new, row.id, REQUEST_PHONE, &row.contact_phone_enc)?.1 {
            None => current += 1,
            Some(sealed) => {
                studio_request::Entity::update_many()
                    .col_expr(studio_request::Column::ContactPhoneEnc, Expr::value(sealed))
                    .filter(studio_request::Column::Id.eq(row.id))
                    .exec(&**tx)
                    .await?;
                moved += 1;
            }
        }
        *rows_done += 1;
        if rows_done.is_multiple_of(PROGRESS_EVERY) {
            tick(*rows_done);
        }
    }
    Ok((moved, current))
}

/// Topics with a public contact phone, sealed or legacy plain.
fn with_contact() -> sea_orm::Condition {
    sea_orm::Condition::any()
        .add(topic::Column::ContactPhoneEnc.is_not_null())
        .add(topic::Column::ContactPhone.is_not_null())
}

/// What happened to one committee's topic contacts.
#[derive(Default)]
struct TopicCounts {
    rekeyed: u64,
    current: u64,
    sealed: u64,
}

/// Moves one committee's public topic contacts to the new key, and seals the
/// legacy plain ones under it.
async fn rekey_topics(
    tx: &Tx,
    old: &Pii,
    new: &Pii,
    committee: Uuid,
    rows_done: &mut u64,
    tick: &mut impl FnMut(u64),
) -> Result<TopicCounts> {
    let rows = topic::Entity::find()
        .filter(topic::Column::CommitteeId.eq(committee))
        .filter(with_contact())
        .order_by_asc(topic::Column::Id)
        .all(&**tx)
        .await?;
    let mut counts = TopicCounts::default();
    for row in rows {
        let sealed = match (&row.contact_phone_enc, &row.contact_phone) {
            (Some(stored), _) => {
                let moved = old.reseal(new, row.id, TOPIC_CONTACT_PHONE, stored)?.1;
                if moved.is_some() {
                    counts.rekeyed += 1;
                } else {
                    counts.current += 1;
                }
                moved
            }
            (None, Some(plain)) => {
                counts.sealed += 1;
                Some(new.seal(row.id, TOPIC_CONTACT_PHONE, plain))
            }
            (None, None) => None,
        };
        if let Some(sealed) = sealed {
            // The plain column is cleared in the same statement: a sealed row
            // never keeps its plain twin.
            topic::Entity::update_many()
                .col_expr(topic::Column::ContactPhoneEnc, Expr::value(sealed))
                .col_expr(topic::Column::ContactPhone, Expr::value(Option::<String>::None))
                .filter(topic::Column::Id.eq(row.id))
                .exec(&**tx)
                .await?;
        }
        *rows_done += 1;
        if rows_done.is_multiple_of(PROGRESS_EVERY) {
            tick(*rows_done);
        }
    }
    Ok(counts)
}
