//! One suite for both session stores, plus Redis restarts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rosetta::domain::TenantSlug;
use rosetta::store::{MAX_VALUE_BYTES, MemoryStore, RedisStore, SessionStore, StoreError, StoreKey};
use rosetta_e2e::{RedisServer, TestRedis};

fn key(id: &str) -> StoreKey {
    StoreKey::global("suite", id)
}

const LONG: Duration = Duration::from_secs(600);

/// Waits (bounded) until `key` has expired; fails the test if it never does.
async fn wait_until_gone(store: &dyn SessionStore, key: &StoreKey) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while store.get(key).await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "{key:?} outlived its TTL");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn suite(store: Arc<dyn SessionStore>) {
    // get / set / delete
    assert_eq!(store.get(&key("a")).await.unwrap(), None);
    store.set(&key("a"), b"one", LONG).await.unwrap();
    store.set(&key("a"), b"two", LONG).await.unwrap();
    assert_eq!(store.get(&key("a")).await.unwrap().as_deref(), Some(&b"two"[..]));
    store.delete(&key("a")).await.unwrap();
    assert_eq!(store.get(&key("a")).await.unwrap(), None);
    store.delete(&key("never-there")).await.unwrap();

    // binary values survive
    let binary: Vec<u8> = (0..=255).collect();
    store.set(&key("bin"), &binary, LONG).await.unwrap();
    assert_eq!(store.get(&key("bin")).await.unwrap(), Some(binary));

    // take is single use
    store.set(&key("state"), b"pending", LONG).await.unwrap();
    assert_eq!(
        store.take(&key("state")).await.unwrap().as_deref(),
        Some(&b"pending"[..])
    );
    assert_eq!(store.take(&key("state")).await.unwrap(), None);

    // of many concurrent takes, exactly one wins
    store.set(&key("race"), b"x", LONG).await.unwrap();
    let takes = (0..16).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.take(&key("race")).await.unwrap() })
    });
    let winners = futures_count(takes).await;
    assert_eq!(winners, 1);

    // set_if_absent is a replay cache
    assert!(store.set_if_absent(&key("req-id"), b"1", LONG).await.unwrap());
    assert!(!store.set_if_absent(&key("req-id"), b"2", LONG).await.unwrap());
    assert_eq!(store.get(&key("req-id")).await.unwrap().as_deref(), Some(&b"1"[..]));

    // set_guarded: the guard claimed and the value stored together, or neither
    assert!(
        store
            .set_guarded(&key("guard-1"), LONG, &key("started-1"), b"pending one", LONG)
            .await
            .unwrap()
    );
    assert_eq!(store.get(&key("guard-1")).await.unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(
        store.get(&key("started-1")).await.unwrap().as_deref(),
        Some(&b"pending one"[..])
    );
    assert!(
        !store
            .set_guarded(&key("guard-1"), LONG, &key("started-2"), b"replayed", LONG)
            .await
            .unwrap(),
        "a claimed guard refuses"
    );
    assert_eq!(
        store.get(&key("started-2")).await.unwrap(),
        None,
        "a refused set stores nothing"
    );
    assert!(
        !store.set_if_absent(&key("guard-1"), b"1", LONG).await.unwrap(),
        "the guard is the replay cache set_if_absent sees"
    );
    store.set(&key("guard-2"), b"1", LONG).await.unwrap();
    assert!(
        !store
            .set_guarded(&key("guard-2"), LONG, &key("started-3"), b"x", LONG)
            .await
            .unwrap()
    );
    assert!(matches!(
        store
            .set_guarded(
                &key("guard-3"),
                LONG,
                &key("started-4"),
                &vec![0u8; MAX_VALUE_BYTES + 1],
                LONG
            )
            .await,
        Err(StoreError::ValueTooLarge(_))
    ));
    assert_eq!(
        store.get(&key("guard-3")).await.unwrap(),
        None,
        "an oversized value claims no guard"
    );
    // of many concurrent claims of one guard, exactly one stores its value
    let claims = (0..16).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let value = format!("claim {i}");
            let stored = store
                .set_guarded(
                    &key("guard-race"),
                    LONG,
                    &key(&format!("race-{i}")),
                    value.as_bytes(),
                    LONG,
                )
                .await
                .unwrap();
            stored.then_some(value.into_bytes())
        })
    });
    assert_eq!(futures_count(claims).await, 1);
    let mut stored = 0;
    for i in 0..16 {
        stored += usize::from(store.get(&key(&format!("race-{i}"))).await.unwrap().is_some());
    }
    assert_eq!(stored, 1, "only the winner's value is stored");

    // counters
    for expected in 1..=5 {
        assert_eq!(store.increment(&key("hits"), LONG).await.unwrap(), expected);
    }
    store.set(&key("text"), b"abc", LONG).await.unwrap();
    assert!(matches!(
        store.increment(&key("text"), LONG).await,
        Err(StoreError::NotACounter)
    ));

    // TTLs: short ones expire, long ones stay
    store
        .set(&key("short"), b"x", Duration::from_millis(150))
        .await
        .unwrap();
    assert!(
        store
            .set_if_absent(&key("short-nx"), b"x", Duration::from_millis(150))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .increment(&key("short-ctr"), Duration::from_millis(150))
            .await
            .unwrap(),
        1
    );
    assert!(
        store
            .set_guarded(
                &key("short-guard"),
                Duration::from_millis(150),
                &key("short-value"),
                b"x",
                Duration::from_millis(150)
            )
            .await
            .unwrap()
    );
    store.set(&key("long"), b"x", LONG).await.unwrap();
    wait_until_gone(store.as_ref(), &key("short")).await;
    wait_until_gone(store.as_ref(), &key("short-guard")).await;
    wait_until_gone(store.as_ref(), &key("short-value")).await;
    wait_until_gone(store.as_ref(), &key("short-nx")).await;
    wait_until_gone(store.as_ref(), &key("short-ctr")).await;
    assert!(store.get(&key("long")).await.unwrap().is_some());
    assert!(
        store.set_if_absent(&key("short-nx"), b"y", LONG).await.unwrap(),
        "an expired replay entry frees its key"
    );
    assert_eq!(
        store.increment(&key("short-ctr"), LONG).await.unwrap(),
        1,
        "an expired window restarts"
    );

    // tenants are separate namespaces
    let acme = StoreKey::tenant(&TenantSlug::parse("acme").unwrap(), "pending", "s1");
    let globex = StoreKey::tenant(&TenantSlug::parse("globex").unwrap(), "pending", "s1");
    store.set(&acme, b"acme's", LONG).await.unwrap();
    assert_eq!(store.get(&globex).await.unwrap(), None);
    assert_eq!(store.take(&globex).await.unwrap(), None);
    assert!(store.get(&acme).await.unwrap().is_some());

    // oversized values are refused and change nothing
    let big = vec![0u8; MAX_VALUE_BYTES + 1];
    assert!(matches!(
        store.set(&key("big"), &big, LONG).await,
        Err(StoreError::ValueTooLarge(_))
    ));
    assert_eq!(store.get(&key("big")).await.unwrap(), None);

    // counting a kind across tenants (metrics)
    let globex = TenantSlug::parse("globex").unwrap();
    store
        .set(&StoreKey::tenant(&globex, "pending", "s2"), b"x", LONG)
        .await
        .unwrap();
    store
        .set(&StoreKey::tenant(&globex, "sso", "s3"), b"x", LONG)
        .await
        .unwrap();
    store
        .set(
            &StoreKey::tenant(&globex, "pending", "gone"),
            b"x",
            Duration::from_millis(1),
        )
        .await
        .unwrap();
    wait_until_gone(store.as_ref(), &StoreKey::tenant(&globex, "pending", "gone")).await;
    assert_eq!(
        store.count_kind("pending").await.unwrap(),
        2,
        "acme's and globex's live pending logins"
    );

    store.ping().await.unwrap();
}

async fn futures_count(tasks: impl Iterator<Item = tokio::task::JoinHandle<Option<Vec<u8>>>>) -> usize {
    let mut won = 0;
    for task in tasks.collect::<Vec<_>>() {
        if task.await.unwrap().is_some() {
            won += 1;
        }
    }
    won
}

#[tokio::test]
async fn memory_store_passes_the_suite() {
    suite(Arc::new(MemoryStore::new(10_000))).await;
}

#[tokio::test]
async fn redis_store_passes_the_suite() {
    let Some(redis) = TestRedis::shared() else { return };
    let store = Arc::new(RedisStore::connect(redis.url(), redis.prefix()).await.unwrap());
    assert_eq!(store.backend(), "redis");
    suite(store).await;
    assert!(!redis.keys().is_empty(), "keys live under the test's prefix");
}

#[tokio::test]
async fn redis_prefixes_keep_deployments_apart() {
    let Some(one) = TestRedis::shared() else { return };
    let two = TestRedis::on(one.url());
    let a = RedisStore::connect(one.url(), one.prefix()).await.unwrap();
    let b = RedisStore::connect(two.url(), two.prefix()).await.unwrap();
    a.set(&key("shared-name"), b"a", LONG).await.unwrap();
    assert_eq!(b.get(&key("shared-name")).await.unwrap(), None);
    assert!(b.set_if_absent(&key("shared-name"), b"b", LONG).await.unwrap());
}

#[tokio::test]
async fn redis_store_recovers_after_a_restart_without_reconnecting_by_hand() {
    let mut server = RedisServer::start().expect("redis-server starts");
    let store = RedisStore::connect(&server.url(), "restart").await.unwrap();
    store.set(&key("before"), b"x", LONG).await.unwrap();

    server.kill();
    let started = Instant::now();
    let err = store.get(&key("before")).await.expect_err("Redis is down");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a dead Redis fails fast, it does not hang"
    );

    server.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match store.set(&key("after"), b"y", LONG).await {
            Ok(()) => break,
            Err(e) => assert!(Instant::now() < deadline, "store never recovered: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(store.get(&key("after")).await.unwrap().as_deref(), Some(&b"y"[..]));
    assert_eq!(
        store.get(&key("before")).await.unwrap(),
        None,
        "the restarted Redis kept nothing"
    );
}

#[tokio::test]
async fn redis_store_follows_a_sentinel_failover() {
    let mut master = RedisServer::start().expect("redis-server starts");
    let replica = RedisServer::start_replica_of(&master).unwrap();
    // The sentinel learns about the replica from the master's INFO: wait until it is attached.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let info: String = redis::Client::open(master.url())
            .and_then(|c| c.get_connection())
            .and_then(|mut c| redis::cmd("INFO").arg("replication").query(&mut c))
            .unwrap_or_default();
        if info.contains("connected_slaves:1") && info.contains("state=online") {
            break;
        }
        assert!(Instant::now() < deadline, "the replica never attached: {info}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sentinel = RedisServer::start_sentinel(&master, "rosetta").unwrap();
    let url = format!("redis+sentinel://127.0.0.1:{}/rosetta", sentinel.port());
    let store = RedisStore::connect(&url, "sentinel").await.unwrap();
    store.set(&key("before"), b"1", LONG).await.unwrap();
    assert_eq!(store.get(&key("before")).await.unwrap().as_deref(), Some(&b"1"[..]));

    // The master dies; the sentinel promotes the replica; the store finds it by itself.
    master.kill();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match store.set(&key("after"), b"2", LONG).await {
            Ok(()) => break,
            Err(e) => assert!(Instant::now() < deadline, "no failover: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(store.get(&key("after")).await.unwrap().as_deref(), Some(&b"2"[..]));
    let role: String = redis::Client::open(replica.url())
        .and_then(|c| c.get_connection())
        .and_then(|mut c| redis::cmd("INFO").arg("replication").query(&mut c))
        .unwrap();
    assert!(role.contains("role:master"), "the replica was promoted: {role}");
}
