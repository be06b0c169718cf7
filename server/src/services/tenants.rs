//! Tenants: create (with their first signing key), list, look up.

use chrono::Utc;
use rosetta_entity::signing_key::KeyState;
use rosetta_entity::tenant::{self, TenantStatus};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use uuid::Uuid;

use super::{ServiceResult, conflict_on_unique, signing_keys};
use crate::crypto::Keyring;
use crate::domain::{DisplayName, TenantSlug};
use crate::tenancy::HostRouter;

/// Creates an active tenant and its active signing key, atomically. The slug is unique
/// deployment-wide.
pub async fn create(
    db: &DatabaseConnection,
    keyring: &Keyring,
    hosts: &HostRouter,
    slug: &TenantSlug,
    name: &DisplayName,
) -> ServiceResult<tenant::Model> {
    let now = Utc::now();
    let row = tenant::ActiveModel {
        id: Set(Uuid::new_v4()),
        slug: Set(slug.to_string()),
        display_name: Set(name.to_string()),
        status: Set(TenantStatus::Active),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let txn = db.begin().await?;
    let tenant = row
        .insert(&txn)
        .await
        .map_err(conflict_on_unique(format!("tenant `{slug}` already exists")))?;
    signing_keys::generate(&txn, keyring, tenant.id, &hosts.idp_entity_id(slug), KeyState::Active).await?;
    txn.commit().await?;
    Ok(tenant)
}

/// Every tenant, by slug.
pub async fn list(db: &DatabaseConnection) -> ServiceResult<Vec<tenant::Model>> {
    Ok(tenant::Entity::find()
        .order_by_asc(tenant::Column::Slug)
        .all(db)
        .await?)
}

/// The tenant with this slug, if any.
pub async fn find(db: &DatabaseConnection, slug: &TenantSlug) -> ServiceResult<Option<tenant::Model>> {
    Ok(tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug.as_str()))
        .one(db)
        .await?)
}

/// The tenant with this slug, or [`super::ServiceError::NotFound`].
pub async fn get(db: &DatabaseConnection, slug: &TenantSlug) -> ServiceResult<tenant::Model> {
    find(db, slug)
        .await?
        .ok_or_else(|| super::ServiceError::NotFound(format!("no tenant `{slug}`")))
}
