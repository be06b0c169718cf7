//! The tenant's members (admin accounts with a role) and the invitations that add them.
//! Owners manage both; a tenant always keeps an owner.

use rosetta_api::{
    AcceptInvitationRequest, AuditOutcome, Invitation, InviteRequest, Member, Message, UpdateMemberRequest,
};
use serde_json::json;

use super::{Actor, AdminError, AdminResult, Origin, Recorded, Scope, object_id, record};
use crate::domain::EmailAddress;
use crate::emails;
use crate::services::accounts::{self, parse_role, role_str};
use crate::services::admin_sessions;
use crate::services::members;
use crate::services::rate_limit::{self, INVITE_TENANT, SIGNIN_IP};
use crate::state::AppState;

fn member_wire(m: &members::Member) -> Member {
    Member {
        account_id: m.account_id.to_string(),
        email: m.email.clone(),
        role: m.role,
        totp_enabled: m.totp_enabled,
        joined_at: m.joined_at.to_rfc3339(),
    }
}

fn invitation_wire(i: &rosetta_entity::invitation::Model) -> Invitation {
    Invitation {
        id: i.id.to_string(),
        email: i.email.clone(),
        role: parse_role(&i.role),
        invited_by: i.invited_by.clone(),
        expires_at: i.expires_at.to_rfc3339(),
        created_at: i.created_at.to_rfc3339(),
    }
}

/// The tenant's members, by email.
pub async fn list(state: &AppState, scope: &Scope) -> AdminResult<Vec<Member>> {
    Ok(members::list(&state.db, scope.tenant_id())
        .await?
        .iter()
        .map(member_wire)
        .collect())
}

/// Changes a member's role (owners only; the last owner stays owner); returns the members.
pub async fn set_role(
    state: &AppState,
    scope: &Scope,
    account_id: &str,
    body: UpdateMemberRequest,
) -> AdminResult<Vec<Member>> {
    scope.require_owner()?;
    let id = object_id(account_id)?;
    let old = members::set_role(&state.db, scope.tenant_id(), id, body.role).await?;
    let email = accounts::get(&state.db, id).await?.email;
    scope
        .changed(
            state,
            "member.update",
            Some(email),
            json!({"before": {"role": role_str(old)}, "after": {"role": role_str(body.role)}}),
        )
        .await?;
    list(state, scope).await
}

/// Removes a member (owners only; not the last owner).
pub async fn remove(state: &AppState, scope: &Scope, account_id: &str) -> AdminResult<()> {
    scope.require_owner()?;
    let email = members::remove(&state.db, scope.tenant_id(), object_id(account_id)?).await?;
    scope.changed(state, "member.remove", Some(email), json!({})).await
}

/// Open invitations (owners only).
pub async fn invitations(state: &AppState, scope: &Scope) -> AdminResult<Vec<Invitation>> {
    scope.require_owner()?;
    Ok(members::pending(&state.db, scope.tenant_id())
        .await?
        .iter()
        .map(invitation_wire)
        .collect())
}

/// Invites someone by email (owners only; 20 per tenant per hour); the emailed link works
/// once, for 7 days.
pub async fn invite(state: &AppState, scope: &Scope, body: InviteRequest) -> AdminResult<Invitation> {
    scope.require_owner()?;
    let email = EmailAddress::parse(&body.email).map_err(|e| AdminError::field("email", e.0))?;
    rate_limit::hit(state.store.as_ref(), INVITE_TENANT, &scope.tenant_id().to_string()).await?;
    let inviter = super::actor_name(scope.actor());
    let (row, token) = members::invite(&state.db, scope.tenant_id(), &email, body.role, &inviter).await?;
    let link = format!("{}invitations/accept?token={token}", state.settings.server.public_url);
    let message = emails::invitation(&row.email, scope.tenant_name(), &inviter, role_str(body.role), &link);
    if let Err(e) = state.mailer.send(&message).await {
        tracing::error!(error = %e, "sending an invitation failed");
    }
    scope
        .changed(
            state,
            "invitation.create",
            Some(row.email.clone()),
            json!({"role": role_str(body.role)}),
        )
        .await?;
    Ok(invitation_wire(&row))
}

/// Withdraws an open invitation (owners only).
pub async fn revoke(state: &AppState, scope: &Scope, id: &str) -> AdminResult<()> {
    scope.require_owner()?;
    let email = members::revoke(&state.db, scope.tenant_id(), object_id(id)?).await?;
    scope.changed(state, "invitation.revoke", Some(email), json!({})).await
}

/// Accepts an invitation: an existing account joins; otherwise `password` creates one.
pub async fn accept(state: &AppState, origin: &Origin, body: AcceptInvitationRequest) -> AdminResult<Message> {
    rate_limit::hit(state.store.as_ref(), SIGNIN_IP, origin.address()).await?;
    let done = members::accept(&state.db, &body.token, body.password.as_deref()).await?;
    if done.replaced_password {
        // Whoever opened the account before the address was proved is signed out.
        admin_sessions::end_all(state.store.as_ref(), done.account.id).await?;
    }
    record(
        state,
        Recorded {
            tenant_id: Some(done.tenant.id),
            actor: &Actor::Visitor {
                email: done.account.email.clone(),
            },
            origin,
            action: "member.join",
            outcome: AuditOutcome::Success,
            target: Some(done.account.email.clone()),
            detail: json!({
                "role": role_str(done.role),
                "new_account": done.created_account,
                "password_set": done.replaced_password,
            }),
        },
    )
    .await?;
    Ok(Message {
        message: format!(
            "You are now a member of {}. Sign in to continue.",
            done.tenant.display_name
        ),
    })
}
