//! The tenant's DNS label.

use std::fmt;

use super::ParseError;

/// Labels a tenant may not take: they name parts of the service or invite confusion.
const RESERVED: &[&str] = &[
    "admin",
    "api",
    "app",
    "auth",
    "console",
    "dashboard",
    "docs",
    "help",
    "login",
    "mail",
    "metrics",
    "rosetta",
    "saml",
    "oidc",
    "sso",
    "static",
    "status",
    "support",
    "www",
];

/// A tenant's slug: one lowercase DNS label (`a-z`, `0-9`, inner `-`), 1–63 bytes, not
/// reserved. It is the first label of the tenant's host and a key namespace, so it never
/// contains `.` or `:`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantSlug(String);

impl TenantSlug {
    /// Parses a slug exactly as given (no case folding: `Acme` is refused, not rewritten).
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        if value.is_empty() {
            return Err(ParseError("a tenant slug cannot be empty".into()));
        }
        if value.len() > 63 {
            return Err(ParseError("a tenant slug has at most 63 characters".into()));
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(ParseError(format!(
                "tenant slug `{}` may only contain lowercase letters, digits and `-`",
                value.escape_default()
            )));
        }
        if value.starts_with('-') || value.ends_with('-') {
            return Err(ParseError(format!(
                "tenant slug `{value}` cannot start or end with `-`"
            )));
        }
        if value.len() >= 4 && &value[2..4] == "--" {
            // `xn--` and friends: punycode look-alikes of other names.
            return Err(ParseError(format!(
                "tenant slug `{value}` cannot have `--` in third and fourth position"
            )));
        }
        if RESERVED.contains(&value) {
            return Err(ParseError(format!("tenant slug `{value}` is reserved")));
        }
        Ok(Self(value.to_owned()))
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantSlug({})", self.0)
    }
}

impl AsRef<str> for TenantSlug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_plain_labels() {
        for ok in ["acme", "a", "acme-corp", "x1", "0day", &"a".repeat(63)] {
            assert_eq!(TenantSlug::parse(ok).map(|s| s.to_string()), Ok(ok.to_string()));
        }
    }

    #[test]
    fn refuses_what_is_not_a_lowercase_label() {
        for bad in [
            "",
            "Acme",
            "acme.evil",
            "acme:1",
            "-acme",
            "acme-",
            "ac me",
            "äcme",
            "acme_",
            "xn--acme",
            "www",
            "api",
            "admin",
            &"a".repeat(64),
        ] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    proptest! {
        #[test]
        fn every_accepted_slug_is_a_safe_label(s in "\\PC{0,70}") {
            if let Ok(slug) = TenantSlug::parse(&s) {
                prop_assert!(!slug.as_str().contains(['.', ':', '/']));
                prop_assert!((1..=63).contains(&slug.as_str().len()));
                prop_assert_eq!(slug.as_str(), s.as_str());
            }
        }

        #[test]
        fn generated_labels_round_trip(s in "[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?") {
            prop_assume!(s.len() < 4 || &s[2..4] != "--");
            prop_assume!(!RESERVED.contains(&s.as_str()));
            prop_assert_eq!(TenantSlug::parse(&s).map(|t| t.to_string()), Ok(s.clone()));
        }
    }
}
