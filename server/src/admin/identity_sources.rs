//! The tenant's OpenID providers ("identity sources"): added, edited, deleted, and tested
//! ("test connection": discovery, issuer, signing keys). Client secrets are write-only:
//! sealed when stored, never returned, never audited.

use rosetta_api::{
    ConnectionStep, ConnectionStepKind, ConnectionTest, CreateIdentitySourceRequest, IdentitySource,
    UpdateIdentitySourceRequest,
};
use secrecy::SecretString;
use serde_json::json;

use super::service_providers::Which;
use super::{AdminError, AdminResult, Fields, Scope, checked, object_id};
use crate::domain::{EmailDomain, Handle};
use crate::oidc::OidcError;
use crate::oidc::preset;
use crate::services::domain_proof::DomainProver;
use crate::services::identity_sources::SourcePreset;
use crate::services::identity_sources::{self, NewIdentitySource, SourceUpdate};
use crate::services::rate_limit::{self, DOMAIN_VERIFY_TENANT, SOURCE_TEST_TENANT};
use crate::state::AppState;

fn wire(state: &AppState, scope: &Scope, s: &identity_sources::IdentitySource) -> IdentitySource {
    s.to_wire(state.hosts.callback_url(scope.slug(), &s.name))
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

/// An issuer URL checked for the form, and against the preset (Entra's `/common` refused,
/// Google's exact issuer, Auth0's trailing slash...): the message alone, the field is named
/// by the form.
fn issuer(value: &str, preset: SourcePreset, dev: bool) -> Result<String, String> {
    let value = identity_sources::parse_issuer(value, dev).map_err(message_only)?;
    preset::check_issuer(preset, &value, dev)?;
    Ok(value)
}

/// A service's refusal of one field as the form shows it: its message alone (the form names
/// the field).
fn message_only(e: crate::services::ServiceError) -> String {
    match e {
        crate::services::ServiceError::Invalid { message, .. } => message,
        other => other.to_string(),
    }
}

/// Every provider preset: what to set up at the provider and what is checked.
pub fn presets() -> Vec<rosetta_api::SourcePresetInfo> {
    preset::all()
}

/// The tenant's identity sources.
pub async fn list(state: &AppState, scope: &Scope) -> AdminResult<Vec<IdentitySource>> {
    Ok(identity_sources::list(&state.db, scope.tenant_id())
        .await?
        .iter()
        .map(|s| wire(state, scope, s))
        .collect())
}

pub(crate) async fn find(
    state: &AppState,
    scope: &Scope,
    which: Which<'_>,
) -> AdminResult<identity_sources::IdentitySource> {
    match which {
        Which::Id(id) => Ok(identity_sources::get(&state.db, scope.tenant_id(), object_id(id)?).await?),
        Which::Name(name) => identity_sources::list(&state.db, scope.tenant_id())
            .await?
            .into_iter()
            .find(|s| s.name == name)
            .ok_or_else(AdminError::not_found),
    }
}

/// One identity source.
pub async fn get(state: &AppState, scope: &Scope, which: Which<'_>) -> AdminResult<IdentitySource> {
    Ok(wire(state, scope, &find(state, scope, which).await?))
}

/// Registers an OpenID Connect provider.
pub async fn create(state: &AppState, scope: &Scope, body: CreateIdentitySourceRequest) -> AdminResult<IdentitySource> {
    let mut fields = Fields::default();
    let name = fields.check("name", Handle::parse(&body.name));
    let issuer = fields.check("issuer", issuer(&body.issuer, body.preset, state.hosts.dev_mode()));
    if let Some(claim) = &body.groups_claim {
        fields.check(
            "groups_claim",
            identity_sources::check_groups_claim(claim).map_err(message_only),
        );
    }
    if body.preset == SourcePreset::Google && body.domains.is_empty() {
        fields.push(
            "domains",
            "Google's hosted domain (hd) is checked against these domains: list them",
        );
    }
    if body.client_secret.len() > 4096 {
        fields.push("client_secret", "a client secret has at most 4096 characters");
    }
    check_scopes(&body.scopes, &mut fields);
    let domains = domains(&body.domains, &mut fields);
    fields.finish()?;
    let new = NewIdentitySource {
        name: checked(name)?,
        issuer: checked(issuer)?,
        client_id: body.client_id,
        client_secret: SecretString::from(body.client_secret),
        scopes: body.scopes,
        domains: checked(domains)?,
        use_userinfo: body.use_userinfo,
        offline_access: body.offline_access,
        preset: body.preset,
        groups_claim: body.groups_claim,
        allow_guests: body.allow_guests,
        fetch_group_overage: body.fetch_group_overage,
    };
    let created = identity_sources::create(&state.db, &state.keyring, scope.tenant_id(), new).await?;
    let wire = wire(state, scope, &created);
    scope
        .changed(
            state,
            "identity_source.create",
            Some(wire.name.clone()),
            json!({"after": wire}),
        )
        .await?;
    Ok(wire)
}

/// Edits an identity source; a new client secret replaces the old one. Only the fields
/// present change.
pub async fn update(
    state: &AppState,
    scope: &Scope,
    which: Which<'_>,
    body: UpdateIdentitySourceRequest,
) -> AdminResult<IdentitySource> {
    let current = find(state, scope, which).await?;
    let id = current.id;
    let mut fields = Fields::default();
    let issuer = match &body.issuer {
        Some(i) => fields.check("issuer", issuer(i, current.preset, state.hosts.dev_mode())),
        None => None,
    };
    if let Some(claim) = &body.groups_claim {
        fields.check(
            "groups_claim",
            identity_sources::check_groups_claim(claim).map_err(message_only),
        );
    }
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
        offline_access: body.offline_access,
        groups_claim: body.groups_claim,
        allow_guests: body.allow_guests,
        fetch_group_overage: body.fetch_group_overage,
    };
    let (before, after) = identity_sources::update(&state.db, &state.keyring, scope.tenant_id(), id, change).await?;
    let (before, after) = (wire(state, scope, &before), wire(state, scope, &after));
    scope
        .changed(
            state,
            "identity_source.update",
            Some(after.name.clone()),
            json!({"before": before, "after": after, "client_secret_changed": secret_changed}),
        )
        .await?;
    Ok(after)
}

/// Deletes an identity source and frees its domains; returns what it was.
pub async fn delete(state: &AppState, scope: &Scope, which: Which<'_>) -> AdminResult<IdentitySource> {
    let id = find(state, scope, which).await?.id;
    let gone = identity_sources::delete(&state.db, scope.tenant_id(), id).await?;
    let wire = wire(state, scope, &gone);
    scope
        .changed(
            state,
            "identity_source.delete",
            Some(wire.name.clone()),
            json!({"before": wire}),
        )
        .await?;
    Ok(wire)
}

/// Proves the tenant owns one of the source's email domains by its DNS TXT record (see
/// `services::domain_proof`); 30 checks per tenant per 10 minutes. A domain another tenant
/// holds verified is a conflict whose message does not name that tenant.
pub async fn verify_domain(
    state: &AppState,
    scope: &Scope,
    which: Which<'_>,
    domain: &str,
) -> AdminResult<IdentitySource> {
    let id = find(state, scope, which).await?.id;
    let domain = EmailDomain::parse(domain).map_err(|e| AdminError::field("domain", e.0))?;
    rate_limit::hit(
        state.store.as_ref(),
        DOMAIN_VERIFY_TENANT,
        &scope.tenant_id().to_string(),
    )
    .await?;
    let prover = DomainProver::new(state.settings.server.dns_nameservers.clone(), state.hosts.dev_mode());
    let (source, proved_now) =
        identity_sources::verify_domain(&state.db, &prover, scope.tenant_id(), id, &domain).await?;
    let wire = wire(state, scope, &source);
    if proved_now {
        scope
            .changed(
                state,
                "identity_source.domain_verified",
                Some(wire.name.clone()),
                json!({"domain": domain.as_str(), "dns_lookup": !prover.skips()}),
            )
            .await?;
    }
    Ok(wire)
}

/// The step of a connection test that an error stopped.
fn failed_step(e: &OidcError) -> ConnectionStepKind {
    match e {
        OidcError::DiscoveryIssuerMismatch => ConnectionStepKind::Issuer,
        OidcError::JwksMissing | OidcError::JwksUnreachable | OidcError::JwksInvalid | OidcError::JwksEmpty => {
            ConnectionStepKind::Jwks
        }
        _ => ConnectionStepKind::Discovery,
    }
}

fn with_slash(issuer: &str) -> String {
    if issuer.ends_with('/') {
        issuer.to_owned()
    } else {
        format!("{issuer}/")
    }
}

/// Tests a source with the settings its logins use: discovery, issuer match, signing keys,
/// with a precise message per step (30 tests per tenant per 10 minutes: each makes Rosetta
/// fetch what the tenant named). Requests go through `outbound`: an address that is not
/// public is refused before any connection, and says so, without telling how it would
/// have answered.
pub async fn test(state: &AppState, scope: &Scope, which: Which<'_>) -> AdminResult<ConnectionTest> {
    rate_limit::hit(state.store.as_ref(), SOURCE_TEST_TENANT, &scope.tenant_id().to_string()).await?;
    let name = find(state, scope, which).await?.name;
    let (source, secret) = identity_sources::find_with_secret(&state.db, &state.keyring, scope.tenant_id(), &name)
        .await?
        .ok_or_else(AdminError::not_found)?;
    let config = source.oidc_config(secret);
    let step = |step: ConnectionStepKind, ok: bool, message: String| ConnectionStep { step, ok, message };
    let report = match state.oidc.test_connection(&config).await {
        Ok(r) => {
            let keys_ok = r.usable_keys > 0;
            ConnectionTest {
                ok: keys_ok,
                steps: vec![
                    step(
                        ConnectionStepKind::Discovery,
                        true,
                        format!(
                            "{}.well-known/openid-configuration answered",
                            with_slash(&source.issuer)
                        ),
                    ),
                    step(
                        ConnectionStepKind::Issuer,
                        true,
                        format!("the provider states issuer `{}`, as configured", r.issuer),
                    ),
                    step(
                        ConnectionStepKind::Jwks,
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
            let failed = failed_step(&e);
            let all = [
                ConnectionStepKind::Discovery,
                ConnectionStepKind::Issuer,
                ConnectionStepKind::Jwks,
            ];
            let mut steps: Vec<ConnectionStep> = all
                .iter()
                .take_while(|s| **s != failed)
                .map(|s| step(*s, true, "passed".into()))
                .collect();
            steps.push(step(failed, false, format!("{e} ({})", e.code())));
            ConnectionTest { ok: false, steps }
        }
    };
    scope
        .changed(
            state,
            "identity_source.test",
            Some(source.name.clone()),
            json!({"ok": report.ok}),
        )
        .await?;
    Ok(report)
}
