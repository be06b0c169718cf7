//! OpenSSL operation contexts kept for reuse. Setting one up (algorithm fetch, the key's
//! export to the provider, padding and digest parameters) can cost more than the RSA
//! operation it serves, so signing and verification keys keep theirs initialised.

use std::sync::Mutex;

/// Most idle contexts a pool keeps: about one per thread using the key at the same time.
pub const MAX_IDLE: usize = 16;

/// Initialised contexts of one key, each made for a `kind` (say, an algorithm).
pub struct ContextPool<K, T> {
    idle: Mutex<Vec<(K, T)>>,
}

impl<K: PartialEq, T> Default for ContextPool<K, T> {
    fn default() -> Self {
        Self {
            idle: Mutex::new(Vec::new()),
        }
    }
}

impl<K: PartialEq, T> ContextPool<K, T> {
    /// An idle context of `kind`, or a new one from `make`.
    pub fn take<E>(&self, kind: &K, make: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let idle = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.iter().position(|(k, _)| k == kind).map(|i| idle.swap_remove(i).1)
        };
        idle.map_or_else(make, Ok)
    }

    /// How many contexts are idle now.
    #[cfg(test)]
    pub fn idle(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Keeps `ctx` for the next [`take`](Self::take) of `kind`. Only a context that just did
    /// its work comes back; one whose operation failed is dropped instead.
    pub fn give_back(&self, kind: K, ctx: T) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push((kind, ctx));
        }
    }
}
