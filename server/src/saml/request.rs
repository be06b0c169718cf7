//! Reading SP-initiated AuthnRequests (HTTP-Redirect and HTTP-POST bindings).
//!
//! The route hands over what arrived at the SSO endpoint; this module turns it into either a
//! [`ValidRequest`] or a precise [`Rejection`]. The order of use is:
//!
//! 1. [`check_relay_state`] and [`decode`] (size caps, base64, bounded inflate),
//! 2. [`parse`] (no DTD, right root, required attributes),
//! 3. look the SP up by [`AuthnRequest::issuer_for_lookup`] (unknown → [`RequestError::UnknownIssuer`]),
//! 4. [`validate`] against that SP's [`SpPolicy`]; it also checks the signature when the SP
//!    wants signed requests, so a caller cannot forget it,
//! 5. reject a replayed [`ValidRequest::id`] with the session store, TTL [`ValidRequest::replay_ttl`].
//!
//! No HTTP types here: the route translates [`Rejection::Local`] into a local 400 page and
//! [`Rejection::Saml`] into a SAML error Response posted to the (trusted) ACS URL.
//!
//! The whole intake is reached through this module: [`decode`], [`Binding`], [`Received`],
//! the size caps, [`RequestError`] and [`SamlStatus`] are re-exported from the modules that
//! hold them (`binding`, `request_error`, `status`), which `request_signature` shares.

use chrono::{DateTime, Duration, Utc};

use super::binding::MAX_XML_NODES;
pub use super::binding::{Binding, MAX_INFLATED_XML, MAX_SAML_REQUEST_PARAM, Received, decode};
use super::dom::{child_elements, is_element, plain_text};
use super::guard::{
    MAX_ATTRIBUTES_PER_ELEMENT, MAX_DEPTH, MAX_NAMESPACE_DECLARATIONS, attributes_exceed, has_doctype, nesting_exceeds,
};
pub use super::request_error::RequestError;
use super::request_signature;
pub use super::status::SamlStatus;
use super::uri::{BINDING_POST, NAMEID_UNSPECIFIED, NS_ASSERTION, NS_DSIG, NS_PROTOCOL};

/// Largest `RelayState` accepted, in bytes.
///
/// The bindings spec says 80 bytes, but real SPs (Atlassian among them) send longer opaque
/// values; 2048 is generous for them and still bounds what we store and echo back.
pub const MAX_RELAY_STATE: usize = 2048;

/// A well-formed AuthnRequest with the fields Rosetta acts on; not yet checked against an SP.
///
/// Only [`parse`] makes one, so holding it means the XML passed the DTD and root checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRequest {
    /// `ID`, echoed as `InResponseTo` and used as the replay-cache key.
    pub id: String,
    /// `Version` as sent (checked in [`validate`], so we can answer `VersionMismatch`).
    pub version: String,
    /// `IssueInstant`.
    pub issue_instant: DateTime<Utc>,
    /// Text of the `saml:Issuer` child, trimmed.
    pub issuer: Option<String>,
    /// `Destination`.
    pub destination: Option<String>,
    /// `AssertionConsumerServiceURL`, verbatim.
    pub acs_url: Option<String>,
    /// `AssertionConsumerServiceIndex`.
    pub acs_index: Option<u16>,
    /// `ProtocolBinding`: the binding the SP wants the Response delivered with.
    pub protocol_binding: Option<String>,
    /// `IsPassive` (default false).
    pub is_passive: bool,
    /// `ForceAuthn` (default false).
    pub force_authn: bool,
    /// `samlp:NameIDPolicy`, when present.
    pub name_id_policy: Option<NameIdPolicy>,
    /// Whether a `ds:Signature` is a direct child of the root (an enveloped POST signature).
    pub has_signature: bool,
    /// The decoded XML, kept for signature verification.
    xml: String,
}

/// The SP's `samlp:NameIDPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameIdPolicy {
    /// `Format`, if given.
    pub format: Option<String>,
    /// `AllowCreate`, if given.
    pub allow_create: Option<bool>,
}

impl AuthnRequest {
    /// The decoded XML the request was parsed from.
    pub fn xml(&self) -> &str {
        &self.xml
    }

    /// The Issuer to look the SP up by; a request without one gets a local 400.
    pub fn issuer_for_lookup(&self) -> Result<&str, RequestError> {
        self.issuer
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or(RequestError::MissingIssuer)
    }
}

/// One registered AssertionConsumerService of an SP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acs {
    /// `index` from the SP's metadata (or assigned at registration).
    pub index: u16,
    /// The exact URL, query string included (Atlassian's carries `?connection=saml-...`).
    pub url: String,
    /// Whether this is the SP's default ACS.
    pub is_default: bool,
}

/// What the tenant registered about one SP, as far as reading its requests goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpPolicy {
    /// The SP's entity ID; must equal the request's Issuer.
    pub entity_id: String,
    /// Registered ACS endpoints (all HTTP-POST); URLs were checked for `https` at registration.
    pub acs: Vec<Acs>,
    /// The NameID format configured for this SP (email for the Atlassian preset).
    pub name_id_format: String,
    /// Whether requests must be signed.
    pub want_requests_signed: bool,
    /// DER certificates whose keys may sign requests; the only keys ever used to verify.
    pub signing_certs_der: Vec<Vec<u8>>,
}

/// Deployment-side facts [`validate`] needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// Our SSO endpoint URLs for this tenant (built from configuration, never the Host header).
    pub sso_urls: Vec<String>,
    /// The current time.
    pub now: DateTime<Utc>,
    /// Clock skew tolerated in both directions.
    pub max_skew: Duration,
    /// How old a request may be (beyond the skew).
    pub max_age: Duration,
    /// The binding and raw material the signature check needs.
    pub received: Received,
}

/// A request Rosetta will serve: everything the pending login needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRequest {
    /// The request ID: `InResponseTo` of our Response, and the replay-cache key.
    pub id: String,
    /// The SP's entity ID (the request's Issuer).
    pub issuer: String,
    /// The registered ACS URL to post the Response to, verbatim.
    pub acs_url: String,
    /// `IsPassive`: the caller answers `NoPassive` when there is no broker session.
    pub is_passive: bool,
    /// `ForceAuthn`: the caller must not reuse a broker session.
    pub force_authn: bool,
    /// The NameID format our Response must use.
    pub name_id_format: String,
    /// How long to remember `id` in the replay cache: the whole freshness window, so an ID
    /// is remembered for as long as its request could still be accepted.
    pub replay_ttl: Duration,
}

/// Why [`validate`] refused a request, and whom we may tell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Nothing may be posted to the SP (its ACS or identity is not trusted): local 400 page.
    #[error("{0}")]
    Local(RequestError),
    /// The ACS is trusted: answer the SP with a SAML error Response.
    #[error("{detail}")]
    Saml {
        /// Status codes for the Response.
        status: SamlStatus,
        /// The registered ACS URL to post the error Response to.
        acs_url: String,
        /// The request ID, for `InResponseTo`.
        in_response_to: String,
        /// A short, plain StatusMessage (no request content).
        detail: String,
    },
}

impl From<RequestError> for Rejection {
    fn from(e: RequestError) -> Self {
        Self::Local(e)
    }
}

/// Longest AuthnRequest `ID` accepted, in bytes (generated IDs are 33 to 50).
pub const MAX_ID_BYTES: usize = 256;

/// Parses the decoded XML into an [`AuthnRequest`].
///
/// Any `<!DOCTYPE` is refused before parsing (roxmltree also refuses non-empty DTDs; both
/// guards stay), as are malformed XML, a root other than `samlp:AuthnRequest` and a missing
/// `ID`, `Version` or `IssueInstant`.
#[tracing::instrument(name = "saml_parse", skip_all)]
pub fn parse(xml: &str) -> Result<AuthnRequest, RequestError> {
    if has_doctype(xml) {
        return Err(RequestError::Doctype);
    }
    if nesting_exceeds(xml.as_bytes(), MAX_DEPTH) {
        return Err(RequestError::MalformedXml);
    }
    if attributes_exceed(xml.as_bytes(), MAX_ATTRIBUTES_PER_ELEMENT, MAX_NAMESPACE_DECLARATIONS) {
        return Err(RequestError::TooManyAttributes);
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_XML_NODES,
    };
    let doc = roxmltree::Document::parse_with_options(xml, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => RequestError::Doctype,
        _ => RequestError::MalformedXml,
    })?;
    let root = doc.root_element();
    if !is_element(root, NS_PROTOCOL, "AuthnRequest") {
        return Err(RequestError::WrongRoot);
    }

    let id = required_attr(root, "ID")?;
    // An `xs:ID` is a short name; it is stored (replay cache, pending login) and echoed as
    // InResponseTo, so it is bounded before anything keeps it.
    if id.len() > MAX_ID_BYTES || id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(RequestError::InvalidValue("ID"));
    }
    let version = required_attr(root, "Version")?;
    let issue_instant = DateTime::parse_from_rfc3339(&required_attr(root, "IssueInstant")?)
        .map_err(|_| RequestError::InvalidValue("IssueInstant"))?
        .with_timezone(&Utc);

    let issuer = match child_elements(root, NS_ASSERTION, "Issuer").as_slice() {
        [] => None,
        [one] => Some(plain_text(*one).ok_or(RequestError::InvalidValue("Issuer"))?),
        _ => return Err(RequestError::InvalidValue("Issuer")),
    };
    let acs_index = root
        .attribute("AssertionConsumerServiceIndex")
        .map(|v| {
            v.trim()
                .parse::<u16>()
                .map_err(|_| RequestError::InvalidValue("AssertionConsumerServiceIndex"))
        })
        .transpose()?;
    let name_id_policy = match child_elements(root, NS_PROTOCOL, "NameIDPolicy").as_slice() {
        [] => None,
        [one] => Some(NameIdPolicy {
            format: one.attribute("Format").map(str::to_owned),
            allow_create: optional_bool(*one, "AllowCreate")?,
        }),
        _ => return Err(RequestError::InvalidValue("NameIDPolicy")),
    };

    Ok(AuthnRequest {
        id,
        version,
        issue_instant,
        issuer,
        destination: root.attribute("Destination").map(str::to_owned),
        acs_url: root.attribute("AssertionConsumerServiceURL").map(str::to_owned),
        acs_index,
        protocol_binding: root.attribute("ProtocolBinding").map(str::to_owned),
        is_passive: optional_bool(root, "IsPassive")?.unwrap_or(false),
        force_authn: optional_bool(root, "ForceAuthn")?.unwrap_or(false),
        name_id_policy,
        has_signature: !child_elements(root, NS_DSIG, "Signature").is_empty(),
        xml: xml.to_owned(),
    })
}

/// A non-empty attribute (unqualified name) or the matching error.
fn required_attr(node: roxmltree::Node<'_, '_>, name: &'static str) -> Result<String, RequestError> {
    match node.attribute(name) {
        Some(v) if !v.trim().is_empty() => Ok(v.to_owned()),
        _ => Err(RequestError::MissingAttribute(name)),
    }
}

/// An optional `xs:boolean` attribute.
fn optional_bool(node: roxmltree::Node<'_, '_>, name: &'static str) -> Result<Option<bool>, RequestError> {
    node.attribute(name)
        .map(|v| match v.trim() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(RequestError::InvalidValue(name)),
        })
        .transpose()
}

/// Checks RelayState against [`MAX_RELAY_STATE`] and returns it unchanged.
///
/// It is opaque to us: never decoded, never used as a redirect target, only echoed back
/// (HTML-escaped by the form that posts it).
pub fn check_relay_state(relay_state: Option<&str>) -> Result<Option<String>, RequestError> {
    match relay_state {
        Some(rs) if rs.len() > MAX_RELAY_STATE => Err(RequestError::RelayStateTooLong),
        Some(rs) => Ok(Some(rs.to_owned())),
        None => Ok(None),
    }
}

/// Checks a parsed request against the SP it claims to come from.
///
/// Local rejections (untrusted Issuer or ACS, bad signature, foreign Destination) come
/// first: only once the ACS is known to be registered may an error be posted to it.
/// Replay is the caller's job (session store), with [`ValidRequest::replay_ttl`].
pub fn validate(req: &AuthnRequest, policy: &SpPolicy, ctx: &RequestContext) -> Result<ValidRequest, Rejection> {
    let issuer = req.issuer_for_lookup()?;
    if issuer != policy.entity_id {
        return Err(RequestError::UnknownIssuer.into());
    }
    let acs_url = resolve_acs(req, policy)?;

    // An SP that is not registered as signing gains nothing from a signature it happens to
    // send, so it is not verified; one that is registered as signing cannot skip it.
    if policy.want_requests_signed {
        request_signature::verify_request_signature(req.xml(), &policy.signing_certs_der, &ctx.received)?;
    }
    if let Some(destination) = &req.destination
        && !ctx.sso_urls.iter().any(|u| u == destination)
    {
        return Err(RequestError::DestinationMismatch.into());
    }

    let saml = |status: SamlStatus, detail: &str| Rejection::Saml {
        status,
        acs_url: acs_url.clone(),
        in_response_to: req.id.clone(),
        detail: detail.to_owned(),
    };
    if req.version != "2.0" {
        return Err(saml(
            SamlStatus::VersionMismatch,
            "Only SAML 2.0 requests are supported.",
        ));
    }
    if let Some(binding) = &req.protocol_binding
        && binding != BINDING_POST
    {
        return Err(saml(
            SamlStatus::UnsupportedBinding,
            "Responses are only sent with the HTTP-POST binding.",
        ));
    }
    let (skew, age) = (non_negative(ctx.max_skew), non_negative(ctx.max_age));
    // Checked arithmetic: chrono panics on overflow, and an absurd configuration must not crash us.
    let latest = ctx.now.checked_add_signed(skew).unwrap_or(DateTime::<Utc>::MAX_UTC);
    let earliest = ctx
        .now
        .checked_sub_signed(age.checked_add(&skew).unwrap_or(Duration::MAX))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    if req.issue_instant > latest || req.issue_instant < earliest {
        return Err(saml(
            SamlStatus::RequestDenied,
            "The request is too old or its time is wrong.",
        ));
    }
    let name_id_format = effective_name_id_format(req, policy).ok_or_else(|| {
        saml(
            SamlStatus::InvalidNameIdPolicy,
            "The requested NameID format is not supported.",
        )
    })?;

    Ok(ValidRequest {
        id: req.id.clone(),
        issuer: issuer.to_owned(),
        acs_url,
        is_passive: req.is_passive,
        force_authn: req.force_authn,
        name_id_format,
        // Accepted from IssueInstant - skew to IssueInstant + age + skew: remember it that long.
        replay_ttl: age
            .checked_add(&skew)
            .and_then(|d| d.checked_add(&skew))
            .unwrap_or(Duration::MAX),
    })
}

/// A configured duration, with negative values read as zero.
fn non_negative(d: Duration) -> Duration {
    d.max(Duration::zero())
}

/// The registered ACS URL the request designates, compared as exact strings.
///
/// No normalisation at all: a different port, path, `userinfo@`, a longer URL with the real
/// one as a prefix or another scheme simply are not equal, and registered URLs are `https`.
fn resolve_acs(req: &AuthnRequest, policy: &SpPolicy) -> Result<String, RequestError> {
    let acs = match (&req.acs_url, req.acs_index) {
        (Some(_), Some(_)) => return Err(RequestError::AcsAmbiguous),
        (Some(url), None) => policy
            .acs
            .iter()
            .find(|a| a.url == *url)
            .ok_or(RequestError::AcsNotRegistered)?,
        (None, Some(index)) => policy
            .acs
            .iter()
            .find(|a| a.index == index)
            .ok_or(RequestError::UnknownAcsIndex)?,
        // As in SAML metadata: the one marked default, else the first listed.
        (None, None) => policy
            .acs
            .iter()
            .find(|a| a.is_default)
            .or_else(|| policy.acs.first())
            .ok_or(RequestError::NoAcsConfigured)?,
    };
    Ok(acs.url.clone())
}

/// The NameID format to answer with, or `None` when the SP asks for one we cannot produce.
///
/// We produce exactly the SP's configured format; `unspecified` (or no policy) means that one.
fn effective_name_id_format(req: &AuthnRequest, policy: &SpPolicy) -> Option<String> {
    match req.name_id_policy.as_ref().and_then(|p| p.format.as_deref()) {
        None | Some(NAMEID_UNSPECIFIED) => Some(policy.name_id_format.clone()),
        Some(format) if format == policy.name_id_format => Some(format.to_owned()),
        Some(_) => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use base64::Engine;
    use flate2::Compression;
    use flate2::write::DeflateEncoder;
    use proptest::prelude::*;

    use super::*;
    use crate::saml::uri::{BINDING_REDIRECT, NAMEID_EMAIL};

    pub(crate) const FIXTURE: &str = include_str!("../../tests/fixtures/saml/atlassian-authnrequest.xml");
    pub(crate) const ATLASSIAN_ENTITY: &str = "https://auth.atlassian.com/saml/2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90";
    pub(crate) const ATLASSIAN_ACS: &str =
        "https://auth.atlassian.com/login/callback?connection=saml-2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90";
    pub(crate) const SSO_URL: &str = "https://acme.rosetta.example.com/saml/sso";

    /// The Atlassian preset as an admin would register it from the fixture.
    pub(crate) fn atlassian_policy() -> SpPolicy {
        SpPolicy {
            entity_id: ATLASSIAN_ENTITY.into(),
            acs: vec![Acs {
                index: 0,
                url: ATLASSIAN_ACS.into(),
                is_default: true,
            }],
            name_id_format: NAMEID_EMAIL.into(),
            want_requests_signed: false,
            signing_certs_der: vec![],
        }
    }

    /// One minute after the fixture's IssueInstant.
    pub(crate) fn context(received: Received) -> RequestContext {
        RequestContext {
            sso_urls: vec![SSO_URL.into(), "https://acme.rosetta.example.com/saml/sso/post".into()],
            now: at("2026-11-29T08:01:00Z"),
            max_skew: Duration::minutes(3),
            max_age: Duration::minutes(5),
            received,
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Deflate + base64, as an SP does for HTTP-Redirect.
    pub(crate) fn redirect_encode(xml: &[u8]) -> String {
        let mut enc = DeflateEncoder::new(Vec::new(), Compression::default());
        enc.write_all(xml).unwrap();
        base64::engine::general_purpose::STANDARD.encode(enc.finish().unwrap())
    }

    fn validate_xml(xml: &str) -> Result<ValidRequest, Rejection> {
        validate(&parse(xml).unwrap(), &atlassian_policy(), &context(Received::Post))
    }

    fn saml_status(result: Result<ValidRequest, Rejection>) -> SamlStatus {
        match result {
            Err(Rejection::Saml {
                status,
                acs_url,
                in_response_to,
                detail,
            }) => {
                // A SAML error is only ever posted to the registered ACS, for this request.
                assert_eq!(acs_url, ATLASSIAN_ACS);
                assert_eq!(in_response_to, "_5f0e3c1a9b7d4e2f8a6c");
                assert!(!detail.is_empty());
                status
            }
            other => panic!("expected a SAML error Response, got {other:?}"),
        }
    }

    #[test]
    fn atlassian_fixture_parses() {
        let req = parse(FIXTURE).unwrap();
        assert_eq!(req.id, "_5f0e3c1a9b7d4e2f8a6c");
        assert_eq!(req.version, "2.0");
        assert_eq!(req.issue_instant, at("2026-11-29T08:00:00Z"));
        assert_eq!(req.issuer.as_deref(), Some(ATLASSIAN_ENTITY));
        assert_eq!(req.destination.as_deref(), Some(SSO_URL));
        assert_eq!(req.acs_url.as_deref(), Some(ATLASSIAN_ACS));
        assert_eq!(req.acs_index, None);
        assert_eq!(req.protocol_binding.as_deref(), Some(BINDING_POST));
        assert!(!req.is_passive && !req.force_authn && !req.has_signature);
        assert_eq!(req.name_id_policy, None);
        assert_eq!(req.xml(), FIXTURE);
        assert_eq!(req.issuer_for_lookup(), Ok(ATLASSIAN_ENTITY));
    }

    #[test]
    fn atlassian_fixture_validates_with_its_query_string_acs() {
        let valid = validate_xml(FIXTURE).unwrap();
        assert_eq!(
            valid,
            ValidRequest {
                id: "_5f0e3c1a9b7d4e2f8a6c".into(),
                issuer: ATLASSIAN_ENTITY.into(),
                acs_url: ATLASSIAN_ACS.into(),
                is_passive: false,
                force_authn: false,
                // No NameIDPolicy: the SP's configured format applies.
                name_id_format: NAMEID_EMAIL.into(),
                replay_ttl: Duration::minutes(11),
            }
        );
    }

    #[test]
    fn atlassian_fixture_round_trips_through_the_redirect_binding() {
        let encoded = redirect_encode(FIXTURE.as_bytes());
        assert_eq!(decode(Binding::Redirect, &encoded).unwrap(), FIXTURE);
    }

    #[test]
    fn post_binding_tolerates_wrapped_base64() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(FIXTURE);
        let wrapped: Vec<String> = encoded
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        let wrapped = format!("  {}\r\n", wrapped.join("\r\n"));
        assert_eq!(decode(Binding::Post, &wrapped).unwrap(), FIXTURE);
        // Some SPs drop the padding.
        assert_eq!(decode(Binding::Post, encoded.trim_end_matches('=')).unwrap(), FIXTURE);
    }

    #[test]
    fn acs_urls_not_exactly_registered_are_local_rejections() {
        let variants = [
            "https://auth.atlassian.com:8443/login/callback?connection=saml-2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90",
            "https://auth.atlassian.com:443/login/callback?connection=saml-2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90",
            "https://auth.atlassian.com/login/callback2?connection=saml-2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90",
            "https://auth.atlassian.com/login/callback",
            "https://auth.atlassian.com/login/callback?connection=saml-other",
            "https://evil@auth.atlassian.com/login/callback?connection=saml-2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90",
            "https://auth.atlassian.com@evil.example/login/callback?connection=saml-2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90",
            "https://auth.atlassian.com/login/callback?connection=saml-2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90&amp;x=1",
            "https://auth.atlassian.com/login/callback?connection=saml-2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90.evil.example",
            "https://auth.atlassian.com/login/callback?connection=saml-2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90#x",
            "HTTPS://auth.atlassian.com/login/callback?connection=saml-2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90",
            "http://auth.atlassian.com/login/callback?connection=saml-2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90",
            "javascript:alert(document.cookie)//https://auth.atlassian.com/login/callback",
            "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            "",
        ];
        for variant in variants {
            let xml = FIXTURE.replace(ATLASSIAN_ACS, variant);
            assert_eq!(
                validate_xml(&xml),
                Err(Rejection::Local(RequestError::AcsNotRegistered)),
                "ACS variant {variant:?} must be refused locally"
            );
        }
    }

    fn without_acs_url(xml: &str) -> String {
        xml.replace(&format!("AssertionConsumerServiceURL=\"{ATLASSIAN_ACS}\""), "")
    }

    #[test]
    fn acs_index_selects_a_registered_acs_and_unknown_index_is_local() {
        let mut policy = atlassian_policy();
        policy.acs.push(Acs {
            index: 7,
            url: "https://sp.example/acs7".into(),
            is_default: false,
        });
        let ctx = context(Received::Post);
        let with_index =
            |i: &str| without_acs_url(FIXTURE).replace("ID=", &format!("AssertionConsumerServiceIndex=\"{i}\" ID="));

        let valid = validate(&parse(&with_index("7")).unwrap(), &policy, &ctx).unwrap();
        assert_eq!(valid.acs_url, "https://sp.example/acs7");
        assert_eq!(
            validate(&parse(&with_index("3")).unwrap(), &policy, &ctx),
            Err(Rejection::Local(RequestError::UnknownAcsIndex))
        );
        assert_eq!(
            parse(&with_index("-1")),
            Err(RequestError::InvalidValue("AssertionConsumerServiceIndex"))
        );
        assert_eq!(
            parse(&with_index("70000")),
            Err(RequestError::InvalidValue("AssertionConsumerServiceIndex"))
        );
        // URL and index together are ambiguous: refuse rather than guess.
        let both = FIXTURE.replace("ID=", "AssertionConsumerServiceIndex=\"0\" ID=");
        assert_eq!(
            validate(&parse(&both).unwrap(), &policy, &ctx),
            Err(Rejection::Local(RequestError::AcsAmbiguous))
        );
    }

    #[test]
    fn absent_acs_url_and_index_use_the_default_acs() {
        let mut policy = atlassian_policy();
        policy.acs[0].is_default = false;
        policy.acs.push(Acs {
            index: 1,
            url: "https://sp.example/default".into(),
            is_default: true,
        });
        let req = parse(&without_acs_url(FIXTURE)).unwrap();
        let ctx = context(Received::Post);
        assert_eq!(
            validate(&req, &policy, &ctx).unwrap().acs_url,
            "https://sp.example/default"
        );

        policy.acs[1].is_default = false;
        assert_eq!(validate(&req, &policy, &ctx).unwrap().acs_url, ATLASSIAN_ACS);

        policy.acs.clear();
        assert_eq!(
            validate(&req, &policy, &ctx),
            Err(Rejection::Local(RequestError::NoAcsConfigured))
        );
    }

    #[test]
    fn non_post_protocol_binding_is_unsupported_binding() {
        for binding in [
            BINDING_REDIRECT,
            "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact",
            "urn:x",
        ] {
            let xml = FIXTURE.replace(BINDING_POST, binding);
            let status = saml_status(validate_xml(&xml));
            assert_eq!(status, SamlStatus::UnsupportedBinding);
            assert_eq!(status.top_level(), "urn:oasis:names:tc:SAML:2.0:status:Requester");
            assert_eq!(
                status.second_level(),
                Some("urn:oasis:names:tc:SAML:2.0:status:UnsupportedBinding")
            );
        }
        // Absent ProtocolBinding is fine: we answer with HTTP-POST.
        let xml = FIXTURE.replace(&format!("ProtocolBinding=\"{BINDING_POST}\""), "");
        assert!(validate_xml(&xml).is_ok());
    }

    #[test]
    fn destination_must_be_one_of_our_sso_urls_when_present() {
        for other in [
            "https://globex.rosetta.example.com/saml/sso",
            "https://acme.rosetta.example.com/saml/sso/",
            "",
        ] {
            let xml = FIXTURE.replace(SSO_URL, other);
            assert_eq!(
                validate_xml(&xml),
                Err(Rejection::Local(RequestError::DestinationMismatch))
            );
        }
        let xml = FIXTURE.replace(SSO_URL, "https://acme.rosetta.example.com/saml/sso/post");
        assert!(validate_xml(&xml).is_ok());
        let xml = FIXTURE.replace(&format!("Destination=\"{SSO_URL}\""), "");
        assert!(validate_xml(&xml).is_ok());
    }

    #[test]
    fn version_other_than_2_0_is_version_mismatch() {
        for version in ["1.1", "2.1", "3.0", "2"] {
            let xml = FIXTURE.replace("Version=\"2.0\"", &format!("Version=\"{version}\""));
            let status = saml_status(validate_xml(&xml));
            assert_eq!(status, SamlStatus::VersionMismatch);
            assert_eq!(status.top_level(), "urn:oasis:names:tc:SAML:2.0:status:VersionMismatch");
        }
    }

    #[test]
    fn issue_instant_outside_the_window_is_request_denied() {
        // now = 08:01, skew 3 min, age 5 min: accepted from 07:53 to 08:04.
        for instant in ["2026-11-29T07:52:59Z", "2026-11-29T08:04:01Z", "2025-11-29T08:00:00Z"] {
            let xml = FIXTURE.replace("2026-11-29T08:00:00Z", instant);
            let status = saml_status(validate_xml(&xml));
            assert_eq!(status, SamlStatus::RequestDenied);
            assert_eq!(
                status.second_level(),
                Some("urn:oasis:names:tc:SAML:2.0:status:RequestDenied")
            );
        }
        for instant in [
            "2026-11-29T07:53:00Z",
            "2026-11-29T08:04:00Z",
            "2026-11-29T09:03:00.123+01:00",
        ] {
            let xml = FIXTURE.replace("2026-11-29T08:00:00Z", instant);
            assert!(validate_xml(&xml).is_ok(), "{instant} is inside the window");
        }
        let xml = FIXTURE.replace("2026-11-29T08:00:00Z", "yesterday");
        assert_eq!(parse(&xml), Err(RequestError::InvalidValue("IssueInstant")));
    }

    fn with_name_id_policy(format: &str) -> String {
        FIXTURE.replace(
            "</samlp:AuthnRequest>",
            &format!("<samlp:NameIDPolicy Format=\"{format}\" AllowCreate=\"true\"/></samlp:AuthnRequest>"),
        )
    }

    #[test]
    fn name_id_policy_accepts_configured_and_unspecified_formats_only() {
        let req = parse(&with_name_id_policy(NAMEID_EMAIL)).unwrap();
        assert_eq!(
            req.name_id_policy,
            Some(NameIdPolicy {
                format: Some(NAMEID_EMAIL.into()),
                allow_create: Some(true)
            })
        );
        for format in [NAMEID_EMAIL, NAMEID_UNSPECIFIED] {
            assert_eq!(
                validate_xml(&with_name_id_policy(format)).unwrap().name_id_format,
                NAMEID_EMAIL
            );
        }
        for format in [
            "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
            "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
            "urn:oasis:names:tc:SAML:2.0:nameid-format:encrypted",
        ] {
            let status = saml_status(validate_xml(&with_name_id_policy(format)));
            assert_eq!(status, SamlStatus::InvalidNameIdPolicy);
        }
        // emailAddress is only supported when it is the SP's configured format.
        let mut policy = atlassian_policy();
        policy.name_id_format = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".into();
        let req = parse(&with_name_id_policy(NAMEID_EMAIL)).unwrap();
        assert!(matches!(
            validate(&req, &policy, &context(Received::Post)),
            Err(Rejection::Saml {
                status: SamlStatus::InvalidNameIdPolicy,
                ..
            })
        ));
    }

    #[test]
    fn is_passive_and_force_authn_are_carried_through() {
        let xml = FIXTURE.replace("ID=", "IsPassive=\"true\" ForceAuthn=\"1\" ID=");
        let valid = validate_xml(&xml).unwrap();
        assert!(valid.is_passive && valid.force_authn);
        let xml = FIXTURE.replace("ID=", "IsPassive=\"yes\" ID=");
        assert_eq!(parse(&xml), Err(RequestError::InvalidValue("IsPassive")));
        assert_eq!(
            SamlStatus::NoPassive.second_level(),
            Some("urn:oasis:names:tc:SAML:2.0:status:NoPassive")
        );
    }

    #[test]
    fn missing_or_foreign_issuer_is_local() {
        let start = FIXTURE.find("<saml:Issuer").unwrap();
        let end = FIXTURE.find("</saml:Issuer>").unwrap() + "</saml:Issuer>".len();
        let no_issuer = format!("{}{}", &FIXTURE[..start], &FIXTURE[end..]);
        let req = parse(&no_issuer).unwrap();
        assert_eq!(req.issuer_for_lookup(), Err(RequestError::MissingIssuer));
        assert_eq!(
            validate_xml(&no_issuer),
            Err(Rejection::Local(RequestError::MissingIssuer))
        );

        let other = FIXTURE.replace(ATLASSIAN_ENTITY, "https://evil.example/saml");
        assert_eq!(validate_xml(&other), Err(Rejection::Local(RequestError::UnknownIssuer)));
        // What a parser sees as "the text" differs with comments inside: refuse those.
        let commented = FIXTURE.replace("auth.atlassian.com/saml/", "auth.atlassian.com<!---->/saml/");
        assert_eq!(parse(&commented), Err(RequestError::InvalidValue("Issuer")));
    }

    #[test]
    fn relay_state_is_capped_and_echoed_verbatim() {
        assert_eq!(check_relay_state(None), Ok(None));
        let odd = "https://acme.atlassian.net/?a=1&b=%2F<script>\"'";
        assert_eq!(check_relay_state(Some(odd)), Ok(Some(odd.to_owned())));
        let at_cap = "x".repeat(MAX_RELAY_STATE);
        assert_eq!(check_relay_state(Some(&at_cap)), Ok(Some(at_cap.clone())));
        let over = "x".repeat(MAX_RELAY_STATE + 1);
        assert_eq!(check_relay_state(Some(&over)), Err(RequestError::RelayStateTooLong));
        // Longer than the bindings spec's 80 bytes, as real SPs send.
        assert!(check_relay_state(Some(&"y".repeat(500))).is_ok());
    }

    #[test]
    fn oversized_parameter_is_rejected_before_decoding() {
        // Not base64 at all: only a size check that runs first can answer TooLarge.
        let junk = "!".repeat(MAX_SAML_REQUEST_PARAM + 1);
        assert_eq!(decode(Binding::Redirect, &junk), Err(RequestError::TooLarge));
        assert_eq!(decode(Binding::Post, &junk), Err(RequestError::TooLarge));
        assert!(RequestError::TooLarge.is_too_large());
    }

    /// `n` zero bytes, deflated as hard as an attacker would.
    fn zeros_bomb(n: usize) -> Vec<u8> {
        let mut enc = DeflateEncoder::new(Vec::new(), Compression::best());
        let chunk = vec![0u8; 1024 * 1024];
        for _ in 0..n / chunk.len() {
            enc.write_all(&chunk).unwrap();
        }
        enc.finish().unwrap()
    }

    #[test]
    fn deflate_bomb_is_refused_with_bounded_output() {
        // 50 MB of zeros deflates to ~49 KiB, whose base64 is already over the parameter cap.
        let bomb = base64::engine::general_purpose::STANDARD.encode(zeros_bomb(50 * 1024 * 1024));
        assert_eq!(decode(Binding::Redirect, &bomb), Err(RequestError::TooLarge));

        // 40 MB fits under the parameter cap: inflating stops at the output cap.
        let bomb = base64::engine::general_purpose::STANDARD.encode(zeros_bomb(40 * 1024 * 1024));
        assert!(bomb.len() <= MAX_SAML_REQUEST_PARAM, "{}", bomb.len());
        assert_eq!(decode(Binding::Redirect, &bomb), Err(RequestError::InflatedTooLarge));
        assert!(RequestError::InflatedTooLarge.is_too_large());

        // The cap is exact.
        let at_cap = redirect_encode(&vec![b' '; MAX_INFLATED_XML]);
        assert!(decode(Binding::Redirect, &at_cap).is_ok());
        let over_cap = redirect_encode(&vec![b' '; MAX_INFLATED_XML + 1]);
        assert_eq!(
            decode(Binding::Redirect, &over_cap),
            Err(RequestError::InflatedTooLarge)
        );
    }

    #[test]
    fn too_many_attributes_are_refused_while_inflating() {
        // Thousands of attributes on the root: refused after the first step of output, by
        // the same rule parse applies, without inflating the rest.
        let attributes: String = (0..10_000).map(|i| format!(" a{i}=\"x\"")).collect();
        let hostile = format!("<samlp:AuthnRequest{attributes}/>");
        assert!(hostile.len() > 64 * 1024);
        assert_eq!(
            decode(Binding::Redirect, &redirect_encode(hostile.as_bytes())),
            Err(RequestError::TooManyAttributes)
        );
        // A large request within the counts, whose output outgrows the first step, is whole.
        let padded = format!(
            "<samlp:AuthnRequest a=\"1\" b=\"2\"><!--{}--></samlp:AuthnRequest>",
            "x".repeat(100 * 1024)
        );
        assert_eq!(
            decode(Binding::Redirect, &redirect_encode(padded.as_bytes())).as_deref(),
            Ok(padded.as_str())
        );
    }

    #[test]
    fn inflating_reuses_its_decompressor_safely() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let xml = "<a>".repeat(5000) + &"</a>".repeat(5000);
        let mut deflated = Vec::new();
        let mut enc = DeflateEncoder::new(&mut deflated, Compression::best());
        enc.write_all(xml.as_bytes()).unwrap();
        enc.finish().unwrap();
        // A stream that grows the output buffer several times comes out whole.
        assert_eq!(
            decode(Binding::Redirect, &b64.encode(&deflated)).as_deref(),
            Ok(xml.as_str())
        );
        // A truncated stream is refused, and leaves nothing behind for the next request on
        // this thread.
        let truncated = b64.encode(&deflated[..deflated.len() / 2]);
        assert_eq!(decode(Binding::Redirect, &truncated), Err(RequestError::BadDeflate));
        assert_eq!(
            decode(Binding::Redirect, &b64.encode(&deflated)).as_deref(),
            Ok(xml.as_str())
        );
        // Bytes after the end of the stream are not part of the request.
        let mut trailing = deflated.clone();
        trailing.extend_from_slice(b"garbage");
        assert_eq!(
            decode(Binding::Redirect, &b64.encode(&trailing)).as_deref(),
            Ok(xml.as_str())
        );
        // An empty stored block inflates to nothing.
        assert_eq!(decode(Binding::Redirect, &b64.encode([0x03, 0x00])).as_deref(), Ok(""));
    }

    #[test]
    fn bad_encodings_are_refused() {
        assert_eq!(decode(Binding::Post, "not base64!"), Err(RequestError::BadBase64));
        assert_eq!(decode(Binding::Redirect, "%%%"), Err(RequestError::BadBase64));
        assert_eq!(decode(Binding::Post, " \n "), Err(RequestError::Missing));
        let not_deflate = base64::engine::general_purpose::STANDARD.encode([0xffu8; 16]);
        assert_eq!(decode(Binding::Redirect, &not_deflate), Err(RequestError::BadDeflate));
        let latin1 = base64::engine::general_purpose::STANDARD.encode(b"<a>\xe9</a>");
        assert_eq!(decode(Binding::Post, &latin1), Err(RequestError::NotUtf8));
    }

    #[test]
    fn any_doctype_is_refused_before_parsing() {
        let billion_laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="a" Version="2.0"
 IssueInstant="2026-11-29T08:00:00Z">&lol3;</samlp:AuthnRequest>"#;
        let xxe = r#"<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="a" Version="2.0"
 IssueInstant="2026-11-29T08:00:00Z"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">&xxe;</saml:Issuer></samlp:AuthnRequest>"#;
        let external_dtd = format!("<!DOCTYPE samlp:AuthnRequest SYSTEM \"http://evil.example/x.dtd\">{FIXTURE}");
        let empty = format!("<!DOCTYPE x>{FIXTURE}");
        let lowercase = format!("<!doctype x>{FIXTURE}");
        for xml in [
            billion_laughs.to_owned(),
            xxe.to_owned(),
            external_dtd,
            empty,
            lowercase,
        ] {
            assert_eq!(parse(&xml), Err(RequestError::Doctype));
            // Same through the binding, as it would arrive.
            let decoded = decode(Binding::Post, &base64::engine::general_purpose::STANDARD.encode(&xml)).unwrap();
            assert_eq!(parse(&decoded), Err(RequestError::Doctype));
        }
    }

    #[test]
    fn wrong_root_and_malformed_xml_are_refused() {
        let response = FIXTURE.replace("samlp:AuthnRequest", "samlp:Response");
        let logout = FIXTURE.replace("samlp:AuthnRequest", "samlp:LogoutRequest");
        let wrong_ns = FIXTURE.replace(
            "urn:oasis:names:tc:SAML:2.0:protocol",
            "urn:oasis:names:tc:SAML:1.0:protocol",
        );
        let no_ns = FIXTURE.replace("samlp:AuthnRequest", "AuthnRequest");
        for xml in [response, logout, wrong_ns, no_ns] {
            assert_eq!(parse(&xml), Err(RequestError::WrongRoot));
        }
        for xml in ["", "<", "not xml", "<a><b></a>", &FIXTURE[..FIXTURE.len() - 10]] {
            assert_eq!(parse(xml), Err(RequestError::MalformedXml), "{xml:?}");
        }
        let undeclared_prefix = FIXTURE.replace("xmlns:samlp=", "xmlns:other=");
        assert_eq!(parse(&undeclared_prefix), Err(RequestError::MalformedXml));
    }

    #[test]
    fn missing_required_attributes_are_refused() {
        for (attr, value) in [
            ("ID", "_5f0e3c1a9b7d4e2f8a6c"),
            ("Version", "2.0"),
            ("IssueInstant", "2026-11-29T08:00:00Z"),
        ] {
            let xml = FIXTURE.replace(&format!("{attr}=\"{value}\""), "");
            assert_eq!(parse(&xml), Err(RequestError::MissingAttribute(attr)));
            let xml = FIXTURE.replace(&format!("{attr}=\"{value}\""), &format!("{attr}=\" \""));
            assert_eq!(parse(&xml), Err(RequestError::MissingAttribute(attr)));
        }
    }

    #[test]
    fn error_messages_are_plain_and_leak_nothing() {
        let xml = FIXTURE.replace(ATLASSIAN_ACS, "https://evil.example/steal");
        let rejection = validate_xml(&xml).unwrap_err();
        let message = rejection.to_string();
        assert!(!message.contains("evil.example") && !message.contains('<'), "{message}");
    }

    proptest! {
        #[test]
        fn decode_never_panics(input in ".{0,2000}", redirect in any::<bool>()) {
            let binding = if redirect { Binding::Redirect } else { Binding::Post };
            let _ = decode(binding, &input);
        }

        #[test]
        fn decode_never_panics_on_base64_of_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let _ = decode(Binding::Redirect, &encoded);
            let _ = decode(Binding::Post, &encoded);
        }

        #[test]
        fn validate_never_panics_on_extreme_configuration(skew in any::<i64>(), age in any::<i64>()) {
            let mut ctx = context(Received::Post);
            ctx.max_skew = Duration::try_milliseconds(skew).unwrap_or(Duration::MAX);
            ctx.max_age = Duration::try_milliseconds(age).unwrap_or(Duration::MIN);
            let _ = validate(&parse(FIXTURE).unwrap(), &atlassian_policy(), &ctx);
        }

        #[test]
        fn parse_never_panics(input in ".{0,2000}") {
            let _ = parse(&input);
        }

        #[test]
        fn parse_never_panics_on_mutated_fixture(at in 0..FIXTURE.len(), cut in 0usize..50, insert in ".{0,40}") {
            let mut xml = FIXTURE.as_bytes().to_vec();
            let end = (at + cut).min(xml.len());
            xml.splice(at..end, insert.bytes());
            if let Ok(xml) = String::from_utf8(xml) {
                let _ = parse(&xml).map(|req| validate(&req, &atlassian_policy(), &context(Received::Post)));
            }
        }
    }
}

#[cfg(test)]
mod depth_tests {
    use super::*;

    #[test]
    fn deeply_nested_requests_are_refused_without_recursing() {
        // Deep enough to overflow roxmltree's recursive tokenizer on a small stack.
        let depth = 50_000;
        let xml = format!(
            "<samlp:AuthnRequest xmlns:samlp=\"{NS_PROTOCOL}\" ID=\"_a\" Version=\"2.0\" IssueInstant=\"2026-11-29T08:00:00Z\">{}{}</samlp:AuthnRequest>",
            "<a>".repeat(depth),
            "</a>".repeat(depth)
        );
        // A thread with a small stack proves no recursion happens before the refusal.
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || parse(&xml))
            .unwrap();
        assert!(matches!(handle.join().unwrap(), Err(RequestError::MalformedXml)));
    }
}
