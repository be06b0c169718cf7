//! Ending access is immediate (SECURITY.md, "Tenancy, admin console, MFA"; Hardening II, 1):
//! blocking a user, resetting their second factor or ending their sessions ends their broker
//! sessions at once, and no assertion is issued from a session of a user who is no longer
//! active. Through the admin use cases, as the API and the console call them.

use rosetta::admin::{Scope, end_users};
use rosetta::domain::TenantSlug;
use rosetta_api::UserStatus;

use crate::rp_conformance::{Case, case};

/// Logs in; then a second SP request in the same browser is answered from the broker
/// session, without the provider. Returns the user's ID.
async fn logged_in_with_a_session(c: &Case) -> String {
    c.assert_accepted(c.login_edited(|_| {}).await).await;
    let reused = c.sso().await;
    assert_eq!(reused.status(), 200, "the broker session answers at once");
    assert!(reused.text().await.unwrap().contains("name=\"SAMLResponse\""));
    let users = rosetta::services::end_users::page(&c.app.state.db, c.tenant_id, None, 1, 10)
        .await
        .unwrap()
        .0;
    users[0].id.to_string()
}

async fn scope(c: &Case) -> Scope {
    Scope::operator(&c.app.state, &TenantSlug::parse("acme").unwrap())
        .await
        .unwrap()
}

/// The next SP request goes to the provider: the session was not used.
async fn assert_session_ended(c: &Case) {
    let res = c.sso().await;
    assert_eq!(res.status(), 302, "no assertion from the ended session");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(!location.contains("SAMLResponse"), "{location}");
}

#[tokio::test]
async fn blocking_a_user_ends_their_broker_sessions() {
    let c = case().await;
    let user = logged_in_with_a_session(&c).await;
    end_users::set_status(&c.app.state, &scope(&c).await, &user, UserStatus::Blocked)
        .await
        .unwrap();
    assert_session_ended(&c).await;
    // And the provider's word is not enough any more: the fresh login is refused.
    let (status, page) = c.login_edited(|_| {}).await;
    assert_eq!(status, 403, "{page}");
    assert!(!page.contains("SAMLResponse"));
    // Unblocked, the user gets in again, with a new session.
    end_users::set_status(&c.app.state, &scope(&c).await, &user, UserStatus::Active)
        .await
        .unwrap();
    logged_in_with_a_session(&c).await;
}

#[tokio::test]
async fn resetting_the_second_factor_ends_the_sessions() {
    let c = case().await;
    let user = logged_in_with_a_session(&c).await;
    end_users::reset_mfa(&c.app.state, &scope(&c).await, &user)
        .await
        .unwrap();
    assert_session_ended(&c).await;
}

#[tokio::test]
async fn an_admin_ends_a_users_sessions_and_the_user_logs_in_again() {
    let c = case().await;
    let user = logged_in_with_a_session(&c).await;
    end_users::end_sessions(&c.app.state, &scope(&c).await, &user)
        .await
        .unwrap();
    assert_session_ended(&c).await;
    // Still active: a fresh login works and opens a new session.
    logged_in_with_a_session(&c).await;
    c.app.state.audit.flush().await;
    let events = rosetta::services::audit::recent(&c.app.state.db, c.tenant_id, 50)
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.action == "end_user.end_sessions" && e.actor == "operator")
    );
}
