//! Claims that one tenant could use to lock another out become per tenant (Hardening II, 5):
//!
//! - `service_provider.entity_id` is unique within its tenant, no longer across tenants
//!   (index `service_provider_tenant_entity`); the tenant's host already tells two tenants'
//!   SPs apart.
//! - `identity_source_domain` is keyed by `(tenant_id, domain)`: any number of tenants may
//!   route a domain, each inside itself. Ownership is proved with a DNS TXT record:
//!   `verify_token` is what the record must hold, `verified_at` when it did; only one tenant
//!   can hold a domain verified (partial unique index `identity_source_domain_proved`).
//!   Existing rows keep working and start unverified, each with a fresh token.
//!
//! PostgreSQL alters the tables in place; SQLite, which cannot drop a column constraint or a
//! primary key, rebuilds them; both in one transaction. Down restores the old shapes and refuses (a unique violation)
//! when two tenants have come to share a domain or an entity ID.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Runs statements one by one (one statement per call on every driver).
async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    for sql in statements {
        manager.get_connection().execute_unprepared(sql).await?;
    }
    Ok(())
}

/// Down cannot restore "unique across tenants" while two tenants share a value; it says so
/// before changing anything (and with a clear message).
async fn refuse_shared(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    for (what, sql) in [
        (
            "SP entity ID",
            "SELECT entity_id FROM service_provider GROUP BY entity_id HAVING COUNT(*) > 1",
        ),
        (
            "email domain",
            "SELECT domain FROM identity_source_domain GROUP BY domain HAVING COUNT(*) > 1",
        ),
    ] {
        let shared = manager
            .get_connection()
            .query_all_raw(Statement::from_string(manager.get_database_backend(), sql))
            .await?;
        if !shared.is_empty() {
            return Err(DbErr::Migration(format!(
                "{} {what}(s) are used by more than one tenant; the schema before this migration \
                 allows one tenant each: remove the extra registrations first",
                shared.len()
            )));
        }
    }
    Ok(())
}

/// A fresh random token per row, in SQL (32 hex characters).
fn token_sql(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "md5(random()::text || clock_timestamp()::text || domain)",
        _ => "lower(hex(randomblob(16)))",
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too: a table rebuild is copy, drop, rename, and must
    /// happen whole, on one connection.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        if backend == DbBackend::Postgres {
            let fill = format!(
                "UPDATE identity_source_domain SET verify_token = {}",
                token_sql(backend)
            );
            run(
                manager,
                &[
                    "ALTER TABLE service_provider DROP CONSTRAINT IF EXISTS service_provider_entity_id_key",
                    "ALTER TABLE identity_source_domain DROP CONSTRAINT identity_source_domain_pkey",
                    "ALTER TABLE identity_source_domain ADD COLUMN verified_at timestamp with time zone NULL",
                    "ALTER TABLE identity_source_domain ADD COLUMN verify_token varchar(64) NULL",
                    &fill,
                    "ALTER TABLE identity_source_domain ALTER COLUMN verify_token SET NOT NULL",
                    "ALTER TABLE identity_source_domain ADD PRIMARY KEY (tenant_id, domain)",
                ],
            )
            .await?;
        } else {
            rebuild_service_provider(manager, false).await?;
            manager
                .create_table(domain_table(DomainShape::PerTenant, "identity_source_domain_next"))
                .await?;
            let copy = format!(
                "INSERT INTO identity_source_domain_next (domain, tenant_id, source_id, verified_at, verify_token)
                 SELECT domain, tenant_id, source_id, NULL, {} FROM identity_source_domain",
                token_sql(backend)
            );
            run(
                manager,
                &[
                    &copy,
                    "DROP TABLE identity_source_domain",
                    "ALTER TABLE identity_source_domain_next RENAME TO identity_source_domain",
                ],
            )
            .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("service_provider_tenant_entity")
                    .table(ServiceProvider::Table)
                    .col(ServiceProvider::TenantId)
                    .col(ServiceProvider::EntityId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Same syntax on both: one tenant at most holds a domain verified.
        db.execute_unprepared(
            "CREATE UNIQUE INDEX identity_source_domain_proved ON identity_source_domain (domain)
             WHERE verified_at IS NOT NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        refuse_shared(manager).await?;
        db.execute_unprepared("DROP INDEX identity_source_domain_proved")
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("service_provider_tenant_entity")
                    .table(ServiceProvider::Table)
                    .to_owned(),
            )
            .await?;
        if backend == DbBackend::Postgres {
            run(
                manager,
                &[
                    "ALTER TABLE service_provider ADD CONSTRAINT service_provider_entity_id_key UNIQUE (entity_id)",
                    "ALTER TABLE identity_source_domain DROP CONSTRAINT identity_source_domain_pkey",
                    "ALTER TABLE identity_source_domain DROP COLUMN verified_at",
                    "ALTER TABLE identity_source_domain DROP COLUMN verify_token",
                    "ALTER TABLE identity_source_domain ADD PRIMARY KEY (domain)",
                ],
            )
            .await?;
        } else {
            rebuild_service_provider(manager, true).await?;
            manager
                .create_table(domain_table(DomainShape::Global, "identity_source_domain_next"))
                .await?;
            run(
                manager,
                &[
                    "INSERT INTO identity_source_domain_next (domain, tenant_id, source_id)
                     SELECT domain, tenant_id, source_id FROM identity_source_domain",
                    "DROP TABLE identity_source_domain",
                    "ALTER TABLE identity_source_domain_next RENAME TO identity_source_domain",
                ],
            )
            .await?;
        }
        Ok(())
    }
}

/// SQLite: `service_provider` again, with `entity_id` unique across tenants or not.
async fn rebuild_service_provider(manager: &SchemaManager<'_>, globally_unique: bool) -> Result<(), DbErr> {
    let mut entity_id = ColumnDef::new(ServiceProvider::EntityId);
    entity_id.string_len(1024).not_null();
    if globally_unique {
        entity_id.unique_key();
    }
    manager
        .create_table(
            Table::create()
                .table(Alias::new("service_provider_next"))
                .col(ColumnDef::new(ServiceProvider::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(ServiceProvider::TenantId).uuid().not_null())
                .col(ColumnDef::new(ServiceProvider::Name).string_len(64).not_null())
                .col(ColumnDef::new(ServiceProvider::Preset).string_len(16).not_null())
                .col(&mut entity_id)
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
                .col(ColumnDef::new(ServiceProvider::MfaPolicy).string_len(16).null())
                .foreign_key(
                    ForeignKey::create()
                        .from(Alias::new("service_provider_next"), ServiceProvider::TenantId)
                        .to(Tenant::Table, Tenant::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
    run(
        manager,
        &[
            "INSERT INTO service_provider_next (id, tenant_id, name, preset, entity_id, acs_urls,
                 name_id_format, attribute_mapping, want_requests_signed, request_signing_certs,
                 created_at, updated_at, mfa_policy)
             SELECT id, tenant_id, name, preset, entity_id, acs_urls, name_id_format,
                 attribute_mapping, want_requests_signed, request_signing_certs, created_at,
                 updated_at, mfa_policy FROM service_provider",
            "DROP TABLE service_provider",
            "ALTER TABLE service_provider_next RENAME TO service_provider",
        ],
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

enum DomainShape {
    /// Before: the domain alone is the key.
    Global,
    /// After: per tenant, with its proof of ownership.
    PerTenant,
}

/// SQLite: the `identity_source_domain` table of one shape, under `name`.
fn domain_table(shape: DomainShape, name: &str) -> TableCreateStatement {
    let table = Alias::new(name);
    let mut create = Table::create();
    create.table(table.clone());
    match shape {
        DomainShape::Global => {
            create.col(
                ColumnDef::new(IdentitySourceDomain::Domain)
                    .string_len(253)
                    .not_null()
                    .primary_key(),
            );
            create.col(ColumnDef::new(IdentitySourceDomain::TenantId).uuid().not_null());
        }
        DomainShape::PerTenant => {
            create.col(ColumnDef::new(IdentitySourceDomain::Domain).string_len(253).not_null());
            create.col(ColumnDef::new(IdentitySourceDomain::TenantId).uuid().not_null());
            create.primary_key(
                Index::create()
                    .col(IdentitySourceDomain::TenantId)
                    .col(IdentitySourceDomain::Domain),
            );
        }
    }
    create.col(ColumnDef::new(IdentitySourceDomain::SourceId).uuid().not_null());
    if let DomainShape::PerTenant = shape {
        create.col(
            ColumnDef::new(IdentitySourceDomain::VerifiedAt)
                .timestamp_with_time_zone()
                .null(),
        );
        create.col(
            ColumnDef::new(IdentitySourceDomain::VerifyToken)
                .string_len(64)
                .not_null(),
        );
    }
    create
        .foreign_key(
            ForeignKey::create()
                .from(table.clone(), IdentitySourceDomain::TenantId)
                .to(Tenant::Table, Tenant::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .from(table, IdentitySourceDomain::SourceId)
                .to(IdentitySource::Table, IdentitySource::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
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
    MfaPolicy,
}

#[derive(DeriveIden)]
enum IdentitySourceDomain {
    Domain,
    TenantId,
    SourceId,
    VerifiedAt,
    VerifyToken,
}

#[derive(DeriveIden)]
enum IdentitySource {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Tenant {
    Table,
    Id,
}
