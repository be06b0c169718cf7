//! A service provider's SCIM provisioning target: set it up (URL, write-only key, the key's
//! expiry), test the connection step by step, see the queue and each user's state, retry a
//! user, sync every user now, remove it. The pushes themselves are the worker's
//! ([`crate::provisioning`]).

use chrono::{NaiveDate, Utc};
use rosetta_api::{
    PageQuery, ProvisioningQueue, ProvisioningStep, ProvisioningTarget, ProvisioningTest, ProvisioningUser,
    ProvisioningUserPage, PutProvisioningRequest, SyncPreview, SyncPreviewItem, SyncResult,
};
use rosetta_entity::provisioning_target as target;
use secrecy::SecretString;
use serde_json::json;
use url::Url;

use super::service_providers::{Which, find};
use super::{AdminError, AdminResult, Fields, Scope, checked, object_id, paging};
use crate::outbound::OutboundError;
use crate::services::provisioning::{self as queue, TargetInput, UserState};
use crate::services::rate_limit;
use crate::services::scim::{ScimClient, ScimError};
use crate::state::AppState;

/// The longest API key accepted (Atlassian's are about 200 characters).
const MAX_KEY: usize = 4096;

async fn wire(state: &AppState, row: &target::Model) -> AdminResult<ProvisioningTarget> {
    let q = queue::queue_state(&state.db, row.id).await?;
    let today = Utc::now().date_naive();
    Ok(ProvisioningTarget {
        service_provider_id: row.service_provider_id.to_string(),
        base_url: row.base_url.clone(),
        key_expires_on: row.key_expires_on.map(|d| d.to_string()),
        key_expires_in_days: row.key_expires_on.map(|d| (d - today).num_days()),
        enabled: row.enabled,
        paused_reason: row.paused_reason.clone(),
        paused_at: row.paused_at.map(|t| t.to_rfc3339()),
        queue: ProvisioningQueue {
            pending: q.pending,
            retrying: q.retrying,
            synced: q.synced,
            failed: q.failed,
            oldest_pending_seconds: q
                .oldest_queued_ms
                .map(|ms| ((queue::now_ms() - ms).max(0) / 1000) as u64),
        },
        created_at: row.created_at.to_rfc3339(),
        updated_at: row.updated_at.to_rfc3339(),
    })
}

async fn target_of(state: &AppState, scope: &Scope, sp: Which<'_>) -> AdminResult<target::Model> {
    let sp = find(state, scope, sp).await?;
    queue::get(&state.db, scope.tenant_id(), sp.id)
        .await?
        .ok_or_else(|| AdminError::NotFound("this service provider has no provisioning target".into()))
}

/// The SP's provisioning target with its queue.
pub async fn get(state: &AppState, scope: &Scope, sp: Which<'_>) -> AdminResult<ProvisioningTarget> {
    let row = target_of(state, scope, sp).await?;
    wire(state, &row).await
}

/// Checks a base URL: absolute, https (http only in dev mode), no credentials, no query,
/// a host the outbound policy allows.
fn check_base_url(state: &AppState, raw: &str, fields: &mut Fields) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 2048 {
        fields.push("base_url", "give the SCIM base URL (at most 2048 characters)");
        return None;
    }
    let Ok(url) = Url::parse(raw) else {
        fields.push(
            "base_url",
            "not a URL; e.g. https://api.atlassian.com/scim/directory/<directoryId>",
        );
        return None;
    };
    if url.query().is_some() || url.fragment().is_some() {
        fields.push("base_url", "the SCIM base URL has no query or fragment");
        return None;
    }
    if let Err(e) = state.outbound.policy.check_url(&url) {
        fields.push("base_url", e.to_string());
        return None;
    }
    Some(url.as_str().trim_end_matches('/').to_owned())
}

fn check_key(raw: &str, fields: &mut Fields) -> Option<SecretString> {
    let key = raw.trim();
    if key.is_empty() || key.len() > MAX_KEY || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        fields.push(
            "api_key",
            "paste the API key as shown (one line, at most 4096 characters, no spaces)",
        );
        return None;
    }
    Some(SecretString::from(key.to_owned()))
}

/// Sets up or changes the SP's target. The key is write-only: omitted, the stored one
/// stays; a new key resumes a paused target.
pub async fn put(
    state: &AppState,
    scope: &Scope,
    sp: Which<'_>,
    body: PutProvisioningRequest,
) -> AdminResult<ProvisioningTarget> {
    let sp = find(state, scope, sp).await?;
    let mut fields = Fields::default();
    let base_url = check_base_url(state, &body.base_url, &mut fields);
    let api_key = match body.api_key.as_deref() {
        Some(raw) => check_key(raw, &mut fields).map(Some),
        None => Some(None),
    };
    let key_expires_on = match body.key_expires_on.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Some(None),
        Some(raw) => fields
            .check(
                "key_expires_on",
                NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| "a date as YYYY-MM-DD"),
            )
            .map(Some),
    };
    fields.finish()?;
    let (base_url, api_key, key_expires_on) = (checked(base_url)?, checked(api_key)?, checked(key_expires_on)?);
    let key_changed = api_key.is_some();
    let (before, after) = queue::put(
        &state.db,
        &state.keyring,
        scope.tenant_id(),
        sp.id,
        TargetInput {
            base_url,
            api_key,
            key_expires_on,
            enabled: body.enabled,
        },
    )
    .await?;
    let view = |t: &target::Model| {
        json!({
            "base_url": t.base_url,
            "enabled": t.enabled,
            "key_expires_on": t.key_expires_on.map(|d| d.to_string()),
            "paused_reason": t.paused_reason,
        })
    };
    let action = if before.is_some() {
        "provisioning.target_update"
    } else {
        "provisioning.target_create"
    };
    scope
        .changed(
            state,
            action,
            Some(sp.name.clone()),
            json!({"before": before.as_ref().map(view), "after": view(&after), "api_key_changed": key_changed}),
        )
        .await?;
    wire(state, &after).await
}

/// Removes the SP's target with its queue (users stay as they are at the directory).
pub async fn delete(state: &AppState, scope: &Scope, sp: Which<'_>) -> AdminResult<()> {
    let sp = find(state, scope, sp).await?;
    let gone = queue::delete(&state.db, scope.tenant_id(), sp.id).await?;
    scope
        .changed(
            state,
            "provisioning.target_delete",
            Some(sp.name.clone()),
            json!({"before": {"base_url": gone.base_url, "enabled": gone.enabled}}),
        )
        .await
}

/// Tests the target with its stored key: the network (DNS, TLS, policy), the key (401), its
/// rights (403), and that a SCIM service answers (`/ServiceProviderConfig`, then a user
/// search as pushes make it).
pub async fn test(state: &AppState, scope: &Scope, sp: Which<'_>) -> AdminResult<ProvisioningTest> {
    rate_limit::hit(
        state.store.as_ref(),
        rate_limit::SOURCE_TEST_TENANT,
        &scope.tenant_id().to_string(),
    )
    .await?;
    let row = target_of(state, scope, sp).await?;
    let key = queue::open_key(&state.keyring, &row)?;
    let http = crate::services::scim::http_client(&state.outbound.policy)
        .map_err(|e| AdminError::Internal(anyhow::anyhow!(e)))?;
    let client = ScimClient::new(&http, &state.outbound.policy, &row.base_url, key)
        .map_err(|e| AdminError::field("base_url", e.to_string()))?;
    let mut result = client.check().await;
    if result.is_ok() {
        result = client
            .find_by_user_name("rosetta-connection-test@invalid")
            .await
            .map(drop);
    }
    let report = match result {
        Ok(()) => ProvisioningTest {
            ok: true,
            step: ProvisioningStep::Ok,
            message: "the SCIM service answered and accepted the key".into(),
        },
        Err(e) => ProvisioningTest {
            ok: false,
            step: failed_step(&e),
            message: e.to_string(),
        },
    };
    scope
        .changed(
            state,
            "provisioning.test",
            Some(row.base_url.clone()),
            json!({"ok": report.ok, "step": report.step}),
        )
        .await?;
    Ok(report)
}

/// Which step a connection test failed at.
fn failed_step(e: &ScimError) -> ProvisioningStep {
    match e {
        ScimError::Outbound(OutboundError::Status(_) | OutboundError::TooLarge(_)) => ProvisioningStep::Scim,
        ScimError::Outbound(_) => ProvisioningStep::Network,
        ScimError::KeyRejected => ProvisioningStep::Key,
        ScimError::Forbidden => ProvisioningStep::Permission,
        ScimError::RateLimited { .. } | ScimError::Server { .. } => ProvisioningStep::Network,
        ScimError::Conflict | ScimError::Refused { .. } | ScimError::NotScim(_) => ProvisioningStep::Scim,
    }
}

fn user_wire(s: &UserState) -> ProvisioningUser {
    let state = queue::state_of(s.pending.is_some(), s.link.as_ref());
    ProvisioningUser {
        user_id: s.user.id.to_string(),
        email: s.user.email.clone(),
        state,
        scim_id: s.link.as_ref().and_then(|l| l.scim_id.clone()),
        active_at_target: s.link.as_ref().map(|l| l.active),
        reason: s
            .pending
            .as_ref()
            .and_then(|p| p.last_error.clone())
            .or_else(|| s.link.as_ref().and_then(|l| l.reason.clone())),
        attempts: s.pending.as_ref().map_or(0, |p| p.attempts.max(0) as u32),
        last_pushed_at: s.link.as_ref().map(|l| l.pushed_at.to_rfc3339()),
    }
}

/// The tenant's users with their state at the target, by email.
pub async fn users(state: &AppState, scope: &Scope, sp: Which<'_>, q: &PageQuery) -> AdminResult<ProvisioningUserPage> {
    let (page, per_page) = paging(q.page, q.per_page)?;
    let row = target_of(state, scope, sp).await?;
    let (items, total) = queue::user_states(&state.db, &row, page, per_page).await?;
    Ok(ProvisioningUserPage {
        items: items.iter().map(user_wire).collect(),
        total,
        page,
        per_page,
    })
}

/// Queues one user again now (after a failure, or to check them).
pub async fn retry(state: &AppState, scope: &Scope, sp: Which<'_>, user_id: &str) -> AdminResult<ProvisioningUser> {
    let row = target_of(state, scope, sp).await?;
    let user = crate::services::end_users::get(&state.db, scope.tenant_id(), object_id(user_id)?).await?;
    queue::enqueue(&state.db, &row, user.id).await?;
    scope
        .changed(
            state,
            "provisioning.retry",
            Some(user.email.clone()),
            json!({"target": row.id.to_string()}),
        )
        .await?;
    Ok(user_wire(&queue::user_state(&state.db, &row, user).await?))
}

/// What "Sync now" would do (no request to the directory).
pub async fn sync_preview(state: &AppState, scope: &Scope, sp: Which<'_>) -> AdminResult<SyncPreview> {
    let row = target_of(state, scope, sp).await?;
    let (create, update, deactivate, items) = queue::preview(&state.db, &row, 200).await?;
    Ok(SyncPreview {
        create,
        update,
        deactivate,
        items: items
            .into_iter()
            .map(|(email, action)| SyncPreviewItem {
                email,
                action: action.into(),
            })
            .collect(),
    })
}

/// Queues every user of the tenant for the target (resumable: the queue is durable, and
/// a restart picks up where it was).
pub async fn sync(state: &AppState, scope: &Scope, sp: Which<'_>) -> AdminResult<SyncResult> {
    rate_limit::hit(
        state.store.as_ref(),
        rate_limit::SYNC_TENANT,
        &scope.tenant_id().to_string(),
    )
    .await?;
    let row = target_of(state, scope, sp).await?;
    if !row.enabled {
        return Err(AdminError::Conflict(
            "provisioning to this service provider is switched off; switch it on first".into(),
        ));
    }
    let queued = queue::enqueue_all(&state.db, &row).await?;
    scope
        .changed(
            state,
            "provisioning.sync",
            Some(row.base_url.clone()),
            json!({"queued": queued}),
        )
        .await?;
    Ok(SyncResult { queued })
}
