//! What an application receives, set in the console in a real browser (headless Chromium
//! over WebDriver) against the real binary: an Atlassian application's attributes (a rule
//! from a claim path with a change, previewed on sample claims before it is saved, a bad
//! pattern refused by its rule, the saved rules kept), its groups rule (allowed patterns and
//! renames, previewed), and an identity provider added from the Entra ID preset (its steps
//! shown, the multi-tenant issuer refused by the issuer field).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rosetta_e2e::console_kit::{
    ATLASSIAN_ACS, LIMIT, console_dist, save_atlassian_values, sign_in, sign_up_and_verify,
};
use rosetta_e2e::{Browser, Rosetta};

/// The sample claims of the brief: `department` is `R&D`.
const SAMPLE: &str = r#"{"email":"ada@corp.example","email_verified":true,"department":"R&D"}"#;

/// A running Rosetta serving the console, and a browser signed in as the owner of tenant
/// `acme`, which has just signed up (the verification link from the embedded outbox).
async fn signed_in() -> (Rosetta, Browser) {
    let env = vec![("ROSETTA_CONSOLE_DIR".to_owned(), console_dist().display().to_string())];
    let rosetta = Rosetta::start(&env).await;
    let b = Browser::start()
        .await
        .expect("chromium and chromedriver (apt-get install chromium chromium-driver)");
    sign_up_and_verify(&b, &rosetta, None).await;
    b.goto(&format!("{}/", rosetta.console_url())).await.unwrap();
    sign_in(&b).await;
    b.wait_for_text("setup-progress", LIMIT).await.unwrap();
    (rosetta, b)
}

/// Registers the Atlassian application through the wizard, then opens the Applications page.
async fn with_atlassian(b: &Browser, console: &str) {
    b.goto(&format!("{console}/atlassian")).await.unwrap();
    save_atlassian_values(b, ATLASSIAN_ACS).await;
    b.click(".sidenav a[href='/applications']").await.unwrap();
    b.wait_for_text("attributes-link", LIMIT).await.unwrap();
}

/// The markup of the element whose opening tag holds `marker`, up to `end` (exclusive).
fn section<'a>(page: &'a str, marker: &str, end: &str) -> &'a str {
    let start = page.find(marker).unwrap_or_else(|| panic!("no {marker} in {page}"));
    let rest = &page[start..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// Runs the preview on sample `claims` (on a page that has not run one) and waits for its
/// result; returns the page.
async fn preview_sample(b: &Browser, claims: &str) -> String {
    b.click("#preview-sample").await.unwrap();
    b.wait_for_text("field-claims_json", LIMIT).await.unwrap();
    b.clear("#field-claims_json").await.unwrap();
    b.type_into("#field-claims_json", claims).await.unwrap();
    // Run on a page without a result yet, so the one awaited is this run's.
    assert!(!b.source().await.unwrap().contains("id=\"preview-result\""));
    b.click("#run-preview").await.unwrap();
    b.wait_for_text("id=\"preview-result\"", LIMIT).await.unwrap()
}

#[tokio::test]
async fn attributes_are_previewed_refused_by_rule_and_kept() {
    let (rosetta, b) = signed_in().await;
    let console = rosetta.console_url();
    with_atlassian(&b, &console).await;

    // The Atlassian application's Attributes page, from its card.
    b.click("a.attributes-link").await.unwrap();
    let page = b.wait_for_text("id=\"attribute-rules\"", LIMIT).await.unwrap();
    assert!(page.contains("emailaddress"), "Atlassian's attributes: {page}");
    let existing = page.matches("class=\"rule\"").count();
    assert_eq!(existing, 4, "Atlassian's four attributes: {page}");

    // A new rule: the claim path `department`, lowercased.
    b.click("#add-rule").await.unwrap();
    let last = "#attribute-rules > li:last-child";
    b.wait_for_text(&format!("data-field=\"attributes[{existing}]\""), LIMIT)
        .await
        .unwrap();
    b.type_into(&format!("{last} input.rule-name"), "department")
        .await
        .unwrap();
    b.type_into(&format!("{last} input.value-path"), "department")
        .await
        .unwrap();
    b.click(&format!("{last} button.add-lowercase")).await.unwrap();
    b.wait_for_text(">Lowercase<", LIMIT).await.unwrap();

    // The preview runs the rules as edited, before they are saved.
    let page = preview_sample(&b, SAMPLE).await;
    let result = section(&page, "id=\"preview-result\"", "The claims it ran on");
    let row = section(result, "data-attribute=\"department\"", "</tr>");
    assert!(row.contains(">r&amp;d<"), "department lowercased: {row}");
    assert!(result.contains("ada@corp.example"), "the NameID: {result}");
    b.screenshot("mapping-1-preview").await.unwrap();

    // An invalid pattern is refused, and the error stands by its rule and its change.
    b.click(&format!("{last} button.add-regex")).await.unwrap();
    b.wait_for_text("transform-pattern", LIMIT).await.unwrap();
    b.type_into(&format!("{last} input.transform-pattern"), "(")
        .await
        .unwrap();
    b.click("#save-mapping").await.unwrap();
    let field = format!("data-field=\"attributes[{existing}].transforms[1]\"");
    let page = b.wait_for_text("the pattern is not valid", LIMIT).await.unwrap();
    let change = section(&page, &field, "</li>");
    assert!(
        change.contains("class=\"field-error\"") && change.contains("the pattern is not valid"),
        "the error by the change it concerns: {change}"
    );
    let rule = section(&page, &format!("data-field=\"attributes[{existing}]\""), "</ol>");
    assert!(rule.contains("department"), "{rule}");
    assert!(page.contains("Some fields need attention."), "{page}");
    b.screenshot("mapping-2-refused").await.unwrap();

    // A valid pattern saves; the page loaded again shows the rule kept, and so does the
    // preview of the saved rules.
    b.clear(&format!("{last} input.transform-pattern")).await.unwrap();
    b.type_into(&format!("{last} input.transform-pattern"), "^(.+)$")
        .await
        .unwrap();
    b.click("#save-mapping").await.unwrap();
    b.wait_for_text("Saved. The next sign-in", LIMIT).await.unwrap();
    let url = b.url().await.unwrap();
    assert!(url.ends_with("/mapping"), "{url}");
    b.goto(&url).await.unwrap();
    let page = b.wait_for_text("id=\"attribute-rules\"", LIMIT).await.unwrap();
    assert_eq!(page.matches("class=\"rule\"").count(), existing + 1, "{page}");
    let rule = section(&page, &format!("data-field=\"attributes[{existing}]\""), "</ol>");
    assert!(rule.contains("<code>department</code>"), "the rule's name: {rule}");
    assert!(rule.contains(">Lowercase<"), "its first change: {rule}");
    assert!(rule.contains(&field), "its second change: {rule}");
    assert!(!page.contains("Unsaved changes"), "{page}");
    let page = preview_sample(&b, SAMPLE).await;
    let row = section(&page, "data-attribute=\"department\"", "</tr>");
    assert!(row.contains(">r&amp;d<"), "the saved rule: {row}");

    // At phone width nothing scrolls sideways.
    b.resize(390, 844).await.unwrap();
    for page in ["mapping", "groups"] {
        b.goto(&url.replace("/mapping", &format!("/{page}"))).await.unwrap();
        b.wait_for_text("Save", LIMIT).await.unwrap();
        b.wait_for_text("run-preview", LIMIT).await.unwrap();
        assert!(!b.overflows_horizontally().await.unwrap(), "{page} overflows at 390 px");
    }
    b.goto(&format!("{console}/sources")).await.unwrap();
    b.wait_for_text("id=\"preset-entra\"", LIMIT).await.unwrap();
    b.click("#preset-entra").await.unwrap();
    b.wait_for_text("At Microsoft Entra ID", LIMIT).await.unwrap();
    assert!(
        !b.overflows_horizontally().await.unwrap(),
        "/sources overflows at 390 px"
    );
    b.resize(1280, 900).await.unwrap();

    // The card on the Applications page says where the value comes from.
    b.click(".sidenav a[href='/applications']").await.unwrap();
    let page = b.wait_for_text("attributes-link", LIMIT).await.unwrap();
    assert!(
        page.contains("claim `department`, lowercase, pattern `^(.+)$`"),
        "{page}"
    );
}

#[tokio::test]
async fn groups_are_allowed_renamed_and_previewed() {
    let (rosetta, b) = signed_in().await;
    let console = rosetta.console_url();
    with_atlassian(&b, &console).await;

    b.click("a.groups-link").await.unwrap();
    b.wait_for_text("id=\"groups-allow\"", LIMIT).await.unwrap();
    b.type_into("#groups-allow", "eng-*").await.unwrap();
    b.click("#add-rename").await.unwrap();
    b.wait_for_text("rename-from", LIMIT).await.unwrap();
    b.type_into("#group-renames tbody tr:last-child input.rename-from", "eng-all")
        .await
        .unwrap();
    b.type_into(
        "#group-renames tbody tr:last-child input.rename-to",
        "jira-software-users",
    )
    .await
    .unwrap();
    b.click("#groups-provision").await.unwrap();
    b.click("#save-groups").await.unwrap();
    b.wait_for_text("Saved. The next sign-in", LIMIT).await.unwrap();

    let claims = r#"{"email":"ada@corp.example","email_verified":true,"groups":["eng-all","sales"]}"#;
    let page = preview_sample(&b, claims).await;
    let upstream = section(&page, "id=\"preview-upstream-groups\"", "</ul>");
    assert!(
        upstream.contains(">eng-all<") && upstream.contains(">sales<"),
        "{upstream}"
    );
    let sent = section(&page, "id=\"preview-groups-sent\"", "</ul>");
    assert!(sent.contains(">jira-software-users<"), "{sent}");
    assert!(
        !sent.contains("sales") && !sent.contains(">eng-all<"),
        "only the allowed group, renamed: {sent}"
    );
    b.screenshot("mapping-3-groups").await.unwrap();

    // Kept: the page loaded again previews the same.
    let url = b.url().await.unwrap();
    b.goto(&url).await.unwrap();
    b.wait_for_text("id=\"group-renames\"", LIMIT).await.unwrap();
    let page = preview_sample(&b, claims).await;
    let sent = section(&page, "id=\"preview-groups-sent\"", "</ul>");
    assert!(
        sent.contains(">jira-software-users<") && !sent.contains("sales"),
        "{sent}"
    );

    // A bad rename (empty on one side) is refused by its row.
    b.click("#add-rename").await.unwrap();
    b.type_into("#group-renames tbody tr:last-child input.rename-from", "sales")
        .await
        .unwrap();
    b.click("#save-groups").await.unwrap();
    let page = b.wait_for_text("a rename maps a group name", LIMIT).await.unwrap();
    let row = section(&page, "data-field=\"groups.rename[1]\"", "</tr>");
    assert!(row.contains("class=\"field-error\""), "{row}");
}

#[tokio::test]
async fn an_entra_source_shows_its_steps_and_refuses_the_common_issuer() {
    let (rosetta, b) = signed_in().await;
    let console = rosetta.console_url();
    b.goto(&format!("{console}/sources")).await.unwrap();
    b.wait_for_text("id=\"preset-entra\"", LIMIT).await.unwrap();
    b.click("#preset-entra").await.unwrap();
    let page = b.wait_for_text("At Microsoft Entra ID", LIMIT).await.unwrap();
    let steps = section(&page, "id=\"preset-steps\"", "</ol>");
    assert!(steps.contains("App registrations"), "{steps}");
    let checks = section(&page, "id=\"preset-checks\"", "</ul>");
    assert!(checks.contains("tid must be your directory"), "{checks}");
    assert!(page.contains("id=\"allow-guests\""), "{page}");
    assert!(page.contains("id=\"fetch-group-overage\""), "{page}");
    // The issuer is filled in from the template, its placeholder explained.
    assert!(page.contains("Replace {tenant-id}"), "{page}");

    b.type_into("#field-name", "entra").await.unwrap();
    let page = b.wait_for_text("redirect-uri-new", LIMIT).await.unwrap();
    let port = rosetta.port();
    assert!(
        page.contains(&format!("http://acme.localhost:{port}/oidc/callback/entra")),
        "the redirect URI to register: {page}"
    );
    // The template as it is is refused here, before anything is sent.
    b.click("#add-source").await.unwrap();
    b.wait_for_text("field-issuer-error", LIMIT).await.unwrap();
    b.clear("#field-issuer").await.unwrap();
    for (field, value) in [
        ("#field-issuer", "https://login.microsoftonline.com/common/v2.0"),
        ("#field-client_id", "rosetta"),
        ("#field-client_secret", "entra-client-secret"),
        ("#field-domains", "acme.example"),
    ] {
        b.type_into(field, value).await.unwrap();
    }
    b.click("#add-source").await.unwrap();
    let page = b
        .wait_for_text("lets users of every Microsoft tenant sign in", LIMIT)
        .await
        .unwrap();
    let issuer = section(&page, "id=\"field-issuer\"", "</div>");
    assert!(
        issuer.contains("id=\"field-issuer-error\"") && issuer.contains("/common"),
        "the error by the issuer: {issuer}"
    );
    assert!(!page.contains("Redirect URI to register"), "nothing added: {page}");
    b.screenshot("mapping-4-entra").await.unwrap();
}
