//! What every handler shares: configuration, database, session store, keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::configuration::Settings;
use crate::crypto::{Keyring, MasterKey};
use crate::db;
use crate::oidc::OidcRp;
use crate::saml::keys::SigningKey;
use crate::services::{ServiceError, signing_keys};
use crate::store::{MemoryStore, RedisStore, SharedStore};
use crate::tenancy::HostRouter;

/// Shared application state (held in `web::Data`, so cloned as an `Arc`).
pub struct AppState {
    /// Prometheus metrics.
    pub metrics: crate::metrics::Metrics,
    /// The OIDC relying party (HTTP client, discovery and JWKS caches).
    pub oidc: OidcRp,
    /// Requests made for tenants (SP metadata URLs...), within the outbound policy.
    pub outbound: crate::outbound::Outbound,
    /// SSO requests per client address and minute (this replica's count).
    pub starts_per_address: crate::services::rate_limit::LocalLimiter,
    /// SSO requests per tenant and minute (this replica's count).
    pub starts_per_tenant: crate::services::rate_limit::LocalLimiter,
    /// Parsed signing keys by key row ID, so signing never re-reads key material.
    keys: Mutex<HashMap<Uuid, Arc<SigningKey>>>,
    /// The configuration in force.
    pub settings: Settings,
    /// The database pool.
    pub db: DatabaseConnection,
    /// The session store.
    pub store: SharedStore,
    /// Master keys for secrets at rest.
    pub keyring: Keyring,
    /// Host → site classification.
    pub hosts: HostRouter,
    /// Outgoing email (SMTP or the outbox).
    pub mailer: crate::mail::Mailer,
    /// Tenant, SP, source and key configuration read on every login.
    pub config: crate::config_cache::ConfigCache,
    /// Login events, written in batches off the response path.
    pub audit: crate::services::audit::AuditWriter,
    /// The login debugger's traces, written off the response path.
    pub traces: crate::services::login_traces::TraceWriter,
}

impl AppState {
    /// Opens the database (applying migrations), the session store and the master key.
    pub async fn init(settings: Settings) -> anyhow::Result<Self> {
        let keyring = load_keyring(&settings)?;
        let db = db::connect_migrated(&settings.database_url(), settings.database.max_connections)
            .await
            .context("connecting to the database (setting `database_url`) and applying its migrations")?;
        let store = open_store(&settings).await?;
        let hosts = HostRouter::new(&settings.server.public_url);
        let timeout = std::time::Duration::from_secs(settings.server.upstream_timeout_secs);
        let policy = crate::outbound::Policy {
            dev: hosts.dev_mode(),
            allowed: settings.server.outbound_allowed_ranges.clone(),
        };
        let outbound = crate::outbound::Outbound::new(policy.clone()).context("building the outbound HTTP client")?;
        let oidc = OidcRp::with_settings(crate::oidc::RpSettings {
            http_timeout: timeout,
            connect_timeout: timeout.min(std::time::Duration::from_secs(5)),
            policy,
            graph_url: settings.server.microsoft_graph_url.to_string(),
            ..crate::oidc::RpSettings::default()
        })
        .context("building the OIDC client")?;
        let metrics = crate::metrics::Metrics::new().context("registering metrics")?;
        let mailer = crate::mail::Mailer::from_settings(&settings).context("setting up outgoing email")?;
        let config = crate::config_cache::ConfigCache::new(std::time::Duration::from_secs(
            settings.server.config_cache_ttl_secs,
        ));
        let store: crate::store::SharedStore = Arc::new(crate::store::MeteredStore::new(
            store,
            metrics.store_duration.clone(),
            metrics.store_errors.clone(),
        ));
        let writer = db::connect_writer(&settings.database_url(), &db)
            .await
            .context("connecting the writers to the database (setting `database_url`)")?;
        let audit = crate::services::audit::AuditWriter::spawn(writer.clone());
        let traces = crate::services::login_traces::TraceWriter::spawn(writer, settings.server.login_trace_max);
        Ok(Self {
            starts_per_address: crate::services::rate_limit::LocalLimiter::new(
                settings.server.login_starts_per_address,
                100_000,
            ),
            starts_per_tenant: crate::services::rate_limit::LocalLimiter::new(
                settings.server.login_starts_per_tenant,
                100_000,
            ),
            outbound,
            audit,
            traces,
            metrics,
            oidc,
            keys: Mutex::new(HashMap::new()),
            settings,
            db,
            store,
            keyring,
            hosts,
            mailer,
            config,
        })
    }

    /// The tenant's active signing key, parsed once per key and cached.
    pub async fn signing_key(&self, tenant_id: Uuid) -> Result<Arc<SigningKey>, ServiceError> {
        let row = self.config.active_key(&self.db, tenant_id).await?;
        if let Some(key) = self.keys.lock().unwrap_or_else(|p| p.into_inner()).get(&row.id) {
            return Ok(key.clone());
        }
        let key = Arc::new(signing_keys::unseal(&self.keyring, &row)?);
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(row.id, key.clone());
        Ok(key)
    }
}

/// Opens the configured database without migrating it.
pub async fn open_database(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    db::connect(&settings.database_url(), settings.database.max_connections)
        .await
        .context("connecting to the database (setting `database_url`)")
}

/// Opens Redis when configured, else the in-process store.
pub async fn open_store(settings: &Settings) -> anyhow::Result<SharedStore> {
    Ok(match &settings.store.redis_url {
        Some(url) => Arc::new(
            RedisStore::connect(url.expose_secret(), &settings.store.prefix)
                .await
                .context("connecting to Redis (setting `redis_url`)")?,
        ),
        None => Arc::new(MemoryStore::with_budget(
            settings.store.max_entries,
            settings.store.max_bytes,
        )),
    })
}

/// The configured master key, or the key file (created on first start).
pub fn load_keyring(settings: &Settings) -> anyhow::Result<Keyring> {
    let primary = match &settings.keys.master_key {
        Some(key) => MasterKey::from_base64(key.expose_secret()).context("setting `master_key`")?,
        None => MasterKey::load_or_create(&settings.master_key_path())?,
    };
    let previous = settings
        .keys
        .previous_master_keys
        .iter()
        .map(|k| MasterKey::from_base64(k.expose_secret()))
        .collect::<Result<Vec<_>, _>>()
        .context("setting `previous_master_keys`")?;
    Ok(Keyring::new(primary, previous))
}
