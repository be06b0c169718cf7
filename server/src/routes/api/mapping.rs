//! `/api/v1/service-providers/{id}/mapping`: what an SP receives (attribute rules, NameID,
//! groups rule) and its preview.

use actix_web::{HttpResponse, post, put, web};
use rosetta_api::{Mapping, MappingPreview, MappingPreviewRequest, ServiceProvider};

use super::error::ApiResult;
use super::session::Admin;
use crate::admin::mapping;
use crate::admin::service_providers::Which;
use crate::state::AppState;

/// Replaces the SP's mapping: every rule is checked and compiled (field errors name the
/// rule: `attributes[2].transforms[0]`, `name_id`, `groups.allow[1]`).
#[utoipa::path(tag = "service-providers", params(("id" = String, Path, description = "Service provider ID")),
    request_body = Mapping, responses(
    (status = 200, description = "Saved", body = ServiceProvider),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[put("/api/v1/service-providers/{id}/mapping")]
pub async fn put_mapping(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
    body: web::Json<Mapping>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(mapping::set(&state, &admin.0, Which::Id(&id), body.into_inner()).await?))
}

/// What the SP would receive for a user's last login, or for sample claims, with the saved
/// mapping or one not saved yet.
#[utoipa::path(tag = "service-providers", params(("id" = String, Path, description = "Service provider ID")),
    request_body = MappingPreviewRequest, responses(
    (status = 200, description = "The preview", body = MappingPreview),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/service-providers/{id}/mapping/preview")]
pub async fn preview_mapping(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
    body: web::Json<MappingPreviewRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(mapping::preview(&state, &admin.0, Which::Id(&id), body.into_inner()).await?))
}
