//! A real SMTP server of one test: Python's `aiosmtpd`, delivering into a maildir.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// An `aiosmtpd` server on a free port; killed on drop.
pub struct SmtpServer {
    port: u16,
    dir: TempDir,
    child: Child,
}

impl SmtpServer {
    /// Starts `python3 -m aiosmtpd` (`pip install aiosmtpd`) with a maildir handler.
    pub fn start() -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let mut last = None;
        for _ in 0..5 {
            let port = crate::free_port();
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
                .arg(dir.path().join("maildir"))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()?;
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Ok(Self { port, dir, child });
                }
                if let Ok(Some(status)) = child.try_wait() {
                    last = Some(std::io::Error::other(format!(
                        "aiosmtpd exited with {status} (is it installed?)"
                    )));
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    last = Some(std::io::Error::other("aiosmtpd did not listen in time"));
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("aiosmtpd did not start")))
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
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
