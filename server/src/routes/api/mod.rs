//! The admin JSON API under `/api/v1/` on the console host, one module per resource
//! (matching the OpenAPI tags, `admin`'s modules and the console's pages). Handlers only
//! translate: the request to a call of an `admin` use case, its result to a response. The
//! tenant always comes from the caller's session.
//!
//! Every route is listed once, in [`api_routes!`], which both registers it and puts it in
//! the OpenAPI document (`/api/v1/openapi.json`): the document cannot miss a route, and
//! the tenant-isolation test walks the document.

pub mod accounts;
pub mod audit;
pub mod end_users;
pub mod error;
pub mod identity_sources;
pub mod invitations;
pub mod logins;
pub mod mapping;
pub mod members;
pub mod provisioning;
pub mod service_providers;
pub mod session;
pub mod sessions;
pub mod signing_keys;
pub mod tenant;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use rosetta_api::ErrorCode;
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
sources, signing keys, end users, audit log, login traces and go-live, members. Sign in with `POST /api/v1/session`; the \
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
    accounts::sign_up,
    accounts::verify_email,
    accounts::resend_verification,
    sessions::sign_in,
    sessions::current_session,
    sessions::second_factor,
    sessions::sign_out,
    sessions::switch_tenant,
    accounts::request_reset,
    accounts::confirm_reset,
    accounts::get_account,
    accounts::change_password,
    accounts::begin_totp,
    accounts::confirm_totp,
    accounts::disable_totp,
    accounts::create_tenant,
    invitations::accept_invitation,
    tenant::get_tenant,
    tenant::update_tenant,
    tenant::setup_progress,
    tenant::inactive_users,
    service_providers::list_sps,
    service_providers::create_sp,
    service_providers::import_sp,
    service_providers::get_sp,
    service_providers::update_sp,
    service_providers::delete_sp,
    mapping::put_mapping,
    mapping::preview_mapping,
    provisioning::get_provisioning,
    provisioning::put_provisioning,
    provisioning::delete_provisioning,
    provisioning::test_provisioning,
    provisioning::preview_provisioning_sync,
    provisioning::sync_provisioning,
    provisioning::provisioning_users,
    provisioning::retry_provisioning,
    identity_sources::list_presets,
    identity_sources::list_sources,
    identity_sources::create_source,
    identity_sources::get_source,
    identity_sources::update_source,
    identity_sources::delete_source,
    identity_sources::test_source,
    identity_sources::verify_source_domain,
    signing_keys::list_keys,
    signing_keys::create_key,
    signing_keys::promote_key,
    signing_keys::retire_key,
    end_users::list_users,
    end_users::get_user,
    end_users::block_user,
    end_users::unblock_user,
    end_users::reset_user_mfa,
    end_users::end_user_sessions,
    audit::audit_log,
    audit::audit_csv,
    logins::list_logins,
    logins::get_login,
    logins::login_bundle,
    logins::test_login,
    logins::test_source_login,
    logins::go_live,
    members::list_members,
    members::update_member,
    members::remove_member,
    invitations::list_invitations,
    invitations::invite,
    invitations::revoke_invitation,
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
        ErrorCode::NotFound,
        "there is no such API endpoint",
    ))
}

fn body_error(e: impl std::fmt::Display) -> actix_web::Error {
    ApiFailure::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidBody,
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
            ErrorCode::InvalidQuery,
            format!("the query string is not valid: {e}"),
        )
        .into()
    }))
    .app_data(web::PathConfig::default().error_handler(|_, _: &HttpRequest| ApiFailure::not_found().into()))
    .route("/api/v1/openapi.json", web::get().to(openapi))
    .configure(register)
    .service(web::scope("/api").default_service(web::to(unknown)));
}
