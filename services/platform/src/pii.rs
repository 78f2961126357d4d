//! Personal information at rest (个人信息加密存储): SM4 in CCM mode (an AEAD)
//! with a random 13-byte nonce per value, stored as `nonce || ciphertext || tag`;
//! the associated data binds each value to its owning record and field, so a
//! ciphertext copied to another row or column does not decrypt. ID numbers
//! also get a keyed digest (HMAC-SHA256 under a key derived from the PII key)
//! for uniqueness indexes.
//!
//! One key (`pii.key`) serves every service that stores personal information
//! (membership's members and studio requests, consultation's public topic
//! contacts), so `xieshang pii rekey` rotates them together. The associated
//! data's prefix (`xieshang/member/…`) and the digest's derivation label are
//! part of the stored format: they predate this module's move out of the
//! membership service and must not change.
//!
//! Values are never logged: [`Pii`] has no `Debug` that shows its key.

use ccm::aead::{Aead, KeyInit, Payload};
use ccm::consts::{U13, U16};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use uuid::Uuid;

/// A sealed value did not open: the wrong key, or a value changed or moved to
/// another record or field. Never carries the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("personal information does not decrypt with the configured key")]
pub struct PiiError;

/// The associated-data field of a public topic submitter's phone
/// (`consultation_topics.contact_phone_enc`, owner: the topic id). Shared here
/// because two crates need it: consultation seals it, `xieshang pii rekey`
/// (membership's `rekey`) moves it to a new key.
pub const TOPIC_CONTACT_PHONE: &str = "consultation_topic/contact_phone";

type Sm4Ccm = ccm::Ccm<sm4::Sm4, U16, U13>;
const NONCE_LEN: usize = 13;

/// The service's personal-information keys.
#[derive(Clone)]
pub struct Pii {
    cipher: Sm4Ccm,
    digest_key: [u8; 32],
}

impl std::fmt::Debug for Pii {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pii(..)")
    }
}

impl Pii {
    pub fn new(key: [u8; 16]) -> Self {
        let cipher = Sm4Ccm::new(&key.into());
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes any key length");
        mac.update(b"xieshang/membership/id-number-digest/v1");
        let digest_key: [u8; 32] = mac.finalize().into_bytes().into();
        Self { cipher, digest_key }
    }

    /// Binds a value to its owner and field. "member" is historical: every
    /// owner (member, studio request, topic) uses this prefix, and the stored
    /// values depend on it.
    fn aad(owner: Uuid, field: &str) -> Vec<u8> {
        format!("xieshang/member/{owner}/{field}").into_bytes()
    }

    /// Encrypts `value` of `field` of the record `owner`.
    pub fn seal(&self, owner: Uuid, field: &str, value: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let aad = Self::aad(owner, field);
        let sealed = self
            .cipher
            .encrypt(&nonce.into(), Payload { msg: value.as_bytes(), aad: &aad })
            .expect("CCM encrypts values far below its length limit");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts what [`Pii::seal`] produced for the same owner and field.
    pub fn open(&self, owner: Uuid, field: &str, stored: &[u8]) -> Result<String, PiiError> {
        if stored.len() < NONCE_LEN {
            return Err(PiiError);
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| PiiError)?;
        let aad = Self::aad(owner, field);
        let plain = self.cipher.decrypt(&nonce.into(), Payload { msg: sealed, aad: &aad }).map_err(|_| PiiError)?;
        String::from_utf8(plain).map_err(|_| PiiError)
    }

    /// Moves a stored value to `new`: opens it with `new` first and, when that
    /// fails, with `self`; returns the plain value and the value sealed under
    /// `new`, or `None` when it already was. Trying the new key first is what
    /// makes a rekey that stopped half way safe to run again: a CCM tag (16
    /// bytes) does not verify under the wrong key, so "already moved" is never
    /// mistaken for "still old".
    pub fn reseal(
        &self,
        new: &Pii,
        owner: Uuid,
        field: &str,
        stored: &[u8],
    ) -> Result<(String, Option<Vec<u8>>), PiiError> {
        if let Ok(plain) = new.open(owner, field, stored) {
            return Ok((plain, None));
        }
        let plain = self.open(owner, field, stored)?;
        let sealed = new.seal(owner, field, &plain);
        Ok((plain, Some(sealed)))
    }

    /// Keyed digest (hex) of a normalized ID number.
    pub fn id_digest(&self, id_number: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.digest_key).expect("HMAC takes any key length");
        mac.update(id_number.as_bytes());
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Parses a key as configured: 32 hexadecimal digits, surrounding
/// whitespace (a file's final newline) ignored. The error never echoes the value.
pub fn parse_key(hex: &str) -> std::result::Result<[u8; 16], &'static str> {
    let hex = hex.trim();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("an SM4 key must be 32 hexadecimal digits (128 bits)");
    }
    let mut key = [0u8; 16];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| "not hexadecimal")?;
    }
    Ok(key)
}

/// A phone number for display: `138****5678` (the first three and last four
/// digits); shorter values are all stars.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_are_bound_to_member_and_field() {
        let pii = Pii::new(*b"0123456789abcdef");
        let member = Uuid::now_v7();
        let sealed = pii.seal(member, "phone", "13812345678");
        assert!(!sealed.windows(11).any(|w| w == b"13812345678"));
        assert_eq!(pii.open(member, "phone", &sealed).unwrap(), "13812345678");
        assert!(pii.open(member, "id_number", &sealed).is_err());
        assert!(pii.open(Uuid::now_v7(), "phone", &sealed).is_err());
        // A fresh nonce every time.
        assert_ne!(sealed, pii.seal(member, "phone", "13812345678"));
        let other = Pii::new(*b"fedcba9876543210");
        assert!(other.open(member, "phone", &sealed).is_err());
    }

    #[test]
    fn digests_are_keyed_and_stable() {
        let pii = Pii::new(*b"0123456789abcdef");
        assert_eq!(pii.id_digest("13052819800101001X"), pii.id_digest("13052819800101001X"));
        assert_ne!(pii.id_digest("13052819800101001X"), Pii::new(*b"fedcba9876543210").id_digest("13052819800101001X"));
        assert_eq!(pii.id_digest("x").len(), 64);
    }

    #[test]
    fn reseal_moves_values_to_the_new_key_once() {
        let (old, new) = (Pii::new(*b"0123456789abcdef"), Pii::new(*b"fedcba9876543210"));
        let member = Uuid::now_v7();
        let stored = old.seal(member, "id_number", "13052819800101001X");
        let (plain, moved) = old.reseal(&new, member, "id_number", &stored).unwrap();
        assert_eq!(plain, "13052819800101001X");
        let moved = moved.expect("an old value is resealed");
        assert_eq!(new.open(member, "id_number", &moved).unwrap(), plain);
        assert!(old.open(member, "id_number", &moved).is_err());
        // Running again finds it already under the new key and leaves it.
        let (again, untouched) = old.reseal(&new, member, "id_number", &moved).unwrap();
        assert_eq!((again.as_str(), untouched), (plain.as_str(), None));
        // A value under neither key (a wrong "old" key) is an error, not silently kept.
        let third = Pii::new(*b"aaaaaaaaaaaaaaaa");
        let foreign = third.seal(member, "id_number", "x");
        assert!(old.reseal(&new, member, "id_number", &foreign).is_err());
        // The digest follows the key: recomputed under the new one, it differs.
        assert_ne!(old.id_digest(&plain), new.id_digest(&plain));
    }

    #[test]
    fn the_stored_format_is_unchanged() {
        // Values written before the move out of membership must still open:
        // nonce || SM4-CCM(value) with AAD "xieshang/member/<owner>/<field>".
        let key = *b"0123456789abcdef";
        let owner = Uuid::now_v7();
        let nonce = [7u8; NONCE_LEN];
        let aad = format!("xieshang/member/{owner}/phone");
        let sealed = Sm4Ccm::new(&key.into())
            .encrypt(&nonce.into(), Payload { msg: b"13812345678", aad: aad.as_bytes() })
            .unwrap();
        let stored = [nonce.as_slice(), &sealed].concat();
        assert_eq!(Pii::new(key).open(owner, "phone", &stored).unwrap(), "13812345678");
    }

    #[test]
    fn phones_are_masked() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("1234"), "****");
    }

    #[test]
    fn keys_parse_from_hex_without_echoing_them() {
        let key = parse_key("  0123456789abcdef0123456789ABCDEF\n").unwrap();
        assert_eq!(key[0], 0x01);
        assert_eq!(key[15], 0xef);
        assert!(parse_key("0123").is_err());
        let err = parse_key("zz23456789abcdef0123456789abcdef").unwrap_err();
        assert!(!err.contains("zz"));
        assert!(parse_key("éé23456789abcdef0123456789abcd").is_err());
    }
}
