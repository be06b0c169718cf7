//! A tenant's brokering host. Later issues mount SAML, OIDC and MFA endpoints here.

use actix_web::{HttpResponse, web};

use crate::middleware::CurrentTenant;
use crate::pages;

/// Mounts the tenant routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home));
}

/// The tenant's root: says whose sign-in service this is and where to start.
async fn home(CurrentTenant(tenant): CurrentTenant) -> HttpResponse {
    let name = pages::escape(&tenant.display_name);
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(pages::layout(
            &tenant.display_name,
            &format!(
                "<h1>{name}</h1><p>This is the single sign-on service of {name}. \
Start from your application's login page (for example your Atlassian site) and you will be \
brought here automatically.</p>"
            ),
        ))
}
