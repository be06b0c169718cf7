//! An emailed invitation to join a tenant; the link carries a token stored only as a hash.

use sea_orm::entity::prelude::*;

/// Row of `invitation`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitation")]
pub struct Model {
    /// Random identifier.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant to join.
    pub tenant_id: Uuid,
    /// Invited address, lowercased.
    pub email: String,
    /// Role granted on acceptance.
    pub role: String,
    /// SHA-256 (hex) of the link's token.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// Email of the inviting admin.
    pub invited_by: String,
    /// After this the link no longer works.
    pub expires_at: DateTimeUtc,
    /// When it was used (single use).
    pub accepted_at: Option<DateTimeUtc>,
    /// Creation time.
    pub created_at: DateTimeUtc,
}

/// No relations needed by queries yet.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
