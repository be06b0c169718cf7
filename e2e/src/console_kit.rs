//! What the console's browser tests share: the built console, the admin they sign up, and
//! the links of the emails it is sent.

use std::path::PathBuf;
use std::time::Duration;

use crate::{Browser, Rosetta, SmtpServer};

/// How long a console page may take to show what a test waits for.
pub const LIMIT: Duration = Duration::from_secs(20);
/// The admin every console test signs up.
pub const ADMIN_EMAIL: &str = "ada@acme.example";
/// Their password.
pub const ADMIN_PASSWORD: &str = "plum harbour violet engine";

/// The built console (`make console`), which Rosetta serves with `ROSETTA_CONSOLE_DIR`.
pub fn console_dist() -> PathBuf {
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../console/dist");
    assert!(
        dist.join("index.html").is_file(),
        "the console is not built: run `make console` (scripts/test.sh does)"
    );
    dist
}

/// The link in a raw email (quoted-printable undone enough for URLs).
pub fn link_in(message: &str, path: &str) -> String {
    let text = message.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
    let start = text.find("http://localhost:").expect("a link");
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '<' && *c != '"')
        .collect();
    assert!(link.contains(path), "{link}");
    link
}

/// Signs up organisation `acme` with [`ADMIN_EMAIL`] in the console and confirms the
/// address with the emailed link (from `smtp`, else from Rosetta's outbox).
pub async fn sign_up_and_verify(b: &Browser, rosetta: &Rosetta, smtp: Option<&SmtpServer>) {
    let console = rosetta.console_url();
    b.goto(&format!("{console}/signup")).await.unwrap();
    b.wait_for_text("Create your organisation", LIMIT).await.unwrap();
    for (field, value) in [
        ("#field-email", ADMIN_EMAIL),
        ("#field-password", ADMIN_PASSWORD),
        ("#field-tenant_slug", "acme"),
        ("#field-tenant_name", "Acme"),
    ] {
        b.type_into(field, value).await.unwrap();
    }
    b.click("button[type=submit]").await.unwrap();
    b.wait_for_text("Check your email", LIMIT).await.unwrap();
    let message = match smtp {
        Some(smtp) => smtp.wait_for(1, LIMIT).remove(0),
        None => std::fs::read_dir(rosetta.data_dir().join("outbox"))
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .next()
            .expect("the verification email"),
    };
    b.goto(&link_in(&message, "/verify-email?token=")).await.unwrap();
    b.wait_for_text("Confirm my email address", LIMIT).await.unwrap();
    b.click("button[type=submit]").await.unwrap();
    b.wait_for_text("confirmed", LIMIT).await.unwrap();
}

/// Atlassian's ACS URL as the console tests paste it (its query string included).
pub const ATLASSIAN_ACS: &str = "https://auth.atlassian.com/login/callback?connection=saml-acme";

/// Step 2 of the Atlassian wizard (the page shown): pastes the entity ID and `acs_url`,
/// saves, and waits for step 3.
pub async fn save_atlassian_values(b: &Browser, acs_url: &str) {
    b.wait_for_text("field-entity_id", LIMIT).await.unwrap();
    b.type_into("#field-entity_id", "https://acme.atlassian.example/saml")
        .await
        .unwrap();
    b.type_into("#field-acs_urls", acs_url).await.unwrap();
    b.click("form button[type=submit]").await.unwrap();
    b.wait_for_text("Step 3 of 3", LIMIT).await.unwrap();
}

/// Fills in and sends the sign-in form shown on the current page.
pub async fn sign_in(b: &Browser) {
    b.wait_for_text("Forgot your password?", LIMIT).await.unwrap();
    b.type_into("#field-email", ADMIN_EMAIL).await.unwrap();
    b.type_into("#field-password", ADMIN_PASSWORD).await.unwrap();
    b.click("button[type=submit]").await.unwrap();
}

/// A running Rosetta serving the console (with `env` too), and a browser signed in as the
/// owner of tenant `acme` ([`ADMIN_EMAIL`]), who has just signed up (the verification link
/// from the embedded outbox), on the overview.
pub async fn signed_in_owner(env: &[(String, String)]) -> (Rosetta, Browser) {
    let mut all = vec![("ROSETTA_CONSOLE_DIR".to_owned(), console_dist().display().to_string())];
    all.extend(env.iter().cloned());
    let rosetta = Rosetta::start(&all).await;
    let b = Browser::start()
        .await
        .expect("chromium and chromedriver (apt-get install chromium chromium-driver)");
    sign_up_and_verify(&b, &rosetta, None).await;
    b.goto(&format!("{}/", rosetta.console_url())).await.unwrap();
    sign_in(&b).await;
    b.wait_for_text("setup-progress", LIMIT).await.unwrap();
    (rosetta, b)
}
