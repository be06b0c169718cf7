//! The brokering endpoints of a tenant host: SAML SSO (both bindings), IdP-initiated SSO,
//! home-realm discovery and the OIDC callback. Each handler translates HTTP into a call of
//! [`crate::flow`] and its [`Outcome`] into a response.

use std::collections::HashMap;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};

use crate::error::PageError;
use crate::flow::{Flow, FlowError, MfaStep, MfaView, Outcome, PENDING_TTL, RequestMeta, SSO_SESSION_TTL};
use crate::middleware::CurrentTenant;
use crate::oidc::CallbackParams;
use crate::pages::{self, MFA_CSP, auto_post_csp, auto_post_page, sign_in_page, source_tested_page};
use crate::request_id::RequestId;
use crate::saml::request::Binding;
use crate::state::AppState;
use crate::tenancy::{self, Tenant};

/// Mounts the brokering routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/saml/sso", web::get().to(sso_redirect))
        .route("/saml/sso", web::post().to(sso_post))
        .route("/saml/init/{sp}", web::get().to(idp_initiated))
        .route("/oidc/test/{source}", web::get().to(test_source))
        .route("/oidc/callback/{source}", web::get().to(callback))
        .route("/login", web::get().to(login_page))
        .route("/login", web::post().to(login_submit))
        .route("/mfa", web::get().to(mfa_page))
        .route("/mfa", web::post().to(mfa_submit));
}

fn mfa_cookie_name(state: &AppState) -> &'static str {
    if state.hosts.dev_mode() {
        "rosetta_mfa"
    } else {
        "__Host-rosetta_mfa"
    }
}

fn cookie_names(state: &AppState) -> (&'static str, &'static str, bool) {
    // `__Host-` needs Secure, which needs https; dev (http) uses plain names.
    if state.hosts.dev_mode() {
        ("rosetta_login", "rosetta_sso", false)
    } else {
        ("__Host-rosetta_login", "__Host-rosetta_sso", true)
    }
}

fn cookie(name: &'static str, value: String, max_age: std::time::Duration, secure: bool) -> Cookie<'static> {
    // The broker session must also reach the SSO endpoint on a cross-site HTTP-POST from an
    // SP, which SameSite=Lax would withhold; None needs Secure, so dev (http) keeps Lax. The
    // login cookie only travels on the provider's top-level GET redirect: Lax is enough.
    let same_site = if secure && name.ends_with("_sso") {
        SameSite::None
    } else {
        SameSite::Lax
    };
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(same_site)
        .max_age(CookieDuration::seconds(
            i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX),
        ))
        .finish()
}

fn meta(req: &HttpRequest, state: &AppState) -> RequestMeta {
    let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let ip = tenancy::client_ip(
        req.peer_addr().map(|a| a.ip()),
        forwarded,
        &state.settings.server.trusted_proxies,
    );
    // Read before `extensions()` is borrowed below: parsing cookies writes to them.
    let login_cookie = cookie_value(req, cookie_names(state).0);
    RequestMeta {
        request_id: req
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default(),
        ip: ip.map(|i| i.to_string()),
        login_cookie,
    }
}

/// `application/x-www-form-urlencoded` pairs (a query string or a form body); the last
/// value of a repeated name wins.
fn form_map(bytes: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

fn query_map(raw: &str) -> HashMap<String, String> {
    form_map(raw.as_bytes())
}

fn page_error(e: FlowError) -> PageError {
    match e {
        FlowError::BadRequest(m) => PageError::BadRequest(m),
        FlowError::TooLarge(m) => PageError::Status(StatusCode::PAYLOAD_TOO_LARGE, m),
        FlowError::Forbidden(m) => PageError::Status(StatusCode::FORBIDDEN, m),
        FlowError::NotFound(m) => PageError::Status(StatusCode::NOT_FOUND, m),
        FlowError::Unavailable(m) => PageError::Status(StatusCode::SERVICE_UNAVAILABLE, m),
        FlowError::TooMany { retry_after } => PageError::TooMany { retry_after },
        FlowError::Dependency(e) => PageError::Unavailable(e),
        FlowError::Internal(e) => PageError::Internal(e),
    }
}

fn render(state: &AppState, outcome: Outcome) -> HttpResponse {
    let (login_name, sso_name, secure) = cookie_names(state);
    match outcome {
        Outcome::Redirect { location, login_cookie } => {
            let mut res = HttpResponse::Found();
            res.insert_header((header::LOCATION, location))
                .insert_header((header::CACHE_CONTROL, "no-store"));
            if let Some(value) = login_cookie {
                res.cookie(cookie(login_name, value, PENDING_TTL, secure));
            }
            res.finish()
        }
        Outcome::Post {
            acs_url,
            saml_response,
            relay_state,
            sso_cookie,
        } => {
            let mut res = HttpResponse::Ok();
            res.content_type(ContentType::html())
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((header::CONTENT_SECURITY_POLICY, auto_post_csp()));
            if let Some(value) = sso_cookie {
                // The browser-binding cookie stays until it expires (10 min): another tab's
                // login, started in the same browser, may still be waiting on it.
                res.cookie(cookie(sso_name, value, SSO_SESSION_TTL, secure));
            }
            res.body(auto_post_page(&acs_url, &saml_response, relay_state.as_deref()))
        }
        Outcome::Mfa { cookie: value } => {
            let mut c = cookie(mfa_cookie_name(state), value, PENDING_TTL, secure);
            c.set_same_site(SameSite::Lax);
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/mfa"))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .cookie(c)
                .finish()
        }
        Outcome::Tested { source, email } => HttpResponse::Ok()
            .content_type(ContentType::html())
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(source_tested_page(&source, &email)),
        Outcome::ChooseSource { request, error } => HttpResponse::Ok()
            .content_type(ContentType::html())
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(sign_in_page(&request, error.as_deref())),
    }
}

fn cookie_value(req: &HttpRequest, name: &str) -> Option<String> {
    req.cookie(name).map(|c| c.value().to_owned())
}

async fn sso_redirect(
    req: HttpRequest,
    CurrentTenant(tenant): CurrentTenant,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let params = query_map(req.query_string());
    authn_request(&req, &tenant, &state, Binding::Redirect, &params).await
}

async fn sso_post(
    req: HttpRequest,
    body: web::Bytes,
    CurrentTenant(tenant): CurrentTenant,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let params = form_map(&body);
    authn_request(&req, &tenant, &state, Binding::Post, &params).await
}

/// Both bindings: the Redirect binding's signature covers the raw query string as received.
async fn authn_request(
    req: &HttpRequest,
    tenant: &Tenant,
    state: &AppState,
    binding: Binding,
    params: &HashMap<String, String>,
) -> Result<HttpResponse, PageError> {
    let Some(saml_request) = params.get("SAMLRequest") else {
        return Err(PageError::BadRequest(
            "This address expects a SAML sign-in request from an application.".into(),
        ));
    };
    let raw_query = matches!(binding, Binding::Redirect).then(|| req.query_string());
    let (_, sso_name, _) = cookie_names(state);
    let flow = Flow::new(state, tenant, meta(req, state));
    let outcome = flow
        .authn_request(
            binding,
            saml_request,
            params.get("RelayState").map(String::as_str),
            raw_query,
            cookie_value(req, sso_name).as_deref(),
        )
        .await
        .map_err(page_error)?;
    Ok(render(state, outcome))
}

async fn idp_initiated(
    req: HttpRequest,
    path: web::Path<String>,
    CurrentTenant(tenant): CurrentTenant,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let params = query_map(req.query_string());
    let (_, sso_name, _) = cookie_names(&state);
    let flow = Flow::new(&state, &tenant, meta(&req, &state));
    let outcome = flow
        .idp_initiated(
            &path,
            params.get("RelayState").map(String::as_str),
            cookie_value(&req, sso_name).as_deref(),
            params.get("test").map(String::as_str),
        )
        .await
        .map_err(page_error)?;
    Ok(render(&state, outcome))
}

/// The console's Test login of an identity source (`?ticket=`).
async fn test_source(
    req: HttpRequest,
    path: web::Path<String>,
    CurrentTenant(tenant): CurrentTenant,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let params = query_map(req.query_string());
    let flow = Flow::new(&state, &tenant, meta(&req, &state));
    let ticket = params.get("ticket").map_or("", String::as_str);
    let outcome = flow.test_source(&path, ticket).await.map_err(page_error)?;
    Ok(render(&state, outcome))
}

async fn callback(
    req: HttpRequest,
    path: web::Path<String>,
    CurrentTenant(tenant): CurrentTenant,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let mut params = query_map(req.query_string());
    let callback = CallbackParams {
        code: params.remove("code"),
        state: params.remove("state"),
        iss: params.remove("iss"),
        error: params.remove("error"),
        error_description: params.remove("error_description"),
    };
    let (login_name, _, _) = cookie_names(&state);
    let flow = Flow::new(&state, &tenant, meta(&req, &state));
    let outcome = flow
        .callback(&path, &callback, cookie_value(&req, login_name).as_deref())
        .await
        .map_err(page_error)?;
    Ok(render(&state, outcome))
}

async fn login_page(req: HttpRequest) -> Result<HttpResponse, PageError> {
    let params = query_map(req.query_string());
    let Some(request) = params.get("r") else {
        return Err(PageError::BadRequest(
            "Start signing in from your application's login page.".into(),
        ));
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| PageError::internal(anyhow::anyhow!("no state")))?;
    Ok(render(
        state,
        Outcome::ChooseSource {
            request: request.clone(),
            error: None,
        },
    ))
}

async fn login_submit(
    req: HttpRequest,
    body: web::Bytes,
    CurrentTenant(tenant): CurrentTenant,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let params = form_map(&body);
    let (Some(request), Some(email)) = (params.get("r"), params.get("email")) else {
        return Err(PageError::BadRequest(
            "Start signing in from your application's login page.".into(),
        ));
    };
    let flow = Flow::new(&state, &tenant, meta(&req, &state));
    let outcome = flow.choose_source(request, email).await.map_err(page_error)?;
    Ok(render(&state, outcome))
}

/// The end user's second-factor pages.
fn render_mfa(tenant: &Tenant, view: &MfaView) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_SECURITY_POLICY, MFA_CSP))
        .body(pages::mfa_page(tenant.display_name(), view))
}

async fn mfa_page(
    req: HttpRequest,
    CurrentTenant(tenant): CurrentTenant,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let flow = Flow::new(&state, &tenant, meta(&req, &state));
    let view = flow
        .mfa_page(cookie_value(&req, mfa_cookie_name(&state)).as_deref())
        .await
        .map_err(page_error)?;
    Ok(render_mfa(&tenant, &view))
}

async fn mfa_submit(
    req: HttpRequest,
    body: web::Bytes,
    CurrentTenant(tenant): CurrentTenant,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    // A browser's cross-site post is refused; the form only ever posts to its own host.
    if let Some(origin) = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok())
        && url::Url::parse(&state.hosts.tenant_url(tenant.slug()))
            .map(|u| u.origin().ascii_serialization())
            .ok()
            .as_deref()
            != Some(origin)
    {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            "This form was sent from another site and was refused.".into(),
        ));
    }
    let params = form_map(&body);
    let action = params.get("action").map(String::as_str).unwrap_or_default();
    let code = params.get("code").map(String::as_str).unwrap_or_default();
    let flow = Flow::new(&state, &tenant, meta(&req, &state));
    let step = flow
        .mfa_submit(cookie_value(&req, mfa_cookie_name(&state)).as_deref(), action, code)
        .await
        .map_err(page_error)?;
    Ok(match step {
        MfaStep::Show(view) => render_mfa(&tenant, &view),
        MfaStep::Done(outcome) => {
            let mut res = render(&state, outcome);
            let (_, _, secure) = cookie_names(&state);
            let mut gone = cookie(
                mfa_cookie_name(&state),
                String::new(),
                std::time::Duration::ZERO,
                secure,
            );
            gone.make_removal();
            let _ = res.add_cookie(&gone);
            res
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brokering_cookies_are_host_only_http_only_and_same_site() {
        let ten_min = std::time::Duration::from_secs(600);
        // https: `__Host-` names need Secure and Path=/ and no Domain.
        let sso = cookie("__Host-rosetta_sso", "v".into(), ten_min, true).to_string();
        for part in [
            "__Host-rosetta_sso=v",
            "HttpOnly",
            "Secure",
            "Path=/",
            "SameSite=None",
            "Max-Age=600",
        ] {
            assert!(sso.contains(part), "{sso} lacks {part}");
        }
        assert!(!sso.contains("Domain"), "{sso}");
        let login = cookie("__Host-rosetta_login", "v".into(), ten_min, true).to_string();
        assert!(login.contains("SameSite=Lax") && login.contains("Secure"), "{login}");
        // http (dev): no Secure, so SameSite=None is impossible and Lax is used.
        let dev = cookie("rosetta_sso", "v".into(), ten_min, false).to_string();
        assert!(
            dev.contains("SameSite=Lax") && dev.contains("HttpOnly") && !dev.contains("Secure"),
            "{dev}"
        );
    }
}
