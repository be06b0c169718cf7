//! Reading a service provider's SAML 2.0 metadata document.
//!
//! An admin pastes or uploads the SP's metadata instead of copying entity ID and ACS URLs by
//! hand. [`parse_sp_metadata`] reads it with the same hygiene as the AuthnRequest parser (size
//! cap before parsing, any DTD refused, node limit) and keeps only what Rosetta acts on. Every
//! refusal is a [`MetadataError`] with a plain message that tells the admin what to fix
//! (`services::sp_metadata` puts it on the field `metadata` and turns what was read into a
//! registration).
//!
//! A signature on the metadata document itself is not verified: the admin who uploads it is
//! the one vouching for it, exactly as when they type the values into the form.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::x509::X509;
use roxmltree::Node;

use super::dom::is_element;
use super::guard::{
    MAX_ATTRIBUTES_PER_ELEMENT, MAX_NAMESPACE_DECLARATIONS, attributes_exceed, has_doctype, nesting_exceeds,
};
use super::metadata::SUPPORTED_NAMEID_FORMATS;
use super::uri::{BINDING_POST, NS_DSIG, NS_METADATA, NS_PROTOCOL};
use crate::domain::{AcsUrl, EntityId};

/// Largest metadata document accepted, in bytes; checked before any parsing.
///
/// A single SP's metadata is a few KiB, or tens with several certificates; 256 KiB leaves
/// room for those and refuses whole federation aggregates, which are not what this reads.
pub const MAX_METADATA_BYTES: usize = 256 * 1024;

/// Most XML nodes built for one metadata document (a real SP's has a few hundred at most).
pub const MAX_METADATA_NODES: u32 = 20_000;

/// Deepest element nesting accepted. Real SP metadata is under ten levels deep; the cap is
/// checked before parsing because roxmltree's tokenizer recurses once per level and a few
/// thousand levels overflow a 2 MiB thread stack, which aborts the whole process.
pub const MAX_METADATA_DEPTH: usize = 64;

/// How many entity IDs a refusal lists before summarising the rest.
const MAX_LISTED: usize = 5;

/// One HTTP-POST ACS endpoint of the metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataAcs {
    /// `index`, as the SP sends it in `AssertionConsumerServiceIndex`.
    pub index: u16,
    /// The `Location`, byte for byte (query string included).
    pub url: AcsUrl,
    /// Whether this is the SP's default endpoint (exactly one is).
    pub is_default: bool,
}

/// What Rosetta keeps from an SP's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpMetadata {
    /// The SP's `entityID`.
    pub entity_id: EntityId,
    /// HTTP-POST ACS endpoints, the default first, then the others by ascending index.
    pub acs: Vec<MetadataAcs>,
    /// `AuthnRequestsSigned="true"` on the SPSSODescriptor.
    pub want_requests_signed: bool,
    /// Base64 (standard, unwrapped) DER certificates that may sign the SP's requests, in
    /// document order, without duplicates.
    pub signing_certs_base64: Vec<String>,
    /// The first `NameIDFormat` the SP lists that Rosetta can produce, if any.
    pub name_id_format: Option<String>,
}

/// Why a metadata document was refused: a plain message saying what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MetadataError(pub String);

/// Reads an SP's SAML 2.0 metadata: an `md:EntityDescriptor`, or an `md:EntitiesDescriptor`
/// holding exactly one SP; `dev` allows `http` ACS URLs on loopback hosts.
pub fn parse_sp_metadata(xml: &str, dev: bool) -> Result<SpMetadata, MetadataError> {
    if xml.len() > MAX_METADATA_BYTES {
        return Err(invalid(format!(
            "the metadata is {} bytes; at most {} KiB is accepted for one service provider",
            xml.len(),
            MAX_METADATA_BYTES / 1024
        )));
    }
    if xml.trim().is_empty() {
        return Err(invalid("the metadata is empty"));
    }
    if has_doctype(xml) {
        return Err(doctype_refused());
    }
    if nesting_exceeds(xml.as_bytes(), MAX_METADATA_DEPTH) {
        return Err(invalid(format!(
            "the metadata nests XML elements more than {MAX_METADATA_DEPTH} levels deep"
        )));
    }
    if attributes_exceed(xml.as_bytes(), MAX_ATTRIBUTES_PER_ELEMENT, MAX_NAMESPACE_DECLARATIONS) {
        return Err(invalid(format!(
            "an element of the metadata carries more than {MAX_ATTRIBUTES_PER_ELEMENT} attributes, or the \
             document declares more than {MAX_NAMESPACE_DECLARATIONS} namespaces"
        )));
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_METADATA_NODES,
    };
    let doc = roxmltree::Document::parse_with_options(xml, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => doctype_refused(),
        roxmltree::Error::NodesLimitReached => {
            invalid(format!("the metadata has more than {MAX_METADATA_NODES} XML nodes"))
        }
        other => invalid(format!("the metadata is not well-formed XML ({other})")),
    })?;
    let root = doc.root_element();
    let entity = if is_md(root, "EntityDescriptor") {
        root
    } else if is_md(root, "EntitiesDescriptor") {
        single_sp_entity(root)?
    } else {
        return Err(invalid(format!(
            "the document's root element is `{}`, not a SAML 2.0 metadata EntityDescriptor or EntitiesDescriptor",
            shown(root.tag_name().name())
        )));
    };
    read_entity(entity, dev)
}

/// The one SP EntityDescriptor of an EntitiesDescriptor (nested groups included).
fn single_sp_entity<'a, 'i>(root: Node<'a, 'i>) -> Result<Node<'a, 'i>, MetadataError> {
    let mut entities: Vec<Node<'a, 'i>> = Vec::new();
    collect_entities(root, &mut entities);
    let sps: Vec<Node<'a, 'i>> = entities
        .iter()
        .copied()
        .filter(|e| e.children().any(|c| is_md(c, "SPSSODescriptor")))
        .collect();
    match sps.as_slice() {
        [one] => Ok(*one),
        [] if entities.is_empty() => Err(invalid("the EntitiesDescriptor contains no EntityDescriptor")),
        [] => Err(invalid(format!(
            "none of the entities in this document is a service provider (no SPSSODescriptor); found {}",
            list_entity_ids(&entities)
        ))),
        several => Err(invalid(format!(
            "the document describes {} service providers ({}); upload the metadata of exactly one",
            several.len(),
            list_entity_ids(several)
        ))),
    }
}

/// The EntityDescriptors of a group and of the groups nested in it (not ones that might sit
/// elsewhere, e.g. inside `md:Extensions`), in document order. Iterative, so deep nesting
/// cannot exhaust the stack.
fn collect_entities<'a, 'i>(group: Node<'a, 'i>, into: &mut Vec<Node<'a, 'i>>) {
    let mut pending: Vec<Node<'a, 'i>> = group.children().collect();
    pending.reverse();
    while let Some(node) = pending.pop() {
        if is_md(node, "EntityDescriptor") {
            into.push(node);
        } else if is_md(node, "EntitiesDescriptor") {
            pending.extend(node.children().collect::<Vec<_>>().into_iter().rev());
        }
    }
}

/// Reads one `md:EntityDescriptor` that must describe a SAML 2.0 SP.
fn read_entity(entity: Node<'_, '_>, dev: bool) -> Result<SpMetadata, MetadataError> {
    let raw_id = entity
        .attribute("entityID")
        .ok_or_else(|| invalid("the EntityDescriptor has no entityID attribute"))?;
    let entity_id = EntityId::parse(raw_id).map_err(|e| invalid(format!("entityID: {}", e.0)))?;

    let descriptors: Vec<Node<'_, '_>> = entity.children().filter(|c| is_md(*c, "SPSSODescriptor")).collect();
    if descriptors.is_empty() {
        let other = entity
            .children()
            .filter(|c| c.is_element() && c.tag_name().namespace() == Some(NS_METADATA))
            .map(|c| c.tag_name().name())
            .find(|n| n.ends_with("Descriptor"));
        return Err(invalid(match other {
            Some(kind) => format!(
                "`{}` is not a service provider: its metadata has {kind} but no SPSSODescriptor",
                shown(raw_id)
            ),
            None => format!(
                "`{}` has no SPSSODescriptor: this is not service provider metadata",
                shown(raw_id)
            ),
        }));
    }
    let saml2: Vec<Node<'_, '_>> = descriptors.into_iter().filter(|d| supports_saml2(*d)).collect();
    let sp = match saml2.as_slice() {
        [one] => *one,
        [] => {
            return Err(invalid(format!(
                "the SPSSODescriptor's protocolSupportEnumeration does not include {NS_PROTOCOL}: \
the service provider does not declare SAML 2.0 support"
            )));
        }
        _ => {
            return Err(invalid(
                "the EntityDescriptor has several SAML 2.0 SPSSODescriptors; expected one",
            ));
        }
    };

    let want_requests_signed = match sp.attribute("AuthnRequestsSigned").map(str::trim) {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(other) => {
            return Err(invalid(format!(
                "AuthnRequestsSigned is `{}`; it must be true or false",
                shown(other)
            )));
        }
    };
    let acs = read_acs(sp, dev)?;
    let signing_certs_base64 = read_signing_certs(sp)?;
    if want_requests_signed && signing_certs_base64.is_empty() {
        return Err(invalid(
            "AuthnRequestsSigned is true but the metadata has no signing certificate (a KeyDescriptor \
with an X509Certificate), so no request from this service provider could be verified",
        ));
    }
    let mut name_id_format = None;
    for node in sp.children().filter(|c| is_md(*c, "NameIDFormat")) {
        let format = plain_text(node, "NameIDFormat")?;
        if let Some(supported) = SUPPORTED_NAMEID_FORMATS.iter().find(|f| **f == format) {
            name_id_format = Some((*supported).to_owned());
            break;
        }
    }
    Ok(SpMetadata {
        entity_id,
        acs,
        want_requests_signed,
        signing_certs_base64,
        name_id_format,
    })
}

/// The HTTP-POST ACS endpoints, default first, then by index; other bindings are ignored.
fn read_acs(sp: Node<'_, '_>, dev: bool) -> Result<Vec<MetadataAcs>, MetadataError> {
    let mut found: Vec<(u16, AcsUrl, Option<bool>)> = Vec::new();
    let mut ignored = 0usize;
    for node in sp.children().filter(|c| is_md(*c, "AssertionConsumerService")) {
        if node.attribute("Binding") != Some(BINDING_POST) {
            ignored += 1;
            continue;
        }
        let location = node
            .attribute("Location")
            .ok_or_else(|| invalid("an HTTP-POST AssertionConsumerService has no Location"))?;
        let raw_index = node.attribute("index").ok_or_else(|| {
            invalid(format!(
                "the AssertionConsumerService `{}` has no index attribute",
                shown(location)
            ))
        })?;
        let index = raw_index.trim().parse::<u16>().map_err(|_| {
            invalid(format!(
                "the AssertionConsumerService `{}` has index `{}`; it must be a number from 0 to 65535",
                shown(location),
                shown(raw_index)
            ))
        })?;
        let is_default = match node.attribute("isDefault").map(str::trim) {
            None => None,
            Some("true" | "1") => Some(true),
            Some("false" | "0") => Some(false),
            Some(other) => {
                return Err(invalid(format!(
                    "the AssertionConsumerService with index {index} has isDefault `{}`; it must be true or false",
                    shown(other)
                )));
            }
        };
        let url = AcsUrl::parse(location, dev)
            .map_err(|e| invalid(format!("the AssertionConsumerService with index {index}: {}", e.0)))?;
        if found.iter().any(|(i, _, _)| *i == index) {
            return Err(invalid(format!(
                "two HTTP-POST AssertionConsumerServices have index {index}; indexes must be unique"
            )));
        }
        found.push((index, url, is_default));
    }
    if found.is_empty() {
        return Err(invalid(if ignored == 0 {
            "the SPSSODescriptor has no AssertionConsumerService".to_owned()
        } else {
            format!(
                "none of the {ignored} AssertionConsumerService endpoints uses the HTTP-POST binding \
({BINDING_POST}), the only one Rosetta answers with"
            )
        }));
    }
    let marked: Vec<u16> = found
        .iter()
        .filter(|(_, _, d)| *d == Some(true))
        .map(|(i, _, _)| *i)
        .collect();
    let default = match marked.as_slice() {
        [one] => *one,
        [] => found.iter().map(|(i, _, _)| *i).min().unwrap_or_default(),
        several => {
            return Err(invalid(format!(
                "the AssertionConsumerServices with indexes {several:?} are all marked isDefault=\"true\"; at most one may be"
            )));
        }
    };
    found.sort_by_key(|(i, _, _)| (*i != default, *i));
    Ok(found
        .into_iter()
        .map(|(index, url, _)| MetadataAcs {
            index,
            url,
            is_default: index == default,
        })
        .collect())
}

/// Certificates of KeyDescriptors with `use="signing"` or no `use`, checked and deduplicated.
fn read_signing_certs(sp: Node<'_, '_>) -> Result<Vec<String>, MetadataError> {
    let mut certs: Vec<String> = Vec::new();
    let key_descriptors = sp
        .children()
        .filter(|c| is_md(*c, "KeyDescriptor"))
        .filter(|kd| matches!(kd.attribute("use").map(str::trim), None | Some("signing")));
    for (position, kd) in key_descriptors.enumerate() {
        let cert_nodes = kd
            .children()
            .filter(|c| is_element(*c, NS_DSIG, "KeyInfo"))
            .flat_map(|ki| ki.children().filter(|c| is_element(*c, NS_DSIG, "X509Data")))
            .flat_map(|xd| xd.children().filter(|c| is_element(*c, NS_DSIG, "X509Certificate")));
        for node in cert_nodes {
            let text = plain_text(node, "X509Certificate")?;
            let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            let which = position + 1;
            let der = STANDARD.decode(compact.as_bytes()).map_err(|_| {
                invalid(format!(
                    "the certificate in signing KeyDescriptor #{which} is not valid base64"
                ))
            })?;
            let cert = X509::from_der(&der).map_err(|_| {
                invalid(format!(
                    "the certificate in signing KeyDescriptor #{which} is not an X.509 certificate"
                ))
            })?;
            // A lenient decoder may accept trailing bytes or non-DER encodings; keep only what
            // re-encodes to the very bytes we were given, since those bytes are what we store.
            if cert.to_der().ok().as_deref() != Some(der.as_slice()) {
                return Err(invalid(format!(
                    "the certificate in signing KeyDescriptor #{which} is not a DER-encoded X.509 certificate"
                )));
            }
            let normalized = STANDARD.encode(&der);
            if !certs.contains(&normalized) {
                certs.push(normalized);
            }
        }
    }
    Ok(certs)
}

/// Whether the descriptor's `protocolSupportEnumeration` lists SAML 2.0.
fn supports_saml2(descriptor: Node<'_, '_>) -> bool {
    descriptor
        .attribute("protocolSupportEnumeration")
        .is_some_and(|list| list.split_ascii_whitespace().any(|p| p == NS_PROTOCOL))
}

/// The text of an element that must hold only text (comments or child elements refused: with
/// comments, parsers disagree on what "the text" is).
fn plain_text(node: Node<'_, '_>, what: &str) -> Result<String, MetadataError> {
    super::dom::plain_text(node).ok_or_else(|| {
        invalid(format!(
            "a {what} element contains markup or comments; it must hold plain text"
        ))
    })
}

/// Whether `node` is the metadata element `md:name`.
fn is_md(node: Node<'_, '_>, name: &str) -> bool {
    is_element(node, NS_METADATA, name)
}

/// The entity IDs of `entities`, quoted, at most [`MAX_LISTED`] of them.
fn list_entity_ids(entities: &[Node<'_, '_>]) -> String {
    let mut listed: Vec<String> = entities
        .iter()
        .take(MAX_LISTED)
        .map(|e| format!("`{}`", shown(e.attribute("entityID").unwrap_or("(no entityID)"))))
        .collect();
    if entities.len() > MAX_LISTED {
        listed.push(format!("and {} more", entities.len() - MAX_LISTED));
    }
    listed.join(", ")
}

/// A value from the document made safe for a one-line message: escaped, and cut when long.
fn shown(value: &str) -> String {
    const MAX_CHARS: usize = 200;
    let mut out: String = value.chars().take(MAX_CHARS).flat_map(char::escape_default).collect();
    if value.chars().count() > MAX_CHARS {
        out.push_str("...");
    }
    out
}

fn doctype_refused() -> MetadataError {
    invalid("the metadata contains a document type declaration (<!DOCTYPE> or <!ENTITY>), which is not allowed")
}

fn invalid(message: impl Into<String>) -> MetadataError {
    MetadataError(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::metadata::NAMEID_EMAIL;
    use proptest::prelude::*;

    const ATLASSIAN: &str = include_str!("../../tests/fixtures/saml/metadata/atlassian-sp.xml");
    const GENERIC: &str = include_str!("../../tests/fixtures/saml/metadata/generic-sp.xml");
    const ENTITIES_TWO_SPS: &str = include_str!("../../tests/fixtures/saml/metadata/entities-two-sps.xml");
    const ENTITIES_ONE_SP: &str = include_str!("../../tests/fixtures/saml/metadata/entities-one-sp.xml");
    const IDP_ONLY: &str = include_str!("../../tests/fixtures/saml/metadata/idp-only.xml");
    const DOCTYPE_XXE: &str = include_str!("../../tests/fixtures/saml/metadata/doctype-xxe.xml");
    const HTTP_ACS: &str = include_str!("../../tests/fixtures/saml/metadata/http-acs.xml");
    const GARBAGE_CERT: &str = include_str!("../../tests/fixtures/saml/metadata/garbage-cert.xml");
    const NO_POST_ACS: &str = include_str!("../../tests/fixtures/saml/metadata/no-post-acs.xml");

    const ATLASSIAN_ID: &str = "a87a5568-134b-46e6-9006-995e3b6d2282";

    /// The refusal message, or a failure naming what was accepted instead.
    fn refusal(xml: &str, dev: bool) -> String {
        match parse_sp_metadata(xml, dev) {
            Err(MetadataError(message)) => message,
            other => panic!("expected a metadata refusal, got {other:?}"),
        }
    }

    fn urls(sp: &SpMetadata) -> Vec<(u16, &str, bool)> {
        sp.acs.iter().map(|a| (a.index, a.url.as_str(), a.is_default)).collect()
    }

    #[test]
    fn atlassian_metadata_keeps_the_acs_query_string_byte_for_byte() {
        let sp = parse_sp_metadata(ATLASSIAN, false).unwrap();
        assert_eq!(
            sp.entity_id.as_str(),
            format!("https://auth.atlassian.com/saml/{ATLASSIAN_ID}")
        );
        let acs = format!("https://auth.atlassian.com/login/callback?connection=saml-{ATLASSIAN_ID}");
        assert_eq!(urls(&sp), [(0, acs.as_str(), true)]);
        assert!(!sp.want_requests_signed);
        assert!(sp.signing_certs_base64.is_empty());
        assert_eq!(sp.name_id_format.as_deref(), Some(NAMEID_EMAIL));
    }

    #[test]
    fn generic_metadata_orders_post_endpoints_default_first_and_ignores_artifact() {
        let sp = parse_sp_metadata(GENERIC, false).unwrap();
        assert_eq!(sp.entity_id.as_str(), "https://wiki.example.org/saml/sp");
        assert_eq!(
            urls(&sp),
            [
                (1, "https://wiki.example.org/saml/acs?tenant=main&v=2", true),
                (0, "https://wiki.example.org/saml/acs/legacy", false),
            ]
        );
        assert!(sp.want_requests_signed);
        // The SP's first choice that Rosetta produces: transient (a one-time identifier).
        assert_eq!(sp.name_id_format.as_deref(), Some(crate::saml::uri::NAMEID_TRANSIENT));
    }

    #[test]
    fn signing_certificate_is_real_der_with_whitespace_stripped() {
        let sp = parse_sp_metadata(GENERIC, false).unwrap();
        assert_eq!(
            sp.signing_certs_base64.len(),
            1,
            "the encryption key is not a signing key"
        );
        let b64 = &sp.signing_certs_base64[0];
        assert!(!b64.chars().any(|c| c.is_ascii_whitespace()));
        let der = STANDARD.decode(b64).unwrap();
        let cert = X509::from_der(&der).unwrap();
        let cn = cert
            .subject_name()
            .entries_by_nid(openssl::nid::Nid::COMMONNAME)
            .next()
            .map(|e| e.data().as_slice().to_vec());
        assert_eq!(cn.as_deref(), Some(&b"sp"[..]));
    }

    #[test]
    fn key_descriptor_without_use_signs_and_duplicates_are_dropped() {
        let without_use = GENERIC.replace("<md:KeyDescriptor use=\"signing\">", "<md:KeyDescriptor>");
        let sp = parse_sp_metadata(&without_use, false).unwrap();
        assert_eq!(sp.signing_certs_base64.len(), 1);

        let start = GENERIC.find("<md:KeyDescriptor use=\"signing\">").unwrap();
        let end = GENERIC[start..].find("</md:KeyDescriptor>").unwrap() + start + "</md:KeyDescriptor>".len();
        let block = &GENERIC[start..end];
        let twice = GENERIC.replacen(block, &format!("{block}{}", block.replace(" use=\"signing\"", "")), 1);
        let sp = parse_sp_metadata(&twice, false).unwrap();
        assert_eq!(
            sp.signing_certs_base64.len(),
            1,
            "the same certificate twice is kept once"
        );

        let as_encryption = GENERIC.replace("use=\"signing\"", "use=\"encryption\"");
        let message = refusal(&as_encryption, false);
        assert!(message.contains("no signing certificate"), "{message}");
    }

    #[test]
    fn entities_descriptor_with_one_sp_is_accepted() {
        let sp = parse_sp_metadata(ENTITIES_ONE_SP, false).unwrap();
        assert_eq!(sp.entity_id.as_str(), "urn:example:crm");
        assert_eq!(urls(&sp), [(3, "https://crm.example.com/sso/acs", true)]);
        assert_eq!(sp.name_id_format, None);
    }

    #[test]
    fn entities_descriptor_with_two_sps_is_refused_naming_both() {
        let message = refusal(ENTITIES_TWO_SPS, false);
        assert!(message.contains("2 service providers"), "{message}");
        assert!(message.contains("`https://jira.example.com/saml`"), "{message}");
        assert!(message.contains("`https://confluence.example.com/saml`"), "{message}");
    }

    #[test]
    fn idp_only_metadata_is_refused() {
        let message = refusal(IDP_ONLY, false);
        assert!(message.contains("IDPSSODescriptor"), "{message}");
        assert!(message.contains("no SPSSODescriptor"), "{message}");
    }

    #[test]
    fn doctype_and_entities_are_refused_before_parsing() {
        assert!(refusal(DOCTYPE_XXE, false).contains("document type declaration"));
        let lowercase = ATLASSIAN.replacen("<EntityDescriptor", "<!doctype x><EntityDescriptor", 1);
        assert!(refusal(&lowercase, false).contains("document type declaration"));
        let internal_subset_free =
            ATLASSIAN.replacen("<EntityDescriptor", "<!DOCTYPE EntityDescriptor><EntityDescriptor", 1);
        assert!(refusal(&internal_subset_free, false).contains("document type declaration"));
    }

    #[test]
    fn plain_http_acs_needs_dev_mode_and_loopback() {
        assert!(refusal(HTTP_ACS, false).contains("dev mode"));
        let sp = parse_sp_metadata(HTTP_ACS, true).unwrap();
        assert_eq!(urls(&sp), [(0, "http://localhost:9000/saml/acs", true)]);

        let public_http = HTTP_ACS.replace("http://localhost:9000/saml/acs", "http://sp.example.com/saml/acs");
        assert!(refusal(&public_http, true).contains("must use https"));
        let javascript = ATLASSIAN.replacen(
            "Location=\"https://auth.atlassian.com/login",
            "Location=\"javascript:alert(1)//",
            1,
        );
        assert!(refusal(&javascript, true).contains("index 0"));
    }

    #[test]
    fn garbage_certificate_is_refused() {
        let message = refusal(GARBAGE_CERT, false);
        assert!(message.contains("not an X.509 certificate"), "{message}");
        let not_base64 = GARBAGE_CERT.replace("VGhpcyBp", "%%%%");
        assert!(refusal(&not_base64, false).contains("not valid base64"));
        // A real certificate followed by extra bytes is not what we would store.
        let sp = parse_sp_metadata(GENERIC, false).unwrap();
        let mut der = STANDARD.decode(&sp.signing_certs_base64[0]).unwrap();
        der.extend_from_slice(b"trailing");
        let garbage = "VGhpcyBpcyBub3QgYSBjZXJ0aWZpY2F0ZSwganVzdCBzb21lIHRleHQgaW4g\n            \
                       YmFzZTY0IHRoYXQgYW4gYWRtaW4gcGFzdGVkIGJ5IG1pc3Rha2Uu";
        assert!(GARBAGE_CERT.contains(garbage));
        let with_tail = GARBAGE_CERT.replace(garbage, &STANDARD.encode(&der));
        let message = refusal(&with_tail, false);
        assert!(message.contains("signing KeyDescriptor #1"), "{message}");
    }

    #[test]
    fn metadata_without_post_acs_is_refused() {
        let message = refusal(NO_POST_ACS, false);
        assert!(message.contains("none of the 2"), "{message}");
        assert!(message.contains("HTTP-POST"), "{message}");
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        // Not even well-formed: a parser would fail differently, so the message proves the order.
        let big = format!("<md:EntityDescriptor {}", "x".repeat(MAX_METADATA_BYTES));
        let message = refusal(&big, false);
        assert!(message.contains("256 KiB"), "{message}");
    }

    #[test]
    fn node_limit_is_enforced() {
        let xml = format!(
            "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">{}</md:EntityDescriptor>",
            "<a/>".repeat(MAX_METADATA_NODES as usize)
        );
        assert!(xml.len() < MAX_METADATA_BYTES);
        assert!(refusal(&xml, false).contains("more than 20000 XML nodes"));
    }

    #[test]
    fn nested_groups_are_searched_but_extensions_are_not() {
        let nested = ENTITIES_ONE_SP
            .replacen("Name=\"exported\">", "Name=\"exported\"><md:EntitiesDescriptor>", 1)
            .replacen(
                "</md:EntitiesDescriptor>",
                "</md:EntitiesDescriptor></md:EntitiesDescriptor>",
                1,
            );
        assert_eq!(
            parse_sp_metadata(&nested, false)
                .map(|sp| sp.entity_id.to_string())
                .ok(),
            Some("urn:example:crm".to_owned())
        );
        let hidden = ENTITIES_ONE_SP
            .replacen(
                "<md:EntityDescriptor entityID=\"urn:example:crm\">",
                "<md:Extensions><md:EntityDescriptor entityID=\"urn:example:crm\">",
                1,
            )
            .replacen(
                "</md:EntityDescriptor>\n</md:EntitiesDescriptor>",
                "</md:EntityDescriptor></md:Extensions>\n</md:EntitiesDescriptor>",
                1,
            );
        assert_ne!(hidden, ENTITIES_ONE_SP);
        assert!(refusal(&hidden, false).contains("none of the entities"));
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let nested = |depth: usize, open: &str, close: &str| {
            format!(
                "<m:EntitiesDescriptor xmlns:m=\"urn:oasis:names:tc:SAML:2.0:metadata\">{}{}</m:EntitiesDescriptor>",
                open.repeat(depth),
                close.repeat(depth)
            )
        };
        // Deep enough to overflow a 2 MiB stack inside roxmltree if it were parsed.
        let deep = nested(20_000, "<a>", "</a>");
        assert!(deep.len() < MAX_METADATA_BYTES);
        assert!(refusal(&deep, false).contains("64 levels"));
        // Quoted `/>`, comments and CDATA must not hide levels from the scan.
        let disguised = nested(
            MAX_METADATA_DEPTH,
            "<a x=\"/>\" y='>'><!-- <b/> --><![CDATA[</a>]]><?pi </a>?>",
            "</a>",
        );
        assert!(refusal(&disguised, false).contains("64 levels"));
        // At the limit the document is parsed and refused for what it is.
        let at_limit = nested(
            MAX_METADATA_DEPTH - 1,
            "<m:EntitiesDescriptor>",
            "</m:EntitiesDescriptor>",
        );
        assert!(refusal(&at_limit, false).contains("no EntityDescriptor"));
        assert!(!nesting_exceeds(GENERIC.as_bytes(), 8));
    }

    #[test]
    fn shape_errors_have_precise_messages() {
        assert!(refusal("", false).contains("empty"));
        assert!(refusal("<md:EntityDescriptor", false).contains("not well-formed"));
        let authn = include_str!("../../tests/fixtures/saml/atlassian-authnrequest.xml");
        assert!(refusal(authn, false).contains("root element is `AuthnRequest`"));

        let saml11 = ATLASSIAN.replace(
            "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"",
            "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:1.1:protocol\"",
        );
        assert!(refusal(&saml11, false).contains("protocolSupportEnumeration"));

        let no_entity_id = ATLASSIAN.replacen(" entityID=", " x=", 1);
        assert!(refusal(&no_entity_id, false).contains("no entityID"));
        let bad_entity_id = ATLASSIAN.replacen("entityID=\"https://", "entityID=\"not a uri ", 1);
        assert!(refusal(&bad_entity_id, false).starts_with("entityID:"));

        let two_defaults = GENERIC.replace("isDefault=\"false\"", "isDefault=\"true\"");
        assert!(refusal(&two_defaults, false).contains("[0, 1]"));
        let same_index = GENERIC.replace("index=\"0\"", "index=\"1\"");
        assert!(refusal(&same_index, false).contains("index 1"));
        let bad_index = GENERIC.replace("index=\"0\"", "index=\"-1\"");
        assert!(refusal(&bad_index, false).contains("`-1`"));
        let commented = ATLASSIAN.replacen(
            "emailAddress</NameIDFormat>",
            "emailAddress<!-- x --></NameIDFormat>",
            1,
        );
        assert!(refusal(&commented, false).contains("plain text"));
        let bad_bool = GENERIC.replace("AuthnRequestsSigned=\"true\"", "AuthnRequestsSigned=\"yes\"");
        assert!(refusal(&bad_bool, false).contains("AuthnRequestsSigned"));
    }

    #[test]
    fn default_is_lowest_index_when_none_is_marked() {
        let unmarked = GENERIC
            .replace(" isDefault=\"true\"", "")
            .replace(" isDefault=\"false\"", "");
        let sp = parse_sp_metadata(&unmarked, false).unwrap();
        assert_eq!(
            urls(&sp),
            [
                (0, "https://wiki.example.org/saml/acs/legacy", true),
                (1, "https://wiki.example.org/saml/acs?tenant=main&v=2", false),
            ]
        );
    }

    #[test]
    fn many_entities_are_summarised() {
        let entity = |i: usize| {
            format!(
                "<md:EntityDescriptor entityID=\"https://sp{i}.example.com\"><md:SPSSODescriptor \
protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"/></md:EntityDescriptor>"
            )
        };
        let xml = format!(
            "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">{}</md:EntitiesDescriptor>",
            (0..8).map(entity).collect::<String>()
        );
        let message = refusal(&xml, false);
        assert!(
            message.contains("8 service providers") && message.contains("and 3 more"),
            "{message}"
        );
    }

    proptest! {
        #[test]
        fn depth_scan_never_counts_fewer_levels_than_the_parser(
            levels in prop::collection::vec((0usize..6, any::<bool>()), 1..40)
        ) {
            const DECOR: [&str; 6] = ["", "<!-- <x> -->", "<![CDATA[<x>]]>", "<?pi <x>?>", "<e x=\"/>\"/>", "text &gt; <f/>"];
            let mut xml = String::new();
            for (decor, quoted) in &levels {
                xml.push_str(if *quoted { "<a q='>/>'>" } else { "<a>" });
                xml.push_str(DECOR[*decor]);
            }
            xml.push_str(&"</a>".repeat(levels.len()));
            let doc = roxmltree::Document::parse(&xml);
            prop_assert!(doc.is_ok(), "{}", xml);
            if let Ok(doc) = doc {
                let deepest = doc.descendants().filter(|n| n.is_element()).map(|n| n.ancestors().count() - 1).max();
                // Self-closing decorations sit one level lower but make the parser recurse no deeper.
                prop_assert!(deepest >= Some(levels.len()));
                prop_assert!(nesting_exceeds(xml.as_bytes(), levels.len() - 1));
                prop_assert!(!nesting_exceeds(xml.as_bytes(), levels.len()));
            }
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,400}") {
            let _ = parse_sp_metadata(&s, false);
        }

        #[test]
        fn truncated_or_spliced_fixtures_never_panic(cut in 0usize..4000, insert in "\\PC{0,20}", dev: bool) {
            for fixture in [GENERIC, ATLASSIAN, ENTITIES_TWO_SPS, GARBAGE_CERT] {
                let mut at = cut.min(fixture.len());
                while !fixture.is_char_boundary(at) {
                    at -= 1;
                }
                let _ = parse_sp_metadata(&fixture[..at], dev);
                let spliced = format!("{}{insert}{}", &fixture[..at], &fixture[at..]);
                let _ = parse_sp_metadata(&spliced, dev);
            }
        }
    }
}
