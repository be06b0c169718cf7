//! `/api/v1/signing-keys`: publish a next key, promote it, retire a key.

use actix_web::{HttpResponse, get, post, web};
use rosetta_api::SigningKey;

use super::error::ApiResult;
use super::session::Admin;
use crate::admin::signing_keys;
use crate::state::AppState;

/// The tenant's signing keys, newest first (private keys never leave the server).
#[utoipa::path(tag = "signing-keys", responses(
    (status = 200, description = "Keys", body = Vec<SigningKey>),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/signing-keys")]
pub async fn list_keys(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(signing_keys::list(&state, &admin.0).await?))
}

/// Publishes a next key in metadata, to be promoted once SPs trust it.
#[utoipa::path(tag = "signing-keys", responses(
    (status = 201, description = "Created", body = SigningKey),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/signing-keys")]
pub async fn create_key(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(signing_keys::create_next(&state, &admin.0).await?))
}

/// Makes the next key the signing key; the old active key is retired.
#[utoipa::path(tag = "signing-keys", params(("id" = String, Path, description = "The next key's ID")), responses(
    (status = 200, description = "Promoted", body = SigningKey),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/signing-keys/{id}/promote")]
pub async fn promote_key(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(signing_keys::promote(&state, &admin.0, Some(&id)).await?))
}

/// Retires a key that does not sign (removes it from metadata).
#[utoipa::path(tag = "signing-keys", params(("id" = String, Path, description = "Key ID")), responses(
    (status = 200, description = "Retired", body = SigningKey),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/signing-keys/{id}/retire")]
pub async fn retire_key(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(signing_keys::retire(&state, &admin.0, &id).await?))
}
