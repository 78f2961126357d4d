//! The events membership publishes, for analytics: members enrolled, status
//! changes, reporting sessions closed and performance-record entries.
//!
//! Each is written into the outbox in the transaction of the change it
//! reports (`Tx::emit`), so a change and its event commit together. The
//! envelope's `occur_time` is when the change was recorded; analytics counts
//! every membership event in the period of that instant, as it does every
//! other service's events. Dates the change carries (a status change's
//! effective date, an entry's date) travel in the payload for consumers that
//! want them. Personal information never goes into an event.

use chrono::NaiveDate;
use uuid::Uuid;
use xieshang_platform::db::Tx;
use xieshang_platform::events::EventOrigin;
use xieshang_platform::ids::{CommitteeId, UserId};
use xieshang_platform::time::date_to_proto;
use xieshang_proto::events::v1::event::Payload;
use xieshang_proto::events::v1::{
    MemberEnrolled, MemberStatusChanged, PerformanceEntryRecorded, ReportingSessionClosed,
};

use crate::domain::reporting::CampaignChange;
use crate::domain::{MemberStatus, RecordKind, RecordSource};
use crate::entity::{member, record_entry};
use crate::error::Result;

/// Writes events about `committee` caused by `actor` (None: system work)
/// into the outbox of `tx`; the committee's ancestors are looked up once.
pub(super) async fn emit_all(
    tx: &Tx,
    committee: CommitteeId,
    actor: Option<UserId>,
    payloads: impl IntoIterator<Item = Payload>,
) -> Result<()> {
    let mut origin: Option<EventOrigin> = None;
    for payload in payloads {
        let origin = match &origin {
            Some(o) => o,
            None => origin.insert(EventOrigin::of(tx, committee, actor).await?),
        };
        tx.emit(origin, payload).await?;
    }
    Ok(())
}

pub(super) fn member_enrolled(row: &member::Model) -> Payload {
    Payload::MemberEnrolled(MemberEnrolled {
        member_id: row.id.to_string(),
        sector_id: row.sector_id.to_string(),
        term_number: row.term_number,
    })
}

pub(super) fn member_status_changed(
    member_id: Uuid,
    from: MemberStatus,
    to: MemberStatus,
    effective_date: NaiveDate,
) -> Payload {
    Payload::MemberStatusChanged(MemberStatusChanged {
        member_id: member_id.to_string(),
        from: from.as_str().to_owned(),
        to: to.as_str().to_owned(),
        effective_date: Some(date_to_proto(effective_date)),
    })
}

pub(super) fn reporting_session_closed(
    session_id: Uuid,
    year: i32,
    make_up: bool,
    change: &CampaignChange,
    suggestions_raised: i32,
) -> Payload {
    Payload::ReportingSessionClosed(ReportingSessionClosed {
        session_id: session_id.to_string(),
        year,
        make_up,
        members_due: change.members_due,
        reported_on_site: change.reported_on_site,
        reported_by_video: change.reported_by_video,
        not_reported: change.not_reported,
        reports_excellent: change.reports_excellent,
        suggestions_raised,
    })
}

pub(super) fn performance_entry_recorded(row: &record_entry::Model) -> Payload {
    let kind = RecordKind::from_i16(row.kind).map_or("", RecordKind::as_str);
    let source = match RecordSource::from_i16(row.source) {
        Some(RecordSource::Automatic) => "AUTOMATIC",
        Some(RecordSource::Staff) => "STAFF",
        None => "",
    };
    Payload::PerformanceEntryRecorded(PerformanceEntryRecorded {
        entry_id: row.id.to_string(),
        member_id: row.member_id.to_string(),
        kind: kind.to_owned(),
        points: row.points,
        source: source.to_owned(),
        date: Some(date_to_proto(row.date)),
    })
}
