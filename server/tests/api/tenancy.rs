//! The Host header decides the site; unknown hosts get a 404 page, never a fallback.

use rosetta_entity::tenant;
use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};

use crate::helpers::{both_stacks, spawn_app, spawn_app_with};

both_stacks!(
    tenant_hosts_reach_their_tenant_and_nothing_else,
    |stack: rosetta_e2e::Stack| async move {
        let app = spawn_app(stack).await;
        app.create_tenant("acme", "Acme Corp").await;
        app.create_tenant("globex", "Globex & Co").await;

        let res = app.get("acme.localhost:{port}", "/").await;
        assert_eq!(res.status(), 200);
        let body = res.text().await.unwrap();
        assert!(body.contains("Acme Corp") && !body.contains("Globex"), "{body}");

        let body = app.get("globex.localhost:{port}", "/").await.text().await.unwrap();
        assert!(body.contains("Globex &amp; Co"), "display names are escaped: {body}");

        assert_eq!(
            app.get("ACME.localhost:{port}", "/").await.status(),
            200,
            "host names are case-insensitive"
        );
        assert_eq!(app.get("localhost:{port}", "/").await.status(), 200, "the console host");

        for host in [
            "nope.localhost:{port}",      // no such tenant
            "acme.localhost:1",           // another port
            "evil.example:{port}",        // another domain
            "acme.localhost.evil:{port}", // suffix trick
            "x.acme.localhost:{port}",    // nested label
            "www.localhost:{port}",       // reserved label
            "127.0.0.1:{port}",           // bare address
        ] {
            let res = app.get(host, "/").await;
            assert_eq!(res.status(), 404, "{host}");
            let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
            let body = res.text().await.unwrap();
            assert!(
                body.contains("Page not found") && body.contains(&id),
                "branded page with reference: {body}"
            );
        }
    }
);

both_stacks!(
    suspended_tenants_are_not_served,
    |stack: rosetta_e2e::Stack| async move {
        let app = spawn_app(stack).await;
        let acme = app.create_tenant("acme", "Acme").await;
        let mut row = acme.into_active_model();
        row.status = Set(tenant::TenantStatus::Suspended);
        row.update(&app.state.db).await.unwrap();
        assert_eq!(app.get("acme.localhost:{port}", "/").await.status(), 404);
    }
);

#[tokio::test]
async fn forwarded_host_is_ignored_from_untrusted_peers() {
    let app = spawn_app(rosetta_e2e::Stack::embedded()).await;
    app.create_tenant("acme", "Acme").await;
    let res = app
        .get_with("evil.example", "/", &[("x-forwarded-host", "acme.localhost:{port}")])
        .await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn forwarded_host_is_honoured_from_trusted_proxies() {
    let app = spawn_app_with(rosetta_e2e::Stack::embedded(), |s| {
        s.server.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    app.create_tenant("acme", "Acme").await;
    let res = app
        .get_with("10.0.0.5:8080", "/", &[("x-forwarded-host", "acme.localhost:{port}")])
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Acme"));
}
