//! What a provisioning target holds for a user, and how the last push went.

use sea_orm::entity::prelude::*;

/// Row of `provisioning_link`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "provisioning_link")]
pub struct Model {
    /// The target.
    #[sea_orm(primary_key, auto_increment = false)]
    pub target_id: Uuid,
    /// The user.
    #[sea_orm(primary_key, auto_increment = false)]
    pub end_user_id: Uuid,
    /// The user's SCIM `id` at the target, once known.
    pub scim_id: Option<String>,
    /// `synced` or `failed`.
    pub state: String,
    /// Whether the target holds the user active.
    pub active: bool,
    /// Why the last push failed.
    pub reason: Option<String>,
    /// When the last push ended.
    pub pushed_at: DateTimeUtc,
    /// JSON list of the SCIM groups (display names) the user was last put in here.
    pub groups: Option<String>,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
