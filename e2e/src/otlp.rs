//! A tiny OTLP/HTTP collector for tests: accepts `POST /v1/traces` (JSON or protobuf),
//! keeps every body, answers `200 {}`.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Requests received so far: (path, body).
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A running collector; stops with the test's runtime.
pub struct OtlpCollector {
    port: u16,
    bodies: Received,
}

impl OtlpCollector {
    /// Listens on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let bodies: Received = Arc::new(Mutex::new(Vec::new()));
        let store = bodies.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let (read, mut write) = conn.into_split();
                    let mut reader = BufReader::new(read);
                    // Keep-alive: several requests per connection.
                    loop {
                        let mut request_line = String::new();
                        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_owned();
                        let mut length = 0usize;
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            let line = line.trim_end();
                            if line.is_empty() {
                                break;
                            }
                            if let Some((name, value)) = line.split_once(':')
                                && name.eq_ignore_ascii_case("content-length")
                            {
                                length = value.trim().parse().unwrap_or(0);
                            }
                        }
                        let mut body = vec![0u8; length];
                        if reader.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        store.lock().unwrap_or_else(|p| p.into_inner()).push((path, body));
                        let reply = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                        if write.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Ok(Self { port, bodies })
    }

    /// `http://127.0.0.1:<port>`, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request received: (path, body).
    pub fn received(&self) -> Vec<(String, Vec<u8>)> {
        self.bodies.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
