//! Event consumers of this crate.
//!
//! [`UpwardStatus`] brings what a committee further up did with a forwarded
//! information item (`InformationAdopted`, `InformationInstructed`) back to the
//! original item, in the original's committee scope. Delivery is at least
//! once; applying an event is keyed by its id, so a repeat changes nothing.

use async_trait::async_trait;
use uuid::Uuid;
use xieshang_platform::events::{EventHandler, HandlerError};
use xieshang_platform::ids::CommitteeId;
use xieshang_proto::events::v1::{Event, event::Payload};

use crate::store::{Store, Upward};

pub struct UpwardStatus {
    pub store: Store,
}

fn id(s: &str) -> Option<Uuid> {
    Uuid::parse_str(s).ok()
}

#[async_trait]
impl EventHandler for UpwardStatus {
    fn name(&self) -> &str {
        "proposals-information-upward"
    }

    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        let (item, origin, by, adopted) = match &event.payload {
            Some(Payload::InformationAdopted(a)) => {
                (&a.information_id, &a.origin_committee_id, &a.adopting_committee_id, true)
            }
            Some(Payload::InformationInstructed(i)) => {
                (&i.information_id, &i.origin_committee_id, &i.instructing_committee_id, false)
            }
            _ => return Ok(()),
        };
        if origin == by {
            return Ok(());
        }
        let at = event
            .occur_time
            .as_ref()
            .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
            .unwrap_or_else(xieshang_platform::time::now);
        let (Some(event_id), Some(origin), Some(item), Some(by)) = (id(&event.id), id(origin), id(item), id(by)) else {
            // Retrying cannot repair a malformed event; it must not hold up the ones behind it.
            tracing::warn!(event = %event.id, "information event with a malformed id skipped");
            return Ok(());
        };
        let up = Upward {
            event_id,
            origin_committee: CommitteeId(origin),
            origin_item: item,
            adopted,
            by_committee: CommitteeId(by),
            at,
        };
        // Database errors are returned, so the relay delivers the event again.
        self.store.apply_upward(up).await.map_err(|e| Box::new(e) as HandlerError)?;
        Ok(())
    }
}
