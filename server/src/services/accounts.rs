//! Admin accounts: sign-up (with the first tenant), email verification, sign-in with
//! argon2id, password reset, TOTP with recovery codes, and memberships.

use chrono::{Duration as ChronoDuration, Utc};
use rosetta_entity::{admin_account, email_token, membership, tenant};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::second_factor::{self, Holder};
use super::{ServiceError, ServiceResult, conflict_on_unique, tenants};
use crate::credentials::{self, password, totp};
use crate::crypto::Keyring;
use crate::domain::{DisplayName, EmailAddress, NewPassword, TenantSlug};
use crate::tenancy::HostRouter;

/// How long a verification link works.
pub const VERIFY_TTL: ChronoDuration = ChronoDuration::hours(24);
/// How long a password-reset link works.
pub const RESET_TTL: ChronoDuration = ChronoDuration::hours(1);

const PURPOSE_VERIFY: &str = "verify_email";
const PURPOSE_RESET: &str = "reset_password";

/// Roles in a tenant: owners also manage members and invitations.
pub use rosetta_api::Role;

/// Text form of a role, as stored.
pub fn role_str(role: Role) -> &'static str {
    match role {
        Role::Owner => "owner",
        Role::Admin => "admin",
    }
}

/// Parses a stored role; anything unknown is the lesser role.
pub fn parse_role(value: &str) -> Role {
    if value == "owner" { Role::Owner } else { Role::Admin }
}

fn invalid_link() -> ServiceError {
    ServiceError::Invalid {
        field: "token",
        message: "this link is invalid, has expired or was already used; ask for a new one".into(),
    }
}

/// Hashes off the async runtime: argon2id with OWASP parameters takes tens of ms.
pub(crate) async fn hash_password(password: &str) -> ServiceResult<String> {
    let password = Zeroizing::new(password.to_owned());
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

async fn verify_password(password: &SecretString, phc: Option<String>) -> ServiceResult<password::Verified> {
    let password = Zeroizing::new(password.expose_secret().to_owned());
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => password::verify(&password, &phc),
        None => {
            password::verify_dummy(&password);
            password::Verified::Mismatch
        }
    })
    .await
    .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// What a sign-up asks for.
#[derive(Debug)]
pub struct SignUp {
    /// The first admin's email.
    pub email: EmailAddress,
    /// Their password (already checked against the policy).
    pub password: NewPassword,
    /// The tenant's slug.
    pub slug: TenantSlug,
    /// The tenant's name.
    pub name: DisplayName,
}

/// What a sign-up did.
#[derive(Debug)]
pub enum SignUpOutcome {
    /// A new account and tenant; the email must be verified with `verify_token`.
    Created {
        /// The new account.
        account: admin_account::Model,
        /// The new tenant.
        tenant: tenant::Model,
        /// Token for the verification link.
        verify_token: String,
    },
    /// The email already has an account: nothing was created. The caller answers as for
    /// a new account (no account enumeration) and tells the address's owner by email.
    AccountExists(admin_account::Model),
}

/// Creates a tenant, its signing key and its owner account, atomically; the account
/// signs in once its email is verified.
pub async fn sign_up(
    db: &DatabaseConnection,
    keyring: &Keyring,
    hosts: &HostRouter,
    new: SignUp,
) -> ServiceResult<SignUpOutcome> {
    // The answer must not tell whether the address has an account: the slug is checked
    // first whoever asks, and the password is hashed either way, so the refusal and the
    // time taken are the same for a new and an existing address.
    if tenants::find(db, &new.slug).await?.is_some() {
        return Err(slug_taken(&new.slug));
    }
    let hash = hash_password(new.password.expose()).await?;
    if let Some(existing) = find_by_email(db, new.email.as_str()).await? {
        return Ok(SignUpOutcome::AccountExists(existing));
    }
    let txn = db.begin().await?;
    let tenant = tenants::create_in(&txn, keyring, hosts, &new.slug, &new.name)
        .await
        .map_err(|e| match e {
            ServiceError::Conflict(_) => slug_taken(&new.slug),
            other => other,
        })?;
    let account = insert_account(&txn, new.email.as_str(), hash, None).await?;
    add_member(&txn, tenant.id, account.id, Role::Owner).await?;
    let verify_token = issue_token(&txn, account.id, PURPOSE_VERIFY, VERIFY_TTL).await?;
    txn.commit().await?;
    Ok(SignUpOutcome::Created {
        account,
        tenant,
        verify_token,
    })
}

fn slug_taken(slug: &TenantSlug) -> ServiceError {
    ServiceError::Invalid {
        field: "slug",
        message: format!("`{slug}` is taken; choose another name for your tenant's address"),
    }
}

/// Creates another tenant owned by an existing account.
pub async fn create_tenant_for(
    db: &DatabaseConnection,
    keyring: &Keyring,
    hosts: &HostRouter,
    account_id: Uuid,
    slug: &TenantSlug,
    name: &DisplayName,
) -> ServiceResult<tenant::Model> {
    let txn = db.begin().await?;
    let tenant = tenants::create_in(&txn, keyring, hosts, slug, name)
        .await
        .map_err(|e| match e {
            ServiceError::Conflict(_) => slug_taken(slug),
            other => other,
        })?;
    add_member(&txn, tenant.id, account_id, Role::Owner).await?;
    txn.commit().await?;
    Ok(tenant)
}

/// Inserts an account (email unique) with a password hash; `verified_at` when the email is
/// already proven (an invitation link).
pub(crate) async fn insert_account<C: ConnectionTrait>(
    db: &C,
    email: &str,
    password_hash: String,
    verified_at: Option<chrono::DateTime<Utc>>,
) -> ServiceResult<admin_account::Model> {
    let now = Utc::now();
    admin_account::ActiveModel {
        id: Set(crate::db::new_id()),
        email: Set(email.to_owned()),
        password_hash: Set(password_hash),
        email_verified_at: Set(verified_at),
        totp_secret: Set(None),
        totp_enabled_at: Set(None),
        totp_last_step: Set(None),
        recovery_codes: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(conflict_on_unique("an account with this email already exists"))
}

/// Adds a membership (unique per tenant and account).
pub(crate) async fn add_member<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    account_id: Uuid,
    role: Role,
) -> ServiceResult<membership::Model> {
    membership::ActiveModel {
        id: Set(crate::db::new_id()),
        tenant_id: Set(tenant_id),
        account_id: Set(account_id),
        role: Set(role_str(role).into()),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .map_err(conflict_on_unique("this account is already a member of the tenant"))
}

async fn issue_token<C: ConnectionTrait>(
    db: &C,
    account_id: Uuid,
    purpose: &str,
    ttl: ChronoDuration,
) -> ServiceResult<String> {
    let token = credentials::link_token();
    let now = Utc::now();
    email_token::ActiveModel {
        id: Set(crate::db::new_id()),
        account_id: Set(account_id),
        purpose: Set(purpose.into()),
        token_hash: Set(credentials::token_hash(&token)),
        expires_at: Set(now + ttl),
        used_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// The unused, unexpired token row for `token`, without using it.
async fn live_token(db: &DatabaseConnection, purpose: &str, token: &str) -> ServiceResult<email_token::Model> {
    if token.is_empty() || token.len() > 128 {
        return Err(invalid_link());
    }
    email_token::Entity::find()
        .filter(email_token::Column::TokenHash.eq(credentials::token_hash(token)))
        .filter(email_token::Column::Purpose.eq(purpose))
        .one(db)
        .await?
        .filter(|t| t.used_at.is_none() && t.expires_at > Utc::now())
        .ok_or_else(invalid_link)
}

/// Marks a token used; of two concurrent uses, one wins.
async fn use_token<C: ConnectionTrait>(db: &C, row: &email_token::Model) -> ServiceResult<()> {
    let done = email_token::Entity::update_many()
        .col_expr(email_token::Column::UsedAt, Expr::value(Utc::now()))
        .filter(email_token::Column::Id.eq(row.id))
        .filter(email_token::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if done.rows_affected != 1 {
        return Err(invalid_link());
    }
    Ok(())
}

/// Verifies an account's email with the token from its link (single use, 24 h).
pub async fn verify_email(db: &DatabaseConnection, token: &str) -> ServiceResult<admin_account::Model> {
    let row = live_token(db, PURPOSE_VERIFY, token).await?;
    let txn = db.begin().await?;
    use_token(&txn, &row).await?;
    let account = get_in(&txn, row.account_id).await?;
    let mut active = account.into_active_model();
    active.email_verified_at = Set(Some(Utc::now()));
    active.updated_at = Set(Utc::now());
    let account = active.update(&txn).await?;
    txn.commit().await?;
    Ok(account)
}

/// A new verification token for an unverified account, if the address has one.
pub async fn resend_verification(
    db: &DatabaseConnection,
    email: &EmailAddress,
) -> ServiceResult<Option<(admin_account::Model, String)>> {
    match find_by_email(db, email.as_str()).await? {
        Some(account) if account.email_verified_at.is_none() => {
            let token = issue_token(db, account.id, PURPOSE_VERIFY, VERIFY_TTL).await?;
            Ok(Some((account, token)))
        }
        _ => Ok(None),
    }
}

/// A password-reset token, if the address has an account.
pub async fn request_reset(
    db: &DatabaseConnection,
    email: &EmailAddress,
) -> ServiceResult<Option<(admin_account::Model, String)>> {
    match find_by_email(db, email.as_str()).await? {
        Some(account) => {
            let token = issue_token(db, account.id, PURPOSE_RESET, RESET_TTL).await?;
            Ok(Some((account, token)))
        }
        None => Ok(None),
    }
}

/// Sets a new password with a reset token. A weak password is refused before the link is
/// used, so the person can try again with the same link. The reset also proves the email.
pub async fn reset_password(
    db: &DatabaseConnection,
    token: &str,
    new_password: &str,
) -> ServiceResult<admin_account::Model> {
    let row = live_token(db, PURPOSE_RESET, token).await?;
    let account = get(db, row.account_id).await?;
    let email = EmailAddress::parse(&account.email).map_err(ServiceError::invalid("email"))?;
    let password = NewPassword::parse(new_password, &email).map_err(ServiceError::invalid("password"))?;
    let hash = hash_password(password.expose()).await?;
    let txn = db.begin().await?;
    use_token(&txn, &row).await?;
    let mut active = account.into_active_model();
    active.password_hash = Set(hash);
    if active.email_verified_at.as_ref().is_none() {
        active.email_verified_at = Set(Some(Utc::now()));
    }
    active.updated_at = Set(Utc::now());
    let account = active.update(&txn).await?;
    txn.commit().await?;
    Ok(account)
}

/// Why a sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown email or wrong password (one answer for both).
    #[error("the email or password is not correct")]
    BadCredentials,
    /// Right password, email not yet verified.
    #[error("confirm your email address first: follow the link we sent you, or ask for a new one")]
    EmailNotVerified,
    /// The service layer failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Checks an email and password. Unknown emails cost the same time as wrong passwords.
/// A hash with old parameters is replaced on success.
pub async fn authenticate(
    db: &DatabaseConnection,
    email: &str,
    password: &SecretString,
) -> Result<admin_account::Model, SignInError> {
    if password.expose_secret().len() > crate::domain::PASSWORD_MAX_BYTES {
        return Err(SignInError::BadCredentials);
    }
    let account = match EmailAddress::parse(email) {
        Ok(email) => find_by_email(db, email.as_str()).await?,
        Err(_) => None,
    };
    let verdict = verify_password(password, account.as_ref().map(|a| a.password_hash.clone())).await?;
    let (Some(account), password::Verified::Match { rehash }) = (account, verdict) else {
        return Err(SignInError::BadCredentials);
    };
    if account.email_verified_at.is_none() {
        return Err(SignInError::EmailNotVerified);
    }
    if rehash {
        let hash = hash_password(password.expose_secret()).await?;
        let mut active = account.clone().into_active_model();
        active.password_hash = Set(hash);
        active.updated_at = Set(Utc::now());
        return Ok(active.update(db).await.map_err(ServiceError::from)?);
    }
    Ok(account)
}

/// Changes the password of a signed-in admin, who proves the current one.
pub async fn change_password(
    db: &DatabaseConnection,
    account_id: Uuid,
    current: &SecretString,
    new_password: &str,
) -> ServiceResult<admin_account::Model> {
    let account = get(db, account_id).await?;
    let verdict = verify_password(current, Some(account.password_hash.clone())).await?;
    if verdict == password::Verified::Mismatch {
        return Err(ServiceError::Invalid {
            field: "current_password",
            message: "the current password is not correct".into(),
        });
    }
    let email = EmailAddress::parse(&account.email).map_err(ServiceError::invalid("email"))?;
    let password = NewPassword::parse(new_password, &email).map_err(ServiceError::invalid("new_password"))?;
    let hash = hash_password(password.expose()).await?;
    let mut active = account.into_active_model();
    active.password_hash = Set(hash);
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

/// The account with this (lowercased) email.
pub async fn find_by_email(db: &DatabaseConnection, email: &str) -> ServiceResult<Option<admin_account::Model>> {
    Ok(admin_account::Entity::find()
        .filter(admin_account::Column::Email.eq(email.to_ascii_lowercase()))
        .one(db)
        .await?)
}

/// The account with this ID.
pub async fn get(db: &DatabaseConnection, id: Uuid) -> ServiceResult<admin_account::Model> {
    get_in(db, id).await
}

async fn get_in<C: ConnectionTrait>(db: &C, id: Uuid) -> ServiceResult<admin_account::Model> {
    admin_account::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::NotFound("no such account".into()))
}

/// The account's memberships with their tenants, by slug.
pub async fn memberships(
    db: &DatabaseConnection,
    account_id: Uuid,
) -> ServiceResult<Vec<(membership::Model, tenant::Model)>> {
    let rows = membership::Entity::find()
        .filter(membership::Column::AccountId.eq(account_id))
        .order_by_asc(membership::Column::CreatedAt)
        .all(db)
        .await?;
    let tenants = tenant::Entity::find()
        .filter(tenant::Column::Id.is_in(rows.iter().map(|m| m.tenant_id)))
        .all(db)
        .await?;
    let mut out: Vec<_> = rows
        .into_iter()
        .filter_map(|m| {
            let t = tenants.iter().find(|t| t.id == m.tenant_id)?.clone();
            Some((m, t))
        })
        .collect();
    out.sort_by(|a, b| a.1.slug.cmp(&b.1.slug));
    Ok(out)
}

/// The account's membership of one tenant, if any.
pub async fn membership(
    db: &DatabaseConnection,
    account_id: Uuid,
    tenant_id: Uuid,
) -> ServiceResult<Option<membership::Model>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::AccountId.eq(account_id))
        .filter(membership::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?)
}

/// Starts TOTP enrolment: a new secret, kept sealed until a code confirms it. Refused
/// while TOTP is on (turn it off first).
pub async fn begin_totp(
    db: &DatabaseConnection,
    keyring: &Keyring,
    account_id: Uuid,
) -> ServiceResult<totp::Enrolment> {
    second_factor::begin(db, keyring, Holder::Admin(account_id), "Rosetta").await
}

/// Confirms enrolment with a first code; returns ten single-use recovery codes (shown
/// once, stored hashed).
pub async fn confirm_totp(
    db: &DatabaseConnection,
    keyring: &Keyring,
    account_id: Uuid,
    code: &str,
) -> ServiceResult<Vec<String>> {
    second_factor::confirm(db, keyring, Holder::Admin(account_id), code)
        .await?
        .ok_or_else(|| ServiceError::Invalid {
            field: "code",
            message: "this code is not correct; check the time on your device and enter the current code".into(),
        })
}

/// Checks a second factor: a TOTP code, or one of the recovery codes (which is then used
/// up). `false` for a wrong, replayed or used code.
pub async fn check_second_factor(
    db: &DatabaseConnection,
    keyring: &Keyring,
    account_id: Uuid,
    code: &str,
) -> ServiceResult<bool> {
    second_factor::verify(db, keyring, Holder::Admin(account_id), code).await
}

/// How many recovery codes are left.
pub fn recovery_codes_left(account: &admin_account::Model) -> usize {
    second_factor::recovery_codes_left(account.recovery_codes.as_deref())
}

/// Turns TOTP off (the caller has checked a current code or the password).
pub async fn disable_totp(db: &DatabaseConnection, account_id: Uuid) -> ServiceResult<()> {
    second_factor::remove(db, Holder::Admin(account_id)).await
}
