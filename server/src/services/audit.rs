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

/// How long the writer gathers events before writing them. Each batch costs a fixed price
/// (the writer's thread woken twice, a transaction with its WAL frames on SQLite or a round
/// trip on PostgreSQL, and on SQLite every other connection re-reading the pages it had
/// cached): at 50 ms a login at 40 logins/s paid half a batch, at 500 ms a twentieth.
const BATCH_WINDOW: std::time::Duration = std::time::Duration::from_millis(500);
/// Most rows one `INSERT` of the writer carries.
const MAX_BATCH: usize = 256;
/// Queued events that end the window early: under load a batch stays small enough (about
/// 1 ms to write) not to hold up the requests sharing the writer's CPU, as 100 rows each
/// half second at 200 logins/s would.
const HURRY_AT: usize = 32;
/// Events waiting for the writer; beyond this a login's event is logged instead.
const QUEUE: usize = 16_384;
/// How often a failed batch is tried again (with 0.1, 0.2, 0.4 … s between), before its
/// events are logged instead.
const ATTEMPTS: u32 = 6;

enum Message {
    Event(Box<audit_event::ActiveModel>),
    Flush(tokio::sync::oneshot::Sender<()>),
}

impl Message {
    /// Sorts a received message into the batch or the flushes waiting for it.
    fn take(self, rows: &mut Vec<audit_event::ActiveModel>, flushes: &mut Vec<tokio::sync::oneshot::Sender<()>>) {
        match self {
            Self::Event(row) => rows.push(*row),
            Self::Flush(done) => flushes.push(done),
        }
    }
}

/// Login events, written off the response path: each event is stamped when it happens and queued;
/// one task gathers what arrives within 500 ms (or until 32 events wait) and writes it as one
/// multi-row `INSERT`. So a login costs no database round trip for its audit row, and under load
/// many logins share one statement. The writer is woken by the first event of a window only: while
/// it waits out the window it does not listen to the queue, so the events that follow cost the
/// logins that send them no wake-up of another thread (32 waiting events or a flush still cut the
/// window short). The price: a process that is killed (not stopped) loses the events of its last
/// half second. A batch the database refuses is tried again with backoff; if it still fails (or the
/// queue is full), each event goes to the log at error level with all its fields, so nothing is
/// silently lost. [`AuditWriter::flush`] waits until everything queued before it is written: the
/// audit-log API calls it before reading, and `serve` calls it on shutdown.
#[derive(Clone)]
pub struct AuditWriter {
    tx: tokio::sync::mpsc::Sender<Message>,
    /// Ends the writer's window early: a flush is waiting, or 32 events are.
    hurry: std::sync::Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for AuditWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditWriter")
            .field("queued", &(QUEUE - self.tx.capacity()))
            .finish()
    }
}

impl AuditWriter {
    /// Starts the writing task on the current Tokio runtime.
    pub fn spawn(db: DatabaseConnection) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Message>(QUEUE);
        let hurry = std::sync::Arc::new(tokio::sync::Notify::new());
        let woken = hurry.clone();
        tokio::spawn(async move {
            let mut rows = Vec::new();
            let mut flushes = Vec::new();
            while let Some(first) = rx.recv().await {
                Message::take(first, &mut rows, &mut flushes);
                // Wait out the window without listening to the queue (senders wake no one),
                // unless a flush waits or 32 events already do.
                if flushes.is_empty() && rx.len() < HURRY_AT {
                    let window = tokio::time::sleep(BATCH_WINDOW);
                    tokio::select! {
                        () = window => {}
                        () = woken.notified() => {}
                    }
                }
                while rows.len() < MAX_BATCH
                    && let Ok(message) = rx.try_recv()
                {
                    Message::take(message, &mut rows, &mut flushes);
                }
                if !rows.is_empty() {
                    write_batch(&db, std::mem::take(&mut rows)).await;
                }
                // Every event queued before these flushes was taken above (or in an earlier
                // round), so it is written now.
                for done in flushes.drain(..) {
                    let _ = done.send(());
                }
            }
        });
        Self { tx, hurry }
    }

    /// Queues `event` (stamped now); never waits for the database.
    pub fn record(&self, event: AuditEvent) {
        let row = Box::new(event.into_row());
        match self.tx.try_send(Message::Event(row)) {
            Ok(()) if QUEUE - self.tx.capacity() >= HURRY_AT => self.hurry.notify_one(),
            Ok(()) => {}
            Err(e) => {
                if let Message::Event(row) = e.into_inner() {
                    log_unwritten(&row, "the audit queue is full");
                }
            }
        }
    }

    /// Waits until every event queued before this call is written (or logged as unwritten).
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            self.hurry.notify_one();
            let _ = wait.await;
        }
    }
}

async fn write_batch(db: &DatabaseConnection, rows: Vec<audit_event::ActiveModel>) {
    let mut delay = std::time::Duration::from_millis(100);
    for attempt in 1..=ATTEMPTS {
        match audit_event::Entity::insert_many(rows.clone())
            .exec_without_returning(db)
            .await
        {
            Ok(_) => return,
            Err(e) if attempt < ATTEMPTS => {
                tracing::warn!(error = %e, attempt, rows = rows.len(), "audit write failed; trying again");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => tracing::error!(error = %e, rows = rows.len(), "audit write failed; logging the events instead"),
        }
    }
    for row in &rows {
        log_unwritten(row, "the database refused the audit write");
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
