//! The console host: the built Leptos console (client-side routed), later the admin API.

use std::path::PathBuf;

use actix_files::{Files, NamedFile};
use actix_web::dev::{ServiceRequest, ServiceResponse, fn_service};
use actix_web::{HttpResponse, web};

use crate::pages;

/// Mounts the console's static files from `dir`, answering `index.html` for unknown paths
/// so client routes survive a reload. Without a built console, a page says how to build it.
pub fn configure(dir: PathBuf) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.configure(super::api::configure);
        let index = dir.join("index.html");
        if index.is_file() {
            cfg.service(
                Files::new("/", &dir)
                    .index_file("index.html")
                    .default_handler(fn_service(move |req: ServiceRequest| {
                        let index = index.clone();
                        async move {
                            let (req, _) = req.into_parts();
                            let res = NamedFile::open_async(&index).await?.into_response(&req);
                            Ok(ServiceResponse::new(req, res))
                        }
                    })),
            );
        } else {
            cfg.default_service(web::to(not_built));
        }
    }
}

async fn not_built() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(pages::layout(
            "Rosetta",
            "<h1>Rosetta is running</h1><p>The admin console has not been built into this \
installation. Build it with <code>make console</code>, or use the <code>rosetta</code> \
command line.</p>",
        ))
}
