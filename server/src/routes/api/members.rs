//! `/api/v1/members`: the tenant's members and their roles.

use actix_web::{HttpResponse, delete, get, patch, web};
use rosetta_api::{Member, UpdateMemberRequest};

use super::error::ApiResult;
use super::session::Admin;
use crate::admin::members;
use crate::state::AppState;

/// The tenant's members.
#[utoipa::path(tag = "members", responses(
    (status = 200, description = "Members", body = Vec<Member>),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/members")]
pub async fn list_members(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(members::list(&state, &admin.0).await?))
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
    Ok(HttpResponse::Ok().json(members::set_role(&state, &admin.0, &account_id, body.into_inner()).await?))
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
    members::remove(&state, &admin.0, &account_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
