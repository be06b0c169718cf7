//! A tenant: one customer, reachable at `<slug>.<public host>`.

use sea_orm::entity::prelude::*;

/// Lifecycle state of a tenant, stored as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum TenantStatus {
    /// Brokering endpoints answer.
    #[sea_orm(string_value = "active")]
    Active,
    /// Brokering endpoints answer 404; data is kept.
    #[sea_orm(string_value = "suspended")]
    Suspended,
}

/// Row of the `tenant` table.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant")]
pub struct Model {
    /// Random identifier.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// DNS label, unique across the deployment.
    #[sea_orm(unique)]
    pub slug: String,
    /// Human name shown on pages.
    pub display_name: String,
    /// Lifecycle state.
    pub status: TenantStatus,
    /// Whether every admin of this tenant must use TOTP.
    pub admin_mfa_required: bool,
    /// End-user MFA policy: `off`, `optional` or `required`.
    pub end_user_mfa: String,
    /// Skip Rosetta's TOTP when the provider's ID token proves a second factor.
    pub mfa_trust_upstream: bool,
    /// `acr` values that count as a second factor (space-separated), besides `amr`.
    pub mfa_trusted_acr: Option<String>,
    /// Ask for the TOTP again after this many hours of a broker session; `None`: once
    /// per session.
    pub mfa_max_age_hours: Option<i32>,
    /// Hours between two liveness runs (refresh tokens redeemed).
    pub liveness_interval_hours: i32,
    /// Days without a login after which a user is marked departed; `None`: never.
    pub deactivate_after_days: Option<i32>,
    /// When a replica last took the tenant's liveness run.
    pub liveness_checked_at: Option<DateTimeUtc>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// No relations yet.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
