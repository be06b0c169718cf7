//! A bounded smoke run of the load driver: every response valid, nothing timed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use rosetta_e2e::Stack;
use rosetta_e2e::bench::{BenchOptions, run};

fn options() -> BenchOptions {
    BenchOptions {
        logins: 50,
        concurrency: 4,
        time_limit: Duration::from_secs(120),
        rate: None,
    }
}

#[tokio::test]
async fn fifty_logins_all_valid_on_sqlite_and_memory() {
    let report = run(Stack::embedded(), &options()).await.unwrap();
    println!("{}", report.summary());
    assert_eq!(
        (report.logins_ok, report.failures),
        (50, 0),
        "{:?}",
        report.failure_samples
    );
    assert!(report.rosetta_peak_rss_kib > 0, "memory is read from /proc");
}

#[tokio::test]
async fn fifty_logins_all_valid_on_postgres_and_redis() {
    let Some(stack) = Stack::external().await else { return };
    let report = run(stack, &options()).await.unwrap();
    println!("{}", report.summary());
    assert_eq!(
        (report.logins_ok, report.failures),
        (50, 0),
        "{:?}",
        report.failure_samples
    );
}

/// A bounded steady load (issue 8): logins started at a fixed pace for 20 s, every one
/// valid. The 5-minute run and its figures are in SECURITY-TESTING.md ("Load").
#[tokio::test]
async fn a_steady_load_for_twenty_seconds_has_no_failure() {
    let options = BenchOptions {
        logins: 300,
        concurrency: 8,
        time_limit: Duration::from_secs(20),
        rate: Some(15.0),
    };
    let report = run(Stack::embedded(), &options).await.unwrap();
    println!("{}", report.summary());
    assert_eq!(report.failures, 0, "{:?}", report.failure_samples);
    // How many start depends on how busy the machine is (nothing starts after 20 s); the
    // point is that every one that ran was valid.
    assert!(report.logins_ok >= 50, "the paced logins ran: {}", report.logins_ok);
    assert!(!report.rosetta_rss_samples_kib.is_empty(), "memory is sampled");
}
