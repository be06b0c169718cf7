//! The Redis store of production deployments, shared by every replica.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};

use super::{SessionStore, StoreError, StoreKey, StoreResult, check_value, ttl_millis};

/// First increment sets the window; later ones keep it. One round trip, atomic.
const INCREMENT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
";

/// Redis through a connection manager that reconnects by itself after Redis restarts:
/// operations in flight while Redis is away fail with [`StoreError::Unavailable`], later
/// ones succeed again without restarting Rosetta. Needs Redis 6.2 or later (`GETDEL`).
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    increment: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: show only the prefix.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: RedisError) -> StoreError {
    if e.to_string().contains("not an integer") {
        return StoreError::NotACounter;
    }
    StoreError::Unavailable(e.to_string())
}

impl RedisStore {
    /// Connects to `url`; every key is stored as `<prefix>:<key>`.
    pub async fn connect(url: &str, prefix: &str) -> StoreResult<Self> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            increment: Script::new(INCREMENT),
        })
    }

    fn key(&self, key: &StoreKey) -> String {
        format!("{}:{}", self.prefix, key.as_str())
    }
}

#[async_trait::async_trait]
impl SessionStore for RedisStore {
    async fn get(&self, key: &StoreKey) -> StoreResult<Option<Vec<u8>>> {
        let mut conn = self.conn.clone();
        redis::cmd("GET")
            .arg(self.key(key))
            .query_async(&mut conn)
            .await
            .map_err(unavailable)
    }

    async fn set(&self, key: &StoreKey, value: &[u8], ttl: Duration) -> StoreResult<()> {
        check_value(value)?;
        let mut conn = self.conn.clone();
        redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(ttl_millis(ttl))
            .query_async(&mut conn)
            .await
            .map_err(unavailable)
    }

    async fn take(&self, key: &StoreKey) -> StoreResult<Option<Vec<u8>>> {
        let mut conn = self.conn.clone();
        redis::cmd("GETDEL")
            .arg(self.key(key))
            .query_async(&mut conn)
            .await
            .map_err(unavailable)
    }

    async fn set_if_absent(&self, key: &StoreKey, value: &[u8], ttl: Duration) -> StoreResult<bool> {
        check_value(value)?;
        let mut conn = self.conn.clone();
        let reply: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(ttl_millis(ttl))
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(reply.is_some())
    }

    async fn increment(&self, key: &StoreKey, ttl: Duration) -> StoreResult<u64> {
        let mut conn = self.conn.clone();
        self.increment
            .key(self.key(key))
            .arg(ttl_millis(ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)
    }

    async fn delete(&self, key: &StoreKey) -> StoreResult<()> {
        let mut conn = self.conn.clone();
        redis::cmd("DEL")
            .arg(self.key(key))
            .query_async(&mut conn)
            .await
            .map_err(unavailable)
    }

    async fn ping(&self) -> StoreResult<()> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await.map_err(unavailable)?;
        Ok(())
    }

    async fn count_kind(&self, kind: &'static str) -> StoreResult<u64> {
        let mut conn = self.conn.clone();
        // SCAN patterns are globs: escape glob characters of the prefix.
        let prefix: String = self
            .prefix
            .chars()
            .flat_map(|c| if "*?[]\\".contains(c) { vec!['\\', c] } else { vec![c] })
            .collect();
        let pattern = format!("{prefix}:t:*:{kind}:*");
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
