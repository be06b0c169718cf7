//! The lifecycle runs: who is gone, and whose provisioning key is about to expire.
//!
//! Every minute each replica looks at every tenant whose run is due (its
//! `liveness_interval_hours`, 6 by default, since the last one) and takes the run with one
//! conditional update of `tenant.liveness_checked_at`, so one replica runs it. A run:
//!
//! 1. **liveness**: redeems the refresh token of every user of a source with
//!    `offline_access` on. `invalid_grant` (the account is disabled or deleted, or its
//!    consent or sessions were revoked at the provider) marks the user *departed*: their
//!    broker sessions end at once and every provisioning target deactivates them (the
//!    status change queues the pushes). A network error, a 5xx or any other answer changes
//!    nothing. A rotated refresh token is kept. Works with every OpenID provider, with no
//!    directory API.
//! 2. **inactivity**: with `deactivate_after_days` set, active users without a login for
//!    that long are marked departed the same way.
//! 3. **key expiry**: owners are emailed when a provisioning target's API key, or a published
//!    signing certificate, expires in 30 days or fewer, and again at 7 (Atlassian sends no
//!    warning for its keys, and refuses every login once the certificate it pinned expires).
//! 4. **login traces**: deletes traces older than `login_trace_days`, and marks failed
//!    (`abandoned`) the logins still in progress 10 minutes after their last step.
//!
//! A departed user who logs in through the provider again is active again (the login's
//! upsert), and is pushed as such. Every departure is audited (actor `lifecycle`) with its
//! reason; refresh tokens never appear in logs or the audit log.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rosetta_entity::tenant;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
use serde_json::json;

use crate::domain::TenantSlug;
use crate::services::audit::AuditEvent;
use crate::services::{end_users, grants, provisioning, signing_keys};
use crate::state::AppState;
use rosetta_entity::signing_key::KeyState;

/// How often a replica looks for due runs.
const TICK: Duration = Duration::from_secs(60);

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunReport {
    /// Refresh tokens the provider accepted.
    pub redeemed: u64,
    /// Users the provider no longer knows (now departed).
    pub refused: u64,
    /// Redemptions that failed for another reason (nothing changed).
    pub unanswered: u64,
    /// Users departed for inactivity.
    pub inactive: u64,
    /// Expiry warnings sent (one per target and threshold).
    pub key_warnings: u64,
    /// Signing certificate expiry warnings sent (one per key and threshold).
    #[serde(default)]
    pub certificate_warnings: u64,
    /// Login traces deleted for their age (`login_trace_days`).
    #[serde(default)]
    pub traces_deleted: u64,
    /// Logins still in progress after their 10 minutes, now marked failed (`abandoned`).
    #[serde(default)]
    pub traces_abandoned: u64,
}

/// Starts this replica's scheduler.
pub fn spawn(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = run_due(&state).await {
                tracing::warn!(error = %e, "lifecycle: a run failed; the next tick tries again");
            }
        }
    })
}

/// Runs every tenant whose run is due and that this replica takes.
pub async fn run_due(state: &AppState) -> anyhow::Result<()> {
    let now = Utc::now();
    for t in tenant::Entity::find().all(&state.db).await? {
        // Only a run due as read is asked for: a minute's tick writes nothing otherwise.
        if t.liveness_checked_at.is_none_or(|at| at < due_before(&t, now)) && take_run(state, &t).await? {
            let report = run_tenant(state, &t).await?;
            tracing::info!(tenant = %t.slug, ?report, "lifecycle run");
        }
    }
    Ok(())
}

/// A run last taken before this is due again.
fn due_before(t: &tenant::Model, now: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    now - chrono::Duration::hours(i64::from(t.liveness_interval_hours.clamp(1, 168)))
}

/// Takes the tenant's run if it is due: one conditional update, so one replica wins.
async fn take_run(state: &AppState, t: &tenant::Model) -> anyhow::Result<bool> {
    let now = Utc::now();
    let due_before = due_before(t, now);
    let taken = tenant::Entity::update_many()
        .col_expr(tenant::Column::LivenessCheckedAt, Some(now).into())
        .filter(tenant::Column::Id.eq(t.id))
        .filter(
            Condition::any()
                .add(tenant::Column::LivenessCheckedAt.is_null())
                .add(tenant::Column::LivenessCheckedAt.lt(due_before)),
        )
        .exec(&state.db)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// One tenant's run, now (the scheduler's, and the operator's `rosetta lifecycle run`).
pub async fn run_tenant(state: &AppState, t: &tenant::Model) -> anyhow::Result<RunReport> {
    let mut report = RunReport::default();
    let slug = TenantSlug::parse(&t.slug).map_err(|e| anyhow::anyhow!(e.0))?;
    liveness(state, t, &slug, &mut report).await?;
    if let Some(days) = t.deactivate_after_days.filter(|d| *d > 0) {
        let cutoff = Utc::now() - chrono::Duration::days(i64::from(days));
        // At most this many per run; the rest at the next one.
        let (idle, _) = end_users::inactive(&state.db, t.id, cutoff, 100_000).await?;
        let ids: Vec<uuid::Uuid> = idle.iter().map(|u| u.id).collect();
        for user in end_users::depart(&state.db, t.id, &ids).await? {
            crate::flow::end_sessions(state.store.as_ref(), &slug, user.id).await?;
            audit_departed(state, t, &user, json!({"reason": "inactive", "days": days}));
            report.inactive += 1;
        }
    }
    report.key_warnings = warn_expiring_keys(state, t).await?;
    report.certificate_warnings = warn_expiring_certificates(state, t).await?;
    let kept = chrono::Duration::days(i64::from(state.settings.server.login_trace_days));
    report.traces_deleted = crate::services::login_traces::sweep(&state.db, t.id, Utc::now() - kept).await?;
    let pending = chrono::Duration::from_std(crate::flow::PENDING_TTL).unwrap_or_default();
    report.traces_abandoned =
        crate::services::login_traces::close_abandoned(&state.db, t.id, Utc::now() - pending).await?;
    Ok(report)
}

/// The expiry threshold (30 or 7 days) `days_left` falls under, if any.
fn expiry_threshold(days_left: i64) -> Option<i32> {
    match days_left {
        ..=7 => Some(7),
        8..=30 => Some(30),
        _ => None,
    }
}

/// Emails the owners about published signing certificates (active or next) that expire
/// within 30 days (again within 7); how many warnings went out.
async fn warn_expiring_certificates(state: &AppState, t: &tenant::Model) -> anyhow::Result<u64> {
    let mut sent = 0;
    for key in signing_keys::published(&state.db, t.id).await? {
        let days_left = signing_keys::days_left(&key)?;
        let Some(threshold) = expiry_threshold(days_left) else {
            continue;
        };
        if key.expiry_warned.is_some_and(|w| w <= threshold) {
            continue;
        }
        let which = if key.state == KeyState::Active {
            "active"
        } else {
            "next"
        };
        let link = format!("{}keys", state.settings.server.public_url);
        email_owners(state, t.id, &link, |to, link| {
            crate::emails::signing_certificate_expiring(to, &t.display_name, which, days_left, link)
        })
        .await?;
        signing_keys::set_expiry_warned(&state.db, key.id, threshold).await?;
        sent += 1;
    }
    Ok(sent)
}

/// Emails each owner of the tenant the message `email(to, link)` makes. A message that
/// cannot be sent is logged; the others still go.
pub(crate) async fn email_owners(
    state: &AppState,
    tenant_id: uuid::Uuid,
    link: &str,
    email: impl Fn(&str, &str) -> crate::mail::OutgoingEmail,
) -> crate::services::ServiceResult<()> {
    let members = crate::services::members::list(&state.db, tenant_id).await?;
    for owner in members.iter().filter(|m| m.role == rosetta_api::Role::Owner) {
        if let Err(e) = state.mailer.send(&email(&owner.email, link)).await {
            tracing::warn!(error = %e, "emailing an owner failed");
        }
    }
    Ok(())
}

/// Sets `rosetta_signing_certificate_expiry_seconds` from the database: every published key
/// of every tenant (at scrape time, so every replica reports the same, and a retired key
/// leaves the exposition).
pub async fn update_certificate_gauge(state: &AppState) -> anyhow::Result<()> {
    let keys = signing_keys::all_published(&state.db).await?;
    let slugs: std::collections::HashMap<uuid::Uuid, String> = tenant::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.slug))
        .collect();
    let gauge = &state.metrics.signing_certificate_expiry_seconds;
    gauge.reset();
    for key in keys {
        let Some(slug) = slugs.get(&key.tenant_id) else {
            continue;
        };
        let which = if key.state == KeyState::Active {
            "active"
        } else {
            "next"
        };
        gauge
            .with_label_values(&[slug.as_str(), which])
            .set(signing_keys::seconds_left(&key)?);
    }
    Ok(())
}

async fn liveness(
    state: &AppState,
    t: &tenant::Model,
    slug: &TenantSlug,
    report: &mut RunReport,
) -> anyhow::Result<()> {
    let working = grants::working(&state.db, t.id).await?;
    if working.is_empty() {
        return Ok(());
    }
    let sources = state.config.sources(&state.db, &state.keyring, t.id).await?;
    for g in working {
        let Some((source, secret)) = sources.iter().find(|(s, _)| s.id == g.source_id) else {
            continue;
        };
        if !source.offline_access {
            continue;
        }
        let Some(token) = grants::open(&state.keyring, &g)? else {
            continue;
        };
        match state.oidc.refresh(&source.oidc_config(secret.clone()), &token).await {
            Ok(rotated) => {
                grants::redeemed(&state.db, &state.keyring, &g, rotated.as_ref()).await?;
                report.redeemed += 1;
            }
            Err(crate::oidc::OidcError::TokenEndpointRejected { error }) if error == "invalid_grant" => {
                grants::refused(&state.db, g.end_user_id).await?;
                report.refused += 1;
                for user in end_users::depart(&state.db, t.id, &[g.end_user_id]).await? {
                    crate::flow::end_sessions(state.store.as_ref(), slug, user.id).await?;
                    audit_departed(
                        state,
                        t,
                        &user,
                        json!({"reason": "provider_refused", "source": source.name}),
                    );
                }
            }
            Err(e) => {
                tracing::info!(code = e.code(), source = %source.name, "lifecycle: a refresh token could not be checked; nothing changes");
                report.unanswered += 1;
            }
        }
    }
    Ok(())
}

fn audit_departed(
    state: &AppState,
    t: &tenant::Model,
    user: &rosetta_entity::end_user::Model,
    detail: serde_json::Value,
) {
    state.audit.record(AuditEvent::of_task(
        t.id,
        "lifecycle",
        "end_user.depart",
        "success",
        user.email.clone(),
        detail,
    ));
}

/// Emails the owners about provisioning keys that expire within 30 days (again within 7);
/// how many warnings went out.
async fn warn_expiring_keys(state: &AppState, t: &tenant::Model) -> anyhow::Result<u64> {
    let today = Utc::now().date_naive();
    let mut sent = 0;
    for target in provisioning::of_tenant(&state.db, t.id).await? {
        let Some(expires) = target.key_expires_on else {
            continue;
        };
        let days_left = (expires - today).num_days();
        let Some(threshold) = expiry_threshold(days_left) else {
            continue;
        };
        if target.expiry_warned.is_some_and(|w| w <= threshold) {
            continue;
        }
        let sp = rosetta_entity::service_provider::Entity::find_by_id(target.service_provider_id)
            .one(&state.db)
            .await?
            .map_or_else(String::new, |sp| sp.name);
        crate::provisioning::email_owners(state, &target, |to, link| {
            crate::emails::provisioning_key_expiring(to, &sp, expires, days_left, link)
        })
        .await?;
        provisioning::set_expiry_warned(&state.db, target.id, threshold).await?;
        sent += 1;
    }
    Ok(sent)
}
