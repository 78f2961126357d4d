//! Conversions between chrono and protobuf time types.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use xieshang_proto::common::v1 as common;

use crate::status;

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }
}

pub fn date_to_proto(d: NaiveDate) -> common::Date {
    common::Date { year: d.year(), month: d.month() as i32, day: d.day() as i32 }
}

/// Parses a required date, naming `field` when it is missing or impossible.
pub fn date_from_proto(field: &str, d: Option<&common::Date>) -> Result<NaiveDate, tonic::Status> {
    let d = d.ok_or_else(|| status::invalid_argument(field, "is required"))?;
    u32::try_from(d.month)
        .ok()
        .zip(u32::try_from(d.day).ok())
        .and_then(|(m, day)| NaiveDate::from_ymd_opt(d.year, m, day))
        .filter(|date| (1949..=2200).contains(&date.year()))
        .ok_or_else(|| status::invalid_argument(field, "is not a valid date"))
}

/// Current time truncated to microseconds, the precision both databases keep,
/// so a value read back equals the value written.
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    t - chrono::Duration::nanoseconds(i64::from(t.timestamp_subsec_nanos() % 1_000))
}
