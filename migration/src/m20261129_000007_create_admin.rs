//! Tenant self-service: admin accounts, memberships, invitations, single-use email tokens,
//! and the MFA policy columns of tenants, service providers and end users.

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
                    .table(AdminAccount::Table)
                    .col(ColumnDef::new(AdminAccount::Id).uuid().not_null().primary_key())
                    .col(
                        ColumnDef::new(AdminAccount::Email)
                            .string_len(320)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(AdminAccount::PasswordHash).string_len(255).not_null())
                    .col(
                        ColumnDef::new(AdminAccount::EmailVerifiedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(AdminAccount::TotpSecret).binary().null())
                    .col(
                        ColumnDef::new(AdminAccount::TotpEnabledAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(AdminAccount::TotpLastStep).big_integer().null())
                    .col(ColumnDef::new(AdminAccount::RecoveryCodes).text().null())
                    .col(
                        ColumnDef::new(AdminAccount::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AdminAccount::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Membership::Table)
                    .col(ColumnDef::new(Membership::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Membership::TenantId).uuid().not_null())
                    .col(ColumnDef::new(Membership::AccountId).uuid().not_null())
                    .col(ColumnDef::new(Membership::Role).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Membership::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Membership::Table, Membership::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Membership::Table, Membership::AccountId)
                            .to(AdminAccount::Table, AdminAccount::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("membership_tenant_account")
                    .table(Membership::Table)
                    .col(Membership::TenantId)
                    .col(Membership::AccountId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Invitation::Table)
                    .col(ColumnDef::new(Invitation::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Invitation::TenantId).uuid().not_null())
                    .col(ColumnDef::new(Invitation::Email).string_len(320).not_null())
                    .col(ColumnDef::new(Invitation::Role).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Invitation::TokenHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Invitation::InvitedBy).string_len(320).not_null())
                    .col(
                        ColumnDef::new(Invitation::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Invitation::AcceptedAt).timestamp_with_time_zone().null())
                    .col(
                        ColumnDef::new(Invitation::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Invitation::Table, Invitation::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EmailToken::Table)
                    .col(ColumnDef::new(EmailToken::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(EmailToken::AccountId).uuid().not_null())
                    .col(ColumnDef::new(EmailToken::Purpose).string_len(32).not_null())
                    .col(
                        ColumnDef::new(EmailToken::TokenHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(EmailToken::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(EmailToken::UsedAt).timestamp_with_time_zone().null())
                    .col(
                        ColumnDef::new(EmailToken::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(EmailToken::Table, EmailToken::AccountId)
                            .to(AdminAccount::Table, AdminAccount::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per ALTER TABLE.
        for column in [
            ColumnDef::new(TenantMfa::AdminMfaRequired)
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
            ColumnDef::new(TenantMfa::EndUserMfa)
                .string_len(16)
                .not_null()
                .default("off")
                .to_owned(),
        ] {
            manager
                .alter_table(Table::alter().table(Tenant::Table).add_column(column).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(ServiceProviderMfa::Table)
                    .add_column(ColumnDef::new(ServiceProviderMfa::MfaPolicy).string_len(16).null())
                    .to_owned(),
            )
            .await?;
        for column in [
            ColumnDef::new(EndUserMfa::TotpSecret).binary().null().to_owned(),
            ColumnDef::new(EndUserMfa::TotpEnabledAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(EndUserMfa::TotpLastStep).big_integer().null().to_owned(),
        ] {
            manager
                .alter_table(Table::alter().table(EndUserMfa::Table).add_column(column).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            EndUserMfa::TotpLastStep,
            EndUserMfa::TotpEnabledAt,
            EndUserMfa::TotpSecret,
        ] {
            manager
                .alter_table(Table::alter().table(EndUserMfa::Table).drop_column(column).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(ServiceProviderMfa::Table)
                    .drop_column(ServiceProviderMfa::MfaPolicy)
                    .to_owned(),
            )
            .await?;
        for column in [TenantMfa::EndUserMfa, TenantMfa::AdminMfaRequired] {
            manager
                .alter_table(Table::alter().table(Tenant::Table).drop_column(column).to_owned())
                .await?;
        }
        for table in [
            EmailToken::Table.into_iden(),
            Invitation::Table.into_iden(),
            Membership::Table.into_iden(),
            AdminAccount::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum AdminAccount {
    Table,
    Id,
    Email,
    PasswordHash,
    EmailVerifiedAt,
    TotpSecret,
    TotpEnabledAt,
    TotpLastStep,
    RecoveryCodes,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Membership {
    Table,
    Id,
    TenantId,
    AccountId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Invitation {
    Table,
    Id,
    TenantId,
    Email,
    Role,
    TokenHash,
    InvitedBy,
    ExpiresAt,
    AcceptedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum EmailToken {
    Table,
    Id,
    AccountId,
    Purpose,
    TokenHash,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TenantMfa {
    AdminMfaRequired,
    EndUserMfa,
}

#[derive(DeriveIden)]
enum ServiceProviderMfa {
    #[sea_orm(iden = "service_provider")]
    Table,
    MfaPolicy,
}

#[derive(DeriveIden)]
enum EndUserMfa {
    #[sea_orm(iden = "end_user")]
    Table,
    TotpSecret,
    TotpEnabledAt,
    TotpLastStep,
}
