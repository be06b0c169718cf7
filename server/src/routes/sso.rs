//! The brokering endpoints of a tenant host: SAML SSO (both bindings), IdP-initiated SSO,
//! home-realm discovery and the OIDC callback. Each handler translates HTTP into a call of
//! [`crate::flow`] and its [`Outcome`] into a response.

use std::collections::HashMap;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use base64::Engine;

use crate::error::PageError;
use crate::flow::{Flow, FlowError, MfaStep, MfaView, Outcome, PENDING_TTL, RequestMeta, SSO_SESSION_TTL};
use crate::middleware::{CurrentTenant, RequestId};
use crate::oidc::CallbackParams;
use crate::pages::{auto_post_csp, auto_post_page, escape, layout};
use crate::saml::request::Binding;
use crate::state::AppState;
use crate::tenancy;

/// Mounts the brokering routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/saml/sso", web::get().to(sso_redirect))
        .route("/saml/sso", web::post().to(sso_post))
        .route("/saml/init/{sp}", web::get().to(idp_initiated))
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
        &state.settings.trusted_proxies,
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
        Outcome::ChooseSource { request, error } => {
            let error = error.map(|e| {
                format!(
                    "<p class=\"error\" id=\"email-error\" role=\"alert\">{}</p>",
                    escape(&e)
                )
            });
            let described = if error.is_some() {
                " aria-describedby=\"email-error\""
            } else {
                ""
            };
            let body = layout(
                "Sign in",
                &format!(
                    "<h1>Sign in</h1><form method=\"post\" action=\"/login\">\
<input type=\"hidden\" name=\"r\" value=\"{}\"><label for=\"email\">Your work email</label><br>\
<input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" required autofocus{described}>{}\
<p><button type=\"submit\">Continue</button></p></form>",
                    escape(&request),
                    error.unwrap_or_default()
                ),
            );
            HttpResponse::Ok()
                .content_type(ContentType::html())
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(body)
        }
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
    tenant: &rosetta_entity::tenant::Model,
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
    let flow = Flow::new(state, tenant, meta(req, state)).map_err(page_error)?;
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
    let flow = Flow::new(&state, &tenant, meta(&req, &state)).map_err(page_error)?;
    let outcome = flow
        .idp_initiated(
            &path,
            params.get("RelayState").map(String::as_str),
            cookie_value(&req, sso_name).as_deref(),
        )
        .await
        .map_err(page_error)?;
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
    let flow = Flow::new(&state, &tenant, meta(&req, &state)).map_err(page_error)?;
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
    let flow = Flow::new(&state, &tenant, meta(&req, &state)).map_err(page_error)?;
    let outcome = flow.choose_source(request, email).await.map_err(page_error)?;
    Ok(render(&state, outcome))
}

const MFA_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'";

fn mfa_form(action: &str, inner: &str, button: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/mfa\"><input type=\"hidden\" name=\"action\" value=\"{action}\">{inner}\
<p><button type=\"submit\">{button}</button></p></form>"
    )
}

fn code_field(label: &str, error: Option<&str>, digits_only: bool) -> String {
    let (described, message) = match error {
        Some(e) => (
            " aria-describedby=\"code-error\" aria-invalid=\"true\"",
            format!("<p class=\"error\" id=\"code-error\" role=\"alert\">{}</p>", escape(e)),
        ),
        None => ("", String::new()),
    };
    let pattern = if digits_only {
        " pattern=\"[0-9]{6}\" maxlength=\"6\""
    } else {
        " maxlength=\"16\""
    };
    format!(
        "<label for=\"code\">{label}</label><br><input id=\"code\" name=\"code\" type=\"text\" \
inputmode=\"{}\" autocomplete=\"one-time-code\" required autofocus{pattern}{described}>{message}",
        if digits_only { "numeric" } else { "text" }
    )
}

/// The end user's second-factor pages: plain HTML forms, no script, labelled fields.
fn render_mfa(tenant: &str, view: MfaView) -> HttpResponse {
    let tenant = escape(tenant);
    let (title, body) = match view {
        MfaView::Enrol {
            qr_svg,
            secret,
            can_skip,
            error,
        } => {
            let qr = base64::engine::general_purpose::STANDARD.encode(qr_svg.as_bytes());
            let skip = if can_skip {
                mfa_form("skip", "", "Set up later")
            } else {
                String::new()
            };
            (
                "Set up two-step sign-in",
                format!(
                    "<h1>Set up two-step sign-in</h1><p>{tenant} asks for a second step when you sign in: a 6-digit \
code from an authenticator app on your phone, such as Google Authenticator, Microsoft Authenticator, 1Password or Authy. \
You set it up once.</p><ol><li>In the app, add an account and scan this code:<br>\
<img src=\"data:image/svg+xml;base64,{qr}\" width=\"200\" height=\"200\" alt=\"QR code to scan with your authenticator app\"></li>\
<li>Cannot scan it? Type this key into the app instead: <code id=\"totp-secret\">{}</code></li>\
<li>Enter the code the app shows, to check that it works.</li></ol>{}{skip}",
                    escape(&secret),
                    mfa_form(
                        "enrol",
                        &code_field("6-digit code", error.as_deref(), true),
                        "Turn on two-step sign-in"
                    ),
                ),
            )
        }
        MfaView::Verify { error } => (
            "Two-step sign-in",
            format!(
                "<h1>Two-step sign-in</h1><p>Open your authenticator app and enter the 6-digit code it shows for \
{tenant}.</p>{}<p>Lost your phone? Enter one of your recovery codes instead (they look like <code>abcde-fghjk</code>); \
each works once. No codes left? Ask your administrator to reset your two-step sign-in.</p>",
                mfa_form("verify", &code_field("Code", error.as_deref(), false), "Continue"),
            ),
        ),
        MfaView::Codes { codes } if codes.is_empty() => (
            "Two-step sign-in is on",
            format!(
                "<h1>Two-step sign-in is on</h1><p>Your recovery codes were shown once and are not shown again.</p>{}",
                mfa_form("continue", "", "Continue")
            ),
        ),
        MfaView::Codes { codes } => {
            let items: String = codes
                .iter()
                .map(|c| format!("<li><code>{}</code></li>", escape(c)))
                .collect();
            (
                "Save your recovery codes",
                format!(
                    "<h1>Save your recovery codes</h1><p>Two-step sign-in is on. If you lose your phone, each of \
these codes lets you sign in once. Keep them somewhere safe, such as a password manager: they are not shown again.</p>\
<ul id=\"recovery-codes\">{items}</ul>{}",
                    mfa_form("continue", "", "I have saved them: continue")
                ),
            )
        }
    };
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_SECURITY_POLICY, MFA_CSP))
        .body(layout(title, &body))
}

async fn mfa_page(
    req: HttpRequest,
    CurrentTenant(tenant): CurrentTenant,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let flow = Flow::new(&state, &tenant, meta(&req, &state)).map_err(page_error)?;
    let view = flow
        .mfa_page(cookie_value(&req, mfa_cookie_name(&state)).as_deref())
        .await
        .map_err(page_error)?;
    Ok(render_mfa(&tenant.display_name, view))
}

async fn mfa_submit(
    req: HttpRequest,
    body: web::Bytes,
    CurrentTenant(tenant): CurrentTenant,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    // A browser's cross-site post is refused; the form only ever posts to its own host.
    if let Some(origin) = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok())
        && let Ok(slug) = crate::domain::TenantSlug::parse(&tenant.slug)
        && url::Url::parse(&state.hosts.tenant_url(&slug))
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
    let flow = Flow::new(&state, &tenant, meta(&req, &state)).map_err(page_error)?;
    let step = flow
        .mfa_submit(cookie_value(&req, mfa_cookie_name(&state)).as_deref(), action, code)
        .await
        .map_err(page_error)?;
    Ok(match step {
        MfaStep::Show(view) => render_mfa(&tenant.display_name, view),
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
