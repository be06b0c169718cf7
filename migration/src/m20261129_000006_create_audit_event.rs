//! Creates `audit_event`: logins (success and failure with reason) and admin changes.

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
                    .table(AuditEvent::Table)
                    .col(ColumnDef::new(AuditEvent::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(AuditEvent::TenantId).uuid().null())
                    .col(
                        ColumnDef::new(AuditEvent::OccurredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditEvent::Actor).string_len(320).not_null())
                    .col(ColumnDef::new(AuditEvent::Action).string_len(64).not_null())
                    .col(ColumnDef::new(AuditEvent::Outcome).string_len(16).not_null())
                    .col(ColumnDef::new(AuditEvent::Target).string_len(1024).null())
                    .col(ColumnDef::new(AuditEvent::Detail).text().not_null())
                    .col(ColumnDef::new(AuditEvent::Ip).string_len(64).null())
                    .col(ColumnDef::new(AuditEvent::RequestId).string_len(64).null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(AuditEvent::Table, AuditEvent::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_event_tenant_time")
                    .table(AuditEvent::Table)
                    .col(AuditEvent::TenantId)
                    .col(AuditEvent::OccurredAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEvent::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    Id,
    TenantId,
    OccurredAt,
    Actor,
    Action,
    Outcome,
    Target,
    Detail,
    Ip,
    RequestId,
}
