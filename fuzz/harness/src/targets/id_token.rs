//! OpenID Connect ID token validation (`rosetta::oidc::validate_with_keys`), offline, with a
//! fixed clock and fixed provider keys (`keys/op-*.pem`). The first byte picks the mode:
//!
//! - `S`: the rest is `header JSON` `\n` `payload JSON`; the harness encodes both and signs
//!   them with the key the header's `alg` names (HS* with the client secret, RS*/PS* with the
//!   RSA key, ES256 with the EC key), so mutated claims get past the signature into the claim
//!   rules and openidconnect's cross-check;
//! - `K`: the rest is a JWKS document (as the provider would serve it); fixed good RS256 and
//!   ES256 tokens are validated against it, and an HS256 token keyed with a JWKS-style
//!   secret must never validate, whatever the JWKS holds (algorithm confusion);
//! - anything else: the whole input is the compact token, checked against the fixed JWKS.
//!
//! Any accepted token must carry our issuer, audience, nonce, a `sub` and an unexpired `exp`.

use std::sync::LazyLock;

use crate::{NOW_UNIX, now, verbose};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use openidconnect::core::CoreJsonWebKeySet;
use openssl::bn::BigNumContext;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer};
use rosetta::oidc::{IdTokenAlg, OidcError, SourceConfig, ValidatedClaims, validate_with_keys};
use secrecy::SecretString;
use serde_json::{Value, json};

const ISSUER: &str = "https://op.example.com";
const CLIENT_ID: &str = "rosetta";
const CLIENT_SECRET: &str = "fuzz-client-secret-0123456789abcdef";
const NONCE: &str = "n-0S6_WzA2Mj";

static RSA_KEY: LazyLock<PKey<Private>> = LazyLock::new(|| {
    PKey::private_key_from_pem(include_bytes!("../../../keys/op-rsa.key.pem")).expect("fuzz/keys holds an RSA test key")
});
static EC_KEY: LazyLock<PKey<Private>> = LazyLock::new(|| {
    PKey::private_key_from_pem(include_bytes!("../../../keys/op-ec.key.pem")).expect("fuzz/keys holds an EC test key")
});

/// The source as a tenant would configure it, with every algorithm allowed so that every
/// verification branch is reachable.
static CONFIG: LazyLock<SourceConfig> = LazyLock::new(|| {
    let mut config = SourceConfig::new(ISSUER, CLIENT_ID, SecretString::from(CLIENT_SECRET));
    config.allowed_algs = [
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "HS256", "HS384", "HS512",
    ]
    .into_iter()
    .filter_map(IdTokenAlg::from_jose)
    .collect();
    config
});

/// The provider's JWKS: the RSA key (`rsa-1`) and the EC P-256 key (`ec-1`), no `alg` pinned.
static JWKS: LazyLock<CoreJsonWebKeySet> =
    LazyLock::new(|| serde_json::from_value(fixed_jwks()).expect("the fixed JWKS deserializes"));

fn fixed_jwks() -> Value {
    let b64 = |bytes: Vec<u8>| URL_SAFE_NO_PAD.encode(bytes);
    let rsa = RSA_KEY.rsa().expect("RSA key");
    let ec = EC_KEY.ec_key().expect("EC key");
    let mut ctx = BigNumContext::new().expect("bignum context");
    let (mut x, mut y) = (
        openssl::bn::BigNum::new().expect("bignum"),
        openssl::bn::BigNum::new().expect("bignum"),
    );
    ec.public_key()
        .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)
        .expect("EC public point");
    json!({"keys": [
        {"kty": "RSA", "kid": "rsa-1", "use": "sig", "n": b64(rsa.n().to_vec()), "e": b64(rsa.e().to_vec())},
        {"kty": "EC", "kid": "ec-1", "use": "sig", "crv": "P-256",
         "x": b64(x.to_vec_padded(32).expect("x")), "y": b64(y.to_vec_padded(32).expect("y"))},
    ]})
}

/// A JWS signature over `input` for `alg`, with the key the provider (or, for HS*, the client
/// secret) would use; an empty signature for algorithms we hold no key for.
fn sign(alg: &str, input: &[u8]) -> Vec<u8> {
    let hmac = |md: MessageDigest| {
        PKey::hmac(CLIENT_SECRET.as_bytes()).and_then(|key| Signer::new(md, &key)?.sign_oneshot_to_vec(input))
    };
    let rsa = |md: MessageDigest, pss: bool| {
        let mut signer = Signer::new(md, &RSA_KEY)?;
        if pss {
            signer.set_rsa_padding(Padding::PKCS1_PSS)?;
            signer.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
        }
        signer.sign_oneshot_to_vec(input)
    };
    let es256 = || {
        let der = Signer::new(MessageDigest::sha256(), &EC_KEY)?.sign_oneshot_to_vec(input)?;
        let sig = EcdsaSig::from_der(&der)?;
        let mut raw = sig.r().to_vec_padded(32)?;
        raw.extend(sig.s().to_vec_padded(32)?);
        Ok(raw)
    };
    let signature = match alg {
        "HS256" => hmac(MessageDigest::sha256()),
        "HS384" => hmac(MessageDigest::sha384()),
        "HS512" => hmac(MessageDigest::sha512()),
        "RS256" => rsa(MessageDigest::sha256(), false),
        "RS384" => rsa(MessageDigest::sha384(), false),
        "RS512" => rsa(MessageDigest::sha512(), false),
        "PS256" => rsa(MessageDigest::sha256(), true),
        "PS384" => rsa(MessageDigest::sha384(), true),
        "PS512" => rsa(MessageDigest::sha512(), true),
        "ES256" => es256(),
        _ => Ok(Vec::new()),
    };
    signature.expect("signing with a test key")
}

/// `header.payload.signature` from raw header and payload bytes, signed per the header's `alg`.
fn signed_token(header: &[u8], payload: &[u8]) -> String {
    let alg = serde_json::from_slice::<Value>(header)
        .ok()
        .and_then(|h| h.get("alg").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let signature = sign(&alg, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn good_claims() -> Vec<u8> {
    json!({"iss": ISSUER, "aud": CLIENT_ID, "sub": "248289761001", "exp": NOW_UNIX + 300,
           "iat": NOW_UNIX - 10, "nonce": NONCE, "email": "ada@acme.example", "email_verified": true})
    .to_string()
    .into_bytes()
}

static GOOD_TOKENS: LazyLock<[String; 2]> = LazyLock::new(|| {
    [
        signed_token(br#"{"alg":"RS256","kid":"rsa-1","typ":"JWT"}"#, &good_claims()),
        signed_token(br#"{"alg":"ES256","kid":"ec-1"}"#, &good_claims()),
    ]
});

/// HS256 keyed with bytes an attacker could publish in a JWKS (`oct` key `k`).
static CONFUSED_TOKEN: LazyLock<String> = LazyLock::new(|| {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","kid":"oct-1"}"#);
    let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(good_claims()));
    let signature = PKey::hmac(b"attacker-chosen-key")
        .and_then(|key| Signer::new(MessageDigest::sha256(), &key)?.sign_oneshot_to_vec(input.as_bytes()))
        .expect("HMAC");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
});

/// One fuzz input (see the module documentation).
pub fn run(data: &[u8]) {
    match data.split_first() {
        Some((b'S', rest)) => {
            let (header, payload) = match rest.iter().position(|b| *b == b'\n') {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (rest, &[][..]),
            };
            check(&JWKS, &signed_token(header, payload));
        }
        Some((b'K', rest)) => {
            let Ok(jwks) = serde_json::from_slice::<CoreJsonWebKeySet>(rest) else {
                return;
            };
            for token in GOOD_TOKENS.iter() {
                check(&jwks, token);
            }
            let confused = validate_with_keys(&CONFIG, &jwks, &CONFUSED_TOKEN, NONCE, now());
            assert_eq!(
                confused.err(),
                Some(OidcError::SignatureInvalid),
                "an HS256 token not keyed with the client secret must fail its signature"
            );
        }
        _ => {
            if let Ok(token) = std::str::from_utf8(data) {
                check(&JWKS, token);
            }
        }
    }
}

fn check(jwks: &CoreJsonWebKeySet, token: &str) {
    let outcome = validate_with_keys(&CONFIG, jwks, token, NONCE, now());
    if verbose() {
        eprintln!("{:?}", outcome.as_ref().map(|v| &v.subject));
    }
    if let Ok(validated) = outcome {
        check_accepted(&validated, now());
    }
}

/// What every accepted ID token must say, whatever path accepted it.
fn check_accepted(validated: &ValidatedClaims, now: DateTime<Utc>) {
    let claims = &validated.claims;
    assert!(!validated.subject.is_empty(), "accepted without a subject");
    assert_eq!(
        claims.get("sub").and_then(Value::as_str),
        Some(validated.subject.as_str())
    );
    assert_eq!(
        claims.get("iss").and_then(Value::as_str),
        Some(ISSUER),
        "accepted from another issuer"
    );
    assert_eq!(
        claims.get("nonce").and_then(Value::as_str),
        Some(NONCE),
        "accepted with another nonce"
    );
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == CLIENT_ID,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(CLIENT_ID)),
        _ => false,
    };
    assert!(audience_ok, "accepted for another audience: {:?}", claims.get("aud"));
    let exp = claims.get("exp").and_then(Value::as_f64).unwrap_or(f64::MIN);
    let skew = CONFIG.clock_skew.as_secs_f64();
    assert!(exp > now.timestamp() as f64 - skew, "accepted after expiry: exp {exp}");
}
