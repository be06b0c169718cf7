//! Service providers from their SAML metadata, for registration: the document read by
//! [`crate::saml::sp_metadata`] (its refusals put on the field `metadata`) and turned into a
//! [`NewServiceProvider`], or first fetched from an admin's URL.

use super::service_providers::{AcsEndpoint, NewAcs, NewServiceProvider, Preset};
use super::{ServiceError, ServiceResult};
use crate::domain::Handle;
use crate::saml::sp_metadata::{self, MAX_METADATA_BYTES, SpMetadata};

/// Reads an SP's metadata (see [`sp_metadata::parse_sp_metadata`]); a refusal is an error on
/// the field `metadata`.
pub fn parse_sp_metadata(xml: &str, dev: bool) -> ServiceResult<SpMetadata> {
    sp_metadata::parse_sp_metadata(xml, dev).map_err(|e| ServiceError::Invalid {
        field: "metadata",
        message: e.0,
    })
}

// The registration's view of what was read; here rather than in `saml`, which knows nothing of
// registrations.
impl SpMetadata {
    /// The ACS endpoints with their metadata indexes, in the form `service_providers` stores.
    pub fn acs_endpoints(&self) -> Vec<AcsEndpoint> {
        self.acs
            .iter()
            .map(|a| AcsEndpoint {
                index: a.index,
                url: a.url.to_string(),
                default: a.is_default,
            })
            .collect()
    }

    /// A [`NewServiceProvider`] (preset Generic) named `name`, ready for `service_providers::create`,
    /// keeping the metadata's ACS indexes and default, its request-signing requirement and
    /// its signing certificates.
    pub fn into_new_service_provider(self, name: Handle) -> NewServiceProvider {
        NewServiceProvider {
            name,
            preset: Preset::Generic,
            entity_id: self.entity_id,
            acs: self
                .acs
                .into_iter()
                .map(|a| NewAcs {
                    index: a.index,
                    url: a.url,
                    is_default: a.is_default,
                })
                .collect(),
            name_id_format: self.name_id_format,
            want_requests_signed: self.want_requests_signed,
            request_signing_certs: self.signing_certs_base64,
        }
    }
}

/// Fetches SP metadata from an admin-supplied URL: https only (http on loopback in dev
/// mode), public addresses only outside dev mode (no requests into the deployment's own
/// network), 10 s, at most the metadata size cap.
pub async fn fetch_metadata(url: &str, dev: bool) -> Result<String, ServiceError> {
    let bad = |m: String| ServiceError::Invalid {
        field: "metadata_url",
        message: m,
    };
    let parsed = url::Url::parse(url).map_err(|_| bad("enter an absolute https URL".into()))?;
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let loopback_name = host == "localhost" || host.ends_with(".localhost");
    match parsed.scheme() {
        "https" => {}
        "http" if dev => {}
        _ => return Err(bad("metadata is fetched over https only".into())),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("the URL cannot carry credentials".into()));
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<std::net::SocketAddr> = if loopback_name {
        vec![std::net::SocketAddr::from(([127, 0, 0, 1], port))]
    } else {
        tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| bad(format!("`{host}` does not resolve")))?
            .collect()
    };
    let Some(addr) = addrs.first().copied() else {
        return Err(bad(format!("`{host}` does not resolve")));
    };
    if !dev && addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(bad(format!(
            "`{host}` resolves to a private address; metadata is fetched from public hosts only"
        )));
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .resolve(&host, addr)
        .build()
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let mut res = client
        .get(parsed)
        .send()
        .await
        .map_err(|e| bad(format!("fetching the metadata failed: {}", e.without_url())))?;
    if !res.status().is_success() {
        return Err(bad(format!("the metadata URL answered HTTP {}", res.status().as_u16())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| bad(format!("reading the metadata failed: {}", e.without_url())))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_METADATA_BYTES {
            return Err(bad(format!(
                "the metadata is larger than {} KiB",
                MAX_METADATA_BYTES / 1024
            )));
        }
    }
    String::from_utf8(body).map_err(|_| bad("the metadata is not UTF-8 text".into()))
}

fn is_public(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        std::net::IpAddr::V6(v6) => {
            let seg = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| !is_public(std::net::IpAddr::V4(v4))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::metadata::NAMEID_EMAIL;

    const ATLASSIAN: &str = include_str!("../../tests/fixtures/saml/metadata/atlassian-sp.xml");
    const GENERIC: &str = include_str!("../../tests/fixtures/saml/metadata/generic-sp.xml");

    #[test]
    fn refusals_are_errors_on_the_metadata_field() {
        match parse_sp_metadata("", false) {
            Err(ServiceError::Invalid { field, message }) => {
                assert_eq!(field, "metadata");
                assert_eq!(message, "the metadata is empty");
            }
            other => panic!("expected a metadata refusal, got {other:?}"),
        }
    }

    #[test]
    fn atlassian_metadata_becomes_a_registration() {
        let id = "a87a5568-134b-46e6-9006-995e3b6d2282";
        let new = parse_sp_metadata(ATLASSIAN, false)
            .unwrap()
            .into_new_service_provider(Handle::parse("jira").unwrap());
        assert_eq!(new.name.as_str(), "jira");
        assert_eq!(new.preset, Preset::Generic);
        assert_eq!(new.entity_id.as_str(), format!("https://auth.atlassian.com/saml/{id}"));
        let acs = format!("https://auth.atlassian.com/login/callback?connection=saml-{id}");
        assert_eq!(
            new.acs.iter().map(|a| a.url.as_str()).collect::<Vec<_>>(),
            [acs.as_str()]
        );
        assert_eq!(new.name_id_format.as_deref(), Some(NAMEID_EMAIL));
    }

    #[test]
    fn the_metadata_default_acs_stays_the_default() {
        let sp = parse_sp_metadata(GENERIC, false).unwrap();
        let endpoints = sp.acs_endpoints();
        assert_eq!(
            endpoints.iter().map(|e| (e.index, e.default)).collect::<Vec<_>>(),
            [(1, true), (0, false)]
        );
        let new = sp.into_new_service_provider(Handle::parse("wiki").unwrap());
        assert_eq!(
            new.acs.first().map(|a| (a.url.as_str(), a.is_default)),
            Some(("https://wiki.example.org/saml/acs?tenant=main&v=2", true)),
            "the metadata's default must land where `create` puts its default"
        );
    }
}
