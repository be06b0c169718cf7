//! Proof that a tenant owns an email domain: a DNS TXT record at
//! `_rosetta-challenge.<domain>` holding `rosetta-verification=<token>`, the token being
//! the tenant's own for that domain (so one tenant's record never proves another's claim).
//!
//! Looked up with hickory's resolver: the system's nameservers (`/etc/resolv.conf`), or the
//! operator's `dns_nameservers`; no cache, so "publish, then verify again" sees the record as
//! soon as the nameservers do. In dev mode with no `dns_nameservers` the lookup is skipped
//! and a domain is proved on request (local set-ups have no public DNS to publish in).

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::Resolver;
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::proto::op::ResponseCode;

/// The label under the domain where the record lives.
pub const RECORD_LABEL: &str = "_rosetta-challenge";

/// Prefix of the record's value.
const VALUE_PREFIX: &str = "rosetta-verification=";

/// The TXT record's name for `domain`.
pub fn record_name(domain: &str) -> String {
    format!("{RECORD_LABEL}.{domain}")
}

/// The TXT record's value for `token`.
pub fn record_value(token: &str) -> String {
    format!("{VALUE_PREFIX}{token}")
}

/// What the lookup found.
#[derive(Debug, PartialEq, Eq)]
pub enum Proof {
    /// A TXT record holds the expected value (or dev mode skipped the lookup).
    Proved,
    /// The name has no TXT record (NXDOMAIN or no data).
    NoRecord,
    /// TXT records exist there, none with the expected value; how many.
    OtherValues(usize),
    /// The lookup itself failed (timeout, SERVFAIL, refused); why, for the admin.
    LookupFailed(String),
}

/// Looks up ownership records.
#[derive(Clone, Debug)]
pub struct DomainProver {
    nameservers: Vec<SocketAddr>,
    skip: bool,
    timeout: Duration,
}

impl DomainProver {
    /// From the settings: `nameservers` empty means the system's; `dev` without nameservers
    /// skips the lookup.
    pub fn new(nameservers: Vec<SocketAddr>, dev: bool) -> Self {
        Self {
            skip: dev && nameservers.is_empty(),
            nameservers,
            timeout: Duration::from_secs(5),
        }
    }

    /// Whether lookups are skipped (dev mode without nameservers).
    pub fn skips(&self) -> bool {
        self.skip
    }

    fn resolver(&self) -> Result<Resolver<TokioConnectionProvider>, String> {
        let mut builder = if self.nameservers.is_empty() {
            Resolver::builder_tokio().map_err(|e| format!("the system's DNS configuration: {e}"))?
        } else {
            let mut group = NameServerConfigGroup::new();
            for ns in &self.nameservers {
                group.merge(NameServerConfigGroup::from_ips_clear(&[ns.ip()], ns.port(), true));
            }
            Resolver::builder_with_config(
                ResolverConfig::from_parts(None, vec![], group),
                TokioConnectionProvider::default(),
            )
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.timeout = self.timeout;
        opts.attempts = 2;
        // A miss must not be remembered: the admin publishes the record and tries again.
        opts.cache_size = 0;
        // The name is absolute: never tried under a search domain of this host.
        opts.ndots = 0;
        Ok(builder.build())
    }

    /// Whether `domain` carries `token` in its ownership record.
    pub async fn check(&self, domain: &str, token: &str) -> Proof {
        if self.skip {
            return Proof::Proved;
        }
        let resolver = match self.resolver() {
            Ok(r) => r,
            Err(e) => return Proof::LookupFailed(e),
        };
        // Fully qualified: the trailing dot stops any search-list expansion.
        let name = format!("{}.", record_name(domain));
        let wanted = record_value(token);
        match resolver.txt_lookup(name).await {
            Ok(found) => {
                let values: Vec<String> = found
                    .iter()
                    .map(|txt| {
                        // A long value is split in character-strings; they are one value.
                        txt.iter().map(|part| String::from_utf8_lossy(part)).collect::<String>()
                    })
                    .collect();
                if values.iter().any(|v| v.trim() == wanted) {
                    Proof::Proved
                } else if values.is_empty() {
                    Proof::NoRecord
                } else {
                    Proof::OtherValues(values.len())
                }
            }
            Err(e) => match e.proto().map(|p| p.kind()) {
                // "No such name" or "no TXT there" is the answer; a negative answer with any
                // other code (SERVFAIL, REFUSED) is a nameserver failing.
                Some(ProtoErrorKind::NoRecordsFound { response_code, .. }) => match *response_code {
                    ResponseCode::NXDomain | ResponseCode::NoError => Proof::NoRecord,
                    other => Proof::LookupFailed(format!("the nameserver answered {other}")),
                },
                _ => Proof::LookupFailed(e.to_string()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_names_and_values() {
        assert_eq!(record_name("acme.example"), "_rosetta-challenge.acme.example");
        assert_eq!(record_value("ab12"), "rosetta-verification=ab12");
    }

    #[tokio::test]
    async fn dev_mode_without_nameservers_skips_the_lookup_and_with_them_does_not() {
        let dev = DomainProver::new(vec![], true);
        assert!(dev.skips());
        assert_eq!(dev.check("acme.example", "t").await, Proof::Proved);
        assert!(!DomainProver::new(vec!["127.0.0.1:53".parse().unwrap()], true).skips());
        assert!(!DomainProver::new(vec![], false).skips());
    }
}
