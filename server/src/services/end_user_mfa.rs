//! End-user TOTP: the effective policy, enrolment with recovery codes, verification. The
//! seed is sealed with the master key, bound to tenant and user.

use chrono::Utc;
use rosetta_entity::{end_user, tenant};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter, Set};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::service_providers::{ServiceProvider, SpMfaPolicy};
use super::{ServiceError, ServiceResult, end_users};
use crate::credentials::{self, totp};
use crate::crypto::{Keyring, SecretContext};
use crate::oidc::VerifiedIdentity;

/// Associated-data kind of a sealed end-user TOTP seed.
pub(crate) const KIND: &str = "end_user.totp_secret";

/// What the login must do about a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Nothing.
    Off,
    /// Users may enrol; enrolled users are asked.
    Optional,
    /// Every user enrols and is asked.
    Required,
}

/// The SP's override, else the tenant's policy.
pub fn effective_policy(tenant: &tenant::Model, sp: &ServiceProvider) -> Policy {
    let tenant_policy = match tenant.end_user_mfa.as_str() {
        "required" => Policy::Required,
        "optional" => Policy::Optional,
        _ => Policy::Off,
    };
    match sp.mfa_policy {
        SpMfaPolicy::Inherit => tenant_policy,
        SpMfaPolicy::Off => Policy::Off,
        SpMfaPolicy::Optional => Policy::Optional,
        SpMfaPolicy::Required => Policy::Required,
    }
}

/// Whether the provider's ID token proves a second factor the tenant chose to trust:
/// `amr` with `mfa`, `otp` or `hwk`, or an `acr` from the tenant's list.
pub fn upstream_satisfies(tenant: &tenant::Model, identity: &VerifiedIdentity) -> bool {
    if !tenant.mfa_trust_upstream {
        return false;
    }
    let amr = identity.amr.iter().any(|m| matches!(m.as_str(), "mfa" | "otp" | "hwk"));
    let acr = identity.acr.as_deref().is_some_and(|acr| {
        tenant
            .mfa_trusted_acr
            .as_deref()
            .is_some_and(|list| list.split_whitespace().any(|a| a == acr))
    });
    amr || acr
}

fn context<'a>(tenant: &'a str, user: &'a str) -> SecretContext<'a> {
    SecretContext {
        tenant,
        kind: KIND,
        record: user,
    }
}

/// The seed to show for enrolment: the pending one if enrolment was started (a reload
/// shows the same QR code), else a new one. Refused once TOTP is on.
pub async fn begin(
    db: &DatabaseConnection,
    keyring: &Keyring,
    tenant: &tenant::Model,
    user_id: Uuid,
) -> ServiceResult<totp::Enrolment> {
    let user = end_users::get(db, tenant.id, user_id).await?;
    if user.totp_enabled_at.is_some() {
        return Err(ServiceError::Conflict("this user already has an authenticator".into()));
    }
    let (t, u) = (tenant.id.to_string(), user.id.to_string());
    let secret = match &user.totp_secret {
        Some(sealed) => keyring
            .open(context(&t, &u), sealed)
            .map_err(|e| ServiceError::Internal(e.to_string()))?,
        None => {
            let secret = Zeroizing::new(totp::generate_secret());
            let sealed = keyring
                .seal(context(&t, &u), &secret)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            let email = user.email.clone();
            let mut row = user.into_active_model();
            row.totp_secret = Set(Some(sealed));
            row.totp_last_step = Set(None);
            row.updated_at = Set(Utc::now());
            row.update(db).await?;
            return totp::enrolment(&secret, &tenant.display_name, &email)
                .map_err(|e| ServiceError::Internal(e.to_string()));
        }
    };
    totp::enrolment(&secret, &tenant.display_name, &user.email).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Accepts a TOTP code and records its step atomically (never twice).
async fn accept_code(
    db: &DatabaseConnection,
    keyring: &Keyring,
    user: &end_user::Model,
    code: &str,
) -> ServiceResult<bool> {
    let Some(sealed) = &user.totp_secret else {
        return Ok(false);
    };
    let (t, u) = (user.tenant_id.to_string(), user.id.to_string());
    let secret = keyring
        .open(context(&t, &u), sealed)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let now = Utc::now().timestamp().max(0).unsigned_abs();
    let Some(step) = totp::verify(&secret, code, now, user.totp_last_step) else {
        return Ok(false);
    };
    let done = end_user::Entity::update_many()
        .col_expr(end_user::Column::TotpLastStep, Expr::value(step))
        .filter(end_user::Column::Id.eq(user.id))
        .filter(
            sea_orm::Condition::any()
                .add(end_user::Column::TotpLastStep.is_null())
                .add(end_user::Column::TotpLastStep.lt(step)),
        )
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Confirms enrolment with a first code; returns ten recovery codes (shown once, stored
/// hashed). `Ok(None)` for a wrong code.
pub async fn confirm(
    db: &DatabaseConnection,
    keyring: &Keyring,
    tenant_id: Uuid,
    user_id: Uuid,
    code: &str,
) -> ServiceResult<Option<Vec<String>>> {
    let user = end_users::get(db, tenant_id, user_id).await?;
    if user.totp_enabled_at.is_some() {
        return Err(ServiceError::Conflict("this user already has an authenticator".into()));
    }
    if !accept_code(db, keyring, &user, code).await? {
        return Ok(None);
    }
    let codes = credentials::recovery_codes();
    let mut row = end_users::get(db, tenant_id, user_id).await?.into_active_model();
    row.totp_enabled_at = Set(Some(Utc::now()));
    row.recovery_codes = Set(Some(credentials::recovery_hashes_json(&codes)));
    row.updated_at = Set(Utc::now());
    row.update(db).await?;
    Ok(Some(codes))
}

/// Checks a 6-digit code or a recovery code (used up) of an enrolled user.
pub async fn verify(
    db: &DatabaseConnection,
    keyring: &Keyring,
    tenant_id: Uuid,
    user_id: Uuid,
    code: &str,
) -> ServiceResult<bool> {
    let user = end_users::get(db, tenant_id, user_id).await?;
    if user.totp_enabled_at.is_none() {
        return Ok(false);
    }
    let trimmed = code.trim();
    if trimmed.len() == 6 && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return accept_code(db, keyring, &user, trimmed).await;
    }
    let Some(stored) = &user.recovery_codes else {
        return Ok(false);
    };
    let Some(remaining) = credentials::consume_recovery_code(stored, code) else {
        return Ok(false);
    };
    let done = end_user::Entity::update_many()
        .col_expr(end_user::Column::RecoveryCodes, Expr::value(remaining))
        .filter(end_user::Column::Id.eq(user.id))
        .filter(end_user::Column::RecoveryCodes.eq(stored.clone()))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(policy: &str, trust: bool, acr: Option<&str>) -> tenant::Model {
        tenant::Model {
            id: Uuid::nil(),
            slug: "acme".into(),
            display_name: "Acme".into(),
            status: tenant::TenantStatus::Active,
            admin_mfa_required: false,
            end_user_mfa: policy.into(),
            mfa_trust_upstream: trust,
            mfa_trusted_acr: acr.map(str::to_owned),
            mfa_max_age_hours: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn sp(policy: SpMfaPolicy) -> ServiceProvider {
        ServiceProvider {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            name: "jira".into(),
            preset: super::super::service_providers::Preset::Atlassian,
            entity_id: "https://acme.atlassian.net".into(),
            acs: vec![],
            name_id_format: String::new(),
            attributes: vec![],
            want_requests_signed: false,
            request_signing_certs: vec![],
            mfa_policy: policy,
        }
    }

    fn identity(amr: &[&str], acr: Option<&str>) -> VerifiedIdentity {
        VerifiedIdentity {
            issuer: "https://idp".into(),
            subject: "s".into(),
            email: "a@acme.example".into(),
            given_name: None,
            family_name: None,
            name: None,
            amr: amr.iter().map(|s| (*s).to_owned()).collect(),
            acr: acr.map(str::to_owned),
        }
    }

    #[test]
    fn the_sp_overrides_the_tenant() {
        assert_eq!(
            effective_policy(&tenant("required", false, None), &sp(SpMfaPolicy::Inherit)),
            Policy::Required
        );
        assert_eq!(
            effective_policy(&tenant("required", false, None), &sp(SpMfaPolicy::Off)),
            Policy::Off
        );
        assert_eq!(
            effective_policy(&tenant("off", false, None), &sp(SpMfaPolicy::Required)),
            Policy::Required
        );
        assert_eq!(
            effective_policy(&tenant("optional", false, None), &sp(SpMfaPolicy::Inherit)),
            Policy::Optional
        );
        assert_eq!(
            effective_policy(&tenant("garbage", false, None), &sp(SpMfaPolicy::Inherit)),
            Policy::Off
        );
    }

    #[test]
    fn upstream_mfa_counts_only_when_trusted() {
        let strong = identity(&["pwd", "mfa"], None);
        assert!(
            !upstream_satisfies(&tenant("required", false, None), &strong),
            "off by default"
        );
        assert!(upstream_satisfies(&tenant("required", true, None), &strong));
        assert!(upstream_satisfies(
            &tenant("required", true, None),
            &identity(&["hwk"], None)
        ));
        assert!(!upstream_satisfies(
            &tenant("required", true, None),
            &identity(&["pwd"], None)
        ));
        let gold = identity(&["pwd"], Some("urn:acr:gold"));
        assert!(upstream_satisfies(
            &tenant("required", true, Some("urn:acr:silver urn:acr:gold")),
            &gold
        ));
        assert!(!upstream_satisfies(
            &tenant("required", true, Some("urn:acr:silver")),
            &gold
        ));
    }
}
