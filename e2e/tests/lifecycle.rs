//! Provisioning and deprovisioning end to end: the real `rosetta` binary between the real
//! OpenID provider (npm `oidc-provider`: refresh tokens for `offline_access` with consent,
//! and a switch that disables an account), the independent SAML SP validator, and a real
//! SCIM 2.0 server standing in for Atlassian's user-provisioning API
//! (`e2e/peers/scim_server.py`: scim2-server with Atlassian's documented rules). Set-up is
//! done with the operator's command line, as an operator would.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use rosetta_e2e::bench::{form_field, location, user_agent};
use rosetta_e2e::world::{World, run, world_with_source};
use rosetta_e2e::{OidcAccount, Rosetta, SamlValidation, ScimServer, Stack};
use sea_orm::ConnectionTrait;
use serde_json::Value;

const DIRECTORY: &str = "9f8e7d6c-atlassian-directory";
const KEY: &str = "ATATT3xFfGF0-scim-key";

/// An SP-initiated login at `jira` as `login` (sub or email at the provider), through the
/// consent leg when Rosetta asks for offline access; the SP's verdict, and whether consent
/// was asked.
async fn login(w: &World, login: &str) -> (SamlValidation, bool) {
    let browser = user_agent(w.rosetta.port()).unwrap();
    let res = browser.get(w.jira.login_url("lifecycle")).send().await.unwrap();
    let res = browser.get(location(&res).unwrap()).send().await.unwrap();
    assert_eq!(res.status(), 302, "{}", w.rosetta.logs());
    let callback =
        w.op.scripted_login(&browser, &location(&res).unwrap(), login)
            .await
            .unwrap();
    let mut res = browser.get(callback.as_str()).send().await.unwrap();
    let mut consent = false;
    if res.status() == 302 {
        let again = location(&res).unwrap();
        assert!(again.starts_with(w.op.issuer()), "{again}");
        assert!(
            again.contains("offline_access") && again.contains("prompt=consent"),
            "{again}"
        );
        consent = true;
        let callback = w.op.scripted_login(&browser, &again, login).await.unwrap();
        res = browser.get(callback.as_str()).send().await.unwrap();
    }
    assert_eq!(res.status(), 200, "{}", w.rosetta.logs());
    let page = res.text().await.unwrap();
    assert!(
        page.contains(&format!("action=\"{}\"", w.jira.acs_url())),
        "posted to the ACS"
    );
    let response = form_field(&page, "SAMLResponse").expect("a SAMLResponse");
    let relay = form_field(&page, "RelayState");
    let verdict = w.jira.post_response(&response, relay.as_deref()).await.unwrap();
    assert!(verdict.ok, "{:?}", verdict.error);
    (verdict, consent)
}

/// Points `jira` at the SCIM server with `KEY`, from the command line.
async fn provision(w: &World, scim: &ScimServer) {
    let key_file = w.rosetta.data_dir().join("scim-key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let target = run(
        &w.rosetta,
        w.rosetta.env(),
        &[
            "provisioning",
            "set",
            "acme",
            "jira",
            "--base-url",
            &scim.base_url(),
            "--api-key-file",
            key_file.to_str().unwrap(),
            "--key-expires-on",
            "2027-12-01",
            "--json",
        ],
    )
    .await;
    assert_eq!(target["enabled"], true, "{target}");
    let tested = run(
        &w.rosetta,
        w.rosetta.env(),
        &["provisioning", "test", "acme", "jira", "--json"],
    )
    .await;
    assert_eq!(tested["step"], "ok", "{tested}");
}

/// The directory's users once `check` holds (bounded wait for the push worker).
async fn until(scim: &ScimServer, what: &str, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state = scim.state();
        let users = state["users"].as_array().unwrap().clone();
        if check(&users) {
            return users;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}: {state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Rosetta with a short provisioning poll (pushes follow their change within 100 ms).
async fn start(stack: &Stack, extra: &[(&str, &str)]) -> Rosetta {
    let mut env = stack.env();
    env.push(("ROSETTA_PROVISIONING_POLL_MS".into(), "100".into()));
    env.push((
        "ROSETTA_METRICS_LISTEN".into(),
        format!("127.0.0.1:{}", rosetta_e2e::free_port()),
    ));
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Rosetta::start(&env).await
}

async fn joiner_and_leaver(stack: Stack) {
    let rosetta = start(&stack, &[]).await;
    let w = world_with_source(rosetta, stack, &["--offline-access"]).await;
    let scim = ScimServer::start(DIRECTORY, KEY).unwrap();
    provision(&w, &scim).await;

    // Joiner: the first login creates the user, under the NameID the SP received.
    let (verdict, consent) = login(&w, "ada-sub").await;
    assert!(consent, "offline access is asked at the first login");
    let name_id = verdict.name_id.clone().unwrap();
    let users = until(&scim, "ada", |u| u.len() == 1).await;
    assert_eq!(users[0]["userName"].as_str(), Some(name_id.as_str()));
    assert_eq!(users[0]["active"], true);
    assert_eq!(users[0]["displayName"], "Ada Lovelace");
    // A change at the provider (her name) arrives with the next login, which asks for
    // nothing more.
    w.op.add_account(&OidcAccount::verified("ada-sub", "ada@acme.example", "Ada", "King"))
        .await
        .unwrap();
    assert!(!login(&w, "ada-sub").await.1, "consent once");
    let users = until(&scim, "ada's new name", |u| {
        u.len() == 1 && u[0]["displayName"] == "Ada King"
    })
    .await;
    assert_eq!(
        users[0]["userName"].as_str(),
        Some(name_id.as_str()),
        "updated, not duplicated"
    );

    // Leaver: the provider disables the account; the next lifecycle run finds out.
    w.op.disable_account("ada-sub").await.unwrap();
    let report = run(&w.rosetta, w.rosetta.env(), &["lifecycle", "run", "acme", "--json"]).await;
    assert_eq!(report["refused"], 1, "{report}");
    let users = until(&scim, "ada deactivated", |u| u.len() == 1 && u[0]["active"] == false).await;
    assert_eq!(users[0]["userName"].as_str(), Some(name_id.as_str()));
    let db = sea_orm::Database::connect(w.stack.database.url()).await.unwrap();
    let departed = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT detail FROM audit_event WHERE action = 'end_user.depart'".to_owned(),
        ))
        .await
        .unwrap();
    assert_eq!(departed.len(), 1, "audited as departed");
    let detail: String = departed[0].try_get("", "detail").unwrap();
    assert!(detail.contains("provider_refused"), "{detail}");
    // The push outcomes are counted (the metrics listener of `start`).
    let listen = w
        .rosetta
        .env()
        .iter()
        .find(|(k, _)| k == "ROSETTA_METRICS_LISTEN")
        .map(|(_, v)| v.clone())
        .unwrap();
    let metrics = reqwest::get(format!("http://{listen}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "rosetta_provisioning_pushes_total{outcome=\"create\"} 1",
        "rosetta_provisioning_pushes_total{outcome=\"deactivate\"} 1",
        "rosetta_provisioning_queue_depth",
        "rosetta_provisioning_oldest_pending_seconds",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    // No refresh token, code or SCIM key in the log.
    let logs = w.rosetta.logs();
    assert!(!logs.contains(KEY), "the SCIM key is never logged");
    assert!(!logs.contains("refresh_token="), "no refresh token in the log");
}

#[tokio::test]
async fn joiner_and_leaver_on_sqlite_and_memory() {
    joiner_and_leaver(Stack::embedded()).await;
}

#[tokio::test]
async fn joiner_and_leaver_on_postgres_and_redis() {
    if let Some(stack) = Stack::external().await {
        joiner_and_leaver(stack).await;
    }
}

/// Pushes queued in the database survive a crash: Rosetta is killed (SIGKILL) while its
/// target waits (the directory rejects the key), another process starts on the same
/// database, the key is replaced, and every queued user arrives.
#[tokio::test]
async fn pushes_queued_when_rosetta_is_killed_arrive_after_the_restart() {
    let Some(stack) = Stack::external().await else {
        return;
    };
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    use base64::Engine;
    let master = base64::engine::general_purpose::STANDARD.encode(key);
    let rosetta = start(&stack, &[("ROSETTA_MASTER_KEY", &master)]).await;
    let mut w = world_with_source(rosetta, stack, &[]).await;
    for (sub, email) in [("bob-sub", "bob@acme.example"), ("eve-sub", "eve@acme.example")] {
        w.op.add_account(&OidcAccount::verified(sub, email, "Test", sub))
            .await
            .unwrap();
    }
    let scim = ScimServer::start(DIRECTORY, KEY).unwrap();
    provision(&w, &scim).await;
    scim.reject_key(true);
    for who in ["ada-sub", "bob-sub", "eve-sub"] {
        login(&w, who).await;
    }
    // Wait until the target is paused with the three pushes queued.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let target = run(
            &w.rosetta,
            w.rosetta.env(),
            &["provisioning", "show", "acme", "jira", "--json"],
        )
        .await;
        if target["paused_reason"].is_string() && target["queue"]["pending"] == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "{target}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = w.rosetta.pid().unwrap();
    assert!(
        std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    assert!(w.rosetta.wait_exit(Duration::from_secs(30)).await.is_some());
    assert!(scim.state()["users"].as_array().unwrap().is_empty(), "nothing arrived");

    // Another process on the same database and master key; the admin pastes a new key.
    w.rosetta = start(&w.stack, &[("ROSETTA_MASTER_KEY", &master)]).await;
    scim.reject_key(false);
    provision(&w, &scim).await;
    let users = until(&scim, "the three users", |u| u.len() == 3).await;
    let mut names: Vec<&str> = users.iter().map(|u| u["userName"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["ada@acme.example", "bob@acme.example", "eve@acme.example"]);
}
