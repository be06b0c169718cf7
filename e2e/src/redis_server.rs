//! A `redis-server` of one test, on a port of its own, that the test may stop and restart.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A private Redis server (or Sentinel); killed on drop.
pub struct RedisServer {
    port: u16,
    dir: TempDir,
    child: Option<Child>,
    extra: Vec<String>,
    sentinel_of: Option<(u16, String)>,
}

impl RedisServer {
    /// Starts `redis-server` (from `PATH` or `REDIS_SERVER`) on a free port.
    pub fn start() -> std::io::Result<Self> {
        Self::start_with(Vec::new(), None)
    }

    /// A replica of `master` (for failover tests).
    pub fn start_replica_of(master: &RedisServer) -> std::io::Result<Self> {
        Self::start_with(
            vec!["--replicaof".into(), "127.0.0.1".into(), master.port.to_string()],
            None,
        )
    }

    /// A Sentinel watching `master` under `name`, quorum 1, quick to declare it down.
    pub fn start_sentinel(master: &RedisServer, name: &str) -> std::io::Result<Self> {
        Self::start_with(Vec::new(), Some((master.port, name.to_owned())))
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    fn start_with(extra: Vec<String>, sentinel_of: Option<(u16, String)>) -> std::io::Result<Self> {
        let mut server = Self {
            port: 0,
            dir: tempfile::tempdir()?,
            child: None,
            extra,
            sentinel_of,
        };
        crate::on_a_free_port("redis-server", |port| {
            server.port = port;
            let started = server.spawn();
            if started.is_err() {
                server.kill();
            }
            started
        })?;
        Ok(server)
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let binary = std::env::var("REDIS_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|_| "redis-server".into());
        let mut cmd = Command::new(binary);
        if let Some((master, name)) = &self.sentinel_of {
            // Sentinel rewrites its configuration file, so it needs one of its own.
            let conf = self.dir.path().join("sentinel.conf");
            std::fs::write(
                &conf,
                format!(
                    "bind 127.0.0.1\nport {}\ndir {}\nsentinel monitor {name} 127.0.0.1 {master} 1\n\
sentinel down-after-milliseconds {name} 300\nsentinel failover-timeout {name} 2000\n",
                    self.port,
                    self.dir.path().display()
                ),
            )?;
            cmd.arg(&conf).arg("--sentinel");
        } else {
            cmd.args([
                "--bind",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .args(&self.extra);
        }
        let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
        self.child = Some(child);
        self.wait_until_answering(Duration::from_secs(10))
    }

    fn wait_until_answering(&mut self, limit: Duration) -> std::io::Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(mut conn) = redis::Client::open(self.url()).and_then(|c| c.get_connection())
                && redis::cmd("PING").query::<String>(&mut conn).is_ok()
            {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Err(std::io::Error::other(format!("redis-server exited: {status}")));
            }
            if Instant::now() > deadline {
                return Err(std::io::Error::other("redis-server did not answer in time"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (abruptly, as a crash would).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (data is gone: it keeps nothing on disk).
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.kill();
        self.spawn()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
