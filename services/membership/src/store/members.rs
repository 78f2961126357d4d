//! The roster: members, their status history, and their personal information.

use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::Tx;
use xieshang_platform::ids::{CommitteeId, UserId};

use super::events::{emit_all, member_enrolled, member_status_changed};
use super::reference::check_reference;
use super::{Page, Store, audit, is_member_user, is_office, office, own_committee, uuid_token};
use crate::crypto::Pii;
use crate::domain::{
    Gender, Member, MemberRole, MemberStatus, NewMember, Party, Profile, ReferenceKind, StatusChange, etag,
    mask_id_number, mask_phone,
};
use crate::entity::{member, status_change};
use crate::error::{MembershipError, Result};

/// Filters of [`Store::list_members`]; `None` means any.
#[derive(Clone, Debug, Default)]
pub struct MemberFilter {
    pub sector_id: Option<Uuid>,
    pub activity_group_id: Option<Uuid>,
    pub special_committee_id: Option<Uuid>,
    pub party: Option<Party>,
    pub status: Option<MemberStatus>,
    pub name_contains: String,
    pub page_size: i32,
    pub page_token: String,
}

/// Fields of [`Store::update_member`]; `None` leaves a field as it is.
/// Values are already validated in shape; references are checked here.
#[derive(Clone, Debug, Default)]
pub struct MemberPatch {
    pub name: Option<String>,
    pub gender: Option<Gender>,
    pub ethnicity: Option<String>,
    /// `Some(0)`: take it from the ID number.
    pub birth_year: Option<i32>,
    pub party: Option<Party>,
    pub sector_id: Option<Uuid>,
    pub work_unit: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
    /// Normalized, with the birth year it contains.
    pub id_number: Option<(String, i32)>,
    pub term_number: Option<i32>,
    pub role: Option<MemberRole>,
    pub standing_committee: Option<bool>,
    pub activity_group_id: Option<Option<Uuid>>,
    pub special_committee_id: Option<Option<Uuid>>,
    pub liaison_station_id: Option<Option<Uuid>>,
    pub user_id: Option<Option<UserId>>,
}

impl MemberPatch {
    /// Names of the fields it changes (for the audit log; never values of personal information).
    fn field_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        let mut add = |set: bool, name: &'static str| {
            if set {
                names.push(name);
            }
        };
        add(self.name.is_some(), "name");
        add(self.gender.is_some(), "gender");
        add(self.ethnicity.is_some(), "ethnicity");
        add(self.birth_year.is_some(), "birth_year");
        add(self.party.is_some(), "party");
        add(self.sector_id.is_some(), "sector_id");
        add(self.work_unit.is_some(), "work_unit");
        add(self.title.is_some(), "title");
        add(self.phone.is_some(), "phone");
        add(self.id_number.is_some(), "id_number");
        add(self.term_number.is_some(), "term_number");
        add(self.role.is_some(), "role");
        add(self.standing_committee.is_some(), "standing_committee");
        add(self.activity_group_id.is_some(), "activity_group_id");
        add(self.special_committee_id.is_some(), "special_committee_id");
        add(self.liaison_station_id.is_some(), "liaison_station_id");
        add(self.user_id.is_some(), "user_id");
        names
    }
}

/// A stored row as the API shows it, with phone and ID number masked.
pub(super) fn to_domain(pii: &Pii, row: member::Model) -> Result<Member> {
    let phone = pii.open(row.id, "phone", &row.phone_enc)?;
    let id_number = pii.open(row.id, "id_number", &row.id_number_enc)?;
    Ok(Member {
        id: row.id,
        committee_id: CommitteeId(row.committee_id),
        profile: Profile {
            name: row.name,
            gender: Gender::from_i16(row.gender).unwrap_or(Gender::Male),
            ethnicity: row.ethnicity,
            birth_year: row.birth_year,
            party: Party::from_i16(row.party).unwrap_or(Party::Masses),
            sector_id: row.sector_id,
            work_unit: row.work_unit,
            title: row.title,
            term_number: row.term_number,
            role: MemberRole::from_i16(row.role).unwrap_or(MemberRole::Member),
            standing_committee: row.standing_committee,
            activity_group_id: row.activity_group_id,
            special_committee_id: row.special_committee_id,
            liaison_station_id: row.liaison_station_id,
            user_id: row.user_id.map(UserId),
        },
        masked_phone: mask_phone(&phone),
        masked_id_number: mask_id_number(&id_number),
        status: MemberStatus::from_i16(row.status).unwrap_or(MemberStatus::Serving),
        status_date: row.status_date,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// A member of the caller's committee (`NotFound` for another committee's).
async fn find(tx: &Tx, committee: CommitteeId, id: Uuid) -> Result<member::Model> {
    member::Entity::find_by_id(id)
        .filter(member::Column::CommitteeId.eq(committee.0))
        .one(&**tx)
        .await?
        .ok_or(MembershipError::NotFound("member"))
}

/// A member the caller may read: the office reads any of its committee's;
/// a member only their own (`PermissionDenied` for other members).
pub(super) async fn find_readable(tx: &Tx, ctx: &TenantContext, id: Uuid) -> Result<member::Model> {
    let committee = own_committee(ctx)?;
    let row = find(tx, committee, id).await?;
    if is_office(ctx) || row.user_id == Some(ctx.user_id.0) {
        Ok(row)
    } else {
        Err(MembershipError::denied("members read only their own record"))
    }
}

/// The rules that need the database: references, linked user, unique ID number.
async fn check_profile(
    tx: &Tx,
    committee: CommitteeId,
    member_id: Uuid,
    p: &Profile,
    status: MemberStatus,
) -> Result<()> {
    check_reference(tx, committee, ReferenceKind::Sector, p.sector_id, "member.sector_id").await?;
    if let Some(id) = p.activity_group_id {
        check_reference(tx, committee, ReferenceKind::ActivityGroup, id, "member.activity_group_id").await?;
    }
    match p.special_committee_id {
        Some(id) => {
            check_reference(tx, committee, ReferenceKind::SpecialCommittee, id, "member.special_committee_id").await?
        }
        None if status == MemberStatus::Serving => {
            return Err(MembershipError::invalid(
                "member.special_committee_id",
                "is required: every serving member sits on a special committee",
            ));
        }
        None => {}
    }
    if let Some(id) = p.liaison_station_id {
        check_reference(tx, committee, ReferenceKind::LiaisonStation, id, "member.liaison_station_id").await?;
    }
    if let Some(user) = p.user_id {
        if !is_member_user(tx, committee, user).await? {
            return Err(MembershipError::invalid("member.user_id", "is not a user of this committee with ROLE_MEMBER"));
        }
        let taken = member::Entity::find()
            .filter(member::Column::CommitteeId.eq(committee.0))
            .filter(member::Column::UserId.eq(user.0))
            .filter(member::Column::Id.ne(member_id))
            .one(&**tx)
            .await?;
        if taken.is_some() {
            return Err(MembershipError::exists("member.user_id", "is already linked to another member"));
        }
    }
    Ok(())
}

async fn check_id_unique(tx: &Tx, committee: CommitteeId, member_id: Uuid, digest: &str) -> Result<()> {
    let taken = member::Entity::find()
        .filter(member::Column::CommitteeId.eq(committee.0))
        .filter(member::Column::IdDigest.eq(digest))
        .filter(member::Column::Id.ne(member_id))
        .one(&**tx)
        .await?;
    match taken {
        Some(_) => {
            Err(MembershipError::exists("member.id_number", "another member of this committee has this ID number"))
        }
        None => Ok(()),
    }
}

/// Birth year 0 takes the ID number's; any other must match it.
fn birth_year(given: i32, from_id: i32) -> Result<i32> {
    match given {
        0 => Ok(from_id),
        y if y == from_id => Ok(y),
        _ => Err(MembershipError::invalid("member.birth_year", "does not match the birth date in the ID number")),
    }
}

/// Writes a changed row back, bumping its version; `EtagMismatch` when
/// someone else changed it since it was read.
async fn save(tx: &Tx, mut row: member::Model) -> Result<member::Model> {
    let (id, old) = (row.id, row.version);
    row.version = old + 1;
    row.updated_at = xieshang_platform::time::now();
    let done = member::Entity::update_many()
        .set(member::ActiveModel::from(row.clone()).reset_all())
        .filter(member::Column::Id.eq(id))
        .filter(member::Column::Version.eq(old))
        .exec(&**tx)
        .await
        .map_err(MembershipError::on_unique(
            "member.id_number",
            "another member of this committee has this ID number",
        ))?;
    if done.rows_affected == 0 {
        return Err(MembershipError::EtagMismatch);
    }
    Ok(row)
}

fn status_name(v: i16) -> &'static str {
    MemberStatus::from_i16(v).map_or("UNKNOWN", MemberStatus::as_str)
}

impl Store {
    /// Adds a serving member. `new.id_number` is normalized; `birth_year` 0
    /// takes the ID number's.
    pub async fn create_member(&self, ctx: &TenantContext, new: NewMember, id_birth_year: i32) -> Result<Member> {
        let committee = office(ctx)?;
        let mut profile = new.profile;
        profile.birth_year = birth_year(profile.birth_year, id_birth_year)?;
        let id = Uuid::now_v7();
        let digest = self.pii.id_digest(&new.id_number);
        let tx = self.begin(ctx).await?;
        check_profile(&tx, committee, id, &profile, MemberStatus::Serving).await?;
        check_id_unique(&tx, committee, id, &digest).await?;
        let now = xieshang_platform::time::now();
        let row = member::Model {
            id,
            committee_id: committee.0,
            name: profile.name,
            gender: profile.gender as i16,
            ethnicity: profile.ethnicity,
            birth_year: profile.birth_year,
            party: profile.party as i16,
            sector_id: profile.sector_id,
            work_unit: profile.work_unit,
            title: profile.title,
            phone_enc: self.pii.seal(id, "phone", &new.phone),
            id_number_enc: self.pii.seal(id, "id_number", &new.id_number),
            id_digest: digest,
            term_number: profile.term_number,
            role: profile.role as i16,
            standing_committee: profile.standing_committee,
            activity_group_id: profile.activity_group_id,
            special_committee_id: profile.special_committee_id,
            liaison_station_id: profile.liaison_station_id,
            user_id: profile.user_id.map(|u| u.0),
            status: MemberStatus::Serving as i16,
            status_date: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        member::Entity::insert(member::ActiveModel::from(row.clone()).reset_all())
            .exec_without_returning(&*tx)
            .await
            .map_err(MembershipError::on_unique(
            "member.id_number",
            "another member of this committee has this ID number",
        ))?;
        // Personal information stays out of the audit log.
        let changes = json!({
            "name": row.name, "party": row.party, "sector_id": row.sector_id, "term_number": row.term_number,
            "role": row.role, "standing_committee": row.standing_committee,
            "activity_group_id": row.activity_group_id, "special_committee_id": row.special_committee_id,
            "liaison_station_id": row.liaison_station_id, "user_id": row.user_id,
        });
        audit(&tx, ctx, committee, "member", id, changes).await?;
        emit_all(&tx, committee, Some(ctx.user_id), [member_enrolled(&row)]).await?;
        tx.commit().await?;
        to_domain(&self.pii, row)
    }

    pub async fn get_member(&self, ctx: &TenantContext, id: Uuid) -> Result<Member> {
        let tx = self.begin(ctx).await?;
        let row = find_readable(&tx, ctx, id).await?;
        tx.commit().await?;
        to_domain(&self.pii, row)
    }

    /// The roster, oldest entry first, filtered and paged. Office only.
    pub async fn list_members(&self, ctx: &TenantContext, filter: MemberFilter) -> Result<Page<Member>> {
        let committee = office(ctx)?;
        let size = xieshang_platform::page::size(filter.page_size, 50, 500)?;
        let after = uuid_token(&filter.page_token)?;
        let tx = self.begin(ctx).await?;
        let mut query = member::Entity::find().filter(member::Column::CommitteeId.eq(committee.0));
        if let Some(v) = filter.sector_id {
            query = query.filter(member::Column::SectorId.eq(v));
        }
        if let Some(v) = filter.activity_group_id {
            query = query.filter(member::Column::ActivityGroupId.eq(v));
        }
        if let Some(v) = filter.special_committee_id {
            query = query.filter(member::Column::SpecialCommitteeId.eq(v));
        }
        if let Some(v) = filter.party {
            query = query.filter(member::Column::Party.eq(v as i16));
        }
        if let Some(v) = filter.status {
            query = query.filter(member::Column::Status.eq(v as i16));
        }
        let name = filter.name_contains.trim();
        if !name.is_empty() {
            query = query.filter(member::Column::Name.contains(name));
        }
        if let Some(after) = after {
            query = query.filter(member::Column::Id.gt(after));
        }
        let mut rows = query.order_by_asc(member::Column::Id).limit(size + 1).all(&*tx).await?;
        tx.commit().await?;
        let more = rows.len() as u64 > size;
        rows.truncate(size as usize);
        let next_page_token = match (more, rows.last()) {
            (true, Some(last)) => xieshang_platform::page::encode(&last.id.to_string()),
            _ => String::new(),
        };
        let items = rows.into_iter().map(|r| to_domain(&self.pii, r)).collect::<Result<_>>()?;
        Ok(Page { items, next_page_token })
    }

    pub async fn update_member(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        patch: MemberPatch,
        expected: &str,
    ) -> Result<Member> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let mut row = find(&tx, committee, id).await?;
        if !expected.is_empty() && expected != etag(row.version) {
            return Err(MembershipError::EtagMismatch);
        }
        let fields = patch.field_names();
        let mut profile = to_domain(&self.pii, row.clone())?.profile;
        macro_rules! apply {
            ($($f:ident),+) => { $(if let Some(v) = patch.$f.clone() { profile.$f = v; })+ };
        }
        apply!(name, gender, ethnicity, party, sector_id, work_unit, title, term_number, role, standing_committee);
        apply!(activity_group_id, special_committee_id, liaison_station_id, user_id);
        match (&patch.id_number, patch.birth_year) {
            (Some((_, from_id)), given) => profile.birth_year = birth_year(given.unwrap_or(0), *from_id)?,
            (None, Some(0)) => {
                let current = self.pii.open(id, "id_number", &row.id_number_enc)?;
                profile.birth_year = crate::domain::id_number("member.id_number", &current)?.1;
            }
            (None, Some(y)) => profile.birth_year = y,
            (None, None) => {}
        }
        let status = MemberStatus::from_i16(row.status).unwrap_or(MemberStatus::Serving);
        check_profile(&tx, committee, id, &profile, status).await?;
        if let Some((number, _)) = &patch.id_number {
            let digest = self.pii.id_digest(number);
            check_id_unique(&tx, committee, id, &digest).await?;
            row.id_digest = digest;
            row.id_number_enc = self.pii.seal(id, "id_number", number);
        }
        if let Some(phone) = &patch.phone {
            row.phone_enc = self.pii.seal(id, "phone", phone);
        }
        row.name = profile.name;
        row.gender = profile.gender as i16;
        row.ethnicity = profile.ethnicity;
        row.birth_year = profile.birth_year;
        row.party = profile.party as i16;
        row.sector_id = profile.sector_id;
        row.work_unit = profile.work_unit;
        row.title = profile.title;
        row.term_number = profile.term_number;
        row.role = profile.role as i16;
        row.standing_committee = profile.standing_committee;
        row.activity_group_id = profile.activity_group_id;
        row.special_committee_id = profile.special_committee_id;
        row.liaison_station_id = profile.liaison_station_id;
        row.user_id = profile.user_id.map(|u| u.0);
        let row = save(&tx, row).await?;
        audit(&tx, ctx, committee, "member", id, json!({"changed_fields": fields})).await?;
        tx.commit().await?;
        to_domain(&self.pii, row)
    }

    /// Changes a member's status and records it in the history.
    pub async fn change_member_status(
        &self,
        ctx: &TenantContext,
        id: Uuid,
        to: MemberStatus,
        effective_date: NaiveDate,
        reason: String,
        expected: &str,
    ) -> Result<Member> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let mut row = find(&tx, committee, id).await?;
        if !expected.is_empty() && expected != etag(row.version) {
            return Err(MembershipError::EtagMismatch);
        }
        let from = row.status;
        if from == to as i16 {
            return Err(MembershipError::precondition(format!("the member is already {}", to.as_str())));
        }
        if to == MemberStatus::Serving && row.special_committee_id.is_none() {
            return Err(MembershipError::precondition(
                "set the member's special committee first: every serving member sits on one",
            ));
        }
        row.status = to as i16;
        row.status_date = Some(effective_date);
        let row = save(&tx, row).await?;
        let change = status_change::Model {
            id: Uuid::now_v7(),
            committee_id: committee.0,
            member_id: id,
            from_status: from,
            to_status: to as i16,
            effective_date,
            reason: reason.clone(),
            changed_by: Some(ctx.user_id.0),
            created_at: xieshang_platform::time::now(),
        };
        status_change::Entity::insert(status_change::ActiveModel::from(change).reset_all())
            .exec_without_returning(&*tx)
            .await?;
        let changes = json!({"status": {"from": status_name(from), "to": to.as_str()},
            "effective_date": effective_date.to_string(), "reason": reason});
        audit(&tx, ctx, committee, "member", id, changes).await?;
        // A status stored by an older version that no longer parses reads as serving, as everywhere else.
        let from = MemberStatus::from_i16(from).unwrap_or(MemberStatus::Serving);
        emit_all(&tx, committee, Some(ctx.user_id), [member_status_changed(id, from, to, effective_date)]).await?;
        tx.commit().await?;
        to_domain(&self.pii, row)
    }

    pub async fn list_member_status_changes(&self, ctx: &TenantContext, id: Uuid) -> Result<Vec<StatusChange>> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        find(&tx, committee, id).await?;
        let rows = status_change::Entity::find()
            .filter(status_change::Column::MemberId.eq(id))
            .order_by_asc(status_change::Column::Id)
            .all(&*tx)
            .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|r| StatusChange {
                from: MemberStatus::from_i16(r.from_status).unwrap_or(MemberStatus::Serving),
                to: MemberStatus::from_i16(r.to_status).unwrap_or(MemberStatus::Serving),
                effective_date: r.effective_date,
                reason: r.reason,
                changed_by: r.changed_by.map(UserId),
                created_at: r.created_at,
            })
            .collect())
    }

    /// The full phone and ID number, for the office; the reveal is audited
    /// (which fields, never their values).
    pub async fn reveal_member_contact(&self, ctx: &TenantContext, id: Uuid) -> Result<(String, String)> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let row = find(&tx, committee, id).await?;
        let phone = self.pii.open(id, "phone", &row.phone_enc)?;
        let id_number = self.pii.open(id, "id_number", &row.id_number_enc)?;
        let changes = json!({"action": "reveal_contact", "revealed": ["phone", "id_number"], "member": row.name});
        audit(&tx, ctx, committee, "member", id, changes).await?;
        tx.commit().await?;
        Ok((phone, id_number))
    }
}
