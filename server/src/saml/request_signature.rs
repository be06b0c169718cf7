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

use super::binding::{Binding, MAX_SAML_REQUEST_PARAM, MAX_XML_NODES, Received, decode};
use super::dom::{child_elements, is_element};
use super::request_error::RequestError;
use super::uri::{
    ALG_ECDSA_SHA256, ALG_ENVELOPED, ALG_EXC_C14N, ALG_RSA_SHA256, ALG_RSA_SHA512, ALG_SHA256, ALG_SHA512, NS_DSIG,
    NS_PROTOCOL,
};

/// RSA keys shorter than this are not trusted to sign requests.
const MIN_RSA_BITS: u32 = 2048;

/// Digest algorithms accepted for the POST signature's Reference.
const DIGESTS: [&str; 2] = [ALG_SHA256, ALG_SHA512];

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
            ALG_RSA_SHA256 => Some(Self::RsaSha256),
            ALG_RSA_SHA512 => Some(Self::RsaSha512),
            ALG_ECDSA_SHA256 => Some(Self::EcdsaSha256),
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

/// The SAML parameters of an HTTP-Redirect query, URL-decoded, plus the octets their signature covers.
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

/// Verifies the enveloped XML signature of an HTTP-POST AuthnRequest, given as its decoded XML.
///
/// The signature must have the one shape we accept before any cryptography runs: exactly one
/// `ds:Signature` in the document, a direct child of the root; exactly one `samlp:AuthnRequest`
/// (the root); no two elements sharing an ID; one Reference to `#` + the root's ID; only
/// enveloped-signature and exclusive-c14n transforms; allow-listed algorithms. Then xmlsec
/// (through samael) checks digest and signature with each configured certificate.
pub fn verify_post_signature(xml: &str, certs: &[Vec<u8>]) -> Result<(), RequestError> {
    check_post_signature_shape(xml)?;
    if certs.is_empty() {
        return Err(RequestError::NoSigningCertificate);
    }
    let verified = certs.iter().any(|der| {
        // The key type and strength are checked by us; xmlsec only sees keys we trust.
        let usable = X509::from_der(der)
            .and_then(|c| c.public_key())
            .is_ok_and(|k| (k.id() == Id::RSA && k.bits() >= MIN_RSA_BITS) || k.id() == Id::EC);
        usable && XmlSec::verify_signed_xml(xml, &CertificateDer::from(der.clone()), Some("ID")).is_ok()
    });
    if verified {
        Ok(())
    } else {
        Err(RequestError::SignatureInvalid)
    }
}

/// The structural half of [`verify_post_signature`]: everything xmlsec would let through.
fn check_post_signature_shape(xml: &str) -> Result<(), RequestError> {
    if super::guard::nesting_exceeds(xml.as_bytes(), super::guard::MAX_DEPTH) {
        return Err(RequestError::MalformedXml);
    }
    if super::guard::attributes_exceed(
        xml.as_bytes(),
        super::guard::MAX_ATTRIBUTES_PER_ELEMENT,
        super::guard::MAX_NAMESPACE_DECLARATIONS,
    ) {
        return Err(RequestError::TooManyAttributes);
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_XML_NODES,
    };
    let doc = roxmltree::Document::parse_with_options(xml, options).map_err(|_| RequestError::MalformedXml)?;
    let root = doc.root_element();
    let root_id = root.attribute("ID").ok_or(RequestError::MissingAttribute("ID"))?;

    let elements: Vec<_> = doc.descendants().filter(|n| n.is_element()).collect();
    let signatures: Vec<_> = elements
        .iter()
        .filter(|n| is_element(**n, NS_DSIG, "Signature"))
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
        if name.namespace() != Some(NS_DSIG) || !matches!(name.name(), "SignedInfo" | "SignatureValue" | "KeyInfo") {
            return Err(RequestError::SignatureStructure);
        }
    }
    let [signed_info] = child_elements(signature, NS_DSIG, "SignedInfo")[..] else {
        return Err(RequestError::SignatureStructure);
    };
    if algorithm_of(signed_info, "CanonicalizationMethod")? != ALG_EXC_C14N {
        return Err(RequestError::SignatureAlgorithmNotAllowed);
    }
    if SigAlg::from_uri(algorithm_of(signed_info, "SignatureMethod")?).is_none() {
        return Err(RequestError::SignatureAlgorithmNotAllowed);
    }
    let [reference] = child_elements(signed_info, NS_DSIG, "Reference")[..] else {
        return Err(RequestError::SignatureStructure);
    };
    if reference.attribute("URI").and_then(|u| u.strip_prefix('#')) != Some(root_id) {
        return Err(RequestError::SignatureStructure);
    }
    if !DIGESTS.contains(&algorithm_of(reference, "DigestMethod")?) {
        return Err(RequestError::SignatureAlgorithmNotAllowed);
    }
    let [transforms] = child_elements(reference, NS_DSIG, "Transforms")[..] else {
        return Err(RequestError::SignatureStructure);
    };
    let mut enveloped = false;
    for transform in transforms.children().filter(|c| c.is_element()) {
        if !is_element(transform, NS_DSIG, "Transform") {
            return Err(RequestError::SignatureStructure);
        }
        match transform.attribute("Algorithm") {
            Some(ALG_ENVELOPED) => enveloped = true,
            Some(ALG_EXC_C14N) => {}
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
    match child_elements(parent, NS_DSIG, name)[..] {
        [one] => one.attribute("Algorithm").ok_or(RequestError::SignatureStructure),
        _ => Err(RequestError::SignatureStructure),
    }
}

/// Checks the signature an SP that "signs requests" must have sent, for the binding used, on
/// the request whose decoded XML is `xml`.
///
/// For HTTP-Redirect it also makes sure the signed `SAMLRequest` is the one that was parsed,
/// so a caller mixing up parameters cannot validate one request with another's signature.
pub fn verify_request_signature(xml: &str, certs: &[Vec<u8>], received: &Received) -> Result<(), RequestError> {
    match received {
        Received::Post => verify_post_signature(xml, certs),
        Received::Redirect { raw_query } => {
            let params = redirect_params(raw_query)?;
            verify_redirect_params(&params, certs)?;
            let signed_request = params.saml_request.as_deref().ok_or(RequestError::SignatureMissing)?;
            if decode(Binding::Redirect, signed_request)? != xml {
                return Err(RequestError::SignatureStructure);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use openssl::asn1::Asn1Time;
    use openssl::bn::MsbOption;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::pkey::Private;
    use openssl::rsa::Rsa;
    use openssl::sign::Signer;
    use openssl::x509::X509NameBuilder;

    use super::*;
    use crate::saml::request::tests::{ATLASSIAN_ACS, FIXTURE, atlassian_policy, context, redirect_encode};
    use crate::saml::request::{Rejection, SpPolicy, parse, validate};

    const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
    const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";

    /// A test key pair with its self-signed certificate (DER).
    struct TestKey {
        key: PKey<Private>,
        cert_der: Vec<u8>,
    }

    fn test_key(key: PKey<Private>) -> TestKey {
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "sp.example").unwrap();
        let name = name.build();
        let mut serial = BigNum::new().unwrap();
        serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
        let mut cert = X509::builder().unwrap();
        cert.set_version(2).unwrap();
        cert.set_serial_number(&serial.to_asn1_integer().unwrap()).unwrap();
        cert.set_subject_name(&name).unwrap();
        cert.set_issuer_name(&name).unwrap();
        cert.set_pubkey(&key).unwrap();
        cert.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        cert.set_not_after(&Asn1Time::days_from_now(365).unwrap()).unwrap();
        cert.sign(&key, MessageDigest::sha256()).unwrap();
        let cert_der = cert.build().to_der().unwrap();
        TestKey { key, cert_der }
    }

    fn rsa_key() -> TestKey {
        test_key(PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap())
    }

    /// The SP's registered key, and an attacker's.
    static SP: LazyLock<TestKey> = LazyLock::new(rsa_key);
    static ATTACKER: LazyLock<TestKey> = LazyLock::new(rsa_key);

    fn sp_certs() -> Vec<Vec<u8>> {
        vec![SP.cert_der.clone()]
    }

    fn signed_policy() -> SpPolicy {
        SpPolicy {
            want_requests_signed: true,
            signing_certs_der: vec![SP.cert_der.clone()],
            ..atlassian_policy()
        }
    }

    fn enc(value: &str) -> String {
        form_urlencoded::byte_serialize(value.as_bytes()).collect()
    }

    /// An HTTP-Redirect query as an SP builds it, signed over the encoded octets.
    fn signed_query(xml: &str, relay_state: Option<&str>, sig_alg: &str, key: &PKey<Private>) -> String {
        let mut query = format!("SAMLRequest={}", enc(&redirect_encode(xml.as_bytes())));
        if let Some(rs) = relay_state {
            query.push_str(&format!("&RelayState={}", enc(rs)));
        }
        query.push_str(&format!("&SigAlg={}", enc(sig_alg)));
        let digest = if sig_alg == RSA_SHA1 {
            MessageDigest::sha1()
        } else {
            MessageDigest::sha256()
        };
        let mut signer = Signer::new(digest, key).unwrap();
        signer.update(query.as_bytes()).unwrap();
        let signature = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            signer.sign_to_vec().unwrap(),
        );
        format!("{query}&Signature={}", enc(&signature))
    }

    fn redirect_received(raw_query: &str) -> Received {
        Received::Redirect {
            raw_query: raw_query.to_owned(),
        }
    }

    #[test]
    fn valid_redirect_signature_verifies_and_validates() {
        let relay_state = "https://acme.atlassian.net/jira?x=1&y=a b";
        let query = signed_query(FIXTURE, Some(relay_state), RSA_SHA256, &SP.key);
        assert_eq!(verify_redirect_signature(&query, &sp_certs()), Ok(()));

        let params = redirect_params(&query).unwrap();
        assert_eq!(params.relay_state.as_deref(), Some(relay_state));
        let req = parse(&decode(Binding::Redirect, params.saml_request.as_deref().unwrap()).unwrap()).unwrap();
        let valid = validate(&req, &signed_policy(), &context(redirect_received(&query))).unwrap();
        assert_eq!(valid.acs_url, ATLASSIAN_ACS);

        // Without RelayState, and with other trailing parameters ignored.
        let query = signed_query(FIXTURE, None, RSA_SHA256, &SP.key);
        assert_eq!(
            verify_redirect_signature(&format!("{query}&utm=1"), &sp_certs()),
            Ok(())
        );
        // A second configured certificate (rotation) does not get in the way.
        assert_eq!(
            verify_redirect_signature(&query, &[ATTACKER.cert_der.clone(), SP.cert_der.clone()]),
            Ok(())
        );
    }

    #[test]
    fn tampered_redirect_query_is_refused() {
        let query = signed_query(FIXTURE, Some("state-1"), RSA_SHA256, &SP.key);
        let certs = sp_certs();
        let tampered = query.replace("RelayState=state-1", "RelayState=state-2");
        assert_eq!(
            verify_redirect_signature(&tampered, &certs),
            Err(RequestError::SignatureInvalid)
        );

        let other_request = FIXTURE.replace("_5f0e3c1a9b7d4e2f8a6c", "_other");
        let (_, rest) = query.split_once('&').unwrap();
        let swapped = format!("SAMLRequest={}&{rest}", enc(&redirect_encode(other_request.as_bytes())));
        assert_eq!(
            verify_redirect_signature(&swapped, &certs),
            Err(RequestError::SignatureInvalid)
        );

        // Re-encoding the same values differently changes the signed octets.
        let reencoded = query.replace("%3A", "%3a");
        assert_eq!(
            verify_redirect_signature(&reencoded, &certs),
            Err(RequestError::SignatureInvalid)
        );
    }

    #[test]
    fn redirect_signature_binds_the_parsed_request() {
        // A valid signed query, but the caller parsed another request: refuse.
        let query = signed_query(FIXTURE, None, RSA_SHA256, &SP.key);
        let other = parse(&FIXTURE.replace("_5f0e3c1a9b7d4e2f8a6c", "_other")).unwrap();
        assert_eq!(
            validate(&other, &signed_policy(), &context(redirect_received(&query))),
            Err(Rejection::Local(RequestError::SignatureStructure))
        );
    }

    #[test]
    fn redirect_signature_with_the_wrong_key_is_refused() {
        let query = signed_query(FIXTURE, None, RSA_SHA256, &ATTACKER.key);
        assert_eq!(
            verify_redirect_signature(&query, &sp_certs()),
            Err(RequestError::SignatureInvalid)
        );
        assert_eq!(
            verify_redirect_signature(&query, &[]),
            Err(RequestError::NoSigningCertificate)
        );
        assert_eq!(
            verify_redirect_signature(&query, &[b"not a cert".to_vec()]),
            Err(RequestError::SignatureInvalid)
        );
    }

    #[test]
    fn sha1_and_unknown_sig_algs_are_refused() {
        let query = signed_query(FIXTURE, None, RSA_SHA1, &SP.key);
        assert_eq!(
            verify_redirect_signature(&query, &sp_certs()),
            Err(RequestError::SignatureAlgorithmNotAllowed)
        );
        let hmac = signed_query(FIXTURE, None, "http://www.w3.org/2000/09/xmldsig#hmac-sha1", &SP.key);
        assert_eq!(
            verify_redirect_signature(&hmac, &sp_certs()),
            Err(RequestError::SignatureAlgorithmNotAllowed)
        );
        // An RSA signature claimed as ECDSA finds no key of that type.
        let confused = signed_query(
            FIXTURE,
            None,
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
            &SP.key,
        );
        assert_eq!(
            verify_redirect_signature(&confused, &sp_certs()),
            Err(RequestError::SignatureInvalid)
        );
    }

    #[test]
    fn missing_redirect_signature_is_refused_when_required() {
        let query = format!("SAMLRequest={}&RelayState=x", enc(&redirect_encode(FIXTURE.as_bytes())));
        assert_eq!(
            verify_redirect_signature(&query, &sp_certs()),
            Err(RequestError::SignatureMissing)
        );
        let req = parse(FIXTURE).unwrap();
        assert_eq!(
            validate(&req, &signed_policy(), &context(redirect_received(&query))),
            Err(Rejection::Local(RequestError::SignatureMissing))
        );
        // SigAlg without Signature, and the reverse.
        let signed = signed_query(FIXTURE, None, RSA_SHA256, &SP.key);
        let (without_sig, _) = signed.rsplit_once("&Signature=").unwrap();
        assert_eq!(
            verify_redirect_signature(without_sig, &sp_certs()),
            Err(RequestError::SignatureMissing)
        );
        let without_alg = signed.replace(&format!("&SigAlg={}", enc(RSA_SHA256)), "");
        assert_eq!(
            verify_redirect_signature(&without_alg, &sp_certs()),
            Err(RequestError::SignatureMissing)
        );
    }

    #[test]
    fn repeated_or_disguised_saml_parameters_are_refused() {
        let signed = signed_query(FIXTURE, Some("a"), RSA_SHA256, &SP.key);
        for query in [
            format!("{signed}&SAMLRequest=abc"),
            format!("{signed}&RelayState=b"),
            format!("{signed}&Signature=abc"),
            format!("{signed}&SAML%52equest=abc"),
        ] {
            assert_eq!(redirect_params(&query), Err(RequestError::MalformedQuery), "{query}");
        }
    }

    #[test]
    fn ecdsa_redirect_signature_in_xmldsig_form_verifies() {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let ec = test_key(PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap());
        let alg = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
        let query = format!(
            "SAMLRequest={}&SigAlg={}",
            enc(&redirect_encode(FIXTURE.as_bytes())),
            enc(alg)
        );
        let mut signer = Signer::new(MessageDigest::sha256(), &ec.key).unwrap();
        signer.update(query.as_bytes()).unwrap();
        let der = EcdsaSig::from_der(&signer.sign_to_vec().unwrap()).unwrap();
        let mut raw = der.r().to_vec_padded(32).unwrap();
        raw.extend(der.s().to_vec_padded(32).unwrap());
        let signature = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw);
        let signed = format!("{query}&Signature={}", enc(&signature));
        assert_eq!(
            verify_redirect_signature(&signed, std::slice::from_ref(&ec.cert_der)),
            Ok(())
        );
        assert_eq!(
            verify_redirect_signature(&signed, &sp_certs()),
            Err(RequestError::SignatureInvalid)
        );
    }

    const REQUEST_ID: &str = "_5f0e3c1a9b7d4e2f8a6c";

    /// An enveloped-signature template over the element with `ref_id`.
    fn signature_template(ref_id: &str, sig_alg: &str) -> String {
        format!(
            r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{sig_alg}"/><ds:Reference URI="#{ref_id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue></ds:Signature>"##
        )
    }

    /// The fixture with a signature template after the Issuer, plus `extra` before the end tag.
    fn post_template(ref_id: &str, extra: &str) -> String {
        FIXTURE
            .replace(
                "</saml:Issuer>",
                &format!("</saml:Issuer>{}", signature_template(ref_id, RSA_SHA256)),
            )
            .replace("</samlp:AuthnRequest>", &format!("{extra}</samlp:AuthnRequest>"))
    }

    /// Signs a template with xmlsec through samael, as an SP's SAML library would.
    fn xmlsec_sign(template: &str, key: &TestKey) -> String {
        XmlSec::sign_xml(template, &key.key.private_key_to_der().unwrap()).unwrap()
    }

    fn post_verify(xml: &str) -> Result<(), RequestError> {
        verify_post_signature(parse(xml).unwrap().xml(), &sp_certs())
    }

    #[test]
    fn valid_signed_post_request_verifies_and_validates() {
        let signed = xmlsec_sign(&post_template(REQUEST_ID, ""), &SP);
        let req = parse(&signed).unwrap();
        assert!(req.has_signature);
        assert_eq!(verify_post_signature(req.xml(), &sp_certs()), Ok(()));
        assert_eq!(
            validate(&req, &signed_policy(), &context(Received::Post)).unwrap().id,
            REQUEST_ID
        );
    }

    #[test]
    fn tampered_signed_post_request_is_refused() {
        let signed = xmlsec_sign(&post_template(REQUEST_ID, ""), &SP);
        let tampered = signed.replace(ATLASSIAN_ACS, "https://evil.example/acs");
        assert_eq!(post_verify(&tampered), Err(RequestError::SignatureInvalid));
        let tampered = signed.replace("2026-11-29T08:00:00Z", "2026-11-29T08:00:01Z");
        assert_eq!(post_verify(&tampered), Err(RequestError::SignatureInvalid));
    }

    #[test]
    fn post_signature_by_another_key_is_refused_even_with_its_key_info() {
        // The attacker's certificate travels in KeyInfo; only configured keys count.
        let key_info = format!(
            "</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &ATTACKER.cert_der)
        );
        let by_attacker =
            xmlsec_sign(&post_template(REQUEST_ID, ""), &ATTACKER).replace("</ds:SignatureValue>", &key_info);
        assert_eq!(post_verify(&by_attacker), Err(RequestError::SignatureInvalid));
        // KeyInfo is outside SignedInfo: with the right key it is simply ignored.
        let by_sp = xmlsec_sign(&post_template(REQUEST_ID, ""), &SP).replace("</ds:SignatureValue>", &key_info);
        assert_eq!(post_verify(&by_sp), Ok(()));
        assert_eq!(
            verify_post_signature(parse(&by_sp).unwrap().xml(), &[]),
            Err(RequestError::NoSigningCertificate)
        );
    }

    #[test]
    fn post_signature_over_another_element_is_refused() {
        // Cryptographically valid, but it signs an Extensions element, not the request.
        let extensions = r#"<samlp:Extensions ID="_ext"><x:Note xmlns:x="urn:x">hi</x:Note></samlp:Extensions>"#;
        let signed_extensions = extensions.replace(
            "</samlp:Extensions>",
            &format!("{}</samlp:Extensions>", signature_template("_ext", RSA_SHA256)),
        );
        let template = FIXTURE.replace("</saml:Issuer>", &format!("</saml:Issuer>{signed_extensions}"));
        let signed = xmlsec_sign(&template, &SP);
        assert_eq!(post_verify(&signed), Err(RequestError::SignatureStructure));
        // Same, with the signature moved up as a child of the root.
        let template = FIXTURE.replace(
            "</saml:Issuer>",
            &format!("</saml:Issuer>{}{extensions}", signature_template("_ext", RSA_SHA256)),
        );
        let signed = xmlsec_sign(&template, &SP);
        assert!(parse(&signed).unwrap().has_signature);
        // xmlsec alone accepts this: it checks the signature, not what it covers.
        assert!(XmlSec::verify_signed_xml(&signed, &CertificateDer::from(SP.cert_der.clone()), Some("ID")).is_ok());
        assert_eq!(post_verify(&signed), Err(RequestError::SignatureStructure));
    }

    #[test]
    fn wrapping_attacks_on_post_requests_are_refused() {
        let signed = xmlsec_sign(&post_template(REQUEST_ID, ""), &SP);
        let body_start = signed.find("<samlp:AuthnRequest").unwrap();
        let original = &signed[body_start..];

        // XSW: the signed original hidden in Extensions, an evil request around it with the same ID.
        let evil = format!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="{REQUEST_ID}" Version="2.0" IssueInstant="2026-11-29T08:00:00Z" AssertionConsumerServiceURL="https://evil.example/acs"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">https://auth.atlassian.com/saml/2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90</saml:Issuer><samlp:Extensions>{original}</samlp:Extensions></samlp:AuthnRequest>"#
        );
        assert_eq!(post_verify(&evil), Err(RequestError::SignatureStructure));

        // A second AuthnRequest (different ID) appended inside the signed one.
        let nested = r#"<samlp:Extensions><samlp:AuthnRequest ID="_evil" Version="2.0" IssueInstant="2026-11-29T08:00:00Z"/></samlp:Extensions>"#;
        let wrapped = signed.replace("</samlp:AuthnRequest>", &format!("{nested}</samlp:AuthnRequest>"));
        assert_eq!(post_verify(&wrapped), Err(RequestError::SignatureStructure));

        // Duplicated IDs, including through xml:id, which libxml2 resolves too.
        for dup in [
            format!(r#"<samlp:Extensions><x:E xmlns:x="urn:x" ID="{REQUEST_ID}"/></samlp:Extensions>"#),
            format!(r#"<samlp:Extensions><x:E xmlns:x="urn:x" xml:id="{REQUEST_ID}"/></samlp:Extensions>"#),
        ] {
            let xml = signed.replace("</samlp:AuthnRequest>", &format!("{dup}</samlp:AuthnRequest>"));
            assert_eq!(post_verify(&xml), Err(RequestError::SignatureStructure));
        }

        // Two signatures.
        let sig_start = signed.find("<ds:Signature").unwrap();
        let sig_end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
        let twice = signed.replace(
            "</samlp:AuthnRequest>",
            &format!("{}</samlp:AuthnRequest>", &signed[sig_start..sig_end]),
        );
        assert_eq!(post_verify(&twice), Err(RequestError::SignatureStructure));

        // A ds:Object smuggled into the Signature.
        let object = signed.replace(
            "</ds:Signature>",
            "<ds:Object><x:E xmlns:x=\"urn:x\"/></ds:Object></ds:Signature>",
        );
        assert_eq!(post_verify(&object), Err(RequestError::SignatureStructure));
    }

    #[test]
    fn post_signature_algorithms_and_transforms_are_allow_listed() {
        let signed = xmlsec_sign(&post_template(REQUEST_ID, ""), &SP);
        let sha1 = signed.replace(RSA_SHA256, RSA_SHA1);
        assert_eq!(post_verify(&sha1), Err(RequestError::SignatureAlgorithmNotAllowed));
        let sha1_digest = signed.replace(
            "http://www.w3.org/2001/04/xmlenc#sha256",
            "http://www.w3.org/2000/09/xmldsig#sha1",
        );
        assert_eq!(
            post_verify(&sha1_digest),
            Err(RequestError::SignatureAlgorithmNotAllowed)
        );
        let xpath = signed.replace(
            "</ds:Transforms>",
            r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>1</ds:XPath></ds:Transform></ds:Transforms>"#,
        );
        assert_eq!(post_verify(&xpath), Err(RequestError::SignatureAlgorithmNotAllowed));
        let inclusive_c14n = signed.replacen(
            "http://www.w3.org/2001/10/xml-exc-c14n#",
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
            1,
        );
        assert_eq!(
            post_verify(&inclusive_c14n),
            Err(RequestError::SignatureAlgorithmNotAllowed)
        );
    }

    proptest::proptest! {
        #[test]
        fn redirect_verification_never_panics(query in "[A-Za-z=&%+0-9./:_-]{0,400}") {
            let _ = verify_redirect_signature(&query, &sp_certs());
            let _ = verify_redirect_signature(&format!("SAMLRequest=a&SigAlg={}&{query}", enc(RSA_SHA256)), &sp_certs());
        }
    }

    #[test]
    fn unsigned_post_request_is_refused_when_signatures_are_required() {
        let req = parse(FIXTURE).unwrap();
        assert_eq!(
            verify_post_signature(req.xml(), &sp_certs()),
            Err(RequestError::SignatureMissing)
        );
        assert_eq!(
            validate(&req, &signed_policy(), &context(Received::Post)),
            Err(Rejection::Local(RequestError::SignatureMissing))
        );
        // The same request is fine for an SP that does not sign (Atlassian).
        assert!(validate(&req, &atlassian_policy(), &context(Received::Post)).is_ok());
    }
}
