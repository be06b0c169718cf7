//! Provisioning over SCIM 2.0 (issue "Lifecycle"), against a real SCIM server standing in
//! for Atlassian's user-provisioning API (`e2e/peers/scim_server.py`: scim2-server with
//! Atlassian's documented rules: userName = primary email, 409 for a taken one, `eq` filters
//! only, 429 with Retry-After on demand, a switch that rejects the key). Logins go through
//! the stand-in OpenID provider of `rp_conformance`; pushes are the worker's, off the login.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rosetta::admin::service_providers::Which;
use rosetta::admin::{Scope, end_users, provisioning};
use rosetta::domain::TenantSlug;
use rosetta_api::{PageQuery, ProvisioningState, ProvisioningStep, PutProvisioningRequest, UserStatus};
use rosetta_e2e::ScimServer;
use serde_json::{Value, json};

use crate::helpers::{TestApp, add_atlassian_sp, spawn_app, spawn_replica};
use crate::rp_conformance::case;

const DIRECTORY: &str = "2f1c7a52-directory";
const KEY: &str = "ATCTT3xFfGN0-first-key";

async fn scope_of(app: &TestApp) -> Scope {
    Scope::operator(&app.state, &TenantSlug::parse("acme").unwrap())
        .await
        .unwrap()
}

fn target_request(base_url: &str, key: Option<&str>) -> PutProvisioningRequest {
    PutProvisioningRequest {
        base_url: base_url.into(),
        api_key: key.map(str::to_owned),
        key_expires_on: Some("2027-12-01".into()),
        enabled: true,
    }
}

/// Points the SP `jira` of tenant `acme` at the SCIM server with `key`.
async fn provision(app: &TestApp, scim: &ScimServer, key: &str) {
    provisioning::put(
        &app.state,
        &scope_of(app).await,
        Which::Name("jira"),
        target_request(&scim.base_url(), Some(key)),
    )
    .await
    .unwrap();
}

/// What `read` returns once `done` holds for it, read every 25 ms (bounded wait: the worker
/// polls every 50 ms in tests, so this is seconds at most unless something is broken).
async fn eventually<T: std::fmt::Debug>(what: &str, mut read: impl AsyncFnMut() -> T, done: impl Fn(&T) -> bool) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let value = read().await;
        if done(&value) {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}: {value:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The SCIM server's state once `check` holds.
async fn until(scim: &ScimServer, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    eventually(what, async || scim.state(), check).await
}

/// The state of `jira`'s target once `done` holds for it.
async fn target_when(
    app: &TestApp,
    what: &str,
    done: impl Fn(&rosetta_api::ProvisioningTarget) -> bool,
) -> rosetta_api::ProvisioningTarget {
    eventually(
        what,
        async || {
            provisioning::get(&app.state, &scope_of(app).await, Which::Name("jira"))
                .await
                .unwrap()
        },
        done,
    )
    .await
}

fn users(state: &Value) -> &Vec<Value> {
    state["users"].as_array().unwrap()
}

/// The NameID of the SAML response on an auto-post page.
fn name_id_of(page: &str) -> String {
    let start = page.find("name=\"SAMLResponse\" value=\"").expect("a SAMLResponse") + 27;
    let b64 = &page[start..start + page[start..].find('"').unwrap()];
    let xml = String::from_utf8(B64.decode(b64).unwrap()).unwrap();
    let open = xml.find("<saml:NameID").expect("a NameID");
    let value_start = open + xml[open..].find('>').unwrap() + 1;
    let value_end = value_start + xml[value_start..].find('<').unwrap();
    xml[value_start..value_end].to_owned()
}

/// The user's provisioning state at `jira`'s target, once it is `want`.
async fn state_becomes(app: &TestApp, email: &str, want: ProvisioningState) -> rosetta_api::ProvisioningUser {
    let read = async || {
        let page = provisioning::users(
            &app.state,
            &scope_of(app).await,
            Which::Name("jira"),
            &PageQuery::default(),
        )
        .await
        .unwrap();
        page.items
            .into_iter()
            .find(|u| u.email == email)
            .expect("the user is listed")
    };
    eventually(&format!("{email} to be {want:?}"), read, |u| u.state == want).await
}

/// The tenant's audit events (action, outcome, detail), once `done` holds for them: the push
/// worker audits a push after the directory answered it, so a test that saw the directory
/// change waits for the event too.
async fn audit_when(
    app: &TestApp,
    tenant_id: uuid::Uuid,
    done: impl Fn(&[(String, String, String)]) -> bool,
) -> Vec<(String, String, String)> {
    eventually(
        "the audit event",
        async || audit_actions(app, tenant_id).await,
        |e| done(e),
    )
    .await
}

async fn audit_actions(app: &TestApp, tenant_id: uuid::Uuid) -> Vec<(String, String, String)> {
    app.state.audit.flush().await;
    rosetta::services::audit::recent(&app.state.db, tenant_id, 500)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.outcome, e.detail))
        .collect()
}

#[tokio::test]
async fn a_login_creates_the_user_under_the_name_id_the_sp_receives() {
    let c = case().await;
    let scim = ScimServer::start(DIRECTORY, KEY).unwrap();
    provision(&c.app, &scim, KEY).await;
    let (status, page) = c.login_edited(|_| {}).await;
    assert_eq!(status, 200, "{page}");
    let name_id = name_id_of(&page);
    let state = until(&scim, "the user", |s| users(s).len() == 1).await;
    let user = &users(&state)[0];
    assert_eq!(
        user["userName"],
        json!(name_id),
        "SSO and provisioning name the user alike"
    );
    assert_eq!(user["emails"][0]["value"], "alice@corp.com");
    assert_eq!(user["displayName"], "Alice Liddell");
    assert_eq!(user["active"], true);
    let synced = state_becomes(&c.app, "alice@corp.com", ProvisioningState::Synced).await;
    assert_eq!(synced.scim_id.as_deref(), user["id"].as_str());
    assert_eq!(user["externalId"].as_str(), Some(synced.user_id.as_str()));
    let events = audit_actions(&c.app, c.tenant_id).await;
    assert!(
        events
            .iter()
            .any(|(a, o, _)| a == "provisioning.create" && o == "success"),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_name_changed_at_the_provider_arrives_at_the_next_login() {
    let c = case().await;
    let scim = ScimServer::start(DIRECTORY, KEY).unwrap();
    provision(&c.app, &scim, KEY).await;
    c.assert_accepted(c.login_edited(|_| {}).await).await;
    let first = until(&scim, "the user", |s| users(s).len() == 1).await;
    state_becomes(&c.app, "alice@corp.com", ProvisioningState::Synced).await;
    c.assert_accepted(
        c.login_edited(|claims| {
            claims.insert("name".into(), json!("Alice P. Liddell"));
        })
        .await,
    )
    .await;
    let state = until(&scim, "the new name", |s| {
        users(s)[0]["displayName"] == "Alice P. Liddell"
    })
    .await;
    assert_eq!(users(&state).len(), 1, "updated, not duplicated: {state}");
    assert_eq!(users(&state)[0]["id"], users(&first)[0]["id"]);
}

#[tokio::test]
async fn blocking_deactivates_at_the_directory_and_unblocking_reactivates() {
    let c = case().await;
    let scim = ScimServer::start(DIRECTORY, KEY).unwrap();
    provision(&c.app, &scim, KEY).await;
    c.assert_accepted(c.login_edited(|_| {}).await).await;
    assert_eq!(c.sso().await.status(), 200, "a live broker session");
    until(&scim, "the user", |s| users(s).len() == 1).await;
    let user = state_becomes(&c.app, "alice@corp.com", ProvisioningState::Synced).await;

    let scope = scope_of(&c.app).await;
    end_users::set_status(&c.app.state, &scope, &user.user_id, UserStatus::Blocked)
        .await
        .unwrap();
    until(&scim, "deactivation", |s| users(s)[0]["active"] == false).await;
    let res = c.sso().await;
    assert_eq!(res.status(), 302, "the blocked user's session gets no assertion");
    assert!(!res.headers()["location"].to_str().unwrap().contains("SAMLResponse"));
    let deactivated = state_becomes(&c.app, "alice@corp.com", ProvisioningState::Synced).await;
    assert_eq!(deactivated.active_at_target, Some(false));

    end_users::set_status(&c.app.state, &scope, &user.user_id, UserStatus::Active)
        .await
        .unwrap();
    let state = until(&scim, "reactivation", |s| users(s)[0]["active"] == true).await;
    assert_eq!(users(&state).len(), 1);
    let actions: Vec<String> = audit_when(&c.app, c.tenant_id, |events| {
        events.iter().any(|(a, _, _)| a == "provisioning.reactivate")
    })
    .await
    .into_iter()
    .map(|(a, _, _)| a)
    .collect();
    for action in [
        "end_user.block",
        "provisioning.deactivate",
        "end_user.unblock",
        "provisioning.reactivate",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action} audited: {actions:?}");
    }
}

#[tokio::test]
async fn a_hundred_logins_while_the_directory_is_down_all_arrive_once_it_is_back() {
    let c = case().await;
    let mut scim = ScimServer::start(DIRECTORY, KEY).unwrap();
    provision(&c.app, &scim, KEY).await;
    scim.stop();
    for i in 0..100 {
        let (status, page) = c
            .login_edited(|claims| {
                claims.insert("sub".into(), json!(format!("user-{i}")));
                claims.insert("email".into(), json!(format!("user{i}@corp.com")));
            })
            .await;
        assert_eq!(status, 200, "login {i} while the directory is down: {page}");
    }
    let target = provisioning::get(&c.app.state, &scope_of(&c.app).await, Which::Name("jira"))
        .await
        .unwrap();
    assert_eq!(target.queue.pending + target.queue.synced, 100, "{target:?}");
    scim.start_again().unwrap();
    let state = until(&scim, "all hundred users", |s| users(s).len() == 100).await;
    let mut names: Vec<&str> = users(&state).iter().map(|u| u["userName"].as_str().unwrap()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 100, "each user once");
    let target = target_when(&c.app, "the queue drained", |t| t.queue.pending == 0).await;
    assert_eq!(target.queue.synced, 100);
}

#[tokio::test]
async fn a_rejected_key_pauses_the_target_and_a_new_key_resumes_it() {
    let c = case().await;
    let scim = ScimServer::start(DIRECTORY, KEY).unwrap();
    scim.reject_key(true);
    provision(&c.app, &scim, KEY).await;
    c.assert_accepted(c.login_edited(|_| {}).await).await;
    let paused = target_when(&c.app, "the target paused", |t| t.paused_reason.is_some()).await;
    assert!(paused.paused_reason.as_deref().unwrap().contains("401"), "{paused:?}");
    assert_eq!(paused.queue.pending, 1, "the push waits, nothing is lost");
    // Paused, the worker sends nothing more.
    let requests = scim.requests();
    c.assert_accepted(c.login_edited(|_| {}).await).await;
    let still = provisioning::get(&c.app.state, &scope_of(&c.app).await, Which::Name("jira"))
        .await
        .unwrap();
    assert_eq!(still.queue.pending, 1);
    let events = audit_actions(&c.app, c.tenant_id).await;
    assert_eq!(
        events.iter().filter(|(a, _, _)| a == "provisioning.pause").count(),
        1,
        "{events:?}"
    );
    assert!(
        events.iter().all(|(_, _, detail)| !detail.contains(KEY)),
        "the key is never audited"
    );

    // The admin pastes a new key: the target resumes and the user arrives.
    scim.reject_key(false);
    provision(&c.app, &scim, KEY).await;
    until(&scim, "the user", |s| users(s).len() == 1).await;
    assert!(scim.requests() > requests);
    let resumed = provisioning::get(&c.app.state, &scope_of(&c.app).await, Which::Name("jira"))
        .await
        .unwrap();
    assert_eq!(resumed.paused_reason, None);
}

#[tokio::test]
async fn a_429_holds_the_target_for_its_retry_after() {
    let c = case().await;
    let scim = ScimServer::start(DIRECTORY, KEY).unwrap();
    scim.fail_next(1, 2);
    provision(&c.app, &scim, KEY).await;
    let before = rosetta::services::provisioning::now_ms();
    c.assert_accepted(c.login_edited(|_| {}).await).await;
    until(&scim, "the user", |s| users(s).len() == 1).await;
    let row = rosetta::services::provisioning::get(
        &c.app.state.db,
        c.tenant_id,
        rosetta::services::service_providers::find_by_name(&c.app.state.db, c.tenant_id, "jira")
            .await
            .unwrap()
            .unwrap()
            .id,
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        row.hold_until_ms >= before + 2000,
        "the target was held for Retry-After (2 s): {}",
        row.hold_until_ms - before
    );
    let retried = c
        .app
        .state
        .metrics
        .provisioning_pushes
        .with_label_values(&["retry"])
        .get();
    assert_eq!(retried, 1);
}

#[tokio::test]
async fn test_connection_names_the_failing_step() {
    let c = case().await;
    let scim = ScimServer::start(DIRECTORY, KEY).unwrap();
    provision(&c.app, &scim, KEY).await;
    let scope = scope_of(&c.app).await;
    let ok = provisioning::test(&c.app.state, &scope, Which::Name("jira"))
        .await
        .unwrap();
    assert!(ok.ok, "{ok:?}");
    assert_eq!(ok.step, ProvisioningStep::Ok);

    scim.reject_key(true);
    let key = provisioning::test(&c.app.state, &scope, Which::Name("jira"))
        .await
        .unwrap();
    assert_eq!((key.ok, key.step), (false, ProvisioningStep::Key), "{key:?}");
    assert!(key.message.contains("401"), "{key:?}");
    scim.reject_key(false);

    // Nothing listens there.
    let closed = rosetta_e2e::free_port();
    provisioning::put(
        &c.app.state,
        &scope,
        Which::Name("jira"),
        target_request(&format!("http://127.0.0.1:{closed}/scim/directory/x"), None),
    )
    .await
    .unwrap();
    let network = provisioning::test(&c.app.state, &scope, Which::Name("jira"))
        .await
        .unwrap();
    assert_eq!(network.step, ProvisioningStep::Network, "{network:?}");

    // Something answers, but not SCIM (Rosetta's own console host).
    provisioning::put(
        &c.app.state,
        &scope,
        Which::Name("jira"),
        target_request(&format!("http://localhost:{}/scim", c.app.port), None),
    )
    .await
    .unwrap();
    let not_scim = provisioning::test(&c.app.state, &scope, Which::Name("jira"))
        .await
        .unwrap();
    assert_eq!(not_scim.step, ProvisioningStep::Scim, "{not_scim:?}");
}

#[tokio::test]
async fn bad_target_settings_are_refused_field_by_field_and_nothing_is_stored() {
    let app = spawn_app(rosetta_e2e::Stack::embedded()).await;
    let acme = app.create_tenant("acme", "Acme").await;
    add_atlassian_sp(&app, acme.id).await;
    let scope = scope_of(&app).await;
    for (request, field) in [
        (target_request("ftp://scim.example/x", Some(KEY)), "base_url"),
        (target_request("not a url", Some(KEY)), "base_url"),
        (
            target_request("https://api.atlassian.com/scim/directory/x?a=b", Some(KEY)),
            "base_url",
        ),
        (
            target_request("https://api.atlassian.com/scim/directory/x", None),
            "api_key",
        ),
        (
            target_request("https://api.atlassian.com/scim/directory/x", Some("two words")),
            "api_key",
        ),
        (
            target_request("https://api.atlassian.com/scim/directory/x", Some("")),
            "api_key",
        ),
        (
            PutProvisioningRequest {
                key_expires_on: Some("next year".into()),
                ..target_request("https://api.atlassian.com/scim/directory/x", Some(KEY))
            },
            "key_expires_on",
        ),
    ] {
        let e = provisioning::put(&app.state, &scope, Which::Name("jira"), request)
            .await
            .unwrap_err();
        assert!(e.fields().iter().any(|f| f.field == field), "{field} refused: {e:?}");
    }
    assert!(
        provisioning::get(&app.state, &scope, Which::Name("jira"))
            .await
            .is_err(),
        "nothing stored"
    );
    // Another tenant's admin does not see or change acme's SP.
    app.create_tenant("globex", "Globex").await;
    let theirs = Scope::operator(&app.state, &TenantSlug::parse("globex").unwrap())
        .await
        .unwrap();
    let sp = rosetta::services::service_providers::find_by_name(&app.state.db, acme.id, "jira")
        .await
        .unwrap()
        .unwrap();
    let id = sp.id.to_string();
    assert!(
        provisioning::put(
            &app.state,
            &theirs,
            Which::Id(&id),
            target_request("https://api.atlassian.com/scim/directory/x", Some(KEY))
        )
        .await
        .is_err()
    );
    // Stored, the key is sealed and never shown.
    let target = provisioning::put(
        &app.state,
        &scope,
        Which::Name("jira"),
        target_request("https://api.atlassian.com/scim/directory/x/", Some(KEY)),
    )
    .await
    .unwrap();
    assert_eq!(target.base_url, "https://api.atlassian.com/scim/directory/x");
    assert!(!serde_json::to_string(&target).unwrap().contains(KEY));
    let row = rosetta::services::provisioning::get(&app.state.db, acme.id, sp.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!String::from_utf8_lossy(&row.api_key).contains(KEY), "sealed at rest");
    assert!(!format!("{row:?}").contains(KEY));
}

/// Two replicas share one PostgreSQL queue: every push happens once (each claim is
/// `FOR UPDATE SKIP LOCKED`), so the directory sees exactly one search and one create per
/// user, and no user twice.
#[tokio::test]
async fn two_replicas_push_each_user_once() {
    let Some(stack) = rosetta_e2e::Stack::external().await else {
        return;
    };
    let first = crate::helpers::spawn_app(stack).await;
    let second = spawn_replica(&first).await;
    let acme = first.create_tenant("acme", "Acme").await;
    add_atlassian_sp(&first, acme.id).await;
    let scim = ScimServer::start(DIRECTORY, KEY).unwrap();
    provision(&first, &scim, KEY).await;
    const USERS: usize = 60;
    for i in 0..USERS {
        let (email, sub) = (format!("user{i}@corp.com"), format!("sub-{i}"));
        let who = rosetta::services::end_users::LoginIdentity {
            issuer: "https://op.example",
            subject: &sub,
            email: &email,
            name: None,
            claims: None,
        };
        // Half the logins land on each replica.
        let app = if i % 2 == 0 { &first } else { &second };
        rosetta::services::end_users::record_login(&app.state.db, acme.id, &who)
            .await
            .unwrap();
    }
    let state = until(&scim, "every user", |s| users(s).len() == USERS).await;
    let mut names: Vec<&str> = users(&state).iter().map(|u| u["userName"].as_str().unwrap()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), USERS);
    target_when(&first, "the queue drained", |t| t.queue.pending == 0).await;
    assert_eq!(
        scim.requests(),
        2 * USERS as u64,
        "one search and one create per user: no push was made twice"
    );
    let pushed: u64 = [&first, &second]
        .iter()
        .map(|app| {
            app.state
                .metrics
                .provisioning_pushes
                .with_label_values(&["create"])
                .get()
        })
        .sum();
    assert_eq!(pushed, USERS as u64);
    drop(second);
}

/// The members (SCIM user `id`s) of each group the directory holds, by display name.
fn memberships(state: &Value) -> std::collections::BTreeMap<String, Vec<String>> {
    state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let members = g["members"]
                .as_array()
                .map(|m| m.iter().map(|v| v["value"].as_str().unwrap().to_owned()).collect())
                .unwrap_or_default();
            (g["displayName"].as_str().unwrap().to_owned(), members)
        })
        .collect()
}

#[tokio::test]
async fn groups_arrive_as_scim_memberships_and_leave_when_the_provider_drops_them() {
    let c = crate::rp_conformance::case_with_source(|_| {}, |s| s.groups_claim = Some("groups".into())).await;
    let scim = ScimServer::start(DIRECTORY, KEY).unwrap();
    let s = scope_of(&c.app).await;
    let mut m = rosetta::admin::service_providers::get(&c.app.state, &s, Which::Name("jira"))
        .await
        .unwrap();
    m.groups = rosetta_api::GroupsRule {
        allow: vec!["eng-*".into()],
        rename: vec![rosetta_api::GroupRename {
            from: "eng-all".into(),
            to: "jira-software-users".into(),
        }],
        provision: true,
    };
    let mapping = rosetta_api::Mapping {
        name_id_format: None,
        name_id: m.name_id,
        attributes: m.attributes,
        groups: m.groups,
    };
    rosetta::admin::mapping::set(&c.app.state, &s, Which::Name("jira"), mapping)
        .await
        .unwrap();
    // Atlassian's product-access group exists already: it is found, not created twice.
    let created = reqwest::Client::new()
        .post(format!("{}/Groups", scim.base_url()))
        .bearer_auth(KEY)
        .header("content-type", "application/scim+json")
        .body(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"jira-software-users"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    provision(&c.app, &scim, KEY).await;

    c.assert_accepted(
        c.login_edited(|claims| {
            claims.insert("groups".into(), json!(["eng-all", "sales", "eng-ops"]));
        })
        .await,
    )
    .await;
    let state = until(&scim, "the memberships", |s| {
        s["groups"].as_array().is_some_and(|g| g.len() == 2) && memberships(s).values().all(|m| m.len() == 1)
    })
    .await;
    let user_id = users(&state)[0]["id"].as_str().unwrap().to_owned();
    let held = memberships(&state);
    assert_eq!(
        held.keys().collect::<Vec<_>>(),
        ["eng-ops", "jira-software-users"],
        "renamed, filtered (no `sales`), the existing group reused"
    );
    assert!(held.values().all(|m| m.as_slice() == std::slice::from_ref(&user_id)));

    // The provider drops `eng-ops`: the next login takes the user out of it (the group stays).
    c.assert_accepted(
        c.login_edited(|claims| {
            claims.insert("groups".into(), json!(["eng-all"]));
        })
        .await,
    )
    .await;
    let state = until(&scim, "the membership removed", |s| {
        memberships(s).get("eng-ops").is_some_and(Vec::is_empty)
    })
    .await;
    assert_eq!(memberships(&state)["jira-software-users"], [user_id]);
    let events = audit_when(&c.app, c.tenant_id, |events| {
        events
            .iter()
            .any(|(a, _, d)| a == "provisioning.groups" && d.contains("-eng-ops"))
    })
    .await;
    assert!(
        events
            .iter()
            .any(|(a, o, d)| a == "provisioning.groups" && o == "success" && d.contains("-eng-ops")),
        "the membership's removal audited: {events:?}"
    );
}
