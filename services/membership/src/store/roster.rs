//! Roster files: import (validate every row, then write all or nothing in one
//! transaction) and export as .xlsx.

use std::collections::{HashMap, HashSet};

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;

use super::events::{emit_all, member_enrolled};
use super::members::to_domain;
use super::{Store, audit, office};
use crate::domain::{MemberStatus, ReferenceKind};
use crate::entity::{member, reference_item};
use crate::error::{MembershipError, Result};
use crate::roster_file::{
    self, FileFormat, ImportPhase, ImportProgress, ImportReport, Lookup, MAX_FILE_BYTES, ParsedRow, RowError,
};

/// Rows per INSERT statement (15 000 bound values at most, below every backend's limit).
const BATCH: usize = 500;

impl Store {
    /// Validates every row of a roster file and, unless `dry_run` or any row
    /// is bad, creates every member in one transaction. `progress` is called
    /// every `every` rows while validating and after each batch written.
    pub async fn import_members(
        &self,
        ctx: &TenantContext,
        format: FileFormat,
        content: &[u8],
        dry_run: bool,
        every: usize,
        progress: &mut (dyn FnMut(ImportProgress) + Send),
    ) -> Result<ImportReport> {
        let committee = office(ctx)?;
        if content.is_empty() {
            return Err(MembershipError::invalid("content", "is required"));
        }
        if content.len() > MAX_FILE_BYTES {
            return Err(MembershipError::invalid("content", "must be at most 10 MB"));
        }
        let every = every.max(1);
        let rows = roster_file::read(format, content).map_err(|m| MembershipError::invalid("content", m))?;
        let Some(((header_row, header), data)) = rows.split_first() else {
            return Err(MembershipError::invalid("content", "文件中没有任何内容"));
        };
        let total = data.len();
        let mut report = ImportReport { dry_run, rows_total: total as i32, ..Default::default() };
        let columns = match roster_file::columns(*header_row, header) {
            Ok(c) => c,
            Err(errors) => {
                report.errors = errors;
                return Ok(report);
            }
        };
        let tx = self.begin(ctx).await?;
        let mut lookup = Lookup::default();
        let items = reference_item::Entity::find()
            .filter(reference_item::Column::CommitteeId.eq(committee.0))
            .all(&*tx)
            .await?;
        for item in items {
            if let Some(kind) = ReferenceKind::from_i16(item.kind) {
                lookup.add(kind, item.id, &item.name, item.code.as_deref());
            }
        }
        let existing: HashSet<String> = member::Entity::find()
            .select_only()
            .column(member::Column::IdDigest)
            .filter(member::Column::CommitteeId.eq(committee.0))
            .into_tuple::<String>()
            .all(&*tx)
            .await?
            .into_iter()
            .collect();
        let mut seen: HashMap<String, u32> = HashMap::new();
        let mut valid: Vec<(ParsedRow, String)> = Vec::with_capacity(total);
        for (i, (row, cells)) in data.iter().enumerate() {
            match roster_file::parse_row(*row, cells, &columns, &lookup) {
                Ok(parsed) => {
                    let digest = self.pii.id_digest(&parsed.member.id_number);
                    if existing.contains(&digest) {
                        report.errors.push(RowError::cell(*row, "身份证号", "与委员名单中已有的委员重复"));
                    } else if let Some(first) = seen.get(&digest) {
                        report.errors.push(RowError::cell(*row, "身份证号", &format!("与第{first}行重复")));
                    } else {
                        seen.insert(digest.clone(), *row);
                        valid.push((parsed, digest));
                    }
                }
                Err(errors) => report.errors.extend(errors),
            }
            if (i + 1) % every == 0 || i + 1 == total {
                progress(ImportProgress {
                    phase: ImportPhase::Validating,
                    rows_done: i as i32 + 1,
                    rows_total: total as i32,
                });
            }
        }
        report.rows_valid = valid.len() as i32;
        if dry_run || !report.errors.is_empty() {
            tx.commit().await?;
            return Ok(report);
        }
        let now = xieshang_platform::time::now();
        let mut ids = Vec::with_capacity(valid.len());
        let mut enrolled = Vec::with_capacity(valid.len());
        for chunk in valid.chunks(BATCH) {
            let models: Vec<member::ActiveModel> = chunk
                .iter()
                .map(|(parsed, digest)| {
                    let id = Uuid::now_v7();
                    ids.push(id);
                    let (m, p) = (&parsed.member, &parsed.member.profile);
                    let row = member::Model {
                        id,
                        committee_id: committee.0,
                        name: p.name.clone(),
                        gender: p.gender as i16,
                        ethnicity: p.ethnicity.clone(),
                        birth_year: p.birth_year,
                        party: p.party as i16,
                        sector_id: p.sector_id,
                        work_unit: p.work_unit.clone(),
                        title: p.title.clone(),
                        phone_enc: self.pii.seal(id, "phone", &m.phone),
                        id_number_enc: self.pii.seal(id, "id_number", &m.id_number),
                        id_digest: digest.clone(),
                        term_number: p.term_number,
                        role: p.role as i16,
                        standing_committee: p.standing_committee,
                        activity_group_id: p.activity_group_id,
                        special_committee_id: p.special_committee_id,
                        liaison_station_id: p.liaison_station_id,
                        user_id: None,
                        status: MemberStatus::Serving as i16,
                        status_date: None,
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    };
                    enrolled.push(member_enrolled(&row));
                    member::ActiveModel::from(row).reset_all()
                })
                .collect();
            member::Entity::insert_many(models).exec_without_returning(&*tx).await.map_err(
                MembershipError::on_unique("content", "another member of this committee has an ID number in the file"),
            )?;
            progress(ImportProgress {
                phase: ImportPhase::Writing,
                rows_done: ids.len() as i32,
                rows_total: valid.len() as i32,
            });
        }
        // Personal information stays out of the audit log.
        let changes = json!({"action": "import", "format": format!("{format:?}").to_uppercase(),
            "members_created": ids.len(), "member_ids": ids});
        audit(&tx, ctx, committee, "member_import", Uuid::now_v7(), changes).await?;
        // One event per member, in the import's transaction: all or nothing, like the rows.
        emit_all(&tx, committee, Some(ctx.user_id), enrolled).await?;
        tx.commit().await?;
        report.committed = true;
        report.members_created = ids.len() as i32;
        Ok(report)
    }

    /// The serving members as .xlsx, oldest entry first; phone and ID number
    /// masked unless `reveal`. Audited (with whether anything was revealed).
    pub async fn export_members(&self, ctx: &TenantContext, reveal: bool) -> Result<(Vec<u8>, i32)> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let names: HashMap<Uuid, String> = reference_item::Entity::find()
            .filter(reference_item::Column::CommitteeId.eq(committee.0))
            .all(&*tx)
            .await?
            .into_iter()
            .map(|i| (i.id, i.name))
            .collect();
        let rows = member::Entity::find()
            .filter(member::Column::CommitteeId.eq(committee.0))
            .filter(member::Column::Status.eq(MemberStatus::Serving as i16))
            .order_by_asc(member::Column::Id)
            .all(&*tx)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let (id, phone_enc, id_enc) = (row.id, row.phone_enc.clone(), row.id_number_enc.clone());
            let m = to_domain(&self.pii, row)?;
            let (phone, id_number) = if reveal {
                (self.pii.open(id, "phone", &phone_enc)?, self.pii.open(id, "id_number", &id_enc)?)
            } else {
                (m.masked_phone.clone(), m.masked_id_number.clone())
            };
            out.push(roster_file::export_row(&m.profile, &phone, &id_number, &names));
        }
        let bytes = roster_file::write_xlsx(&out).map_err(MembershipError::Spreadsheet)?;
        let revealed: &[&str] = if reveal { &["phone", "id_number"] } else { &[] };
        let changes = json!({"action": "export", "members": out.len(), "revealed": revealed});
        audit(&tx, ctx, committee, "member_export", Uuid::now_v7(), changes).await?;
        tx.commit().await?;
        Ok((bytes, out.len() as i32))
    }
}
