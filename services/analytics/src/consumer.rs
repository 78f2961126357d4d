//! Turns domain events into counter facts and applies them once.
//!
//! - proposals: `ProposalSubmitted`, `ProposalFiled`, `ProposalDeclined`,
//!   `ProposalAssigned`, `ProposalReplied` (one reply per unit: class and
//!   on time), `ProposalRated` (the result rating), `ProposalOverdue`;
//! - information: `InformationSubmitted`; `InformationAdopted` counts for the
//!   adopting committee, and as `information_adopted_upward` for the origin
//!   when an ancestor adopted it; `InformationInstructed` for the
//!   instructing committee;
//! - consultation: `AttendanceRecorded` (present, on leave, absent);
//!   `ConsultationActivityHeld` (in total and by type);
//!   `SuggestionFeedbackGiven` — the first feedback on a suggestion only
//!   (counters only grow, so a later correction is not recounted);
//!   `SuggestionCarriedForward` (by target);
//! - supervision: `SupervisionReportFiled` (one fact per problem reported),
//!   `SupervisionRectificationChanged` into RECTIFIED or NOT_RECTIFIED
//!   (final states, reached once per problem);
//! - studios: `StudioRequestDrafted` (in total and by target);
//! - membership: `MemberEnrolled` (`members_enrolled`); `MemberStatusChanged`
//!   from SERVING to RESIGNED or DISMISSED (`members_departed`; a return to
//!   serving is not counted); `ReportingSessionClosed` adds its changes to
//!   the campaign figures (`reporting_due`, `reported_on_site`,
//!   `reported_by_video`, `not_reported`, `reports_excellent`) — each member
//!   counts once a year, so a make-up session's `not_reported` is negative
//!   and the sum over a year is exact; `PerformanceEntryRecorded`
//!   (`performance_entries`, and its points summed into `performance_points`).
//!
//! Every fact falls in the period of the event's `occur_time` (when the change
//! was recorded), membership's too: a record entry dated in December and
//! entered in January counts in January, as attendance recorded late does.
//! That instant's day (China Standard Time) also picks the term (届) of each
//! committee on the path, from the terms recorded from `TermOpened`.
//!
//! Member counters (never rolled up): `PerformanceEntryRecorded` adds to the
//! member's `performance_entries`, `performance_points` and the entries of
//! its kind (`proposal_entries`, `meeting_entries`, …); `AttendanceRecorded`
//! to the member's `attendance_present`, `attendance_on_leave` or
//! `attendance_absent`. Members are named by id only.
//!
//! `TermOpened` records the committee's term. It adds to no counter, so it is
//! not recorded as applied: recording a term is idempotent by itself
//! (committee and number are its key).
//!
//! Delivery is at least once; the store records the event id in the same
//! transaction as the counters (insert if absent), so an event delivered twice
//! counts once. The handler has no caller: it is a background worker and
//! writes as `Scope::System`, because one event updates the counters of its
//! committee and of every ancestor.

use async_trait::async_trait;
use uuid::Uuid;
use xieshang_platform::events::{EventHandler, HandlerError};
use xieshang_proto::events::v1::{DraftTarget, Event, event::Payload};

use crate::domain::{EventFacts, Fact, MemberFact, OpenedTerm, consultations_held_of, member_entries_of};
use crate::store::{CONSUMER, Store, occurred};

/// The analytics service's event consumer.
pub struct CounterConsumer {
    pub(crate) store: Store,
}

fn committee(s: &str) -> Option<Uuid> {
    Uuid::parse_str(s).ok()
}

/// What one event contributes; empty for events analytics does not count.
pub fn facts(event: &Event) -> EventFacts {
    let at = event.occur_time.as_ref().map_or_else(xieshang_platform::time::now, |t| occurred(t.seconds, t.nanos));
    let here = committee(&event.committee_id);
    EventFacts {
        counts: counter_facts(event, at, here),
        members: member_facts(event, at, here),
        term: term(event, here),
    }
}

/// The term a `TermOpened` records; None for any other event (or a malformed one).
fn term(event: &Event, here: Option<Uuid>) -> Option<OpenedTerm> {
    let Some(Payload::TermOpened(t)) = event.payload.as_ref() else { return None };
    let start = t.start_date.as_ref()?;
    let start =
        chrono::NaiveDate::from_ymd_opt(start.year, u32::try_from(start.month).ok()?, u32::try_from(start.day).ok()?)?;
    let number = u32::try_from(t.number).ok().filter(|n| (1..=crate::domain::MAX_TERM).contains(n))?;
    Some(OpenedTerm { committee: here?, term_id: Uuid::parse_str(&t.term_id).ok()?, number, start })
}

/// Facts about one member, counted in the event's committee (the member's own).
fn member_facts(event: &Event, at: chrono::DateTime<chrono::Utc>, here: Option<Uuid>) -> Vec<MemberFact> {
    let mut out: Vec<(Option<Uuid>, &'static str, i64)> = Vec::new();
    match event.payload.as_ref() {
        Some(Payload::PerformanceEntryRecorded(e)) => {
            let member = committee(&e.member_id);
            out.push((member, "performance_entries", 1));
            if e.points != 0 {
                out.push((member, "performance_points", i64::from(e.points)));
            }
            if let Some(kind) = member_entries_of(&e.kind) {
                out.push((member, kind, 1));
            }
        }
        Some(Payload::AttendanceRecorded(a)) => {
            let metric = match a.attendance.as_str() {
                "present" => Some("attendance_present"),
                "on_leave" => Some("attendance_on_leave"),
                "absent" => Some("attendance_absent"),
                _ => None,
            };
            if let Some(metric) = metric {
                out.push((committee(&a.member_id), metric, 1));
            }
        }
        _ => {}
    }
    let Some(committee) = here else { return Vec::new() };
    out.into_iter()
        .filter_map(|(member, metric, value)| member.map(|member| MemberFact { committee, member, metric, at, value }))
        .collect()
}

/// The committee counter facts of one event.
fn counter_facts(event: &Event, at: chrono::DateTime<chrono::Utc>, here: Option<Uuid>) -> Vec<Fact> {
    let mut out: Vec<(Option<Uuid>, &'static str)> = Vec::new();
    // Facts that add more than one (sums, and the reporting campaign's changes).
    let mut sums: Vec<(Option<Uuid>, &'static str, i64)> = Vec::new();
    match event.payload.as_ref() {
        Some(Payload::ProposalSubmitted(_)) => out.push((here, "proposals_submitted")),
        Some(Payload::ProposalFiled(_)) => out.push((here, "proposals_filed")),
        Some(Payload::ProposalDeclined(_)) => out.push((here, "proposals_declined")),
        Some(Payload::ProposalAssigned(_)) => out.push((here, "proposals_assigned")),
        Some(Payload::ProposalReplied(r)) => {
            out.push((here, "proposals_replied"));
            if r.on_time {
                out.push((here, "proposals_replied_on_time"));
            }
            match r.reply_class.as_str() {
                "A" => out.push((here, "reply_class_a")),
                "B" => out.push((here, "reply_class_b")),
                "C" => out.push((here, "reply_class_c")),
                _ => {}
            }
        }
        Some(Payload::ProposalRated(r)) => {
            out.push((here, "proposals_rated"));
            match r.result_rating.as_str() {
                "satisfied" => out.push((here, "rated_satisfied")),
                "basically_satisfied" => out.push((here, "rated_basically_satisfied")),
                "dissatisfied" => out.push((here, "rated_dissatisfied")),
                _ => {}
            }
        }
        Some(Payload::ProposalOverdue(_)) => out.push((here, "proposals_overdue")),
        Some(Payload::InformationSubmitted(_)) => out.push((here, "information_submitted")),
        Some(Payload::InformationAdopted(a)) => {
            let adopting = committee(&a.adopting_committee_id).or(here);
            out.push((adopting, "information_adopted"));
            if let Some(origin) = committee(&a.origin_committee_id)
                && Some(origin) != adopting
            {
                out.push((Some(origin), "information_adopted_upward"));
            }
        }
        Some(Payload::InformationInstructed(i)) => {
            out.push((committee(&i.instructing_committee_id).or(here), "information_instructed"))
        }
        Some(Payload::AttendanceRecorded(a)) => match a.attendance.as_str() {
            "present" => out.push((here, "attendance_present")),
            "on_leave" => out.push((here, "attendance_on_leave")),
            "absent" => out.push((here, "attendance_absent")),
            _ => {}
        },
        Some(Payload::ConsultationActivityHeld(h)) => {
            out.push((here, "consultations_held"));
            out.push((here, consultations_held_of(&h.consultation_type)));
        }
        Some(Payload::SuggestionFeedbackGiven(f)) if f.previous_result.is_empty() => {
            let result = match f.result.as_str() {
                "adopted" => Some("suggestions_adopted"),
                "partly_adopted" => Some("suggestions_partly_adopted"),
                "not_adopted" => Some("suggestions_not_adopted"),
                _ => None,
            };
            if let Some(result) = result {
                out.push((here, "suggestions_fed_back"));
                out.push((here, result));
            }
        }
        Some(Payload::SuggestionCarriedForward(c)) => match DraftTarget::try_from(c.target) {
            Ok(DraftTarget::Proposal) => out.push((here, "suggestions_carried_to_proposals")),
            Ok(DraftTarget::Information) => out.push((here, "suggestions_carried_to_information")),
            _ => {}
        },
        Some(Payload::SupervisionReportFiled(r)) => {
            // One fact per problem: a report of 100 problems at most (the store's limit).
            for _ in 0..r.problem_count.clamp(0, 100) {
                out.push((here, "supervision_problems_reported"));
            }
        }
        Some(Payload::SupervisionRectificationChanged(r)) => match r.to.as_str() {
            "rectified" => out.push((here, "supervision_problems_rectified")),
            "not_rectified" => out.push((here, "supervision_problems_not_rectified")),
            _ => {}
        },
        Some(Payload::StudioRequestDrafted(d)) => {
            let by_target = match DraftTarget::try_from(d.target) {
                Ok(DraftTarget::Proposal) => Some("studio_requests_to_proposals"),
                Ok(DraftTarget::Information) => Some("studio_requests_to_information"),
                _ => None,
            };
            if let Some(by_target) = by_target {
                out.push((here, "studio_requests_drafted"));
                out.push((here, by_target));
            }
        }
        Some(Payload::MemberEnrolled(_)) => out.push((here, "members_enrolled")),
        // A departure leaves the serving roster; a change between the other statuses, or a
        // return to serving, is not one.
        Some(Payload::MemberStatusChanged(c))
            if c.from == "SERVING" && matches!(c.to.as_str(), "RESIGNED" | "DISMISSED") =>
        {
            out.push((here, "members_departed"))
        }
        Some(Payload::ReportingSessionClosed(r)) => {
            for (metric, change) in [
                ("reporting_due", r.members_due),
                ("reported_on_site", r.reported_on_site),
                ("reported_by_video", r.reported_by_video),
                ("not_reported", r.not_reported),
                ("reports_excellent", r.reports_excellent),
            ] {
                if change != 0 {
                    sums.push((here, metric, i64::from(change)));
                }
            }
        }
        Some(Payload::PerformanceEntryRecorded(e)) => {
            out.push((here, "performance_entries"));
            if e.points != 0 {
                sums.push((here, "performance_points", i64::from(e.points)));
            }
        }
        _ => {}
    }
    out.into_iter()
        .map(|(c, metric)| (c, metric, 1))
        .chain(sums)
        .filter_map(|(c, metric, value)| c.map(|committee| Fact { committee, metric, at, value }))
        .collect()
}

#[async_trait]
impl EventHandler for CounterConsumer {
    fn name(&self) -> &str {
        CONSUMER
    }

    async fn handle(&self, event: &Event) -> std::result::Result<(), HandlerError> {
        let facts = facts(event);
        if let Some(term) = &facts.term {
            self.store.open_term(term).await.map_err(|e| Box::new(e) as HandlerError)?;
        }
        if !facts.counts_anything() {
            return Ok(());
        }
        let Ok(event_id) = Uuid::parse_str(&event.id) else {
            tracing::warn!(event = %event.id, "analytics skips an event whose id is not a UUID");
            return Ok(());
        };
        let new = self.store.apply(event_id, &facts).await.map_err(|e| Box::new(e) as HandlerError)?;
        tracing::debug!(event = %event.id, new, facts = facts.counts.len(), members = facts.members.len(), "analytics counters from an event");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use prost_types::Timestamp;
    use xieshang_proto::common::v1::Date;
    use xieshang_proto::events::v1::{
        AttendanceRecorded, MemberEnrolled, MemberStatusChanged, PerformanceEntryRecorded, ReportingSessionClosed,
        TermOpened,
    };

    use super::*;
    use crate::domain::Period;

    /// 宁晋县政协's id in these tests.
    fn ningjin() -> Uuid {
        Uuid::from_u128(0x130528)
    }

    fn event(payload: Payload) -> Event {
        Event {
            id: Uuid::now_v7().to_string(),
            // 2026-04-20 10:00 in Beijing.
            occur_time: Some(Timestamp { seconds: 1_776_650_400, nanos: 0 }),
            committee_id: ningjin().to_string(),
            payload: Some(payload),
            ..Default::default()
        }
    }

    fn counted(e: &Event) -> Vec<(&'static str, i64)> {
        facts(e).counts.into_iter().map(|f| (f.metric, f.value)).collect()
    }

    #[test]
    fn enrolments_and_departures_count_members() {
        let enrolled = event(Payload::MemberEnrolled(MemberEnrolled {
            member_id: Uuid::now_v7().to_string(),
            sector_id: Uuid::now_v7().to_string(),
            term_number: 10,
        }));
        let f = facts(&enrolled).counts;
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].committee, f[0].metric, f[0].value), (ningjin(), "members_enrolled", 1));
        assert_eq!(Period::containing(f[0].at)[2], Period::Month(2026, 4));
        let changed = |from: &str, to: &str| {
            event(Payload::MemberStatusChanged(MemberStatusChanged {
                member_id: Uuid::now_v7().to_string(),
                from: from.into(),
                to: to.into(),
                effective_date: Some(Date { year: 2026, month: 4, day: 1 }),
            }))
        };
        assert_eq!(counted(&changed("SERVING", "RESIGNED")), [("members_departed", 1)]);
        assert_eq!(counted(&changed("SERVING", "DISMISSED")), [("members_departed", 1)]);
        // Not a departure from the roster of serving members.
        assert!(counted(&changed("RESIGNED", "DISMISSED")).is_empty());
        assert!(counted(&changed("RESIGNED", "SERVING")).is_empty());
    }

    #[test]
    fn a_closed_session_adds_its_changes_to_the_campaign() {
        let regular = event(Payload::ReportingSessionClosed(ReportingSessionClosed {
            session_id: Uuid::now_v7().to_string(),
            year: 2026,
            make_up: false,
            members_due: 20,
            reported_on_site: 17,
            reported_by_video: 1,
            not_reported: 2,
            reports_excellent: 4,
            suggestions_raised: 9,
        }));
        assert_eq!(
            counted(&regular),
            [
                ("reporting_due", 20),
                ("reported_on_site", 17),
                ("reported_by_video", 1),
                ("not_reported", 2),
                ("reports_excellent", 4)
            ]
        );
        // A make-up session hears the two who missed theirs: no one new is due.
        let make_up = event(Payload::ReportingSessionClosed(ReportingSessionClosed {
            session_id: Uuid::now_v7().to_string(),
            year: 2026,
            make_up: true,
            reported_on_site: 2,
            not_reported: -2,
            reports_excellent: 1,
            ..Default::default()
        }));
        assert_eq!(counted(&make_up), [("reported_on_site", 2), ("not_reported", -2), ("reports_excellent", 1)]);
        let mut year = crate::domain::Counts::default();
        for f in facts(&regular).counts.into_iter().chain(facts(&make_up).counts) {
            year.add(f.metric, f.value);
        }
        assert_eq!(year.get("not_reported"), 0);
        assert_eq!(year.measure("reporting_on_site_rate"), (19.0 / 20.0, false));
        assert_eq!(year.measure("reporting_rate"), (1.0, false));
        assert_eq!(year.measure("excellence_rate"), (5.0 / 19.0, false));
    }

    #[test]
    fn an_entry_counts_once_and_adds_its_points() {
        let entry = |points: i32| {
            event(Payload::PerformanceEntryRecorded(PerformanceEntryRecorded {
                entry_id: Uuid::now_v7().to_string(),
                member_id: Uuid::now_v7().to_string(),
                kind: "SPEECHES".into(),
                points,
                source: "STAFF".into(),
                date: Some(Date { year: 2026, month: 3, day: 5 }),
            }))
        };
        assert_eq!(counted(&entry(5)), [("performance_entries", 1), ("performance_points", 5)]);
        assert_eq!(counted(&entry(0)), [("performance_entries", 1)]);
        // Without a committee there is nobody to count for.
        let mut orphan = entry(3);
        orphan.committee_id = String::new();
        assert!(!facts(&orphan).counts_anything());
    }

    #[test]
    fn member_events_count_for_the_member_and_terms_are_recorded() {
        let member = Uuid::now_v7();
        let entry = event(Payload::PerformanceEntryRecorded(PerformanceEntryRecorded {
            entry_id: Uuid::now_v7().to_string(),
            member_id: member.to_string(),
            kind: "INFORMATION".into(),
            points: 3,
            source: "AUTOMATIC".into(),
            date: Some(Date { year: 2026, month: 4, day: 18 }),
        }));
        let f = facts(&entry);
        let members: Vec<(Uuid, Uuid, &str, i64)> =
            f.members.iter().map(|m| (m.committee, m.member, m.metric, m.value)).collect();
        assert_eq!(
            members,
            [
                (ningjin(), member, "performance_entries", 1),
                (ningjin(), member, "performance_points", 3),
                (ningjin(), member, "information_entries", 1)
            ]
        );
        let absent = event(Payload::AttendanceRecorded(AttendanceRecorded {
            meeting_id: Uuid::now_v7().to_string(),
            member_id: member.to_string(),
            attendance: "absent".into(),
            date: Some(Date { year: 2026, month: 4, day: 20 }),
            ..Default::default()
        }));
        let f = facts(&absent);
        assert_eq!(f.members.iter().map(|m| m.metric).collect::<Vec<_>>(), ["attendance_absent"]);
        assert_eq!(counted(&absent), [("attendance_absent", 1)]);
        // A member id that is not one counts for nobody.
        let mut bad = absent.clone();
        if let Some(Payload::AttendanceRecorded(a)) = bad.payload.as_mut() {
            a.member_id = "王建军".into();
        }
        assert!(facts(&bad).members.is_empty());

        let term_id = Uuid::now_v7();
        let opened = event(Payload::TermOpened(TermOpened {
            term_id: term_id.to_string(),
            number: 10,
            start_date: Some(Date { year: 2021, month: 12, day: 15 }),
        }));
        let f = facts(&opened);
        assert!(!f.counts_anything(), "a term adds to no counter");
        let term = f.term.unwrap();
        assert_eq!((term.committee, term.term_id, term.number), (ningjin(), term_id, 10));
        assert_eq!(term.start, chrono::NaiveDate::from_ymd_opt(2021, 12, 15).unwrap());
        // Malformed terms are not recorded.
        for (number, date) in [
            (0, Some(Date { year: 2021, month: 12, day: 15 })),
            (10, Some(Date { year: 2021, month: 2, day: 30 })),
            (10, None),
        ] {
            let e = event(Payload::TermOpened(TermOpened { term_id: term_id.to_string(), number, start_date: date }));
            assert!(facts(&e).term.is_none(), "{number} {:?}", e.payload);
        }
    }
}
