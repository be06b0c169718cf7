//! Every request Rosetta makes because a tenant configured it (OpenID discovery, keys, token
//! and userinfo endpoints, SP metadata URLs, and later provisioning targets) goes through
//! this one client, so that a stranger who signs up cannot use Rosetta to reach the
//! deployment's own network (server-side request forgery).
//!
//! - **Resolve, then pin.** The client's DNS resolver refuses a name unless every address
//!   it resolves to is allowed, and the connection is made to exactly those addresses (no
//!   second lookup that could answer differently). A URL naming an IP literal is checked the
//!   same way before the request.
//! - **Allowed addresses**: public unicast only. Loopback, private (RFC 1918, unique local),
//!   link-local, CGNAT (100.64.0.0/10), NAT64 (64:ff9b::/96, 64:ff9b:1::/48), benchmark
//!   (198.18.0.0/15), documentation, multicast, broadcast, unspecified and reserved ranges are
//!   refused, also when embedded in IPv4-mapped, IPv4-compatible or 6to4 IPv6 addresses. The
//!   operator may allow listed ranges (`outbound_allowed_ranges`, for on-premises providers);
//!   dev mode (a plain-http public URL) allows everything, for local peers.
//! - **https only**, plain http only to loopback in dev mode; no credentials in URLs; **no
//!   redirects**
//!   (a provider cannot bounce the token request, with its client secret, elsewhere); a
//!   timeout per request and per connection; bodies read up to a cap.
//! - **Errors say what to fix**, never how an internal address answered: a refused address
//!   is reported as such, before any connection is made.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use url::Url;

/// Which addresses outbound requests may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Dev mode: every address and plain http are allowed (local test peers).
    pub dev: bool,
    /// Ranges the operator allows besides public addresses.
    pub allowed: Vec<IpNet>,
}

impl Policy {
    /// Whether a request may go to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.dev || is_public(ip) || self.allowed.iter().any(|net| net.contains(&ip))
    }

    /// Checks a URL before a request: scheme (https; plain http only to loopback in dev
    /// mode), credentials, and an IP-literal host.
    pub fn check_url(&self, url: &Url) -> Result<(), OutboundError> {
        match url.scheme() {
            "https" => {}
            "http" if self.dev && is_loopback_host(url) => {}
            _ => return Err(OutboundError::Insecure),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(OutboundError::Credentials);
        }
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(OutboundError::Insecure),
        };
        match literal {
            Some(ip) if !self.permits(ip) => Err(OutboundError::Forbidden {
                host: url.host_str().unwrap_or_default().to_owned(),
            }),
            _ => Ok(()),
        }
    }
}

/// `localhost`, a `*.localhost` name, or a loopback address.
fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Why an outbound request did not get an answer Rosetta can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// Not https (plain http only in dev mode).
    #[error("the URL must use https")]
    Insecure,
    /// A user name or password in the URL.
    #[error("the URL cannot carry a user name or password")]
    Credentials,
    /// The host is, or resolves to, an address Rosetta does not contact.
    #[error(
        "`{host}` is not a public address (private, loopback, link-local or reserved); Rosetta contacts \
         public hosts only, unless the operator allows the range (`outbound_allowed_ranges`)"
    )]
    Forbidden {
        /// The host as named in the URL.
        host: String,
    },
    /// The name does not resolve.
    #[error("`{host}` does not resolve")]
    Unresolvable {
        /// The host as named in the URL.
        host: String,
    },
    /// No connection, a TLS failure, or the connection broke before an answer.
    #[error("the host could not be reached (connection or TLS failed)")]
    Unreachable,
    /// No answer in time.
    #[error("the host did not answer in time")]
    Timeout,
    /// An answer other than 2xx.
    #[error("the host answered HTTP {0}")]
    Status(u16),
    /// A body over the cap.
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
}

/// The resolver's refusal, found again in a request error's sources.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(OutboundError);

/// Resolves names, and refuses those that resolve to an address the policy does not allow.
struct Resolver {
    policy: Arc<Policy>,
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), 0)).await {
                Ok(addrs) => addrs.collect(),
                Err(_) => Vec::new(),
            };
            if found.is_empty() {
                return Err(Box::new(Refused(OutboundError::Unresolvable { host })) as _);
            }
            // One forbidden address refuses the name: a name that resolves both inside and
            // outside is not one to trust with a request (DNS rebinding).
            if found.iter().any(|a| !policy.permits(a.ip())) {
                return Err(Box::new(Refused(OutboundError::Forbidden { host })) as _);
            }
            let addrs: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The client of every outbound request: the policy's resolver, no redirects, timeouts.
pub fn client(policy: &Policy, timeout: Duration, connect_timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(Resolver {
            policy: Arc::new(policy.clone()),
        }))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .user_agent(concat!("rosetta/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The policy and a client built for it: what services other than the OpenID relying party
/// (which keeps its own, with its own timeouts) fetch with.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// Which addresses requests may reach.
    pub policy: Policy,
    /// The client whose resolver enforces it.
    pub http: reqwest::Client,
}

impl Outbound {
    /// A client for `policy`, 10 s per request, 5 s to connect.
    pub fn new(policy: Policy) -> reqwest::Result<Self> {
        let http = client(&policy, Duration::from_secs(10), Duration::from_secs(5))?;
        Ok(Self { policy, http })
    }

    /// A GET of `url` (policy checked first); the body up to `max` bytes.
    pub async fn get(&self, url: &str, max: usize) -> Result<Vec<u8>, OutboundError> {
        get(&self.http, &self.policy, url, max).await
    }
}

/// What a failed request means for the person who configured it.
pub fn classify(e: &reqwest::Error) -> OutboundError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(Refused(refusal)) = err.downcast_ref::<Refused>() {
            return refusal.clone();
        }
        source = err.source();
    }
    if e.is_timeout() {
        OutboundError::Timeout
    } else {
        OutboundError::Unreachable
    }
}

/// Reads a body up to `max` bytes.
pub async fn read_capped(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, OutboundError> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > max {
                    return Err(OutboundError::TooLarge(max));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(classify(&e)),
        }
    }
}

/// A GET of `url` with the policy checked first; the body up to `max` bytes.
pub async fn get(http: &reqwest::Client, policy: &Policy, url: &str, max: usize) -> Result<Vec<u8>, OutboundError> {
    let parsed = Url::parse(url).map_err(|_| OutboundError::Insecure)?;
    policy.check_url(&parsed)?;
    let response = http.get(parsed).send().await.map_err(|e| classify(&e))?;
    if !response.status().is_success() {
        return Err(OutboundError::Status(response.status().as_u16()));
    }
    read_capped(response, max).await
}

/// Whether `ip` is a public unicast address (see the module documentation).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0 // "this network"
        || a >= 240 // reserved (and broadcast)
        || (a == 100 && (b & 0xc0) == 64) // CGNAT 100.64.0.0/10
        || (a == 198 && (b & 0xfe) == 18) // benchmarking 198.18.0.0/15
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments 192.0.0.0/24
        || (a == 192 && b == 88 && c == 99)) // 6to4 relay anycast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    // IPv4-compatible (::a.b.c.d, deprecated) and 6to4 (2002:a.b.c.d::/48) carry an IPv4
    // address that a relay would reach.
    if seg[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_loopback() && !ip.is_unspecified() {
        return is_public_v4(Ipv4Addr::new(
            (seg[6] >> 8) as u8,
            seg[6] as u8,
            (seg[7] >> 8) as u8,
            seg[7] as u8,
        ));
    }
    if seg[0] == 0x2002 {
        return is_public_v4(Ipv4Addr::new(
            (seg[1] >> 8) as u8,
            seg[1] as u8,
            (seg[2] >> 8) as u8,
            seg[2] as u8,
        ));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (seg[0] == 0x0064 && seg[1] == 0xff9b) // NAT64 64:ff9b::/96 and 64:ff9b:1::/48
        || (seg[0] == 0x0100 && seg[1..4] == [0, 0, 0]) // discard-only 100::/64
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation 2001:db8::/32
        || (seg[0] == 0x2001 && seg[1] == 0x0002 && seg[2] == 0) // benchmarking 2001:2::/48
        || (seg[0] == 0x2001 && seg[1] == 0) // Teredo 2001::/32
        || (seg[0] == 0x2001 && (seg[1] & 0xfff0) == 0x0010) // ORCHID 2001:10::/28
        || (seg[0] == 0x2001 && (seg[1] & 0xfff0) == 0x0020)) // ORCHIDv2 2001:20::/28
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
    }

    #[test]
    fn only_public_unicast_addresses_are_public() {
        for ok in [
            "93.184.216.34",
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.0",
            "198.20.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:82b::200e",
            "::ffff:93.184.216.34",
            "2002:5db8:d822::1",
        ] {
            assert!(public(ok), "{ok} is public");
        }
        for no in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254", // cloud metadata
            "100.64.0.1",      // CGNAT
            "100.127.255.254",
            "198.18.0.1", // benchmarking
            "198.19.255.255",
            "192.0.2.1", // documentation
            "198.51.100.7",
            "203.0.113.9",
            "192.0.0.8",
            "192.88.99.1",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "64:ff9b::a00:1",     // NAT64 of 10.0.0.1
            "64:ff9b::5db8:d822", // NAT64, even of a public address: the inside's gateway
            "64:ff9b:1::1",
            "100::1",
            "2001:db8::1",
            "2001:2::1",
            "2001::1",
            "2001:10::1",
            "2001:20::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::10.0.0.1",
            "2002:7f00:1::1",   // 6to4 of 127.0.0.1
            "2002:a9fe:a9fe::", // 6to4 of 169.254.169.254
        ] {
            assert!(!public(no), "{no} is not public");
        }
    }

    #[test]
    fn the_operator_may_allow_ranges_and_dev_mode_allows_all() {
        let production = Policy::default();
        assert!(!production.permits("10.0.0.5".parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))));
        let on_premises = Policy {
            dev: false,
            allowed: vec!["10.0.0.0/24".parse().unwrap_or_else(|_| IpNet::default())],
        };
        assert!(on_premises.permits("10.0.0.5".parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))));
        assert!(!on_premises.permits("10.0.1.5".parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))));
        let dev = Policy {
            dev: true,
            allowed: Vec::new(),
        };
        assert!(dev.permits("127.0.0.1".parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))));
    }

    #[test]
    fn urls_are_checked_before_any_request() -> Result<(), url::ParseError> {
        let production = Policy::default();
        let dev = Policy {
            dev: true,
            allowed: Vec::new(),
        };
        assert_eq!(production.check_url(&Url::parse("https://op.example/x")?), Ok(()));
        assert_eq!(
            production.check_url(&Url::parse("http://op.example/x")?),
            Err(OutboundError::Insecure),
            "plain http only in dev mode"
        );
        assert_eq!(dev.check_url(&Url::parse("http://127.0.0.1:9000/")?), Ok(()));
        assert_eq!(dev.check_url(&Url::parse("http://acme.localhost:9000/")?), Ok(()));
        assert_eq!(
            dev.check_url(&Url::parse("http://op.example/")?),
            Err(OutboundError::Insecure),
            "plain http only to loopback, even in dev mode"
        );
        assert_eq!(
            production.check_url(&Url::parse("https://user:pw@op.example/")?),
            Err(OutboundError::Credentials)
        );
        for literal in [
            "https://127.0.0.1/",
            "https://[::1]/",
            "https://169.254.169.254/",
            "https://[::ffff:10.0.0.1]/",
            "https://2130706433/", // 127.0.0.1 as a number: the URL parser makes it an IPv4 literal
        ] {
            assert!(
                matches!(
                    production.check_url(&Url::parse(literal)?),
                    Err(OutboundError::Forbidden { .. })
                ),
                "{literal}"
            );
        }
        assert_eq!(
            dev.check_url(&Url::parse("ftp://op.example/")?),
            Err(OutboundError::Insecure)
        );
        Ok(())
    }

    #[tokio::test]
    async fn names_that_resolve_inside_are_refused_before_connecting() {
        let production = Policy::default();
        let http = client(&production, Duration::from_secs(5), Duration::from_secs(2))
            .unwrap_or_else(|_| reqwest::Client::new());
        // `localhost` resolves to loopback on every machine; nothing listens on port 9 here,
        // and the refusal comes before any connection would have been tried.
        let e = get(
            &http,
            &production,
            "https://localhost:9/.well-known/openid-configuration",
            1024,
        )
        .await;
        assert_eq!(
            e,
            Err(OutboundError::Forbidden {
                host: "localhost".into()
            })
        );
        let e = get(&http, &production, "https://no-such-host.invalid/", 1024).await;
        assert_eq!(
            e,
            Err(OutboundError::Unresolvable {
                host: "no-such-host.invalid".into()
            })
        );
    }
}
