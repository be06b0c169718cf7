//! Credentials as plain functions over plain types: argon2id password hashes, TOTP codes,
//! recovery codes and single-use link tokens. No HTTP, no database.

pub mod password;
pub mod totp;

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A random token for an email link: 256 bits, URL-safe base64.
pub fn link_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a high-entropy token, as hex: what the database keeps instead of the token,
/// so a database dump holds no usable link.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(&mut s, bytes);
    s
}

/// Appends `bytes` as lowercase hex (a table lookup per nibble; `format!` per byte cost
/// more than the SHA-256 before it).
pub fn push_hex(s: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    s.reserve(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz23456789-";

/// Ten recovery codes of 50 random bits each, formatted `xxxxx-xxxxx`.
pub fn recovery_codes() -> Vec<String> {
    (0..10)
        .map(|_| {
            let mut code = String::with_capacity(11);
            for i in 0..10 {
                if i == 5 {
                    code.push('-');
                }
                // 31 symbols (no `-` inside a half), drawn without modulo bias.
                let symbol = loop {
                    let b = (rand::rngs::OsRng.next_u32() & 0x1f) as usize;
                    if b < 31 {
                        break RECOVERY_ALPHABET[b];
                    }
                };
                code.push(char::from(symbol));
            }
            code
        })
        .collect()
}

/// The form a recovery code is hashed in: lowercase, without spaces.
pub fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Hashes of fresh recovery codes, as stored (a JSON list).
pub fn recovery_hashes_json(codes: &[String]) -> String {
    let hashes: Vec<String> = codes.iter().map(|c| token_hash(&normalize_recovery_code(c))).collect();
    serde_json::to_string(&hashes).unwrap_or_else(|_| "[]".into())
}

/// Uses up `code` from the stored list: the list without it, or `None` when the code is
/// not in it. The caller stores the new list only if the old one is still in place
/// (compare-and-set), so a code is accepted once even by two replicas at once.
pub fn consume_recovery_code(stored: &str, code: &str) -> Option<String> {
    let mut hashes: Vec<String> = serde_json::from_str(stored).ok()?;
    let hash = token_hash(&normalize_recovery_code(code));
    let pos = hashes
        .iter()
        .position(|h| constant_time_eq(h.as_bytes(), hash.as_bytes()))?;
    hashes.remove(pos);
    serde_json::to_string(&hashes).ok()
}

/// How many codes a stored list still holds.
pub fn recovery_codes_left(stored: Option<&str>) -> usize {
    stored
        .and_then(|s| serde_json::from_str::<Vec<String>>(s).ok())
        .map_or(0, |v| v.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (link_token(), link_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_eq!(hex(&[0x00, 0x09, 0x0a, 0x7f, 0xa5, 0xff]), "00090a7fa5ff");
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(token_hash(&a), token_hash(&b));
        assert_eq!(token_hash(&a), token_hash(&a));
    }

    #[test]
    fn recovery_codes_are_distinct_and_well_formed() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        for c in &codes {
            assert_eq!(c.len(), 11);
            assert_eq!(c.as_bytes()[5], b'-');
            assert_eq!(normalize_recovery_code(&c.to_uppercase()), *c);
        }
    }

    #[test]
    fn recovery_codes_are_used_up_once() {
        let codes = recovery_codes();
        let stored = recovery_hashes_json(&codes);
        assert_eq!(recovery_codes_left(Some(&stored)), 10);
        assert!(!stored.contains(&codes[0]), "only hashes are stored");
        let after = consume_recovery_code(&stored, &format!(" {} ", codes[3].to_uppercase())).unwrap();
        assert_eq!(recovery_codes_left(Some(&after)), 9);
        assert!(consume_recovery_code(&after, &codes[3]).is_none(), "used");
        assert!(consume_recovery_code(&after, "zzzzz-zzzzz").is_none(), "unknown");
        assert!(consume_recovery_code("not json", &codes[0]).is_none());
    }

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"123456", b"123456"));
        assert!(!constant_time_eq(b"123456", b"123457"));
        assert!(!constant_time_eq(b"12345", b"123456"));
    }
}
