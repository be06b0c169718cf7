//! An email domain routed to an identity source, within one tenant. Several tenants may
//! route the same domain; at most one holds it verified (proved by a DNS TXT record).

use sea_orm::entity::prelude::*;

/// Row of `identity_source_domain`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identity_source_domain")]
pub struct Model {
    /// Owning tenant.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Lowercase domain, e.g. `acme.example`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub domain: String,
    /// The source users of this domain log in with.
    pub source_id: Uuid,
    /// When the tenant proved it owns the domain; `None` while unproved.
    pub verified_at: Option<DateTimeUtc>,
    /// What the domain's `_rosetta-challenge` TXT record must hold (not a secret: it only
    /// names this tenant's claim).
    pub verify_token: String,
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
