//! The brokering world of the end-to-end tests and the load driver: the real binary with
//! tenants `acme` and `globex`, the test OpenID provider (source `corp`, user `ada-sub`)
//! and two SAML SP validators, `jira` (Atlassian preset) and `wiki` (from its metadata).

use crate::{
    InResponseTo, OidcAccount, OidcClient, OidcProvider, OidcProviderConfig, Rosetta, SamlSp, SamlSpConfig, Stack, cli,
};

/// Everything a login needs, running.
pub struct World {
    /// Rosetta.
    pub rosetta: Rosetta,
    /// The test OpenID provider.
    pub op: OidcProvider,
    /// An SP with the Atlassian preset (InResponseTo required).
    pub jira: SamlSp,
    /// An SP registered from its metadata (IdP-initiated allowed).
    pub wiki: SamlSp,
    /// The database and store the deployment uses.
    pub stack: Stack,
}

/// The rows of `sql` once `done` accepts them, or as they are after 10 s. Logins' audit
/// events and traces are written just after the login's response, in batches off the
/// response path: a test waits for them rather than assuming they are there.
pub async fn rows_when(
    db: &sea_orm::DatabaseConnection,
    sql: &str,
    done: impl Fn(&[sea_orm::QueryResult]) -> bool,
) -> Vec<sea_orm::QueryResult> {
    use sea_orm::ConnectionTrait;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let statement = sea_orm::Statement::from_string(db.get_database_backend(), sql.to_owned());
        let rows = db.query_all_raw(statement).await.unwrap();
        if done(&rows) || std::time::Instant::now() >= deadline {
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Runs the CLI against the deployment and returns its JSON answer.
pub async fn run(rosetta: &Rosetta, env: &[(String, String)], args: &[&str]) -> serde_json::Value {
    let out = cli(rosetta.data_dir(), env, args).await;
    assert!(
        out.status.success(),
        "rosetta {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Rosetta on `stack`, with a metrics listener.
pub async fn start_rosetta(stack: &Stack) -> Rosetta {
    start_rosetta_with(stack, &[]).await
}

/// [`start_rosetta`] with more `ROSETTA_*` settings, e.g.
/// `("ROSETTA_MICROSOFT_GRAPH_URL", graph.base_url())` for a [`crate::GraphServer`].
pub async fn start_rosetta_with(stack: &Stack, extra: &[(&str, &str)]) -> Rosetta {
    let mut env = stack.env();
    env.push((
        "ROSETTA_METRICS_LISTEN".into(),
        format!("127.0.0.1:{}", crate::free_port()),
    ));
    // Every login of the kit (and of the load driver, hundreds a second) comes from one
    // address and one tenant: the per-minute start limits are tested on their own.
    for name in ["ROSETTA_LOGIN_STARTS_PER_ADDRESS", "ROSETTA_LOGIN_STARTS_PER_TENANT"] {
        env.push((name.into(), "100000000".into()));
    }
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Rosetta::start(&env).await
}

/// Adds the identity source `corp` to tenant `acme`: the provider at `issuer`, client
/// `rosetta` with `client_secret`, for the domain `acme.example`.
pub async fn add_corp_source(rosetta: &Rosetta, issuer: &str, client_secret: &str) {
    add_corp_source_with(rosetta, issuer, client_secret, &[]).await;
}

/// [`add_corp_source`] with extra `source add` options (e.g. `--offline-access`).
pub async fn add_corp_source_with(rosetta: &Rosetta, issuer: &str, client_secret: &str, extra: &[&str]) {
    let secret = rosetta.data_dir().join("client-secret");
    std::fs::write(&secret, format!("{client_secret}\n")).unwrap();
    let source = [
        "source",
        "add",
        "acme",
        "--name",
        "corp",
        "--issuer",
        issuer,
        "--client-id",
        "rosetta",
        "--client-secret-file",
        secret.to_str().unwrap(),
        "--domains",
        "acme.example",
        "--json",
    ];
    let source: Vec<&str> = source.iter().chain(extra).copied().collect();
    run(rosetta, rosetta.env(), &source).await;
}

/// What an SP is configured with about a tenant's IdP (`rosetta tenant show`).
pub struct IdpDetails {
    /// The signing certificate, PEM.
    pub cert_pem: String,
    /// The SSO endpoint.
    pub sso_url: String,
    /// The IdP entity ID.
    pub entity_id: String,
}

/// The IdP details of `tenant`.
pub async fn idp_details(rosetta: &Rosetta, tenant: &str) -> IdpDetails {
    let details = run(rosetta, rosetta.env(), &["tenant", "show", tenant, "--json"]).await;
    let field = |v: &serde_json::Value| {
        v.as_str()
            .unwrap_or_else(|| panic!("tenant show: {details}"))
            .to_owned()
    };
    IdpDetails {
        cert_pem: field(&details["idp"]["certificates"][0]["pem"]),
        sso_url: field(&details["idp"]["sso_url"]),
        entity_id: field(&details["idp"]["entity_id"]),
    }
}

/// Rosetta on `stack` (with a metrics listener) and the rest of the world.
pub async fn world(stack: Stack) -> World {
    let rosetta = start_rosetta(&stack).await;
    world_with(rosetta, stack).await
}

/// The world around an already started Rosetta.
pub async fn world_with(rosetta: Rosetta, stack: Stack) -> World {
    world_with_source(rosetta, stack, &[]).await
}

/// [`world_with`], the source `corp` added with extra options (e.g. `--offline-access`).
pub async fn world_with_source(rosetta: Rosetta, stack: Stack, source_options: &[&str]) -> World {
    let op = OidcProviderConfig {
        accounts: vec![OidcAccount::verified("ada-sub", "ada@acme.example", "Ada", "Lovelace")],
        ..OidcProviderConfig::default()
    };
    world_with_provider(rosetta, stack, op, source_options).await
}

/// [`world_with_source`] with the test OpenID provider started from `op` (shaped like a
/// real provider, e.g. `OidcProviderConfig::entra(tid)`, with its own accounts) plus the
/// client `rosetta` (secret `op-client-secret`, acme's `corp` callback), which is added
/// here. With `source_options` such as `["--preset", "entra"]`.
pub async fn world_with_provider(
    rosetta: Rosetta,
    stack: Stack,
    mut op: OidcProviderConfig,
    source_options: &[&str],
) -> World {
    let env = rosetta.env().to_vec();
    let port = rosetta.port();
    op.clients.push(OidcClient::new(
        "rosetta",
        "op-client-secret",
        &format!("http://acme.localhost:{port}/oidc/callback/corp"),
    ));
    let op = OidcProvider::start(&op).expect("the test OP starts (e2e/peers/install.sh)");
    run(&rosetta, &env, &["tenant", "create", "acme", "--json"]).await;
    run(&rosetta, &env, &["tenant", "create", "globex", "--json"]).await;
    add_corp_source_with(&rosetta, op.issuer(), "op-client-secret", source_options).await;
    let IdpDetails {
        cert_pem: cert,
        sso_url: sso,
        entity_id: idp_entity,
    } = idp_details(&rosetta, "acme").await;

    let mut jira = SamlSpConfig::new("https://jira.example/saml", &sso, &cert);
    jira.idp_issuer = Some(idp_entity.clone());
    let mut wiki = SamlSpConfig::new("https://wiki.example/saml", &sso, &cert);
    wiki.idp_issuer = Some(idp_entity);
    wiki.validate_in_response_to = InResponseTo::IfPresent;
    let jira = SamlSp::start(&jira).unwrap();
    let wiki = SamlSp::start(&wiki).unwrap();
    let add_jira = [
        "sp",
        "add",
        "acme",
        "--name",
        "jira",
        "--preset",
        "atlassian",
        "--entity-id",
        "https://jira.example/saml",
        "--acs-url",
        jira.acs_url(),
        "--json",
    ];
    run(&rosetta, &env, &add_jira).await;
    // The second SP is registered from the metadata it publishes itself.
    let metadata = reqwest::get(wiki.url("/metadata")).await.unwrap().text().await.unwrap();
    let metadata_file = rosetta.data_dir().join("wiki-metadata.xml");
    std::fs::write(&metadata_file, metadata).unwrap();
    run(
        &rosetta,
        &env,
        &[
            "sp",
            "add",
            "acme",
            "--name",
            "wiki",
            "--metadata",
            metadata_file.to_str().unwrap(),
            "--json",
        ],
    )
    .await;
    World {
        rosetta,
        op,
        jira,
        wiki,
        stack,
    }
}
