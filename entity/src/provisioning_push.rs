//! The provisioning queue: a (target, user) whose state the target must be brought to.
//! Written by triggers on `end_user` (see the migration), drained by the push worker.

use sea_orm::entity::prelude::*;

/// Row of `provisioning_push`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "provisioning_push")]
pub struct Model {
    /// The target.
    #[sea_orm(primary_key, auto_increment = false)]
    pub target_id: Uuid,
    /// The user.
    #[sea_orm(primary_key, auto_increment = false)]
    pub end_user_id: Uuid,
    /// The user's tenant.
    pub tenant_id: Uuid,
    /// Bumped by every change while the row waits: the worker removes only what it pushed.
    pub generation: i64,
    /// Failed attempts so far.
    pub attempts: i32,
    /// Not before this Unix millisecond (0: now); a claimed row is leased to its worker.
    pub due_ms: i64,
    /// When the row was first queued (Unix milliseconds).
    pub queued_ms: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
