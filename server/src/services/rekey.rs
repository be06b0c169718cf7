//! Re-sealing every secret at rest under the newest master key, after a rotation.
//!
//! Row by row and idempotent: a run that stops half-way is finished by running it again,
//! and replicas keep serving meanwhile, since every configured key still opens what it
//! sealed.

use rosetta_entity::{admin_account, end_user, end_user_grant, identity_source, provisioning_target, signing_key};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, IntoActiveModel, Set};
use serde::Serialize;

use super::{ServiceError, ServiceResult};
use crate::crypto::{Keyring, SecretContext};

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct RekeyReport {
    /// Secrets re-sealed under the newest key.
    pub resealed: u64,
    /// Secrets already under the newest key.
    pub current: u64,
}

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

/// The envelope re-sealed under the primary key, or `None` when it already is.
fn reseal(
    keyring: &Keyring,
    ctx: SecretContext<'_>,
    sealed: &[u8],
    report: &mut RekeyReport,
) -> ServiceResult<Option<Vec<u8>>> {
    if !keyring.is_stale(sealed) {
        report.current += 1;
        return Ok(None);
    }
    let plain = keyring.open(ctx, sealed).map_err(internal)?;
    let fresh = keyring.seal(ctx, &plain).map_err(internal)?;
    report.resealed += 1;
    Ok(Some(fresh))
}

/// Re-seals client secrets, signing keys, TOTP seeds (admins' and end users'), provisioning
/// API keys and users' refresh tokens still under an older master key.
pub async fn run(db: &DatabaseConnection, keyring: &Keyring) -> ServiceResult<RekeyReport> {
    let mut report = RekeyReport::default();
    for row in identity_source::Entity::find().all(db).await? {
        let (tenant, record) = (row.tenant_id.to_string(), row.id.to_string());
        let ctx = SecretContext {
            tenant: &tenant,
            kind: super::identity_sources::KIND,
            record: &record,
        };
        if let Some(sealed) = reseal(keyring, ctx, &row.client_secret, &mut report)? {
            let mut active = row.into_active_model();
            active.client_secret = Set(sealed);
            active.update(db).await?;
        }
    }
    for row in signing_key::Entity::find().all(db).await? {
        let (tenant, record) = (row.tenant_id.to_string(), row.id.to_string());
        let ctx = SecretContext {
            tenant: &tenant,
            kind: super::signing_keys::KIND,
            record: &record,
        };
        if let Some(sealed) = reseal(keyring, ctx, &row.private_key, &mut report)? {
            let mut active = row.into_active_model();
            active.private_key = Set(sealed);
            active.update(db).await?;
        }
    }
    for row in admin_account::Entity::find().all(db).await? {
        let Some(secret) = row.totp_secret.clone() else {
            continue;
        };
        let record = row.id.to_string();
        let ctx = super::second_factor::admin_context(&record);
        if let Some(sealed) = reseal(keyring, ctx, &secret, &mut report)? {
            let mut active = row.into_active_model();
            active.totp_secret = Set(Some(sealed));
            active.update(db).await?;
        }
    }
    for row in end_user::Entity::find().all(db).await? {
        let Some(secret) = row.totp_secret.clone() else {
            continue;
        };
        let (tenant, record) = (row.tenant_id.to_string(), row.id.to_string());
        let ctx = SecretContext {
            tenant: &tenant,
            kind: super::second_factor::END_USER_KIND,
            record: &record,
        };
        if let Some(sealed) = reseal(keyring, ctx, &secret, &mut report)? {
            let mut active = row.into_active_model();
            active.totp_secret = Set(Some(sealed));
            active.update(db).await?;
        }
    }
    for row in provisioning_target::Entity::find().all(db).await? {
        let (tenant, record) = (row.tenant_id.to_string(), row.id.to_string());
        let ctx = SecretContext {
            tenant: &tenant,
            kind: super::provisioning::KIND,
            record: &record,
        };
        if let Some(sealed) = reseal(keyring, ctx, &row.api_key, &mut report)? {
            let mut active = row.into_active_model();
            active.api_key = Set(sealed);
            active.update(db).await?;
        }
    }
    for row in end_user_grant::Entity::find().all(db).await? {
        let Some(secret) = row.refresh_token.clone() else {
            continue;
        };
        let (tenant, record) = (row.tenant_id.to_string(), row.end_user_id.to_string());
        let ctx = SecretContext {
            tenant: &tenant,
            kind: super::grants::KIND,
            record: &record,
        };
        if let Some(sealed) = reseal(keyring, ctx, &secret, &mut report)? {
            let mut active = row.into_active_model();
            active.refresh_token = Set(Some(sealed));
            active.update(db).await?;
        }
    }
    Ok(report)
}
