//! Where a service provider's users are provisioned: a SCIM 2.0 directory and its key.

use sea_orm::entity::prelude::*;

/// Row of `provisioning_target`; at most one per service provider.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "provisioning_target")]
pub struct Model {
    /// Random identifier.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// The service provider whose users are pushed.
    pub service_provider_id: Uuid,
    /// SCIM base URL (`/Users` is under it).
    pub base_url: String,
    /// Bearer key, sealed with the master key.
    pub api_key: Vec<u8>,
    /// When the key expires (Atlassian's keys live one year), if known.
    pub key_expires_on: Option<Date>,
    /// Pushes are queued and sent.
    pub enabled: bool,
    /// Why pushes are paused (the key was rejected); `None` when they flow.
    pub paused_reason: Option<String>,
    /// When pushes were paused.
    pub paused_at: Option<DateTimeUtc>,
    /// No push before this Unix millisecond (the directory's `Retry-After`).
    pub hold_until_ms: i64,
    /// The last expiry warning sent (days before: 30 or 7).
    pub expiry_warned: Option<i32>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("provisioning_target::Model")
            .field("id", &self.id)
            .field("service_provider_id", &self.service_provider_id)
            .field("base_url", &self.base_url)
            .field("enabled", &self.enabled)
            .field("paused_reason", &self.paused_reason)
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
