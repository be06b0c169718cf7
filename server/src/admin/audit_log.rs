//! The tenant's audit log: filtered pages, and CSV for spreadsheets.

use rosetta_api::{AuditEntry, AuditPage, AuditQuery};

use super::{AdminResult, Scope, paging, text_filter, time_filter};
use crate::services::audit::{self, AuditFilter};
use crate::state::AppState;

/// How many events a CSV export holds at most (newest first).
pub const CSV_MAX_EVENTS: u64 = 10_000;

fn filter(q: &AuditQuery) -> AdminResult<AuditFilter> {
    Ok(AuditFilter {
        action: text_filter("action", &q.action)?,
        actor: text_filter("actor", &q.actor)?,
        outcome: q.outcome.map(|o| super::outcome_str(o).to_owned()),
        from: time_filter("from", &q.from)?,
        to: time_filter("to", &q.to)?,
    })
}

fn entry(e: &rosetta_entity::audit_event::Model) -> AuditEntry {
    AuditEntry {
        id: e.id.to_string(),
        occurred_at: e.occurred_at.to_rfc3339(),
        actor: e.actor.clone(),
        action: e.action.clone(),
        outcome: if e.outcome == "failure" {
            rosetta_api::AuditOutcome::Failure
        } else {
            rosetta_api::AuditOutcome::Success
        },
        target: e.target.clone(),
        detail: e.detail.clone(),
        ip: e.ip.clone(),
        request_id: e.request_id.clone(),
    }
}

/// The audit log, newest first, filtered and paged. Logins are written in batches just
/// after their response: the queue is written first, so every login so far is included.
pub async fn page(state: &AppState, scope: &Scope, q: &AuditQuery) -> AdminResult<AuditPage> {
    let (page, per_page) = paging(q.page, q.per_page)?;
    let filter = filter(q)?;
    state.audit.flush().await;
    let (items, total) = audit::page(&state.db, scope.tenant_id(), &filter, page, per_page).await?;
    Ok(AuditPage {
        items: items.iter().map(entry).collect(),
        total,
        page,
        per_page,
    })
}

/// The audit log as CSV (the same filters; up to [`CSV_MAX_EVENTS`], newest first), and a
/// file name for it.
pub async fn csv(state: &AppState, scope: &Scope, q: &AuditQuery) -> AdminResult<(String, String)> {
    let filter = filter(q)?;
    state.audit.flush().await;
    let (items, _) = audit::page(&state.db, scope.tenant_id(), &filter, 1, CSV_MAX_EVENTS).await?;
    Ok((format!("rosetta-audit-{}.csv", scope.slug()), audit::to_csv(&items)))
}
