//! Data access behind small services: handlers and the CLI call these, never queries.

pub mod accounts;
pub mod admin_sessions;
pub mod audit;
pub mod batch;
pub mod domain_proof;
pub mod end_user_mfa;
pub mod end_users;
pub mod grants;
pub mod identity_sources;
pub mod login_traces;
pub mod members;
pub mod provisioning;
pub mod rate_limit;
pub mod rekey;
pub mod scim;
pub mod second_factor;
pub mod service_providers;
pub mod signing_keys;
pub mod sp_metadata;
pub mod tenants;

use crate::domain::ParseError;

/// Why a service call failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A field did not parse; `field` names it for forms and the CLI.
    #[error("{field}: {message}")]
    Invalid {
        /// The offending field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Mapping rules did not compile; each names its rule.
    #[error("{}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Rules(Vec<crate::mapping::RuleError>),
    /// A unique value is taken.
    #[error("{0}")]
    Conflict(String),
    /// The caller may not do this (e.g. a blocked user).
    #[error("{0}")]
    Forbidden(String),
    /// Nothing by that name (within the caller's tenant).
    #[error("{0}")]
    NotFound(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// Something else failed (crypto, key generation); details for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// Attaches a field name to a parse failure.
    pub fn invalid(field: &'static str) -> impl FnOnce(ParseError) -> Self {
        move |e| Self::Invalid { field, message: e.0 }
    }
}

/// Result of a service call.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// Maps a unique-constraint violation to [`ServiceError::Conflict`] with `message`.
pub(crate) fn conflict_on_unique(message: impl Into<String>) -> impl FnOnce(sea_orm::DbErr) -> ServiceError {
    move |e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => ServiceError::Conflict(message.into()),
        _ => ServiceError::Database(e),
    }
}

/// Serialises a JSON column.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> ServiceResult<String> {
    serde_json::to_string(value).map_err(|e| ServiceError::Internal(e.to_string()))
}
