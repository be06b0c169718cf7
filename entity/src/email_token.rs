//! A single-use, expiring email link (verify address, reset password), stored as a hash.

use sea_orm::entity::prelude::*;

/// Row of `email_token`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_token")]
pub struct Model {
    /// Random identifier.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The account it acts on.
    pub account_id: Uuid,
    /// `verify_email` or `reset_password`.
    pub purpose: String,
    /// SHA-256 (hex) of the token in the link.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// After this the link no longer works.
    pub expires_at: DateTimeUtc,
    /// When it was used (single use).
    pub used_at: Option<DateTimeUtc>,
    /// Creation time.
    pub created_at: DateTimeUtc,
}

/// No relations needed by queries yet.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
