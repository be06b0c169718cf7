//! A session store that times every operation and counts failures for `/metrics`.

use std::time::{Duration, Instant};

use prometheus::{HistogramVec, IntCounterVec};

use super::{SessionStore, SharedStore, StoreKey, StoreResult};

/// Wraps a store; behaviour is unchanged.
pub struct MeteredStore {
    inner: SharedStore,
    duration: HistogramVec,
    errors: IntCounterVec,
}

impl MeteredStore {
    /// Times `inner`'s operations into `duration` and counts failures in `errors`.
    pub fn new(inner: SharedStore, duration: HistogramVec, errors: IntCounterVec) -> Self {
        Self {
            inner,
            duration,
            errors,
        }
    }

    fn record<T>(&self, op: &str, started: Instant, result: &StoreResult<T>) {
        self.duration
            .with_label_values(&[op])
            .observe(started.elapsed().as_secs_f64());
        if result.is_err() {
            self.errors.with_label_values(&[op]).inc();
        }
    }
}

#[async_trait::async_trait]
impl SessionStore for MeteredStore {
    async fn get(&self, key: &StoreKey) -> StoreResult<Option<Vec<u8>>> {
        let started = Instant::now();
        let result = self.inner.get(key).await;
        self.record("get", started, &result);
        result
    }

    async fn set(&self, key: &StoreKey, value: &[u8], ttl: Duration) -> StoreResult<()> {
        let started = Instant::now();
        let result = self.inner.set(key, value, ttl).await;
        self.record("set", started, &result);
        result
    }

    async fn take(&self, key: &StoreKey) -> StoreResult<Option<Vec<u8>>> {
        let started = Instant::now();
        let result = self.inner.take(key).await;
        self.record("take", started, &result);
        result
    }

    async fn set_if_absent(&self, key: &StoreKey, value: &[u8], ttl: Duration) -> StoreResult<bool> {
        let started = Instant::now();
        let result = self.inner.set_if_absent(key, value, ttl).await;
        self.record("set_if_absent", started, &result);
        result
    }

    async fn set_guarded(
        &self,
        guard: &StoreKey,
        guard_ttl: Duration,
        key: &StoreKey,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<bool> {
        let started = Instant::now();
        let result = self.inner.set_guarded(guard, guard_ttl, key, value, ttl).await;
        self.record("set_guarded", started, &result);
        result
    }

    async fn increment(&self, key: &StoreKey, ttl: Duration) -> StoreResult<u64> {
        let started = Instant::now();
        let result = self.inner.increment(key, ttl).await;
        self.record("increment", started, &result);
        result
    }

    async fn delete(&self, key: &StoreKey) -> StoreResult<()> {
        let started = Instant::now();
        let result = self.inner.delete(key).await;
        self.record("delete", started, &result);
        result
    }

    async fn ping(&self) -> StoreResult<()> {
        let started = Instant::now();
        let result = self.inner.ping().await;
        self.record("ping", started, &result);
        result
    }

    async fn count_kind(&self, kind: &'static str) -> StoreResult<u64> {
        let started = Instant::now();
        let result = self.inner.count_kind(kind).await;
        self.record("count", started, &result);
        result
    }

    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn usage(&self) -> Option<(usize, usize)> {
        self.inner.usage()
    }
}
