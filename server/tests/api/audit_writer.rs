//! The audit writer: login events queued off the response path, written in batches,
//! complete after `flush`, and never able to hang a login when the database is gone.

use std::time::Duration;

use rosetta::services::audit::{AuditEvent, AuditFilter, AuditWriter, page};

use crate::helpers::*;

fn login_event(tenant_id: uuid::Uuid, n: usize) -> AuditEvent {
    AuditEvent {
        tenant_id: Some(tenant_id),
        actor: format!("user{n}@acme.example"),
        action: "login",
        outcome: "success",
        target: Some("https://jira.example/saml".into()),
        detail: serde_json::json!({ "n": n }),
        ip: Some("127.0.0.1".into()),
        request_id: Some(format!("req-{n}")),
    }
}

both_stacks!(queued_events_are_all_written_with_their_own_time, |stack| async move {
    let app = spawn_app(stack).await;
    let tenant = app.create_tenant("acme", "Acme").await;
    let before = chrono::Utc::now();
    // More than one batch's worth, queued faster than the writer can write them.
    for n in 0..600 {
        app.state.audit.record(login_event(tenant.id, n));
    }
    let queued = chrono::Utc::now();
    app.state.audit.flush().await;
    let filter = AuditFilter {
        action: Some("login".into()),
        ..AuditFilter::default()
    };
    let (items, total) = page(&app.state.db, tenant.id, &filter, 1, 1000).await.unwrap();
    assert_eq!(total, 600, "every queued event is written");
    let mut actors: Vec<_> = items.iter().map(|e| e.actor.clone()).collect();
    actors.sort();
    actors.dedup();
    assert_eq!(actors.len(), 600, "each event once");
    assert!(
        items
            .iter()
            .all(|e| e.occurred_at >= before - chrono::Duration::milliseconds(1)
                && e.occurred_at <= queued + chrono::Duration::milliseconds(1)),
        "stamped when recorded, not when written"
    );
    let one = items.iter().find(|e| e.actor == "user7@acme.example").unwrap();
    assert_eq!(one.request_id.as_deref(), Some("req-7"));
    assert_eq!(one.detail, r#"{"n":7}"#);
});

// Without a flush the writer still writes: at the end of its window for a few events, at
// once for a full batch. (Waits until the rows are there, for at most 10 s.)
both_stacks!(events_are_written_without_a_flush, |stack| async move {
    let app = spawn_app(stack).await;
    let tenant = app.create_tenant("acme", "Acme").await;
    let filter = AuditFilter {
        action: Some("login".into()),
        ..AuditFilter::default()
    };
    let tenant_id = tenant.id;
    let written = |want: u64| {
        let (db, filter) = (app.state.db.clone(), filter.clone());
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                let (_, total) = page(&db, tenant_id, &filter, 1, 1).await.unwrap();
                if total >= want || tokio::time::Instant::now() > deadline {
                    return total;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    for n in 0..3 {
        app.state.audit.record(login_event(tenant.id, n));
    }
    assert_eq!(written(3).await, 3, "a window's few events are written when it ends");
    for n in 3..303 {
        app.state.audit.record(login_event(tenant.id, n));
    }
    assert_eq!(written(303).await, 303, "a full batch and the rest are written");
});

/// A database that no longer answers: the events are tried again, then logged; neither
/// `record` nor `flush` hangs.
#[tokio::test]
async fn a_database_that_is_gone_does_not_hang_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("gone.db").display());
    let db = rosetta::db::connect(&secrecy::SecretString::from(url), 1)
        .await
        .unwrap();
    rosetta::db::migrate_up(&db).await.unwrap();
    let writer = AuditWriter::spawn(db.clone());
    db.close_by_ref().await.unwrap();
    writer.record(login_event(uuid::Uuid::new_v4(), 1));
    tokio::time::timeout(Duration::from_secs(30), writer.flush())
        .await
        .expect("flush returns once the batch is given up");
}
