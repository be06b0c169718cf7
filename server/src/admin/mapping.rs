//! What a service provider receives: its attribute rules, NameID and groups rule, saved
//! after they compile (every rule that does not is a field error naming it), and the
//! preview of them for a known user or a sample set of claims. Every change is audited.

use rosetta_api::{Mapping, MappingPreview, MappingPreviewRequest, PreviewAttribute, PreviewProblem, ServiceProvider};
use serde_json::{Map, Value, json};

use super::service_providers::{Which, find};
use super::{AdminError, AdminResult, Scope, object_id};
use crate::mapping::Subject;
use crate::oidc::preset::{self, Groups, ProviderChecks};
use crate::services::{ServiceError, end_users, identity_sources, service_providers};
use crate::state::AppState;

/// At most this many bytes of sample claims.
const MAX_SAMPLE_BYTES: usize = 64 * 1024;

/// Replaces the SP's whole mapping (and its NameID format when given).
pub async fn set(state: &AppState, scope: &Scope, which: Which<'_>, mapping: Mapping) -> AdminResult<ServiceProvider> {
    let id = find(state, scope, which).await?.id;
    let (before, after) = service_providers::set_mapping(&state.db, scope.tenant_id(), id, mapping).await?;
    scope
        .changed(
            state,
            "service_provider.mapping",
            Some(after.entity_id.clone()),
            json!({"before": before.mapping(), "after": after.mapping()}),
        )
        .await?;
    Ok(after.to_wire())
}

/// Runs a mapping (the saved one, or the one given) for a user's last login or for sample
/// claims: what the SP would receive, and every problem with whether it refuses the login.
pub async fn preview(
    state: &AppState,
    scope: &Scope,
    which: Which<'_>,
    body: MappingPreviewRequest,
) -> AdminResult<MappingPreview> {
    let sp = find(state, scope, which).await?;
    let mapping = body.mapping.unwrap_or_else(|| sp.mapping());
    let format = mapping
        .name_id_format
        .clone()
        .unwrap_or_else(|| sp.name_id_format.clone());
    if !crate::saml::uri::SUPPORTED_NAMEID_FORMATS.contains(&format.as_str()) {
        return Err(AdminError::field("name_id_format", "unsupported NameID format"));
    }
    let compiled = crate::mapping::compile(&mapping).map_err(|e| AdminError::from(ServiceError::Rules(e)))?;
    let (user_id, email, name, claims, groups) = match (&body.user_id, &body.claims_json) {
        (Some(id), None) => {
            let user = end_users::get(&state.db, scope.tenant_id(), object_id(id)?).await?;
            let snapshot = end_users::snapshot_of(&user);
            (user.id, user.email, user.display_name, snapshot.claims, snapshot.groups)
        }
        (None, Some(text)) => {
            let claims = sample_claims(text)?;
            let groups = match preset::groups(&groups_checks(state, scope, &claims).await?, &claims) {
                Groups::Listed(list) => Some(list),
                Groups::Overage { .. } | Groups::Unreadable(_) => None,
            };
            let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_owned);
            let email = text("email")
                .or_else(|| text("preferred_username"))
                .or_else(|| text("upn"))
                .unwrap_or_default();
            (uuid::Uuid::nil(), email, text("name"), claims, groups)
        }
        _ => {
            return Err(AdminError::field(
                "user_id",
                "name a user (user_id) or give sample claims (claims_json), one of the two",
            ));
        }
    };
    let given = claims.get("given_name").and_then(Value::as_str);
    let family = claims.get("family_name").and_then(Value::as_str);
    let subject = Subject {
        user_id,
        email: &email,
        given_name: given,
        family_name: family,
        name: name.as_deref(),
        claims: &claims,
        groups: groups.as_deref(),
    };
    let found = compiled.preview(&format, sp.pairwise_salt.as_deref(), &subject);
    Ok(MappingPreview {
        name_id: found.name_id,
        name_id_format: format,
        attributes: found
            .attributes
            .into_iter()
            .map(|(name, values)| PreviewAttribute { name, values })
            .collect(),
        upstream_groups: groups,
        groups: found.groups,
        problems: found
            .problems
            .into_iter()
            .map(|(e, refuses_login)| PreviewProblem {
                rule: e.rule,
                message: e.message,
                refuses_login,
            })
            .collect(),
        claims_json: serde_json::to_string_pretty(&claims).unwrap_or_default(),
    })
}

/// Sample claims: a JSON object of at most 64 KiB.
fn sample_claims(text: &str) -> AdminResult<Map<String, Value>> {
    if text.len() > MAX_SAMPLE_BYTES {
        return Err(AdminError::field("claims_json", "sample claims are at most 64 KiB"));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(AdminError::field(
            "claims_json",
            "sample claims are a JSON object, as an ID token's payload",
        )),
        Err(e) => Err(AdminError::field("claims_json", format!("not JSON: {e}"))),
    }
}

/// Where sample claims carry groups: the groups claim of the tenant's first source that
/// names one present in the sample, else `groups`.
async fn groups_checks(state: &AppState, scope: &Scope, claims: &Map<String, Value>) -> AdminResult<ProviderChecks> {
    let sources = identity_sources::list(&state.db, scope.tenant_id()).await?;
    let claim = sources
        .iter()
        .map(|s| s.groups_claim.as_str())
        .find(|c| !c.is_empty() && claims.contains_key(*c))
        .unwrap_or("groups");
    Ok(ProviderChecks {
        groups_claim: claim.to_owned(),
        ..ProviderChecks::default()
    })
}
