//! An upstream OpenID Connect provider of a tenant.

use sea_orm::entity::prelude::*;

/// Row of `identity_source`.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identity_source")]
pub struct Model {
    /// Random identifier.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Short name, unique within the tenant (used in `/oidc/callback/{name}`).
    pub name: String,
    /// Issuer URL, exactly as discovery must report it.
    pub issuer: String,
    /// OAuth client ID.
    pub client_id: String,
    /// Client secret sealed with the master key (never plaintext).
    pub client_secret: Vec<u8>,
    /// Space-separated scopes.
    pub scopes: String,
    /// Whether to call the userinfo endpoint.
    pub use_userinfo: bool,
    /// Ask for `offline_access` and keep users' refresh tokens to check they still exist.
    pub offline_access: bool,
    /// `generic`, `google`, `entra`, `okta`, `auth0`, `keycloak` or `gitlab`.
    pub preset: String,
    /// The claim carrying groups (empty: none).
    pub groups_claim: String,
    /// Entra ID: guest accounts may log in.
    pub allow_guests: bool,
    /// Entra ID: a group overage is fetched from Microsoft Graph.
    pub fetch_group_overage: bool,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentitySource")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<sealed>")
            .finish_non_exhaustive()
    }
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The owning tenant.
    #[sea_orm(
        belongs_to = "super::tenant::Entity",
        from = "Column::TenantId",
        to = "super::tenant::Column::Id"
    )]
    Tenant,
}

impl ActiveModelBehavior for ActiveModel {}
