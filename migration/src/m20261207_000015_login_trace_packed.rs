//! Login traces stored compressed (issue "Login debugger and go-live": the login's CPU does
//! not grow beyond noise): `login_trace.packed` holds a record per leg, each the leg's steps,
//! AuthnRequest and Response compressed together (`services::login_traces::pack`). Rows
//! written before keep their steps in `body` and their XML in `request_xml` and
//! `response_xml`, and are read from there until they expire (`login_trace_days`). Rolled
//! back, the column goes: traces written since keep their summary, not their steps and XML.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(LoginTrace::Table)
                    .add_column(ColumnDef::new(LoginTrace::Packed).binary().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(LoginTrace::Table)
                    .drop_column(LoginTrace::Packed)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum LoginTrace {
    Table,
    Packed,
}
