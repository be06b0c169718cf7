//! Who is calling: the session cookie, the CSRF defences, and the tenant from the session's
//! membership (never from the request). Sessions themselves are `admin::accounts`'.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::Method;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use rosetta_api::ErrorCode;

use super::error::{ApiFailure, ApiResult};
use crate::admin::accounts::{self, Current};
use crate::admin::{Origin, Scope};
use crate::credentials::constant_time_eq;
use crate::middleware::RequestId;
use crate::services::admin_sessions::{AdminSession, Stage};
use crate::state::AppState;
use crate::tenancy;

type LocalBoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;

/// Header carrying the session's anti-CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session cookie's name: `__Host-` on https (no Domain, Path=/, Secure).
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.settings.server.public_url.scheme() == "https" {
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
        .secure(state.settings.server.public_url.scheme() == "https")
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
    let expected = state.settings.server.public_url.origin().ascii_serialization();
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
            ErrorCode::CsrfOrigin,
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
            ErrorCode::CsrfToken,
            "the X-CSRF-Token header is missing or does not match this session",
        ));
    }
    Ok(())
}

/// Where the request came from: the client address (trusted proxies honoured) and the
/// request ID, for the audit log and the per-address limits.
pub fn origin(req: &HttpRequest, state: &AppState) -> Origin {
    let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let ip = tenancy::client_ip(
        req.peer_addr().map(|a| a.ip()),
        forwarded,
        &state.settings.server.trusted_proxies,
    );
    Origin {
        ip: ip.map(|i| i.to_string()),
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
    }
}

/// The request's origin, with the state-changing request's `Origin` header checked first:
/// for the endpoints that need no session (sign-up, sign-in, emailed links).
pub struct Visitor(pub Origin);

impl FromRequest for Visitor {
    type Error = ApiFailure;
    type Future = std::future::Ready<ApiResult<Self>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(state_of(req).and_then(|state| {
            check_origin(req, &state)?;
            Ok(Self(origin(req, &state)))
        }))
    }
}

/// The session cookie's value, if the browser sent one.
pub fn session_id(req: &HttpRequest, state: &AppState) -> Option<String> {
    req.cookie(cookie_name(state)).map(|c| c.value().to_owned())
}

/// Any live session (including one still owing its second factor), CSRF-checked.
pub struct AnySession {
    /// The session and its ID.
    pub current: Current,
    /// Where the request came from.
    pub origin: Origin,
}

async fn load_session(req: &HttpRequest, state: &AppState) -> ApiResult<AnySession> {
    let id = session_id(req, state).ok_or_else(ApiFailure::unauthenticated)?;
    let session = accounts::session(state, &id)
        .await?
        .ok_or_else(ApiFailure::unauthenticated)?;
    check_csrf(req, state, &session)?;
    Ok(AnySession {
        current: Current { id, session },
        origin: origin(req, state),
    })
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
    /// The session and its ID.
    pub current: Current,
    /// Where the request came from.
    pub origin: Origin,
}

impl FromRequest for SignedIn {
    type Error = ApiFailure;
    type Future = LocalBoxFuture<'static, ApiResult<Self>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            let AnySession { current, origin } = load_session(&req, &state).await?;
            if current.session.stage != Stage::Complete {
                return Err(ApiFailure::unauthenticated());
            }
            Ok(Self { current, origin })
        })
    }
}

/// A signed-in admin working on a tenant they are a member of: the [`Scope`] every tenant
/// use case takes, so another tenant's IDs are simply not found.
pub struct Admin(pub Scope);

impl FromRequest for Admin {
    type Error = ApiFailure;
    type Future = LocalBoxFuture<'static, ApiResult<Self>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let signed_in = SignedIn::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let SignedIn { current, origin } = signed_in.await?;
            let state = state_of(&req)?;
            Ok(Self(accounts::scope(&state, &current.session, origin).await?))
        })
    }
}
