//! Abusive clients do not exhaust the server: oversized headers are refused, a client that
//! never finishes its request is cut off, and a crowd of idle connections does not stop
//! others from being served.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::spawn_app;

async fn healthy(port: u16) -> bool {
    reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .is_ok_and(|r| r.status().is_success())
}

#[tokio::test]
async fn oversized_headers_are_refused_and_the_server_carries_on() {
    let app = spawn_app(rosetta_e2e::Stack::embedded()).await;
    let res = app
        .client
        .get(format!("http://127.0.0.1:{}/healthz", app.port))
        .header("cookie", "a".repeat(256 * 1024))
        .send()
        .await;
    // Over actix-http's 128 KiB request-head limit: 431, or the connection closed outright;
    // never a served request.
    if let Ok(res) = res {
        assert_eq!(res.status().as_u16(), 431);
    }
    assert!(healthy(app.port).await);
}

#[tokio::test]
async fn a_client_that_never_finishes_its_request_is_cut_off() {
    let app = spawn_app(rosetta_e2e::Stack::embedded()).await;
    let mut slow = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    // The request never ends; the server gives up after its request timeout (10 s) and
    // closes (or answers 408). Bounded: a server that waits forever fails the test.
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection was still open after 30 s");
    let text = String::from_utf8_lossy(&buf);
    assert!(text.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(healthy(app.port).await);
}

#[tokio::test]
async fn idle_connections_do_not_starve_others() {
    let app = spawn_app(rosetta_e2e::Stack::embedded()).await;
    // 300 connections that send nothing, held open.
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(("127.0.0.1", app.port)).await.unwrap());
    }
    let served = tokio::time::timeout(Duration::from_secs(10), healthy(app.port)).await;
    assert_eq!(
        served.ok(),
        Some(true),
        "a normal request is served beside 300 idle connections"
    );
    drop(idle);
}
