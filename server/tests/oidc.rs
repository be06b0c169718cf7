//! The OIDC relying party against a stand-in provider that misbehaves on demand: every row
//! of SECURITY.md's "OIDC callback" table, each asserting the precise error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "oidc/provider.rs"]
mod provider;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rosetta::oidc::{
    CallbackParams, IdTokenAlg, OidcError, OidcRp, PendingAuth, RpSettings, SourceConfig, VerifiedIdentity,
};
use secrecy::SecretString;
use serde_json::{Value, json};

use provider::{CLIENT_ID, CLIENT_SECRET, CODE, OpState, RsaKey, jwt, sign_hs256};

const REDIRECT: &str = "https://acme.rosetta.example/oidc/callback/main";

struct Harness {
    op: Arc<OpState>,
    rp: OidcRp,
    config: SourceConfig,
    key: RsaKey,
}

/// The relying party toward the loopback stand-in provider: plain http to 127.0.0.1 is
/// what dev mode allows (`outbound`), as in every test of the login.
fn local_rp(settings: RpSettings) -> OidcRp {
    OidcRp::with_settings(RpSettings {
        policy: rosetta::outbound::Policy {
            dev: true,
            allowed: Vec::new(),
        },
        ..settings
    })
    .unwrap()
}

async fn harness() -> Harness {
    let key = RsaKey::generate("k1");
    let op = provider::spawn(vec![key.jwk()]);
    let config = SourceConfig::new(op.issuer.clone(), CLIENT_ID, SecretString::from(CLIENT_SECRET))
        .with_allowed_domains(["corp.com"]);
    Harness {
        op,
        rp: local_rp(RpSettings::default()),
        config,
        key,
    }
}

impl Harness {
    /// Starts a login and tells the stand-in which PKCE challenge to expect.
    async fn start(&self) -> PendingAuth {
        let (url, pending) = self.rp.start_login(&self.config, REDIRECT).await.unwrap();
        let challenge = url
            .query_pairs()
            .find(|(k, _)| k == "code_challenge")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        *self.op.expected_challenge.lock().unwrap() = Some(challenge);
        pending
    }

    fn claims(&self, pending: &PendingAuth) -> Value {
        let mut claims = self.op.good_claims(&pending.nonce);
        claims["given_name"] = json!("Alice");
        claims["family_name"] = json!("Liddell");
        claims["amr"] = json!(["pwd", "otp"]);
        claims["acr"] = json!("urn:example:mfa");
        claims
    }

    fn callback(&self, pending: &PendingAuth) -> CallbackParams {
        CallbackParams {
            code: Some(CODE.into()),
            state: Some(pending.state.clone()),
            iss: Some(self.op.issuer.clone()),
            ..CallbackParams::default()
        }
    }

    /// A full login whose ID token is `make(claims)`.
    async fn login_token(&self, make: impl FnOnce(Value) -> String) -> Result<VerifiedIdentity, OidcError> {
        let pending = self.start().await;
        self.op.set_id_token(make(self.claims(&pending)));
        self.rp
            .finish_login(&self.config, &pending, &self.callback(&pending))
            .await
    }

    /// A full login whose claims are edited, then signed with the published key.
    async fn login_edited(
        &self,
        edit: impl FnOnce(&mut serde_json::Map<String, Value>),
    ) -> Result<VerifiedIdentity, OidcError> {
        self.login_token(|mut claims| {
            edit(claims.as_object_mut().unwrap());
            self.key.sign(&claims)
        })
        .await
    }
}

fn now() -> i64 {
    Utc::now().timestamp()
}

// --- the happy paths ---------------------------------------------------------------------

#[tokio::test]
async fn happy_path_returns_the_identity() {
    let h = harness().await;
    let pending = h.start().await;
    assert_eq!(pending.issuer, h.op.issuer);
    assert_eq!(pending.redirect_uri, REDIRECT);
    assert!(pending.state.len() >= 22, "state carries at least 128 bits");
    h.op.set_id_token(h.key.sign(&h.claims(&pending)));

    let identity =
        h.rp.finish_login(&h.config, &pending, &h.callback(&pending))
            .await
            .unwrap();
    assert_eq!(
        identity,
        VerifiedIdentity {
            issuer: h.op.issuer.clone(),
            subject: "user-123".into(),
            email: "alice@corp.com".into(),
            given_name: Some("Alice".into()),
            family_name: Some("Liddell".into()),
            name: Some("Alice Liddell".into()),
            amr: vec!["pwd".into(), "otp".into()],
            acr: Some("urn:example:mfa".into()),
            auth_time: None,
            claims: identity.claims.clone(),
            groups: Some(Vec::new()),
            groups_problem: None,
        }
    );
    // The claims mapping rules read: the person's, never the protocol's.
    assert_eq!(identity.claims.get("email"), Some(&serde_json::json!("alice@corp.com")));
    for protocol in ["iss", "aud", "exp", "iat", "nonce"] {
        assert!(!identity.claims.contains_key(protocol), "{protocol} kept");
    }
    // The stand-in checked the PKCE verifier against the challenge and Basic client auth.
    assert_eq!(*h.op.last_client_auth.lock().unwrap(), "basic");
    assert_eq!(h.op.token_hits(), 1);
}

#[tokio::test]
async fn authorization_url_carries_pkce_s256_state_nonce_and_scopes() {
    let h = harness().await;
    let (url, pending) = h.rp.start_login(&h.config, REDIRECT).await.unwrap();
    assert!(url.as_str().starts_with(&format!("{}/authorize?", h.op.issuer)));
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], REDIRECT);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["state"], pending.state);
    assert_eq!(q["nonce"], pending.nonce);
    assert_eq!(q["scope"], "openid email profile");
    assert_eq!(q["code_challenge"].len(), 43);
    let (_, second) = h.rp.start_login(&h.config, REDIRECT).await.unwrap();
    assert_ne!(second.state, pending.state);
    assert_ne!(second.nonce, pending.nonce);
    assert_ne!(second.pkce_verifier, pending.pkce_verifier);
}

#[tokio::test]
async fn client_secret_post_is_used_when_basic_is_not_offered() {
    let h = harness().await;
    h.op.set_discovery("token_endpoint_auth_methods_supported", json!(["client_secret_post"]));
    h.login_edited(|_| {}).await.unwrap();
    assert_eq!(*h.op.last_client_auth.lock().unwrap(), "post");
}

#[tokio::test]
async fn pending_auth_round_trips_through_serde() {
    let h = harness().await;
    let pending = h.start().await;
    let stored = serde_json::to_string(&pending).unwrap();
    assert!(stored.len() < 600, "small enough for the session store");
    let restored: PendingAuth = serde_json::from_str(&stored).unwrap();
    h.op.set_id_token(h.key.sign(&h.claims(&restored)));
    h.rp.finish_login(&h.config, &restored, &h.callback(&restored))
        .await
        .unwrap();
}

#[tokio::test]
async fn es256_and_ps256_are_accepted_by_default() {
    let h = harness().await;
    let ec = provider::EcKey::generate("ec1");
    // The RS256 JWK says `alg: RS256`; PS256 needs a key without that constraint.
    let mut rsa_any = h.key.jwk();
    rsa_any["alg"] = json!("PS256");
    h.op.set_jwks(vec![h.key.jwk(), ec.jwk(), rsa_any]);
    let identity = h.login_token(|c| ec.sign(&c)).await.unwrap();
    assert_eq!(identity.subject, "user-123");
    h.login_token(|c| provider::sign_ps256(&h.key, &c)).await.unwrap();
}

// --- state, RFC 9207 and authorization errors -------------------------------------------

#[tokio::test]
async fn state_mismatch_is_refused_before_the_token_endpoint() {
    let h = harness().await;
    let pending = h.start().await;
    h.op.set_id_token(h.key.sign(&h.claims(&pending)));
    let mut params = h.callback(&pending);
    params.state = Some(format!("{}x", pending.state));
    assert_eq!(
        h.rp.finish_login(&h.config, &pending, &params).await,
        Err(OidcError::StateMismatch)
    );
    params.state = None;
    assert_eq!(
        h.rp.finish_login(&h.config, &pending, &params).await,
        Err(OidcError::StateMismatch)
    );
    assert_eq!(h.op.token_hits(), 0);
}

#[tokio::test]
async fn response_iss_must_match_when_present() {
    let h = harness().await;
    let pending = h.start().await;
    h.op.set_id_token(h.key.sign(&h.claims(&pending)));
    let mut params = h.callback(&pending);
    params.iss = Some("https://evil.example".into());
    assert_eq!(
        h.rp.finish_login(&h.config, &pending, &params).await,
        Err(OidcError::ResponseIssuerMismatch)
    );
    // Not advertised: a missing `iss` is fine.
    params.iss = None;
    h.rp.finish_login(&h.config, &pending, &params).await.unwrap();
}

#[tokio::test]
async fn response_iss_is_required_when_advertised() {
    let h = harness().await;
    h.op.set_discovery("authorization_response_iss_parameter_supported", json!(true));
    let pending = h.start().await;
    h.op.set_id_token(h.key.sign(&h.claims(&pending)));
    let mut params = h.callback(&pending);
    params.iss = None;
    assert_eq!(
        h.rp.finish_login(&h.config, &pending, &params).await,
        Err(OidcError::ResponseIssuerMissing)
    );
    params.iss = Some(format!("{}/", h.op.issuer));
    assert_eq!(
        h.rp.finish_login(&h.config, &pending, &params).await,
        Err(OidcError::ResponseIssuerMismatch)
    );
    params.iss = Some(h.op.issuer.clone());
    h.rp.finish_login(&h.config, &pending, &params).await.unwrap();
    assert_eq!(h.op.token_hits(), 1);
}

#[tokio::test]
async fn provider_error_responses_are_mapped() {
    let h = harness().await;
    let pending = h.start().await;
    let params = CallbackParams {
        state: Some(pending.state.clone()),
        error: Some("access_denied".into()),
        error_description: Some("user said no <b>".into()),
        ..CallbackParams::default()
    };
    assert_eq!(
        h.rp.finish_login(&h.config, &pending, &params).await,
        Err(OidcError::AccessDenied)
    );
    let params = CallbackParams {
        error: Some("login_required".into()),
        ..params
    };
    assert_eq!(
        h.rp.finish_login(&h.config, &pending, &params).await,
        Err(OidcError::ProviderError {
            error: "login_required".into()
        })
    );
    let params = CallbackParams { error: None, ..params };
    assert_eq!(
        h.rp.finish_login(&h.config, &pending, &params).await,
        Err(OidcError::MissingCode)
    );
    assert_eq!(h.op.token_hits(), 0);
}

#[tokio::test]
async fn token_endpoint_errors_are_mapped() {
    let h = harness().await;
    *h.op.token_error.lock().unwrap() = Some(json!({"error": "invalid_grant", "error_description": "code used"}));
    assert_eq!(
        h.login_edited(|_| {}).await,
        Err(OidcError::TokenEndpointRejected {
            error: "invalid_grant".into()
        })
    );
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_refused_by_the_provider() {
    let h = harness().await;
    let mut pending = h.start().await;
    h.op.set_id_token(h.key.sign(&h.claims(&pending)));
    pending.pkce_verifier = "x".repeat(43);
    assert_eq!(
        h.rp.finish_login(&h.config, &pending, &h.callback(&pending)).await,
        Err(OidcError::TokenEndpointRejected {
            error: "invalid_grant".into()
        })
    );
}

// --- ID token: signature and algorithm ----------------------------------------------------

#[tokio::test]
async fn bad_signature_is_refused() {
    let h = harness().await;
    let impostor = RsaKey::generate("k1");
    assert_eq!(
        h.login_token(|c| impostor.sign(&c)).await,
        Err(OidcError::SignatureInvalid)
    );
    // A valid signature over other claims, spliced onto edited claims.
    let result = h
        .login_token(|c| {
            let genuine = h.key.sign(&c);
            let mut edited = c.clone();
            edited["sub"] = json!("admin");
            let forged = h.key.sign(&edited);
            let mut parts: Vec<&str> = forged.split('.').collect();
            let genuine_sig = genuine.rsplit('.').next().unwrap();
            parts[2] = genuine_sig;
            parts.join(".")
        })
        .await;
    assert_eq!(result, Err(OidcError::SignatureInvalid));
}

#[tokio::test]
async fn alg_none_is_refused() {
    let h = harness().await;
    let result = h
        .login_token(|c| jwt(&json!({"alg": "none", "typ": "JWT", "kid": "k1"}), &c, |_| Vec::new()))
        .await;
    assert_eq!(result, Err(OidcError::AlgNone));
}

#[tokio::test]
async fn disallowed_algorithm_is_refused() {
    let h = harness().await;
    let result = h
        .login_token(|c| {
            jwt(&json!({"alg": "RS512", "kid": "k1"}), &c, |input| {
                let mut s = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha512(), &h.key.pkey).unwrap();
                s.update(input).unwrap();
                s.sign_to_vec().unwrap()
            })
        })
        .await;
    assert_eq!(result, Err(OidcError::AlgNotAllowed("RS512".into())));
}

#[tokio::test]
async fn hs256_keyed_with_the_rsa_public_key_is_refused() {
    let mut h = harness().await;
    let pem = h.key.public_pem();
    assert_eq!(
        h.login_token(|c| sign_hs256(&pem, Some("k1"), &c)).await,
        Err(OidcError::AlgNotAllowed("HS256".into()))
    );
    // Even with HS256 explicitly allowed, the only HMAC key is the client secret.
    h.config.allowed_algs.push(IdTokenAlg::HS256);
    assert_eq!(
        h.login_token(|c| sign_hs256(&pem, Some("k1"), &c)).await,
        Err(OidcError::SignatureInvalid)
    );
    let jwk_n = h.key.jwk()["n"].as_str().unwrap().to_owned();
    assert_eq!(
        h.login_token(|c| sign_hs256(jwk_n.as_bytes(), Some("k1"), &c)).await,
        Err(OidcError::SignatureInvalid)
    );
    // And keyed with the client secret it is accepted, since the source opted in.
    h.login_token(|c| sign_hs256(CLIENT_SECRET.as_bytes(), None, &c))
        .await
        .unwrap();
}

#[tokio::test]
async fn unsupported_jose_features_are_refused() {
    let h = harness().await;
    let signed_with = |header: Value, c: &Value| {
        jwt(&header, c, |input| {
            let mut s = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &h.key.pkey).unwrap();
            s.update(input).unwrap();
            s.sign_to_vec().unwrap()
        })
    };
    assert_eq!(
        h.login_token(|c| signed_with(json!({"alg": "RS256", "kid": "k1", "crit": ["exp"]}), &c))
            .await,
        Err(OidcError::IdTokenUnsupported)
    );
    assert_eq!(
        h.login_token(|c| signed_with(json!({"alg": "RS256", "kid": "k1", "typ": "at+jwt"}), &c))
            .await,
        Err(OidcError::IdTokenUnsupported)
    );
    assert_eq!(
        h.login_token(|_| "not-a-jwt".into()).await,
        Err(OidcError::IdTokenMalformed)
    );
}

#[tokio::test]
async fn token_without_kid_needs_a_single_candidate_key() {
    let h = harness().await;
    h.login_token(|c| h.key.sign_with_kid(None, &c)).await.unwrap();
    let other = RsaKey::generate("k2");
    h.op.set_jwks(vec![h.key.jwk(), other.jwk()]);
    let fresh = local_rp(RpSettings::default());
    let pending = {
        let (url, pending) = fresh.start_login(&h.config, REDIRECT).await.unwrap();
        let challenge = url
            .query_pairs()
            .find(|(k, _)| k == "code_challenge")
            .unwrap()
            .1
            .into_owned();
        *h.op.expected_challenge.lock().unwrap() = Some(challenge);
        pending
    };
    h.op.set_id_token(h.key.sign_with_kid(None, &h.claims(&pending)));
    assert_eq!(
        fresh.finish_login(&h.config, &pending, &h.callback(&pending)).await,
        Err(OidcError::AmbiguousSigningKey)
    );
}

// --- ID token: claims ----------------------------------------------------------------------

#[tokio::test]
async fn wrong_or_missing_iss_is_refused() {
    let h = harness().await;
    assert_eq!(
        h.login_edited(|c| {
            c.insert("iss".into(), json!("https://evil.example"));
        })
        .await,
        Err(OidcError::IssuerMismatch)
    );
    assert_eq!(
        h.login_edited(|c| {
            c.remove("iss");
        })
        .await,
        Err(OidcError::MissingClaim("iss"))
    );
}

#[tokio::test]
async fn wrong_or_missing_aud_is_refused() {
    let h = harness().await;
    assert_eq!(
        h.login_edited(|c| {
            c.insert("aud".into(), json!("someone-else"));
        })
        .await,
        Err(OidcError::AudienceMismatch)
    );
    assert_eq!(
        h.login_edited(|c| {
            c.remove("aud");
        })
        .await,
        Err(OidcError::MissingClaim("aud"))
    );
}

#[tokio::test]
async fn several_audiences_need_azp_equal_to_the_client() {
    let h = harness().await;
    assert_eq!(
        h.login_edited(|c| {
            c.insert("aud".into(), json!([CLIENT_ID, "other"]));
        })
        .await,
        Err(OidcError::AuthorizedPartyMismatch)
    );
    assert_eq!(
        h.login_edited(|c| {
            c.insert("aud".into(), json!([CLIENT_ID, "other"]));
            c.insert("azp".into(), json!("other"));
        })
        .await,
        Err(OidcError::AuthorizedPartyMismatch)
    );
    h.login_edited(|c| {
        c.insert("aud".into(), json!([CLIENT_ID, "other"]));
        c.insert("azp".into(), json!(CLIENT_ID));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn expired_token_is_refused() {
    let h = harness().await;
    assert_eq!(
        h.login_edited(|c| {
            c.insert("exp".into(), json!(now() - 120));
            c.insert("iat".into(), json!(now() - 600));
        })
        .await,
        Err(OidcError::Expired)
    );
}

#[tokio::test]
async fn missing_iat_is_refused() {
    let h = harness().await;
    assert_eq!(
        h.login_edited(|c| {
            c.remove("iat");
        })
        .await,
        Err(OidcError::MissingClaim("iat"))
    );
}

#[tokio::test]
async fn iat_or_nbf_in_the_future_is_refused() {
    let h = harness().await;
    assert_eq!(
        h.login_edited(|c| {
            c.insert("iat".into(), json!(now() + 600));
        })
        .await,
        Err(OidcError::IssuedInFuture)
    );
    assert_eq!(
        h.login_edited(|c| {
            c.insert("nbf".into(), json!(now() + 600));
        })
        .await,
        Err(OidcError::NotYetValid)
    );
    // Within the 60 s skew both pass.
    h.login_edited(|c| {
        c.insert("iat".into(), json!(now() + 20));
        c.insert("nbf".into(), json!(now() + 20));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn missing_sub_is_refused() {
    let h = harness().await;
    assert_eq!(
        h.login_edited(|c| {
            c.remove("sub");
        })
        .await,
        Err(OidcError::MissingClaim("sub"))
    );
}

#[tokio::test]
async fn wrong_nonce_is_refused() {
    let h = harness().await;
    assert_eq!(
        h.login_edited(|c| {
            c.insert("nonce".into(), json!("another-login"));
        })
        .await,
        Err(OidcError::NonceMismatch)
    );
}

#[tokio::test]
async fn non_standard_types_of_unused_claims_do_not_break_login() {
    // Auth0 sends `updated_at` as an RFC 3339 string; openidconnect's typed claims refuse it.
    let h = harness().await;
    let identity = h
        .login_edited(|c| {
            c.insert("updated_at".into(), json!("2024-01-01T00:00:00.000Z"));
            c.insert("picture".into(), json!(7));
        })
        .await
        .unwrap();
    assert_eq!(identity.subject, "user-123");
    // But the claims Rosetta relies on keep their strict types.
    assert_eq!(
        h.login_edited(|c| {
            c.insert("email_verified".into(), json!("true"));
        })
        .await,
        Err(OidcError::EmailNotVerified)
    );
}

// --- key rotation ----------------------------------------------------------------------------

#[tokio::test]
async fn rotated_key_is_accepted_after_one_refetch() {
    let h = harness().await;
    h.login_edited(|_| {}).await.unwrap();
    assert_eq!(h.op.jwks_hits(), 1);

    let k2 = RsaKey::generate("k2");
    h.op.set_jwks(vec![h.key.jwk(), k2.jwk()]);
    h.login_token(|c| k2.sign(&c)).await.unwrap();
    assert_eq!(h.op.jwks_hits(), 2, "exactly one refetch");

    // k2 is now cached: no further fetch.
    h.login_token(|c| k2.sign(&c)).await.unwrap();
    assert_eq!(h.op.jwks_hits(), 2);
}

#[tokio::test]
async fn unknown_key_is_refused_and_refetch_is_rate_limited() {
    let h = harness().await;
    h.login_edited(|_| {}).await.unwrap();
    assert_eq!(h.op.jwks_hits(), 1);

    let stranger = RsaKey::generate("k-unknown");
    assert_eq!(
        h.login_token(|c| stranger.sign(&c)).await,
        Err(OidcError::UnknownSigningKey)
    );
    assert_eq!(h.op.jwks_hits(), 2, "one refetch, then reject");

    // The provider now publishes a new key, but the window since the last refetch is open.
    let late = RsaKey::generate("k-late");
    h.op.set_jwks(vec![h.key.jwk(), late.jwk()]);
    assert_eq!(
        h.login_token(|c| late.sign(&c)).await,
        Err(OidcError::UnknownSigningKey)
    );
    assert_eq!(h.op.jwks_hits(), 2, "no second refetch within the window");
}

// --- discovery and test connection ---------------------------------------------------------

#[tokio::test]
async fn discovery_issuer_mismatch_is_refused_at_test_connection_and_login() {
    let h = harness().await;
    h.op.set_discovery("issuer", json!(format!("{}/", h.op.issuer)));
    assert_eq!(
        h.rp.test_connection(&h.config).await,
        Err(OidcError::DiscoveryIssuerMismatch)
    );
    assert_eq!(
        h.rp.start_login(&h.config, REDIRECT).await.map(|_| ()),
        Err(OidcError::DiscoveryIssuerMismatch)
    );
    assert_eq!(
        OidcError::DiscoveryIssuerMismatch.to_string(),
        "The discovery issuer differs from the configured issuer."
    );
}

#[tokio::test]
async fn test_connection_reports_each_failure_precisely() {
    let h = harness().await;
    let report = h.rp.test_connection(&h.config).await.unwrap();
    assert_eq!(report.issuer, h.op.issuer);
    assert_eq!(report.usable_keys, 1);
    assert!(!report.response_iss_supported);
    assert!(report.userinfo_endpoint);

    h.op.set_jwks(vec![]);
    assert_eq!(h.rp.test_connection(&h.config).await, Err(OidcError::JwksEmpty));
    let mut enc_only = h.key.jwk();
    enc_only["use"] = json!("enc");
    h.op.set_jwks(vec![enc_only]);
    assert_eq!(h.rp.test_connection(&h.config).await, Err(OidcError::JwksEmpty));

    *h.op.jwks.lock().unwrap() = json!("not a key set");
    assert_eq!(h.rp.test_connection(&h.config).await, Err(OidcError::JwksInvalid));

    h.op.remove_discovery("jwks_uri");
    assert_eq!(h.rp.test_connection(&h.config).await, Err(OidcError::JwksMissing));

    *h.op.discovery_raw.lock().unwrap() = Some("<html>hello</html>".into());
    assert_eq!(h.rp.test_connection(&h.config).await, Err(OidcError::DiscoveryNotJson));

    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let nowhere = SourceConfig::new(
        format!("http://127.0.0.1:{port}"),
        CLIENT_ID,
        SecretString::from(CLIENT_SECRET),
    );
    assert_eq!(
        h.rp.test_connection(&nowhere).await,
        Err(OidcError::DiscoveryUnreachable)
    );

    let plain = SourceConfig::new("http://op.example", CLIENT_ID, SecretString::from(CLIENT_SECRET));
    assert_eq!(h.rp.test_connection(&plain).await, Err(OidcError::InsecureEndpoint));
}

#[tokio::test]
async fn a_briefly_unavailable_provider_is_served_from_cache_but_a_changed_issuer_is_not() {
    let mut h = harness().await;
    // A zero TTL makes every login refresh discovery.
    h.rp = local_rp(RpSettings {
        discovery_ttl: Duration::ZERO,
        ..RpSettings::default()
    });
    h.login_edited(|_| {}).await.unwrap();

    // Not transient: the cached document does not mask it.
    h.op.set_discovery("issuer", json!("https://other.example"));
    assert_eq!(
        h.rp.start_login(&h.config, REDIRECT).await.map(|_| ()),
        Err(OidcError::DiscoveryIssuerMismatch)
    );
    h.op.set_discovery("issuer", json!(h.op.issuer));
    h.login_edited(|_| {}).await.unwrap();

    // Transient: logins go on with the cached document; test connection tells the truth.
    *h.op.discovery_status.lock().unwrap() = Some(503);
    h.login_edited(|_| {}).await.unwrap();
    assert_eq!(
        h.rp.test_connection(&h.config).await,
        Err(OidcError::DiscoveryStatus(503))
    );
    let uncached = local_rp(RpSettings::default());
    assert_eq!(
        uncached.start_login(&h.config, REDIRECT).await.map(|_| ()),
        Err(OidcError::DiscoveryStatus(503))
    );
}

// --- userinfo and email ----------------------------------------------------------------------

#[tokio::test]
async fn userinfo_sub_must_match() {
    let mut h = harness().await;
    h.config.fetch_userinfo = true;
    *h.op.userinfo.lock().unwrap() = json!({"sub": "someone-else", "email": "bob@corp.com", "email_verified": true});
    assert_eq!(h.login_edited(|_| {}).await, Err(OidcError::UserinfoSubjectMismatch));

    *h.op.userinfo.lock().unwrap() = json!({
        "sub": "user-123", "email": "alice.new@corp.com", "email_verified": true, "given_name": "Al", "acr": "weak"
    });
    let identity = h.login_edited(|_| {}).await.unwrap();
    assert_eq!(identity.email, "alice.new@corp.com");
    assert_eq!(identity.given_name.as_deref(), Some("Al"));
    assert_eq!(
        identity.acr.as_deref(),
        Some("urn:example:mfa"),
        "acr only from the ID token"
    );

    *h.op.userinfo.lock().unwrap() = json!({"sub": "user-123", "email": "alice@corp.com", "email_verified": false});
    assert_eq!(h.login_edited(|_| {}).await, Err(OidcError::EmailNotVerified));
    assert_eq!(identity.subject, "user-123");
}

#[tokio::test]
async fn unverified_or_missing_email_verification_is_refused() {
    let h = harness().await;
    assert_eq!(
        h.login_edited(|c| {
            c.insert("email_verified".into(), json!(false));
        })
        .await,
        Err(OidcError::EmailNotVerified)
    );
    assert_eq!(
        h.login_edited(|c| {
            c.remove("email_verified");
        })
        .await,
        Err(OidcError::EmailNotVerified)
    );
    assert_eq!(
        h.login_edited(|c| {
            c.remove("email");
        })
        .await,
        Err(OidcError::EmailMissing)
    );
}

#[tokio::test]
async fn email_domain_must_be_allowed_exactly() {
    let h = harness().await;
    for email in ["victim@corp.com.evil.com", "victim@evil.com", "victim@sub.corp.com"] {
        assert_eq!(
            h.login_edited(|c| {
                c.insert("email".into(), json!(email));
            })
            .await,
            Err(OidcError::EmailDomainNotAllowed),
            "{email}"
        );
    }
    let identity = h
        .login_edited(|c| {
            c.insert("email".into(), json!("Alice@CORP.COM"));
        })
        .await
        .unwrap();
    assert_eq!(identity.email, "Alice@CORP.COM");
}
