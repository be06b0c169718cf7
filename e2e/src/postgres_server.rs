//! A PostgreSQL cluster of one test (`initdb` + `pg_ctl`, on a port of its own), which the
//! test may stop and start again: a database restart without touching the shared server.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

/// A private PostgreSQL server; stopped and deleted on drop.
pub struct PostgresServer {
    port: u16,
    dir: TempDir,
    bin: PathBuf,
    running: bool,
}

/// The directory holding `initdb` and `pg_ctl`: `PG_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin`.
fn bin_dir() -> std::io::Result<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| std::io::Error::other("no PostgreSQL server binaries (set PG_BIN)"))
}

/// Whether the tests run as root (asked of `id -u`: the kit has no `unsafe` for geteuid).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// PostgreSQL refuses to run as root: as root, run its tools as `postgres`.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn run(mut cmd: Command, what: &str) -> std::io::Result<()> {
    let out = cmd.stdin(Stdio::null()).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

impl PostgresServer {
    /// Creates a cluster (trust authentication, user `postgres`) and starts it.
    pub fn start() -> std::io::Result<Self> {
        let bin = bin_dir()?;
        let dir = tempfile::tempdir()?;
        // The server user must reach its directories.
        run(
            {
                let mut c = Command::new("chmod");
                c.arg("755").arg(dir.path());
                c
            },
            "chmod",
        )?;
        for sub in ["data", "run"] {
            std::fs::create_dir(dir.path().join(sub))?;
        }
        if is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("-R").arg("postgres:").arg(dir.path());
                    c
                },
                "chown",
            )?;
        }
        let mut initdb = as_server_user(&bin.join("initdb"));
        initdb.arg("-D").arg(dir.path().join("data")).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        run(initdb, "initdb")?;
        let mut server = Self {
            port: 0,
            dir,
            bin,
            running: false,
        };
        crate::on_a_free_port("PostgreSQL", |port| {
            server.port = port;
            server.spawn()
        })?;
        Ok(server)
    }

    fn pg_ctl(&self) -> Command {
        let mut cmd = as_server_user(&self.bin.join("pg_ctl"));
        cmd.arg("-D").arg(self.dir.path().join("data"));
        cmd
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let mut cmd = self.pg_ctl();
        cmd.arg("-l")
            .arg(self.dir.path().join("server.log"))
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
                self.port,
                self.dir.path().join("run").display()
            ))
            // `-w`: returns once the server accepts connections.
            .args(["-w", "-t", "30", "start"]);
        run(cmd, "pg_ctl start")?;
        self.running = true;
        Ok(())
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (fast shutdown: open connections are cut, as in a restart).
    pub fn stop(&mut self) -> std::io::Result<()> {
        if !self.running {
            return Ok(());
        }
        let mut cmd = self.pg_ctl();
        cmd.args(["-m", "fast", "-w", "stop"]);
        run(cmd, "pg_ctl stop")?;
        self.running = false;
        Ok(())
    }

    /// Starts it again on the same port with the same data.
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.stop()?;
        self.spawn()
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        if self.running {
            let mut cmd = self.pg_ctl();
            cmd.args(["-m", "immediate", "-w", "stop"]);
            let _ = run(cmd, "pg_ctl stop");
        }
    }
}
