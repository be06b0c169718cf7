//! The real `rosetta` binary, run as a user or operator would.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The `rosetta` binary: `ROSETTA_BIN`, else next to the test executable's directory
/// (`target/<profile>/rosetta`), where `cargo test --workspace` builds it.
pub fn rosetta_bin() -> PathBuf {
    if let Ok(bin) = std::env::var("ROSETTA_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
    let bin = profile_dir.join("rosetta");
    assert!(
        bin.is_file(),
        "{} not found: build it with `cargo build -p rosetta-server`",
        bin.display()
    );
    bin
}

/// Runs `rosetta <args>` to completion with only the given `ROSETTA_*` variables set.
pub async fn cli(data_dir: &Path, env: &[(String, String)], args: &[&str]) -> Output {
    base_command(data_dir, env)
        .args(args)
        .output()
        .await
        .expect("running rosetta")
}

fn base_command(data_dir: &Path, env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(rosetta_bin());
    // A clean slate: nothing from the developer's shell leaks into the process.
    for (key, _) in std::env::vars() {
        if key.starts_with("ROSETTA_") || key.starts_with("OTEL_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("ROSETTA_DATA_DIR", data_dir)
        .env("RUST_LOG", "info")
        .current_dir(data_dir);
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    cmd
}

/// A running `rosetta serve`; killed on drop.
pub struct Rosetta {
    child: Child,
    port: u16,
    data_dir: TempDir,
    env: Vec<(String, String)>,
}

impl Rosetta {
    /// Starts `rosetta serve --json` in a fresh data directory, on a free port of
    /// 127.0.0.1 with the public URL `http://localhost:<port>`, plus the given variables.
    /// Waits for the "listening" line.
    pub async fn start(env: &[(String, String)]) -> Self {
        Self::start_on("127.0.0.1", None, env).await
    }

    /// A second replica of `first`'s deployment: same port and public URL, but listening on
    /// 127.0.0.2, so a user agent that resolves `*.localhost` to 127.0.0.2 reaches this one
    /// with exactly the Host header the first one expects. `env` must point at the same
    /// database, Redis and master key.
    pub async fn start_replica(first: &Rosetta, env: &[(String, String)]) -> Self {
        Self::start_on("127.0.0.2", Some(first.port), env).await
    }

    async fn start_on(ip: &str, fixed_port: Option<u16>, env: &[(String, String)]) -> Self {
        let data_dir = tempfile::tempdir().expect("temporary directory");
        let mut last_log = String::new();
        for _ in 0..3 {
            let port = fixed_port.unwrap_or_else(crate::free_port);
            let mut all = vec![
                ("ROSETTA_LISTEN".to_owned(), format!("{ip}:{port}")),
                ("ROSETTA_PUBLIC_URL".to_owned(), format!("http://localhost:{port}")),
            ];
            all.extend(env.iter().cloned());
            let log = std::fs::File::create(data_dir.path().join("rosetta.log")).expect("log file");
            let mut child = base_command(data_dir.path(), &all)
                .args(["serve", "--json"])
                .stdout(Stdio::piped())
                .stderr(log)
                .spawn()
                .expect("spawning rosetta");
            let stdout = child.stdout.take().expect("stdout");
            let first = tokio::time::timeout(Duration::from_secs(60), BufReader::new(stdout).lines().next_line()).await;
            if let Ok(Ok(Some(line))) = first {
                let event: serde_json::Value = serde_json::from_str(&line).expect("JSON listening line");
                assert_eq!(event["event"], "listening", "{line}");
                return Self {
                    child,
                    port,
                    data_dir,
                    env: all,
                };
            }
            let _ = child.kill().await;
            last_log = crate::read_text(&data_dir.path().join("rosetta.log"));
        }
        panic!("rosetta did not start:\n{last_log}");
    }

    /// The `ROSETTA_*` variables it runs with, for CLI calls against the same deployment
    /// (same data, same public URL).
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its data directory.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// `http://localhost:<port>`: the console host.
    pub fn console_url(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// `http://<slug>.localhost:<port>`: a tenant host.
    pub fn tenant_url(&self, slug: &str) -> String {
        format!("http://{slug}.localhost:{}", self.port)
    }

    /// What it has logged so far.
    pub fn logs(&self) -> String {
        crate::read_text(&self.data_dir.path().join("rosetta.log"))
    }

    /// Sends SIGTERM, as Kubernetes does before stopping a pod.
    pub fn terminate(&self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
    }

    /// Waits (bounded) for the process to exit and returns its status.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// Its process ID, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}
