//! Who is calling: the session cookie, the CSRF defences, and the tenant from the session's
//! membership (never from the request).

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::Method;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use rosetta_entity::tenant;

use uuid::Uuid;

use super::error::{ApiFailure, ApiResult};
use crate::credentials::constant_time_eq;
use crate::middleware::RequestId;
use crate::services::accounts::{self, Role, parse_role};
use crate::services::admin_sessions::{self, AdminSession, Stage};
use crate::services::audit::{self, AuditEvent};
use crate::services::tenants;
use crate::state::AppState;
use crate::tenancy;

type LocalBoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;

/// Header carrying the session's anti-CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session cookie's name: `__Host-` on https (no Domain, Path=/, Secure).
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.settings.public_url.scheme() == "https" {
        "__Host-rosetta_admin"
    } else {
        "rosetta_admin"
    }
}

/// The session cookie carrying `id`: HttpOnly, SameSite=Lax, Secure on https, no
/// Max-Age (the server decides when the session ends).
pub fn session_cookie(state: &AppState, id: String) -> Cookie<'static> {
    Cookie::build(cookie_name(state), id)
        .path("/")
        .http_only(true)
        .secure(state.settings.public_url.scheme() == "https")
        .same_site(SameSite::Lax)
        .finish()
}

/// A cookie that removes the session cookie.
pub fn removal_cookie(state: &AppState) -> Cookie<'static> {
    let mut c = session_cookie(state, String::new());
    c.make_removal();
    c
}

fn state_of(req: &HttpRequest) -> ApiResult<web::Data<AppState>> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiFailure::internal(anyhow::anyhow!("application state missing")))
}

/// Refuses a cross-site request: `Origin` (or, without it, `Referer`) must be the
/// console's own origin when the browser sends one. Programs that send neither are held
/// to the CSRF token instead.
pub fn check_origin(req: &HttpRequest, state: &AppState) -> ApiResult<()> {
    let expected = state.settings.public_url.origin().ascii_serialization();
    let header = |n: &str| req.headers().get(n).map(|v| v.to_str().unwrap_or("\u{0}"));
    let seen = match (header("origin"), header("referer")) {
        (Some(origin), _) => Some(origin.to_owned()),
        (None, Some(referer)) => Some(
            url::Url::parse(referer)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_default(),
        ),
        (None, None) => None,
    };
    match seen {
        Some(origin) if origin != expected => Err(ApiFailure::forbidden(
            "csrf_origin",
            "this request came from another site and was refused",
        )),
        _ => Ok(()),
    }
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Checks the CSRF defences of a state-changing request made with a session.
fn check_csrf(req: &HttpRequest, state: &AppState, session: &AdminSession) -> ApiResult<()> {
    if !is_state_changing(req.method()) {
        return Ok(());
    }
    check_origin(req, state)?;
    let sent = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes()) {
        return Err(ApiFailure::forbidden(
            "csrf_token",
            "the X-CSRF-Token header is missing or does not match this session",
        ));
    }
    Ok(())
}

/// The client address (trusted proxies honoured) and the request ID, for audit entries.
pub fn client(req: &HttpRequest, state: &AppState) -> (Option<String>, Option<String>) {
    let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let ip = tenancy::client_ip(
        req.peer_addr().map(|a| a.ip()),
        forwarded,
        &state.settings.trusted_proxies,
    );
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    (ip.map(|i| i.to_string()), request_id)
}

/// Any live session (including one still owing its second factor), CSRF-checked.
pub struct AnySession {
    /// The cookie's session ID.
    pub id: String,
    /// The session.
    pub session: AdminSession,
}

async fn load_session(req: &HttpRequest, state: &AppState) -> ApiResult<AnySession> {
    let id = req
        .cookie(cookie_name(state))
        .map(|c| c.value().to_owned())
        .ok_or_else(ApiFailure::unauthenticated)?;
    let session = admin_sessions::load(state.store.as_ref(), &id)
        .await?
        .ok_or_else(ApiFailure::unauthenticated)?;
    check_csrf(req, state, &session)?;
    Ok(AnySession { id, session })
}

impl FromRequest for AnySession {
    type Error = ApiFailure;
    type Future = LocalBoxFuture<'static, ApiResult<Self>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            load_session(&req, &state).await
        })
    }
}

/// A signed-in admin (password and, when enrolled, TOTP done), CSRF-checked. Used by the
/// account endpoints, which answer even when TOTP enrolment is owed.
pub struct SignedIn {
    /// The cookie's session ID.
    pub id: String,
    /// The session.
    pub session: AdminSession,
    /// Client address.
    pub ip: Option<String>,
    /// Correlation ID.
    pub request_id: Option<String>,
}

impl FromRequest for SignedIn {
    type Error = ApiFailure;
    type Future = LocalBoxFuture<'static, ApiResult<Self>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            let AnySession { id, session } = load_session(&req, &state).await?;
            if session.stage != Stage::Complete {
                return Err(ApiFailure::unauthenticated());
            }
            let (ip, request_id) = client(&req, &state);
            Ok(Self {
                id,
                session,
                ip,
                request_id,
            })
        })
    }
}

/// A signed-in admin working on a tenant they are a member of. Every tenant object is
/// looked up through [`Admin::tenant_id`], so another tenant's IDs are simply not found.
pub struct Admin {
    /// The session.
    pub session: AdminSession,
    /// The tenant from the session's membership.
    pub tenant: tenant::Model,
    /// The admin's role in it.
    pub role: Role,
    /// Client address.
    pub ip: Option<String>,
    /// Correlation ID.
    pub request_id: Option<String>,
}

impl Admin {
    /// The tenant's ID.
    pub fn tenant_id(&self) -> Uuid {
        self.tenant.id
    }

    /// Refuses callers who are not owners.
    pub fn require_owner(&self) -> ApiResult<()> {
        if self.role != Role::Owner {
            return Err(ApiFailure::forbidden(
                "owner_required",
                "only an owner of this tenant can manage its members",
            ));
        }
        Ok(())
    }

    /// Records an admin change in the audit log: who, what, before/after (never secrets).
    /// Every change is audited, so this is also where the replica's configuration cache
    /// forgets the tenant: the change applies to the next login at once.
    pub async fn audit(
        &self,
        state: &AppState,
        action: &'static str,
        target: Option<String>,
        detail: serde_json::Value,
    ) -> ApiResult<()> {
        state.config.invalidate(self.tenant.id);
        audit::record(
            &state.db,
            AuditEvent {
                tenant_id: Some(self.tenant.id),
                actor: self.session.email.clone(),
                action,
                outcome: "success",
                target,
                detail,
                ip: self.ip.clone(),
                request_id: self.request_id.clone(),
            },
        )
        .await?;
        Ok(())
    }
}

impl FromRequest for Admin {
    type Error = ApiFailure;
    type Future = LocalBoxFuture<'static, ApiResult<Self>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let signed_in = SignedIn::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let SignedIn {
                session,
                ip,
                request_id,
                ..
            } = signed_in.await?;
            let state = state_of(&req)?;
            let tenant_id = session.tenant_id.ok_or_else(|| {
                ApiFailure::forbidden("no_tenant", "this account is not a member of any tenant; create one")
            })?;
            let membership = accounts::membership(&state.db, session.account_id, tenant_id)
                .await?
                .ok_or_else(|| ApiFailure::forbidden("not_a_member", "you are no longer a member of this tenant"))?;
            let tenant = tenants::by_id(&state.db, tenant_id).await?;
            if tenant.admin_mfa_required {
                let account = accounts::get(&state.db, session.account_id).await?;
                if account.totp_enabled_at.is_none() {
                    return Err(ApiFailure::forbidden(
                        "mfa_enrolment_required",
                        "this tenant requires TOTP for its admins: set it up under your account first",
                    ));
                }
            }
            Ok(Self {
                session,
                tenant,
                role: parse_role(&membership.role),
                ip,
                request_id,
            })
        })
    }
}
