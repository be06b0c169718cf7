//! The Redis store of production deployments, shared by every replica.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{ConnectionAddr, RedisError, Script};

use super::{SessionStore, StoreError, StoreKey, StoreResult, check_value, ttl_millis};

/// First increment sets the window; later ones keep it. One round trip, atomic.
const INCREMENT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
";

/// The guard is claimed with `NX`; the value is stored only when that succeeded. One round
/// trip, atomic. Both keys carry the same prefix and tenant; with Redis Cluster they would
/// need a hash tag to share a slot (Rosetta supports single Redis and Sentinel).
const SET_GUARDED: &str = r"
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
";

/// Redis through a connection manager that reconnects by itself after Redis restarts:
/// operations in flight while Redis is away fail with [`StoreError::Unavailable`], later
/// ones succeed again without restarting Rosetta. Needs Redis 6.2 or later (`GETDEL`).
///
/// With Redis Sentinel (`redis+sentinel://[:password@]host:port[,host:port...]/master`),
/// the master is found through the sentinels, and found again when an operation fails
/// because the master went away or was demoted (`READONLY`) after a failover.
///
/// Each thread that runs a current-thread runtime (every actix-web worker) gets a connection
/// of its own, made on first use: its reply-reading task then runs on the thread that waits
/// for the reply, so a store operation costs no wake-up of another thread. Other threads
/// share the connection made at start.
#[derive(Clone)]
pub struct RedisStore {
    conn: Arc<RwLock<ConnectionManager>>,
    /// Identifies this store among the connections a thread keeps.
    id: u64,
    /// The client per-thread connections are made from (replaced after a failover).
    client: Arc<RwLock<redis::Client>>,
    /// Bumped when the master moved: per-thread connections older than this are remade.
    generation: Arc<AtomicU64>,
    sentinel: Option<Arc<tokio::sync::Mutex<SentinelClient>>>,
    prefix: String,
    increment: Script,
    set_guarded: Script,
}

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

/// A thread's connection to one store: its generation, and the connection or when making
/// one last failed.
type ThreadConnection = (u64, Result<ConnectionManager, Instant>);

thread_local! {
    /// This thread's connections: store ID → (generation, connection, or when making one
    /// last failed).
    static THREAD_CONNECTIONS: RefCell<HashMap<u64, ThreadConnection>> = RefCell::new(HashMap::new());
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: show only the prefix.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("sentinel", &self.sentinel.is_some())
            .finish_non_exhaustive()
    }
}

fn unavailable(e: RedisError) -> StoreError {
    if e.to_string().contains("not an integer") {
        return StoreError::NotACounter;
    }
    StoreError::Unavailable(e.to_string())
}

/// Errors after which a Sentinel deployment should ask for the master again.
fn master_may_have_moved(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.to_string().contains("READONLY")
}

fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_millis(500))
}

/// `redis+sentinel://[:password@]h1:p1[,h2:p2...]/master[/db]`, parsed by hand because a
/// host list is not a URL host.
struct SentinelSpec {
    sentinels: Vec<ConnectionAddr>,
    master: String,
    password: Option<String>,
    db: Option<i64>,
}

impl SentinelSpec {
    fn parse(url: &str) -> StoreResult<Option<Self>> {
        let Some(rest) = url.strip_prefix("redis+sentinel://") else {
            return Ok(None);
        };
        let bad = |why: &str| StoreError::Unavailable(format!("invalid Sentinel URL: {why}"));
        let (auth, rest) = match rest.rsplit_once('@') {
            Some((auth, rest)) => (Some(auth), rest),
            None => (None, rest),
        };
        let password = auth
            .map(|a| a.rsplit_once(':').map_or(a, |(_, p)| p).to_owned())
            .filter(|p| !p.is_empty());
        let (hosts, path) = rest.split_once('/').ok_or_else(|| bad("missing /<master name>"))?;
        let mut path = path.split('/');
        let master = path
            .next()
            .filter(|m| !m.is_empty())
            .ok_or_else(|| bad("missing master name"))?
            .to_owned();
        let db = match path.next() {
            Some(db) => Some(db.parse().map_err(|_| bad("the database is not a number"))?),
            None => None,
        };
        let sentinels = hosts
            .split(',')
            .map(|h| {
                let (host, port) = h.rsplit_once(':').unwrap_or((h, "26379"));
                let port = port.parse().map_err(|_| bad("a sentinel port is not a number"))?;
                if host.is_empty() {
                    return Err(bad("a sentinel host is empty"));
                }
                Ok(ConnectionAddr::Tcp(host.to_owned(), port))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(Self {
            sentinels,
            master,
            password,
            db,
        }))
    }

    fn client(self) -> StoreResult<SentinelClient> {
        let mut builder =
            SentinelClientBuilder::new(self.sentinels, self.master, SentinelServerType::Master).map_err(unavailable)?;
        if let Some(password) = &self.password {
            builder = builder
                .set_client_to_redis_password(password)
                .set_client_to_sentinel_password(password);
        }
        if let Some(db) = self.db {
            builder = builder.set_client_to_redis_db(db);
        }
        builder.build().map_err(unavailable)
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://`, `rediss://` or `redis+sentinel://`); every key is
    /// stored as `<prefix>:<key>`.
    pub async fn connect(url: &str, prefix: &str) -> StoreResult<Self> {
        let (client, sentinel) = match SentinelSpec::parse(url)? {
            Some(spec) => {
                let mut sentinel = spec.client()?;
                let client = sentinel.async_get_client().await.map_err(unavailable)?;
                (client, Some(Arc::new(tokio::sync::Mutex::new(sentinel))))
            }
            None => (redis::Client::open(url).map_err(unavailable)?, None),
        };
        let conn = ConnectionManager::new_with_config(client.clone(), manager_config())
            .await
            .map_err(unavailable)?;
        Ok(Self {
            conn: Arc::new(RwLock::new(conn)),
            id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
            client: Arc::new(RwLock::new(client)),
            generation: Arc::new(AtomicU64::new(0)),
            sentinel,
            prefix: prefix.to_owned(),
            increment: Script::new(INCREMENT),
            set_guarded: Script::new(SET_GUARDED),
        })
    }

    fn key(&self, key: &StoreKey) -> String {
        format!("{}:{}", self.prefix, key.as_str())
    }

    fn shared(&self) -> ConnectionManager {
        self.conn.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// This thread's connection when it runs a current-thread runtime (made on first use),
    /// else the shared one.
    async fn current(&self) -> ConnectionManager {
        use tokio::runtime::{Handle, RuntimeFlavor};
        let generation = self.generation.load(Ordering::Acquire);
        let local = THREAD_CONNECTIONS.with(|c| {
            c.borrow()
                .get(&self.id)
                .filter(|(g, _)| *g == generation)
                .map(|(_, conn)| conn.clone())
        });
        match local {
            Some(Ok(conn)) => return conn,
            // Redis was away a moment ago: do not try to connect on every request.
            Some(Err(failed)) if failed.elapsed() < Duration::from_secs(1) => return self.shared(),
            _ => {}
        }
        if Handle::try_current().map(|h| h.runtime_flavor()).ok() != Some(RuntimeFlavor::CurrentThread) {
            return self.shared();
        }
        let client = self.client.read().unwrap_or_else(|p| p.into_inner()).clone();
        let made = ConnectionManager::new_with_config(client, manager_config()).await;
        let remembered = made.clone().map_err(|_| Instant::now());
        THREAD_CONNECTIONS.with(|c| c.borrow_mut().insert(self.id, (generation, remembered)));
        // Redis is away: the shared connection reports it (and reconnects by itself).
        made.unwrap_or_else(|_| self.shared())
    }

    /// Asks the sentinels for the master again and connects to it.
    async fn find_master(&self, sentinel: &tokio::sync::Mutex<SentinelClient>) -> StoreResult<()> {
        let client = sentinel.lock().await.async_get_client().await.map_err(unavailable)?;
        let conn = ConnectionManager::new_with_config(client.clone(), manager_config())
            .await
            .map_err(unavailable)?;
        *self.conn.write().unwrap_or_else(|p| p.into_inner()) = conn;
        *self.client.write().unwrap_or_else(|p| p.into_inner()) = client;
        self.generation.fetch_add(1, Ordering::AcqRel);
        tracing::info!("session store: connected to the master the sentinels named");
        Ok(())
    }

    /// Runs one operation; under Sentinel, an error that suggests a failover makes it find
    /// the master and try once more.
    async fn run<T, F, Fut>(&self, op: F) -> StoreResult<T>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        match op(self.current().await).await {
            Ok(v) => Ok(v),
            Err(e) => match &self.sentinel {
                Some(sentinel) if master_may_have_moved(&e) => {
                    self.find_master(sentinel).await?;
                    op(self.current().await).await.map_err(unavailable)
                }
                _ => Err(unavailable(e)),
            },
        }
    }
}

#[async_trait::async_trait]
impl SessionStore for RedisStore {
    async fn get(&self, key: &StoreKey) -> StoreResult<Option<Vec<u8>>> {
        let key = self.key(key);
        self.run(|mut c| {
            let key = key.clone();
            async move { redis::cmd("GET").arg(key).query_async(&mut c).await }
        })
        .await
    }

    async fn set(&self, key: &StoreKey, value: &[u8], ttl: Duration) -> StoreResult<()> {
        check_value(value)?;
        let key = self.key(key);
        self.run(|mut c| {
            let key = key.clone();
            async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("PX")
                    .arg(ttl_millis(ttl))
                    .query_async(&mut c)
                    .await
            }
        })
        .await
    }

    async fn take(&self, key: &StoreKey) -> StoreResult<Option<Vec<u8>>> {
        let key = self.key(key);
        self.run(|mut c| {
            let key = key.clone();
            async move { redis::cmd("GETDEL").arg(key).query_async(&mut c).await }
        })
        .await
    }

    async fn set_if_absent(&self, key: &StoreKey, value: &[u8], ttl: Duration) -> StoreResult<bool> {
        check_value(value)?;
        let key = self.key(key);
        let reply: Option<String> = self
            .run(|mut c| {
                let key = key.clone();
                async move {
                    redis::cmd("SET")
                        .arg(key)
                        .arg(value)
                        .arg("NX")
                        .arg("PX")
                        .arg(ttl_millis(ttl))
                        .query_async(&mut c)
                        .await
                }
            })
            .await?;
        Ok(reply.is_some())
    }

    async fn set_guarded(
        &self,
        guard: &StoreKey,
        guard_ttl: Duration,
        key: &StoreKey,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<bool> {
        check_value(value)?;
        let (guard, key) = (self.key(guard), self.key(key));
        let stored: i64 = self
            .run(|mut c| {
                let (guard, key) = (guard.clone(), key.clone());
                async move {
                    self.set_guarded
                        .key(guard)
                        .key(key)
                        .arg(ttl_millis(guard_ttl))
                        .arg(value)
                        .arg(ttl_millis(ttl))
                        .invoke_async(&mut c)
                        .await
                }
            })
            .await?;
        Ok(stored == 1)
    }

    async fn increment(&self, key: &StoreKey, ttl: Duration) -> StoreResult<u64> {
        let key = self.key(key);
        self.run(|mut c| {
            let key = key.clone();
            async move { self.increment.key(key).arg(ttl_millis(ttl)).invoke_async(&mut c).await }
        })
        .await
    }

    async fn delete(&self, key: &StoreKey) -> StoreResult<()> {
        let key = self.key(key);
        self.run(|mut c| {
            let key = key.clone();
            async move { redis::cmd("DEL").arg(key).query_async(&mut c).await }
        })
        .await
    }

    async fn ping(&self) -> StoreResult<()> {
        let _: String = self
            .run(|mut c| async move { redis::cmd("PING").query_async(&mut c).await })
            .await?;
        Ok(())
    }

    async fn count_kind(&self, kind: &'static str) -> StoreResult<u64> {
        // SCAN patterns are globs: escape glob characters of the prefix.
        let prefix: String = self
            .prefix
            .chars()
            .flat_map(|c| if "*?[]\\".contains(c) { vec!['\\', c] } else { vec![c] })
            .collect();
        let pattern = format!("{prefix}:t:*:{kind}:*");
        let mut conn = self.current().await;
        let mut cursor: u64 = 0;
        let mut count = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            count += keys.len() as u64;
            if next == 0 {
                return Ok(count);
            }
            cursor = next;
        }
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}
