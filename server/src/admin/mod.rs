//! The admin side's use cases, shaped like `flow/`: one function per thing an admin (or the
//! operator) does, which checks the caller's limits, validates the input, writes through
//! `services`, sends its email and records its audit event. No HTTP types here:
//! `routes::api` turns requests into calls of these functions and [`AdminError`]s into
//! responses, and the operator's command line (`cli`) calls the same functions, so a change
//! made either way is validated, applied and audited alike.
//!
//! | module | use cases |
//! |---|---|
//! | [`accounts`] | sign-up, email verification, password reset, sign-in and its second factor, the caller's account, password change, TOTP, extra tenants |
//! | [`tenant`] | the tenant's settings and what to paste into service providers |
//! | [`tenants`] | the operator's tenants: create, list, show |
//! | [`service_providers`] | SAML service providers: from a preset or metadata, edit, delete |
//! | [`identity_sources`] | OpenID providers: add, edit, delete, test the connection |
//! | [`signing_keys`] | publish a next key, promote it, retire a key |
//! | [`end_users`] | people who logged in: list, block, unblock, reset their second factor |
//! | [`audit_log`] | the audit log: pages and CSV |
//! | [`logins`] | the login debugger: traces, support bundles, Test login, the go-live checklist |
//! | [`members`] | members and invitations |
//! | [`provisioning`] | a service provider's SCIM target: set up, test, queue and users' states, retry, sync now |

pub mod accounts;
pub mod audit_log;
pub mod end_users;
pub mod identity_sources;
pub mod logins;
pub mod mapping;
pub mod members;
pub mod provisioning;
pub mod service_providers;
pub mod signing_keys;
pub mod tenant;
pub mod tenants;

mod error;

use rosetta_api::{AuditOutcome, ErrorCode, Role};
use rosetta_entity::tenant as tenant_row;
use uuid::Uuid;

pub(crate) use self::error::checked;
pub use self::error::{AdminError, AdminResult, Fields};
use crate::domain::TenantSlug;
use crate::services::audit::{self, AuditEvent};
use crate::state::AppState;

/// Who asks, as the audit log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in admin.
    Admin {
        /// Their account.
        account_id: Uuid,
        /// Their sign-in email (the audit log's actor).
        email: String,
    },
    /// The operator, at the command line (`operator` in the audit log).
    Operator,
    /// Someone not signed in (signing up, following an emailed link, signing in), named by
    /// the email address they gave or proved.
    Visitor {
        /// That address, as given (at most 320 characters are recorded).
        email: String,
    },
}

/// Where a request came from, for the audit log and the per-address limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The client address (trusted proxies honoured); `None` at the command line.
    pub ip: Option<String>,
    /// The request's correlation ID.
    pub request_id: Option<String>,
}

impl Origin {
    /// The operator's command line: no address, no request.
    pub fn command_line() -> Self {
        Self::default()
    }

    /// The address as rate limits count it (`unknown` when there is none).
    pub(crate) fn address(&self) -> &str {
        self.ip.as_deref().unwrap_or("unknown")
    }
}

/// Who works on which tenant: every tenant object a use case touches is looked up through
/// [`Scope::tenant_id`], so another tenant's IDs are simply not found.
#[derive(Debug, Clone)]
pub struct Scope {
    tenant: tenant_row::Model,
    slug: TenantSlug,
    role: Role,
    actor: Actor,
    origin: Origin,
}

impl Scope {
    /// The operator working on `slug` (as an owner).
    pub async fn operator(state: &AppState, slug: &TenantSlug) -> AdminResult<Self> {
        let tenant = crate::services::tenants::get(&state.db, slug).await?;
        Ok(Self {
            tenant,
            slug: slug.clone(),
            role: Role::Owner,
            actor: Actor::Operator,
            origin: Origin::command_line(),
        })
    }

    /// A signed-in admin working on a tenant they are a member of, with `role` there.
    pub(crate) fn member(tenant: tenant_row::Model, role: Role, actor: Actor, origin: Origin) -> AdminResult<Self> {
        let slug = TenantSlug::parse(&tenant.slug).map_err(|e| AdminError::Internal(anyhow::anyhow!(e)))?;
        Ok(Self {
            tenant,
            slug,
            role,
            actor,
            origin,
        })
    }

    /// The tenant's ID.
    pub fn tenant_id(&self) -> Uuid {
        self.tenant.id
    }

    /// The tenant's slug.
    pub fn slug(&self) -> &TenantSlug {
        &self.slug
    }

    /// The tenant's display name.
    pub fn tenant_name(&self) -> &str {
        &self.tenant.display_name
    }

    /// The caller's role in the tenant.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Who asks.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub(crate) fn tenant(&self) -> &tenant_row::Model {
        &self.tenant
    }

    /// Refuses callers who are not owners.
    pub(crate) fn require_owner(&self) -> AdminResult<()> {
        if self.role != Role::Owner {
            return Err(AdminError::Forbidden(
                ErrorCode::OwnerRequired,
                "only an owner of this tenant can manage its members".into(),
            ));
        }
        Ok(())
    }

    /// Records a change of this tenant's configuration: the audit event (who, what, before
    /// and after, never secrets), and the replica's configuration cache forgets the tenant,
    /// so the change applies to the next login at once.
    pub(crate) async fn changed(
        &self,
        state: &AppState,
        action: &'static str,
        target: Option<String>,
        detail: serde_json::Value,
    ) -> AdminResult<()> {
        state.config.invalidate(self.tenant.id);
        record(
            state,
            Recorded {
                tenant_id: Some(self.tenant.id),
                actor: &self.actor,
                origin: &self.origin,
                action,
                outcome: AuditOutcome::Success,
                target,
                detail,
            },
        )
        .await
    }
}

/// One audit event of an admin use case.
pub(crate) struct Recorded<'a> {
    pub tenant_id: Option<Uuid>,
    pub actor: &'a Actor,
    pub origin: &'a Origin,
    pub action: &'static str,
    pub outcome: AuditOutcome,
    pub target: Option<String>,
    pub detail: serde_json::Value,
}

/// The audit log's name for an actor.
pub(crate) fn actor_name(actor: &Actor) -> String {
    match actor {
        Actor::Admin { email, .. } => email.clone(),
        Actor::Operator => "operator".into(),
        Actor::Visitor { email } => email.chars().take(320).collect(),
    }
}

/// Writes one audit event; a failure to write it fails the use case (the change happened,
/// and saying so without a record would hide it).
pub(crate) async fn record(state: &AppState, event: Recorded<'_>) -> AdminResult<()> {
    let actor = actor_name(event.actor);
    audit::record(
        &state.db,
        AuditEvent {
            tenant_id: event.tenant_id,
            actor,
            action: event.action,
            outcome: outcome_str(event.outcome),
            target: event.target,
            detail: event.detail,
            ip: event.origin.ip.clone(),
            request_id: event.origin.request_id.clone(),
        },
    )
    .await?;
    Ok(())
}

/// Like [`record`] for an event that accompanies a refusal or an answer already decided:
/// a failure to write it is logged, not returned.
pub(crate) async fn record_quietly(state: &AppState, event: Recorded<'_>) {
    let action = event.action;
    if let Err(e) = record(state, event).await {
        tracing::error!(error = %e, action, "recording an audit event failed");
    }
}

/// The stored text of an outcome.
pub(crate) fn outcome_str(outcome: AuditOutcome) -> &'static str {
    match outcome {
        AuditOutcome::Success => "success",
        AuditOutcome::Failure => "failure",
    }
}

/// Page number and size of a list, checked (pages from 1, 1 to 200 items, 50 by default).
pub fn paging(page: Option<u64>, per_page: Option<u64>) -> AdminResult<(u64, u64)> {
    let page = page.unwrap_or(1);
    let per_page = per_page.unwrap_or(50);
    if page == 0 || page > 1_000_000 {
        return Err(AdminError::field("page", "pages are numbered from 1"));
    }
    if !(1..=200).contains(&per_page) {
        return Err(AdminError::field("per_page", "a page holds 1 to 200 items"));
    }
    Ok((page, per_page))
}

/// A list filter's text: at most 320 printable characters.
pub(crate) fn text_filter(field: &str, value: &Option<String>) -> AdminResult<Option<String>> {
    match value {
        Some(s) if s.len() > 320 || s.chars().any(char::is_control) => {
            Err(AdminError::field(field, "at most 320 printable characters"))
        }
        other => Ok(other.clone()),
    }
}

/// A list filter's time: RFC 3339.
pub(crate) fn time_filter(field: &str, value: &Option<String>) -> AdminResult<Option<chrono::DateTime<chrono::Utc>>> {
    value
        .as_deref()
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|_| AdminError::field(field, "an RFC 3339 time like 2026-11-29T10:00:00Z"))
        })
        .transpose()
}

/// An object ID from a path or a command. A malformed ID names nothing in this tenant: the
/// same answer as another tenant's ID.
pub fn object_id(raw: &str) -> AdminResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| AdminError::not_found())
}
