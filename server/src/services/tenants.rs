//! Tenants: create (with their first signing key), list, look up.

use chrono::Utc;
use rosetta_entity::signing_key::KeyState;
use rosetta_entity::tenant::{self, TenantStatus};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
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
    let txn = db.begin().await?;
    let tenant = create_in(&txn, keyring, hosts, slug, name).await?;
    txn.commit().await?;
    Ok(tenant)
}

/// [`create`] inside the caller's transaction.
pub async fn create_in<C: ConnectionTrait>(
    db: &C,
    keyring: &Keyring,
    hosts: &HostRouter,
    slug: &TenantSlug,
    name: &DisplayName,
) -> ServiceResult<tenant::Model> {
    let now = Utc::now();
    let row = tenant::ActiveModel {
        id: Set(crate::db::new_id()),
        slug: Set(slug.to_string()),
        display_name: Set(name.to_string()),
        status: Set(TenantStatus::Active),
        admin_mfa_required: Set(false),
        end_user_mfa: Set("off".into()),
        mfa_trust_upstream: Set(false),
        mfa_trusted_acr: Set(None),
        mfa_max_age_hours: Set(None),
        liveness_interval_hours: Set(6),
        deactivate_after_days: Set(None),
        liveness_checked_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let tenant = row
        .insert(db)
        .await
        .map_err(conflict_on_unique(format!("tenant `{slug}` already exists")))?;
    signing_keys::generate(db, keyring, tenant.id, &hosts.idp_entity_id(slug), KeyState::Active).await?;
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

/// The tenant with this ID, or [`super::ServiceError::NotFound`].
pub async fn by_id(db: &DatabaseConnection, id: Uuid) -> ServiceResult<tenant::Model> {
    tenant::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| super::ServiceError::NotFound("no such tenant".into()))
}

/// The tenant with this slug, or [`super::ServiceError::NotFound`].
pub async fn get(db: &DatabaseConnection, slug: &TenantSlug) -> ServiceResult<tenant::Model> {
    find(db, slug)
        .await?
        .ok_or_else(|| super::ServiceError::NotFound(format!("no tenant `{slug}`")))
}

/// The wire view of a tenant.
pub fn to_wire(t: &tenant::Model, hosts: &HostRouter) -> rosetta_api::Tenant {
    let url = TenantSlug::parse(&t.slug)
        .map(|s| hosts.tenant_url(&s))
        .unwrap_or_default();
    rosetta_api::Tenant {
        id: t.id.to_string(),
        slug: t.slug.clone(),
        display_name: t.display_name.clone(),
        status: match t.status {
            TenantStatus::Active => rosetta_api::TenantStatus::Active,
            TenantStatus::Suspended => rosetta_api::TenantStatus::Suspended,
        },
        url,
        created_at: t.created_at.to_rfc3339(),
    }
}

/// What an admin pastes into a service provider: entity ID, SSO URL, certificates.
pub async fn idp_info(
    db: &DatabaseConnection,
    hosts: &HostRouter,
    tenant: &tenant::Model,
) -> ServiceResult<rosetta_api::IdpInfo> {
    let slug = TenantSlug::parse(&tenant.slug).map_err(super::ServiceError::invalid("slug"))?;
    let mut certificates = Vec::new();
    for row in signing_keys::published(db, tenant.id).await? {
        let (pem, not_after) = signing_keys::certificate_text(&row)?;
        certificates.push(rosetta_api::CertificateInfo {
            state: signing_keys::wire_state(row.state),
            pem,
            fingerprint_sha256: crate::saml::keys::cert_fingerprint_sha256(&row.certificate),
            not_after,
            days_left: signing_keys::days_left(&row)?,
        });
    }
    Ok(rosetta_api::IdpInfo {
        entity_id: hosts.idp_entity_id(&slug),
        sso_url: hosts.sso_url(&slug),
        metadata_url: hosts.idp_entity_id(&slug),
        certificates,
    })
}

/// Tenant settings an admin may change; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct TenantUpdate {
    /// Display name.
    pub display_name: Option<DisplayName>,
    /// Require TOTP for admins.
    pub admin_mfa_required: Option<bool>,
    /// End-user MFA policy (`off`, `optional`, `required`).
    pub end_user_mfa: Option<&'static str>,
    /// Trust the provider's second factor.
    pub mfa_trust_upstream: Option<bool>,
    /// Trusted `acr` values (already checked), space-separated; empty clears.
    pub mfa_trusted_acr: Option<String>,
    /// Hours before asking again; 0 clears.
    pub mfa_max_age_hours: Option<u32>,
    /// Hours between liveness runs (checked: 1 to 168).
    pub liveness_interval_hours: Option<u32>,
    /// Days without a login before a user departs; 0 clears.
    pub deactivate_after_days: Option<u32>,
}

/// Applies an update; returns the row before and after.
pub async fn update(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    change: TenantUpdate,
) -> ServiceResult<(tenant::Model, tenant::Model)> {
    use sea_orm::IntoActiveModel;
    let before = by_id(db, tenant_id).await?;
    let mut row = before.clone().into_active_model();
    if let Some(name) = change.display_name {
        row.display_name = Set(name.to_string());
    }
    if let Some(required) = change.admin_mfa_required {
        row.admin_mfa_required = Set(required);
    }
    if let Some(policy) = change.end_user_mfa {
        row.end_user_mfa = Set(policy.into());
    }
    if let Some(trust) = change.mfa_trust_upstream {
        row.mfa_trust_upstream = Set(trust);
    }
    if let Some(acr) = change.mfa_trusted_acr {
        row.mfa_trusted_acr = Set(Some(acr).filter(|a| !a.is_empty()));
    }
    if let Some(hours) = change.mfa_max_age_hours {
        row.mfa_max_age_hours = Set(i32::try_from(hours).ok().filter(|h| *h > 0));
    }
    if let Some(hours) = change.liveness_interval_hours {
        row.liveness_interval_hours = Set(i32::try_from(hours).unwrap_or(6));
    }
    if let Some(days) = change.deactivate_after_days {
        row.deactivate_after_days = Set(i32::try_from(days).ok().filter(|d| *d > 0));
    }
    row.updated_at = Set(Utc::now());
    let after = row.update(db).await?;
    Ok((before, after))
}
