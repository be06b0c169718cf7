//! Probes: `/healthz` (the process answers) and `/readyz` (its dependencies answer).

use actix_web::{HttpResponse, web};
use rosetta_api::{CheckResult, CheckStatus, Readiness, ReadinessReport};

use crate::db;
use crate::state::AppState;

/// Mounts the probe routes (answered on every host).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok\n")
}

#[tracing::instrument(skip_all)]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let (database, store) = tokio::join!(db::ping(&state.db), state.store.ping());
    let check = |backend: &str, result: Result<(), String>| CheckResult {
        status: if result.is_ok() {
            CheckStatus::Ok
        } else {
            CheckStatus::Unavailable
        },
        backend: backend.into(),
        error: result.err(),
    };
    let database = check(db::backend_name(&state.db), database.map_err(|e| e.to_string()));
    let store = check(state.store.backend(), store.map_err(|e| e.to_string()));
    let ready = database.error.is_none() && store.error.is_none();
    if !ready {
        tracing::warn!(database = ?database.error, store = ?store.error, "not ready");
    }
    let report = ReadinessReport {
        status: if ready { Readiness::Ready } else { Readiness::NotReady },
        database,
        store,
    };
    if ready {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    }
    .insert_header(("cache-control", "no-store"))
    .json(report)
}
