//! The admin console in a real browser (headless Chromium over WebDriver), served by the
//! real binary, talking to the admin API, with emails through a real SMTP server.
//! Screenshots land in `target/<profile>/e2e-artifacts/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use rosetta_e2e::{Browser, Rosetta, SmtpServer};

const LIMIT: Duration = Duration::from_secs(20);

fn console_dist() -> PathBuf {
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../console/dist");
    assert!(
        dist.join("index.html").is_file(),
        "the console is not built: run `make console` (scripts/test.sh does)"
    );
    dist
}

/// The link in a raw email (quoted-printable undone enough for URLs).
fn link_in(message: &str, path: &str) -> String {
    let text = message.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
    let start = text.find("http://localhost:").expect("a link");
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '<' && *c != '"')
        .collect();
    assert!(link.contains(path), "{link}");
    link
}

#[tokio::test]
async fn sign_up_verify_and_sign_in_in_the_console() {
    let smtp = SmtpServer::start().expect("aiosmtpd starts (pip install aiosmtpd)");
    let env = vec![
        ("ROSETTA_SMTP_URL".to_owned(), smtp.url()),
        ("ROSETTA_CONSOLE_DIR".to_owned(), console_dist().display().to_string()),
    ];
    let rosetta = Rosetta::start(&env).await;
    let b = Browser::start()
        .await
        .expect("chromium and chromedriver (apt-get install chromium chromium-driver)");
    let console = rosetta.console_url();

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
    let page = b.wait_for_text("Paste into Atlassian", LIMIT).await.unwrap();
    b.screenshot("console-4-overview").await.unwrap();
    let port = rosetta.port();
    assert!(
        page.contains(&format!("http://acme.localhost:{port}/saml/metadata")),
        "{page}"
    );
    assert!(
        page.contains(&format!("http://acme.localhost:{port}/saml/sso")),
        "{page}"
    );
    assert!(page.contains("BEGIN CERTIFICATE"), "{page}");

    // Sign-out ends the session: a reload shows the sign-in form again.
    b.click("button.link").await.unwrap();
    b.wait_for_text("Forgot your password?", LIMIT).await.unwrap();
    b.goto(&format!("{console}/")).await.unwrap();
    b.wait_for_text("Forgot your password?", LIMIT).await.unwrap();
}
