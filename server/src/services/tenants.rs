//! Tenants: create, list, look up.

use chrono::Utc;
use rosetta_entity::tenant::{self, TenantStatus};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set, SqlErr};
use uuid::Uuid;

use super::{ServiceError, ServiceResult};
use crate::domain::{DisplayName, TenantSlug};

/// Creates an active tenant. The slug is unique deployment-wide.
pub async fn create(db: &DatabaseConnection, slug: &TenantSlug, name: &DisplayName) -> ServiceResult<tenant::Model> {
    let now = Utc::now();
    let row = tenant::ActiveModel {
        id: Set(Uuid::new_v4()),
        slug: Set(slug.to_string()),
        display_name: Set(name.to_string()),
        status: Set(TenantStatus::Active),
        created_at: Set(now),
        updated_at: Set(now),
    };
    row.insert(db).await.map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => ServiceError::Conflict(format!("tenant `{slug}` already exists")),
        _ => ServiceError::Database(e),
    })
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

/// The tenant with this slug, or [`ServiceError::NotFound`].
pub async fn get(db: &DatabaseConnection, slug: &TenantSlug) -> ServiceResult<tenant::Model> {
    find(db, slug)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no tenant `{slug}`")))
}
