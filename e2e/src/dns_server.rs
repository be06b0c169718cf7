//! A real authoritative DNS server of one test: `e2e/peers/dns_server.py` (Python's `dnslib`),
//! answering TXT records from a zone file the test rewrites while it runs.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Child;

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
    let zone = zone.to_string_lossy();
    let child = crate::spawn_python_peer("dns_server.py", &[&port.to_string(), &zone], "dnslib")?;
    Ok((port, child))
}
