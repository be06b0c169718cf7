//! End users: created or updated at each successful login, keyed on (tenant, issuer, sub).

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use rosetta_entity::end_user;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, IntoActiveModel, Iterable, QueryFilter,
    QueryTrait, Set, Statement, Value,
};
use uuid::Uuid;

use super::{ServiceError, ServiceResult};

/// What the upstream provider vouched for.
#[derive(Debug, Clone)]
pub struct LoginIdentity<'a> {
    /// Upstream issuer.
    pub issuer: &'a str,
    /// Upstream `sub`.
    pub subject: &'a str,
    /// Verified email.
    pub email: &'a str,
    /// Full name, if known.
    pub name: Option<&'a str>,
    /// The login's claims and groups ([`snapshot_json`]), kept for previews and pushes.
    pub claims: Option<&'a str>,
}

/// What a login leaves of the provider's claims for later (`end_user.claims`): the mapping
/// preview and the provisioning pushes read it, so they map the values the login mapped.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ClaimsSnapshot {
    /// The claims, bounded ([`crate::oidc::VerifiedIdentity::claims`]).
    #[serde(default)]
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// The groups (`None`: unknown at that login).
    #[serde(default)]
    pub groups: Option<Vec<String>>,
}

/// The JSON kept for a login's claims and groups (`None` only if it cannot be written).
pub fn snapshot_json(claims: &serde_json::Map<String, serde_json::Value>, groups: Option<&[String]>) -> Option<String> {
    #[derive(serde::Serialize)]
    struct Borrowed<'a> {
        claims: &'a serde_json::Map<String, serde_json::Value>,
        groups: Option<&'a [String]>,
    }
    serde_json::to_string(&Borrowed { claims, groups }).ok()
}

/// The claims a user's last login left (empty for users who logged in before they were kept).
pub fn snapshot_of(user: &end_user::Model) -> ClaimsSnapshot {
    user.claims
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default()
}

/// Records a successful login: creates the user on first sight, refreshes email and name,
/// makes a departed user active again, and refuses a blocked user with [`ServiceError::Forbidden`]. Email never identifies an
/// account: a new `sub` with a known email is a different user.
///
/// One statement (`INSERT … ON CONFLICT DO UPDATE … WHERE status <> 'blocked' RETURNING *`):
/// two first logins of one person at once cannot both insert, and a login costs one
/// round trip. A blocked user's row is left as it is and returns nothing.
pub async fn record_login(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    who: &LoginIdentity<'_>,
) -> ServiceResult<end_user::Model> {
    let row = login_row(crate::db::new_id(), tenant_id, who, Utc::now());
    let statement = upsert_statement(db.get_database_backend(), row);
    // On the worker's own connection (crate::db::local): a pooled one costs a ping on its
    // return and, on PostgreSQL, a wake-up of the thread that made it. Idempotent, as that
    // requires.
    match crate::db::local::fetch_optional::<end_user::Model>(db, statement).await {
        Ok(Some(user)) => Ok(user),
        // Nothing returned: the row exists and the WHERE kept it as it was.
        Ok(None) => {
            let blocked = end_user::Entity::find()
                .filter(end_user::Column::TenantId.eq(tenant_id))
                .filter(end_user::Column::Issuer.eq(who.issuer))
                .filter(end_user::Column::Subject.eq(who.subject))
                .one(db)
                .await?
                .is_some_and(|u| u.status == BLOCKED);
            if blocked {
                Err(ServiceError::Forbidden(
                    "this account is blocked by the administrator".into(),
                ))
            } else {
                Err(ServiceError::Database(sea_orm::DbErr::RecordNotInserted))
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// The row as the upsert returns it on a worker's own SQLite connection
/// ([`crate::db::local`]), read as sqlx reads it.
impl crate::db::local::FromSqliteRow for end_user::Model {
    fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get("id")?,
            tenant_id: row.get("tenant_id")?,
            issuer: row.get("issuer")?,
            subject: row.get("subject")?,
            email: row.get("email")?,
            display_name: row.get("display_name")?,
            status: row.get("status")?,
            last_login_at: row.get("last_login_at")?,
            totp_secret: row.get("totp_secret")?,
            totp_enabled_at: row.get("totp_enabled_at")?,
            totp_last_step: row.get("totp_last_step")?,
            recovery_codes: row.get("recovery_codes")?,
            claims: row.get("claims")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
        })
    }
}

/// What a login writes: the whole row for a new user; for a known one, the columns the
/// upsert updates.
fn login_row(id: Uuid, tenant_id: Uuid, who: &LoginIdentity<'_>, now: DateTime<Utc>) -> end_user::ActiveModel {
    end_user::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        issuer: Set(who.issuer.to_owned()),
        subject: Set(who.subject.to_owned()),
        email: Set(who.email.to_owned()),
        display_name: Set(who.name.map(str::to_owned)),
        status: Set("active".into()),
        last_login_at: Set(Some(now)),
        totp_secret: Set(None),
        totp_enabled_at: Set(None),
        totp_last_step: Set(None),
        recovery_codes: Set(None),
        claims: Set(who.claims.map(str::to_owned)),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// The status the upsert leaves as it is.
const BLOCKED: &str = "blocked";

/// The login's upsert of `row`. The SQL text depends only on the backend, so sea-query writes
/// it once per backend ([`upsert_by_sea_query`]) and each login binds its values to a copy:
/// the row's columns in the entity's order, as sea-query binds them, then the `WHERE`'s
/// value (the test `the_upsert_is_the_statement_sea_query_builds` holds the two to the same
/// statement).
fn upsert_statement(backend: DbBackend, mut row: end_user::ActiveModel) -> Statement {
    static POSTGRES: OnceLock<String> = OnceLock::new();
    static SQLITE: OnceLock<String> = OnceLock::new();
    let cached = match backend {
        DbBackend::Postgres => &POSTGRES,
        DbBackend::Sqlite => &SQLITE,
        _ => return upsert_by_sea_query(backend, row),
    };
    let sql = cached.get_or_init(|| upsert_by_sea_query(backend, row.clone()).sql);
    let mut values: Vec<Value> = end_user::Column::iter()
        .filter_map(|column| row.take(column).into_value())
        .collect();
    values.push(BLOCKED.into());
    Statement::from_sql_and_values(backend, sql.clone(), values)
}

/// `INSERT … ON CONFLICT (tenant_id, issuer, subject) DO UPDATE SET email, display_name,
/// status, last_login_at, updated_at WHERE status <> 'blocked' RETURNING *`, built by
/// sea-query.
fn upsert_by_sea_query(backend: DbBackend, row: end_user::ActiveModel) -> Statement {
    use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
    let upsert = OnConflict::columns([
        end_user::Column::TenantId,
        end_user::Column::Issuer,
        end_user::Column::Subject,
    ])
    .update_columns([
        end_user::Column::Email,
        end_user::Column::DisplayName,
        // `active`: a departed user who logs in through the provider again is back.
        end_user::Column::Status,
        end_user::Column::LastLoginAt,
        end_user::Column::Claims,
        end_user::Column::UpdatedAt,
    ])
    .action_and_where(Expr::col((end_user::Entity, end_user::Column::Status)).ne(BLOCKED))
    .to_owned();
    let mut insert = end_user::Entity::insert(row).on_conflict(upsert).into_query();
    insert.returning_all();
    backend.build(&insert)
}

/// A page of the tenant's end users, by email; `search` matches email or name, any case.
pub async fn page(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    search: Option<&str>,
    page: u64,
    per_page: u64,
) -> ServiceResult<(Vec<end_user::Model>, u64)> {
    use sea_orm::sea_query::{Expr, ExprTrait, Func};
    use sea_orm::{Condition, PaginatorTrait, QueryOrder};
    let mut query = end_user::Entity::find().filter(end_user::Column::TenantId.eq(tenant_id));
    if let Some(term) = search.map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = format!("%{}%", escape_like(&term.to_lowercase()));
        query = query.filter(
            Condition::any()
                .add(
                    Expr::expr(Func::lower(Expr::col(end_user::Column::Email)))
                        .like(sea_orm::sea_query::LikeExpr::new(pattern.clone()).escape('\\')),
                )
                .add(
                    Expr::expr(Func::lower(Expr::col(end_user::Column::DisplayName)))
                        .like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\')),
                ),
        );
    }
    let paginator = query
        .order_by_asc(end_user::Column::Email)
        .paginate(db, Ord::max(per_page, 1));
    let total = paginator.num_items().await?;
    let items = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((items, total))
}

fn escape_like(term: &str) -> String {
    term.chars().fold(String::with_capacity(term.len()), |mut s, c| {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
        s
    })
}

/// Active users of the tenant without a login since `cutoff` (never logged in: created
/// before it), longest inactive first: the first `limit`, and how many in all.
pub async fn inactive(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> ServiceResult<(Vec<end_user::Model>, u64)> {
    use sea_orm::{Condition, PaginatorTrait, QueryOrder, QuerySelect};
    let query = end_user::Entity::find()
        .filter(end_user::Column::TenantId.eq(tenant_id))
        .filter(end_user::Column::Status.eq("active"))
        .filter(
            Condition::any().add(end_user::Column::LastLoginAt.lt(cutoff)).add(
                Condition::all()
                    .add(end_user::Column::LastLoginAt.is_null())
                    .add(end_user::Column::CreatedAt.lt(cutoff)),
            ),
        );
    let total = query.clone().count(db).await?;
    let items = query
        .order_by_asc(end_user::Column::LastLoginAt)
        .order_by_asc(end_user::Column::Email)
        .limit(limit)
        .all(db)
        .await?;
    Ok((items, total))
}

/// Marks active users departed (ends nothing by itself: the caller ends their sessions);
/// returns those it changed. Blocked users stay blocked.
pub async fn depart(db: &DatabaseConnection, tenant_id: Uuid, ids: &[Uuid]) -> ServiceResult<Vec<end_user::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let mut changed = Vec::new();
    for id in ids {
        let result = end_user::Entity::update_many()
            .col_expr(end_user::Column::Status, "departed".into())
            .col_expr(end_user::Column::UpdatedAt, now.into())
            .filter(end_user::Column::Id.eq(*id))
            .filter(end_user::Column::TenantId.eq(tenant_id))
            .filter(end_user::Column::Status.eq("active"))
            .exec(db)
            .await?;
        if result.rows_affected > 0 {
            changed.push(get(db, tenant_id, *id).await?);
        }
    }
    Ok(changed)
}

/// The tenant's end user with this ID.
pub async fn get(db: &DatabaseConnection, tenant_id: Uuid, id: Uuid) -> ServiceResult<end_user::Model> {
    end_user::Entity::find_by_id(id)
        .filter(end_user::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::NotFound("no such user".into()))
}

/// Blocks (`blocked`) or unblocks (`active`) a user; returns the user before and after.
pub async fn set_status(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    id: Uuid,
    blocked: bool,
) -> ServiceResult<(end_user::Model, end_user::Model)> {
    let before = get(db, tenant_id, id).await?;
    let mut row = before.clone().into_active_model();
    row.status = Set(if blocked { "blocked" } else { "active" }.into());
    row.updated_at = Set(Utc::now());
    Ok((before, row.update(db).await?))
}

/// Forgets the user's second factor: they enrol again at their next login.
pub async fn reset_mfa(db: &DatabaseConnection, tenant_id: Uuid, id: Uuid) -> ServiceResult<end_user::Model> {
    get(db, tenant_id, id).await?;
    super::second_factor::remove(db, super::second_factor::Holder::EndUser { tenant_id, user_id: id }).await?;
    get(db, tenant_id, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upsert_is_the_statement_sea_query_builds() {
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            // The second and third logins bind their values to the SQL the first one cached.
            for name in [Some("Ada Lovelace"), None, Some("O'Brien \"quoted\"")] {
                let who = LoginIdentity {
                    issuer: "https://op.example",
                    subject: "248289761001",
                    email: "ada@corp.com",
                    name,
                    claims: None,
                };
                let (id, tenant, now) = (crate::db::new_id(), crate::db::new_id(), Utc::now());
                let ours = upsert_statement(backend, login_row(id, tenant, &who, now));
                let sea_query = upsert_by_sea_query(backend, login_row(id, tenant, &who, now));
                assert_eq!(ours.sql, sea_query.sql, "{backend:?}");
                assert_eq!(ours.values, sea_query.values, "{backend:?}");
                assert_eq!(ours.db_backend, sea_query.db_backend);
            }
        }
    }
}
