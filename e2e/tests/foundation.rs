//! The real `rosetta` binary as a newcomer and an operator use it: serve on the embedded
//! defaults, create a tenant with the CLI, reach it by host name; the same on PostgreSQL
//! and Redis; configuration mistakes stop start-up with one clear line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rosetta_e2e::{Rosetta, Stack, cli, http_client};

async fn tenant_reachable_by_host(stack: Stack) {
    let env = stack.env();
    let server = Rosetta::start(&env).await;
    let client = http_client(&["localhost", "acme.localhost", "nope.localhost"], server.port());

    let res = client
        .get(format!("{}/healthz", server.console_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", server.logs());

    // The operator creates a tenant while the server runs, against the same data.
    let out = cli(
        server.data_dir(),
        &env,
        &["tenant", "create", "acme", "--name", "Acme Corp", "--json"],
    )
    .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["slug"], "acme");
    assert_eq!(created["status"], "active");
    assert!(created["url"].as_str().unwrap().starts_with("http://acme.localhost:"));

    let res = client
        .get(format!("{}/", server.tenant_url("acme")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Acme Corp"));

    let res = client
        .get(format!("{}/", server.tenant_url("nope")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(res.text().await.unwrap().contains(&id));
    assert!(
        server.logs().contains(&id),
        "the correlation ID on the page is in the log"
    );

    let ready: serde_json::Value = client
        .get(format!("{}/readyz", server.console_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(
        format!(
            "{}+{}",
            ready["database"]["backend"].as_str().unwrap(),
            ready["store"]["backend"].as_str().unwrap()
        ),
        stack.label()
    );

    // Duplicates and bad slugs are refused with a code and a non-zero exit.
    let out = cli(server.data_dir(), &env, &["tenant", "create", "acme", "--json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "conflict");
    let out = cli(server.data_dir(), &env, &["tenant", "create", "Not_A_Slug"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lowercase"));

    let out = cli(server.data_dir(), &env, &["tenant", "list", "--json"]).await;
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let out = cli(server.data_dir(), &env, &["tenant", "show", "acme"]).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("Acme Corp"));
    let out = cli(server.data_dir(), &env, &["tenant", "show", "globex", "--json"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not_found"));
}

#[tokio::test]
async fn embedded_default_serves_and_routes_tenants() {
    // No database URL, no Redis, no SMTP: only where to listen and keep data.
    let server = Rosetta::start(&[]).await;
    let key = server.data_dir().join("master.key");
    assert!(key.is_file(), "a master key is generated into the data directory");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert!(
        server.data_dir().join("rosetta.db").is_file(),
        "the SQLite database lives in the data directory"
    );
    drop(server);
    tenant_reachable_by_host(Stack::embedded()).await;
}

#[tokio::test]
async fn postgres_and_redis_serve_and_route_tenants() {
    if let Some(stack) = Stack::external().await {
        tenant_reachable_by_host(stack).await;
    }
}

#[tokio::test]
async fn migrate_command_goes_down_and_up() {
    let mut stacks = vec![Stack::embedded()];
    stacks.extend(Stack::external().await);
    for stack in stacks {
        let dir = tempfile::tempdir().unwrap();
        let env = stack.env();
        let status = |out: std::process::Output| -> Vec<bool> {
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            v["migrations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["applied"].as_bool().unwrap())
                .collect()
        };
        let up = status(cli(dir.path(), &env, &["migrate", "--json"]).await);
        assert!(!up.is_empty() && up.iter().all(|a| *a), "{}: {up:?}", stack.label());
        let down = status(cli(dir.path(), &env, &["migrate", "down", "--all", "--json"]).await);
        assert!(down.iter().all(|a| !*a), "{}: {down:?}", stack.label());
        let again = status(cli(dir.path(), &env, &["migrate", "up", "--json"]).await);
        assert!(again.iter().all(|a| *a));
        let shown = status(cli(dir.path(), &env, &["migrate", "status", "--json"]).await);
        assert_eq!(shown, again);
    }
}

#[tokio::test]
async fn bad_configuration_stops_start_up_with_one_line_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("ROSETTA_PUBLIC_URL", "localhost:8080", "public_url"),
        ("ROSETTA_LISTEN", "not-an-address", "listen"),
        ("ROSETTA_REDIS_URL", "http://localhost", "redis_url"),
        ("ROSETTA_MASTER_KEY", "too-short", "master_key"),
        (
            "ROSETTA_DATABASE_URL",
            "postgres://nobody@127.0.0.1:1/none",
            "database_url",
        ),
    ];
    for (var, value, setting) in cases {
        let out = cli(dir.path(), &[(var.into(), value.into())], &["serve"]).await;
        assert!(!out.status.success(), "{var}={value} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("rosetta: ") && last.contains(setting),
            "{var}={value}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_finish_then_exits_zero() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut server = Rosetta::start(&[]).await;
    let port = server.port();
    let out = cli(server.data_dir(), server.env(), &["tenant", "create", "acme"]).await;
    assert!(out.status.success());

    // A client that is half-way through sending its request when the stop signal comes.
    // It asks for `100 Continue` to know when the server has taken the request up. A
    // connection the kernel has accepted but no worker has taken up yet is not in flight:
    // actix drops it when it stops (an earlier CI run's broken pipe).
    let body = "SAMLRequest=abc&RelayState=x";
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = format!(
        "POST /saml/sso HTTP/1.1\r\nHost: acme.localhost:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&body.as_bytes()[..5]).await.unwrap();
    let mut interim = Vec::new();
    while !interim.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), conn.read(&mut byte))
            .await
            .expect("the server takes the request up within 10 s")
            .unwrap();
        assert_eq!(n, 1, "the connection closed before the server took the request up");
        interim.push(byte[0]);
    }
    assert_eq!(interim, b"HTTP/1.1 100 Continue\r\n\r\n");

    server.terminate();
    // Once new connections are refused, the server is draining.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "still accepting after SIGTERM");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    conn.write_all(&body.as_bytes()[5..]).await.unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).await.unwrap();
    assert!(
        reply.starts_with("HTTP/1.1 400"),
        "the request in flight got its answer: {reply}"
    );

    let status = server
        .wait_exit(std::time::Duration::from_secs(40))
        .await
        .expect("the process exits");
    assert!(status.success(), "exit status {status:?}\n{}", server.logs());
}

/// What the operator changes with the command line goes through the same use cases as the
/// admin API, and so into the audit log, with `operator` as the actor.
#[tokio::test]
async fn operator_changes_are_in_the_audit_log() {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    let secret_arg = secret.display().to_string();
    let run = |args: Vec<&str>| {
        let dir = dir.path().to_owned();
        let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = cli(&dir, &[], &args).await;
            assert!(
                out.status.success(),
                "{args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    std::fs::write(&secret, "client-secret-value").unwrap();
    run(vec!["tenant", "create", "acme"]).await;
    run(vec![
        "sp",
        "add",
        "acme",
        "--name",
        "jira",
        "--entity-id",
        "https://auth.atlassian.com/saml/1",
        "--acs-url",
        "https://auth.atlassian.com/login/callback?connection=saml-1",
    ])
    .await;
    run(vec![
        "source",
        "add",
        "acme",
        "--name",
        "corp",
        "--issuer",
        "https://op.example",
        "--client-id",
        "rosetta",
        "--client-secret-file",
        &secret_arg,
        "--domains",
        "acme.example",
    ])
    .await;
    run(vec!["key", "next", "acme"]).await;
    run(vec!["key", "promote", "acme"]).await;
    run(vec!["sp", "remove", "acme", "jira"]).await;

    let db = Database::connect(format!("sqlite://{}", dir.path().join("rosetta.db").display()).as_str())
        .await
        .unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT actor, action, outcome, detail FROM audit_event ORDER BY occurred_at, action",
        ))
        .await
        .unwrap();
    let events: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("", "actor").unwrap(),
                r.try_get("", "action").unwrap(),
                r.try_get("", "outcome").unwrap(),
                r.try_get("", "detail").unwrap(),
            )
        })
        .collect();
    let actions: Vec<&str> = events.iter().map(|(_, a, _, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "tenant.create",
            "service_provider.create",
            "identity_source.create",
            "signing_key.create",
            "signing_key.promote",
            "service_provider.delete",
        ],
        "{events:?}"
    );
    for (actor, action, outcome, detail) in &events {
        assert_eq!((actor.as_str(), outcome.as_str()), ("operator", "success"), "{action}");
        assert!(
            !detail.contains("client-secret-value"),
            "no secret in the audit log: {detail}"
        );
    }
}
