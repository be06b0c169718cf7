//! Rosetta's test kit: per-test databases and Redis prefixes, a Redis server of its own,
//! the real `rosetta` binary, and an HTTP client that maps `*.localhost` to loopback.
//!
//! Every resource is created for one test and removed when its guard drops, also when
//! the test fails, so tests run in parallel and leave nothing behind.
//!
//! External services come from `TEST_DATABASE_URL` (a PostgreSQL database the kit may
//! `CREATE DATABASE` from) and `TEST_REDIS_URL`. When unset, their variants are skipped
//! with a message, unless `TEST_REQUIRE_EXTERNAL=1`, which turns a skip into a failure
//! (CI sets it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod bench;
pub mod bench_provisioning;
mod browser;
pub mod console_kit;
mod dns_server;
pub mod fast_peers;
mod graph_server;
mod otlp;
mod peers;
mod postgres_server;
mod process;
mod redis_server;
mod scim_server;
pub mod second_factor;
mod smtp_server;
pub mod world;

use std::path::Path;

pub use browser::{Browser, artifacts_dir};
pub use dns_server::DnsServer;
pub use graph_server::GraphServer;
pub use otlp::OtlpCollector;
pub use peers::{
    InResponseTo, IssuedTokens, OidcAccount, OidcClient, OidcKeys, OidcProvider, OidcProviderConfig,
    SamlResponseFixture, SamlSp, SamlSpConfig, SamlValidation, cookie_client, peers_dir, sign_saml_response,
};
pub use postgres_server::PostgresServer;
pub use process::{Rosetta, cli, rosetta_bin};
pub use redis_server::RedisServer;
pub use scim_server::ScimServer;
use sea_orm::{ConnectionTrait, Database};
pub use smtp_server::SmtpServer;
use tempfile::TempDir;

/// Whether a missing external service fails the test instead of skipping it.
pub fn require_external() -> bool {
    std::env::var("TEST_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1" || v == "true")
}

fn external(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if require_external() => panic!("{var} is not set but TEST_REQUIRE_EXTERNAL=1: the {what} variant must run"),
        _ => {
            eprintln!("SKIPPED {what} variant: {var} is not set");
            None
        }
    }
}

/// Whether the PostgreSQL variants run (`TEST_DATABASE_URL` set): tests that start a private
/// PostgreSQL cluster ([`PostgresServer`]) belong to them, so a machine without PostgreSQL
/// skips them like the others (and fails them under `TEST_REQUIRE_EXTERNAL=1`).
pub fn postgres_variant() -> bool {
    external("TEST_DATABASE_URL", "PostgreSQL").is_some()
}

/// A short random name for databases and key prefixes.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// A database of one test: an SQLite file in a temporary directory, or a fresh PostgreSQL
/// database dropped (with its connections) when the guard drops.
pub struct TestDatabase {
    url: String,
    postgres: Option<(String, String)>,
    _dir: Option<TempDir>,
}

impl TestDatabase {
    /// A new SQLite database file.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        Self {
            url,
            postgres: None,
            _dir: Some(dir),
        }
    }

    /// A new PostgreSQL database, or `None` (skipped) without `TEST_DATABASE_URL`.
    pub async fn postgres() -> Option<Self> {
        let admin = external("TEST_DATABASE_URL", "PostgreSQL")?;
        let name = unique_name("rosetta_t");
        let conn = Database::connect(admin.as_str())
            .await
            .expect("connecting to TEST_DATABASE_URL");
        conn.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("CREATE DATABASE");
        conn.close().await.ok();
        let mut url = url::Url::parse(&admin).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        Some(Self {
            url: url.to_string(),
            postgres: Some((admin, name)),
            _dir: None,
        })
    }

    /// A database that something else owns and removes (e.g. a [`PostgresServer`]).
    pub fn at(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            postgres: None,
            _dir: None,
        }
    }

    /// The database URL to give Rosetta.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        if self.url.starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside or outside a runtime; a thread of its own works in both.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(async {
                let conn = Database::connect(admin.as_str()).await?;
                conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await?;
                conn.close().await
            })
            .map_err(|e| std::io::Error::other(e.to_string()))
        })
        .join();
    }
}

/// A Redis key prefix of one test on the shared Redis; its keys are deleted on drop.
pub struct TestRedis {
    url: String,
    prefix: String,
}

impl TestRedis {
    /// A fresh prefix on `TEST_REDIS_URL`, or `None` (skipped) when unset.
    pub fn shared() -> Option<Self> {
        let url = external("TEST_REDIS_URL", "Redis")?;
        Some(Self::on(&url))
    }

    /// A fresh prefix on the Redis at `url`.
    pub fn on(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            prefix: unique_name("rosetta_t"),
        }
    }

    /// The Redis URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The key prefix to give Rosetta (`store_prefix`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Keys under this prefix (to check for leftovers).
    pub fn keys(&self) -> Vec<String> {
        let Ok(mut conn) = redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection()) else {
            return Vec::new();
        };
        redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query(&mut conn)
            .unwrap_or_default()
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let Ok(mut conn) = redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection()) else {
            return;
        };
        let mut cursor: u64 = 0;
        loop {
            let Ok((next, keys)): redis::RedisResult<(u64, Vec<String>)> = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}:*", self.prefix))
                .arg("COUNT")
                .arg(1000)
                .query(&mut conn)
            else {
                return;
            };
            if !keys.is_empty() {
                let _: redis::RedisResult<u64> = redis::cmd("DEL").arg(&keys).query(&mut conn);
            }
            if next == 0 {
                return;
            }
            cursor = next;
        }
    }
}

/// Database and session store of one test.
pub struct Stack {
    /// The database.
    pub database: TestDatabase,
    /// The Redis prefix, or `None` for the in-process store.
    pub redis: Option<TestRedis>,
}

impl Stack {
    /// SQLite + in-process store: the embedded default.
    pub fn embedded() -> Self {
        Self {
            database: TestDatabase::sqlite(),
            redis: None,
        }
    }

    /// PostgreSQL + Redis, or `None` (skipped) when they are not configured.
    pub async fn external() -> Option<Self> {
        let redis = TestRedis::shared()?;
        let database = TestDatabase::postgres().await?;
        Some(Self {
            database,
            redis: Some(redis),
        })
    }

    /// A label for messages: `sqlite+memory` or `postgres+redis`.
    pub fn label(&self) -> String {
        format!(
            "{}+{}",
            self.database.backend(),
            if self.redis.is_some() { "redis" } else { "memory" }
        )
    }

    /// The `ROSETTA_*` variables that point Rosetta at this stack.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![("ROSETTA_DATABASE_URL".into(), self.database.url().to_owned())];
        if let Some(redis) = &self.redis {
            env.push(("ROSETTA_REDIS_URL".into(), redis.url().to_owned()));
            env.push(("ROSETTA_STORE_PREFIX".into(), redis.prefix().to_owned()));
        }
        env
    }
}

/// Runs `spawn` with a free port until the server starts: a port free a moment ago may be
/// taken before the server binds it. Five tries; then the last error.
pub(crate) fn on_a_free_port(what: &str, mut spawn: impl FnMut(u16) -> std::io::Result<()>) -> std::io::Result<()> {
    let mut last = None;
    for _ in 0..5 {
        match spawn(free_port()) {
            Ok(()) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other(format!("{what} did not start"))))
}

/// A port that was free a moment ago (for servers that cannot be handed a socket).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// An HTTP client that does not follow redirects and resolves the given `*.localhost`
/// names to 127.0.0.1, as Chromium does natively.
pub fn http_client(hosts: &[&str], port: u16) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    for host in hosts {
        builder = builder.resolve(host, std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    builder.build().expect("HTTP client")
}

/// A program of the Python test peers (`python`, `schemathesis`): the one in `e2e/.venv/bin`,
/// which `scripts/setup.sh` makes from `e2e/requirements.txt`, when it is there; else the
/// name itself, found on `PATH`.
pub fn python_tool(name: &str) -> std::path::PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".venv")
        .join("bin")
        .join(name);
    if venv.exists() {
        venv
    } else if name == "python" {
        "python3".into()
    } else {
        name.into()
    }
}

/// Starts the Python peer `e2e/peers/<script>` with `args` (the test kit's Python,
/// [`python_tool`]) and returns once it has printed its one line, `listening`; a script that
/// exits first (port taken, a package missing: `scripts/setup.sh` installs `needs`) is an
/// error. No polling, no timing: the script says when it listens.
pub(crate) fn spawn_python_peer(script: &str, args: &[&str], needs: &str) -> std::io::Result<std::process::Child> {
    use std::io::BufRead;
    let python = std::env::var_os("PYTHON").map_or_else(|| python_tool("python"), std::path::PathBuf::from);
    let mut child = std::process::Command::new(&python)
        .arg(peers_dir().join(script))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("no stdout"))?;
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    if line.trim() == "listening" {
        Ok(child)
    } else {
        let _ = child.kill();
        let status = child.wait()?;
        Err(std::io::Error::other(format!(
            "{script} exited with {status} before listening (is {needs} installed? scripts/setup.sh)"
        )))
    }
}

/// Reads a whole file as text, or an empty string.
pub fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
