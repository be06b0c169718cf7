//! The second factor of admins and of end users, one implementation for both: TOTP
//! enrolment (a seed sealed with the master key, bound to its holder), confirmation with a
//! first code (which turns it on and hands out ten recovery codes, stored hashed),
//! verification of a code (a time step is never accepted twice, even by two replicas at
//! once) or of a recovery code (used up, of two concurrent uses one wins), and removal.
//!
//! The RFC 6238 arithmetic is `credentials::totp`'s; this module keeps the state: the seed,
//! the last accepted step, the recovery codes, on the holder's row (`admin_account` or
//! `end_user`).

use chrono::Utc;
use rosetta_entity::{admin_account, end_user};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, Value};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{ServiceError, ServiceResult};
use crate::credentials::{self, totp};
use crate::crypto::{Keyring, SecretContext};

/// Associated-data kind of a sealed admin TOTP seed.
pub(crate) const ADMIN_KIND: &str = "admin_account.totp_secret";
/// Associated-data kind of a sealed end-user TOTP seed.
pub(crate) const END_USER_KIND: &str = "end_user.totp_secret";

/// Whose second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// An admin account (accounts span tenants).
    Admin(Uuid),
    /// An end user of a tenant.
    EndUser {
        /// The tenant.
        tenant_id: Uuid,
        /// The user.
        user_id: Uuid,
    },
}

/// The factor's state on the holder's row.
struct Factor {
    id: Uuid,
    tenant: String,
    sealed: Option<Vec<u8>>,
    enabled: bool,
    last_step: Option<i64>,
    recovery_codes: Option<String>,
    /// The name an authenticator app shows for the account.
    label: String,
}

impl Factor {
    fn context(&self, holder: Holder) -> (String, &'static str, String) {
        let kind = match holder {
            Holder::Admin(_) => ADMIN_KIND,
            Holder::EndUser { .. } => END_USER_KIND,
        };
        (self.tenant.clone(), kind, self.id.to_string())
    }

    /// Seals a seed for this holder's row (tenant, kind and record as associated data).
    fn seal(&self, holder: Holder, keyring: &Keyring, secret: &[u8]) -> ServiceResult<Vec<u8>> {
        let (tenant, kind, record) = self.context(holder);
        keyring
            .seal(
                SecretContext {
                    tenant: &tenant,
                    kind,
                    record: &record,
                },
                secret,
            )
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    fn open(&self, holder: Holder, keyring: &Keyring) -> ServiceResult<Option<Zeroizing<Vec<u8>>>> {
        let Some(sealed) = &self.sealed else {
            return Ok(None);
        };
        let (tenant, kind, record) = self.context(holder);
        keyring
            .open(
                SecretContext {
                    tenant: &tenant,
                    kind,
                    record: &record,
                },
                sealed,
            )
            .map(Some)
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }
}

/// The sealing context of an admin's seed (also used by `rekey`).
pub(crate) fn admin_context(account_id: &str) -> SecretContext<'_> {
    SecretContext {
        tenant: "-",
        kind: ADMIN_KIND,
        record: account_id,
    }
}

async fn load(db: &DatabaseConnection, holder: Holder) -> ServiceResult<Factor> {
    match holder {
        Holder::Admin(id) => {
            let a = admin_account::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or_else(|| ServiceError::NotFound("no such account".into()))?;
            Ok(Factor {
                id: a.id,
                tenant: "-".into(),
                sealed: a.totp_secret,
                enabled: a.totp_enabled_at.is_some(),
                last_step: a.totp_last_step,
                recovery_codes: a.recovery_codes,
                label: a.email,
            })
        }
        Holder::EndUser { tenant_id, user_id } => {
            let u = end_user::Entity::find_by_id(user_id)
                .filter(end_user::Column::TenantId.eq(tenant_id))
                .one(db)
                .await?
                .ok_or_else(|| ServiceError::NotFound("no such user".into()))?;
            Ok(Factor {
                id: u.id,
                tenant: u.tenant_id.to_string(),
                sealed: u.totp_secret,
                enabled: u.totp_enabled_at.is_some(),
                last_step: u.totp_last_step,
                recovery_codes: u.recovery_codes,
                label: u.email,
            })
        }
    }
}

/// The factor's columns, named alike on both tables.
#[derive(Clone, Copy)]
enum Col {
    Secret,
    EnabledAt,
    LastStep,
    RecoveryCodes,
    UpdatedAt,
}

/// Sets `values` on the holder's row where `condition` (on the same columns) holds; whether
/// the row was changed. Every write of this module goes through here, so the two tables are
/// written alike.
async fn write(
    db: &DatabaseConnection,
    holder: Holder,
    values: Vec<(Col, Value)>,
    condition: Option<(Col, Option<Value>, bool)>,
) -> ServiceResult<bool> {
    fn admin_col(c: Col) -> admin_account::Column {
        match c {
            Col::Secret => admin_account::Column::TotpSecret,
            Col::EnabledAt => admin_account::Column::TotpEnabledAt,
            Col::LastStep => admin_account::Column::TotpLastStep,
            Col::RecoveryCodes => admin_account::Column::RecoveryCodes,
            Col::UpdatedAt => admin_account::Column::UpdatedAt,
        }
    }
    fn user_col(c: Col) -> end_user::Column {
        match c {
            Col::Secret => end_user::Column::TotpSecret,
            Col::EnabledAt => end_user::Column::TotpEnabledAt,
            Col::LastStep => end_user::Column::TotpLastStep,
            Col::RecoveryCodes => end_user::Column::RecoveryCodes,
            Col::UpdatedAt => end_user::Column::UpdatedAt,
        }
    }
    // A condition (column, value, compare-as-lower-than): `None` value means IS NULL; with
    // `lower`, the stored value must be NULL or below the value (a newer step).
    fn cond<C: ColumnTrait>(col: C, value: Option<Value>, lower: bool) -> Condition {
        match (value, lower) {
            (None, _) => Condition::all().add(col.is_null()),
            (Some(v), true) => Condition::any().add(col.is_null()).add(col.lt(v)),
            (Some(v), false) => Condition::all().add(col.eq(v)),
        }
    }
    let rows = match holder {
        Holder::Admin(id) => {
            let mut update = admin_account::Entity::update_many().filter(admin_account::Column::Id.eq(id));
            for (c, v) in values {
                update = update.col_expr(admin_col(c), Expr::value(v));
            }
            if let Some((c, v, lower)) = condition {
                update = update.filter(cond(admin_col(c), v, lower));
            }
            update.exec(db).await?.rows_affected
        }
        Holder::EndUser { tenant_id, user_id } => {
            let mut update = end_user::Entity::update_many()
                .filter(end_user::Column::Id.eq(user_id))
                .filter(end_user::Column::TenantId.eq(tenant_id));
            for (c, v) in values {
                update = update.col_expr(user_col(c), Expr::value(v));
            }
            if let Some((c, v, lower)) = condition {
                update = update.filter(cond(user_col(c), v, lower));
            }
            update.exec(db).await?.rows_affected
        }
    };
    Ok(rows == 1)
}

fn now() -> Value {
    Utc::now().into()
}

/// Starts an admin's enrolment: a new seed, kept sealed on the account until a code
/// confirms it, shown as an `otpauth://` URL, base32 text and QR code naming `issuer`.
/// Refused once the factor is on. (An end user's seed waits in their parked login instead:
/// [`new_pending`], [`confirm_pending`].)
pub async fn begin(
    db: &DatabaseConnection,
    keyring: &Keyring,
    holder: Holder,
    issuer: &str,
) -> ServiceResult<totp::Enrolment> {
    let factor = load(db, holder).await?;
    if factor.enabled {
        return Err(ServiceError::Conflict(match holder {
            Holder::Admin(_) => "TOTP is already on for this account; turn it off first to enrol a new device".into(),
            Holder::EndUser { .. } => "this user already has an authenticator".into(),
        }));
    }
    let secret = Zeroizing::new(totp::generate_secret());
    let sealed = factor.seal(holder, keyring, &secret)?;
    write(
        db,
        holder,
        vec![
            (Col::Secret, Some(sealed).into()),
            (Col::LastStep, Option::<i64>::None.into()),
            (Col::UpdatedAt, now()),
        ],
        None,
    )
    .await?;
    totp::enrolment(&secret, issuer, &factor.label).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Associated-data kind of a seed waiting in a parked login for its first code.
pub(crate) const PENDING_KIND: &str = "end_user.totp_enrolment";

fn pending_context<'a>(tenant: &'a str, user: &'a str) -> SecretContext<'a> {
    SecretContext {
        tenant,
        kind: PENDING_KIND,
        record: user,
    }
}

/// A new seed for an end user's enrolment, sealed (tenant and user as associated data) to
/// wait in the parked login that shows it: never on the user's row, so a login that
/// reaches this step (someone holding phished provider credentials, say) cannot plant a
/// seed that the real user's later login would show and confirm.
pub fn new_pending(keyring: &Keyring, tenant_id: Uuid, user_id: Uuid) -> ServiceResult<Vec<u8>> {
    let secret = Zeroizing::new(totp::generate_secret());
    let (t, u) = (tenant_id.to_string(), user_id.to_string());
    keyring
        .seal(pending_context(&t, &u), &secret)
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

fn open_pending(keyring: &Keyring, tenant_id: Uuid, user_id: Uuid, sealed: &[u8]) -> ServiceResult<Zeroizing<Vec<u8>>> {
    let (t, u) = (tenant_id.to_string(), user_id.to_string());
    keyring
        .open(pending_context(&t, &u), sealed)
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// What an authenticator app needs of a pending seed.
pub fn pending_enrolment(
    keyring: &Keyring,
    tenant_id: Uuid,
    user_id: Uuid,
    sealed: &[u8],
    issuer: &str,
    account: &str,
) -> ServiceResult<totp::Enrolment> {
    let secret = open_pending(keyring, tenant_id, user_id, sealed)?;
    totp::enrolment(&secret, issuer, account).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Confirms an end user's enrolment with the pending seed and a first code: the seed is
/// sealed onto the user's row with the factor on, the code's step recorded, and ten recovery
/// codes returned (shown once, stored hashed) — all in one conditional write, which a
/// concurrent enrolment of the same user cannot also win. `Ok(None)` for a wrong code.
pub async fn confirm_pending(
    db: &DatabaseConnection,
    keyring: &Keyring,
    tenant_id: Uuid,
    user_id: Uuid,
    sealed_pending: &[u8],
    code: &str,
) -> ServiceResult<Option<Vec<String>>> {
    let holder = Holder::EndUser { tenant_id, user_id };
    let factor = load(db, holder).await?;
    if factor.enabled {
        return Err(ServiceError::Conflict("this user already has an authenticator".into()));
    }
    let secret = open_pending(keyring, tenant_id, user_id, sealed_pending)?;
    let unix = Utc::now().timestamp().max(0).unsigned_abs();
    let Some(step) = totp::verify(&secret, code, unix, None) else {
        return Ok(None);
    };
    let sealed = factor.seal(holder, keyring, &secret)?;
    let codes = credentials::recovery_codes();
    let won = write(
        db,
        holder,
        vec![
            (Col::Secret, Some(sealed).into()),
            (Col::LastStep, step.into()),
            (Col::EnabledAt, Some(Utc::now()).into()),
            (
                Col::RecoveryCodes,
                Some(credentials::recovery_hashes_json(&codes)).into(),
            ),
            (Col::UpdatedAt, now()),
        ],
        Some((Col::EnabledAt, None, false)),
    )
    .await?;
    if !won {
        return Err(ServiceError::Conflict("this user already has an authenticator".into()));
    }
    Ok(Some(codes))
}

/// Accepts `code` for the seed and records its step atomically: a step is never accepted
/// twice.
async fn accept_code(
    db: &DatabaseConnection,
    keyring: &Keyring,
    holder: Holder,
    factor: &Factor,
    code: &str,
) -> ServiceResult<bool> {
    let Some(secret) = factor.open(holder, keyring)? else {
        return Ok(false);
    };
    let unix = Utc::now().timestamp().max(0).unsigned_abs();
    let Some(step) = totp::verify(&secret, code, unix, factor.last_step) else {
        return Ok(false);
    };
    write(
        db,
        holder,
        vec![(Col::LastStep, step.into())],
        Some((Col::LastStep, Some(step.into()), true)),
    )
    .await
}

/// Confirms enrolment with a first code: the factor is on, and ten recovery codes are
/// returned (shown once, stored hashed). `Ok(None)` for a wrong code.
pub async fn confirm(
    db: &DatabaseConnection,
    keyring: &Keyring,
    holder: Holder,
    code: &str,
) -> ServiceResult<Option<Vec<String>>> {
    let factor = load(db, holder).await?;
    if factor.enabled {
        return Err(ServiceError::Conflict(match holder {
            Holder::Admin(_) => "TOTP is already on for this account".into(),
            Holder::EndUser { .. } => "this user already has an authenticator".into(),
        }));
    }
    if factor.sealed.is_none() {
        return Err(ServiceError::Conflict("start TOTP enrolment first".into()));
    }
    if !accept_code(db, keyring, holder, &factor, code).await? {
        return Ok(None);
    }
    let codes = credentials::recovery_codes();
    write(
        db,
        holder,
        vec![
            (Col::EnabledAt, Some(Utc::now()).into()),
            (
                Col::RecoveryCodes,
                Some(credentials::recovery_hashes_json(&codes)).into(),
            ),
            (Col::UpdatedAt, now()),
        ],
        None,
    )
    .await?;
    Ok(Some(codes))
}

/// Checks a second factor of a holder who has it on: a 6-digit TOTP code, or one of the
/// recovery codes (then used up). `false` for a wrong, replayed or used code, or when the
/// factor is off.
pub async fn verify(db: &DatabaseConnection, keyring: &Keyring, holder: Holder, code: &str) -> ServiceResult<bool> {
    let factor = load(db, holder).await?;
    if !factor.enabled {
        return Ok(false);
    }
    let trimmed = code.trim();
    if trimmed.len() == 6 && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return accept_code(db, keyring, holder, &factor, trimmed).await;
    }
    let Some(stored) = &factor.recovery_codes else {
        return Ok(false);
    };
    let Some(remaining) = credentials::consume_recovery_code(stored, code) else {
        return Ok(false);
    };
    // Compare-and-set on the old list: of two concurrent uses of one code, one wins.
    write(
        db,
        holder,
        vec![(Col::RecoveryCodes, Some(remaining).into())],
        Some((Col::RecoveryCodes, Some(stored.clone().into()), false)),
    )
    .await
}

/// Removes the factor (seed, recovery codes, last step): a new enrolment starts afresh.
pub async fn remove(db: &DatabaseConnection, holder: Holder) -> ServiceResult<()> {
    load(db, holder).await?;
    write(
        db,
        holder,
        vec![
            (Col::Secret, Option::<Vec<u8>>::None.into()),
            (Col::EnabledAt, Option::<chrono::DateTime<Utc>>::None.into()),
            (Col::LastStep, Option::<i64>::None.into()),
            (Col::RecoveryCodes, Option::<String>::None.into()),
            (Col::UpdatedAt, now()),
        ],
        None,
    )
    .await?;
    Ok(())
}

/// How many unused recovery codes are left in a stored list.
pub fn recovery_codes_left(stored: Option<&str>) -> usize {
    credentials::recovery_codes_left(stored)
}
