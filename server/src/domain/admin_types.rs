//! What an admin types: an email address to sign in with, and a password.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use super::{EmailDomain, ParseError};

/// An admin's email address: `local@domain`, lowercased (addresses compare
/// case-insensitively for sign-in), at most 254 bytes.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses and lowercases an address.
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let trimmed = value.trim();
        let bad = || ParseError("enter an email address like name@example.com".into());
        if trimmed.len() > 254 {
            return Err(ParseError("an email address has at most 254 characters".into()));
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or_else(bad)?;
        let local_ok = (1..=64).contains(&local.len())
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        if !local_ok {
            return Err(bad());
        }
        let domain = EmailDomain::parse(domain).map_err(|_| bad())?;
        Ok(Self(format!("{}@{domain}", local.to_ascii_lowercase())))
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Shortest password accepted.
pub const PASSWORD_MIN_CHARS: usize = 12;
/// Longest password accepted: long enough for any passphrase or manager, short enough that
/// hashing it costs what the rate limit expects.
pub const PASSWORD_MAX_BYTES: usize = 256;

/// Passwords every guessing list starts with (each at least [`PASSWORD_MIN_CHARS`] long;
/// shorter ones are refused by length).
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "password1234",
    "password12345",
    "password123456",
    "passwordpassword",
    "qwertyuiopasdf",
    "qwerty123456",
    "qwertyuiop123",
    "iloveyou1234",
    "administrator",
    "letmein12345",
    "welcome12345",
    "changeme1234",
    "correcthorsebatterystaple",
    "abcdefghijkl",
    "abc123456789",
    "trustno1trustno1",
    "aaaaaaaaaaaa",
];

/// A password that met the policy: 12 to 256 bytes, not a well-known password, not the
/// email address, not one repeated character. Never in `Debug` or logs.
pub struct NewPassword(SecretString);

impl NewPassword {
    /// Checks `value` for the account `email`.
    pub fn parse(value: &str, email: &EmailAddress) -> Result<Self, ParseError> {
        if value.len() > PASSWORD_MAX_BYTES {
            return Err(ParseError(format!("a password has at most {PASSWORD_MAX_BYTES} bytes")));
        }
        if value.chars().count() < PASSWORD_MIN_CHARS {
            return Err(ParseError(format!(
                "a password has at least {PASSWORD_MIN_CHARS} characters; a few unrelated words make a good one"
            )));
        }
        let lower = value.to_lowercase();
        let local = email.as_str().split('@').next().unwrap_or_default();
        if COMMON.contains(&lower.as_str()) || lower == email.as_str() || lower == local {
            return Err(ParseError("this password is too easy to guess; choose another".into()));
        }
        let mut chars = value.chars();
        if let Some(first) = chars.next()
            && chars.all(|c| c == first)
        {
            return Err(ParseError("a password cannot be one character repeated".into()));
        }
        Ok(Self(SecretString::from(value.to_owned())))
    }

    /// The password, for hashing.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> EmailAddress {
        EmailAddress::parse("Ada.Lovelace@Example.COM").unwrap()
    }

    #[test]
    fn addresses_are_lowercased_and_checked() {
        assert_eq!(email().as_str(), "ada.lovelace@example.com");
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@localhost",
            "a..b@example.com",
            "a b@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
        assert!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn weak_and_over_long_passwords_are_refused() {
        let e = email();
        for weak in [
            "short",
            "password1234",
            "PASSWORD1234",
            "aaaaaaaaaaaaaaaa",
            "ada.lovelace@example.com",
        ] {
            assert!(NewPassword::parse(weak, &e).is_err(), "{weak}");
        }
        assert!(NewPassword::parse(&"x1".repeat(129), &e).is_err());
        assert!(NewPassword::parse("plum harbour violet engine", &e).is_ok());
        assert!(NewPassword::parse(&"é".repeat(12), &e).is_err(), "repeated");
        assert!(NewPassword::parse("ünïcödé pässwörd", &e).is_ok());
    }

    #[test]
    fn passwords_never_show_in_debug() {
        let p = NewPassword::parse("plum harbour violet engine", &email()).unwrap();
        assert!(!format!("{p:?}").contains("plum"));
    }
}
