//! An email domain routed to an identity source; unique across tenants.

use sea_orm::entity::prelude::*;

/// Row of `identity_source_domain`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identity_source_domain")]
pub struct Model {
    /// Lowercase domain, e.g. `acme.example`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub domain: String,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// The source users of this domain log in with.
    pub source_id: Uuid,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The source.
    #[sea_orm(
        belongs_to = "super::identity_source::Entity",
        from = "Column::SourceId",
        to = "super::identity_source::Column::Id"
    )]
    Source,
}

impl ActiveModelBehavior for ActiveModel {}
