//! Which site a request is for, decided from the Host header alone (never a fallback).
//!
//! The console and admin API live on the public host; tenant `acme` lives on
//! `acme.<public host>`. Anything else is unknown and gets a 404. `X-Forwarded-Host` and
//! `X-Forwarded-For` count only when the TCP peer is a configured trusted proxy.

use std::net::IpAddr;

use ipnet::IpNet;
use rosetta_entity::tenant;
use url::Url;
use uuid::Uuid;

use crate::domain::TenantSlug;

/// What a Host header names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostClass {
    /// The public host: console and admin API.
    Console,
    /// A tenant's brokering host (the tenant may still not exist).
    Tenant(TenantSlug),
    /// Neither: answer 404.
    Unknown,
}

/// A tenant as its brokering host serves it: the stored row with its slug, parsed once when
/// the row was read, so that nothing on the login side parses it again.
#[derive(Debug, Clone)]
pub struct Tenant {
    slug: TenantSlug,
    row: tenant::Model,
}

impl Tenant {
    /// `row` with its slug parsed; `None` for a row whose slug no host could name.
    pub fn from_row(row: tenant::Model) -> Option<Self> {
        let slug = TenantSlug::parse(&row.slug).ok()?;
        Some(Self { slug, row })
    }

    /// The tenant's slug: its host's first label, and the prefix of its store keys.
    pub fn slug(&self) -> &TenantSlug {
        &self.slug
    }

    /// The stored row, with the settings a login reads (MFA policy...).
    pub fn row(&self) -> &tenant::Model {
        &self.row
    }

    /// The tenant's ID.
    pub fn id(&self) -> Uuid {
        self.row.id
    }

    /// The name pages show for the tenant.
    pub fn display_name(&self) -> &str {
        &self.row.display_name
    }

    /// Whether its brokering endpoints answer (a suspended tenant's host is a 404).
    pub fn is_active(&self) -> bool {
        self.row.status == tenant::TenantStatus::Active
    }
}

/// Classifies hosts against the configured public URL.
#[derive(Debug, Clone)]
pub struct HostRouter {
    scheme: String,
    base_host: String,
    base_port: u16,
    explicit_port: Option<u16>,
}

impl HostRouter {
    /// Derives the public host and port from the public URL.
    pub fn new(public_url: &Url) -> Self {
        let base_host = public_url
            .host_str()
            .unwrap_or_default()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        Self {
            scheme: public_url.scheme().to_owned(),
            base_host,
            base_port: public_url.port_or_known_default().unwrap_or(80),
            explicit_port: public_url.port(),
        }
    }

    /// Classifies a Host header value. A port, when present, must be the public port; an
    /// absent port is accepted, since TLS-terminating proxies commonly drop it.
    pub fn classify(&self, host: &str) -> HostClass {
        let Some((name, port)) = split_host_port(host) else {
            return HostClass::Unknown;
        };
        if port.is_some_and(|p| p != self.base_port) {
            return HostClass::Unknown;
        }
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name == self.base_host {
            return HostClass::Console;
        }
        let Some(label) = name
            .strip_suffix(&self.base_host)
            .and_then(|rest| rest.strip_suffix('.'))
        else {
            return HostClass::Unknown;
        };
        match TenantSlug::parse(label) {
            Ok(slug) => HostClass::Tenant(slug),
            Err(_) => HostClass::Unknown,
        }
    }

    /// Base URL of a tenant's brokering endpoints, built from configuration only.
    pub fn tenant_url(&self, slug: &TenantSlug) -> String {
        match self.explicit_port {
            Some(port) => format!("{}://{slug}.{}:{port}/", self.scheme, self.base_host),
            None => format!("{}://{slug}.{}/", self.scheme, self.base_host),
        }
    }
}

impl HostRouter {
    /// The tenant's IdP entity ID (also its metadata URL).
    pub fn idp_entity_id(&self, slug: &TenantSlug) -> String {
        format!("{}saml/metadata", self.tenant_url(slug))
    }

    /// The callback URL of one identity source of a tenant.
    pub fn callback_url(&self, slug: &TenantSlug, source: &str) -> String {
        format!("{}oidc/callback/{source}", self.tenant_url(slug))
    }

    /// The tenant's SSO endpoint, for both bindings.
    pub fn sso_url(&self, slug: &TenantSlug) -> String {
        format!("{}saml/sso", self.tenant_url(slug))
    }

    /// Whether the deployment runs in dev mode (plain http public URL), which allows http
    /// ACS URLs on loopback hosts.
    pub fn dev_mode(&self) -> bool {
        self.scheme == "http"
    }
}

/// Splits `host[:port]` or `[v6][:port]`; `None` when malformed.
fn split_host_port(value: &str) -> Option<(&str, Option<u16>)> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        match after {
            "" => (inside, None),
            p => (inside, Some(p.strip_prefix(':')?)),
        }
    } else {
        match value.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (value, None),
        }
    };
    let port = match port {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse().ok()?),
        Some(_) => return None,
        None => None,
    };
    if host.is_empty() || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b)) {
        return None;
    }
    Some((host, port))
}

/// Whether `peer` is one of the trusted proxies.
pub fn is_trusted(peer: Option<IpAddr>, trusted: &[IpNet]) -> bool {
    peer.is_some_and(|ip| trusted.iter().any(|net| net.contains(&ip)))
}

/// The host the client asked for: `X-Forwarded-Host` (its last value, set by the nearest
/// proxy) from a trusted peer, else the Host header.
pub fn effective_host<'a>(
    host: Option<&'a str>,
    forwarded_host: Option<&'a str>,
    peer: Option<IpAddr>,
    trusted: &[IpNet],
) -> Option<&'a str> {
    if is_trusted(peer, trusted)
        && let Some(fwd) = forwarded_host.and_then(|v| v.rsplit(',').next()).map(str::trim)
        && !fwd.is_empty()
    {
        return Some(fwd);
    }
    host
}

/// The client's address: walking `X-Forwarded-For` from the right while hops are trusted
/// proxies, the first untrusted address; the TCP peer when it is not a trusted proxy.
pub fn client_ip(peer: Option<IpAddr>, forwarded_for: Option<&str>, trusted: &[IpNet]) -> Option<IpAddr> {
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let mut last = peer;
    for hop in forwarded_for.unwrap_or_default().rsplit(',') {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        last = Some(ip);
        if !is_trusted(Some(ip), trusted) {
            break;
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dev() -> HostRouter {
        HostRouter::new(&Url::parse("http://localhost:8080").unwrap())
    }

    fn tenant(s: &str) -> HostClass {
        HostClass::Tenant(TenantSlug::parse(s).unwrap())
    }

    #[test]
    fn dev_hosts() {
        let r = dev();
        assert_eq!(r.classify("localhost:8080"), HostClass::Console);
        assert_eq!(r.classify("LOCALHOST:8080"), HostClass::Console);
        assert_eq!(r.classify("acme.localhost:8080"), tenant("acme"));
        assert_eq!(r.classify("Acme.Localhost:8080"), tenant("acme"));
        assert_eq!(r.classify("acme.localhost."), tenant("acme"));
        assert_eq!(r.classify("acme.localhost:9090"), HostClass::Unknown);
        assert_eq!(r.classify("a.b.localhost:8080"), HostClass::Unknown);
        assert_eq!(r.classify("www.localhost:8080"), HostClass::Unknown);
        assert_eq!(r.classify("acmelocalhost:8080"), HostClass::Unknown);
        assert_eq!(r.classify("acme.localhost.evil.com:8080"), HostClass::Unknown);
        assert_eq!(r.classify("evil.com"), HostClass::Unknown);
        assert_eq!(r.classify(""), HostClass::Unknown);
        assert_eq!(r.classify("acme.localhost:80a"), HostClass::Unknown);
        assert_eq!(r.classify("acme.localhost:99999"), HostClass::Unknown);
        assert_eq!(r.classify("acme@localhost:8080"), HostClass::Unknown);
        assert_eq!(r.classify("[::1]:8080"), HostClass::Unknown);
        assert_eq!(r.classify(".localhost:8080"), HostClass::Unknown);
    }

    #[test]
    fn production_hosts_and_tenant_urls() {
        let r = HostRouter::new(&Url::parse("https://rosetta.example.com").unwrap());
        assert_eq!(r.classify("rosetta.example.com"), HostClass::Console);
        assert_eq!(r.classify("rosetta.example.com:443"), HostClass::Console);
        assert_eq!(r.classify("acme.rosetta.example.com"), tenant("acme"));
        assert_eq!(r.classify("acme.rosetta.example.com:80"), HostClass::Unknown);
        assert_eq!(
            r.tenant_url(&TenantSlug::parse("acme").unwrap()),
            "https://acme.rosetta.example.com/"
        );
        assert_eq!(
            dev().tenant_url(&TenantSlug::parse("acme").unwrap()),
            "http://acme.localhost:8080/"
        );
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy = Some("10.1.2.3".parse().unwrap());
        let stranger = Some("203.0.113.9".parse().unwrap());
        assert_eq!(
            effective_host(Some("localhost"), Some("acme.localhost"), stranger, &trusted),
            Some("localhost")
        );
        assert_eq!(
            effective_host(Some("localhost"), Some("x, acme.localhost"), proxy, &trusted),
            Some("acme.localhost")
        );
        assert_eq!(client_ip(stranger, Some("1.2.3.4"), &trusted), stranger);
        assert_eq!(
            client_ip(proxy, Some("198.51.100.7, 1.2.3.4, 10.9.9.9"), &trusted),
            Some("1.2.3.4".parse().unwrap()),
            "the right-most untrusted hop, not a value the client made up"
        );
        assert_eq!(client_ip(proxy, Some("garbage"), &trusted), proxy);
    }

    proptest! {
        #[test]
        fn classify_never_panics_and_tenant_hosts_round_trip(host in "\\PC{0,80}") {
            let r = dev();
            if let HostClass::Tenant(slug) = r.classify(&host) {
                prop_assert_eq!(r.classify(&format!("{slug}.localhost:8080")), HostClass::Tenant(slug));
            }
        }
    }
}
