//! End users, the audit log, members and invitations.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use rosetta_api::{
    AuditEntry, AuditPage, EndUser, EndUserPage, Invitation, InviteRequest, Member, UpdateMemberRequest,
};
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiFailure, ApiResult, object_id};
use super::session::Admin;
use crate::domain::EmailAddress;
use crate::emails;
use crate::services::accounts::{self, parse_role, role_str};
use crate::services::audit::{self, AuditFilter};
use crate::services::{end_users, members};
use crate::state::AppState;

/// Paging and search of list endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Matches email or name, any case.
    pub search: Option<String>,
    /// Page number, from 1.
    pub page: Option<u64>,
    /// Page size, 1 to 200 (default 50).
    pub per_page: Option<u64>,
}

fn paging(page: Option<u64>, per_page: Option<u64>) -> ApiResult<(u64, u64)> {
    let page = page.unwrap_or(1);
    let per_page = per_page.unwrap_or(50);
    if page == 0 || page > 1_000_000 {
        return Err(ApiFailure::field("page", "pages are numbered from 1"));
    }
    if !(1..=200).contains(&per_page) {
        return Err(ApiFailure::field("per_page", "a page holds 1 to 200 items"));
    }
    Ok((page, per_page))
}

fn user_wire(u: &rosetta_entity::end_user::Model) -> EndUser {
    EndUser {
        id: u.id.to_string(),
        email: u.email.clone(),
        display_name: u.display_name.clone(),
        issuer: u.issuer.clone(),
        subject: u.subject.clone(),
        status: u.status.clone(),
        mfa_enrolled: u.totp_enabled_at.is_some(),
        last_login_at: u.last_login_at.map(|t| t.to_rfc3339()),
        created_at: u.created_at.to_rfc3339(),
    }
}

/// The tenant's end users, paged, with search.
#[utoipa::path(tag = "end-users", params(UserQuery), responses(
    (status = 200, description = "A page of users", body = EndUserPage),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/end-users")]
pub async fn list_users(state: web::Data<AppState>, admin: Admin, q: web::Query<UserQuery>) -> ApiResult<HttpResponse> {
    let (page, per_page) = paging(q.page, q.per_page)?;
    if q.search
        .as_deref()
        .is_some_and(|s| s.len() > 256 || s.chars().any(char::is_control))
    {
        return Err(ApiFailure::field(
            "search",
            "search for at most 256 printable characters",
        ));
    }
    let (items, total) = end_users::page(&state.db, admin.tenant_id(), q.search.as_deref(), page, per_page).await?;
    Ok(HttpResponse::Ok().json(EndUserPage {
        items: items.iter().map(user_wire).collect(),
        total,
        page,
        per_page,
    }))
}

/// One end user, with their last login.
#[utoipa::path(tag = "end-users", params(("id" = String, Path, description = "User ID")), responses(
    (status = 200, description = "The user", body = EndUser),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/end-users/{id}")]
pub async fn get_user(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let u = end_users::get(&state.db, admin.tenant_id(), object_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(user_wire(&u)))
}

async fn set_blocked(state: &AppState, admin: &Admin, id: &str, blocked: bool) -> ApiResult<HttpResponse> {
    let (before, after) = end_users::set_status(&state.db, admin.tenant_id(), object_id(id)?, blocked).await?;
    let action = if blocked { "end_user.block" } else { "end_user.unblock" };
    admin
        .audit(
            state,
            action,
            Some(after.email.clone()),
            json!({"before": {"status": before.status}, "after": {"status": after.status}}),
        )
        .await?;
    Ok(HttpResponse::Ok().json(user_wire(&after)))
}

/// Blocks a user: their next login is refused.
#[utoipa::path(tag = "end-users", params(("id" = String, Path, description = "User ID")), responses(
    (status = 200, description = "Blocked", body = EndUser),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/end-users/{id}/block")]
pub async fn block_user(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    set_blocked(&state, &admin, &id, true).await
}

/// Unblocks a user.
#[utoipa::path(tag = "end-users", params(("id" = String, Path, description = "User ID")), responses(
    (status = 200, description = "Unblocked", body = EndUser),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/end-users/{id}/unblock")]
pub async fn unblock_user(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    set_blocked(&state, &admin, &id, false).await
}

/// Forgets a user's second factor; they enrol again at their next login.
#[utoipa::path(tag = "end-users", params(("id" = String, Path, description = "User ID")), responses(
    (status = 200, description = "Reset", body = EndUser),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/end-users/{id}/reset-mfa")]
pub async fn reset_user_mfa(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let u = end_users::reset_mfa(&state.db, admin.tenant_id(), object_id(&id)?).await?;
    admin
        .audit(&state, "end_user.reset_mfa", Some(u.email.clone()), json!({}))
        .await?;
    Ok(HttpResponse::Ok().json(user_wire(&u)))
}

/// Filters of the audit log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Exact action, e.g. `login`.
    pub action: Option<String>,
    /// Exact actor.
    pub actor: Option<String>,
    /// `success` or `failure`.
    pub outcome: Option<String>,
    /// RFC 3339: events at or after.
    pub from: Option<String>,
    /// RFC 3339: events before.
    pub to: Option<String>,
    /// Page number, from 1.
    pub page: Option<u64>,
    /// Page size, 1 to 200 (default 50).
    pub per_page: Option<u64>,
}

fn audit_filter(q: &AuditQuery) -> ApiResult<AuditFilter> {
    let time = |field: &str, v: &Option<String>| -> ApiResult<Option<chrono::DateTime<chrono::Utc>>> {
        v.as_deref()
            .map(|s| {
                chrono::DateTime::parse_from_rfc3339(s)
                    .map(|t| t.with_timezone(&chrono::Utc))
                    .map_err(|_| ApiFailure::field(field, "an RFC 3339 time like 2026-11-29T10:00:00Z"))
            })
            .transpose()
    };
    let short = |field: &str, v: &Option<String>| -> ApiResult<Option<String>> {
        match v {
            Some(s) if s.len() > 320 || s.chars().any(char::is_control) => {
                Err(ApiFailure::field(field, "at most 320 printable characters"))
            }
            other => Ok(other.clone()),
        }
    };
    Ok(AuditFilter {
        action: short("action", &q.action)?,
        actor: short("actor", &q.actor)?,
        outcome: short("outcome", &q.outcome)?,
        from: time("from", &q.from)?,
        to: time("to", &q.to)?,
    })
}

fn entry(e: &rosetta_entity::audit_event::Model) -> AuditEntry {
    AuditEntry {
        id: e.id.to_string(),
        occurred_at: e.occurred_at.to_rfc3339(),
        actor: e.actor.clone(),
        action: e.action.clone(),
        outcome: e.outcome.clone(),
        target: e.target.clone(),
        detail: e.detail.clone(),
        ip: e.ip.clone(),
        request_id: e.request_id.clone(),
    }
}

/// The audit log, newest first, filtered and paged.
#[utoipa::path(tag = "audit", params(AuditQuery), responses(
    (status = 200, description = "A page of events", body = AuditPage),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/audit")]
pub async fn audit_log(state: web::Data<AppState>, admin: Admin, q: web::Query<AuditQuery>) -> ApiResult<HttpResponse> {
    let (page, per_page) = paging(q.page, q.per_page)?;
    let filter = audit_filter(&q)?;
    // Logins are written in batches just after their response: include every one so far.
    state.audit.flush().await;
    let (items, total) = audit::page(&state.db, admin.tenant_id(), &filter, page, per_page).await?;
    Ok(HttpResponse::Ok().json(AuditPage {
        items: items.iter().map(entry).collect(),
        total,
        page,
        per_page,
    }))
}

/// The audit log as CSV (the same filters; up to 10 000 events, newest first).
#[utoipa::path(tag = "audit", params(AuditQuery), responses(
    (status = 200, description = "CSV", content_type = "text/csv", body = String),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/audit.csv")]
pub async fn audit_csv(state: web::Data<AppState>, admin: Admin, q: web::Query<AuditQuery>) -> ApiResult<HttpResponse> {
    let filter = audit_filter(&q)?;
    state.audit.flush().await;
    let (items, _) = audit::page(&state.db, admin.tenant_id(), &filter, 1, 10_000).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"rosetta-audit-{}.csv\"", admin.tenant.slug),
        ))
        .body(audit::to_csv(&items)))
}

fn member_wire(m: &members::Member) -> Member {
    Member {
        account_id: m.account_id.to_string(),
        email: m.email.clone(),
        role: m.role,
        totp_enabled: m.totp_enabled,
        joined_at: m.joined_at.to_rfc3339(),
    }
}

/// The tenant's members.
#[utoipa::path(tag = "members", responses(
    (status = 200, description = "Members", body = Vec<Member>),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/members")]
pub async fn list_members(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    let all: Vec<Member> = members::list(&state.db, admin.tenant_id())
        .await?
        .iter()
        .map(member_wire)
        .collect();
    Ok(HttpResponse::Ok().json(all))
}

/// Changes a member's role (owners only; the last owner stays owner).
#[utoipa::path(tag = "members", params(("account_id" = String, Path, description = "Member's account ID")),
    request_body = UpdateMemberRequest, responses(
    (status = 200, description = "Updated", body = Vec<Member>),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[patch("/api/v1/members/{account_id}")]
pub async fn update_member(
    state: web::Data<AppState>,
    admin: Admin,
    account_id: web::Path<String>,
    body: web::Json<UpdateMemberRequest>,
) -> ApiResult<HttpResponse> {
    admin.require_owner()?;
    let id = object_id(&account_id)?;
    let old = members::set_role(&state.db, admin.tenant_id(), id, body.role).await?;
    let email = accounts::get(&state.db, id).await?.email;
    admin
        .audit(
            &state,
            "member.update",
            Some(email),
            json!({"before": {"role": role_str(old)}, "after": {"role": role_str(body.role)}}),
        )
        .await?;
    let all: Vec<Member> = members::list(&state.db, admin.tenant_id())
        .await?
        .iter()
        .map(member_wire)
        .collect();
    Ok(HttpResponse::Ok().json(all))
}

/// Removes a member (owners only; not the last owner).
#[utoipa::path(tag = "members", params(("account_id" = String, Path, description = "Member's account ID")), responses(
    (status = 204, description = "Removed"),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[delete("/api/v1/members/{account_id}")]
pub async fn remove_member(
    state: web::Data<AppState>,
    admin: Admin,
    account_id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    admin.require_owner()?;
    let email = members::remove(&state.db, admin.tenant_id(), object_id(&account_id)?).await?;
    admin.audit(&state, "member.remove", Some(email), json!({})).await?;
    Ok(HttpResponse::NoContent().finish())
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

/// Open invitations (owners only).
#[utoipa::path(tag = "members", responses(
    (status = 200, description = "Invitations", body = Vec<Invitation>),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/invitations")]
pub async fn list_invitations(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    admin.require_owner()?;
    let all: Vec<Invitation> = members::pending(&state.db, admin.tenant_id())
        .await?
        .iter()
        .map(invitation_wire)
        .collect();
    Ok(HttpResponse::Ok().json(all))
}

/// Invites someone by email (owners only); the link works once, for 7 days.
#[utoipa::path(tag = "members", request_body = InviteRequest, responses(
    (status = 201, description = "Invited", body = Invitation),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/invitations")]
pub async fn invite(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<InviteRequest>,
) -> ApiResult<HttpResponse> {
    admin.require_owner()?;
    let email = EmailAddress::parse(&body.email).map_err(|e| ApiFailure::field("email", e.0))?;
    let (row, token) = members::invite(&state.db, admin.tenant_id(), &email, body.role, &admin.session.email).await?;
    let link = format!("{}invitations/accept?token={token}", state.settings.public_url);
    let message = emails::invitation(
        &row.email,
        &admin.tenant.display_name,
        &admin.session.email,
        role_str(body.role),
        &link,
    );
    if let Err(e) = state.mailer.send(&message).await {
        tracing::error!(error = %e, "sending an invitation failed");
    }
    admin
        .audit(
            &state,
            "invitation.create",
            Some(row.email.clone()),
            json!({"role": role_str(body.role)}),
        )
        .await?;
    Ok(HttpResponse::Created().json(invitation_wire(&row)))
}

/// Withdraws an open invitation (owners only).
#[utoipa::path(tag = "members", params(("id" = String, Path, description = "Invitation ID")), responses(
    (status = 204, description = "Withdrawn"),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[delete("/api/v1/invitations/{id}")]
pub async fn revoke_invitation(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    admin.require_owner()?;
    let email = members::revoke(&state.db, admin.tenant_id(), object_id(&id)?).await?;
    admin.audit(&state, "invitation.revoke", Some(email), json!({})).await?;
    Ok(HttpResponse::NoContent().finish())
}
