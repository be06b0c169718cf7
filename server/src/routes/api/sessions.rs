//! `/api/v1/session`: sign in (with the second factor), the session, sign out, switch
//! tenant. The session lives in the store; the browser holds its ID in a cookie.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use rosetta_api::{CodeRequest, Session, SignInRequest, SwitchTenantRequest};

use super::error::ApiResult;
use super::session::{AnySession, SignedIn, Visitor, removal_cookie, session_cookie, session_id};
use crate::admin::accounts::{self, Started};
use crate::state::AppState;

/// The answer that carries a (new) session: its cookie and view, never cached.
fn started(state: &AppState, started: Started) -> HttpResponse {
    HttpResponse::Ok()
        .cookie(session_cookie(state, started.id))
        .insert_header(("cache-control", "no-store"))
        .json(started.view)
}

/// Signs in with email and password. With TOTP on, the session waits for the code.
#[utoipa::path(
    tag = "sessions",
    request_body = SignInRequest,
    responses(
        (status = 200, description = "Signed in, or waiting for the second factor", body = Session),
        (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
    )
)]
#[post("/api/v1/session")]
pub async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    body: web::Json<SignInRequest>,
) -> ApiResult<HttpResponse> {
    let previous = session_id(&req, &state);
    let s = accounts::sign_in(&state, &visitor.0, body.into_inner(), previous.as_deref()).await?;
    Ok(started(&state, s))
}

/// The caller's session, with the CSRF token to send back.
#[utoipa::path(
    tag = "sessions",
    responses(
        (status = 200, description = "The session", body = Session),
        (status = 401, description = "Not signed in", body = rosetta_api::ApiError),
    )
)]
#[get("/api/v1/session")]
pub async fn current_session(state: web::Data<AppState>, session: AnySession) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(accounts::view(&state, &session.current.session).await?))
}

/// Completes sign-in with a TOTP or recovery code; the session gets a new ID.
#[utoipa::path(
    tag = "sessions",
    request_body = CodeRequest,
    responses(
        (status = 200, description = "Signed in", body = Session),
        (status = "4XX", description = "Wrong, replayed or used code", body = rosetta_api::ApiError),
    )
)]
#[post("/api/v1/session/totp")]
pub async fn second_factor(
    state: web::Data<AppState>,
    session: AnySession,
    body: web::Json<CodeRequest>,
) -> ApiResult<HttpResponse> {
    let s = accounts::second_factor(&state, &session.origin, session.current, body.into_inner()).await?;
    Ok(started(&state, s))
}

/// Signs out: the server-side session is deleted.
#[utoipa::path(
    tag = "sessions",
    responses(
        (status = 204, description = "Signed out"),
        (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
    )
)]
#[delete("/api/v1/session")]
pub async fn sign_out(state: web::Data<AppState>, session: AnySession) -> ApiResult<HttpResponse> {
    accounts::sign_out(&state, &session.current).await?;
    Ok(HttpResponse::NoContent().cookie(removal_cookie(&state)).finish())
}

/// Switches the session to another tenant the caller belongs to (a privilege change: the
/// session gets a new ID).
#[utoipa::path(
    tag = "sessions",
    request_body = SwitchTenantRequest,
    responses(
        (status = 200, description = "Switched", body = Session),
        (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
    )
)]
#[put("/api/v1/session/tenant")]
pub async fn switch_tenant(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    body: web::Json<SwitchTenantRequest>,
) -> ApiResult<HttpResponse> {
    let s = accounts::switch_tenant(&state, signed_in.current, body.into_inner()).await?;
    Ok(HttpResponse::Ok().cookie(session_cookie(&state, s.id)).json(s.view))
}
