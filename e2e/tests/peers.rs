//! The test peers themselves, as real processes: the upstream OpenID provider speaks the
//! authorization code flow with PKCE and RFC 9207 and rotates keys on demand; the SAML SP
//! sends AuthnRequests and accepts only correctly signed responses. Rosetta's end-to-end
//! tests rely on both behaving like the real thing, so this is checked first.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rosetta_e2e::{
    InResponseTo, OidcAccount, OidcClient, OidcProvider, OidcProviderConfig, SamlResponseFixture, SamlSp, SamlSpConfig,
    cookie_client, sign_saml_response,
};
use sha2::Digest;

const CLIENT_ID: &str = "rosetta-test";
const CLIENT_SECRET: &str = "test-secret-with-enough-entropy-0123456789";
const REDIRECT_URI: &str = "http://acme.localhost:8080/oidc/callback/corp";

fn provider() -> OidcProvider {
    let mut ada = OidcAccount::verified("ada-1", "ada@corp.example", "Ada", "Lovelace");
    ada.amr = Some(vec!["pwd".into(), "mfa".into()]);
    ada.acr = Some("urn:test:loa2".into());
    OidcProvider::start(&OidcProviderConfig {
        clients: vec![OidcClient::new(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)],
        accounts: vec![ada],
        ..Default::default()
    })
    .expect("the OpenID provider starts (e2e/peers/install.sh)")
}

/// A PKCE verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

async fn discovery(op: &OidcProvider) -> serde_json::Value {
    reqwest::get(op.discovery_url()).await.unwrap().json().await.unwrap()
}

fn authorization_url(discovery: &serde_json::Value, state: &str, nonce: &str, challenge: Option<&str>) -> String {
    let mut url = url::Url::parse(discovery["authorization_endpoint"].as_str().unwrap()).unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", CLIENT_ID)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid email profile")
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("state", state)
            .append_pair("nonce", nonce);
        if let Some(challenge) = challenge {
            q.append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", "S256");
        }
    }
    url.into()
}

fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The JSON of one part of a compact JWT (0: header, 1: payload).
fn jwt_part(jwt: &str, index: usize) -> serde_json::Value {
    let part = jwt.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

async fn jwks_kids(discovery: &serde_json::Value) -> Vec<String> {
    let jwks: serde_json::Value = reqwest::get(discovery["jwks_uri"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            assert_eq!(k["kty"], "RSA");
            assert!(k.get("d").is_none(), "the JWKS publishes no private part");
            k["kid"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// One whole login as `login` with `client`'s cookie jar: returns the token response.
async fn code_flow(
    op: &OidcProvider,
    client: &reqwest::Client,
    discovery: &serde_json::Value,
    login: &str,
) -> serde_json::Value {
    let (verifier, challenge) = pkce();
    let state = uuid::Uuid::new_v4().to_string();
    let nonce = uuid::Uuid::new_v4().to_string();
    let callback = op
        .scripted_login(
            client,
            &authorization_url(discovery, &state, &nonce, Some(&challenge)),
            login,
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", op.logs()));
    assert!(callback.as_str().starts_with(REDIRECT_URI), "{callback}");
    assert_eq!(query(&callback, "state").as_deref(), Some(state.as_str()));
    assert_eq!(query(&callback, "iss").as_deref(), Some(op.issuer()), "RFC 9207 iss");
    let code = query(&callback, "code").unwrap_or_else(|| panic!("no code in {callback}"));

    let token_endpoint = discovery["token_endpoint"].as_str().unwrap();
    // The code is bound to the PKCE challenge: the wrong verifier is refused.
    let wrong = reqwest::Client::new()
        .post(token_endpoint)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &format!("{verifier}x")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400);
    assert_eq!(
        wrong.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    // A refused exchange consumes the code in oidc-provider: log in again for a fresh one.
    let (verifier, challenge) = pkce();
    let callback = op
        .scripted_login(
            client,
            &authorization_url(discovery, &state, &nonce, Some(&challenge)),
            login,
        )
        .await
        .unwrap();
    let code = query(&callback, "code").unwrap();
    let res = reqwest::Client::new()
        .post(token_endpoint)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", op.logs());
    let tokens: serde_json::Value = res.json().await.unwrap();
    let claims = jwt_part(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["nonce"], nonce.as_str());
    assert_eq!(claims["iss"], op.issuer());
    assert_eq!(claims["aud"], CLIENT_ID);
    tokens
}

#[tokio::test]
async fn op_discovery_advertises_issuer_pkce_s256_and_rfc9207() {
    let op = provider();
    let doc = discovery(&op).await;
    assert_eq!(doc["issuer"], op.issuer());
    assert_eq!(op.issuer(), format!("http://127.0.0.1:{}", op.port()));
    assert_eq!(doc["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert!(doc["userinfo_endpoint"].is_string());
    assert!(
        doc["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&"RS256".into())
    );
}

#[tokio::test]
async fn op_issuer_may_be_a_localhost_name() {
    let op = OidcProvider::start(&OidcProviderConfig {
        issuer_host: Some("upstream.localhost".into()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(op.issuer(), format!("http://upstream.localhost:{}", op.port()));
    let client = reqwest::Client::builder()
        .resolve("upstream.localhost", ([127, 0, 0, 1], op.port()).into())
        .build()
        .unwrap();
    let doc: serde_json::Value = client
        .get(op.discovery_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], op.issuer());
    assert!(doc["token_endpoint"].as_str().unwrap().starts_with(op.issuer()));
}

#[tokio::test]
async fn op_code_flow_with_pkce_then_key_rotation() {
    let op = provider();
    let doc = discovery(&op).await;
    let browser = cookie_client();

    let tokens = code_flow(&op, &browser, &doc, "ada@corp.example").await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let header = jwt_part(id_token, 0);
    assert_eq!(header["alg"], "RS256");
    let first_kid = header["kid"].as_str().unwrap().to_owned();
    assert_eq!(jwks_kids(&doc).await, vec![first_kid.clone()]);
    let claims = jwt_part(id_token, 1);
    assert_eq!(claims["sub"], "ada-1");
    assert_eq!(claims["email"], "ada@corp.example");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["given_name"], "Ada");
    assert_eq!(claims["family_name"], "Lovelace");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "mfa"]));
    assert_eq!(claims["acr"], "urn:test:loa2");

    let userinfo: serde_json::Value = reqwest::Client::new()
        .get(doc["userinfo_endpoint"].as_str().unwrap())
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["sub"], "ada-1");
    assert_eq!(userinfo["email"], "ada@corp.example");

    // Abrupt rotation: the old key leaves the JWKS, new tokens carry a kid unknown to a
    // relying party that cached it. The browser's session at the provider survives.
    let rotated = op.rotate_keys(false).await.unwrap();
    assert_ne!(rotated.signing_kid, first_kid);
    assert_eq!(rotated.kids, vec![rotated.signing_kid.clone()]);
    assert_eq!(jwks_kids(&doc).await, rotated.kids);
    let tokens = code_flow(&op, &browser, &doc, "ada@corp.example").await;
    assert_eq!(
        jwt_part(tokens["id_token"].as_str().unwrap(), 0)["kid"],
        rotated.signing_kid.as_str()
    );

    // Graceful rotation: the previous key stays published, the new one signs.
    let graceful = op.rotate_keys(true).await.unwrap();
    assert_eq!(
        graceful.kids,
        vec![graceful.signing_kid.clone(), rotated.signing_kid.clone()]
    );
    assert_eq!(jwks_kids(&doc).await, graceful.kids);
    assert_eq!(op.keys().await.unwrap().signing_kid, graceful.signing_kid);
    let tokens = code_flow(&op, &cookie_client(), &doc, "ada-1").await;
    assert_eq!(
        jwt_part(tokens["id_token"].as_str().unwrap(), 0)["kid"],
        graceful.signing_kid.as_str()
    );
}

#[tokio::test]
async fn op_requires_pkce_and_knows_its_accounts() {
    let op = provider();
    let doc = discovery(&op).await;
    let browser = cookie_client();

    // No code_challenge: an error back to the client, with iss, before any login.
    let callback = op
        .scripted_login(&browser, &authorization_url(&doc, "s1", "n1", None), "ada-1")
        .await
        .unwrap();
    assert_eq!(
        query(&callback, "error").as_deref(),
        Some("invalid_request"),
        "{callback}"
    );
    assert_eq!(query(&callback, "iss").as_deref(), Some(op.issuer()));
    assert!(query(&callback, "code").is_none());

    // An unknown login stays on the form.
    let (_, challenge) = pkce();
    let res = browser
        .get(authorization_url(&doc, "s2", "n2", Some(&challenge)))
        .send()
        .await
        .unwrap();
    let interaction = res.headers()["location"].to_str().unwrap().to_owned();
    let interaction = url::Url::parse(&op.local_url("/")).unwrap().join(&interaction).unwrap();
    let form = browser.get(interaction.clone()).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    assert!(html.contains("name=\"login\""), "{html}");
    let res = browser
        .post(interaction)
        .form(&[("login", "nobody@corp.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("unknown account"));

    // An account added at run time logs in; its unverified email says so.
    op.add_account(&OidcAccount {
        sub: "bob-2".into(),
        email: Some("bob@corp.example".into()),
        email_verified: Some(false),
        ..Default::default()
    })
    .await
    .unwrap();
    let bob = cookie_client();
    let tokens = code_flow(&op, &bob, &doc, "bob@corp.example").await;
    let claims = jwt_part(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["sub"], "bob-2");
    assert_eq!(claims["email_verified"], false);
    assert!(claims.get("name").is_none());

    // With a live session, even prompt=consent goes straight back: no form is shown (the
    // unknown login would fail if it were).
    let (_, challenge) = pkce();
    let url = format!(
        "{}&prompt=consent",
        authorization_url(&doc, "s3", "n3", Some(&challenge))
    );
    let callback = op.scripted_login(&bob, &url, "nobody").await.unwrap();
    assert!(query(&callback, "code").is_some(), "{callback}");
}

// ---------------------------------------------------------------------------------------
// SAML SP

const SP_ENTITY_ID: &str = "https://auth.example.test/saml/2f1c7a52";
const IDP_ENTITY_ID: &str = "http://acme.localhost:8080/saml/metadata";
const IDP_SSO: &str = "http://acme.localhost:8080/saml/sso";
const CLAIMS: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/";

/// A throwaway self-signed RSA key and certificate, PEM.
fn throwaway_idp_key() -> (String, String) {
    use openssl::{asn1::Asn1Time, bn::BigNum, hash::MessageDigest, pkey::PKey, rsa::Rsa, x509};
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "throwaway test IdP").unwrap();
    let name = name.build();
    let mut cert = x509::X509Builder::new().unwrap();
    cert.set_version(2).unwrap();
    cert.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    cert.set_subject_name(&name).unwrap();
    cert.set_issuer_name(&name).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(1).unwrap()).unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    (
        String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap(),
        String::from_utf8(cert.build().to_pem().unwrap()).unwrap(),
    )
}

fn sp(cert: &str) -> SamlSp {
    let mut config = SamlSpConfig::new(SP_ENTITY_ID, IDP_SSO, cert);
    config.idp_issuer = Some(IDP_ENTITY_ID.into());
    // Atlassian-shaped: the ACS URL carries a query string.
    config.acs_path = "/login/callback?connection=saml-2f1c7a52".into();
    SamlSp::start(&config).expect("the SAML SP starts (e2e/peers/install.sh)")
}

/// GET /login: the redirect to the IdP, its inflated AuthnRequest and its RelayState.
async fn authn_request(sp: &SamlSp, relay_state: &str) -> (url::Url, String, Option<String>) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client.get(sp.login_url(relay_state)).send().await.unwrap();
    assert_eq!(res.status(), 302, "{}", sp.logs());
    let location = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let deflated = STANDARD.decode(query(&location, "SAMLRequest").unwrap()).unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(deflated.as_slice())
        .read_to_string(&mut xml)
        .unwrap();
    let relay = query(&location, "RelayState");
    (location, xml, relay)
}

fn request_id(xml: &str) -> String {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.root_element().attribute("ID").unwrap().to_owned()
}

fn fixture(sp: &SamlSp, in_response_to: &str, email: &str) -> SamlResponseFixture {
    SamlResponseFixture {
        issuer: IDP_ENTITY_ID.into(),
        destination: sp.acs_url().into(),
        audience: SP_ENTITY_ID.into(),
        in_response_to: Some(in_response_to.into()),
        name_id: email.into(),
        attributes: BTreeMap::from([
            (format!("{CLAIMS}emailaddress"), vec![email.to_owned()]),
            (format!("{CLAIMS}givenname"), vec!["Ada".to_owned()]),
            (format!("{CLAIMS}surname"), vec!["Lovelace".to_owned()]),
        ]),
        ..Default::default()
    }
}

#[tokio::test]
async fn sp_login_redirects_with_an_authn_request() {
    let (_, cert) = throwaway_idp_key();
    let sp = sp(&cert);
    assert!(sp.acs_url().ends_with("/login/callback?connection=saml-2f1c7a52"));
    let relay = "https://site.example.net/jira?x=1&y=é";
    let (location, xml, relay_back) = authn_request(&sp, relay).await;
    assert_eq!(location.as_str().split('?').next(), Some(IDP_SSO));
    assert_eq!(relay_back.as_deref(), Some(relay));

    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "AuthnRequest");
    assert_eq!(
        root.tag_name().namespace(),
        Some("urn:oasis:names:tc:SAML:2.0:protocol")
    );
    assert_eq!(root.attribute("AssertionConsumerServiceURL"), Some(sp.acs_url()));
    assert_eq!(root.attribute("Destination"), Some(IDP_SSO));
    assert_eq!(
        root.attribute("ProtocolBinding"),
        Some("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST")
    );
    let issuer = root.children().find(|n| n.has_tag_name("Issuer")).unwrap();
    assert_eq!(issuer.text(), Some(SP_ENTITY_ID));
    assert!(!request_id(&xml).is_empty());
    // Every login is a new request.
    let (_, again, _) = authn_request(&sp, relay).await;
    assert_ne!(request_id(&again), request_id(&xml));
}

#[tokio::test]
async fn sp_rejects_garbage_and_unsigned_responses() {
    let (key, cert) = throwaway_idp_key();
    let sp = sp(&cert);

    let verdict = sp.post_response("bm90IFhNTA==", Some("r")).await.unwrap();
    assert!(!verdict.ok);
    assert!(verdict.error.is_some());
    let verdict = sp.post_response_xml("<Response/>", None).await.unwrap();
    assert!(!verdict.ok);

    let (_, xml, _) = authn_request(&sp, "r").await;
    let unsigned = sign_saml_response(
        &fixture(&sp, &request_id(&xml), "ada@corp.example"),
        &key,
        &cert,
        false,
        false,
    )
    .unwrap();
    let verdict = sp.post_response_xml(&unsigned, Some("r")).await.unwrap();
    assert!(!verdict.ok, "{verdict:?}");
    assert!(verdict.error.unwrap().contains("signature"));

    // Only the assertion signed: the SP wants the Response signed as well.
    let (_, xml, _) = authn_request(&sp, "r").await;
    let half = sign_saml_response(
        &fixture(&sp, &request_id(&xml), "ada@corp.example"),
        &key,
        &cert,
        true,
        false,
    )
    .unwrap();
    assert!(!sp.post_response_xml(&half, Some("r")).await.unwrap().ok);
}

#[tokio::test]
async fn sp_accepts_a_signed_response_and_rejects_tampered_or_replayed_ones() {
    let (key, cert) = throwaway_idp_key();
    let sp = sp(&cert);

    let (_, xml, _) = authn_request(&sp, "relay-1").await;
    let id = request_id(&xml);
    let signed = sign_saml_response(&fixture(&sp, &id, "ada@corp.example"), &key, &cert, true, true).unwrap();
    let verdict = sp.post_response_xml(&signed, Some("relay-1")).await.unwrap();
    assert!(verdict.ok, "{verdict:?}\n{}", sp.logs());
    assert_eq!(verdict.name_id.as_deref(), Some("ada@corp.example"));
    assert_eq!(verdict.issuer.as_deref(), Some(IDP_ENTITY_ID));
    assert_eq!(verdict.in_response_to.as_deref(), Some(id.as_str()));
    assert_eq!(verdict.relay_state.as_deref(), Some("relay-1"));
    assert_eq!(verdict.attribute(&format!("{CLAIMS}givenname")), vec!["Ada"]);
    assert_eq!(
        verdict.attribute(&format!("{CLAIMS}emailaddress")),
        vec!["ada@corp.example"]
    );
    assert!(sp.last().await.unwrap().unwrap().ok);

    // The same response again: its request was answered already.
    let replay = sp.post_response_xml(&signed, Some("relay-1")).await.unwrap();
    assert!(!replay.ok);
    assert!(replay.error.unwrap().contains("InResponseTo"));

    // A fresh request, a correctly signed answer, then one changed byte in the NameID.
    let (_, xml, _) = authn_request(&sp, "relay-2").await;
    let signed = sign_saml_response(
        &fixture(&sp, &request_id(&xml), "ada@corp.example"),
        &key,
        &cert,
        true,
        true,
    )
    .unwrap();
    let tampered = signed.replace(">ada@corp.example</saml:NameID>", ">eve@corp.example</saml:NameID>");
    assert_ne!(tampered, signed);
    let verdict = sp.post_response_xml(&tampered, Some("relay-2")).await.unwrap();
    assert!(!verdict.ok, "{verdict:?}");
    assert!(verdict.error.as_deref().unwrap().contains("signature"), "{verdict:?}");
    assert!(!sp.last().await.unwrap().unwrap().ok);

    // A response for another ACS (Destination and Recipient) is refused even if signed.
    let (_, xml, _) = authn_request(&sp, "relay-3").await;
    let mut elsewhere = fixture(&sp, &request_id(&xml), "ada@corp.example");
    elsewhere.destination = "http://127.0.0.1:1/acs".into();
    let signed = sign_saml_response(&elsewhere, &key, &cert, true, true).unwrap();
    let verdict = sp.post_response_xml(&signed, None).await.unwrap();
    assert!(!verdict.ok);
    assert!(verdict.error.unwrap().contains("Destination"));
}

#[tokio::test]
async fn sp_trusts_new_idp_certificates_without_restart() {
    let (old_key, old_cert) = throwaway_idp_key();
    let (new_key, new_cert) = throwaway_idp_key();
    let sp = sp(&old_cert);

    let (_, xml, _) = authn_request(&sp, "r").await;
    let by_new = sign_saml_response(
        &fixture(&sp, &request_id(&xml), "ada@corp.example"),
        &new_key,
        &new_cert,
        true,
        true,
    )
    .unwrap();
    assert!(
        !sp.post_response_xml(&by_new, None).await.unwrap().ok,
        "a key it does not trust"
    );

    // During a rotation the SP trusts both; the old key still works, so does the new one.
    sp.set_idp_certs(&[old_cert.clone(), new_cert.clone()]).await.unwrap();
    for (key, cert) in [(&old_key, &old_cert), (&new_key, &new_cert)] {
        let (_, xml, _) = authn_request(&sp, "r").await;
        let signed = sign_saml_response(
            &fixture(&sp, &request_id(&xml), "ada@corp.example"),
            key,
            cert,
            true,
            true,
        )
        .unwrap();
        let verdict = sp.post_response_xml(&signed, None).await.unwrap();
        assert!(verdict.ok, "{verdict:?}");
    }

    // IdP-initiated: no InResponseTo, accepted only when the SP allows it.
    let mut config = SamlSpConfig::new(SP_ENTITY_ID, IDP_SSO, &new_cert);
    config.validate_in_response_to = InResponseTo::IfPresent;
    let lenient = SamlSp::start(&config).unwrap();
    let mut unsolicited = fixture(&lenient, "unused", "ada@corp.example");
    unsolicited.in_response_to = None;
    let signed = sign_saml_response(&unsolicited, &new_key, &new_cert, true, true).unwrap();
    let verdict = lenient
        .post_response_xml(&signed, Some("https://site.example.net"))
        .await
        .unwrap();
    assert!(verdict.ok, "{verdict:?}");
    assert_eq!(verdict.in_response_to, None);
    unsolicited.destination = sp.acs_url().into();
    let signed = sign_saml_response(&unsolicited, &new_key, &new_cert, true, true).unwrap();
    assert!(!sp.post_response_xml(&signed, None).await.unwrap().ok);
}
