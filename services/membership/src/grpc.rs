//! The gRPC surface: the only module that touches generated protobuf types.
//! Every handler reads the same: authenticate → convert and validate →
//! call the store → convert back; errors map through `MembershipError`.

mod projects;
mod reporting;
mod studios;

pub use projects::PerformanceApi;
pub use reporting::ReportingApi;
pub use studios::StudioApi;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::{Request, Response, Status};
use uuid::Uuid;
use xieshang_platform::auth::authenticated;
use xieshang_platform::ids::UserId;
use xieshang_platform::status::invalid_argument;
use xieshang_platform::time::{date_from_proto, date_to_proto, timestamp};
use xieshang_proto::membership::v1 as pb;

use crate::domain::{
    self, Gender, Member, MemberRole, MemberStatus, NewMember, Party, Profile, RecordEntry, RecordKind, ReferenceItem,
    ReferenceKind,
};
use crate::error::MembershipError;
use crate::roster_file::{FileFormat, ImportPhase, ImportProgress, ImportReport, MAX_FILE_BYTES};
use crate::store::{MemberFilter, MemberPatch, NewRecordEntry, Store};

type Reply<T> = Result<Response<T>, Status>;

fn id(field: &str, s: &str) -> Result<Uuid, Status> {
    if s.is_empty() {
        return Err(invalid_argument(field, "is required"));
    }
    Uuid::parse_str(s).map_err(|_| invalid_argument(field, "is not a valid id"))
}

fn optional_id(field: &str, s: &str) -> Result<Option<Uuid>, Status> {
    if s.is_empty() { Ok(None) } else { id(field, s).map(Some) }
}

fn optional_user(field: &str, s: &str) -> Result<Option<UserId>, Status> {
    if s.is_empty() { Ok(None) } else { UserId::parse(field, s).map(Some) }
}

/// Parses a protobuf enum number into a domain enum; `None` for UNSPECIFIED.
fn enum_value<T>(field: &str, v: i32, from: fn(i16) -> Option<T>, what: &str) -> Result<Option<T>, Status> {
    if v == 0 {
        return Ok(None);
    }
    i16::try_from(v)
        .ok()
        .and_then(from)
        .map(Some)
        .ok_or_else(|| invalid_argument(field, format!("{v} is not a {what}")))
}

fn required<T>(field: &str, v: Option<T>) -> Result<T, Status> {
    v.ok_or_else(|| invalid_argument(field, "is required"))
}

fn reference_kind(field: &str, v: i32) -> Result<ReferenceKind, Status> {
    required(field, enum_value(field, v, ReferenceKind::from_i16, "reference kind")?)
}

fn record_kind(field: &str, v: i32) -> Result<RecordKind, Status> {
    required(field, enum_value(field, v, RecordKind::from_i16, "record kind")?)
}

fn term_number(v: i32) -> Result<i32, MembershipError> {
    if (1..=99).contains(&v) {
        Ok(v)
    } else {
        Err(MembershipError::invalid("member.term_number", "must be between 1 and 99"))
    }
}

fn birth_year(v: i32) -> Result<i32, MembershipError> {
    if v == 0 || (1900..=2100).contains(&v) {
        Ok(v)
    } else {
        Err(MembershipError::invalid("member.birth_year", "must be a year between 1900 and 2100"))
    }
}

/// Paths of a field mask, checked against the allowed ones.
fn mask_paths<'a>(mask: Option<&'a prost_types::FieldMask>, allowed: &[&str]) -> Result<Vec<&'a str>, Status> {
    let mask = mask.ok_or_else(|| invalid_argument("update_mask", "is required"))?;
    if mask.paths.is_empty() {
        return Err(invalid_argument("update_mask", "names no field"));
    }
    mask.paths
        .iter()
        .map(|p| {
            if allowed.contains(&p.as_str()) {
                Ok(p.as_str())
            } else {
                Err(invalid_argument("update_mask", format!("{p} cannot be updated; allowed: {}", allowed.join(", "))))
            }
        })
        .collect()
}

fn reference_to_proto(r: ReferenceItem) -> pb::ReferenceItem {
    pb::ReferenceItem {
        id: r.id.to_string(),
        committee_id: r.committee_id.to_string(),
        kind: r.kind as i32,
        code: r.code.unwrap_or_default(),
        name: r.name,
        create_time: Some(timestamp(r.created_at)),
        update_time: Some(timestamp(r.updated_at)),
        etag: domain::etag(r.version),
    }
}

fn opt_string(v: Option<Uuid>) -> String {
    v.map(|u| u.to_string()).unwrap_or_default()
}

fn member_to_proto(m: Member) -> pb::Member {
    let p = m.profile;
    pb::Member {
        id: m.id.to_string(),
        committee_id: m.committee_id.to_string(),
        name: p.name,
        gender: p.gender as i32,
        ethnicity: p.ethnicity,
        birth_year: p.birth_year,
        party: p.party as i32,
        sector_id: p.sector_id.to_string(),
        work_unit: p.work_unit,
        title: p.title,
        phone: m.masked_phone,
        id_number: m.masked_id_number,
        term_number: p.term_number,
        role: p.role as i32,
        standing_committee: p.standing_committee,
        activity_group_id: opt_string(p.activity_group_id),
        special_committee_id: opt_string(p.special_committee_id),
        liaison_station_id: opt_string(p.liaison_station_id),
        user_id: p.user_id.map(|u| u.to_string()).unwrap_or_default(),
        status: m.status as i32,
        status_date: m.status_date.map(date_to_proto),
        create_time: Some(timestamp(m.created_at)),
        update_time: Some(timestamp(m.updated_at)),
        etag: domain::etag(m.version),
    }
}

fn entry_to_proto(e: RecordEntry) -> pb::RecordEntry {
    pb::RecordEntry {
        id: e.id.to_string(),
        member_id: e.member_id.to_string(),
        kind: e.kind as i32,
        date: Some(date_to_proto(e.date)),
        points: e.points,
        description: e.description,
        evidence_ref: e.evidence_ref,
        source: e.source as i32,
        source_event_id: opt_string(e.source_event_id),
        verified_by_user_id: e.verified_by.map(|u| u.to_string()).unwrap_or_default(),
        create_time: Some(timestamp(e.created_at)),
    }
}

fn rules_to_proto(committee: xieshang_platform::ids::CommitteeId, r: domain::PointRules) -> pb::PointRules {
    pb::PointRules {
        committee_id: committee.to_string(),
        year: r.year,
        rules: r.rules.into_iter().map(|(kind, points)| pb::PointRule { kind: kind as i32, points }).collect(),
    }
}

/// The profile and personal information of a new member, validated in shape.
fn new_member(m: &pb::Member) -> Result<(NewMember, i32), Status> {
    let (id_number, id_year) = domain::id_number("member.id_number", &m.id_number)?;
    let profile = Profile {
        name: domain::text("member.name", &m.name, 40, true)?,
        gender: required("member.gender", enum_value("member.gender", m.gender, Gender::from_i16, "gender")?)?,
        ethnicity: domain::text("member.ethnicity", &m.ethnicity, 20, false)?,
        birth_year: birth_year(m.birth_year)?,
        party: required("member.party", enum_value("member.party", m.party, Party::from_i16, "party affiliation")?)?,
        sector_id: id("member.sector_id", &m.sector_id)?,
        work_unit: domain::text("member.work_unit", &m.work_unit, 100, false)?,
        title: domain::text("member.title", &m.title, 100, false)?,
        term_number: term_number(m.term_number)?,
        role: required("member.role", enum_value("member.role", m.role, MemberRole::from_i16, "member role")?)?,
        standing_committee: m.standing_committee,
        activity_group_id: optional_id("member.activity_group_id", &m.activity_group_id)?,
        special_committee_id: optional_id("member.special_committee_id", &m.special_committee_id)?,
        liaison_station_id: optional_id("member.liaison_station_id", &m.liaison_station_id)?,
        user_id: optional_user("member.user_id", &m.user_id)?,
    };
    let phone = domain::phone("member.phone", &m.phone)?;
    Ok((NewMember { profile, phone, id_number }, id_year))
}

const MEMBER_PATHS: &[&str] = &[
    "name",
    "gender",
    "ethnicity",
    "birth_year",
    "party",
    "sector_id",
    "work_unit",
    "title",
    "phone",
    "id_number",
    "term_number",
    "role",
    "standing_committee",
    "activity_group_id",
    "special_committee_id",
    "liaison_station_id",
    "user_id",
];

fn member_patch(m: &pb::Member, paths: &[&str]) -> Result<MemberPatch, Status> {
    let mut patch = MemberPatch::default();
    for path in paths {
        match *path {
            "name" => patch.name = Some(domain::text("member.name", &m.name, 40, true)?),
            "gender" => {
                patch.gender =
                    Some(required("member.gender", enum_value("member.gender", m.gender, Gender::from_i16, "gender")?)?)
            }
            "ethnicity" => patch.ethnicity = Some(domain::text("member.ethnicity", &m.ethnicity, 20, false)?),
            "birth_year" => patch.birth_year = Some(birth_year(m.birth_year)?),
            "party" => {
                patch.party = Some(required(
                    "member.party",
                    enum_value("member.party", m.party, Party::from_i16, "party affiliation")?,
                )?)
            }
            "sector_id" => patch.sector_id = Some(id("member.sector_id", &m.sector_id)?),
            "work_unit" => patch.work_unit = Some(domain::text("member.work_unit", &m.work_unit, 100, false)?),
            "title" => patch.title = Some(domain::text("member.title", &m.title, 100, false)?),
            "phone" => patch.phone = Some(domain::phone("member.phone", &m.phone)?),
            "id_number" => patch.id_number = Some(domain::id_number("member.id_number", &m.id_number)?),
            "term_number" => patch.term_number = Some(term_number(m.term_number)?),
            "role" => {
                patch.role = Some(required(
                    "member.role",
                    enum_value("member.role", m.role, MemberRole::from_i16, "member role")?,
                )?)
            }
            "standing_committee" => patch.standing_committee = Some(m.standing_committee),
            "activity_group_id" => {
                patch.activity_group_id = Some(optional_id("member.activity_group_id", &m.activity_group_id)?)
            }
            "special_committee_id" => {
                patch.special_committee_id = Some(optional_id("member.special_committee_id", &m.special_committee_id)?)
            }
            "liaison_station_id" => {
                patch.liaison_station_id = Some(optional_id("member.liaison_station_id", &m.liaison_station_id)?)
            }
            "user_id" => patch.user_id = Some(optional_user("member.user_id", &m.user_id)?),
            _ => {}
        }
    }
    Ok(patch)
}

fn progress_to_proto(p: ImportProgress) -> pb::ImportMembersResponse {
    let phase = match p.phase {
        ImportPhase::Validating => pb::ImportPhase::Validating,
        ImportPhase::Writing => pb::ImportPhase::Writing,
    };
    pb::ImportMembersResponse {
        message: Some(pb::import_members_response::Message::Progress(pb::ImportProgress {
            phase: phase as i32,
            rows_done: p.rows_done,
            rows_total: p.rows_total,
        })),
    }
}

fn import_report_to_proto(r: ImportReport) -> pb::ImportMembersResponse {
    pb::ImportMembersResponse {
        message: Some(pb::import_members_response::Message::Report(pb::ImportReport {
            dry_run: r.dry_run,
            rows_total: r.rows_total,
            rows_valid: r.rows_valid,
            errors: r
                .errors
                .into_iter()
                .map(|e| pb::ImportRowError { row: e.row as i32, column: e.column, message: e.message })
                .collect(),
            committed: r.committed,
            members_created: r.members_created,
        })),
    }
}

type ImportStream = UnboundedReceiverStream<Result<pb::ImportMembersResponse, Status>>;

/// `xieshang.membership.v1.MembershipService`.
pub struct MembershipApi(pub Store);

#[tonic::async_trait]
impl pb::membership_service_server::MembershipService for MembershipApi {
    async fn create_reference_item(&self, req: Request<pb::CreateReferenceItemRequest>) -> Reply<pb::ReferenceItem> {
        let ctx = authenticated(&req)?;
        let item = req.get_ref().item.as_ref().ok_or_else(|| invalid_argument("item", "is required"))?;
        let kind = reference_kind("item.kind", item.kind)?;
        let code = if item.code.trim().is_empty() { None } else { Some(domain::code("item.code", &item.code)?) };
        let name = domain::text("item.name", &item.name, 60, true)?;
        let created = self.0.create_reference_item(ctx, kind, code, name).await?;
        Ok(Response::new(reference_to_proto(created)))
    }

    async fn list_reference_items(
        &self,
        req: Request<pb::ListReferenceItemsRequest>,
    ) -> Reply<pb::ListReferenceItemsResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let kind = reference_kind("kind", r.kind)?;
        let page = self.0.list_reference_items(ctx, kind, r.page_size, &r.page_token).await?;
        Ok(Response::new(pb::ListReferenceItemsResponse {
            items: page.items.into_iter().map(reference_to_proto).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn update_reference_item(&self, req: Request<pb::UpdateReferenceItemRequest>) -> Reply<pb::ReferenceItem> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let item = r.item.as_ref().ok_or_else(|| invalid_argument("item", "is required"))?;
        let item_id = id("item.id", &item.id)?;
        mask_paths(r.update_mask.as_ref(), &["name"])?;
        let name = domain::text("item.name", &item.name, 60, true)?;
        let updated = self.0.rename_reference_item(ctx, item_id, name, &item.etag).await?;
        Ok(Response::new(reference_to_proto(updated)))
    }

    async fn create_member(&self, req: Request<pb::CreateMemberRequest>) -> Reply<pb::Member> {
        let ctx = authenticated(&req)?;
        let m = req.get_ref().member.as_ref().ok_or_else(|| invalid_argument("member", "is required"))?;
        let (new, id_year) = new_member(m)?;
        let created = self.0.create_member(ctx, new, id_year).await?;
        Ok(Response::new(member_to_proto(created)))
    }

    async fn get_member(&self, req: Request<pb::GetMemberRequest>) -> Reply<pb::Member> {
        let ctx = authenticated(&req)?;
        let member_id = id("id", &req.get_ref().id)?;
        Ok(Response::new(member_to_proto(self.0.get_member(ctx, member_id).await?)))
    }

    async fn list_members(&self, req: Request<pb::ListMembersRequest>) -> Reply<pb::ListMembersResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let filter = MemberFilter {
            sector_id: optional_id("sector_id", &r.sector_id)?,
            activity_group_id: optional_id("activity_group_id", &r.activity_group_id)?,
            special_committee_id: optional_id("special_committee_id", &r.special_committee_id)?,
            party: enum_value("party", r.party, Party::from_i16, "party affiliation")?,
            status: enum_value("status", r.status, MemberStatus::from_i16, "member status")?,
            name_contains: r.name_contains.clone(),
            page_size: r.page_size,
            page_token: r.page_token.clone(),
        };
        let page = self.0.list_members(ctx, filter).await?;
        Ok(Response::new(pb::ListMembersResponse {
            members: page.items.into_iter().map(member_to_proto).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn update_member(&self, req: Request<pb::UpdateMemberRequest>) -> Reply<pb::Member> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let m = r.member.as_ref().ok_or_else(|| invalid_argument("member", "is required"))?;
        let member_id = id("member.id", &m.id)?;
        let paths = mask_paths(r.update_mask.as_ref(), MEMBER_PATHS)?;
        let patch = member_patch(m, &paths)?;
        let updated = self.0.update_member(ctx, member_id, patch, &m.etag).await?;
        Ok(Response::new(member_to_proto(updated)))
    }

    async fn change_member_status(&self, req: Request<pb::ChangeMemberStatusRequest>) -> Reply<pb::Member> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let member_id = id("id", &r.id)?;
        let status = required("status", enum_value("status", r.status, MemberStatus::from_i16, "member status")?)?;
        let date = date_from_proto("effective_date", r.effective_date.as_ref())?;
        let reason = domain::text("reason", &r.reason, 500, true)?;
        let updated = self.0.change_member_status(ctx, member_id, status, date, reason, &r.etag).await?;
        Ok(Response::new(member_to_proto(updated)))
    }

    async fn list_member_status_changes(
        &self,
        req: Request<pb::ListMemberStatusChangesRequest>,
    ) -> Reply<pb::ListMemberStatusChangesResponse> {
        let ctx = authenticated(&req)?;
        let member_id = id("member_id", &req.get_ref().member_id)?;
        let changes = self.0.list_member_status_changes(ctx, member_id).await?;
        Ok(Response::new(pb::ListMemberStatusChangesResponse {
            changes: changes
                .into_iter()
                .map(|c| pb::MemberStatusChange {
                    from_status: c.from as i32,
                    to_status: c.to as i32,
                    effective_date: Some(date_to_proto(c.effective_date)),
                    reason: c.reason,
                    changed_by_user_id: c.changed_by.map(|u| u.to_string()).unwrap_or_default(),
                    change_time: Some(timestamp(c.created_at)),
                })
                .collect(),
        }))
    }

    async fn reveal_member_contact(
        &self,
        req: Request<pb::RevealMemberContactRequest>,
    ) -> Reply<pb::RevealMemberContactResponse> {
        let ctx = authenticated(&req)?;
        let member_id = id("id", &req.get_ref().id)?;
        let (phone, id_number) = self.0.reveal_member_contact(ctx, member_id).await?;
        Ok(Response::new(pb::RevealMemberContactResponse { phone, id_number }))
    }

    async fn create_record_entry(&self, req: Request<pb::CreateRecordEntryRequest>) -> Reply<pb::RecordEntry> {
        let ctx = authenticated(&req)?;
        let e = req.get_ref().entry.as_ref().ok_or_else(|| invalid_argument("entry", "is required"))?;
        if !(0..=100).contains(&e.points) {
            return Err(invalid_argument("entry.points", "must be between 0 and 100"));
        }
        let new = NewRecordEntry {
            member_id: id("entry.member_id", &e.member_id)?,
            kind: record_kind("entry.kind", e.kind)?,
            date: date_from_proto("entry.date", e.date.as_ref())?,
            points: (e.points != 0).then_some(e.points),
            description: domain::text("entry.description", &e.description, 500, true)?,
            evidence_ref: domain::text("entry.evidence_ref", &e.evidence_ref, 200, false)?,
        };
        Ok(Response::new(entry_to_proto(self.0.create_record_entry(ctx, new).await?)))
    }

    async fn verify_record_entry(&self, req: Request<pb::VerifyRecordEntryRequest>) -> Reply<pb::RecordEntry> {
        let ctx = authenticated(&req)?;
        let entry_id = id("id", &req.get_ref().id)?;
        Ok(Response::new(entry_to_proto(self.0.verify_record_entry(ctx, entry_id).await?)))
    }

    async fn list_record_entries(
        &self,
        req: Request<pb::ListRecordEntriesRequest>,
    ) -> Reply<pb::ListRecordEntriesResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let member_id = id("member_id", &r.member_id)?;
        let page = self.0.list_record_entries(ctx, member_id, r.year, r.page_size, &r.page_token).await?;
        Ok(Response::new(pb::ListRecordEntriesResponse {
            entries: page.items.into_iter().map(entry_to_proto).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn get_point_rules(&self, req: Request<pb::GetPointRulesRequest>) -> Reply<pb::PointRules> {
        let ctx = authenticated(&req)?;
        let (committee, rules) = self.0.get_point_rules(ctx, req.get_ref().year).await?;
        Ok(Response::new(rules_to_proto(committee, rules)))
    }

    async fn set_point_rules(&self, req: Request<pb::SetPointRulesRequest>) -> Reply<pb::PointRules> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref().rules.as_ref().ok_or_else(|| invalid_argument("rules", "is required"))?;
        let rules = r
            .rules
            .iter()
            .map(|rule| Ok((record_kind("rules.rules.kind", rule.kind)?, rule.points)))
            .collect::<Result<Vec<_>, Status>>()?;
        let (committee, current) = self.0.set_point_rules(ctx, r.year, rules).await?;
        Ok(Response::new(rules_to_proto(committee, current)))
    }

    async fn get_my_record(&self, req: Request<pb::GetMyRecordRequest>) -> Reply<pb::MyRecord> {
        let ctx = authenticated(&req)?;
        let record = self.0.get_my_record(ctx, req.get_ref().year).await?;
        Ok(Response::new(pb::MyRecord {
            member: Some(member_to_proto(record.member)),
            year: record.year,
            entries: record.entries.into_iter().map(entry_to_proto).collect(),
            total_points: record.total_points,
            group_rank: record.group_rank,
            group_size: record.group_size,
            ranking: record.ranking.into_iter().map(|(rank, name)| pb::RankingPlace { rank, name }).collect(),
        }))
    }

    type ImportMembersStream = ImportStream;

    async fn import_members(&self, req: Request<pb::ImportMembersRequest>) -> Reply<ImportStream> {
        let ctx = authenticated(&req)?.clone();
        self.0.check_office(&ctx)?;
        let r = req.into_inner();
        let format = match pb::RosterFormat::try_from(r.format) {
            Ok(pb::RosterFormat::Xlsx) => FileFormat::Xlsx,
            Ok(pb::RosterFormat::Csv) => FileFormat::Csv,
            _ => return Err(invalid_argument("format", "must be ROSTER_FORMAT_XLSX or ROSTER_FORMAT_CSV")),
        };
        if r.content.is_empty() {
            return Err(invalid_argument("content", "is required"));
        }
        if r.content.len() > MAX_FILE_BYTES {
            return Err(invalid_argument("content", "must be at most 10 MB"));
        }
        if r.progress_every < 0 {
            return Err(invalid_argument("progress_every", "must not be negative"));
        }
        let every = if r.progress_every == 0 { 100 } else { r.progress_every as usize };
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let store = self.0.clone();
        tokio::spawn(async move {
            let progress_sender = sender.clone();
            let mut progress = move |p: ImportProgress| {
                let _ = progress_sender.send(Ok(progress_to_proto(p)));
            };
            let outcome = store.import_members(&ctx, format, &r.content, r.dry_run, every, &mut progress).await;
            let _ = sender.send(outcome.map(import_report_to_proto).map_err(Status::from));
        });
        Ok(Response::new(UnboundedReceiverStream::new(receiver)))
    }

    async fn export_members(&self, req: Request<pb::ExportMembersRequest>) -> Reply<pb::ExportMembersResponse> {
        let ctx = authenticated(&req)?;
        let (content, member_count) = self.0.export_members(ctx, req.get_ref().reveal_personal_information).await?;
        let file_name = format!("委员名单-{}.xlsx", xieshang_platform::time::now().format("%Y%m%d"));
        Ok(Response::new(pb::ExportMembersResponse { content, file_name, member_count }))
    }
}
