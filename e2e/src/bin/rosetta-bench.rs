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
[--rate LOGINS_PER_SEC --duration-secs S] [--stack embedded|external|both (embedded)] [--peers node|fast (node)] [--pin] [--callgrind] [--provisioning] [--mapping] [--trace-max N (5000)] [--json FILE]\n\
rosetta-bench --provisioning-sync USERS [--restart] [--stack ...] [--json FILE]\n\
--provisioning: the SP has a SCIM provisioning target (a local SCIM server); every login queues a push\n\
--mapping (with --peers fast): the SP maps ten attribute rules and a groups rule (rosetta_e2e::bench::TEN_RULES_AND_GROUPS)\n\
--provisioning-sync USERS: a sync-now of USERS users to a local SCIM server, timed; --restart kills Rosetta half-way (SIGKILL) and starts it again\n\
--trace-max N: the tenant keeps at most N login traces (login_trace_max); the report says how many it holds after the run\n\
--pin: Rosetta alone on CPU 0, the driver and the peers on the other CPUs\n\
--callgrind: ROSETTA_BIN runs Rosetta under callgrind; report its instructions per login (scripts/bench-instructions.sh)\nexternal: PostgreSQL + Redis from TEST_DATABASE_URL \
and TEST_REDIS_URL"
        );
        return Ok(());
    }
    if let Some(n) = arg(&args, "--sign-only") {
        // For scripts/bench-instructions.sh: N RSA-SHA256 signatures of a 6 KB document,
        // made the way Rosetta makes them, so callgrind can count one signature's instructions.
        return sign_only(n.parse()?);
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
        callgrind: args.iter().any(|a| a == "--callgrind"),
        provisioning: args.iter().any(|a| a == "--provisioning"),
        mapping: args.iter().any(|a| a == "--mapping"),
        trace_max: arg(&args, "--trace-max").map_or(Ok(5000), |v| v.parse())?,
    };
    if let Some(users) = arg(&args, "--provisioning-sync") {
        return provisioning_sync(&args, users.parse()?, options.time_limit).await;
    }
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

/// Signs a 6 KB document `n` times with a fresh RSA-2048 key: SHA-256 by `openssl::sha`, then
/// one reused PKCS#1 v1.5 signing context, as `SigningKey::sign_rsa_sha256` does.
fn sign_only(n: usize) -> anyhow::Result<()> {
    use openssl::md::Md;
    use openssl::pkey::PKey;
    use openssl::pkey_ctx::PkeyCtx;
    use openssl::rsa::{Padding, Rsa};
    let key = PKey::from_rsa(Rsa::generate(2048)?)?;
    let mut ctx = PkeyCtx::new(&key)?;
    ctx.sign_init()?;
    ctx.set_rsa_padding(Padding::PKCS1)?;
    ctx.set_signature_md(Md::sha256())?;
    let bytes = rosetta_bench_sign_loop(&mut ctx, n)?;
    println!("{n} signatures, the last {bytes} bytes");
    Ok(())
}

/// The signatures alone (key generation excluded): callgrind counts only this function
/// with `--toggle-collect=*rosetta_bench_sign_loop*`.
#[inline(never)]
fn rosetta_bench_sign_loop(
    ctx: &mut openssl::pkey_ctx::PkeyCtx<openssl::pkey::Private>,
    n: usize,
) -> anyhow::Result<usize> {
    let document = vec![b'x'; 6 * 1024];
    let mut signature = Vec::new();
    for i in 0..n {
        let mut data = document.clone();
        data.extend_from_slice(i.to_string().as_bytes());
        signature.clear();
        ctx.sign_to_vec(&openssl::sha::sha256(&data), &mut signature)?;
    }
    Ok(signature.len())
}

/// `--provisioning-sync USERS [--restart]`: the sync-now benchmark on each stack asked for.
async fn provisioning_sync(args: &[String], users: usize, time_limit: Duration) -> anyhow::Result<()> {
    use rosetta_e2e::bench_provisioning::sync_bench;
    let restart = args.iter().any(|a| a == "--restart");
    let which = arg(args, "--stack").unwrap_or_else(|| "embedded".into());
    let mut reports = Vec::new();
    if which == "embedded" || which == "both" {
        reports.push(sync_bench(Stack::embedded(), users, restart, time_limit).await?);
    }
    if which == "external" || which == "both" {
        let stack = Stack::external()
            .await
            .ok_or_else(|| anyhow::anyhow!("set TEST_DATABASE_URL and TEST_REDIS_URL for the external stack"))?;
        reports.push(sync_bench(stack, users, restart, time_limit).await?);
    }
    for r in &reports {
        println!("{}", r.summary());
    }
    if let Some(path) = arg(args, "--json") {
        std::fs::write(&path, serde_json::to_string_pretty(&reports)?)?;
        println!("JSON written to {path}");
    }
    Ok(())
}
