//! Wire types shared by the Rosetta server and its console.
//!
//! This crate is serde-only on purpose: it compiles to `wasm32-unknown-unknown` for the
//! console and carries no database or server types.

use serde::{Deserialize, Serialize};

/// Lifecycle state of a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Brokering endpoints answer.
    Active,
    /// Brokering endpoints answer 404; data is kept.
    Suspended,
}

/// A tenant as operators and the console see it.
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable machine-readable code, e.g. `not_found`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Correlation ID that also appears in the server log.
    pub request_id: String,
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
