//! A real authoritative DNS server of one test: `e2e/peers/dns_server.py` (Python's `dnslib`),
//! answering TXT records from a zone file the test rewrites while it runs.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use tempfile::TempDir;

/// The DNS server; killed on drop.
pub struct DnsServer {
    port: u16,
    dir: TempDir,
    zone: BTreeMap<String, Vec<String>>,
    servfail: Vec<String>,
    child: Child,
}

impl DnsServer {
    /// Starts the server on a free port (UDP and TCP) with an empty zone: every name is
    /// NXDOMAIN until [`DnsServer::set_txt`].
    pub fn start() -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("zone.json"), "{}")?;
        let mut started = None;
        crate::on_a_free_port("dns_server.py", |port| {
            started = Some(spawn(port, &dir.path().join("zone.json"))?);
            Ok(())
        })?;
        let (port, child) = started.ok_or_else(|| std::io::Error::other("dns_server.py did not start"))?;
        Ok(Self {
            port,
            dir,
            zone: BTreeMap::new(),
            servfail: Vec::new(),
            child,
        })
    }

    /// Where resolvers send queries (`dns_nameservers`).
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Publishes `values` as the TXT records of `name` (replacing what it had); an empty
    /// list answers NOERROR without data.
    pub fn set_txt(&mut self, name: &str, values: &[&str]) {
        self.zone
            .insert(absolute(name), values.iter().map(|v| (*v).to_owned()).collect());
        self.write();
    }

    /// Removes `name`: it answers NXDOMAIN again.
    pub fn remove(&mut self, name: &str) {
        self.zone.remove(&absolute(name));
        self.write();
    }

    /// Makes `name` answer SERVFAIL (a broken nameserver).
    pub fn fail(&mut self, name: &str) {
        self.servfail.push(absolute(name));
        self.write();
    }

    fn write(&self) {
        let mut zone = serde_json::to_value(&self.zone).expect("zone as JSON");
        zone["__servfail__"] = serde_json::json!(self.servfail);
        // Written beside, then renamed: the server never reads half a file.
        let tmp = self.dir.path().join("zone.json.tmp");
        std::fs::write(&tmp, zone.to_string()).expect("zone file");
        std::fs::rename(&tmp, self.dir.path().join("zone.json")).expect("zone file");
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn absolute(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    if name.ends_with('.') { name } else { format!("{name}.") }
}

fn spawn(port: u16, zone: &Path) -> std::io::Result<(u16, Child)> {
    let python = std::env::var_os("PYTHON").map_or_else(|| crate::python_tool("python"), PathBuf::from);
    let script = crate::peers_dir().join("dns_server.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .arg(port.to_string())
        .arg(zone)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    // The script prints one line once both sockets are bound, or exits (port taken, dnslib
    // missing): no polling, no timing.
    let stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("no stdout"))?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    if line.trim() == "listening" {
        Ok((port, child))
    } else {
        let _ = child.kill();
        let status = child.wait()?;
        Err(std::io::Error::other(format!(
            "dns_server.py exited with {status} before listening (is dnslib installed? scripts/setup.sh)"
        )))
    }
}
