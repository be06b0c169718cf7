//! `/api/v1/tenant`: the session's tenant, what to paste into service providers, and its
//! MFA settings.

use actix_web::{HttpResponse, get, patch, web};
use rosetta_api::{InactivePreview, InactiveQuery, SetupProgress, TenantSettings, UpdateTenantRequest};

use super::error::ApiResult;
use super::session::Admin;
use crate::admin::tenant;
use crate::state::AppState;

/// The tenant, what to paste into service providers, and its MFA settings.
#[utoipa::path(tag = "tenant", responses(
    (status = 200, description = "Settings", body = TenantSettings),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/tenant")]
pub async fn get_tenant(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(tenant::settings(&state, &admin.0).await?))
}

/// Changes the tenant's name or MFA settings.
#[utoipa::path(tag = "tenant", request_body = UpdateTenantRequest, responses(
    (status = 200, description = "Updated", body = TenantSettings),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[patch("/api/v1/tenant")]
pub async fn update_tenant(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<UpdateTenantRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(tenant::update(&state, &admin.0, body.into_inner()).await?))
}

/// Who the inactivity rule would mark departed: active users without a login for `days`
/// (default: the tenant's `deactivate_after_days`, else 90), longest inactive first.
#[utoipa::path(tag = "tenant", params(InactiveQuery), responses(
    (status = 200, description = "The users", body = InactivePreview),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/tenant/inactive-users")]
pub async fn inactive_users(
    state: web::Data<AppState>,
    admin: Admin,
    q: web::Query<InactiveQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(tenant::inactive_users(&state, &admin.0, &q).await?))
}

/// How far the tenant's set-up has got (the console's progress card).
#[utoipa::path(tag = "tenant", responses(
    (status = 200, description = "Progress", body = SetupProgress),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/tenant/setup")]
pub async fn setup_progress(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(tenant::setup(&state, &admin.0).await?))
}
