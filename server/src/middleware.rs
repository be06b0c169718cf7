//! Request-scoped plumbing: correlation IDs, one tracing span per request, and the site
//! (console or tenant) every request is for.

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use tracing::Instrument;

use crate::error::PageError;
use crate::request_id;
// Also reached here, where the admin API's handlers take them from.
pub use crate::request_id::{RequestId, current_request_id};
use crate::state::AppState;
use crate::tenancy::{self, HostClass, Tenant};

/// Paths answered on every host, for probes that address the pod by IP.
const HOSTLESS_PATHS: &[&str] = &["/healthz", "/readyz"];

/// Gives each request an ID, a span, and an access-log line. Query strings are never
/// logged: they carry SAML requests and authorization codes.
pub async fn trace_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = crate::db::new_id().simple().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.path(),
        status = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    record_trace_id(&span);
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let result = request_id::scope(id.clone(), next.call(req).instrument(span.clone())).await;
    let _enter = span.enter();
    match result {
        Ok(res) => {
            let mut res = res.map_into_boxed_body();
            if let Ok(value) = HeaderValue::from_str(&id) {
                res.headers_mut().insert(HeaderName::from_static("x-request-id"), value);
            }
            span.record("status", res.status().as_u16());
            if let Some(state) = &state {
                state
                    .metrics
                    .observe_http(res.status().as_u16(), started.elapsed().as_secs_f64());
            }
            tracing::info!(elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "request done");
            Ok(res)
        }
        Err(e) => {
            tracing::warn!(elapsed_ms = started.elapsed().as_secs_f64() * 1e3, error = %e, "request failed");
            Err(e)
        }
    }
}

/// The site a request is for, set by [`resolve_site`].
#[derive(Clone, Debug)]
pub enum Site {
    /// The public host: console and admin API.
    Console,
    /// An active tenant's brokering host.
    Tenant(Arc<Tenant>),
}

/// Classifies the Host (or trusted `X-Forwarded-Host`) and loads the tenant. Unknown hosts,
/// unknown tenants and suspended tenants get a 404 page here, before any routing.
pub async fn resolve_site(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if HOSTLESS_PATHS.contains(&req.path()) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(PageError::internal(anyhow::anyhow!("application state missing")).into());
    };
    let peer = req.peer_addr().map(|a| a.ip());
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let host = tenancy::effective_host(
        header("host"),
        header("x-forwarded-host"),
        peer,
        &state.settings.server.trusted_proxies,
    );
    let site = match host.map(|h| state.hosts.classify(h)) {
        Some(HostClass::Console) => Some(Site::Console),
        Some(HostClass::Tenant(slug)) => match state.config.tenant(&state.db, &slug).await {
            Ok(Some(t)) if t.is_active() => Some(Site::Tenant(t)),
            Ok(_) => None,
            Err(e) => {
                let err = PageError::Unavailable(e.into());
                return Ok(req.into_response(err.error_response()));
            }
        },
        Some(HostClass::Unknown) | None => None,
    };
    match site {
        Some(site) => {
            req.extensions_mut().insert(site);
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        None => Ok(req.into_response(PageError::NotFound.error_response())),
    }
}

/// Route guard: the request is for a tenant host.
pub fn is_tenant(ctx: &actix_web::guard::GuardContext<'_>) -> bool {
    matches!(ctx.req_data().get::<Site>(), Some(Site::Tenant(_)))
}

/// Route guard: the request is for the console host.
pub fn is_console(ctx: &actix_web::guard::GuardContext<'_>) -> bool {
    matches!(ctx.req_data().get::<Site>(), Some(Site::Console))
}

/// Extractor: the tenant whose host the request came to, with its parsed slug.
pub struct CurrentTenant(pub Arc<Tenant>);

impl FromRequest for CurrentTenant {
    type Error = PageError;
    type Future = std::future::Ready<Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(match req.extensions().get::<Site>() {
            Some(Site::Tenant(t)) => Ok(Self(t.clone())),
            _ => Err(PageError::NotFound),
        })
    }
}

/// Puts the OpenTelemetry trace ID (when traces are exported) on the request span, so log
/// lines and traces can be matched.
fn record_trace_id(span: &tracing::Span) {
    use opentelemetry::trace::{TraceContextExt, TraceId};
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let trace_id = span.context().span().span_context().trace_id();
    if trace_id != TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace_id));
    }
}
