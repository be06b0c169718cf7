//! `/api/v1/logins`: the login debugger's traces and support bundles; an application's Test
//! login and go-live checklist.

use actix_web::{HttpResponse, get, post, web};
use rosetta_api::{GoLiveChecklist, LoginTrace, LoginTracePage, LoginTraceQuery, SupportBundle, TestLoginStart};

use super::error::ApiResult;
use super::session::Admin;
use crate::admin::logins;
use crate::admin::service_providers::Which;
use crate::state::AppState;

/// The tenant's login attempts, newest first, filtered and paged.
#[utoipa::path(tag = "logins", params(LoginTraceQuery), responses(
    (status = 200, description = "A page of login traces", body = LoginTracePage),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/logins")]
pub async fn list_logins(
    state: web::Data<AppState>,
    admin: Admin,
    q: web::Query<LoginTraceQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(logins::page(&state, &admin.0, &q).await?))
}

/// One login attempt, step by step, with what to do when it failed.
#[utoipa::path(tag = "logins", params(("id" = String, Path, description = "Trace ID")), responses(
    (status = 200, description = "The trace", body = LoginTrace),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/logins/{id}")]
pub async fn get_login(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(logins::get(&state, &admin.0, &id).await?))
}

/// One login attempt as a file for support: the trace, the AuthnRequest and the Response
/// (signatures removed).
#[utoipa::path(tag = "logins", params(("id" = String, Path, description = "Trace ID")), responses(
    (status = 200, description = "The support bundle (a download)", body = SupportBundle),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/logins/{id}/bundle")]
pub async fn login_bundle(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let (file, bundle) = logins::bundle(&state, &admin.0, &id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("content-disposition", format!("attachment; filename=\"{file}\"")))
        .json(bundle))
}

/// A single-use link (10 minutes) that starts a login to the application in a new tab, and
/// the trace to follow while it happens.
#[utoipa::path(tag = "logins", params(("id" = String, Path, description = "Service provider ID")), responses(
    (status = 200, description = "The link and its trace", body = TestLoginStart),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/service-providers/{id}/test-login")]
pub async fn test_login(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(logins::test_login(&state, &admin.0, Which::Id(&id)).await?))
}

/// A single-use link (10 minutes) that starts a login through the identity source to no
/// application (no user recorded, no session), and the trace to follow while it happens.
#[utoipa::path(tag = "logins", params(("id" = String, Path, description = "Identity source ID")), responses(
    (status = 200, description = "The link and its trace", body = TestLoginStart),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/identity-sources/{id}/test-login")]
pub async fn test_source_login(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(logins::test_source_login(&state, &admin.0, Which::Id(&id)).await?))
}

/// The application's go-live checklist: what Rosetta has seen, and what to check at
/// Atlassian.
#[utoipa::path(tag = "logins", params(("id" = String, Path, description = "Service provider ID")), responses(
    (status = 200, description = "The checklist", body = GoLiveChecklist),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/service-providers/{id}/go-live")]
pub async fn go_live(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(logins::go_live(&state, &admin.0, Which::Id(&id)).await?))
}
