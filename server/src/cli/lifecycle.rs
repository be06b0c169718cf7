//! `rosetta provisioning ...` and `rosetta lifecycle ...`: a service provider's SCIM target
//! and the lifecycle runs from the command line, on the same use cases as the admin API.

use std::path::PathBuf;

use clap::Subcommand;
use rosetta_api::{PageQuery, PutProvisioningRequest};
use zeroize::Zeroizing;

use super::{Failure, emit, operator_state, tenant_slug};
use crate::admin::service_providers::Which;
use crate::admin::{Scope, provisioning};
use crate::configuration::Settings;

/// `rosetta provisioning ...`
#[derive(Debug, Subcommand)]
pub enum ProvisioningAction {
    /// Set up or change a service provider's SCIM target.
    Set {
        /// Tenant slug.
        tenant: String,
        /// The service provider's name.
        sp: String,
        /// SCIM base URL (Atlassian: https://api.atlassian.com/scim/directory/<directoryId>).
        #[arg(long)]
        base_url: String,
        /// File holding the bearer API key (required the first time; omitted keeps the
        /// stored key; a new key resumes a paused target).
        #[arg(long)]
        api_key_file: Option<PathBuf>,
        /// The key's expiry date, YYYY-MM-DD (Atlassian's keys live one year).
        #[arg(long)]
        key_expires_on: Option<String>,
        /// Keep pushes switched off.
        #[arg(long)]
        disabled: bool,
    },
    /// Show the target, its state and its queue.
    Show {
        /// Tenant slug.
        tenant: String,
        /// The service provider's name.
        sp: String,
    },
    /// Test the target: network, key, rights, SCIM.
    Test {
        /// Tenant slug.
        tenant: String,
        /// The service provider's name.
        sp: String,
    },
    /// Queue every user of the tenant for the target (`--dry-run`: only say what it would do).
    Sync {
        /// Tenant slug.
        tenant: String,
        /// The service provider's name.
        sp: String,
        /// Count and list what a sync would create, update and deactivate; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// The users with their state at the target.
    Users {
        /// Tenant slug.
        tenant: String,
        /// The service provider's name.
        sp: String,
        /// Page, from 1 (200 users a page).
        #[arg(long, default_value_t = 1)]
        page: u64,
    },
    /// Queue one user again now.
    Retry {
        /// Tenant slug.
        tenant: String,
        /// The service provider's name.
        sp: String,
        /// The end user's ID.
        user_id: String,
    },
    /// Remove the target and its queue.
    Remove {
        /// Tenant slug.
        tenant: String,
        /// The service provider's name.
        sp: String,
    },
}

/// `rosetta lifecycle ...`
#[derive(Debug, Subcommand)]
pub enum LifecycleAction {
    /// Run a tenant's lifecycle now: redeem refresh tokens (departing users the provider
    /// refuses), apply the inactivity rule, warn of expiring provisioning keys.
    Run {
        /// Tenant slug.
        tenant: String,
    },
}

/// Runs a `provisioning` command.
pub async fn provisioning(settings: Settings, action: ProvisioningAction, json: bool) -> Result<(), Failure> {
    let tenant = match &action {
        ProvisioningAction::Set { tenant, .. }
        | ProvisioningAction::Show { tenant, .. }
        | ProvisioningAction::Test { tenant, .. }
        | ProvisioningAction::Sync { tenant, .. }
        | ProvisioningAction::Users { tenant, .. }
        | ProvisioningAction::Retry { tenant, .. }
        | ProvisioningAction::Remove { tenant, .. } => tenant_slug(tenant)?,
    };
    let state = operator_state(settings).await?;
    let scope = Scope::operator(&state, &tenant).await?;
    match action {
        ProvisioningAction::Set {
            sp,
            base_url,
            api_key_file,
            key_expires_on,
            disabled,
            ..
        } => {
            let api_key = match api_key_file {
                Some(file) => Some(Zeroizing::new(std::fs::read_to_string(&file).map_err(|e| {
                    Failure::new(2, "invalid", format!("api_key_file {}: {e}", file.display()))
                })?)),
                None => None,
            };
            let body = PutProvisioningRequest {
                base_url,
                api_key: api_key.as_ref().map(|k| k.trim().to_owned()),
                key_expires_on,
                enabled: !disabled,
            };
            let target = provisioning::put(&state, &scope, Which::Name(&sp), body).await?;
            emit(json, &target, || {
                format!(
                    "provisioning to `{sp}` of {tenant}: {} ({})",
                    target.base_url,
                    if target.enabled { "on" } else { "off" }
                )
            })
        }
        ProvisioningAction::Show { sp, .. } => {
            let target = provisioning::get(&state, &scope, Which::Name(&sp)).await?;
            emit(json, &target, || {
                let q = &target.queue;
                format!(
                    "{}\n  state:   {}\n  key:     {}\n  queue:   {} pending ({} retrying), {} synced, {} failed",
                    target.base_url,
                    target.paused_reason.as_deref().map_or_else(
                        || if target.enabled { "running".into() } else { "off".into() },
                        |r| { format!("paused: {r}") }
                    ),
                    target
                        .key_expires_on
                        .as_deref()
                        .map_or_else(|| "expiry not given".into(), |d| format!("expires {d}")),
                    q.pending,
                    q.retrying,
                    q.synced,
                    q.failed
                )
            })
        }
        ProvisioningAction::Test { sp, .. } => {
            let report = provisioning::test(&state, &scope, Which::Name(&sp)).await?;
            emit(json, &report, || {
                format!("{:?}: {}", report.step, report.message).to_lowercase()
            })?;
            if report.ok {
                Ok(())
            } else {
                Err(Failure::new(1, "test_failed", report.message))
            }
        }
        ProvisioningAction::Sync { sp, dry_run, .. } => {
            if dry_run {
                let preview = provisioning::sync_preview(&state, &scope, Which::Name(&sp)).await?;
                emit(json, &preview, || {
                    let mut out = format!(
                        "would create {}, update {}, deactivate {}",
                        preview.create, preview.update, preview.deactivate
                    );
                    for item in &preview.items {
                        out.push_str(&format!("\n  {} {}", item.action, item.email));
                    }
                    out
                })
            } else {
                let result = provisioning::sync(&state, &scope, Which::Name(&sp)).await?;
                emit(json, &result, || format!("queued {} user(s)", result.queued))
            }
        }
        ProvisioningAction::Users { sp, page, .. } => {
            let query = PageQuery {
                page: Some(page),
                per_page: Some(200),
            };
            let users = provisioning::users(&state, &scope, Which::Name(&sp), &query).await?;
            emit(json, &users, || {
                users
                    .items
                    .iter()
                    .map(|u| {
                        format!(
                            "{}  {:?}{}",
                            u.email,
                            u.state,
                            u.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        ProvisioningAction::Retry { sp, user_id, .. } => {
            let user = provisioning::retry(&state, &scope, Which::Name(&sp), &user_id).await?;
            emit(json, &user, || format!("queued {}", user.email))
        }
        ProvisioningAction::Remove { sp, .. } => {
            provisioning::delete(&state, &scope, Which::Name(&sp)).await?;
            emit(json, &serde_json::json!({"removed": sp}), || {
                format!("removed provisioning to `{sp}`")
            })
        }
    }
}

/// Runs a `lifecycle` command.
pub async fn lifecycle(settings: Settings, action: LifecycleAction, json: bool) -> Result<(), Failure> {
    match action {
        LifecycleAction::Run { tenant } => {
            let slug = tenant_slug(&tenant)?;
            let state = operator_state(settings).await?;
            let row = crate::services::tenants::get(&state.db, &slug).await?;
            let report = crate::lifecycle::run_tenant(&state, &row)
                .await
                .map_err(|e| Failure::new(1, "lifecycle", format!("{e:#}")))?;
            state.audit.flush().await;
            emit(json, &report, || {
                format!(
                    "{tenant}: {} refresh token(s) accepted, {} refused (departed), {} unanswered; {} inactive \
                     user(s) departed; {} key and {} certificate expiry warning(s)",
                    report.redeemed,
                    report.refused,
                    report.unanswered,
                    report.inactive,
                    report.key_warnings,
                    report.certificate_warnings
                )
            })
        }
    }
}
