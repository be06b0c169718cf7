//! Faults during a stream of real logins (issue 8): the session store (Redis) and the
//! database (PostgreSQL) are stopped and started again under a running Rosetta, with the
//! real OpenID provider and SAML SP validator around it. While a dependency is down,
//! logins end on Rosetta's "try again in a moment" page (HTTP 503, never a 500, a hang or
//! a dropped connection); once it is back, logins succeed again without anything being
//! restarted by hand, and the logins that failed are only those that overlapped the
//! outage.
//!
//! Each test owns its Redis or PostgreSQL server (`RedisServer`, `PostgresServer`), so
//! stopping it disturbs no other test.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use rosetta_e2e::bench::one_login;
use rosetta_e2e::world::{World, world};
use rosetta_e2e::{PostgresServer, RedisServer, Stack, TestDatabase, TestRedis};
use tokio::sync::mpsc;

/// Phases of an outage, in order.
const BEFORE: u8 = 0;
const DOWN: u8 = 1;
const BACK: u8 = 2;

/// One finished login of the stream: the phase it started and ended in, and its error.
struct Login {
    started: u8,
    ended: u8,
    error: Option<String>,
}

/// Logins by `WORKERS` user agents, back to back, until `stop`; each result is sent.
const WORKERS: usize = 2;

fn stream(w: &Arc<World>, phase: &Arc<AtomicU8>, stop: &Arc<AtomicBool>) -> mpsc::UnboundedReceiver<Login> {
    let (tx, rx) = mpsc::unbounded_channel();
    for worker in 0..WORKERS {
        let (w, phase, stop, tx) = (w.clone(), phase.clone(), stop.clone(), tx.clone());
        tokio::spawn(async move {
            let mut n = worker * 100_000;
            while !stop.load(Ordering::SeqCst) {
                let started = phase.load(Ordering::SeqCst);
                let result = one_login(&w, n).await;
                let ended = phase.load(Ordering::SeqCst);
                n += 1;
                let error = result.err().map(|e| format!("{e:#}"));
                if tx.send(Login { started, ended, error }).is_err() {
                    return;
                }
            }
        });
    }
    rx
}

/// Receives logins until `enough` says so (bounded by `limit`); returns them.
async fn collect(
    rx: &mut mpsc::UnboundedReceiver<Login>,
    limit: Duration,
    mut enough: impl FnMut(&Login) -> bool,
) -> Vec<Login> {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(login)) => {
                let done = enough(&login);
                got.push(login);
                if done {
                    return got;
                }
            }
            _ => return got,
        }
    }
}

/// Runs the stream through an outage made by `down` and ended by `up`, and checks it.
async fn through_an_outage(w: World, down: impl FnOnce(), up: impl FnOnce()) {
    let w = Arc::new(w);
    let phase = Arc::new(AtomicU8::new(BEFORE));
    let stop = Arc::new(AtomicBool::new(false));
    let mut rx = stream(&w, &phase, &stop);
    let limit = Duration::from_secs(90);

    // A healthy stream first.
    let mut ok = 0;
    let before = collect(&mut rx, limit, |l| {
        ok += usize::from(l.error.is_none());
        ok >= 6
    })
    .await;
    assert!(ok >= 6, "logins before the outage: {:?}", errors(&before));

    phase.store(DOWN, Ordering::SeqCst);
    down();
    // Logins that start while it is down.
    let mut failed = 0;
    let during = collect(&mut rx, limit, |l| {
        failed += usize::from(l.started == DOWN && l.error.is_some());
        failed >= 4
    })
    .await;

    phase.store(BACK, Ordering::SeqCst);
    up();
    // Recovery: wait for ten logins in a row that started after it came back.
    let mut streak = 0;
    let after = collect(&mut rx, limit, |l| {
        if l.started == BACK {
            streak = if l.error.is_none() { streak + 1 } else { 0 };
        }
        streak >= 10
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    let logs = w.rosetta.logs();

    let all: Vec<&Login> = before.iter().chain(&during).chain(&after).collect();
    // No login that started and ended before the outage failed.
    for l in &all {
        if l.started == BEFORE && l.ended == BEFORE {
            assert!(
                l.error.is_none(),
                "a login before the outage failed: {:?}\n{logs}",
                l.error
            );
        }
    }
    // Every login that failed overlapped the outage, and failed cleanly: Rosetta's 503
    // "try again" page, or (for a login in flight when it began) the expired-sign-in page.
    for l in all.iter().filter(|l| l.error.is_some()) {
        let e = l.error.as_deref().unwrap_or_default();
        assert!(
            l.started == DOWN || l.ended >= DOWN,
            "a login failed outside the outage: {e}"
        );
        let clean_503 = e.contains("HTTP 503") && e.contains("Please try again in a moment");
        let expired = e.contains("HTTP 400") && e.contains("expired or was already completed");
        assert!(clean_503 || expired, "an unclean failure: {e}\n{logs}");
    }
    assert!(
        failed >= 4,
        "logins during the outage should fail (got {failed} failures): {:?}",
        errors(&during)
    );
    // While it was down, nothing went through that needed it.
    assert!(
        during
            .iter()
            .filter(|l| l.started == DOWN && l.ended == DOWN)
            .all(|l| l.error.is_some()),
        "a login completed with its dependency down"
    );
    // Recovered by itself: ten clean logins in a row after it came back.
    assert!(
        streak >= 10,
        "no recovery within {limit:?}: {:?}\n{logs}",
        errors(&after)
    );
    // Failures after it came back are bounded by the logins in flight at that moment plus
    // the reconnection of each worker's first request.
    let late = after.iter().filter(|l| l.started == BACK && l.error.is_some()).count();
    assert!(
        late <= WORKERS,
        "{late} logins that started after recovery failed: {:?}",
        errors(&after)
    );
    assert!(!logs.contains("panicked"), "{logs}");
}

fn errors(logins: &[Login]) -> Vec<&str> {
    logins.iter().filter_map(|l| l.error.as_deref()).collect()
}

#[tokio::test]
async fn redis_stopped_and_restarted_during_a_stream_of_logins() {
    let redis = RedisServer::start().expect("redis-server starts");
    let stack = Stack {
        database: TestDatabase::sqlite(),
        redis: Some(TestRedis::on(&redis.url())),
    };
    let w = world(stack).await;
    let redis = std::sync::Mutex::new(redis);
    through_an_outage(
        w,
        || redis.lock().unwrap().kill(),
        || redis.lock().unwrap().restart().expect("redis-server restarts"),
    )
    .await;
}

#[tokio::test]
async fn postgres_restarted_during_a_stream_of_logins() {
    if !rosetta_e2e::postgres_variant() {
        return;
    }
    let pg = PostgresServer::start().expect("a private PostgreSQL cluster starts (initdb, pg_ctl)");
    let stack = Stack {
        database: TestDatabase::at(&pg.url()),
        redis: None,
    };
    let w = world(stack).await;
    let pg = std::sync::Mutex::new(pg);
    through_an_outage(
        w,
        || pg.lock().unwrap().stop().expect("pg_ctl stop"),
        || pg.lock().unwrap().restart().expect("pg_ctl start"),
    )
    .await;
}
