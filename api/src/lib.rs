//! Wire types shared by the Rosetta server and its console.
//!
//! This crate is serde-only on purpose: it compiles to `wasm32-unknown-unknown` for the
//! console and carries no database or server types.

use serde::{Deserialize, Serialize};

mod admin;
pub use admin::*;

/// Lifecycle state of a tenant.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Brokering endpoints answer.
    Active,
    /// Brokering endpoints answer 404; data is kept.
    Suspended,
}

/// A tenant as operators and the console see it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Stable identifier.
    pub id: String,
    /// DNS label under the public host (`acme` for `acme.rosetta.example.com`).
    pub slug: String,
    /// Human name shown on pages.
    pub display_name: String,
    /// Lifecycle state.
    pub status: TenantStatus,
    /// Base URL of the tenant's brokering endpoints.
    pub url: String,
    /// RFC 3339 creation time.
    pub created_at: String,
}

/// State of one dependency in a readiness report.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// `ok` or `unavailable`.
    pub status: String,
    /// Which backend answered (`sqlite`, `postgres`, `redis`, `memory`).
    pub backend: String,
    /// Why the check failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Body of `GET /readyz`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadinessReport {
    /// `ready` when every check passed, else `not_ready`.
    pub status: String,
    /// The database check.
    pub database: CheckResult,
    /// The session store check.
    pub store: CheckResult,
}

/// Error body of every JSON endpoint: a stable code for programs, a message for people.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable machine-readable code, e.g. `not_found`, `invalid_field`, `rate_limited`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Correlation ID that also appears in the server log.
    pub request_id: String,
    /// Field-level problems, for forms to show next to the field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
    /// Seconds to wait before trying again (with `rate_limited`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// One field's problem.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field, as named in the request body.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// A tenant with what an admin pastes into their service providers.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantDetails {
    /// The tenant.
    #[serde(flatten)]
    pub tenant: Tenant,
    /// Rosetta's identity-provider side for this tenant.
    pub idp: IdpInfo,
}

/// Rosetta as a SAML IdP for one tenant (Atlassian: "Identity provider Entity ID",
/// "Identity provider SSO URL", "Public x509 certificate").
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpInfo {
    /// IdP entity ID.
    pub entity_id: String,
    /// SSO URL (HTTP-Redirect and HTTP-POST).
    pub sso_url: String,
    /// Metadata URL.
    pub metadata_url: String,
    /// Published signing certificates, the active one first.
    pub certificates: Vec<CertificateInfo>,
}

/// A published signing certificate.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateInfo {
    /// `active` or `next`.
    pub state: String,
    /// PEM text.
    pub pem: String,
    /// SHA-256 fingerprint, colon-separated hex.
    pub fingerprint_sha256: String,
    /// Expiry, as text.
    pub not_after: String,
}

/// How a service provider was set up.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// Atlassian Cloud (Guard): email NameID and the four claims Atlassian reads.
    Atlassian,
    /// Any SAML 2.0 SP.
    Generic,
}

/// One registered ACS endpoint.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcsEndpoint {
    /// `AssertionConsumerServiceIndex`.
    pub index: u16,
    /// The URL, exactly as registered.
    pub url: String,
    /// Used when a request names neither URL nor index.
    pub default: bool,
}

/// Which identity value an attribute carries.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Claim {
    /// The verified email.
    Email,
    /// Given name.
    GivenName,
    /// Family name.
    FamilyName,
    /// Full name.
    Name,
    /// Rosetta's stable user ID (from issuer + sub, never the email).
    UserId,
}

/// One attribute a service provider receives.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeRule {
    /// SAML attribute `Name`.
    pub name: String,
    /// SAML `NameFormat`.
    pub name_format: String,
    /// Which value.
    pub claim: Claim,
}

/// A SAML service provider of a tenant.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceProvider {
    /// Identifier.
    pub id: String,
    /// Short name (used in `/saml/init/{name}`).
    pub name: String,
    /// Preset it was created from.
    pub preset: Preset,
    /// The SP's entity ID.
    pub entity_id: String,
    /// ACS endpoints.
    pub acs: Vec<AcsEndpoint>,
    /// NameID format URI.
    pub name_id_format: String,
    /// Attributes released.
    pub attributes: Vec<AttributeRule>,
    /// Whether AuthnRequests must be signed.
    pub want_requests_signed: bool,
    /// Base64 DER certificates that may sign AuthnRequests (public keys, not secrets).
    #[serde(default)]
    pub request_signing_certs: Vec<String>,
    /// End-user MFA for this SP.
    #[serde(default)]
    pub mfa_policy: SpMfaPolicy,
}

/// An upstream OpenID Connect provider of a tenant. The client secret is write-only and
/// never appears here.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentitySource {
    /// Identifier.
    pub id: String,
    /// Short name (used in `/oidc/callback/{name}`).
    pub name: String,
    /// Issuer URL.
    pub issuer: String,
    /// OAuth client ID.
    pub client_id: String,
    /// Space-separated scopes.
    pub scopes: String,
    /// Allowed (and routed) email domains.
    pub domains: Vec<String>,
    /// Whether userinfo is called.
    pub use_userinfo: bool,
    /// Callback URL to register at the provider.
    pub redirect_uri: String,
}

/// End-user MFA for one service provider.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SpMfaPolicy {
    /// Follow the tenant's policy.
    #[default]
    Inherit,
    /// No second factor for this SP.
    Off,
    /// Enrolled users are asked.
    Optional,
    /// Every user enrols and is asked.
    Required,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_status_uses_snake_case_on_the_wire() {
        let json = serde_json::to_string(&TenantStatus::Suspended).unwrap_or_default();
        assert_eq!(json, "\"suspended\"");
        let back: TenantStatus = serde_json::from_str("\"active\"").unwrap_or(TenantStatus::Suspended);
        assert_eq!(back, TenantStatus::Active);
    }
}
