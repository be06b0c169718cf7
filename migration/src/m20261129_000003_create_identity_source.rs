//! Creates `identity_source` (each tenant's upstream OIDC providers) and
//! `identity_source_domain` (email domains routed to a source, unique across tenants).

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
                    .table(IdentitySource::Table)
                    .col(ColumnDef::new(IdentitySource::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(IdentitySource::TenantId).uuid().not_null())
                    .col(ColumnDef::new(IdentitySource::Name).string_len(64).not_null())
                    .col(ColumnDef::new(IdentitySource::Issuer).string_len(1024).not_null())
                    .col(ColumnDef::new(IdentitySource::ClientId).string_len(512).not_null())
                    // AES-256-GCM envelope (crypto module), never plaintext.
                    .col(ColumnDef::new(IdentitySource::ClientSecret).blob().not_null())
                    .col(ColumnDef::new(IdentitySource::Scopes).string_len(512).not_null())
                    .col(
                        ColumnDef::new(IdentitySource::UseUserinfo)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(IdentitySource::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdentitySource::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(IdentitySource::Table, IdentitySource::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("identity_source_tenant_name")
                    .table(IdentitySource::Table)
                    .col(IdentitySource::TenantId)
                    .col(IdentitySource::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IdentitySourceDomain::Table)
                    .col(
                        ColumnDef::new(IdentitySourceDomain::Domain)
                            .string_len(253)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(IdentitySourceDomain::TenantId).uuid().not_null())
                    .col(ColumnDef::new(IdentitySourceDomain::SourceId).uuid().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(IdentitySourceDomain::Table, IdentitySourceDomain::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(IdentitySourceDomain::Table, IdentitySourceDomain::SourceId)
                            .to(IdentitySource::Table, IdentitySource::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdentitySourceDomain::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(IdentitySource::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum IdentitySource {
    Table,
    Id,
    TenantId,
    Name,
    Issuer,
    ClientId,
    ClientSecret,
    Scopes,
    UseUserinfo,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum IdentitySourceDomain {
    Table,
    Domain,
    TenantId,
    SourceId,
}
