//! The in-process store of the embedded default: one process, memory bounded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::{Capacity, SessionStore, StoreError, StoreKey, StoreResult, check_value, ttl_millis};

/// How often writes sweep out expired entries.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// What one entry costs besides its key and value bytes: the table's slot (hash, the key's
/// and the value's pointers, lengths and capacities, the expiry) and the allocator's headers.
pub const ENTRY_OVERHEAD_BYTES: usize = 96;

struct Entry {
    value: Vec<u8>,
    expires: Instant,
}

/// The bytes an entry holds.
fn cost(key: &str, value: &[u8]) -> usize {
    key.len() + value.len() + ENTRY_OVERHEAD_BYTES
}

struct Inner {
    map: HashMap<String, Entry>,
    last_sweep: Instant,
    /// Sum of [`cost`] over `map`.
    bytes: usize,
}

impl Inner {
    /// Inserts or replaces, keeping `bytes` right.
    fn insert(&mut self, key: &str, entry: Entry) {
        self.bytes += cost(key, &entry.value);
        if let Some(old) = self.map.insert(key.to_owned(), entry) {
            self.bytes -= cost(key, &old.value);
        }
    }

    /// Removes, keeping `bytes` right.
    fn remove(&mut self, key: &str) -> Option<Entry> {
        let old = self.map.remove(key)?;
        self.bytes -= cost(key, &old.value);
        Some(old)
    }

    /// Drops expired entries.
    fn sweep(&mut self, now: Instant) {
        let mut freed = 0;
        self.map.retain(|k, e| {
            let keep = e.expires > now;
            if !keep {
                freed += cost(k, &e.value);
            }
            keep
        });
        self.bytes -= freed;
        self.last_sweep = now;
        // After a burst (a morning rush, a flood of abandoned logins) the table would keep
        // its peak size: give the memory back once it is mostly empty.
        let len = self.map.len();
        if self.map.capacity() > 4 * len + 1024 {
            self.map.shrink_to(2 * len);
        }
    }

    /// The bytes held if `key` held `value` instead of what it holds now.
    fn bytes_with(&self, key: &str, value_len: usize) -> usize {
        let now_held = self.map.get(key).map_or(0, |e| cost(key, &e.value));
        self.bytes - now_held + key.len() + value_len + ENTRY_OVERHEAD_BYTES
    }
}

/// A map with per-entry expiry behind one mutex. Reads ignore expired entries; writes
/// sweep them every few seconds and, at the entry cap or the byte budget, sweep at once and
/// then refuse (fail closed) rather than evict live state such as a replay-cache entry.
///
/// Time comes from `tokio::time`, so tests can pause and advance the clock.
pub struct MemoryStore {
    inner: Mutex<Inner>,
    max_entries: usize,
    max_bytes: usize,
}

impl MemoryStore {
    /// A store that holds at most `max_entries` live keys, with no byte budget beyond what
    /// the entries and [`super::MAX_VALUE_BYTES`] imply.
    pub fn new(max_entries: usize) -> Self {
        Self::with_budget(max_entries, usize::MAX)
    }

    /// A store that holds at most `max_entries` live keys and `max_bytes` of keys, values
    /// and bookkeeping ([`ENTRY_OVERHEAD_BYTES`] an entry).
    pub fn with_budget(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                last_sweep: Instant::now(),
                bytes: 0,
            }),
            max_entries,
            max_bytes,
        }
    }

    /// Bytes held by live and not-yet-swept entries, as the budget counts them.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Live and not-yet-swept entries (for tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Slots the table holds memory for (for tests).
    pub fn capacity(&self) -> usize {
        self.lock().map.capacity()
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map half-written (every
        // mutation is a single HashMap call), so a poisoned lock is safe to reuse.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes room for `key` to hold a value of `value_len` bytes, or fails.
    fn admit(&self, inner: &mut Inner, key: &str, value_len: usize, now: Instant) -> StoreResult<()> {
        let over = |inner: &Inner| inner.bytes_with(key, value_len) > self.max_bytes;
        if now.duration_since(inner.last_sweep) >= SWEEP_EVERY || inner.map.len() >= self.max_entries || over(inner) {
            inner.sweep(now);
        }
        if inner.map.len() >= self.max_entries && !inner.map.contains_key(key) {
            return Err(StoreError::Full(Capacity::Entries(self.max_entries)));
        }
        if over(inner) {
            return Err(StoreError::Full(Capacity::Bytes(self.max_bytes)));
        }
        Ok(())
    }

    /// Stores `value` under `key` until `ttl` from `now`, replacing any entry there.
    fn put(inner: &mut Inner, key: &StoreKey, value: &[u8], now: Instant, ttl: Duration) {
        inner.insert(
            key.as_str(),
            Entry {
                value: value.to_vec(),
                expires: deadline(now, ttl),
            },
        );
    }

    fn live<'a>(inner: &'a mut Inner, key: &str, now: Instant) -> Option<&'a mut Entry> {
        match inner.map.get(key) {
            Some(e) if e.expires <= now => {
                inner.remove(key);
                None
            }
            _ => inner.map.get_mut(key),
        }
    }
}

fn deadline(now: Instant, ttl: Duration) -> Instant {
    now + Duration::from_millis(ttl_millis(ttl))
}

#[async_trait::async_trait]
impl SessionStore for MemoryStore {
    async fn get(&self, key: &StoreKey) -> StoreResult<Option<Vec<u8>>> {
        let mut inner = self.lock();
        Ok(Self::live(&mut inner, key.as_str(), Instant::now()).map(|e| e.value.clone()))
    }

    async fn set(&self, key: &StoreKey, value: &[u8], ttl: Duration) -> StoreResult<()> {
        check_value(value)?;
        let now = Instant::now();
        let mut inner = self.lock();
        self.admit(&mut inner, key.as_str(), value.len(), now)?;
        Self::put(&mut inner, key, value, now, ttl);
        Ok(())
    }

    async fn take(&self, key: &StoreKey) -> StoreResult<Option<Vec<u8>>> {
        let now = Instant::now();
        let mut inner = self.lock();
        Ok(inner.remove(key.as_str()).filter(|e| e.expires > now).map(|e| e.value))
    }

    async fn set_if_absent(&self, key: &StoreKey, value: &[u8], ttl: Duration) -> StoreResult<bool> {
        check_value(value)?;
        let now = Instant::now();
        let mut inner = self.lock();
        if Self::live(&mut inner, key.as_str(), now).is_some() {
            return Ok(false);
        }
        self.admit(&mut inner, key.as_str(), value.len(), now)?;
        Self::put(&mut inner, key, value, now, ttl);
        Ok(true)
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
        let now = Instant::now();
        let mut inner = self.lock();
        if Self::live(&mut inner, guard.as_str(), now).is_some() {
            return Ok(false);
        }
        // Room for both first, so a full store stores neither.
        self.admit(&mut inner, guard.as_str(), 1, now)?;
        if !inner.map.contains_key(key.as_str()) && inner.map.len() + 1 >= self.max_entries {
            return Err(StoreError::Full(Capacity::Entries(self.max_entries)));
        }
        if inner.bytes_with(key.as_str(), value.len()) + cost(guard.as_str(), b"1") > self.max_bytes {
            return Err(StoreError::Full(Capacity::Bytes(self.max_bytes)));
        }
        Self::put(&mut inner, guard, b"1", now, guard_ttl);
        Self::put(&mut inner, key, value, now, ttl);
        Ok(true)
    }

    async fn increment(&self, key: &StoreKey, ttl: Duration) -> StoreResult<u64> {
        let now = Instant::now();
        let mut inner = self.lock();
        if let Some(entry) = Self::live(&mut inner, key.as_str(), now) {
            let count: u64 = std::str::from_utf8(&entry.value)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or(StoreError::NotACounter)?;
            let count = count.saturating_add(1);
            let value = count.to_string().into_bytes();
            let grown = value.len() - entry.value.len().min(value.len());
            entry.value = value;
            inner.bytes += grown;
            return Ok(count);
        }
        self.admit(&mut inner, key.as_str(), 1, now)?;
        Self::put(&mut inner, key, b"1", now, ttl);
        Ok(1)
    }

    async fn delete(&self, key: &StoreKey) -> StoreResult<()> {
        self.lock().remove(key.as_str());
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }

    async fn count_kind(&self, kind: &'static str) -> StoreResult<u64> {
        let now = Instant::now();
        let needle = format!(":{kind}:");
        let inner = self.lock();
        let live = inner
            .map
            .iter()
            .filter(|(k, e)| e.expires > now && k.starts_with("t:") && k.contains(&needle));
        Ok(live.count() as u64)
    }

    fn backend(&self) -> &'static str {
        "memory"
    }

    fn usage(&self) -> Option<(usize, usize)> {
        let inner = self.lock();
        Some((inner.map.len(), inner.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> StoreKey {
        StoreKey::global("test", id)
    }

    #[tokio::test(start_paused = true)]
    async fn entries_expire_exactly_at_their_ttl() {
        let store = MemoryStore::new(10);
        store.set(&key("a"), b"1", Duration::from_secs(5)).await.unwrap();
        tokio::time::advance(Duration::from_millis(4_999)).await;
        assert_eq!(store.get(&key("a")).await.unwrap().as_deref(), Some(&b"1"[..]));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(store.get(&key("a")).await.unwrap(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn counters_keep_their_first_window() {
        let store = MemoryStore::new(10);
        assert_eq!(store.increment(&key("c"), Duration::from_secs(60)).await.unwrap(), 1);
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(store.increment(&key("c"), Duration::from_secs(60)).await.unwrap(), 2);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(store.increment(&key("c"), Duration::from_secs(60)).await.unwrap(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_store_refuses_new_keys_until_some_expire() {
        let store = MemoryStore::new(3);
        for id in ["a", "b", "c"] {
            store.set(&key(id), b"x", Duration::from_secs(10)).await.unwrap();
        }
        assert!(matches!(
            store.set(&key("d"), b"x", Duration::from_secs(10)).await,
            Err(StoreError::Full(Capacity::Entries(3)))
        ));
        assert!(matches!(
            store.set_if_absent(&key("d"), b"x", Duration::from_secs(10)).await,
            Err(StoreError::Full(Capacity::Entries(3)))
        ));
        // Replacing a key already held needs no room.
        store.set(&key("a"), b"y", Duration::from_secs(10)).await.unwrap();
        // A guarded set needs room for both keys, or stores neither.
        store.delete(&key("c")).await.unwrap();
        assert!(matches!(
            store
                .set_guarded(
                    &key("g"),
                    Duration::from_secs(10),
                    &key("v"),
                    b"x",
                    Duration::from_secs(10)
                )
                .await,
            Err(StoreError::Full(Capacity::Entries(3)))
        ));
        assert_eq!(store.get(&key("g")).await.unwrap(), None);
        assert!(
            store
                .set_guarded(
                    &key("g"),
                    Duration::from_secs(10),
                    &key("a"),
                    b"z",
                    Duration::from_secs(10)
                )
                .await
                .unwrap(),
            "replacing a held key needs room for the guard only"
        );
        store.delete(&key("g")).await.unwrap();
        store.set(&key("c"), b"x", Duration::from_secs(10)).await.unwrap();
        tokio::time::advance(Duration::from_secs(10)).await;
        store.set(&key("d"), b"x", Duration::from_secs(10)).await.unwrap();
        assert_eq!(store.len(), 1, "expired entries were swept to make room");
    }

    #[tokio::test(start_paused = true)]
    async fn the_byte_budget_refuses_what_the_entry_cap_would_take() {
        // Room for many entries, but bytes for about three 1 KiB values.
        let budget = 3 * (1024 + ENTRY_OVERHEAD_BYTES + 16);
        let store = MemoryStore::with_budget(1000, budget);
        for id in ["a", "b", "c"] {
            store
                .set(&key(id), &[0u8; 1024], Duration::from_secs(10))
                .await
                .unwrap();
        }
        assert!(store.bytes() <= budget, "{} > {budget}", store.bytes());
        assert!(matches!(
            store.set(&key("d"), &[0u8; 1024], Duration::from_secs(10)).await,
            Err(StoreError::Full(Capacity::Bytes(b))) if b == budget
        ));
        assert!(matches!(
            store
                .set_guarded(
                    &key("g"),
                    Duration::from_secs(10),
                    &key("e"),
                    &[0u8; 1024],
                    Duration::from_secs(10)
                )
                .await,
            Err(StoreError::Full(Capacity::Bytes(_)))
        ));
        assert_eq!(
            store.get(&key("g")).await.unwrap(),
            None,
            "a refused guarded set stores nothing"
        );
        // Small values still fit; replacing a big value with a small one frees bytes.
        store.set(&key("a"), b"x", Duration::from_secs(10)).await.unwrap();
        store
            .set(&key("d"), &[0u8; 512], Duration::from_secs(10))
            .await
            .unwrap();
        // Taking, deleting and expiry give the bytes back exactly.
        store.take(&key("b")).await.unwrap();
        store.delete(&key("c")).await.unwrap();
        tokio::time::advance(Duration::from_secs(11)).await;
        store.set(&key("z"), b"1", Duration::from_secs(10)).await.unwrap();
        assert_eq!(store.bytes(), cost(key("z").as_str(), b"1"));
        // Counters grow in place, and are counted.
        for _ in 0..1000 {
            store.increment(&key("n"), Duration::from_secs(10)).await.unwrap();
        }
        assert_eq!(
            store.bytes(),
            cost(key("z").as_str(), b"1") + cost(key("n").as_str(), b"1000")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn abandoned_entries_are_swept_by_later_writes() {
        let store = MemoryStore::new(100_000);
        for i in 0..10_000 {
            store
                .set(&key(&i.to_string()), &[0u8; 1024], Duration::from_secs(600))
                .await
                .unwrap();
        }
        assert_eq!(store.len(), 10_000);
        assert!(store.capacity() >= 10_000);
        tokio::time::advance(Duration::from_secs(601)).await;
        store.set(&key("fresh"), b"x", Duration::from_secs(600)).await.unwrap();
        assert_eq!(store.len(), 1);
        assert!(
            store.capacity() < 2_000,
            "the table gave its memory back: capacity {}",
            store.capacity()
        );
    }
}
