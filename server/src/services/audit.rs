//! The audit log: one row per login (success or failure with its reason) and admin change.

use chrono::Utc;
use rosetta_entity::audit_event;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::ServiceResult;
use super::batch::{Batcher, Sink};

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

impl AuditEvent {
    /// An event of a background task (`actor`: `provisioning`, `lifecycle`): no client
    /// address, no request.
    pub fn of_task(
        tenant_id: uuid::Uuid,
        actor: &str,
        action: &'static str,
        outcome: &'static str,
        target: String,
        detail: serde_json::Value,
    ) -> Self {
        Self {
            tenant_id: Some(tenant_id),
            actor: actor.to_owned(),
            action,
            outcome,
            target: Some(target),
            detail,
            ip: None,
            request_id: None,
        }
    }

    /// The row, stamped now.
    fn into_row(self) -> audit_event::ActiveModel {
        audit_event::ActiveModel {
            id: Set(crate::db::new_id()),
            tenant_id: Set(self.tenant_id),
            occurred_at: Set(Utc::now()),
            actor: Set(self.actor.chars().take(320).collect()),
            action: Set(self.action.into()),
            outcome: Set(self.outcome.into()),
            target: Set(self.target.map(|t| t.chars().take(1024).collect())),
            detail: Set(self.detail.to_string()),
            ip: Set(self.ip),
            request_id: Set(self.request_id),
        }
    }
}

/// Appends an event now (one `INSERT`, nothing read back). Admin changes use this, inside
/// the request that made them; logins go through the [`AuditWriter`].
pub async fn record(db: &DatabaseConnection, event: AuditEvent) -> ServiceResult<()> {
    audit_event::Entity::insert(event.into_row())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Login events, written off the response path in batches ([`super::batch`]): each event is
/// stamped when it happens and queued; many logins share one multi-row `INSERT`. A batch the
/// database refuses is tried again, then each event goes to the log at error level with all
/// its fields. [`AuditWriter::flush`] waits until everything queued before it is written: the
/// audit-log API calls it before reading, and `serve` calls it on shutdown.
#[derive(Clone, Debug)]
pub struct AuditWriter(Batcher<audit_event::ActiveModel>);

/// Where the audit queue's batches go: one multi-row `INSERT`.
struct AuditSink(DatabaseConnection);

impl Sink for AuditSink {
    type Item = audit_event::ActiveModel;
    const NAME: &'static str = "audit";

    async fn write(&self, rows: &[audit_event::ActiveModel]) -> Result<(), sea_orm::DbErr> {
        audit_event::Entity::insert_many(rows.to_vec())
            .exec_without_returning(&self.0)
            .await
            .map(|_| ())
    }

    fn unwritten(row: &audit_event::ActiveModel, why: &str) {
        log_unwritten(row, why);
    }
}

impl AuditWriter {
    /// Starts the writing task on the current Tokio runtime.
    pub fn spawn(db: DatabaseConnection) -> Self {
        Self(Batcher::spawn(AuditSink(db)))
    }

    /// Queues `event` (stamped now); never waits for the database.
    pub fn record(&self, event: AuditEvent) {
        self.0.send(event.into_row());
    }

    /// Waits until every event queued before this call is written (or logged as unwritten).
    pub async fn flush(&self) {
        self.0.flush().await;
    }
}

/// An event that could not be written, in full, at error level.
fn log_unwritten(row: &audit_event::ActiveModel, why: &str) {
    let text = |v: &sea_orm::ActiveValue<String>| v.try_as_ref().cloned().unwrap_or_default();
    let optional = |v: &sea_orm::ActiveValue<Option<String>>| v.try_as_ref().cloned().flatten().unwrap_or_default();
    tracing::error!(
        why,
        tenant_id = ?row.tenant_id.try_as_ref(),
        occurred_at = ?row.occurred_at.try_as_ref(),
        actor = %text(&row.actor),
        action = %text(&row.action),
        outcome = %text(&row.outcome),
        target = %optional(&row.target),
        detail = %text(&row.detail),
        ip = %optional(&row.ip),
        request_id = %optional(&row.request_id),
        "audit event not written"
    );
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

/// Whether the tenant has an event of `action` with `outcome`, whose detail contains
/// `detail_part` (JSON text, as stored) when given.
pub async fn exists(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    action: &str,
    outcome: &str,
    detail_part: Option<&str>,
) -> ServiceResult<bool> {
    use sea_orm::QuerySelect;
    let mut query = audit_event::Entity::find()
        .filter(audit_event::Column::TenantId.eq(tenant_id))
        .filter(audit_event::Column::Action.eq(action))
        .filter(audit_event::Column::Outcome.eq(outcome));
    if let Some(part) = detail_part {
        query = query.filter(audit_event::Column::Detail.contains(part));
    }
    Ok(query.limit(1).one(db).await?.is_some())
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
