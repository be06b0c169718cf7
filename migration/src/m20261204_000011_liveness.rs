//! Knowing when a user is gone (issue "Lifecycle", deprovisioning):
//!
//! - `identity_source.offline_access`: ask the provider for `offline_access` and keep each
//!   user's refresh token, sealed, in `end_user_grant`; redeeming it on a schedule tells
//!   whether the provider still knows the user.
//! - `tenant.liveness_interval_hours` (default 6) and `tenant.liveness_checked_at`: the
//!   schedule, and when a replica last took the tenant's run (one replica per run);
//!   `tenant.deactivate_after_days`: users without a login that long are marked departed.
//! - `end_user_grant`: one row per user of such a source: the sealed refresh token (`None`
//!   when the provider issued none), its state (`working`, `not_issued`, `refused`) and
//!   when it was last redeemed.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            ColumnDef::new(Tenant::LivenessIntervalHours)
                .integer()
                .not_null()
                .default(6)
                .to_owned(),
            ColumnDef::new(Tenant::DeactivateAfterDays).integer().null().to_owned(),
            ColumnDef::new(Tenant::LivenessCheckedAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(Table::alter().table(Tenant::Table).add_column(column).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(IdentitySource::Table)
                    .add_column(
                        ColumnDef::new(IdentitySource::OfflineAccess)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EndUserGrant::Table)
                    .col(ColumnDef::new(EndUserGrant::EndUserId).uuid().not_null().primary_key())
                    .col(ColumnDef::new(EndUserGrant::TenantId).uuid().not_null())
                    .col(ColumnDef::new(EndUserGrant::SourceId).uuid().not_null())
                    .col(ColumnDef::new(EndUserGrant::RefreshToken).blob().null())
                    .col(ColumnDef::new(EndUserGrant::State).string_len(16).not_null())
                    .col(
                        ColumnDef::new(EndUserGrant::CheckedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(EndUserGrant::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(EndUserGrant::Table, EndUserGrant::EndUserId)
                            .to(EndUser::Table, EndUser::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(EndUserGrant::Table, EndUserGrant::SourceId)
                            .to(IdentitySource::Table, IdentitySource::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("end_user_grant_tenant")
                    .table(EndUserGrant::Table)
                    .col(EndUserGrant::TenantId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EndUserGrant::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(IdentitySource::Table)
                    .drop_column(IdentitySource::OfflineAccess)
                    .to_owned(),
            )
            .await?;
        for column in [
            Tenant::LivenessCheckedAt,
            Tenant::DeactivateAfterDays,
            Tenant::LivenessIntervalHours,
        ] {
            manager
                .alter_table(Table::alter().table(Tenant::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Tenant {
    Table,
    LivenessIntervalHours,
    DeactivateAfterDays,
    LivenessCheckedAt,
}

#[derive(DeriveIden)]
enum IdentitySource {
    Table,
    Id,
    OfflineAccess,
}

#[derive(DeriveIden)]
enum EndUser {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum EndUserGrant {
    Table,
    EndUserId,
    TenantId,
    SourceId,
    RefreshToken,
    State,
    CheckedAt,
    UpdatedAt,
}
