//! The test peers shaped like the providers Rosetta has presets for, without Rosetta: the
//! real OpenID provider (oidc-provider) with Google's, Entra ID's, Okta's, Auth0's and
//! Keycloak's issuer shapes and claims in the ID token (Google's `hd`, Entra's `tid`/`oid`/
//! `upn`, guests, a group overage as distributed claims, group claims, namespaced claims),
//! Entra's client credentials grant for a Microsoft Graph token, and the Microsoft Graph
//! stand-in that accepts exactly those tokens and answers `getMemberGroups` as Microsoft
//! documents it. Rosetta's preset tests rely on the peers behaving so.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rosetta_e2e::{GraphServer, OidcAccount, OidcClient, OidcProvider, OidcProviderConfig, cookie_client};
use serde_json::{Value, json};
use sha2::Digest;

const CLIENT_ID: &str = "rosetta-test";
const CLIENT_SECRET: &str = "test-secret-with-enough-entropy-0123456789";
const REDIRECT_URI: &str = "http://acme.localhost:8080/oidc/callback/corp";
const TENANT_ID: &str = "0b9f5b1e-4c2a-4d3e-9f6a-1b2c3d4e5f60";
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
const ODATA_CONTEXT: &str = "https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)";

/// `config` with the test client, started.
fn start(mut config: OidcProviderConfig) -> OidcProvider {
    config
        .clients
        .push(OidcClient::new(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI));
    OidcProvider::start(&config).expect("the OpenID provider starts (e2e/peers/install.sh)")
}

async fn discovery(op: &OidcProvider) -> Value {
    let res = reqwest::get(op.discovery_url()).await.unwrap();
    assert_eq!(res.status(), 200, "{}: {}", op.discovery_url(), op.logs());
    res.json().await.unwrap()
}

/// The JSON of a compact JWT's payload.
fn jwt_payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// One code flow with PKCE as `login` (sub, email, preferred_username or upn), asking
/// `openid email profile`: the token response.
async fn code_flow(op: &OidcProvider, login: &str) -> Value {
    let doc = discovery(op).await;
    let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let state = uuid::Uuid::new_v4().to_string();
    let nonce = uuid::Uuid::new_v4().to_string();
    let mut authorize = url::Url::parse(doc["authorization_endpoint"].as_str().unwrap()).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("client_id", CLIENT_ID)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email profile")
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let callback = op
        .scripted_login(&cookie_client(), authorize.as_str(), login)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", op.logs()));
    assert!(callback.as_str().starts_with(REDIRECT_URI), "{callback}");
    assert_eq!(query(&callback, "state").as_deref(), Some(state.as_str()));
    assert_eq!(query(&callback, "iss").as_deref(), Some(op.issuer()), "RFC 9207 iss");
    let code = query(&callback, "code").unwrap_or_else(|| panic!("no code in {callback}"));
    let res = reqwest::Client::new()
        .post(doc["token_endpoint"].as_str().unwrap())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", op.logs());
    let tokens: Value = res.json().await.unwrap();
    let claims = jwt_payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["iss"], op.issuer());
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["nonce"], nonce.as_str());
    tokens
}

/// The ID token's claims of one login as `login`.
async fn id_token_claims(op: &OidcProvider, login: &str) -> Value {
    let tokens = code_flow(op, login).await;
    jwt_payload(tokens["id_token"].as_str().unwrap())
}

/// What the provider's userinfo endpoint says with the access token of `tokens`.
async fn userinfo(op: &OidcProvider, tokens: &Value) -> Value {
    let doc = discovery(op).await;
    let res = reqwest::Client::new()
        .get(doc["userinfo_endpoint"].as_str().unwrap())
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", op.logs());
    res.json().await.unwrap()
}

/// The provider's answer to a client credentials request with `secret` and `scope`.
async fn client_credentials(op: &OidcProvider, secret: &str, scope: Option<&str>) -> (u16, Value) {
    let doc = discovery(op).await;
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let res = reqwest::Client::new()
        .post(doc["token_endpoint"].as_str().unwrap())
        .basic_auth(CLIENT_ID, Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// A Graph token of `op` for the test client.
async fn graph_token(op: &OidcProvider) -> String {
    let (status, body) = client_credentials(op, CLIENT_SECRET, Some(GRAPH_SCOPE)).await;
    assert_eq!(status, 200, "{body}\n{}", op.logs());
    body["access_token"].as_str().unwrap().to_owned()
}

/// `POST /v1.0/users/{user}/getMemberGroups` with `token` (`None`: no Authorization) and
/// `body`: the status, the `Retry-After` header and the JSON answer.
async fn member_groups(
    graph: &GraphServer,
    user: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Option<String>, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1.0/users/{user}/getMemberGroups", graph.base_url()))
        .header("accept", "application/json")
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    let retry_after = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let json = res
        .json()
        .await
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", graph.logs()));
    (status, retry_after, json)
}

fn graph_error(answer: &Value) -> (&str, &str) {
    let error = &answer["error"];
    assert!(
        error["innerError"]["request-id"].is_string(),
        "Graph's error shape: {answer}"
    );
    (
        error["code"].as_str().unwrap_or_default(),
        error["message"].as_str().unwrap_or_default(),
    )
}

#[tokio::test]
async fn google_shaped_id_token_carries_hd() {
    let ada = OidcAccount::verified("1078", "ada@corp.example", "Ada", "Lovelace").with_claim("hd", "corp.example");
    let op = start(OidcProviderConfig {
        accounts: vec![ada],
        ..OidcProviderConfig::google()
    });
    assert_eq!(op.issuer(), format!("http://127.0.0.1:{}", op.port()));
    let claims = id_token_claims(&op, "ada@corp.example").await;
    assert_eq!(claims["sub"], "1078");
    assert_eq!(claims["hd"], "corp.example", "{claims}");
    assert_eq!(claims["email"], "ada@corp.example");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "Ada Lovelace");

    // An account added at run time brings its own claims along; a personal account has no hd.
    op.add_account(&OidcAccount::from_claims(json!({
        "sub": "2044", "email": "bob@gmail.example", "email_verified": true, "locale": "fr",
    })))
    .await
    .unwrap();
    let claims = id_token_claims(&op, "bob@gmail.example").await;
    assert_eq!(claims["locale"], "fr", "{claims}");
    assert!(claims.get("hd").is_none(), "{claims}");
}

#[tokio::test]
async fn provider_claims_stay_out_unless_configured() {
    let ada = OidcAccount::verified("1078", "ada@corp.example", "Ada", "Lovelace")
        .with_claim("hd", "corp.example")
        .with_claim("groups", json!(["admins"]));
    let op = start(OidcProviderConfig {
        accounts: vec![ada],
        ..OidcProviderConfig::default()
    });
    let tokens = code_flow(&op, "1078").await;
    let claims = jwt_payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["email"], "ada@corp.example");
    assert!(claims.get("hd").is_none() && claims.get("groups").is_none(), "{claims}");
    let info = userinfo(&op, &tokens).await;
    assert!(info.get("hd").is_none(), "{info}");
}

#[tokio::test]
async fn entra_shaped_issuer_path_discovery_and_claims() {
    let oid = "7c1d2a4e-95b3-4f0e-8d6c-3a2b1c0d9e8f";
    let bob = OidcAccount::from_claims(json!({
        "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "tid": TENANT_ID,
        "oid": oid,
        "preferred_username": "bob@corp.example",
        "upn": "bob@corp.example",
        "name": "Bob Builder",
        "groups": ["11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"],
    }));
    let carol = OidcAccount::from_claims(json!({
        "sub": "carol-pairwise",
        "tid": TENANT_ID,
        "oid": "9a8b7c6d-0000-4000-8000-000000000001",
        "preferred_username": "carol@gmail.com",
        "upn": "carol_gmail.com#EXT#@corp.onmicrosoft.com",
        "acct": 1,
        "email": "carol@gmail.com",
    }));
    let dave = OidcAccount::from_claims(json!({
        "sub": "dave-pairwise",
        "tid": TENANT_ID,
        "oid": "5e4d3c2b-0000-4000-8000-000000000002",
        "preferred_username": "dave@corp.example",
        "_claim_names": {"groups": "src1"},
        "_claim_sources": {"src1": {
            "endpoint": format!("https://graph.windows.net/{TENANT_ID}/users/5e4d3c2b-0000-4000-8000-000000000002/getMemberObjects"),
        }},
    }));
    let op = start(OidcProviderConfig {
        accounts: vec![bob, carol, dave],
        ..OidcProviderConfig::entra(TENANT_ID)
    });
    let issuer = format!("http://127.0.0.1:{}/{TENANT_ID}/v2.0", op.port());
    assert_eq!(op.issuer(), issuer);
    assert_eq!(op.discovery_url(), format!("{issuer}/.well-known/openid-configuration"));

    // Discovery lives under the issuer's path, and every endpoint with it.
    let doc = discovery(&op).await;
    assert_eq!(doc["issuer"], issuer.as_str());
    for endpoint in [
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "userinfo_endpoint",
    ] {
        let url = doc[endpoint].as_str().unwrap();
        assert!(url.starts_with(&format!("{issuer}/")), "{endpoint}: {url}");
    }
    let jwks = reqwest::get(doc["jwks_uri"].as_str().unwrap()).await.unwrap();
    assert_eq!(jwks.status(), 200);
    let root = reqwest::get(op.local_url("/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(root.status(), 404, "nothing at the origin's root");

    // A member: tid, oid, upn, preferred_username and groups; no email claim at all.
    let tokens = code_flow(&op, "bob@corp.example").await;
    let claims = jwt_payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["tid"], TENANT_ID);
    assert_eq!(claims["oid"], oid);
    assert_eq!(claims["upn"], "bob@corp.example");
    assert_eq!(claims["preferred_username"], "bob@corp.example");
    assert_eq!(claims["name"], "Bob Builder");
    assert_eq!(
        claims["groups"],
        json!([
            "11111111-1111-1111-1111-111111111111",
            "22222222-2222-2222-2222-222222222222"
        ])
    );
    assert!(
        claims.get("email").is_none() && claims.get("email_verified").is_none(),
        "{claims}"
    );
    // Userinfo answers under the path too.
    let info = userinfo(&op, &tokens).await;
    assert_eq!(info["sub"], claims["sub"]);

    // A guest: the #EXT# UPN and acct 1, with an (unverified) email.
    let claims = id_token_claims(&op, "carol_gmail.com#EXT#@corp.onmicrosoft.com").await;
    assert_eq!(claims["upn"], "carol_gmail.com#EXT#@corp.onmicrosoft.com");
    assert_eq!(claims["acct"], 1);
    assert_eq!(claims["email"], "carol@gmail.com");
    assert!(claims.get("email_verified").is_none(), "{claims}");

    // A group overage: distributed claims naming groups, no groups claim.
    let claims = id_token_claims(&op, "dave-pairwise").await;
    assert_eq!(claims["_claim_names"], json!({"groups": "src1"}), "{claims}");
    assert_eq!(
        claims["_claim_sources"]["src1"]["endpoint"],
        format!("https://graph.windows.net/{TENANT_ID}/users/5e4d3c2b-0000-4000-8000-000000000002/getMemberObjects")
    );
    assert!(claims.get("groups").is_none(), "{claims}");
}

#[tokio::test]
async fn auth0_shaped_issuer_keeps_its_trailing_slash() {
    let ada = OidcAccount::verified("auth0|64f1", "ada@corp.example", "Ada", "Lovelace")
        .with_claim("https://acme.example/groups", json!(["jira-users", "admins"]));
    let op = start(OidcProviderConfig {
        accounts: vec![ada],
        ..OidcProviderConfig::auth0()
    });
    let issuer = format!("http://127.0.0.1:{}/", op.port());
    assert_eq!(op.issuer(), issuer);
    assert_eq!(op.discovery_url(), format!("{issuer}.well-known/openid-configuration"));
    let doc = discovery(&op).await;
    assert_eq!(doc["issuer"], issuer.as_str());
    assert_eq!(doc["token_endpoint"], format!("http://127.0.0.1:{}/token", op.port()));
    // iss (ID token and RFC 9207) is the issuer with its slash: checked in code_flow.
    let claims = id_token_claims(&op, "ada@corp.example").await;
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["https://acme.example/groups"], json!(["jira-users", "admins"]));
}

#[tokio::test]
async fn okta_and_keycloak_shaped_group_claims() {
    let okta = start(OidcProviderConfig {
        accounts: vec![
            OidcAccount::verified("00u1abcd", "ada@corp.example", "Ada", "Lovelace")
                .with_claim("groups", json!(["Everyone", "Jira Users"])),
        ],
        // Strict OIDC: email and profile from userinfo only, provider claims still in the
        // ID token (as Okta's groups claim set to the ID token).
        conform_id_token_claims: true,
        ..OidcProviderConfig::okta("default")
    });
    assert_eq!(
        okta.issuer(),
        format!("http://127.0.0.1:{}/oauth2/default", okta.port())
    );
    let tokens = code_flow(&okta, "ada@corp.example").await;
    let claims = jwt_payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["groups"], json!(["Everyone", "Jira Users"]));
    assert!(claims.get("email").is_none(), "{claims}");
    assert_eq!(userinfo(&okta, &tokens).await["email"], "ada@corp.example");

    let keycloak = start(OidcProviderConfig {
        accounts: vec![
            OidcAccount::verified("f3b0c1d2", "ada@corp.example", "Ada", "Lovelace")
                .with_claim("preferred_username", "ada")
                .with_claim("groups", json!(["/engineering", "/engineering/platform"]))
                .with_claim("realm_access", json!({"roles": ["offline_access", "jira-admin"]})),
        ],
        ..OidcProviderConfig::keycloak("acme")
    });
    assert_eq!(
        keycloak.issuer(),
        format!("http://127.0.0.1:{}/realms/acme", keycloak.port())
    );
    // preferred_username is also a login name.
    let claims = id_token_claims(&keycloak, "ada").await;
    assert_eq!(claims["groups"], json!(["/engineering", "/engineering/platform"]));
    assert_eq!(claims["realm_access"]["roles"], json!(["offline_access", "jira-admin"]));
    assert_eq!(claims["preferred_username"], "ada");
}

#[tokio::test]
async fn graph_accepts_only_graph_tokens_of_its_provider() {
    // Graph first, as Rosetta needs its URL before the provider exists.
    let graph = GraphServer::start().expect("graph.mjs starts");
    let op = start(OidcProviderConfig::entra(TENANT_ID));
    let oid = "7c1d2a4e-95b3-4f0e-8d6c-3a2b1c0d9e8f";
    graph.set_groups(oid, &["g-security-1", "g-security-2"]);
    let body = json!({"securityEnabledOnly": false});

    // Not trusted yet: a genuine token is refused.
    let token = graph_token(&op).await;
    let (status, _, answer) = member_groups(&graph, oid, Some(&token), &body).await;
    assert_eq!(status, 401, "{answer}");
    graph.trust(&op);

    // The client credentials grant, as Entra answers it.
    let (status, answer) = client_credentials(&op, CLIENT_SECRET, Some(GRAPH_SCOPE)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 3599);
    let token = answer["access_token"].as_str().unwrap().to_owned();
    let (status, answer) = client_credentials(&op, "wrong-secret", Some(GRAPH_SCOPE)).await;
    assert_eq!((status, answer["error"].as_str()), (401, Some("invalid_client")));

    let (status, _, answer) = member_groups(&graph, oid, Some(&token), &body).await;
    assert_eq!(status, 200, "{answer}\n{}", graph.logs());
    assert_eq!(
        answer,
        json!({"@odata.context": ODATA_CONTEXT, "value": ["g-security-1", "g-security-2"]})
    );

    // No token, an unknown one, and a client credentials token without Graph's scope.
    let (status, _, answer) = member_groups(&graph, oid, None, &body).await;
    assert_eq!(status, 401);
    assert_eq!(
        graph_error(&answer),
        ("InvalidAuthenticationToken", "Access token is empty.")
    );
    let (status, _, answer) = member_groups(&graph, oid, Some("not-a-token-it-issued"), &body).await;
    assert_eq!(status, 401);
    assert_eq!(graph_error(&answer).0, "InvalidAuthenticationToken");
    let (status, answer) = client_credentials(&op, CLIENT_SECRET, None).await;
    assert_eq!(status, 200, "{answer}");
    let scopeless = answer["access_token"].as_str().unwrap();
    let (status, _, answer) = member_groups(&graph, oid, Some(scopeless), &body).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(graph_error(&answer).0, "InvalidAuthenticationToken");
    assert_eq!(graph.requests(), 5);
}

#[tokio::test]
async fn graph_get_member_groups_as_documented() {
    let graph = GraphServer::start().expect("graph.mjs starts");
    let op = start(OidcProviderConfig::entra(TENANT_ID));
    graph.trust(&op);
    let token = graph_token(&op).await;
    let oid = "5e4d3c2b-0000-4000-8000-000000000002";
    graph.set_groups_and_others(oid, &["sec-1", "sec-2"], &["m365-1"]);

    let all = json!({"securityEnabledOnly": false});
    let (status, _, answer) = member_groups(&graph, oid, Some(&token), &all).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["@odata.context"], ODATA_CONTEXT);
    assert_eq!(answer["value"], json!(["sec-1", "sec-2", "m365-1"]));
    let (_, _, answer) = member_groups(&graph, oid, Some(&token), &json!({"securityEnabledOnly": true})).await;
    assert_eq!(answer["value"], json!(["sec-1", "sec-2"]));
    let last = graph.last_request().unwrap();
    assert_eq!(last["method"], "POST");
    assert_eq!(last["path"], format!("/v1.0/users/{oid}/getMemberGroups"));
    assert_eq!(last["authorization"], true);
    assert_eq!(
        serde_json::from_str::<Value>(last["body"].as_str().unwrap()).unwrap(),
        json!({"securityEnabledOnly": true})
    );

    // Replacing a user's groups; a user without any.
    graph.set_groups(oid, &["sec-3"]);
    let (_, _, answer) = member_groups(&graph, oid, Some(&token), &all).await;
    assert_eq!(answer["value"], json!(["sec-3"]));
    graph.set_groups("no-groups", &[]);
    let (status, _, answer) = member_groups(&graph, "no-groups", Some(&token), &all).await;
    assert_eq!((status, &answer["value"]), (200, &json!([])));

    // An unknown user, a body without securityEnabledOnly.
    let (status, _, answer) = member_groups(&graph, "00000000-dead-4000-8000-000000000000", Some(&token), &all).await;
    assert_eq!(status, 404);
    assert_eq!(graph_error(&answer).0, "Request_ResourceNotFound");
    let (status, _, answer) = member_groups(&graph, oid, Some(&token), &json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(graph_error(&answer).0, "Request_BadRequest");

    // Permission denied (no GroupMember.Read.All), then granted again.
    graph.deny(true);
    let (status, _, answer) = member_groups(&graph, oid, Some(&token), &all).await;
    assert_eq!(status, 403);
    assert_eq!(
        graph_error(&answer),
        (
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation."
        )
    );
    graph.deny(false);
    let (status, _, _) = member_groups(&graph, oid, Some(&token), &all).await;
    assert_eq!(status, 200);

    // Throttled once, then served.
    graph.fail_next(1, 429, Some(7));
    let (status, retry_after, answer) = member_groups(&graph, oid, Some(&token), &all).await;
    assert_eq!((status, retry_after.as_deref()), (429, Some("7")));
    assert_eq!(graph_error(&answer).0, "TooManyRequests");
    let (status, _, _) = member_groups(&graph, oid, Some(&token), &all).await;
    assert_eq!(status, 200);
    assert_eq!(graph.requests(), 10);
}

#[tokio::test]
async fn client_credentials_can_be_refused() {
    let op = start(OidcProviderConfig {
        deny_client_credentials: true,
        ..OidcProviderConfig::entra(TENANT_ID)
    });
    let (status, answer) = client_credentials(&op, CLIENT_SECRET, Some(GRAPH_SCOPE)).await;
    assert_eq!(status, 400, "{answer}");
    // oidc-provider's words for it (RFC 6749 would say unauthorized_client).
    assert_eq!(answer["error"], "invalid_request");
    assert_eq!(
        answer["error_description"],
        "requested grant type is not allowed for this client"
    );
}
