//! A tenant's SAML signing key.

use sea_orm::entity::prelude::*;

/// Lifecycle of a key: published as `next`, signing as `active`, kept as `retired`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum KeyState {
    /// In metadata, not yet signing.
    #[sea_orm(string_value = "next")]
    Next,
    /// Signs responses (one per tenant).
    #[sea_orm(string_value = "active")]
    Active,
    /// No longer used or published.
    #[sea_orm(string_value = "retired")]
    Retired,
}

/// Row of `signing_key`.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_key")]
pub struct Model {
    /// Random identifier.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Lifecycle state.
    pub state: KeyState,
    /// PKCS#8 DER sealed with the master key.
    pub private_key: Vec<u8>,
    /// X.509 certificate, DER.
    pub certificate: Vec<u8>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// When it became active.
    pub activated_at: Option<DateTimeUtc>,
    /// When it was retired.
    pub retired_at: Option<DateTimeUtc>,
    /// The expiry threshold (30 or 7 days) the owners were last emailed about.
    pub expiry_warned: Option<i32>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("state", &self.state)
            .field("private_key", &"<sealed>")
            .finish_non_exhaustive()
    }
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
