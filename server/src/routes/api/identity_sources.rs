//! `/api/v1/identity-sources`: the tenant's OpenID providers and "test connection". Client
//! secrets are write-only.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use rosetta_api::{ConnectionTest, CreateIdentitySourceRequest, IdentitySource, UpdateIdentitySourceRequest};

use super::error::ApiResult;
use super::session::Admin;
use crate::admin::identity_sources;
use crate::admin::service_providers::Which;
use crate::state::AppState;

/// Every provider preset: what to set up at the provider, what Rosetta checks at each login.
#[utoipa::path(tag = "identity-sources", responses(
    (status = 200, description = "Presets", body = Vec<rosetta_api::SourcePresetInfo>),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/identity-source-presets")]
pub async fn list_presets(_admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(identity_sources::presets()))
}

/// The tenant's identity sources (client secrets are write-only and never shown).
#[utoipa::path(tag = "identity-sources", responses(
    (status = 200, description = "Identity sources", body = Vec<IdentitySource>),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/identity-sources")]
pub async fn list_sources(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(identity_sources::list(&state, &admin.0).await?))
}

/// Registers an OpenID Connect provider.
#[utoipa::path(tag = "identity-sources", request_body = CreateIdentitySourceRequest, responses(
    (status = 201, description = "Created", body = IdentitySource),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/identity-sources")]
pub async fn create_source(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<CreateIdentitySourceRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(identity_sources::create(&state, &admin.0, body.into_inner()).await?))
}

/// One identity source.
#[utoipa::path(tag = "identity-sources", params(("id" = String, Path, description = "Identity source ID")), responses(
    (status = 200, description = "The source", body = IdentitySource),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/identity-sources/{id}")]
pub async fn get_source(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(identity_sources::get(&state, &admin.0, Which::Id(&id)).await?))
}

/// Edits an identity source; a new client secret replaces the old one.
#[utoipa::path(tag = "identity-sources", params(("id" = String, Path, description = "Identity source ID")),
    request_body = UpdateIdentitySourceRequest, responses(
    (status = 200, description = "Updated", body = IdentitySource),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[patch("/api/v1/identity-sources/{id}")]
pub async fn update_source(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
    body: web::Json<UpdateIdentitySourceRequest>,
) -> ApiResult<HttpResponse> {
    let source = identity_sources::update(&state, &admin.0, Which::Id(&id), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(source))
}

/// Deletes an identity source and frees its domains.
#[utoipa::path(tag = "identity-sources", params(("id" = String, Path, description = "Identity source ID")), responses(
    (status = 204, description = "Deleted"),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[delete("/api/v1/identity-sources/{id}")]
pub async fn delete_source(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    identity_sources::delete(&state, &admin.0, Which::Id(&id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Tests a source: discovery, issuer match, JWKS fetch, with a precise message per step.
#[utoipa::path(tag = "identity-sources", params(("id" = String, Path, description = "Identity source ID")), responses(
    (status = 200, description = "The test ran (see `ok`)", body = ConnectionTest),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/identity-sources/{id}/test")]
pub async fn test_source(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(identity_sources::test(&state, &admin.0, Which::Id(&id)).await?))
}

/// Proves the tenant owns one of the source's email domains: the DNS TXT record named in
/// `domain_verification` must hold the value shown there.
#[utoipa::path(tag = "identity-sources", params(
        ("id" = String, Path, description = "Identity source ID"),
        ("domain" = String, Path, description = "One of the source's email domains"),
    ), responses(
    (status = 200, description = "Verified (or already was)", body = IdentitySource),
    (status = 400, description = "The record is missing or holds another value; the message says which", body = rosetta_api::ApiError),
    (status = 409, description = "Another organisation holds the domain verified", body = rosetta_api::ApiError),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/identity-sources/{id}/domains/{domain}/verify")]
pub async fn verify_source_domain(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, domain) = path.into_inner();
    Ok(HttpResponse::Ok().json(identity_sources::verify_domain(&state, &admin.0, Which::Id(&id), &domain).await?))
}
