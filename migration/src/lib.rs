//! sea-orm migrations of Rosetta: one file per change, each with `up` and `down`.

pub use sea_orm_migration::migrator::MigrationStatus;
pub use sea_orm_migration::prelude::*;

mod m20261129_000001_create_tenant;
mod m20261129_000002_create_service_provider;
mod m20261129_000003_create_identity_source;
mod m20261129_000004_create_signing_key;
mod m20261129_000005_create_end_user;
mod m20261129_000006_create_audit_event;
mod m20261129_000007_create_admin;
mod m20261129_000008_end_user_mfa;
mod m20261203_000009_tenant_scoped_claims;
mod m20261204_000010_provisioning;
mod m20261204_000011_liveness;
mod m20261205_000012_mapping;
mod m20261205_000013_signing_key_expiry;
mod m20261206_000014_login_trace;
mod m20261207_000015_login_trace_packed;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_create_tenant::Migration),
            Box::new(m20261129_000002_create_service_provider::Migration),
            Box::new(m20261129_000003_create_identity_source::Migration),
            Box::new(m20261129_000004_create_signing_key::Migration),
            Box::new(m20261129_000005_create_end_user::Migration),
            Box::new(m20261129_000006_create_audit_event::Migration),
            Box::new(m20261129_000007_create_admin::Migration),
            Box::new(m20261129_000008_end_user_mfa::Migration),
            Box::new(m20261203_000009_tenant_scoped_claims::Migration),
            Box::new(m20261204_000010_provisioning::Migration),
            Box::new(m20261204_000011_liveness::Migration),
            Box::new(m20261205_000012_mapping::Migration),
            Box::new(m20261205_000013_signing_key_expiry::Migration),
            Box::new(m20261206_000014_login_trace::Migration),
            Box::new(m20261207_000015_login_trace_packed::Migration),
        ]
    }
}
