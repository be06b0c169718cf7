//! One audited event: a login (success or failure with reason) or an admin change.

use sea_orm::entity::prelude::*;

/// Row of `audit_event`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    /// Random identifier.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant concerned, if any.
    pub tenant_id: Option<Uuid>,
    /// When it happened.
    pub occurred_at: DateTimeUtc,
    /// Who: an email, `operator`, or `anonymous`.
    pub actor: String,
    /// What, e.g. `login`, `sp.create`.
    pub action: String,
    /// `success` or `failure`.
    pub outcome: String,
    /// The object acted on (SP entity ID, source name...).
    pub target: Option<String>,
    /// JSON details (never secrets).
    pub detail: String,
    /// Client address.
    pub ip: Option<String>,
    /// Correlation ID of the request.
    pub request_id: Option<String>,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
