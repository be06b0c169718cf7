//! A tenant's members (admin accounts with a role) and the invitations that add them.

use chrono::{Duration as ChronoDuration, Utc};
use rosetta_entity::{admin_account, invitation, membership, tenant};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, ModelTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use uuid::Uuid;

use super::accounts::{self, Role, parse_role, role_str};
use super::{ServiceError, ServiceResult};
use crate::credentials;
use crate::domain::{EmailAddress, NewPassword};

/// How long an invitation link works.
pub const INVITATION_TTL: ChronoDuration = ChronoDuration::days(7);

/// A member as the API shows it.
#[derive(Debug, Clone)]
pub struct Member {
    /// The account.
    pub account_id: Uuid,
    /// Its email.
    pub email: String,
    /// Its role here.
    pub role: Role,
    /// Whether the account uses TOTP.
    pub totp_enabled: bool,
    /// When it joined.
    pub joined_at: chrono::DateTime<Utc>,
}

/// The tenant's members, by email.
pub async fn list(db: &DatabaseConnection, tenant_id: Uuid) -> ServiceResult<Vec<Member>> {
    let rows = membership::Entity::find()
        .filter(membership::Column::TenantId.eq(tenant_id))
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for m in rows {
        if let Some(a) = admin_account::Entity::find_by_id(m.account_id).one(db).await? {
            out.push(Member {
                account_id: a.id,
                email: a.email,
                role: parse_role(&m.role),
                totp_enabled: a.totp_enabled_at.is_some(),
                joined_at: m.created_at,
            });
        }
    }
    out.sort_by(|a, b| a.email.cmp(&b.email));
    Ok(out)
}

async fn find(db: &DatabaseConnection, tenant_id: Uuid, account_id: Uuid) -> ServiceResult<membership::Model> {
    accounts::membership(db, account_id, tenant_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("no such member".into()))
}

fn last_owner() -> ServiceError {
    ServiceError::Conflict("a tenant keeps at least one owner; make someone else owner first".into())
}

/// What [`keeping_an_owner`] does to a membership.
enum Change {
    /// Give it this role.
    Role(Role),
    /// Delete it.
    Remove,
}

/// Applies `change` to the membership `m` unless that would leave its tenant without an
/// owner, atomically: the condition "`m` is no owner, or another owner exists" is part of the
/// one UPDATE or DELETE statement, and on PostgreSQL the tenant's row is locked first, so two
/// owners demoting (or removing) each other at once cannot both succeed. (SQLite runs one
/// writer at a time, and the statement is the transaction's first, so it reads the state the
/// last writer committed.)
async fn keeping_an_owner(db: &DatabaseConnection, m: &membership::Model, change: Change) -> ServiceResult<()> {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    use sea_orm::{ConnectionTrait, DbBackend, QuerySelect};
    let txn = db.begin().await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        tenant::Entity::find_by_id(m.tenant_id)
            .lock_exclusive()
            .one(&txn)
            .await?;
    }
    let another_owner = Query::select()
        .expr(Expr::value(1))
        .from(membership::Entity)
        .and_where(Expr::col(membership::Column::TenantId).eq(m.tenant_id))
        .and_where(Expr::col(membership::Column::Role).eq("owner"))
        .and_where(Expr::col(membership::Column::Id).ne(m.id))
        .to_owned();
    let allowed = sea_orm::Condition::any()
        .add(membership::Column::Role.ne("owner"))
        .add(Expr::exists(another_owner));
    let done = match change {
        Change::Role(role) => {
            membership::Entity::update_many()
                .col_expr(membership::Column::Role, Expr::value(role_str(role)))
                .filter(membership::Column::Id.eq(m.id))
                .filter(if role == Role::Owner {
                    sea_orm::Condition::all()
                } else {
                    allowed
                })
                .exec(&txn)
                .await?
                .rows_affected
        }
        Change::Remove => {
            membership::Entity::delete_many()
                .filter(membership::Column::Id.eq(m.id))
                .filter(allowed)
                .exec(&txn)
                .await?
                .rows_affected
        }
    };
    txn.commit().await?;
    if done == 1 { Ok(()) } else { Err(last_owner()) }
}

/// Changes a member's role; the last owner stays owner. Returns the old role.
pub async fn set_role(db: &DatabaseConnection, tenant_id: Uuid, account_id: Uuid, role: Role) -> ServiceResult<Role> {
    let m = find(db, tenant_id, account_id).await?;
    let old = parse_role(&m.role);
    keeping_an_owner(db, &m, Change::Role(role)).await?;
    Ok(old)
}

/// Removes a member; the last owner cannot be removed. Returns the removed member's email.
pub async fn remove(db: &DatabaseConnection, tenant_id: Uuid, account_id: Uuid) -> ServiceResult<String> {
    let m = find(db, tenant_id, account_id).await?;
    let email = accounts::get(db, account_id).await?.email;
    keeping_an_owner(db, &m, Change::Remove).await?;
    Ok(email)
}

/// Invites `email` with `role`; returns the invitation and the token for its link.
pub async fn invite(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    email: &EmailAddress,
    role: Role,
    invited_by: &str,
) -> ServiceResult<(invitation::Model, String)> {
    if let Some(account) = accounts::find_by_email(db, email.as_str()).await?
        && accounts::membership(db, account.id, tenant_id).await?.is_some()
    {
        return Err(ServiceError::Invalid {
            field: "email",
            message: format!("{email} is already a member of this tenant"),
        });
    }
    let token = credentials::link_token();
    let now = Utc::now();
    let row = invitation::ActiveModel {
        id: Set(crate::db::new_id()),
        tenant_id: Set(tenant_id),
        email: Set(email.to_string()),
        role: Set(role_str(role).into()),
        token_hash: Set(credentials::token_hash(&token)),
        invited_by: Set(invited_by.chars().take(320).collect()),
        expires_at: Set(now + INVITATION_TTL),
        accepted_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok((row, token))
}

/// The tenant's open invitations (not accepted, not expired), newest first.
pub async fn pending(db: &DatabaseConnection, tenant_id: Uuid) -> ServiceResult<Vec<invitation::Model>> {
    Ok(invitation::Entity::find()
        .filter(invitation::Column::TenantId.eq(tenant_id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .order_by_desc(invitation::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Withdraws an open invitation of the tenant; returns the invited email.
pub async fn revoke(db: &DatabaseConnection, tenant_id: Uuid, id: Uuid) -> ServiceResult<String> {
    let row = invitation::Entity::find_by_id(id)
        .filter(invitation::Column::TenantId.eq(tenant_id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::NotFound("no such invitation".into()))?;
    let email = row.email.clone();
    row.delete(db).await?;
    Ok(email)
}

/// What accepting an invitation did.
#[derive(Debug)]
pub struct Accepted {
    /// The account now in the tenant (new or existing).
    pub account: admin_account::Model,
    /// The tenant joined.
    pub tenant: tenant::Model,
    /// The role granted.
    pub role: Role,
    /// Whether the account was created by this acceptance.
    pub created_account: bool,
    /// Whether an existing, never verified account got the password given here (its
    /// sessions must end).
    pub replaced_password: bool,
}

/// Accepts an invitation (single use, 7 days). An existing account with the invited email
/// joins the tenant; otherwise `password` creates the account, its email verified by the
/// link itself. A weak or missing password leaves the link usable.
pub async fn accept(db: &DatabaseConnection, token: &str, password: Option<&str>) -> ServiceResult<Accepted> {
    let invalid = || ServiceError::Invalid {
        field: "token",
        message: "this invitation is invalid, has expired or was already used; ask for a new one".into(),
    };
    if token.is_empty() || token.len() > 128 {
        return Err(invalid());
    }
    let row = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(credentials::token_hash(token)))
        .one(db)
        .await?
        .filter(|i| i.accepted_at.is_none() && i.expires_at > Utc::now())
        .ok_or_else(invalid)?;
    let tenant = super::tenants::by_id(db, row.tenant_id).await.map_err(|_| invalid())?;
    let existing = accounts::find_by_email(db, &row.email).await?;
    // An account whose address was never verified may have been opened by someone else,
    // with a password of theirs: the invitation link proves the address, so such an account
    // takes a new password here, like a new one, and the old password stops working.
    let verified = existing.as_ref().is_some_and(|a| a.email_verified_at.is_some());
    let new_hash = match (verified, password) {
        (true, _) => None,
        (false, Some(p)) => {
            let email = EmailAddress::parse(&row.email).map_err(ServiceError::invalid("email"))?;
            let p = NewPassword::parse(p, &email).map_err(ServiceError::invalid("password"))?;
            Some(accounts::hash_password(p.expose()).await?)
        }
        (false, None) => {
            return Err(ServiceError::Invalid {
                field: "password",
                message: "choose a password for your new account".into(),
            });
        }
    };
    let role = parse_role(&row.role);
    let txn = db.begin().await?;
    let done = invitation::Entity::update_many()
        .col_expr(invitation::Column::AcceptedAt, Expr::value(Utc::now()))
        .filter(invitation::Column::Id.eq(row.id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .exec(&txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(invalid());
    }
    let created_account = existing.is_none();
    let replaced_password = existing.is_some() && new_hash.is_some();
    let account = match (existing, new_hash) {
        (Some(a), None) => a,
        (Some(a), Some(hash)) => {
            let mut active = a.into_active_model();
            active.password_hash = Set(hash);
            active.email_verified_at = Set(Some(Utc::now()));
            active.updated_at = Set(Utc::now());
            active.update(&txn).await?
        }
        (None, Some(hash)) => accounts::insert_account(&txn, &row.email, hash, Some(Utc::now())).await?,
        (None, None) => return Err(invalid()),
    };
    if accounts::membership(db, account.id, tenant.id).await?.is_none() {
        accounts::add_member(&txn, tenant.id, account.id, role).await?;
    }
    txn.commit().await?;
    Ok(Accepted {
        account,
        tenant,
        role,
        created_account,
        replaced_password,
    })
}
