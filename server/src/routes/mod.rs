//! HTTP handlers: they translate HTTP to service calls and results to responses.

pub mod api;
pub mod console;
pub mod health;
pub mod sso;
pub mod tenant;

use actix_web::{HttpRequest, HttpResponse, guard, web};

use crate::configuration::Settings;

use crate::error::PageError;
use crate::middleware::{is_console, is_tenant};

/// Mounts every route group on the app.
pub fn configure(settings: &Settings) -> impl FnOnce(&mut web::ServiceConfig) {
    let console_dir = settings.server.console_dir.clone();
    move |cfg| {
        cfg.configure(health::configure)
            .service(
                web::scope("")
                    .guard(guard::fn_guard(is_tenant))
                    .configure(tenant::configure),
            )
            .service(
                web::scope("")
                    .guard(guard::fn_guard(is_console))
                    .wrap(actix_web::middleware::from_fn(console::cache_headers))
                    .configure(console::configure(console_dir)),
            )
            .default_service(web::to(not_found));
    }
}

async fn not_found(_req: HttpRequest) -> Result<HttpResponse, PageError> {
    Err(PageError::NotFound)
}
