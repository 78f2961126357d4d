//! Member studios (委员工作室): the request kinds and states, tracking codes
//! for the public's requests, and the in-process rate limiter of the public
//! endpoint — pure rules, unit-tested.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;
use xieshang_platform::ids::{CommitteeId, UserId};

small_enum!(
    /// 咨询 / 建议 / 求助.
    RequestKind { Question = 1, Suggestion = 2, Help = 3 }
);
small_enum!(
    /// 已收到 → 已答复.
    RequestState { Received = 1, Answered = 2 }
);
small_enum!(
    /// What staff turned a request into.
    DraftKind { Proposal = 1, Information = 2 }
);

/// Public submissions allowed per client address and committee per window.
pub const PUBLIC_LIMIT: usize = 5;
/// The rate limiter's window.
pub const PUBLIC_WINDOW: Duration = Duration::from_secs(600);
/// Longest request content.
pub const MAX_CONTENT: usize = 1000;

#[derive(Clone, Debug)]
pub struct Rating {
    pub stars: i16,
    pub date: NaiveDate,
    pub note: String,
    pub rated_by: UserId,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct Studio {
    pub id: Uuid,
    pub committee_id: CommitteeId,
    pub name: String,
    pub sector_id: Uuid,
    pub address: String,
    /// (member id, name).
    pub members: Vec<(Uuid, String)>,
    pub service_items: Vec<String>,
    /// Oldest first; the last is the current rating.
    pub ratings: Vec<Rating>,
    pub created_at: DateTime<Utc>,
}

impl Studio {
    /// The latest rating's stars; 0 when never rated.
    pub fn stars(&self) -> i16 {
        self.ratings.last().map_or(0, |r| r.stars)
    }
}

#[derive(Clone, Debug)]
pub struct NewStudio {
    pub name: String,
    pub sector_id: Uuid,
    pub address: String,
    pub member_ids: Vec<Uuid>,
    pub service_items: Vec<String>,
}

/// A validated public submission.
#[derive(Clone, Debug)]
pub struct PublicRequest {
    pub committee_code: String,
    pub studio_id: Uuid,
    pub kind: RequestKind,
    pub content: String,
    pub contact_name: String,
    pub contact_phone: String,
}

/// A request as staff and studio members see it (the phone masked).
#[derive(Clone, Debug)]
pub struct StudioRequest {
    pub id: Uuid,
    pub studio_id: Uuid,
    pub studio_name: String,
    pub kind: RequestKind,
    pub content: String,
    pub contact_name: String,
    pub contact_phone_masked: String,
    pub tracking_code: String,
    pub state: RequestState,
    pub answer: String,
    pub answered_by: Option<UserId>,
    pub answered_at: Option<DateTime<Utc>>,
    pub draft_kind: Option<DraftKind>,
    pub drafted_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// A tracking code: the committee's division code and twelve random hex
/// digits, e.g. "130528-7F3A9C21B04E".
pub fn tracking_code(committee_code: &str) -> String {
    let random = Uuid::new_v4().simple().to_string().to_uppercase();
    format!("{committee_code}-{}", &random[..12])
}

/// The division code a tracking code starts with, if it has the shape of one.
pub fn tracking_code_committee(code: &str) -> Option<&str> {
    let (division, rest) = code.trim().split_once('-')?;
    let ok = division.len() == 6
        && division.chars().all(|c| c.is_ascii_digit())
        && rest.len() == 12
        && rest.chars().all(|c| c.is_ascii_hexdigit());
    ok.then_some(division)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_codes_embed_the_division_code() {
        let code = tracking_code("330481");
        assert_eq!(tracking_code_committee(&code), Some("330481"));
        assert_eq!(tracking_code_committee("330481-XYZ"), None);
        assert_eq!(tracking_code_committee("33048-0123456789AB"), None);
    }
}
