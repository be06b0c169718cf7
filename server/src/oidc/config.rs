//! One upstream OpenID provider as a tenant configured it.

use std::time::Duration;

use openidconnect::core::CoreJwsSigningAlgorithm;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// ID token signature algorithms a source may allow.
///
/// `none` is not representable. The HMAC ones are keyed with the client secret and nothing
/// else, so listing one is the explicit opt-in the source needs to accept them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IdTokenAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-384 with SHA-384.
    ES384,
    /// HMAC SHA-256 keyed with the client secret.
    HS256,
    /// HMAC SHA-384 keyed with the client secret.
    HS384,
    /// HMAC SHA-512 keyed with the client secret.
    HS512,
}

impl IdTokenAlg {
    /// The JOSE name (`RS256`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
        }
    }

    /// Parses a JOSE `alg` value; `None` for anything not listed above (including `none`).
    pub fn from_jose(alg: &str) -> Option<Self> {
        [
            Self::RS256,
            Self::RS384,
            Self::RS512,
            Self::PS256,
            Self::PS384,
            Self::PS512,
            Self::ES256,
            Self::ES384,
            Self::HS256,
            Self::HS384,
            Self::HS512,
        ]
        .into_iter()
        .find(|a| a.as_str() == alg)
    }

    /// Whether the algorithm is an HMAC keyed with a shared secret.
    pub fn is_symmetric(self) -> bool {
        matches!(self, Self::HS256 | Self::HS384 | Self::HS512)
    }

    pub(crate) fn core(self) -> CoreJwsSigningAlgorithm {
        match self {
            Self::RS256 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            Self::RS384 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
            Self::RS512 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
            Self::PS256 => CoreJwsSigningAlgorithm::RsaSsaPssSha256,
            Self::PS384 => CoreJwsSigningAlgorithm::RsaSsaPssSha384,
            Self::PS512 => CoreJwsSigningAlgorithm::RsaSsaPssSha512,
            Self::ES256 => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            Self::ES384 => CoreJwsSigningAlgorithm::EcdsaP384Sha384,
            Self::HS256 => CoreJwsSigningAlgorithm::HmacSha256,
            Self::HS384 => CoreJwsSigningAlgorithm::HmacSha384,
            Self::HS512 => CoreJwsSigningAlgorithm::HmacSha512,
        }
    }
}

/// The default allow-list: the asymmetric algorithms real providers use.
pub const DEFAULT_ALLOWED_ALGS: [IdTokenAlg; 3] = [IdTokenAlg::RS256, IdTokenAlg::PS256, IdTokenAlg::ES256];

/// The default clock skew tolerated on `exp`, `iat` and `nbf`.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(60);

/// An upstream OpenID provider as configured for one tenant's identity source.
///
/// `Debug` is safe: `SecretString` prints as redacted.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// The issuer identifier, compared byte for byte with discovery, `iss` and the ID token.
    pub issuer: String,
    /// The client ID registered at the provider.
    pub client_id: String,
    /// The client secret; also the only HMAC key ever used for `HS*` ID tokens.
    pub client_secret: SecretString,
    /// Scopes requested; `openid` is always sent whether listed or not.
    pub scopes: Vec<String>,
    /// Email domains allowed to log in, compared exactly after lowercasing. Subdomains are
    /// not implied: list `eu.corp.com` to allow it next to `corp.com`. Empty allows nobody.
    pub allowed_email_domains: Vec<String>,
    /// Whether to call the userinfo endpoint and prefer its claims.
    pub fetch_userinfo: bool,
    /// ID token algorithms accepted.
    pub allowed_algs: Vec<IdTokenAlg>,
    /// Tolerance on `exp`, `iat` and `nbf`.
    pub clock_skew: Duration,
    /// The provider preset's checks, and where groups are read.
    pub checks: super::preset::ProviderChecks,
}

impl SourceConfig {
    /// A source with the defaults: scopes `openid email profile`, RS256/PS256/ES256, 60 s
    /// skew, no userinfo call and no allowed domain yet.
    pub fn new(issuer: impl Into<String>, client_id: impl Into<String>, client_secret: SecretString) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret,
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            allowed_email_domains: Vec::new(),
            fetch_userinfo: false,
            allowed_algs: DEFAULT_ALLOWED_ALGS.to_vec(),
            clock_skew: DEFAULT_CLOCK_SKEW,
            checks: super::preset::ProviderChecks::default(),
        }
    }

    /// Sets the allowed email domains.
    pub fn with_allowed_domains<I, S>(mut self, domains: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_email_domains = domains.into_iter().map(Into::into).collect();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_names_round_trip_and_none_is_not_an_alg() {
        for alg in DEFAULT_ALLOWED_ALGS {
            assert_eq!(IdTokenAlg::from_jose(alg.as_str()), Some(alg));
        }
        assert_eq!(IdTokenAlg::from_jose("none"), None);
        assert_eq!(IdTokenAlg::from_jose("rs256"), None);
        assert!(IdTokenAlg::HS256.is_symmetric());
        assert!(!IdTokenAlg::RS256.is_symmetric());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let config = SourceConfig::new("https://op.example", "client", SecretString::from("s3cr3t-value"));
        let printed = format!("{config:?}");
        assert!(!printed.contains("s3cr3t-value"));
    }
}
