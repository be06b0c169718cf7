//! `/api/v1/end-users`: people who logged in; block, unblock, reset their second factor.

use actix_web::{HttpResponse, get, post, web};
use rosetta_api::{EndUser, EndUserPage, EndUserQuery, UserStatus};

use super::error::ApiResult;
use super::session::Admin;
use crate::admin::end_users;
use crate::state::AppState;

/// The tenant's end users, paged, with search.
#[utoipa::path(tag = "end-users", params(EndUserQuery), responses(
    (status = 200, description = "A page of users", body = EndUserPage),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/end-users")]
pub async fn list_users(
    state: web::Data<AppState>,
    admin: Admin,
    q: web::Query<EndUserQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(end_users::page(&state, &admin.0, &q).await?))
}

/// One end user, with their last login.
#[utoipa::path(tag = "end-users", params(("id" = String, Path, description = "User ID")), responses(
    (status = 200, description = "The user", body = EndUser),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/end-users/{id}")]
pub async fn get_user(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(end_users::get(&state, &admin.0, &id).await?))
}

/// Blocks a user: their next login is refused.
#[utoipa::path(tag = "end-users", params(("id" = String, Path, description = "User ID")), responses(
    (status = 200, description = "Blocked", body = EndUser),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/end-users/{id}/block")]
pub async fn block_user(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(end_users::set_status(&state, &admin.0, &id, UserStatus::Blocked).await?))
}

/// Unblocks a user.
#[utoipa::path(tag = "end-users", params(("id" = String, Path, description = "User ID")), responses(
    (status = 200, description = "Unblocked", body = EndUser),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/end-users/{id}/unblock")]
pub async fn unblock_user(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(end_users::set_status(&state, &admin.0, &id, UserStatus::Active).await?))
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
    Ok(HttpResponse::Ok().json(end_users::reset_mfa(&state, &admin.0, &id).await?))
}

/// Ends a user's broker sessions at once: every application asks the provider again.
#[utoipa::path(tag = "end-users", params(("id" = String, Path, description = "User ID")), responses(
    (status = 200, description = "Sessions ended", body = EndUser),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/end-users/{id}/end-sessions")]
pub async fn end_user_sessions(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(end_users::end_sessions(&state, &admin.0, &id).await?))
}
