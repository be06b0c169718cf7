//! `/api/v1/service-providers`: SAML service providers from a preset or metadata.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use rosetta_api::{
    CreateServiceProviderRequest, ImportServiceProviderRequest, ServiceProvider, UpdateServiceProviderRequest,
};

use super::error::ApiResult;
use super::session::Admin;
use crate::admin::service_providers::{self, Which};
use crate::state::AppState;

/// The tenant's service providers.
#[utoipa::path(tag = "service-providers", responses(
    (status = 200, description = "Service providers", body = Vec<ServiceProvider>),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/service-providers")]
pub async fn list_sps(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service_providers::list(&state, &admin.0).await?))
}

/// Registers a service provider from a preset (for Atlassian: its entity ID and ACS URL).
#[utoipa::path(tag = "service-providers", request_body = CreateServiceProviderRequest, responses(
    (status = 201, description = "Created", body = ServiceProvider),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/service-providers")]
pub async fn create_sp(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<CreateServiceProviderRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(service_providers::create(&state, &admin.0, body.into_inner()).await?))
}

/// Registers a service provider from its SAML metadata, pasted or fetched from a URL.
#[utoipa::path(tag = "service-providers", request_body = ImportServiceProviderRequest, responses(
    (status = 201, description = "Created", body = ServiceProvider),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/service-providers/import")]
pub async fn import_sp(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<ImportServiceProviderRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(service_providers::import(&state, &admin.0, body.into_inner()).await?))
}

/// One service provider.
#[utoipa::path(tag = "service-providers", params(("id" = String, Path, description = "Service provider ID")), responses(
    (status = 200, description = "The service provider", body = ServiceProvider),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/service-providers/{id}")]
pub async fn get_sp(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service_providers::get(&state, &admin.0, Which::Id(&id)).await?))
}

/// Edits a service provider's endpoints, mapping or options.
#[utoipa::path(tag = "service-providers", params(("id" = String, Path, description = "Service provider ID")),
    request_body = UpdateServiceProviderRequest, responses(
    (status = 200, description = "Updated", body = ServiceProvider),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[patch("/api/v1/service-providers/{id}")]
pub async fn update_sp(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
    body: web::Json<UpdateServiceProviderRequest>,
) -> ApiResult<HttpResponse> {
    let sp = service_providers::update(&state, &admin.0, Which::Id(&id), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(sp))
}

/// Deletes a service provider.
#[utoipa::path(tag = "service-providers", params(("id" = String, Path, description = "Service provider ID")), responses(
    (status = 204, description = "Deleted"),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[delete("/api/v1/service-providers/{id}")]
pub async fn delete_sp(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    service_providers::delete(&state, &admin.0, Which::Id(&id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
