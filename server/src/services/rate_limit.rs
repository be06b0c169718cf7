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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    const THREE: Limit = Limit {
        kind: "rl_test",
        max: 3,
        window: Duration::from_secs(60),
    };

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
