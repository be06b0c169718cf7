//! SAML-side values an admin or operator registers.

use std::fmt;

use url::{Host, Url};

use super::ParseError;

/// An SP entity ID: an absolute URI (URL or URN), at most 1024 characters, no white space.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EntityId(String);

impl EntityId {
    /// Parses exactly as given (entity IDs are compared as exact strings).
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        if value.is_empty() || value.len() > 1024 {
            return Err(ParseError("an entity ID has 1 to 1024 characters".into()));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ParseError("an entity ID cannot contain white space".into()));
        }
        let url = Url::parse(value).map_err(|_| ParseError(format!("entity ID `{value}` is not an absolute URI")))?;
        if url.cannot_be_a_base() && url.scheme() != "urn" {
            return Err(ParseError(format!("entity ID `{value}` is not a URL or URN")));
        }
        Ok(Self(value.to_owned()))
    }

    /// The entity ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntityId({})", self.0)
    }
}

/// An Assertion Consumer Service URL: https (or http on a loopback host in dev mode), no
/// credentials, no fragment; kept byte for byte as registered, query string included
/// (Atlassian's carries `?connection=...`), because requests are matched exactly.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AcsUrl(String);

impl AcsUrl {
    /// Parses an ACS URL; `dev` allows `http` to loopback hosts.
    pub fn parse(value: &str, dev: bool) -> Result<Self, ParseError> {
        if value.len() > 2048 {
            return Err(ParseError("an ACS URL has at most 2048 characters".into()));
        }
        let url = Url::parse(value).map_err(|_| ParseError(format!("ACS URL `{value}` is not an absolute URL")))?;
        let loopback = match url.host() {
            Some(Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        match url.scheme() {
            "https" => {}
            "http" if dev && loopback => {}
            "http" if loopback => {
                return Err(ParseError("plain http ACS URLs are only allowed in dev mode".into()));
            }
            _ => return Err(ParseError(format!("ACS URL `{value}` must use https"))),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ParseError("an ACS URL cannot contain credentials".into()));
        }
        if url.fragment().is_some() {
            return Err(ParseError("an ACS URL cannot contain a fragment".into()));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ParseError("an ACS URL cannot contain white space".into()));
        }
        Ok(Self(value.to_owned()))
    }

    /// The URL exactly as registered.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AcsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AcsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AcsUrl({})", self.0)
    }
}

/// A short lowercase name (`jira`, `corp-google`) for SPs and sources: it appears in URL
/// paths (`/saml/init/{name}`, `/oidc/callback/{name}`), so it is a plain label.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Handle(String);

impl Handle {
    /// Parses a handle: `a-z`, `0-9`, `-`, 1–64 characters, not starting or ending with `-`.
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let ok = (1..=64).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !value.starts_with('-')
            && !value.ends_with('-');
        if !ok {
            return Err(ParseError(format!(
                "name `{}` must be 1-64 lowercase letters, digits or inner `-`",
                value.escape_default()
            )));
        }
        Ok(Self(value.to_owned()))
    }

    /// The handle as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email domain a source is allowed for: lowercase DNS name, at least two labels.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct EmailDomain(String);

impl EmailDomain {
    /// Parses and lowercases a domain (`Acme.Example` → `acme.example`).
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let lower = value.trim().trim_end_matches('.').to_ascii_lowercase();
        let labels: Vec<&str> = lower.split('.').collect();
        let ok = lower.len() <= 253
            && labels.len() >= 2
            && labels.iter().all(|l| {
                (1..=63).contains(&l.len())
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if !ok {
            return Err(ParseError(format!(
                "`{}` is not an email domain like example.com",
                value.escape_default()
            )));
        }
        Ok(Self(lower))
    }

    /// The domain as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ATLASSIAN_ACS: &str =
        "https://auth.atlassian.com/login/callback?connection=saml-2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90";

    #[test]
    fn acs_urls_keep_their_query_and_refuse_what_is_unsafe() {
        assert_eq!(
            AcsUrl::parse(ATLASSIAN_ACS, false).map(|a| a.to_string()),
            Ok(ATLASSIAN_ACS.to_owned())
        );
        for bad in [
            "http://auth.atlassian.com/login/callback",
            "javascript:alert(1)",
            "data:text/html,hi",
            "https://user@auth.atlassian.com/cb",
            "https://auth.atlassian.com/cb#frag",
            "/relative",
            "ftp://x.example/acs",
        ] {
            assert!(AcsUrl::parse(bad, true).is_err(), "{bad}");
        }
        assert!(
            AcsUrl::parse("http://127.0.0.1:9000/acs", false).is_err(),
            "loopback http needs dev mode"
        );
        assert!(AcsUrl::parse("http://127.0.0.1:9000/acs", true).is_ok());
        assert!(AcsUrl::parse("http://sp.localhost:9000/acs", true).is_ok());
        assert!(
            AcsUrl::parse("http://example.com/acs", true).is_err(),
            "dev mode allows only loopback http"
        );
    }

    #[test]
    fn entity_ids_are_absolute_uris() {
        assert!(EntityId::parse("https://auth.atlassian.com/saml/2f1c7a52").is_ok());
        assert!(EntityId::parse("urn:example:sp").is_ok());
        for bad in [
            "",
            "not a uri",
            "relative/path",
            "https://x.example/ spaced",
            &"a".repeat(1025),
        ] {
            assert!(EntityId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn domains_and_handles() {
        assert_eq!(
            EmailDomain::parse("Acme.Example.").map(|d| d.to_string()),
            Ok("acme.example".to_owned())
        );
        for bad in [
            "localhost",
            "acme..example",
            "-acme.example",
            "acme.example/x",
            "a@b.example",
            "",
        ] {
            assert!(EmailDomain::parse(bad).is_err(), "{bad}");
        }
        assert!(Handle::parse("corp-google").is_ok());
        for bad in ["", "Jira", "a/b", "-x", "x-", &"a".repeat(65)] {
            assert!(Handle::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn accepted_acs_urls_are_kept_byte_for_byte(s in "\\PC{0,120}") {
            if let Ok(acs) = AcsUrl::parse(&s, true) {
                prop_assert_eq!(acs.as_str(), s.as_str());
                prop_assert!(acs.as_str().starts_with("https://") || acs.as_str().starts_with("http://"));
            }
        }
    }
}
