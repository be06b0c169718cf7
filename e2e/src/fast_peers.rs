//! Peers light enough to drive Rosetta at a few hundred logins per second on two cores
//! (`rosetta-bench --peers fast`), where the Node.js provider and SP saturate the machine
//! at about 60. Both live in the driver's process:
//!
//! - [`FastOp`]: an OpenID provider that approves every authorization at once (no login
//!   form), keeps each code for one use, checks the client's secret, the redirect URI and
//!   the PKCE verifier, and answers with an RS256 ID token carrying the request's nonce.
//! - [`FastSp`]: an SP that writes a fresh AuthnRequest per login (HTTP-Redirect binding,
//!   as Atlassian does) and checks each Response with libxmlsec1 (through samael, which
//!   Rosetta does not use to sign): every signature verified against the IdP certificate,
//!   then, in the signed content only, Destination, InResponseTo, Issuer, status, audience,
//!   recipient, NameID and the assertion's time window.
//!
//! They stand in for the real peers only where the real ones are the bottleneck; every
//! other test and the default benchmark use `oidc-provider` and `@node-saml/node-saml`.

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use samael::crypto::{CertificateDer, CryptoProvider, ReduceMode, XmlSec};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The one user every fast login is for.
pub const FAST_USER: (&str, &str, &str) = ("fast-sub", "grace@acme.example", "Grace Hopper");

/// A code's grant, until the token endpoint takes it.
struct Grant {
    nonce: Option<String>,
    challenge: Option<String>,
    redirect_uri: String,
}

struct OpState {
    issuer: String,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    key: PKey<Private>,
    jwk: Value,
    codes: Mutex<HashMap<String, Grant>>,
}

/// The in-process OpenID provider of the fast benchmark.
pub struct FastOp {
    state: Arc<OpState>,
    handle: actix_web::dev::ServerHandle,
}

impl FastOp {
    /// Starts on 127.0.0.1 with one client; runs on the caller's Tokio runtime.
    pub fn start(client_id: &str, client_secret: &str, redirect_uri: &str) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let key = PKey::from_rsa(Rsa::generate(2048)?)?;
        let jwk = rsa_jwk(KID, &key);
        let state = Arc::new(OpState {
            issuer: format!("http://127.0.0.1:{port}"),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            key,
            jwk,
            codes: Mutex::new(HashMap::new()),
        });
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/.well-known/openid-configuration", web::get().to(discovery))
                .route("/jwks", web::get().to(jwks))
                .route("/authorize", web::get().to(authorize))
                .route("/token", web::post().to(token))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self { state, handle })
    }

    /// The issuer (and base URL).
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// Codes issued and not yet redeemed (zero after a clean run).
    pub fn outstanding_codes(&self) -> usize {
        self.state.codes.lock().map(|c| c.len()).unwrap_or(0)
    }
}

impl Drop for FastOp {
    fn drop(&mut self) {
        // Stops accepting; the server future ends with the runtime.
        drop(self.handle.stop(false));
    }
}

/// The discovery document of a code-flow provider at `issuer` (`/authorize`, `/token`,
/// `/jwks`; RS256; client secret by Basic or form; PKCE S256). The server tests' stand-in
/// provider serves it too.
pub fn discovery_document(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    })
}

/// The public JWK (RS256, `use: sig`) of an RSA key.
pub fn rsa_jwk(kid: &str, key: &PKey<Private>) -> Value {
    let rsa = key.rsa().expect("an RSA key");
    json!({
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
        "n": URL_SAFE_NO_PAD.encode(rsa.n().to_vec()),
        "e": URL_SAFE_NO_PAD.encode(rsa.e().to_vec()),
    })
}

/// `header.payload.signature` with `sign` over the first two segments.
pub fn jwt(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).expect("JSON")),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("JSON"))
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// An RS256 JWT signed with `key`, with `kid` in its header when given.
pub fn sign_rs256(key: &PKey<Private>, kid: Option<&str>, claims: &Value) -> String {
    let mut header = json!({"alg": "RS256", "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    jwt(&header, claims, |input| {
        let mut signer = Signer::new(MessageDigest::sha256(), key).expect("an RSA signer");
        signer.update(input).expect("signing");
        signer.sign_to_vec().expect("signing")
    })
}

/// The `kid` of the fast provider's one key.
const KID: &str = "fast-1";

async fn discovery(state: web::Data<OpState>) -> HttpResponse {
    HttpResponse::Ok().json(discovery_document(&state.issuer))
}

async fn jwks(state: web::Data<OpState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "keys": [state.jwk] }))
}

fn oauth_error(status: u16, error: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    HttpResponse::build(status).json(json!({ "error": error }))
}

/// Approves at once: a redirect back with a single-use code.
async fn authorize(state: web::Data<OpState>, query: web::Query<HashMap<String, String>>) -> HttpResponse {
    let q = query.into_inner();
    let field = |k: &str| q.get(k).cloned();
    if field("client_id").as_deref() != Some(state.client_id.as_str())
        || field("redirect_uri").as_deref() != Some(state.redirect_uri.as_str())
    {
        // Never redirect to an unregistered URI.
        return oauth_error(400, "invalid_request");
    }
    if field("response_type").as_deref() != Some("code") {
        return oauth_error(400, "unsupported_response_type");
    }
    if field("code_challenge").is_some() && field("code_challenge_method").as_deref() != Some("S256") {
        return oauth_error(400, "invalid_request");
    }
    let code = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let grant = Grant {
        nonce: field("nonce"),
        challenge: field("code_challenge"),
        redirect_uri: state.redirect_uri.clone(),
    };
    if let Ok(mut codes) = state.codes.lock() {
        codes.insert(code.clone(), grant);
    }
    let mut location = match url::Url::parse(&state.redirect_uri) {
        Ok(u) => u,
        Err(_) => return oauth_error(500, "server_error"),
    };
    {
        let mut pairs = location.query_pairs_mut();
        pairs.append_pair("code", &code);
        if let Some(s) = field("state") {
            pairs.append_pair("state", &s);
        }
    }
    HttpResponse::Found()
        .insert_header(("location", location.as_str()))
        .finish()
}

fn client_authenticated(state: &OpState, req: &HttpRequest, form: &HashMap<String, String>) -> bool {
    let basic = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    // client_secret_basic form-encodes id and secret before joining them (RFC 6749 2.3.1).
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    match (basic, form.get("client_secret")) {
        (Some(pair), None) => pair
            .split_once(':')
            .is_some_and(|(id, secret)| decode(id) == state.client_id && decode(secret) == state.client_secret),
        (None, Some(secret)) => {
            *secret == state.client_secret
                && form.get("client_id").map(String::as_str) == Some(state.client_id.as_str())
        }
        _ => false,
    }
}

/// Redeems a code once: client authentication, redirect URI, PKCE, then a signed ID token.
async fn token(state: web::Data<OpState>, req: HttpRequest, form: web::Form<HashMap<String, String>>) -> HttpResponse {
    let form = form.into_inner();
    if !client_authenticated(&state, &req, &form) {
        return oauth_error(401, "invalid_client");
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(400, "unsupported_grant_type");
    }
    let grant = form
        .get("code")
        .and_then(|c| state.codes.lock().ok().and_then(|mut codes| codes.remove(c)));
    let Some(grant) = grant else {
        return oauth_error(400, "invalid_grant");
    };
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return oauth_error(400, "invalid_grant");
    }
    if let Some(challenge) = &grant.challenge {
        let verified = form
            .get("code_verifier")
            .is_some_and(|v| URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())) == *challenge);
        if !verified {
            return oauth_error(400, "invalid_grant");
        }
    }
    let now = chrono::Utc::now().timestamp();
    let (sub, email, name) = FAST_USER;
    // What a directory-backed provider sends besides (Entra's `upn`, a department, an
    // address, Auth0-style namespaced roles, an employee number, a dozen groups): mapping
    // rules read them (`rosetta-bench --mapping`), and a login without rules carries them too.
    let mut claims = json!({
        "iss": state.issuer, "sub": sub, "aud": state.client_id, "iat": now, "exp": now + 300,
        "email": email, "email_verified": true, "name": name,
        "upn": email, "department": "R&D", "address": {"country": "UK"},
        "https://acme.example/roles": ["admin", "dev"], "employee_id": "E-042",
        "groups": ["eng-all", "eng-ops", "eng-platform", "sales", "support", "finance", "hr", "legal",
                   "admins", "all-staff", "london", "contractors"],
    });
    if let Some(nonce) = grant.nonce {
        claims["nonce"] = json!(nonce);
    }
    HttpResponse::Ok().json(json!({
        "access_token": uuid::Uuid::new_v4().simple().to_string(),
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": sign_rs256(&state.key, Some(KID), &claims),
    }))
}

/// The in-process SAML SP of the fast benchmark.
pub struct FastSp {
    /// SP entity ID (Issuer of its requests, Audience it demands).
    pub entity_id: String,
    /// Where Responses must be addressed.
    pub acs_url: String,
    sso_url: String,
    idp_entity_id: String,
    idp_cert: CertificateDer,
}

/// What the SP accepted.
#[derive(Debug)]
pub struct FastVerdict {
    /// The NameID.
    pub name_id: String,
}

impl FastSp {
    /// An SP for the IdP at `sso_url` with certificate `idp_cert_pem`.
    pub fn new(
        entity_id: &str,
        acs_url: &str,
        sso_url: &str,
        idp_entity_id: &str,
        idp_cert_pem: &str,
    ) -> anyhow::Result<Self> {
        let der = openssl::x509::X509::from_pem(idp_cert_pem.as_bytes())?.to_der()?;
        Ok(Self {
            entity_id: entity_id.to_owned(),
            acs_url: acs_url.to_owned(),
            sso_url: sso_url.to_owned(),
            idp_entity_id: idp_entity_id.to_owned(),
            idp_cert: CertificateDer::from(der),
        })
    }

    /// A fresh AuthnRequest on the HTTP-Redirect binding: its ID and the URL to open.
    pub fn login_url(&self, relay_state: &str) -> anyhow::Result<(String, String)> {
        let id = format!("_{}", uuid::Uuid::new_v4().simple());
        let instant = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
        let xml = format!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{instant}" Destination="{dest}" AssertionConsumerServiceURL="{acs}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"><saml:Issuer>{issuer}</saml:Issuer><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/></samlp:AuthnRequest>"#,
            dest = self.sso_url,
            acs = self.acs_url,
            issuer = self.entity_id,
        );
        let mut deflater = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        deflater.write_all(xml.as_bytes())?;
        let encoded = STANDARD.encode(deflater.finish()?);
        let mut url = url::Url::parse(&self.sso_url)?;
        url.query_pairs_mut()
            .append_pair("SAMLRequest", &encoded)
            .append_pair("RelayState", relay_state);
        Ok((id, url.into()))
    }

    /// Validates a posted `SAMLResponse` (base64) answering the request `request_id`.
    pub fn validate(&self, saml_response: &str, request_id: &str) -> anyhow::Result<FastVerdict> {
        let xml = String::from_utf8(STANDARD.decode(saml_response.trim())?)?;
        let signatures = roxmltree::Document::parse(&xml)?
            .descendants()
            .filter(|n| n.has_tag_name(("http://www.w3.org/2000/09/xmldsig#", "Signature")))
            .count();
        anyhow::ensure!(
            signatures == 2,
            "expected Response and Assertion signed, found {signatures} signatures"
        );
        // Every signature verified by libxmlsec1; what follows reads only the signed content.
        let signed = XmlSec::reduce_xml_to_signed(
            &xml,
            std::slice::from_ref(&self.idp_cert),
            ReduceMode::ValidateAndMarkNoAncestors,
        )
        .map_err(|e| anyhow::anyhow!("signature: {e}"))?;
        let doc = roxmltree::Document::parse(&signed)?;
        let root = doc.root_element();
        let protocol = "urn:oasis:names:tc:SAML:2.0:protocol";
        let assertion_ns = "urn:oasis:names:tc:SAML:2.0:assertion";
        anyhow::ensure!(
            root.has_tag_name((protocol, "Response")),
            "the signed content is not the Response"
        );
        anyhow::ensure!(
            root.attribute("Destination") == Some(self.acs_url.as_str()),
            "Destination"
        );
        anyhow::ensure!(root.attribute("InResponseTo") == Some(request_id), "InResponseTo");
        let find = |ns: &str, name: &str| root.descendants().find(|n| n.has_tag_name((ns, name)));
        let status = find(protocol, "StatusCode").and_then(|n| n.attribute("Value"));
        anyhow::ensure!(
            status == Some("urn:oasis:names:tc:SAML:2.0:status:Success"),
            "status {status:?}"
        );
        let issuers: Vec<_> = root
            .descendants()
            .filter(|n| n.has_tag_name((assertion_ns, "Issuer")))
            .map(|n| n.text().unwrap_or_default())
            .collect();
        anyhow::ensure!(
            issuers.len() == 2 && issuers.iter().all(|i| *i == self.idp_entity_id),
            "Issuer {issuers:?}"
        );
        let audience = find(assertion_ns, "Audience").and_then(|n| n.text());
        anyhow::ensure!(audience == Some(self.entity_id.as_str()), "Audience {audience:?}");
        let confirmation = find(assertion_ns, "SubjectConfirmationData")
            .ok_or_else(|| anyhow::anyhow!("no SubjectConfirmationData"))?;
        anyhow::ensure!(
            confirmation.attribute("Recipient") == Some(self.acs_url.as_str()),
            "Recipient"
        );
        anyhow::ensure!(
            confirmation.attribute("InResponseTo") == Some(request_id),
            "SubjectConfirmationData InResponseTo"
        );
        let now = chrono::Utc::now();
        let time = |v: Option<&str>| v.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        let conditions = find(assertion_ns, "Conditions").ok_or_else(|| anyhow::anyhow!("no Conditions"))?;
        let not_before = time(conditions.attribute("NotBefore")).ok_or_else(|| anyhow::anyhow!("NotBefore"))?;
        let not_after = time(conditions.attribute("NotOnOrAfter")).ok_or_else(|| anyhow::anyhow!("NotOnOrAfter"))?;
        let skew = chrono::Duration::seconds(60);
        anyhow::ensure!(
            not_before <= now + skew && now < not_after + skew,
            "outside the assertion's time window"
        );
        let name_id = find(assertion_ns, "NameID")
            .and_then(|n| n.text())
            .ok_or_else(|| anyhow::anyhow!("no NameID"))?;
        Ok(FastVerdict {
            name_id: name_id.to_owned(),
        })
    }
}
