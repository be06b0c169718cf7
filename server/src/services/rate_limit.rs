//! Fixed-window attempt limits in the session store, shared by every replica.

use std::time::Duration;

use crate::store::{SessionStore, StoreError, StoreKey};

/// One limit: at most `max` attempts per `window` for one subject (account or IP).
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Store key kind (no `:`), e.g. `rl_signin_ip`.
    pub kind: &'static str,
    /// Attempts allowed per window.
    pub max: u64,
    /// Window length.
    pub window: Duration,
}

/// Password attempts per account: 10 per 15 minutes.
pub const SIGNIN_ACCOUNT: Limit = Limit {
    kind: "rl_signin_acct",
    max: 10,
    window: Duration::from_secs(900),
};
/// Password attempts per client address: 50 per 15 minutes.
pub const SIGNIN_IP: Limit = Limit {
    kind: "rl_signin_ip",
    max: 50,
    window: Duration::from_secs(900),
};
/// TOTP or recovery-code attempts per account: 5 per 5 minutes.
pub const TOTP_ACCOUNT: Limit = Limit {
    kind: "rl_totp_acct",
    max: 5,
    window: Duration::from_secs(300),
};
/// TOTP attempts per client address: 30 per 5 minutes.
pub const TOTP_IP: Limit = Limit {
    kind: "rl_totp_ip",
    max: 30,
    window: Duration::from_secs(300),
};
/// Password-reset and verification emails per address: 3 per hour.
pub const EMAIL_ACCOUNT: Limit = Limit {
    kind: "rl_email_acct",
    max: 3,
    window: Duration::from_secs(3600),
};
/// Reset, sign-up and resend requests per client address: 20 per hour.
pub const EMAIL_IP: Limit = Limit {
    kind: "rl_email_ip",
    max: 20,
    window: Duration::from_secs(3600),
};

/// Invitations a tenant sends (its name goes into mail sent from Rosetta's domain): 20 per
/// hour.
pub const INVITE_TENANT: Limit = Limit {
    kind: "rl_invite_tenant",
    max: 20,
    window: Duration::from_secs(3600),
};

/// "Test connection" runs per tenant (each one makes Rosetta fetch what the tenant named):
/// 30 per 10 minutes.
pub const SOURCE_TEST_TENANT: Limit = Limit {
    kind: "rl_source_test",
    max: 30,
    window: Duration::from_secs(600),
};

/// "Sync now" runs per tenant (each one queues every user of the tenant): 20 per hour.
pub const SYNC_TENANT: Limit = Limit {
    kind: "rl_sync",
    max: 20,
    window: Duration::from_secs(3600),
};

/// Domain-ownership checks per tenant (each one makes Rosetta query DNS for a name the
/// tenant chose): 30 per 10 minutes.
pub const DOMAIN_VERIFY_TENANT: Limit = Limit {
    kind: "rl_domain_verify",
    max: 30,
    window: Duration::from_secs(600),
};

/// Why an attempt was not allowed.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    /// Over the limit; the next window starts in `retry_after` seconds.
    #[error("too many attempts; try again in {retry_after} s")]
    Limited {
        /// Seconds until attempts are allowed again.
        retry_after: u64,
    },
    /// The store did not answer (fail closed).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counts one attempt by `subject` (hashed before it reaches the store) and refuses it
/// when the window already holds `max`.
pub async fn hit(store: &dyn SessionStore, limit: Limit, subject: &str) -> Result<(), LimitError> {
    let window = limit.window.as_secs().max(1);
    let now = chrono::Utc::now().timestamp().max(0).unsigned_abs();
    let index = now / window;
    let subject = &crate::credentials::token_hash(subject)[..32];
    let key = StoreKey::global(limit.kind, &format!("{index}:{subject}"));
    let count = store.increment(&key, limit.window).await?;
    if count > limit.max {
        return Err(LimitError::Limited {
            retry_after: (index + 1) * window - now,
        });
    }
    Ok(())
}

/// Forgets `subject`'s attempts in the current window (after a successful sign-in, so a
/// person who mistyped a few times is not carried toward the limit).
pub async fn reset(store: &dyn SessionStore, limit: Limit, subject: &str) -> Result<(), StoreError> {
    let window = limit.window.as_secs().max(1);
    let index = chrono::Utc::now().timestamp().max(0).unsigned_abs() / window;
    let subject = &crate::credentials::token_hash(subject)[..32];
    store
        .delete(&StoreKey::global(limit.kind, &format!("{index}:{subject}")))
        .await
}

/// Fixed one-minute windows counted in this process only: for limits on the login's hot
/// path, where a store round trip per request would cost more than the limit saves. With
/// several replicas each counts its own share, so the deployment-wide limit is the setting
/// times the replicas. Memory is bounded: at most `max_subjects` counters a window; subjects
/// beyond that share one counter (so a flood from many addresses is still limited).
pub struct LocalLimiter {
    per_minute: u64,
    max_subjects: usize,
    state: std::sync::Mutex<(u64, std::collections::HashMap<String, u64>)>,
}

impl LocalLimiter {
    /// At most `per_minute` hits per subject and minute.
    pub fn new(per_minute: u64, max_subjects: usize) -> Self {
        Self {
            per_minute,
            max_subjects,
            state: std::sync::Mutex::new((0, std::collections::HashMap::new())),
        }
    }

    /// Counts one hit of `subject` now; `Err(retry_after_secs)` when over the limit.
    pub fn hit(&self, subject: &str) -> Result<(), u64> {
        self.hit_at(subject, chrono::Utc::now().timestamp().max(0).unsigned_abs())
    }

    fn hit_at(&self, subject: &str, now: u64) -> Result<(), u64> {
        let window = now / 60;
        // A poisoned lock holds plain counters: safe to keep using.
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.0 != window {
            state.0 = window;
            state.1.clear();
        }
        let key = if state.1.len() >= self.max_subjects && !state.1.contains_key(subject) {
            "\u{0}overflow"
        } else {
            subject
        };
        let count = match state.1.get_mut(key) {
            Some(c) => {
                *c += 1;
                *c
            }
            None => {
                state.1.insert(key.to_owned(), 1);
                1
            }
        };
        if count > self.per_minute {
            Err(60 - now % 60)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    const THREE: Limit = Limit {
        kind: "rl_test",
        max: 3,
        window: Duration::from_secs(60),
    };

    #[test]
    fn local_limits_count_per_subject_per_minute_with_bounded_memory() {
        let limiter = LocalLimiter::new(3, 2);
        let t = 6_000_000;
        for _ in 0..3 {
            limiter.hit_at("a", t).unwrap();
        }
        assert_eq!(
            limiter.hit_at("a", t + 10),
            Err(50),
            "the fourth in the window waits for its end"
        );
        limiter.hit_at("b", t).unwrap();
        // A third subject in the window shares the overflow counter with any further ones.
        for _ in 0..3 {
            limiter.hit_at("c", t).unwrap();
        }
        assert!(
            limiter.hit_at("d", t).is_err(),
            "subjects beyond the bound share one limit"
        );
        // A new window starts from zero.
        limiter.hit_at("a", t + 60).unwrap();
        limiter.hit_at("d", t + 60).unwrap();
    }

    #[tokio::test]
    async fn the_attempt_after_the_limit_is_refused_until_the_window_ends() {
        let store = MemoryStore::new(100);
        for _ in 0..3 {
            hit(&store, THREE, "ada@example.com").await.unwrap();
        }
        match hit(&store, THREE, "ada@example.com").await {
            Err(LimitError::Limited { retry_after }) => assert!((1..=60).contains(&retry_after), "{retry_after}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        // Another subject has its own count; a reset clears this one's.
        hit(&store, THREE, "grace@example.com").await.unwrap();
        reset(&store, THREE, "ada@example.com").await.unwrap();
        hit(&store, THREE, "ada@example.com").await.unwrap();
    }
}
