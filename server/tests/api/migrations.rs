//! Every migration goes up and down on SQLite and PostgreSQL.

use rosetta::crypto::{Keyring, MasterKey};
use rosetta::db;
use rosetta::domain::{DisplayName, TenantSlug};
use rosetta::services::tenants;
use rosetta::tenancy::HostRouter;
use secrecy::SecretString;

async fn up_down_up(stack: rosetta_e2e::Stack) {
    let conn = db::connect(&SecretString::from(stack.database.url().to_owned()), 2)
        .await
        .unwrap();
    db::migrate_up(&conn).await.unwrap();
    let status = db::migration_status(&conn).await.unwrap();
    assert!(
        !status.is_empty() && status.iter().all(|(_, applied)| *applied),
        "{status:?}"
    );

    let slug = TenantSlug::parse("acme").unwrap();
    let keyring = Keyring::new(MasterKey::generate().unwrap().0, vec![]);
    let hosts = HostRouter::new(&"http://localhost:8080".parse().unwrap());
    tenants::create(&conn, &keyring, &hosts, &slug, &DisplayName::parse("Acme").unwrap())
        .await
        .unwrap();
    let again = tenants::create(&conn, &keyring, &hosts, &slug, &DisplayName::parse("Acme 2").unwrap()).await;
    assert!(
        matches!(again, Err(rosetta::services::ServiceError::Conflict(_))),
        "slugs are unique"
    );

    db::migrate_down(&conn, None).await.unwrap();
    assert!(
        db::migration_status(&conn)
            .await
            .unwrap()
            .iter()
            .all(|(_, applied)| !*applied)
    );
    assert!(
        tenants::list(&conn).await.is_err(),
        "the tenant table is gone after down"
    );

    db::migrate_up(&conn).await.unwrap();
    assert!(tenants::list(&conn).await.unwrap().is_empty());
}

#[tokio::test]
async fn up_down_up_on_sqlite() {
    up_down_up(rosetta_e2e::Stack::embedded()).await;
}

#[tokio::test]
async fn up_down_up_on_postgres() {
    if let Some(database) = rosetta_e2e::TestDatabase::postgres().await {
        up_down_up(rosetta_e2e::Stack { database, redis: None }).await;
    }
}

/// Start-up brings the schema up to date on a connection of its own and only then opens the
/// pool that serves (`db::connect_migrated`). Migrating on the serving pool left connections
/// that had read the schema of a migration in the middle: sqlx opens a new pooled connection
/// when an acquire finds none idle, which under load happens between two migration
/// statements. Such a connection, given an `ActiveModel::update` (the UPDATE, then the read-back
/// by ID) answered the read-back with a row missing the columns added since
/// (`Missing value for column 'mfa_trust_upstream'`, the flaky
/// `tenancy::suspended_tenants_are_not_served` of issue 27). Here every connection the pool can
/// open serves that sequence at once, right after start-up.
async fn every_pooled_connection_serves_the_migrated_schema(stack: rosetta_e2e::Stack) {
    use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set, TransactionTrait};
    let url = SecretString::from(stack.database.url().to_owned());
    let conn = db::connect_migrated(&url, 10).await.unwrap();
    let keyring = Keyring::new(MasterKey::generate().unwrap().0, vec![]);
    let hosts = HostRouter::new(&"http://localhost:8080".parse().unwrap());
    let name = DisplayName::parse("Acme").unwrap();
    let tenant = tenants::create(&conn, &keyring, &hosts, &TenantSlug::parse("acme").unwrap(), &name)
        .await
        .unwrap();
    // Ten transactions hold ten connections; each then updates and reads back, one at a time
    // (SQLite has one writer).
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(conn.begin().await.unwrap());
    }
    for (n, txn) in held.into_iter().enumerate() {
        let mut row = tenant.clone().into_active_model();
        row.display_name = Set(format!("Acme {n}"));
        let updated = row
            .update(&txn)
            .await
            .unwrap_or_else(|e| panic!("connection {n}: {e:?}"));
        assert_eq!(updated.display_name, format!("Acme {n}"));
        assert!(
            rosetta_entity::tenant::Entity::find_by_id(tenant.id)
                .one(&txn)
                .await
                .unwrap()
                .is_some()
        );
        txn.commit().await.unwrap();
    }
}

#[tokio::test]
async fn every_pooled_connection_serves_the_migrated_schema_on_sqlite() {
    every_pooled_connection_serves_the_migrated_schema(rosetta_e2e::Stack::embedded()).await;
}

#[tokio::test]
async fn every_pooled_connection_serves_the_migrated_schema_on_postgres() {
    if let Some(database) = rosetta_e2e::TestDatabase::postgres().await {
        every_pooled_connection_serves_the_migrated_schema(rosetta_e2e::Stack { database, redis: None }).await;
    }
}
