//! End-user TOTP: recovery codes of end users, and the tenant's MFA settings (trust the
//! provider's own second factor; ask again after some hours).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(EndUser::Table)
                    .add_column(ColumnDef::new(EndUser::RecoveryCodes).text().null())
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per ALTER TABLE.
        for column in [
            ColumnDef::new(Tenant::MfaTrustUpstream)
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
            ColumnDef::new(Tenant::MfaTrustedAcr).string_len(1024).null().to_owned(),
            ColumnDef::new(Tenant::MfaMaxAgeHours).integer().null().to_owned(),
        ] {
            manager
                .alter_table(Table::alter().table(Tenant::Table).add_column(column).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Tenant::MfaMaxAgeHours, Tenant::MfaTrustedAcr, Tenant::MfaTrustUpstream] {
            manager
                .alter_table(Table::alter().table(Tenant::Table).drop_column(column).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(EndUser::Table)
                    .drop_column(EndUser::RecoveryCodes)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum EndUser {
    Table,
    RecoveryCodes,
}

#[derive(DeriveIden)]
enum Tenant {
    Table,
    MfaTrustUpstream,
    MfaTrustedAcr,
    MfaMaxAgeHours,
}
