//! Service providers, identity sources and signing keys: tenant isolation, uniqueness,
//! secrets sealed at rest, and the metadata each tenant publishes.

use rosetta::domain::{AcsUrl, EmailDomain, EntityId, Handle};
use rosetta::services::identity_sources::{self, NewIdentitySource};
use rosetta::services::service_providers::{self, NewAcs, NewServiceProvider, Preset};
use rosetta::services::{ServiceError, second_factor, signing_keys};
use rosetta_entity::identity_source;
use sea_orm::EntityTrait;
use secrecy::{ExposeSecret, SecretString};

use crate::helpers::{both_stacks, spawn_app};

const ATLASSIAN_ENTITY: &str = "https://auth.atlassian.com/saml/2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90";
const ATLASSIAN_ACS: &str =
    "https://auth.atlassian.com/login/callback?connection=saml-2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90";

fn jira(entity: &str) -> NewServiceProvider {
    NewServiceProvider {
        name: Handle::parse("jira").unwrap(),
        preset: Preset::Atlassian,
        entity_id: EntityId::parse(entity).unwrap(),
        acs: NewAcs::in_order(vec![AcsUrl::parse(ATLASSIAN_ACS, false).unwrap()]),
        name_id_format: None,
        want_requests_signed: false,
        request_signing_certs: vec![],
    }
}

fn corp(domains: &[&str]) -> NewIdentitySource {
    NewIdentitySource {
        name: Handle::parse("corp").unwrap(),
        issuer: "https://accounts.example.com".into(),
        client_id: "client-1".into(),
        client_secret: SecretString::from("very-secret-value".to_owned()),
        scopes: vec!["email".into(), "profile".into()],
        domains: domains.iter().map(|d| EmailDomain::parse(d).unwrap()).collect(),
        use_userinfo: false,
        offline_access: false,
        preset: Default::default(),
        groups_claim: None,
        allow_guests: false,
        fetch_group_overage: false,
    }
}

both_stacks!(
    service_providers_are_scoped_and_per_tenant,
    |stack: rosetta_e2e::Stack| async move {
        let app = spawn_app(stack).await;
        let db = &app.state.db;
        let acme = app.create_tenant("acme", "Acme").await;
        let globex = app.create_tenant("globex", "Globex").await;

        let sp = service_providers::create(db, acme.id, jira(ATLASSIAN_ENTITY))
            .await
            .unwrap();
        assert_eq!(sp.acs[0].url, ATLASSIAN_ACS, "the ACS query string is kept");
        assert!(sp.acs[0].default);
        assert_eq!(
            sp.name_id_format,
            "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
        );
        assert_eq!(sp.attributes.len(), 4);

        // Another tenant cannot see it, nor remove it; registering the same entity ID
        // (Hardening II, 5: it is visible in any AuthnRequest) neither fails nor touches
        // Acme's: each tenant has its own.
        assert!(
            service_providers::find_by_entity_id(db, globex.id, ATLASSIAN_ENTITY)
                .await
                .unwrap()
                .is_none()
        );
        assert!(service_providers::list(db, globex.id).await.unwrap().is_empty());
        assert!(matches!(
            service_providers::remove(db, globex.id, "jira").await,
            Err(ServiceError::NotFound(_))
        ));
        let theirs = service_providers::create(db, globex.id, jira(ATLASSIAN_ENTITY))
            .await
            .expect("a second tenant registers the same entity ID");
        assert_ne!(theirs.id, sp.id);
        let found = service_providers::find_by_entity_id(db, acme.id, ATLASSIAN_ENTITY)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, sp.id, "each tenant finds its own");
        // Within one tenant the entity ID stays unique, and the message names no one else.
        let twice = service_providers::create(
            db,
            globex.id,
            NewServiceProvider {
                name: Handle::parse("jira-2").unwrap(),
                ..jira(ATLASSIAN_ENTITY)
            },
        )
        .await;
        match twice {
            Err(ServiceError::Conflict(m)) => assert!(m.contains("this tenant") && !m.contains("acme"), "{m}"),
            other => panic!("{other:?}"),
        }
        service_providers::remove(db, globex.id, "jira").await.unwrap();

        // Names are unique within a tenant.
        let again = service_providers::create(db, acme.id, jira("https://auth.atlassian.com/saml/other")).await;
        assert!(matches!(again, Err(ServiceError::Conflict(_))));

        assert!(
            service_providers::find_by_entity_id(db, acme.id, ATLASSIAN_ENTITY)
                .await
                .unwrap()
                .is_some()
        );
        service_providers::remove(db, acme.id, "jira").await.unwrap();
        assert!(
            service_providers::find_by_entity_id(db, acme.id, ATLASSIAN_ENTITY)
                .await
                .unwrap()
                .is_none()
        );
    }
);

both_stacks!(
    source_secrets_are_sealed_and_domains_never_block_another_tenant,
    |stack: rosetta_e2e::Stack| async move {
        let app = spawn_app(stack).await;
        let (db, keyring) = (&app.state.db, &app.state.keyring);
        let acme = app.create_tenant("acme", "Acme").await;
        let globex = app.create_tenant("globex", "Globex").await;

        let source = identity_sources::create(db, keyring, acme.id, corp(&["acme.example"]))
            .await
            .unwrap();
        assert_eq!(source.scopes, "openid email profile");
        assert_eq!(source.domains, ["acme.example"]);

        let row = identity_source::Entity::find_by_id(source.id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert!(
            !row.client_secret.windows(17).any(|w| w == b"very-secret-value"),
            "sealed at rest"
        );
        assert!(!format!("{row:?}").contains("very-secret"));

        let (_, secret) = identity_sources::find_with_secret(db, keyring, acme.id, "corp")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(secret.expose_secret(), "very-secret-value");
        assert!(
            identity_sources::find_with_secret(db, keyring, globex.id, "corp")
                .await
                .unwrap()
                .is_none()
        );

        // Hardening II, 5: a domain claimed (unverified) by one tenant never blocks another;
        // each routes it inside itself, with its own token to prove it.
        let theirs = identity_sources::create(db, keyring, globex.id, corp(&["ACME.example"]))
            .await
            .expect("another tenant routes the same domain");
        assert_eq!(theirs.domains, ["acme.example"]);
        assert!(source.claims[0].verified_at.is_none() && theirs.claims[0].verified_at.is_none());
        assert_ne!(source.claims[0].token, theirs.claims[0].token, "a token per tenant");
        identity_sources::remove(db, globex.id, "corp").await.unwrap();

        // Within one tenant a domain goes to one source; the message names no other tenant.
        let mine_twice = identity_sources::create(
            db,
            keyring,
            acme.id,
            NewIdentitySource {
                name: Handle::parse("second").unwrap(),
                ..corp(&["acme.example"])
            },
        )
        .await;
        match mine_twice {
            Err(ServiceError::Conflict(m)) => assert!(m.contains("this tenant"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            identity_sources::list(db, acme.id).await.unwrap().len(),
            1,
            "a failed create leaves nothing"
        );

        // Editing the list keeps what stays (with its token), adds and releases the rest.
        let (_, after) = identity_sources::update(
            db,
            keyring,
            acme.id,
            source.id,
            identity_sources::SourceUpdate {
                domains: Some(
                    ["acme.example", "acme.test"]
                        .iter()
                        .map(|d| EmailDomain::parse(d).unwrap())
                        .collect(),
                ),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(after.domains, ["acme.example", "acme.test"]);
        assert_eq!(
            after.claims[0].token, source.claims[0].token,
            "a kept domain keeps its token"
        );

        identity_sources::remove(db, acme.id, "corp").await.unwrap();
        identity_sources::create(
            db,
            keyring,
            acme.id,
            NewIdentitySource {
                name: Handle::parse("second").unwrap(),
                ..corp(&["acme.example"])
            },
        )
        .await
        .expect("a removed source frees its domains");
    }
);

both_stacks!(
    each_tenant_publishes_its_own_metadata,
    |stack: rosetta_e2e::Stack| async move {
        let app = spawn_app(stack).await;
        let acme = app.create_tenant("acme", "Acme").await;
        app.create_tenant("globex", "Globex").await;

        let res = app.get("acme.localhost:{port}", "/saml/metadata").await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/samlmetadata+xml");
        let acme_md = res.text().await.unwrap();
        let globex_md = app
            .get("globex.localhost:{port}", "/saml/metadata")
            .await
            .text()
            .await
            .unwrap();
        let entity = format!("http://acme.localhost:{}/saml/metadata", app.port);
        assert!(acme_md.contains(&format!("entityID=\"{entity}\"")), "{acme_md}");
        assert!(acme_md.contains(&format!("Location=\"http://acme.localhost:{}/saml/sso\"", app.port)));

        let key = signing_keys::active(&app.state.db, &app.state.keyring, acme.id)
            .await
            .unwrap();
        assert!(
            acme_md.contains(&key.cert_base64()),
            "the active certificate is published"
        );
        assert!(!globex_md.contains(&key.cert_base64()), "tenants have their own keys");
        let console = app.get("localhost:{port}", "/saml/metadata").await;
        assert_ne!(
            console.headers()["content-type"],
            "application/samlmetadata+xml",
            "not on the console host"
        );
    }
);

both_stacks!(
    signing_keys_rotate_by_publishing_then_promoting,
    |stack: rosetta_e2e::Stack| async move {
        let app = spawn_app(stack).await;
        let (db, keyring) = (&app.state.db, &app.state.keyring);
        let acme = app.create_tenant("acme", "Acme").await;
        let first = app.state.signing_key(acme.id).await.unwrap();

        assert!(
            matches!(signing_keys::promote(db, acme.id).await, Err(ServiceError::NotFound(_))),
            "nothing to promote"
        );
        let next = signing_keys::create_next(db, keyring, acme.id, "acme").await.unwrap();
        assert!(matches!(
            signing_keys::create_next(db, keyring, acme.id, "acme").await,
            Err(ServiceError::Conflict(_))
        ));
        let next_cert = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &next.certificate);

        // Published before it signs.
        let md = app
            .get("acme.localhost:{port}", "/saml/metadata")
            .await
            .text()
            .await
            .unwrap();
        assert!(md.contains(&first.cert_base64()) && md.contains(&next_cert), "{md}");
        assert!(
            md.find(&first.cert_base64()) < md.find(&next_cert),
            "the active certificate first"
        );
        assert_eq!(
            app.state.signing_key(acme.id).await.unwrap().cert_base64(),
            first.cert_base64(),
            "still signing with the first"
        );

        signing_keys::promote(db, acme.id).await.unwrap();
        assert_eq!(
            app.state.signing_key(acme.id).await.unwrap().cert_base64(),
            next_cert,
            "signing with the promoted key"
        );
        let md = app
            .get("acme.localhost:{port}", "/saml/metadata")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            md.contains(&next_cert) && !md.contains(&first.cert_base64()),
            "the retired key is no longer published"
        );
        let states: Vec<_> = signing_keys::list(db, acme.id)
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.state)
            .collect();
        assert_eq!(states.len(), 2);
        assert!(states.contains(&rosetta_entity::signing_key::KeyState::Retired));
    }
);

both_stacks!(
    accounts_are_keyed_on_issuer_and_subject_never_on_email,
    |stack: rosetta_e2e::Stack| async move {
        use rosetta::services::end_users::{self, LoginIdentity};
        let app = spawn_app(stack).await;
        let acme = app.create_tenant("acme", "Acme").await;
        let who = |issuer: &'static str, subject: &'static str| LoginIdentity {
            issuer,
            subject,
            email: "ada@acme.example",
            name: None,
            claims: None,
        };
        let a = end_users::record_login(&app.state.db, acme.id, &who("https://idp.one", "sub-1"))
            .await
            .unwrap();
        let same = end_users::record_login(&app.state.db, acme.id, &who("https://idp.one", "sub-1"))
            .await
            .unwrap();
        let other_sub = end_users::record_login(&app.state.db, acme.id, &who("https://idp.one", "sub-2"))
            .await
            .unwrap();
        let other_issuer = end_users::record_login(&app.state.db, acme.id, &who("https://idp.two", "sub-1"))
            .await
            .unwrap();
        assert_eq!(a.id, same.id, "the same person again");
        assert_ne!(a.id, other_sub.id, "same email, another subject: another account");
        assert_ne!(a.id, other_issuer.id, "same subject at another issuer: another account");
    }
);

both_stacks!(
    a_login_survives_the_database_dropping_the_workers_own_connection,
    |stack: rosetta_e2e::Stack| async move {
        use rosetta::services::end_users::{self, LoginIdentity};
        use sea_orm::{ConnectionTrait, DbBackend};
        let app = spawn_app(stack).await;
        let acme = app.create_tenant("acme", "Acme").await;
        let who = LoginIdentity {
            issuer: "https://idp.one",
            subject: "sub-1",
            email: "ada@acme.example",
            name: Some("Ada"),
            claims: None,
        };
        // The test's thread runs a current-thread runtime, as a worker does: the upsert runs
        // on the thread's own connection (rosetta::db::local), made now.
        let first = end_users::record_login(&app.state.db, acme.id, &who).await.unwrap();
        if app.state.db.get_database_backend() == DbBackend::Postgres {
            // PostgreSQL drops that connection (the only one whose last statement was the
            // upsert), as a restart or an idle timeout would.
            let killed = app
                .state
                .db
                .query_all_raw(sea_orm::Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = current_database() AND pid <> pg_backend_pid() \
                     AND query LIKE 'INSERT INTO \"end_user\"%'",
                ))
                .await
                .unwrap();
            assert_eq!(killed.len(), 1, "the worker's own connection was found and dropped");
        }
        // The failed connection is dropped and the login goes to the pool; the next one makes
        // a new connection of the thread's own.
        for name in ["Ada L.", "Ada Lovelace"] {
            let again = end_users::record_login(
                &app.state.db,
                acme.id,
                &LoginIdentity {
                    name: Some(name),
                    ..who.clone()
                },
            )
            .await
            .unwrap();
            assert_eq!(again.id, first.id);
            assert_eq!(again.display_name.as_deref(), Some(name));
        }
        // A blocked user is still refused on that path.
        end_users::set_status(&app.state.db, acme.id, first.id, true)
            .await
            .unwrap();
        assert!(matches!(
            end_users::record_login(&app.state.db, acme.id, &who).await,
            Err(rosetta::services::ServiceError::Forbidden(_))
        ));
    }
);

both_stacks!(
    a_login_on_the_workers_own_connection_writes_the_row_the_pool_reads,
    |stack: rosetta_e2e::Stack| async move {
        use rosetta::services::end_users::{self, LoginIdentity};
        use rosetta_entity::end_user;
        use sea_orm::sea_query::Expr;
        use sea_orm::{ActiveModelTrait, ColumnTrait, QueryFilter, Set, TransactionTrait};
        let app = spawn_app(stack).await;
        let db = &app.state.db;
        let acme = app.create_tenant("acme", "Acme").await;
        let ada = LoginIdentity {
            issuer: "https://idp.one",
            subject: "sub-1",
            email: "ada@acme.example",
            name: Some("Ada"),
            claims: None,
        };
        // The test's thread runs a current-thread runtime, as a worker does: the upsert runs on
        // the thread's own connection (on SQLite a rusqlite one, which binds and reads values
        // itself).
        let first = end_users::record_login(db, acme.id, &ada).await.unwrap();
        let stored = end_user::Entity::find_by_id(first.id).one(db).await.unwrap().unwrap();
        assert_eq!(
            stored, first,
            "the row as the pool reads it is the row the login returned"
        );

        // A row the pool wrote, every column set: the login finds it (its key columns are
        // bound alike) and reads every column back as the pool does.
        let now = chrono::Utc::now();
        let grace = end_user::ActiveModel {
            id: Set(uuid::Uuid::new_v4()),
            tenant_id: Set(acme.id),
            issuer: Set("https://idp.one".into()),
            subject: Set("sub-2".into()),
            email: Set("grace@acme.example".into()),
            display_name: Set(None),
            status: Set("active".into()),
            last_login_at: Set(None),
            totp_secret: Set(Some(vec![0, 1, 0xfe, 0xff])),
            totp_enabled_at: Set(Some(now)),
            totp_last_step: Set(Some(59_000_001)),
            recovery_codes: Set(Some("[\"a\",\"b\"]".into())),
            claims: Set(Some("{\"claims\":{\"dept\":\"R&D\"},\"groups\":null}".into())),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(db)
        .await
        .unwrap();
        let login = LoginIdentity {
            subject: "sub-2",
            email: "grace@acme.example",
            name: Some("Grace"),
            ..ada.clone()
        };
        let again = end_users::record_login(db, acme.id, &login).await.unwrap();
        assert_eq!(
            again,
            end_user::Entity::find_by_id(grace.id).one(db).await.unwrap().unwrap()
        );
        assert_eq!(again.id, grace.id);
        assert_eq!(again.display_name.as_deref(), Some("Grace"));
        assert_eq!(
            (
                &again.totp_secret,
                again.totp_enabled_at,
                again.totp_last_step,
                &again.recovery_codes,
                again.created_at
            ),
            (
                &grace.totp_secret,
                grace.totp_enabled_at,
                grace.totp_last_step,
                &grace.recovery_codes,
                grace.created_at
            )
        );

        // A pooled connection holds a write (on SQLite the database's write lock, as the audit
        // writer's batch does): a login is recorded all the same, once the write commits.
        let txn = db.begin().await.unwrap();
        end_user::Entity::update_many()
            .col_expr(end_user::Column::Email, Expr::col(end_user::Column::Email))
            .filter(end_user::Column::Id.eq(grace.id))
            .exec(&txn)
            .await
            .unwrap();
        let (during, committed) = tokio::join!(end_users::record_login(db, acme.id, &ada), txn.commit());
        committed.unwrap();
        assert_eq!(during.unwrap().id, first.id);
    }
);

both_stacks!(
    rekey_moves_every_secret_to_the_new_master_key,
    |stack: rosetta_e2e::Stack| async move {
        use rosetta::crypto::{Keyring, MasterKey};
        use rosetta::services::rekey;
        let app = spawn_app(stack).await;
        let db = &app.state.db;
        let acme = app.create_tenant("acme", "Acme").await;
        identity_sources::create(db, &app.state.keyring, acme.id, corp(&["acme.example"]))
            .await
            .unwrap();
        let email = rosetta::domain::EmailAddress::parse("ada@acme.example").unwrap();
        let signup = rosetta::services::accounts::SignUp {
            password: rosetta::domain::NewPassword::parse("plum harbour violet engine", &email).unwrap(),
            email,
            slug: rosetta::domain::TenantSlug::parse("acme-admins").unwrap(),
            name: rosetta::domain::DisplayName::parse("Acme admins").unwrap(),
        };
        let rosetta::services::accounts::SignUpOutcome::Created { account, .. } =
            rosetta::services::accounts::sign_up(db, &app.state.keyring, &app.state.hosts, signup)
                .await
                .unwrap()
        else {
            panic!("a new account");
        };
        let enrolment = rosetta::services::accounts::begin_totp(db, &app.state.keyring, account.id)
            .await
            .unwrap();
        let user = rosetta::services::end_users::record_login(
            db,
            acme.id,
            &rosetta::services::end_users::LoginIdentity {
                issuer: "https://idp.example",
                subject: "u1",
                email: "u1@acme.example",
                name: None,
                claims: None,
            },
        )
        .await
        .unwrap();
        // The end user's enrolment: a pending seed, confirmed with its first code.
        let pending = second_factor::new_pending(&app.state.keyring, acme.id, user.id).unwrap();
        let shown = second_factor::pending_enrolment(
            &app.state.keyring,
            acme.id,
            user.id,
            &pending,
            "Acme",
            "u1@acme.example",
        )
        .unwrap();
        let seed = totp_rs::Secret::Encoded(shown.secret_base32).to_bytes().unwrap();
        let code = rosetta::credentials::totp::code_at(&seed, chrono::Utc::now().timestamp().unsigned_abs()).unwrap();
        assert!(
            second_factor::confirm_pending(db, &app.state.keyring, acme.id, user.id, &pending, &code)
                .await
                .unwrap()
                .is_some()
        );
        // A provisioning target's API key and the user's refresh token.
        crate::helpers::add_atlassian_sp(&app, acme.id).await;
        let sp = rosetta::services::service_providers::find_by_name(db, acme.id, "jira")
            .await
            .unwrap()
            .unwrap();
        let (_, target) = rosetta::services::provisioning::put(
            db,
            &app.state.keyring,
            acme.id,
            sp.id,
            rosetta::services::provisioning::TargetInput {
                base_url: "https://api.atlassian.com/scim/directory/d".into(),
                api_key: Some(SecretString::from("atlassian-api-key")),
                key_expires_on: None,
                enabled: true,
            },
        )
        .await
        .unwrap();
        let source = identity_sources::find_with_secret(db, &app.state.keyring, acme.id, "corp")
            .await
            .unwrap()
            .unwrap()
            .0;
        rosetta::services::grants::store(
            db,
            &app.state.keyring,
            acme.id,
            user.id,
            source.id,
            Some(&SecretString::from("refresh-token-u1")),
        )
        .await
        .unwrap();
        let old_key = std::fs::read_to_string(app.state.settings.master_key_path()).unwrap();

        // Rotation: a new primary key, the old one kept for opening.
        let (new, new_b64) = MasterKey::generate().unwrap();
        let rotated = Keyring::new(new, vec![MasterKey::from_base64(&old_key).unwrap()]);
        let report = rekey::run(db, &rotated).await.unwrap();
        assert_eq!(
            report.resealed, 7,
            "the client secret, both tenants' signing keys, the admin's and the end user's TOTP seeds, the \
             provisioning key, the refresh token"
        );
        assert_eq!(
            rekey::run(db, &rotated).await.unwrap(),
            rekey::RekeyReport {
                resealed: 0,
                current: 7
            },
            "idempotent"
        );

        // The new key alone now opens everything; the old key alone opens nothing.
        let only_new = Keyring::new(MasterKey::from_base64(&new_b64).unwrap(), vec![]);
        let (_, secret) = identity_sources::find_with_secret(db, &only_new, acme.id, "corp")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(secret.expose_secret(), "very-secret-value");
        signing_keys::active(db, &only_new, acme.id).await.unwrap();
        let seed = totp_rs::Secret::Encoded(enrolment.secret_base32.clone())
            .to_bytes()
            .unwrap();
        let code = rosetta::credentials::totp::code_at(&seed, chrono::Utc::now().timestamp().unsigned_abs()).unwrap();
        rosetta::services::accounts::confirm_totp(db, &only_new, account.id, &code)
            .await
            .unwrap();
        let target = rosetta::services::provisioning::by_id(db, target.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            rosetta::services::provisioning::open_key(&only_new, &target)
                .unwrap()
                .expose_secret(),
            "atlassian-api-key"
        );
        let grant = rosetta::services::grants::get(db, user.id).await.unwrap().unwrap();
        assert_eq!(
            rosetta::services::grants::open(&only_new, &grant)
                .unwrap()
                .unwrap()
                .expose_secret(),
            "refresh-token-u1"
        );
        let only_old = Keyring::new(MasterKey::from_base64(&old_key).unwrap(), vec![]);
        assert!(signing_keys::active(db, &only_old, acme.id).await.is_err());
    }
);

both_stacks!(
    signing_keys_are_sealed_at_rest,
    |stack: rosetta_e2e::Stack| async move {
        let app = spawn_app(stack).await;
        let acme = app.create_tenant("acme", "Acme").await;
        let key = app.state.signing_key(acme.id).await.unwrap();
        let der = key.private_key_der().unwrap();
        let row = signing_keys::active_row(&app.state.db, acme.id).await.unwrap();
        assert!(
            !row.private_key.windows(64).any(|w| der.windows(64).next() == Some(w)),
            "no plaintext DER stored"
        );
        assert!(
            !format!("{row:?}").contains(&format!("{:?}", &der[..16])),
            "Debug shows no key material"
        );
        // Bound to its tenant and record: the same bytes under another tenant's row do not open.
        let globex = app.create_tenant("globex", "Globex").await;
        let mut moved = signing_keys::active_row(&app.state.db, globex.id).await.unwrap();
        moved.private_key = row.private_key.clone();
        assert!(signing_keys::unseal(&app.state.keyring, &moved).is_err());
    }
);
