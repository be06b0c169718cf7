//! A person who administers one or more tenants through the console and admin API.

use sea_orm::entity::prelude::*;

/// Row of `admin_account`.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admin_account")]
pub struct Model {
    /// Random identifier.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Sign-in email, lowercased; unique.
    #[sea_orm(unique)]
    pub email: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// When the email was verified; sign-in waits for it.
    pub email_verified_at: Option<DateTimeUtc>,
    /// TOTP seed, sealed with the master key (enrolment may still be pending).
    pub totp_secret: Option<Vec<u8>>,
    /// When TOTP was confirmed; `None` while enrolment is pending or off.
    pub totp_enabled_at: Option<DateTimeUtc>,
    /// Last accepted TOTP time step: a step is never accepted twice.
    pub totp_last_step: Option<i64>,
    /// JSON list of SHA-256 hashes of unused recovery codes.
    pub recovery_codes: Option<String>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("admin_account::Model")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("email_verified_at", &self.email_verified_at)
            .field("totp_enabled_at", &self.totp_enabled_at)
            .finish_non_exhaustive()
    }
}

/// No relations needed by queries yet.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
