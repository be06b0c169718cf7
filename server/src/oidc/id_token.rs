//! ID token validation.
//!
//! Three layers, in this order, so that each failure is reported precisely:
//! 1. Rosetta parses the JOSE header, applies the algorithm policy and picks the key (with
//!    one rate-limited JWKS refetch on an unknown `kid`), then verifies the signature: RSA
//!    (RS*, PS*) with OpenSSL, ECDSA and HMAC with openidconnect's key implementation. A
//!    forged token therefore always fails here, never on a claim.
//! 2. Rosetta checks claim presence and the rules openidconnect lacks: `iat` required and not
//!    in the future, `nbf`, `azp` with several audiences, clock skew on every time claim.
//!    (openidconnect would turn a missing `sub`/`iat`/`aud` into one opaque parse error.)
//! 3. openidconnect's `IdTokenVerifier` re-checks the algorithm allow-list, JOSE header
//!    (`typ`, `crit`, `cty`), `iss`, `aud`, `exp` and `nonce` as a second opinion (not the
//!    signature again: its pure-Rust RSA cost more than the rest of a login).
//!    It only runs when the payload fits its strictly typed standard claims; layers 1 and 2
//!    are complete on their own.

use std::str::FromStr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use openidconnect::core::{CoreIdToken, CoreJsonWebKey, CoreJsonWebKeySet};
use openidconnect::{
    ClaimsVerificationError, ClientId, ClientSecret, IdTokenVerifier, IssuerUrl, JsonWebKey, Nonce,
    SignatureVerificationError,
};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

use super::config::{IdTokenAlg, SourceConfig};
use super::error::OidcError;
use super::provider::{OidcRp, Provider, key_fits};
use crate::credentials::constant_time_eq;
use crate::crypto::pool::ContextPool;

/// The claims of a validated ID token.
#[derive(Debug, Clone)]
pub struct ValidatedClaims {
    /// `sub`.
    pub subject: String,
    /// Every claim.
    pub claims: Map<String, Value>,
}

/// Validates `token` for this source and login; see the module documentation. An unknown
/// `kid` triggers one rate-limited JWKS refetch.
#[tracing::instrument(name = "id_token_validate", skip_all)]
pub(crate) async fn validate(
    rp: &OidcRp,
    config: &SourceConfig,
    provider: Arc<Provider>,
    token: &str,
    expected_nonce: &str,
    now: DateTime<Utc>,
) -> Result<ValidatedClaims, OidcError> {
    match validate_with_keys(config, &provider.jwks, token, expected_nonce, now) {
        Err(OidcError::UnknownSigningKey) => {
            let refreshed = rp.refetch_jwks(config).await?;
            validate_with_keys(config, &refreshed.jwks, token, expected_nonce, now)
        }
        other => other,
    }
}

/// Validates `token` against a given key set, without any network call (also what the
/// micro-benchmarks measure).
pub fn validate_with_keys(
    config: &SourceConfig,
    jwks: &CoreJsonWebKeySet,
    token: &str,
    expected_nonce: &str,
    now: DateTime<Utc>,
) -> Result<ValidatedClaims, OidcError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts.as_slice() else {
        // Five segments is a JWE: encrypted ID tokens are not supported.
        return Err(if parts.len() == 5 {
            OidcError::IdTokenUnsupported
        } else {
            OidcError::IdTokenMalformed
        });
    };
    let header = decode_json_object(header_b64)?;
    let alg = check_alg(&header, &config.allowed_algs)?;
    check_jose_header(&header)?;
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.as_str()),
        Some(_) => return Err(OidcError::IdTokenMalformed),
    };

    let key = if alg.is_symmetric() {
        // The only HMAC key ever: the client secret. A JWKS entry (say, the RSA public key
        // bytes) can never become an HMAC key.
        CoreJsonWebKey::new_symmetric(config.client_secret.expose_secret().as_bytes().to_vec())
    } else {
        select_key(jwks, kid, alg)?
    };

    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| OidcError::IdTokenMalformed)?;
    let signing_input = format!("{header_b64}.{payload_b64}");
    let verified = match verify_rsa_with_openssl(&key, alg, signing_input.as_bytes(), &signature) {
        Some(verified) => verified,
        // openidconnect's HMAC check turns the signature into a fixed-size array and panics
        // when its length is not the digest's: such a signature is simply not valid.
        None if hmac_len(alg).is_some_and(|len| len != signature.len()) => false,
        None => key
            .verify_signature(&alg.core(), signing_input.as_bytes(), &signature)
            .is_ok(),
    };
    if !verified {
        return Err(OidcError::SignatureInvalid);
    }

    let claims = decode_json_object(payload_b64)?;
    let subject = check_claims(&claims, config, expected_nonce, now)?;

    verify_with_openidconnect(config, key, alg, token, expected_nonce, now)?;

    Ok(ValidatedClaims { subject, claims })
}

/// RS* and PS* signatures checked with OpenSSL, an order of magnitude cheaper than the
/// pure-Rust RSA behind openidconnect. `None` for other algorithms (ECDSA, HMAC), which
/// openidconnect checks.
fn verify_rsa_with_openssl(key: &CoreJsonWebKey, alg: IdTokenAlg, input: &[u8], signature: &[u8]) -> Option<bool> {
    let scheme = RsaScheme::of(alg)?;
    Some(rsa_public_key(key).is_some_and(|key| key.verify(alg, &scheme, input, signature)))
}

/// A message digest computed by `openssl::sha`.
type DigestFn = fn(&[u8]) -> Vec<u8>;

/// How an RS* or PS* algorithm signs: its digest and padding.
struct RsaScheme {
    md: &'static openssl::md::MdRef,
    digest: DigestFn,
    pss: bool,
}

impl RsaScheme {
    /// `None` for the algorithms that are not RSA.
    fn of(alg: IdTokenAlg) -> Option<Self> {
        use openssl::md::Md;
        use openssl::sha::{sha256, sha384, sha512};
        let (md, digest): (_, DigestFn) = match alg {
            IdTokenAlg::RS256 | IdTokenAlg::PS256 => (Md::sha256(), |m| sha256(m).to_vec()),
            IdTokenAlg::RS384 | IdTokenAlg::PS384 => (Md::sha384(), |m| sha384(m).to_vec()),
            IdTokenAlg::RS512 | IdTokenAlg::PS512 => (Md::sha512(), |m| sha512(m).to_vec()),
            _ => return None,
        };
        let pss = matches!(alg, IdTokenAlg::PS256 | IdTokenAlg::PS384 | IdTokenAlg::PS512);
        Some(Self { md, digest, pss })
    }
}

/// Most OpenSSL keys kept from JWKs; the cache is emptied when it would grow beyond.
const RSA_KEY_CACHE: usize = 256;

/// An RSA JWK as an OpenSSL key, with verification contexts ready for reuse (one kind per
/// algorithm): `EVP_DigestVerifyInit` per login cost more than the RSA operation itself.
struct RsaVerifyKey {
    pkey: openssl::pkey::PKey<openssl::pkey::Public>,
    contexts: ContextPool<IdTokenAlg, openssl::pkey_ctx::PkeyCtx<openssl::pkey::Public>>,
}

impl RsaVerifyKey {
    /// Whether `signature` is `alg`'s signature of `input`.
    fn verify(&self, alg: IdTokenAlg, scheme: &RsaScheme, input: &[u8], signature: &[u8]) -> bool {
        let Ok(mut ctx) = self.contexts.take(&alg, || self.context(scheme)) else {
            return false;
        };
        let valid = ctx.verify(&(scheme.digest)(input), signature).unwrap_or(false);
        if valid {
            self.contexts.give_back(alg, ctx);
        }
        valid
    }

    fn context(
        &self,
        scheme: &RsaScheme,
    ) -> Result<openssl::pkey_ctx::PkeyCtx<openssl::pkey::Public>, openssl::error::ErrorStack> {
        use openssl::rsa::Padding;
        let mut ctx = openssl::pkey_ctx::PkeyCtx::new(&self.pkey)?;
        ctx.verify_init()?;
        if scheme.pss {
            ctx.set_rsa_padding(Padding::PKCS1_PSS)?;
            ctx.set_rsa_pss_saltlen(openssl::sign::RsaPssSaltlen::DIGEST_LENGTH)?;
        } else {
            ctx.set_rsa_padding(Padding::PKCS1)?;
        }
        ctx.set_signature_md(scheme.md)?;
        Ok(ctx)
    }
}

/// The OpenSSL public key of an RSA JWK, built once per key: importing the key and its
/// Montgomery set-up cost more than the verification itself. Keyed by modulus and exponent,
/// so a rotated key is a new entry.
fn rsa_public_key(key: &CoreJsonWebKey) -> Option<Arc<RsaVerifyKey>> {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    type Keys = HashMap<(String, String), Arc<RsaVerifyKey>>;
    static KEYS: LazyLock<Mutex<Keys>> = LazyLock::new(|| Mutex::new(HashMap::new()));
    let jwk = serde_json::to_value(key).ok()?;
    let n = jwk.get("n")?.as_str()?.to_owned();
    let e = jwk.get("e")?.as_str()?.to_owned();
    let id = (n, e);
    if let Some(key) = KEYS.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
        return Some(key.clone());
    }
    let component = |b64: &str| {
        let bytes = URL_SAFE_NO_PAD.decode(b64).ok()?;
        openssl::bn::BigNum::from_slice(&bytes).ok()
    };
    let pkey = openssl::rsa::Rsa::from_public_components(component(&id.0)?, component(&id.1)?)
        .and_then(openssl::pkey::PKey::from_rsa)
        .ok()?;
    let key = Arc::new(RsaVerifyKey {
        pkey,
        contexts: ContextPool::default(),
    });
    let mut keys = KEYS.lock().unwrap_or_else(|p| p.into_inner());
    if keys.len() >= RSA_KEY_CACHE {
        keys.clear();
    }
    keys.insert(id, key.clone());
    Some(key)
}

/// The length of an HS* signature (the digest's), `None` for the other algorithms.
fn hmac_len(alg: IdTokenAlg) -> Option<usize> {
    match alg {
        IdTokenAlg::HS256 => Some(32),
        IdTokenAlg::HS384 => Some(48),
        IdTokenAlg::HS512 => Some(64),
        _ => None,
    }
}

fn decode_json_object(segment: &str) -> Result<Map<String, Value>, OidcError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| OidcError::IdTokenMalformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(OidcError::IdTokenMalformed),
    }
}

/// Applies the algorithm policy to the header's `alg`.
pub(crate) fn check_alg(header: &Map<String, Value>, allowed: &[IdTokenAlg]) -> Result<IdTokenAlg, OidcError> {
    let Some(Value::String(alg)) = header.get("alg") else {
        return Err(OidcError::IdTokenMalformed);
    };
    if alg.eq_ignore_ascii_case("none") {
        return Err(OidcError::AlgNone);
    }
    match IdTokenAlg::from_jose(alg) {
        Some(a) if allowed.contains(&a) => Ok(a),
        _ => Err(OidcError::AlgNotAllowed(printable(alg))),
    }
}

/// Refuses what Rosetta does not implement: critical extensions, nested or typed content,
/// and a `typ` other than a plain JWT (so an access token or logout token cannot pass).
pub(crate) fn check_jose_header(header: &Map<String, Value>) -> Result<(), OidcError> {
    if header.contains_key("crit") || header.contains_key("cty") {
        return Err(OidcError::IdTokenUnsupported);
    }
    match header.get("typ") {
        None => Ok(()),
        Some(Value::String(typ)) => {
            let typ = typ.to_ascii_lowercase();
            let typ = typ.strip_prefix("application/").unwrap_or(&typ);
            if typ == "jwt" || typ == "jose" {
                Ok(())
            } else {
                Err(OidcError::IdTokenUnsupported)
            }
        }
        Some(_) => Err(OidcError::IdTokenMalformed),
    }
}

/// The token's `alg` may be anything; keep the error message short and printable.
fn printable(raw: &str) -> String {
    raw.chars().filter(|c| c.is_ascii_alphanumeric()).take(16).collect()
}

/// Picks the one JWKS key that can verify this token.
fn select_key(jwks: &CoreJsonWebKeySet, kid: Option<&str>, alg: IdTokenAlg) -> Result<CoreJsonWebKey, OidcError> {
    let candidates: Vec<&CoreJsonWebKey> = jwks
        .keys()
        .iter()
        .filter(|k| kid.is_none_or(|kid| k.key_id().is_some_and(|id| id.as_str() == kid)))
        .filter(|k| key_fits(k, alg))
        .collect();
    match candidates.as_slice() {
        [] => Err(OidcError::UnknownSigningKey),
        [one] => Ok((*one).clone()),
        _ => Err(OidcError::AmbiguousSigningKey),
    }
}

fn numeric_date(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, OidcError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f.floor() as i64))
            .map(Some)
            .ok_or(OidcError::IdTokenMalformed),
    }
}

/// The claim rules, on a payload whose signature has already been verified. Returns `sub`.
pub(crate) fn check_claims(
    claims: &Map<String, Value>,
    config: &SourceConfig,
    expected_nonce: &str,
    now: DateTime<Utc>,
) -> Result<String, OidcError> {
    match claims.get("iss") {
        Some(Value::String(iss)) if *iss == config.issuer => {}
        Some(Value::String(_)) => return Err(OidcError::IssuerMismatch),
        _ => return Err(OidcError::MissingClaim("iss")),
    }

    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => return Err(OidcError::MissingClaim("aud")),
    };
    if audiences.is_empty() {
        return Err(OidcError::MissingClaim("aud"));
    }
    if !audiences.contains(&config.client_id.as_str()) {
        return Err(OidcError::AudienceMismatch);
    }
    // OIDC Core 3.1.3.7: with several audiences `azp` must be present; whenever present it
    // must be this client. Other audiences are accepted only under that rule.
    match claims.get("azp") {
        Some(Value::String(azp)) if *azp == config.client_id => {}
        Some(_) => return Err(OidcError::AuthorizedPartyMismatch),
        None if audiences.len() > 1 => return Err(OidcError::AuthorizedPartyMismatch),
        None => {}
    }

    let skew = i64::try_from(config.clock_skew.as_secs()).unwrap_or(i64::MAX);
    let now = now.timestamp();
    let exp = numeric_date(claims, "exp")?.ok_or(OidcError::MissingClaim("exp"))?;
    if now.saturating_sub(skew) >= exp {
        return Err(OidcError::Expired);
    }
    let iat = numeric_date(claims, "iat")?.ok_or(OidcError::MissingClaim("iat"))?;
    if iat > now.saturating_add(skew) {
        return Err(OidcError::IssuedInFuture);
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && nbf > now.saturating_add(skew)
    {
        return Err(OidcError::NotYetValid);
    }

    let subject = match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(OidcError::MissingClaim("sub")),
    };

    match claims.get("nonce") {
        Some(Value::String(n)) if constant_time_eq(n.as_bytes(), expected_nonce.as_bytes()) => {}
        Some(_) => return Err(OidcError::NonceMismatch),
        None => return Err(OidcError::MissingClaim("nonce")),
    }
    Ok(subject)
}

/// openidconnect's verifier over the same token, with a one-key JWKS (the key chosen above)
/// so that its checks and ours agree on which key signed.
fn verify_with_openidconnect(
    config: &SourceConfig,
    key: CoreJsonWebKey,
    alg: IdTokenAlg,
    token: &str,
    expected_nonce: &str,
    now: DateTime<Utc>,
) -> Result<(), OidcError> {
    let Ok(id_token) = CoreIdToken::from_str(token) else {
        // openidconnect types every standard claim strictly: Auth0's RFC 3339 `updated_at`,
        // say, fails its parse although every security check above passed. The cross-check
        // is then skipped rather than refusing a provider that is correct where it matters.
        tracing::debug!("ID token claims do not fit openidconnect's types; cross-check skipped");
        return Ok(());
    };
    let issuer =
        IssuerUrl::new(config.issuer.clone()).map_err(|_| OidcError::InvalidConfig("the issuer is not a URL"))?;
    let client_id = ClientId::new(config.client_id.clone());
    let verifier = if alg.is_symmetric() {
        IdTokenVerifier::new_confidential_client(
            client_id,
            ClientSecret::new(config.client_secret.expose_secret().to_owned()),
            issuer,
            CoreJsonWebKeySet::new(Vec::new()),
        )
    } else {
        IdTokenVerifier::new_public_client(client_id, issuer, CoreJsonWebKeySet::new(vec![key]))
    };
    let skew = chrono::Duration::from_std(config.clock_skew).unwrap_or(chrono::Duration::zero());
    let verifier = verifier
        // The signature was verified above (OpenSSL for RSA); this pass re-checks the claims.
        .insecure_disable_signature_check()
        .set_allowed_algs(config.allowed_algs.iter().map(|a| a.core()))
        // azp and extra audiences were judged in check_claims.
        .set_other_audience_verifier_fn(|_| true)
        // openidconnect compares exp with no tolerance; shifting its clock grants the skew.
        .set_time_fn(move || now.checked_sub_signed(skew).unwrap_or(now));
    let nonce = Nonce::new(expected_nonce.to_owned());
    id_token.claims(&verifier, &nonce).map(|_| ()).map_err(map_claims_error)
}

fn map_claims_error(e: ClaimsVerificationError) -> OidcError {
    match e {
        ClaimsVerificationError::Expired(_) => OidcError::Expired,
        ClaimsVerificationError::InvalidAudience(_) => OidcError::AudienceMismatch,
        ClaimsVerificationError::InvalidIssuer(_) => OidcError::IssuerMismatch,
        ClaimsVerificationError::InvalidNonce(_) => OidcError::NonceMismatch,
        ClaimsVerificationError::Unsupported(_) => OidcError::IdTokenUnsupported,
        ClaimsVerificationError::SignatureVerification(SignatureVerificationError::DisallowedAlg(_)) => {
            OidcError::AlgNotAllowed(String::new())
        }
        ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoSignature) => OidcError::AlgNone,
        ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey) => {
            OidcError::UnknownSigningKey
        }
        ClaimsVerificationError::SignatureVerification(SignatureVerificationError::AmbiguousKeyId(_)) => {
            OidcError::AmbiguousSigningKey
        }
        ClaimsVerificationError::SignatureVerification(_) => OidcError::SignatureInvalid,
        _ => OidcError::IdTokenMalformed,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::SecretString;
    use serde_json::json;

    use super::*;

    fn config() -> SourceConfig {
        SourceConfig::new("https://op.example", "rosetta", SecretString::from("secret"))
    }

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn good(now: i64) -> Value {
        json!({"iss": "https://op.example", "aud": "rosetta", "sub": "u1", "exp": now + 300, "iat": now, "nonce": "n"})
    }

    fn check(value: Value) -> Result<String, OidcError> {
        let now = Utc::now();
        check_claims(&claims(value), &config(), "n", now)
    }

    fn with(mut value: Value, key: &str, v: Value) -> Value {
        if let Some(m) = value.as_object_mut() {
            m.insert(key.into(), v);
        }
        value
    }

    fn without(mut value: Value, key: &str) -> Value {
        if let Some(m) = value.as_object_mut() {
            m.remove(key);
        }
        value
    }

    #[test]
    fn alg_policy() {
        let allowed = config().allowed_algs;
        let h = |alg: &str| claims(json!({ "alg": alg }));
        assert_eq!(check_alg(&h("RS256"), &allowed), Ok(IdTokenAlg::RS256));
        assert_eq!(check_alg(&h("none"), &allowed), Err(OidcError::AlgNone));
        assert_eq!(check_alg(&h("NONE"), &allowed), Err(OidcError::AlgNone));
        assert_eq!(
            check_alg(&h("HS256"), &allowed),
            Err(OidcError::AlgNotAllowed("HS256".into()))
        );
        assert_eq!(
            check_alg(&h("RS512"), &allowed),
            Err(OidcError::AlgNotAllowed("RS512".into()))
        );
        assert_eq!(
            check_alg(&claims(json!({})), &allowed),
            Err(OidcError::IdTokenMalformed)
        );
    }

    #[test]
    fn jose_header_policy() {
        let h = |v: Value| check_jose_header(&claims(v));
        assert_eq!(h(json!({"alg": "RS256"})), Ok(()));
        assert_eq!(h(json!({"typ": "JWT"})), Ok(()));
        assert_eq!(h(json!({"typ": "application/jwt"})), Ok(()));
        assert_eq!(h(json!({"typ": "at+jwt"})), Err(OidcError::IdTokenUnsupported));
        assert_eq!(h(json!({"typ": "logout+jwt"})), Err(OidcError::IdTokenUnsupported));
        assert_eq!(h(json!({"crit": ["exp"]})), Err(OidcError::IdTokenUnsupported));
        assert_eq!(h(json!({"cty": "JWT"})), Err(OidcError::IdTokenUnsupported));
        assert_eq!(h(json!({"typ": 1})), Err(OidcError::IdTokenMalformed));
    }

    #[test]
    fn good_claims_pass_and_return_sub() {
        let now = Utc::now().timestamp();
        assert_eq!(check(good(now)), Ok("u1".to_owned()));
        let multi = with(
            with(good(now), "aud", json!(["rosetta", "other"])),
            "azp",
            json!("rosetta"),
        );
        assert_eq!(check(multi), Ok("u1".to_owned()));
    }

    #[test]
    fn each_claim_rule() {
        let now = Utc::now().timestamp();
        assert_eq!(check(without(good(now), "iss")), Err(OidcError::MissingClaim("iss")));
        assert_eq!(
            check(with(good(now), "iss", json!("https://evil"))),
            Err(OidcError::IssuerMismatch)
        );
        assert_eq!(check(without(good(now), "aud")), Err(OidcError::MissingClaim("aud")));
        assert_eq!(
            check(with(good(now), "aud", json!([]))),
            Err(OidcError::MissingClaim("aud"))
        );
        assert_eq!(
            check(with(good(now), "aud", json!("other"))),
            Err(OidcError::AudienceMismatch)
        );
        assert_eq!(
            check(with(good(now), "aud", json!(["rosetta", "other"]))),
            Err(OidcError::AuthorizedPartyMismatch)
        );
        assert_eq!(
            check(with(good(now), "azp", json!("other"))),
            Err(OidcError::AuthorizedPartyMismatch)
        );
        assert_eq!(check(without(good(now), "exp")), Err(OidcError::MissingClaim("exp")));
        assert_eq!(check(with(good(now), "exp", json!(now - 61))), Err(OidcError::Expired));
        assert_eq!(
            check(with(good(now), "exp", json!("soon"))),
            Err(OidcError::IdTokenMalformed)
        );
        assert_eq!(check(without(good(now), "iat")), Err(OidcError::MissingClaim("iat")));
        assert_eq!(
            check(with(good(now), "iat", json!(now + 120))),
            Err(OidcError::IssuedInFuture)
        );
        assert_eq!(
            check(with(good(now), "nbf", json!(now + 120))),
            Err(OidcError::NotYetValid)
        );
        assert_eq!(check(without(good(now), "sub")), Err(OidcError::MissingClaim("sub")));
        assert_eq!(
            check(with(good(now), "sub", json!(""))),
            Err(OidcError::MissingClaim("sub"))
        );
        assert_eq!(
            check(with(good(now), "nonce", json!("x"))),
            Err(OidcError::NonceMismatch)
        );
        assert_eq!(
            check(without(good(now), "nonce")),
            Err(OidcError::MissingClaim("nonce"))
        );
    }

    #[test]
    fn skew_is_tolerated() {
        let now = Utc::now().timestamp();
        assert!(check(with(good(now), "exp", json!(now - 30))).is_ok());
        assert!(check(with(good(now), "iat", json!(now + 30))).is_ok());
        assert!(check(with(good(now), "nbf", json!(now + 30))).is_ok());
        let mut strict = config();
        strict.clock_skew = Duration::ZERO;
        let c = claims(with(good(now), "iat", json!(now + 30)));
        assert_eq!(
            check_claims(&c, &strict, "n", Utc::now()),
            Err(OidcError::IssuedInFuture)
        );
    }

    /// Found by `cargo fuzz` (target `id_token`): an HS* token whose signature is not as long
    /// as the digest made openidconnect panic instead of failing the signature check.
    #[test]
    fn hmac_signature_of_the_wrong_length_is_invalid_not_a_panic() {
        let mut config = config();
        config.allowed_algs = vec![IdTokenAlg::HS256, IdTokenAlg::HS384, IdTokenAlg::HS512];
        let jwks = CoreJsonWebKeySet::new(Vec::new());
        let outcome = |token: &str| validate_with_keys(&config, &jwks, token, "n", Utc::now()).err();
        // The minimized fuzzer input: header {"alg":"HS256"}, empty payload, empty signature.
        assert_eq!(outcome("eyJhbGciOiJIUzI1NiJ9.."), Some(OidcError::SignatureInvalid));
        for alg in ["HS256", "HS384", "HS512"] {
            let header = URL_SAFE_NO_PAD.encode(format!("{{\"alg\":\"{alg}\"}}"));
            for len in [0, 1, 31, 32, 33, 36, 47, 48, 49, 63, 64, 65] {
                let token = format!("{header}.e30.{}", URL_SAFE_NO_PAD.encode(vec![7u8; len]));
                assert_eq!(
                    outcome(&token),
                    Some(OidcError::SignatureInvalid),
                    "{alg} with a {len}-byte signature"
                );
            }
        }
    }

    /// The verification contexts are kept per key and reused: a reused one must give the
    /// answers a fresh one gives, for each algorithm, after a failed check, and from several
    /// threads at once.
    #[test]
    fn reused_verification_contexts_answer_as_fresh_ones_do() {
        use openssl::hash::MessageDigest;
        use openssl::rsa::Padding;
        let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
        let jwk: CoreJsonWebKey = serde_json::from_value(json!({
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(rsa.n().to_vec()),
            "e": URL_SAFE_NO_PAD.encode(rsa.e().to_vec()),
        }))
        .unwrap();
        let private = openssl::pkey::PKey::from_rsa(rsa).unwrap();
        let sign = |digest: MessageDigest, pss: bool, input: &[u8]| {
            let mut signer = openssl::sign::Signer::new(digest, &private).unwrap();
            if pss {
                signer.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
                signer
                    .set_rsa_pss_saltlen(openssl::sign::RsaPssSaltlen::DIGEST_LENGTH)
                    .unwrap();
            }
            signer.update(input).unwrap();
            signer.sign_to_vec().unwrap()
        };
        let input = b"header.payload";
        let rs256 = sign(MessageDigest::sha256(), false, input);
        let ps384 = sign(MessageDigest::sha384(), true, input);
        let mut forged = rs256.clone();
        forged[100] ^= 1;
        let check = |alg, signature: &[u8]| verify_rsa_with_openssl(&jwk, alg, input, signature);
        for _ in 0..3 {
            assert_eq!(check(IdTokenAlg::RS256, &rs256), Some(true));
        }
        assert_eq!(check(IdTokenAlg::RS256, &forged), Some(false), "a changed byte");
        assert_eq!(check(IdTokenAlg::RS256, &rs256), Some(true), "after a failed check");
        assert_eq!(check(IdTokenAlg::PS384, &ps384), Some(true));
        assert_eq!(
            check(IdTokenAlg::PS256, &rs256),
            Some(false),
            "another algorithm's signature"
        );
        assert_eq!(check(IdTokenAlg::RS384, &ps384), Some(false), "PSS is not PKCS#1 v1.5");
        assert_eq!(
            verify_rsa_with_openssl(&jwk, IdTokenAlg::RS256, b"header.other", &rs256),
            Some(false),
            "another message"
        );
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..20 {
                        assert_eq!(check(IdTokenAlg::RS256, &rs256), Some(true));
                        assert_eq!(check(IdTokenAlg::PS384, &ps384), Some(true));
                        assert_eq!(check(IdTokenAlg::RS256, &forged), Some(false));
                    }
                });
            }
        });
    }
}
