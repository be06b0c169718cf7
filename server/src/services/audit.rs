//! The audit log: one row per login (success or failure with its reason) and admin change.

use chrono::Utc;
use rosetta_entity::audit_event;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};
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

/// Appends an event (one `INSERT`, nothing read back: it is on every login's path).
pub async fn record(db: &DatabaseConnection, event: AuditEvent) -> ServiceResult<()> {
    let row = audit_event::ActiveModel {
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
    };
    audit_event::Entity::insert(row).exec_without_returning(db).await?;
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

/// Filters of an audit-log query; all optional.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Exact action, e.g. `login`.
    pub action: Option<String>,
    /// Exact actor.
    pub actor: Option<String>,
    /// `success` or `failure`.
    pub outcome: Option<String>,
    /// Events at or after this time.
    pub from: Option<chrono::DateTime<Utc>>,
    /// Events before this time.
    pub to: Option<chrono::DateTime<Utc>>,
}

/// One page of a tenant's events, newest first, with the count of all matches.
pub async fn page(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    filter: &AuditFilter,
    page: u64,
    per_page: u64,
) -> ServiceResult<(Vec<audit_event::Model>, u64)> {
    use sea_orm::PaginatorTrait;
    let mut query = audit_event::Entity::find().filter(audit_event::Column::TenantId.eq(tenant_id));
    if let Some(a) = &filter.action {
        query = query.filter(audit_event::Column::Action.eq(a.as_str()));
    }
    if let Some(a) = &filter.actor {
        query = query.filter(audit_event::Column::Actor.eq(a.as_str()));
    }
    if let Some(o) = &filter.outcome {
        query = query.filter(audit_event::Column::Outcome.eq(o.as_str()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_event::Column::OccurredAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_event::Column::OccurredAt.lt(to));
    }
    let paginator = query
        .order_by_desc(audit_event::Column::OccurredAt)
        .order_by_desc(audit_event::Column::Id)
        .paginate(db, per_page.max(1));
    let total = paginator.num_items().await?;
    let items = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((items, total))
}

/// Events as CSV (RFC 4180), with a header row. Cells that a spreadsheet would run as a
/// formula are prefixed with `'`.
pub fn to_csv(events: &[audit_event::Model]) -> String {
    fn cell(value: &str) -> String {
        let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{value}")
        } else {
            value.to_owned()
        };
        if value.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", value.replace('"', "\"\""))
        } else {
            value
        }
    }
    let mut out = String::from("occurred_at,actor,action,outcome,target,ip,request_id,detail\r\n");
    for e in events {
        let row = [
            e.occurred_at.to_rfc3339(),
            e.actor.clone(),
            e.action.clone(),
            e.outcome.clone(),
            e.target.clone().unwrap_or_default(),
            e.ip.clone().unwrap_or_default(),
            e.request_id.clone().unwrap_or_default(),
            e.detail.clone(),
        ];
        out.push_str(&row.iter().map(|v| cell(v)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let e = audit_event::Model {
            id: Uuid::nil(),
            tenant_id: None,
            occurred_at: Utc::now(),
            actor: "=cmd|' /C calc'!A0".into(),
            action: "login".into(),
            outcome: "failure".into(),
            target: Some("a,b".into()),
            detail: "{\"reason\":\"say \\\"hi\\\"\"}".into(),
            ip: None,
            request_id: None,
        };
        let csv = to_csv(&[e]);
        let line = csv.lines().nth(1).unwrap();
        assert!(line.contains(",'=cmd|' /C calc'!A0,"), "{line}");
        assert!(line.contains(",\"a,b\","), "{line}");
        assert!(
            line.ends_with("\"{\"\"reason\"\":\"\"say \\\"\"hi\\\"\"\"\"}\""),
            "{line}"
        );
    }
}
