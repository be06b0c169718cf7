//! The SSO endpoint against hostile and unusual AuthnRequests, in-process: what the browser
//! gets back (local page, or a signed SAML error for a trusted ACS) and that the server
//! stays up. The happy paths run against real peers in `e2e/tests/login.rs`.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::helpers::{ACS, SP, TestApp, add_atlassian_sp, spawn_app};

async fn app_with_sp() -> TestApp {
    let app = spawn_app(rosetta_e2e::Stack::embedded()).await;
    let acme = app.create_tenant("acme", "Acme").await;
    add_atlassian_sp(&app, acme.id).await;
    app
}

fn request(app: &TestApp, id: &str, extra_attrs: &str) -> String {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    format!(
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
AssertionConsumerServiceURL=\"{acs}\" Destination=\"http://acme.localhost:{port}/saml/sso\" ID=\"{id}\" \
IssueInstant=\"{now}\" ProtocolBinding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Version=\"2.0\"{extra_attrs}>\
<saml:Issuer xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">{SP}</saml:Issuer></samlp:AuthnRequest>",
        acs = ACS.replace('&', "&amp;"),
        port = app.port
    )
}

fn redirect_param(xml: &str) -> String {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(xml.as_bytes()).unwrap();
    let b64 = B64.encode(enc.finish().unwrap());
    url::form_urlencoded::byte_serialize(b64.as_bytes()).collect()
}

async fn sso(app: &TestApp, query: &str) -> reqwest::Response {
    app.get("acme.localhost:{port}", &format!("/saml/sso?{query}")).await
}

/// The SAML Response posted by an auto-submit page, decoded.
pub(crate) fn posted_response(page: &str) -> String {
    let marker = "name=\"SAMLResponse\" value=\"";
    let start = page.find(marker).expect("an auto-post form") + marker.len();
    let end = page[start..].find('"').unwrap() + start;
    String::from_utf8(B64.decode(&page[start..end]).unwrap()).unwrap()
}

#[tokio::test]
async fn is_passive_without_a_session_answers_no_passive() {
    let app = app_with_sp().await;
    let xml = request(&app, "_passive1", " IsPassive=\"true\"");
    let res = sso(&app, &format!("SAMLRequest={}&RelayState=rs", redirect_param(&xml))).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(
        page.contains(&format!("action=\"{}\"", ACS.replace('&', "&amp;"))),
        "posted to the trusted ACS"
    );
    let response = posted_response(&page);
    assert!(
        response.contains("urn:oasis:names:tc:SAML:2.0:status:NoPassive"),
        "{response}"
    );
    assert!(response.contains("InResponseTo=\"_passive1\""));
    assert!(!response.contains("Assertion"));
}

#[tokio::test]
async fn unsupported_binding_is_a_saml_error_to_a_trusted_acs() {
    let app = app_with_sp().await;
    let xml = request(&app, "_binding1", "").replace("bindings:HTTP-POST\"", "bindings:HTTP-Artifact\"");
    let res = sso(&app, &format!("SAMLRequest={}", redirect_param(&xml))).await;
    assert_eq!(res.status(), 200);
    let response = posted_response(&res.text().await.unwrap());
    assert!(response.contains("status:UnsupportedBinding"), "{response}");
}

#[tokio::test]
async fn untrusted_or_hostile_requests_get_a_local_page_and_post_nothing() {
    let app = app_with_sp().await;
    let evil_acs =
        request(&app, "_acs1", "").replace("auth.atlassian.com/login", "auth.atlassian.com.evil.example/login");
    let other_dest = request(&app, "_dest1", "").replace("/saml/sso", "/elsewhere");
    let doctype = format!("<!DOCTYPE x [<!ENTITY a \"b\">]>{}", request(&app, "_dtd1", ""));
    let deep = request(&app, "_deep1", "").replace(
        "</samlp:AuthnRequest>",
        &format!("{}{}</samlp:AuthnRequest>", "<x>".repeat(15_000), "</x>".repeat(15_000)),
    );
    let cases: Vec<(&str, String, u16)> = vec![
        (
            "ACS not registered",
            format!("SAMLRequest={}", redirect_param(&evil_acs)),
            400,
        ),
        (
            "Destination not ours",
            format!("SAMLRequest={}", redirect_param(&other_dest)),
            400,
        ),
        ("DOCTYPE", format!("SAMLRequest={}", redirect_param(&doctype)), 400),
        ("deep nesting", format!("SAMLRequest={}", redirect_param(&deep)), 400),
        ("bad base64", "SAMLRequest=%25%25%25".to_owned(), 400),
        (
            "RelayState over the cap",
            format!(
                "SAMLRequest={}&RelayState={}",
                redirect_param(&request(&app, "_rs1", "")),
                "r".repeat(2049)
            ),
            400,
        ),
        ("no SAMLRequest", "RelayState=x".to_owned(), 400),
    ];
    for (what, query, status) in cases {
        let res = sso(&app, &query).await;
        assert_eq!(res.status().as_u16(), status, "{what}");
        let page = res.text().await.unwrap();
        assert!(!page.contains("SAMLResponse"), "{what}: nothing is posted");
        assert!(
            page.contains("quote this reference"),
            "{what}: a branded page with a reference"
        );
    }
    assert_eq!(
        app.get("localhost:{port}", "/healthz").await.status(),
        200,
        "the server is still up"
    );
}

#[tokio::test]
async fn oversized_requests_and_deflate_bombs_are_refused_over_http() {
    let app = app_with_sp().await;
    // 20 MB of zeros deflate to about 20 KB: under the parameter cap, far over the inflate cap.
    let bomb = {
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![0u8; 20 * 1024 * 1024]).unwrap();
        let b64 = B64.encode(enc.finish().unwrap());
        assert!(b64.len() < 64 * 1024, "the bomb itself fits the parameter cap");
        url::form_urlencoded::byte_serialize(b64.as_bytes()).collect::<String>()
    };
    let res = sso(&app, &format!("SAMLRequest={bomb}")).await;
    assert_eq!(res.status(), 413, "a DEFLATE bomb over HTTP-Redirect");
    let page = res.text().await.unwrap();
    assert!(page.contains("quote this reference") && !page.contains("SAMLResponse"));
    // A parameter over the cap, over HTTP-POST: refused before it is decoded.
    let oversized = "A".repeat(100 * 1024);
    let res = app
        .client
        .post(format!("http://127.0.0.1:{}/saml/sso", app.port))
        .header("host", format!("acme.localhost:{}", app.port))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("SAMLRequest={oversized}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413, "an oversized SAMLRequest over HTTP-POST");
    let page = res.text().await.unwrap();
    assert!(page.contains("quote this reference") && !page.contains("SAMLResponse"));
    assert_eq!(app.get("localhost:{port}", "/healthz").await.status(), 200);
}

#[tokio::test]
async fn a_request_id_is_accepted_once_and_sources_must_exist() {
    let app = app_with_sp().await;
    let query = format!("SAMLRequest={}", redirect_param(&request(&app, "_once1", "")));
    let first = sso(&app, &query).await;
    assert_eq!(first.status(), 503, "no identity source is configured yet");
    assert!(
        first
            .text()
            .await
            .unwrap()
            .contains("no identity provider is configured")
    );
    let again = sso(&app, &query).await;
    assert_eq!(again.status(), 400);
    assert!(again.text().await.unwrap().contains("already used"));
}
