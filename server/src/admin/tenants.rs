//! The operator's tenants (the command line): create, list, show. Tenants that sign up
//! themselves are created by [`super::accounts::sign_up`].

use rosetta_api::{AuditOutcome, Tenant, TenantDetails};
use serde_json::json;

use super::{Actor, AdminResult, Origin, Recorded, record};
use crate::domain::{DisplayName, TenantSlug};
use crate::services::tenants;
use crate::state::AppState;

/// Creates an active tenant and its signing key; audited with the operator as actor.
pub async fn create(state: &AppState, slug: &TenantSlug, name: &DisplayName) -> AdminResult<Tenant> {
    let row = tenants::create(&state.db, &state.keyring, &state.hosts, slug, name).await?;
    record(
        state,
        Recorded {
            tenant_id: Some(row.id),
            actor: &Actor::Operator,
            origin: &Origin::command_line(),
            action: "tenant.create",
            outcome: AuditOutcome::Success,
            target: Some(slug.to_string()),
            detail: json!({"display_name": row.display_name}),
        },
    )
    .await?;
    Ok(tenants::to_wire(&row, &state.hosts))
}

/// Every tenant, by slug.
pub async fn list(state: &AppState) -> AdminResult<Vec<Tenant>> {
    Ok(tenants::list(&state.db)
        .await?
        .iter()
        .map(|t| tenants::to_wire(t, &state.hosts))
        .collect())
}

/// One tenant with what to paste into its service providers.
pub async fn show(state: &AppState, slug: &TenantSlug) -> AdminResult<TenantDetails> {
    let row = tenants::get(&state.db, slug).await?;
    Ok(TenantDetails {
        idp: tenants::idp_info(&state.db, &state.hosts, &row).await?,
        tenant: tenants::to_wire(&row, &state.hosts),
    })
}
