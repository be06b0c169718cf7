//! The command line: `serve` (the default), `migrate`, `tenant`. Every command takes
//! `--json` for scripts; errors then come as `{"error": {"code", "message"}}` on stdout.

mod brokering;
mod lifecycle;
mod trace;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::admin::{self, AdminError};
use crate::configuration::Settings;
use crate::domain::{DisplayName, TenantSlug};
use crate::mail::{Delivery, MailError, Mailer, OutgoingEmail};
use crate::services::ServiceError;
use crate::startup::Application;
use crate::state::{AppState, load_keyring, open_database};
use crate::tenancy::HostRouter;
use crate::{db, telemetry};

/// Rosetta: sign in to Atlassian Cloud and other SAML apps with your OpenID Connect provider.
#[derive(Debug, Parser)]
#[command(name = "rosetta", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (TOML); `ROSETTA_*` environment variables override it.
    #[arg(long, global = true, env = "ROSETTA_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (applies pending migrations first).
    Serve,
    /// Manage the database schema.
    Migrate {
        /// Default: apply every pending migration.
        #[command(subcommand)]
        action: Option<MigrateAction>,
    },
    /// Manage tenants.
    Tenant {
        /// Tenant command.
        #[command(subcommand)]
        action: TenantAction,
    },
    /// Manage SAML service providers (Atlassian, generic).
    Sp {
        /// Service provider command.
        #[command(subcommand)]
        action: brokering::SpAction,
    },
    /// Manage upstream OpenID Connect providers.
    Source {
        /// Identity source command.
        #[command(subcommand)]
        action: brokering::SourceAction,
    },
    /// Rotate a tenant's SAML signing key (publish next, then promote).
    Key {
        /// Key command.
        #[command(subcommand)]
        action: brokering::KeyAction,
    },
    /// Provision a service provider's users over SCIM (Atlassian: user provisioning).
    Provisioning {
        /// Provisioning command.
        #[command(subcommand)]
        action: lifecycle::ProvisioningAction,
    },
    /// Lifecycle runs: who is gone (refresh tokens, inactivity), expiring keys.
    Lifecycle {
        /// Lifecycle command.
        #[command(subcommand)]
        action: lifecycle::LifecycleAction,
    },
    /// The login debugger: login traces, support bundles, Test login, go-live checklist.
    Trace {
        /// Trace command.
        #[command(subcommand)]
        action: trace::TraceAction,
    },
    /// Re-seal every stored secret under the newest master key (after adding a new
    /// `master_key` and moving the old one to `previous_master_keys`). Resumable.
    Rekey,
    /// Check outgoing email.
    Mail {
        /// Mail command.
        #[command(subcommand)]
        action: MailAction,
    },
}

/// `rosetta mail ...`
#[derive(Debug, Subcommand)]
pub enum MailAction {
    /// Send a test message through the configured transport (SMTP or the outbox).
    Test {
        /// Recipient address.
        to: String,
    },
}

/// `rosetta migrate ...`
#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back migrations (one unless told otherwise).
    Down {
        /// How many to roll back.
        #[arg(long, conflicts_with = "all")]
        steps: Option<u32>,
        /// Roll back every migration (drops all tables).
        #[arg(long)]
        all: bool,
    },
    /// List migrations and whether each is applied.
    Status,
}

/// `rosetta tenant ...`
#[derive(Debug, Subcommand)]
pub enum TenantAction {
    /// Create a tenant reachable at `<slug>.<public host>`.
    Create {
        /// Lowercase DNS label, e.g. `acme`.
        slug: String,
        /// Display name (default: the slug).
        #[arg(long)]
        name: Option<String>,
    },
    /// List every tenant.
    List,
    /// Show one tenant and its URLs.
    Show {
        /// The tenant's slug.
        slug: String,
    },
}

/// A command failure with its exit code and stable error code.
#[derive(Debug)]
struct Failure {
    exit: u8,
    code: &'static str,
    message: String,
}

impl Failure {
    fn new(exit: u8, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            exit,
            code,
            message: message.into(),
        }
    }
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid { .. } | ServiceError::Rules(_) => Self::new(2, "invalid", e.to_string()),
            ServiceError::Conflict(m) => Self::new(1, "conflict", m),
            ServiceError::NotFound(m) => Self::new(1, "not_found", m),
            ServiceError::Forbidden(m) => Self::new(1, "forbidden", m),
            ServiceError::Database(_) => Self::new(1, "database", e.to_string()),
            ServiceError::Internal(_) => Self::new(1, "internal", e.to_string()),
        }
    }
}

impl From<AdminError> for Failure {
    fn from(e: AdminError) -> Self {
        let message = match e.cause() {
            Some(cause) => format!("{e}: {cause:#}"),
            None => e.to_string(),
        };
        match e {
            AdminError::Invalid(_) => Self::new(2, "invalid", message),
            AdminError::NotFound(_) => Self::new(1, "not_found", message),
            AdminError::Conflict(_) => Self::new(1, "conflict", message),
            AdminError::Forbidden(..) => Self::new(1, "forbidden", message),
            AdminError::Unavailable(_) => Self::new(1, "unavailable", message),
            other => Self::new(1, other.code().as_str(), message),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::new(1, "failed", format!("{e:#}"))
    }
}

/// Parses the command line, runs the command, and maps failures to exit codes
/// (2: invalid input or configuration, 1: anything else).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => return report(json, &Failure::new(2, "config", e.to_string())),
    };
    let _telemetry = telemetry::init(settings.telemetry.log_format);
    for name in Settings::unknown_env_vars() {
        tracing::warn!(variable = %name, "environment variable names no setting and is ignored");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return report(json, &Failure::new(1, "runtime", e.to_string())),
    };
    match runtime.block_on(run(cli, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(json, &failure),
    }
}

fn report(json: bool, failure: &Failure) -> ExitCode {
    if json {
        let body = serde_json::json!({"error": {"code": failure.code, "message": failure.message}});
        println!("{body}");
    } else {
        eprintln!("rosetta: {}", failure.message);
    }
    ExitCode::from(failure.exit)
}

async fn run(cli: Cli, settings: Settings) -> Result<(), Failure> {
    let json = cli.json;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings, json).await,
        Command::Migrate { action } => migrate(settings, action.unwrap_or(MigrateAction::Up), json).await,
        Command::Tenant { action } => tenant_command(settings, action, json).await,
        Command::Sp { action } => brokering::sp(settings, action, json).await,
        Command::Source { action } => brokering::source(settings, action, json).await,
        Command::Key { action } => brokering::key(settings, action, json).await,
        Command::Provisioning { action } => lifecycle::provisioning(settings, action, json).await,
        Command::Lifecycle { action } => lifecycle::lifecycle(settings, action, json).await,
        Command::Trace { action } => trace::trace(settings, action, json).await,
        Command::Rekey => rekey(settings, json).await,
        Command::Mail {
            action: MailAction::Test { to },
        } => mail_test(settings, to, json).await,
    }
}

/// Prints `value` as JSON, or the human text.
fn emit<T: Serialize>(json: bool, value: &T, human: impl FnOnce() -> String) -> Result<(), Failure> {
    let text = if json {
        serde_json::to_string(value).map_err(|e| Failure::new(1, "output", e.to_string()))?
    } else {
        human()
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|_| out.flush())
        .map_err(|e| Failure::new(1, "output", e.to_string()))
}

async fn serve(settings: Settings, json: bool) -> Result<(), Failure> {
    let public_url = settings.server.public_url.to_string();
    let hosts = HostRouter::new(&settings.server.public_url);
    let app = Application::build(settings).await?;
    let addresses: Vec<String> = app.addresses().iter().map(ToString::to_string).collect();
    let example = hosts.tenant_url(&TenantSlug::parse("example").map_err(|e| Failure::new(1, "failed", e.0))?);
    emit(
        json,
        &serde_json::json!({"event": "listening", "addresses": addresses, "public_url": public_url}),
        || {
            format!(
                "Rosetta listening on {} — console at {public_url}, tenants at {}",
                addresses.join(", "),
                example.replace("example.", "<tenant>.")
            )
        },
    )?;
    app.run_until_stopped()
        .await
        .map_err(|e| Failure::new(1, "serve", e.to_string()))
}

async fn migrate(settings: Settings, action: MigrateAction, json: bool) -> Result<(), Failure> {
    let db = open_database(&settings).await?;
    let backend = db::backend_name(&db);
    match action {
        MigrateAction::Up => db::migrate_up(&db).await,
        MigrateAction::Down { steps, all } => {
            db::migrate_down(&db, if all { None } else { Some(steps.unwrap_or(1)) }).await
        }
        MigrateAction::Status => Ok(()),
    }
    .map_err(|e| Failure::new(1, "migration", e.to_string()))?;
    let status = db::migration_status(&db).await.map_err(ServiceError::from)?;
    let rows: Vec<_> = status
        .iter()
        .map(|(name, applied)| serde_json::json!({"name": name, "applied": applied}))
        .collect();
    emit(
        json,
        &serde_json::json!({"backend": backend, "migrations": rows}),
        || {
            let mut text = format!("database: {backend}");
            for (name, applied) in &status {
                text.push_str(&format!("\n  {} {name}", if *applied { "applied" } else { "pending" }));
            }
            text
        },
    )
}

fn describe(t: &rosetta_api::Tenant) -> String {
    format!(
        "{}\n  name:    {}\n  status:  {:?}\n  url:     {}\n  created: {}\n  id:      {}",
        t.slug, t.display_name, t.status, t.url, t.created_at, t.id
    )
}

fn describe_details(d: &rosetta_api::TenantDetails) -> String {
    let mut text = describe(&d.tenant);
    text.push_str(&format!(
        "\n\nIdentity provider (paste into Atlassian: Security > Identity providers > SAML single sign-on)\n  \
Identity provider Entity ID: {}\n  Identity provider SSO URL:   {}\n  Metadata URL:                {}",
        d.idp.entity_id, d.idp.sso_url, d.idp.metadata_url
    ));
    for cert in &d.idp.certificates {
        text.push_str(&format!(
            "\n\nPublic x509 certificate ({}, SHA-256 {}, valid until {}):\n{}",
            format!("{:?}", cert.state).to_lowercase(),
            cert.fingerprint_sha256,
            cert.not_after,
            cert.pem.trim_end()
        ));
    }
    text
}

async fn tenant_command(settings: Settings, action: TenantAction, json: bool) -> Result<(), Failure> {
    let parse_slug = |s: &str| TenantSlug::parse(s).map_err(|e| Failure::from(AdminError::field("slug", e.0)));
    match action {
        TenantAction::Create { slug, name } => {
            // Input is checked before the database is touched.
            let slug = parse_slug(&slug)?;
            let name = DisplayName::parse(name.as_deref().unwrap_or(slug.as_str()))
                .map_err(|e| Failure::from(AdminError::field("name", e.0)))?;
            let state = operator_state(settings).await?;
            let t = admin::tenants::create(&state, &slug, &name).await?;
            emit(json, &t, || format!("created tenant {}", describe(&t)))
        }
        TenantAction::List => {
            let state = operator_state(settings).await?;
            let all = admin::tenants::list(&state).await?;
            emit(json, &all, || {
                if all.is_empty() {
                    return "no tenants yet: create one with `rosetta tenant create <slug>`".into();
                }
                all.iter()
                    .map(|t| {
                        format!(
                            "{:<24} {:<10} {}",
                            t.slug,
                            format!("{:?}", t.status).to_lowercase(),
                            t.url
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        TenantAction::Show { slug } => {
            let slug = parse_slug(&slug)?;
            let state = operator_state(settings).await?;
            let details = admin::tenants::show(&state, &slug).await?;
            emit(json, &details, || describe_details(&details))
        }
    }
}

/// What the operator's commands work with: the server's own state (database migrated,
/// session store, mail), so that a change made here is applied, and audited, exactly as the
/// admin API would apply it.
/// A tenant named on the command line.
fn tenant_slug(value: &str) -> Result<crate::domain::TenantSlug, Failure> {
    crate::domain::TenantSlug::parse(value).map_err(|e| crate::admin::AdminError::field("tenant", e.0).into())
}

async fn operator_state(settings: Settings) -> Result<AppState, Failure> {
    AppState::init(settings)
        .await
        .map_err(|e| Failure::new(1, "unavailable", format!("{e:#}")))
}

/// Opens the database and applies pending migrations, so operator commands work on a fresh
/// data directory just as `serve` does.
async fn ready_database(settings: &Settings) -> Result<sea_orm::DatabaseConnection, Failure> {
    db::connect_migrated(&settings.database_url(), settings.database.max_connections)
        .await
        .map_err(|e| {
            Failure::new(
                1,
                "migration",
                format!("connecting to the database (setting `database_url`) and applying its migrations: {e}"),
            )
        })
}

async fn mail_test(settings: Settings, to: String, json: bool) -> Result<(), Failure> {
    let mailer = Mailer::from_settings(&settings).map_err(|e| Failure::new(2, "config", e.to_string()))?;
    let email = OutgoingEmail {
        to: to.clone(),
        subject: "Rosetta test message".into(),
        text: format!(
            "This is a test message from Rosetta at {}.\nIf you can read it, outgoing email works.\n",
            settings.server.public_url
        ),
        html: None,
    };
    let delivery = mailer.send(&email).await.map_err(|e| match e {
        MailError::Invalid { .. } => Failure::new(2, "invalid", e.to_string()),
        _ => Failure::new(1, "mail", e.to_string()),
    })?;
    let file = match &delivery {
        Delivery::Written(path) => Some(path.display().to_string()),
        Delivery::Sent => None,
    };
    emit(
        json,
        &serde_json::json!({"to": to, "transport": mailer.kind(), "file": file}),
        || match &file {
            Some(path) => format!("no smtp_url configured: message to {to} written to {path}"),
            None => format!("message to {to} accepted by the SMTP server"),
        },
    )
}

async fn rekey(settings: Settings, json: bool) -> Result<(), Failure> {
    let keyring = load_keyring(&settings)?;
    let db = ready_database(&settings).await?;
    let report = crate::services::rekey::run(&db, &keyring).await?;
    emit(
        json,
        &serde_json::json!({"key_id": keyring.primary_id(), "resealed": report.resealed, "current": report.current}),
        || {
            format!(
                "re-sealed {} secret(s) under master key {}; {} were already current. Once every replica runs with \
the new key, `previous_master_keys` can be emptied.",
                report.resealed,
                keyring.primary_id(),
                report.current
            )
        },
    )
}
