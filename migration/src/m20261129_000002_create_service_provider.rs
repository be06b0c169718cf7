//! Creates `service_provider`: the SAML SPs (Atlassian or generic) of each tenant.

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
                    .table(ServiceProvider::Table)
                    .col(ColumnDef::new(ServiceProvider::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(ServiceProvider::TenantId).uuid().not_null())
                    .col(ColumnDef::new(ServiceProvider::Name).string_len(64).not_null())
                    .col(ColumnDef::new(ServiceProvider::Preset).string_len(16).not_null())
                    // Unique across tenants: an SP cannot be claimed by a second tenant.
                    .col(
                        ColumnDef::new(ServiceProvider::EntityId)
                            .string_len(1024)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(ServiceProvider::AcsUrls).text().not_null())
                    .col(ColumnDef::new(ServiceProvider::NameIdFormat).string_len(255).not_null())
                    .col(ColumnDef::new(ServiceProvider::AttributeMapping).text().not_null())
                    .col(
                        ColumnDef::new(ServiceProvider::WantRequestsSigned)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(ServiceProvider::RequestSigningCerts).text().not_null())
                    .col(
                        ColumnDef::new(ServiceProvider::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServiceProvider::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ServiceProvider::Table, ServiceProvider::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("service_provider_tenant_name")
                    .table(ServiceProvider::Table)
                    .col(ServiceProvider::TenantId)
                    .col(ServiceProvider::Name)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ServiceProvider::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ServiceProvider {
    Table,
    Id,
    TenantId,
    Name,
    Preset,
    EntityId,
    AcsUrls,
    NameIdFormat,
    AttributeMapping,
    WantRequestsSigned,
    RequestSigningCerts,
    CreatedAt,
    UpdatedAt,
}
