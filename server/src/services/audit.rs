//! The audit log: one row per login (success or failure with its reason) and admin change.

use chrono::Utc;
use rosetta_entity::audit_event;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::ServiceResult;

/// One event to record. `detail` is JSON and must never hold secrets or tokens.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// Tenant concerned.
    pub tenant_id: Option<Uuid>,
    /// Who (email, `operator`, `anonymous`).
    pub actor: String,
    /// What (`login`, `sp.create`, ...).
    pub action: &'static str,
    /// `success` or `failure`.
    pub outcome: &'static str,
    /// The object (SP entity ID, source name).
    pub target: Option<String>,
    /// Details, e.g. `{"reason": "email_not_verified"}`.
    pub detail: serde_json::Value,
    /// Client address.
    pub ip: Option<String>,
    /// Correlation ID.
    pub request_id: Option<String>,
}

/// Appends an event.
pub async fn record(db: &DatabaseConnection, event: AuditEvent) -> ServiceResult<()> {
    audit_event::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(event.tenant_id),
        occurred_at: Set(Utc::now()),
        actor: Set(event.actor.chars().take(320).collect()),
        action: Set(event.action.into()),
        outcome: Set(event.outcome.into()),
        target: Set(event.target.map(|t| t.chars().take(1024).collect())),
        detail: Set(event.detail.to_string()),
        ip: Set(event.ip),
        request_id: Set(event.request_id),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// A tenant's most recent events, newest first.
pub async fn recent(db: &DatabaseConnection, tenant_id: Uuid, limit: u64) -> ServiceResult<Vec<audit_event::Model>> {
    use sea_orm::QuerySelect;
    Ok(audit_event::Entity::find()
        .filter(audit_event::Column::TenantId.eq(tenant_id))
        .order_by_desc(audit_event::Column::OccurredAt)
        .limit(limit)
        .all(db)
        .await?)
}
