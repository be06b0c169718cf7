//! Accounts and sessions: sign-up, email verification, sign-in with TOTP, sign-out,
//! password reset, the caller's account, TOTP enrolment, extra tenants, invitations.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use rosetta_api::{
    AcceptInvitationRequest, Account, ChangePasswordRequest, CodeRequest, CreateTenantRequest, EmailRequest,
    MembershipInfo, Message, PasswordConfirmation, RecoveryCodes, ResetPasswordRequest, Session, SessionStage,
    SignInRequest, SignUpRequest, SwitchTenantRequest, Tenant, TokenRequest, TotpEnrolment,
};
use secrecy::SecretString;
use uuid::Uuid;

use super::error::{ApiFailure, ApiResult, Fields};
use super::session::{AnySession, SignedIn, check_origin, client, removal_cookie, session_cookie};
use crate::domain::{DisplayName, EmailAddress, NewPassword, TenantSlug};
use crate::emails;
use crate::mail::OutgoingEmail;
use crate::services::accounts::{self, SignUpOutcome};
use crate::services::admin_sessions::{self, AdminSession, Stage};
use crate::services::audit::{self, AuditEvent};
use crate::services::members;
use crate::services::rate_limit::{self, EMAIL_ACCOUNT, EMAIL_IP, SIGNIN_ACCOUNT, SIGNIN_IP, TOTP_ACCOUNT, TOTP_IP};
use crate::services::tenants;
use crate::state::AppState;

/// Sends an email; whether it went out. A failure is logged; the action it follows has
/// happened and is kept, and the caller tells the user how to ask again.
async fn send(state: &AppState, email: OutgoingEmail) -> bool {
    match state.mailer.send(&email).await {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(error = %e, subject = %email.subject, "sending an email failed");
            false
        }
    }
}

/// 503 for a link that could not be emailed (SMTP down); asking again later works.
fn email_unavailable() -> ApiFailure {
    ApiFailure::new(
        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
        "email_unavailable",
        "The email could not be sent just now. Nothing is lost: ask again in a few minutes.",
    )
}

fn link(state: &AppState, page: &str, token: &str) -> String {
    format!("{}{page}?token={token}", state.settings.public_url)
}

fn accepted(message: &str) -> HttpResponse {
    HttpResponse::Accepted().json(Message {
        message: message.to_owned(),
    })
}

async fn record(state: &AppState, req: &HttpRequest, event: (&str, &'static str, &'static str, Option<Uuid>)) {
    let (actor, action, outcome, tenant_id) = event;
    let (ip, request_id) = client(req, state);
    let result = audit::record(
        &state.db,
        AuditEvent {
            tenant_id,
            actor: actor.to_owned(),
            action,
            outcome,
            target: None,
            detail: serde_json::json!({}),
            ip,
            request_id,
        },
    )
    .await;
    if let Err(e) = result {
        tracing::error!(error = %e, action, "recording an audit event failed");
    }
}

fn ip_of(req: &HttpRequest, state: &AppState) -> String {
    client(req, state).0.unwrap_or_else(|| "unknown".into())
}

/// The caller's session as the console sees it.
pub(super) async fn view(state: &AppState, session: &AdminSession) -> ApiResult<Session> {
    if session.stage != Stage::Complete {
        return Ok(Session {
            stage: SessionStage::SecondFactor,
            csrf_token: session.csrf_token.clone(),
            account: None,
            tenant: None,
            role: None,
            mfa_enrolment_required: false,
        });
    }
    let memberships = accounts::memberships(&state.db, session.account_id).await?;
    let required = memberships
        .iter()
        .find(|(_, t)| Some(t.id) == session.tenant_id)
        .is_some_and(|(_, t)| t.admin_mfa_required);
    let account = account_view(state, session.account_id, memberships).await?;
    let current = account
        .memberships
        .iter()
        .find(|m| Some(m.tenant.id.as_str()) == session.tenant_id.map(|t| t.to_string()).as_deref())
        .cloned();
    let required = required && !account.totp_enabled;
    Ok(Session {
        stage: SessionStage::Complete,
        csrf_token: session.csrf_token.clone(),
        tenant: current.as_ref().map(|m| m.tenant.clone()),
        role: current.map(|m| m.role),
        account: Some(account),
        mfa_enrolment_required: required,
    })
}

async fn account_view(
    state: &AppState,
    account_id: Uuid,
    memberships: Vec<(rosetta_entity::membership::Model, rosetta_entity::tenant::Model)>,
) -> ApiResult<Account> {
    let account = accounts::get(&state.db, account_id).await?;
    let memberships = memberships
        .into_iter()
        .map(|(m, t)| MembershipInfo {
            tenant: tenants::to_wire(&t, &state.hosts),
            role: accounts::parse_role(&m.role),
        })
        .collect();
    Ok(Account {
        id: account.id.to_string(),
        email: account.email.clone(),
        totp_enabled: account.totp_enabled_at.is_some(),
        recovery_codes_left: u32::try_from(accounts::recovery_codes_left(&account)).unwrap_or(0),
        memberships,
    })
}

/// Starts a session for an account whose password was accepted, replacing any session the
/// browser held (no fixation).
async fn begin_session(
    state: &AppState,
    req: &HttpRequest,
    account: &rosetta_entity::admin_account::Model,
) -> ApiResult<HttpResponse> {
    let stage = if account.totp_enabled_at.is_some() {
        Stage::SecondFactor
    } else {
        Stage::Complete
    };
    let tenant_id = accounts::memberships(&state.db, account.id)
        .await?
        .first()
        .map(|(_, t)| t.id);
    let session = AdminSession::new(account.id, &account.email, tenant_id, stage);
    if let Some(old) = req.cookie(super::session::cookie_name(state)) {
        admin_sessions::destroy(state.store.as_ref(), old.value()).await?;
    }
    let id = admin_sessions::create(state.store.as_ref(), &session).await?;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(state, id))
        .insert_header(("cache-control", "no-store"))
        .json(view(state, &session).await?))
}

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
    req: HttpRequest,
    body: web::Json<SignUpRequest>,
) -> ApiResult<HttpResponse> {
    check_origin(&req, &state)?;
    rate_limit::hit(state.store.as_ref(), EMAIL_IP, &ip_of(&req, &state)).await?;
    let body = body.into_inner();
    let mut fields = Fields::default();
    let email = fields.check("email", EmailAddress::parse(&body.email));
    let password = match &email {
        Some(e) => fields.check("password", NewPassword::parse(&body.password, e)),
        None => None,
    };
    let slug = fields.check("tenant_slug", TenantSlug::parse(&body.tenant_slug));
    let name = fields.check("tenant_name", DisplayName::parse(&body.tenant_name));
    fields.finish()?;
    let (Some(email), Some(password), Some(slug), Some(name)) = (email, password, slug, name) else {
        return Err(ApiFailure::internal(anyhow::anyhow!("validated fields missing")));
    };
    rate_limit::hit(state.store.as_ref(), EMAIL_ACCOUNT, email.as_str()).await?;
    let new = accounts::SignUp {
        email,
        password,
        slug,
        name,
    };
    let sent = match accounts::sign_up(&state.db, &state.keyring, &state.hosts, new).await? {
        SignUpOutcome::Created {
            account,
            tenant,
            verify_token,
        } => {
            record(
                &state,
                &req,
                (&account.email, "account.sign_up", "success", Some(tenant.id)),
            )
            .await;
            send(
                &state,
                emails::verify_email(&account.email, &link(&state, "verify-email", &verify_token)),
            )
            .await
        }
        SignUpOutcome::AccountExists(account) => {
            let sign_in_url = state.settings.public_url.to_string();
            let reset = format!("{}reset-password", state.settings.public_url);
            send(&state, emails::account_exists(&account.email, &sign_in_url, &reset)).await
        }
    };
    // Both outcomes send an email, so a failed send says nothing about which it was.
    Ok(accepted(if sent {
        "Check your email: follow the link we sent to confirm your address, then sign in."
    } else {
        "Your sign-up is saved, but the confirmation email could not be sent just now. \
         Ask for a new link (\"Resend the link\") in a few minutes."
    }))
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
    req: HttpRequest,
    body: web::Json<TokenRequest>,
) -> ApiResult<HttpResponse> {
    check_origin(&req, &state)?;
    rate_limit::hit(state.store.as_ref(), SIGNIN_IP, &ip_of(&req, &state)).await?;
    let account = accounts::verify_email(&state.db, &body.token).await?;
    record(&state, &req, (&account.email, "account.verify_email", "success", None)).await;
    Ok(HttpResponse::Ok().json(Message {
        message: "Your email address is confirmed. You can sign in now.".into(),
    }))
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
    req: HttpRequest,
    body: web::Json<EmailRequest>,
) -> ApiResult<HttpResponse> {
    check_origin(&req, &state)?;
    rate_limit::hit(state.store.as_ref(), EMAIL_IP, &ip_of(&req, &state)).await?;
    let email = EmailAddress::parse(&body.email).map_err(|e| ApiFailure::field("email", e.0))?;
    rate_limit::hit(state.store.as_ref(), EMAIL_ACCOUNT, email.as_str()).await?;
    if let Some((account, token)) = accounts::resend_verification(&state.db, &email).await?
        && !send(
            &state,
            emails::verify_email(&account.email, &link(&state, "verify-email", &token)),
        )
        .await
    {
        return Err(email_unavailable());
    }
    Ok(accepted(
        "If this address has an unconfirmed account, a new link is on its way.",
    ))
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
    body: web::Json<SignInRequest>,
) -> ApiResult<HttpResponse> {
    check_origin(&req, &state)?;
    let ip = ip_of(&req, &state);
    let subject = body.email.trim().to_ascii_lowercase();
    rate_limit::hit(state.store.as_ref(), SIGNIN_IP, &ip).await?;
    rate_limit::hit(state.store.as_ref(), SIGNIN_ACCOUNT, &subject).await?;
    let password = SecretString::from(body.password.clone());
    match accounts::authenticate(&state.db, &body.email, &password).await {
        Ok(account) => {
            rate_limit::reset(state.store.as_ref(), SIGNIN_ACCOUNT, &subject).await?;
            record(&state, &req, (&account.email, "admin.sign_in", "success", None)).await;
            begin_session(&state, &req, &account).await
        }
        Err(e) => {
            let actor: String = subject.chars().take(320).collect();
            record(&state, &req, (&actor, "admin.sign_in", "failure", None)).await;
            Err(e.into())
        }
    }
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
        .json(view(&state, &session.session).await?))
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
    req: HttpRequest,
    session: AnySession,
    body: web::Json<CodeRequest>,
) -> ApiResult<HttpResponse> {
    let AnySession { id, mut session } = session;
    if session.stage != Stage::SecondFactor {
        return Err(ApiFailure::new(
            StatusCode::CONFLICT,
            "conflict",
            "this session is not waiting for a second factor",
        ));
    }
    rate_limit::hit(state.store.as_ref(), TOTP_IP, &ip_of(&req, &state)).await?;
    rate_limit::hit(state.store.as_ref(), TOTP_ACCOUNT, &session.account_id.to_string()).await?;
    if !accounts::check_second_factor(&state.db, &state.keyring, session.account_id, &body.code).await? {
        record(&state, &req, (&session.email, "admin.second_factor", "failure", None)).await;
        return Err(ApiFailure::field(
            "code",
            "this code is not correct or was already used; enter the current code from your app",
        ));
    }
    record(&state, &req, (&session.email, "admin.second_factor", "success", None)).await;
    rate_limit::reset(state.store.as_ref(), TOTP_ACCOUNT, &session.account_id.to_string()).await?;
    session.stage = Stage::Complete;
    session.csrf_token = crate::credentials::link_token();
    let new_id = admin_sessions::rotate(state.store.as_ref(), &id, &session).await?;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(&state, new_id))
        .insert_header(("cache-control", "no-store"))
        .json(view(&state, &session).await?))
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
    admin_sessions::destroy(state.store.as_ref(), &session.id).await?;
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
    let tenant_id = Uuid::parse_str(&body.tenant_id).map_err(|_| ApiFailure::not_found())?;
    accounts::membership(&state.db, signed_in.session.account_id, tenant_id)
        .await?
        .ok_or_else(ApiFailure::not_found)?;
    let mut session = signed_in.session;
    session.tenant_id = Some(tenant_id);
    session.csrf_token = crate::credentials::link_token();
    let new_id = admin_sessions::rotate(state.store.as_ref(), &signed_in.id, &session).await?;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(&state, new_id))
        .json(view(&state, &session).await?))
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
    req: HttpRequest,
    body: web::Json<EmailRequest>,
) -> ApiResult<HttpResponse> {
    check_origin(&req, &state)?;
    rate_limit::hit(state.store.as_ref(), EMAIL_IP, &ip_of(&req, &state)).await?;
    let email = EmailAddress::parse(&body.email).map_err(|e| ApiFailure::field("email", e.0))?;
    rate_limit::hit(state.store.as_ref(), EMAIL_ACCOUNT, email.as_str()).await?;
    if let Some((account, token)) = accounts::request_reset(&state.db, &email).await?
        && !send(
            &state,
            emails::reset_password(&account.email, &link(&state, "reset-password", &token)),
        )
        .await
    {
        return Err(email_unavailable());
    }
    Ok(accepted("If this address has an account, a reset link is on its way."))
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
    req: HttpRequest,
    body: web::Json<ResetPasswordRequest>,
) -> ApiResult<HttpResponse> {
    check_origin(&req, &state)?;
    rate_limit::hit(state.store.as_ref(), SIGNIN_IP, &ip_of(&req, &state)).await?;
    let account = accounts::reset_password(&state.db, &body.token, &body.password).await?;
    admin_sessions::end_all(state.store.as_ref(), account.id).await?;
    record(
        &state,
        &req,
        (&account.email, "account.reset_password", "success", None),
    )
    .await;
    Ok(HttpResponse::Ok().json(Message {
        message: "Your password is changed and every session was signed out. Sign in with the new password.".into(),
    }))
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
    let account_id = signed_in.session.account_id;
    let memberships = accounts::memberships(&state.db, account_id).await?;
    Ok(HttpResponse::Ok().json(account_view(&state, account_id, memberships).await?))
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
    req: HttpRequest,
    signed_in: SignedIn,
    body: web::Json<ChangePasswordRequest>,
) -> ApiResult<HttpResponse> {
    let SignedIn { id, session, .. } = signed_in;
    rate_limit::hit(state.store.as_ref(), SIGNIN_ACCOUNT, &session.email).await?;
    let current = SecretString::from(body.current_password.clone());
    accounts::change_password(&state.db, session.account_id, &current, &body.new_password).await?;
    admin_sessions::end_all(state.store.as_ref(), session.account_id).await?;
    admin_sessions::destroy(state.store.as_ref(), &id).await?;
    record(
        &state,
        &req,
        (&session.email, "account.change_password", "success", None),
    )
    .await;
    let fresh = AdminSession::new(session.account_id, &session.email, session.tenant_id, Stage::Complete);
    let new_id = admin_sessions::create(state.store.as_ref(), &fresh).await?;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(&state, new_id))
        .json(view(&state, &fresh).await?))
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
    let e = accounts::begin_totp(&state.db, &state.keyring, signed_in.session.account_id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(TotpEnrolment {
            otpauth_url: e.url.clone(),
            secret: e.secret_base32.clone(),
            qr_svg: e.qr_svg.clone(),
        }))
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
    req: HttpRequest,
    signed_in: SignedIn,
    body: web::Json<CodeRequest>,
) -> ApiResult<HttpResponse> {
    let SignedIn { id, mut session, .. } = signed_in;
    rate_limit::hit(state.store.as_ref(), TOTP_ACCOUNT, &session.account_id.to_string()).await?;
    let codes = accounts::confirm_totp(&state.db, &state.keyring, session.account_id, &body.code).await?;
    rate_limit::reset(state.store.as_ref(), TOTP_ACCOUNT, &session.account_id.to_string()).await?;
    record(&state, &req, (&session.email, "account.totp_enable", "success", None)).await;
    session.csrf_token = crate::credentials::link_token();
    let new_id = admin_sessions::rotate(state.store.as_ref(), &id, &session).await?;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(&state, new_id))
        .insert_header(("cache-control", "no-store"))
        .json(RecoveryCodes { codes }))
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
    req: HttpRequest,
    signed_in: SignedIn,
    body: web::Json<PasswordConfirmation>,
) -> ApiResult<HttpResponse> {
    let session = signed_in.session;
    rate_limit::hit(state.store.as_ref(), SIGNIN_ACCOUNT, &session.email).await?;
    let password = SecretString::from(body.password.clone());
    if accounts::authenticate(&state.db, &session.email, &password)
        .await
        .is_err()
    {
        return Err(ApiFailure::field("password", "the password is not correct"));
    }
    accounts::disable_totp(&state.db, session.account_id).await?;
    record(&state, &req, (&session.email, "account.totp_disable", "success", None)).await;
    Ok(HttpResponse::Ok().json(Message {
        message: "TOTP is off for your account.".into(),
    }))
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
    req: HttpRequest,
    signed_in: SignedIn,
    body: web::Json<CreateTenantRequest>,
) -> ApiResult<HttpResponse> {
    let mut fields = Fields::default();
    let slug = fields.check("slug", TenantSlug::parse(&body.slug));
    let name = fields.check("display_name", DisplayName::parse(&body.display_name));
    fields.finish()?;
    let (Some(slug), Some(name)) = (slug, name) else {
        return Err(ApiFailure::internal(anyhow::anyhow!("validated fields missing")));
    };
    let session = signed_in.session;
    let tenant = accounts::create_tenant_for(
        &state.db,
        &state.keyring,
        &state.hosts,
        session.account_id,
        &slug,
        &name,
    )
    .await?;
    record(
        &state,
        &req,
        (&session.email, "tenant.create", "success", Some(tenant.id)),
    )
    .await;
    Ok(HttpResponse::Created().json(tenants::to_wire(&tenant, &state.hosts)))
}

/// Accepts an invitation: an existing account joins; otherwise `password` creates one.
#[utoipa::path(
    tag = "members",
    request_body = AcceptInvitationRequest,
    responses(
        (status = 200, description = "Joined; sign in", body = Message),
        (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
    )
)]
#[post("/api/v1/invitations/accept")]
pub async fn accept_invitation(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<AcceptInvitationRequest>,
) -> ApiResult<HttpResponse> {
    check_origin(&req, &state)?;
    rate_limit::hit(state.store.as_ref(), SIGNIN_IP, &ip_of(&req, &state)).await?;
    let done = members::accept(&state.db, &body.token, body.password.as_deref()).await?;
    let (ip, request_id) = client(&req, &state);
    audit::record(
        &state.db,
        AuditEvent {
            tenant_id: Some(done.tenant.id),
            actor: done.account.email.clone(),
            action: "member.join",
            outcome: "success",
            target: Some(done.account.email.clone()),
            detail: serde_json::json!({
                "role": accounts::role_str(done.role),
                "new_account": done.created_account,
            }),
            ip,
            request_id,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(Message {
        message: format!(
            "You are now a member of {}. Sign in to continue.",
            done.tenant.display_name
        ),
    }))
}
