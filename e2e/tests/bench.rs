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
