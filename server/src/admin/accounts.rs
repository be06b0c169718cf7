//! Admin accounts and their sessions: sign-up, email verification, password reset, sign-in
//! with its second factor, the caller's account, password change, TOTP, extra tenants, and
//! what a session may work on ([`scope`]).
//!
//! Sessions live in the session store; the HTTP edge only carries their ID in a cookie. A
//! session gets a new ID at sign-in, after the second factor, on switching tenant and on a
//! password change ([`Started`] carries it), and the old one is deleted.

use rosetta_api::{
    Account, AuditOutcome, ChangePasswordRequest, CodeRequest, CreateTenantRequest, EmailRequest, ErrorCode,
    MembershipInfo, Message, PasswordConfirmation, RecoveryCodes, ResetPasswordRequest, Session, SessionStage,
    SignInRequest, SignUpRequest, SwitchTenantRequest, Tenant, TokenRequest, TotpEnrolment,
};
use secrecy::SecretString;
use serde_json::json;

use super::{Actor, AdminError, AdminResult, Fields, Origin, Recorded, Scope, checked, object_id, record_quietly};
use crate::domain::{DisplayName, EmailAddress, NewPassword, TenantSlug};
use crate::emails;
use crate::mail::OutgoingEmail;
use crate::services::accounts::{self, SignInError, SignUpOutcome};
use crate::services::admin_sessions::{self, AdminSession, Stage};
use crate::services::rate_limit::{self, EMAIL_ACCOUNT, EMAIL_IP, SIGNIN_ACCOUNT, SIGNIN_IP, TOTP_ACCOUNT, TOTP_IP};
use crate::services::tenants;
use crate::state::AppState;

/// A session that was just started or given a new ID: the ID goes into the cookie.
#[derive(Debug)]
pub struct Started {
    /// The session's ID (the cookie value).
    pub id: String,
    /// The session as the console sees it.
    pub view: Session,
}

/// A live session and its ID.
pub struct Current {
    /// The cookie's session ID.
    pub id: String,
    /// The session.
    pub session: AdminSession,
}

/// Sends an email; whether it went out. A failure is logged; the action it follows has
/// happened and is kept, and the caller tells the person how to ask again.
async fn send(state: &AppState, email: OutgoingEmail) -> bool {
    match state.mailer.send(&email).await {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(error = %e, subject = %email.subject, "sending an email failed");
            false
        }
    }
}

fn link(state: &AppState, page: &str, token: &str) -> String {
    format!("{}{page}?token={token}", state.settings.server.public_url)
}

fn message(text: impl Into<String>) -> Message {
    Message { message: text.into() }
}

/// Records an account event (the account's own doing) without failing the answer.
async fn account_event(state: &AppState, origin: &Origin, email: &str, action: &'static str, outcome: AuditOutcome) {
    record_quietly(
        state,
        Recorded {
            tenant_id: None,
            actor: &Actor::Visitor {
                email: email.to_owned(),
            },
            origin,
            action,
            outcome,
            target: None,
            detail: json!({}),
        },
    )
    .await;
}

/// Creates a tenant and its first admin; a verification link is emailed. The answer is the
/// same whether or not the email already had an account.
pub async fn sign_up(state: &AppState, origin: &Origin, body: SignUpRequest) -> AdminResult<Message> {
    rate_limit::hit(state.store.as_ref(), EMAIL_IP, origin.address()).await?;
    let mut fields = Fields::default();
    let email = fields.check("email", EmailAddress::parse(&body.email));
    let password = match &email {
        Some(e) => fields.check("password", NewPassword::parse(&body.password, e)),
        None => None,
    };
    let slug = fields.check("tenant_slug", TenantSlug::parse(&body.tenant_slug));
    let name = fields.check("tenant_name", DisplayName::parse(&body.tenant_name));
    fields.finish()?;
    let (email, password, slug, name) = (checked(email)?, checked(password)?, checked(slug)?, checked(name)?);
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
            record_quietly(
                state,
                Recorded {
                    tenant_id: Some(tenant.id),
                    actor: &Actor::Visitor {
                        email: account.email.clone(),
                    },
                    origin,
                    action: "account.sign_up",
                    outcome: AuditOutcome::Success,
                    target: None,
                    detail: json!({}),
                },
            )
            .await;
            let url = link(state, "verify-email", &verify_token);
            send(state, emails::verify_email(&account.email, &url)).await
        }
        SignUpOutcome::AccountExists(account) => {
            let sign_in_url = state.settings.server.public_url.to_string();
            let reset = format!("{}reset-password", state.settings.server.public_url);
            send(state, emails::account_exists(&account.email, &sign_in_url, &reset)).await
        }
    };
    // Both outcomes send an email, so a failed send says nothing about which it was.
    Ok(message(if sent {
        "Check your email: follow the link we sent to confirm your address, then sign in."
    } else {
        "Your sign-up is saved, but the confirmation email could not be sent just now. \
         Ask for a new link (\"Resend the link\") in a few minutes."
    }))
}

/// Confirms an email address with the token from its link.
pub async fn verify_email(state: &AppState, origin: &Origin, body: TokenRequest) -> AdminResult<Message> {
    rate_limit::hit(state.store.as_ref(), SIGNIN_IP, origin.address()).await?;
    let account = accounts::verify_email(&state.db, &body.token).await?;
    account_event(
        state,
        origin,
        &account.email,
        "account.verify_email",
        AuditOutcome::Success,
    )
    .await;
    Ok(message("Your email address is confirmed. You can sign in now."))
}

/// Sends a new verification link to an unverified account (same answer for any address).
pub async fn resend_verification(state: &AppState, origin: &Origin, body: EmailRequest) -> AdminResult<Message> {
    rate_limit::hit(state.store.as_ref(), EMAIL_IP, origin.address()).await?;
    let email = EmailAddress::parse(&body.email).map_err(|e| AdminError::field("email", e.0))?;
    rate_limit::hit(state.store.as_ref(), EMAIL_ACCOUNT, email.as_str()).await?;
    if let Some((account, token)) = accounts::resend_verification(&state.db, &email).await?
        && !send(
            state,
            emails::verify_email(&account.email, &link(state, "verify-email", &token)),
        )
        .await
    {
        return Err(AdminError::EmailUnavailable);
    }
    Ok(message(
        "If this address has an unconfirmed account, a new link is on its way.",
    ))
}

/// Emails a password-reset link (same answer for any address).
pub async fn request_reset(state: &AppState, origin: &Origin, body: EmailRequest) -> AdminResult<Message> {
    rate_limit::hit(state.store.as_ref(), EMAIL_IP, origin.address()).await?;
    let email = EmailAddress::parse(&body.email).map_err(|e| AdminError::field("email", e.0))?;
    rate_limit::hit(state.store.as_ref(), EMAIL_ACCOUNT, email.as_str()).await?;
    if let Some((account, token)) = accounts::request_reset(&state.db, &email).await?
        && !send(
            state,
            emails::reset_password(&account.email, &link(state, "reset-password", &token)),
        )
        .await
    {
        return Err(AdminError::EmailUnavailable);
    }
    Ok(message("If this address has an account, a reset link is on its way."))
}

/// Sets a new password with a reset link; every session of the account ends.
pub async fn confirm_reset(state: &AppState, origin: &Origin, body: ResetPasswordRequest) -> AdminResult<Message> {
    rate_limit::hit(state.store.as_ref(), SIGNIN_IP, origin.address()).await?;
    let account = accounts::reset_password(&state.db, &body.token, &body.password).await?;
    admin_sessions::end_all(state.store.as_ref(), account.id).await?;
    account_event(
        state,
        origin,
        &account.email,
        "account.reset_password",
        AuditOutcome::Success,
    )
    .await;
    Ok(message(
        "Your password is changed and every session was signed out. Sign in with the new password.",
    ))
}

/// Signs in with email and password, replacing any session the browser held (no fixation).
/// With TOTP on, the new session waits for the code.
pub async fn sign_in(
    state: &AppState,
    origin: &Origin,
    body: SignInRequest,
    previous: Option<&str>,
) -> AdminResult<Started> {
    let subject = body.email.trim().to_ascii_lowercase();
    rate_limit::hit(state.store.as_ref(), SIGNIN_IP, origin.address()).await?;
    rate_limit::hit(state.store.as_ref(), SIGNIN_ACCOUNT, &subject).await?;
    let password = SecretString::from(body.password);
    let account = match accounts::authenticate(&state.db, &body.email, &password).await {
        Ok(account) => account,
        Err(e) => {
            account_event(state, origin, &subject, "admin.sign_in", AuditOutcome::Failure).await;
            return Err(match e {
                SignInError::BadCredentials => AdminError::BadCredentials,
                SignInError::EmailNotVerified => AdminError::EmailNotVerified,
                SignInError::Service(e) => e.into(),
            });
        }
    };
    rate_limit::reset(state.store.as_ref(), SIGNIN_ACCOUNT, &subject).await?;
    account_event(state, origin, &account.email, "admin.sign_in", AuditOutcome::Success).await;
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
    if let Some(old) = previous {
        admin_sessions::destroy(state.store.as_ref(), old).await?;
    }
    let id = admin_sessions::create(state.store.as_ref(), &session).await?;
    Ok(Started {
        id,
        view: view(state, &session).await?,
    })
}

/// Completes sign-in with a TOTP or recovery code; the session gets a new ID.
pub async fn second_factor(
    state: &AppState,
    origin: &Origin,
    current: Current,
    body: CodeRequest,
) -> AdminResult<Started> {
    let Current { id, mut session } = current;
    if session.stage != Stage::SecondFactor {
        return Err(AdminError::Conflict(
            "this session is not waiting for a second factor".into(),
        ));
    }
    let account = session.account_id.to_string();
    rate_limit::hit(state.store.as_ref(), TOTP_IP, origin.address()).await?;
    rate_limit::hit(state.store.as_ref(), TOTP_ACCOUNT, &account).await?;
    if !accounts::check_second_factor(&state.db, &state.keyring, session.account_id, &body.code).await? {
        account_event(
            state,
            origin,
            &session.email,
            "admin.second_factor",
            AuditOutcome::Failure,
        )
        .await;
        return Err(AdminError::field(
            "code",
            "this code is not correct or was already used; enter the current code from your app",
        ));
    }
    account_event(
        state,
        origin,
        &session.email,
        "admin.second_factor",
        AuditOutcome::Success,
    )
    .await;
    rate_limit::reset(state.store.as_ref(), TOTP_ACCOUNT, &account).await?;
    session.stage = Stage::Complete;
    session.csrf_token = crate::credentials::link_token();
    let new_id = admin_sessions::rotate(state.store.as_ref(), &id, &session).await?;
    Ok(Started {
        id: new_id,
        view: view(state, &session).await?,
    })
}

/// Signs out: the session is deleted from the store.
pub async fn sign_out(state: &AppState, current: &Current) -> AdminResult<()> {
    admin_sessions::destroy(state.store.as_ref(), &current.id).await?;
    Ok(())
}

/// Loads the session with this ID, if it is live.
pub async fn session(state: &AppState, id: &str) -> AdminResult<Option<AdminSession>> {
    Ok(admin_sessions::load(state.store.as_ref(), id).await?)
}

/// Switches the session to another tenant the caller belongs to (a privilege change: the
/// session gets a new ID).
pub async fn switch_tenant(state: &AppState, current: Current, body: SwitchTenantRequest) -> AdminResult<Started> {
    let tenant_id = object_id(&body.tenant_id)?;
    accounts::membership(&state.db, current.session.account_id, tenant_id)
        .await?
        .ok_or_else(AdminError::not_found)?;
    let Current { id, mut session } = current;
    session.tenant_id = Some(tenant_id);
    session.csrf_token = crate::credentials::link_token();
    let new_id = admin_sessions::rotate(state.store.as_ref(), &id, &session).await?;
    Ok(Started {
        id: new_id,
        view: view(state, &session).await?,
    })
}

/// The caller's session as the console sees it.
pub async fn view(state: &AppState, session: &AdminSession) -> AdminResult<Session> {
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
    let account = account_with(state, session.account_id, memberships).await?;
    let current = session.tenant_id.map(|t| t.to_string());
    let current = account
        .memberships
        .iter()
        .find(|m| Some(&m.tenant.id) == current.as_ref())
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

/// The caller's account and tenants.
pub async fn account(state: &AppState, session: &AdminSession) -> AdminResult<Account> {
    let memberships = accounts::memberships(&state.db, session.account_id).await?;
    account_with(state, session.account_id, memberships).await
}

async fn account_with(
    state: &AppState,
    account_id: uuid::Uuid,
    memberships: Vec<(rosetta_entity::membership::Model, rosetta_entity::tenant::Model)>,
) -> AdminResult<Account> {
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

/// What a signed-in session may work on: its tenant, if the account is still a member and
/// meets the tenant's second-factor rule.
pub async fn scope(state: &AppState, session: &AdminSession, origin: Origin) -> AdminResult<Scope> {
    let tenant_id = session.tenant_id.ok_or_else(|| {
        AdminError::Forbidden(
            ErrorCode::NoTenant,
            "this account is not a member of any tenant; create one".into(),
        )
    })?;
    let membership = accounts::membership(&state.db, session.account_id, tenant_id)
        .await?
        .ok_or_else(|| {
            AdminError::Forbidden(
                ErrorCode::NotAMember,
                "you are no longer a member of this tenant".into(),
            )
        })?;
    let tenant = tenants::by_id(&state.db, tenant_id).await?;
    if tenant.admin_mfa_required {
        let account = accounts::get(&state.db, session.account_id).await?;
        if account.totp_enabled_at.is_none() {
            return Err(AdminError::Forbidden(
                ErrorCode::MfaEnrolmentRequired,
                "this tenant requires TOTP for its admins: set it up under your account first".into(),
            ));
        }
    }
    let actor = Actor::Admin {
        account_id: session.account_id,
        email: session.email.clone(),
    };
    Scope::member(tenant, accounts::parse_role(&membership.role), actor, origin)
}

/// Changes the password; every session of the account ends, and this one continues under
/// a new ID.
pub async fn change_password(
    state: &AppState,
    origin: &Origin,
    current: Current,
    body: ChangePasswordRequest,
) -> AdminResult<Started> {
    let Current { id, session } = current;
    rate_limit::hit(state.store.as_ref(), SIGNIN_ACCOUNT, &session.email).await?;
    let password = SecretString::from(body.current_password);
    accounts::change_password(&state.db, session.account_id, &password, &body.new_password).await?;
    admin_sessions::end_all(state.store.as_ref(), session.account_id).await?;
    admin_sessions::destroy(state.store.as_ref(), &id).await?;
    account_event(
        state,
        origin,
        &session.email,
        "account.change_password",
        AuditOutcome::Success,
    )
    .await;
    let fresh = AdminSession::new(session.account_id, &session.email, session.tenant_id, Stage::Complete);
    let new_id = admin_sessions::create(state.store.as_ref(), &fresh).await?;
    Ok(Started {
        id: new_id,
        view: view(state, &fresh).await?,
    })
}

/// Starts TOTP enrolment: the secret and its QR code, shown once.
pub async fn begin_totp(state: &AppState, session: &AdminSession) -> AdminResult<TotpEnrolment> {
    let e = accounts::begin_totp(&state.db, &state.keyring, session.account_id).await?;
    Ok(TotpEnrolment {
        otpauth_url: e.url.clone(),
        secret: e.secret_base32.clone(),
        qr_svg: e.qr_svg.clone(),
    })
}

/// Confirms TOTP with a first code: ten recovery codes, shown once; the session gets a new
/// ID (a privilege change).
pub async fn confirm_totp(
    state: &AppState,
    origin: &Origin,
    current: Current,
    body: CodeRequest,
) -> AdminResult<(String, RecoveryCodes)> {
    let Current { id, mut session } = current;
    let account = session.account_id.to_string();
    rate_limit::hit(state.store.as_ref(), TOTP_ACCOUNT, &account).await?;
    let codes = accounts::confirm_totp(&state.db, &state.keyring, session.account_id, &body.code).await?;
    rate_limit::reset(state.store.as_ref(), TOTP_ACCOUNT, &account).await?;
    account_event(
        state,
        origin,
        &session.email,
        "account.totp_enable",
        AuditOutcome::Success,
    )
    .await;
    session.csrf_token = crate::credentials::link_token();
    let new_id = admin_sessions::rotate(state.store.as_ref(), &id, &session).await?;
    Ok((new_id, RecoveryCodes { codes }))
}

/// Turns TOTP off; the password confirms.
pub async fn disable_totp(
    state: &AppState,
    origin: &Origin,
    session: &AdminSession,
    body: PasswordConfirmation,
) -> AdminResult<Message> {
    rate_limit::hit(state.store.as_ref(), SIGNIN_ACCOUNT, &session.email).await?;
    let password = SecretString::from(body.password);
    if accounts::authenticate(&state.db, &session.email, &password)
        .await
        .is_err()
    {
        return Err(AdminError::field("password", "the password is not correct"));
    }
    accounts::disable_totp(&state.db, session.account_id).await?;
    account_event(
        state,
        origin,
        &session.email,
        "account.totp_disable",
        AuditOutcome::Success,
    )
    .await;
    Ok(message("TOTP is off for your account."))
}

/// Creates another tenant owned by the caller.
pub async fn create_tenant(
    state: &AppState,
    origin: &Origin,
    session: &AdminSession,
    body: CreateTenantRequest,
) -> AdminResult<Tenant> {
    let mut fields = Fields::default();
    let slug = fields.check("slug", TenantSlug::parse(&body.slug));
    let name = fields.check("display_name", DisplayName::parse(&body.display_name));
    fields.finish()?;
    let (slug, name) = (checked(slug)?, checked(name)?);
    let tenant = accounts::create_tenant_for(
        &state.db,
        &state.keyring,
        &state.hosts,
        session.account_id,
        &slug,
        &name,
    )
    .await?;
    record_quietly(
        state,
        Recorded {
            tenant_id: Some(tenant.id),
            actor: &Actor::Admin {
                account_id: session.account_id,
                email: session.email.clone(),
            },
            origin,
            action: "tenant.create",
            outcome: AuditOutcome::Success,
            target: None,
            detail: json!({}),
        },
    )
    .await;
    Ok(tenants::to_wire(&tenant, &state.hosts))
}
