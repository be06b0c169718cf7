//! Accounts: sign-up, email verification, password reset, the caller's account and its
//! password and TOTP, extra tenants.

use actix_web::{HttpResponse, delete, get, post, put, web};
use rosetta_api::{
    Account, ChangePasswordRequest, CodeRequest, CreateTenantRequest, EmailRequest, Message, PasswordConfirmation,
    RecoveryCodes, ResetPasswordRequest, Session, SignUpRequest, Tenant, TokenRequest, TotpEnrolment,
};

use super::error::ApiResult;
use super::session::{SignedIn, Visitor, session_cookie};
use crate::admin::accounts;
use crate::state::AppState;

/// Creates a tenant and its first admin; a verification link is emailed. The answer is the
/// same whether or not the email already had an account.
#[utoipa::path(
    tag = "accounts",
    request_body = SignUpRequest,
    responses(
        (status = 202, description = "Check your email", body = Message),
        (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
    )
)]
#[post("/api/v1/signup")]
pub async fn sign_up(
    state: web::Data<AppState>,
    visitor: Visitor,
    body: web::Json<SignUpRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Accepted().json(accounts::sign_up(&state, &visitor.0, body.into_inner()).await?))
}

/// Confirms an email address with the token from its link.
#[utoipa::path(
    tag = "accounts",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Verified", body = Message),
        (status = "4XX", description = "Invalid, expired or used link", body = rosetta_api::ApiError),
    )
)]
#[post("/api/v1/verify-email")]
pub async fn verify_email(
    state: web::Data<AppState>,
    visitor: Visitor,
    body: web::Json<TokenRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(accounts::verify_email(&state, &visitor.0, body.into_inner()).await?))
}

/// Sends a new verification link to an unverified account (same answer for any address).
#[utoipa::path(
    tag = "accounts",
    request_body = EmailRequest,
    responses(
        (status = 202, description = "Sent if the address needs it", body = Message),
        (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
        (status = 503, description = "The email could not be sent; ask again later", body = rosetta_api::ApiError),
    )
)]
#[post("/api/v1/verify-email/resend")]
pub async fn resend_verification(
    state: web::Data<AppState>,
    visitor: Visitor,
    body: web::Json<EmailRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Accepted().json(accounts::resend_verification(&state, &visitor.0, body.into_inner()).await?))
}

/// Emails a password-reset link (same answer for any address).
#[utoipa::path(
    tag = "accounts",
    request_body = EmailRequest,
    responses(
        (status = 202, description = "Sent if the address has an account", body = Message),
        (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
        (status = 503, description = "The email could not be sent; ask again later", body = rosetta_api::ApiError),
    )
)]
#[post("/api/v1/password-reset")]
pub async fn request_reset(
    state: web::Data<AppState>,
    visitor: Visitor,
    body: web::Json<EmailRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Accepted().json(accounts::request_reset(&state, &visitor.0, body.into_inner()).await?))
}

/// Sets a new password with a reset link; every session of the account ends.
#[utoipa::path(
    tag = "accounts",
    request_body = ResetPasswordRequest,
    responses(
        (status = 200, description = "Password changed", body = Message),
        (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
    )
)]
#[post("/api/v1/password-reset/confirm")]
pub async fn confirm_reset(
    state: web::Data<AppState>,
    visitor: Visitor,
    body: web::Json<ResetPasswordRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(accounts::confirm_reset(&state, &visitor.0, body.into_inner()).await?))
}

/// The caller's account and tenants.
#[utoipa::path(
    tag = "accounts",
    responses(
        (status = 200, description = "The account", body = Account),
        (status = 401, description = "Not signed in", body = rosetta_api::ApiError),
    )
)]
#[get("/api/v1/account")]
pub async fn get_account(state: web::Data<AppState>, signed_in: SignedIn) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(accounts::account(&state, &signed_in.current.session).await?))
}

/// Changes the password; other sessions end, this one gets a new ID.
#[utoipa::path(
    tag = "accounts",
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Changed", body = Session),
        (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
    )
)]
#[put("/api/v1/account/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    body: web::Json<ChangePasswordRequest>,
) -> ApiResult<HttpResponse> {
    let s = accounts::change_password(&state, &signed_in.origin, signed_in.current, body.into_inner()).await?;
    Ok(HttpResponse::Ok().cookie(session_cookie(&state, s.id)).json(s.view))
}

/// Starts TOTP enrolment: the secret and its QR code, shown once.
#[utoipa::path(
    tag = "accounts",
    responses(
        (status = 200, description = "Scan it, then confirm with a code", body = TotpEnrolment),
        (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
    )
)]
#[post("/api/v1/account/totp")]
pub async fn begin_totp(state: web::Data<AppState>, signed_in: SignedIn) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(accounts::begin_totp(&state, &signed_in.current.session).await?))
}

/// Confirms TOTP with a first code: recovery codes, shown once; the session gets a new ID.
#[utoipa::path(
    tag = "accounts",
    request_body = CodeRequest,
    responses(
        (status = 200, description = "TOTP is on", body = RecoveryCodes),
        (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
    )
)]
#[post("/api/v1/account/totp/confirm")]
pub async fn confirm_totp(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    body: web::Json<CodeRequest>,
) -> ApiResult<HttpResponse> {
    let (id, codes) = accounts::confirm_totp(&state, &signed_in.origin, signed_in.current, body.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(&state, id))
        .insert_header(("cache-control", "no-store"))
        .json(codes))
}

/// Turns TOTP off; the password confirms.
#[utoipa::path(
    tag = "accounts",
    request_body = PasswordConfirmation,
    responses(
        (status = 200, description = "TOTP is off", body = Message),
        (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
    )
)]
#[delete("/api/v1/account/totp")]
pub async fn disable_totp(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    body: web::Json<PasswordConfirmation>,
) -> ApiResult<HttpResponse> {
    let done = accounts::disable_totp(&state, &signed_in.origin, &signed_in.current.session, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(done))
}

/// Creates another tenant owned by the caller.
#[utoipa::path(
    tag = "accounts",
    request_body = CreateTenantRequest,
    responses(
        (status = 201, description = "Created", body = Tenant),
        (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
    )
)]
#[post("/api/v1/tenants")]
pub async fn create_tenant(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    body: web::Json<CreateTenantRequest>,
) -> ApiResult<HttpResponse> {
    let tenant =
        accounts::create_tenant(&state, &signed_in.origin, &signed_in.current.session, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(tenant))
}
