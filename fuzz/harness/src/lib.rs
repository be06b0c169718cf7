//! The fuzz targets' logic and the fixed configuration and invariant checks they share.
//!
//! Each target is a plain function over bytes (`targets::<name>::run`), so that one body
//! serves two runners: cargo-fuzz (`fuzz/fuzz_targets/`, nightly, libFuzzer with
//! AddressSanitizer; `scripts/fuzz.sh`) and this crate's own test, which replays every
//! checked-in seed of `fuzz/corpus/<target>` and a fixed set of mutations of each on the
//! stable toolchain as part of `make test` (`tests/corpus.rs`).
//!
//! Everything here is deterministic (fixed clock, fixed test keys from `fuzz/keys/`), so a
//! crashing input reproduces exactly. The keys are throw-away test keys made for fuzzing only.
//! An invariant that does not hold panics: that is how a fuzzer learns of it.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod targets;

use std::io::Write;
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use flate2::Compression;
use flate2::write::DeflateEncoder;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use openssl::x509::X509;
use rosetta::saml::request::{self, Acs, AuthnRequest, Received, RequestContext, SpPolicy, ValidRequest};
use rosetta::saml::uri::NAMEID_EMAIL;

/// The Atlassian-shaped SP of `server/tests/fixtures/saml/atlassian-authnrequest.xml`.
pub const SP_ENTITY: &str = "https://auth.atlassian.com/saml/2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90";
/// Its registered ACS (index 0, default), query string included.
pub const SP_ACS: &str =
    "https://auth.atlassian.com/login/callback?connection=saml-2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90";
/// A second registered ACS, reachable with `AssertionConsumerServiceIndex="7"`.
pub const SP_ACS_7: &str = "https://sp.example/acs7";
/// Our SSO endpoint for tenant `acme`.
pub const SSO_URL: &str = "https://acme.rosetta.example.com/saml/sso";

/// The fuzzing clock: 2026-11-29T08:01:00Z, one minute after the fixture's IssueInstant.
pub const NOW_UNIX: i64 = 1_795_939_260;

/// ECDSA-SHA256, the algorithm the harness signs HTTP-Redirect queries with.
pub const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";

/// The fixed "now" of every target.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW_UNIX, 0).unwrap_or_default()
}

/// Whether `ROSETTA_FUZZ_VERBOSE` is set: targets then print what each input reached, which
/// helps to check that seeds get past the early refusals (`cargo fuzz run T corpus/T/file`).
pub fn verbose() -> bool {
    static VERBOSE: LazyLock<bool> = LazyLock::new(|| std::env::var_os("ROSETTA_FUZZ_VERBOSE").is_some());
    *VERBOSE
}

fn cert_der(pem: &[u8]) -> Vec<u8> {
    X509::from_pem(pem)
        .and_then(|c| c.to_der())
        .expect("fuzz/keys holds a valid test certificate")
}

/// The SP's request-signing EC key (the harness signs HTTP-Redirect queries with it).
pub static SP_EC_KEY: LazyLock<PKey<Private>> = LazyLock::new(|| {
    PKey::private_key_from_pem(include_bytes!("../../keys/sp-ec.key.pem")).expect("fuzz/keys holds a valid EC test key")
});

/// The two SP policies every parsed request is validated against: the Atlassian preset as
/// registered (unsigned requests), and the same SP registered as signing its requests with
/// the RSA and EC test certificates of `keys/`.
pub static POLICIES: LazyLock<[SpPolicy; 2]> = LazyLock::new(|| {
    let unsigned = SpPolicy {
        entity_id: SP_ENTITY.into(),
        acs: vec![
            Acs {
                index: 0,
                url: SP_ACS.into(),
                is_default: true,
            },
            Acs {
                index: 7,
                url: SP_ACS_7.into(),
                is_default: false,
            },
        ],
        name_id_format: NAMEID_EMAIL.into(),
        want_requests_signed: false,
        signing_certs_der: vec![],
    };
    let signed = SpPolicy {
        want_requests_signed: true,
        signing_certs_der: vec![
            cert_der(include_bytes!("../../keys/sp-rsa.cert.pem")),
            cert_der(include_bytes!("../../keys/sp-ec.cert.pem")),
        ],
        ..unsigned.clone()
    };
    [unsigned, signed]
});

/// The request context of tenant `acme` at [`now`], as the flow builds it.
pub fn context(received: Received) -> RequestContext {
    RequestContext {
        sso_urls: vec![SSO_URL.into(), format!("{SSO_URL}/post")],
        now: now(),
        max_skew: Duration::minutes(3),
        max_age: Duration::minutes(5),
        received,
    }
}

/// Raw DEFLATE + standard base64, as an SP encodes an HTTP-Redirect `SAMLRequest`.
pub fn redirect_encode(xml: &[u8]) -> String {
    let mut enc = DeflateEncoder::new(Vec::new(), Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(xml);
    STANDARD.encode(enc.finish().unwrap_or_default())
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// An HTTP-Redirect query signed with [`SP_EC_KEY`] (ECDSA-SHA256, XML-DSig `r || s` form),
/// built exactly as SAML bindings 3.4.4.1 says.
pub fn signed_redirect_query(saml_request: &str, relay_state: &str) -> String {
    let unsigned = format!(
        "SAMLRequest={}&RelayState={}&SigAlg={}",
        form_encode(saml_request),
        form_encode(relay_state),
        form_encode(ECDSA_SHA256)
    );
    let signature = Signer::new(MessageDigest::sha256(), &SP_EC_KEY)
        .and_then(|mut s| {
            s.update(unsigned.as_bytes())?;
            s.sign_to_vec()
        })
        .and_then(|der| EcdsaSig::from_der(&der))
        .and_then(|sig| {
            let mut raw = sig.r().to_vec_padded(32)?;
            raw.extend(sig.s().to_vec_padded(32)?);
            Ok(raw)
        })
        .expect("signing with the EC test key");
    format!("{unsigned}&Signature={}", form_encode(&STANDARD.encode(signature)))
}

/// What [`parse`](request::parse) promises about a request it accepted.
pub fn check_parsed(req: &AuthnRequest, xml: &str) {
    assert_eq!(req.xml(), xml, "the request keeps the XML it was parsed from");
    assert!(!req.id.trim().is_empty(), "ID is required");
    assert!(
        req.id.len() <= rosetta::saml::request::MAX_ID_BYTES,
        "an ID longer than an xs:ID may be was accepted"
    );
    assert!(!req.version.trim().is_empty(), "Version is required");
}

/// Validates `req` against both [`POLICIES`] and checks the security invariants of the result:
/// a request is only ever accepted for the registered SP and one of its registered ACS URLs,
/// and a SAML error Response is only ever addressed to a registered ACS, for this request.
/// Returns how many policies accepted it.
pub fn validate_all(req: &AuthnRequest, received: &Received) -> usize {
    let ctx = context(received.clone());
    let mut accepted = 0;
    for policy in POLICIES.iter() {
        let registered = |url: &str| policy.acs.iter().any(|a| a.url == url);
        match request::validate(req, policy, &ctx) {
            Ok(ValidRequest {
                id,
                issuer,
                acs_url,
                name_id_format,
                replay_ttl,
                ..
            }) => {
                accepted += 1;
                assert_eq!(id, req.id);
                assert_eq!(issuer, policy.entity_id, "accepted for another SP");
                assert!(registered(&acs_url), "accepted with an unregistered ACS: {acs_url:?}");
                assert_eq!(req.version, "2.0");
                assert!(
                    req.acs_url.is_none() || req.acs_index.is_none(),
                    "ACS URL and index together must be refused"
                );
                assert_eq!(name_id_format, policy.name_id_format);
                assert!(replay_ttl >= Duration::zero());
                if policy.want_requests_signed && matches!(received, Received::Post) {
                    assert!(req.has_signature, "a signing SP's POST request was accepted unsigned");
                }
                if let (true, Received::Redirect { raw_query }) = (policy.want_requests_signed, received) {
                    assert!(
                        raw_query.contains("Signature="),
                        "a signing SP's redirect request was accepted without a query signature"
                    );
                }
            }
            Err(request::Rejection::Saml {
                acs_url,
                in_response_to,
                detail,
                ..
            }) => {
                assert!(registered(&acs_url), "a SAML error would be posted to {acs_url:?}");
                assert_eq!(in_response_to, req.id);
                assert_eq!(req.issuer.as_deref(), Some(policy.entity_id.as_str()));
                assert!(!detail.contains('<'), "error details never echo markup");
            }
            Err(request::Rejection::Local(e)) => {
                let message = e.to_string();
                assert!(!message.contains('<'), "local error pages never echo markup: {message}");
            }
        }
    }
    accepted
}
