//! The whole brokered login against an OpenID provider told to misbehave, one case per
//! OpenID RP certification test it is modelled on (`rp-id_token-bad-sig-rs256`, ...). Each
//! misbehaviour must end on Rosetta's own error page (status, plain message, reference),
//! be audited as a failed login with its reason, and never issue a SAML assertion or open
//! a broker session. `server/tests/oidc.rs` asserts the same rules one level down, on the
//! relying party's error values; this suite asserts what the browser gets.
//!
//! The stand-in provider (`server/tests/oidc/provider.rs`) is a real HTTP server; the test
//! plays the browser and the provider's authorization endpoint (it reads `state`, `nonce`
//! and the PKCE challenge from the redirect Rosetta sends, as a provider would).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::Utc;
use rosetta::domain::{EmailDomain, Handle};
use rosetta::services::identity_sources::{self, NewIdentitySource};
use rosetta::services::{audit, identity_sources::SourceUpdate};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::io::Write;

#[allow(dead_code)]
#[path = "../oidc/provider.rs"]
mod provider;

use provider::{CLIENT_ID, CLIENT_SECRET, CODE, OpState, RsaKey, jwt};

use crate::helpers::{ACS, SP, TestApp, add_atlassian_sp, spawn_app_with};

/// Rosetta with tenant `acme`, the Atlassian SP and source `corp` at the stand-in provider.
pub(crate) struct Case {
    pub(crate) app: TestApp,
    pub(crate) op: Arc<OpState>,
    pub(crate) key: RsaKey,
    pub(crate) tenant_id: uuid::Uuid,
    pub(crate) source_id: uuid::Uuid,
    browser: std::sync::Mutex<reqwest::Client>,
    /// The SP's AuthnRequests carry `ForceAuthn="true"`.
    pub(crate) force_authn: std::sync::atomic::AtomicBool,
}

/// A user agent with its own cookie jar that finds `acme.localhost` on loopback.
fn browser(port: u16) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .resolve("acme.localhost", std::net::SocketAddr::from(([127, 0, 0, 1], port)))
        .build()
        .unwrap()
}

/// What Rosetta's SSO leg sent the browser to.
pub(crate) struct Authorize {
    pub(crate) state: String,
    pub(crate) nonce: String,
    pub(crate) challenge: String,
}

impl Authorize {
    /// The authorization request Rosetta redirected to.
    pub(crate) fn of(location: &str) -> Self {
        let url = url::Url::parse(location).unwrap();
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap()
        };
        Self {
            state: param("state"),
            nonce: param("nonce"),
            challenge: param("code_challenge"),
        }
    }
}

pub(crate) async fn case() -> Case {
    case_with(|_| {}).await
}

pub(crate) async fn case_with(tweak: impl FnOnce(&mut rosetta::configuration::Settings)) -> Case {
    case_with_source(tweak, |_| {}).await
}

/// [`case_with`], the source `corp` as `source` edits it (a preset, a groups claim...).
pub(crate) async fn case_with_source(
    tweak: impl FnOnce(&mut rosetta::configuration::Settings),
    source: impl FnOnce(&mut NewIdentitySource),
) -> Case {
    let key = RsaKey::generate("k1");
    let op = provider::spawn(vec![key.jwk()]);
    let app = spawn_app_with(rosetta_e2e::Stack::embedded(), tweak).await;
    let acme = app.create_tenant("acme", "Acme").await;
    add_atlassian_sp(&app, acme.id).await;
    let mut new = NewIdentitySource {
        name: Handle::parse("corp").unwrap(),
        issuer: op.issuer.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from(CLIENT_SECRET),
        scopes: vec![],
        domains: vec![EmailDomain::parse("corp.com").unwrap()],
        use_userinfo: false,
        offline_access: false,
        preset: Default::default(),
        groups_claim: None,
        allow_guests: false,
        fetch_group_overage: false,
    };
    source(&mut new);
    let source = identity_sources::create(&app.state.db, &app.state.keyring, acme.id, new)
        .await
        .unwrap();
    let browser = std::sync::Mutex::new(browser(app.port));
    Case {
        tenant_id: acme.id,
        source_id: source.id,
        app,
        op,
        key,
        browser,
        force_authn: std::sync::atomic::AtomicBool::new(false),
    }
}

impl Case {
    /// The stand-in provider's issuer.
    pub(crate) fn issuer(&self) -> &str {
        &self.op.issuer
    }

    fn tenant_url(&self, path: &str) -> String {
        format!("http://acme.localhost:{}{path}", self.app.port)
    }

    /// The SP's AuthnRequest over HTTP-Redirect, as Atlassian sends it.
    pub(crate) async fn sso(&self) -> reqwest::Response {
        self.sso_with_id(&format!("_{}", uuid::Uuid::new_v4().simple()), "")
            .await
    }

    /// An AuthnRequest with this `ID` and extra root attributes (` name="value"`...).
    pub(crate) async fn sso_with_id(&self, id: &str, extra_attributes: &str) -> reqwest::Response {
        let now = Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
        let xml = format!(
            "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
AssertionConsumerServiceURL=\"{acs}\" Destination=\"{dest}\" ID=\"{id}\" IssueInstant=\"{now}\" \
ProtocolBinding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Version=\"2.0\"{force}{extra_attributes}>\
<saml:Issuer xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">{SP}</saml:Issuer></samlp:AuthnRequest>",
            acs = ACS.replace('&', "&amp;"),
            dest = self.tenant_url("/saml/sso"),
            force = if self.force_authn.load(std::sync::atomic::Ordering::Relaxed) {
                " ForceAuthn=\"true\""
            } else {
                ""
            },
        );
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(xml.as_bytes()).unwrap();
        let param: String =
            url::form_urlencoded::byte_serialize(B64.encode(enc.finish().unwrap()).as_bytes()).collect();
        self.browser()
            .get(self.tenant_url(&format!("/saml/sso?SAMLRequest={param}&RelayState=rs-1")))
            .send()
            .await
            .unwrap()
    }

    /// Starts a login in the current browser.
    pub(crate) async fn start(&self) -> Authorize {
        let res = self.sso().await;
        assert_eq!(res.status(), 302, "the SSO leg redirects to the provider");
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with(&self.op.issuer), "{location}");
        Authorize::of(&location)
    }

    /// The claims a well-behaved provider would put in this login's ID token.
    pub(crate) fn claims(&self, auth: &Authorize) -> Value {
        self.op.good_claims(&auth.nonce)
    }

    /// Where the provider sends the browser back to after authenticating.
    fn callback_url(&self, auth: &Authorize) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("code", CODE)
            .append_pair("state", &auth.state)
            .append_pair("iss", &self.op.issuer)
            .finish();
        self.tenant_url(&format!("/oidc/callback/corp?{query}"))
    }

    /// The provider's redirect back to Rosetta, followed by the browser; the stand-in
    /// provider then expects this login's PKCE verifier.
    pub(crate) async fn callback(&self, auth: &Authorize) -> reqwest::Response {
        *self.op.expected_challenge.lock().unwrap() = Some(auth.challenge.clone());
        self.browser().get(self.callback_url(auth)).send().await.unwrap()
    }

    fn browser(&self) -> reqwest::Client {
        self.browser.lock().unwrap().clone()
    }

    /// A new browser (empty cookie jar: no broker session from an earlier login).
    pub(crate) fn new_browser(&self) {
        *self.browser.lock().unwrap() = browser(self.app.port);
    }

    /// A whole login in a new browser whose ID token is `token(claims)`; returns status
    /// and page.
    async fn login(&self, token: impl FnOnce(Value) -> String) -> (u16, String) {
        self.new_browser();
        let auth = self.start().await;
        self.op.set_id_token(token(self.claims(&auth)));
        let res = self.callback(&auth).await;
        let status = res.status().as_u16();
        let set_cookies: Vec<String> = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let page = res.text().await.unwrap();
        if status != 200 {
            assert!(
                !set_cookies.iter().any(|c| c.contains("rosetta_sso")),
                "no broker session on a refused login: {set_cookies:?}"
            );
        }
        (status, page)
    }

    /// A whole login whose claims are edited, then signed with the published key.
    pub(crate) async fn login_edited(&self, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> (u16, String) {
        self.login(|mut claims| {
            edit(claims.as_object_mut().unwrap());
            self.key.sign(&claims)
        })
        .await
    }

    /// The reason recorded with the most recent failed login.
    pub(crate) async fn last_failure_reason(&self) -> String {
        self.app.state.audit.flush().await;
        let events = audit::recent(&self.app.state.db, self.tenant_id, 20).await.unwrap();
        let event = events
            .iter()
            .find(|e| e.action == "login" && e.outcome == "failure")
            .expect("a failed login is audited");
        let detail: Value = serde_json::from_str(&event.detail).unwrap();
        detail["reason"].as_str().unwrap().to_owned()
    }

    /// The refusal every misbehaviour must end in: Rosetta's page with `message`, the
    /// reason in the audit log, no assertion.
    async fn assert_refused(&self, (status, page): (u16, String), message: &str, reason: &str) {
        assert_eq!(status, 400, "{page}");
        assert!(page.contains(message), "expected `{message}` on the page: {page}");
        assert!(
            page.contains("quote this reference"),
            "the page carries a reference: {page}"
        );
        assert!(!page.contains("SAMLResponse"), "no assertion is issued");
        assert_eq!(self.last_failure_reason().await, reason);
    }

    /// A login whose claims `edit` changes must end in the refusal with `message` and `reason`.
    async fn refused_when(&self, edit: impl FnOnce(&mut serde_json::Map<String, Value>), message: &str, reason: &str) {
        let res = self.login_edited(edit).await;
        self.assert_refused(res, message, reason).await;
    }

    /// Sanity: the same set-up with a well-behaved provider issues an assertion.
    pub(crate) async fn assert_accepted(&self, (status, page): (u16, String)) {
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("name=\"SAMLResponse\""), "{page}");
    }
}

#[tokio::test]
async fn a_well_behaved_provider_gets_an_assertion() {
    let c = case().await;
    c.assert_accepted(c.login_edited(|_| {}).await).await;
}

#[tokio::test]
async fn rp_id_token_bad_sig_rs256() {
    let c = case().await;
    // Signed by a key the provider does not publish, under the published key's `kid`.
    let forger = RsaKey::generate("k1");
    c.assert_refused(
        c.login(|claims| forger.sign(&claims)).await,
        "The ID token&#39;s signature is invalid.",
        "oidc_bad_signature",
    )
    .await;
    // One flipped bit of a genuine signature.
    let res = c
        .login(|claims| {
            let token = c.key.sign(&claims);
            let (head, sig) = token.rsplit_once('.').unwrap();
            let mut sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig).unwrap();
            sig[10] ^= 1;
            format!(
                "{head}.{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig)
            )
        })
        .await;
    c.assert_refused(res, "signature is invalid", "oidc_bad_signature")
        .await;
}

#[tokio::test]
async fn rp_id_token_sig_none() {
    let c = case().await;
    let res = c
        .login(|claims| jwt(&json!({"alg": "none", "typ": "JWT"}), &claims, |_| Vec::new()))
        .await;
    c.assert_refused(res, "The ID token is not signed.", "oidc_alg_none")
        .await;
}

#[tokio::test]
async fn rp_id_token_iss_mismatch() {
    let c = case().await;
    c.refused_when(
        |claims| {
            claims.insert("iss".into(), json!("https://evil.example"));
        },
        "issued by another identity provider",
        "oidc_iss_mismatch",
    )
    .await;
}

#[tokio::test]
async fn rp_id_token_aud() {
    let c = case().await;
    c.refused_when(
        |claims| {
            claims.insert("aud".into(), json!("another-client"));
        },
        "was not issued for Rosetta",
        "oidc_aud_mismatch",
    )
    .await;
}

#[tokio::test]
async fn rp_id_token_iat() {
    let c = case().await;
    c.refused_when(
        |claims| {
            claims.remove("iat");
        },
        "lacks the `iat` claim",
        "oidc_missing_claim",
    )
    .await;
}

#[tokio::test]
async fn rp_id_token_sub() {
    let c = case().await;
    c.refused_when(
        |claims| {
            claims.remove("sub");
        },
        "lacks the `sub` claim",
        "oidc_missing_claim",
    )
    .await;
}

#[tokio::test]
async fn rp_nonce_invalid() {
    let c = case().await;
    c.refused_when(
        |claims| {
            claims.insert("nonce".into(), json!("a-nonce-of-another-login"));
        },
        "does not belong to this login",
        "oidc_nonce_mismatch",
    )
    .await;
    // And a token without any nonce.
    c.refused_when(
        |claims| {
            claims.remove("nonce");
        },
        "lacks the `nonce` claim",
        "oidc_missing_claim",
    )
    .await;
}

#[tokio::test]
async fn rp_id_token_kid_absent_multiple_jwks() {
    let c = case().await;
    let second = RsaKey::generate("k2");
    c.op.set_jwks(vec![c.key.jwk(), second.jwk()]);
    let res = c.login(|claims| c.key.sign_with_kid(None, &claims)).await;
    c.assert_refused(
        res,
        "does not say which of the provider&#39;s keys signed it",
        "oidc_ambiguous_key",
    )
    .await;
}

#[tokio::test]
async fn rp_id_token_kid_absent_single_jwks_is_accepted() {
    // The certification's counterpart: one published key, no `kid`, must work.
    let c = case().await;
    c.assert_accepted(c.login(|claims| c.key.sign_with_kid(None, &claims)).await)
        .await;
}

#[tokio::test]
async fn rp_key_rotation_op_sign_key() {
    let c = case().await;
    c.assert_accepted(c.login_edited(|_| {}).await).await;
    // The provider rotates: a new key, published alone, signs from now on.
    let rotated = RsaKey::generate("k2");
    c.op.set_jwks(vec![rotated.jwk()]);
    let hits = c.op.jwks_hits();
    c.assert_accepted(c.login(|claims| rotated.sign(&claims)).await).await;
    assert_eq!(c.op.jwks_hits(), hits + 1, "one refetch of the key set");
    // The retired key no longer opens anything.
    c.assert_refused(
        c.login(|claims| c.key.sign(&claims)).await,
        "a key the identity provider does not publish",
        "oidc_unknown_key",
    )
    .await;
}

#[tokio::test]
async fn rp_userinfo_bad_sub_claim() {
    let c = case().await;
    identity_sources::update(
        &c.app.state.db,
        &c.app.state.keyring,
        c.tenant_id,
        c.source_id,
        SourceUpdate {
            use_userinfo: Some(true),
            ..SourceUpdate::default()
        },
    )
    .await
    .unwrap();
    *c.op.userinfo.lock().unwrap() = json!({"sub": "someone-else", "email": "bob@corp.com", "email_verified": true});
    c.assert_refused(
        c.login_edited(|_| {}).await,
        "userinfo describes another person",
        "oidc_userinfo_sub_mismatch",
    )
    .await;
    *c.op.userinfo.lock().unwrap() = json!({"sub": "user-123", "email": "alice@corp.com", "email_verified": true});
    c.assert_accepted(c.login_edited(|_| {}).await).await;
}

#[tokio::test]
async fn rp_discovery_issuer_not_matching_config() {
    let c = case().await;
    c.op.set_discovery("issuer", json!("https://another-issuer.example"));
    let token_hits = c.op.token_hits();
    let res = c.sso().await;
    assert_eq!(res.status(), 400);
    assert!(
        res.headers().get("location").is_none(),
        "the browser is not sent to the provider"
    );
    let page = res.text().await.unwrap();
    assert!(
        page.contains("The discovery issuer differs from the configured issuer."),
        "{page}"
    );
    assert!(page.contains("quote this reference"), "{page}");
    assert!(!page.contains("SAMLResponse"));
    assert_eq!(c.op.token_hits(), token_hits);
}

#[tokio::test]
async fn a_never_issued_or_replayed_state_is_refused_before_the_token_endpoint() {
    let c = case().await;
    let auth = c.start().await;
    c.op.set_id_token(c.key.sign(&c.claims(&auth)));
    // A state Rosetta never issued.
    let forged = Authorize {
        state: "x".repeat(43),
        nonce: auth.nonce.clone(),
        challenge: auth.challenge.clone(),
    };
    let res = c.callback(&forged).await;
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(page.contains("expired or was already completed"), "{page}");
    assert_eq!(c.op.token_hits(), 0, "the token endpoint is not called");
    // The real one completes; the same callback again is refused without a token call.
    c.assert_accepted({
        let res = c.callback(&auth).await;
        (res.status().as_u16(), res.text().await.unwrap())
    })
    .await;
    assert_eq!(c.op.token_hits(), 1);
    let res = c.callback(&auth).await;
    assert_eq!(res.status(), 400);
    assert!(!res.text().await.unwrap().contains("SAMLResponse"));
    assert_eq!(c.op.token_hits(), 1, "a replay never reaches the token endpoint");
}

#[tokio::test]
async fn a_slow_provider_times_out_with_a_retry_page_and_blocks_nothing_else() {
    let c = case_with(|s| s.server.upstream_timeout_secs = 3).await;
    *c.op.token_delay.lock().unwrap() = Some(Duration::from_secs(30));
    // Ten logins stuck on the provider at once (one browser, ten tabs)...
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut auths = Vec::new();
    for _ in 0..10 {
        auths.push(c.start().await);
    }
    let mut stuck = tokio::task::JoinSet::new();
    for auth in &auths {
        let (browser, url, answered) = (c.browser(), c.callback_url(auth), answered.clone());
        stuck.spawn(async move {
            let res = browser.get(url).send().await.unwrap();
            answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            (res.status().as_u16(), res.text().await.unwrap())
        });
    }
    // ...while another login's first leg is still served before any of them is answered.
    let res = c.sso().await;
    assert_eq!(res.status(), 302);
    assert_eq!(
        answered.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "served while all ten were still waiting on the provider"
    );
    let answers = stuck.join_all().await;
    for (status, page) in answers {
        assert_eq!(status, 503, "a slow provider is a temporary failure: {page}");
        assert!(page.contains("token endpoint could not be reached"), "{page}");
        assert!(!page.contains("SAMLResponse"));
    }
    assert_eq!(c.last_failure_reason().await, "oidc_token_unreachable");
    // The provider recovers: the next login works without anything restarted.
    *c.op.token_delay.lock().unwrap() = None;
    c.assert_accepted(c.login_edited(|_| {}).await).await;
}

#[tokio::test]
async fn two_tabs_of_one_browser_both_complete() {
    // Jira and Confluence opened together after the broker session ended: two logins in
    // flight in one browser; the second must not break the first.
    let c = case().await;
    let first = c.start().await;
    let second = c.start().await;
    c.op.set_id_token(c.key.sign(&c.claims(&first)));
    let res = c.callback(&first).await;
    c.assert_accepted((res.status().as_u16(), res.text().await.unwrap()))
        .await;
    c.op.set_id_token(c.key.sign(&c.claims(&second)));
    let res = c.callback(&second).await;
    c.assert_accepted((res.status().as_u16(), res.text().await.unwrap()))
        .await;
}

#[tokio::test]
async fn a_provider_that_is_down_gets_a_retry_page() {
    let c = case().await;
    // A provider whose every endpoint is gone: the configured issuer points at a closed port.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    identity_sources::update(
        &c.app.state.db,
        &c.app.state.keyring,
        c.tenant_id,
        c.source_id,
        SourceUpdate {
            issuer: Some(format!("http://127.0.0.1:{closed}")),
            ..SourceUpdate::default()
        },
    )
    .await
    .unwrap();
    let res = c.sso().await;
    assert_eq!(res.status(), 503);
    let page = res.text().await.unwrap();
    assert!(page.contains("could not be reached"), "{page}");
    assert!(page.contains("quote this reference"), "{page}");
    assert!(!page.contains("SAMLResponse"));
}

#[tokio::test]
async fn unverified_email_or_a_foreign_domain_gets_a_clear_page() {
    let c = case().await;
    c.refused_when(
        |claims| {
            claims.insert("email_verified".into(), json!(false));
        },
        "Your email address is not verified at the identity provider.",
        "oidc_email_not_verified",
    )
    .await;
    c.refused_when(
        |claims| {
            claims.insert("email".into(), json!("victim@corp.com.evil.com"));
        },
        "Your email address&#39;s domain is not allowed to log in here.",
        "oidc_email_domain_not_allowed",
    )
    .await;
}

/// Hardening II, 4: with ForceAuthn Rosetta sends `max_age=0`, and then requires the ID
/// token's `auth_time` to prove a sign-in no older than the request (a provider that ignores
/// the prompt must not turn a step-up into a session reuse); `auth_time`, whenever sent, is
/// the assertion's `AuthnInstant`.
#[tokio::test]
async fn force_authn_requires_a_fresh_auth_time() {
    let c = case().await;
    c.force_authn.store(true, std::sync::atomic::Ordering::Relaxed);
    let res = c.sso().await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains("max_age=0") && location.contains("prompt=login"),
        "{location}"
    );

    c.refused_when(
        |claims| {
            claims.remove("auth_time");
        },
        "did not confirm",
        "stale_authentication",
    )
    .await;
    let an_hour_ago = Utc::now().timestamp() - 3600;
    c.refused_when(
        |claims| {
            claims.insert("auth_time".into(), json!(an_hour_ago));
        },
        "did not confirm",
        "stale_authentication",
    )
    .await;

    let just_now = Utc::now().timestamp() - 1;
    let (status, page) = c
        .login_edited(|claims| {
            claims.insert("auth_time".into(), json!(just_now));
        })
        .await;
    assert_eq!(status, 200, "{page}");
    let instant = chrono::DateTime::from_timestamp(just_now, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    assert!(
        authn_instant_of(&page).starts_with(&instant),
        "AuthnInstant is auth_time: {page}"
    );
}

/// `auth_time` is the `AuthnInstant` without ForceAuthn too; without it, the callback's time.
#[tokio::test]
async fn auth_time_is_the_authn_instant() {
    let c = case().await;
    let earlier = Utc::now().timestamp() - 600;
    let (status, page) = c
        .login_edited(|claims| {
            claims.insert("auth_time".into(), json!(earlier));
        })
        .await;
    assert_eq!(status, 200, "{page}");
    let instant = chrono::DateTime::from_timestamp(earlier, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    assert!(authn_instant_of(&page).starts_with(&instant), "{page}");
}

/// The `AuthnInstant` of the Response in an auto-post page.
fn authn_instant_of(page: &str) -> String {
    let start = page.find("name=\"SAMLResponse\" value=\"").unwrap() + "name=\"SAMLResponse\" value=\"".len();
    let b64 = &page[start..start + page[start..].find('"').unwrap()];
    let xml = String::from_utf8(B64.decode(b64).unwrap()).unwrap();
    let at = xml.find("AuthnInstant=\"").unwrap() + "AuthnInstant=\"".len();
    xml[at..at + xml[at..].find('"').unwrap()].to_owned()
}
