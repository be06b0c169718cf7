//! Creates the `tenant` table.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tenant::Table)
                    .col(ColumnDef::new(Tenant::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Tenant::Slug).string_len(63).not_null().unique_key())
                    .col(ColumnDef::new(Tenant::DisplayName).string_len(200).not_null())
                    .col(
                        ColumnDef::new(Tenant::Status)
                            .string_len(16)
                            .not_null()
                            .default("active"),
                    )
                    .col(ColumnDef::new(Tenant::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Tenant::UpdatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Tenant::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub(crate) enum Tenant {
    Table,
    Id,
    Slug,
    DisplayName,
    Status,
    CreatedAt,
    UpdatedAt,
}
