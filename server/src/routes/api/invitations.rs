//! `/api/v1/invitations`: owners invite admins by email; the invited accept with the link.

use actix_web::{HttpResponse, delete, get, post, web};
use rosetta_api::{AcceptInvitationRequest, Invitation, InviteRequest, Message};

use super::error::ApiResult;
use super::session::{Admin, Visitor};
use crate::admin::members;
use crate::state::AppState;

/// Open invitations (owners only).
#[utoipa::path(tag = "invitations", responses(
    (status = 200, description = "Invitations", body = Vec<Invitation>),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/invitations")]
pub async fn list_invitations(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(members::invitations(&state, &admin.0).await?))
}

/// Invites someone by email (owners only); the link works once, for 7 days.
#[utoipa::path(tag = "invitations", request_body = InviteRequest, responses(
    (status = 201, description = "Invited", body = Invitation),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/invitations")]
pub async fn invite(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<InviteRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(members::invite(&state, &admin.0, body.into_inner()).await?))
}

/// Withdraws an open invitation (owners only).
#[utoipa::path(tag = "invitations", params(("id" = String, Path, description = "Invitation ID")), responses(
    (status = 204, description = "Withdrawn"),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[delete("/api/v1/invitations/{id}")]
pub async fn revoke_invitation(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    members::revoke(&state, &admin.0, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Accepts an invitation: an existing account joins; otherwise `password` creates one.
#[utoipa::path(
    tag = "invitations",
    request_body = AcceptInvitationRequest,
    responses(
        (status = 200, description = "Joined; sign in", body = Message),
        (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
    )
)]
#[post("/api/v1/invitations/accept")]
pub async fn accept_invitation(
    state: web::Data<AppState>,
    visitor: Visitor,
    body: web::Json<AcceptInvitationRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(members::accept(&state, &visitor.0, body.into_inner()).await?))
}
