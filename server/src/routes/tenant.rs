//! A tenant's brokering host. Later issues mount SAML, OIDC and MFA endpoints here.

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::error::PageError;
use crate::middleware::CurrentTenant;
use crate::pages::tenant_home_page;
use crate::saml::metadata::IdpMetadata;
use crate::services::signing_keys;
use crate::state::AppState;

/// Mounts the tenant routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/saml/metadata", web::get().to(metadata))
        .configure(super::sso::configure);
}

/// The tenant's IdP metadata, listing the active and the next signing certificate.
#[tracing::instrument(skip_all, fields(tenant = %tenant.slug()))]
async fn metadata(CurrentTenant(tenant): CurrentTenant, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let slug = tenant.slug();
    let keys = signing_keys::published(&state.db, tenant.id())
        .await
        .map_err(PageError::internal)?;
    let md = IdpMetadata {
        entity_id: state.hosts.idp_entity_id(slug),
        sso_url: state.hosts.sso_url(slug),
        signing_certs: keys.iter().map(|k| B64.encode(&k.certificate)).collect(),
    };
    Ok(HttpResponse::Ok()
        .content_type("application/samlmetadata+xml")
        .insert_header(("cache-control", "public, max-age=300"))
        .body(md.to_xml()))
}

/// The tenant's root: says whose sign-in service this is and where to start.
async fn home(CurrentTenant(tenant): CurrentTenant) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(tenant_home_page(tenant.display_name()))
}
