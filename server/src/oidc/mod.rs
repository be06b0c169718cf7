//! The OpenID Connect relying party toward each tenant's identity provider. Plain
//! functions over plain types; no HTTP server types here.
//!
//! One [`OidcRp`] per process holds the HTTP client and the per-issuer discovery/JWKS
//! cache. A login is [`OidcRp::start_login`] (store the returned [`PendingAuth`] under its
//! `state`) then [`OidcRp::finish_login`] with the callback's query parameters.

mod config;
mod email;
mod error;
mod id_token;
mod login;
pub mod preset;
mod provider;

pub use config::{DEFAULT_ALLOWED_ALGS, DEFAULT_CLOCK_SKEW, IdTokenAlg, SourceConfig};
pub use email::email_domain_allowed;
pub use error::OidcError;
pub use id_token::{ValidatedClaims, validate_with_keys};
pub use login::{CallbackParams, PendingAuth, VerifiedIdentity};
pub use provider::{
    ClientAuth, ConnectionReport, ExtraProviderMetadata, OidcRp, Provider, ProviderMetadata, RpSettings,
};
