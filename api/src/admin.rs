//! Wire types of the admin API (`/api/v1`): accounts, sessions, tenant settings, objects.

use serde::{Deserialize, Serialize};

use crate::{AttributeRule, KeyState, Preset, SourcePreset, SpMfaPolicy, Tenant, TenantDetails};

macro_rules! wire {
    ($($item:item)*) => {
        $(
            #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
            #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
            $item
        )*
    };
}

/// An admin's role in a tenant.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything an admin does, plus members and invitations.
    Owner,
    /// Service providers, identity sources, keys, users, audit.
    Admin,
}

/// End-user MFA policy of a tenant.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MfaPolicy {
    /// No second factor.
    #[default]
    Off,
    /// Users may enrol; enrolled users are asked.
    Optional,
    /// Every user enrols and is asked.
    Required,
}

/// Whether an end user may log in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Logs in.
    Active,
    /// Blocked by an admin: refused at the next login and at every reuse of a session.
    Blocked,
    /// Gone: the provider refused the user's refresh token (account disabled or deleted), or
    /// no login for the tenant's inactivity limit (`deactivate_after_days`). Deactivated at
    /// every provisioning target, sessions ended; a new login through the provider makes the
    /// user active again.
    Departed,
}

/// How an audited action ended.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// It happened.
    Success,
    /// It was refused or failed.
    Failure,
}

/// A step of an identity source's connection test, in the order they run.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStepKind {
    /// The discovery document (`/.well-known/openid-configuration`) was fetched.
    Discovery,
    /// The issuer it states is the configured one.
    Issuer,
    /// The provider publishes a signing key usable with the allowed algorithms.
    Jwks,
}

/// `GET /api/v1/end-users` query: search and paging.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndUserQuery {
    /// Matches email or name, any case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// Page number, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    /// Page size, 1 to 200 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u64>,
}

/// `GET /api/v1/audit` (and `audit.csv`) query: filters and paging.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Exact action, e.g. `login`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Exact actor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// How it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<AuditOutcome>,
    /// RFC 3339: events at or after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// RFC 3339: events before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Page number, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    /// Page size, 1 to 200 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u64>,
}

/// How far a sign-in has got.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStage {
    /// The password was accepted; send a TOTP or recovery code.
    SecondFactor,
    /// Signed in.
    Complete,
}

wire! {
    /// `POST /api/v1/signup`: a new tenant and its first admin.
    pub struct SignUpRequest {
        /// The admin's email; a verification link is sent to it.
        pub email: String,
        /// At least 12 characters, not a well-known password.
        pub password: String,
        /// The tenant's address label: lowercase letters, digits, `-`.
        pub tenant_slug: String,
        /// The tenant's display name.
        pub tenant_name: String,
    }

    /// A plain acknowledgement.
    pub struct Message {
        /// What happened, for people.
        pub message: String,
    }

    /// A single-use token from an email link.
    pub struct TokenRequest {
        /// The token.
        pub token: String,
    }

    /// An email address (resend verification, request a password reset).
    pub struct EmailRequest {
        /// The address.
        pub email: String,
    }

    /// `POST /api/v1/session`: sign in.
    pub struct SignInRequest {
        /// The account's email.
        pub email: String,
        /// Its password.
        pub password: String,
    }

    /// `POST /api/v1/session/totp`: the second factor.
    pub struct CodeRequest {
        /// A 6-digit TOTP code, or a recovery code.
        pub code: String,
    }

    /// The caller's session.
    pub struct Session {
        /// Sign-in progress.
        pub stage: SessionStage,
        /// Send it back in `X-CSRF-Token` with every state-changing request.
        pub csrf_token: String,
        /// The account (once signed in).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub account: Option<Account>,
        /// The tenant being worked on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub tenant: Option<Tenant>,
        /// The caller's role in it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub role: Option<Role>,
        /// The tenant requires TOTP for admins and this account has none yet: only the
        /// account endpoints answer until it enrols.
        pub mfa_enrolment_required: bool,
    }

    /// An admin account.
    pub struct Account {
        /// Identifier.
        pub id: String,
        /// Sign-in email.
        pub email: String,
        /// Whether TOTP is on.
        pub totp_enabled: bool,
        /// Unused recovery codes left.
        pub recovery_codes_left: u32,
        /// Tenants the account belongs to.
        pub memberships: Vec<MembershipInfo>,
    }

    /// One tenant of an account.
    pub struct MembershipInfo {
        /// The tenant.
        pub tenant: Tenant,
        /// The role in it.
        pub role: Role,
    }

    /// `PUT /api/v1/session/tenant`: work on another of one's tenants.
    pub struct SwitchTenantRequest {
        /// The tenant's ID.
        pub tenant_id: String,
    }

    /// `POST /api/v1/tenants`: another tenant owned by the caller.
    pub struct CreateTenantRequest {
        /// Address label.
        pub slug: String,
        /// Display name.
        pub display_name: String,
    }

    /// `POST /api/v1/password-reset/confirm`.
    pub struct ResetPasswordRequest {
        /// Token from the email link.
        pub token: String,
        /// The new password.
        pub password: String,
    }

    /// `PUT /api/v1/account/password`.
    pub struct ChangePasswordRequest {
        /// The password in use.
        pub current_password: String,
        /// Its replacement.
        pub new_password: String,
    }

    /// TOTP enrolment data; the secret is shown this once.
    pub struct TotpEnrolment {
        /// `otpauth://` URL for authenticator apps.
        pub otpauth_url: String,
        /// The secret in base32, for typing.
        pub secret: String,
        /// QR code of the URL, as an SVG document.
        pub qr_svg: String,
    }

    /// Recovery codes, shown once.
    pub struct RecoveryCodes {
        /// Ten single-use codes.
        pub codes: Vec<String>,
    }

    /// `DELETE /api/v1/account/totp` body: the password confirms.
    pub struct PasswordConfirmation {
        /// The account's password.
        pub password: String,
    }

    /// `GET /api/v1/tenant`.
    pub struct TenantSettings {
        /// The tenant and its IdP details.
        pub details: TenantDetails,
        /// Whether admins must use TOTP.
        pub admin_mfa_required: bool,
        /// End-user MFA policy.
        pub end_user_mfa: MfaPolicy,
        /// Skip Rosetta's TOTP when the provider's ID token proves a second factor (`amr`
        /// with `mfa`, `otp` or `hwk`, or an `acr` listed below).
        pub end_user_mfa_trust_upstream: bool,
        /// `acr` values that count as a second factor.
        pub end_user_mfa_trusted_acr: Vec<String>,
        /// Ask again after this many hours of a broker session; absent: once per session.
        #[serde(default)]
        pub end_user_mfa_max_age_hours: Option<u32>,
        /// How often users' refresh tokens are redeemed to learn whether the provider still
        /// knows them (sources with `offline_access` on), in hours (default 6).
        #[serde(default)]
        pub liveness_interval_hours: u32,
        /// Users without a login for this many days are marked departed (deactivated at every
        /// target); absent: never.
        #[serde(default)]
        pub deactivate_after_days: Option<u32>,
    }

    /// `GET /api/v1/tenant/setup`: how far the tenant's set-up has got, from what Rosetta
    /// has seen; the console's progress card.
    pub struct SetupProgress {
        /// A service provider is registered (Atlassian's entity ID and ACS URL pasted into
        /// Rosetta), so Rosetta's values can go into it.
        pub service_provider: bool,
        /// An identity source is added.
        pub identity_source: bool,
        /// A connection test of a source passed.
        pub source_tested: bool,
        /// A login went through.
        pub first_login: bool,
        /// The end-user second-factor policy was set (even to "off").
        pub mfa_decided: bool,
    }

    /// `PATCH /api/v1/tenant`: only the fields present change.
    pub struct UpdateTenantRequest {
        /// New display name.
        #[serde(default)]
        pub display_name: Option<String>,
        /// Require TOTP for admins.
        #[serde(default)]
        pub admin_mfa_required: Option<bool>,
        /// End-user MFA policy.
        #[serde(default)]
        pub end_user_mfa: Option<MfaPolicy>,
        /// Trust the provider's second factor.
        #[serde(default)]
        pub end_user_mfa_trust_upstream: Option<bool>,
        /// `acr` values that count as a second factor (replaces the list).
        #[serde(default)]
        pub end_user_mfa_trusted_acr: Option<Vec<String>>,
        /// Hours after which the TOTP is asked again; 0 for once per session.
        #[serde(default)]
        pub end_user_mfa_max_age_hours: Option<u32>,
        /// Hours between two liveness runs (1 to 168).
        #[serde(default)]
        pub liveness_interval_hours: Option<u32>,
        /// Days without a login after which a user is marked departed; 0 switches it off.
        #[serde(default)]
        pub deactivate_after_days: Option<u32>,
    }

    /// `POST /api/v1/service-providers`: from a preset, with values pasted from the SP
    /// (for Atlassian: "Service provider entity URL" and "Service provider assertion
    /// consumer service URL").
    pub struct CreateServiceProviderRequest {
        /// Short name (letters, digits, `-`).
        pub name: String,
        /// Preset.
        pub preset: Preset,
        /// The SP's entity ID.
        pub entity_id: String,
        /// ACS URLs, the first being the default.
        pub acs_urls: Vec<String>,
        /// NameID format; the preset's when absent.
        #[serde(default)]
        pub name_id_format: Option<String>,
        /// Whether AuthnRequests must be signed.
        #[serde(default)]
        pub want_requests_signed: bool,
        /// Base64 DER or PEM certificates that may sign requests.
        #[serde(default)]
        pub request_signing_certs: Vec<String>,
    }

    /// `POST /api/v1/service-providers/import`: from SAML metadata, pasted or fetched.
    pub struct ImportServiceProviderRequest {
        /// Short name.
        pub name: String,
        /// Preset for the attribute mapping.
        #[serde(default)]
        pub preset: Option<Preset>,
        /// Metadata XML.
        #[serde(default)]
        pub metadata_xml: Option<String>,
        /// Or an https URL to fetch it from.
        #[serde(default)]
        pub metadata_url: Option<String>,
    }

    /// `PATCH /api/v1/service-providers/{id}`: only the fields present change.
    pub struct UpdateServiceProviderRequest {
        /// ACS URLs, the first being the default.
        #[serde(default)]
        pub acs_urls: Option<Vec<String>>,
        /// NameID format.
        #[serde(default)]
        pub name_id_format: Option<String>,
        /// Attributes released.
        #[serde(default)]
        pub attributes: Option<Vec<AttributeRule>>,
        /// Whether AuthnRequests must be signed.
        #[serde(default)]
        pub want_requests_signed: Option<bool>,
        /// Certificates that may sign requests.
        #[serde(default)]
        pub request_signing_certs: Option<Vec<String>>,
        /// End-user MFA for this SP.
        #[serde(default)]
        pub mfa_policy: Option<SpMfaPolicy>,
    }

    /// `POST /api/v1/identity-sources`.
    pub struct CreateIdentitySourceRequest {
        /// Short name (appears in the callback URL).
        pub name: String,
        /// Issuer URL, exactly as the provider states it.
        pub issuer: String,
        /// OAuth client ID.
        pub client_id: String,
        /// OAuth client secret (write-only: never returned).
        pub client_secret: String,
        /// Extra scopes (`openid` is always asked).
        #[serde(default)]
        pub scopes: Vec<String>,
        /// Email domains routed to and allowed for this source.
        pub domains: Vec<String>,
        /// Call userinfo after the token exchange.
        #[serde(default)]
        pub use_userinfo: bool,
        /// Ask for `offline_access` and redeem the refresh token on a schedule: a refusal
        /// marks the user departed (deprovisioning without a directory API).
        #[serde(default)]
        pub offline_access: bool,
        /// The kind of provider (its checks apply at each login).
        #[serde(default)]
        pub preset: SourcePreset,
        /// The claim carrying groups; the preset's when absent.
        #[serde(default)]
        pub groups_claim: Option<String>,
        /// Entra ID: let guest (`#EXT#`) accounts log in.
        #[serde(default)]
        pub allow_guests: bool,
        /// Entra ID: fetch a group overage from Microsoft Graph.
        #[serde(default)]
        pub fetch_group_overage: bool,
    }

    /// `PATCH /api/v1/identity-sources/{id}`: only the fields present change.
    #[derive(Default)]
    pub struct UpdateIdentitySourceRequest {
        /// Issuer URL.
        #[serde(default)]
        pub issuer: Option<String>,
        /// OAuth client ID.
        #[serde(default)]
        pub client_id: Option<String>,
        /// New client secret (write-only).
        #[serde(default)]
        pub client_secret: Option<String>,
        /// Extra scopes.
        #[serde(default)]
        pub scopes: Option<Vec<String>>,
        /// Email domains.
        #[serde(default)]
        pub domains: Option<Vec<String>>,
        /// Call userinfo.
        #[serde(default)]
        pub use_userinfo: Option<bool>,
        /// Ask for `offline_access` and check the users' refresh tokens on a schedule.
        #[serde(default)]
        pub offline_access: Option<bool>,
        /// The claim carrying groups (empty: none).
        #[serde(default)]
        pub groups_claim: Option<String>,
        /// Entra ID: let guest (`#EXT#`) accounts log in.
        #[serde(default)]
        pub allow_guests: Option<bool>,
        /// Entra ID: fetch a group overage from Microsoft Graph.
        #[serde(default)]
        pub fetch_group_overage: Option<bool>,
    }

    /// Result of "test connection".
    pub struct ConnectionTest {
        /// Whether every step passed.
        pub ok: bool,
        /// Steps in order: discovery, issuer, jwks.
        pub steps: Vec<ConnectionStep>,
    }

    /// One step of a connection test.
    pub struct ConnectionStep {
        /// Which step.
        pub step: ConnectionStepKind,
        /// Whether it passed.
        pub ok: bool,
        /// What was found, or precisely what failed.
        pub message: String,
    }

    /// A signing key of the tenant (the private key never leaves the server).
    pub struct SigningKey {
        /// Identifier.
        pub id: String,
        /// Where it is in its rotation.
        pub state: KeyState,
        /// Certificate, PEM.
        pub certificate_pem: String,
        /// SHA-256 fingerprint.
        pub fingerprint_sha256: String,
        /// Certificate expiry.
        pub not_after: String,
        /// Creation time.
        pub created_at: String,
    }

    /// A person who logged in through the tenant.
    pub struct EndUser {
        /// Identifier.
        pub id: String,
        /// Last verified email.
        pub email: String,
        /// Name, if known.
        #[serde(default)]
        pub display_name: Option<String>,
        /// Upstream issuer.
        pub issuer: String,
        /// Upstream subject.
        pub subject: String,
        /// Whether they may log in.
        pub status: UserStatus,
        /// Whether a second factor is enrolled.
        pub mfa_enrolled: bool,
        /// Last successful login.
        #[serde(default)]
        pub last_login_at: Option<String>,
        /// First login.
        pub created_at: String,
        /// Where the user stands at each provisioning target of the tenant.
        #[serde(default)]
        pub provisioning: Vec<UserProvisioning>,
    }

    /// A user's state at one provisioning target.
    pub struct UserProvisioning {
        /// The service provider's name.
        pub service_provider: String,
        /// Where the user stands there.
        pub state: ProvisioningState,
        /// Whether the target holds the user active (as of the last push).
        #[serde(default)]
        pub active_at_target: Option<bool>,
    }

    /// A page of end users.
    pub struct EndUserPage {
        /// The users on this page.
        pub items: Vec<EndUser>,
        /// Matching users in all.
        pub total: u64,
        /// Page number, from 1.
        pub page: u64,
        /// Page size.
        pub per_page: u64,
    }

    /// One audit-log entry.
    pub struct AuditEntry {
        /// Identifier.
        pub id: String,
        /// RFC 3339 time.
        pub occurred_at: String,
        /// Who: an admin's email, `operator`, or an end user's email.
        pub actor: String,
        /// What, e.g. `login`, `service_provider.update`.
        pub action: String,
        /// How it ended.
        pub outcome: AuditOutcome,
        /// The object acted on.
        #[serde(default)]
        pub target: Option<String>,
        /// Details as JSON text (before/after for changes; never secrets).
        pub detail: String,
        /// Client address.
        #[serde(default)]
        pub ip: Option<String>,
        /// Request correlation ID.
        #[serde(default)]
        pub request_id: Option<String>,
    }

    /// A page of the audit log, newest first.
    pub struct AuditPage {
        /// Entries on this page.
        pub items: Vec<AuditEntry>,
        /// Matching entries in all.
        pub total: u64,
        /// Page number, from 1.
        pub page: u64,
        /// Page size.
        pub per_page: u64,
    }

    /// A member of the tenant.
    pub struct Member {
        /// The account's ID.
        pub account_id: String,
        /// Its email.
        pub email: String,
        /// Its role.
        pub role: Role,
        /// Whether it uses TOTP.
        pub totp_enabled: bool,
        /// When it joined.
        pub joined_at: String,
    }

    /// `PATCH /api/v1/members/{account_id}`.
    pub struct UpdateMemberRequest {
        /// The new role.
        pub role: Role,
    }

    /// An open invitation.
    pub struct Invitation {
        /// Identifier.
        pub id: String,
        /// Invited address.
        pub email: String,
        /// Role on acceptance.
        pub role: Role,
        /// Who invited.
        pub invited_by: String,
        /// When the link stops working.
        pub expires_at: String,
        /// When it was sent.
        pub created_at: String,
    }

    /// `POST /api/v1/invitations`.
    pub struct InviteRequest {
        /// Address to invite.
        pub email: String,
        /// Role on acceptance.
        pub role: Role,
    }

    /// `POST /api/v1/invitations/accept`.
    pub struct AcceptInvitationRequest {
        /// Token from the email link.
        pub token: String,
        /// Password for a new account (ignored when the address already has one).
        #[serde(default)]
        pub password: Option<String>,
    }
}

/// Where a user stands at a provisioning target.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvisioningState {
    /// The target holds the user as Rosetta does.
    Synced,
    /// A push waits (queued, or being tried again after a failure).
    Pending,
    /// The last push was refused; the reason says why (a retry or the user's next change
    /// queues it again).
    Failed,
    /// Never pushed (no login or sync since the target was added).
    NotPushed,
}

/// The step of a provisioning connection test that decided its result.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvisioningStep {
    /// The URL, DNS, the connection or TLS.
    Network,
    /// The key (401).
    Key,
    /// The key's rights (403).
    Permission,
    /// The answer is not a SCIM service.
    Scim,
    /// Everything passed.
    Ok,
}

/// `PUT /api/v1/service-providers/{id}/provisioning`: the SP's SCIM target.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutProvisioningRequest {
    /// SCIM base URL, e.g. `https://api.atlassian.com/scim/directory/<directoryId>`.
    pub base_url: String,
    /// Bearer API key (write-only: never returned); required the first time, omitted to
    /// keep the stored one. A new key resumes a paused target.
    #[serde(default)]
    pub api_key: Option<String>,
    /// The key's expiry date (`YYYY-MM-DD`); Atlassian's keys live one year.
    #[serde(default)]
    pub key_expires_on: Option<String>,
    /// Whether users are pushed.
    pub enabled: bool,
}

impl std::fmt::Debug for PutProvisioningRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PutProvisioningRequest")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("key_expires_on", &self.key_expires_on)
            .field("enabled", &self.enabled)
            .finish()
    }
}

/// `GET /api/v1/tenant/inactive-users` query.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InactiveQuery {
    /// Days without a login (default: the tenant's setting, else 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
}

/// `GET /api/v1/service-providers/{id}/provisioning/users` query: paging.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageQuery {
    /// Page number, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    /// Page size, 1 to 200 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u64>,
}

wire! {
    /// A service provider's SCIM provisioning target (the key is never returned).
    pub struct ProvisioningTarget {
        /// The service provider.
        pub service_provider_id: String,
        /// SCIM base URL.
        pub base_url: String,
        /// The key's expiry date, if given.
        #[serde(default)]
        pub key_expires_on: Option<String>,
        /// Days until the key expires (negative: expired).
        #[serde(default)]
        pub key_expires_in_days: Option<i64>,
        /// Whether users are pushed.
        pub enabled: bool,
        /// Why pushes are paused (the key was refused); `None` while they flow.
        #[serde(default)]
        pub paused_reason: Option<String>,
        /// When pushes were paused.
        #[serde(default)]
        pub paused_at: Option<String>,
        /// The queue and the users' states.
        pub queue: ProvisioningQueue,
        /// Creation time.
        pub created_at: String,
        /// Last change.
        pub updated_at: String,
    }

    /// A target's queue and its users' states, counted.
    pub struct ProvisioningQueue {
        /// Pushes waiting.
        pub pending: u64,
        /// Of those, failed at least once and waiting to be tried again.
        pub retrying: u64,
        /// Users whose last push succeeded.
        pub synced: u64,
        /// Users whose last push was refused.
        pub failed: u64,
        /// Age of the oldest waiting push, in seconds.
        #[serde(default)]
        pub oldest_pending_seconds: Option<u64>,
    }

    /// Result of a provisioning connection test.
    pub struct ProvisioningTest {
        /// Whether every step passed.
        pub ok: bool,
        /// The step that failed (`ok` when none did).
        pub step: ProvisioningStep,
        /// What was found, or precisely what failed.
        pub message: String,
    }

    /// A user's provisioning state at a target.
    pub struct ProvisioningUser {
        /// The end user.
        pub user_id: String,
        /// Their email.
        pub email: String,
        /// Where they stand.
        pub state: ProvisioningState,
        /// Their SCIM `id` at the target, once known.
        #[serde(default)]
        pub scim_id: Option<String>,
        /// Whether the target holds them active (as of the last push).
        #[serde(default)]
        pub active_at_target: Option<bool>,
        /// Why the last push (or attempt) failed.
        #[serde(default)]
        pub reason: Option<String>,
        /// Failed attempts of the waiting push.
        pub attempts: u32,
        /// When the last push ended.
        #[serde(default)]
        pub last_pushed_at: Option<String>,
    }

    /// A page of users with their provisioning state.
    pub struct ProvisioningUserPage {
        /// The users on this page.
        pub items: Vec<ProvisioningUser>,
        /// Users in all.
        pub total: u64,
        /// Page number, from 1.
        pub page: u64,
        /// Page size.
        pub per_page: u64,
    }

    /// What "Sync now" queued.
    pub struct SyncResult {
        /// Users queued for a push.
        pub queued: u64,
    }

    /// What "Sync now" would do, from what Rosetta knows (no request to the directory):
    /// users never pushed are created, active ones pushed before are updated (only what
    /// differs is sent), blocked or departed ones the target holds active are deactivated.
    pub struct SyncPreview {
        /// Users to create.
        pub create: u64,
        /// Users to bring up to date.
        pub update: u64,
        /// Users to deactivate.
        pub deactivate: u64,
        /// The first 200 users concerned, by email.
        pub items: Vec<SyncPreviewItem>,
    }

    /// One user of a sync preview.
    pub struct SyncPreviewItem {
        /// The user.
        pub email: String,
        /// `create`, `update` or `deactivate`.
        pub action: String,
    }

    /// `GET /api/v1/tenant/inactive-users`: who the inactivity rule would mark departed.
    pub struct InactivePreview {
        /// The limit checked, in days.
        pub days: u32,
        /// Active users without a login for that long, in all.
        pub total: u64,
        /// The first 200 of them, longest inactive first.
        pub items: Vec<EndUser>,
    }
}
