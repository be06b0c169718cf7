//! Hardening II, 3: requests Rosetta makes because a tenant configured them go only to
//! public addresses (outside dev mode), over https, and "test connection" is no port scanner:
//! it is rate-limited and its errors say what to fix without telling how an inside address
//! answered. Here with a production public URL and the stand-in provider on loopback.

use rosetta::admin::service_providers::Which;
use rosetta::admin::{AdminError, Scope, identity_sources};
use rosetta::domain::TenantSlug;
use rosetta_api::{ConnectionStepKind, CreateIdentitySourceRequest, ErrorCode};

use crate::helpers::{TestApp, spawn_app_with};

async fn production(allowed: &[&str]) -> TestApp {
    let allowed: Vec<ipnet::IpNet> = allowed.iter().map(|n| n.parse().unwrap()).collect();
    let app = spawn_app_with(rosetta_e2e::Stack::embedded(), |s| {
        s.server.public_url = "https://rosetta.example.com".parse().unwrap();
        s.server.outbound_allowed_ranges = allowed;
    })
    .await;
    app.create_tenant("acme", "Acme").await;
    app
}

async fn scope(app: &TestApp) -> Scope {
    Scope::operator(&app.state, &TenantSlug::parse("acme").unwrap())
        .await
        .unwrap()
}

async fn add(app: &TestApp, scope: &Scope, name: &str, issuer: &str) {
    let body = CreateIdentitySourceRequest {
        name: name.into(),
        issuer: issuer.into(),
        client_id: "rosetta".into(),
        client_secret: "secret".into(),
        scopes: vec![],
        domains: vec![format!("{name}.example")],
        use_userinfo: false,
        offline_access: false,
        preset: Default::default(),
        groups_claim: None,
        allow_guests: false,
        fetch_group_overage: false,
    };
    identity_sources::create(&app.state, scope, body).await.unwrap();
}

/// A listener on loopback that would answer anything, to prove nothing reaches it.
fn inside_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(b"HTTP/1.1 418 I'm a teapot\r\ncontent-length: 0\r\n\r\n");
        }
    });
    (port, hits)
}

#[tokio::test]
async fn test_connection_refuses_inside_addresses_without_mapping_them() {
    let app = production(&[]).await;
    let scope = scope(&app).await;
    let (port, hits) = inside_server();
    for (name, issuer) in [
        ("literal", format!("https://127.0.0.1:{port}")),
        ("named", format!("https://localhost:{port}")),
        ("mapped", format!("https://[::ffff:127.0.0.1]:{port}")),
    ] {
        add(&app, &scope, name, &issuer).await;
        let report = identity_sources::test(&app.state, &scope, Which::Name(name))
            .await
            .unwrap();
        assert!(!report.ok, "{name}");
        let step = report.steps.last().unwrap();
        assert_eq!(step.step, ConnectionStepKind::Discovery, "{name}");
        assert!(
            step.message.contains("not a public address"),
            "{name}: {}",
            step.message
        );
        assert!(!step.message.contains("418"), "how the inside answered stays unknown");
    }
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing reached the inside"
    );
    // Plain http is refused outside dev mode, also to loopback.
    let refused = identity_sources::create(
        &app.state,
        &scope,
        CreateIdentitySourceRequest {
            name: "plain".into(),
            issuer: format!("http://127.0.0.1:{port}"),
            client_id: "rosetta".into(),
            client_secret: "secret".into(),
            scopes: vec![],
            domains: vec!["plain.example".into()],
            use_userinfo: false,
            offline_access: false,
            preset: Default::default(),
            groups_claim: None,
            allow_guests: false,
            fetch_group_overage: false,
        },
    )
    .await;
    assert!(matches!(refused, Err(AdminError::Invalid(_))), "{refused:?}");
}

#[tokio::test]
async fn an_operator_allowed_range_is_reached() {
    let app = production(&["127.0.0.0/8"]).await;
    let scope = scope(&app).await;
    let (port, hits) = inside_server();
    add(&app, &scope, "onprem", &format!("https://127.0.0.1:{port}")).await;
    let report = identity_sources::test(&app.state, &scope, Which::Name("onprem"))
        .await
        .unwrap();
    assert!(!report.ok);
    // The request went out (the teapot speaks no TLS, so it fails there), and was not refused.
    assert!(hits.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    let message = &report.steps.last().unwrap().message;
    assert!(!message.contains("not a public address"), "{message}");
}

#[tokio::test]
async fn test_connection_is_rate_limited_per_tenant() {
    let app = production(&[]).await;
    let scope = scope(&app).await;
    add(&app, &scope, "corp", "https://127.0.0.1:9").await;
    for n in 0..30 {
        identity_sources::test(&app.state, &scope, Which::Name("corp"))
            .await
            .unwrap_or_else(|e| panic!("test {n}: {e:?}"));
    }
    let refused = identity_sources::test(&app.state, &scope, Which::Name("corp")).await;
    assert!(
        matches!(&refused, Err(e) if e.code() == ErrorCode::RateLimited),
        "{refused:?}"
    );
}
