//! Personal information at rest: the SM4-CCM sealing and keyed digests now
//! live in the platform kit ([`xieshang_platform::pii`]), shared with the
//! consultation service; this module keeps the names membership's code and
//! tools (`xieshang_membership::Pii`) have always used.

pub use xieshang_platform::pii::{Pii, PiiError, parse_key};

use crate::error::MembershipError;

/// A value that does not open is [`MembershipError::Crypto`] (an internal
/// error: the wrong key, or tampering), wherever membership opens one.
impl From<PiiError> for MembershipError {
    fn from(_: PiiError) -> Self {
        MembershipError::Crypto
    }
}
