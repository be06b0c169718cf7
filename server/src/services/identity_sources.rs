//! Upstream OpenID Connect providers of a tenant, with the email domains routed to them.

use chrono::Utc;
use rosetta_entity::{identity_source, identity_source_domain};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, ModelTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use url::Url;
use uuid::Uuid;

use super::{ServiceError, ServiceResult, conflict_on_unique};
use crate::crypto::{Keyring, SecretContext};
use crate::domain::{EmailDomain, Handle};
use crate::oidc::SourceConfig;
use crate::oidc::preset::{ProviderChecks, default_groups_claim, entra_tenant_of};
pub use rosetta_api::SourcePreset;

/// Associated-data kind of a sealed client secret.
pub(crate) const KIND: &str = "identity_source.client_secret";

/// What an admin or operator registers.
#[derive(Debug)]
pub struct NewIdentitySource {
    /// Short name (appears in the callback path).
    pub name: Handle,
    /// Issuer identifier, exactly as the provider states it (see [`parse_issuer`]).
    pub issuer: String,
    /// OAuth client ID.
    pub client_id: String,
    /// OAuth client secret (sealed before it is stored).
    pub client_secret: SecretString,
    /// Scopes; `openid` is always included.
    pub scopes: Vec<String>,
    /// Email domains allowed for (and routed to) this source.
    pub domains: Vec<EmailDomain>,
    /// Whether to call userinfo after the token exchange.
    pub use_userinfo: bool,
    /// Whether to ask for `offline_access` and check users' refresh tokens.
    pub offline_access: bool,
    /// The kind of provider (its issuer already checked against it).
    pub preset: SourcePreset,
    /// The claim carrying groups; the preset's when `None`.
    pub groups_claim: Option<String>,
    /// Entra ID: guests may log in.
    pub allow_guests: bool,
    /// Entra ID: read group overages from Microsoft Graph.
    pub fetch_group_overage: bool,
}

/// A source as shown to admins: never the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IdentitySource {
    /// Identifier.
    pub id: Uuid,
    /// Short name.
    pub name: String,
    /// Issuer URL.
    pub issuer: String,
    /// OAuth client ID.
    pub client_id: String,
    /// Space-separated scopes.
    pub scopes: String,
    /// Allowed email domains.
    pub domains: Vec<String>,
    /// Each domain's proof of ownership, in the order of `domains`.
    pub claims: Vec<DomainClaim>,
    /// Whether userinfo is called.
    pub use_userinfo: bool,
    /// Whether `offline_access` is asked and refresh tokens checked.
    pub offline_access: bool,
    /// The kind of provider.
    pub preset: SourcePreset,
    /// The claim carrying groups (empty: none).
    pub groups_claim: String,
    /// Entra ID: guests may log in.
    pub allow_guests: bool,
    /// Entra ID: group overages are read from Microsoft Graph.
    pub fetch_group_overage: bool,
    /// Entra ID: the directory (tenant) ID of the issuer, read once with the row.
    #[serde(skip)]
    pub entra_tenant: Option<String>,
}

/// The stored name of a preset.
pub fn preset_str(p: SourcePreset) -> &'static str {
    match p {
        SourcePreset::Generic => "generic",
        SourcePreset::Google => "google",
        SourcePreset::Entra => "entra",
        SourcePreset::Okta => "okta",
        SourcePreset::Auth0 => "auth0",
        SourcePreset::Keycloak => "keycloak",
        SourcePreset::Gitlab => "gitlab",
    }
}

/// A stored preset; anything unknown is generic (the standard checks).
pub fn parse_preset(s: &str) -> SourcePreset {
    match s {
        "google" => SourcePreset::Google,
        "entra" => SourcePreset::Entra,
        "okta" => SourcePreset::Okta,
        "auth0" => SourcePreset::Auth0,
        "keycloak" => SourcePreset::Keycloak,
        "gitlab" => SourcePreset::Gitlab,
        _ => SourcePreset::Generic,
    }
}

/// Checks a groups claim name: up to 256 printable characters (empty: groups are not read).
pub fn check_groups_claim(name: &str) -> ServiceResult<()> {
    if name.len() > 256 || name.chars().any(char::is_control) || name.trim() != name {
        return Err(ServiceError::Invalid {
            field: "groups_claim",
            message: "a claim name has up to 256 printable characters, without surrounding spaces".into(),
        });
    }
    Ok(())
}

/// One email domain of a source and whether the tenant proved it owns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DomainClaim {
    /// The domain.
    pub domain: String,
    /// When ownership was proved; `None` while unproved.
    pub verified_at: Option<chrono::DateTime<Utc>>,
    /// What the `_rosetta-challenge` TXT record must hold.
    pub token: String,
}

impl DomainClaim {
    /// The wire view: the TXT record to publish.
    pub fn to_wire(&self) -> rosetta_api::DomainVerification {
        rosetta_api::DomainVerification {
            domain: self.domain.clone(),
            verified: self.verified_at.is_some(),
            verified_at: self
                .verified_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            txt_name: super::domain_proof::record_name(&self.domain),
            txt_value: super::domain_proof::record_value(&self.token),
        }
    }
}

/// Checks an issuer URL: https, or http on loopback in dev mode; no credentials, query or
/// fragment (discovery appends a path to it). Returns it unchanged: issuers are compared
/// byte for byte, so `https://x.example` and `https://x.example/` are different issuers.
pub fn parse_issuer(value: &str, dev: bool) -> ServiceResult<String> {
    let invalid = |m: &str| ServiceError::Invalid {
        field: "issuer",
        message: m.into(),
    };
    let url = Url::parse(value).map_err(|_| invalid("the issuer must be an absolute URL"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
        || url.host_str().is_some_and(|h| h.ends_with(".localhost"));
    match url.scheme() {
        "https" => {}
        "http" if dev && loopback => {}
        _ => return Err(invalid("the issuer must be an https URL")),
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("the issuer cannot contain credentials, a query or a fragment"));
    }
    Ok(value.to_owned())
}

fn check_client_id(client_id: &str) -> ServiceResult<()> {
    if client_id.trim().is_empty() || client_id.len() > 512 || client_id.chars().any(char::is_control) {
        return Err(ServiceError::Invalid {
            field: "client_id",
            message: "a client ID has 1 to 512 printable characters".into(),
        });
    }
    Ok(())
}

/// `openid` first, then the other scopes.
fn scope_list(scopes: Vec<String>) -> String {
    let mut all = vec!["openid".to_owned()];
    all.extend(scopes.into_iter().filter(|s| s != "openid" && !s.is_empty()));
    all.join(" ")
}

fn secret_context<'a>(tenant: &'a str, record: &'a str) -> SecretContext<'a> {
    SecretContext {
        tenant,
        kind: KIND,
        record,
    }
}

/// The client secret sealed for its tenant and source.
fn seal_secret(keyring: &Keyring, tenant_id: Uuid, id: Uuid, secret: &SecretString) -> ServiceResult<Vec<u8>> {
    keyring
        .seal(
            secret_context(&tenant_id.to_string(), &id.to_string()),
            secret.expose_secret().as_bytes(),
        )
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// The source's client secret, unsealed.
fn unseal_secret(keyring: &Keyring, row: &identity_source::Model) -> ServiceResult<SecretString> {
    let plain = keyring
        .open(
            secret_context(&row.tenant_id.to_string(), &row.id.to_string()),
            &row.client_secret,
        )
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(SecretString::from(String::from_utf8_lossy(&plain).into_owned()))
}

/// Routes `domains` to the source, within its tenant: the source's other domains are
/// released, the ones it keeps keep their proof of ownership, new ones start unproved with a
/// fresh token. A domain of another source of the same tenant is a conflict; other tenants
/// never are (each routes a domain inside itself; only verification is exclusive).
async fn set_domains<C: sea_orm::ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    source_id: Uuid,
    domains: &[EmailDomain],
) -> ServiceResult<()> {
    let wanted: Vec<String> = domains.iter().map(ToString::to_string).collect();
    let held: Vec<String> = identity_source_domain::Entity::find()
        .filter(identity_source_domain::Column::TenantId.eq(tenant_id))
        .filter(identity_source_domain::Column::SourceId.eq(source_id))
        .all(db)
        .await?
        .into_iter()
        .map(|d| d.domain)
        .collect();
    let released: Vec<&String> = held.iter().filter(|d| !wanted.contains(d)).collect();
    if !released.is_empty() {
        identity_source_domain::Entity::delete_many()
            .filter(identity_source_domain::Column::TenantId.eq(tenant_id))
            .filter(identity_source_domain::Column::SourceId.eq(source_id))
            .filter(identity_source_domain::Column::Domain.is_in(released))
            .exec(db)
            .await?;
    }
    for domain in wanted.iter().filter(|d| !held.contains(d)) {
        identity_source_domain::ActiveModel {
            tenant_id: Set(tenant_id),
            domain: Set(domain.clone()),
            source_id: Set(source_id),
            verified_at: Set(None),
            verify_token: Set(crate::credentials::hex(&rand::random::<[u8; 16]>())),
        }
        .insert(db)
        .await
        .map_err(conflict_on_unique(format!(
            "the domain `{domain}` is already routed to another identity source of this tenant"
        )))?;
    }
    Ok(())
}

/// Registers a source; its domains cannot belong to another source of the tenant.
pub async fn create(
    db: &DatabaseConnection,
    keyring: &Keyring,
    tenant_id: Uuid,
    new: NewIdentitySource,
) -> ServiceResult<IdentitySource> {
    check_client_id(&new.client_id)?;
    if new.client_secret.expose_secret().is_empty() {
        return Err(ServiceError::Invalid {
            field: "client_secret",
            message: "the client secret is empty".into(),
        });
    }
    let groups_claim = new
        .groups_claim
        .unwrap_or_else(|| default_groups_claim(new.preset).to_owned());
    check_groups_claim(&groups_claim)?;
    let id = crate::db::new_id();
    let sealed = seal_secret(keyring, tenant_id, id, &new.client_secret)?;
    let now = Utc::now();
    let issuer = new.issuer;
    let row = identity_source::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        name: Set(new.name.to_string()),
        issuer: Set(issuer),
        client_id: Set(new.client_id),
        client_secret: Set(sealed),
        scopes: Set(scope_list(new.scopes)),
        use_userinfo: Set(new.use_userinfo),
        offline_access: Set(new.offline_access),
        preset: Set(preset_str(new.preset).into()),
        groups_claim: Set(groups_claim),
        allow_guests: Set(new.allow_guests),
        fetch_group_overage: Set(new.fetch_group_overage),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let txn = db.begin().await?;
    let source = row
        .insert(&txn)
        .await
        .map_err(conflict_on_unique(format!("a source named `{}` exists", new.name)))?;
    set_domains(&txn, tenant_id, id, &new.domains).await?;
    txn.commit().await?;
    let claims = claims_of(db, tenant_id, id).await?;
    Ok(view(source, claims))
}

impl IdentitySource {
    /// How the relying party talks to this source: the one place that turns a source into
    /// OIDC settings, for logins and for "test connection" alike.
    pub fn oidc_config(&self, client_secret: SecretString) -> SourceConfig {
        let mut config = SourceConfig::new(self.issuer.as_str(), self.client_id.as_str(), client_secret)
            .with_allowed_domains(self.domains.iter().map(String::as_str));
        config.scopes = self.scopes.split_whitespace().map(str::to_owned).collect();
        config.fetch_userinfo = self.use_userinfo;
        config.checks = ProviderChecks {
            preset: self.preset,
            entra_tenant: self.entra_tenant.clone(),
            allow_guests: self.allow_guests,
            groups_claim: self.groups_claim.clone(),
            fetch_group_overage: self.fetch_group_overage,
        };
        config
    }

    /// The wire view; `redirect_uri` is this source's callback URL.
    pub fn to_wire(&self, redirect_uri: String) -> rosetta_api::IdentitySource {
        rosetta_api::IdentitySource {
            id: self.id.to_string(),
            name: self.name.clone(),
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            scopes: self.scopes.clone(),
            domains: self.domains.clone(),
            domain_verification: self.claims.iter().map(DomainClaim::to_wire).collect(),
            use_userinfo: self.use_userinfo,
            offline_access: self.offline_access,
            preset: self.preset,
            groups_claim: self.groups_claim.clone(),
            allow_guests: self.allow_guests,
            fetch_group_overage: self.fetch_group_overage,
            redirect_uri,
        }
    }
}

/// A source with its domain rows (sorted by domain).
fn view(m: identity_source::Model, mut rows: Vec<identity_source_domain::Model>) -> IdentitySource {
    rows.sort_by(|a, b| a.domain.cmp(&b.domain));
    let claims: Vec<DomainClaim> = rows
        .into_iter()
        .map(|d| DomainClaim {
            domain: d.domain,
            verified_at: d.verified_at,
            token: d.verify_token,
        })
        .collect();
    let preset = parse_preset(&m.preset);
    let entra_tenant = if preset == SourcePreset::Entra {
        entra_tenant_of(&m.issuer)
    } else {
        None
    };
    IdentitySource {
        id: m.id,
        name: m.name,
        issuer: m.issuer,
        client_id: m.client_id,
        scopes: m.scopes,
        domains: claims.iter().map(|c| c.domain.clone()).collect(),
        claims,
        use_userinfo: m.use_userinfo,
        offline_access: m.offline_access,
        preset,
        groups_claim: m.groups_claim,
        allow_guests: m.allow_guests,
        fetch_group_overage: m.fetch_group_overage,
        entra_tenant,
    }
}

/// The tenant's sources, by name, with their domains.
pub async fn list(db: &DatabaseConnection, tenant_id: Uuid) -> ServiceResult<Vec<IdentitySource>> {
    let sources = identity_source::Entity::find()
        .filter(identity_source::Column::TenantId.eq(tenant_id))
        .order_by_asc(identity_source::Column::Name)
        .all(db)
        .await?;
    let domains = identity_source_domain::Entity::find()
        .filter(identity_source_domain::Column::TenantId.eq(tenant_id))
        .order_by_asc(identity_source_domain::Column::Domain)
        .all(db)
        .await?;
    Ok(sources
        .into_iter()
        .map(|s| {
            let mine = domains.iter().filter(|d| d.source_id == s.id).cloned().collect();
            view(s, mine)
        })
        .collect())
}

/// The tenant's source with this name, with its client secret unsealed.
pub async fn find_with_secret(
    db: &DatabaseConnection,
    keyring: &Keyring,
    tenant_id: Uuid,
    name: &str,
) -> ServiceResult<Option<(IdentitySource, SecretString)>> {
    let Some(row) = identity_source::Entity::find()
        .filter(identity_source::Column::TenantId.eq(tenant_id))
        .filter(identity_source::Column::Name.eq(name))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let secret = unseal_secret(keyring, &row)?;
    let domains = claims_of(db, tenant_id, row.id).await?;
    Ok(Some((view(row, domains), secret)))
}

/// Removes the tenant's source with this name (and its domains).
pub async fn remove(db: &DatabaseConnection, tenant_id: Uuid, name: &str) -> ServiceResult<()> {
    let row = identity_source::Entity::find()
        .filter(identity_source::Column::TenantId.eq(tenant_id))
        .filter(identity_source::Column::Name.eq(name))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no identity source `{name}`")))?;
    let txn = db.begin().await?;
    identity_source_domain::Entity::delete_many()
        .filter(identity_source_domain::Column::SourceId.eq(row.id))
        .exec(&txn)
        .await?;
    row.delete(&txn).await?;
    txn.commit().await?;
    Ok(())
}

async fn row(db: &DatabaseConnection, tenant_id: Uuid, id: Uuid) -> ServiceResult<identity_source::Model> {
    identity_source::Entity::find_by_id(id)
        .filter(identity_source::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::NotFound("no such identity source".into()))
}

async fn claims_of(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    source_id: Uuid,
) -> ServiceResult<Vec<identity_source_domain::Model>> {
    Ok(identity_source_domain::Entity::find()
        .filter(identity_source_domain::Column::TenantId.eq(tenant_id))
        .filter(identity_source_domain::Column::SourceId.eq(source_id))
        .all(db)
        .await?)
}

/// The tenant's source with this ID (never its secret).
pub async fn get(db: &DatabaseConnection, tenant_id: Uuid, id: Uuid) -> ServiceResult<IdentitySource> {
    let r = row(db, tenant_id, id).await?;
    let domains = claims_of(db, tenant_id, r.id).await?;
    Ok(view(r, domains))
}

/// Changes to a source; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct SourceUpdate {
    /// Issuer (already checked with [`parse_issuer`]).
    pub issuer: Option<String>,
    /// OAuth client ID.
    pub client_id: Option<String>,
    /// A new client secret, sealed before it is stored.
    pub client_secret: Option<SecretString>,
    /// Scopes; `openid` is always included.
    pub scopes: Option<Vec<String>>,
    /// Email domains (replaces the list).
    pub domains: Option<Vec<EmailDomain>>,
    /// Whether userinfo is called.
    pub use_userinfo: Option<bool>,
    /// Whether `offline_access` is asked.
    pub offline_access: Option<bool>,
    /// The claim carrying groups (empty: none).
    pub groups_claim: Option<String>,
    /// Entra ID: guests may log in.
    pub allow_guests: Option<bool>,
    /// Entra ID: group overages are read from Microsoft Graph.
    pub fetch_group_overage: Option<bool>,
}

/// Applies an update; returns the source before and after (never the secret).
pub async fn update(
    db: &DatabaseConnection,
    keyring: &Keyring,
    tenant_id: Uuid,
    id: Uuid,
    change: SourceUpdate,
) -> ServiceResult<(IdentitySource, IdentitySource)> {
    let current = row(db, tenant_id, id).await?;
    let before = view(current.clone(), claims_of(db, tenant_id, id).await?);
    let mut active: identity_source::ActiveModel = current.into();
    if let Some(issuer) = change.issuer {
        active.issuer = Set(issuer);
    }
    if let Some(client_id) = change.client_id {
        check_client_id(&client_id)?;
        active.client_id = Set(client_id);
    }
    if let Some(secret) = change.client_secret {
        if secret.expose_secret().is_empty() || secret.expose_secret().len() > 4096 {
            return Err(ServiceError::Invalid {
                field: "client_secret",
                message: "a client secret has 1 to 4096 characters".into(),
            });
        }
        active.client_secret = Set(seal_secret(keyring, tenant_id, id, &secret)?);
    }
    if let Some(scopes) = change.scopes {
        active.scopes = Set(scope_list(scopes));
    }
    if let Some(offline) = change.offline_access {
        active.offline_access = Set(offline);
    }
    if let Some(userinfo) = change.use_userinfo {
        active.use_userinfo = Set(userinfo);
    }
    if let Some(claim) = change.groups_claim {
        check_groups_claim(&claim)?;
        active.groups_claim = Set(claim);
    }
    if let Some(allow) = change.allow_guests {
        active.allow_guests = Set(allow);
    }
    if let Some(fetch) = change.fetch_group_overage {
        active.fetch_group_overage = Set(fetch);
    }
    active.updated_at = Set(Utc::now());
    let txn = db.begin().await?;
    let updated = active.update(&txn).await?;
    if let Some(domains) = &change.domains {
        if domains.is_empty() {
            return Err(ServiceError::Invalid {
                field: "domains",
                message: "a source needs at least one email domain".into(),
            });
        }
        set_domains(&txn, tenant_id, id, domains).await?;
    }
    txn.commit().await?;
    let after = view(updated, claims_of(db, tenant_id, id).await?);
    Ok((before, after))
}

/// Deletes the tenant's source with this ID (and its domains); returns it.
pub async fn delete(db: &DatabaseConnection, tenant_id: Uuid, id: Uuid) -> ServiceResult<IdentitySource> {
    let gone = get(db, tenant_id, id).await?;
    remove(db, tenant_id, &gone.name).await?;
    Ok(gone)
}

/// The tenant's sources with their client secrets unsealed (two queries in all).
pub async fn list_with_secrets(
    db: &DatabaseConnection,
    keyring: &Keyring,
    tenant_id: Uuid,
) -> ServiceResult<Vec<(IdentitySource, SecretString)>> {
    let rows = identity_source::Entity::find()
        .filter(identity_source::Column::TenantId.eq(tenant_id))
        .order_by_asc(identity_source::Column::Name)
        .all(db)
        .await?;
    let domains = identity_source_domain::Entity::find()
        .filter(identity_source_domain::Column::TenantId.eq(tenant_id))
        .order_by_asc(identity_source_domain::Column::Domain)
        .all(db)
        .await?;
    rows.into_iter()
        .map(|row| {
            let secret = unseal_secret(keyring, &row)?;
            let mine = domains.iter().filter(|d| d.source_id == row.id).cloned().collect();
            Ok((view(row, mine), secret))
        })
        .collect()
}

/// Proves the tenant owns `domain`, one of the source's: its `_rosetta-challenge` TXT record
/// must hold the tenant's token for it. Already proved: nothing to do. Proved by another
/// tenant: a conflict that does not say which (the claim stays usable inside this tenant).
/// Returns the source and whether this call proved the domain.
pub async fn verify_domain(
    db: &DatabaseConnection,
    prover: &super::domain_proof::DomainProver,
    tenant_id: Uuid,
    source_id: Uuid,
    domain: &EmailDomain,
) -> ServiceResult<(IdentitySource, bool)> {
    use super::domain_proof::{Proof, record_name, record_value};
    let source = row(db, tenant_id, source_id).await?;
    let claim = identity_source_domain::Entity::find_by_id((tenant_id, domain.to_string()))
        .filter(identity_source_domain::Column::SourceId.eq(source_id))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("the source `{}` has no domain `{domain}`", source.name)))?;
    if claim.verified_at.is_some() {
        let claims = claims_of(db, tenant_id, source_id).await?;
        return Ok((view(source, claims), false));
    }
    let taken = || {
        ServiceError::Conflict(format!(
            "`{domain}` is already verified by another organisation on Rosetta; it still works for \
             logins here, unverified. If the domain is yours, contact support"
        ))
    };
    let verified_elsewhere = identity_source_domain::Entity::find()
        .filter(identity_source_domain::Column::Domain.eq(domain.to_string()))
        .filter(identity_source_domain::Column::VerifiedAt.is_not_null())
        .one(db)
        .await?;
    if verified_elsewhere.is_some() {
        return Err(taken());
    }
    let (name, value) = (record_name(domain.as_str()), record_value(&claim.verify_token));
    let unproved = |message: String| ServiceError::Invalid {
        field: "domain",
        message,
    };
    match prover.check(domain.as_str(), &claim.verify_token).await {
        Proof::Proved => {}
        Proof::NoRecord => {
            return Err(unproved(format!(
                "no TXT record at `{name}`: publish one holding `{value}`, then verify again \
                 (a new record can take some minutes to reach resolvers)"
            )));
        }
        Proof::OtherValues(n) => {
            return Err(unproved(format!(
                "{n} TXT record(s) at `{name}`, none holding `{value}`: publish that value exactly, \
                 then verify again"
            )));
        }
        Proof::LookupFailed(why) => {
            return Err(unproved(format!(
                "the DNS lookup of `{name}` failed ({why}); check the domain's nameservers answer, \
                 then verify again"
            )));
        }
    }
    let mut active: identity_source_domain::ActiveModel = claim.into();
    active.verified_at = Set(Some(Utc::now()));
    active.update(db).await.map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => taken(),
        _ => ServiceError::Database(e),
    })?;
    let claims = claims_of(db, tenant_id, source_id).await?;
    Ok((view(source, claims), true))
}
