//! Meetings: agenda, invited members and observers, sign-in (attendance,
//! emitted as `AttendanceRecorded` for performance records) and speeches
//! (emitted as `SpeechRecorded`, likewise).

use std::collections::{HashMap, HashSet};

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use uuid::Uuid;
use xieshang_platform::auth::TenantContext;
use xieshang_platform::db::Tx;
use xieshang_platform::ids::CommitteeId;
use xieshang_platform::time::date_to_proto;
use xieshang_proto::events::v1::event::Payload;
use xieshang_proto::events::v1::{AttendanceRecorded, SpeechRecorded};

use super::activities::find_managed as find_activity;
use super::{Page, Store, audit, is_office, my_member_ids, office, origin, own_committee, paged, uuid_token};
use crate::domain::{
    Attendance, AttendanceEntry, Invitee, Meeting, MeetingKind, NewMeeting, Speech, SpeechKind, join_lines, split_lines,
};
use crate::entity::{invitee, meeting, member, speech};
use crate::error::{ConsultationError, Result};

/// Filters of [`Store::list_meetings`]; `None` means any.
#[derive(Clone, Debug, Default)]
pub struct MeetingFilter {
    pub activity_id: Option<Uuid>,
    pub kind: Option<MeetingKind>,
    pub page_size: i32,
    pub page_token: String,
}

async fn load(tx: &Tx, row: meeting::Model) -> Result<Meeting> {
    let invitees = invitee::Entity::find()
        .filter(invitee::Column::MeetingId.eq(row.id))
        .order_by_asc(invitee::Column::Position)
        .all(&**tx)
        .await?;
    let names: HashMap<Uuid, String> = member::Entity::find()
        .filter(member::Column::Id.is_in(invitees.iter().map(|i| i.member_id).collect::<Vec<_>>()))
        .all(&**tx)
        .await?
        .into_iter()
        .map(|m| (m.id, m.name))
        .collect();
    let speeches = speech::Entity::find()
        .filter(speech::Column::MeetingId.eq(row.id))
        .order_by_asc(speech::Column::Id)
        .all(&**tx)
        .await?;
    Ok(Meeting {
        id: row.id,
        committee_id: CommitteeId(row.committee_id),
        kind: MeetingKind::from_i16(row.kind).unwrap_or(MeetingKind::Activity),
        title: row.title,
        date: row.date,
        place: row.place,
        activity_id: row.activity_id,
        agenda: split_lines(&row.agenda),
        invitees: invitees
            .into_iter()
            .map(|i| Invitee {
                member_name: names.get(&i.member_id).cloned().unwrap_or_default(),
                member_id: i.member_id,
                attendance: Attendance::from_i16(i.attendance),
                leave_reason: i.leave_reason,
            })
            .collect(),
        observers: split_lines(&row.observers),
        speeches: speeches
            .into_iter()
            .map(|s| Speech {
                id: s.id,
                member_id: s.member_id,
                title: s.title,
                kind: SpeechKind::from_i16(s.kind).unwrap_or(SpeechKind::Oral),
            })
            .collect(),
        created_at: row.created_at,
    })
}

/// The meetings of `committee` the caller's roster entries are invited to.
async fn invited_meeting_ids(tx: &Tx, ctx: &TenantContext, committee: CommitteeId) -> Result<Vec<Uuid>> {
    let members = my_member_ids(tx, ctx, committee).await?;
    Ok(invitee::Entity::find()
        .filter(invitee::Column::CommitteeId.eq(committee.0))
        .filter(invitee::Column::MemberId.is_in(members))
        .all(&**tx)
        .await?
        .into_iter()
        .map(|i| i.meeting_id)
        .collect())
}

/// A meeting the caller may read (office: any of the committee's; members:
/// those they are invited to), or `NotFound`.
async fn find_readable(tx: &Tx, ctx: &TenantContext, id: Uuid) -> Result<meeting::Model> {
    let committee = own_committee(ctx)?;
    let row = find_managed(tx, committee, id).await?;
    if is_office(ctx) || invited_meeting_ids(tx, ctx, committee).await?.contains(&id) {
        Ok(row)
    } else {
        Err(ConsultationError::NotFound("meeting"))
    }
}

async fn find_managed(tx: &Tx, committee: CommitteeId, id: Uuid) -> Result<meeting::Model> {
    meeting::Entity::find_by_id(id)
        .filter(meeting::Column::CommitteeId.eq(committee.0))
        .one(&**tx)
        .await?
        .ok_or(ConsultationError::NotFound("meeting"))
}

/// The invitation of `member_id` to a meeting, or `InvalidArgument` on `field`.
async fn invitation(tx: &Tx, meeting_id: Uuid, member_id: Uuid, field: &'static str) -> Result<invitee::Model> {
    invitee::Entity::find_by_id((meeting_id, member_id))
        .one(&**tx)
        .await?
        .ok_or_else(|| ConsultationError::invalid(field, format!("{member_id} is not invited to this meeting")))
}

impl Store {
    /// Creates a meeting with its invited members (who must be on the
    /// committee's roster). Staff.
    pub async fn create_meeting(&self, ctx: &TenantContext, new: NewMeeting) -> Result<Meeting> {
        let committee = office(ctx)?;
        new.check()?;
        let tx = self.begin(ctx).await?;
        if let Some(activity_id) = new.activity_id {
            find_activity(&tx, committee, activity_id).await.map_err(|_| {
                ConsultationError::invalid("meeting.activity_id", "is not an activity of this committee")
            })?;
        }
        let known: HashSet<Uuid> = member::Entity::find()
            .filter(member::Column::CommitteeId.eq(committee.0))
            .filter(member::Column::Id.is_in(new.invitees.clone()))
            .all(&*tx)
            .await?
            .into_iter()
            .map(|m| m.id)
            .collect();
        if let Some(unknown) = new.invitees.iter().find(|m| !known.contains(m)) {
            return Err(ConsultationError::invalid(
                "meeting.invitees.member_id",
                format!("{unknown} is not a member of this committee"),
            ));
        }
        let row = meeting::Model {
            id: Uuid::now_v7(),
            committee_id: committee.0,
            kind: new.kind as i16,
            title: new.title,
            date: new.date,
            place: new.place,
            activity_id: new.activity_id,
            agenda: join_lines(&new.agenda),
            observers: join_lines(&new.observers),
            created_at: xieshang_platform::time::now(),
        };
        meeting::ActiveModel::from(row.clone()).reset_all().insert(&*tx).await?;
        for (position, member_id) in new.invitees.iter().enumerate() {
            invitee::ActiveModel::from(invitee::Model {
                meeting_id: row.id,
                member_id: *member_id,
                committee_id: committee.0,
                position: position as i32,
                attendance: 0,
                leave_reason: String::new(),
                recorded_at: None,
            })
            .reset_all()
            .insert(&*tx)
            .await?;
        }
        audit(
            &tx,
            ctx,
            committee,
            "consultation_meeting",
            row.id,
            json!({"kind": new.kind.as_str(),
            "title": row.title, "date": row.date.to_string(), "activity_id": row.activity_id,
            "invitees": new.invitees}),
        )
        .await?;
        let meeting = load(&tx, row).await?;
        tx.commit().await?;
        Ok(meeting)
    }

    pub async fn get_meeting(&self, ctx: &TenantContext, id: Uuid) -> Result<Meeting> {
        let tx = self.begin(ctx).await?;
        let row = find_readable(&tx, ctx, id).await?;
        let meeting = load(&tx, row).await?;
        tx.commit().await?;
        Ok(meeting)
    }

    /// The meetings the caller may read, oldest first (creation order), paged.
    pub async fn list_meetings(&self, ctx: &TenantContext, filter: MeetingFilter) -> Result<Page<Meeting>> {
        let committee = own_committee(ctx)?;
        let size = xieshang_platform::page::size(filter.page_size, 50, 200)?;
        let after = uuid_token(&filter.page_token)?;
        let tx = self.begin(ctx).await?;
        let mut query = meeting::Entity::find().filter(meeting::Column::CommitteeId.eq(committee.0));
        if !is_office(ctx) {
            query = query.filter(meeting::Column::Id.is_in(invited_meeting_ids(&tx, ctx, committee).await?));
        }
        if let Some(activity_id) = filter.activity_id {
            query = query.filter(meeting::Column::ActivityId.eq(activity_id));
        }
        if let Some(kind) = filter.kind {
            query = query.filter(meeting::Column::Kind.eq(kind as i16));
        }
        if let Some(after) = after {
            query = query.filter(meeting::Column::Id.gt(after));
        }
        let rows = query.order_by_asc(meeting::Column::Id).limit(size + 1).all(&*tx).await?;
        let page = paged(rows, size, |r| r.id, |r| r);
        let mut items = Vec::with_capacity(page.items.len());
        for row in page.items {
            items.push(load(&tx, row).await?);
        }
        tx.commit().await?;
        Ok(Page { items, next_page_token: page.next_page_token })
    }

    /// Sign-in: records invited members' attendance. Each member whose
    /// attendance changes gets one `AttendanceRecorded` event. Staff.
    pub async fn record_attendance(
        &self,
        ctx: &TenantContext,
        meeting_id: Uuid,
        entries: Vec<AttendanceEntry>,
    ) -> Result<Meeting> {
        let committee = office(ctx)?;
        if entries.is_empty() {
            return Err(ConsultationError::invalid("entries", "name at least one member"));
        }
        let mut seen = HashSet::new();
        for e in &entries {
            e.check()?;
            if !seen.insert(e.member_id) {
                return Err(ConsultationError::invalid("entries.member_id", format!("{} appears twice", e.member_id)));
            }
        }
        let tx = self.begin(ctx).await?;
        let row = find_managed(&tx, committee, meeting_id).await?;
        let now = xieshang_platform::time::now();
        let mut changes = Vec::new();
        let mut event_origin = None;
        for e in entries {
            let mut inv = invitation(&tx, meeting_id, e.member_id, "entries.member_id").await?;
            let before = Attendance::from_i16(inv.attendance);
            if before == Some(e.attendance) && inv.leave_reason == e.leave_reason {
                continue;
            }
            inv.attendance = e.attendance as i16;
            inv.leave_reason = e.leave_reason;
            inv.recorded_at = Some(now);
            invitee::ActiveModel::from(inv.clone()).reset_all().update(&*tx).await?;
            changes.push(json!({"member_id": e.member_id, "attendance": e.attendance.as_str(),
                "before": before.map(Attendance::as_str)}));
            if before != Some(e.attendance) {
                if event_origin.is_none() {
                    event_origin = Some(origin(&tx, Some(ctx.user_id), committee).await?);
                }
                let payload = Payload::AttendanceRecorded(AttendanceRecorded {
                    meeting_id: meeting_id.to_string(),
                    member_id: e.member_id.to_string(),
                    attendance: e.attendance.event_value().into(),
                    date: Some(date_to_proto(row.date)),
                    activity_id: row.activity_id.map(|a| a.to_string()).unwrap_or_default(),
                });
                if let Some(o) = &event_origin {
                    tx.emit(o, payload).await?;
                }
            }
        }
        if !changes.is_empty() {
            audit(&tx, ctx, committee, "consultation_meeting", meeting_id, json!({"attendance": changes})).await?;
        }
        let meeting = load(&tx, row).await?;
        tx.commit().await?;
        Ok(meeting)
    }

    /// Records a speech of an invited member and emits `SpeechRecorded` in
    /// the same transaction, so the member's performance record gains it. Staff.
    pub async fn record_speech(
        &self,
        ctx: &TenantContext,
        meeting_id: Uuid,
        member_id: Uuid,
        title: String,
        kind: SpeechKind,
    ) -> Result<Meeting> {
        let committee = office(ctx)?;
        let tx = self.begin(ctx).await?;
        let row = find_managed(&tx, committee, meeting_id).await?;
        invitation(&tx, meeting_id, member_id, "speech.member_id").await?;
        let s = speech::Model {
            id: Uuid::now_v7(),
            committee_id: committee.0,
            meeting_id,
            member_id,
            title,
            kind: kind as i16,
            created_at: xieshang_platform::time::now(),
        };
        speech::ActiveModel::from(s.clone()).reset_all().insert(&*tx).await?;
        audit(
            &tx,
            ctx,
            committee,
            "consultation_meeting",
            meeting_id,
            json!({"speech": s.id,
            "member_id": member_id, "title": s.title, "kind": kind.as_str()}),
        )
        .await?;
        let payload = Payload::SpeechRecorded(SpeechRecorded {
            speech_id: s.id.to_string(),
            meeting_id: meeting_id.to_string(),
            member_id: member_id.to_string(),
            kind: kind.as_str().into(),
            date: Some(date_to_proto(row.date)),
        });
        tx.emit(&origin(&tx, Some(ctx.user_id), committee).await?, payload).await?;
        let meeting = load(&tx, row).await?;
        tx.commit().await?;
        Ok(meeting)
    }
}
