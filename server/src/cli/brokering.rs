//! `rosetta sp ...`, `rosetta source ...` and `rosetta key ...`: the operator side of
//! brokering set-up, on the same use cases as the admin API (`admin`), so every change is
//! validated alike and audited with the operator as actor.

use std::path::PathBuf;

use clap::Subcommand;
use rosetta_api::{CreateIdentitySourceRequest, CreateServiceProviderRequest, ImportServiceProviderRequest, Preset};
use zeroize::Zeroizing;

use super::{Failure, emit, operator_state, tenant_slug};
use crate::admin::service_providers::Which;
use crate::admin::{AdminError, Scope, identity_sources, service_providers, signing_keys};
use crate::configuration::Settings;

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
    /// Show a service provider's mapping (NameID, attributes, groups rule) as JSON, or
    /// replace it with `--set FILE` (the same JSON; checked and audited as in the console).
    Mapping {
        /// Tenant slug.
        tenant: String,
        /// The SP's name.
        name: String,
        /// A JSON file holding the new mapping.
        #[arg(long)]
        set: Option<PathBuf>,
    },
    /// What a service provider would receive for a user's last login, or for sample claims.
    Preview {
        /// Tenant slug.
        tenant: String,
        /// The SP's name.
        name: String,
        /// An end user's ID.
        #[arg(long, required_unless_present = "claims")]
        user: Option<String>,
        /// A JSON file of sample claims (an ID token's payload).
        #[arg(long, conflicts_with = "user")]
        claims: Option<PathBuf>,
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
    let (tenant, verb) = match &action {
        KeyAction::List { tenant } => (tenant, "list"),
        KeyAction::Next { tenant } => (tenant, "next"),
        KeyAction::Promote { tenant } => (tenant, "promote"),
    };
    let slug = tenant_slug(tenant)?;
    let state = operator_state(settings).await?;
    let scope = Scope::operator(&state, &slug).await?;
    match verb {
        "next" => {
            signing_keys::create_next(&state, &scope).await?;
        }
        "promote" => {
            signing_keys::promote(&state, &scope, None).await?;
        }
        _ => {}
    }
    let keys: Vec<_> = signing_keys::list(&state, &scope)
        .await?
        .iter()
        .map(|k| {
            serde_json::json!({
                "id": k.id,
                "state": k.state,
                "fingerprint_sha256": k.fingerprint_sha256,
                "created_at": k.created_at,
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
        /// Allowed (and routed) email domains, comma-separated: at least one.
        #[arg(long, value_delimiter = ',', required = true)]
        domains: Vec<String>,
        /// Also call the userinfo endpoint.
        #[arg(long)]
        userinfo: bool,
        /// Ask for `offline_access` and check users' refresh tokens on a schedule: a
        /// refusal marks the user departed (deactivated at every provisioning target).
        #[arg(long)]
        offline_access: bool,
        /// The kind of provider: generic, google, entra, okta, auth0, keycloak, gitlab
        /// (`rosetta source presets` says what each checks).
        #[arg(long, default_value = "generic")]
        preset: String,
        /// The claim carrying groups (default: the preset's).
        #[arg(long)]
        groups_claim: Option<String>,
        /// Entra ID: let guest (`#EXT#`) accounts log in.
        #[arg(long)]
        allow_guests: bool,
        /// Entra ID: read group overages from Microsoft Graph with the source's credentials.
        #[arg(long)]
        fetch_group_overage: bool,
    },
    /// What each provider preset needs at the provider and checks at login.
    Presets,
    /// Change a source's groups claim or its Entra ID options (audited like the console's).
    Set {
        /// Tenant slug.
        tenant: String,
        /// The source's name.
        name: String,
        /// The claim carrying groups (empty: groups are not read).
        #[arg(long)]
        groups_claim: Option<String>,
        /// Entra ID: let guest (`#EXT#`) accounts log in.
        #[arg(long)]
        allow_guests: Option<bool>,
        /// Entra ID: read group overages from Microsoft Graph.
        #[arg(long)]
        fetch_group_overage: Option<bool>,
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
    /// Prove the tenant owns one of a source's email domains: looks up the DNS TXT record
    /// that `source list` shows (the operator's own check, still audited).
    VerifyDomain {
        /// Tenant slug.
        tenant: String,
        /// The source's name.
        name: String,
        /// The domain.
        domain: String,
    },
}

fn invalid(message: impl Into<String>) -> Failure {
    Failure::new(2, "invalid", message)
}

/// Runs an `sp` command.
pub async fn sp(settings: Settings, action: SpAction, json: bool) -> Result<(), Failure> {
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
            let slug = tenant_slug(&tenant)?;
            let metadata_xml = match metadata {
                Some(file) => Some(
                    std::fs::read_to_string(&file).map_err(|e| invalid(format!("metadata {}: {e}", file.display())))?,
                ),
                None => None,
            };
            let preset = match preset.as_str() {
                "atlassian" => Preset::Atlassian,
                "generic" => Preset::Generic,
                other => return Err(invalid(format!("preset: unknown preset `{other}`"))),
            };
            let state = operator_state(settings).await?;
            let scope = Scope::operator(&state, &slug).await?;
            let sp = match metadata_xml {
                Some(xml) => {
                    let body = ImportServiceProviderRequest {
                        name,
                        preset: None,
                        metadata_xml: Some(xml),
                        metadata_url: None,
                    };
                    service_providers::import(&state, &scope, body).await?
                }
                None => {
                    let entity_id = entity_id.ok_or_else(|| invalid("entity_id: required without --metadata"))?;
                    let body = CreateServiceProviderRequest {
                        name,
                        preset,
                        entity_id,
                        acs_urls,
                        name_id_format,
                        want_requests_signed: false,
                        request_signing_certs: Vec::new(),
                    };
                    service_providers::create(&state, &scope, body).await?
                }
            };
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
            let slug = tenant_slug(&tenant)?;
            let state = operator_state(settings).await?;
            let scope = Scope::operator(&state, &slug).await?;
            let all = service_providers::list(&state, &scope).await?;
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
            let slug = tenant_slug(&tenant)?;
            let state = operator_state(settings).await?;
            let scope = Scope::operator(&state, &slug).await?;
            service_providers::delete(&state, &scope, Which::Name(&name))
                .await
                .map_err(|e| named(e, "service provider", &name))?;
            emit(json, &serde_json::json!({"removed": name}), || {
                format!("removed service provider `{name}`")
            })
        }
        SpAction::Mapping { tenant, name, set } => {
            let slug = tenant_slug(&tenant)?;
            let state = operator_state(settings).await?;
            let scope = Scope::operator(&state, &slug).await?;
            let sp = match set {
                Some(file) => {
                    let text = std::fs::read_to_string(&file)
                        .map_err(|e| invalid(format!("mapping file {}: {e}", file.display())))?;
                    let mapping: rosetta_api::Mapping = serde_json::from_str(&text)
                        .map_err(|e| invalid(format!("mapping file {}: {e}", file.display())))?;
                    crate::admin::mapping::set(&state, &scope, Which::Name(&name), mapping)
                        .await
                        .map_err(|e| named(e, "service provider", &name))?
                }
                None => service_providers::get(&state, &scope, Which::Name(&name))
                    .await
                    .map_err(|e| named(e, "service provider", &name))?,
            };
            let mapping = rosetta_api::Mapping {
                name_id_format: Some(sp.name_id_format.clone()),
                name_id: sp.name_id.clone(),
                attributes: sp.attributes.clone(),
                groups: sp.groups.clone(),
            };
            emit(json, &mapping, || {
                serde_json::to_string_pretty(&mapping).unwrap_or_default()
            })
        }
        SpAction::Preview {
            tenant,
            name,
            user,
            claims,
        } => {
            let slug = tenant_slug(&tenant)?;
            let claims_json = match claims {
                Some(file) => Some(
                    std::fs::read_to_string(&file)
                        .map_err(|e| invalid(format!("claims file {}: {e}", file.display())))?,
                ),
                None => None,
            };
            let state = operator_state(settings).await?;
            let scope = Scope::operator(&state, &slug).await?;
            let body = rosetta_api::MappingPreviewRequest {
                user_id: user,
                claims_json,
                mapping: None,
            };
            let preview = crate::admin::mapping::preview(&state, &scope, Which::Name(&name), body)
                .await
                .map_err(|e| named(e, "service provider", &name))?;
            emit(json, &preview, || {
                let mut text = format!(
                    "NameID ({}): {}\n",
                    preview.name_id_format,
                    preview.name_id.as_deref().unwrap_or("(none: the login is refused)")
                );
                for a in &preview.attributes {
                    text.push_str(&format!("{}: {}\n", a.name, a.values.join(", ")));
                }
                text.push_str(&format!("groups: {}\n", preview.groups.join(", ")));
                for p in &preview.problems {
                    let kind = if p.refuses_login { "refuses the login" } else { "note" };
                    text.push_str(&format!("{kind}: {}: {}\n", p.rule, p.message));
                }
                text
            })
        }
    }
}

/// A "not found" that names what was looked for.
fn named(e: AdminError, what: &str, name: &str) -> Failure {
    match e {
        AdminError::NotFound(_) => Failure::new(1, "not_found", format!("no {what} `{name}`")),
        other => other.into(),
    }
}

/// Runs a `source` command.
pub async fn source(settings: Settings, action: SourceAction, json: bool) -> Result<(), Failure> {
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
            offline_access,
            preset,
            groups_claim,
            allow_guests,
            fetch_group_overage,
        } => {
            let slug = tenant_slug(&tenant)?;
            let preset: rosetta_api::SourcePreset = serde_json::from_value(serde_json::Value::from(preset.as_str()))
                .map_err(|_| {
                    invalid(format!(
                        "preset `{preset}`: one of generic, google, entra, okta, auth0, keycloak, gitlab"
                    ))
                })?;
            let secret = Zeroizing::new(
                std::fs::read_to_string(&client_secret_file)
                    .map_err(|e| invalid(format!("client_secret_file {}: {e}", client_secret_file.display())))?,
            );
            let body = CreateIdentitySourceRequest {
                name,
                issuer,
                client_id,
                client_secret: secret.trim().to_owned(),
                scopes,
                domains: domains.into_iter().filter(|d| !d.trim().is_empty()).collect(),
                use_userinfo: userinfo,
                offline_access,
                preset,
                groups_claim,
                allow_guests,
                fetch_group_overage,
            };
            let state = operator_state(settings).await?;
            let scope = Scope::operator(&state, &slug).await?;
            let wire = identity_sources::create(&state, &scope, body).await?;
            emit(json, &wire, || {
                format!(
                    "registered identity source `{}` for tenant {slug}\n  issuer:       {}\n  redirect URI: {}\n\
Register the redirect URI at the provider for client `{}`.",
                    wire.name, wire.issuer, wire.redirect_uri, wire.client_id
                )
            })
        }
        SourceAction::Set {
            tenant,
            name,
            groups_claim,
            allow_guests,
            fetch_group_overage,
        } => {
            let slug = tenant_slug(&tenant)?;
            let state = operator_state(settings).await?;
            let scope = Scope::operator(&state, &slug).await?;
            let body = rosetta_api::UpdateIdentitySourceRequest {
                groups_claim,
                allow_guests,
                fetch_group_overage,
                ..Default::default()
            };
            let wire = identity_sources::update(&state, &scope, Which::Name(&name), body)
                .await
                .map_err(|e| named(e, "identity source", &name))?;
            emit(json, &wire, || {
                format!(
                    "identity source `{}`: groups claim `{}`, guests {}, group overage from Graph {}",
                    wire.name,
                    wire.groups_claim,
                    if wire.allow_guests { "allowed" } else { "refused" },
                    if wire.fetch_group_overage { "on" } else { "off" }
                )
            })
        }
        SourceAction::Presets => {
            let all = identity_sources::presets();
            emit(json, &all, || {
                all.iter()
                    .map(|p| {
                        let id = serde_json::to_value(p.preset).unwrap_or_default();
                        let mut text = format!(
                            "{} ({})\n  issuer: {}\n",
                            id.as_str().unwrap_or_default(),
                            p.label,
                            p.issuer_template
                        );
                        text.push_str(&p.steps.iter().map(|s| format!("  - {s}\n")).collect::<String>());
                        text.push_str(&p.checks.iter().map(|c| format!("  checks: {c}\n")).collect::<String>());
                        text
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        SourceAction::List { tenant } => {
            let slug = tenant_slug(&tenant)?;
            let state = operator_state(settings).await?;
            let scope = Scope::operator(&state, &slug).await?;
            let all = identity_sources::list(&state, &scope).await?;
            emit(json, &all, || {
                if all.is_empty() {
                    return format!("no identity sources yet: `rosetta source add {slug} --name corp ...`");
                }
                all.iter()
                    .map(|s| {
                        let mut line = format!("{:<16} {}", s.name, s.issuer);
                        for d in &s.domain_verification {
                            line.push_str(&if d.verified {
                                format!("\n  {:<30} verified", d.domain)
                            } else {
                                format!(
                                    "\n  {:<30} unverified: TXT {} \"{}\"",
                                    d.domain, d.txt_name, d.txt_value
                                )
                            });
                        }
                        line
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        SourceAction::Remove { tenant, name } => {
            let slug = tenant_slug(&tenant)?;
            let state = operator_state(settings).await?;
            let scope = Scope::operator(&state, &slug).await?;
            identity_sources::delete(&state, &scope, Which::Name(&name))
                .await
                .map_err(|e| named(e, "identity source", &name))?;
            emit(json, &serde_json::json!({"removed": name}), || {
                format!("removed identity source `{name}`")
            })
        }
        SourceAction::VerifyDomain { tenant, name, domain } => {
            let slug = tenant_slug(&tenant)?;
            let state = operator_state(settings).await?;
            let scope = Scope::operator(&state, &slug).await?;
            let wire = identity_sources::verify_domain(&state, &scope, Which::Name(&name), &domain).await?;
            emit(json, &wire, || format!("`{domain}` is verified for tenant {slug}"))
        }
    }
}
