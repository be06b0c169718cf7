//! A Microsoft Graph stand-in of one test: `e2e/peers/graph.mjs`, answering
//! `POST /v1.0/users/{id}/getMemberGroups` as Microsoft documents it, for Entra ID group
//! overages. It accepts the bearer tokens the test OpenID provider ([`OidcProvider`]) issues
//! with the client credentials grant and the scope `https://graph.microsoft.com/.default`,
//! once told to trust that provider ([`GraphServer::trust`]), and is steered through its
//! `/__test/` controls: users' groups, a denied permission, failures, a request count.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::OidcProvider;
use crate::peers::NodePeer;

/// The Graph stand-in; killed on drop.
pub struct GraphServer {
    peer: NodePeer,
}

impl GraphServer {
    /// Starts it on a free port, knowing no user and trusting no provider yet (every token is
    /// refused until [`Self::trust`]): Rosetta, which needs its URL at start, may start
    /// before the provider.
    pub fn start() -> std::io::Result<Self> {
        let peer = NodePeer::start("graph.mjs", |port| serde_json::json!({ "port": port }))?;
        Ok(Self { peer })
    }

    /// Its root, `http://127.0.0.1:<port>`, as `https://graph.microsoft.com` is: the API is
    /// under `/v1.0`. Rosetta's `microsoft_graph_url` (`ROSETTA_MICROSOFT_GRAPH_URL`).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.peer.port)
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.peer.port
    }

    /// Accepts the Graph tokens `op` issues (client credentials, scope
    /// `https://graph.microsoft.com/.default`, not expired), checked with `op` at each call.
    pub fn trust(&self, op: &OidcProvider) {
        self.control(
            "POST",
            "/__test/token-issuer",
            &serde_json::json!({ "op_url": op.local_url("") }),
        );
    }

    /// Makes `user_id` (an Entra object ID, the `oid` claim) a known user whose groups are
    /// the security groups `groups` (object IDs), replacing what it had.
    pub fn set_groups(&self, user_id: &str, groups: &[&str]) {
        self.set_groups_and_others(user_id, groups, &[]);
    }

    /// [`Self::set_groups`] with also `others`, groups that are not security-enabled
    /// (Microsoft 365, distribution): answered only when `securityEnabledOnly` is false.
    pub fn set_groups_and_others(&self, user_id: &str, groups: &[&str], others: &[&str]) {
        self.control(
            "POST",
            "/__test/users",
            &serde_json::json!({ "id": user_id, "groups": groups, "other_groups": others }),
        );
    }

    /// While `on`, every call with a valid token answers 403 `Authorization_RequestDenied`
    /// (the app lacks `GroupMember.Read.All`, or its admin consent).
    pub fn deny(&self, on: bool) {
        self.control("POST", "/__test/deny", &serde_json::json!({ "on": on }));
    }

    /// Makes the next `n` calls answer `status` (429 `TooManyRequests`, or e.g. 503
    /// `ServiceNotAvailable`), with `Retry-After: <secs>` when given, before any other check.
    pub fn fail_next(&self, n: u32, status: u16, retry_after_secs: Option<u32>) {
        self.control(
            "POST",
            "/__test/fail-next",
            &serde_json::json!({ "count": n, "status": status, "retry_after": retry_after_secs }),
        );
    }

    /// How many API calls it received (refused ones included, test controls not).
    pub fn requests(&self) -> u64 {
        self.control("GET", "/__test/requests", &serde_json::Value::Null)["requests"]
            .as_u64()
            .expect("a request count")
    }

    /// The last API call, `{"method", "path", "authorization": bool, "body": "<text>"}`
    /// (`authorization`: whether it carried a bearer token), if any.
    pub fn last_request(&self) -> Option<serde_json::Value> {
        let last = self.control("GET", "/__test/requests", &serde_json::Value::Null)["last"].clone();
        (!last.is_null()).then_some(last)
    }

    /// What it has logged so far.
    pub fn logs(&self) -> String {
        self.peer.logs()
    }

    /// One blocking HTTP/1.1 request to a test control; its JSON answer.
    fn control(&self, method: &str, path: &str, body: &serde_json::Value) -> serde_json::Value {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let port = self.peer.port;
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connecting to graph.mjs");
        // A safeguard against a hung server, not a timing assumption.
        stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("writing to graph.mjs");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("reading from graph.mjs");
        let (head, payload) = response
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("{method} {path}: not an HTTP response: {response:?}"));
        let status = head.split(' ').nth(1).unwrap_or_default();
        assert_eq!(status, "200", "{method} {path} answered {head}\n{payload}");
        serde_json::from_str(payload).unwrap_or_else(|e| panic!("{method} {path}: {e}: {payload:?}"))
    }
}
