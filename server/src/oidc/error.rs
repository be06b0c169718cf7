//! The one error type of the OIDC relying party.
//!
//! Messages are written for the person who sees the error page (or the admin who pressed
//! "test connection"); `code()` is what the console and the logs match on. No variant
//! carries a token, an authorization code, a secret or a provider's free-text description:
//! the provider's `error` code is kept only after it has been reduced to `[a-z_]`.

/// Everything that can stop discovery, the authorization request or the callback.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// The source's configuration cannot be used as it stands.
    #[error("The identity source is misconfigured: {0}.")]
    InvalidConfig(&'static str),
    /// An endpoint is not `https` (plain http only in dev mode), or carries credentials.
    #[error("The identity provider must be reached over https.")]
    InsecureEndpoint,
    /// An endpoint's host is, or resolves to, an address outbound requests may not reach
    /// (private, loopback, link-local, reserved...): nothing was sent to it.
    #[error(
        "The identity provider's address is not a public address; Rosetta contacts public hosts only, unless \
         the operator allows the range."
    )]
    AddressNotAllowed,
    /// The discovery document could not be fetched (DNS, connection, TLS, timeout).
    #[error("The identity provider could not be reached.")]
    DiscoveryUnreachable,
    /// The discovery endpoint answered with a non-success status.
    #[error("The identity provider's discovery document returned HTTP {0}.")]
    DiscoveryStatus(u16),
    /// The discovery endpoint did not return JSON.
    #[error("The identity provider's discovery document is not JSON.")]
    DiscoveryNotJson,
    /// The discovery document is JSON but lacks required fields or has malformed ones.
    #[error("The identity provider's discovery document is incomplete or malformed.")]
    DiscoveryInvalid,
    /// The discovery document names another issuer than the one configured.
    #[error("The discovery issuer differs from the configured issuer.")]
    DiscoveryIssuerMismatch,
    /// The discovery document has no `jwks_uri`.
    #[error("The identity provider publishes no signing keys (no jwks_uri).")]
    JwksMissing,
    /// The JWKS could not be fetched.
    #[error("The identity provider's signing keys could not be fetched.")]
    JwksUnreachable,
    /// The JWKS is not a JSON key set.
    #[error("The identity provider's signing keys are not a valid key set.")]
    JwksInvalid,
    /// The JWKS holds no key usable with the allowed ID token algorithms.
    #[error("The identity provider publishes no usable signing key.")]
    JwksEmpty,
    /// The token endpoint supports neither `client_secret_basic` nor `client_secret_post`.
    #[error("The identity provider supports no client authentication method Rosetta can use.")]
    UnsupportedClientAuth,
    /// The callback's `state` is missing or differs from the pending login's.
    #[error("This login response does not belong to the login in progress. Please start again.")]
    StateMismatch,
    /// The pending login was started against another issuer than the source now names.
    #[error("The identity source changed while you were logging in. Please start again.")]
    PendingIssuerMismatch,
    /// The authorization response's `iss` parameter differs from the issuer (RFC 9207).
    #[error("The login response came from an unexpected identity provider.")]
    ResponseIssuerMismatch,
    /// The provider advertises RFC 9207 but its response carries no `iss` parameter.
    #[error("The login response does not name its identity provider.")]
    ResponseIssuerMissing,
    /// The user or the provider declined the login (`error=access_denied`).
    #[error("The login was cancelled or refused at the identity provider.")]
    AccessDenied,
    /// The provider answered the authorization request with another OAuth error code.
    #[error("The identity provider refused the login ({error}).")]
    ProviderError {
        /// The provider's `error` code, reduced to `[a-z_]`, at most 64 characters.
        error: String,
    },
    /// The callback carries neither `code` nor `error`.
    #[error("The login response carries no authorization code.")]
    MissingCode,
    /// The token endpoint could not be reached.
    #[error("The identity provider's token endpoint could not be reached.")]
    TokenEndpointUnreachable,
    /// The token endpoint returned an OAuth error (`invalid_grant`, ...).
    #[error("The identity provider refused to issue tokens ({error}).")]
    TokenEndpointRejected {
        /// The provider's `error` code, reduced to `[a-z_]`, at most 64 characters.
        error: String,
    },
    /// The token endpoint's answer is not a usable token response.
    #[error("The identity provider's token response is malformed.")]
    TokenResponseInvalid,
    /// The token response carries no `id_token`.
    #[error("The identity provider did not return an ID token.")]
    MissingIdToken,
    /// The ID token is not a well-formed signed JWT.
    #[error("The ID token is malformed.")]
    IdTokenMalformed,
    /// The ID token uses a JOSE feature Rosetta refuses (`crit`, nested JWT, JWE, odd `typ`).
    #[error("The ID token uses an unsupported format.")]
    IdTokenUnsupported,
    /// The ID token is unsigned (`alg=none`).
    #[error("The ID token is not signed.")]
    AlgNone,
    /// The ID token's algorithm is not in the source's allow-list.
    #[error("The ID token is signed with an algorithm this source does not allow ({0}).")]
    AlgNotAllowed(String),
    /// No key in the provider's JWKS matches the token's `kid` and algorithm, even after one
    /// refetch.
    #[error("The ID token is signed with a key the identity provider does not publish.")]
    UnknownSigningKey,
    /// The token has no `kid` and several published keys could have signed it.
    #[error("The ID token does not say which of the provider's keys signed it.")]
    AmbiguousSigningKey,
    /// The signature does not verify.
    #[error("The ID token's signature is invalid.")]
    SignatureInvalid,
    /// A claim the ID token must carry is absent.
    #[error("The ID token lacks the `{0}` claim.")]
    MissingClaim(&'static str),
    /// `iss` differs from the configured issuer.
    #[error("The ID token was issued by another identity provider.")]
    IssuerMismatch,
    /// `aud` does not contain this client.
    #[error("The ID token was not issued for Rosetta.")]
    AudienceMismatch,
    /// Several audiences without `azp`, or an `azp` that is not this client.
    #[error("The ID token was issued for another party.")]
    AuthorizedPartyMismatch,
    /// `exp` is in the past (beyond the allowed clock skew).
    #[error("The ID token has expired.")]
    Expired,
    /// `iat` is in the future beyond the allowed clock skew.
    #[error("The ID token claims to be issued in the future.")]
    IssuedInFuture,
    /// `nbf` is in the future beyond the allowed clock skew.
    #[error("The ID token is not valid yet.")]
    NotYetValid,
    /// `nonce` differs from the one sent.
    #[error("The ID token does not belong to this login.")]
    NonceMismatch,
    /// The userinfo endpoint could not be reached or returned an error status.
    #[error("The identity provider's userinfo endpoint could not be reached.")]
    UserinfoUnreachable,
    /// The userinfo answer is not a JSON object with a `sub` (signed userinfo is not supported).
    #[error("The identity provider's userinfo response is malformed.")]
    UserinfoInvalid,
    /// The userinfo `sub` differs from the ID token's.
    #[error("The identity provider's userinfo describes another person.")]
    UserinfoSubjectMismatch,
    /// No `email` claim.
    #[error("Your account at the identity provider has no email address.")]
    EmailMissing,
    /// `email_verified` is false, missing or not a boolean.
    #[error("Your email address is not verified at the identity provider.")]
    EmailNotVerified,
    /// The email's domain is not on this source's allow-list.
    #[error("Your email address's domain is not allowed to log in here.")]
    EmailDomainNotAllowed,
    /// Google: the account's `hd` (its Workspace domain) is missing or none of the source's
    /// domains: a personal Google account, or another organisation's.
    #[error(
        "This Google account does not belong to your organisation's Google Workspace: its hosted domain (`hd`) \
         is not one of the domains set up here. Sign in with your work account."
    )]
    HostedDomainMismatch,
    /// Entra ID: the token's `tid` is not the directory the source was set up for.
    #[error(
        "This Microsoft account belongs to another Entra ID tenant than the one your organisation set up. Sign in \
         with your work account."
    )]
    TenantMismatch,
    /// Entra ID: a guest (`#EXT#`) account, and the source does not allow guests.
    #[error("Guest accounts of your organisation's Microsoft Entra ID may not sign in here. Ask your administrator.")]
    GuestRefused,
    /// Entra ID: the group overage could not be fetched from Microsoft Graph.
    #[error("Your groups could not be read from Microsoft Graph ({0}).")]
    GroupsUnavailable(&'static str),
    /// The shared HTTP client could not be built.
    #[error("The HTTP client could not be initialised.")]
    HttpClient,
}

impl OidcError {
    /// A stable, machine-readable code: the console and the logs match on it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidConfig(_) => "oidc_invalid_config",
            Self::InsecureEndpoint => "oidc_insecure_endpoint",
            Self::AddressNotAllowed => "oidc_address_not_allowed",
            Self::DiscoveryUnreachable => "oidc_discovery_unreachable",
            Self::DiscoveryStatus(_) => "oidc_discovery_status",
            Self::DiscoveryNotJson => "oidc_discovery_not_json",
            Self::DiscoveryInvalid => "oidc_discovery_invalid",
            Self::DiscoveryIssuerMismatch => "oidc_discovery_issuer_mismatch",
            Self::JwksMissing => "oidc_jwks_missing",
            Self::JwksUnreachable => "oidc_jwks_unreachable",
            Self::JwksInvalid => "oidc_jwks_invalid",
            Self::JwksEmpty => "oidc_jwks_empty",
            Self::UnsupportedClientAuth => "oidc_unsupported_client_auth",
            Self::StateMismatch => "oidc_state_mismatch",
            Self::PendingIssuerMismatch => "oidc_pending_issuer_mismatch",
            Self::ResponseIssuerMismatch => "oidc_response_iss_mismatch",
            Self::ResponseIssuerMissing => "oidc_response_iss_missing",
            Self::AccessDenied => "oidc_access_denied",
            Self::ProviderError { .. } => "oidc_provider_error",
            Self::MissingCode => "oidc_missing_code",
            Self::TokenEndpointUnreachable => "oidc_token_unreachable",
            Self::TokenEndpointRejected { .. } => "oidc_token_rejected",
            Self::TokenResponseInvalid => "oidc_token_response_invalid",
            Self::MissingIdToken => "oidc_missing_id_token",
            Self::IdTokenMalformed => "oidc_id_token_malformed",
            Self::IdTokenUnsupported => "oidc_id_token_unsupported",
            Self::AlgNone => "oidc_alg_none",
            Self::AlgNotAllowed(_) => "oidc_alg_not_allowed",
            Self::UnknownSigningKey => "oidc_unknown_key",
            Self::AmbiguousSigningKey => "oidc_ambiguous_key",
            Self::SignatureInvalid => "oidc_bad_signature",
            Self::MissingClaim(_) => "oidc_missing_claim",
            Self::IssuerMismatch => "oidc_iss_mismatch",
            Self::AudienceMismatch => "oidc_aud_mismatch",
            Self::AuthorizedPartyMismatch => "oidc_azp_mismatch",
            Self::Expired => "oidc_expired",
            Self::IssuedInFuture => "oidc_iat_future",
            Self::NotYetValid => "oidc_nbf_future",
            Self::NonceMismatch => "oidc_nonce_mismatch",
            Self::UserinfoUnreachable => "oidc_userinfo_unreachable",
            Self::UserinfoInvalid => "oidc_userinfo_invalid",
            Self::UserinfoSubjectMismatch => "oidc_userinfo_sub_mismatch",
            Self::EmailMissing => "oidc_email_missing",
            Self::EmailNotVerified => "oidc_email_not_verified",
            Self::EmailDomainNotAllowed => "oidc_email_domain_not_allowed",
            Self::HostedDomainMismatch => "oidc_hd_mismatch",
            Self::TenantMismatch => "oidc_tid_mismatch",
            Self::GuestRefused => "oidc_guest_refused",
            Self::GroupsUnavailable(_) => "oidc_groups_unavailable",
            Self::HttpClient => "oidc_http_client",
        }
    }

    /// The provider's own OAuth `error` code, when it sent one (sanitised: `[a-z_]`).
    pub fn provider_error(&self) -> Option<&str> {
        match self {
            Self::ProviderError { error } | Self::TokenEndpointRejected { error } => Some(error),
            Self::AccessDenied => Some("access_denied"),
            _ => None,
        }
    }

    /// Whether the failure is the provider being unavailable rather than wrong.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::DiscoveryUnreachable
            | Self::JwksUnreachable
            | Self::TokenEndpointUnreachable
            | Self::UserinfoUnreachable
            | Self::GroupsUnavailable(_) => true,
            Self::DiscoveryStatus(status) => *status >= 500,
            _ => false,
        }
    }

    /// Maps the `error` parameter of an authorization error response.
    pub(crate) fn from_authorization_error(error: &str) -> Self {
        match error {
            "access_denied" => Self::AccessDenied,
            other => Self::ProviderError {
                error: sanitize_error_code(other),
            },
        }
    }
}

/// Keeps an OAuth error code printable and short: it is attacker-influenced (it arrives
/// in the callback's query string) and ends up in a page and a log line.
pub(crate) fn sanitize_error_code(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .filter(|c| c.is_ascii_lowercase() || *c == '_')
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "unknown_error".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_denied_maps_to_its_own_variant() {
        assert_eq!(
            OidcError::from_authorization_error("access_denied"),
            OidcError::AccessDenied
        );
        assert_eq!(OidcError::AccessDenied.code(), "oidc_access_denied");
    }

    #[test]
    fn other_provider_errors_keep_a_sanitised_code() {
        assert_eq!(
            OidcError::from_authorization_error("login_required"),
            OidcError::ProviderError {
                error: "login_required".into()
            }
        );
        let hostile = OidcError::from_authorization_error("<script>alert(1)</script>");
        assert_eq!(
            hostile,
            OidcError::ProviderError {
                error: "scriptalertscript".into()
            }
        );
        assert_eq!(
            OidcError::from_authorization_error("%%%"),
            OidcError::ProviderError {
                error: "unknown_error".into()
            }
        );
        assert!(sanitize_error_code(&"a".repeat(500)).len() <= 64);
    }

    #[test]
    fn only_unavailability_is_transient() {
        assert!(OidcError::DiscoveryUnreachable.is_transient());
        assert!(OidcError::JwksUnreachable.is_transient());
        assert!(OidcError::TokenEndpointUnreachable.is_transient());
        assert!(OidcError::UserinfoUnreachable.is_transient());
        assert!(OidcError::DiscoveryStatus(503).is_transient());
        assert!(!OidcError::DiscoveryStatus(404).is_transient());
        assert!(!OidcError::DiscoveryIssuerMismatch.is_transient());
        assert!(!OidcError::JwksEmpty.is_transient());
    }

    #[test]
    fn messages_are_plain_and_codes_stable() {
        let e = OidcError::DiscoveryIssuerMismatch;
        assert_eq!(
            e.to_string(),
            "The discovery issuer differs from the configured issuer."
        );
        assert_eq!(e.code(), "oidc_discovery_issuer_mismatch");
        assert_eq!(
            OidcError::MissingClaim("iat").to_string(),
            "The ID token lacks the `iat` claim."
        );
    }
}
