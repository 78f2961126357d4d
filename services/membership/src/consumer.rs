//! Turns other services' events into performance-record entries:
//!
//! - `ProposalFiled` → one PROPOSALS entry per proposer linked to a member of
//!   the event's committee;
//! - `InformationAdopted` → one INFORMATION entry per author linked to a
//!   member of the origin committee;
//! - `AttendanceRecorded` with attendance "present" → one MEETINGS entry, or
//!   one CONSULTATIONS entry when the meeting is a consultation activity's
//!   (协商活动: seed 002 counts taking part in one as its own kind);
//! - `SpeechRecorded` → one SPEECHES entry for the member who spoke;
//! - `SupervisionInspectionRecorded` → one INSPECTIONS entry per listed
//!   member of the event's committee.
//!
//! Points are the committee's rule for the kind and the entry's year (its
//! point rules over the defaults), as for staff entries without points.
//!
//! Delivery is at least once; `(source_event_id, member_id)` is unique and
//! entries are inserted if absent, so an event applied twice gives one entry
//! and one `PerformanceEntryRecorded` (emitted only by the insert that took).
//! Users not linked to a member are skipped. The handler has no caller: it
//! works in the event's committee's scope and audits as "system".

use async_trait::async_trait;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;
use xieshang_platform::audit::Actor;
use xieshang_platform::db::{Db, Scope};
use xieshang_platform::events::{EventHandler, HandlerError};
use xieshang_platform::ids::CommitteeId;
use xieshang_proto::common::v1::Date;
use xieshang_proto::events::v1::{Event, event::Payload};

use crate::domain::RecordKind;
use crate::entity::member;
use crate::error::Result;
use crate::store::{AutomaticEntry, insert_automatic_entry};

/// What one event asks for: entries of one kind for some members of one committee.
struct Wanted {
    event_type: &'static str,
    committee: Option<CommitteeId>,
    kind: RecordKind,
    users: Vec<Uuid>,
    members: Vec<Uuid>,
    date: NaiveDate,
    description: String,
    evidence_ref: String,
}

/// The membership service's event consumer.
pub struct RecordConsumer {
    db: Db,
}

impl RecordConsumer {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    async fn apply(&self, event_id: Uuid, wanted: Wanted) -> Result<usize> {
        let Some(committee) = wanted.committee else { return Ok(0) };
        let tx = self.db.begin(Scope::Committee(committee)).await?;
        let mut members: Vec<Uuid> = Vec::new();
        if !wanted.users.is_empty() {
            members.extend(
                member::Entity::find()
                    .filter(member::Column::CommitteeId.eq(committee.0))
                    .filter(member::Column::UserId.is_in(wanted.users.clone()))
                    .all(&*tx)
                    .await?
                    .into_iter()
                    .map(|m| m.id),
            );
        }
        if !wanted.members.is_empty() {
            members.extend(
                member::Entity::find()
                    .filter(member::Column::CommitteeId.eq(committee.0))
                    .filter(member::Column::Id.is_in(wanted.members.clone()))
                    .all(&*tx)
                    .await?
                    .into_iter()
                    .map(|m| m.id),
            );
        }
        members.sort();
        members.dedup();
        let actor = Actor { user_id: None, username: "system".into(), method: format!("event:{}", wanted.event_type) };
        let mut inserted = 0;
        for member_id in members {
            let entry = AutomaticEntry {
                committee,
                member_id,
                kind: wanted.kind,
                date: wanted.date,
                description: wanted.description.clone(),
                evidence_ref: wanted.evidence_ref.clone(),
                event_id,
            };
            if insert_automatic_entry(&tx, &actor, entry).await? {
                inserted += 1;
            }
        }
        tx.commit().await?;
        Ok(inserted)
    }
}

fn committee(s: &str) -> Option<CommitteeId> {
    Uuid::parse_str(s).ok().map(CommitteeId)
}

fn uuids(list: &[String]) -> Vec<Uuid> {
    list.iter().filter_map(|s| Uuid::parse_str(s).ok()).collect()
}

/// A date carried in an event, if it is a real day.
fn proto_date(d: Option<&Date>) -> Option<NaiveDate> {
    let d = d?;
    NaiveDate::from_ymd_opt(d.year, u32::try_from(d.month).ok()?, u32::try_from(d.day).ok()?)
}

/// What a speech entry says, by `SpeechRecorded.kind`.
fn speech_description(kind: &str) -> &'static str {
    match kind {
        "ORAL" => "会议口头发言",
        "WRITTEN" => "会议书面发言",
        _ => "会议发言",
    }
}

/// The event's day in China Standard Time (committees work in it).
fn event_date(event: &Event) -> NaiveDate {
    let utc = event
        .occur_time
        .as_ref()
        .and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .unwrap_or_else(Utc::now);
    let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    utc.with_timezone(&cst).date_naive()
}

fn wanted(event: &Event) -> Option<Wanted> {
    match event.payload.as_ref()? {
        Payload::ProposalFiled(p) => Some(Wanted {
            event_type: "ProposalFiled",
            committee: committee(&event.committee_id),
            kind: RecordKind::Proposals,
            users: uuids(&p.proposer_user_ids),
            members: Vec::new(),
            date: event_date(event),
            description: format!("提案立案（第{}号）", p.number),
            evidence_ref: format!("proposal:{}", p.proposal_id),
        }),
        Payload::InformationAdopted(i) => Some(Wanted {
            event_type: "InformationAdopted",
            committee: committee(if i.origin_committee_id.is_empty() {
                &event.committee_id
            } else {
                &i.origin_committee_id
            }),
            kind: RecordKind::Information,
            users: uuids(&i.author_user_ids),
            members: Vec::new(),
            date: event_date(event),
            description: "社情民意信息被采用".into(),
            evidence_ref: format!("information:{}", i.information_id),
        }),
        Payload::AttendanceRecorded(a) if a.attendance == "present" => {
            let (kind, description, evidence_ref) = if a.activity_id.is_empty() {
                (RecordKind::Meetings, "参加会议", format!("meeting:{}", a.meeting_id))
            } else {
                (
                    RecordKind::Consultations,
                    "参加协商活动",
                    format!("activity:{}/meeting:{}", a.activity_id, a.meeting_id),
                )
            };
            Some(Wanted {
                event_type: "AttendanceRecorded",
                committee: committee(&event.committee_id),
                kind,
                users: Vec::new(),
                members: uuids(std::slice::from_ref(&a.member_id)),
                date: proto_date(a.date.as_ref()).unwrap_or_else(|| event_date(event)),
                description: description.into(),
                evidence_ref,
            })
        }
        Payload::SpeechRecorded(sp) => Some(Wanted {
            event_type: "SpeechRecorded",
            committee: committee(&event.committee_id),
            kind: RecordKind::Speeches,
            users: Vec::new(),
            members: uuids(std::slice::from_ref(&sp.member_id)),
            date: proto_date(sp.date.as_ref()).unwrap_or_else(|| event_date(event)),
            description: speech_description(&sp.kind).into(),
            evidence_ref: format!("meeting:{}/speech:{}", sp.meeting_id, sp.speech_id),
        }),
        Payload::SupervisionInspectionRecorded(i) => Some(Wanted {
            event_type: "SupervisionInspectionRecorded",
            committee: committee(&event.committee_id),
            kind: RecordKind::Inspections,
            users: Vec::new(),
            members: uuids(&i.member_ids),
            date: proto_date(i.date.as_ref()).unwrap_or_else(|| event_date(event)),
            description: "民主监督视察".into(),
            evidence_ref: format!("supervision:{}/inspection:{}", i.project_id, i.inspection_id),
        }),
        _ => None,
    }
}

#[async_trait]
impl EventHandler for RecordConsumer {
    fn name(&self) -> &str {
        "membership"
    }

    async fn handle(&self, event: &Event) -> std::result::Result<(), HandlerError> {
        let Some(wanted) = wanted(event) else { return Ok(()) };
        let Ok(event_id) = Uuid::parse_str(&event.id) else {
            tracing::warn!(event = %event.id, "membership skips an event whose id is not a UUID");
            return Ok(());
        };
        let event_type = wanted.event_type;
        let inserted = self.apply(event_id, wanted).await.map_err(|e| Box::new(e) as HandlerError)?;
        tracing::debug!(event = %event.id, event_type, inserted, "performance-record entries from an event");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use xieshang_proto::events::v1::{AttendanceRecorded, SpeechRecorded, SupervisionInspectionRecorded};

    use super::*;

    fn event(committee: Uuid, payload: Payload) -> Event {
        Event {
            id: Uuid::now_v7().to_string(),
            committee_id: committee.to_string(),
            payload: Some(payload),
            ..Default::default()
        }
    }

    fn day(year: i32, month: i32, day: i32) -> Option<Date> {
        Some(Date { year, month, day })
    }

    #[test]
    fn a_speech_asks_for_one_speeches_entry_of_its_member_on_the_meeting_day() {
        let (committee_id, member) = (Uuid::now_v7(), Uuid::now_v7());
        let (meeting, speech) = (Uuid::now_v7(), Uuid::now_v7());
        let e = event(
            committee_id,
            Payload::SpeechRecorded(SpeechRecorded {
                speech_id: speech.to_string(),
                meeting_id: meeting.to_string(),
                member_id: member.to_string(),
                kind: "WRITTEN".into(),
                date: day(2026, 3, 18),
            }),
        );
        let w = wanted(&e).expect("a speech is credited");
        assert_eq!(w.kind, RecordKind::Speeches);
        assert_eq!(w.committee, Some(CommitteeId(committee_id)));
        assert_eq!(w.members, [member]);
        assert!(w.users.is_empty());
        assert_eq!(w.date, NaiveDate::from_ymd_opt(2026, 3, 18).unwrap());
        assert_eq!(w.description, "会议书面发言");
        assert_eq!(w.evidence_ref, format!("meeting:{meeting}/speech:{speech}"));
        assert_eq!(w.event_type, "SpeechRecorded");
    }

    #[test]
    fn an_inspection_asks_for_inspections_entries_of_its_parseable_members() {
        let (committee_id, a, b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let e = event(
            committee_id,
            Payload::SupervisionInspectionRecorded(SupervisionInspectionRecorded {
                inspection_id: Uuid::now_v7().to_string(),
                project_id: Uuid::now_v7().to_string(),
                participation_id: String::new(),
                date: day(2026, 5, 12),
                member_ids: vec![a.to_string(), "张建国".into(), b.to_string()],
            }),
        );
        let w = wanted(&e).expect("an inspection is credited");
        assert_eq!(w.kind, RecordKind::Inspections);
        assert_eq!(w.members, [a, b], "what is not a roster id is skipped");
        assert_eq!(w.date, NaiveDate::from_ymd_opt(2026, 5, 12).unwrap());
        assert!(w.evidence_ref.starts_with("supervision:"));
    }

    #[test]
    fn a_missing_or_impossible_date_falls_back_to_the_events_day() {
        let e = event(
            Uuid::now_v7(),
            Payload::SpeechRecorded(SpeechRecorded {
                member_id: Uuid::now_v7().to_string(),
                kind: "ORAL".into(),
                date: day(2026, 2, 30),
                ..Default::default()
            }),
        );
        let w = wanted(&e).unwrap();
        assert_eq!(w.date, event_date(&e));
        assert_eq!(w.description, "会议口头发言");
        assert_eq!(proto_date(day(2026, -1, 3).as_ref()), None);
        assert_eq!(proto_date(None), None);
        assert_eq!(speech_description("SOMETHING_NEW"), "会议发言");
    }

    #[test]
    fn presence_at_an_activity_meeting_is_a_consultation_credit() {
        let (meeting, activity) = (Uuid::now_v7().to_string(), Uuid::now_v7().to_string());
        let present = |activity_id: &str| {
            event(
                Uuid::now_v7(),
                Payload::AttendanceRecorded(AttendanceRecorded {
                    meeting_id: meeting.clone(),
                    member_id: Uuid::now_v7().to_string(),
                    attendance: "present".into(),
                    activity_id: activity_id.into(),
                    ..Default::default()
                }),
            )
        };
        let plenary = wanted(&present("")).expect("a meeting credit");
        assert_eq!((plenary.kind, plenary.description.as_str()), (RecordKind::Meetings, "参加会议"));
        let consultation = wanted(&present(&activity)).expect("a consultation credit");
        assert_eq!((consultation.kind, consultation.description.as_str()), (RecordKind::Consultations, "参加协商活动"));
        assert_eq!(consultation.evidence_ref, format!("activity:{activity}/meeting:{meeting}"));
    }

    #[test]
    fn attendance_other_than_present_asks_for_nothing() {
        let absent = event(
            Uuid::now_v7(),
            Payload::AttendanceRecorded(AttendanceRecorded {
                member_id: Uuid::now_v7().to_string(),
                attendance: "absent".into(),
                ..Default::default()
            }),
        );
        assert!(wanted(&absent).is_none());
    }
}
