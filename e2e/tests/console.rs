//! The admin console in a real browser (headless Chromium over WebDriver), served by the
//! real binary, talking to the admin API, with emails through a real SMTP server.
//! Screenshots land in `target/<profile>/e2e-artifacts/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use rosetta_e2e::console_kit::{
    ATLASSIAN_ACS, LIMIT, console_dist, link_in, save_atlassian_values, sign_in, sign_up_and_verify,
};
use rosetta_e2e::{Browser, PostgresServer, Rosetta, ScimServer, SmtpServer, Stack, TestDatabase};

#[tokio::test]
async fn sign_up_verify_and_sign_in_in_the_console() {
    let smtp = SmtpServer::start().expect("aiosmtpd starts (scripts/setup.sh installs it in e2e/.venv)");
    let env = vec![
        ("ROSETTA_SMTP_URL".to_owned(), smtp.url()),
        ("ROSETTA_CONSOLE_DIR".to_owned(), console_dist().display().to_string()),
    ];
    let rosetta = Rosetta::start(&env).await;
    let console = rosetta.console_url();

    // Assets under content-hashed names are kept a year; the page naming them is revalidated.
    let http = rosetta_e2e::http_client(&[], rosetta.port());
    let res = http.get(format!("{console}/signup")).send().await.unwrap();
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let html = res.text().await.unwrap();
    let start = html.find("/rosetta-console-").expect("a hashed script name");
    let script: String = html[start..].chars().take_while(|c| *c != '"').collect();
    assert!(
        script.ends_with(".js") && script.len() == "/rosetta-console-0123456789abcdef.js".len(),
        "{script}"
    );
    let res = http.get(format!("{console}{script}")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable");

    let b = Browser::start()
        .await
        .expect("chromium and chromedriver (apt-get install chromium chromium-driver)");

    // Sign-up: a weak password is refused next to its field, then the form goes through.
    b.goto(&format!("{console}/signup")).await.unwrap();
    b.wait_for_text("Create your organisation", LIMIT).await.unwrap();
    b.type_into("#field-email", "ada@acme.example").await.unwrap();
    b.type_into("#field-password", "too short").await.unwrap();
    b.type_into("#field-tenant_slug", "acme").await.unwrap();
    b.type_into("#field-tenant_name", "Acme Corp").await.unwrap();
    b.click("button[type=submit]").await.unwrap();
    let page = b.wait_for_text("at least 12 characters", LIMIT).await.unwrap();
    assert!(
        page.contains("id=\"field-password-error\""),
        "the error sits by its field: {page}"
    );
    b.screenshot("console-1-signup-error").await.unwrap();
    b.clear("#field-password").await.unwrap();
    b.type_into("#field-password", "plum harbour violet engine")
        .await
        .unwrap();
    b.click("button[type=submit]").await.unwrap();
    b.wait_for_text("Check your email", LIMIT).await.unwrap();
    b.screenshot("console-2-signup-done").await.unwrap();

    // The verification link from the real SMTP server, opened in the browser.
    let messages = smtp.wait_for(1, LIMIT);
    let link = link_in(&messages[0], "/verify-email?token=");
    b.goto(&link).await.unwrap();
    b.wait_for_text("Confirm my email address", LIMIT).await.unwrap();
    b.click("button[type=submit]").await.unwrap();
    b.wait_for_text("Your email address is confirmed", LIMIT).await.unwrap();
    b.screenshot("console-3-verified").await.unwrap();

    // Sign-in: a wrong password is refused, the right one shows what to paste into Atlassian.
    b.goto(&format!("{console}/")).await.unwrap();
    b.wait_for_text("Sign in", LIMIT).await.unwrap();
    b.type_into("#field-email", "ada@acme.example").await.unwrap();
    b.type_into("#field-password", "not the password at all").await.unwrap();
    b.click("button[type=submit]").await.unwrap();
    b.wait_for_text("not correct", LIMIT).await.unwrap();
    b.clear("#field-password").await.unwrap();
    b.type_into("#field-password", "plum harbour violet engine")
        .await
        .unwrap();
    b.click("button[type=submit]").await.unwrap();
    // The overview: the set-up progress card at its first step, which leads to the wizard
    // and what to paste into Atlassian.
    let page = b.wait_for_text("setup-progress", LIMIT).await.unwrap();
    b.screenshot("console-4-overview").await.unwrap();
    assert_eq!(step_state(&page, "atlassian"), "current", "{page}");
    b.click("#setup-step-atlassian a").await.unwrap();
    let page = b.wait_for_text("BEGIN CERTIFICATE", LIMIT).await.unwrap();
    assert!(page.contains("Paste into Atlassian"), "{page}");
    let port = rosetta.port();
    assert!(
        page.contains(&format!("http://acme.localhost:{port}/saml/metadata")),
        "{page}"
    );
    assert!(
        page.contains(&format!("http://acme.localhost:{port}/saml/sso")),
        "{page}"
    );

    // Sign-out (in the account menu) ends the session: a reload shows the sign-in form again.
    b.click("details.account-menu summary").await.unwrap();
    b.click("#sign-out").await.unwrap();
    b.wait_for_text("Forgot your password?", LIMIT).await.unwrap();
    b.goto(&format!("{console}/")).await.unwrap();
    b.wait_for_text("Forgot your password?", LIMIT).await.unwrap();
}

/// The text of the element with `id` on `page` (no markup inside), HTML entities undone.
fn text_of(page: &str, id: &str) -> String {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {page}"));
    let rest = &page[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest[open..].find('<').unwrap() + open;
    rest[open..close]
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// A first-time admin with the console alone: sign up (link from a real SMTP server), the Atlassian
/// wizard (values copied into a real SAML SP, the SP's values pasted back), an identity
/// provider with a passing connection test, then an end user's login through the browser
/// reaches the SP with a valid assertion.
#[tokio::test]
async fn the_wizard_alone_sets_up_a_working_sso() {
    use rosetta_e2e::{OidcAccount, OidcClient, OidcProvider, OidcProviderConfig, SamlSp, SamlSpConfig};

    let smtp = SmtpServer::start().expect("aiosmtpd starts (scripts/setup.sh installs it in e2e/.venv)");
    let env = vec![
        ("ROSETTA_CONSOLE_DIR".to_owned(), console_dist().display().to_string()),
        ("ROSETTA_SMTP_URL".to_owned(), smtp.url()),
    ];
    let rosetta = Rosetta::start(&env).await;
    let port = rosetta.port();
    let console = rosetta.console_url();
    let b = Browser::start()
        .await
        .expect("chromium and chromedriver (apt-get install chromium chromium-driver)");

    sign_up_and_verify(&b, &rosetta, Some(&smtp)).await;

    // Sign in on the wizard's page, then step 1: Rosetta's values.
    b.goto(&format!("{console}/atlassian")).await.unwrap();
    b.wait_for_text("Forgot your password?", LIMIT).await.unwrap();
    b.type_into("#field-email", "ada@acme.example").await.unwrap();
    b.type_into("#field-password", "plum harbour violet engine")
        .await
        .unwrap();
    b.click("button[type=submit]").await.unwrap();
    let page = b.wait_for_text("BEGIN CERTIFICATE", LIMIT).await.unwrap();
    b.screenshot("wizard-1-values").await.unwrap();
    let entity_id = text_of(&page, "idp-entity-id");
    let sso_url = text_of(&page, "idp-sso-url");
    let cert = text_of(&page, "idp-certificate");
    assert_eq!(sso_url, format!("http://acme.localhost:{port}/saml/sso"));
    assert!(page.contains("Download the certificate"));

    // The "Atlassian" here is a real SAML SP validator configured with those values.
    let mut config = SamlSpConfig::new("https://acme.atlassian.example/saml", &sso_url, cert.trim());
    config.idp_issuer = Some(entity_id);
    let sp = SamlSp::start(&config).unwrap();

    // Step 2: its values, pasted back; a bad ACS URL is refused next to its field first.
    b.wait_for_text("field-entity_id", LIMIT).await.unwrap();
    b.type_into("#field-entity_id", "https://acme.atlassian.example/saml")
        .await
        .unwrap();
    b.type_into("#field-acs_urls", "javascript:alert(1)").await.unwrap();
    b.click("form button[type=submit]").await.unwrap();
    b.wait_for_text("field-acs_urls-error", LIMIT).await.unwrap();
    b.clear("#field-acs_urls").await.unwrap();
    b.type_into("#field-acs_urls", sp.acs_url()).await.unwrap();
    b.click("form button[type=submit]").await.unwrap();
    let page = b.wait_for_text("Step 3 of 3", LIMIT).await.unwrap();
    b.screenshot("wizard-2-saved").await.unwrap();
    assert!(
        page.contains(&format!("http://acme.localhost:{port}/saml/init/atlassian")),
        "{page}"
    );

    // The identity provider, with a passing connection test.
    let op = OidcProvider::start(&OidcProviderConfig {
        clients: vec![OidcClient::new(
            "rosetta",
            "op-client-secret",
            &format!("http://acme.localhost:{port}/oidc/callback/corp"),
        )],
        accounts: vec![OidcAccount::verified("ada-sub", "ada@acme.example", "Ada", "Lovelace")],
        ..OidcProviderConfig::default()
    })
    .expect("the test OP starts (e2e/peers/install.sh)");
    b.goto(&format!("{console}/sources")).await.unwrap();
    b.wait_for_text("Add an identity provider", LIMIT).await.unwrap();
    for (field, value) in [
        ("#field-name", "corp"),
        ("#field-issuer", op.issuer()),
        ("#field-client_id", "rosetta"),
        ("#field-client_secret", "op-client-secret"),
        ("#field-domains", "acme.example"),
    ] {
        b.type_into(field, value).await.unwrap();
    }
    b.click("form button[type=submit]").await.unwrap();
    let page = b.wait_for_text("Redirect URI to register", LIMIT).await.unwrap();
    assert!(
        page.contains(&format!("http://acme.localhost:{port}/oidc/callback/corp")),
        "{page}"
    );
    assert!(!page.contains("op-client-secret"), "the secret is never shown");
    b.click("button.test-connection").await.unwrap();
    let page = b.wait_for_text("usable signing key", LIMIT).await.unwrap();
    b.screenshot("wizard-3-connection").await.unwrap();
    assert!(!page.contains("✗"), "every step passed: {page}");

    // Another SAML application, from the metadata it publishes.
    let mut wiki_config = SamlSpConfig::new("https://wiki.acme.example/saml", &sso_url, cert.trim());
    wiki_config.validate_in_response_to = rosetta_e2e::InResponseTo::IfPresent;
    let wiki = SamlSp::start(&wiki_config).unwrap();
    b.goto(&format!("{console}/applications")).await.unwrap();
    b.wait_for_text("Add a SAML application", LIMIT).await.unwrap();
    b.type_into("#field-name", "wiki").await.unwrap();
    b.type_into("#field-metadata_url", &wiki.url("/metadata"))
        .await
        .unwrap();
    b.click("#import-sp").await.unwrap();
    b.wait_for_text("Added https://wiki.acme.example/saml", LIMIT)
        .await
        .unwrap();
    // Its attributes and two-step rule, edited in place.
    b.click("#wiki-editor summary").await.unwrap();
    b.clear("#wiki-attr-0").await.unwrap();
    b.type_into("#wiki-attr-0", "mail").await.unwrap();
    b.click("#wiki-save").await.unwrap();
    b.wait_for_text("Saved.", LIMIT).await.unwrap();
    b.screenshot("wizard-2b-attributes").await.unwrap();

    // Two-step sign-in for everyone.
    b.goto(&format!("{console}/security")).await.unwrap();
    b.wait_for_text("For people signing in", LIMIT).await.unwrap();
    b.click("#mfa-required").await.unwrap();
    b.click("#save-mfa-policy").await.unwrap();
    b.wait_for_text("Saved.", LIMIT).await.unwrap();

    // An end user signs in from the SP, through the provider, sets up the second factor,
    // and lands at the SP.
    b.goto(&sp.login_url("https://acme.atlassian.example/jira"))
        .await
        .unwrap();
    b.wait_for_url(op.issuer(), LIMIT).await.unwrap();
    b.type_into("input[name=login]", "ada-sub").await.unwrap();
    b.click("button, input[type=submit]").await.unwrap();
    let page = b.wait_for_text("Set up two-step sign-in", LIMIT).await.unwrap();
    let secret = totp_rs::Secret::Encoded(text_of(&page, "totp-secret"))
        .to_bytes()
        .unwrap();
    let code = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, secret, None, "user".into())
        .unwrap()
        .generate(chrono::Utc::now().timestamp().unsigned_abs());
    b.type_into("#code", &code).await.unwrap();
    b.click("form button").await.unwrap();
    b.wait_for_text("Save your recovery codes", LIMIT).await.unwrap();
    b.click("form button").await.unwrap();
    b.wait_for_url(sp.acs_url(), LIMIT).await.unwrap();
    let verdict = b.source().await.unwrap();
    b.screenshot("wizard-4-sp").await.unwrap();
    assert!(
        verdict.contains("\"ok\":true") && verdict.contains("ada@acme.example"),
        "{verdict}"
    );

    // The login shows on the dashboard and in the audit log.
    b.goto(&format!("{console}/")).await.unwrap();
    b.wait_for_text("latest-logins", LIMIT).await.unwrap();
    // The latest logins (from the login traces) and the per-application health (from the
    // audit log) load on their own: the page is read once both are there.
    let page = b.wait_for_text("1 recent login, successful", LIMIT).await.unwrap();
    b.screenshot("wizard-5-dashboard").await.unwrap();
    assert!(
        page.contains("https://acme.atlassian.example/saml") && page.contains("success"),
        "{page}"
    );
    b.goto(&format!("{console}/audit")).await.unwrap();
    let page = b.wait_for_text("<code>login.mfa</code>", LIMIT).await.unwrap();
    assert!(
        page.contains("<code>identity_source.test</code>") && page.contains("<code>service_provider.update</code>"),
        "{page}"
    );
}

/// Signs `ada@acme.example` up for tenant `acme` in the browser and follows the
/// verification link, from the SMTP server when given, else from the embedded outbox.
async fn sign_up_through_the_outbox(b: &Browser, rosetta: &Rosetta) {
    sign_up_and_verify(b, rosetta, None).await;
}

/// The running-a-tenant pages: key rotation, people, two-step settings (and the admin's own
/// authenticator), members, the audit log of it all.
#[tokio::test]
async fn the_management_pages_work() {
    let env = vec![("ROSETTA_CONSOLE_DIR".to_owned(), console_dist().display().to_string())];
    let rosetta = Rosetta::start(&env).await;
    let console = rosetta.console_url();
    let b = Browser::start()
        .await
        .expect("chromium and chromedriver (apt-get install chromium chromium-driver)");
    sign_up_through_the_outbox(&b, &rosetta).await;

    b.goto(&format!("{console}/keys")).await.unwrap();
    b.wait_for_text("Forgot your password?", LIMIT).await.unwrap();
    b.type_into("#field-email", "ada@acme.example").await.unwrap();
    b.type_into("#field-password", "plum harbour violet engine")
        .await
        .unwrap();
    b.click("button[type=submit]").await.unwrap();
    b.wait_for_text("Publish a next key", LIMIT).await.unwrap();
    b.click("#publish-key").await.unwrap();
    b.wait_for_text("Promote (sign with it from now on)", LIMIT)
        .await
        .unwrap();
    b.screenshot("manage-1-keys").await.unwrap();
    // Promoting asks first; cancelling changes nothing, confirming promotes.
    b.click("button.promote").await.unwrap();
    b.wait_for_text("Sign with the next key?", LIMIT).await.unwrap();
    b.click("dialog[open] button.cancel").await.unwrap();
    assert!(!b.source().await.unwrap().contains("retired"));
    b.click("button.promote").await.unwrap();
    b.click("dialog[open] button.confirm").await.unwrap();
    b.wait_for_text("retired", LIMIT).await.unwrap();

    b.goto(&format!("{console}/people")).await.unwrap();
    b.wait_for_text("Nobody has signed in through Rosetta yet", LIMIT)
        .await
        .unwrap();

    b.goto(&format!("{console}/security")).await.unwrap();
    b.wait_for_text("For people signing in", LIMIT).await.unwrap();
    b.click("#mfa-required").await.unwrap();
    b.click("#save-mfa-policy").await.unwrap();
    b.wait_for_text("Saved.", LIMIT).await.unwrap();
    b.goto(&format!("{console}/account")).await.unwrap();
    b.wait_for_text("start-totp", LIMIT).await.unwrap();
    b.click("#start-totp").await.unwrap();
    let page = b.wait_for_text("admin-totp-secret", LIMIT).await.unwrap();
    b.screenshot("manage-2-security").await.unwrap();
    let secret = text_of(&page, "admin-totp-secret");
    assert!(secret.len() >= 26, "{secret}");

    b.goto(&format!("{console}/members")).await.unwrap();
    b.wait_for_text("Invite an admin", LIMIT).await.unwrap();
    b.type_into("#field-email", "grace@acme.example").await.unwrap();
    b.click("form button[type=submit]").await.unwrap();
    b.wait_for_text("Invitation sent to grace@acme.example", LIMIT)
        .await
        .unwrap();
    // Revoking it asks first.
    b.wait_for_text(">Revoke<", LIMIT).await.unwrap();
    b.click("button.revoke").await.unwrap();
    b.click("dialog[open] button.confirm").await.unwrap();
    b.wait_for_text("Invitation to grace@acme.example revoked", LIMIT)
        .await
        .unwrap();

    b.goto(&format!("{console}/audit")).await.unwrap();
    let page = b
        .wait_for_text("<code>signing_key.promote</code>", LIMIT)
        .await
        .unwrap();
    b.screenshot("manage-3-audit").await.unwrap();
    for action in [
        "signing_key.create",
        "tenant.update",
        "invitation.create",
        "invitation.revoke",
    ] {
        assert!(
            page.contains(&format!("<code>{action}</code>")),
            "{action} in the audit log: {page}"
        );
    }
    assert!(page.contains("/api/v1/audit.csv"), "the CSV export link");

    // At phone width nothing scrolls sideways.
    b.resize(390, 844).await.unwrap();
    for path in ["/", "/atlassian", "/sources", "/people", "/audit"] {
        b.goto(&format!("{console}{path}")).await.unwrap();
        b.wait_for_text("Sign out", LIMIT).await.unwrap();
        assert!(!b.overflows_horizontally().await.unwrap(), "{path} overflows at 390 px");
    }
    b.screenshot("manage-4-phone").await.unwrap();
    // The pages the emails open, as a recipient sees them.
    b.goto(&format!("{console}/reset-password")).await.unwrap();
    b.wait_for_text("Send me a link", LIMIT).await.unwrap();
    b.screenshot("manage-5-reset").await.unwrap();
    b.goto(&format!("{console}/invitations/accept?token=x")).await.unwrap();
    b.wait_for_text("Accept the invitation", LIMIT).await.unwrap();
    b.screenshot("manage-6-invitation").await.unwrap();
}

/// Lifecycle in the console: provisioning of the Atlassian application set up against a real
/// SCIM server (the stand-in for Atlassian's user-provisioning API) with Test connection
/// passing, then failing at the key once the server rejects it; Sync now previews before it
/// queues; removal asks first. Then an identity provider with offline access, and the
/// inactivity rule, previewed before it is saved.
#[tokio::test]
async fn provisioning_and_departures_are_set_up_in_the_console() {
    const DIRECTORY: &str = "2fb21891-7bee-4c2d-a61a-ade3834c8b2b";
    const KEY: &str = "atlassian-directory-key-0123456789";
    let scim =
        ScimServer::start(DIRECTORY, KEY).expect("the SCIM peer starts (scripts/setup.sh installs scim2-server)");
    let env = vec![("ROSETTA_CONSOLE_DIR".to_owned(), console_dist().display().to_string())];
    let rosetta = Rosetta::start(&env).await;
    let console = rosetta.console_url();
    let b = Browser::start()
        .await
        .expect("chromium and chromedriver (apt-get install chromium chromium-driver)");
    sign_up_through_the_outbox(&b, &rosetta).await;

    // The Atlassian application, through the wizard.
    b.goto(&format!("{console}/atlassian")).await.unwrap();
    sign_in(&b).await;
    save_atlassian_values(&b, ATLASSIAN_ACS).await;

    // Its card leads to provisioning; Atlassian's directory is asked for by its ID, and a
    // missing one is refused next to its field.
    b.click(".sidenav a[href='/applications']").await.unwrap();
    b.wait_for_text("User provisioning is off", LIMIT).await.unwrap();
    b.click("a.set-up-provisioning").await.unwrap();
    b.wait_for_text("field-directory_id", LIMIT).await.unwrap();
    b.type_into("#field-api_key", KEY).await.unwrap();
    b.click("#save-provisioning").await.unwrap();
    b.wait_for_text("field-directory_id-error", LIMIT).await.unwrap();
    // The peer serves plain http on loopback (allowed in dev mode): its whole URL.
    b.click(".field-switch button").await.unwrap();
    b.wait_for_text("field-base_url", LIMIT).await.unwrap();
    b.type_into("#field-base_url", &scim.base_url()).await.unwrap();
    b.click("#save-provisioning").await.unwrap();
    let page = b.wait_for_text("data-state=\"running\"", LIMIT).await.unwrap();
    assert!(page.contains("Stored; paste a new one to replace it."), "{page}");
    assert!(!page.contains(KEY), "the key is never shown");
    assert!(page.contains("id=\"queue-pending\">0<"), "{page}");
    // Nobody has logged in: nobody to send.
    b.wait_for_text("Nobody to send yet", LIMIT).await.unwrap();

    // Test connection passes against the real SCIM server...
    b.click("button.test-connection").await.unwrap();
    let page = b.wait_for_text("Connection works.", LIMIT).await.unwrap();
    assert!(page.contains("data-step=\"ok\""), "{page}");
    b.screenshot("provisioning-1-running").await.unwrap();
    // ...and names the key once the server rejects it.
    scim.reject_key(true);
    b.click("button.test-connection").await.unwrap();
    let page = b.wait_for_text("data-step=\"key\"", LIMIT).await.unwrap();
    assert!(page.contains("Create a new API key"), "{page}");
    scim.reject_key(false);

    // Sync now previews first: nobody has logged in, so there is nothing to send.
    b.click("#sync-now").await.unwrap();
    b.wait_for_text("Nothing to sync.", LIMIT).await.unwrap();
    assert!(scim.state()["users"].as_array().unwrap().is_empty());

    // The application's card shows it running; removing it asks first.
    b.click(".sidenav a[href='/applications']").await.unwrap();
    b.wait_for_text("Manage provisioning", LIMIT).await.unwrap();
    b.click("a.manage-provisioning").await.unwrap();
    b.wait_for_text("provisioning-status", LIMIT).await.unwrap();
    b.click("#provisioning-status .card-actions button.danger-ghost")
        .await
        .unwrap();
    b.wait_for_text("Remove provisioning to atlassian?", LIMIT)
        .await
        .unwrap();
    b.click("dialog[open] button.confirm").await.unwrap();
    b.wait_for_text("field-directory_id", LIMIT).await.unwrap();

    // An identity provider that checks people still exist there.
    b.goto(&format!("{console}/sources")).await.unwrap();
    b.wait_for_text("Add an identity provider", LIMIT).await.unwrap();
    for (field, value) in [
        ("#field-name", "corp"),
        ("#field-issuer", "https://login.acme.example"),
        ("#field-client_id", "rosetta"),
        ("#field-client_secret", "op-client-secret"),
        ("#field-domains", "acme.example"),
    ] {
        b.type_into(field, value).await.unwrap();
    }
    b.click("#offline-access").await.unwrap();
    b.click("form button[type=submit]").await.unwrap();
    b.wait_for_text("On: Rosetta checks every few hours", LIMIT)
        .await
        .unwrap();

    // The inactivity rule shows whom it would mark departed before it is saved.
    b.goto(&format!("{console}/security")).await.unwrap();
    b.wait_for_text("When people leave", LIMIT).await.unwrap();
    b.click("#deactivate-inactive").await.unwrap();
    b.click("#save-deprovisioning").await.unwrap();
    let page = b.wait_for_text("inactive-preview", LIMIT).await.unwrap();
    assert!(
        page.contains("Nobody: everyone has logged in within 90 days."),
        "{page}"
    );
    b.screenshot("provisioning-2-departures").await.unwrap();
    b.click("#save-deprovisioning").await.unwrap();
    b.wait_for_text("Saved.", LIMIT).await.unwrap();
    b.goto(&format!("{console}/security")).await.unwrap();
    let page = b.wait_for_text("When people leave", LIMIT).await.unwrap();
    assert!(page.contains("field-deactivate_after_days"), "the rule is on: {page}");
}

/// The state (`done`, `current`, `todo`) of a step of the set-up progress card on `page`.
fn step_state(page: &str, key: &str) -> String {
    let start = page
        .find(&format!("id=\"setup-step-{key}\""))
        .unwrap_or_else(|| panic!("no step {key} in {page}"));
    let tag = &page[start..start + page[start..].find('>').unwrap()];
    let at = tag.find("data-state=\"").expect("a data-state") + "data-state=\"".len();
    tag[at..].chars().take_while(|c| *c != '"').collect()
}

/// Waits (bounded) until the overview's progress card shows step `key` as `state`; returns
/// the page.
async fn wait_for_step(b: &Browser, key: &str, state: &str) -> String {
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let page = b.source().await.unwrap();
        if page.contains(&format!("id=\"setup-step-{key}\"")) && step_state(&page, key) == state {
            return page;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "step {key} never became {state}: {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Dismisses the passing notices.
async fn dismiss_notices(b: &Browser) {
    while b.source().await.unwrap().contains("class=\"toast\"") {
        b.click(".toast button").await.unwrap();
    }
}

/// Saves a screenshot under `console/screenshots/` (the README shows them), without the
/// passing notices.
async fn keep_screenshot(b: &Browser, name: &str) {
    dismiss_notices(b).await;
    keep_as_is(b, name).await;
}

/// Saves a screenshot under `console/screenshots/` as the page is.
async fn keep_as_is(b: &Browser, name: &str) {
    let shot = b.screenshot(name).await.unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../console/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(shot, dir.join(format!("{name}.png"))).unwrap();
}

/// A new tenant walks the set-up progress card to its end: sign up, verify, sign in, see
/// step 1; register the Atlassian-shaped SP (a real SAML SP validator) through the wizard;
/// add the identity provider (a real OpenID provider) and test it; a real brokered login
/// through both peers ticks "first login"; deciding the two-step policy completes the card.
/// With `screenshots`, the main pages are kept under `console/screenshots/`.
async fn set_up_progress_to_a_first_login(stack: Stack, screenshots: bool) {
    use rosetta_e2e::{OidcAccount, OidcClient, OidcProvider, OidcProviderConfig, SamlSp, SamlSpConfig};

    let mut env = stack.env();
    env.push(("ROSETTA_CONSOLE_DIR".to_owned(), console_dist().display().to_string()));
    let rosetta = Rosetta::start(&env).await;
    let port = rosetta.port();
    let console = rosetta.console_url();
    let b = Browser::start()
        .await
        .expect("chromium and chromedriver (apt-get install chromium chromium-driver)");
    sign_up_through_the_outbox(&b, &rosetta).await;
    b.goto(&format!("{console}/")).await.unwrap();
    if screenshots {
        b.wait_for_text("Forgot your password?", LIMIT).await.unwrap();
        keep_screenshot(&b, "sign-in").await;
    }
    sign_in(&b).await;

    // Step 1 of the card is current, nothing is done.
    let page = wait_for_step(&b, "atlassian", "current").await;
    assert!(page.contains("data-done=\"0\""), "{page}");
    for key in ["source", "login", "mfa"] {
        assert_eq!(step_state(&page, key), "todo", "{key}");
    }
    if screenshots {
        b.wait_for_text("No logins yet", LIMIT).await.unwrap();
        keep_screenshot(&b, "overview-new").await;
    }

    // Step 1: the wizard, reached from the card; the "Atlassian" is a real SAML SP
    // validator configured with Rosetta's values.
    b.click("#setup-step-atlassian a").await.unwrap();
    let page = b.wait_for_text("BEGIN CERTIFICATE", LIMIT).await.unwrap();
    let mut config = SamlSpConfig::new(
        "https://acme.atlassian.example/saml",
        &text_of(&page, "idp-sso-url"),
        text_of(&page, "idp-certificate").trim(),
    );
    config.idp_issuer = Some(text_of(&page, "idp-entity-id"));
    let sp = SamlSp::start(&config).unwrap();
    save_atlassian_values(&b, sp.acs_url()).await;
    if screenshots {
        b.goto(&format!("{console}/atlassian")).await.unwrap();
        b.wait_for_text("Step 3 of 3", LIMIT).await.unwrap();
        keep_screenshot(&b, "atlassian").await;
    }
    b.click(".sidenav a[href='/']").await.unwrap();
    wait_for_step(&b, "atlassian", "done").await;
    let page = wait_for_step(&b, "source", "current").await;
    assert!(page.contains("data-done=\"1\""), "{page}");

    // Step 2: the identity provider, added and tested.
    let op = OidcProvider::start(&OidcProviderConfig {
        clients: vec![OidcClient::new(
            "rosetta",
            "op-client-secret",
            &format!("http://acme.localhost:{port}/oidc/callback/corp"),
        )],
        accounts: vec![OidcAccount::verified("ada-sub", "ada@acme.example", "Ada", "Lovelace")],
        ..OidcProviderConfig::default()
    })
    .expect("the test OP starts (e2e/peers/install.sh)");
    b.click("#setup-step-source a").await.unwrap();
    b.wait_for_text("Add an identity provider", LIMIT).await.unwrap();
    for (field, value) in [
        ("#field-name", "corp"),
        ("#field-issuer", op.issuer()),
        ("#field-client_id", "rosetta"),
        ("#field-client_secret", "op-client-secret"),
        ("#field-domains", "acme.example"),
    ] {
        b.type_into(field, value).await.unwrap();
    }
    b.click("form button[type=submit]").await.unwrap();
    b.wait_for_text("Redirect URI to register", LIMIT).await.unwrap();
    b.click(".sidenav a[href='/']").await.unwrap();
    let page = wait_for_step(&b, "source", "current").await;
    assert!(page.contains("Test the connection"), "added, not tested yet: {page}");
    b.click("#setup-step-source a").await.unwrap();
    b.wait_for_text("test-connection", LIMIT).await.unwrap();
    b.click("button.test-connection").await.unwrap();
    b.wait_for_text("usable signing key", LIMIT).await.unwrap();
    if screenshots {
        keep_screenshot(&b, "identity-providers").await;
    }
    b.click(".sidenav a[href='/']").await.unwrap();
    wait_for_step(&b, "source", "done").await;
    wait_for_step(&b, "login", "current").await;
    if screenshots {
        keep_screenshot(&b, "overview").await;
    }

    // Step 3: a real brokered login, from the SP through the provider back to the SP.
    b.click("#setup-step-login a").await.unwrap();
    b.wait_for_text("test-login", LIMIT).await.unwrap();
    b.goto(&sp.login_url("https://acme.atlassian.example/jira"))
        .await
        .unwrap();
    b.wait_for_url(op.issuer(), LIMIT).await.unwrap();
    b.type_into("input[name=login]", "ada-sub").await.unwrap();
    b.click("button, input[type=submit]").await.unwrap();
    b.wait_for_url(sp.acs_url(), LIMIT).await.unwrap();
    let verdict = b.source().await.unwrap();
    assert!(
        verdict.contains("\"ok\":true") && verdict.contains("ada@acme.example"),
        "{verdict}"
    );
    b.goto(&format!("{console}/")).await.unwrap();
    wait_for_step(&b, "login", "done").await;
    let page = wait_for_step(&b, "mfa", "current").await;
    assert!(page.contains("data-done=\"3\""), "{page}");

    // Step 4: a decision on two-step sign-in, even "never", completes the card.
    b.click("#setup-step-mfa a").await.unwrap();
    b.wait_for_text("For people signing in", LIMIT).await.unwrap();
    b.click("#mfa-off").await.unwrap();
    b.click("#save-mfa-policy").await.unwrap();
    b.wait_for_text("Saved.", LIMIT).await.unwrap();
    b.click(".sidenav a[href='/']").await.unwrap();
    wait_for_step(&b, "mfa", "done").await;
    let page = b.wait_for_text("Set-up complete", LIMIT).await.unwrap();
    assert!(page.contains("data-done=\"4\""), "{page}");
    assert!(!page.contains("aria-current=\"step\""), "no step left: {page}");

    if screenshots {
        b.wait_for_text("latest-logins", LIMIT).await.unwrap();
        keep_screenshot(&b, "overview-complete").await;
        b.click(".sidenav a[href='/people']").await.unwrap();
        b.wait_for_text("ada@acme.example", LIMIT).await.unwrap();
        keep_screenshot(&b, "end-users").await;
        // What the Atlassian application receives, previewed for the person who signed in;
        // its groups rule; an identity provider from the Entra ID preset.
        b.click(".sidenav a[href='/applications']").await.unwrap();
        b.wait_for_text("attributes-link", LIMIT).await.unwrap();
        b.click("a.attributes-link").await.unwrap();
        b.wait_for_text("id=\"attribute-rules\"", LIMIT).await.unwrap();
        b.click("#preview-person").await.unwrap();
        b.type_into("#preview-search", "ada").await.unwrap();
        b.click("#preview-find").await.unwrap();
        b.wait_for_text("preview-user", LIMIT).await.unwrap();
        b.click("button.preview-user").await.unwrap();
        b.click("#run-preview").await.unwrap();
        b.wait_for_text("id=\"preview-result\"", LIMIT).await.unwrap();
        keep_screenshot(&b, "attributes").await;
        b.click("a.subnav-groups").await.unwrap();
        b.wait_for_text("id=\"groups-allow\"", LIMIT).await.unwrap();
        keep_screenshot(&b, "groups").await;
        b.click(".sidenav a[href='/sources']").await.unwrap();
        b.wait_for_text("id=\"preset-entra\"", LIMIT).await.unwrap();
        b.click("#preset-entra").await.unwrap();
        b.wait_for_text("At Microsoft Entra ID", LIMIT).await.unwrap();
        keep_screenshot(&b, "add-identity-provider").await;
        // Provisioning of the Atlassian application to a real SCIM server, synced.
        let scim = ScimServer::start(
            "2fb21891-7bee-4c2d-a61a-ade3834c8b2b",
            "atlassian-directory-key-0123456789",
        )
        .expect("the SCIM peer starts (scripts/setup.sh installs scim2-server)");
        b.click(".sidenav a[href='/applications']").await.unwrap();
        b.wait_for_text("User provisioning is off", LIMIT).await.unwrap();
        b.click("a.set-up-provisioning").await.unwrap();
        b.wait_for_text("field-directory_id", LIMIT).await.unwrap();
        b.click(".field-switch button").await.unwrap();
        b.wait_for_text("field-base_url", LIMIT).await.unwrap();
        b.type_into("#field-base_url", &scim.base_url()).await.unwrap();
        b.type_into("#field-api_key", "atlassian-directory-key-0123456789")
            .await
            .unwrap();
        b.click("#save-provisioning").await.unwrap();
        b.wait_for_text("data-state=\"running\"", LIMIT).await.unwrap();
        b.click("button.test-connection").await.unwrap();
        b.wait_for_text("Connection works.", LIMIT).await.unwrap();
        b.click("#sync-now").await.unwrap();
        b.wait_for_text("start-sync", LIMIT).await.unwrap();
        b.click("#start-sync").await.unwrap();
        b.wait_for_text("Sync finished.", LIMIT).await.unwrap();
        b.wait_for_text("data-state=\"synced\"", LIMIT).await.unwrap();
        keep_screenshot(&b, "provisioning").await;
        b.click(".sidenav a[href='/audit']").await.unwrap();
        b.wait_for_text("<code>identity_source.test</code>", LIMIT)
            .await
            .unwrap();
        keep_screenshot(&b, "audit-log").await;
        b.click(".sidenav a[href='/keys']").await.unwrap();
        b.wait_for_text("fingerprint", LIMIT).await.unwrap();
        b.click("#publish-key").await.unwrap();
        b.wait_for_text("Promote (sign with it from now on)", LIMIT)
            .await
            .unwrap();
        dismiss_notices(&b).await;
        b.click("button.promote").await.unwrap();
        b.wait_for_text("Sign with the next key?", LIMIT).await.unwrap();
        keep_as_is(&b, "confirm-promote").await;
        b.click("dialog[open] button.cancel").await.unwrap();
        b.resize(390, 844).await.unwrap();
        b.goto(&format!("{console}/")).await.unwrap();
        b.wait_for_text("Set-up complete", LIMIT).await.unwrap();
        keep_screenshot(&b, "phone-overview").await;
    }
}

#[tokio::test]
async fn the_progress_card_leads_a_new_tenant_to_a_first_login() {
    set_up_progress_to_a_first_login(Stack::embedded(), false).await;
}

#[tokio::test]
async fn the_progress_card_leads_a_new_tenant_to_a_first_login_on_postgres_and_redis() {
    let Some(stack) = Stack::external().await else {
        return;
    };
    set_up_progress_to_a_first_login(stack, false).await;
}

/// Takes the screenshots the README shows (`console/screenshots/`): run with `--ignored`.
#[tokio::test]
#[ignore = "writes console/screenshots/; run when the console's look changes"]
async fn screenshots_of_the_main_pages() {
    set_up_progress_to_a_first_login(Stack::embedded(), true).await;
}

/// A load that fails says so, with a Retry that loads again, never an empty list: the end
/// users while the database (a private PostgreSQL cluster) is stopped; once it is back,
/// Retry shows them. The session lives in the in-process store, so it survives the outage.
#[tokio::test]
async fn a_failed_load_shows_an_error_and_retry_recovers() {
    if !rosetta_e2e::postgres_variant() {
        return;
    }
    let mut pg = PostgresServer::start().expect("a private PostgreSQL cluster starts (initdb, pg_ctl)");
    let env = vec![
        (
            "ROSETTA_DATABASE_URL".to_owned(),
            TestDatabase::at(&pg.url()).url().to_owned(),
        ),
        ("ROSETTA_CONSOLE_DIR".to_owned(), console_dist().display().to_string()),
    ];
    let rosetta = Rosetta::start(&env).await;
    let console = rosetta.console_url();
    let b = Browser::start()
        .await
        .expect("chromium and chromedriver (apt-get install chromium chromium-driver)");
    sign_up_through_the_outbox(&b, &rosetta).await;
    b.goto(&format!("{console}/")).await.unwrap();
    sign_in(&b).await;
    wait_for_step(&b, "atlassian", "current").await;

    pg.stop().expect("pg_ctl stop");
    b.click(".sidenav a[href='/people']").await.unwrap();
    let page = b.wait_for_text("Could not load the end users", LIMIT).await.unwrap();
    b.screenshot("console-load-error").await.unwrap();
    assert!(page.contains("cannot reach its database"), "{page}");
    assert!(page.contains("Retry"), "{page}");
    assert!(
        !page.contains("Nobody has signed in"),
        "a failure is not an empty list: {page}"
    );

    pg.restart().expect("pg_ctl start");
    let http = rosetta_e2e::http_client(&[], rosetta.port());
    let deadline = std::time::Instant::now() + LIMIT;
    while !http
        .get(format!("{console}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(std::time::Instant::now() < deadline, "Rosetta never became ready again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.click("button.retry").await.unwrap();
    let page = b
        .wait_for_text("Nobody has signed in through Rosetta yet", LIMIT)
        .await
        .unwrap();
    assert!(!page.contains("Could not load the end users"), "{page}");
}
