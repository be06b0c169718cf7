//! `/healthz` and `/readyz`.

use rosetta_api::{CheckStatus, Readiness, ReadinessReport};
use rosetta_e2e::{RedisServer, TestDatabase, TestRedis};

use crate::helpers::{both_stacks, spawn_app};

both_stacks!(
    probes_answer_on_any_host_and_name_their_backends,
    |stack: rosetta_e2e::Stack| async move {
        let label = stack.label();
        let app = spawn_app(stack).await;
        // Kubernetes probes address the pod by IP: no tenant, no console host.
        for host in ["10.1.2.3:8080", "localhost:{port}", "nope.localhost:{port}"] {
            let res = app.get(host, "/healthz").await;
            assert_eq!(res.status(), 200, "{host}");
            assert_eq!(res.text().await.unwrap(), "ok\n");
        }
        let res = app.get("10.1.2.3:8080", "/readyz").await;
        assert_eq!(res.status(), 200);
        let report: ReadinessReport = res.json().await.unwrap();
        assert_eq!(report.status, Readiness::Ready);
        assert_eq!(format!("{}+{}", report.database.backend, report.store.backend), label);
    }
);

#[tokio::test]
async fn readiness_follows_redis_down_and_back_up() {
    let mut redis = RedisServer::start().expect("redis-server starts (apt-get install redis-server)");
    let stack = rosetta_e2e::Stack {
        database: TestDatabase::sqlite(),
        redis: Some(TestRedis::on(&redis.url())),
    };
    let app = spawn_app(stack).await;
    assert_eq!(app.get("localhost:{port}", "/readyz").await.status(), 200);

    redis.kill();
    let res = app.get("localhost:{port}", "/readyz").await;
    assert_eq!(res.status(), 503);
    let report: ReadinessReport = res.json().await.unwrap();
    assert_eq!(
        (report.status, report.store.status),
        (Readiness::NotReady, CheckStatus::Unavailable)
    );
    assert_eq!(report.database.status, CheckStatus::Ok);
    assert!(report.store.error.is_some());

    redis.restart().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        if app.get("localhost:{port}", "/readyz").await.status() == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "store did not recover after Redis came back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_only() {
    let app = crate::helpers::spawn_app_with(rosetta_e2e::Stack::embedded(), |s| {
        s.telemetry.metrics_listen = Some("127.0.0.1:0".into());
    })
    .await;
    assert_eq!(app.get("localhost:{port}", "/healthz").await.status(), 200);
    assert_eq!(app.get("nope.localhost:{port}", "/").await.status(), 404);
    let metrics = app.metrics.expect("a metrics listener");
    let text = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("rosetta_http_requests_total{class=\"2xx\"} 1"), "{text}");
    assert!(text.contains("rosetta_http_requests_total{class=\"4xx\"} 1"), "{text}");
    let public = app.get("localhost:{port}", "/metrics").await.text().await.unwrap();
    assert!(
        !public.contains("rosetta_http_requests_total"),
        "not on the public port"
    );
}
