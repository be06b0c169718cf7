//! The SCIM peer that stands in for Atlassian's user-provisioning API
//! (`e2e/peers/scim_server.py`), over real HTTP: Rosetta's provisioning tests rely on it
//! behaving as Atlassian documents, quirks included, so this is checked first.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::{Response, StatusCode};
use rosetta_e2e::ScimServer;
use serde_json::{Value, json};

const DIRECTORY: &str = "2fb21891-7bee-4c2d-a61a-ade3834c8b2b";
const KEY: &str = "atlassian-directory-key-0123456789";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

fn peer() -> ScimServer {
    ScimServer::start(DIRECTORY, KEY).expect("the SCIM peer starts (scripts/setup.sh installs scim2-server)")
}

fn ada() -> Value {
    json!({
        "schemas": [USER],
        "userName": "ada@corp.example",
        "externalId": "idp-ada",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "displayName": "Ada Lovelace",
        "emails": [{"value": "ada@corp.example", "type": "work", "primary": true}]
    })
}

async fn body(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text:?}"));
    (status, value)
}

/// A SCIM error response of `status` (RFC 7644 §3.12), with `scim_type` when given.
fn assert_error(status: StatusCode, value: &Value, want: StatusCode, scim_type: Option<&str>) {
    assert_eq!(status, want, "{value}");
    assert_eq!(value["schemas"], json!([ERROR]), "{value}");
    assert_eq!(value["status"], want.as_u16().to_string(), "{value}");
    if let Some(scim_type) = scim_type {
        assert_eq!(value["scimType"], scim_type, "{value}");
    }
}

async fn create(client: &reqwest::Client, peer: &ScimServer, user: &Value) -> (StatusCode, Value) {
    body(
        client
            .post(format!("{}/Users", peer.base_url()))
            .bearer_auth(KEY)
            .header("Content-Type", "application/scim+json")
            .json(user)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn search(client: &reqwest::Client, peer: &ScimServer, endpoint: &str, filter: &str) -> (StatusCode, Value) {
    body(
        client
            .get(format!("{}/{endpoint}", peer.base_url()))
            .bearer_auth(KEY)
            .query(&[("filter", filter)])
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn get(client: &reqwest::Client, url: &str, key: Option<&str>) -> (StatusCode, Value) {
    let mut request = client.get(url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    body(request.send().await.unwrap()).await
}

async fn patch(client: &reqwest::Client, url: &str, operations: Value) -> (StatusCode, Value) {
    body(
        client
            .patch(url)
            .bearer_auth(KEY)
            .header("Content-Type", "application/scim+json")
            .json(&json!({"schemas": [PATCH_OP], "Operations": operations}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_user_is_created_once_and_found_by_user_name_or_external_id() {
    let peer = peer();
    let client = reqwest::Client::new();

    let (status, created) = create(&client, &peer, &ada()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["schemas"], json!([USER]), "{created}");
    assert_eq!(created["userName"], "ada@corp.example");
    assert_eq!(created["active"], true, "a new user is active: {created}");
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(created["meta"]["resourceType"], "User");
    assert_eq!(created["meta"]["location"], format!("{}/Users/{id}", peer.base_url()));

    // The same userName again, also in another case: Atlassian answers 409.
    let (status, conflict) = create(&client, &peer, &ada()).await;
    assert_error(status, &conflict, StatusCode::CONFLICT, Some("uniqueness"));
    let mut shouting = ada();
    shouting["userName"] = json!("ADA@corp.example");
    shouting["emails"][0]["value"] = json!("ADA@corp.example");
    let (status, conflict) = create(&client, &peer, &shouting).await;
    assert_error(status, &conflict, StatusCode::CONFLICT, Some("uniqueness"));

    // userName must be the primary email.
    let mut mismatched = ada();
    mismatched["userName"] = json!("ada");
    mismatched["emails"][0]["value"] = json!("ada.l@corp.example");
    let (status, refused) = create(&client, &peer, &mismatched).await;
    assert_error(status, &refused, StatusCode::BAD_REQUEST, Some("invalidValue"));

    let (status, found) = search(&client, &peer, "Users", r#"userName eq "ada@corp.example""#).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["schemas"], json!([LIST]), "{found}");
    assert_eq!(found["totalResults"], 1, "{found}");
    assert_eq!(found["Resources"][0]["id"], id.as_str(), "{found}");
    let (_, nobody) = search(&client, &peer, "Users", r#"userName eq "bob@corp.example""#).await;
    assert_eq!(nobody["totalResults"], 0, "{nobody}");
    let (status, by_external_id) = search(&client, &peer, "Users", r#"externalId eq "idp-ada""#).await;
    assert_eq!(status, StatusCode::OK, "{by_external_id}");
    assert_eq!(by_external_id["Resources"][0]["id"], id.as_str(), "{by_external_id}");

    // Only `eq` on userName and externalId.
    for filter in [
        r#"userName co "ada""#,
        r#"displayName eq "Ada Lovelace""#,
        r#"userName eq "ada@corp.example" or externalId eq "idp-ada""#,
        "active eq true",
    ] {
        let (status, refused) = search(&client, &peer, "Users", filter).await;
        assert_error(status, &refused, StatusCode::BAD_REQUEST, Some("invalidFilter"));
    }
    assert_eq!(peer.state()["users"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn patch_put_and_delete_which_only_deactivates() {
    let peer = peer();
    let client = reqwest::Client::new();
    let (status, created) = create(&client, &peer, &ada()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let url = format!("{}/Users/{}", peer.base_url(), created["id"].as_str().unwrap());

    let (status, patched) = patch(
        &client,
        &url,
        json!([
            {"op": "replace", "path": "active", "value": false},
            {"op": "replace", "value": {"displayName": "Augusta Ada King", "name": {"givenName": "Augusta"}}}
        ]),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "Atlassian answers a PATCH with the user: {patched}"
    );
    assert_eq!(patched["active"], false, "{patched}");
    assert_eq!(patched["displayName"], "Augusta Ada King", "{patched}");
    assert_eq!(patched["name"]["givenName"], "Augusta", "{patched}");
    assert_eq!(patched["name"]["familyName"], "Lovelace", "{patched}");
    let (_, read) = get(&client, &url, Some(KEY)).await;
    assert_eq!(read["active"], false, "{read}");

    // A new email needs the userName to follow it, in the same PATCH.
    let (status, refused) = patch(
        &client,
        &url,
        json!([{"op": "replace", "path": "emails", "value": [{"value": "ada@lovelace.example", "primary": true}]}]),
    )
    .await;
    assert_error(status, &refused, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let (status, moved) = patch(
        &client,
        &url,
        json!([
            {"op": "replace", "path": "emails", "value": [{"value": "ada@lovelace.example", "primary": true}]},
            {"op": "replace", "path": "userName", "value": "ada@lovelace.example"},
            {"op": "add", "path": "active", "value": true}
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["userName"], "ada@lovelace.example", "{moved}");
    assert_eq!(moved["active"], true, "{moved}");

    let mut replacement = ada();
    replacement["displayName"] = json!("Ada");
    let put = client
        .put(&url)
        .bearer_auth(KEY)
        .json(&replacement)
        .send()
        .await
        .unwrap();
    let (status, replaced) = body(put).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["userName"], "ada@corp.example", "{replaced}");
    assert_eq!(replaced["displayName"], "Ada", "{replaced}");

    let deleted = client.delete(&url).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let (status, read) = get(&client, &url, Some(KEY)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "DELETE deactivates, the user is still there: {read}"
    );
    assert_eq!(read["active"], false, "{read}");
    assert_eq!(read["userName"], "ada@corp.example", "{read}");
    let (_, found) = search(&client, &peer, "Users", r#"userName eq "ada@corp.example""#).await;
    assert_eq!(found["Resources"][0]["active"], false, "{found}");
    let state = peer.state();
    assert_eq!(state["users"][0]["active"], false, "{state}");
    assert_eq!(state["users"].as_array().unwrap().len(), 1, "{state}");
}

#[tokio::test]
async fn groups_and_discovery_under_the_directory() {
    let peer = peer();
    let client = reqwest::Client::new();
    let (_, user) = create(&client, &peer, &ada()).await;
    let user_id = user["id"].as_str().unwrap();

    let group = json!({"schemas": [GROUP], "displayName": "engineering"});
    let response = client
        .post(format!("{}/Groups", peer.base_url()))
        .bearer_auth(KEY)
        .json(&group)
        .send()
        .await
        .unwrap();
    let (status, group) = body(response).await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let group_url = format!("{}/Groups/{}", peer.base_url(), group["id"].as_str().unwrap());
    let (status, patched) = patch(
        &client,
        &group_url,
        json!([{"op": "add", "path": "members", "value": [{"value": user_id}]}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let (_, found) = search(&client, &peer, "Groups", r#"displayName eq "engineering""#).await;
    assert_eq!(found["totalResults"], 1, "{found}");
    let state = peer.state();
    assert_eq!(state["directory_id"], DIRECTORY);
    assert_eq!(state["groups"][0]["displayName"], "engineering", "{state}");
    assert_eq!(state["groups"][0]["members"][0]["value"], user_id, "{state}");

    let (status, config) = get(
        &client,
        &format!("{}/ServiceProviderConfig", peer.base_url()),
        Some(KEY),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{config}");
    assert_eq!(config["patch"]["supported"], true, "{config}");
    assert_eq!(config["bulk"]["supported"], false, "{config}");
    assert_eq!(config["sort"]["supported"], false, "{config}");
    for endpoint in ["Schemas", "ResourceTypes"] {
        let (status, list) = get(&client, &format!("{}/{endpoint}", peer.base_url()), Some(KEY)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["schemas"], json!([LIST]), "{list}");
        assert!(list["totalResults"].as_u64().unwrap() >= 2, "{list}");
    }
    // Another directory is not served.
    let other = peer.base_url().replace(DIRECTORY, "another-directory");
    let (status, missing) = get(&client, &format!("{other}/Users"), Some(KEY)).await;
    assert_error(status, &missing, StatusCode::NOT_FOUND, None);
}

#[tokio::test]
async fn a_wrong_or_missing_key_is_401() {
    let peer = peer();
    let client = reqwest::Client::new();
    let users = format!("{}/Users", peer.base_url());
    for key in [Some("not-the-key"), Some(""), None] {
        let (status, refused) = get(&client, &users, key).await;
        assert_error(status, &refused, StatusCode::UNAUTHORIZED, None);
    }
    // Discovery too, as Atlassian's.
    let (status, refused) = get(&client, &format!("{}/ServiceProviderConfig", peer.base_url()), None).await;
    assert_error(status, &refused, StatusCode::UNAUTHORIZED, None);
    let (status, list) = get(&client, &users, Some(KEY)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["totalResults"], 0, "{list}");
}

#[tokio::test]
async fn fail_next_answers_429_with_retry_after_then_serves() {
    let peer = peer();
    let client = reqwest::Client::new();
    let users = format!("{}/Users", peer.base_url());
    peer.fail_next(2, 3);
    for _ in 0..2 {
        let response = client.get(&users).bearer_auth(KEY).send().await.unwrap();
        let retry_after = response
            .headers()
            .get("Retry-After")
            .map(|v| v.to_str().unwrap().to_owned());
        let (status, refused) = body(response).await;
        assert_error(status, &refused, StatusCode::TOO_MANY_REQUESTS, None);
        assert_eq!(retry_after.as_deref(), Some("3"));
    }
    let (status, list) = get(&client, &users, Some(KEY)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(peer.requests(), 3, "the 429s are requests received too");
}

#[tokio::test]
async fn reject_key_refuses_every_request_until_switched_off() {
    let peer = peer();
    let client = reqwest::Client::new();
    let users = format!("{}/Users", peer.base_url());
    let (status, _) = get(&client, &users, Some(KEY)).await;
    assert_eq!(status, StatusCode::OK);

    peer.reject_key(true);
    let (status, refused) = get(&client, &users, Some(KEY)).await;
    assert_error(status, &refused, StatusCode::UNAUTHORIZED, None);
    let (status, refused) = create(&client, &peer, &ada()).await;
    assert_error(status, &refused, StatusCode::UNAUTHORIZED, None);
    assert_eq!(peer.state()["users"], json!([]), "a refused request changes nothing");

    peer.reject_key(false);
    let (status, list) = get(&client, &users, Some(KEY)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(peer.requests(), 4);

    peer.reset();
    assert_eq!(peer.requests(), 0);
}
