//! Signing certificate expiry warnings (issue "Login debugger and go-live"):
//! `signing_key.expiry_warned` is the threshold (30 or 7 days) the tenant's owners were last
//! emailed about for this key, so each threshold is emailed once.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SigningKey::Table)
                    .add_column(ColumnDef::new(SigningKey::ExpiryWarned).integer().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SigningKey::Table)
                    .drop_column(SigningKey::ExpiryWarned)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum SigningKey {
    Table,
    ExpiryWarned,
}
