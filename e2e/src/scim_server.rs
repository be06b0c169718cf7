//! A real SCIM 2.0 server of one test that stands in for Atlassian's user-provisioning API:
//! `e2e/peers/scim_server.py` (Python's `scim2-server` with Atlassian's rules on top), served
//! under `/scim/directory/<directoryId>` with a bearer key, and steered through its
//! `/__test/` controls (429s, a rejected key, its whole state, a request count).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::time::Duration;

/// The SCIM server; killed on drop.
pub struct ScimServer {
    port: u16,
    directory_id: String,
    key: String,
    child: Child,
}

impl ScimServer {
    /// Starts the server on a free port with an empty directory `directory_id` that accepts
    /// `Authorization: Bearer <key>`.
    pub fn start(directory_id: &str, key: &str) -> std::io::Result<Self> {
        let mut started = None;
        crate::on_a_free_port("scim_server.py", |port| {
            started = Some(spawn(port, directory_id, key)?);
            Ok(())
        })?;
        let (port, child) = started.ok_or_else(|| std::io::Error::other("scim_server.py did not start"))?;
        Ok(Self {
            port,
            directory_id: directory_id.to_owned(),
            key: key.to_owned(),
            child,
        })
    }

    /// Stops the server (an outage: connections are refused) until [`Self::start_again`].
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same port, with an empty directory (the outage's end;
    /// what the directory held before is gone, as after a restore).
    pub fn start_again(&mut self) -> std::io::Result<()> {
        let mut last = None;
        // The port was just released; another process may grab it in between (rare): say so.
        for _ in 0..3 {
            match spawn(self.port, &self.directory_id, &self.key) {
                Ok((_, child)) => {
                    self.child = child;
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("scim_server.py did not start again")))
    }

    /// The directory's SCIM root, as `https://api.atlassian.com/scim/directory/<id>` is:
    /// `/Users`, `/Groups`, … are under it.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/scim/directory/{}", self.port, self.directory_id)
    }

    /// Makes the next `n` SCIM requests answer 429 with `Retry-After: <retry_after_secs>`.
    pub fn fail_next(&self, n: u32, retry_after_secs: u32) {
        self.control(
            "POST",
            "/__test/fail-next",
            &serde_json::json!({"count": n, "retry_after": retry_after_secs}),
        );
    }

    /// While `on`, every SCIM request answers 401, whatever its key (a revoked API key).
    pub fn reject_key(&self, on: bool) {
        self.control("POST", "/__test/reject-key", &serde_json::json!({"on": on}));
    }

    /// The whole directory: `{"directory_id", "users": [...], "groups": [...]}`, each resource
    /// as its SCIM JSON (users with `active`), oldest first.
    pub fn state(&self) -> serde_json::Value {
        self.control("GET", "/__test/state", &serde_json::Value::Null)
    }

    /// How many SCIM requests the server received (its 429s and 401s included).
    pub fn requests(&self) -> u64 {
        self.control("GET", "/__test/requests", &serde_json::Value::Null)["requests"]
            .as_u64()
            .expect("a request count")
    }

    /// How many users the directory holds (cheap, for large directories).
    pub fn user_count(&self) -> u64 {
        self.control("GET", "/__test/requests", &serde_json::Value::Null)["users"]
            .as_u64()
            .expect("a user count")
    }

    /// Empties the directory and clears the request count and the switches.
    pub fn reset(&self) {
        self.control("POST", "/__test/reset", &serde_json::Value::Null);
    }

    /// One blocking HTTP/1.1 request to a test control; its JSON answer.
    fn control(&self, method: &str, path: &str, body: &serde_json::Value) -> serde_json::Value {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connecting to scim_server.py");
        // A safeguard against a hung server, not a timing assumption.
        stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .expect("writing to scim_server.py");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .expect("reading from scim_server.py");
        let (head, payload) = response
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("{method} {path}: not an HTTP response: {response:?}"));
        let status = head.split(' ').nth(1).unwrap_or_default();
        assert_eq!(status, "200", "{method} {path} answered {head}\n{payload}");
        serde_json::from_str(payload).unwrap_or_else(|e| panic!("{method} {path}: {e}: {payload:?}"))
    }
}

impl Drop for ScimServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(port: u16, directory_id: &str, key: &str) -> std::io::Result<(u16, Child)> {
    let child = crate::spawn_python_peer(
        "scim_server.py",
        &[&port.to_string(), directory_id, key],
        "scim2-server",
    )?;
    Ok((port, child))
}
