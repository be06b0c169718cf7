//! Newtypes that parse, don't validate: once you hold one, it is valid.

mod admin_types;
mod display_name;
mod saml_types;
mod tenant_slug;

pub use admin_types::{EmailAddress, NewPassword, PASSWORD_MAX_BYTES, PASSWORD_MIN_CHARS};
pub use display_name::DisplayName;
pub use saml_types::{AcsUrl, EmailDomain, EntityId, Handle};
pub use tenant_slug::TenantSlug;

/// Why a value was refused, in words fit for an operator or an admin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);
