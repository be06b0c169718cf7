//! An application you can build, ask for its port, and run.

use std::net::{SocketAddr, TcpListener};

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use crate::configuration::Settings;
use crate::middleware::{resolve_site, trace_requests};
use crate::routes;
use crate::state::AppState;

/// A bound, not yet running server.
pub struct Application {
    addresses: Vec<SocketAddr>,
    server: Server,
    metrics: Option<(SocketAddr, Server)>,
    state: web::Data<AppState>,
}

impl Application {
    /// Opens every dependency, applies migrations and binds the listen address(es).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listeners = bind(&settings)?;
        Self::build_with_listeners(settings, listeners).await
    }

    /// Like [`Application::build`], on sockets the caller bound (tests bind port 0 first
    /// so the public URL can name the port).
    pub async fn build_with_listeners(settings: Settings, listeners: Vec<TcpListener>) -> anyhow::Result<Self> {
        let state = web::Data::new(AppState::init(settings).await?);
        if !state.settings.server.console_dir.join("index.html").is_file() {
            let dir = state.settings.server.console_dir.display();
            tracing::warn!(%dir, "console not built (run `make console`); serving a placeholder page");
        }
        // The provisioning worker of this replica (SCIM pushes, off every response path).
        crate::provisioning::spawn(state.clone().into_inner());
        // Liveness, inactivity and key-expiry runs (one replica per tenant and run).
        crate::lifecycle::spawn(state.clone().into_inner());
        let addresses = listeners.iter().filter_map(|l| l.local_addr().ok()).collect();
        let app_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(web::PayloadConfig::new(256 * 1024))
                .app_data(web::FormConfig::default().limit(256 * 1024))
                .configure(routes::configure(&app_state.settings))
                .wrap(from_fn(resolve_site))
                .wrap(from_fn(trace_requests))
        })
        .shutdown_timeout(30)
        .client_request_timeout(std::time::Duration::from_secs(10));
        if state.settings.server.workers > 0 {
            server = server.workers(state.settings.server.workers);
        }
        for listener in listeners {
            server = server.listen(listener)?;
        }
        let metrics = match &state.settings.telemetry.metrics_listen {
            Some(listen) => Some(metrics_server(listen, state.clone())?),
            None => None,
        };
        Ok(Self {
            addresses,
            server: server.run(),
            metrics,
            state,
        })
    }

    /// The port of the first bound address (tests bind port 0).
    pub fn port(&self) -> u16 {
        self.addresses.first().map_or(0, SocketAddr::port)
    }

    /// Every bound address.
    pub fn addresses(&self) -> &[SocketAddr] {
        &self.addresses
    }

    /// The shared state (for tests that inspect the database or store).
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// The address of the metrics listener, when configured.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(addr, _)| *addr)
    }

    /// Serves until the process is asked to stop (SIGINT/SIGTERM), then drains, and writes
    /// the login events still queued for the audit log.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = match self.metrics {
            Some((_, metrics)) => {
                let (main, metrics) = tokio::join!(self.server, metrics);
                main.and(metrics)
            }
            None => self.server.await,
        };
        self.state.audit.flush().await;
        self.state.traces.flush().await;
        result
    }
}

/// Binds every address `listen` resolves to. An address family the machine lacks (no IPv6
/// loopback, say) is skipped as long as one address binds.
fn bind(settings: &Settings) -> anyhow::Result<Vec<TcpListener>> {
    let addrs = settings
        .listen_addrs()
        .with_context(|| format!("resolving listen address `{}`", settings.server.listen))?;
    let mut listeners = Vec::new();
    let mut last_error = None;
    for addr in addrs {
        match TcpListener::bind(addr) {
            Ok(l) => listeners.push(l),
            Err(e) => {
                tracing::warn!(%addr, error = %e, "cannot listen on this address");
                last_error = Some((addr, e));
            }
        }
    }
    if listeners.is_empty()
        && let Some((addr, e)) = last_error
    {
        return Err(e).with_context(|| format!("cannot listen on {addr} (setting `listen`)"));
    }
    Ok(listeners)
}

/// `GET /metrics` on its own listener, one worker: scrapes are rare and cheap.
fn metrics_server(listen: &str, state: web::Data<AppState>) -> anyhow::Result<(SocketAddr, Server)> {
    let listener =
        TcpListener::bind(listen).with_context(|| format!("cannot listen on {listen} (setting `metrics_listen`)"))?;
    let addr = listener.local_addr()?;
    let server = HttpServer::new(move || {
        App::new().app_data(state.clone()).route(
            "/metrics",
            web::get().to(|state: web::Data<AppState>| async move {
                match state.store.count_kind("pending").await {
                    Ok(n) => state.metrics.pending_logins.set(i64::try_from(n).unwrap_or(i64::MAX)),
                    Err(e) => tracing::warn!(error = %e, "counting pending logins failed"),
                }
                if let Err(e) = crate::lifecycle::update_certificate_gauge(&state).await {
                    tracing::warn!(error = %e, "reading the signing certificates' expiry failed");
                }
                actix_web::HttpResponse::Ok()
                    .content_type("text/plain; version=0.0.4; charset=utf-8")
                    .body(state.metrics.render())
            }),
        )
    })
    .workers(1)
    .shutdown_timeout(5)
    .listen(listener)?
    .run();
    Ok((addr, server))
}
