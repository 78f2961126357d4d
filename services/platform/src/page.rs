//! Opaque page tokens and page-size limits (AIP-158).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::status::InvalidField;

/// One page of results and the token for the next (empty on the last page).
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: String,
}

/// Clamps a requested page size: 0 means `default`, anything above `max` is `max`.
pub fn size(requested: i32, default: u64, max: u64) -> Result<u64, InvalidField> {
    match requested {
        n if n < 0 => Err(InvalidField::new("page_size", "must not be negative")),
        0 => Ok(default),
        n => Ok((n as u64).min(max)),
    }
}

/// Encodes the sort key of the last item of a page. The token is opaque to
/// clients; a version prefix lets its format change.
pub fn encode(last_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{last_key}"))
}

/// Decodes a page token into the sort key to continue after (None for the first page).
pub fn decode(token: &str) -> Result<Option<String>, InvalidField> {
    if token.is_empty() {
        return Ok(None);
    }
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| s.strip_prefix("v1:").map(str::to_owned))
        .map(Some)
        .ok_or_else(|| InvalidField::new("page_token", "is not a token this server issued"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        assert_eq!(decode(&encode("130528")).unwrap(), Some("130528".to_owned()));
        assert_eq!(decode("").unwrap(), None);
    }

    #[test]
    fn foreign_tokens_are_invalid_argument() {
        let err = tonic::Status::from(decode("not-a-token!").unwrap_err());
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert!(err.message().starts_with("page_token"));
    }

    #[test]
    fn sizes_are_clamped() {
        assert_eq!(size(0, 50, 500).unwrap(), 50);
        assert_eq!(size(9999, 50, 500).unwrap(), 500);
        assert!(size(-1, 50, 500).is_err());
    }
}
