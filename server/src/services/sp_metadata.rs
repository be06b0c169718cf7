//! Service providers from their SAML metadata, for registration: the document read by
//! [`crate::saml::sp_metadata`] (its refusals put on the field `metadata`) and turned into a
//! [`NewServiceProvider`]. Fetching it from an admin's URL is `admin::service_providers`',
//! through the `outbound` client.

use super::service_providers::{AcsEndpoint, NewAcs, NewServiceProvider, Preset};
use super::{ServiceError, ServiceResult};
use crate::domain::Handle;
use crate::saml::sp_metadata::{self, SpMetadata};

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
