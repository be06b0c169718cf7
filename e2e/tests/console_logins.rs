//! The login debugger in the console, in a real browser (headless Chromium over WebDriver)
//! against the real binary, a real OpenID provider and a real SAML SP validator: a successful
//! login shows every step passed; three failures (an ACS URL that is not registered, an email
//! of a domain the source does not allow, a wrong client secret) each show the step that
//! failed and what to do; Test login on an application's card opens the login in a new tab
//! while the first tab follows its trace live to the end; Test login on an identity source's
//! card signs in at the provider and stops at Rosetta, sending nothing to any application.
//!
//! The owner signs up in the browser; the identity source and the application are added with
//! the CLI, as an operator would (the console's own forms have their tests in `console.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use base64::Engine;
use rosetta_e2e::console_kit::{LIMIT, signed_in_owner};
use rosetta_e2e::world::{idp_details, run};
use rosetta_e2e::{
    Browser, InResponseTo, OidcAccount, OidcClient, OidcProvider, OidcProviderConfig, Rosetta, SamlSp, SamlSpConfig,
};

/// The application's entity ID.
const SP_ENTITY_ID: &str = "https://jira.example/saml";

/// A tenant whose owner is signed in to the console in `b`, with one identity source `corp`
/// (the test provider) and one application `jira` (a SAML SP validator).
struct Deployment {
    rosetta: Rosetta,
    b: Browser,
    op: OidcProvider,
    sp: SamlSp,
}

/// Signs up and in the owner of `acme`; starts the provider (client `rosetta`, secret
/// `op-client-secret`; the user `ada-sub`, `ada@acme.example`); registers it as source
/// `corp` with `client_secret` for the email `domains`; registers the SP `jira` (Atlassian
/// preset).
async fn deployment(domains: &str, client_secret: &str) -> Deployment {
    let (rosetta, b) = signed_in_owner(&[]).await;
    let env = rosetta.env().to_vec();
    let op = OidcProvider::start(&OidcProviderConfig {
        clients: vec![OidcClient::new(
            "rosetta",
            "op-client-secret",
            &format!("{}/oidc/callback/corp", rosetta.tenant_url("acme")),
        )],
        accounts: vec![OidcAccount::verified("ada-sub", "ada@acme.example", "Ada", "Lovelace")],
        ..OidcProviderConfig::default()
    })
    .expect("the test OP starts (e2e/peers/install.sh)");
    let secret = rosetta.data_dir().join("client-secret");
    std::fs::write(&secret, format!("{client_secret}\n")).unwrap();
    let source = [
        "source",
        "add",
        "acme",
        "--name",
        "corp",
        "--issuer",
        op.issuer(),
        "--client-id",
        "rosetta",
        "--client-secret-file",
        secret.to_str().unwrap(),
        "--domains",
        domains,
        "--json",
    ];
    run(&rosetta, &env, &source).await;
    let idp = idp_details(&rosetta, "acme").await;
    let mut config = SamlSpConfig::new(SP_ENTITY_ID, &idp.sso_url, &idp.cert_pem);
    config.idp_issuer = Some(idp.entity_id);
    // A Test login starts at Rosetta (no AuthnRequest): no InResponseTo then.
    config.validate_in_response_to = InResponseTo::IfPresent;
    let sp = SamlSp::start(&config).unwrap();
    let add_sp = [
        "sp",
        "add",
        "acme",
        "--name",
        "jira",
        "--preset",
        "atlassian",
        "--entity-id",
        SP_ENTITY_ID,
        "--acs-url",
        sp.acs_url(),
        "--json",
    ];
    run(&rosetta, &env, &add_sp).await;
    Deployment { rosetta, b, op, sp }
}

impl Deployment {
    fn console(&self) -> String {
        self.rosetta.console_url()
    }

    /// The address of Rosetta's provider callback (where a login comes back from `corp`).
    fn callback(&self) -> String {
        format!("{}/oidc/callback/corp", self.rosetta.tenant_url("acme"))
    }

    /// Ada signs in at the provider (the current page is its login form).
    async fn sign_in_at_the_provider(&self) {
        self.b.wait_for_url(self.op.issuer(), LIMIT).await.unwrap();
        self.b.type_into("input[name=login]", "ada-sub").await.unwrap();
        self.b.click("button, input[type=submit]").await.unwrap();
    }

    /// Ada starts a login at the application, and signs in at the provider.
    async fn log_in_from_the_application(&self) {
        self.b
            .goto(&self.sp.login_url("https://acme.atlassian.net/"))
            .await
            .unwrap();
        self.sign_in_at_the_provider().await;
    }

    /// Opens the Logins page filtered by `filter` (a query string) until it lists a login
    /// (traces are written just after the login's request, off its response path), then the
    /// newest one's trace; returns the trace view.
    async fn open_newest_trace(&self, filter: &str) -> String {
        let deadline = Instant::now() + LIMIT;
        loop {
            self.b
                .goto(&format!("{}/logins?{filter}", self.console()))
                .await
                .unwrap();
            let page = self.b.wait_for_text("id=\"login-results\"", LIMIT).await.unwrap();
            if page.contains("class=\"trace-link\"") {
                break;
            }
            assert!(Instant::now() < deadline, "no login listed for {filter}: {page}");
        }
        self.b
            .click("#login-list tbody tr:first-child a.trace-link")
            .await
            .unwrap();
        self.b.wait_for_text("id=\"trace-outcome\"", LIMIT).await.unwrap()
    }
}

/// The opening tag of the element whose tag holds `marker`, on `page`.
fn tag_with<'a>(page: &'a str, marker: &str) -> Option<&'a str> {
    let at = page.find(marker)?;
    let start = page[..at].rfind('<')?;
    let end = at + page[at..].find('>')?;
    Some(&page[start..=end])
}

/// The value of attribute `name` in `tag`.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    Some(tag[start..].chars().take_while(|c| *c != '"').collect())
}

/// Whether step `step` of the trace view passed (`None`: not shown).
fn step_ok(page: &str, step: &str) -> Option<bool> {
    let tag = tag_with(page, &format!("data-step=\"{step}\""))?;
    attribute(tag, "data-ok").map(|ok| ok == "true")
}

/// The text of the element with `id` on `page`, markup inside removed, entities undone.
fn text_of(page: &str, id: &str) -> String {
    let tag = tag_with(page, &format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {page}"));
    let name: String = tag[1..].chars().take_while(char::is_ascii_alphanumeric).collect();
    let start = page.find(tag).unwrap() + tag.len();
    let end = start + page[start..].find(&format!("</{name}>")).unwrap();
    let mut text = String::new();
    let mut in_tag = false;
    for c in page[start..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// The trace view shows a failed login: failure `code` at `step` (that step marked failed,
/// the steps before it passed), and advice that says each of `advice`.
fn assert_failure(page: &str, code: &str, step: &str, advice: &[&str]) {
    let outcome = tag_with(page, "id=\"trace-outcome\"").unwrap();
    assert_eq!(attribute(outcome, "data-outcome").as_deref(), Some("failure"), "{page}");
    let failure = tag_with(page, "id=\"trace-failure\"").unwrap_or_else(|| panic!("no failure box: {page}"));
    assert_eq!(attribute(failure, "data-code").as_deref(), Some(code), "{page}");
    assert_eq!(attribute(failure, "data-failed-step").as_deref(), Some(step), "{page}");
    assert_eq!(step_ok(page, step), Some(false), "step {step} is marked failed: {page}");
    let steps = &page[page.find("id=\"trace-steps\"").unwrap()..];
    let failed_at = steps.find(&format!("data-step=\"{step}\"")).unwrap();
    assert!(
        !steps[..failed_at].contains("data-ok=\"false\""),
        "the steps before {step} passed: {page}"
    );
    assert!(text_of(page, "trace-failure").contains("What to do"), "{page}");
    let said = text_of(page, "trace-advice");
    for words in advice {
        assert!(said.contains(words), "the advice says {words:?}: {said}");
    }
    assert!(page.contains("id=\"support-bundle\""), "{page}");
    assert!(
        !page.contains("id=\"trace-live\""),
        "a failed login is not followed live: {page}"
    );
}

/// An HTTP-Redirect AuthnRequest from the application to acme, asking for its answer at
/// `acs_url`: the address of Rosetta's SSO endpoint with it.
fn authn_request_to(rosetta: &Rosetta, acs_url: &str) -> String {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    let xml = format!(
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
AssertionConsumerServiceURL=\"{acs_url}\" ID=\"_debugger1\" IssueInstant=\"{now}\" Version=\"2.0\">\
<saml:Issuer xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">{SP_ENTITY_ID}</saml:Issuer>\
</samlp:AuthnRequest>"
    );
    let mut deflater = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut deflater, xml.as_bytes()).unwrap();
    let encoded = base64::engine::general_purpose::STANDARD.encode(deflater.finish().unwrap());
    let param: String = url::form_urlencoded::byte_serialize(encoded.as_bytes()).collect();
    format!("{}/saml/sso?SAMLRequest={param}", rosetta.tenant_url("acme"))
}

#[tokio::test]
async fn a_successful_login_shows_every_step_passed() {
    let d = deployment("acme.example", "op-client-secret").await;
    d.log_in_from_the_application().await;
    d.b.wait_for_url(d.sp.acs_url(), LIMIT).await.unwrap();
    let verdict = d.b.source().await.unwrap();
    assert!(verdict.contains("\"ok\":true"), "{verdict}");

    let page = d.open_newest_trace("outcome=success").await;
    d.b.screenshot("logins-1-success").await.unwrap();
    let outcome = tag_with(&page, "id=\"trace-outcome\"").unwrap();
    assert_eq!(attribute(outcome, "data-outcome").as_deref(), Some("success"), "{page}");
    assert_eq!(text_of(&page, "trace-outcome"), "Success");
    // Every step, in order, each passed, with its duration.
    let steps = &page[page.find("id=\"trace-steps\"").unwrap()..];
    let mut last = 0;
    for step in ["request", "redirect", "callback", "user", "assertion"] {
        assert_eq!(step_ok(&page, step), Some(true), "step {step} passed: {page}");
        let at = steps.find(&format!("data-step=\"{step}\"")).unwrap();
        assert!(at > last, "{step} comes after the steps before it: {page}");
        last = at;
    }
    assert!(!page.contains("data-ok=\"false\""), "{page}");
    assert!(page.contains("Assertion sent to the application"), "{page}");
    assert!(page.contains(" ms<"), "durations in milliseconds: {page}");
    assert!(!page.contains("id=\"trace-failure\""), "{page}");
    assert!(
        !page.contains("id=\"trace-live\""),
        "a finished login is not followed: {page}"
    );
    // The summary names the application, the source and the user.
    let summary = &page[page.find("trace-summary").unwrap()..page.find("id=\"trace-steps\"").unwrap()];
    for fact in ["jira", SP_ENTITY_ID, "corp", "ada@acme.example"] {
        assert!(summary.contains(fact), "{fact} in the summary: {summary}");
    }
    // The support bundle is this trace's.
    let trace = attribute(tag_with(&page, "data-trace=").unwrap(), "data-trace").unwrap();
    let bundle = tag_with(&page, "id=\"support-bundle\"").unwrap();
    assert_eq!(
        attribute(bundle, "href"),
        Some(format!("/api/v1/logins/{trace}/bundle")),
        "{bundle}"
    );

    // The list filtered to the application and the user shows it; another user's shows none.
    d.b.goto(&format!("{}/logins?service_provider=jira&user=ADA@acme", d.console()))
        .await
        .unwrap();
    let page = d.b.wait_for_text("id=\"login-results\"", LIMIT).await.unwrap();
    assert!(page.contains(&format!("data-trace=\"{trace}\"")), "{page}");
    d.b.goto(&format!("{}/logins?user=grace", d.console())).await.unwrap();
    let page = d.b.wait_for_text("id=\"login-results\"", LIMIT).await.unwrap();
    assert!(page.contains("No logins match"), "{page}");
    // The filter form puts its choice in the address.
    d.b.goto(&format!("{}/logins", d.console())).await.unwrap();
    d.b.wait_for_text(&format!("data-trace=\"{trace}\""), LIMIT)
        .await
        .unwrap();
    d.b.click("#logins-outcome option[value='failure']").await.unwrap();
    d.b.click("#login-filters button[type=submit]").await.unwrap();
    d.b.wait_for_url(&format!("{}/logins?outcome=failure", d.console()), LIMIT)
        .await
        .unwrap();
    d.b.wait_for_text("No logins match", LIMIT).await.unwrap();

    // The application's go-live checklist, from its card, names this login as the evidence
    // that a login started at the application works.
    d.b.goto(&format!("{}/applications", d.console())).await.unwrap();
    d.b.wait_for_text("go-live-link", LIMIT).await.unwrap();
    d.b.click("a.go-live-link").await.unwrap();
    let page = d.b.wait_for_text("id=\"go-live-items\"", LIMIT).await.unwrap();
    d.b.screenshot("logins-7-go-live").await.unwrap();
    assert!(page.contains(&format!("href=\"/logins/{trace}\"")), "{page}");
    d.b.click(&format!("a.go-live-trace[href='/logins/{trace}']"))
        .await
        .unwrap();
    let page = d.b.wait_for_text("id=\"trace-outcome\"", LIMIT).await.unwrap();
    assert!(page.contains(&format!("data-trace=\"{trace}\"")), "{page}");

    // At phone width nothing scrolls sideways.
    d.b.resize(390, 844).await.unwrap();
    for (i, path) in ["/logins".to_owned(), format!("/logins/{trace}")]
        .into_iter()
        .enumerate()
    {
        d.b.goto(&format!("{}{path}", d.console())).await.unwrap();
        d.b.wait_for_text("data-outcome=\"success\"", LIMIT).await.unwrap();
        assert!(
            !d.b.overflows_horizontally().await.unwrap() && !d.b.scrolls_horizontally("#main").await.unwrap(),
            "{path} overflows at 390 px"
        );
        d.b.screenshot(&format!("logins-8-phone-{i}")).await.unwrap();
    }
}

#[tokio::test]
async fn an_acs_url_that_is_not_registered_is_named_at_the_request() {
    let d = deployment("acme.example", "op-client-secret").await;
    // Atlassian's ACS URL without its `?connection=…`: what a hurried copy gives.
    d.b.goto(&authn_request_to(
        &d.rosetta,
        "https://auth.atlassian.com/login/callback",
    ))
    .await
    .unwrap();
    let page = d.open_newest_trace("outcome=failure").await;
    d.b.screenshot("logins-2-acs").await.unwrap();
    assert_failure(
        &page,
        "acs_not_registered",
        "request",
        &["copy it whole", "?connection="],
    );
    assert!(
        page.contains("https://auth.atlassian.com/login/callback"),
        "the ACS URL it asked for: {page}"
    );
}

#[tokio::test]
async fn an_email_of_a_domain_the_source_does_not_allow_is_named_at_the_callback() {
    // The provider vouches for ada@acme.example; the source allows other.example only.
    let d = deployment("other.example", "op-client-secret").await;
    d.log_in_from_the_application().await;
    d.b.wait_for_url(&d.callback(), LIMIT).await.unwrap();
    let page = d.open_newest_trace("outcome=failure").await;
    d.b.screenshot("logins-3-domain").await.unwrap();
    assert_failure(&page, "oidc_email_domain_not_allowed", "callback", &["domain"]);
    assert_eq!(
        step_ok(&page, "assertion"),
        None,
        "nothing was sent to the application: {page}"
    );
}

#[tokio::test]
async fn a_wrong_client_secret_is_named_at_the_callback() {
    let d = deployment("acme.example", "not-the-client-secret").await;
    d.log_in_from_the_application().await;
    d.b.wait_for_url(&d.callback(), LIMIT).await.unwrap();
    let page = d.open_newest_trace("outcome=failure").await;
    d.b.screenshot("logins-4-secret").await.unwrap();
    assert_failure(
        &page,
        "oidc_token_rejected",
        "callback",
        &["invalid_client", "client secret"],
    );
    assert!(!page.contains("not-the-client-secret"), "the secret is never shown");

    // The overview's latest logins lead to the same trace.
    d.b.goto(&format!("{}/", d.console())).await.unwrap();
    d.b.wait_for_text("failure-link", LIMIT).await.unwrap();
    d.b.click("#latest-logins a.failure-link").await.unwrap();
    let page = d.b.wait_for_text("id=\"trace-failure\"", LIMIT).await.unwrap();
    assert_failure(&page, "oidc_token_rejected", "callback", &["invalid_client"]);
}

/// What a Test login opened: the console's tab (its URL: the live trace), the login's tab, and
/// the trace's ID.
struct TestTabs {
    first: String,
    tab: String,
    url: String,
    trace: String,
}

/// Clicks the Test login button `selector`: the console's tab goes to the login's live trace
/// and the login opens in a new tab, which the browser is switched to.
async fn start_test_login(d: &Deployment, selector: &str) -> TestTabs {
    let console = d.console();
    let first = d.b.window().await.unwrap();
    d.b.click(selector).await.unwrap();
    let url = d.b.wait_for_url(&format!("{console}/logins/"), LIMIT).await.unwrap();
    assert!(url.ends_with("?live=1"), "{url}");
    let trace = url[format!("{console}/logins/").len()..url.len() - "?live=1".len()].to_owned();
    d.b.wait_for_text("Live: updating as the login happens", LIMIT)
        .await
        .unwrap();
    let tabs = d.b.wait_for_windows(2, LIMIT).await.unwrap();
    let tab = tabs.into_iter().find(|t| *t != first).unwrap();
    d.b.switch_to_window(&tab).await.unwrap();
    TestTabs { first, tab, url, trace }
}

#[tokio::test]
async fn test_login_opens_a_tab_and_the_trace_follows_it_live() {
    let d = deployment("acme.example", "op-client-secret").await;
    let console = d.console();
    d.b.goto(&format!("{console}/applications")).await.unwrap();
    d.b.wait_for_text("test-login", LIMIT).await.unwrap();
    // This tab follows the login's trace, live, before the login has even reached Rosetta;
    // the new tab went through Rosetta to the provider's login form.
    let TestTabs { first, tab, url, trace } = start_test_login(&d, "button.test-login[data-sp='jira']").await;
    if let Err(e) = d.b.wait_for_url(d.op.issuer(), LIMIT).await {
        panic!(
            "the test login did not reach the provider: {e}: {}",
            d.b.source().await.unwrap()
        );
    }

    // Meanwhile the first tab shows the login under way, without a reload.
    d.b.switch_to_window(&first).await.unwrap();
    let page = d.b.wait_for_text("data-step=\"redirect\"", LIMIT).await.unwrap();
    d.b.screenshot("logins-5-live").await.unwrap();
    assert_eq!(
        attribute(tag_with(&page, "id=\"trace-outcome\"").unwrap(), "data-outcome").as_deref(),
        Some("in_progress"),
        "{page}"
    );
    assert!(page.contains(&format!("data-trace=\"{trace}\"")), "{page}");
    assert!(page.contains("Live: updating as the login happens"), "{page}");

    // Ada signs in in the new tab and reaches the application.
    d.b.switch_to_window(&tab).await.unwrap();
    d.sign_in_at_the_provider().await;
    d.b.wait_for_url(d.sp.acs_url(), LIMIT).await.unwrap();
    let verdict = d.b.source().await.unwrap();
    assert!(
        verdict.contains("\"ok\":true") && verdict.contains("ada@acme.example"),
        "{verdict}"
    );

    // The first tab's trace ends in Success, with the assertion, and stops following.
    d.b.switch_to_window(&first).await.unwrap();
    let page = d.b.wait_for_text("data-outcome=\"success\"", LIMIT).await.unwrap();
    assert_eq!(text_of(&page, "trace-outcome"), "Success");
    assert_eq!(step_ok(&page, "assertion"), Some(true), "{page}");
    assert!(!page.contains("data-ok=\"false\""), "{page}");
    d.b.wait_for_no_text("id=\"trace-live\"", LIMIT).await.unwrap();
    d.b.screenshot("logins-6-live-done").await.unwrap();
    assert_eq!(d.b.url().await.unwrap(), url, "followed in place");

    // The application's card leads to its logins, this one among them, marked as a test.
    d.b.goto(&format!("{console}/applications")).await.unwrap();
    d.b.wait_for_text("logins-link", LIMIT).await.unwrap();
    d.b.click("a.logins-link").await.unwrap();
    let page =
        d.b.wait_for_text(&format!("data-trace=\"{trace}\""), LIMIT)
            .await
            .unwrap();
    assert!(d.b.url().await.unwrap().ends_with("/logins?service_provider=jira"));
    assert!(page.contains(">Test<"), "{page}");
}

#[tokio::test]
async fn test_login_of_a_source_signs_in_at_the_provider_and_sends_nothing() {
    let d = deployment("acme.example", "op-client-secret").await;
    let console = d.console();
    d.b.goto(&format!("{console}/sources")).await.unwrap();
    d.b.wait_for_text("test-login", LIMIT).await.unwrap();
    d.b.screenshot("logins-9-source-card").await.unwrap();
    // This tab follows the login's trace, live; Ada signs in at the provider in the new tab,
    // and Rosetta says who it vouched for, and stops.
    let TestTabs { first, trace, .. } = start_test_login(&d, "button.test-login[data-source='corp']").await;
    d.sign_in_at_the_provider().await;
    let page = d.b.wait_for_text("Test login passed", LIMIT).await.unwrap();
    d.b.screenshot("logins-10-source-passed").await.unwrap();
    assert!(page.contains("<h1>Test login passed</h1>"), "{page}");
    let tested = text_of(&page, "tested");
    assert!(
        tested.contains("corp") && tested.contains("ada@acme.example"),
        "{tested}"
    );
    assert!(
        d.b.url().await.unwrap().starts_with(&d.callback()),
        "the tab stays at Rosetta"
    );

    // The first tab's trace ends in Success: to the provider and back, and no further.
    d.b.switch_to_window(&first).await.unwrap();
    let page = d.b.wait_for_text("data-outcome=\"success\"", LIMIT).await.unwrap();
    assert!(page.contains(&format!("data-trace=\"{trace}\"")), "{page}");
    assert_eq!(text_of(&page, "trace-outcome"), "Success");
    let steps = &page[page.find("id=\"trace-steps\"").unwrap()..];
    let mut last = 0;
    for step in ["request", "redirect", "callback"] {
        assert_eq!(step_ok(&page, step), Some(true), "step {step} passed: {page}");
        let at = steps.find(&format!("data-step=\"{step}\"")).unwrap();
        assert!(at > last, "{step} comes after the steps before it: {page}");
        last = at;
    }
    for step in ["user", "mfa", "assertion"] {
        assert_eq!(step_ok(&page, step), None, "no {step} step: {page}");
    }
    assert!(!page.contains("data-ok=\"false\""), "{page}");
    let summary = &page[page.find("trace-summary").unwrap()..page.find("id=\"trace-steps\"").unwrap()];
    for fact in ["corp", "ada@acme.example", "Test login from the console"] {
        assert!(summary.contains(fact), "{fact} in the summary: {summary}");
    }
    d.b.wait_for_no_text("id=\"trace-live\"", LIMIT).await.unwrap();
    d.b.screenshot("logins-11-source-trace").await.unwrap();

    // Nothing reached the application, and nobody was recorded.
    assert!(d.sp.last().await.unwrap().is_none(), "the SP received nothing");
    d.b.goto(&format!("{console}/people")).await.unwrap();
    d.b.wait_for_text("Nobody has signed in through Rosetta yet", LIMIT)
        .await
        .unwrap();
}
