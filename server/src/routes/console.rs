//! The console host: the built Leptos console (client-side routed), later the admin API.

use std::path::PathBuf;

use actix_files::{Files, NamedFile};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse, fn_service};
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

use crate::pages::console_not_built_page;

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
        .body(console_not_built_page())
}

/// Whether a file name carries a content hash (`rosetta-console-<16 hex>.js`): such a file
/// never changes under its name, so browsers may keep it for a year.
fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let stem = name.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Cache headers of the console: hashed assets immutable for a year, everything else (the
/// `index.html` every client route answers with) revalidated on each load, so a new
/// release is picked up at once. The API sets its own headers.
pub async fn cache_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let api = req.path().starts_with("/api/");
    let hashed = is_hashed(req.path());
    let mut res = next.call(req).await?;
    if !api && res.status().is_success() && !res.headers().contains_key(CACHE_CONTROL) {
        let value = if hashed {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(value));
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_content_hashed_names_are_immutable() {
        assert!(is_hashed("/rosetta-console-0123456789abcdef.js"));
        assert!(is_hashed("/rosetta-console-0123456789abcdef_bg.wasm"));
        assert!(is_hashed("/console-89abcdef01234567.css"));
        assert!(!is_hashed("/index.html"));
        assert!(!is_hashed("/"));
        assert!(!is_hashed("/signup"));
        assert!(!is_hashed("/rosetta-console.js"));
        assert!(!is_hashed("/rosetta-console-0123456789abcdeg.js"));
    }
}
