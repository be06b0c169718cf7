//! The tenant's own settings: its name, the second-factor policies, and what to paste into
//! service providers.

use rosetta_api::{
    InactivePreview, InactiveQuery, MfaPolicy, SetupProgress, TenantDetails, TenantSettings, UpdateTenantRequest,
};
use serde_json::json;

use super::{AdminResult, Fields, Scope};
use crate::domain::DisplayName;
use crate::services::{audit, identity_sources, service_providers, tenants};
use crate::state::AppState;

fn policy_str(p: MfaPolicy) -> &'static str {
    match p {
        MfaPolicy::Off => "off",
        MfaPolicy::Optional => "optional",
        MfaPolicy::Required => "required",
    }
}

/// The stored end-user MFA policy; anything unknown is `off`.
pub(crate) fn parse_policy(s: &str) -> MfaPolicy {
    match s {
        "optional" => MfaPolicy::Optional,
        "required" => MfaPolicy::Required,
        _ => MfaPolicy::Off,
    }
}

async fn settings_view(state: &AppState, t: &rosetta_entity::tenant::Model) -> AdminResult<TenantSettings> {
    Ok(TenantSettings {
        details: TenantDetails {
            tenant: tenants::to_wire(t, &state.hosts),
            idp: tenants::idp_info(&state.db, &state.hosts, t).await?,
        },
        admin_mfa_required: t.admin_mfa_required,
        end_user_mfa: parse_policy(&t.end_user_mfa),
        end_user_mfa_trust_upstream: t.mfa_trust_upstream,
        end_user_mfa_trusted_acr: t
            .mfa_trusted_acr
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        end_user_mfa_max_age_hours: t.mfa_max_age_hours.and_then(|h| u32::try_from(h).ok()),
        liveness_interval_hours: u32::try_from(t.liveness_interval_hours).unwrap_or(6),
        deactivate_after_days: t.deactivate_after_days.and_then(|d| u32::try_from(d).ok()),
    })
}

/// The tenant, what to paste into service providers, and its MFA settings.
pub async fn settings(state: &AppState, scope: &Scope) -> AdminResult<TenantSettings> {
    settings_view(state, scope.tenant()).await
}

/// Changes the tenant's name or MFA settings; only the fields present change.
pub async fn update(state: &AppState, scope: &Scope, body: UpdateTenantRequest) -> AdminResult<TenantSettings> {
    let mut fields = Fields::default();
    let display_name = match &body.display_name {
        Some(n) => fields.check("display_name", DisplayName::parse(n)),
        None => None,
    };
    if let Some(acr) = &body.end_user_mfa_trusted_acr {
        let ok = acr.len() <= 16
            && acr
                .iter()
                .all(|a| !a.is_empty() && a.len() <= 256 && a.chars().all(|c| c.is_ascii_graphic()));
        if !ok {
            fields.push(
                "end_user_mfa_trusted_acr",
                "up to 16 acr values, each printable text without spaces",
            );
        }
    }
    if body.end_user_mfa_max_age_hours.is_some_and(|h| h > 24 * 366) {
        fields.push(
            "end_user_mfa_max_age_hours",
            "at most a year (8784 hours); 0 asks once per session",
        );
    }
    if body.liveness_interval_hours.is_some_and(|h| !(1..=168).contains(&h)) {
        fields.push("liveness_interval_hours", "between 1 and 168 hours (a week)");
    }
    if body.deactivate_after_days.is_some_and(|d| d > 3660) {
        fields.push("deactivate_after_days", "at most 3660 days; 0 switches the rule off");
    }
    fields.finish()?;
    let set: Vec<&str> = [
        ("display_name", body.display_name.is_some()),
        ("admin_mfa_required", body.admin_mfa_required.is_some()),
        ("end_user_mfa", body.end_user_mfa.is_some()),
        (
            "end_user_mfa_trust_upstream",
            body.end_user_mfa_trust_upstream.is_some(),
        ),
        ("end_user_mfa_trusted_acr", body.end_user_mfa_trusted_acr.is_some()),
        ("end_user_mfa_max_age_hours", body.end_user_mfa_max_age_hours.is_some()),
        ("liveness_interval_hours", body.liveness_interval_hours.is_some()),
        ("deactivate_after_days", body.deactivate_after_days.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect();
    let change = tenants::TenantUpdate {
        display_name,
        admin_mfa_required: body.admin_mfa_required,
        end_user_mfa: body.end_user_mfa.map(policy_str),
        mfa_trust_upstream: body.end_user_mfa_trust_upstream,
        mfa_trusted_acr: body.end_user_mfa_trusted_acr.map(|a| a.join(" ")),
        mfa_max_age_hours: body.end_user_mfa_max_age_hours,
        liveness_interval_hours: body.liveness_interval_hours,
        deactivate_after_days: body.deactivate_after_days,
    };
    let (before, after) = tenants::update(&state.db, scope.tenant_id(), change).await?;
    let snapshot = |t: &rosetta_entity::tenant::Model| {
        json!({
            "display_name": t.display_name, "admin_mfa_required": t.admin_mfa_required, "end_user_mfa": t.end_user_mfa,
            "mfa_trust_upstream": t.mfa_trust_upstream, "mfa_trusted_acr": t.mfa_trusted_acr,
            "mfa_max_age_hours": t.mfa_max_age_hours,
            "liveness_interval_hours": t.liveness_interval_hours, "deactivate_after_days": t.deactivate_after_days,
        })
    };
    scope
        .changed(
            state,
            "tenant.update",
            Some(after.slug.clone()),
            json!({"before": snapshot(&before), "after": snapshot(&after), "set": set}),
        )
        .await?;
    settings_view(state, &after).await
}

/// What the inactivity preview checks when neither the request nor the tenant names a limit.
const DEFAULT_INACTIVE_DAYS: u32 = 90;

/// Who the inactivity rule would mark departed (a dry run): active users without a login
/// for `days` (default: the tenant's setting, else 90), longest inactive first, the first 200.
pub async fn inactive_users(state: &AppState, scope: &Scope, q: &InactiveQuery) -> AdminResult<InactivePreview> {
    let days = q
        .days
        .or_else(|| scope.tenant().deactivate_after_days.and_then(|d| u32::try_from(d).ok()))
        .unwrap_or(DEFAULT_INACTIVE_DAYS);
    if !(1..=3660).contains(&days) {
        return Err(super::AdminError::field("days", "between 1 and 3660 days"));
    }
    let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
    let (items, total) = crate::services::end_users::inactive(&state.db, scope.tenant_id(), cutoff, 200).await?;
    Ok(InactivePreview {
        days,
        total,
        items: items.iter().map(super::end_users::wire).collect(),
    })
}

/// How far the tenant's set-up has got, from what Rosetta has seen: a service provider
/// registered, a source added and its connection test passed, a login, the second-factor
/// policy set.
pub async fn setup(state: &AppState, scope: &Scope) -> AdminResult<SetupProgress> {
    let tenant = scope.tenant_id();
    // Logins are written in batches just after their response.
    state.audit.flush().await;
    let db = &state.db;
    Ok(SetupProgress {
        service_provider: !service_providers::list(db, tenant).await?.is_empty(),
        identity_source: !identity_sources::list(db, tenant).await?.is_empty(),
        source_tested: audit::exists(db, tenant, "identity_source.test", "success", Some("\"ok\":true")).await?,
        first_login: audit::exists(db, tenant, "login", "success", None).await?,
        mfa_decided: parse_policy(&scope.tenant().end_user_mfa) != MfaPolicy::Off
            || mfa_set_in_an_update(db, tenant).await?,
    })
}

/// Whether an update of the tenant ever set its end-user MFA policy, even to what it was
/// (the audit detail lists the fields an update set).
async fn mfa_set_in_an_update(db: &sea_orm::DatabaseConnection, tenant: uuid::Uuid) -> AdminResult<bool> {
    let filter = audit::AuditFilter {
        action: Some("tenant.update".into()),
        ..Default::default()
    };
    let (events, _) = audit::page(db, tenant, &filter, 1, 200).await?;
    Ok(events.iter().any(|e| {
        let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
        detail["set"]
            .as_array()
            .is_some_and(|set| set.iter().any(|f| f == "end_user_mfa"))
    }))
}
