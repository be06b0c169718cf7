//! Wire types shared by the Rosetta server and its console.
//!
//! This crate is serde-only on purpose: it compiles to `wasm32-unknown-unknown` for the
//! console and carries no database or server types.

use serde::{Deserialize, Serialize};

mod admin;
mod mapping;
mod trace;
pub use admin::*;
pub use mapping::*;
pub use trace::*;

/// Lifecycle state of a tenant.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// Whether a dependency answered a readiness check.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// It answered.
    Ok,
    /// It did not; `error` says why.
    Unavailable,
}

/// Whether every readiness check passed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// Every dependency answered.
    Ready,
    /// One did not.
    NotReady,
}

/// State of one dependency in a readiness report.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Whether it answered.
    pub status: CheckStatus,
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
    /// Whether every check passed.
    pub status: Readiness,
    /// The database check.
    pub database: CheckResult,
    /// The session store check.
    pub store: CheckResult,
}

/// The stable code of an admin API error: programs (and the console) match on it, people
/// read the message next to it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No such endpoint, or no such object in the caller's tenant (also another tenant's).
    NotFound,
    /// Not signed in, or the session ended.
    Unauthenticated,
    /// The caller may not do this.
    Forbidden,
    /// Only an owner of the tenant may do this.
    OwnerRequired,
    /// The account belongs to no tenant yet.
    NoTenant,
    /// The account is no longer a member of the session's tenant.
    NotAMember,
    /// The tenant requires TOTP for its admins and this account has none yet.
    MfaEnrolmentRequired,
    /// A state-changing request from another site (`Origin` or `Referer`).
    CsrfOrigin,
    /// `X-CSRF-Token` missing or not this session's.
    CsrfToken,
    /// One or more fields were refused; `fields` says which and why.
    InvalidField,
    /// The request body is not the JSON the endpoint takes.
    InvalidBody,
    /// The query string is not what the endpoint takes.
    InvalidQuery,
    /// Too many attempts; `retry_after` says when to try again.
    RateLimited,
    /// A unique value is taken, or the object is not in a state that allows this.
    Conflict,
    /// Email and password do not match an account.
    BadCredentials,
    /// The account's email address is not confirmed yet.
    EmailNotVerified,
    /// An email could not be sent just now; asking again later works.
    EmailUnavailable,
    /// A service Rosetta depends on did not answer; try again in a moment.
    Unavailable,
    /// An unexpected failure, logged with the request ID.
    Internal,
}

impl ErrorCode {
    /// The code as it is written on the wire (and in logs).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::OwnerRequired => "owner_required",
            Self::NoTenant => "no_tenant",
            Self::NotAMember => "not_a_member",
            Self::MfaEnrolmentRequired => "mfa_enrolment_required",
            Self::CsrfOrigin => "csrf_origin",
            Self::CsrfToken => "csrf_token",
            Self::InvalidField => "invalid_field",
            Self::InvalidBody => "invalid_body",
            Self::InvalidQuery => "invalid_query",
            Self::RateLimited => "rate_limited",
            Self::Conflict => "conflict",
            Self::BadCredentials => "bad_credentials",
            Self::EmailNotVerified => "email_not_verified",
            Self::EmailUnavailable => "email_unavailable",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

/// Error body of every JSON endpoint: a stable code for programs, a message for people.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable machine-readable code.
    pub code: ErrorCode,
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
    /// `active` or `next` (retired keys are not published).
    pub state: KeyState,
    /// PEM text.
    pub pem: String,
    /// SHA-256 fingerprint, colon-separated hex.
    pub fingerprint_sha256: String,
    /// Expiry, as text.
    pub not_after: String,
    /// Whole days until it expires (negative once it has); the console warns from 30.
    #[serde(default)]
    pub days_left: i64,
}

/// Where a signing key is in its rotation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Published in metadata, not signing yet: SPs that pin certificates add it first.
    Next,
    /// Signs every Response and Assertion.
    Active,
    /// No longer published or used.
    Retired,
}

/// How a service provider was set up.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// The NameID's value for the `email` and `unspecified` formats.
    #[serde(default)]
    pub name_id: NameIdRule,
    /// Which groups the SP receives.
    #[serde(default)]
    pub groups: GroupsRule,
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
    /// Whether each domain is proved to be the tenant's, and the DNS record that proves it.
    /// An unverified domain works for logins inside this tenant and never blocks another.
    #[serde(default)]
    pub domain_verification: Vec<DomainVerification>,
    /// Whether userinfo is called.
    pub use_userinfo: bool,
    /// Whether `offline_access` is asked and the users' refresh tokens are checked on a
    /// schedule (a refusal marks the user departed).
    #[serde(default)]
    pub offline_access: bool,
    /// The kind of provider, and so the checks made at each login.
    #[serde(default)]
    pub preset: SourcePreset,
    /// The claim carrying the user's groups (empty: groups are not read).
    #[serde(default)]
    pub groups_claim: String,
    /// Entra ID: whether guest (`#EXT#`) accounts may log in.
    #[serde(default)]
    pub allow_guests: bool,
    /// Entra ID: whether a group overage (more groups than the token carries) is fetched
    /// from Microsoft Graph with the source's own credentials (the app needs
    /// `GroupMember.Read.All`); otherwise it is reported and the groups are left unknown.
    #[serde(default)]
    pub fetch_group_overage: bool,
    /// Callback URL to register at the provider.
    pub redirect_uri: String,
}

/// Ownership of one email domain of a source: proved by a DNS TXT record named `txt_name`
/// holding `txt_value`, then `POST /api/v1/identity-sources/{id}/domains/{domain}/verify`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainVerification {
    /// The email domain.
    pub domain: String,
    /// Whether the tenant proved it owns the domain.
    pub verified: bool,
    /// When it did (RFC 3339), if it did.
    #[serde(default)]
    pub verified_at: Option<String>,
    /// The TXT record's name, e.g. `_rosetta-challenge.acme.com`.
    pub txt_name: String,
    /// The value the TXT record must hold.
    pub txt_value: String,
}

/// End-user MFA for one service provider.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
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
    fn error_codes_are_snake_case_on_the_wire() {
        let json = serde_json::to_string(&ErrorCode::MfaEnrolmentRequired).unwrap_or_default();
        assert_eq!(json, "\"mfa_enrolment_required\"");
        let back: ErrorCode = serde_json::from_str("\"rate_limited\"").unwrap_or(ErrorCode::Internal);
        assert_eq!(back, ErrorCode::RateLimited);
        assert!(serde_json::from_str::<ErrorCode>("\"no_such_code\"").is_err());
        for code in [
            ErrorCode::NotFound,
            ErrorCode::Unauthenticated,
            ErrorCode::Forbidden,
            ErrorCode::OwnerRequired,
            ErrorCode::NoTenant,
            ErrorCode::NotAMember,
            ErrorCode::MfaEnrolmentRequired,
            ErrorCode::CsrfOrigin,
            ErrorCode::CsrfToken,
            ErrorCode::InvalidField,
            ErrorCode::InvalidBody,
            ErrorCode::InvalidQuery,
            ErrorCode::RateLimited,
            ErrorCode::Conflict,
            ErrorCode::BadCredentials,
            ErrorCode::EmailNotVerified,
            ErrorCode::EmailUnavailable,
            ErrorCode::Unavailable,
            ErrorCode::Internal,
        ] {
            let wire = serde_json::to_string(&code).unwrap_or_default();
            assert_eq!(wire, format!("\"{}\"", code.as_str()), "as_str and serde disagree");
        }
    }

    #[test]
    fn tenant_status_uses_snake_case_on_the_wire() {
        let json = serde_json::to_string(&TenantStatus::Suspended).unwrap_or_default();
        assert_eq!(json, "\"suspended\"");
        let back: TenantStatus = serde_json::from_str("\"active\"").unwrap_or(TenantStatus::Suspended);
        assert_eq!(back, TenantStatus::Active);
    }
}
