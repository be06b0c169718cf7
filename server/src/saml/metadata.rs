//! The tenant's IdP metadata: entity ID, signing certificates (active and next, so SPs
//! can trust a key before it signs), SSO endpoints for both bindings, NameID formats.

use super::uri::{BINDING_POST, BINDING_REDIRECT, NS_DSIG, NS_METADATA, NS_PROTOCOL};
// Also named here, where the admin use cases take the Atlassian preset's format from.
pub use super::uri::{NAMEID_EMAIL, NAMEID_PERSISTENT, NAMEID_TRANSIENT, NAMEID_UNSPECIFIED};
use super::xml::{attr, text};

/// The NameID formats Rosetta can produce: listed in its metadata, and the only ones an SP
/// may be registered (or imported from metadata) with.
pub use super::uri::SUPPORTED_NAMEID_FORMATS;

/// What the metadata document states.
#[derive(Debug, Clone)]
pub struct IdpMetadata {
    /// Our entity ID.
    pub entity_id: String,
    /// The SSO endpoint (one URL for both bindings).
    pub sso_url: String,
    /// Base64 DER certificates, active first.
    pub signing_certs: Vec<String>,
}

impl IdpMetadata {
    /// The metadata XML.
    pub fn to_xml(&self) -> String {
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<md:EntityDescriptor xmlns:md=\"{NS_METADATA}\" \
entityID=\"{}\"><md:IDPSSODescriptor WantAuthnRequestsSigned=\"false\" \
protocolSupportEnumeration=\"{NS_PROTOCOL}\">",
            attr(&self.entity_id)
        );
        for cert in &self.signing_certs {
            xml.push_str(&format!(
                "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo xmlns:ds=\"{NS_DSIG}\"><ds:X509Data>\
<ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
                text(cert)
            ));
        }
        for format in SUPPORTED_NAMEID_FORMATS {
            xml.push_str(&format!("<md:NameIDFormat>{format}</md:NameIDFormat>"));
        }
        for binding in [BINDING_REDIRECT, BINDING_POST] {
            xml.push_str(&format!(
                "<md:SingleSignOnService Binding=\"{binding}\" Location=\"{}\"></md:SingleSignOnService>",
                attr(&self.sso_url)
            ));
        }
        xml.push_str("</md:IDPSSODescriptor></md:EntityDescriptor>\n");
        xml
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_lists_every_certificate_and_both_bindings() {
        let md = IdpMetadata {
            entity_id: "https://acme.rosetta.example.com/saml/metadata".into(),
            sso_url: "https://acme.rosetta.example.com/saml/sso".into(),
            signing_certs: vec!["QUNUSVZF".into(), "TkVYVA==".into()],
        };
        let xml = md.to_xml();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert_eq!(root.attribute("entityID"), Some(md.entity_id.as_str()));
        let certs: Vec<_> = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "X509Certificate")
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(certs, ["QUNUSVZF", "TkVYVA=="]);
        let bindings: Vec<_> = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "SingleSignOnService")
            .map(|n| {
                (
                    n.attribute("Binding").unwrap_or_default(),
                    n.attribute("Location").unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            bindings,
            [
                (BINDING_REDIRECT, md.sso_url.as_str()),
                (BINDING_POST, md.sso_url.as_str())
            ]
        );
    }
}
