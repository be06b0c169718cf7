//! People who logged in through the tenant: list and search, block and unblock, reset their
//! second factor.

use rosetta_api::{EndUser, EndUserPage, EndUserQuery, UserStatus};
use serde_json::json;

use super::{AdminError, AdminResult, Scope, object_id, paging};
use crate::flow;
use crate::services::end_users;
use crate::state::AppState;

/// The stored text of a user's status.
fn status_str(status: UserStatus) -> &'static str {
    match status {
        UserStatus::Active => "active",
        UserStatus::Blocked => "blocked",
        UserStatus::Departed => "departed",
    }
}

/// A stored status (`active`, `blocked`, `departed`); anything else reads as active.
pub(crate) fn parse_status(value: &str) -> UserStatus {
    match value {
        "blocked" => UserStatus::Blocked,
        "departed" => UserStatus::Departed,
        _ => UserStatus::Active,
    }
}

pub(crate) fn wire(u: &rosetta_entity::end_user::Model) -> EndUser {
    EndUser {
        id: u.id.to_string(),
        email: u.email.clone(),
        display_name: u.display_name.clone(),
        issuer: u.issuer.clone(),
        subject: u.subject.clone(),
        status: parse_status(&u.status),
        mfa_enrolled: u.totp_enabled_at.is_some(),
        last_login_at: u.last_login_at.map(|t| t.to_rfc3339()),
        created_at: u.created_at.to_rfc3339(),
        provisioning: Vec::new(),
    }
}

/// The users' wire views with their state at each provisioning target of the tenant.
async fn with_provisioning(
    state: &AppState,
    scope: &Scope,
    users: &[rosetta_entity::end_user::Model],
) -> AdminResult<Vec<EndUser>> {
    let badges = crate::services::provisioning::badges(&state.db, scope.tenant_id(), users).await?;
    Ok(users
        .iter()
        .zip(badges)
        .map(|(u, provisioning)| EndUser {
            provisioning,
            ..wire(u)
        })
        .collect())
}

/// The tenant's end users, paged, with search.
pub async fn page(state: &AppState, scope: &Scope, q: &EndUserQuery) -> AdminResult<EndUserPage> {
    let (page, per_page) = paging(q.page, q.per_page)?;
    if q.search
        .as_deref()
        .is_some_and(|s| s.len() > 256 || s.chars().any(char::is_control))
    {
        return Err(AdminError::field(
            "search",
            "search for at most 256 printable characters",
        ));
    }
    let (items, total) = end_users::page(&state.db, scope.tenant_id(), q.search.as_deref(), page, per_page).await?;
    Ok(EndUserPage {
        items: with_provisioning(state, scope, &items).await?,
        total,
        page,
        per_page,
    })
}

/// One end user.
pub async fn get(state: &AppState, scope: &Scope, id: &str) -> AdminResult<EndUser> {
    let user = end_users::get(&state.db, scope.tenant_id(), object_id(id)?).await?;
    let mut views = with_provisioning(state, scope, std::slice::from_ref(&user)).await?;
    views.pop().ok_or_else(AdminError::not_found)
}

/// Blocks (`Blocked`: their broker sessions end at once, on every replica, and their next
/// login is refused) or unblocks (`Active`) a user.
pub async fn set_status(state: &AppState, scope: &Scope, id: &str, status: UserStatus) -> AdminResult<EndUser> {
    let blocked = status == UserStatus::Blocked;
    let (before, after) = end_users::set_status(&state.db, scope.tenant_id(), object_id(id)?, blocked).await?;
    if blocked {
        flow::end_sessions(state.store.as_ref(), scope.slug(), after.id).await?;
    }
    let action = if blocked { "end_user.block" } else { "end_user.unblock" };
    scope
        .changed(
            state,
            action,
            Some(after.email.clone()),
            json!({"before": {"status": before.status}, "after": {"status": status_str(status)}}),
        )
        .await?;
    Ok(wire(&after))
}

/// Forgets a user's second factor and ends their broker sessions; they enrol again at their
/// next login.
pub async fn reset_mfa(state: &AppState, scope: &Scope, id: &str) -> AdminResult<EndUser> {
    let u = end_users::reset_mfa(&state.db, scope.tenant_id(), object_id(id)?).await?;
    flow::end_sessions(state.store.as_ref(), scope.slug(), u.id).await?;
    scope
        .changed(state, "end_user.reset_mfa", Some(u.email.clone()), json!({}))
        .await?;
    Ok(wire(&u))
}

/// Ends a user's broker sessions at once, on every replica: each application they use asks
/// the provider again at its next sign-in (the user stays active).
pub async fn end_sessions(state: &AppState, scope: &Scope, id: &str) -> AdminResult<EndUser> {
    let u = end_users::get(&state.db, scope.tenant_id(), object_id(id)?).await?;
    flow::end_sessions(state.store.as_ref(), scope.slug(), u.id).await?;
    scope
        .changed(state, "end_user.end_sessions", Some(u.email.clone()), json!({}))
        .await?;
    Ok(wire(&u))
}
