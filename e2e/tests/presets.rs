//! Each provider preset end to end (issue 23): the real binary between the test OpenID
//! provider shaped like that provider (npm `oidc-provider`: Google's `hd`, Entra's
//! tenant-specific issuer with `tid`, a guest's UPN, a user without email, groups, a group
//! overage; Okta's and Keycloak's groups, Auth0's trailing-slash issuer and namespaced
//! claims) and the independent SAML SP validator (`@node-saml/node-saml`), which checks the
//! signature and reports the NameID and attributes it accepted; for groups, the SCIM peer
//! standing in for Atlassian's directory and the Microsoft Graph stand-in
//! (`e2e/peers/graph.mjs`). Each refusal ends on Rosetta's page, audited, with nothing
//! posted to the SP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use rosetta_e2e::bench::{form_field, location, user_agent};
use rosetta_e2e::world::{World, run, start_rosetta, start_rosetta_with, world_with_provider};
use rosetta_e2e::{GraphServer, OidcAccount, OidcProviderConfig, SamlValidation, ScimServer, Stack};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

const TID: &str = "8e2f1b7c-5d3a-4c9e-b1f0-2a6d7e8f9a0b";
const OTHER_TID: &str = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
const OID: &str = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d";

/// An SP-initiated login at `jira` as `login`: the SP validator's verdict on what Rosetta
/// posted, or Rosetta's page (status and text) when it posted nothing.
async fn attempt(w: &World, login: &str) -> Result<SamlValidation, (u16, String)> {
    let browser = user_agent(w.rosetta.port()).unwrap();
    let res = browser.get(w.jira.login_url("presets")).send().await.unwrap();
    let res = browser.get(location(&res).unwrap()).send().await.unwrap();
    assert_eq!(res.status(), 302, "{}", w.rosetta.logs());
    let callback =
        w.op.scripted_login(&browser, &location(&res).unwrap(), login)
            .await
            .unwrap();
    let res = browser.get(callback.as_str()).send().await.unwrap();
    let status = res.status().as_u16();
    let page = res.text().await.unwrap();
    match form_field(&page, "SAMLResponse") {
        Some(response) if status == 200 => {
            let relay = form_field(&page, "RelayState");
            let verdict = w.jira.post_response(&response, relay.as_deref()).await.unwrap();
            assert!(verdict.ok, "the SP validator refused: {:?}", verdict.error);
            Ok(verdict)
        }
        _ => Err((status, page)),
    }
}

/// A refusal: Rosetta's own page saying `message`, no SAMLResponse, and the failed login
/// audited with `reason`.
async fn assert_refused(w: &World, result: Result<SamlValidation, (u16, String)>, message: &str, reason: &str) {
    let (status, page) = match result {
        Ok(verdict) => panic!("accepted, as {:?}", verdict.name_id),
        Err(refused) => refused,
    };
    assert!((400..500).contains(&status), "{status}: {page}");
    assert!(page.contains(message), "expected `{message}` on the page: {page}");
    assert!(page.contains("quote this reference"), "Rosetta's page: {page}");
    assert!(!page.contains("SAMLResponse"));
    login_audited(w, "failure", &format!("\"reason\":\"{reason}\"")).await;
}

/// Waits (at most 10 s: login events are written in batches just after the response) for a
/// login event with `outcome` whose detail contains `needle`.
async fn login_audited(w: &World, outcome: &str, needle: &str) {
    let db = sea_orm::Database::connect(w.stack.database.url()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT detail FROM audit_event WHERE action = 'login' AND outcome = '{outcome}'"),
            ))
            .await
            .unwrap();
        let details: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String>("", "detail").unwrap())
            .collect();
        if details.iter().any(|d| d.contains(needle)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {outcome} login audited with {needle}: {details:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sets `jira`'s mapping from the command line (checked and audited as in the console).
async fn set_mapping(w: &World, mapping: Value) {
    let file = w.rosetta.data_dir().join("mapping.json");
    std::fs::write(&file, mapping.to_string()).unwrap();
    let env = w.rosetta.env().to_vec();
    run(
        &w.rosetta,
        &env,
        &[
            "sp",
            "mapping",
            "acme",
            "jira",
            "--set",
            file.to_str().unwrap(),
            "--json",
        ],
    )
    .await;
}

fn basic(name: &str, value: Value) -> Value {
    json!({"name": name, "name_format": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", "value": value})
}

/// Groups sent as an attribute, filtered and renamed, and pushed to the directory.
fn groups_mapping(allow: &[&str], rename: &[(&str, &str)], extra: Vec<Value>) -> Value {
    let mut attributes = vec![basic("email", json!({"from": "user", "value": "email"})), {
        let mut g = basic("groups", json!({"from": "groups"}));
        g["multi_valued"] = json!(true);
        g
    }];
    attributes.extend(extra);
    json!({
        "attributes": attributes,
        "groups": {
            "allow": allow,
            "rename": rename.iter().map(|(f, t)| json!({"from": f, "to": t})).collect::<Vec<_>>(),
            "provision": true,
        },
    })
}

fn account(claims: Value) -> OidcAccount {
    OidcAccount::from_claims(claims)
}

#[tokio::test]
async fn google_workspace_accounts_get_in_and_personal_or_foreign_ones_do_not() {
    let stack = Stack::embedded();
    let op = OidcProviderConfig {
        accounts: vec![
            account(
                json!({"sub": "g-ada", "email": "ada@acme.example", "email_verified": true,
                "name": "Ada Lovelace", "hd": "acme.example"}),
            ),
            // A consumer Google account registered with a work address: no `hd`.
            account(json!({"sub": "g-bob", "email": "bob@acme.example", "email_verified": true})),
            // Another organisation's Workspace.
            account(
                json!({"sub": "g-eve", "email": "eve@acme.example", "email_verified": true,
                "hd": "evil.example"}),
            ),
        ],
        ..OidcProviderConfig::google()
    };
    let w = world_with_provider(start_rosetta(&stack).await, stack, op, &["--preset", "google"]).await;
    let ada = attempt(&w, "g-ada").await.unwrap();
    assert_eq!(ada.name_id.as_deref(), Some("ada@acme.example"));
    assert_eq!(
        ada.attribute("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"),
        ["ada@acme.example"]
    );
    assert_refused(&w, attempt(&w, "g-bob").await, "Google Workspace", "oidc_hd_mismatch").await;
    assert_refused(&w, attempt(&w, "g-eve").await, "Google Workspace", "oidc_hd_mismatch").await;
}

#[tokio::test]
async fn entra_checks_the_tenant_refuses_guests_and_takes_the_upn_without_email() {
    let stack = Stack::embedded();
    let member = |sub: &str, upn: &str, tid: &str| {
        account(
            json!({"sub": sub, "tid": tid, "oid": OID, "preferred_username": upn, "upn": upn,
            "name": "Bob Member"}),
        )
    };
    let op = OidcProviderConfig {
        accounts: vec![
            // Unlicensed: no `email`, no `email_verified` (Entra never sends it).
            member("e-bob", "Bob@acme.example", TID),
            member("e-mallory", "mallory@acme.example", OTHER_TID),
            account(
                json!({"sub": "e-carol", "tid": TID, "oid": OID, "email": "carol@acme.example",
                "upn": "carol_gmail.com#EXT#@acme.onmicrosoft.com", "acct": 1}),
            ),
            account(json!({"sub": "e-dan", "tid": TID, "oid": OID, "upn": "dan@acme.onmicrosoft.com"})),
        ],
        ..OidcProviderConfig::entra(TID)
    };
    let w = world_with_provider(start_rosetta(&stack).await, stack, op, &["--preset", "entra"]).await;
    assert!(w.op.issuer().ends_with(&format!("/{TID}/v2.0")), "{}", w.op.issuer());
    let mut m = groups_mapping(&[], &[], vec![]);
    m["name_id"] = json!({"value": {"from": "user", "value": "email"}, "transforms": [{"op": "lowercase"}]});
    set_mapping(&w, m).await;
    let bob = attempt(&w, "e-bob").await.unwrap();
    assert_eq!(
        bob.name_id.as_deref(),
        Some("bob@acme.example"),
        "the UPN, lowercased by the rule"
    );
    assert_refused(
        &w,
        attempt(&w, "e-mallory").await,
        "another Entra ID tenant",
        "oidc_tid_mismatch",
    )
    .await;
    assert_refused(&w, attempt(&w, "e-carol").await, "Guest accounts", "oidc_guest_refused").await;
    assert_refused(
        &w,
        attempt(&w, "e-dan").await,
        "domain is not allowed",
        "oidc_email_domain_not_allowed",
    )
    .await;

    // `/common` cannot be saved: any Microsoft tenant could sign in.
    let secret = w.rosetta.data_dir().join("client-secret");
    let common = format!(
        "{}/common/v2.0",
        w.op.issuer().split(&format!("/{TID}")).next().unwrap()
    );
    let out = rosetta_e2e::cli(
        w.rosetta.data_dir(),
        w.rosetta.env(),
        &[
            "source",
            "add",
            "acme",
            "--name",
            "common",
            "--preset",
            "entra",
            "--issuer",
            &common,
            "--client-id",
            "rosetta",
            "--client-secret-file",
            secret.to_str().unwrap(),
            "--domains",
            "other.example",
            "--json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "refused as invalid input");
    let answer = String::from_utf8_lossy(&out.stdout);
    assert!(answer.contains("every Microsoft tenant"), "{answer}");
}

/// An Entra user in more groups than a token carries: Rosetta reads them from Microsoft
/// Graph with the source's own credentials, the SP receives them renamed, and the SCIM
/// directory gets the memberships; without permission at Graph, the login still works with
/// the groups unknown, audited, and the memberships are left as they were.
async fn entra_group_overage(stack: Stack) {
    let graph = GraphServer::start().unwrap();
    let graph_url = graph.base_url();
    let rosetta = start_rosetta_with(&stack, &[("ROSETTA_MICROSOFT_GRAPH_URL", graph_url.as_str())]).await;
    let op = OidcProviderConfig {
        accounts: vec![account(json!({
            "sub": "e-olga", "tid": TID, "oid": OID, "email": "olga@acme.example",
            "preferred_username": "olga@acme.example", "name": "Olga Overage",
            "_claim_names": {"groups": "src1"},
            "_claim_sources": {"src1": {"endpoint": format!("https://graph.windows.net/{TID}/users/{OID}/getMemberObjects")}},
        }))],
        ..OidcProviderConfig::entra(TID)
    };
    let w = world_with_provider(rosetta, stack, op, &["--preset", "entra", "--fetch-group-overage"]).await;
    graph.trust(&w.op);
    let jira_users = "11111111-aaaa-4bbb-8ccc-000000000001";
    let admins = "11111111-aaaa-4bbb-8ccc-000000000002";
    let unrelated = "11111111-aaaa-4bbb-8ccc-000000000003";
    graph.set_groups(OID, &[jira_users, admins, unrelated]);
    set_mapping(
        &w,
        groups_mapping(
            &[jira_users, admins],
            &[(jira_users, "jira-software-users"), (admins, "site-admins")],
            vec![],
        ),
    )
    .await;
    let scim = ScimServer::start("entra-directory", "scim-key").unwrap();
    let key_file = w.rosetta.data_dir().join("scim-key");
    std::fs::write(&key_file, "scim-key").unwrap();
    let env = w.rosetta.env().to_vec();
    let base = scim.base_url();
    run(
        &w.rosetta,
        &env,
        &[
            "provisioning",
            "set",
            "acme",
            "jira",
            "--base-url",
            &base,
            "--api-key-file",
            key_file.to_str().unwrap(),
            "--json",
        ],
    )
    .await;

    let olga = attempt(&w, "e-olga").await.unwrap();
    assert_eq!(olga.attribute("groups"), ["jira-software-users", "site-admins"]);
    let request = graph.last_request().expect("Graph was asked");
    assert!(request.to_string().contains(OID), "{request}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let memberships = loop {
        let state = scim.state();
        let groups: Vec<(String, usize)> = state["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                let n = g["members"].as_array().map_or(0, Vec::len);
                (g["displayName"].as_str().unwrap().to_owned(), n)
            })
            .collect();
        if groups.len() == 2 && groups.iter().all(|(_, n)| *n == 1) {
            break groups;
        }
        assert!(Instant::now() < deadline, "the directory holds {state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut names: Vec<&str> = memberships.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["jira-software-users", "site-admins"]);

    // Graph refuses (the permission withdrawn): the login goes on, groups unknown, reported.
    graph.deny(true);
    let again = attempt(&w, "e-olga").await.unwrap();
    assert!(
        again.attribute("groups").is_empty(),
        "no groups attribute when they are unknown"
    );
    // Reported, never silently dropped.
    login_audited(&w, "success", "groups_unknown").await;
    // The memberships stay as they were (nothing decided on unknown groups).
    let state = scim.state();
    assert!(
        state["groups"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["members"].as_array().map_or(0, Vec::len) == 1),
        "{state}"
    );
}

#[tokio::test]
async fn entra_group_overage_on_sqlite_and_memory() {
    entra_group_overage(Stack::embedded()).await;
}

#[tokio::test]
async fn entra_group_overage_on_postgres_and_redis() {
    let Some(stack) = Stack::external().await else { return };
    entra_group_overage(stack).await;
}

#[tokio::test]
async fn okta_groups_and_claims_reach_the_sp_as_the_rules_say() {
    let stack = Stack::embedded();
    let op = OidcProviderConfig {
        accounts: vec![account(json!({
            "sub": "o-ada", "email": "Ada@acme.example", "email_verified": true, "name": "Ada Lovelace",
            "groups": ["eng-all", "eng-ops", "sales"], "department": "R&D", "employeeNumber": "E-042",
        }))],
        ..OidcProviderConfig::okta("default")
    };
    // The mapping changes mid-test from the command line, another process: without the
    // configuration cache, the next login sees it (the console's changes, made through the
    // serving process, drop the cache at once).
    let rosetta = start_rosetta_with(&stack, &[("ROSETTA_CONFIG_CACHE_TTL_SECS", "0")]).await;
    let w = world_with_provider(rosetta, stack, op, &["--preset", "okta"]).await;
    let mut m = groups_mapping(
        &["eng-*"],
        &[("eng-all", "jira-software-users")],
        vec![
            {
                let mut d = basic("department", json!({"from": "claim", "path": "department"}));
                d["transforms"] = json!([{"op": "lowercase"}]);
                d
            },
            {
                let mut e = basic("employee", json!({"from": "claim", "path": "employeeNumber"}));
                e["transforms"] = json!([{"op": "regex", "pattern": "^E-(\\d+)$"}]);
                e
            },
            basic("atlassian_email", json!({"from": "user", "value": "email"})),
        ],
    );
    m["attributes"][4]["transforms"] = json!([{"op": "lowercase"}, {"op": "replace_domain", "domain": "acme.com"}]);
    m["name_id"] = json!({"value": {"from": "user", "value": "email"}, "transforms": [{"op": "lowercase"}]});
    set_mapping(&w, m).await;
    let ada = attempt(&w, "o-ada").await.unwrap();
    assert_eq!(ada.name_id.as_deref(), Some("ada@acme.example"));
    assert_eq!(ada.attribute("groups"), ["jira-software-users", "eng-ops"]);
    assert_eq!(ada.attribute("department"), ["r&d"]);
    assert_eq!(ada.attribute("employee"), ["042"]);
    assert_eq!(ada.attribute("atlassian_email"), ["ada@acme.com"]);

    // A rule that refuses this person ends the login, audited with the rule's name.
    let mut required = groups_mapping(&["eng-*"], &[], vec![]);
    required["attributes"].as_array_mut().unwrap().push(json!({
        "name": "cost_centre", "name_format": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
        "value": {"from": "claim", "path": "costCenter"}, "required": true,
    }));
    set_mapping(&w, required).await;
    assert_refused(&w, attempt(&w, "o-ada").await, "cost_centre", "mapping").await;
}

#[tokio::test]
async fn auth0_namespaced_claims_and_keycloak_realm_roles_are_read() {
    let stack = Stack::embedded();
    let op = OidcProviderConfig {
        accounts: vec![account(json!({
            "sub": "auth0|ada", "email": "ada@acme.example", "email_verified": true,
            "https://acme.example/roles": ["editor", "viewer"],
        }))],
        ..OidcProviderConfig::auth0()
    };
    let w = world_with_provider(
        start_rosetta(&stack).await,
        stack,
        op,
        &["--preset", "auth0", "--groups-claim", "https://acme.example/roles"],
    )
    .await;
    assert!(
        w.op.issuer().ends_with('/'),
        "Auth0's issuer keeps its slash: {}",
        w.op.issuer()
    );
    set_mapping(
        &w,
        groups_mapping(&["editor"], &[("editor", "confluence-users")], vec![]),
    )
    .await;
    let ada = attempt(&w, "auth0|ada").await.unwrap();
    assert_eq!(ada.attribute("groups"), ["confluence-users"]);

    let stack = Stack::embedded();
    let op = OidcProviderConfig {
        accounts: vec![account(json!({
            "sub": "kc-ada", "email": "ada@acme.example", "email_verified": true,
            "groups": ["jira-admins"], "realm_access": {"roles": ["offline_access", "architect"]},
        }))],
        ..OidcProviderConfig::keycloak("acme")
    };
    let w = world_with_provider(start_rosetta(&stack).await, stack, op, &["--preset", "keycloak"]).await;
    let mut roles = basic("roles", json!({"from": "claim", "path": "realm_access.roles"}));
    roles["multi_valued"] = json!(true);
    set_mapping(&w, groups_mapping(&["jira-*"], &[], vec![roles])).await;
    let ada = attempt(&w, "kc-ada").await.unwrap();
    assert_eq!(ada.attribute("groups"), ["jira-admins"]);
    assert_eq!(ada.attribute("roles"), ["offline_access", "architect"]);
}
