//! One brokered login attempt, step by step (the login debugger).

use sea_orm::entity::prelude::*;

/// Row of `login_trace`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_trace")]
pub struct Model {
    /// Random identifier, carried by every leg of the login.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub tenant_id: Uuid,
    /// When the login's first leg started.
    pub started_at: DateTimeUtc,
    /// When its last written leg ended.
    pub updated_at: DateTimeUtc,
    /// `success`, `failure` or `in_progress`.
    pub outcome: String,
    /// `sp`, `idp` or `test`.
    pub initiated: String,
    /// The SP's name, when known.
    pub service_provider: Option<String>,
    /// The SP's entity ID as sent or registered.
    pub entity_id: Option<String>,
    /// The identity source's name, once chosen.
    pub source: Option<String>,
    /// The user's email, once the provider named them.
    pub user_email: Option<String>,
    /// The failure's code.
    pub failure_code: Option<String>,
    /// The steps, a JSON array (never tokens, codes or secrets), of a row written before
    /// traces were stored compressed (`[]` since: they are in `packed`).
    pub body: String,
    /// Why the login failed (the latest leg's failure), JSON.
    pub failure: Option<String>,
    /// The AuthnRequest as received, signature values removed, of a row written before
    /// traces were stored compressed (in `packed` since).
    pub request_xml: Option<String>,
    /// The Response sent, signature and digest values removed, of a row written before
    /// traces were stored compressed (in `packed` since).
    pub response_xml: Option<String>,
    /// Each leg's steps (a JSON array), AuthnRequest and Response (signature values
    /// removed), compressed: a record per leg, in the legs' order, each appended by its
    /// leg (the server's `services::login_traces::pack`).
    pub packed: Option<Vec<u8>>,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
