//! Flag parsing and checks shared by the newer commands: dates, years, page
//! sizes, today's date in China, and the "next page" line.

use anyhow::{Result, bail};
use serde_json::Value;
use xieshang_proto::common::v1::Date;

use super::Out;
use super::render::line;

/// Parses `YYYY-MM-DD` (also `YYYY/MM/DD`) into a valid calendar day.
pub fn parse_date(text: &str) -> Result<Date, String> {
    use chrono::Datelike;
    let t = text.trim().replace('/', "-");
    chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d")
        .map(|d| Date { year: d.year(), month: d.month() as i32, day: d.day() as i32 })
        .map_err(|_| format!("`{text}` is not a date; write it as YYYY-MM-DD, e.g. 2025-01-08"))
}

/// Parses a year between 2000 and 2100.
pub fn parse_year(text: &str) -> Result<i32, String> {
    match text.trim().parse::<i32>() {
        Ok(y) if (2000..=2100).contains(&y) => Ok(y),
        _ => Err(format!("`{text}` is not a year between 2000 and 2100")),
    }
}

/// Today in China Standard Time, where committees work.
pub fn today() -> Date {
    use chrono::Datelike;
    let cst = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    let d = chrono::Utc::now().with_timezone(&cst).date_naive();
    Date { year: d.year(), month: d.month() as i32, day: d.day() as i32 }
}

/// This year in China Standard Time.
pub fn this_year() -> i32 {
    today().year
}

/// Refuses a page size outside 1..=max.
pub fn check_page_size(page_size: Option<i32>, max: i32) -> Result<()> {
    if let Some(n) = page_size
        && !(1..=max).contains(&n)
    {
        bail!("--page-size must be between 1 and {max}");
    }
    Ok(())
}

/// Refuses `--from` after `--to`.
pub fn check_range(from: Option<&Date>, to: Option<&Date>) -> Result<()> {
    if let (Some(f), Some(t)) = (from, to)
        && (f.year, f.month, f.day) > (t.year, t.month, t.day)
    {
        bail!("--from {} is after --to {}", super::render::date(Some(f)), super::render::date(Some(t)));
    }
    Ok(())
}

/// Refuses an empty text flag (after trimming).
pub fn require_text(flag: &str, text: &str, max_chars: usize) -> Result<()> {
    let n = text.trim().chars().count();
    if n == 0 {
        bail!("{flag} must not be empty");
    }
    if n > max_chars {
        bail!("{flag} is too long: {n} characters, at most {max_chars}");
    }
    Ok(())
}

/// Writes the hint for the next page, when there is one.
pub fn next_page(out: Out<'_>, token: &str) -> Result<()> {
    if token.is_empty() { Ok(()) } else { line(out, format!("More: --page-token {token}")) }
}

/// `{"items": …, "next_page_token": …}` for paged listings.
pub fn paged_json(key: &str, items: Vec<Value>, token: &str) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(key.to_owned(), Value::Array(items));
    map.insert("next_page_token".to_owned(), Value::String(token.to_owned()));
    Value::Object(map)
}

/// An enum's proto name without its prefix, lower-case with dashes:
/// `PROJECT_STATUS_FOLLOW_UP_REVIEW` → `follow-up-review`.
pub fn short_name(proto_name: &str, prefix: &str) -> String {
    proto_name.trim_start_matches(prefix).to_ascii_lowercase().replace('_', "-")
}

/// Parses a short enum name (`follow-up-review`, `FOLLOW_UP_REVIEW`, or the
/// full proto name) given the enum's prefix and its `from_str_name`.
pub fn parse_enum<E: Copy>(
    text: &str,
    prefix: &str,
    from_str_name: fn(&str) -> Option<E>,
    unspecified: fn(E) -> bool,
    choices: &str,
) -> Result<E, String> {
    let upper = text.trim().to_ascii_uppercase().replace(['-', ' '], "_");
    let name = if upper.starts_with(prefix) { upper } else { format!("{prefix}{upper}") };
    from_str_name(&name).filter(|e| !unspecified(*e)).ok_or_else(|| format!("unknown value `{text}`; use {choices}"))
}

/// Percent with one decimal: 0.756 → "75.6%".
pub fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_years_parse() {
        assert_eq!(parse_date("2025-01-08").unwrap(), Date { year: 2025, month: 1, day: 8 });
        assert_eq!(parse_date("2025/1/8").unwrap(), Date { year: 2025, month: 1, day: 8 });
        assert!(parse_date("2025-02-30").unwrap_err().contains("YYYY-MM-DD"));
        assert_eq!(parse_year("2026"), Ok(2026));
        assert!(parse_year("26").is_err());
        assert!(check_page_size(Some(0), 100).is_err());
        assert!(check_page_size(Some(100), 100).is_ok());
        let a = Date { year: 2025, month: 3, day: 1 };
        let b = Date { year: 2025, month: 1, day: 1 };
        assert!(check_range(Some(&a), Some(&b)).unwrap_err().to_string().contains("after"));
        assert!(check_range(Some(&b), Some(&a)).is_ok());
        assert_eq!(short_name("PROJECT_STATUS_FOLLOW_UP_REVIEW", "PROJECT_STATUS_"), "follow-up-review");
        assert_eq!(percent(0.756), "75.6%");
    }
}
