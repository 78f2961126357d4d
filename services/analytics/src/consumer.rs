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
//! - studios: `StudioRequestDrafted` (in total and by target).
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

use crate::domain::{Fact, consultations_held_of};
use crate::store::{CONSUMER, Store, occurred};

/// The analytics service's event consumer.
pub struct CounterConsumer {
    pub(crate) store: Store,
}

fn committee(s: &str) -> Option<Uuid> {
    Uuid::parse_str(s).ok()
}

/// The facts one event contributes; empty for events analytics does not count.
pub fn facts(event: &Event) -> Vec<Fact> {
    let at = event.occur_time.as_ref().map_or_else(xieshang_platform::time::now, |t| occurred(t.seconds, t.nanos));
    let here = committee(&event.committee_id);
    let mut out: Vec<(Option<Uuid>, &'static str)> = Vec::new();
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
        _ => {}
    }
    out.into_iter().filter_map(|(c, metric)| c.map(|committee| Fact { committee, metric, at })).collect()
}

#[async_trait]
impl EventHandler for CounterConsumer {
    fn name(&self) -> &str {
        CONSUMER
    }

    async fn handle(&self, event: &Event) -> std::result::Result<(), HandlerError> {
        let facts = facts(event);
        if facts.is_empty() {
            return Ok(());
        }
        let Ok(event_id) = Uuid::parse_str(&event.id) else {
            tracing::warn!(event = %event.id, "analytics skips an event whose id is not a UUID");
            return Ok(());
        };
        let new = self.store.apply(event_id, &facts).await.map_err(|e| Box::new(e) as HandlerError)?;
        tracing::debug!(event = %event.id, new, facts = facts.len(), "analytics counters from an event");
        Ok(())
    }
}
