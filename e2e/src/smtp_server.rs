//! A real SMTP server of one test: Python's `aiosmtpd`, delivering into a maildir.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// An `aiosmtpd` server on a free port; killed on drop. It can be stopped and started
/// again on the same port (an SMTP outage), keeping what it received.
pub struct SmtpServer {
    port: u16,
    dir: TempDir,
    child: Option<Child>,
}

impl SmtpServer {
    /// Starts `python -m aiosmtpd` (the test kit's Python, [`crate::python_tool`]) with a
    /// maildir handler.
    pub fn start() -> std::io::Result<Self> {
        let mut server = Self {
            port: 0,
            dir: tempfile::tempdir()?,
            child: None,
        };
        crate::on_a_free_port("aiosmtpd", |port| {
            server.port = port;
            server.spawn()
        })?;
        Ok(server)
    }

    /// Stops the server: connections are refused until [`SmtpServer::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, with the same mailbox.
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.stop();
        self.spawn()
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let python = std::env::var_os("PYTHON").map_or_else(|| crate::python_tool("python"), Into::into);
        let port = self.port;
        let mut child = Command::new(&python)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(self.dir.path().join("maildir"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(std::io::Error::other(format!(
                    "aiosmtpd exited with {status} (is it installed?)"
                )));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(std::io::Error::other("aiosmtpd did not listen in time"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `smtp://127.0.0.1:<port>` (plain SMTP on loopback).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, raw.
    pub fn messages(&self) -> Vec<String> {
        let mut paths: Vec<PathBuf> = ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(self.dir.path().join("maildir").join(sub)).ok())
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        paths.sort();
        paths.iter().map(|p| crate::read_text(p)).collect()
    }

    /// Waits (bounded) until `count` messages arrived and returns them.
    pub fn wait_for(&self, count: usize, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        loop {
            let messages = self.messages();
            if messages.len() >= count || Instant::now() > deadline {
                return messages;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}
