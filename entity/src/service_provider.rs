//! A SAML service provider registered by a tenant (Atlassian or generic).

use sea_orm::entity::prelude::*;

/// Row of `service_provider`. JSON columns are parsed by the service layer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "service_provider")]
pub struct Model {
    /// Random identifier.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Short name, unique within the tenant (used in `/saml/init/{name}`).
    pub name: String,
    /// `atlassian` or `generic`.
    pub preset: String,
    /// The SP's entity ID, unique within the tenant (two tenants may register the same SP:
    /// each tenant's host tells them apart).
    pub entity_id: String,
    /// JSON list of `{index, url, default}`.
    pub acs_urls: String,
    /// NameID format URI sent to this SP.
    pub name_id_format: String,
    /// JSON mapping: `{name_id, attributes, groups}` (an older row: the attribute list).
    pub attribute_mapping: String,
    /// Whether AuthnRequests must be signed.
    pub want_requests_signed: bool,
    /// JSON list of base64 DER certificates that may sign requests.
    pub request_signing_certs: String,
    /// End-user MFA policy for this SP (`off`, `optional`, `required`); `None` follows
    /// the tenant's.
    pub mfa_policy: Option<String>,
    /// Secret (hex) making this SP's persistent NameIDs its own; `None` for SPs registered
    /// before pairwise identifiers, which keep Rosetta's user ID.
    pub pairwise_salt: Option<String>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The owning tenant.
    #[sea_orm(
        belongs_to = "super::tenant::Entity",
        from = "Column::TenantId",
        to = "super::tenant::Column::Id"
    )]
    Tenant,
}

impl ActiveModelBehavior for ActiveModel {}
