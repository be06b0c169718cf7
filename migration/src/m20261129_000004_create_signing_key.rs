//! Creates `signing_key`: each tenant's SAML signing keys, `next` → `active` → `retired`.

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
                    .table(SigningKey::Table)
                    .col(ColumnDef::new(SigningKey::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(SigningKey::TenantId).uuid().not_null())
                    .col(ColumnDef::new(SigningKey::State).string_len(16).not_null())
                    // PKCS#8 DER sealed with AES-256-GCM (crypto module), never plaintext.
                    .col(ColumnDef::new(SigningKey::PrivateKey).blob().not_null())
                    .col(ColumnDef::new(SigningKey::Certificate).blob().not_null())
                    .col(
                        ColumnDef::new(SigningKey::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SigningKey::ActivatedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(SigningKey::RetiredAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(SigningKey::Table, SigningKey::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("signing_key_tenant_state")
                    .table(SigningKey::Table)
                    .col(SigningKey::TenantId)
                    .col(SigningKey::State)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SigningKey::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SigningKey {
    Table,
    Id,
    TenantId,
    State,
    PrivateKey,
    Certificate,
    CreatedAt,
    ActivatedAt,
    RetiredAt,
}
