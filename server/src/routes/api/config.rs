//! The tenant's brokering configuration: settings, service providers, identity sources,
//! signing keys. Every change is audited with before and after (never secrets).

use actix_web::{HttpResponse, delete, get, patch, post, web};
use rosetta_api::{
    ConnectionStep, ConnectionTest, CreateIdentitySourceRequest, CreateServiceProviderRequest, IdentitySource,
    ImportServiceProviderRequest, MfaPolicy, Preset, ServiceProvider, SigningKey, TenantSettings,
    UpdateIdentitySourceRequest, UpdateServiceProviderRequest, UpdateTenantRequest,
};
use secrecy::SecretString;
use serde_json::json;

use super::error::{ApiFailure, ApiResult, Fields, object_id};
use super::session::Admin;
use crate::domain::{AcsUrl, DisplayName, EmailDomain, EntityId, Handle};
use crate::oidc::SourceConfig;
use crate::services::identity_sources::{self, NewIdentitySource, SourceUpdate};
use crate::services::service_providers::{self, NewAcs, NewServiceProvider, SpUpdate};
use crate::services::{signing_keys, sp_metadata, tenants};
use crate::state::AppState;

fn policy_str(p: MfaPolicy) -> &'static str {
    match p {
        MfaPolicy::Off => "off",
        MfaPolicy::Optional => "optional",
        MfaPolicy::Required => "required",
    }
}

fn parse_policy(s: &str) -> MfaPolicy {
    match s {
        "optional" => MfaPolicy::Optional,
        "required" => MfaPolicy::Required,
        _ => MfaPolicy::Off,
    }
}

async fn settings_view(state: &AppState, t: &rosetta_entity::tenant::Model) -> ApiResult<TenantSettings> {
    Ok(TenantSettings {
        details: rosetta_api::TenantDetails {
            tenant: tenants::to_wire(t, &state.hosts),
            idp: tenants::idp_info(&state.db, &state.hosts, t).await?,
        },
        admin_mfa_required: t.admin_mfa_required,
        end_user_mfa: parse_policy(&t.end_user_mfa),
        end_user_mfa_trust_upstream: t.mfa_trust_upstream,
        end_user_mfa_trusted_acr: t
            .mfa_trusted_acr
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        end_user_mfa_max_age_hours: t.mfa_max_age_hours.and_then(|h| u32::try_from(h).ok()),
    })
}

/// The tenant, what to paste into service providers, and its MFA settings.
#[utoipa::path(tag = "tenant", responses(
    (status = 200, description = "Settings", body = TenantSettings),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/tenant")]
pub async fn get_tenant(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(settings_view(&state, &admin.tenant).await?))
}

/// Changes the tenant's name or MFA settings.
#[utoipa::path(tag = "tenant", request_body = UpdateTenantRequest, responses(
    (status = 200, description = "Updated", body = TenantSettings),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[patch("/api/v1/tenant")]
pub async fn update_tenant(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<UpdateTenantRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let mut fields = Fields::default();
    let display_name = match &body.display_name {
        Some(n) => fields.check("display_name", DisplayName::parse(n)),
        None => None,
    };
    if let Some(acr) = &body.end_user_mfa_trusted_acr {
        let ok = acr.len() <= 16
            && acr
                .iter()
                .all(|a| !a.is_empty() && a.len() <= 256 && a.chars().all(|c| c.is_ascii_graphic()));
        if !ok {
            fields.push(
                "end_user_mfa_trusted_acr",
                "up to 16 acr values, each printable text without spaces",
            );
        }
    }
    if body.end_user_mfa_max_age_hours.is_some_and(|h| h > 24 * 366) {
        fields.push(
            "end_user_mfa_max_age_hours",
            "at most a year (8784 hours); 0 asks once per session",
        );
    }
    fields.finish()?;
    let change = tenants::TenantUpdate {
        display_name,
        admin_mfa_required: body.admin_mfa_required,
        end_user_mfa: body.end_user_mfa.map(policy_str),
        mfa_trust_upstream: body.end_user_mfa_trust_upstream,
        mfa_trusted_acr: body.end_user_mfa_trusted_acr.map(|a| a.join(" ")),
        mfa_max_age_hours: body.end_user_mfa_max_age_hours,
    };
    let (before, after) = tenants::update(&state.db, admin.tenant_id(), change).await?;
    let snapshot = |t: &rosetta_entity::tenant::Model| {
        json!({
            "display_name": t.display_name, "admin_mfa_required": t.admin_mfa_required, "end_user_mfa": t.end_user_mfa,
            "mfa_trust_upstream": t.mfa_trust_upstream, "mfa_trusted_acr": t.mfa_trusted_acr,
            "mfa_max_age_hours": t.mfa_max_age_hours,
        })
    };
    admin
        .audit(
            &state,
            "tenant.update",
            Some(after.slug.clone()),
            json!({"before": snapshot(&before), "after": snapshot(&after)}),
        )
        .await?;
    Ok(HttpResponse::Ok().json(settings_view(&state, &after).await?))
}

/// The tenant's service providers.
#[utoipa::path(tag = "service-providers", responses(
    (status = 200, description = "Service providers", body = Vec<ServiceProvider>),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/service-providers")]
pub async fn list_sps(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    let all: Vec<ServiceProvider> = service_providers::list(&state.db, admin.tenant_id())
        .await?
        .iter()
        .map(|s| s.to_wire())
        .collect();
    Ok(HttpResponse::Ok().json(all))
}

fn acs_list(urls: &[String], dev: bool, fields: &mut Fields) -> Option<Vec<NewAcs>> {
    if urls.is_empty() {
        fields.push("acs_urls", "at least one ACS URL is required");
        return None;
    }
    if urls.len() > 16 {
        fields.push("acs_urls", "at most 16 ACS URLs");
        return None;
    }
    let parsed: Result<Vec<AcsUrl>, _> = urls.iter().map(|u| AcsUrl::parse(u, dev)).collect();
    fields.check("acs_urls", parsed).map(NewAcs::in_order)
}

/// Registers a service provider from a preset (for Atlassian: its entity ID and ACS URL).
#[utoipa::path(tag = "service-providers", request_body = CreateServiceProviderRequest, responses(
    (status = 201, description = "Created", body = ServiceProvider),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/service-providers")]
pub async fn create_sp(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<CreateServiceProviderRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let dev = state.hosts.dev_mode();
    let mut fields = Fields::default();
    let name = fields.check("name", Handle::parse(&body.name));
    let entity_id = fields.check("entity_id", EntityId::parse(&body.entity_id));
    let acs = acs_list(&body.acs_urls, dev, &mut fields);
    let certs = fields.check(
        "request_signing_certs",
        service_providers::parse_certificates(&body.request_signing_certs),
    );
    fields.finish()?;
    let (Some(name), Some(entity_id), Some(acs), Some(certs)) = (name, entity_id, acs, certs) else {
        return Err(ApiFailure::internal(anyhow::anyhow!("validated fields missing")));
    };
    let new = NewServiceProvider {
        name,
        preset: body.preset,
        entity_id,
        acs,
        name_id_format: body.name_id_format,
        want_requests_signed: body.want_requests_signed,
        request_signing_certs: certs,
    };
    let sp = service_providers::create(&state.db, admin.tenant_id(), new)
        .await?
        .to_wire();
    admin
        .audit(
            &state,
            "service_provider.create",
            Some(sp.entity_id.clone()),
            json!({"after": sp}),
        )
        .await?;
    Ok(HttpResponse::Created().json(sp))
}

/// Registers a service provider from its SAML metadata, pasted or fetched from a URL.
#[utoipa::path(tag = "service-providers", request_body = ImportServiceProviderRequest, responses(
    (status = 201, description = "Created", body = ServiceProvider),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/service-providers/import")]
pub async fn import_sp(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<ImportServiceProviderRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let dev = state.hosts.dev_mode();
    let name = Handle::parse(&body.name).map_err(|e| ApiFailure::field("name", e.0))?;
    let xml = match (&body.metadata_xml, &body.metadata_url) {
        (Some(xml), None) => xml.clone(),
        (None, Some(url)) => sp_metadata::fetch_metadata(url, dev).await?,
        _ => {
            return Err(ApiFailure::field(
                "metadata_xml",
                "give either the metadata XML or its URL",
            ));
        }
    };
    let mut new = sp_metadata::parse_sp_metadata(&xml, dev)?.into_new_service_provider(name);
    if let Some(preset) = body.preset {
        new.preset = preset;
        if preset == Preset::Atlassian && new.name_id_format.is_none() {
            new.name_id_format = Some(crate::saml::metadata::NAMEID_EMAIL.into());
        }
    }
    let sp = service_providers::create(&state.db, admin.tenant_id(), new)
        .await?
        .to_wire();
    admin
        .audit(
            &state,
            "service_provider.create",
            Some(sp.entity_id.clone()),
            json!({"after": sp, "from": "metadata"}),
        )
        .await?;
    Ok(HttpResponse::Created().json(sp))
}

/// One service provider.
#[utoipa::path(tag = "service-providers", params(("id" = String, Path, description = "Service provider ID")), responses(
    (status = 200, description = "The service provider", body = ServiceProvider),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/service-providers/{id}")]
pub async fn get_sp(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let sp = service_providers::get(&state.db, admin.tenant_id(), object_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(sp.to_wire()))
}

/// Edits a service provider's endpoints, mapping or options.
#[utoipa::path(tag = "service-providers", params(("id" = String, Path, description = "Service provider ID")),
    request_body = UpdateServiceProviderRequest, responses(
    (status = 200, description = "Updated", body = ServiceProvider),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[patch("/api/v1/service-providers/{id}")]
pub async fn update_sp(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
    body: web::Json<UpdateServiceProviderRequest>,
) -> ApiResult<HttpResponse> {
    let id = object_id(&id)?;
    let body = body.into_inner();
    let mut fields = Fields::default();
    let acs = match &body.acs_urls {
        Some(urls) => acs_list(urls, state.hosts.dev_mode(), &mut fields),
        None => None,
    };
    let certs = match &body.request_signing_certs {
        Some(c) => fields.check("request_signing_certs", service_providers::parse_certificates(c)),
        None => None,
    };
    fields.finish()?;
    let change = SpUpdate {
        acs,
        name_id_format: body.name_id_format,
        attributes: body.attributes,
        want_requests_signed: body.want_requests_signed,
        request_signing_certs: certs,
        mfa_policy: body.mfa_policy,
    };
    let (before, after) = service_providers::update(&state.db, admin.tenant_id(), id, change).await?;
    let (before, after) = (before.to_wire(), after.to_wire());
    admin
        .audit(
            &state,
            "service_provider.update",
            Some(after.entity_id.clone()),
            json!({"before": before, "after": after}),
        )
        .await?;
    Ok(HttpResponse::Ok().json(after))
}

/// Deletes a service provider.
#[utoipa::path(tag = "service-providers", params(("id" = String, Path, description = "Service provider ID")), responses(
    (status = 204, description = "Deleted"),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[delete("/api/v1/service-providers/{id}")]
pub async fn delete_sp(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let gone = service_providers::delete(&state.db, admin.tenant_id(), object_id(&id)?)
        .await?
        .to_wire();
    admin
        .audit(
            &state,
            "service_provider.delete",
            Some(gone.entity_id.clone()),
            json!({"before": gone}),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

fn source_wire(state: &AppState, admin: &Admin, s: &identity_sources::IdentitySource) -> IdentitySource {
    let redirect = crate::domain::TenantSlug::parse(&admin.tenant.slug)
        .map(|slug| state.hosts.callback_url(&slug, &s.name))
        .unwrap_or_default();
    s.to_wire(redirect)
}

fn check_scopes(scopes: &[String], fields: &mut Fields) {
    let ok = scopes.len() <= 32
        && scopes.iter().all(|s| {
            !s.is_empty()
                && s.len() <= 128
                && s.bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        });
    if !ok {
        fields.push(
            "scopes",
            "scopes are up to 32 tokens of printable characters without spaces or quotes",
        );
    }
}

fn domains(values: &[String], fields: &mut Fields) -> Option<Vec<EmailDomain>> {
    if values.is_empty() || values.len() > 64 {
        fields.push("domains", "a source has 1 to 64 email domains");
        return None;
    }
    fields.check(
        "domains",
        values
            .iter()
            .map(|d| EmailDomain::parse(d))
            .collect::<Result<Vec<_>, _>>(),
    )
}

/// An issuer URL checked for the form: the message alone, the field is named by the form.
fn issuer(value: &str, dev: bool) -> Result<String, String> {
    identity_sources::parse_issuer(value, dev).map_err(|e| match e {
        crate::services::ServiceError::Invalid { message, .. } => message,
        other => other.to_string(),
    })
}

/// The tenant's identity sources (client secrets are write-only and never shown).
#[utoipa::path(tag = "identity-sources", responses(
    (status = 200, description = "Identity sources", body = Vec<IdentitySource>),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/identity-sources")]
pub async fn list_sources(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    let all: Vec<IdentitySource> = identity_sources::list(&state.db, admin.tenant_id())
        .await?
        .iter()
        .map(|s| source_wire(&state, &admin, s))
        .collect();
    Ok(HttpResponse::Ok().json(all))
}

/// Registers an OpenID Connect provider.
#[utoipa::path(tag = "identity-sources", request_body = CreateIdentitySourceRequest, responses(
    (status = 201, description = "Created", body = IdentitySource),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/identity-sources")]
pub async fn create_source(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<CreateIdentitySourceRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let mut fields = Fields::default();
    let name = fields.check("name", Handle::parse(&body.name));
    let issuer = fields.check("issuer", issuer(&body.issuer, state.hosts.dev_mode()));
    if body.client_secret.len() > 4096 {
        fields.push("client_secret", "a client secret has at most 4096 characters");
    }
    check_scopes(&body.scopes, &mut fields);
    let domains = domains(&body.domains, &mut fields);
    fields.finish()?;
    let (Some(name), Some(issuer), Some(domains)) = (name, issuer, domains) else {
        return Err(ApiFailure::internal(anyhow::anyhow!("validated fields missing")));
    };
    let new = NewIdentitySource {
        name,
        issuer,
        client_id: body.client_id,
        client_secret: SecretString::from(body.client_secret),
        scopes: body.scopes,
        domains,
        use_userinfo: body.use_userinfo,
    };
    let created = identity_sources::create(&state.db, &state.keyring, admin.tenant_id(), new).await?;
    let wire = source_wire(&state, &admin, &created);
    admin
        .audit(
            &state,
            "identity_source.create",
            Some(wire.name.clone()),
            json!({"after": wire}),
        )
        .await?;
    Ok(HttpResponse::Created().json(wire))
}

/// One identity source.
#[utoipa::path(tag = "identity-sources", params(("id" = String, Path, description = "Identity source ID")), responses(
    (status = 200, description = "The source", body = IdentitySource),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/identity-sources/{id}")]
pub async fn get_source(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let s = identity_sources::get(&state.db, admin.tenant_id(), object_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(source_wire(&state, &admin, &s)))
}

/// Edits an identity source; a new client secret replaces the old one.
#[utoipa::path(tag = "identity-sources", params(("id" = String, Path, description = "Identity source ID")),
    request_body = UpdateIdentitySourceRequest, responses(
    (status = 200, description = "Updated", body = IdentitySource),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[patch("/api/v1/identity-sources/{id}")]
pub async fn update_source(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
    body: web::Json<UpdateIdentitySourceRequest>,
) -> ApiResult<HttpResponse> {
    let id = object_id(&id)?;
    let body = body.into_inner();
    let mut fields = Fields::default();
    let issuer = match &body.issuer {
        Some(i) => fields.check("issuer", issuer(i, state.hosts.dev_mode())),
        None => None,
    };
    if let Some(scopes) = &body.scopes {
        check_scopes(scopes, &mut fields);
    }
    let domains = match &body.domains {
        Some(d) => domains(d, &mut fields),
        None => None,
    };
    fields.finish()?;
    let secret_changed = body.client_secret.is_some();
    let change = SourceUpdate {
        issuer,
        client_id: body.client_id,
        client_secret: body.client_secret.map(SecretString::from),
        scopes: body.scopes,
        domains,
        use_userinfo: body.use_userinfo,
    };
    let (before, after) = identity_sources::update(&state.db, &state.keyring, admin.tenant_id(), id, change).await?;
    let (before, after) = (
        source_wire(&state, &admin, &before),
        source_wire(&state, &admin, &after),
    );
    admin
        .audit(
            &state,
            "identity_source.update",
            Some(after.name.clone()),
            json!({"before": before, "after": after, "client_secret_changed": secret_changed}),
        )
        .await?;
    Ok(HttpResponse::Ok().json(after))
}

/// Deletes an identity source and frees its domains.
#[utoipa::path(tag = "identity-sources", params(("id" = String, Path, description = "Identity source ID")), responses(
    (status = 204, description = "Deleted"),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[delete("/api/v1/identity-sources/{id}")]
pub async fn delete_source(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let gone = identity_sources::delete(&state.db, admin.tenant_id(), object_id(&id)?).await?;
    let wire = source_wire(&state, &admin, &gone);
    admin
        .audit(
            &state,
            "identity_source.delete",
            Some(wire.name.clone()),
            json!({"before": wire}),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Tests a source: discovery, issuer match, JWKS fetch, with a precise message per step.
#[utoipa::path(tag = "identity-sources", params(("id" = String, Path, description = "Identity source ID")), responses(
    (status = 200, description = "The test ran (see `ok`)", body = ConnectionTest),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/identity-sources/{id}/test")]
pub async fn test_source(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let source = identity_sources::get(&state.db, admin.tenant_id(), object_id(&id)?).await?;
    let (source, secret) =
        identity_sources::find_with_secret(&state.db, &state.keyring, admin.tenant_id(), &source.name)
            .await?
            .ok_or_else(ApiFailure::not_found)?;
    let config = SourceConfig::new(source.issuer.clone(), source.client_id.clone(), secret);
    let step = |step: &str, ok: bool, message: String| ConnectionStep {
        step: step.into(),
        ok,
        message,
    };
    let report = match state.oidc.test_connection(&config).await {
        Ok(r) => {
            let keys_ok = r.usable_keys > 0;
            ConnectionTest {
                ok: keys_ok,
                steps: vec![
                    step(
                        "discovery",
                        true,
                        format!(
                            "{}.well-known/openid-configuration answered",
                            with_slash(&source.issuer)
                        ),
                    ),
                    step(
                        "issuer",
                        true,
                        format!("the provider states issuer `{}`, as configured", r.issuer),
                    ),
                    step(
                        "jwks",
                        keys_ok,
                        if keys_ok {
                            format!("{} usable signing key(s) published", r.usable_keys)
                        } else {
                            "the provider publishes no key usable with the allowed algorithms (RS256, ES256...)".into()
                        },
                    ),
                ],
            }
        }
        Err(e) => {
            let code = e.code();
            let (failed, passed): (&str, &[&str]) = match code {
                c if c.contains("issuer") => ("issuer", &["discovery"]),
                c if c.contains("jwks") || c.contains("key") => ("jwks", &["discovery", "issuer"]),
                _ => ("discovery", &[]),
            };
            let mut steps: Vec<ConnectionStep> = passed.iter().map(|s| step(s, true, "passed".into())).collect();
            steps.push(step(failed, false, format!("{e} ({code})")));
            ConnectionTest { ok: false, steps }
        }
    };
    admin
        .audit(
            &state,
            "identity_source.test",
            Some(source.name.clone()),
            json!({"ok": report.ok}),
        )
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

fn with_slash(issuer: &str) -> String {
    if issuer.ends_with('/') {
        issuer.to_owned()
    } else {
        format!("{issuer}/")
    }
}

fn key_wire(row: &rosetta_entity::signing_key::Model) -> ApiResult<SigningKey> {
    let (pem, not_after) = signing_keys::certificate_text(row)?;
    Ok(SigningKey {
        id: row.id.to_string(),
        state: format!("{:?}", row.state).to_lowercase(),
        certificate_pem: pem,
        fingerprint_sha256: crate::saml::keys::cert_fingerprint_sha256(&row.certificate),
        not_after,
        created_at: row.created_at.to_rfc3339(),
    })
}

/// The tenant's signing keys, newest first (private keys never leave the server).
#[utoipa::path(tag = "signing-keys", responses(
    (status = 200, description = "Keys", body = Vec<SigningKey>),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[get("/api/v1/signing-keys")]
pub async fn list_keys(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    let keys = signing_keys::list(&state.db, admin.tenant_id())
        .await?
        .iter()
        .map(key_wire)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(keys))
}

/// Publishes a next key in metadata, to be promoted once SPs trust it.
#[utoipa::path(tag = "signing-keys", responses(
    (status = 201, description = "Created", body = SigningKey),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/signing-keys")]
pub async fn create_key(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    let slug =
        crate::domain::TenantSlug::parse(&admin.tenant.slug).map_err(|e| ApiFailure::internal(anyhow::anyhow!(e)))?;
    let row = signing_keys::create_next(
        &state.db,
        &state.keyring,
        admin.tenant_id(),
        &state.hosts.idp_entity_id(&slug),
    )
    .await?;
    let wire = key_wire(&row)?;
    admin
        .audit(
            &state,
            "signing_key.create",
            Some(wire.id.clone()),
            json!({"fingerprint_sha256": wire.fingerprint_sha256}),
        )
        .await?;
    Ok(HttpResponse::Created().json(wire))
}

/// Makes the next key the signing key; the old active key is retired.
#[utoipa::path(tag = "signing-keys", params(("id" = String, Path, description = "The next key's ID")), responses(
    (status = 200, description = "Promoted", body = SigningKey),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/signing-keys/{id}/promote")]
pub async fn promote_key(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let id = object_id(&id)?;
    let target = signing_keys::list(&state.db, admin.tenant_id())
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or_else(ApiFailure::not_found)?;
    if target.state != rosetta_entity::signing_key::KeyState::Next {
        return Err(ApiFailure::new(
            actix_web::http::StatusCode::CONFLICT,
            "conflict",
            "only the published next key can be promoted",
        ));
    }
    let row = signing_keys::promote(&state.db, admin.tenant_id()).await?;
    let wire = key_wire(&row)?;
    admin
        .audit(
            &state,
            "signing_key.promote",
            Some(wire.id.clone()),
            json!({"fingerprint_sha256": wire.fingerprint_sha256}),
        )
        .await?;
    Ok(HttpResponse::Ok().json(wire))
}

/// Retires a key that does not sign (removes it from metadata).
#[utoipa::path(tag = "signing-keys", params(("id" = String, Path, description = "Key ID")), responses(
    (status = 200, description = "Retired", body = SigningKey),
    (status = "4XX", description = "Refused", body = rosetta_api::ApiError),
))]
#[post("/api/v1/signing-keys/{id}/retire")]
pub async fn retire_key(state: web::Data<AppState>, admin: Admin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let row = signing_keys::retire(&state.db, admin.tenant_id(), object_id(&id)?).await?;
    let wire = key_wire(&row)?;
    admin
        .audit(
            &state,
            "signing_key.retire",
            Some(wire.id.clone()),
            json!({"fingerprint_sha256": wire.fingerprint_sha256}),
        )
        .await?;
    Ok(HttpResponse::Ok().json(wire))
}
