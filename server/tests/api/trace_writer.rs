//! The trace writer: the legs of one login written by two replicas, in either order, make
//! one row with the steps in the legs' order, the start of the first and the outcome of the
//! last; a row written before traces were stored compressed reads as it did, with a later
//! leg's steps after its own.

use chrono::{Duration, Utc};
use rosetta::flow::{Leg, Tracer};
use rosetta::services::login_traces::{TraceWriter, contents, get, to_api};
use rosetta_api::{TraceOutcome, TraceStepKind};

use crate::helpers::*;

/// These steps as a leg records them.
fn steps(kinds: &[TraceStepKind]) -> String {
    let tracer = Tracer::new(uuid::Uuid::nil());
    for &kind in kinds {
        tracer.begin(kind);
        tracer.fact("Seen", format!("{kind:?}"));
    }
    tracer.finish(None).steps
}

/// The steps of both legs, in order.
const BOTH_LEGS: [TraceStepKind; 4] = [
    TraceStepKind::Request,
    TraceStepKind::Redirect,
    TraceStepKind::Callback,
    TraceStepKind::Assertion,
];

/// The kinds of a trace's steps, in order.
fn kinds(trace: &rosetta_api::LoginTrace) -> Vec<TraceStepKind> {
    trace.steps.iter().map(|s| s.step).collect()
}

/// The AuthnRequest the first leg received.
const REQUEST: &str = "<samlp:AuthnRequest ID=\"_r1\"/>";

/// The login's first leg (IdP-initiated, left in progress at the provider) and its second
/// (the callback, which answered the application), a second apart.
fn legs(tenant_id: uuid::Uuid, id: uuid::Uuid) -> (Leg, Leg) {
    let start = Utc::now() - Duration::seconds(10);
    let back = start + Duration::seconds(1);
    let leg = |started_at, ended_at, steps, outcome, initiated| Leg {
        id,
        tenant_id,
        started_at,
        ended_at,
        initiated,
        service_provider: Some("jira".into()),
        entity_id: None,
        source: Some("corp".into()),
        user_email: None,
        steps,
        failure: None,
        outcome,
        request_xml: None,
        response_xml: None,
    };
    let mut first = leg(
        start,
        start,
        steps(&[TraceStepKind::Request, TraceStepKind::Redirect]),
        TraceOutcome::InProgress,
        Some("idp"),
    );
    first.request_xml = Some(REQUEST.into());
    let mut second = leg(
        back,
        back,
        steps(&[TraceStepKind::Callback, TraceStepKind::Assertion]),
        TraceOutcome::Success,
        None,
    );
    second.user_email = Some("ada@acme.example".into());
    second.response_xml = Some(
        "<samlp:Response><ds:Signature><ds:SignatureValue>c2ln</ds:SignatureValue></ds:Signature>\
         <saml:NameID>ada@acme.example</saml:NameID></samlp:Response>"
            .into(),
    );
    (first, second)
}

both_stacks!(
    legs_written_by_two_replicas_in_either_order_make_one_login,
    |stack| async move {
        let app = spawn_app(stack).await;
        let tenant = app.create_tenant("acme", "Acme").await;
        // Two replicas: each its own writer on the one database.
        let a = TraceWriter::spawn(app.state.db.clone(), 5000);
        let b = TraceWriter::spawn(app.state.db.clone(), 5000);
        for first_written_first in [true, false] {
            let id = rosetta::db::new_time_ordered_id();
            let (first, second) = legs(tenant.id, id);
            let started_at = first.started_at;
            if first_written_first {
                a.record(first);
                a.flush().await;
                b.record(second);
                b.flush().await;
            } else {
                // The callback reached the other replica, which wrote it before this one wrote
                // the leg it held.
                b.record(second);
                b.flush().await;
                a.record(first);
                a.flush().await;
            }
            let row = get(&app.state.db, tenant.id, id).await.unwrap().expect("one row");
            let trace = to_api(&row);
            assert_eq!(kinds(&trace), BOTH_LEGS, "first written first: {first_written_first}");
            assert_eq!(trace.summary.outcome, TraceOutcome::Success, "{first_written_first}");
            assert_eq!(trace.summary.initiated, "idp", "{first_written_first}");
            assert_eq!(row.started_at.timestamp_millis(), started_at.timestamp_millis());
            assert_eq!(trace.summary.user_email.as_deref(), Some("ada@acme.example"));
            assert_eq!(trace.summary.source.as_deref(), Some("corp"));
            let xml = contents(&row);
            assert_eq!(xml.request_xml.as_deref(), Some(REQUEST), "{first_written_first}");
            assert_eq!(
                xml.response_xml.as_deref(),
                Some(
                    "<samlp:Response><ds:Signature>(removed)</ds:Signature>\
                     <saml:NameID>ada@acme.example</saml:NameID></samlp:Response>"
                ),
                "{first_written_first}"
            );
        }
    }
);

both_stacks!(a_row_written_before_compression_takes_a_later_leg, |stack| async move {
    use sea_orm::{ConnectionTrait, Statement};
    let app = spawn_app(stack).await;
    let tenant = app.create_tenant("acme", "Acme").await;
    let id = rosetta::db::new_time_ordered_id();
    let (first, second) = legs(tenant.id, id);
    // The first leg as a replica of the version before wrote it: steps and XML as text.
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "INSERT INTO login_trace (id, tenant_id, started_at, updated_at, outcome, initiated, service_provider, \
                 body, request_xml) VALUES ($1, $2, $3, $3, 'in_progress', 'idp', 'jira', $4, $5)"
        }
        _ => {
            "INSERT INTO login_trace (id, tenant_id, started_at, updated_at, outcome, initiated, service_provider, \
                 body, request_xml) VALUES (?, ?, ?, ?, 'in_progress', 'idp', 'jira', ?, ?)"
        }
    };
    let mut values: Vec<sea_orm::Value> = vec![id.into(), tenant.id.into(), first.started_at.into()];
    if backend != sea_orm::DbBackend::Postgres {
        values.push(first.started_at.into());
    }
    values.extend([first.steps.clone().into(), REQUEST.into()]);
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .unwrap();
    let writer = TraceWriter::spawn(db.clone(), 5000);
    writer.record(second);
    writer.flush().await;
    let row = get(db, tenant.id, id).await.unwrap().expect("one row");
    let trace = to_api(&row);
    assert_eq!(kinds(&trace), BOTH_LEGS);
    assert_eq!(trace.summary.outcome, TraceOutcome::Success);
    let xml = contents(&row);
    assert_eq!(xml.request_xml.as_deref(), Some(REQUEST), "kept from the older row");
    assert!(xml.response_xml.unwrap().contains("ada@acme.example"));
});
