//! The tenant's SAML service providers: registered from a preset (Atlassian: its entity ID
//! and ACS URL) or from metadata, edited, deleted. Every change is audited with before and
//! after.

use rosetta_api::{
    CreateServiceProviderRequest, ImportServiceProviderRequest, Preset, ServiceProvider, UpdateServiceProviderRequest,
};
use serde_json::json;

use super::{AdminError, AdminResult, Fields, Scope, checked, object_id};
use crate::domain::{AcsUrl, EntityId, Handle};
use crate::services::service_providers::{self, NewAcs, NewServiceProvider, SpUpdate};
use crate::services::sp_metadata;
use crate::state::AppState;

/// An object named by its ID (the API) or by its name (the command line).
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    /// By ID.
    Id(&'a str),
    /// By name.
    Name(&'a str),
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

/// The tenant's service providers, by name.
pub async fn list(state: &AppState, scope: &Scope) -> AdminResult<Vec<ServiceProvider>> {
    Ok(service_providers::list(&state.db, scope.tenant_id())
        .await?
        .iter()
        .map(service_providers::ServiceProvider::to_wire)
        .collect())
}

pub(crate) async fn find(
    state: &AppState,
    scope: &Scope,
    which: Which<'_>,
) -> AdminResult<service_providers::ServiceProvider> {
    match which {
        Which::Id(id) => Ok(service_providers::get(&state.db, scope.tenant_id(), object_id(id)?).await?),
        Which::Name(name) => service_providers::find_by_name(&state.db, scope.tenant_id(), name)
            .await?
            .ok_or_else(AdminError::not_found),
    }
}

/// One service provider.
pub async fn get(state: &AppState, scope: &Scope, which: Which<'_>) -> AdminResult<ServiceProvider> {
    Ok(find(state, scope, which).await?.to_wire())
}

/// Registers a service provider from a preset.
pub async fn create(
    state: &AppState,
    scope: &Scope,
    body: CreateServiceProviderRequest,
) -> AdminResult<ServiceProvider> {
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
    let new = NewServiceProvider {
        name: checked(name)?,
        preset: body.preset,
        entity_id: checked(entity_id)?,
        acs: checked(acs)?,
        name_id_format: body.name_id_format,
        want_requests_signed: body.want_requests_signed,
        request_signing_certs: checked(certs)?,
    };
    let sp = service_providers::create(&state.db, scope.tenant_id(), new)
        .await?
        .to_wire();
    scope
        .changed(
            state,
            "service_provider.create",
            Some(sp.entity_id.clone()),
            json!({"after": sp}),
        )
        .await?;
    Ok(sp)
}

/// Registers a service provider from its SAML metadata, given as XML or fetched from an
/// https URL.
pub async fn import(
    state: &AppState,
    scope: &Scope,
    body: ImportServiceProviderRequest,
) -> AdminResult<ServiceProvider> {
    let dev = state.hosts.dev_mode();
    let name = Handle::parse(&body.name).map_err(|e| AdminError::field("name", e.0))?;
    let xml = match (&body.metadata_xml, &body.metadata_url) {
        (Some(xml), None) => xml.clone(),
        (None, Some(url)) => fetch_metadata(state, url).await?,
        _ => {
            return Err(AdminError::field(
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
    let sp = service_providers::create(&state.db, scope.tenant_id(), new)
        .await?
        .to_wire();
    scope
        .changed(
            state,
            "service_provider.create",
            Some(sp.entity_id.clone()),
            json!({"after": sp, "from": "metadata"}),
        )
        .await?;
    Ok(sp)
}

/// Edits a service provider's endpoints, mapping or options; only the fields present change.
pub async fn update(
    state: &AppState,
    scope: &Scope,
    which: Which<'_>,
    body: UpdateServiceProviderRequest,
) -> AdminResult<ServiceProvider> {
    let id = find(state, scope, which).await?.id;
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
    let (before, after) = service_providers::update(&state.db, scope.tenant_id(), id, change).await?;
    let (before, after) = (before.to_wire(), after.to_wire());
    scope
        .changed(
            state,
            "service_provider.update",
            Some(after.entity_id.clone()),
            json!({"before": before, "after": after}),
        )
        .await?;
    Ok(after)
}

/// SP metadata from an admin-supplied URL, within the outbound policy (https, public
/// addresses only outside dev mode, no redirects, 10 s, at most the metadata size cap).
async fn fetch_metadata(state: &AppState, url: &str) -> AdminResult<String> {
    let body = state
        .outbound
        .get(url, crate::saml::sp_metadata::MAX_METADATA_BYTES)
        .await
        .map_err(|e| AdminError::field("metadata_url", format!("the metadata could not be fetched: {e}")))?;
    String::from_utf8(body).map_err(|_| AdminError::field("metadata_url", "the metadata is not UTF-8 text"))
}

/// Deletes a service provider; returns what it was.
pub async fn delete(state: &AppState, scope: &Scope, which: Which<'_>) -> AdminResult<ServiceProvider> {
    let id = find(state, scope, which).await?.id;
    let gone = service_providers::delete(&state.db, scope.tenant_id(), id)
        .await?
        .to_wire();
    scope
        .changed(
            state,
            "service_provider.delete",
            Some(gone.entity_id.clone()),
            json!({"before": gone}),
        )
        .await?;
    Ok(gone)
}
