//! SAML service providers of a tenant.

use chrono::Utc;
use std::sync::Arc;

pub use rosetta_api::{
    AcsEndpoint, AttributeRule, Claim, GroupsRule, Mapping, NameIdRule, Preset, SpMfaPolicy, ValueSource,
};
use rosetta_entity::service_provider;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, ModelTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::{ServiceError, ServiceResult, conflict_on_unique, to_json};
use crate::domain::{AcsUrl, EntityId, Handle};
use crate::saml::metadata::SUPPORTED_NAMEID_FORMATS;
use crate::saml::uri::{ATTRNAME_FORMAT_UNSPECIFIED, ATTRNAME_FORMAT_URI, NAMEID_EMAIL, NAMEID_UNSPECIFIED};

/// Where Atlassian (and Microsoft-style SPs) expect user claims.
pub const CLAIMS_NS: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/";

/// Reads a stored per-SP MFA policy; `None` (or anything unknown) follows the tenant.
pub fn parse_sp_mfa(value: Option<&str>) -> SpMfaPolicy {
    match value {
        Some("off") => SpMfaPolicy::Off,
        Some("optional") => SpMfaPolicy::Optional,
        Some("required") => SpMfaPolicy::Required,
        _ => SpMfaPolicy::Inherit,
    }
}

fn sp_mfa_str(p: SpMfaPolicy) -> Option<&'static str> {
    match p {
        SpMfaPolicy::Inherit => None,
        SpMfaPolicy::Off => Some("off"),
        SpMfaPolicy::Optional => Some("optional"),
        SpMfaPolicy::Required => Some("required"),
    }
}

fn preset_str(p: Preset) -> &'static str {
    match p {
        Preset::Atlassian => "atlassian",
        Preset::Generic => "generic",
    }
}

/// The Atlassian claims: `givenname`, `surname`, `emailaddress`, `name` (a stable ID).
pub fn atlassian_attributes() -> Vec<AttributeRule> {
    [
        ("givenname", Claim::GivenName),
        ("surname", Claim::FamilyName),
        ("emailaddress", Claim::Email),
        ("name", Claim::UserId),
    ]
    .into_iter()
    .map(|(n, claim)| AttributeRule {
        name: format!("{CLAIMS_NS}{n}"),
        name_format: ATTRNAME_FORMAT_URI.into(),
        value: ValueSource::User { value: claim },
        transforms: Vec::new(),
        multi_valued: false,
        required: false,
    })
    .collect()
}

fn generic_attributes() -> Vec<AttributeRule> {
    [
        ("email", Claim::Email),
        ("given_name", Claim::GivenName),
        ("family_name", Claim::FamilyName),
        ("name", Claim::Name),
    ]
    .into_iter()
    .map(|(n, claim)| AttributeRule {
        name: n.into(),
        name_format: ATTRNAME_FORMAT_UNSPECIFIED.into(),
        value: ValueSource::User { value: claim },
        transforms: Vec::new(),
        multi_valued: false,
        required: false,
    })
    .collect()
}

/// A service provider with its JSON columns parsed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceProvider {
    /// Identifier.
    pub id: Uuid,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Short name.
    pub name: String,
    /// Preset it was created from.
    pub preset: Preset,
    /// Entity ID.
    pub entity_id: String,
    /// ACS endpoints.
    pub acs: Vec<AcsEndpoint>,
    /// NameID format URI.
    pub name_id_format: String,
    /// Attributes released.
    pub attributes: Vec<AttributeRule>,
    /// The NameID's value (email and unspecified formats).
    pub name_id: NameIdRule,
    /// The groups rule.
    pub groups: GroupsRule,
    /// Whether AuthnRequests must be signed.
    pub want_requests_signed: bool,
    /// Base64 DER certificates that may sign requests.
    pub request_signing_certs: Vec<String>,
    /// End-user MFA override.
    pub mfa_policy: SpMfaPolicy,
    /// The secret of this SP's pairwise persistent NameIDs (never shown or audited).
    #[serde(skip)]
    pub pairwise_salt: Option<String>,
    /// The mapping compiled (once per configuration: this value is cached with the SP).
    #[serde(skip)]
    pub rules: Rules,
}

/// A compiled mapping, shared by every clone of its SP.
#[derive(Clone, Debug, Default)]
pub struct Rules(pub Arc<crate::mapping::Compiled>);

/// Compiled rules compare equal: they are a function of the mapping fields beside them,
/// which are compared.
impl PartialEq for Rules {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Rules {}

impl ServiceProvider {
    /// The mapping, as the API shows and takes it.
    pub fn mapping(&self) -> Mapping {
        Mapping {
            name_id_format: Some(self.name_id_format.clone()),
            name_id: self.name_id.clone(),
            attributes: self.attributes.clone(),
            groups: self.groups.clone(),
        }
    }

    /// What `subject` sends to this SP in `format` (the request's NameID format).
    pub fn release(
        &self,
        format: &str,
        subject: &crate::mapping::Subject<'_>,
    ) -> Result<crate::mapping::Release, crate::mapping::MappingError> {
        self.rules.0.release(format, self.pairwise_salt.as_deref(), subject)
    }
}

/// Reads the stored mapping: a JSON object, or the list of attributes SPs had before.
fn parse_mapping(json: &str) -> Result<Mapping, serde_json::Error> {
    if json.trim_start().starts_with('[') {
        Ok(crate::mapping::default_mapping(serde_json::from_str(json)?))
    } else {
        serde_json::from_str(json)
    }
}

/// The mapping as stored (the format has its own column).
fn mapping_json(name_id: &NameIdRule, attributes: &[AttributeRule], groups: &GroupsRule) -> ServiceResult<String> {
    to_json(&Mapping {
        name_id_format: None,
        name_id: name_id.clone(),
        attributes: attributes.to_vec(),
        groups: groups.clone(),
    })
}

/// Compiles `mapping`, or says which rules are wrong.
fn compile(mapping: &Mapping) -> ServiceResult<Rules> {
    crate::mapping::compile(mapping)
        .map(|c| Rules(Arc::new(c)))
        .map_err(ServiceError::Rules)
}

impl ServiceProvider {
    /// The wire view.
    pub fn to_wire(&self) -> rosetta_api::ServiceProvider {
        rosetta_api::ServiceProvider {
            id: self.id.to_string(),
            name: self.name.clone(),
            preset: self.preset,
            entity_id: self.entity_id.clone(),
            acs: self.acs.clone(),
            name_id_format: self.name_id_format.clone(),
            attributes: self.attributes.clone(),
            name_id: self.name_id.clone(),
            groups: self.groups.clone(),
            want_requests_signed: self.want_requests_signed,
            request_signing_certs: self.request_signing_certs.clone(),
            mfa_policy: self.mfa_policy,
        }
    }
}

impl TryFrom<service_provider::Model> for ServiceProvider {
    type Error = ServiceError;

    fn try_from(m: service_provider::Model) -> ServiceResult<Self> {
        let json = |e: serde_json::Error| ServiceError::Internal(format!("service provider {}: {e}", m.id));
        let mapping = parse_mapping(&m.attribute_mapping).map_err(json)?;
        // What was saved compiled then; failing now is a bug (or a hand-edited row).
        let rules = compile(&mapping).map_err(|e| ServiceError::Internal(format!("service provider {}: {e}", m.id)))?;
        Ok(Self {
            id: m.id,
            tenant_id: m.tenant_id,
            preset: if m.preset == "atlassian" {
                Preset::Atlassian
            } else {
                Preset::Generic
            },
            acs: serde_json::from_str(&m.acs_urls).map_err(json)?,
            attributes: mapping.attributes,
            name_id: mapping.name_id,
            groups: mapping.groups,
            pairwise_salt: m.pairwise_salt,
            rules,
            request_signing_certs: serde_json::from_str(&m.request_signing_certs).map_err(json)?,
            name: m.name,
            entity_id: m.entity_id,
            name_id_format: m.name_id_format,
            want_requests_signed: m.want_requests_signed,
            mfa_policy: parse_sp_mfa(m.mfa_policy.as_deref()),
        })
    }
}

/// One ACS endpoint to register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAcs {
    /// `index`, as the SP sends it in `AssertionConsumerServiceIndex`.
    pub index: u16,
    /// The URL, byte for byte (query string included).
    pub url: AcsUrl,
    /// Whether this is the SP's default endpoint.
    pub is_default: bool,
}

impl NewAcs {
    /// Endpoints numbered in order, the first being the default (for URLs pasted by hand).
    pub fn in_order(urls: Vec<AcsUrl>) -> Vec<Self> {
        urls.into_iter()
            .enumerate()
            .map(|(i, url)| Self {
                index: u16::try_from(i).unwrap_or(u16::MAX),
                url,
                is_default: i == 0,
            })
            .collect()
    }
}

/// What an admin or operator registers.
#[derive(Clone, Debug)]
pub struct NewServiceProvider {
    /// Short name.
    pub name: Handle,
    /// Preset.
    pub preset: Preset,
    /// Entity ID.
    pub entity_id: EntityId,
    /// ACS endpoints (exactly one default).
    pub acs: Vec<NewAcs>,
    /// NameID format; default from the preset.
    pub name_id_format: Option<String>,
    /// Whether AuthnRequests must be signed.
    pub want_requests_signed: bool,
    /// Base64 DER certificates whose keys may sign requests.
    pub request_signing_certs: Vec<String>,
}

/// Registers an SP. Its name and entity ID are unique within the tenant; another tenant may
/// register the same entity ID (each tenant's host and signing key tell the two apart).
pub async fn create(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    new: NewServiceProvider,
) -> ServiceResult<ServiceProvider> {
    if new.acs.is_empty() {
        return Err(ServiceError::Invalid {
            field: "acs_url",
            message: "at least one ACS URL is required".into(),
        });
    }
    if new.acs.iter().filter(|a| a.is_default).count() != 1 {
        return Err(ServiceError::Invalid {
            field: "acs_url",
            message: "exactly one ACS URL must be the default".into(),
        });
    }
    if new.want_requests_signed && new.request_signing_certs.is_empty() {
        return Err(ServiceError::Invalid {
            field: "request_signing_certs",
            message: "signed requests need at least one certificate to verify them with".into(),
        });
    }
    let format = new.name_id_format.unwrap_or_else(|| match new.preset {
        Preset::Atlassian => NAMEID_EMAIL.into(),
        Preset::Generic => NAMEID_UNSPECIFIED.into(),
    });
    if !SUPPORTED_NAMEID_FORMATS.contains(&format.as_str()) {
        return Err(ServiceError::Invalid {
            field: "name_id_format",
            message: format!("unsupported NameID format `{format}`"),
        });
    }
    let acs: Vec<AcsEndpoint> = new
        .acs
        .iter()
        .map(|a| AcsEndpoint {
            index: a.index,
            url: a.url.to_string(),
            default: a.is_default,
        })
        .collect();
    let attributes = match new.preset {
        Preset::Atlassian => atlassian_attributes(),
        Preset::Generic => generic_attributes(),
    };
    let mapping = crate::mapping::default_mapping(attributes);
    let now = Utc::now();
    let row = service_provider::ActiveModel {
        id: Set(crate::db::new_id()),
        tenant_id: Set(tenant_id),
        name: Set(new.name.to_string()),
        preset: Set(preset_str(new.preset).into()),
        entity_id: Set(new.entity_id.to_string()),
        acs_urls: Set(to_json(&acs)?),
        name_id_format: Set(format),
        attribute_mapping: Set(mapping_json(&mapping.name_id, &mapping.attributes, &mapping.groups)?),
        want_requests_signed: Set(new.want_requests_signed),
        request_signing_certs: Set(to_json(&new.request_signing_certs)?),
        mfa_policy: Set(None),
        pairwise_salt: Set(Some(crate::credentials::hex(&rand::random::<[u8; 32]>()))),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let message = format!(
        "this tenant already has a service provider named `{}` or with entity ID `{}`",
        new.name, new.entity_id
    );
    row.insert(db).await.map_err(conflict_on_unique(message))?.try_into()
}

/// The tenant's SPs, by name.
pub async fn list(db: &DatabaseConnection, tenant_id: Uuid) -> ServiceResult<Vec<ServiceProvider>> {
    service_provider::Entity::find()
        .filter(service_provider::Column::TenantId.eq(tenant_id))
        .order_by_asc(service_provider::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

/// The tenant's SP with this entity ID (the Issuer of an AuthnRequest), if any.
pub async fn find_by_entity_id(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    entity_id: &str,
) -> ServiceResult<Option<ServiceProvider>> {
    service_provider::Entity::find()
        .filter(service_provider::Column::TenantId.eq(tenant_id))
        .filter(service_provider::Column::EntityId.eq(entity_id))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// The tenant's SP with this name, if any.
pub async fn find_by_name(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    name: &str,
) -> ServiceResult<Option<ServiceProvider>> {
    service_provider::Entity::find()
        .filter(service_provider::Column::TenantId.eq(tenant_id))
        .filter(service_provider::Column::Name.eq(name))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// Removes the tenant's SP with this name.
pub async fn remove(db: &DatabaseConnection, tenant_id: Uuid, name: &str) -> ServiceResult<()> {
    let row = service_provider::Entity::find()
        .filter(service_provider::Column::TenantId.eq(tenant_id))
        .filter(service_provider::Column::Name.eq(name))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no service provider `{name}`")))?;
    row.delete(db).await?;
    Ok(())
}

/// The tenant's SP with this ID.
pub async fn get(db: &DatabaseConnection, tenant_id: Uuid, id: Uuid) -> ServiceResult<ServiceProvider> {
    row(db, tenant_id, id).await?.try_into()
}

async fn row(db: &DatabaseConnection, tenant_id: Uuid, id: Uuid) -> ServiceResult<service_provider::Model> {
    service_provider::Entity::find_by_id(id)
        .filter(service_provider::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::NotFound("no such service provider".into()))
}

/// Changes to an SP; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct SpUpdate {
    /// ACS endpoints (exactly one default).
    pub acs: Option<Vec<NewAcs>>,
    /// NameID format.
    pub name_id_format: Option<String>,
    /// Attributes released.
    pub attributes: Option<Vec<AttributeRule>>,
    /// Whether AuthnRequests must be signed.
    pub want_requests_signed: Option<bool>,
    /// Base64 DER certificates that may sign requests.
    pub request_signing_certs: Option<Vec<String>>,
    /// End-user MFA override.
    pub mfa_policy: Option<SpMfaPolicy>,
}

/// Applies an update with the same checks as [`create`]; returns the SP before and after.
pub async fn update(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    id: Uuid,
    change: SpUpdate,
) -> ServiceResult<(ServiceProvider, ServiceProvider)> {
    let current = row(db, tenant_id, id).await?;
    let before: ServiceProvider = current.clone().try_into()?;
    let mut next = before.clone();
    if let Some(acs) = change.acs {
        if acs.is_empty() || acs.iter().filter(|a| a.is_default).count() != 1 {
            return Err(ServiceError::Invalid {
                field: "acs_urls",
                message: "at least one ACS URL is required, exactly one being the default".into(),
            });
        }
        next.acs = acs
            .iter()
            .map(|a| AcsEndpoint {
                index: a.index,
                url: a.url.to_string(),
                default: a.is_default,
            })
            .collect();
    }
    if let Some(format) = change.name_id_format {
        if !SUPPORTED_NAMEID_FORMATS.contains(&format.as_str()) {
            return Err(ServiceError::Invalid {
                field: "name_id_format",
                message: format!("unsupported NameID format `{}`", format.escape_default()),
            });
        }
        next.name_id_format = format;
    }
    if let Some(attributes) = change.attributes {
        next.attributes = attributes;
        next.rules = compile(&next.mapping())?;
    }
    if let Some(certs) = change.request_signing_certs {
        next.request_signing_certs = certs;
    }
    if let Some(signed) = change.want_requests_signed {
        next.want_requests_signed = signed;
    }
    if next.want_requests_signed && next.request_signing_certs.is_empty() {
        return Err(ServiceError::Invalid {
            field: "request_signing_certs",
            message: "signed requests need at least one certificate to verify them with".into(),
        });
    }
    if let Some(policy) = change.mfa_policy {
        next.mfa_policy = policy;
    }
    let mut active: service_provider::ActiveModel = current.into();
    active.acs_urls = Set(to_json(&next.acs)?);
    active.name_id_format = Set(next.name_id_format.clone());
    active.attribute_mapping = Set(mapping_json(&next.name_id, &next.attributes, &next.groups)?);
    active.want_requests_signed = Set(next.want_requests_signed);
    active.request_signing_certs = Set(to_json(&next.request_signing_certs)?);
    active.mfa_policy = Set(sp_mfa_str(next.mfa_policy).map(str::to_owned));
    active.updated_at = Set(Utc::now());
    let after = active.update(db).await?.try_into()?;
    Ok((before, after))
}

/// Replaces the SP's mapping (and its NameID format, when given) after compiling it: every
/// rule that cannot be compiled is reported, naming it. Returns the SP before and after.
pub async fn set_mapping(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    id: Uuid,
    mapping: Mapping,
) -> ServiceResult<(ServiceProvider, ServiceProvider)> {
    let current = row(db, tenant_id, id).await?;
    let before: ServiceProvider = current.clone().try_into()?;
    if let Some(format) = &mapping.name_id_format
        && !SUPPORTED_NAMEID_FORMATS.contains(&format.as_str())
    {
        return Err(ServiceError::Invalid {
            field: "name_id_format",
            message: format!("unsupported NameID format `{}`", format.escape_default()),
        });
    }
    compile(&mapping)?;
    let mut active: service_provider::ActiveModel = current.into();
    if let Some(format) = mapping.name_id_format {
        active.name_id_format = Set(format);
    }
    active.attribute_mapping = Set(mapping_json(&mapping.name_id, &mapping.attributes, &mapping.groups)?);
    active.updated_at = Set(Utc::now());
    let after = active.update(db).await?.try_into()?;
    Ok((before, after))
}

/// Deletes the tenant's SP with this ID; returns what was deleted.
pub async fn delete(db: &DatabaseConnection, tenant_id: Uuid, id: Uuid) -> ServiceResult<ServiceProvider> {
    let current = row(db, tenant_id, id).await?;
    let gone: ServiceProvider = current.clone().try_into()?;
    current.delete(db).await?;
    Ok(gone)
}

/// Parses certificates pasted as PEM or base64 DER into base64 DER, refusing anything that
/// is not an X.509 certificate.
pub fn parse_certificates(values: &[String]) -> ServiceResult<Vec<String>> {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let invalid = |m: String| ServiceError::Invalid {
        field: "request_signing_certs",
        message: m,
    };
    if values.len() > 8 {
        return Err(invalid("at most 8 certificates".into()));
    }
    values
        .iter()
        .map(|v| {
            let body: String = v
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .flat_map(|l| l.chars())
                .filter(|c| !c.is_whitespace())
                .collect();
            let der = engine
                .decode(&body)
                .map_err(|_| invalid("a certificate is PEM or base64 DER".into()))?;
            openssl::x509::X509::from_der(&der).map_err(|_| invalid("this is not an X.509 certificate".into()))?;
            Ok(engine.encode(der))
        })
        .collect()
}
