//! Provisioning targets and their queue (tables `provisioning_target`, `provisioning_push`,
//! `provisioning_link`; the migration explains how logins and blocks fill the queue).
//!
//! The queue holds at most one row per (target, user): "bring this user at this target to
//! the user's current state". Workers claim due rows with a lease (PostgreSQL: `FOR UPDATE
//! SKIP LOCKED`, so replicas never take the same row; SQLite serves one process), push, and
//! then remove the row only if no change arrived meanwhile ([`finish`]).

use chrono::{NaiveDate, Utc};
use rosetta_entity::{end_user, provisioning_link as link, provisioning_push as push, provisioning_target as target};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait,
    FromQueryResult, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Set, Statement, TransactionTrait, Value,
};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::{ServiceError, ServiceResult};
use crate::crypto::{Keyring, SecretContext};

/// Sealed-secret kind of a target's API key.
pub const KIND: &str = "provisioning_target.api_key";

/// How long a claimed push is its worker's (longer than a push's three requests of at most
/// 10 s each). A replica that dies mid-push leaves its pushes to another after this long.
pub const LEASE_MS: i64 = 60_000;

/// The API key's sealing context.
fn key_context<'a>(tenant: &'a str, record: &'a str) -> SecretContext<'a> {
    SecretContext {
        tenant,
        kind: KIND,
        record,
    }
}

/// A target's settings as an admin gives them.
#[derive(Debug)]
pub struct TargetInput {
    /// The SCIM base URL (checked by the caller).
    pub base_url: String,
    /// A new key; `None` keeps the stored one (required when creating).
    pub api_key: Option<SecretString>,
    /// When the key expires.
    pub key_expires_on: Option<NaiveDate>,
    /// Pushes flow.
    pub enabled: bool,
}

/// The SP's provisioning target, if it has one.
pub async fn get(db: &DatabaseConnection, tenant_id: Uuid, sp_id: Uuid) -> ServiceResult<Option<target::Model>> {
    Ok(target::Entity::find()
        .filter(target::Column::TenantId.eq(tenant_id))
        .filter(target::Column::ServiceProviderId.eq(sp_id))
        .one(db)
        .await?)
}

/// A target by its ID (any tenant: the worker's lookup).
pub async fn by_id(db: &DatabaseConnection, id: Uuid) -> ServiceResult<Option<target::Model>> {
    Ok(target::Entity::find_by_id(id).one(db).await?)
}

/// Creates or changes the SP's target. A new key clears a pause and any hold, and resets the
/// expiry warnings.
pub async fn put(
    db: &DatabaseConnection,
    keyring: &Keyring,
    tenant_id: Uuid,
    sp_id: Uuid,
    input: TargetInput,
) -> ServiceResult<(Option<target::Model>, target::Model)> {
    let before = get(db, tenant_id, sp_id).await?;
    let now = Utc::now();
    let id = before.as_ref().map_or_else(crate::db::new_id, |t| t.id);
    let (tenant, record) = (tenant_id.to_string(), id.to_string());
    let sealed = match &input.api_key {
        Some(key) => Some(
            keyring
                .seal(key_context(&tenant, &record), key.expose_secret().as_bytes())
                .map_err(|e| ServiceError::Internal(e.to_string()))?,
        ),
        None => None,
    };
    let after = match before.clone() {
        None => {
            let api_key = sealed.ok_or_else(|| ServiceError::Invalid {
                field: "api_key",
                message: "an API key is required".into(),
            })?;
            target::ActiveModel {
                id: Set(id),
                tenant_id: Set(tenant_id),
                service_provider_id: Set(sp_id),
                base_url: Set(input.base_url),
                api_key: Set(api_key),
                key_expires_on: Set(input.key_expires_on),
                enabled: Set(input.enabled),
                paused_reason: Set(None),
                paused_at: Set(None),
                hold_until_ms: Set(0),
                expiry_warned: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(db)
            .await?
        }
        Some(existing) => {
            let mut row = existing.into_active_model();
            row.base_url = Set(input.base_url);
            row.key_expires_on = Set(input.key_expires_on);
            row.enabled = Set(input.enabled);
            if let Some(api_key) = sealed {
                row.api_key = Set(api_key);
                row.paused_reason = Set(None);
                row.paused_at = Set(None);
                row.hold_until_ms = Set(0);
                row.expiry_warned = Set(None);
            }
            row.updated_at = Set(now);
            row.update(db).await?
        }
    };
    Ok((before, after))
}

/// Removes the SP's target, its queue and its links.
pub async fn delete(db: &DatabaseConnection, tenant_id: Uuid, sp_id: Uuid) -> ServiceResult<target::Model> {
    let row = get(db, tenant_id, sp_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("this service provider has no provisioning target".into()))?;
    // Explicitly (SQLite enforces foreign keys only when asked to).
    push::Entity::delete_many()
        .filter(push::Column::TargetId.eq(row.id))
        .exec(db)
        .await?;
    link::Entity::delete_many()
        .filter(link::Column::TargetId.eq(row.id))
        .exec(db)
        .await?;
    target::Entity::delete_by_id(row.id).exec(db).await?;
    Ok(row)
}

/// The target's key, opened.
pub fn open_key(keyring: &Keyring, row: &target::Model) -> ServiceResult<SecretString> {
    let (tenant, record) = (row.tenant_id.to_string(), row.id.to_string());
    let plain = keyring
        .open(key_context(&tenant, &record), &row.api_key)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let text = String::from_utf8(plain.to_vec()).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(SecretString::from(text))
}

/// Pauses the target: its pushes wait until the key is replaced (or it is resumed).
pub async fn pause(db: &DatabaseConnection, id: Uuid, reason: &str) -> ServiceResult<bool> {
    let result = target::Entity::update_many()
        .col_expr(target::Column::PausedReason, reason.into())
        .col_expr(target::Column::PausedAt, Utc::now().into())
        .filter(target::Column::Id.eq(id))
        .filter(target::Column::PausedReason.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Records the expiry warning just sent (days before: 30 or 7).
pub async fn set_expiry_warned(db: &DatabaseConnection, id: Uuid, days: i32) -> ServiceResult<()> {
    target::Entity::update_many()
        .col_expr(target::Column::ExpiryWarned, Some(days).into())
        .filter(target::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Holds every push of the target until `until_ms` (a `Retry-After`).
pub async fn hold(db: &DatabaseConnection, id: Uuid, until_ms: i64) -> ServiceResult<()> {
    target::Entity::update_many()
        .col_expr(target::Column::HoldUntilMs, until_ms.into())
        .filter(target::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Queues every user of the tenant for the target (Sync now); how many.
pub async fn enqueue_all(db: &DatabaseConnection, row: &target::Model) -> ServiceResult<u64> {
    let backend = db.get_database_backend();
    let sql = placeholders(
        backend,
        "INSERT INTO provisioning_push (target_id, end_user_id, tenant_id, generation, attempts, due_ms, queued_ms) \
         SELECT {1}, u.id, u.tenant_id, 1, 0, 0, {2} FROM end_user u WHERE u.tenant_id = {3} \
         ON CONFLICT (target_id, end_user_id) DO UPDATE SET generation = provisioning_push.generation + 1",
    );
    let result = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [row.id.into(), now_ms().into(), row.tenant_id.into()],
        ))
        .await?;
    Ok(result.rows_affected())
}

/// Queues one user for the target (a retry).
pub async fn enqueue(db: &DatabaseConnection, row: &target::Model, user_id: Uuid) -> ServiceResult<()> {
    let backend = db.get_database_backend();
    let sql = placeholders(
        backend,
        "INSERT INTO provisioning_push (target_id, end_user_id, tenant_id, generation, attempts, due_ms, queued_ms) \
         VALUES ({1}, {2}, {3}, 1, 0, 0, {4}) \
         ON CONFLICT (target_id, end_user_id) DO UPDATE SET generation = provisioning_push.generation + 1, \
         due_ms = 0, attempts = 0",
    );
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [row.id.into(), user_id.into(), row.tenant_id.into(), now_ms().into()],
    ))
    .await?;
    Ok(())
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// `{n}` becomes the backend's n-th placeholder (`$n` or `?n`).
fn placeholders(backend: DbBackend, sql: &str) -> String {
    let mark = if backend == DbBackend::Postgres { "$" } else { "?" };
    let mut out = sql.to_owned();
    for n in (1..=9).rev() {
        out = out.replace(&format!("{{{n}}}"), &format!("{mark}{n}"));
    }
    out
}

/// At start on SQLite (one process by design): the pushes a killed predecessor had leased
/// are due again at once instead of after their lease. A push waiting out a back-off in
/// that window is tried early once (harmless: Retry-After holds are the target's). How
/// many.
pub async fn release_leases(db: &DatabaseConnection) -> ServiceResult<u64> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(0);
    }
    let result = push::Entity::update_many()
        .col_expr(push::Column::DueMs, 0i64.into())
        .filter(push::Column::DueMs.gt(0i64))
        .filter(push::Column::DueMs.lte(now_ms() + LEASE_MS))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Claims up to `limit` due pushes of running targets, leasing each for [`LEASE_MS`].
pub async fn claim(db: &DatabaseConnection, limit: u64) -> ServiceResult<Vec<push::Model>> {
    let backend = db.get_database_backend();
    let now = now_ms();
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE OF q SKIP LOCKED"
    } else {
        ""
    };
    let sql = placeholders(
        backend,
        &format!(
            "UPDATE provisioning_push SET due_ms = {{2}} WHERE (target_id, end_user_id) IN (\
             SELECT q.target_id, q.end_user_id FROM provisioning_push q \
             JOIN provisioning_target t ON t.id = q.target_id \
             WHERE q.due_ms <= {{1}} AND t.enabled AND t.paused_reason IS NULL AND t.hold_until_ms <= {{1}} \
             ORDER BY q.due_ms, q.queued_ms LIMIT {{3}}{lock}) \
             RETURNING target_id, end_user_id, tenant_id, generation, attempts, due_ms, queued_ms, last_error"
        ),
    );
    let values: [Value; 3] = [now.into(), (now + LEASE_MS).into(), (limit as i64).into()];
    Ok(
        push::Model::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
            .all(db)
            .await?,
    )
}

/// How a push ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    /// The target holds the user as they are: `scim_id` (if the target has them) and
    /// whether active.
    Synced {
        /// The user's SCIM `id` there.
        scim_id: Option<String>,
        /// Whether the target holds them active.
        active: bool,
        /// The groups they are now in there (`None`: left as they were).
        groups: Option<Vec<String>>,
    },
    /// Try again at `due_ms` (transient failure).
    Retry {
        /// Not before.
        due_ms: i64,
        /// Why it failed.
        reason: String,
    },
    /// The target is paused: the push waits, not counted as an attempt.
    Wait,
    /// Refused as it is: recorded on the user's link; a later change or a retry queues it.
    Failed {
        /// Why.
        reason: String,
    },
}

/// Records the end of a claimed push; the row leaves the queue unless a change arrived
/// meanwhile (then it is due again at once) or it is to be tried again. The push leaves the
/// queue and the link takes its new state in one transaction: a reader never sees a user
/// neither waiting nor pushed.
pub async fn finish(db: &DatabaseConnection, claimed: &push::Model, finish: Finish) -> ServiceResult<()> {
    let txn = db.begin().await?;
    finish_in(&txn, claimed, finish).await?;
    txn.commit().await?;
    Ok(())
}

async fn finish_in(db: &DatabaseTransaction, claimed: &push::Model, finish: Finish) -> ServiceResult<()> {
    let key = (claimed.target_id, claimed.end_user_id);
    let this_push = || {
        push::Entity::update_many()
            .filter(push::Column::TargetId.eq(key.0))
            .filter(push::Column::EndUserId.eq(key.1))
    };
    let link_row = |state: &str, scim_id: Option<String>, active: bool, reason: Option<String>| link::ActiveModel {
        target_id: Set(key.0),
        end_user_id: Set(key.1),
        scim_id: Set(scim_id),
        state: Set(state.into()),
        active: Set(active),
        reason: Set(reason),
        pushed_at: Set(Utc::now()),
        groups: sea_orm::ActiveValue::NotSet,
    };
    // What the link becomes, and which of its columns a known link takes: a refusal keeps
    // the SCIM `id` and `active` the target last had.
    let (row, updated): (_, &[link::Column]) = match finish {
        Finish::Retry { due_ms, reason } => {
            this_push()
                .col_expr(push::Column::DueMs, due_ms.into())
                .col_expr(push::Column::Attempts, (claimed.attempts + 1).into())
                .col_expr(push::Column::LastError, truncate(&reason).into())
                .exec(db)
                .await?;
            return Ok(());
        }
        Finish::Wait => {
            this_push().col_expr(push::Column::DueMs, 0i64.into()).exec(db).await?;
            return Ok(());
        }
        Finish::Synced {
            scim_id,
            active,
            groups: Some(groups),
        } => (
            link::ActiveModel {
                groups: Set(serde_json::to_string(&groups).ok()),
                ..link_row("synced", scim_id, active, None)
            },
            &[
                link::Column::ScimId,
                link::Column::State,
                link::Column::Active,
                link::Column::Reason,
                link::Column::PushedAt,
                link::Column::Groups,
            ],
        ),
        Finish::Synced {
            scim_id,
            active,
            groups: None,
        } => (
            link_row("synced", scim_id, active, None),
            &[
                link::Column::ScimId,
                link::Column::State,
                link::Column::Active,
                link::Column::Reason,
                link::Column::PushedAt,
            ],
        ),
        Finish::Failed { reason } => (
            link_row("failed", None, false, Some(truncate(&reason))),
            &[link::Column::State, link::Column::Reason, link::Column::PushedAt],
        ),
    };
    let removed = push::Entity::delete_many()
        .filter(push::Column::TargetId.eq(key.0))
        .filter(push::Column::EndUserId.eq(key.1))
        .filter(push::Column::Generation.eq(claimed.generation))
        .exec(db)
        .await?;
    if removed.rows_affected == 0 {
        // Changed while pushing: due again now, with a clean slate.
        this_push()
            .col_expr(push::Column::DueMs, 0i64.into())
            .col_expr(push::Column::Attempts, 0i32.into())
            .col_expr(push::Column::LastError, Option::<String>::None.into())
            .exec(db)
            .await?;
    }
    link::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([link::Column::TargetId, link::Column::EndUserId])
                .update_columns(updated.iter().copied())
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

fn truncate(reason: &str) -> String {
    reason.chars().take(1000).collect()
}

/// The user's link at the target.
pub async fn link_of(db: &DatabaseConnection, target_id: Uuid, user_id: Uuid) -> ServiceResult<Option<link::Model>> {
    Ok(link::Entity::find_by_id((target_id, user_id)).one(db).await?)
}

/// The queue and links of one target, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueState {
    /// Pushes waiting.
    pub pending: u64,
    /// Of those, tried and failed at least once.
    pub retrying: u64,
    /// Users whose last push succeeded.
    pub synced: u64,
    /// Users whose last push was refused.
    pub failed: u64,
    /// When the oldest waiting push was queued (Unix ms).
    pub oldest_queued_ms: Option<i64>,
}

/// Counts the target's queue and links.
pub async fn queue_state(db: &DatabaseConnection, target_id: Uuid) -> ServiceResult<QueueState> {
    let pending = push::Entity::find().filter(push::Column::TargetId.eq(target_id));
    let oldest = pending
        .clone()
        .order_by_asc(push::Column::QueuedMs)
        .one(db)
        .await?
        .map(|p| p.queued_ms);
    let links = link::Entity::find().filter(link::Column::TargetId.eq(target_id));
    Ok(QueueState {
        pending: pending.clone().count(db).await?,
        retrying: pending.filter(push::Column::Attempts.gt(0)).count(db).await?,
        synced: links.clone().filter(link::Column::State.eq("synced")).count(db).await?,
        failed: links.filter(link::Column::State.eq("failed")).count(db).await?,
        oldest_queued_ms: oldest,
    })
}

/// Every target's queue at once, for the metrics: (depth, oldest queued ms).
pub async fn queue_totals(db: &DatabaseConnection) -> ServiceResult<(u64, Option<i64>)> {
    let depth = push::Entity::find().count(db).await?;
    let oldest = push::Entity::find()
        .order_by_asc(push::Column::QueuedMs)
        .one(db)
        .await?
        .map(|p| p.queued_ms);
    Ok((depth, oldest))
}

/// A user's provisioning state at one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserState {
    /// The user.
    pub user: end_user::Model,
    /// The last push's link (`None`: never pushed).
    pub link: Option<link::Model>,
    /// The waiting push, if any.
    pub pending: Option<push::Model>,
}

/// A page of the tenant's users with their state at the target, by email.
pub async fn user_states(
    db: &DatabaseConnection,
    row: &target::Model,
    page: u64,
    per_page: u64,
) -> ServiceResult<(Vec<UserState>, u64)> {
    let paginator = end_user::Entity::find()
        .filter(end_user::Column::TenantId.eq(row.tenant_id))
        .order_by_asc(end_user::Column::Email)
        .paginate(db, per_page.max(1));
    let total = paginator.num_items().await?;
    let users = paginator.fetch_page(page.saturating_sub(1)).await?;
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    let links = link::Entity::find()
        .filter(link::Column::TargetId.eq(row.id))
        .filter(link::Column::EndUserId.is_in(ids.clone()))
        .all(db)
        .await?;
    let pushes = push::Entity::find()
        .filter(push::Column::TargetId.eq(row.id))
        .filter(push::Column::EndUserId.is_in(ids))
        .all(db)
        .await?;
    let states = users
        .into_iter()
        .map(|user| UserState {
            link: links.iter().find(|l| l.end_user_id == user.id).cloned(),
            pending: pushes.iter().find(|p| p.end_user_id == user.id).cloned(),
            user,
        })
        .collect();
    Ok((states, total))
}

/// One user's state at the target.
pub async fn user_state(
    db: &DatabaseConnection,
    row: &target::Model,
    user: end_user::Model,
) -> ServiceResult<UserState> {
    Ok(UserState {
        link: link_of(db, row.id, user.id).await?,
        pending: push::Entity::find_by_id((row.id, user.id)).one(db).await?,
        user,
    })
}

/// Where a user stands at a target: a waiting push first, else the last push's outcome.
pub fn state_of(pending: bool, link: Option<&link::Model>) -> rosetta_api::ProvisioningState {
    use rosetta_api::ProvisioningState;
    match (pending, link) {
        (true, _) => ProvisioningState::Pending,
        (false, Some(l)) if l.state == "failed" => ProvisioningState::Failed,
        (false, Some(_)) => ProvisioningState::Synced,
        (false, None) => ProvisioningState::NotPushed,
    }
}

/// For each of `users`, their state at every target of the tenant (by SP name).
pub async fn badges(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    users: &[end_user::Model],
) -> ServiceResult<Vec<Vec<rosetta_api::UserProvisioning>>> {
    use rosetta_api::UserProvisioning;
    let targets = of_tenant(db, tenant_id).await?;
    if targets.is_empty() || users.is_empty() {
        return Ok(vec![Vec::new(); users.len()]);
    }
    let sps = rosetta_entity::service_provider::Entity::find()
        .filter(rosetta_entity::service_provider::Column::TenantId.eq(tenant_id))
        .all(db)
        .await?;
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    let target_ids: Vec<Uuid> = targets.iter().map(|t| t.id).collect();
    let links = link::Entity::find()
        .filter(link::Column::TargetId.is_in(target_ids.clone()))
        .filter(link::Column::EndUserId.is_in(ids.clone()))
        .all(db)
        .await?;
    let pushes = push::Entity::find()
        .filter(push::Column::TargetId.is_in(target_ids))
        .filter(push::Column::EndUserId.is_in(ids))
        .all(db)
        .await?;
    Ok(users
        .iter()
        .map(|u| {
            targets
                .iter()
                .map(|t| {
                    let link = links.iter().find(|l| l.target_id == t.id && l.end_user_id == u.id);
                    let pending = pushes.iter().any(|p| p.target_id == t.id && p.end_user_id == u.id);
                    UserProvisioning {
                        service_provider: sps
                            .iter()
                            .find(|sp| sp.id == t.service_provider_id)
                            .map_or_else(String::new, |sp| sp.name.clone()),
                        state: state_of(pending, link),
                        active_at_target: link.map(|l| l.active),
                    }
                })
                .collect()
        })
        .collect())
}

/// What a sync of every user would do at the target, from what Rosetta knows: users never
/// pushed and active are created, active ones pushed before are updated, inactive ones the
/// target holds active are deactivated (the rest need nothing). Counts, and the first
/// `max_items` users concerned by email.
pub async fn preview(
    db: &DatabaseConnection,
    row: &target::Model,
    max_items: usize,
) -> ServiceResult<(u64, u64, u64, Vec<(String, &'static str)>)> {
    let users = end_user::Entity::find()
        .filter(end_user::Column::TenantId.eq(row.tenant_id))
        .order_by_asc(end_user::Column::Email)
        .all(db)
        .await?;
    let links: std::collections::HashMap<Uuid, link::Model> = link::Entity::find()
        .filter(link::Column::TargetId.eq(row.id))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.end_user_id, l))
        .collect();
    let (mut create, mut update, mut deactivate, mut items) = (0, 0, 0, Vec::new());
    for user in users {
        let active = user.status == "active";
        let action = match (links.get(&user.id), active) {
            (None, true) => "create",
            (Some(l), true) if l.scim_id.is_none() => "create",
            (Some(_), true) => "update",
            (Some(l), false) if l.active => "deactivate",
            _ => continue,
        };
        match action {
            "create" => create += 1,
            "update" => update += 1,
            _ => deactivate += 1,
        }
        if items.len() < max_items {
            items.push((user.email, action));
        }
    }
    Ok((create, update, deactivate, items))
}

/// Every target of the tenant with its SP's ID.
pub async fn of_tenant(db: &DatabaseConnection, tenant_id: Uuid) -> ServiceResult<Vec<target::Model>> {
    Ok(target::Entity::find()
        .filter(target::Column::TenantId.eq(tenant_id))
        .all(db)
        .await?)
}
