//! The provisioning benchmarks (issue "Lifecycle"), against the local SCIM server that
//! stands in for Atlassian's user-provisioning API (`e2e/peers/scim_server.py`):
//!
//! - [`provision`]: gives a load run's SP a target, so the login benchmark measures
//!   Rosetta's CPU per login with provisioning on (`rosetta-bench --provisioning`);
//! - [`sync_bench`]: a sync-now of N users (inserted straight into the database, as N
//!   earlier logins would have left them), timed to the last user at the directory, and,
//!   with `restart`, Rosetta killed (SIGKILL) half-way and started again on the same
//!   database: the queue resumes where it was.
//!
//! Bounded: loopback only, N users, at most `time_limit`.

use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use serde::Serialize;

use crate::world::run as cli_json;
use crate::{Rosetta, ScimServer, Stack};

const DIRECTORY: &str = "bench-directory";
const KEY: &str = "bench-scim-key";

/// Starts a SCIM server and makes it `sp`'s provisioning target at tenant `acme`.
pub async fn provision(rosetta: &Rosetta, sp: &str) -> anyhow::Result<ScimServer> {
    let scim = ScimServer::start(DIRECTORY, KEY)?;
    let key_file = rosetta.data_dir().join("scim-key");
    std::fs::write(&key_file, KEY)?;
    let key_path = key_file.to_str().ok_or_else(|| anyhow::anyhow!("a UTF-8 path"))?;
    let base = scim.base_url();
    let args = [
        "provisioning",
        "set",
        "acme",
        sp,
        "--base-url",
        base.as_str(),
        "--api-key-file",
        key_path,
        "--json",
    ];
    cli_json(rosetta, rosetta.env(), &args).await;
    Ok(scim)
}

/// What a sync-now run measured.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    /// `sqlite+memory` or `postgres+redis`.
    pub stack: String,
    /// Users synced.
    pub users: usize,
    /// From "Sync now" to the last user at the directory, seconds (restart included).
    pub seconds: f64,
    /// Users created per second until the kill (or the end).
    pub pushes_per_second: f64,
    /// Users at the directory when Rosetta was killed, if it was.
    pub killed_at: Option<u64>,
    /// From the new process's start to the last user, seconds.
    pub seconds_after_restart: Option<f64>,
    /// SCIM requests the directory received in all (a push is a search and a create).
    pub scim_requests: u64,
}

impl SyncReport {
    /// A human summary.
    pub fn summary(&self) -> String {
        let restart = match (self.killed_at, self.seconds_after_restart) {
            (Some(at), Some(s)) => {
                format!("; killed (SIGKILL) at {at} users, the new process finished the rest in {s:.1} s")
            }
            _ => String::new(),
        };
        format!(
            "{stack}: sync-now of {users} users in {secs:.1} s, {rate:.0} pushes/s, {req} SCIM requests{restart}",
            stack = self.stack,
            users = self.users,
            secs = self.seconds,
            rate = self.pushes_per_second,
            req = self.scim_requests,
        )
    }
}

async fn start(stack: &Stack, master_key: &str) -> Rosetta {
    let mut env = stack.env();
    env.push(("ROSETTA_MASTER_KEY".into(), master_key.to_owned()));
    Rosetta::start(&env).await
}

/// Inserts `users` end users of tenant `acme`, as their first logins would have.
async fn insert_users(stack: &Stack, users: usize) -> anyhow::Result<()> {
    let db = sea_orm::Database::connect(stack.database.url()).await?;
    let backend = db.get_database_backend();
    let tenant = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT id FROM tenant WHERE slug = 'acme'",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no tenant acme"))?;
    let tenant_id: uuid::Uuid = tenant.try_get("", "id")?;
    let now = Utc::now();
    for chunk in (0..users).collect::<Vec<_>>().chunks(500) {
        let mut sql = String::from(
            "INSERT INTO end_user (id, tenant_id, issuer, subject, email, display_name, status, last_login_at, \
             created_at, updated_at) VALUES ",
        );
        let mut values: Vec<Value> = Vec::new();
        for (row, i) in chunk.iter().enumerate() {
            if row > 0 {
                sql.push_str(", ");
            }
            let base = row * 10;
            let marks: Vec<String> = (1..=10)
                .map(|k| match backend {
                    DbBackend::Postgres => format!("${}", base + k),
                    _ => format!("?{}", base + k),
                })
                .collect();
            sql.push_str(&format!("({})", marks.join(", ")));
            values.extend([
                uuid::Uuid::new_v4().into(),
                tenant_id.into(),
                "https://bench-op.example".into(),
                format!("sub-{i}").into(),
                format!("user{i:05}@acme.example").into(),
                format!("User {i}").into(),
                "active".into(),
                Some(now).into(),
                now.into(),
                now.into(),
            ]);
        }
        db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    Ok(())
}

/// A sync-now of `users` users; with `restart`, Rosetta is killed half-way and started
/// again on the same database and master key.
pub async fn sync_bench(stack: Stack, users: usize, restart: bool, time_limit: Duration) -> anyhow::Result<SyncReport> {
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let master_key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key);
    let mut rosetta = start(&stack, &master_key).await;
    cli_json(&rosetta, rosetta.env(), &["tenant", "create", "acme", "--json"]).await;
    let sp = [
        "sp",
        "add",
        "acme",
        "--name",
        "jira",
        "--preset",
        "atlassian",
        "--entity-id",
        "https://bench-sp.example/saml",
        "--acs-url",
        "https://bench-sp.example/saml/acs",
        "--json",
    ];
    cli_json(&rosetta, rosetta.env(), &sp).await;
    // The users exist before the target: only "Sync now" queues them.
    insert_users(&stack, users).await?;
    let scim = provision(&rosetta, "jira").await?;
    let started = Instant::now();
    let queued = cli_json(
        &rosetta,
        rosetta.env(),
        &["provisioning", "sync", "acme", "jira", "--json"],
    )
    .await;
    anyhow::ensure!(queued["queued"].as_u64() == Some(users as u64), "sync queued {queued}");
    let deadline = started + time_limit;
    let target = users as u64;
    let mut killed_at = None;
    let mut restarted = None;
    let mut first_phase = None;
    loop {
        let arrived = scim.user_count();
        if arrived >= target {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{arrived} of {users} users after {time_limit:?}"
        );
        if restart && killed_at.is_none() && arrived >= target / 2 {
            first_phase = Some((arrived, started.elapsed().as_secs_f64()));
            let pid = rosetta.pid().ok_or_else(|| anyhow::anyhow!("rosetta is not running"))?;
            std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status()?;
            rosetta.wait_exit(Duration::from_secs(30)).await;
            killed_at = Some(scim.user_count());
            rosetta = start(&stack, &master_key).await;
            restarted = Some(Instant::now());
        }
        // Polling the directory's count, not waiting for time to pass.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let (arrived, phase_seconds) = first_phase.unwrap_or((target, seconds));
    drop(rosetta);
    Ok(SyncReport {
        stack: stack.label(),
        users,
        seconds,
        pushes_per_second: arrived as f64 / phase_seconds.max(f64::EPSILON),
        killed_at,
        seconds_after_restart: restarted.map(|t| t.elapsed().as_secs_f64()),
        scim_requests: scim.requests(),
    })
}
