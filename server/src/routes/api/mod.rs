//! The admin JSON API under `/api/v1/` on the console host. Handlers translate HTTP to
//! service calls; the tenant always comes from the caller's session.
//!
//! Every route is listed once, in [`api_routes!`], which both registers it and puts it in
//! the OpenAPI document (`/api/v1/openapi.json`): the document cannot miss a route, and
//! the tenant-isolation test walks the document.

pub mod auth;
pub mod config;
pub mod error;
pub mod people;
pub mod session;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::OpenApi;

use self::error::ApiFailure;

macro_rules! api_routes {
    ($($module:ident :: $handler:ident),* $(,)?) => {
        /// The OpenAPI 3 document of the admin API.
        #[derive(OpenApi)]
        #[openapi(
            info(
                title = "Rosetta admin API",
                description = "Tenant self-service: accounts, sessions, service providers, identity \
sources, signing keys, end users, audit log, members. Sign in with `POST /api/v1/session`; the \
session cookie authenticates, and every state-changing request also sends the session's \
`csrf_token` in the `X-CSRF-Token` header.",
            ),
            paths($($module::$handler),*),
            modifiers(&SessionAuth),
        )]
        pub struct ApiDoc;

        fn register(cfg: &mut web::ServiceConfig) {
            $( cfg.service($module::$handler); )*
        }
    };
}

api_routes![
    auth::sign_up,
    auth::verify_email,
    auth::resend_verification,
    auth::sign_in,
    auth::current_session,
    auth::second_factor,
    auth::sign_out,
    auth::switch_tenant,
    auth::request_reset,
    auth::confirm_reset,
    auth::get_account,
    auth::change_password,
    auth::begin_totp,
    auth::confirm_totp,
    auth::disable_totp,
    auth::create_tenant,
    auth::accept_invitation,
    config::get_tenant,
    config::update_tenant,
    config::list_sps,
    config::create_sp,
    config::import_sp,
    config::get_sp,
    config::update_sp,
    config::delete_sp,
    config::list_sources,
    config::create_source,
    config::get_source,
    config::update_source,
    config::delete_source,
    config::test_source,
    config::list_keys,
    config::create_key,
    config::promote_key,
    config::retire_key,
    people::list_users,
    people::get_user,
    people::block_user,
    people::unblock_user,
    people::reset_user_mfa,
    people::audit_log,
    people::audit_csv,
    people::list_members,
    people::update_member,
    people::remove_member,
    people::list_invitations,
    people::invite,
    people::revoke_invitation,
];

struct SessionAuth;

impl utoipa::Modify for SessionAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("rosetta_admin"))),
        );
        components.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-CSRF-Token"))),
        );
    }
}

/// The generated document, as served.
pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_else(|_| "{}".into())
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(openapi_json())
}

async fn unknown() -> Result<HttpResponse, ApiFailure> {
    Err(ApiFailure::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "there is no such API endpoint",
    ))
}

fn body_error(e: impl std::fmt::Display) -> actix_web::Error {
    ApiFailure::new(
        StatusCode::BAD_REQUEST,
        "invalid_body",
        format!("the request body is not valid: {e}"),
    )
    .into()
}

/// Mounts the API on the console host.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(512 * 1024)
            .error_handler(|e, _: &HttpRequest| body_error(e)),
    )
    .app_data(web::QueryConfig::default().error_handler(|e, _: &HttpRequest| {
        ApiFailure::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("the query string is not valid: {e}"),
        )
        .into()
    }))
    .app_data(web::PathConfig::default().error_handler(|_, _: &HttpRequest| ApiFailure::not_found().into()))
    .route("/api/v1/openapi.json", web::get().to(openapi))
    .configure(register)
    .service(web::scope("/api").default_service(web::to(unknown)));
}
