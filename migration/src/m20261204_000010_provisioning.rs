//! Provisioning over SCIM 2.0 (issue "Lifecycle"):
//!
//! - `provisioning_target`: one per service provider that wants its users pushed: the SCIM
//!   base URL, the bearer key (sealed), the key's expiry date, on/off, and the target's
//!   state (paused with a reason when the key is rejected; held until a `Retry-After`).
//! - `provisioning_push`: the durable queue, one row per (target, user) that needs pushing.
//!   Rows are written by triggers on `end_user` in the statement that changes the user (a
//!   login's upsert, a block), so the login pays no extra round trip and a crash loses
//!   nothing; a change while a row waits bumps its `generation` (the worker deletes only the
//!   generation it pushed). Times are Unix milliseconds; `due_ms` 0 is "now".
//! - `provisioning_link`: what a target holds for a user: its SCIM `id`, the last outcome
//!   (`synced` or `failed`, with the reason) and when.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use self::ProvisioningLink as Link;
use self::ProvisioningPush as Push;
use self::ProvisioningTarget as Target;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// What the triggers insert: a push per enabled target of the user's tenant, or one more
/// generation of the push already waiting. `{now}` is the database's clock in ms.
fn enqueue_sql(now: &str) -> String {
    format!(
        "INSERT INTO provisioning_push (target_id, end_user_id, tenant_id, generation, attempts, due_ms, queued_ms) \
         SELECT t.id, NEW.id, NEW.tenant_id, 1, 0, 0, {now} FROM provisioning_target t \
         WHERE t.tenant_id = NEW.tenant_id AND t.enabled \
         ON CONFLICT (target_id, end_user_id) DO UPDATE SET generation = provisioning_push.generation + 1"
    )
}

/// The columns of `end_user` whose change a target must hear of.
const WATCHED: &str = "email, display_name, status, last_login_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Target::Table)
                    .col(ColumnDef::new(Target::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Target::TenantId).uuid().not_null())
                    .col(ColumnDef::new(Target::ServiceProviderId).uuid().not_null())
                    .col(ColumnDef::new(Target::BaseUrl).string_len(2048).not_null())
                    .col(ColumnDef::new(Target::ApiKey).blob().not_null())
                    .col(ColumnDef::new(Target::KeyExpiresOn).date().null())
                    .col(ColumnDef::new(Target::Enabled).boolean().not_null())
                    .col(ColumnDef::new(Target::PausedReason).string_len(1024).null())
                    .col(ColumnDef::new(Target::PausedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Target::HoldUntilMs).big_integer().not_null().default(0))
                    .col(ColumnDef::new(Target::ExpiryWarned).integer().null())
                    .col(ColumnDef::new(Target::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Target::UpdatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Target::Table, Target::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Target::Table, Target::ServiceProviderId)
                            .to(ServiceProvider::Table, ServiceProvider::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("provisioning_target_sp")
                    .table(Target::Table)
                    .col(Target::ServiceProviderId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("provisioning_target_tenant")
                    .table(Target::Table)
                    .col(Target::TenantId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Push::Table)
                    .col(ColumnDef::new(Push::TargetId).uuid().not_null())
                    .col(ColumnDef::new(Push::EndUserId).uuid().not_null())
                    .col(ColumnDef::new(Push::TenantId).uuid().not_null())
                    .col(ColumnDef::new(Push::Generation).big_integer().not_null())
                    .col(ColumnDef::new(Push::Attempts).integer().not_null())
                    .col(ColumnDef::new(Push::DueMs).big_integer().not_null())
                    .col(ColumnDef::new(Push::QueuedMs).big_integer().not_null())
                    .col(ColumnDef::new(Push::LastError).string_len(1024).null())
                    .primary_key(Index::create().col(Push::TargetId).col(Push::EndUserId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Push::Table, Push::TargetId)
                            .to(Target::Table, Target::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Push::Table, Push::EndUserId)
                            .to(EndUser::Table, EndUser::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("provisioning_push_due")
                    .table(Push::Table)
                    .col(Push::DueMs)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Link::Table)
                    .col(ColumnDef::new(Link::TargetId).uuid().not_null())
                    .col(ColumnDef::new(Link::EndUserId).uuid().not_null())
                    .col(ColumnDef::new(Link::ScimId).string_len(255).null())
                    .col(ColumnDef::new(Link::State).string_len(16).not_null())
                    .col(ColumnDef::new(Link::Active).boolean().not_null())
                    .col(ColumnDef::new(Link::Reason).string_len(1024).null())
                    .col(ColumnDef::new(Link::PushedAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(Link::TargetId).col(Link::EndUserId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Link::Table, Link::TargetId)
                            .to(Target::Table, Target::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Link::Table, Link::EndUserId)
                            .to(EndUser::Table, EndUser::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                let enqueue = enqueue_sql("(extract(epoch from clock_timestamp()) * 1000)::bigint");
                db.execute_unprepared(&format!(
                    "CREATE FUNCTION provisioning_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN {enqueue}; RETURN NULL; END $$"
                ))
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER end_user_provisioning_insert AFTER INSERT ON end_user \
                     FOR EACH ROW EXECUTE FUNCTION provisioning_enqueue()",
                )
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER end_user_provisioning_update AFTER UPDATE OF {WATCHED} ON end_user \
                     FOR EACH ROW EXECUTE FUNCTION provisioning_enqueue()"
                ))
                .await?;
            }
            _ => {
                let enqueue = enqueue_sql("CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)");
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER end_user_provisioning_insert AFTER INSERT ON end_user \
                     FOR EACH ROW BEGIN {enqueue}; END"
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER end_user_provisioning_update AFTER UPDATE OF {WATCHED} ON end_user \
                     FOR EACH ROW BEGIN {enqueue}; END"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared("DROP TRIGGER IF EXISTS end_user_provisioning_update ON end_user")
                    .await?;
                db.execute_unprepared("DROP TRIGGER IF EXISTS end_user_provisioning_insert ON end_user")
                    .await?;
                db.execute_unprepared("DROP FUNCTION IF EXISTS provisioning_enqueue()")
                    .await?;
            }
            _ => {
                db.execute_unprepared("DROP TRIGGER IF EXISTS end_user_provisioning_update")
                    .await?;
                db.execute_unprepared("DROP TRIGGER IF EXISTS end_user_provisioning_insert")
                    .await?;
            }
        }
        for table in [
            Link::Table.into_iden(),
            Push::Table.into_iden(),
            Target::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Tenant {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ServiceProvider {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum EndUser {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ProvisioningTarget {
    Table,
    Id,
    TenantId,
    ServiceProviderId,
    BaseUrl,
    ApiKey,
    KeyExpiresOn,
    Enabled,
    PausedReason,
    PausedAt,
    HoldUntilMs,
    ExpiryWarned,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProvisioningPush {
    Table,
    TargetId,
    EndUserId,
    TenantId,
    Generation,
    Attempts,
    DueMs,
    QueuedMs,
    LastError,
}

#[derive(DeriveIden)]
enum ProvisioningLink {
    Table,
    TargetId,
    EndUserId,
    ScimId,
    State,
    Active,
    Reason,
    PushedAt,
}
