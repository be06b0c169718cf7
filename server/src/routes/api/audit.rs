//! `/api/v1/audit`: the audit log, as pages and as CSV.

use actix_web::{HttpResponse, get, web};
use rosetta_api::{AuditPage, AuditQuery};

use super::error::ApiResult;
use super::session::Admin;
use crate::admin::audit_log as log;
use crate::state::AppState;

/// The audit log, newest first, filtered and paged.
#[utoipa::path(tag = "audit", params(AuditQuery), responses(
    (status = 200, description = "A page of events", body = AuditPage),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/audit")]
pub async fn audit_log(state: web::Data<AppState>, admin: Admin, q: web::Query<AuditQuery>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(log::page(&state, &admin.0, &q).await?))
}

/// The audit log as CSV (the same filters; up to 10 000 events, newest first).
#[utoipa::path(tag = "audit", params(AuditQuery), responses(
    (status = 200, description = "CSV", content_type = "text/csv", body = String),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/audit.csv")]
pub async fn audit_csv(state: web::Data<AppState>, admin: Admin, q: web::Query<AuditQuery>) -> ApiResult<HttpResponse> {
    let (file, csv) = log::csv(&state, &admin.0, &q).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("content-disposition", format!("attachment; filename=\"{file}\"")))
        .body(csv))
}
