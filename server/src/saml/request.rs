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

use std::io::Read;

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chrono::{DateTime, Duration, Utc};
use flate2::read::DeflateDecoder;

use super::request_signature;

/// Largest `SAMLRequest` parameter accepted, counted on the still base64-encoded text.
///
/// Checked before any decoding so an oversized parameter costs nothing. Real AuthnRequests
/// are a few KiB; 64 KiB leaves room for signed POST requests with certificates in KeyInfo.
pub const MAX_SAML_REQUEST_PARAM: usize = 64 * 1024;

/// Largest XML accepted after inflating an HTTP-Redirect `SAMLRequest`.
///
/// DEFLATE expands up to ~1000:1, so a 64 KiB parameter could otherwise become ~50 MB;
/// inflation stops as soon as this many bytes have been produced.
pub const MAX_INFLATED_XML: usize = 128 * 1024;

/// Largest `RelayState` accepted, in bytes.
///
/// The bindings spec says 80 bytes, but real SPs (Atlassian among them) send longer opaque
/// values; 2048 is generous for them and still bounds what we store and echo back.
pub const MAX_RELAY_STATE: usize = 2048;

/// Most XML nodes we are willing to build for one AuthnRequest (a real one has a few dozen).
const MAX_XML_NODES: u32 = 10_000;

/// Namespace of SAML 2.0 protocol messages (`samlp:`).
pub const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// Namespace of SAML 2.0 assertions (`saml:`), where `Issuer` lives.
pub const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// Namespace of XML Signature (`ds:`).
pub const NS_XMLDSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// URI of the HTTP-POST binding, the only one we answer with.
pub const BINDING_HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
/// URI of the HTTP-Redirect binding.
pub const BINDING_HTTP_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

/// NameID format `unspecified`: the SP leaves the choice to us.
pub const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
/// NameID format `emailAddress`.
pub const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// Why an AuthnRequest (or its RelayState or signature) was refused.
///
/// Messages are short and plain, fit for an end-user error page: they never contain XML,
/// parameter values or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The `SAMLRequest` parameter is larger than [`MAX_SAML_REQUEST_PARAM`].
    #[error("The sign-in request is too large.")]
    TooLarge,
    /// The `SAMLRequest` parameter is missing or empty.
    #[error("The sign-in request is missing.")]
    Missing,
    /// The `SAMLRequest` parameter is not valid base64.
    #[error("The sign-in request is not correctly encoded.")]
    BadBase64,
    /// The HTTP-Redirect payload is not valid raw DEFLATE data.
    #[error("The sign-in request could not be decompressed.")]
    BadDeflate,
    /// Inflating the HTTP-Redirect payload went past [`MAX_INFLATED_XML`].
    #[error("The sign-in request expands beyond the allowed size.")]
    InflatedTooLarge,
    /// The decoded request is not UTF-8 text.
    #[error("The sign-in request is not valid text.")]
    NotUtf8,
    /// The XML carries a document type declaration (entity expansion, XXE).
    #[error("The sign-in request contains a document type declaration, which is not allowed.")]
    Doctype,
    /// The XML is not well-formed.
    #[error("The sign-in request is not well-formed XML.")]
    MalformedXml,
    /// The root element is not a SAML 2.0 `samlp:AuthnRequest`.
    #[error("The sign-in request is not a SAML 2.0 authentication request.")]
    WrongRoot,
    /// A required attribute (`ID`, `Version`, `IssueInstant`) is absent or empty.
    #[error("The sign-in request lacks its {0} attribute.")]
    MissingAttribute(&'static str),
    /// An attribute or element has a value of the wrong shape.
    #[error("The sign-in request has an invalid {0}.")]
    InvalidValue(&'static str),
    /// No `saml:Issuer`: we cannot tell which application sent the request.
    #[error("The sign-in request does not say which application sent it.")]
    MissingIssuer,
    /// The Issuer is not an SP registered with this tenant.
    #[error("The application that sent this sign-in request is not registered here.")]
    UnknownIssuer,
    /// Both an ACS URL and an ACS index were given; the spec makes them exclusive.
    #[error("The sign-in request names its return address twice.")]
    AcsAmbiguous,
    /// The ACS URL is not exactly one registered for this SP.
    #[error("The sign-in request asks to return to an address that is not registered for this application.")]
    AcsNotRegistered,
    /// The ACS index is not one registered for this SP.
    #[error("The sign-in request asks for a return address that is not registered for this application.")]
    UnknownAcsIndex,
    /// The SP has no ACS at all, so there is nowhere to answer.
    #[error("This application has no return address configured.")]
    NoAcsConfigured,
    /// `Destination` is present and is not one of our SSO URLs.
    #[error("The sign-in request was addressed to another service.")]
    DestinationMismatch,
    /// RelayState longer than [`MAX_RELAY_STATE`].
    #[error("The sign-in request's relay state is too long.")]
    RelayStateTooLong,
    /// The query string is malformed or repeats a SAML parameter.
    #[error("The sign-in request's parameters are malformed.")]
    MalformedQuery,
    /// The SP must sign its requests and this one is not signed.
    #[error("The sign-in request is not signed, but this application must sign its requests.")]
    SignatureMissing,
    /// The signature algorithm is not on our allow-list (e.g. RSA-SHA1).
    #[error("The sign-in request is signed with an algorithm that is not allowed.")]
    SignatureAlgorithmNotAllowed,
    /// The signature does not have the one permitted shape (one enveloped signature over the root).
    #[error("The sign-in request's signature does not cover the request as expected.")]
    SignatureStructure,
    /// No configured certificate verifies the signature.
    #[error("The sign-in request's signature is not valid.")]
    SignatureInvalid,
    /// The SP must sign its requests but no usable signing certificate is configured.
    #[error("No signing certificate is configured for this application.")]
    NoSigningCertificate,
}

impl RequestError {
    /// Whether the right HTTP answer is 413 (payload too large) rather than 400.
    pub fn is_too_large(&self) -> bool {
        matches!(self, Self::TooLarge | Self::InflatedTooLarge | Self::RelayStateTooLong)
    }
}

/// The SAML binding the request arrived with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// `GET` with a deflated, base64, URL-encoded `SAMLRequest`.
    Redirect,
    /// `POST` form with a base64 `SAMLRequest` (not deflated).
    Post,
}

impl Binding {
    /// The binding's URI as used in metadata and `ProtocolBinding`.
    pub fn uri(self) -> &'static str {
        match self {
            Self::Redirect => BINDING_HTTP_REDIRECT,
            Self::Post => BINDING_HTTP_POST,
        }
    }
}

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

/// How the request reached us, as far as its signature is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// HTTP-Redirect: the raw query string exactly as received (everything after `?`,
    /// still URL-encoded), because the signature covers those octets.
    Redirect {
        /// The undecoded query string.
        raw_query: String,
    },
    /// HTTP-POST: any signature is enveloped in the XML.
    Post,
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

/// SAML status of an error Response (top-level and optional second-level code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamlStatus {
    /// The request's Version is not 2.0 (top-level `VersionMismatch`).
    VersionMismatch,
    /// `Requester` / `UnsupportedBinding`: the SP asked for a binding other than HTTP-POST.
    UnsupportedBinding,
    /// `Requester` / `RequestDenied`: the request is stale or from the future.
    RequestDenied,
    /// `Requester` / `InvalidNameIDPolicy`: we cannot produce the requested NameID format.
    InvalidNameIdPolicy,
    /// `Responder` / `NoPassive`: IsPassive with no broker session (decided by the caller).
    NoPassive,
}

impl SamlStatus {
    /// The top-level StatusCode URI.
    pub fn top_level(self) -> &'static str {
        match self {
            Self::VersionMismatch => "urn:oasis:names:tc:SAML:2.0:status:VersionMismatch",
            Self::UnsupportedBinding | Self::RequestDenied | Self::InvalidNameIdPolicy => {
                "urn:oasis:names:tc:SAML:2.0:status:Requester"
            }
            Self::NoPassive => "urn:oasis:names:tc:SAML:2.0:status:Responder",
        }
    }

    /// The second-level StatusCode URI, if any.
    pub fn second_level(self) -> Option<&'static str> {
        match self {
            Self::VersionMismatch => None,
            Self::UnsupportedBinding => Some("urn:oasis:names:tc:SAML:2.0:status:UnsupportedBinding"),
            Self::RequestDenied => Some("urn:oasis:names:tc:SAML:2.0:status:RequestDenied"),
            Self::InvalidNameIdPolicy => Some("urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"),
            Self::NoPassive => Some("urn:oasis:names:tc:SAML:2.0:status:NoPassive"),
        }
    }
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

/// The base64 engine for `SAMLRequest`: standard alphabet, padding optional because some SPs
/// strip it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Turns the received `SAMLRequest` value (already URL/form-decoded by the HTTP layer) into XML text.
///
/// The size is checked on the base64 text first ([`MAX_SAML_REQUEST_PARAM`]); whitespace and
/// line breaks are ignored because real SPs wrap base64 in POST forms; HTTP-Redirect payloads
/// are raw-DEFLATE inflated with a hard output cap ([`MAX_INFLATED_XML`]).
pub fn decode(binding: Binding, saml_request: &str) -> Result<String, RequestError> {
    if saml_request.len() > MAX_SAML_REQUEST_PARAM {
        return Err(RequestError::TooLarge);
    }
    let compact: Vec<u8> = saml_request.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(RequestError::Missing);
    }
    let bytes = BASE64.decode(&compact).map_err(|_| RequestError::BadBase64)?;
    let xml = match binding {
        Binding::Post => bytes,
        Binding::Redirect => inflate_capped(&bytes)?,
    };
    String::from_utf8(xml).map_err(|_| RequestError::NotUtf8)
}

/// Raw-DEFLATE inflate that stops after [`MAX_INFLATED_XML`] bytes, so a bomb costs at most that.
fn inflate_capped(compressed: &[u8]) -> Result<Vec<u8>, RequestError> {
    let cap = MAX_INFLATED_XML as u64;
    let mut out = Vec::new();
    // Reading one byte past the cap tells "exactly at the cap" from "over it".
    DeflateDecoder::new(compressed)
        .take(cap + 1)
        .read_to_end(&mut out)
        .map_err(|_| RequestError::BadDeflate)?;
    if out.len() as u64 > cap {
        return Err(RequestError::InflatedTooLarge);
    }
    Ok(out)
}

/// Whether the text contains a DTD or entity declaration, checked on bytes before any parser runs.
///
/// XML markup is case-sensitive, but a case-insensitive look costs nothing and also catches
/// variants some lenient parsers accept.
fn has_doctype(xml: &str) -> bool {
    let bytes = xml.as_bytes();
    let starts_with = |at: usize, word: &[u8]| {
        bytes
            .get(at..at + word.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
    };
    bytes
        .windows(2)
        .enumerate()
        .any(|(i, w)| w == b"<!" && (starts_with(i + 2, b"DOCTYPE") || starts_with(i + 2, b"ENTITY")))
}

/// Parses the decoded XML into an [`AuthnRequest`].
///
/// Any `<!DOCTYPE` is refused before parsing (roxmltree also refuses non-empty DTDs; both
/// guards stay), as are malformed XML, a root other than `samlp:AuthnRequest` and a missing
/// `ID`, `Version` or `IssueInstant`.
pub fn parse(xml: &str) -> Result<AuthnRequest, RequestError> {
    if has_doctype(xml) {
        return Err(RequestError::Doctype);
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
    let version = required_attr(root, "Version")?;
    let issue_instant = DateTime::parse_from_rfc3339(&required_attr(root, "IssueInstant")?)
        .map_err(|_| RequestError::InvalidValue("IssueInstant"))?
        .with_timezone(&Utc);

    let issuer = match child_elements(root, NS_ASSERTION, "Issuer").as_slice() {
        [] => None,
        [one] => Some(plain_text(*one)?),
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
        has_signature: !child_elements(root, NS_XMLDSIG, "Signature").is_empty(),
        xml: xml.to_owned(),
    })
}

/// Whether `node` is the element `{ns}name`.
pub(crate) fn is_element(node: roxmltree::Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(ns)
}

/// The direct element children `{ns}name` of `node`.
pub(crate) fn child_elements<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    ns: &str,
    name: &str,
) -> Vec<roxmltree::Node<'a, 'i>> {
    node.children().filter(|c| is_element(*c, ns, name)).collect()
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

/// The text of an element that must hold only text.
///
/// Comments or nested elements inside are refused: with comments, parsers disagree on what
/// "the text" is (`https://good.example<!---->.evil.example`), a known SAML pitfall.
fn plain_text(node: roxmltree::Node<'_, '_>) -> Result<String, RequestError> {
    let mut text = String::new();
    for child in node.children() {
        match child.text() {
            Some(t) if child.is_text() => text.push_str(t),
            _ => return Err(RequestError::InvalidValue("Issuer")),
        }
    }
    Ok(text.trim().to_owned())
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

    if policy.want_requests_signed {
        request_signature::verify_request_signature(req, &policy.signing_certs_der, &ctx.received)?;
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
        && binding != BINDING_HTTP_POST
    {
        return Err(saml(
            SamlStatus::UnsupportedBinding,
            "Responses are only sent with the HTTP-POST binding.",
        ));
    }
    if req.issue_instant > ctx.now + ctx.max_skew || req.issue_instant < ctx.now - ctx.max_age - ctx.max_skew {
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
        replay_ttl: ctx.max_age + ctx.max_skew + ctx.max_skew,
    })
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
