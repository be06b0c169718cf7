//! An admin account's role in one tenant.

use sea_orm::entity::prelude::*;

/// Row of `membership`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "membership")]
pub struct Model {
    /// Random identifier.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub tenant_id: Uuid,
    /// The admin account.
    pub account_id: Uuid,
    /// `owner` (also manages members) or `admin`.
    pub role: String,
    /// When the account joined.
    pub created_at: DateTimeUtc,
}

/// No relations needed by queries yet.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
