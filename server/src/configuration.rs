//! Layered configuration: built-in defaults, then an optional TOML file, then `ROSETTA_*`
//! environment variables. Invalid configuration stops start-up with one line naming the
//! setting.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use url::Url;

/// Environment variable prefix of every setting.
pub const ENV_PREFIX: &str = "ROSETTA_";

/// Every setting's name, as in files; `ROSETTA_<NAME>` in the environment.
pub const SETTING_NAMES: &[&str] = &[
    "public_url",
    "listen",
    "data_dir",
    "database_url",
    "database_max_connections",
    "redis_url",
    "store_prefix",
    "store_max_entries",
    "store_max_bytes",
    "config_cache_ttl_secs",
    "upstream_timeout_secs",
    "provisioning_poll_ms",
    "microsoft_graph_url",
    "workers",
    "smtp_url",
    "mail_from",
    "master_key",
    "master_key_file",
    "previous_master_keys",
    "trusted_proxies",
    "outbound_allowed_ranges",
    "dns_nameservers",
    "login_starts_per_address",
    "login_starts_per_tenant",
    "login_trace_days",
    "login_trace_max",
    "log_format",
    "console_dir",
    "clustered",
    "metrics_listen",
];

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Every setting of the server, grouped by concern. Files and the environment name them
/// flat (`database_url`, `ROSETTA_STORE_PREFIX`...; the README lists them): each field's
/// documentation gives that name. Secrets are typed so they never reach `Debug` or logs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Addresses, workers, proxies, the console and the data directory.
    pub server: ServerSettings,
    /// The database.
    pub database: DatabaseSettings,
    /// The session store.
    pub store: StoreSettings,
    /// Outgoing email.
    pub mail: MailSettings,
    /// Master keys for secrets at rest.
    pub keys: KeySettings,
    /// Logs and metrics.
    pub telemetry: TelemetrySettings,
}

/// Where and how the server serves.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// `public_url`: the console lives here, tenants at `<slug>.<host>`.
    pub public_url: Url,
    /// `listen`: address to listen on (`host:port`; every address the host resolves to is
    /// bound).
    pub listen: String,
    /// `workers`: HTTP worker threads; 0: one per CPU the process may use (its cgroup quota
    /// counts).
    pub workers: usize,
    /// `trusted_proxies`: peers whose `X-Forwarded-*` headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// `outbound_allowed_ranges`: private ranges that requests made for tenants (discovery,
    /// keys, token, userinfo, metadata URLs) may reach besides public addresses, for
    /// on-premises providers; empty by default (`outbound`).
    pub outbound_allowed_ranges: Vec<IpNet>,
    /// `dns_nameservers`: nameservers (`ip:port`) that look up the TXT records proving a
    /// tenant owns an email domain; empty: the system's (`/etc/resolv.conf`), and in dev
    /// mode no lookup at all (a domain is proved on request).
    pub dns_nameservers: Vec<std::net::SocketAddr>,
    /// `console_dir`: the built console (`index.html` and assets).
    pub console_dir: PathBuf,
    /// `clustered`: several replicas may run; the in-process store and SQLite are refused.
    pub clustered: bool,
    /// `data_dir`: the embedded database, key file and written emails.
    pub data_dir: PathBuf,
    /// `config_cache_ttl_secs`: how long a replica keeps tenant, SP, source and key
    /// configuration in memory; 0 turns the cache off.
    pub config_cache_ttl_secs: u64,
    /// `upstream_timeout_secs`: longest wait for one call to an identity provider.
    pub upstream_timeout_secs: u64,
    /// `provisioning_poll_ms`: how often a replica looks for due provisioning pushes.
    pub provisioning_poll_ms: u64,
    /// `microsoft_graph_url`: where Entra ID group overages are read (Microsoft Graph).
    pub microsoft_graph_url: Url,
    /// `login_starts_per_address`: SSO requests (SP- or IdP-initiated) one client address may
    /// make per minute on one replica; more answer 429.
    pub login_starts_per_address: u64,
    /// `login_starts_per_tenant`: SSO requests one tenant may receive per minute on one
    /// replica; more answer 429.
    pub login_starts_per_tenant: u64,
    /// `login_trace_days`: how long the login debugger keeps a login's trace (1 to 90).
    pub login_trace_days: u32,
    /// `login_trace_max`: most traces kept per tenant; the oldest go first (10 to 100000).
    pub login_trace_max: u64,
}

/// The database.
#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    /// `database_url`; default: an SQLite file in the data directory
    /// ([`Settings::database_url`]).
    pub url: Option<SecretString>,
    /// `database_max_connections`: largest number of pooled connections.
    pub max_connections: u32,
}

/// The session store.
#[derive(Clone, Debug)]
pub struct StoreSettings {
    /// `redis_url`; default: the in-process store.
    pub redis_url: Option<SecretString>,
    /// `store_prefix`: prefix of every Redis key.
    pub prefix: String,
    /// `store_max_entries`: entry cap of the in-process store.
    pub max_entries: usize,
    /// `store_max_bytes`: byte budget of the in-process store.
    pub max_bytes: usize,
}

/// Outgoing email.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// `smtp_url`; default: emails are written to the data directory.
    pub smtp_url: Option<SecretString>,
    /// `mail_from`: sender of every email.
    pub from: String,
}

/// Master keys for secrets at rest.
#[derive(Clone, Debug)]
pub struct KeySettings {
    /// `master_key`: base64 of 32 bytes.
    pub master_key: Option<SecretString>,
    /// `master_key_file`: default `<data_dir>/master.key`, created on first start.
    pub master_key_file: Option<PathBuf>,
    /// `previous_master_keys`: older keys that still open secrets sealed before a rotation.
    pub previous_master_keys: Vec<SecretString>,
}

/// Logs and metrics.
#[derive(Clone, Debug)]
pub struct TelemetrySettings {
    /// `log_format`: `text` or `json`.
    pub log_format: LogFormat,
    /// `metrics_listen`: address of the Prometheus `/metrics` listener; none by default.
    pub metrics_listen: Option<String>,
}

impl From<Raw> for Settings {
    fn from(r: Raw) -> Self {
        Self {
            server: ServerSettings {
                public_url: r.public_url,
                listen: r.listen,
                workers: r.workers,
                trusted_proxies: r.trusted_proxies,
                outbound_allowed_ranges: r.outbound_allowed_ranges,
                dns_nameservers: r.dns_nameservers,
                console_dir: r.console_dir,
                clustered: r.clustered,
                data_dir: r.data_dir,
                config_cache_ttl_secs: r.config_cache_ttl_secs,
                upstream_timeout_secs: r.upstream_timeout_secs,
                provisioning_poll_ms: r.provisioning_poll_ms,
                microsoft_graph_url: r.microsoft_graph_url,
                login_starts_per_address: r.login_starts_per_address,
                login_starts_per_tenant: r.login_starts_per_tenant,
                login_trace_days: r.login_trace_days,
                login_trace_max: r.login_trace_max,
            },
            database: DatabaseSettings {
                url: r.database_url,
                max_connections: r.database_max_connections,
            },
            store: StoreSettings {
                redis_url: r.redis_url,
                prefix: r.store_prefix,
                max_entries: r.store_max_entries,
                max_bytes: r.store_max_bytes,
            },
            mail: MailSettings {
                smtp_url: r.smtp_url,
                from: r.mail_from,
            },
            keys: KeySettings {
                master_key: r.master_key,
                master_key_file: r.master_key_file,
                previous_master_keys: r.previous_master_keys,
            },
            telemetry: TelemetrySettings {
                log_format: r.log_format,
                metrics_listen: r.metrics_listen,
            },
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Raw::default().into()
    }
}

/// The settings as files and the environment name them: one flat list, read with serde so
/// that an error names the setting and an unknown name is refused; then grouped into
/// [`Settings`].
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Raw {
    /// Public base URL: the console lives here, tenants at `<slug>.<host>`.
    public_url: Url,
    /// Address to listen on (`host:port`; every address the host resolves to is bound).
    listen: String,
    /// Directory of the embedded database, key file and written emails.
    data_dir: PathBuf,
    /// Database URL; default: an SQLite file in the data directory.
    database_url: Option<SecretString>,
    /// Largest number of pooled database connections.
    database_max_connections: u32,
    /// Redis URL; default: the in-process session store.
    redis_url: Option<SecretString>,
    /// Prefix of every session-store key (lets several deployments share one Redis).
    store_prefix: String,
    /// Entry cap of the in-process store; writes beyond it fail closed.
    store_max_entries: usize,
    /// Byte budget of the in-process store (keys, values, bookkeeping); writes beyond it
    /// fail closed.
    store_max_bytes: usize,
    /// How long a replica keeps tenant, SP, source and key configuration in memory before
    /// reading it again (changes made through this replica's API apply at once); 0 turns
    /// the cache off.
    config_cache_ttl_secs: u64,
    /// Longest wait for one call to an identity provider (discovery, JWKS, token,
    /// userinfo); a slow or silent provider fails the login with a retry page after this.
    upstream_timeout_secs: u64,
    /// How often a replica looks for due provisioning pushes (SCIM), in milliseconds; a
    /// push waits at most this long after the login or block that queued it.
    provisioning_poll_ms: u64,
    /// Microsoft Graph's base URL, where an Entra ID source's group overage is read (the
    /// national clouds have their own); tests point it at a stand-in.
    microsoft_graph_url: Url,
    /// HTTP worker threads; 0: one per CPU the process may use (its cgroup quota counts).
    workers: usize,
    /// SMTP URL (`smtp://`, `smtps://`); default: emails are written to the data directory.
    smtp_url: Option<SecretString>,
    /// Sender of every email, e.g. `Rosetta <no-reply@rosetta.example.com>`.
    mail_from: String,
    /// Master key (base64 of 32 bytes) encrypting secrets at rest.
    master_key: Option<SecretString>,
    /// File holding the master key; default: `<data_dir>/master.key`, created on first start.
    master_key_file: Option<PathBuf>,
    /// Older master keys (base64, comma-separated) that still open secrets sealed before a
    /// rotation; `rosetta rekey` re-seals everything under the current key.
    #[serde(deserialize_with = "list_of_secrets")]
    previous_master_keys: Vec<SecretString>,
    /// Peers whose `X-Forwarded-*` headers are believed (addresses or CIDR ranges).
    #[serde(deserialize_with = "list_of_nets")]
    trusted_proxies: Vec<IpNet>,
    /// Private ranges outbound requests for tenants may reach (addresses or CIDR ranges).
    #[serde(deserialize_with = "list_of_nets")]
    outbound_allowed_ranges: Vec<IpNet>,
    /// Nameservers for domain-ownership lookups (`ip:port` or `ip`, comma-separated).
    #[serde(deserialize_with = "list_of_nameservers")]
    dns_nameservers: Vec<std::net::SocketAddr>,
    /// SSO requests per client address and minute, per replica.
    login_starts_per_address: u64,
    /// SSO requests per tenant and minute, per replica.
    login_starts_per_tenant: u64,
    /// Days a login trace is kept.
    login_trace_days: u32,
    /// Traces kept per tenant.
    login_trace_max: u64,
    /// `text` or `json`.
    log_format: LogFormat,
    /// Directory of the built console (`index.html` and assets).
    console_dir: PathBuf,
    /// Several replicas may run (Kubernetes): the in-process store and SQLite, which each
    /// replica would keep to itself, are refused at start-up.
    clustered: bool,
    /// Address of the Prometheus `/metrics` listener (e.g. `0.0.0.0:9090`); none by default.
    metrics_listen: Option<String>,
}

impl Default for Raw {
    fn default() -> Self {
        Self {
            public_url: Url::parse("http://localhost:8080").unwrap_or_else(|_| unreachable_url()),
            listen: "localhost:8080".into(),
            data_dir: PathBuf::from("data"),
            database_url: None,
            database_max_connections: 10,
            redis_url: None,
            store_prefix: "rosetta".into(),
            store_max_entries: 200_000,
            store_max_bytes: 128 * 1024 * 1024,
            config_cache_ttl_secs: 5,
            upstream_timeout_secs: 10,
            provisioning_poll_ms: 1000,
            microsoft_graph_url: Url::parse("https://graph.microsoft.com").unwrap_or_else(|_| unreachable_url()),
            workers: 0,
            smtp_url: None,
            mail_from: "Rosetta <no-reply@localhost>".into(),
            master_key: None,
            master_key_file: None,
            previous_master_keys: Vec::new(),
            trusted_proxies: Vec::new(),
            outbound_allowed_ranges: Vec::new(),
            dns_nameservers: Vec::new(),
            login_starts_per_address: 600,
            login_starts_per_tenant: 6000,
            login_trace_days: 7,
            login_trace_max: 5000,
            log_format: LogFormat::Text,
            console_dir: PathBuf::from("console/dist"),
            clustered: false,
            metrics_listen: None,
        }
    }
}

// `Url::parse` of a literal cannot fail; this keeps `Default` free of `unwrap`.
#[allow(clippy::panic)]
fn unreachable_url() -> Url {
    panic!("built-in default URL does not parse")
}

/// A configuration problem, naming the setting it concerns.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: setting `{setting}` ({env}): {reason}")]
pub struct ConfigError {
    /// The setting's name in files.
    pub setting: String,
    /// The setting's environment variable.
    pub env: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    fn new(setting: &str, reason: impl Into<String>) -> Self {
        Self {
            setting: setting.to_owned(),
            env: format!("{ENV_PREFIX}{}", setting.to_ascii_uppercase()),
            reason: reason.into(),
        }
    }
}

impl Settings {
    /// Loads defaults, then `file` if given, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        // Only known names: platforms inject variables of their own under the same prefix
        // (Kubernetes adds ROSETTA_PORT for a Service named rosetta). Typos are reported
        // by `unknown_env_vars` instead of stopping start-up.
        let env = Env::prefixed(ENV_PREFIX).filter(|key| SETTING_NAMES.iter().any(|name| key == *name));
        Self::from_figment(Self::figment(file).merge(env))
    }

    /// `ROSETTA_*` variables in the environment that name no setting (likely typos).
    pub fn unknown_env_vars() -> Vec<String> {
        std::env::vars()
            .filter_map(|(key, _)| {
                let name = key.strip_prefix(ENV_PREFIX)?.to_ascii_lowercase();
                (!SETTING_NAMES.contains(&name.as_str()) && name != "config").then_some(key)
            })
            .collect()
    }

    fn figment(file: Option<&Path>) -> Figment {
        let mut figment = Figment::new();
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Raw = figment.extract().map_err(|e| {
            let setting = e.path.join(".");
            let setting = if setting.is_empty() {
                "(file)".to_owned()
            } else {
                setting
            };
            let source = e
                .metadata
                .as_ref()
                .and_then(|m| m.source.as_ref())
                .map(|s| format!(" (from {s})"))
                .unwrap_or_default();
            ConfigError::new(&setting, format!("{}{source}", e.kind))
        })?;
        let settings = Settings::from(settings);
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what serde cannot: URL shapes, ranges, resolvable addresses.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = &self.server.public_url;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::new("public_url", "must be an http or https URL"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ConfigError::new("public_url", "must name a host"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::new(
                "public_url",
                "must be a bare origin like https://rosetta.example.com (no path, query or fragment)",
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ConfigError::new("public_url", "must not contain credentials"));
        }
        if self.listen_addrs().is_err() {
            return Err(ConfigError::new(
                "listen",
                format!("`{}` is not a host:port that resolves", self.server.listen),
            ));
        }
        if self.server.clustered && self.store.redis_url.is_none() {
            return Err(ConfigError::new(
                "redis_url",
                "is required when clustered: replicas cannot share the in-process store",
            ));
        }
        if self.server.clustered
            && !self
                .database
                .url
                .as_ref()
                .is_some_and(|u| u.expose_secret().starts_with("postgres"))
        {
            return Err(ConfigError::new(
                "database_url",
                "must be a PostgreSQL URL when clustered: replicas cannot share an SQLite file",
            ));
        }
        if let Some(addr) = &self.telemetry.metrics_listen
            && addr.to_socket_addrs().map(|mut a| a.next().is_none()).unwrap_or(true)
        {
            return Err(ConfigError::new(
                "metrics_listen",
                format!("`{addr}` is not a host:port that resolves"),
            ));
        }
        if self.server.login_starts_per_address == 0 {
            return Err(ConfigError::new("login_starts_per_address", "must be at least 1"));
        }
        if self.server.login_starts_per_tenant == 0 {
            return Err(ConfigError::new("login_starts_per_tenant", "must be at least 1"));
        }
        if !(1..=90).contains(&self.server.login_trace_days) {
            return Err(ConfigError::new("login_trace_days", "must be between 1 and 90"));
        }
        if !(10..=100_000).contains(&self.server.login_trace_max) {
            return Err(ConfigError::new("login_trace_max", "must be between 10 and 100000"));
        }
        if self.store.max_entries == 0 {
            return Err(ConfigError::new("store_max_entries", "must be at least 1"));
        }
        if self.store.max_bytes < 1024 * 1024 {
            return Err(ConfigError::new("store_max_bytes", "must be at least 1048576 (1 MiB)"));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::new("database_max_connections", "must be at least 1"));
        }
        if !(1..=120).contains(&self.server.upstream_timeout_secs) {
            return Err(ConfigError::new("upstream_timeout_secs", "must be between 1 and 120"));
        }
        if !matches!(self.server.microsoft_graph_url.scheme(), "https" | "http") {
            return Err(ConfigError::new("microsoft_graph_url", "must be an https URL"));
        }
        if !(10..=60_000).contains(&self.server.provisioning_poll_ms) {
            return Err(ConfigError::new("provisioning_poll_ms", "must be between 10 and 60000"));
        }
        if self.server.workers > 1024 {
            return Err(ConfigError::new("workers", "must be between 0 (one per CPU) and 1024"));
        }
        if self.store.prefix.is_empty() || self.store.prefix.contains(char::is_whitespace) {
            return Err(ConfigError::new(
                "store_prefix",
                "must be non-empty, without white space",
            ));
        }
        if let Some(db) = &self.database.url {
            let db = db.expose_secret();
            if !(db.starts_with("sqlite:") || db.starts_with("postgres://") || db.starts_with("postgresql://")) {
                return Err(ConfigError::new(
                    "database_url",
                    "must start with sqlite:, postgres:// or postgresql://",
                ));
            }
        }
        if let Some(redis) = &self.store.redis_url
            && !redis.expose_secret().starts_with("redis+sentinel://")
        {
            let parsed =
                Url::parse(redis.expose_secret()).map_err(|_| ConfigError::new("redis_url", "is not a URL"))?;
            if !matches!(parsed.scheme(), "redis" | "rediss" | "redis+unix" | "unix") {
                return Err(ConfigError::new(
                    "redis_url",
                    "must be a redis://, rediss:// or redis+sentinel:// URL",
                ));
            }
        }
        if lettre::message::Mailbox::from_str(&self.mail.from).is_err() {
            return Err(ConfigError::new(
                "mail_from",
                "must be an address like `Rosetta <no-reply@example.com>`",
            ));
        }
        if let Some(smtp) = &self.mail.smtp_url {
            let parsed = Url::parse(smtp.expose_secret()).map_err(|_| ConfigError::new("smtp_url", "is not a URL"))?;
            if !matches!(parsed.scheme(), "smtp" | "smtps") {
                return Err(ConfigError::new("smtp_url", "must be an smtp:// or smtps:// URL"));
            }
        }
        Ok(())
    }

    /// Every socket address `listen` resolves to.
    pub fn listen_addrs(&self) -> std::io::Result<Vec<SocketAddr>> {
        let addrs: Vec<SocketAddr> = self.server.listen.to_socket_addrs()?.collect();
        if addrs.is_empty() {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address"));
        }
        Ok(addrs)
    }

    /// The database URL in force (the embedded SQLite file unless configured).
    pub fn database_url(&self) -> SecretString {
        match &self.database.url {
            Some(url) => url.clone(),
            None => SecretString::from(format!(
                "sqlite://{}?mode=rwc",
                self.server.data_dir.join("rosetta.db").display()
            )),
        }
    }

    /// Where the master key file is (or will be created).
    pub fn master_key_path(&self) -> PathBuf {
        self.keys
            .master_key_file
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("master.key"))
    }

    /// Where emails are written when no SMTP server is configured.
    pub fn outbox_dir(&self) -> PathBuf {
        self.server.data_dir.join("outbox")
    }

    /// Settings for a test: loopback, a free port, the given data directory.
    pub fn for_tests(data_dir: &Path) -> Self {
        let mut settings = Self::default();
        settings.server.listen = "127.0.0.1:0".into();
        settings.server.data_dir = data_dir.to_path_buf();
        // Tests change configuration behind the API's back and expect it at once.
        settings.server.config_cache_ttl_secs = 0;
        // Pushes follow the change that queued them closely.
        settings.server.provisioning_poll_ms = 50;
        settings
    }
}

/// A TOML list, or a comma-separated string (the form environment variables take), with
/// blank items dropped.
fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let items = match Raw::deserialize(d)? {
        Raw::List(items) => items,
        Raw::Text(text) => text.split(',').map(str::to_owned).collect(),
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}

fn list_of_secrets<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
    Ok(string_list(d)?.into_iter().map(SecretString::from).collect())
}

fn list_of_nets<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    string_list(d)?
        .iter()
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| serde::de::Error::custom(format!("`{s}` is not an IP address or CIDR range")))
        })
        .collect()
}

fn list_of_nameservers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<std::net::SocketAddr>, D::Error> {
    string_list(d)?
        .iter()
        .map(|s| {
            s.parse::<std::net::SocketAddr>()
                .or_else(|_| {
                    s.parse::<std::net::IpAddr>()
                        .map(|ip| std::net::SocketAddr::new(ip, 53))
                })
                .map_err(|_| serde::de::Error::custom(format!("`{s}` is not a nameserver address (`ip` or `ip:port`)")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::Jail;

    /// Runs `check` with the given environment, in a jail that restores it afterwards.
    #[allow(clippy::result_large_err)] // figment's own closure signature
    fn with_env(pairs: &[(&str, &str)], file: Option<&str>, check: impl FnOnce(Result<Settings, ConfigError>)) {
        Jail::expect_with(|jail| {
            for (k, v) in pairs {
                jail.set_env(k, v);
            }
            let path = match file {
                Some(text) => {
                    jail.create_file("rosetta.toml", text)?;
                    Some(PathBuf::from("rosetta.toml"))
                }
                None => None,
            };
            check(Settings::load(path.as_deref()));
            Ok(())
        });
    }

    #[test]
    fn defaults_are_the_embedded_setup() {
        with_env(&[], None, |s| {
            let s = s.unwrap();
            assert_eq!(s.server.public_url.as_str(), "http://localhost:8080/");
            assert_eq!(s.server.listen, "localhost:8080");
            assert!(s.store.redis_url.is_none() && s.mail.smtp_url.is_none());
            assert!(s.database_url().expose_secret().starts_with("sqlite://data/rosetta.db"));
            assert_eq!(s.master_key_path(), PathBuf::from("data/master.key"));
        });
    }

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        let file = "public_url = \"https://sso.example.com\"\nstore_prefix = \"fromfile\"\n";
        with_env(
            &[("ROSETTA_STORE_PREFIX", "fromenv"), ("ROSETTA_CONFIG", "ignored")],
            Some(file),
            |s| {
                let s = s.unwrap();
                assert_eq!(s.server.public_url.as_str(), "https://sso.example.com/");
                assert_eq!(s.store.prefix, "fromenv");
            },
        );
    }

    #[test]
    fn trusted_proxies_accept_a_comma_separated_list() {
        with_env(&[("ROSETTA_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")], None, |s| {
            let s = s.unwrap();
            assert_eq!(s.server.trusted_proxies.len(), 2);
            assert!(s.server.trusted_proxies[1].contains(&"127.0.0.1".parse::<std::net::IpAddr>().unwrap()));
        });
        with_env(&[], Some("trusted_proxies = [\"::1\", \"192.168.0.0/16\"]\n"), |s| {
            assert_eq!(s.unwrap().server.trusted_proxies.len(), 2);
        });
    }

    #[test]
    fn each_error_names_its_setting_and_variable() {
        let cases: &[(&str, &str, &str)] = &[
            ("ROSETTA_PUBLIC_URL", "not a url", "public_url"),
            ("ROSETTA_PUBLIC_URL", "ftp://example.com", "public_url"),
            ("ROSETTA_PUBLIC_URL", "https://example.com/sub", "public_url"),
            ("ROSETTA_LISTEN", "nowhere", "listen"),
            ("ROSETTA_STORE_MAX_ENTRIES", "0", "store_max_entries"),
            ("ROSETTA_STORE_MAX_ENTRIES", "many", "store_max_entries"),
            ("ROSETTA_STORE_MAX_BYTES", "1000", "store_max_bytes"),
            ("ROSETTA_REDIS_URL", "http://x", "redis_url"),
            ("ROSETTA_SMTP_URL", "mailto:x", "smtp_url"),
            ("ROSETTA_DATABASE_URL", "mysql://x", "database_url"),
            ("ROSETTA_TRUSTED_PROXIES", "10.0.0.0/8,bogus", "trusted_proxies"),
            ("ROSETTA_LOG_FORMAT", "xml", "log_format"),
            ("ROSETTA_MAIL_FROM", "not an address", "mail_from"),
            ("ROSETTA_CLUSTERED", "true", "redis_url"),
        ];
        for (key, value, setting) in cases {
            with_env(&[(key, value)], None, |s| {
                let err = s.expect_err(key).to_string();
                assert!(err.contains(&format!("`{setting}`")), "{key}={value}: {err}");
                assert!(err.contains(&setting.to_ascii_uppercase()), "{key}={value}: {err}");
                assert!(!err.contains('\n'), "one line: {err}");
            });
        }
    }

    #[test]
    fn every_listed_name_is_a_setting() {
        let file: String = SETTING_NAMES
            .iter()
            .map(|name| match *name {
                "public_url" | "redis_url" | "smtp_url" | "database_url" | "microsoft_graph_url" => {
                    let url = match *name {
                        "redis_url" => "redis://localhost",
                        "smtp_url" => "smtp://localhost",
                        "database_url" => "sqlite://x.db",
                        _ => "https://sso.example.com",
                    };
                    format!("{name} = \"{url}\"\n")
                }
                "listen" => "listen = \"127.0.0.1:0\"\n".into(),
                "store_max_bytes" => format!("{name} = 2000000\n"),
                "database_max_connections"
                | "login_starts_per_address"
                | "login_starts_per_tenant"
                | "store_max_entries"
                | "config_cache_ttl_secs"
                | "upstream_timeout_secs"
                | "workers" => {
                    format!("{name} = 5\n")
                }
                "provisioning_poll_ms" => format!("{name} = 500\n"),
                "login_trace_days" => format!("{name} = 3\n"),
                "login_trace_max" => format!("{name} = 1000\n"),
                "clustered" => "clustered = false\n".into(),
                "metrics_listen" => "metrics_listen = \"127.0.0.1:0\"\n".into(),
                "trusted_proxies" | "previous_master_keys" | "outbound_allowed_ranges" | "dns_nameservers" => {
                    format!("{name} = []\n")
                }
                "log_format" => "log_format = \"json\"\n".into(),
                "mail_from" => "mail_from = \"a@example.com\"\n".into(),
                _ => format!("{name} = \"x\"\n"),
            })
            .collect();
        with_env(&[], Some(&file), |s| {
            s.unwrap();
        });
    }

    #[test]
    fn unknown_environment_variables_are_reported_not_fatal() {
        with_env(
            &[("ROSETTA_PORT", "tcp://10.0.0.1:80"), ("ROSETTA_PUBLIC_URLL", "x")],
            None,
            |s| {
                assert!(s.is_ok());
                let unknown = Settings::unknown_env_vars();
                assert!(
                    unknown.contains(&"ROSETTA_PORT".to_owned()) && unknown.contains(&"ROSETTA_PUBLIC_URLL".to_owned())
                );
            },
        );
    }

    #[test]
    fn clustered_deployments_need_shared_state() {
        let redis = ("ROSETTA_REDIS_URL", "redis://r:6379");
        with_env(&[("ROSETTA_CLUSTERED", "true"), redis], None, |s| {
            assert!(s.unwrap_err().to_string().contains("`database_url`"));
        });
        with_env(
            &[
                ("ROSETTA_CLUSTERED", "true"),
                redis,
                ("ROSETTA_DATABASE_URL", "sqlite://x.db"),
            ],
            None,
            |s| {
                assert!(s.unwrap_err().to_string().contains("SQLite"));
            },
        );
        with_env(
            &[
                ("ROSETTA_CLUSTERED", "true"),
                redis,
                ("ROSETTA_DATABASE_URL", "postgres://db/rosetta"),
            ],
            None,
            |s| {
                assert!(s.unwrap().server.clustered);
            },
        );
    }

    #[test]
    fn unknown_settings_are_refused() {
        with_env(&[], Some("pubic_url = \"https://typo.example.com\"\n"), |s| {
            let err = s.unwrap_err().to_string();
            assert!(err.contains("pubic_url"), "{err}");
        });
    }

    #[test]
    fn secrets_never_show_in_debug() {
        with_env(
            &[
                ("ROSETTA_MASTER_KEY", "c2VjcmV0LW1hc3Rlci1rZXk="),
                ("ROSETTA_REDIS_URL", "redis://:hunter2@localhost"),
            ],
            None,
            |s| {
                let debug = format!("{:?}", s.unwrap());
                assert!(!debug.contains("hunter2") && !debug.contains("c2VjcmV0"), "{debug}");
            },
        );
    }
}
