//! End-user TOTP in the login: the effective policy, and enrolment and verification through
//! the one second-factor implementation (`second_factor`), the seed bound to tenant and user.

use rosetta_entity::tenant;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::ServiceResult;
use super::second_factor::{self, Holder};
use super::service_providers::{ServiceProvider, SpMfaPolicy};
use crate::crypto::Keyring;
use crate::oidc::VerifiedIdentity;

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

/// Checks a 6-digit code or a recovery code (used up) of an enrolled user.
pub async fn verify(
    db: &DatabaseConnection,
    keyring: &Keyring,
    tenant_id: Uuid,
    user_id: Uuid,
    code: &str,
) -> ServiceResult<bool> {
    second_factor::verify(db, keyring, Holder::EndUser { tenant_id, user_id }, code).await
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

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
            liveness_interval_hours: 6,
            deactivate_after_days: None,
            liveness_checked_at: None,
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
            name_id: Default::default(),
            groups: Default::default(),
            want_requests_signed: false,
            request_signing_certs: vec![],
            mfa_policy: policy,
            pairwise_salt: None,
            rules: Default::default(),
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
            auth_time: None,
            ..VerifiedIdentity::default()
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
