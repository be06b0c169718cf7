//! Knowing who is gone (issue "Lifecycle", deprovisioning): a source with `offline_access`
//! asks for a refresh token once per person (consent), keeps it sealed, and the lifecycle
//! run redeems it; the provider's `invalid_grant` departs the user everywhere (sessions,
//! provisioning targets), an outage changes nothing, a new login brings the user back. The
//! inactivity rule with its dry run, and the provisioning key's expiry warnings. Against the
//! stand-in provider of `rp_conformance` (refresh grant with rotation and a switch that
//! disables the account) and the SCIM peer.

use std::time::{Duration, Instant};

use rosetta::admin::service_providers::Which;
use rosetta::admin::{Scope, provisioning, tenant};
use rosetta::domain::TenantSlug;
use rosetta::services::identity_sources::{self, SourceUpdate};
use rosetta::services::{end_users, grants};
use rosetta_api::{InactiveQuery, PutProvisioningRequest, UpdateTenantRequest, UserStatus};
use rosetta_e2e::ScimServer;
use serde_json::Value;

use crate::helpers::{TestApp, add_atlassian_sp};
use crate::rp_conformance::{Authorize, Case, case};

const REFRESH: &str = "rt-alice-first";

async fn scope_of(app: &TestApp, slug: &str) -> Scope {
    Scope::operator(&app.state, &TenantSlug::parse(slug).unwrap())
        .await
        .unwrap()
}

/// `case()` with `offline_access` on for source `corp`.
async fn offline_case() -> Case {
    let c = case().await;
    set_offline_access(&c, true).await;
    c
}

async fn set_offline_access(c: &Case, on: bool) {
    identity_sources::update(
        &c.app.state.db,
        &c.app.state.keyring,
        c.tenant_id,
        c.source_id,
        SourceUpdate {
            offline_access: Some(on),
            ..SourceUpdate::default()
        },
    )
    .await
    .unwrap();
}

/// A login in a new browser whose provider issues `refresh` when asked; returns whether
/// Rosetta sent the browser back for consent, and the final page.
async fn login(c: &Case, refresh: Option<&str>) -> (bool, String) {
    c.new_browser();
    let auth = c.start().await;
    c.op.set_id_token(c.key.sign(&c.claims(&auth)));
    let res = c.callback(&auth).await;
    if res.status() != 302 {
        assert_eq!(res.status(), 200);
        return (false, res.text().await.unwrap());
    }
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(c.op.issuer.as_str()),
        "back to the provider: {location}"
    );
    let url = url::Url::parse(&location).unwrap();
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    assert!(param("scope").split(' ').any(|s| s == "offline_access"), "{location}");
    assert_eq!(param("prompt"), "consent");
    assert_eq!(param("access_type"), "offline", "what Google needs");
    assert_eq!(param("login_hint"), "alice@corp.com");
    let again = Authorize::of(&location);
    *c.op.refresh_token.lock().unwrap() = refresh.map(str::to_owned);
    c.op.set_id_token(c.key.sign(&c.claims(&again)));
    let res = c.callback(&again).await;
    assert_eq!(res.status(), 200, "the consent leg ends at the SP");
    (true, res.text().await.unwrap())
}

async fn user_id(c: &Case) -> uuid::Uuid {
    end_users::page(&c.app.state.db, c.tenant_id, None, 1, 10)
        .await
        .unwrap()
        .0[0]
        .id
}

async fn run(c: &Case) -> rosetta::lifecycle::RunReport {
    let t = rosetta::services::tenants::by_id(&c.app.state.db, c.tenant_id)
        .await
        .unwrap();
    rosetta::lifecycle::run_tenant(&c.app.state, &t).await.unwrap()
}

async fn audit(app: &TestApp, tenant_id: uuid::Uuid) -> Vec<(String, Value)> {
    app.state.audit.flush().await;
    rosetta::services::audit::recent(&app.state.db, tenant_id, 500)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, serde_json::from_str(&e.detail).unwrap()))
        .collect()
}

#[tokio::test]
async fn consent_is_asked_once_and_the_refresh_token_kept_sealed() {
    let c = offline_case().await;
    let (asked, page) = login(&c, Some(REFRESH)).await;
    assert!(asked, "the first login asks for offline access");
    assert!(page.contains("SAMLResponse"));
    let grant = grants::get(&c.app.state.db, user_id(&c).await).await.unwrap().unwrap();
    assert_eq!(grant.state, grants::WORKING);
    let sealed = grant.refresh_token.clone().unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains(REFRESH), "sealed at rest");
    assert!(!format!("{grant:?}").contains(REFRESH), "never in Debug");
    // The next logins go straight through: no second consent screen.
    for _ in 0..2 {
        let (asked, page) = login(&c, None).await;
        assert!(!asked);
        assert!(page.contains("SAMLResponse"));
    }
    // A source without offline access never asks.
    set_offline_access(&c, false).await;
    assert!(!login(&c, None).await.0);
    let events = audit(&c.app, c.tenant_id).await;
    assert!(
        events.iter().all(|(_, d)| !d.to_string().contains(REFRESH)),
        "never audited"
    );
}

/// Google lists `scopes_supported` without `offline_access` and refuses unknown scopes: the
/// consent leg leaves the scope out and relies on `access_type=offline` with consent.
#[tokio::test]
async fn a_provider_whose_discovery_lacks_offline_access_is_asked_as_google_wants() {
    let c = offline_case().await;
    c.op.set_discovery("scopes_supported", serde_json::json!(["openid", "email", "profile"]));
    c.new_browser();
    let auth = c.start().await;
    c.op.set_id_token(c.key.sign(&c.claims(&auth)));
    let res = c.callback(&auth).await;
    assert_eq!(res.status(), 302, "the consent leg");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let url = url::Url::parse(&location).unwrap();
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    assert!(!param("scope").split(' ').any(|s| s == "offline_access"), "{location}");
    assert_eq!(param("access_type"), "offline");
    assert_eq!(param("prompt"), "consent");
    let again = Authorize::of(&location);
    *c.op.refresh_token.lock().unwrap() = Some(REFRESH.into());
    c.op.set_id_token(c.key.sign(&c.claims(&again)));
    assert_eq!(c.callback(&again).await.status(), 200);
    let grant = grants::get(&c.app.state.db, user_id(&c).await).await.unwrap().unwrap();
    assert_eq!(grant.state, grants::WORKING);
}

#[tokio::test]
async fn a_provider_that_issues_no_refresh_token_is_not_asked_at_every_login() {
    let c = offline_case().await;
    assert!(login(&c, None).await.0, "asked once");
    let grant = grants::get(&c.app.state.db, user_id(&c).await).await.unwrap().unwrap();
    assert_eq!(grant.state, grants::NOT_ISSUED);
    assert!(!login(&c, None).await.0, "not again at the next login");
}

/// The SCIM peer as `jira`'s target.
async fn provision(c: &Case) -> ScimServer {
    let scim = ScimServer::start("dir-lifecycle", "key-1").unwrap();
    provisioning::put(
        &c.app.state,
        &scope_of(&c.app, "acme").await,
        Which::Name("jira"),
        PutProvisioningRequest {
            base_url: scim.base_url(),
            api_key: Some("key-1".into()),
            key_expires_on: None,
            enabled: true,
        },
    )
    .await
    .unwrap();
    scim
}

async fn until_active_at_peer(scim: &ScimServer, active: bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state = scim.state();
        if state["users"].as_array().unwrap().len() == 1 && state["users"][0]["active"] == active {
            return;
        }
        assert!(Instant::now() < deadline, "the peer holds {state}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_provider_that_refuses_the_refresh_token_departs_the_user_everywhere() {
    let c = offline_case().await;
    let scim = provision(&c).await;
    login(&c, Some(REFRESH)).await;
    until_active_at_peer(&scim, true).await;
    assert_eq!(c.sso().await.status(), 200, "a live broker session");

    // The account is disabled at the provider: its refresh token is refused.
    c.op.live_refresh_tokens.lock().unwrap().clear();
    let report = run(&c).await;
    assert_eq!((report.refused, report.redeemed), (1, 0), "{report:?}");
    let user = end_users::get(&c.app.state.db, c.tenant_id, user_id(&c).await)
        .await
        .unwrap();
    assert_eq!(user.status, "departed");
    until_active_at_peer(&scim, false).await;
    let res = c.sso().await;
    assert_eq!(res.status(), 302, "the session ended");
    assert!(!res.headers()["location"].to_str().unwrap().contains("SAMLResponse"));
    let events = audit(&c.app, c.tenant_id).await;
    assert!(
        events
            .iter()
            .any(|(a, d)| a == "end_user.depart" && d["reason"] == "provider_refused"),
        "{events:?}"
    );
    let wire = rosetta::admin::end_users::get(&c.app.state, &scope_of(&c.app, "acme").await, &user.id.to_string())
        .await
        .unwrap();
    assert_eq!(wire.status, UserStatus::Departed);

    // Back at the provider, the person logs in again: active, asked for consent again, and
    // reactivated at the target.
    let (asked, page) = login(&c, Some("rt-alice-second")).await;
    assert!(asked, "the refused grant is asked for again");
    assert!(page.contains("SAMLResponse"));
    let user = end_users::get(&c.app.state.db, c.tenant_id, user.id).await.unwrap();
    assert_eq!(user.status, "active");
    until_active_at_peer(&scim, true).await;
}

#[tokio::test]
async fn an_unanswered_refresh_changes_nothing() {
    let c = offline_case().await;
    login(&c, Some(REFRESH)).await;
    *c.op.refresh_status.lock().unwrap() = Some(503);
    let report = run(&c).await;
    assert_eq!((report.unanswered, report.refused), (1, 0), "{report:?}");
    let id = user_id(&c).await;
    assert_eq!(
        end_users::get(&c.app.state.db, c.tenant_id, id).await.unwrap().status,
        "active"
    );
    assert_eq!(
        grants::get(&c.app.state.db, id).await.unwrap().unwrap().state,
        grants::WORKING
    );
    // Back up, the same token works.
    *c.op.refresh_status.lock().unwrap() = None;
    assert_eq!(run(&c).await.redeemed, 1);
}

#[tokio::test]
async fn a_rotated_refresh_token_is_kept() {
    let c = offline_case().await;
    login(&c, Some(REFRESH)).await;
    c.op.live_refresh_tokens
        .lock()
        .unwrap()
        .insert(REFRESH.into(), Some("rt-alice-rotated".into()));
    assert_eq!(run(&c).await.redeemed, 1);
    // The stand-in now accepts only the rotated token: the next run presents it.
    assert_eq!(run(&c).await.redeemed, 1);
    assert_eq!(c.op.refresh_hits.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn each_run_is_taken_once_per_interval() {
    let c = offline_case().await;
    login(&c, Some(REFRESH)).await;
    rosetta::lifecycle::run_due(&c.app.state).await.unwrap();
    rosetta::lifecycle::run_due(&c.app.state).await.unwrap();
    assert_eq!(
        c.op.refresh_hits.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the second call finds the run taken"
    );
}

#[tokio::test]
async fn inactivity_is_previewed_then_departs_and_a_login_brings_the_user_back() {
    let c = case().await;
    c.assert_accepted(c.login_edited(|_| {}).await).await;
    let scope = scope_of(&c.app, "acme").await;
    // No limit set and none asked: the preview checks 90 days.
    let default = tenant::inactive_users(&c.app.state, &scope, &InactiveQuery { days: None })
        .await
        .unwrap();
    assert_eq!((default.days, default.total), (90, 0));
    let refused = tenant::inactive_users(&c.app.state, &scope, &InactiveQuery { days: Some(0) }).await;
    assert!(refused.is_err(), "0 days is no limit");
    let id = user_id(&c).await;
    let preview = tenant::inactive_users(&c.app.state, &scope, &InactiveQuery { days: Some(30) })
        .await
        .unwrap();
    assert_eq!(preview.total, 0, "logged in just now");
    // Forty days without a login.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    rosetta_entity::end_user::Entity::update_many()
        .col_expr(
            rosetta_entity::end_user::Column::LastLoginAt,
            Some(chrono::Utc::now() - chrono::Duration::days(40)).into(),
        )
        .filter(rosetta_entity::end_user::Column::Id.eq(id))
        .exec(&c.app.state.db)
        .await
        .unwrap();
    let preview = tenant::inactive_users(&c.app.state, &scope, &InactiveQuery { days: Some(30) })
        .await
        .unwrap();
    assert_eq!(preview.total, 1);
    assert_eq!(preview.items[0].email, "alice@corp.com");
    assert_eq!(run(&c).await.inactive, 0, "off by default");
    tenant::update(
        &c.app.state,
        &scope,
        UpdateTenantRequest {
            deactivate_after_days: Some(30),
            ..nothing()
        },
    )
    .await
    .unwrap();
    assert_eq!(run(&c).await.inactive, 1);
    assert_eq!(
        end_users::get(&c.app.state.db, c.tenant_id, id).await.unwrap().status,
        "departed"
    );
    let events = audit(&c.app, c.tenant_id).await;
    assert!(
        events
            .iter()
            .any(|(a, d)| a == "end_user.depart" && d["reason"] == "inactive")
    );
    c.assert_accepted(c.login_edited(|_| {}).await).await;
    assert_eq!(
        end_users::get(&c.app.state.db, c.tenant_id, id).await.unwrap().status,
        "active"
    );
}

fn nothing() -> UpdateTenantRequest {
    UpdateTenantRequest {
        display_name: None,
        admin_mfa_required: None,
        end_user_mfa: None,
        end_user_mfa_trust_upstream: None,
        end_user_mfa_trusted_acr: None,
        end_user_mfa_max_age_hours: None,
        liveness_interval_hours: None,
        deactivate_after_days: None,
    }
}

/// Tenant `slug` (named `name`) signed up by its owner `owner@<slug>.example`, who gets the
/// owners' emails.
async fn with_owner(app: &TestApp, slug: &str, name: &str) -> rosetta_entity::tenant::Model {
    use rosetta::domain::{DisplayName, EmailAddress, NewPassword};
    use rosetta::services::accounts::{self, SignUp};
    let email = EmailAddress::parse(&format!("owner@{slug}.example")).unwrap();
    let outcome = accounts::sign_up(
        &app.state.db,
        &app.state.keyring,
        &app.state.hosts,
        SignUp {
            password: NewPassword::parse("a long enough passphrase 42", &email).unwrap(),
            email,
            slug: TenantSlug::parse(slug).unwrap(),
            name: DisplayName::parse(name).unwrap(),
        },
    )
    .await
    .unwrap();
    let accounts::SignUpOutcome::Created { tenant, .. } = outcome else {
        panic!("created");
    };
    tenant
}

#[tokio::test]
async fn owners_are_warned_of_an_expiring_key_at_30_and_at_7_days() {
    let app = crate::helpers::spawn_app(rosetta_e2e::Stack::embedded()).await;
    let beta = with_owner(&app, "beta", "Beta").await;
    add_atlassian_sp(&app, beta.id).await;
    let scope = scope_of(&app, "beta").await;
    let put = |days: i64| PutProvisioningRequest {
        base_url: "https://api.atlassian.com/scim/directory/beta".into(),
        api_key: None,
        key_expires_on: Some((chrono::Utc::now().date_naive() + chrono::Duration::days(days)).to_string()),
        enabled: true,
    };
    provisioning::put(
        &app.state,
        &scope,
        Which::Name("jira"),
        PutProvisioningRequest {
            api_key: Some("key".into()),
            ..put(20)
        },
    )
    .await
    .unwrap();
    let warnings = || {
        std::fs::read_dir(app.state.settings.outbox_dir())
            .map(|d| {
                d.filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
                    .filter(|t| t.contains("provisioning key for jira") && t.contains("owner@beta.example"))
                    .count()
            })
            .unwrap_or(0)
    };
    let run = || async {
        let t = rosetta::services::tenants::by_id(&app.state.db, beta.id).await.unwrap();
        rosetta::lifecycle::run_tenant(&app.state, &t).await.unwrap()
    };
    assert_eq!(run().await.key_warnings, 1);
    assert_eq!(warnings(), 1, "warned at 30 days or fewer");
    assert_eq!(run().await.key_warnings, 0, "once per threshold");
    provisioning::put(&app.state, &scope, Which::Name("jira"), put(5))
        .await
        .unwrap();
    assert_eq!(run().await.key_warnings, 1, "again at 7 days or fewer");
    assert_eq!(warnings(), 2);
    let target = provisioning::get(&app.state, &scope, Which::Name("jira"))
        .await
        .unwrap();
    assert_eq!(target.key_expires_in_days, Some(5));
}

#[tokio::test]
async fn owners_are_warned_of_an_expiring_signing_certificate_and_the_gauge_reads_it() {
    use rosetta_entity::signing_key::{self, KeyState};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let app = crate::helpers::spawn_app(rosetta_e2e::Stack::embedded()).await;
    let gamma = with_owner(&app, "gamma", "Gamma").await;
    // The active key's certificate now expires in `days` (only the certificate is read).
    let expiring_in = |days: u32| {
        let db = app.state.db.clone();
        async move {
            let key = rosetta::saml::keys::SigningKey::generate_valid_for("gamma", days).unwrap();
            signing_key::Entity::update_many()
                .col_expr(
                    signing_key::Column::Certificate,
                    sea_orm::sea_query::Expr::value(key.cert_der().to_vec()),
                )
                .filter(signing_key::Column::TenantId.eq(gamma.id))
                .filter(signing_key::Column::State.eq(KeyState::Active))
                .exec(&db)
                .await
                .unwrap();
        }
    };
    let warnings = || {
        std::fs::read_dir(app.state.settings.outbox_dir())
            .map(|d| {
                d.filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
                    .filter(|t| t.contains("active signing certificate of Gamma") && t.contains("owner@gamma.example"))
                    .count()
            })
            .unwrap_or(0)
    };
    let run = || async {
        let t = rosetta::services::tenants::by_id(&app.state.db, gamma.id)
            .await
            .unwrap();
        rosetta::lifecycle::run_tenant(&app.state, &t).await.unwrap()
    };
    assert_eq!(
        run().await.certificate_warnings,
        0,
        "a fresh certificate lives ten years"
    );
    expiring_in(20).await;
    assert_eq!(run().await.certificate_warnings, 1);
    assert_eq!(warnings(), 1, "warned at 30 days or fewer");
    assert_eq!(run().await.certificate_warnings, 0, "once per threshold");
    expiring_in(5).await;
    assert_eq!(run().await.certificate_warnings, 1, "again at 7 days or fewer");
    assert_eq!(warnings(), 2);

    // What the console's banner reads, and the gauge every replica reports.
    let t = rosetta::services::tenants::by_id(&app.state.db, gamma.id)
        .await
        .unwrap();
    let idp = rosetta::services::tenants::idp_info(&app.state.db, &app.state.hosts, &t)
        .await
        .unwrap();
    // Certificates count whole seconds: 5 days from the same second, or 4 and change.
    assert!(
        (4..=5).contains(&idp.certificates[0].days_left),
        "{:?}",
        idp.certificates[0]
    );
    rosetta::lifecycle::update_certificate_gauge(&app.state).await.unwrap();
    let exposition = app.state.metrics.render();
    let line = exposition
        .lines()
        .find(|l| l.starts_with("rosetta_signing_certificate_expiry_seconds{state=\"active\",tenant=\"gamma\"}"))
        .unwrap_or_else(|| panic!("{exposition}"));
    let seconds: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((4 * 86_400..=5 * 86_400).contains(&seconds), "{line}");
}
