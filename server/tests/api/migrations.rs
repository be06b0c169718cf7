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

/// How many migrations come after `name`.
fn later_than(name: &str) -> u32 {
    use rosetta_migration::MigratorTrait;
    let names: Vec<String> = rosetta_migration::Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let at = names.iter().position(|n| n == name).expect("the migration exists");
    (names.len() - at - 1) as u32
}

/// Hardening II, 5 on a database that has data: SPs and domains made before the change keep
/// working, each domain unverified with a fresh token; afterwards a second tenant may claim
/// the same entity ID and domain; down and up again keep the rows.
async fn claims_become_per_tenant(stack: rosetta_e2e::Stack) {
    use rosetta::domain::{AcsUrl, EntityId, Handle};
    use rosetta::services::service_providers::{self, NewAcs, NewServiceProvider, Preset};
    use rosetta_entity::{identity_source, identity_source_domain, service_provider};
    use sea_orm::sea_query::{Alias, Query};
    use sea_orm::{ConnectionTrait, EntityTrait, Set};

    let conn = db::connect(&SecretString::from(stack.database.url().to_owned()), 2)
        .await
        .unwrap();
    db::migrate_up(&conn).await.unwrap();

    let keyring = Keyring::new(MasterKey::generate().unwrap().0, vec![]);
    let hosts = HostRouter::new(&"http://localhost:8080".parse().unwrap());
    let tenant = |slug: &'static str| {
        let (conn, keyring, hosts) = (&conn, &keyring, &hosts);
        async move {
            tenants::create(
                conn,
                keyring,
                hosts,
                &TenantSlug::parse(slug).unwrap(),
                &DisplayName::parse(slug).unwrap(),
            )
            .await
            .unwrap()
        }
    };
    // The tenants exist before; the rest is written in the shape before the change (the
    // migrations after it are undone first: their columns go, the tenants stay).
    let acme = tenant("acme").await;
    let globex = tenant("globex").await;
    let later = later_than("m20261203_000009_tenant_scoped_claims");
    db::migrate_down(&conn, Some(later + 1)).await.unwrap();
    let sp = |name: &str| NewServiceProvider {
        name: Handle::parse(name).unwrap(),
        preset: Preset::Atlassian,
        entity_id: EntityId::parse(crate::helpers::SP).unwrap(),
        acs: NewAcs::in_order(vec![AcsUrl::parse(crate::helpers::ACS, false).unwrap()]),
        name_id_format: None,
        want_requests_signed: false,
        request_signing_certs: vec![],
    };
    let now = chrono::Utc::now();
    // Written as the code of that time did: without the columns of later migrations.
    let old_sp = |tenant_id: uuid::Uuid| {
        service_provider::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        tenant_id: Set(tenant_id),
        name: Set("jira".into()),
        preset: Set("atlassian".into()),
        entity_id: Set(crate::helpers::SP.into()),
        acs_urls: Set(format!(r#"[{{"index":0,"url":"{}","default":true}}]"#, crate::helpers::ACS)),
        name_id_format: Set("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into()),
        attribute_mapping: Set(
            r#"[{"name":"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress","name_format":"urn:oasis:names:tc:SAML:2.0:attrname-format:uri","claim":"email"}]"#.into(),
        ),
        want_requests_signed: Set(false),
        request_signing_certs: Set("[]".into()),
        mfa_policy: Set(None),
        pairwise_salt: sea_orm::ActiveValue::NotSet,
        created_at: Set(now),
        updated_at: Set(now),
    }
    };
    service_provider::Entity::insert(old_sp(acme.id))
        .exec_without_returning(&conn)
        .await
        .unwrap();
    assert!(
        service_provider::Entity::insert(old_sp(globex.id))
            .exec_without_returning(&conn)
            .await
            .is_err(),
        "before: unique across tenants"
    );
    let source_id = uuid::Uuid::new_v4();
    let old_source = identity_source::ActiveModel {
        id: Set(source_id),
        tenant_id: Set(acme.id),
        name: Set("corp".into()),
        issuer: Set("https://accounts.example.com".into()),
        client_id: Set("rosetta".into()),
        client_secret: Set(vec![1, 2, 3]),
        scopes: Set("openid".into()),
        use_userinfo: Set(false),
        // A column of a later migration: not in this schema yet.
        offline_access: sea_orm::ActiveValue::NotSet,
        preset: sea_orm::ActiveValue::NotSet,
        groups_claim: sea_orm::ActiveValue::NotSet,
        allow_guests: sea_orm::ActiveValue::NotSet,
        fetch_group_overage: sea_orm::ActiveValue::NotSet,
        created_at: Set(now),
        updated_at: Set(now),
    };
    identity_source::Entity::insert(old_source)
        .exec_without_returning(&conn)
        .await
        .unwrap();
    // The old shape of the domain table (no proof columns), written as the old code did.
    let insert = Query::insert()
        .into_table(Alias::new("identity_source_domain"))
        .columns([Alias::new("domain"), Alias::new("tenant_id"), Alias::new("source_id")])
        .values_panic(["acme.example".into(), acme.id.into(), source_id.into()])
        .to_owned();
    conn.execute(&insert).await.unwrap();

    db::migrate_up(&conn).await.unwrap();
    let rows = identity_source_domain::Entity::find().all(&conn).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].tenant_id, rows[0].domain.as_str()), (acme.id, "acme.example"));
    assert!(rows[0].verified_at.is_none(), "an old claim starts unverified");
    assert!(rows[0].verify_token.len() >= 32, "{:?}", rows[0].verify_token);
    assert!(
        service_providers::find_by_entity_id(&conn, acme.id, crate::helpers::SP)
            .await
            .unwrap()
            .is_some(),
        "the SP survived"
    );
    service_providers::create(&conn, globex.id, sp("jira"))
        .await
        .expect("after: unique per tenant");

    // Down refuses while two tenants share the entity ID (the old unique constraint
    // cannot hold), and works again once they do not.
    if later > 0 {
        db::migrate_down(&conn, Some(later)).await.unwrap();
    }
    assert!(db::migrate_down(&conn, Some(1)).await.is_err());
    // The old schema has no `pairwise_salt`: deleted without reading the row.
    {
        use sea_orm::{ColumnTrait, QueryFilter};
        service_provider::Entity::delete_many()
            .filter(service_provider::Column::TenantId.eq(globex.id))
            .exec(&conn)
            .await
            .unwrap();
    }
    db::migrate_down(&conn, Some(1)).await.unwrap();
    db::migrate_up(&conn).await.unwrap();
    let rows = identity_source_domain::Entity::find().all(&conn).await.unwrap();
    assert_eq!(rows.len(), 1, "the claim survives down and up");
}

#[tokio::test]
async fn claims_become_per_tenant_on_sqlite() {
    claims_become_per_tenant(rosetta_e2e::Stack::embedded()).await;
}

#[tokio::test]
async fn claims_become_per_tenant_on_postgres() {
    if let Some(database) = rosetta_e2e::TestDatabase::postgres().await {
        claims_become_per_tenant(rosetta_e2e::Stack { database, redis: None }).await;
    }
}
