//! Claims, groups and provider presets:
//!
//! - `service_provider.pairwise_salt`: the secret that makes each SP's persistent NameID its
//!   own (`NULL` for SPs registered before: they keep Rosetta's user ID, which their
//!   accounts are already keyed on). `attribute_mapping` now holds the whole mapping (NameID
//!   rule, attributes, groups rule) as a JSON object; the older JSON list still reads.
//! - `identity_source.preset`, `groups_claim`, `allow_guests`, `fetch_group_overage`: the
//!   kind of provider and its checks.
//! - `end_user.claims`: the last login's claims (bounded JSON), so that a preview and a
//!   provisioning push map the same values the login did.
//! - `provisioning_link.groups`: the SCIM groups the user was last put in at the target
//!   (JSON list of display names), so that a push removes only what it added.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let add = |table: DynIden, column: ColumnDef| Table::alter().table(table).add_column(column).to_owned();
        // SQLite adds one column per ALTER TABLE.
        for statement in [
            add(
                ServiceProvider::Table.into_iden(),
                ColumnDef::new(ServiceProvider::PairwiseSalt)
                    .string_len(64)
                    .null()
                    .to_owned(),
            ),
            add(
                IdentitySource::Table.into_iden(),
                ColumnDef::new(IdentitySource::Preset)
                    .string_len(16)
                    .not_null()
                    .default("generic")
                    .to_owned(),
            ),
            add(
                IdentitySource::Table.into_iden(),
                ColumnDef::new(IdentitySource::GroupsClaim)
                    .string_len(256)
                    .not_null()
                    .default("")
                    .to_owned(),
            ),
            add(
                IdentitySource::Table.into_iden(),
                ColumnDef::new(IdentitySource::AllowGuests)
                    .boolean()
                    .not_null()
                    .default(false)
                    .to_owned(),
            ),
            add(
                IdentitySource::Table.into_iden(),
                ColumnDef::new(IdentitySource::FetchGroupOverage)
                    .boolean()
                    .not_null()
                    .default(false)
                    .to_owned(),
            ),
            add(
                EndUser::Table.into_iden(),
                ColumnDef::new(EndUser::Claims).text().null().to_owned(),
            ),
            add(
                ProvisioningLink::Table.into_iden(),
                ColumnDef::new(ProvisioningLink::Groups).text().null().to_owned(),
            ),
        ] {
            manager.alter_table(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let drop = |table: DynIden, column: DynIden| Table::alter().table(table).drop_column(column).to_owned();
        for statement in [
            drop(
                ProvisioningLink::Table.into_iden(),
                ProvisioningLink::Groups.into_iden(),
            ),
            drop(EndUser::Table.into_iden(), EndUser::Claims.into_iden()),
            drop(
                IdentitySource::Table.into_iden(),
                IdentitySource::FetchGroupOverage.into_iden(),
            ),
            drop(
                IdentitySource::Table.into_iden(),
                IdentitySource::AllowGuests.into_iden(),
            ),
            drop(
                IdentitySource::Table.into_iden(),
                IdentitySource::GroupsClaim.into_iden(),
            ),
            drop(IdentitySource::Table.into_iden(), IdentitySource::Preset.into_iden()),
            drop(
                ServiceProvider::Table.into_iden(),
                ServiceProvider::PairwiseSalt.into_iden(),
            ),
        ] {
            manager.alter_table(statement).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum ServiceProvider {
    Table,
    PairwiseSalt,
}

#[derive(DeriveIden)]
enum IdentitySource {
    Table,
    Preset,
    GroupsClaim,
    AllowGuests,
    FetchGroupOverage,
}

#[derive(DeriveIden)]
enum EndUser {
    Table,
    Claims,
}

#[derive(DeriveIden)]
enum ProvisioningLink {
    Table,
    Groups,
}
