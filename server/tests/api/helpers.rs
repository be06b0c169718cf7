//! `spawn_app()`: the application on a random port with its own database and store.

use std::net::TcpListener;

use actix_web::web;
use reqwest::header::HOST;
use rosetta::configuration::Settings;
use rosetta::domain::{DisplayName, TenantSlug};
use rosetta::services::tenants;
use rosetta::startup::Application;
use rosetta::state::AppState;
use rosetta_e2e::Stack;
use secrecy::SecretString;
use tempfile::TempDir;

/// Runs one async test body against the embedded stack and, when configured, against
/// PostgreSQL + Redis: `both_stacks!(name, |stack| async move { ... })`.
macro_rules! both_stacks {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite_memory() {
                ($body)(rosetta_e2e::Stack::embedded()).await;
            }

            #[tokio::test]
            async fn postgres_redis() {
                if let Some(stack) = rosetta_e2e::Stack::external().await {
                    ($body)(stack).await;
                }
            }
        }
    };
}
pub(crate) use both_stacks;

/// Entity ID and ACS URL of an Atlassian-shaped service provider (ACS with a query string).
pub const SP: &str = "https://auth.atlassian.com/saml/2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90";
pub const ACS: &str = "https://auth.atlassian.com/login/callback?connection=saml-2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90";

/// Registers the Atlassian-shaped SP (`SP`, `ACS`) as `jira` at the tenant.
pub async fn add_atlassian_sp(app: &TestApp, tenant_id: uuid::Uuid) {
    use rosetta::domain::{AcsUrl, EntityId, Handle};
    use rosetta::services::service_providers::{self, NewAcs, NewServiceProvider, Preset};
    let sp = NewServiceProvider {
        name: Handle::parse("jira").unwrap(),
        preset: Preset::Atlassian,
        entity_id: EntityId::parse(SP).unwrap(),
        acs: NewAcs::in_order(vec![AcsUrl::parse(ACS, false).unwrap()]),
        name_id_format: None,
        want_requests_signed: false,
        request_signing_certs: vec![],
    };
    service_providers::create(&app.state.db, tenant_id, sp).await.unwrap();
}

/// A running application and what a test needs to talk to it.
pub struct TestApp {
    pub port: u16,
    pub metrics: Option<std::net::SocketAddr>,
    pub state: web::Data<AppState>,
    pub client: reqwest::Client,
    _stack: Option<Stack>,
    _dir: Option<TempDir>,
}

/// Settings for `stack` in a fresh data directory, public at `http://localhost:<port>`.
pub fn settings_for(stack: &Stack, dir: &TempDir, port: u16) -> Settings {
    let mut settings = Settings::for_tests(dir.path());
    settings.server.public_url = format!("http://localhost:{port}").parse().unwrap();
    settings.database.url = Some(SecretString::from(stack.database.url().to_owned()));
    if let Some(redis) = &stack.redis {
        settings.store.redis_url = Some(SecretString::from(redis.url().to_owned()));
        settings.store.prefix = redis.prefix().to_owned();
    }
    settings
}

/// Starts the app on `stack` with default test settings.
pub async fn spawn_app(stack: Stack) -> TestApp {
    spawn_app_with(stack, |_| {}).await
}

/// Starts the app on `stack` after `tweak` adjusts the settings.
pub async fn spawn_app_with(stack: Stack, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut settings = settings_for(&stack, &dir, port);
    tweak(&mut settings);
    let app = Application::build_with_listeners(settings, vec![listener])
        .await
        .expect("application builds");
    let state = app.state();
    let metrics = app.metrics_address();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        port,
        metrics,
        state,
        client,
        _stack: Some(stack),
        _dir: Some(dir),
    }
}

/// A second replica of `first`'s deployment: the same database, store, data directory and
/// master key, its own port. Drop it before `first` (which owns the database).
pub async fn spawn_replica(first: &TestApp) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut settings = first.state.settings.clone();
    settings.server.public_url = format!("http://localhost:{port}").parse().unwrap();
    let app = Application::build_with_listeners(settings, vec![listener])
        .await
        .expect("the replica builds");
    let state = app.state();
    let metrics = app.metrics_address();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        port,
        metrics,
        state,
        client: first.client.clone(),
        _stack: None,
        _dir: None,
    }
}

impl TestApp {
    /// GET `path` with the given Host header (`{port}` is replaced by the app's port).
    pub async fn get(&self, host: &str, path: &str) -> reqwest::Response {
        self.get_with(host, path, &[]).await
    }

    /// GET with extra headers.
    pub async fn get_with(&self, host: &str, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self
            .client
            .get(format!("http://127.0.0.1:{}{path}", self.port))
            .header(HOST, host.replace("{port}", &self.port.to_string()));
        for (k, v) in headers {
            req = req.header(*k, v.replace("{port}", &self.port.to_string()));
        }
        req.send().await.expect("request sent")
    }

    /// Creates a tenant through the service layer.
    pub async fn create_tenant(&self, slug: &str, name: &str) -> rosetta_entity::tenant::Model {
        let state = &self.state;
        let (slug, name) = (TenantSlug::parse(slug).unwrap(), DisplayName::parse(name).unwrap());
        tenants::create(&state.db, &state.keyring, &state.hosts, &slug, &name)
            .await
            .unwrap()
    }
}
