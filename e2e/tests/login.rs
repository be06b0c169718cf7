//! The brokered login end to end: the real `rosetta` binary between a real OpenID provider
//! (npm `oidc-provider`) and an independent SAML SP validator (`@node-saml/node-saml`),
//! with a cookie-keeping HTTP user agent that resolves `*.localhost` as browsers do.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rosetta_e2e::second_factor::{codes_in, now_unix, require_end_user_mfa, text_of, totp_code};
use rosetta_e2e::world::{World, rows_when, run, world, world_with};
use rosetta_e2e::{OidcAccount, Rosetta, SamlSp, Stack};
use sea_orm::ConnectionTrait;

/// A browser: cookie jar, no automatic redirects, `*.localhost` names on loopback.
fn browser(port: u16) -> reqwest::Client {
    browser_via(
        port,
        [127, 0, 0, 1],
        std::sync::Arc::new(reqwest::cookie::Jar::default()),
    )
}

/// A browser whose `*.localhost` names resolve to `ip`, with a given cookie jar (two of
/// them sharing a jar are one browser reaching two replicas).
fn browser_via(port: u16, ip: [u8; 4], jar: std::sync::Arc<reqwest::cookie::Jar>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none());
    for host in ["acme.localhost", "globex.localhost", "localhost"] {
        b = b.resolve(host, std::net::SocketAddr::from((ip, port)));
    }
    b.build().unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| {
            panic!("expected a redirect, got {}", res.status());
        })
}

/// The auto-post form Rosetta answers with: (action, SAMLResponse, RelayState).
fn form(html: &str) -> (String, String, Option<String>) {
    let attr = |name: &str| -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = html.find(&marker)? + marker.len();
        let end = html[start..].find('"')? + start;
        Some(unescape(&html[start..end]))
    };
    let start = html.find("action=\"").expect("a form") + 8;
    let end = html[start..].find('"').unwrap() + start;
    (
        unescape(&html[start..end]),
        attr("SAMLResponse").expect("SAMLResponse"),
        attr("RelayState"),
    )
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Rosetta's Prometheus exposition, when it was started with a metrics listener.
async fn metrics(w: &World) -> String {
    let listen = w
        .rosetta
        .env()
        .iter()
        .find(|(k, _)| k == "ROSETTA_METRICS_LISTEN")
        .map(|(_, v)| v.clone())
        .unwrap();
    reqwest::get(format!("http://{listen}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// SP-initiated login through the OP; returns the SP's verdict.
async fn login_via_op(w: &World, browser: &reqwest::Client, sp: &SamlSp, relay: &str) -> rosetta_e2e::SamlValidation {
    let res = browser.get(sp.login_url(relay)).send().await.unwrap();
    let sso = location(&res);
    assert!(
        sso.starts_with(&format!(
            "http://acme.localhost:{}/saml/sso?SAMLRequest=",
            w.rosetta.port()
        )),
        "{sso}"
    );
    let res = browser.get(&sso).send().await.unwrap();
    assert_eq!(res.status(), 302, "{}", w.rosetta.logs());
    let set_cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        set_cookie.starts_with("rosetta_login=")
            && set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Lax"),
        "the login is bound to this browser: {set_cookie}"
    );
    let authorize = location(&res);
    assert!(authorize.starts_with(w.op.issuer()), "to the provider: {authorize}");
    assert!(authorize.contains("code_challenge_method=S256"));
    let callback = w.op.scripted_login(browser, &authorize, "ada-sub").await.unwrap();
    let res = browser.get(callback.as_str()).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", w.rosetta.logs());
    let html = res.text().await.unwrap();
    // Nothing secret reaches the log: not the code, the state, the client secret, the
    // SAMLRequest nor the signed Response.
    let logs = w.rosetta.logs();
    let param = |name: &str| {
        callback
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    for secret in [
        param("code"),
        param("state"),
        "op-client-secret".to_owned(),
        form(&html).1,
    ] {
        assert!(!logs.contains(&secret), "the log holds a secret");
    }
    assert!(!logs.contains("SAMLRequest="), "query strings are not logged");
    post_to_sp(sp, &html).await
}

async fn post_to_sp(sp: &SamlSp, html: &str) -> rosetta_e2e::SamlValidation {
    let (action, response, relay) = form(html);
    assert_eq!(action, sp.acs_url(), "posted to the registered ACS only");
    sp.post_response(&response, relay.as_deref()).await.unwrap()
}

async fn full_login_story(stack: Stack) {
    let w = world(stack).await;
    let browser = browser(w.rosetta.port());

    // 1. SP-initiated (HTTP-Redirect) through the OP; the SP validates independently.
    let verdict = login_via_op(&w, &browser, &w.jira, "https://acme.atlassian.net/jira?x=<1>&y=\"2\"").await;
    assert!(verdict.ok, "{:?}\n{}", verdict.error, w.rosetta.logs());
    assert_eq!(verdict.name_id.as_deref(), Some("ada@acme.example"));
    assert_eq!(
        verdict.relay_state.as_deref(),
        Some("https://acme.atlassian.net/jira?x=<1>&y=\"2\""),
        "RelayState verbatim"
    );
    let claims = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/";
    assert_eq!(
        verdict.attribute(&format!("{claims}emailaddress")),
        ["ada@acme.example"]
    );
    assert_eq!(verdict.attribute(&format!("{claims}givenname")), ["Ada"]);
    assert_eq!(verdict.attribute(&format!("{claims}surname")), ["Lovelace"]);
    assert_eq!(verdict.attribute(&format!("{claims}name")).len(), 1, "a stable ID");

    // 2. A second SP in the same browser: the broker session answers, no OP round trip.
    let res = browser.get(w.wiki.login_url("wiki-relay")).send().await.unwrap();
    let res = browser.get(location(&res)).send().await.unwrap();
    assert_eq!(res.status(), 200, "answered from the broker session");
    let verdict = post_to_sp(&w.wiki, &res.text().await.unwrap()).await;
    assert!(verdict.ok, "{:?}", verdict.error);
    assert_eq!(verdict.relay_state.as_deref(), Some("wiki-relay"));

    // 2b. ForceAuthn: the broker session is not enough, the provider is asked to log in anew.
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    let xml = format!(
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ForceAuthn=\"true\" \
AssertionConsumerServiceURL=\"{}\" ID=\"_force1\" IssueInstant=\"{now}\" Version=\"2.0\">\
<saml:Issuer xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">https://jira.example/saml</saml:Issuer>\
</samlp:AuthnRequest>",
        w.jira.acs_url()
    );
    let mut deflater = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut deflater, xml.as_bytes()).unwrap();
    let param: String =
        url::form_urlencoded::byte_serialize(base64_encode(&deflater.finish().unwrap()).as_bytes()).collect();
    let res = browser
        .get(format!(
            "http://acme.localhost:{}/saml/sso?SAMLRequest={param}",
            w.rosetta.port()
        ))
        .send()
        .await
        .unwrap();
    let authorize = location(&res);
    assert!(
        authorize.starts_with(w.op.issuer()) && authorize.contains("prompt=login"),
        "{authorize}"
    );

    // 3. IdP-initiated SSO with the site URL as RelayState: no InResponseTo.
    let url = format!(
        "http://acme.localhost:{}/saml/init/wiki?RelayState=https://acme.atlassian.net",
        w.rosetta.port()
    );
    let res = browser.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let verdict = post_to_sp(&w.wiki, &res.text().await.unwrap()).await;
    assert!(verdict.ok, "{:?}", verdict.error);
    assert_eq!(verdict.in_response_to, None);
    assert_eq!(verdict.relay_state.as_deref(), Some("https://acme.atlassian.net"));

    // 4. Tenant isolation: acme's SP gets nothing from globex's host.
    let res = browser.get(w.jira.login_url("x")).send().await.unwrap();
    let foreign = location(&res).replace("acme.localhost", "globex.localhost");
    let res = browser.get(foreign).send().await.unwrap();
    assert_eq!(res.status(), 400, "an SP of another tenant is refused locally");
    assert!(!res.text().await.unwrap().contains("SAMLResponse"));

    // 5. The provider rotates its signing key between two logins: a new browser logs in
    //    (Rosetta refetches the JWKS once) without a restart.
    w.op.rotate_keys(false).await.unwrap();
    let fresh = self::browser(w.rosetta.port());
    let verdict = login_via_op(&w, &fresh, &w.jira, "after-rotation").await;
    assert!(verdict.ok, "{:?}\n{}", verdict.error, w.rosetta.logs());

    // 6. An AuthnRequest is single use: replaying the same one is refused locally.
    let res = fresh.get(w.jira.login_url("again")).send().await.unwrap();
    let sso = location(&res);
    assert_eq!(
        fresh.get(&sso).send().await.unwrap().status(),
        200,
        "answered from the broker session"
    );
    let replay = fresh.get(&sso).send().await.unwrap();
    assert_eq!(replay.status(), 400);
    assert!(replay.text().await.unwrap().contains("already used"));

    // 7. Every login is in the audit log (with the source and SP, never a token), and the
    //    user is recorded once, keyed on issuer + sub.
    let db = sea_orm::Database::connect(w.stack.database.url()).await.unwrap();
    let rows = rows_when(
        &db,
        "SELECT outcome, actor, target, detail FROM audit_event WHERE action = 'login'",
        |rows| rows.len() >= 5,
    )
    .await;
    let successes = rows
        .iter()
        .filter(|r| r.try_get::<String>("", "outcome").is_ok_and(|o| o == "success"))
        .count();
    assert_eq!(
        successes, 5,
        "two upstream logins, two broker-session answers, one IdP-initiated"
    );
    for row in &rows {
        let detail: String = row.try_get("", "detail").unwrap();
        assert!(!detail.contains("code") && !detail.contains("token"), "{detail}");
    }
    let users = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT email FROM end_user".to_owned(),
        ))
        .await
        .unwrap();
    assert_eq!(users.len(), 1);

    // 8. The same count in the metrics.
    let text = metrics(&w).await;
    let successes: f64 = text
        .lines()
        .filter(|l| {
            l.starts_with("rosetta_logins_total{") && l.contains("outcome=\"success\"") && l.contains("tenant=\"acme\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(successes, 5.0, "{text}");
    assert!(
        text.contains("source=\"corp\",sp=\"https://jira.example/saml\""),
        "by SP and source: {text}"
    );
    assert!(
        text.contains("rosetta_login_duration_seconds_count 2"),
        "two logins went through the provider: {text}"
    );
    assert!(
        text.contains("rosetta_upstream_duration_seconds_count{step=\"finish_login\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("rosetta_store_duration_seconds_count{op=\"take\"}"),
        "{text}"
    );
    assert!(
        text.contains("rosetta_pending_logins 1"),
        "only step 2b's ForceAuthn login waits at the provider: {text}"
    );
    // A login left at the provider's form is pending.
    let abandoned = self::browser(w.rosetta.port());
    let res = abandoned.get(w.jira.login_url("abandoned")).send().await.unwrap();
    assert_eq!(abandoned.get(location(&res)).send().await.unwrap().status(), 302);
    assert!(metrics(&w).await.contains("rosetta_pending_logins 2"));
}

#[tokio::test]
async fn brokered_login_on_sqlite_and_memory() {
    full_login_story(Stack::embedded()).await;
}

#[tokio::test]
async fn brokered_login_on_postgres_and_redis() {
    if let Some(stack) = Stack::external().await {
        full_login_story(stack).await;
    }
}

#[tokio::test]
async fn a_replayed_callback_or_a_foreign_browser_gets_no_assertion() {
    let w = world(Stack::embedded()).await;
    let ada = browser(w.rosetta.port());
    let res = ada.get(w.jira.login_url("r")).send().await.unwrap();
    let res = ada.get(location(&res)).send().await.unwrap();
    let authorize = location(&res);
    let callback = w.op.scripted_login(&ada, &authorize, "ada-sub").await.unwrap();

    // Another browser presenting Ada's callback: bound to Ada's browser, refused, and the
    // pending login is consumed so Ada's own browser cannot be raced either.
    let mallory = browser(w.rosetta.port());
    let res = mallory.get(callback.as_str()).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let body = res.text().await.unwrap();
    assert!(
        !body.contains("SAMLResponse") && body.contains("another browser"),
        "{body}"
    );

    let res = ada.get(callback.as_str()).send().await.unwrap();
    assert_eq!(res.status(), 400, "single use");
    assert!(res.text().await.unwrap().contains("expired or was already completed"));
}

#[tokio::test]
async fn post_binding_and_home_realm_discovery() {
    let w = world(Stack::embedded()).await;
    let port = w.rosetta.port();

    // A second source makes Rosetta ask for the email address first.
    let secret = w.rosetta.data_dir().join("other-secret");
    std::fs::write(&secret, "other\n").unwrap();
    let add = [
        "source",
        "add",
        "acme",
        "--name",
        "other",
        "--issuer",
        w.op.issuer(),
        "--client-id",
        "other",
        "--client-secret-file",
        secret.to_str().unwrap(),
        "--domains",
        "other.example",
        "--json",
    ];
    run(&w.rosetta, w.rosetta.env(), &add).await;

    // The SP's request, re-sent with the HTTP-POST binding (base64, no DEFLATE).
    let ua = browser(port);
    let res = ua.get(w.jira.login_url("post-relay")).send().await.unwrap();
    let redirect = url::Url::parse(&location(&res)).unwrap();
    let deflated = redirect
        .query_pairs()
        .find(|(k, _)| k == "SAMLRequest")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::DeflateDecoder::new(&base64_decode(&deflated)[..]),
        &mut xml,
    )
    .unwrap();
    let sso = format!("http://acme.localhost:{port}/saml/sso");
    let res = ua
        .post(&sso)
        .form(&[
            ("SAMLRequest", base64_encode(xml.as_bytes())),
            ("RelayState", "post-relay".to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", w.rosetta.logs());
    let page = res.text().await.unwrap();
    assert!(page.contains("name=\"email\""), "the source chooser: {page}");
    let marker = "name=\"r\" value=\"";
    let start = page.find(marker).unwrap() + marker.len();
    let request = page[start..start + page[start..].find('"').unwrap()].to_owned();

    let login = format!("http://acme.localhost:{port}/login");
    let res = ua
        .post(&login)
        .form(&[("r", request.as_str()), ("email", "eve@unknown.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("No sign-in is set up for that email address")
    );

    let res = ua
        .post(&login)
        .form(&[("r", request.as_str()), ("email", "ada@ACME.example")])
        .send()
        .await
        .unwrap();
    let authorize = location(&res);
    assert!(
        authorize.contains("client_id=rosetta"),
        "the source of acme.example: {authorize}"
    );
    let callback = w.op.scripted_login(&ua, &authorize, "ada-sub").await.unwrap();
    let res = ua.get(callback.as_str()).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", w.rosetta.logs());
    let verdict = post_to_sp(&w.jira, &res.text().await.unwrap()).await;
    assert!(verdict.ok, "{:?}", verdict.error);
    assert_eq!(verdict.relay_state.as_deref(), Some("post-relay"));

    let res = ua
        .post(&login)
        .form(&[("r", request.as_str()), ("email", "ada@acme.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "a chooser request is used once");
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[tokio::test]
async fn replicas_share_nothing_but_postgres_and_redis() {
    let Some(stack) = Stack::external().await else { return };
    // Every replica must hold the same master key; each has its own data directory.
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let mut env = stack.env();
    env.push(("ROSETTA_MASTER_KEY".into(), base64_encode(&key)));
    let first = Rosetta::start(&env).await;
    let second = Rosetta::start_replica(&first, &env).await;
    let port = first.port();
    let w = world_with(first, stack).await;

    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let via_first = browser_via(port, [127, 0, 0, 1], jar.clone());
    let via_second = browser_via(port, [127, 0, 0, 2], jar);

    // The login starts on replica 1 (AuthnRequest, pending login in Redis)...
    let res = via_first.get(w.jira.login_url("replicas")).send().await.unwrap();
    let res = via_first.get(location(&res)).send().await.unwrap();
    assert_eq!(res.status(), 302, "{}", w.rosetta.logs());
    let authorize = location(&res);
    let callback = w.op.scripted_login(&via_first, &authorize, "ada-sub").await.unwrap();
    // ...and completes on replica 2 (callback; signing key from PostgreSQL, opened with the
    // shared master key).
    let res = via_second.get(callback.as_str()).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", second.logs());
    assert!(
        second.logs().contains("/oidc/callback/corp"),
        "replica 2 served the callback"
    );
    let verdict = post_to_sp(&w.jira, &res.text().await.unwrap()).await;
    assert!(verdict.ok, "{:?}", verdict.error);

    // The broker session opened by replica 2 is honoured by replica 1.
    let res = via_first.get(w.wiki.login_url("again")).send().await.unwrap();
    let res = via_first.get(location(&res)).send().await.unwrap();
    assert_eq!(res.status(), 200, "answered from the shared broker session");
    let verdict = post_to_sp(&w.wiki, &res.text().await.unwrap()).await;
    assert!(verdict.ok, "{:?}", verdict.error);
}

/// XML signature wrapping (XSW1–8, after "On Breaking SAML") and friends, applied to
/// Rosetta's own signed responses: the independent validator must accept the original and
/// reject every mutation, and the forged NameID must never come out.
#[tokio::test]
async fn signature_wrapping_mutations_are_rejected_by_the_validator() {
    let w = world(Stack::embedded()).await;
    let ua = browser(w.rosetta.port());
    let first = login_via_op(&w, &ua, &w.jira, "start").await;
    assert!(first.ok, "{:?}", first.error);

    // IdP-initiated responses to `wiki` (no InResponseTo), fresh for each attempt.
    let fresh = || async {
        let url = format!("http://acme.localhost:{}/saml/init/wiki", w.rosetta.port());
        let html = ua.get(url).send().await.unwrap().text().await.unwrap();
        String::from_utf8(base64_decode(&form(&html).1)).unwrap()
    };
    let original = fresh().await;
    let verdict = w.wiki.post_response_xml(&original, None).await.unwrap();
    assert!(verdict.ok, "the untouched response is accepted: {:?}", verdict.error);

    type Mutation = fn(&str) -> String;
    let mutations: Vec<(&str, Mutation)> = vec![
        ("XSW1 signed Response moved into the evil Response's Signature", xsw1),
        ("XSW2 signed Response placed before the evil Response's Signature", xsw2),
        ("XSW3 evil Assertion before the signed one", xsw3),
        ("XSW4 signed Assertion wrapped inside the evil one", xsw4),
        ("XSW5 signature moved to the evil Assertion, original appended", xsw5),
        ("XSW6 signed Assertion inside the evil Assertion's Signature", xsw6),
        ("XSW7 signed Assertion hidden in an Extensions element", xsw7),
        ("XSW8 signed Assertion hidden in a ds:Object", xsw8),
        ("comment injected in NameID", comment_in_name_id),
        ("second, unsigned Assertion appended", duplicate_assertion),
        ("second Signature in the Response", second_signature),
        ("NameID changed", |x| x.replace("ada@acme.example", "eve@acme.example")),
    ];
    for (what, mutate) in mutations {
        let xml = mutate(&fresh().await);
        // Well-formed, so a rejection is the validator's judgement and not a parse error.
        if let Err(e) = roxmltree::Document::parse(&xml) {
            panic!("{what}: the mutation is not well-formed XML: {e}");
        }
        let verdict = w.wiki.post_response_xml(&xml, None).await.unwrap();
        assert!(!verdict.ok, "{what}: accepted as {:?}", verdict.name_id);
        assert_ne!(verdict.name_id.as_deref(), Some("eve@acme.example"), "{what}");
    }
}

/// The signed Assertion of a response, and the response without it.
fn split_assertion(xml: &str) -> (String, String) {
    let start = xml.find("<saml:Assertion").unwrap();
    let end = xml.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    (xml[start..end].to_owned(), format!("{}{}", &xml[..start], &xml[end..]))
}

/// An unsigned copy of an Assertion naming Eve, with a new ID.
fn evil_assertion(assertion: &str) -> String {
    let sig_start = assertion.find("<ds:Signature").unwrap();
    let sig_end = assertion.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let unsigned = format!("{}{}", &assertion[..sig_start], &assertion[sig_end..]);
    let id_start = unsigned.find(" ID=\"").unwrap() + 5;
    let id_end = unsigned[id_start..].find('"').unwrap() + id_start;
    format!("{}_evil{}", &unsigned[..id_start], &unsigned[id_end..]).replace("ada@acme.example", "eve@acme.example")
}

fn evil_response(xml: &str) -> String {
    let (assertion, rest) = split_assertion(xml);
    let close = rest.rfind("</samlp:Response>").unwrap();
    let with_evil = format!("{}{}{}", &rest[..close], evil_assertion(&assertion), &rest[close..]);
    let id_start = with_evil.find(" ID=\"").unwrap() + 5;
    let id_end = with_evil[id_start..].find('"').unwrap() + id_start;
    format!("{}_evilresponse{}", &with_evil[..id_start], &with_evil[id_end..])
}

fn xsw1(xml: &str) -> String {
    let evil = evil_response(xml);
    let at = evil.find("</ds:Signature>").unwrap();
    format!("{}{xml}{}", &evil[..at], &evil[at..])
}

fn xsw2(xml: &str) -> String {
    let evil = evil_response(xml);
    let at = evil.find("<ds:Signature").unwrap();
    format!("{}{xml}{}", &evil[..at], &evil[at..])
}

fn xsw3(xml: &str) -> String {
    let (assertion, _) = split_assertion(xml);
    let at = xml.find("<saml:Assertion").unwrap();
    format!("{}{}{}", &xml[..at], evil_assertion(&assertion), &xml[at..])
}

fn xsw4(xml: &str) -> String {
    let (assertion, _) = split_assertion(xml);
    let evil = evil_assertion(&assertion);
    let close = evil.rfind("</saml:Assertion>").unwrap();
    let wrapped = format!("{}{assertion}{}", &evil[..close], &evil[close..]);
    xml.replace(&assertion, &wrapped)
}

fn xsw5(xml: &str) -> String {
    let (assertion, _) = split_assertion(xml);
    let sig_start = assertion.find("<ds:Signature").unwrap();
    let sig_end = assertion.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let signature = &assertion[sig_start..sig_end];
    let evil = evil_assertion(&assertion);
    let issuer_end = evil.find("</saml:Issuer>").unwrap() + "</saml:Issuer>".len();
    let evil_signed = format!("{}{signature}{}", &evil[..issuer_end], &evil[issuer_end..]);
    let unsigned_original = format!("{}{}", &assertion[..sig_start], &assertion[sig_end..]);
    xml.replace(&assertion, &format!("{evil_signed}{unsigned_original}"))
}

fn xsw6(xml: &str) -> String {
    let (assertion, _) = split_assertion(xml);
    let sig_start = assertion.find("<ds:Signature").unwrap();
    let sig_end = assertion.find("</ds:Signature>").unwrap();
    let signature_open = &assertion[sig_start..sig_end];
    let evil = evil_assertion(&assertion);
    let issuer_end = evil.find("</saml:Issuer>").unwrap() + "</saml:Issuer>".len();
    let evil_with_sig = format!(
        "{}{signature_open}{assertion}</ds:Signature>{}",
        &evil[..issuer_end],
        &evil[issuer_end..]
    );
    xml.replace(&assertion, &evil_with_sig)
}

fn xsw7(xml: &str) -> String {
    let (assertion, _) = split_assertion(xml);
    let wrapped = format!(
        "<samlp:Extensions>{assertion}</samlp:Extensions>{}",
        evil_assertion(&assertion)
    );
    xml.replace(&assertion, &wrapped)
}

fn xsw8(xml: &str) -> String {
    let (assertion, _) = split_assertion(xml);
    let evil = evil_assertion(&assertion);
    let sig_start = assertion.find("<ds:Signature").unwrap();
    let sig_end = assertion.find("</ds:Signature>").unwrap();
    let unsigned_original = format!(
        "{}{}",
        &assertion[..sig_start],
        &assertion[sig_end + "</ds:Signature>".len()..]
    );
    let signature_with_object = format!(
        "{}<ds:Object>{unsigned_original}</ds:Object></ds:Signature>",
        &assertion[sig_start..sig_end]
    );
    let issuer_end = evil.find("</saml:Issuer>").unwrap() + "</saml:Issuer>".len();
    let evil_signed = format!("{}{signature_with_object}{}", &evil[..issuer_end], &evil[issuer_end..]);
    xml.replace(&assertion, &evil_signed)
}

fn comment_in_name_id(xml: &str) -> String {
    xml.replace(
        "ada@acme.example</saml:NameID>",
        "ada@acme.example<!---->.evil.example</saml:NameID>",
    )
}

fn duplicate_assertion(xml: &str) -> String {
    let (assertion, _) = split_assertion(xml);
    xml.replace(
        "</samlp:Response>",
        &format!("{}</samlp:Response>", evil_assertion(&assertion)),
    )
}

fn second_signature(xml: &str) -> String {
    let sig_start = xml.find("<ds:Signature").unwrap();
    let sig_end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let signature = &xml[sig_start..sig_end];
    xml.replacen(signature, &format!("{signature}{signature}"), 1)
}

/// Refusals at the callback, with the real provider: unverified email, a look-alike domain,
/// a blocked user. Each gets a clear page and no assertion; the refusal is audited.
#[tokio::test]
async fn the_callback_refuses_unverified_foreign_and_blocked_users() {
    let w = world(Stack::embedded()).await;
    let unverified = OidcAccount {
        email_verified: Some(false),
        ..OidcAccount::verified("bob-sub", "bob@acme.example", "Bob", "B")
    };
    w.op.add_account(&unverified).await.unwrap();
    // `victim@acme.example.evil.example` must never pass for acme.example.
    w.op.add_account(&OidcAccount::verified(
        "mal-sub",
        "victim@acme.example.evil.example",
        "M",
        "M",
    ))
    .await
    .unwrap();

    async fn attempt(w: &World, login: &str) -> (u16, String) {
        let ua = browser(w.rosetta.port());
        let res = ua.get(w.jira.login_url("r")).send().await.unwrap();
        let res = ua.get(location(&res)).send().await.unwrap();
        let callback = w.op.scripted_login(&ua, &location(&res), login).await.unwrap();
        let res = ua.get(callback.as_str()).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    let (status, page) = attempt(&w, "bob-sub").await;
    assert_eq!(status, 400);
    assert!(
        !page.contains("SAMLResponse") && page.contains("quote this reference"),
        "{page}"
    );

    let (status, page) = attempt(&w, "mal-sub").await;
    assert_eq!(status, 400);
    assert!(!page.contains("SAMLResponse"), "{page}");

    let (status, _) = attempt(&w, "ada-sub").await;
    assert_eq!(status, 200, "ada gets in");
    let db = sea_orm::Database::connect(w.stack.database.url()).await.unwrap();
    db.execute_unprepared("UPDATE end_user SET status = 'blocked'")
        .await
        .unwrap();
    let (status, page) = attempt(&w, "ada-sub").await;
    assert_eq!(status, 403);
    assert!(page.contains("blocked") && !page.contains("SAMLResponse"), "{page}");

    let failures = rows_when(
        &db,
        "SELECT detail FROM audit_event WHERE action = 'login' AND outcome = 'failure'",
        |rows| rows.len() >= 3,
    )
    .await;
    assert_eq!(failures.len(), 3, "each refusal is in the audit log with its reason");
}

/// The whole login in a real browser (headless Chromium over WebDriver): the SP's login
/// link, the provider's form, Rosetta's auto-submitting page (JavaScript allowed by its CSP
/// hash), and the SP's verdict. Screenshots land in `target/e2e-artifacts/`.
#[tokio::test]
async fn a_real_browser_logs_in_through_rosetta() {
    let w = world(Stack::embedded()).await;
    let browser = rosetta_e2e::Browser::start()
        .await
        .expect("chromium and chromedriver (apt-get install chromium chromium-driver)");
    browser
        .goto(&w.jira.login_url("https://acme.atlassian.net/"))
        .await
        .unwrap();
    browser
        .wait_for_url(w.op.issuer(), std::time::Duration::from_secs(20))
        .await
        .unwrap();
    browser.screenshot("login-1-provider-form").await.unwrap();
    browser.type_into("input[name=login]", "ada-sub").await.unwrap();
    browser.click("button, input[type=submit]").await.unwrap();
    browser
        .wait_for_url(w.jira.acs_url(), std::time::Duration::from_secs(20))
        .await
        .unwrap();
    browser.screenshot("login-2-sp-verdict").await.unwrap();
    let page = browser.source().await.unwrap();
    assert!(
        page.contains("\"ok\":true") && page.contains("ada@acme.example"),
        "{page}"
    );
    assert!(
        page.contains("https://acme.atlassian.net/"),
        "RelayState came back: {page}"
    );
}

/// With `OTEL_EXPORTER_OTLP_ENDPOINT` set, the spans of a login reach an OTLP collector
/// (flushed at shutdown), named after the protocol steps, and carry no secret.
#[tokio::test]
async fn login_spans_reach_an_otlp_collector_without_secrets() {
    let collector = rosetta_e2e::OtlpCollector::start().await.unwrap();
    let stack = Stack::embedded();
    let mut env = stack.env();
    env.push(("OTEL_EXPORTER_OTLP_ENDPOINT".into(), collector.endpoint()));
    env.push(("OTEL_EXPORTER_OTLP_PROTOCOL".into(), "http/json".into()));
    let rosetta = Rosetta::start(&env).await;
    let mut w = world_with(rosetta, stack).await;
    let ua = browser(w.rosetta.port());
    let res = ua.get(w.jira.login_url("otel")).send().await.unwrap();
    let res = ua.get(location(&res)).send().await.unwrap();
    let callback = w.op.scripted_login(&ua, &location(&res), "ada-sub").await.unwrap();
    let page = ua.get(callback.as_str()).send().await.unwrap().text().await.unwrap();
    assert!(post_to_sp(&w.jira, &page).await.ok);

    w.rosetta.terminate();
    let status = w
        .rosetta
        .wait_exit(std::time::Duration::from_secs(40))
        .await
        .expect("exits");
    assert!(status.success());

    let received = collector.received();
    assert!(
        received.iter().all(|(path, _)| path == "/v1/traces"),
        "{:?}",
        received.iter().map(|r| &r.0).collect::<Vec<_>>()
    );
    let text: String = received
        .iter()
        .map(|(_, body)| String::from_utf8_lossy(body).into_owned())
        .collect();
    let mut names = std::collections::BTreeSet::new();
    let mut trace_of = std::collections::BTreeMap::new();
    for (_, body) in &received {
        let doc: serde_json::Value = serde_json::from_slice(body).unwrap();
        for rs in doc["resourceSpans"].as_array().into_iter().flatten() {
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for span in ss["spans"].as_array().into_iter().flatten() {
                    let name = span["name"].as_str().unwrap_or_default().to_owned();
                    trace_of.insert(name.clone(), span["traceId"].as_str().unwrap_or_default().to_owned());
                    names.insert(name);
                }
            }
        }
    }
    for step in [
        "request",
        "authn_request",
        "start_login",
        "callback",
        "finish_login",
        "respond",
        "saml_parse",
        "exchange_code",
        "id_token_validate",
        "assertion_sign",
    ] {
        assert!(names.contains(step), "no `{step}` span in {names:?}");
    }
    // One trace per login: what the callback does continues the trace of the SP's request.
    assert_eq!(trace_of["finish_login"], trace_of["authn_request"], "{trace_of:?}");
    assert_eq!(trace_of["respond"], trace_of["authn_request"]);
    assert!(
        w.rosetta.logs().contains(&trace_of["authn_request"]),
        "trace IDs in the log"
    );
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    for secret in [code.as_str(), "op-client-secret", form(&page).1.as_str()] {
        assert!(!text.contains(secret), "a span holds a secret");
    }
}

/// How long a browser step may take.
const LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

/// From the SP's login link through the provider's form, in a fresh browser, to the
/// page Rosetta shows next.
async fn browser_login(w: &World, shot: &str) -> rosetta_e2e::Browser {
    let browser = rosetta_e2e::Browser::start()
        .await
        .expect("chromium and chromedriver (apt-get install chromium chromium-driver)");
    browser.goto(&w.jira.login_url("mfa-relay")).await.unwrap();
    browser
        .wait_for_url(w.op.issuer(), std::time::Duration::from_secs(20))
        .await
        .unwrap();
    browser.type_into("input[name=login]", "ada-sub").await.unwrap();
    browser.click("button, input[type=submit]").await.unwrap();
    let mfa = format!("http://acme.localhost:{}/mfa", w.rosetta.port());
    browser
        .wait_for_url(&mfa, std::time::Duration::from_secs(20))
        .await
        .unwrap();
    browser.screenshot(shot).await.unwrap();
    browser
}

async fn wait_for_sp(w: &World, browser: &rosetta_e2e::Browser, shot: &str) -> String {
    browser
        .wait_for_url(w.jira.acs_url(), std::time::Duration::from_secs(20))
        .await
        .unwrap();
    browser.screenshot(shot).await.unwrap();
    browser.source().await.unwrap()
}

/// End-user TOTP in a real browser: the first login enrols (secret read from the page,
/// codes computed like an app), the SP gets an assertion only after it; the next login
/// verifies; a replayed code is refused; a recovery code works once; a reset of the
/// user's factor makes them enrol again.
#[tokio::test]
async fn end_user_totp_in_a_real_browser() {
    let w = world(Stack::embedded()).await;
    require_end_user_mfa(&w).await;

    // 1. Enrolment.
    let b = browser_login(&w, "mfa-1-enrol").await;
    let page = b.source().await.unwrap();
    assert!(
        page.contains("Set up two-step sign-in") && page.contains("data:image/svg+xml;base64,"),
        "{page}"
    );
    assert!(page.contains("autocomplete=\"one-time-code\""), "{page}");
    let secret = text_of(&page, "totp-secret");
    assert!(
        w.jira.last().await.unwrap().is_none(),
        "nothing reaches the SP before the second factor"
    );
    b.type_into("#code", "000000").await.unwrap();
    b.click("form button").await.unwrap();
    b.wait_for_text("That code is not right", LIMIT).await.unwrap();
    let t0 = now_unix();
    b.type_into("#code", &totp_code(&secret, t0)).await.unwrap();
    b.click("form button").await.unwrap();
    let page = b.wait_for_text("Save your recovery codes", LIMIT).await.unwrap();
    b.screenshot("mfa-2-recovery-codes").await.unwrap();
    let recovery = codes_in(&page, "recovery-codes");
    assert_eq!(recovery.len(), 10, "{page}");
    b.click("form button").await.unwrap();
    let verdict = wait_for_sp(&w, &b, "mfa-3-sp").await;
    assert!(
        verdict.contains("\"ok\":true") && verdict.contains("ada@acme.example"),
        "{verdict}"
    );
    drop(b);

    // 2. The next login asks for a code (the next time step: newer than the last one used).
    let b = browser_login(&w, "mfa-4-verify").await;
    let page = b.source().await.unwrap();
    assert!(
        page.contains("Two-step sign-in") && page.contains("recovery codes"),
        "{page}"
    );
    let next = totp_code(&secret, t0 + 30);
    b.type_into("#code", &next).await.unwrap();
    b.click("form button").await.unwrap();
    let verdict = wait_for_sp(&w, &b, "mfa-5-sp").await;
    assert!(verdict.contains("\"ok\":true"), "{verdict}");
    drop(b);

    // 3. The same code again is refused; a recovery code works, once.
    let b = browser_login(&w, "mfa-6-replay").await;
    b.type_into("#code", &next).await.unwrap();
    b.click("form button").await.unwrap();
    b.wait_for_text("was already used", LIMIT).await.unwrap();
    b.type_into("#code", &recovery[0].to_uppercase()).await.unwrap();
    b.click("form button").await.unwrap();
    let verdict = wait_for_sp(&w, &b, "mfa-7-recovery").await;
    assert!(verdict.contains("\"ok\":true"), "{verdict}");
    drop(b);
    let b = browser_login(&w, "mfa-8-recovery-reused").await;
    b.type_into("#code", &recovery[0]).await.unwrap();
    b.click("form button").await.unwrap();
    b.wait_for_text("was already used", LIMIT).await.unwrap();
    drop(b);

    // 4. The admin resets the factor (the API's reset-mfa clears these columns): enrol again.
    let db = sea_orm::Database::connect(w.stack.database.url()).await.unwrap();
    db.execute_unprepared(
        "UPDATE end_user SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL, recovery_codes = NULL",
    )
    .await
    .unwrap();
    let b = browser_login(&w, "mfa-9-enrol-again").await;
    assert!(b.source().await.unwrap().contains("Set up two-step sign-in"));
}

/// A login whose parked second-factor step expires gets a clear page and no assertion.
#[tokio::test]
async fn an_expired_mfa_step_sends_nothing() {
    let Some(stack) = Stack::external().await else { return };
    let w = world(stack).await;
    require_end_user_mfa(&w).await;
    let browser = browser(w.rosetta.port());
    let res = browser.get(w.jira.login_url("x")).send().await.unwrap();
    let res = browser.get(location(&res)).send().await.unwrap();
    let callback = w.op.scripted_login(&browser, &location(&res), "ada-sub").await.unwrap();
    let res = browser.get(callback.as_str()).send().await.unwrap();
    assert_eq!(res.status(), 303, "{}", w.rosetta.logs());
    assert_eq!(location(&res), "/mfa");
    let mfa = format!("http://acme.localhost:{}/mfa", w.rosetta.port());
    let page = browser.get(&mfa).send().await.unwrap().text().await.unwrap();
    let secret = text_of(&page, "totp-secret");
    // The parked login expires (its TTL passes): here its key is removed from Redis.
    let redis = w.stack.redis.as_ref().unwrap();
    let parked: Vec<String> = redis
        .keys()
        .into_iter()
        .filter(|k| k.contains(":t:acme:mfa:"))
        .collect();
    assert_eq!(parked.len(), 1, "{parked:?}");
    let mut conn = redis::Client::open(redis.url()).unwrap().get_connection().unwrap();
    let _: () = redis::cmd("DEL").arg(&parked[0]).query(&mut conn).unwrap();
    let res = browser
        .post(&mfa)
        .header("origin", format!("http://acme.localhost:{}", w.rosetta.port()))
        .form(&[("action", "enrol"), ("code", &totp_code(&secret, now_unix()))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(page.contains("expired") && page.contains("Nothing was sent"), "{page}");
    assert!(!page.contains("SAMLResponse"), "no assertion");
    assert!(w.jira.last().await.unwrap().is_none(), "no assertion reached the SP");
}

/// Under an optional policy a user may choose "set up later"; the broker session then
/// remembers the choice (and, once passed, the factor) for the tenant's other SPs.
#[tokio::test]
async fn optional_mfa_can_be_skipped_for_the_session() {
    // The test changes an SP in the database mid-way: no configuration cache.
    let stack = Stack::embedded();
    let mut env = stack.env();
    env.push(("ROSETTA_CONFIG_CACHE_TTL_SECS".into(), "0".into()));
    let w = world_with(Rosetta::start(&env).await, stack).await;
    let db = sea_orm::Database::connect(w.stack.database.url()).await.unwrap();
    db.execute_unprepared("UPDATE tenant SET end_user_mfa = 'optional' WHERE slug = 'acme'")
        .await
        .unwrap();
    let browser = browser(w.rosetta.port());
    let res = browser.get(w.jira.login_url("skip")).send().await.unwrap();
    let res = browser.get(location(&res)).send().await.unwrap();
    let callback = w.op.scripted_login(&browser, &location(&res), "ada-sub").await.unwrap();
    let res = browser.get(callback.as_str()).send().await.unwrap();
    assert_eq!(res.status(), 303, "{}", w.rosetta.logs());
    let mfa = format!("http://acme.localhost:{}/mfa", w.rosetta.port());
    let page = browser.get(&mfa).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Set up later"), "{page}");
    let origin = format!("http://acme.localhost:{}", w.rosetta.port());
    // A post from another site is refused.
    let res = browser
        .post(&mfa)
        .header("origin", "https://evil.example")
        .form(&[("action", "skip")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = browser
        .post(&mfa)
        .header("origin", &origin)
        .form(&[("action", "skip")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let verdict = post_to_sp(&w.jira, &res.text().await.unwrap()).await;
    assert!(verdict.ok, "{:?}", verdict.error);
    // The second SP: answered from the broker session, no second-factor page.
    let res = browser.get(w.wiki.login_url("wiki")).send().await.unwrap();
    let res = browser.get(location(&res)).send().await.unwrap();
    assert_eq!(res.status(), 200, "no MFA step within the session");
    let verdict = post_to_sp(&w.wiki, &res.text().await.unwrap()).await;
    assert!(verdict.ok, "{:?}", verdict.error);
    // A required policy on one SP overrides the tenant's: the session's skip does not count.
    db.execute_unprepared("UPDATE service_provider SET mfa_policy = 'required' WHERE name = 'wiki'")
        .await
        .unwrap();
    let res = browser.get(w.wiki.login_url("wiki")).send().await.unwrap();
    let res = browser.get(location(&res)).send().await.unwrap();
    assert_eq!(res.status(), 303, "the SP requires the factor");
    assert_eq!(location(&res), "/mfa");
    let page = browser.get(&mfa).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("Set up two-step sign-in") && !page.contains("Set up later"),
        "{page}"
    );
}

/// Hardening II, 6: an enrolment's seed belongs to the parked login that shows it. Someone
/// holding the user's provider credentials reaches the enrolment page first; the real user's
/// login then shows a seed of its own, and a code of the first seed confirms nothing there.
#[tokio::test]
async fn an_unconfirmed_enrolment_seed_stays_with_its_login() {
    let w = world(Stack::embedded()).await;
    require_end_user_mfa(&w).await;
    let mfa = format!("http://acme.localhost:{}/mfa", w.rosetta.port());
    let origin = format!("http://acme.localhost:{}", w.rosetta.port());
    async fn enrolment_page(w: &World, mfa: &str) -> (reqwest::Client, String) {
        let ua = browser(w.rosetta.port());
        let res = ua.get(w.jira.login_url("x")).send().await.unwrap();
        let res = ua.get(location(&res)).send().await.unwrap();
        let callback = w.op.scripted_login(&ua, &location(&res), "ada-sub").await.unwrap();
        let res = ua.get(callback.as_str()).send().await.unwrap();
        assert_eq!(location(&res), "/mfa");
        let page = ua.get(mfa).send().await.unwrap().text().await.unwrap();
        (ua, text_of(&page, "totp-secret"))
    }
    let (attacker, planted) = enrolment_page(&w, &mfa).await;
    // The attacker's page shows the same seed on reload (it is this login's).
    let again = attacker.get(&mfa).send().await.unwrap().text().await.unwrap();
    assert_eq!(text_of(&again, "totp-secret"), planted);
    let (user, own) = enrolment_page(&w, &mfa).await;
    assert_ne!(own, planted, "the real user's login never sees the planted seed");
    let res = user
        .post(&mfa)
        .header("origin", &origin)
        .form(&[("action", "enrol"), ("code", &totp_code(&planted, now_unix()))])
        .send()
        .await
        .unwrap();
    let page = res.text().await.unwrap();
    assert!(page.contains("not right") && !page.contains("recovery"), "{page}");
    let res = user
        .post(&mfa)
        .header("origin", &origin)
        .form(&[("action", "enrol"), ("code", &totp_code(&own, now_unix()))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text().await.unwrap().contains("recovery"),
        "enrolled with the own seed"
    );
    // The attacker's seed is worthless now: the account has its factor.
    let res = attacker
        .post(&mfa)
        .header("origin", &origin)
        .form(&[("action", "enrol"), ("code", &totp_code(&planted, now_unix()))])
        .send()
        .await
        .unwrap();
    assert!(!res.text().await.unwrap().contains("recovery codes"));
}
