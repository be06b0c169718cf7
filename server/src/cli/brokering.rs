//! `rosetta sp ...` and `rosetta source ...`: the operator side of brokering set-up, on the
//! same services the admin API uses.

use std::path::PathBuf;

use clap::Subcommand;
use secrecy::SecretString;
use zeroize::Zeroizing;

use super::{Failure, emit, ready_database};
use crate::configuration::Settings;
use crate::domain::{AcsUrl, EmailDomain, EntityId, Handle, TenantSlug};
use crate::services::identity_sources::{self, NewIdentitySource};
use crate::services::service_providers::{self, NewAcs, NewServiceProvider, Preset};
use crate::services::sp_metadata;
use crate::services::{ServiceError, signing_keys, tenants};
use crate::state::load_keyring;
use crate::tenancy::HostRouter;

/// `rosetta sp ...`
#[derive(Debug, Subcommand)]
pub enum SpAction {
    /// Register a SAML service provider.
    Add {
        /// Tenant slug.
        tenant: String,
        /// Short name, e.g. `jira`.
        #[arg(long)]
        name: String,
        /// `atlassian` (email NameID, Atlassian claims) or `generic`.
        #[arg(long, default_value = "atlassian")]
        preset: String,
        /// The SP's entity ID (Atlassian: "Service provider entity URL").
        #[arg(long, required_unless_present = "metadata")]
        entity_id: Option<String>,
        /// ACS URL (Atlassian: "Service provider assertion consumer service URL"); repeat for more.
        #[arg(long = "acs-url", required_unless_present = "metadata")]
        acs_urls: Vec<String>,
        /// Register a generic SP from its SAML metadata file instead.
        #[arg(long, conflicts_with_all = ["entity_id", "acs_urls"])]
        metadata: Option<PathBuf>,
        /// NameID format URI (default from the preset).
        #[arg(long)]
        name_id_format: Option<String>,
    },
    /// List a tenant's service providers.
    List {
        /// Tenant slug.
        tenant: String,
    },
    /// Remove a service provider.
    Remove {
        /// Tenant slug.
        tenant: String,
        /// Its name.
        name: String,
    },
}

/// `rosetta key ...`
#[derive(Debug, Subcommand)]
pub enum KeyAction {
    /// List a tenant's signing keys.
    List {
        /// Tenant slug.
        tenant: String,
    },
    /// Publish a next key in metadata (it does not sign yet).
    Next {
        /// Tenant slug.
        tenant: String,
    },
    /// Sign with the next key from now on; the current key is retired.
    Promote {
        /// Tenant slug.
        tenant: String,
    },
}

/// Runs a `key` command.
pub async fn key(settings: Settings, action: KeyAction, json: bool) -> Result<(), Failure> {
    let hosts = HostRouter::new(&settings.public_url);
    let (tenant, verb) = match &action {
        KeyAction::List { tenant } => (tenant, "list"),
        KeyAction::Next { tenant } => (tenant, "next"),
        KeyAction::Promote { tenant } => (tenant, "promote"),
    };
    let slug = slug(tenant)?;
    let db = ready_database(&settings).await?;
    let t = tenants::get(&db, &slug).await?;
    match verb {
        "next" => {
            let keyring = load_keyring(&settings)?;
            signing_keys::create_next(&db, &keyring, t.id, &hosts.idp_entity_id(&slug)).await?;
        }
        "promote" => {
            signing_keys::promote(&db, t.id).await?;
        }
        _ => {}
    }
    let keys: Vec<_> = signing_keys::list(&db, t.id)
        .await?
        .iter()
        .map(|k| {
            let fingerprint = crate::saml::keys::cert_fingerprint_sha256(&k.certificate);
            serde_json::json!({
                "id": k.id.to_string(),
                "state": format!("{:?}", k.state).to_lowercase(),
                "fingerprint_sha256": fingerprint,
                "created_at": k.created_at.to_rfc3339(),
            })
        })
        .collect();
    emit(json, &keys, || {
        let mut text = keys
            .iter()
            .map(|k| {
                format!(
                    "{:<8} {} {}",
                    k["state"].as_str().unwrap_or(""),
                    k["fingerprint_sha256"].as_str().unwrap_or(""),
                    k["id"].as_str().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        match verb {
            "next" => text.push_str("\n\nThe next key is now in the metadata. Give its certificate to SPs that pin certificates (Atlassian: add it in the identity provider settings), then run `rosetta key promote`."),
            "promote" => text.push_str("\n\nResponses are now signed with the promoted key; the previous key is retired."),
            _ => {}
        }
        text
    })
}

/// `rosetta source ...`
#[derive(Debug, Subcommand)]
pub enum SourceAction {
    /// Register an upstream OpenID Connect provider.
    Add {
        /// Tenant slug.
        tenant: String,
        /// Short name, e.g. `corp`.
        #[arg(long)]
        name: String,
        /// Issuer URL, exactly as the provider's discovery document states it.
        #[arg(long)]
        issuer: String,
        /// OAuth client ID.
        #[arg(long)]
        client_id: String,
        /// File holding the client secret (keeps it out of shell history and `ps`).
        #[arg(long)]
        client_secret_file: PathBuf,
        /// Extra scopes (comma-separated; `openid` is always requested).
        #[arg(long, value_delimiter = ',', default_value = "email,profile")]
        scopes: Vec<String>,
        /// Allowed email domains (comma-separated).
        #[arg(long, value_delimiter = ',')]
        domains: Vec<String>,
        /// Also call the userinfo endpoint.
        #[arg(long)]
        userinfo: bool,
    },
    /// List a tenant's identity sources.
    List {
        /// Tenant slug.
        tenant: String,
    },
    /// Remove an identity source.
    Remove {
        /// Tenant slug.
        tenant: String,
        /// Its name.
        name: String,
    },
}

fn slug(value: &str) -> Result<TenantSlug, Failure> {
    TenantSlug::parse(value).map_err(|e| ServiceError::invalid("tenant")(e).into())
}

/// Runs an `sp` command.
pub async fn sp(settings: Settings, action: SpAction, json: bool) -> Result<(), Failure> {
    let hosts = HostRouter::new(&settings.public_url);
    match action {
        SpAction::Add {
            tenant,
            name,
            preset,
            entity_id,
            acs_urls,
            name_id_format,
            metadata,
        } => {
            let slug = slug(&tenant)?;
            let name = Handle::parse(&name).map_err(ServiceError::invalid("name"))?;
            let new = match metadata {
                Some(file) => {
                    let xml = std::fs::read_to_string(&file)
                        .map_err(|e| Failure::new(2, "invalid", format!("metadata {}: {e}", file.display())))?;
                    sp_metadata::parse_sp_metadata(&xml, hosts.dev_mode())?.into_new_service_provider(name)
                }
                None => {
                    let preset = match preset.as_str() {
                        "atlassian" => Preset::Atlassian,
                        "generic" => Preset::Generic,
                        other => return Err(Failure::new(2, "invalid", format!("preset: unknown preset `{other}`"))),
                    };
                    let entity_id = entity_id
                        .ok_or_else(|| Failure::new(2, "invalid", "entity_id: required without --metadata"))?;
                    let urls = acs_urls
                        .iter()
                        .map(|u| AcsUrl::parse(u, hosts.dev_mode()))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(ServiceError::invalid("acs_url"))?;
                    NewServiceProvider {
                        name,
                        preset,
                        entity_id: EntityId::parse(&entity_id).map_err(ServiceError::invalid("entity_id"))?,
                        acs: NewAcs::in_order(urls),
                        name_id_format,
                        want_requests_signed: false,
                        request_signing_certs: Vec::new(),
                    }
                }
            };
            let db = ready_database(&settings).await?;
            let t = tenants::get(&db, &slug).await?;
            let sp = service_providers::create(&db, t.id, new).await?.to_wire();
            emit(json, &sp, || {
                format!(
                    "registered service provider `{}` for tenant {slug}\n  entity ID: {}\n  ACS:       {}\n\
Now paste Rosetta's details (`rosetta tenant show {slug}`) into the service provider.",
                    sp.name,
                    sp.entity_id,
                    sp.acs.iter().map(|a| a.url.as_str()).collect::<Vec<_>>().join(", ")
                )
            })
        }
        SpAction::List { tenant } => {
            let slug = slug(&tenant)?;
            let db = ready_database(&settings).await?;
            let t = tenants::get(&db, &slug).await?;
            let all: Vec<_> = service_providers::list(&db, t.id)
                .await?
                .iter()
                .map(|s| s.to_wire())
                .collect();
            emit(json, &all, || {
                if all.is_empty() {
                    return format!("no service providers yet: `rosetta sp add {slug} --name jira ...`");
                }
                all.iter()
                    .map(|s| {
                        format!(
                            "{:<16} {:<10} {}",
                            s.name,
                            format!("{:?}", s.preset).to_lowercase(),
                            s.entity_id
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        SpAction::Remove { tenant, name } => {
            let slug = slug(&tenant)?;
            let db = ready_database(&settings).await?;
            let t = tenants::get(&db, &slug).await?;
            service_providers::remove(&db, t.id, &name).await?;
            emit(json, &serde_json::json!({"removed": name}), || {
                format!("removed service provider `{name}`")
            })
        }
    }
}

/// Runs a `source` command.
pub async fn source(settings: Settings, action: SourceAction, json: bool) -> Result<(), Failure> {
    let hosts = HostRouter::new(&settings.public_url);
    match action {
        SourceAction::Add {
            tenant,
            name,
            issuer,
            client_id,
            client_secret_file,
            scopes,
            domains,
            userinfo,
        } => {
            let slug = slug(&tenant)?;
            let name = Handle::parse(&name).map_err(ServiceError::invalid("name"))?;
            let issuer = identity_sources::parse_issuer(&issuer, hosts.dev_mode())?;
            let secret = Zeroizing::new(std::fs::read_to_string(&client_secret_file).map_err(|e| {
                Failure::new(
                    2,
                    "invalid",
                    format!("client_secret_file {}: {e}", client_secret_file.display()),
                )
            })?);
            let domains = domains
                .iter()
                .filter(|d| !d.trim().is_empty())
                .map(|d| EmailDomain::parse(d))
                .collect::<Result<Vec<_>, _>>()
                .map_err(ServiceError::invalid("domains"))?;
            let new = NewIdentitySource {
                name,
                issuer,
                client_id,
                client_secret: SecretString::from(secret.trim().to_owned()),
                scopes,
                domains,
                use_userinfo: userinfo,
            };
            let keyring = load_keyring(&settings)?;
            let db = ready_database(&settings).await?;
            let t = tenants::get(&db, &slug).await?;
            let source = identity_sources::create(&db, &keyring, t.id, new).await?;
            let wire = source.to_wire(hosts.callback_url(&slug, &source.name));
            emit(json, &wire, || {
                format!(
                    "registered identity source `{}` for tenant {slug}\n  issuer:       {}\n  redirect URI: {}\n\
Register the redirect URI at the provider for client `{}`.",
                    wire.name, wire.issuer, wire.redirect_uri, wire.client_id
                )
            })
        }
        SourceAction::List { tenant } => {
            let slug = slug(&tenant)?;
            let db = ready_database(&settings).await?;
            let t = tenants::get(&db, &slug).await?;
            let all: Vec<_> = identity_sources::list(&db, t.id)
                .await?
                .iter()
                .map(|s| s.to_wire(hosts.callback_url(&slug, &s.name)))
                .collect();
            emit(json, &all, || {
                if all.is_empty() {
                    return format!("no identity sources yet: `rosetta source add {slug} --name corp ...`");
                }
                all.iter()
                    .map(|s| format!("{:<16} {} ({})", s.name, s.issuer, s.domains.join(", ")))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        SourceAction::Remove { tenant, name } => {
            let slug = slug(&tenant)?;
            let db = ready_database(&settings).await?;
            let t = tenants::get(&db, &slug).await?;
            identity_sources::remove(&db, t.id, &name).await?;
            emit(json, &serde_json::json!({"removed": name}), || {
                format!("removed identity source `{name}`")
            })
        }
    }
}
