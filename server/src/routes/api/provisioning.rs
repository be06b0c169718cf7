//! `/api/v1/service-providers/{id}/provisioning`: a service provider's SCIM provisioning
//! target, its queue and its users' states.

use actix_web::{HttpResponse, delete, get, post, put, web};
use rosetta_api::{
    PageQuery, ProvisioningTarget, ProvisioningTest, ProvisioningUser, ProvisioningUserPage, PutProvisioningRequest,
    SyncPreview, SyncResult,
};

use super::error::ApiResult;
use super::session::Admin;
use crate::admin::provisioning;
use crate::admin::service_providers::Which;
use crate::state::AppState;

/// The SP's provisioning target, with its queue (the key is never returned).
#[utoipa::path(tag = "provisioning", params(("id" = String, Path, description = "Service provider ID")), responses(
    (status = 200, description = "The target", body = ProvisioningTarget),
    (status = "4XX", description = "Refused (404: no target)", body = rosetta_api::ApiError),
))]
#[get("/api/v1/service-providers/{id}/provisioning")]
pub async fn get_provisioning(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(provisioning::get(&state, &admin.0, Which::Id(&id)).await?))
}

/// Sets up or changes the SP's provisioning target; a new key resumes a paused target.
#[utoipa::path(tag = "provisioning", params(("id" = String, Path, description = "Service provider ID")),
    request_body = PutProvisioningRequest, responses(
    (status = 200, description = "The target", body = ProvisioningTarget),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[put("/api/v1/service-providers/{id}/provisioning")]
pub async fn put_provisioning(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
    body: web::Json<PutProvisioningRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(provisioning::put(&state, &admin.0, Which::Id(&id), body.into_inner()).await?))
}

/// Removes the SP's provisioning target and its queue.
#[utoipa::path(tag = "provisioning", params(("id" = String, Path, description = "Service provider ID")), responses(
    (status = 204, description = "Removed"),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[delete("/api/v1/service-providers/{id}/provisioning")]
pub async fn delete_provisioning(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    provisioning::delete(&state, &admin.0, Which::Id(&id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Tests the target with its stored key; names the step that failed.
#[utoipa::path(tag = "provisioning", params(("id" = String, Path, description = "Service provider ID")), responses(
    (status = 200, description = "The test's result", body = ProvisioningTest),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/service-providers/{id}/provisioning/test")]
pub async fn test_provisioning(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(provisioning::test(&state, &admin.0, Which::Id(&id)).await?))
}

/// What "Sync now" would do: counts and the first users concerned (no request to the
/// directory).
#[utoipa::path(tag = "provisioning", params(("id" = String, Path, description = "Service provider ID")), responses(
    (status = 200, description = "The preview", body = SyncPreview),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/service-providers/{id}/provisioning/sync-preview")]
pub async fn preview_provisioning_sync(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(provisioning::sync_preview(&state, &admin.0, Which::Id(&id)).await?))
}

/// Queues every user of the tenant for the target.
#[utoipa::path(tag = "provisioning", params(("id" = String, Path, description = "Service provider ID")), responses(
    (status = 200, description = "Queued", body = SyncResult),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/service-providers/{id}/provisioning/sync")]
pub async fn sync_provisioning(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(provisioning::sync(&state, &admin.0, Which::Id(&id)).await?))
}

/// The tenant's users with their state at the target.
#[utoipa::path(tag = "provisioning", params(("id" = String, Path, description = "Service provider ID"), PageQuery),
    responses(
    (status = 200, description = "A page of users", body = ProvisioningUserPage),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/service-providers/{id}/provisioning/users")]
pub async fn provisioning_users(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(provisioning::users(&state, &admin.0, Which::Id(&id), &q).await?))
}

/// Queues one user again now.
#[utoipa::path(tag = "provisioning", params(
    ("id" = String, Path, description = "Service provider ID"),
    ("user_id" = String, Path, description = "End user ID"),
), responses(
    (status = 200, description = "Queued", body = ProvisioningUser),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/service-providers/{id}/provisioning/users/{user_id}/retry")]
pub async fn retry_provisioning(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, user_id) = path.into_inner();
    Ok(HttpResponse::Ok().json(provisioning::retry(&state, &admin.0, Which::Id(&id), &user_id).await?))
}
