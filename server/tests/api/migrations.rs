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
