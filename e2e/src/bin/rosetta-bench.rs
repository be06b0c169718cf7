//! `rosetta-bench`: the load driver. Starts Rosetta (`ROSETTA_BIN`, e.g. a release build),
//! the test OpenID provider and the SAML SP validators, runs full logins and prints the
//! figures (and JSON with `--json FILE`).
//!
//! ```sh
//! cargo build --release -p rosetta-server
//! ROSETTA_BIN=target/release/rosetta cargo run -p rosetta-e2e --bin rosetta-bench -- \
//!     --logins 2000 --concurrency 8 --stack both --json bench.json
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use rosetta_e2e::Stack;
use rosetta_e2e::bench::{BenchOptions, Peers, run};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "rosetta-bench [--logins N (2000)] [--concurrency C (8)] [--time-limit-secs S (600)] \
[--rate LOGINS_PER_SEC --duration-secs S] [--stack embedded|external|both (embedded)] [--peers node|fast (node)] [--pin] [--json FILE]\n\
--pin: Rosetta alone on CPU 0, the driver and the peers on the other CPUs\nexternal: PostgreSQL + Redis from TEST_DATABASE_URL \
and TEST_REDIS_URL"
        );
        return Ok(());
    }
    let rate: Option<f64> = arg(&args, "--rate").map(|v| v.parse()).transpose()?;
    let duration: Option<u64> = arg(&args, "--duration-secs").map(|v| v.parse()).transpose()?;
    let mut options = BenchOptions {
        logins: arg(&args, "--logins").map_or(Ok(2000), |v| v.parse())?,
        concurrency: arg(&args, "--concurrency").map_or(Ok(8), |v| v.parse())?,
        time_limit: Duration::from_secs(arg(&args, "--time-limit-secs").map_or(Ok(600), |v| v.parse())?),
        rate,
        peers: match arg(&args, "--peers").as_deref() {
            None | Some("node") => Peers::Node,
            Some("fast") => Peers::Fast,
            Some(other) => anyhow::bail!("--peers node|fast, not {other}"),
        },
        pin: args.iter().any(|a| a == "--pin"),
    };
    if let (Some(rate), Some(secs)) = (rate, duration) {
        // A steady load for a fixed time: rate × duration logins, nothing starts later.
        options.logins = (rate * secs as f64).round() as usize;
        options.time_limit = Duration::from_secs(secs);
    }
    let which = arg(&args, "--stack").unwrap_or_else(|| "embedded".into());
    let mut reports = Vec::new();
    if which == "embedded" || which == "both" {
        reports.push(run(Stack::embedded(), &options).await?);
    }
    if which == "external" || which == "both" {
        let stack = Stack::external()
            .await
            .ok_or_else(|| anyhow::anyhow!("set TEST_DATABASE_URL and TEST_REDIS_URL for the external stack"))?;
        reports.push(run(stack, &options).await?);
    }
    for r in &reports {
        println!("{}\n", r.summary());
    }
    if let Some(path) = arg(&args, "--json") {
        std::fs::write(&path, serde_json::to_string_pretty(&reports)?)?;
        println!("JSON written to {path}");
    }
    anyhow::ensure!(reports.iter().all(|r| r.failures == 0), "some logins failed");
    Ok(())
}
