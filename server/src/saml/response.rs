//! Building and signing SAML Responses.
//!
//! Both the Assertion and the Response are signed (RSA-SHA256, SHA-256 digests, exclusive
//! C14N, one Reference to the element's own ID, only the enveloped and exc-c14n
//! transforms): the Assertion first, then the Response over the signed Assertion. The
//! document is written in canonical form (see [`super::xml`]), so each signature costs one
//! SHA-256 of the bytes we send plus one RSA operation with a key parsed long before.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::keys::{KeyError, SigningKey};
use super::status::SamlStatus;
use super::uri::{
    ALG_ENVELOPED, ALG_EXC_C14N, ALG_RSA_SHA256, ALG_SHA256, AUTHN_CONTEXT_PPT, CM_BEARER, NS_ASSERTION, NS_DSIG,
    NS_PROTOCOL, STATUS_SUCCESS,
};
use super::xml::{attr, instant, random_id, text};

/// One attribute with its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// `Name`, e.g. `http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress`.
    pub name: String,
    /// `NameFormat`.
    pub name_format: String,
    /// The values, in order.
    pub values: Vec<String>,
}

/// Everything a successful Response says.
#[derive(Debug, Clone)]
pub struct AssertionParams {
    /// Our entity ID (Issuer of Response and Assertion).
    pub issuer: String,
    /// The ACS URL the Response is posted to (Destination, Recipient).
    pub acs_url: String,
    /// The AuthnRequest ID; `None` for IdP-initiated SSO.
    pub in_response_to: Option<String>,
    /// The SP's entity ID (the only Audience).
    pub audience: String,
    /// The subject's NameID value and its Format.
    pub name_id: String,
    /// NameID Format URI.
    pub name_id_format: String,
    /// Attributes to release.
    pub attributes: Vec<Attribute>,
    /// Broker session this login belongs to.
    pub session_index: String,
    /// When the user authenticated (upstream).
    pub authn_instant: DateTime<Utc>,
    /// Current time.
    pub now: DateTime<Utc>,
    /// How long the Assertion may be used (Conditions and SubjectConfirmationData).
    pub validity: Duration,
}

/// Tolerance for SP clocks that run a little behind ours.
const NOT_BEFORE_SKEW: i64 = 60;

/// A signed success Response with one signed Assertion, as XML text.
#[tracing::instrument(name = "assertion_sign", skip_all)]
pub fn signed_response(p: &AssertionParams, key: &SigningKey) -> Result<String, KeyError> {
    let now = instant(p.now);
    let expires = instant(p.now + p.validity);
    let not_before = instant(p.now - Duration::seconds(NOT_BEFORE_SKEW));
    let in_response_to = p
        .in_response_to
        .as_deref()
        .map(|id| format!(" InResponseTo=\"{}\"", attr(id)));
    let in_response_to = in_response_to.as_deref().unwrap_or("");

    let assertion_id = random_id();
    let assertion_head = format!(
        "<saml:Assertion xmlns:saml=\"{NS_ASSERTION}\" ID=\"{assertion_id}\" IssueInstant=\"{now}\" Version=\"2.0\">\
<saml:Issuer>{issuer}</saml:Issuer>",
        issuer = text(&p.issuer),
    );
    let mut assertion_tail = format!(
        "<saml:Subject><saml:NameID Format=\"{format}\">{name_id}</saml:NameID>\
<saml:SubjectConfirmation Method=\"{CM_BEARER}\"><saml:SubjectConfirmationData{in_response_to} \
NotOnOrAfter=\"{expires}\" Recipient=\"{acs}\"></saml:SubjectConfirmationData></saml:SubjectConfirmation></saml:Subject>\
<saml:Conditions NotBefore=\"{not_before}\" NotOnOrAfter=\"{expires}\"><saml:AudienceRestriction>\
<saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>\
<saml:AuthnStatement AuthnInstant=\"{authn}\" SessionIndex=\"{session}\"><saml:AuthnContext>\
<saml:AuthnContextClassRef>{AUTHN_CONTEXT_PPT}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>",
        format = attr(&p.name_id_format),
        name_id = text(&p.name_id),
        acs = attr(&p.acs_url),
        audience = text(&p.audience),
        authn = instant(p.authn_instant),
        session = attr(&p.session_index),
    );
    if !p.attributes.is_empty() {
        assertion_tail.push_str("<saml:AttributeStatement>");
        for a in &p.attributes {
            assertion_tail.push_str(&format!(
                "<saml:Attribute Name=\"{}\" NameFormat=\"{}\">",
                attr(&a.name),
                attr(&a.name_format)
            ));
            for v in &a.values {
                assertion_tail.push_str(&format!("<saml:AttributeValue>{}</saml:AttributeValue>", text(v)));
            }
            assertion_tail.push_str("</saml:Attribute>");
        }
        assertion_tail.push_str("</saml:AttributeStatement>");
    }
    assertion_tail.push_str("</saml:Assertion>");
    let assertion = sign_enveloped(&assertion_head, &assertion_tail, &assertion_id, key)?;

    let status = format!(
        "<samlp:Status><samlp:StatusCode Value=\"{}\"></samlp:StatusCode></samlp:Status>",
        STATUS_SUCCESS
    );
    response(
        &p.issuer,
        &p.acs_url,
        p.in_response_to.as_deref(),
        p.now,
        &status,
        &assertion,
        key,
    )
}

/// A signed Response carrying `status`, a StatusMessage and no Assertion.
pub fn signed_error_response(
    issuer: &str,
    acs_url: &str,
    in_response_to: Option<&str>,
    now: DateTime<Utc>,
    status: SamlStatus,
    message: &str,
    key: &SigningKey,
) -> Result<String, KeyError> {
    let inner = status
        .second_level()
        .map(|sub| format!("<samlp:StatusCode Value=\"{sub}\"></samlp:StatusCode>"))
        .unwrap_or_default();
    let status = format!(
        "<samlp:Status><samlp:StatusCode Value=\"{}\">{inner}</samlp:StatusCode>\
<samlp:StatusMessage>{}</samlp:StatusMessage></samlp:Status>",
        status.top_level(),
        text(message)
    );
    response(issuer, acs_url, in_response_to, now, &status, "", key)
}

fn response(
    issuer: &str,
    destination: &str,
    in_response_to: Option<&str>,
    now: DateTime<Utc>,
    status: &str,
    assertion: &str,
    key: &SigningKey,
) -> Result<String, KeyError> {
    let id = random_id();
    let in_response_to = in_response_to
        .map(|v| format!(" InResponseTo=\"{}\"", attr(v)))
        .unwrap_or_default();
    let head = format!(
        "<samlp:Response xmlns:samlp=\"{NS_PROTOCOL}\" Destination=\"{destination}\" ID=\"{id}\"{in_response_to} \
IssueInstant=\"{now}\" Version=\"2.0\"><saml:Issuer xmlns:saml=\"{NS_ASSERTION}\">{issuer}</saml:Issuer>",
        destination = attr(destination),
        now = instant(now),
        issuer = text(issuer),
    );
    let tail = format!("{status}{assertion}</samlp:Response>");
    sign_enveloped(&head, &tail, &id, key)
}

/// Signs the element `head + tail` (whose ID is `id`) with an enveloped signature placed
/// between the two parts, i.e. right after its Issuer as the schema requires.
fn sign_enveloped(head: &str, tail: &str, id: &str, key: &SigningKey) -> Result<String, KeyError> {
    // The enveloped-signature transform removes the Signature: the digest is over the
    // element without it, which is exactly head + tail.
    let mut hasher = Sha256::new();
    hasher.update(head.as_bytes());
    hasher.update(tail.as_bytes());
    let digest = B64.encode(hasher.finalize());
    let signed_info = format!(
        "<ds:CanonicalizationMethod Algorithm=\"{ALG_EXC_C14N}\"></ds:CanonicalizationMethod>\
<ds:SignatureMethod Algorithm=\"{ALG_RSA_SHA256}\"></ds:SignatureMethod>\
<ds:Reference URI=\"#{id}\"><ds:Transforms>\
<ds:Transform Algorithm=\"{ALG_ENVELOPED}\"></ds:Transform>\
<ds:Transform Algorithm=\"{ALG_EXC_C14N}\"></ds:Transform></ds:Transforms>\
<ds:DigestMethod Algorithm=\"{ALG_SHA256}\"></ds:DigestMethod>\
<ds:DigestValue>{digest}</ds:DigestValue></ds:Reference>"
    );
    // SignedInfo is canonicalised as its own apex, so it carries the ds declaration.
    let canonical = format!("<ds:SignedInfo xmlns:ds=\"{NS_DSIG}\">{signed_info}</ds:SignedInfo>");
    let signature = B64.encode(key.sign_rsa_sha256(canonical.as_bytes())?);
    let mut out = String::with_capacity(head.len() + tail.len() + signed_info.len() + signature.len() + 2048);
    out.push_str(head);
    out.push_str(&format!(
        "<ds:Signature xmlns:ds=\"{NS_DSIG}\"><ds:SignedInfo>{signed_info}</ds:SignedInfo>\
<ds:SignatureValue>{signature}</ds:SignatureValue><ds:KeyInfo><ds:X509Data>\
<ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>",
        cert = key.cert_base64()
    ));
    out.push_str(tail);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    pub(crate) fn params() -> AssertionParams {
        let now = Utc::now();
        AssertionParams {
            issuer: "https://acme.rosetta.example.com/saml/metadata".into(),
            acs_url: "https://auth.atlassian.com/login/callback?connection=saml-2f1c7a52&x=<\"y\">".into(),
            in_response_to: Some("_5f0e3c1a9b7d4e2f8a6c".into()),
            audience: "https://auth.atlassian.com/saml/2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90".into(),
            name_id: "ada@acme.example".into(),
            name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into(),
            attributes: vec![
                Attribute {
                    name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname".into(),
                    name_format: crate::saml::uri::ATTRNAME_FORMAT_URI.into(),
                    values: vec!["Ada & <Co>".into()],
                },
                Attribute {
                    name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname".into(),
                    name_format: crate::saml::uri::ATTRNAME_FORMAT_URI.into(),
                    values: vec!["Lovelace\r\nline".into()],
                },
            ],
            session_index: random_id(),
            authn_instant: now,
            now,
            validity: Duration::minutes(5),
        }
    }

    /// Verifies one signature of `xml` with the `xmlsec1` CLI, an implementation
    /// independent of ours: the Response's (`node` = None) or the Assertion's.
    pub(crate) fn xmlsec1_verifies(xml: &str, cert_pem: &str, node: Option<&str>) -> bool {
        let dir = tempfile::tempdir().unwrap();
        let doc = dir.path().join("doc.xml");
        let cert = dir.path().join("cert.pem");
        std::fs::write(&doc, xml).unwrap();
        std::fs::write(&cert, cert_pem).unwrap();
        let mut cmd = Command::new("xmlsec1");
        cmd.arg("--verify")
            .arg("--pubkey-cert-pem")
            .arg(&cert)
            .args(["--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response"])
            .args(["--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"]);
        if let Some(xpath) = node {
            cmd.args(["--node-xpath", xpath]);
        }
        let out = cmd
            .arg(&doc)
            .output()
            .expect("xmlsec1 is installed (apt-get install xmlsec1)");
        out.status.success()
    }

    const ASSERTION_SIG: &str = "//*[local-name()='Assertion']/*[local-name()='Signature']";

    #[test]
    fn both_signatures_verify_with_xmlsec1() {
        let key = SigningKey::generate("idp").unwrap();
        let xml = signed_response(&params(), &key).unwrap();
        assert!(
            xmlsec1_verifies(&xml, &key.cert_pem(), None),
            "response signature: {xml}"
        );
        assert!(
            xmlsec1_verifies(&xml, &key.cert_pem(), Some(ASSERTION_SIG)),
            "assertion signature"
        );
    }

    #[test]
    fn another_key_or_a_changed_byte_fails_verification() {
        let key = SigningKey::generate("idp").unwrap();
        let other = SigningKey::generate("other").unwrap();
        let xml = signed_response(&params(), &key).unwrap();
        assert!(!xmlsec1_verifies(&xml, &other.cert_pem(), None));
        let tampered = xml.replace("ada@acme.example", "eve@acme.example");
        assert!(!xmlsec1_verifies(&tampered, &key.cert_pem(), None));
        assert!(!xmlsec1_verifies(&tampered, &key.cert_pem(), Some(ASSERTION_SIG)));
    }

    #[test]
    fn the_response_says_what_security_md_requires() {
        let key = SigningKey::generate("idp").unwrap();
        let p = params();
        let xml = signed_response(&p, &key).unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "Response");
        assert_eq!(root.attribute("Destination"), Some(p.acs_url.as_str()));
        assert_eq!(root.attribute("InResponseTo"), p.in_response_to.as_deref());
        let by_name = |n: &'static str| doc.descendants().filter(move |d| d.tag_name().name() == n);
        assert_eq!(by_name("Assertion").count(), 1, "exactly one assertion");
        assert_eq!(by_name("Signature").count(), 2);
        assert!(by_name("Issuer").all(|i| i.text() == Some(p.issuer.as_str())));
        assert_eq!(
            by_name("Audience").next().and_then(|a| a.text()),
            Some(p.audience.as_str())
        );
        let scd = by_name("SubjectConfirmationData").next().unwrap();
        assert_eq!(scd.attribute("Recipient"), Some(p.acs_url.as_str()));
        assert_eq!(scd.attribute("InResponseTo"), p.in_response_to.as_deref());
        assert!(
            by_name("AuthnStatement")
                .next()
                .unwrap()
                .attribute("SessionIndex")
                .is_some()
        );
        assert!(
            by_name("DigestMethod")
                .all(|d| d.attribute("Algorithm") == Some("http://www.w3.org/2001/04/xmlenc#sha256"))
        );
        // Each signature: RSA-SHA256 over exclusive C14N, one Reference to its parent's own
        // ID, and nothing but the enveloped and exc-c14n transforms.
        for sig in by_name("Signature") {
            let parent_id = sig.parent_element().and_then(|p| p.attribute("ID")).unwrap();
            let child = |n: &'static str| sig.descendants().filter(move |d| d.tag_name().name() == n);
            assert_eq!(
                child("SignatureMethod").next().and_then(|m| m.attribute("Algorithm")),
                Some("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
            );
            assert_eq!(
                child("CanonicalizationMethod")
                    .next()
                    .and_then(|m| m.attribute("Algorithm")),
                Some("http://www.w3.org/2001/10/xml-exc-c14n#")
            );
            let refs: Vec<_> = child("Reference").collect();
            assert_eq!(refs.len(), 1);
            assert_eq!(refs[0].attribute("URI"), Some(format!("#{parent_id}").as_str()));
            let transforms: Vec<_> = child("Transform").filter_map(|t| t.attribute("Algorithm")).collect();
            assert_eq!(
                transforms,
                [
                    "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
                    "http://www.w3.org/2001/10/xml-exc-c14n#"
                ]
            );
        }
        // Short windows: 5 minutes to present the assertion, 60 s of clock-skew allowance.
        let at = |v: Option<&str>| {
            chrono::DateTime::parse_from_rfc3339(v.unwrap())
                .unwrap()
                .with_timezone(&Utc)
        };
        let issued = at(root.attribute("IssueInstant"));
        let conditions = by_name("Conditions").next().unwrap();
        assert_eq!(at(conditions.attribute("NotOnOrAfter")) - issued, Duration::minutes(5));
        assert_eq!(issued - at(conditions.attribute("NotBefore")), Duration::seconds(60));
        assert_eq!(at(scd.attribute("NotOnOrAfter")) - issued, Duration::minutes(5));
        let values: Vec<_> = by_name("AttributeValue").filter_map(|v| v.text()).collect();
        assert_eq!(
            values,
            ["Ada & <Co>", "Lovelace\r\nline"],
            "values survive escaping exactly"
        );
        // IDs: NCNames with at least 128 bits, all different.
        let ids: Vec<_> = doc.descendants().filter_map(|n| n.attribute("ID")).collect();
        assert_eq!(ids.len(), 2);
        assert_ne!(ids[0], ids[1]);
    }

    #[test]
    fn idp_initiated_responses_have_no_in_response_to() {
        let key = SigningKey::generate("idp").unwrap();
        let mut p = params();
        p.in_response_to = None;
        let xml = signed_response(&p, &key).unwrap();
        assert!(!xml.contains("InResponseTo"));
        assert!(xmlsec1_verifies(&xml, &key.cert_pem(), None));
        assert!(xmlsec1_verifies(&xml, &key.cert_pem(), Some(ASSERTION_SIG)));
    }

    #[test]
    fn error_responses_are_signed_and_carry_no_assertion() {
        let key = SigningKey::generate("idp").unwrap();
        let xml = signed_error_response(
            "https://idp",
            "https://sp/acs",
            Some("_req"),
            Utc::now(),
            SamlStatus::UnsupportedBinding,
            "Only HTTP-POST is supported for responses",
            &key,
        )
        .unwrap();
        assert!(!xml.contains("Assertion"));
        assert!(xml.contains(&format!(
            "<samlp:Status><samlp:StatusCode Value=\"{}\"><samlp:StatusCode Value=\"{}\"></samlp:StatusCode>\
</samlp:StatusCode><samlp:StatusMessage>Only HTTP-POST is supported for responses</samlp:StatusMessage></samlp:Status>",
            crate::saml::uri::STATUS_REQUESTER,
            crate::saml::uri::STATUS_UNSUPPORTED_BINDING
        )));
        assert!(xmlsec1_verifies(&xml, &key.cert_pem(), None));
    }
}
