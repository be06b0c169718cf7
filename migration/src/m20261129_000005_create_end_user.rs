//! Creates `end_user`: people who logged in through a tenant, keyed on (issuer, sub).

use sea_orm_migration::prelude::*;

use crate::m20261129_000001_create_tenant::Tenant;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EndUser::Table)
                    .col(ColumnDef::new(EndUser::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(EndUser::TenantId).uuid().not_null())
                    .col(ColumnDef::new(EndUser::Issuer).string_len(1024).not_null())
                    .col(ColumnDef::new(EndUser::Subject).string_len(255).not_null())
                    .col(ColumnDef::new(EndUser::Email).string_len(320).not_null())
                    .col(ColumnDef::new(EndUser::DisplayName).string_len(200).null())
                    .col(ColumnDef::new(EndUser::Status).string_len(16).not_null())
                    .col(ColumnDef::new(EndUser::LastLoginAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(EndUser::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(EndUser::UpdatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(EndUser::Table, EndUser::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("end_user_tenant_issuer_subject")
                    .table(EndUser::Table)
                    .col(EndUser::TenantId)
                    .col(EndUser::Issuer)
                    .col(EndUser::Subject)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(EndUser::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum EndUser {
    Table,
    Id,
    TenantId,
    Issuer,
    Subject,
    Email,
    DisplayName,
    Status,
    LastLoginAt,
    CreatedAt,
    UpdatedAt,
}
