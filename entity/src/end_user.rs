//! A person who logged in through a tenant; keyed on (tenant, issuer, sub), never email.

use sea_orm::entity::prelude::*;

/// Row of `end_user`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "end_user")]
pub struct Model {
    /// Random identifier.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Upstream issuer.
    pub issuer: String,
    /// Upstream `sub`.
    pub subject: String,
    /// Last verified email.
    pub email: String,
    /// Last known name.
    pub display_name: Option<String>,
    /// `active` or `blocked`.
    pub status: String,
    /// Last successful login.
    pub last_login_at: Option<DateTimeUtc>,
    /// TOTP seed, sealed with the master key.
    pub totp_secret: Option<Vec<u8>>,
    /// When TOTP was confirmed.
    pub totp_enabled_at: Option<DateTimeUtc>,
    /// Last accepted TOTP time step.
    pub totp_last_step: Option<i64>,
    /// JSON list of SHA-256 hashes of unused recovery codes.
    pub recovery_codes: Option<String>,
    /// The last login's claims (bounded JSON object), for previews and provisioning.
    pub claims: Option<String>,
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
