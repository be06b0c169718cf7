//! The session store: short-lived state with TTLs (pending logins, broker sessions, admin
//! sessions, replay caches, rate-limit counters).
//!
//! One trait, two implementations with the same semantics: [`RedisStore`] for production
//! (any number of replicas) and [`MemoryStore`] for the embedded default. Every key is a
//! [`StoreKey`], namespaced by tenant; each store adds its own deployment-wide prefix.

mod memory;
mod metered;
mod redis;

use std::sync::Arc;
use std::time::Duration;

pub use self::memory::{ENTRY_OVERHEAD_BYTES, MemoryStore};
pub use self::metered::MeteredStore;
pub use self::redis::RedisStore;
use crate::domain::TenantSlug;

/// Largest value either store accepts; state beyond this is a bug or an attack.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// Why a store operation failed. Callers fail closed on every variant.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backing service did not answer (connection lost, time-out).
    #[error("session store unavailable: {0}")]
    Unavailable(String),
    /// The in-process store reached its entry cap or its byte budget.
    #[error("session store is full ({0})")]
    Full(Capacity),
    /// A value over [`MAX_VALUE_BYTES`].
    #[error("value of {0} bytes exceeds the session store limit")]
    ValueTooLarge(usize),
    /// A counter key holds something that is not a counter.
    #[error("key does not hold a counter")]
    NotACounter,
}

/// Which limit of the in-process store was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Capacity {
    /// The entry cap (`store_max_entries`).
    #[error("{0} entries")]
    Entries(usize),
    /// The byte budget (`store_max_bytes`): keys, values and bookkeeping.
    #[error("{0} bytes")]
    Bytes(usize),
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// A namespaced key: `t:<tenant>:<kind>:<id>` or `g:<kind>:<id>`. Slugs and kinds never
/// contain `:`, so two different keys never collide.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoreKey(String);

impl StoreKey {
    /// A key owned by one tenant.
    pub fn tenant(tenant: &TenantSlug, kind: &'static str, id: &str) -> Self {
        debug_assert!(!kind.contains(':'));
        Self(format!("t:{tenant}:{kind}:{id}"))
    }

    /// A key of the deployment itself (admin sessions, global rate limits).
    pub fn global(kind: &'static str, id: &str) -> Self {
        debug_assert!(!kind.contains(':'));
        Self(format!("g:{kind}:{id}"))
    }

    /// The key without the store's prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Short-lived state with TTL semantics. TTLs are rounded up to whole milliseconds.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// The value, unless absent or expired.
    async fn get(&self, key: &StoreKey) -> StoreResult<Option<Vec<u8>>>;
    /// Stores `value`, replacing any previous one, for `ttl`.
    async fn set(&self, key: &StoreKey, value: &[u8], ttl: Duration) -> StoreResult<()>;
    /// Atomically reads and deletes: of two concurrent takes, one gets the value.
    async fn take(&self, key: &StoreKey) -> StoreResult<Option<Vec<u8>>>;
    /// Stores `value` only if the key is absent; `true` when it was stored.
    async fn set_if_absent(&self, key: &StoreKey, value: &[u8], ttl: Duration) -> StoreResult<bool>;
    /// Claims `guard` (as [`set_if_absent`](Self::set_if_absent) would, for `guard_ttl`) and,
    /// only when that succeeds, stores `value` under `key` for `ttl`: atomically, and in one
    /// round trip. `false`, with nothing stored, when `guard` was already there. For a
    /// request's replay-cache entry and the state the request starts.
    async fn set_guarded(
        &self,
        guard: &StoreKey,
        guard_ttl: Duration,
        key: &StoreKey,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<bool>;
    /// Adds one to a counter and returns the new count. The first increment creates the
    /// counter with `ttl`; later ones keep its expiry (a fixed window).
    async fn increment(&self, key: &StoreKey, ttl: Duration) -> StoreResult<u64>;
    /// Removes the key if present.
    async fn delete(&self, key: &StoreKey) -> StoreResult<()>;
    /// Checks the backing service answers.
    async fn ping(&self) -> StoreResult<()>;
    /// How many live keys of this kind exist across tenants (for metrics; a scan, not a
    /// hot-path call).
    async fn count_kind(&self, kind: &'static str) -> StoreResult<u64>;
    /// `redis` or `memory`.
    fn backend(&self) -> &'static str;
    /// The in-process store's entries and bytes (as its budget counts them); `None` for a
    /// store whose memory is another process's.
    fn usage(&self) -> Option<(usize, usize)> {
        None
    }
}

/// The store shared by handlers.
pub type SharedStore = Arc<dyn SessionStore>;

fn check_value(value: &[u8]) -> StoreResult<()> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(StoreError::ValueTooLarge(value.len()));
    }
    Ok(())
}

/// Whole milliseconds, at least one (zero would mean "no expiry" or an error in Redis).
fn ttl_millis(ttl: Duration) -> u64 {
    let ms = ttl.as_nanos().div_ceil(1_000_000);
    u64::try_from(ms).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_by_tenant() {
        let acme = TenantSlug::parse("acme").unwrap();
        let key = StoreKey::tenant(&acme, "pending", "abc");
        assert_eq!(key.as_str(), "t:acme:pending:abc");
        assert_ne!(key, StoreKey::global("pending", "abc"));
    }

    #[test]
    fn ttls_round_up_to_a_millisecond() {
        assert_eq!(ttl_millis(Duration::ZERO), 1);
        assert_eq!(ttl_millis(Duration::from_micros(1500)), 2);
        assert_eq!(ttl_millis(Duration::from_secs(600)), 600_000);
    }
}
