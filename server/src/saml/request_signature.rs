//! Verifying signed AuthnRequests: the HTTP-Redirect query signature and the enveloped
//! XML signature of HTTP-POST.
//!
//! Keys come only from the SP's stored configuration (DER certificates); `KeyInfo` in a
//! request is never used to find or trust a key.

use std::collections::HashSet;

use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Public};
use openssl::sign::Verifier;
use openssl::x509::X509;
use samael::crypto::{CertificateDer, CryptoProvider, XmlSec};
use url::form_urlencoded;

use super::request::{
    AuthnRequest, Binding, MAX_SAML_REQUEST_PARAM, NS_PROTOCOL, NS_XMLDSIG, Received, RequestError, child_elements,
    decode, is_element,
};

/// RSA keys shorter than this are not trusted to sign requests.
const MIN_RSA_BITS: u32 = 2048;

/// Exclusive canonicalization (without comments), the only canonicalization we accept.
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// The enveloped-signature transform.
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// Digest algorithms accepted for the POST signature's Reference.
const DIGESTS: [&str; 2] = [
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmlenc#sha512",
];

/// The signature algorithms we accept, with the key type and digest each implies.
///
/// RSA-SHA1 (and anything else) is refused: SHA-1 signatures are forgeable in practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SigAlg {
    RsaSha256,
    RsaSha512,
    EcdsaSha256,
}

impl SigAlg {
    fn from_uri(uri: &str) -> Option<Self> {
        match uri {
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => Some(Self::RsaSha256),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => Some(Self::RsaSha512),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" => Some(Self::EcdsaSha256),
            _ => None,
        }
    }

    fn digest(self) -> MessageDigest {
        match self {
            Self::RsaSha256 | Self::EcdsaSha256 => MessageDigest::sha256(),
            Self::RsaSha512 => MessageDigest::sha512(),
        }
    }

    fn key_type(self) -> Id {
        match self {
            Self::RsaSha256 | Self::RsaSha512 => Id::RSA,
            Self::EcdsaSha256 => Id::EC,
        }
    }
}

/// The SAML parameters of an HTTP-Redirect query, each both as received and decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RedirectParams {
    /// `SAMLRequest`, URL-decoded (still base64 + deflate).
    pub saml_request: Option<String>,
    /// `RelayState`, URL-decoded.
    pub relay_state: Option<String>,
    /// `SigAlg`, URL-decoded.
    pub sig_alg: Option<String>,
    /// `Signature`, URL-decoded (base64).
    pub signature: Option<String>,
    /// The signed octet string rebuilt from the raw values, when `SigAlg` is present.
    signed_octets: Option<String>,
}

/// Splits a raw query string into its SAML parameters, keeping the raw values for signing.
///
/// A repeated SAML parameter, or one whose name is percent-encoded, is refused: the HTTP layer
/// and this function must not be able to disagree about which value was signed.
pub fn redirect_params(raw_query: &str) -> Result<RedirectParams, RequestError> {
    // The query holds SAMLRequest, so its cap applies with room for the other parameters.
    if raw_query.len() > MAX_SAML_REQUEST_PARAM * 2 {
        return Err(RequestError::TooLarge);
    }
    let mut raw: [Option<&str>; 4] = [None; 4];
    let mut params = RedirectParams::default();
    for piece in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = piece.split_once('=').unwrap_or((piece, ""));
        let Some((name, value)) = form_urlencoded::parse(piece.as_bytes()).next() else {
            continue;
        };
        let (slot, field) = match name.as_ref() {
            "SAMLRequest" => (0, &mut params.saml_request),
            "RelayState" => (1, &mut params.relay_state),
            "SigAlg" => (2, &mut params.sig_alg),
            "Signature" => (3, &mut params.signature),
            _ => continue,
        };
        if name.as_ref() != raw_name || raw[slot].is_some() {
            return Err(RequestError::MalformedQuery);
        }
        raw[slot] = Some(raw_value);
        *field = Some(value.into_owned());
    }
    // SAML bindings 3.4.4.1: SAMLRequest, then RelayState if present, then SigAlg, exactly as received.
    if let (Some(request), Some(sig_alg)) = (raw[0], raw[2]) {
        let mut octets = format!("SAMLRequest={request}");
        if let Some(relay_state) = raw[1] {
            octets.push_str("&RelayState=");
            octets.push_str(relay_state);
        }
        octets.push_str("&SigAlg=");
        octets.push_str(sig_alg);
        params.signed_octets = Some(octets);
    }
    Ok(params)
}

/// Verifies the HTTP-Redirect signature over the raw received query string.
///
/// `raw_query` is everything after `?`, undecoded. SigAlg must be RSA-SHA256, RSA-SHA512 or
/// ECDSA-SHA256; the key is one of `certs` (DER), never anything the request names.
pub fn verify_redirect_signature(raw_query: &str, certs: &[Vec<u8>]) -> Result<(), RequestError> {
    verify_redirect_params(&redirect_params(raw_query)?, certs)
}

fn verify_redirect_params(params: &RedirectParams, certs: &[Vec<u8>]) -> Result<(), RequestError> {
    let (Some(sig_alg), Some(signature), Some(octets)) = (&params.sig_alg, &params.signature, &params.signed_octets)
    else {
        return Err(RequestError::SignatureMissing);
    };
    let alg = SigAlg::from_uri(sig_alg).ok_or(RequestError::SignatureAlgorithmNotAllowed)?;
    if certs.is_empty() {
        return Err(RequestError::NoSigningCertificate);
    }
    // A '+' left unencoded by a sloppy SP arrives as a space; the bytes are verified anyway.
    let signature: String = signature
        .replace(' ', "+")
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let signature = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, signature)
        .map_err(|_| RequestError::SignatureInvalid)?;
    let verified = certs
        .iter()
        .filter_map(|der| trusted_key(der, alg))
        .any(|key| verify_raw(&key, alg, octets.as_bytes(), &signature));
    if verified {
        Ok(())
    } else {
        Err(RequestError::SignatureInvalid)
    }
}

/// The public key of a configured certificate, if it fits the algorithm and is strong enough.
fn trusted_key(cert_der: &[u8], alg: SigAlg) -> Option<PKey<Public>> {
    let key = X509::from_der(cert_der).ok()?.public_key().ok()?;
    if key.id() != alg.key_type() || (key.id() == Id::RSA && key.bits() < MIN_RSA_BITS) {
        return None;
    }
    Some(key)
}

/// One signature check with openssl; any error is simply "not verified".
fn verify_raw(key: &PKey<Public>, alg: SigAlg, data: &[u8], signature: &[u8]) -> bool {
    let signature = match alg {
        SigAlg::EcdsaSha256 => match ecdsa_to_der(key, signature) {
            Some(der) => der,
            None => return false,
        },
        SigAlg::RsaSha256 | SigAlg::RsaSha512 => signature.to_vec(),
    };
    Verifier::new(alg.digest(), key)
        .and_then(|mut v| {
            v.update(data)?;
            v.verify(&signature)
        })
        .unwrap_or(false)
}

/// XML-DSig ECDSA signatures are `r || s` (RFC 4051); openssl wants DER. DER input is passed through.
fn ecdsa_to_der(key: &PKey<Public>, signature: &[u8]) -> Option<Vec<u8>> {
    let order_bytes = usize::try_from(key.ec_key().ok()?.group().order_bits().div_ceil(8)).ok()?;
    if signature.len() != 2 * order_bytes {
        return Some(signature.to_vec());
    }
    let (r, s) = signature.split_at(order_bytes);
    let sig = EcdsaSig::from_private_components(BigNum::from_slice(r).ok()?, BigNum::from_slice(s).ok()?).ok()?;
    sig.to_der().ok()
}

/// Verifies the enveloped XML signature of an HTTP-POST AuthnRequest.
///
/// The signature must have the one shape we accept before any cryptography runs: exactly one
/// `ds:Signature` in the document, a direct child of the root; exactly one `samlp:AuthnRequest`
/// (the root); no two elements sharing an ID; one Reference to `#` + the root's ID; only
/// enveloped-signature and exclusive-c14n transforms; allow-listed algorithms. Then xmlsec
/// (through samael) checks digest and signature with each configured certificate.
pub fn verify_post_signature(req: &AuthnRequest, certs: &[Vec<u8>]) -> Result<(), RequestError> {
    check_post_signature_shape(req.xml())?;
    if certs.is_empty() {
        return Err(RequestError::NoSigningCertificate);
    }
    let verified = certs.iter().any(|der| {
        // The key type and strength are checked by us; xmlsec only sees keys we trust.
        let usable = X509::from_der(der)
            .and_then(|c| c.public_key())
            .is_ok_and(|k| (k.id() == Id::RSA && k.bits() >= MIN_RSA_BITS) || k.id() == Id::EC);
        usable && XmlSec::verify_signed_xml(req.xml(), &CertificateDer::from(der.clone()), Some("ID")).is_ok()
    });
    if verified {
        Ok(())
    } else {
        Err(RequestError::SignatureInvalid)
    }
}

/// The structural half of [`verify_post_signature`]: everything xmlsec would let through.
fn check_post_signature_shape(xml: &str) -> Result<(), RequestError> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 10_000,
    };
    let doc = roxmltree::Document::parse_with_options(xml, options).map_err(|_| RequestError::MalformedXml)?;
    let root = doc.root_element();
    let root_id = root.attribute("ID").ok_or(RequestError::MissingAttribute("ID"))?;

    let elements: Vec<_> = doc.descendants().filter(|n| n.is_element()).collect();
    let signatures: Vec<_> = elements
        .iter()
        .filter(|n| is_element(**n, NS_XMLDSIG, "Signature"))
        .collect();
    let signature = match signatures.as_slice() {
        [] => return Err(RequestError::SignatureMissing),
        [one] if one.parent() == Some(root) => **one,
        _ => return Err(RequestError::SignatureStructure),
    };
    if elements
        .iter()
        .filter(|n| is_element(**n, NS_PROTOCOL, "AuthnRequest"))
        .count()
        != 1
    {
        return Err(RequestError::SignatureStructure);
    }
    // xmlsec resolves "#id" through libxml2's ID table, fed by `ID`, by `Id` inside the
    // Signature and by `xml:id`: a value used twice could make it digest another element.
    let mut ids = HashSet::new();
    for attr in elements.iter().flat_map(|n| n.attributes()) {
        if matches!(attr.name(), "ID" | "Id" | "id") && !ids.insert(attr.value()) {
            return Err(RequestError::SignatureStructure);
        }
    }

    // Only SignedInfo, SignatureValue and KeyInfo: no ds:Object to hide content in.
    for child in signature.children().filter(|c| c.is_element()) {
        let name = child.tag_name();
        if name.namespace() != Some(NS_XMLDSIG) || !matches!(name.name(), "SignedInfo" | "SignatureValue" | "KeyInfo") {
            return Err(RequestError::SignatureStructure);
        }
    }
    let [signed_info] = child_elements(signature, NS_XMLDSIG, "SignedInfo")[..] else {
        return Err(RequestError::SignatureStructure);
    };
    if algorithm_of(signed_info, "CanonicalizationMethod")? != EXC_C14N {
        return Err(RequestError::SignatureAlgorithmNotAllowed);
    }
    if SigAlg::from_uri(algorithm_of(signed_info, "SignatureMethod")?).is_none() {
        return Err(RequestError::SignatureAlgorithmNotAllowed);
    }
    let [reference] = child_elements(signed_info, NS_XMLDSIG, "Reference")[..] else {
        return Err(RequestError::SignatureStructure);
    };
    if reference.attribute("URI").and_then(|u| u.strip_prefix('#')) != Some(root_id) {
        return Err(RequestError::SignatureStructure);
    }
    if !DIGESTS.contains(&algorithm_of(reference, "DigestMethod")?) {
        return Err(RequestError::SignatureAlgorithmNotAllowed);
    }
    let [transforms] = child_elements(reference, NS_XMLDSIG, "Transforms")[..] else {
        return Err(RequestError::SignatureStructure);
    };
    let mut enveloped = false;
    for transform in transforms.children().filter(|c| c.is_element()) {
        if !is_element(transform, NS_XMLDSIG, "Transform") {
            return Err(RequestError::SignatureStructure);
        }
        match transform.attribute("Algorithm") {
            Some(ENVELOPED) => enveloped = true,
            Some(EXC_C14N) => {}
            _ => return Err(RequestError::SignatureAlgorithmNotAllowed),
        }
    }
    if !enveloped {
        return Err(RequestError::SignatureStructure);
    }
    Ok(())
}

/// The `Algorithm` of the single `ds:<name>` child of `parent`.
fn algorithm_of<'a>(parent: roxmltree::Node<'a, '_>, name: &str) -> Result<&'a str, RequestError> {
    match child_elements(parent, NS_XMLDSIG, name)[..] {
        [one] => one.attribute("Algorithm").ok_or(RequestError::SignatureStructure),
        _ => Err(RequestError::SignatureStructure),
    }
}

/// Checks the signature an SP that "signs requests" must have sent, for the binding used.
///
/// For HTTP-Redirect it also makes sure the signed `SAMLRequest` is the one that was parsed,
/// so a caller mixing up parameters cannot validate one request with another's signature.
pub fn verify_request_signature(
    req: &AuthnRequest,
    certs: &[Vec<u8>],
    received: &Received,
) -> Result<(), RequestError> {
    match received {
        Received::Post => verify_post_signature(req, certs),
        Received::Redirect { raw_query } => {
            let params = redirect_params(raw_query)?;
            verify_redirect_params(&params, certs)?;
            let signed_request = params.saml_request.as_deref().ok_or(RequestError::SignatureMissing)?;
            if decode(Binding::Redirect, signed_request)? != req.xml() {
                return Err(RequestError::SignatureStructure);
            }
            Ok(())
        }
    }
}
