//! A user's refresh token at their identity source (sources with `offline_access` on).

use sea_orm::entity::prelude::*;

/// Row of `end_user_grant`.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "end_user_grant")]
pub struct Model {
    /// The user.
    #[sea_orm(primary_key, auto_increment = false)]
    pub end_user_id: Uuid,
    /// The user's tenant.
    pub tenant_id: Uuid,
    /// The source that issued it.
    pub source_id: Uuid,
    /// The refresh token, sealed with the master key; `None` when none was issued.
    pub refresh_token: Option<Vec<u8>>,
    /// `working`, `not_issued` (the provider gave none when asked) or `refused` (the
    /// provider refused it: the user departed).
    pub state: String,
    /// When it was last redeemed.
    pub checked_at: Option<DateTimeUtc>,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndUserGrant")
            .field("end_user_id", &self.end_user_id)
            .field("source_id", &self.source_id)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "<sealed>"))
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
