//! Tenant signing keys: generated at tenant creation, sealed at rest, parsed on use.

use chrono::Utc;
use rosetta_entity::signing_key::{self, KeyState};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::{ServiceError, ServiceResult};
use crate::crypto::{Keyring, SecretContext};
use crate::saml::keys::SigningKey;

/// Associated-data kind of a sealed private key.
pub(crate) const KIND: &str = "signing_key.private_key";

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

/// Generates a key for `tenant_id` in `state`, sealing the private key under the master key.
pub async fn generate<C: ConnectionTrait>(
    db: &C,
    keyring: &Keyring,
    tenant_id: Uuid,
    common_name: &str,
    state: KeyState,
) -> ServiceResult<signing_key::Model> {
    // RSA generation takes tens of milliseconds: keep it off the async workers.
    let cn = common_name.to_owned();
    let key = tokio::task::spawn_blocking(move || SigningKey::generate(&cn))
        .await
        .map_err(internal)?
        .map_err(internal)?;
    let id = crate::db::new_id();
    let sealed = keyring
        .seal(
            SecretContext {
                tenant: &tenant_id.to_string(),
                kind: KIND,
                record: &id.to_string(),
            },
            &key.private_key_der().map_err(internal)?,
        )
        .map_err(internal)?;
    let now = Utc::now();
    let row = signing_key::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        state: Set(state),
        private_key: Set(sealed),
        certificate: Set(key.cert_der().to_vec()),
        created_at: Set(now),
        activated_at: Set((state == KeyState::Active).then_some(now)),
        retired_at: Set(None),
        expiry_warned: Set(None),
    };
    Ok(row.insert(db).await?)
}

/// Keys in metadata order: the active key, then any `next` key.
pub async fn published<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> ServiceResult<Vec<signing_key::Model>> {
    let mut keys = signing_key::Entity::find()
        .filter(signing_key::Column::TenantId.eq(tenant_id))
        .filter(signing_key::Column::State.is_in([KeyState::Active, KeyState::Next]))
        .order_by_asc(signing_key::Column::CreatedAt)
        .all(db)
        .await?;
    keys.sort_by_key(|k| k.state != KeyState::Active);
    Ok(keys)
}

/// The tenant's active key, unsealed and parsed.
pub async fn active<C: ConnectionTrait>(db: &C, keyring: &Keyring, tenant_id: Uuid) -> ServiceResult<SigningKey> {
    unseal(keyring, &active_row(db, tenant_id).await?)
}

/// The tenant's active key row (still sealed).
pub async fn active_row<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> ServiceResult<signing_key::Model> {
    signing_key::Entity::find()
        .filter(signing_key::Column::TenantId.eq(tenant_id))
        .filter(signing_key::Column::State.eq(KeyState::Active))
        .order_by_desc(signing_key::Column::ActivatedAt)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::NotFound("this tenant has no active signing key".into()))
}

/// Opens and parses a stored key.
pub fn unseal(keyring: &Keyring, row: &signing_key::Model) -> ServiceResult<SigningKey> {
    let der = keyring
        .open(
            SecretContext {
                tenant: &row.tenant_id.to_string(),
                kind: KIND,
                record: &row.id.to_string(),
            },
            &row.private_key,
        )
        .map_err(internal)?;
    SigningKey::from_der(&der, &row.certificate).map_err(internal)
}

/// Every key of the tenant, newest first (for listings).
pub async fn list<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> ServiceResult<Vec<signing_key::Model>> {
    Ok(signing_key::Entity::find()
        .filter(signing_key::Column::TenantId.eq(tenant_id))
        .order_by_desc(signing_key::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Publishes a new key in metadata without signing with it yet, so SPs that read metadata
/// (or admins who paste certificates) can trust it before it is used.
pub async fn create_next(
    db: &sea_orm::DatabaseConnection,
    keyring: &Keyring,
    tenant_id: Uuid,
    common_name: &str,
) -> ServiceResult<signing_key::Model> {
    let existing = signing_key::Entity::find()
        .filter(signing_key::Column::TenantId.eq(tenant_id))
        .filter(signing_key::Column::State.eq(KeyState::Next))
        .one(db)
        .await?;
    if existing.is_some() {
        return Err(ServiceError::Conflict(
            "a next key is already published: promote it first".into(),
        ));
    }
    generate(db, keyring, tenant_id, common_name, KeyState::Next).await
}

/// Makes the next key the signing key and retires the previous one, atomically. SPs that
/// pinned the old certificate must have been given the new one first.
pub async fn promote(db: &sea_orm::DatabaseConnection, tenant_id: Uuid) -> ServiceResult<signing_key::Model> {
    use sea_orm::{IntoActiveModel, TransactionTrait};
    let txn = db.begin().await?;
    let next = signing_key::Entity::find()
        .filter(signing_key::Column::TenantId.eq(tenant_id))
        .filter(signing_key::Column::State.eq(KeyState::Next))
        .one(&txn)
        .await?
        .ok_or_else(|| ServiceError::NotFound("there is no next key to promote: publish one first".into()))?;
    let now = Utc::now();
    for old in signing_key::Entity::find()
        .filter(signing_key::Column::TenantId.eq(tenant_id))
        .filter(signing_key::Column::State.eq(KeyState::Active))
        .all(&txn)
        .await?
    {
        let mut row = old.into_active_model();
        row.state = Set(KeyState::Retired);
        row.retired_at = Set(Some(now));
        row.update(&txn).await?;
    }
    let mut row = next.into_active_model();
    row.state = Set(KeyState::Active);
    row.activated_at = Set(Some(now));
    let promoted = row.update(&txn).await?;
    txn.commit().await?;
    Ok(promoted)
}

/// A key's state as the API names it.
pub fn wire_state(state: KeyState) -> rosetta_api::KeyState {
    match state {
        KeyState::Next => rosetta_api::KeyState::Next,
        KeyState::Active => rosetta_api::KeyState::Active,
        KeyState::Retired => rosetta_api::KeyState::Retired,
    }
}

/// A key as admins see it (never the private key).
pub fn to_wire(row: &signing_key::Model) -> ServiceResult<rosetta_api::SigningKey> {
    let (pem, not_after) = certificate_text(row)?;
    Ok(rosetta_api::SigningKey {
        id: row.id.to_string(),
        state: wire_state(row.state),
        certificate_pem: pem,
        fingerprint_sha256: crate::saml::keys::cert_fingerprint_sha256(&row.certificate),
        not_after,
        created_at: row.created_at.to_rfc3339(),
    })
}

/// Whole days until the key's certificate expires (negative once it has).
pub fn days_left(row: &signing_key::Model) -> ServiceResult<i64> {
    Ok(seconds_left(row)? / 86_400)
}

/// Seconds until the key's certificate expires (negative once it has).
pub fn seconds_left(row: &signing_key::Model) -> ServiceResult<i64> {
    let cert = openssl::x509::X509::from_der(&row.certificate).map_err(internal)?;
    let now = openssl::asn1::Asn1Time::days_from_now(0).map_err(internal)?;
    let diff = now.diff(cert.not_after()).map_err(internal)?;
    Ok(i64::from(diff.days) * 86_400 + i64::from(diff.secs))
}

/// Every published key (active or next) of every tenant: what the expiry gauge reads.
pub async fn all_published<C: ConnectionTrait>(db: &C) -> ServiceResult<Vec<signing_key::Model>> {
    Ok(signing_key::Entity::find()
        .filter(signing_key::Column::State.is_in([KeyState::Active, KeyState::Next]))
        .all(db)
        .await?)
}

/// Records that the owners were emailed about the key's expiry at `threshold` days.
pub async fn set_expiry_warned(db: &sea_orm::DatabaseConnection, id: Uuid, threshold: i32) -> ServiceResult<()> {
    signing_key::Entity::update_many()
        .col_expr(
            signing_key::Column::ExpiryWarned,
            sea_orm::sea_query::Expr::value(threshold),
        )
        .filter(signing_key::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The key's certificate as PEM, and its expiry as text.
pub fn certificate_text(row: &signing_key::Model) -> ServiceResult<(String, String)> {
    let cert = openssl::x509::X509::from_der(&row.certificate).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let pem = cert.to_pem().map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok((String::from_utf8_lossy(&pem).into_owned(), cert.not_after().to_string()))
}

/// Retires a key that no longer signs (a `next` key never promoted, or an old active one
/// already replaced): it leaves the metadata. The active key cannot be retired.
pub async fn retire(db: &sea_orm::DatabaseConnection, tenant_id: Uuid, id: Uuid) -> ServiceResult<signing_key::Model> {
    use sea_orm::IntoActiveModel;
    let row = signing_key::Entity::find_by_id(id)
        .filter(signing_key::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::NotFound("no such signing key".into()))?;
    match row.state {
        KeyState::Active => Err(ServiceError::Conflict(
            "the active key signs every response: publish and promote a next key first".into(),
        )),
        KeyState::Retired => Ok(row),
        KeyState::Next => {
            let mut active = row.into_active_model();
            active.state = Set(KeyState::Retired);
            active.retired_at = Set(Some(Utc::now()));
            Ok(active.update(db).await?)
        }
    }
}
