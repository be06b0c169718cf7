//! The tenant's signing keys: publish a next key in metadata, promote it to sign, retire a
//! key that no longer signs. Private keys never leave the server.

use rosetta_api::SigningKey;
use serde_json::json;

use super::{AdminError, AdminResult, Scope, object_id};
use crate::services::signing_keys;
use crate::state::AppState;

/// The tenant's signing keys, newest first.
pub async fn list(state: &AppState, scope: &Scope) -> AdminResult<Vec<SigningKey>> {
    signing_keys::list(&state.db, scope.tenant_id())
        .await?
        .iter()
        .map(|k| Ok(signing_keys::to_wire(k)?))
        .collect()
}

/// Publishes a next key in metadata, to be promoted once SPs trust it.
pub async fn create_next(state: &AppState, scope: &Scope) -> AdminResult<SigningKey> {
    let row = signing_keys::create_next(
        &state.db,
        &state.keyring,
        scope.tenant_id(),
        &state.hosts.idp_entity_id(scope.slug()),
    )
    .await?;
    let wire = signing_keys::to_wire(&row)?;
    scope
        .changed(
            state,
            "signing_key.create",
            Some(wire.id.clone()),
            json!({"fingerprint_sha256": wire.fingerprint_sha256}),
        )
        .await?;
    Ok(wire)
}

/// Makes the next key the signing key; the old active key is retired. With `id`, only that
/// key may be the one promoted (the console names the key it shows).
pub async fn promote(state: &AppState, scope: &Scope, id: Option<&str>) -> AdminResult<SigningKey> {
    if let Some(id) = id {
        let id = object_id(id)?;
        let target = signing_keys::list(&state.db, scope.tenant_id())
            .await?
            .into_iter()
            .find(|k| k.id == id)
            .ok_or_else(AdminError::not_found)?;
        if target.state != rosetta_entity::signing_key::KeyState::Next {
            return Err(AdminError::Conflict(
                "only the published next key can be promoted".into(),
            ));
        }
    }
    let row = signing_keys::promote(&state.db, scope.tenant_id()).await?;
    let wire = signing_keys::to_wire(&row)?;
    scope
        .changed(
            state,
            "signing_key.promote",
            Some(wire.id.clone()),
            json!({"fingerprint_sha256": wire.fingerprint_sha256}),
        )
        .await?;
    Ok(wire)
}

/// Retires a key that does not sign (it leaves the metadata).
pub async fn retire(state: &AppState, scope: &Scope, id: &str) -> AdminResult<SigningKey> {
    let row = signing_keys::retire(&state.db, scope.tenant_id(), object_id(id)?).await?;
    let wire = signing_keys::to_wire(&row)?;
    scope
        .changed(
            state,
            "signing_key.retire",
            Some(wire.id.clone()),
            json!({"fingerprint_sha256": wire.fingerprint_sha256}),
        )
        .await?;
    Ok(wire)
}
