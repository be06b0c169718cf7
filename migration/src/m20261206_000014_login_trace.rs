//! Creates `login_trace` (issue "Login debugger and go-live"): one row per brokered login
//! attempt, success or failure, with every step it went through (a JSON array, to which each
//! later leg of the login appends its steps in SQL), why it failed (JSON) and the AuthnRequest
//! and Response XML without signature values. Kept for `login_trace_days` and at most
//! `login_trace_max` rows per tenant.

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
                    .table(LoginTrace::Table)
                    .col(ColumnDef::new(LoginTrace::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(LoginTrace::TenantId).uuid().not_null())
                    .col(
                        ColumnDef::new(LoginTrace::StartedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(LoginTrace::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(LoginTrace::Outcome).string_len(16).not_null())
                    .col(ColumnDef::new(LoginTrace::Initiated).string_len(8).not_null())
                    .col(ColumnDef::new(LoginTrace::ServiceProvider).string_len(255).null())
                    .col(ColumnDef::new(LoginTrace::EntityId).string_len(1024).null())
                    .col(ColumnDef::new(LoginTrace::Source).string_len(255).null())
                    .col(ColumnDef::new(LoginTrace::UserEmail).string_len(320).null())
                    .col(ColumnDef::new(LoginTrace::FailureCode).string_len(64).null())
                    .col(ColumnDef::new(LoginTrace::Body).text().not_null())
                    .col(ColumnDef::new(LoginTrace::Failure).text().null())
                    .col(ColumnDef::new(LoginTrace::RequestXml).text().null())
                    .col(ColumnDef::new(LoginTrace::ResponseXml).text().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(LoginTrace::Table, LoginTrace::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("login_trace_tenant_time")
                    .table(LoginTrace::Table)
                    .col(LoginTrace::TenantId)
                    .col(LoginTrace::StartedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoginTrace::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum LoginTrace {
    Table,
    Id,
    TenantId,
    StartedAt,
    UpdatedAt,
    Outcome,
    Initiated,
    ServiceProvider,
    EntityId,
    Source,
    UserEmail,
    FailureCode,
    Body,
    Failure,
    RequestXml,
    ResponseXml,
}
