//! A stand-in OpenID provider on 127.0.0.1:0 whose every answer a test can bend.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "rosetta-client";
pub const CLIENT_SECRET: &str = "a-client-secret-of-decent-length";
pub const CODE: &str = "the-authorization-code";

/// An RSA signing key and its JWK.
pub struct RsaKey {
    pub kid: String,
    pub pkey: PKey<Private>,
}

impl RsaKey {
    pub fn generate(kid: &str) -> Self {
        let rsa = Rsa::generate(2048).unwrap();
        Self {
            kid: kid.to_owned(),
            pkey: PKey::from_rsa(rsa).unwrap(),
        }
    }

    pub fn jwk(&self) -> Value {
        rosetta_e2e::fast_peers::rsa_jwk(&self.kid, &self.pkey)
    }

    pub fn public_pem(&self) -> Vec<u8> {
        self.pkey.public_key_to_pem().unwrap()
    }

    /// An RS256 JWT with this key's `kid` (or `kid_override`).
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_kid(Some(&self.kid), claims)
    }

    pub fn sign_with_kid(&self, kid: Option<&str>, claims: &Value) -> String {
        rosetta_e2e::fast_peers::sign_rs256(&self.pkey, kid, claims)
    }
}

/// An ECDSA P-256 key, for ES256.
pub struct EcKey {
    pub kid: String,
    pub key: openssl::ec::EcKey<Private>,
}

impl EcKey {
    pub fn generate(kid: &str) -> Self {
        let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
        Self {
            kid: kid.to_owned(),
            key: openssl::ec::EcKey::generate(&group).unwrap(),
        }
    }

    pub fn jwk(&self) -> Value {
        let mut ctx = openssl::bn::BigNumContext::new().unwrap();
        let (mut x, mut y) = (openssl::bn::BigNum::new().unwrap(), openssl::bn::BigNum::new().unwrap());
        self.key
            .public_key()
            .affine_coordinates(self.key.group(), &mut x, &mut y, &mut ctx)
            .unwrap();
        json!({
            "kty": "EC",
            "crv": "P-256",
            "use": "sig",
            "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(x.to_vec_padded(32).unwrap()),
            "y": URL_SAFE_NO_PAD.encode(y.to_vec_padded(32).unwrap()),
        })
    }

    /// An ES256 JWT: the JWS signature is `r || s`, not openssl's DER.
    pub fn sign(&self, claims: &Value) -> String {
        jwt(
            &json!({"alg": "ES256", "typ": "JWT", "kid": self.kid}),
            claims,
            |input| {
                let sig = openssl::ecdsa::EcdsaSig::sign(&Sha256::digest(input), &self.key).unwrap();
                let mut out = sig.r().to_vec_padded(32).unwrap();
                out.extend(sig.s().to_vec_padded(32).unwrap());
                out
            },
        )
    }
}

/// A PS256 JWT signed with `key`.
pub fn sign_ps256(key: &RsaKey, claims: &Value) -> String {
    jwt(
        &json!({"alg": "PS256", "typ": "JWT", "kid": key.kid}),
        claims,
        |input| {
            let mut signer = Signer::new(MessageDigest::sha256(), &key.pkey).unwrap();
            signer.set_rsa_padding(openssl::rsa::Padding::PKCS1_PSS).unwrap();
            signer
                .set_rsa_pss_saltlen(openssl::sign::RsaPssSaltlen::DIGEST_LENGTH)
                .unwrap();
            signer.update(input).unwrap();
            signer.sign_to_vec().unwrap()
        },
    )
}

/// `header.payload.signature` with `sign` over the first two segments.
pub use rosetta_e2e::fast_peers::jwt;

/// An HS256 JWT keyed with `key`.
pub fn sign_hs256(key: &[u8], kid: Option<&str>, claims: &Value) -> String {
    let mut header = json!({"alg": "HS256", "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    jwt(&header, claims, |input| {
        let pkey = PKey::hmac(key).unwrap();
        let mut signer = Signer::new(MessageDigest::sha256(), &pkey).unwrap();
        signer.update(input).unwrap();
        signer.sign_to_vec().unwrap()
    })
}

/// What the stand-in serves; tests change it between steps.
pub struct OpState {
    pub issuer: String,
    pub discovery: Mutex<Value>,
    pub discovery_raw: Mutex<Option<String>>,
    pub discovery_status: Mutex<Option<u16>>,
    pub jwks: Mutex<Value>,
    pub id_token: Mutex<String>,
    pub token_error: Mutex<Option<Value>>,
    pub userinfo: Mutex<Value>,
    pub expected_challenge: Mutex<Option<String>>,
    /// When set, the token endpoint waits this long before answering (a slow provider).
    pub token_delay: Mutex<Option<std::time::Duration>>,
    pub jwks_hits: AtomicUsize,
    pub token_hits: AtomicUsize,
    /// How the last token request authenticated: "basic", "post" or "none".
    pub last_client_auth: Mutex<String>,
    /// Issued with the next code exchange (a login that asked for `offline_access`).
    pub refresh_token: Mutex<Option<String>>,
    /// Refresh tokens the token endpoint accepts (an account disabled at the provider:
    /// removed), and what each accepted one is rotated to (`None`: kept).
    pub live_refresh_tokens: Mutex<HashMap<String, Option<String>>>,
    /// Answer refresh requests with this status instead (an outage).
    pub refresh_status: Mutex<Option<u16>>,
    /// Refresh requests received.
    pub refresh_hits: AtomicUsize,
}

impl OpState {
    /// The claims a well-behaved provider puts in the ID token of the login with `nonce`.
    pub fn good_claims(&self, nonce: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "user-123",
            "exp": now + 300,
            "iat": now,
            "nonce": nonce,
            "email": "alice@corp.com",
            "email_verified": true,
            "name": "Alice Liddell",
        })
    }

    pub fn jwks_hits(&self) -> usize {
        self.jwks_hits.load(Ordering::SeqCst)
    }

    pub fn token_hits(&self) -> usize {
        self.token_hits.load(Ordering::SeqCst)
    }

    pub fn set_discovery(&self, key: &str, value: Value) {
        self.discovery.lock().unwrap()[key] = value;
    }

    pub fn remove_discovery(&self, key: &str) {
        if let Some(m) = self.discovery.lock().unwrap().as_object_mut() {
            m.remove(key);
        }
    }

    pub fn set_jwks(&self, keys: Vec<Value>) {
        *self.jwks.lock().unwrap() = json!({ "keys": keys });
    }

    pub fn set_id_token(&self, token: String) {
        *self.id_token.lock().unwrap() = token;
    }
}

/// Starts the stand-in; it lives until the test's runtime ends.
pub fn spawn(initial_keys: Vec<Value>) -> Arc<OpState> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let issuer = format!("http://127.0.0.1:{port}");
    let mut discovery = rosetta_e2e::fast_peers::discovery_document(&issuer);
    discovery["userinfo_endpoint"] = json!(format!("{issuer}/userinfo"));
    let state = Arc::new(OpState {
        issuer,
        discovery: Mutex::new(discovery),
        discovery_raw: Mutex::new(None),
        discovery_status: Mutex::new(None),
        jwks: Mutex::new(json!({ "keys": initial_keys })),
        id_token: Mutex::new(String::new()),
        token_error: Mutex::new(None),
        userinfo: Mutex::new(json!({})),
        expected_challenge: Mutex::new(None),
        token_delay: Mutex::new(None),
        jwks_hits: AtomicUsize::new(0),
        token_hits: AtomicUsize::new(0),
        last_client_auth: Mutex::new(String::new()),
        refresh_token: Mutex::new(None),
        live_refresh_tokens: Mutex::new(HashMap::new()),
        refresh_status: Mutex::new(None),
        refresh_hits: AtomicUsize::new(0),
    });
    let data = web::Data::from(state.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/.well-known/openid-configuration", web::get().to(discovery_handler))
            .route("/jwks", web::get().to(jwks_handler))
            .route("/token", web::post().to(token_handler))
            .route("/userinfo", web::get().to(userinfo_handler))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    state
}

async fn discovery_handler(state: web::Data<OpState>) -> HttpResponse {
    if let Some(status) = *state.discovery_status.lock().unwrap() {
        let status = actix_web::http::StatusCode::from_u16(status).unwrap();
        return HttpResponse::build(status).finish();
    }
    if let Some(raw) = state.discovery_raw.lock().unwrap().clone() {
        return HttpResponse::Ok().content_type("text/html").body(raw);
    }
    let body = state.discovery.lock().unwrap().clone();
    HttpResponse::Ok().json(body)
}

async fn jwks_handler(state: web::Data<OpState>) -> HttpResponse {
    state.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let body = state.jwks.lock().unwrap().clone();
    HttpResponse::Ok().json(body)
}

fn invalid(error: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({ "error": error, "error_description": "stand-in says no" }))
}

async fn token_handler(
    state: web::Data<OpState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    state.token_hits.fetch_add(1, Ordering::SeqCst);
    let delay = *state.token_delay.lock().unwrap();
    if let Some(delay) = delay {
        actix_web::rt::time::sleep(delay).await;
    }
    let form = form.into_inner();
    let field = |k: &str| form.get(k).cloned();
    let basic = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let auth = match (basic, field("client_secret")) {
        (Some(pair), None) if pair == format!("{CLIENT_ID}:{CLIENT_SECRET}") => "basic",
        (None, Some(secret)) if secret == CLIENT_SECRET && field("client_id").as_deref() == Some(CLIENT_ID) => "post",
        _ => "none",
    };
    *state.last_client_auth.lock().unwrap() = auth.to_owned();
    if auth == "none" {
        return HttpResponse::Unauthorized().json(json!({ "error": "invalid_client" }));
    }
    if field("grant_type").as_deref() == Some("refresh_token") {
        state.refresh_hits.fetch_add(1, Ordering::SeqCst);
        if let Some(status) = *state.refresh_status.lock().unwrap() {
            return HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).body("down");
        }
        let presented = field("refresh_token").unwrap_or_default();
        let mut live = state.live_refresh_tokens.lock().unwrap();
        let Some(rotation) = live.remove(&presented) else {
            return invalid("invalid_grant");
        };
        let current = rotation.clone().unwrap_or(presented);
        live.insert(current.clone(), None);
        let mut body = json!({"access_token": "an-access-token", "token_type": "Bearer", "expires_in": 300});
        if rotation.is_some() {
            body["refresh_token"] = json!(current);
        }
        return HttpResponse::Ok().json(body);
    }
    if field("grant_type").as_deref() != Some("authorization_code") || field("code").as_deref() != Some(CODE) {
        return invalid("invalid_grant");
    }
    if let Some(challenge) = state.expected_challenge.lock().unwrap().clone() {
        let Some(verifier) = field("code_verifier") else {
            return invalid("invalid_grant");
        };
        if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
            return invalid("invalid_grant");
        }
    }
    if let Some(error) = state.token_error.lock().unwrap().clone() {
        return HttpResponse::BadRequest().json(error);
    }
    let id_token = state.id_token.lock().unwrap().clone();
    let mut body = json!({
        "access_token": "an-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    });
    if let Some(refresh) = state.refresh_token.lock().unwrap().take() {
        state.live_refresh_tokens.lock().unwrap().insert(refresh.clone(), None);
        body["refresh_token"] = json!(refresh);
    }
    HttpResponse::Ok().json(body)
}

async fn userinfo_handler(state: web::Data<OpState>, req: HttpRequest) -> HttpResponse {
    let bearer = req.headers().get("authorization").and_then(|v| v.to_str().ok());
    if bearer != Some("Bearer an-access-token") {
        return HttpResponse::Unauthorized().finish();
    }
    let body = state.userinfo.lock().unwrap().clone();
    HttpResponse::Ok().json(body)
}
