//! Admin sessions in the session store (Redis in production): the cookie holds a random
//! ID, the store holds the session under the ID's SHA-256, so a store dump holds no usable
//! cookie. Idle timeout by store TTL, absolute timeout by creation time; a new ID at
//! sign-in, after TOTP and on privilege change; sign-out deletes the record.

use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::credentials::{link_token, token_hash};
use crate::store::{SessionStore, StoreError, StoreKey};

/// A session ends after this long without a request.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after sign-in, however active.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(12 * 60 * 60);
/// Time allowed between the password and the TOTP step.
pub const SECOND_FACTOR_TIMEOUT: Duration = Duration::from_secs(5 * 60);

const KIND: &str = "admin_session";
const EPOCH_KIND: &str = "admin_epoch";

/// How far sign-in has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Password accepted; the TOTP code is still owed.
    SecondFactor,
    /// Signed in.
    Complete,
}

/// What the store keeps for one admin session.
#[derive(Clone, Serialize, Deserialize)]
pub struct AdminSession {
    /// The account.
    pub account_id: Uuid,
    /// Its email (for audit entries).
    pub email: String,
    /// The tenant the admin is working on; `None` without memberships.
    pub tenant_id: Option<Uuid>,
    /// Sign-in progress.
    pub stage: Stage,
    /// Anti-CSRF token, sent back in `X-CSRF-Token` on state-changing requests.
    pub csrf_token: String,
    /// Unix milliseconds of sign-in (absolute timeout, and invalidation by epoch).
    pub signed_in_at: i64,
}

impl std::fmt::Debug for AdminSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminSession")
            .field("account_id", &self.account_id)
            .field("tenant_id", &self.tenant_id)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

impl AdminSession {
    /// A fresh session for an account.
    pub fn new(account_id: Uuid, email: &str, tenant_id: Option<Uuid>, stage: Stage) -> Self {
        Self {
            account_id,
            email: email.to_owned(),
            tenant_id,
            stage,
            csrf_token: link_token(),
            signed_in_at: Utc::now().timestamp_millis(),
        }
    }

    fn ttl(&self) -> Option<Duration> {
        let age = u64::try_from(Utc::now().timestamp_millis() - self.signed_in_at).unwrap_or(0);
        let left = ABSOLUTE_TIMEOUT.checked_sub(Duration::from_millis(age))?;
        let idle = match self.stage {
            Stage::SecondFactor => SECOND_FACTOR_TIMEOUT,
            Stage::Complete => IDLE_TIMEOUT,
        };
        Some(left.min(idle)).filter(|d| !d.is_zero())
    }
}

fn key(id: &str) -> StoreKey {
    StoreKey::global(KIND, &token_hash(id))
}

fn epoch_key(account: Uuid) -> StoreKey {
    StoreKey::global(EPOCH_KIND, &account.to_string())
}

fn encode(session: &AdminSession) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(session).map_err(|e| StoreError::Unavailable(format!("encoding a session: {e}")))
}

/// Stores `session` under a new random ID and returns the ID (the cookie value).
pub async fn create(store: &dyn SessionStore, session: &AdminSession) -> Result<String, StoreError> {
    let id = link_token();
    let ttl = session.ttl().unwrap_or(Duration::from_secs(1));
    store.set(&key(&id), &encode(session)?, ttl).await?;
    Ok(id)
}

/// The live session with this ID, its idle timeout renewed; `None` when unknown, idle,
/// past the absolute timeout, or signed out everywhere since.
pub async fn load(store: &dyn SessionStore, id: &str) -> Result<Option<AdminSession>, StoreError> {
    if id.is_empty() || id.len() > 128 {
        return Ok(None);
    }
    let Some(bytes) = store.get(&key(id)).await? else {
        return Ok(None);
    };
    let Ok(session) = serde_json::from_slice::<AdminSession>(&bytes) else {
        store.delete(&key(id)).await?;
        return Ok(None);
    };
    let Some(ttl) = session.ttl() else {
        store.delete(&key(id)).await?;
        return Ok(None);
    };
    if let Some(epoch) = store.get(&epoch_key(session.account_id)).await?
        && let Some(epoch) = std::str::from_utf8(&epoch).ok().and_then(|e| e.parse::<i64>().ok())
        && session.signed_in_at < epoch
    {
        store.delete(&key(id)).await?;
        return Ok(None);
    }
    store.set(&key(id), &bytes, ttl).await?;
    Ok(Some(session))
}

/// Replaces the session under `old_id` by `session` under a new ID (fixation defence).
pub async fn rotate(store: &dyn SessionStore, old_id: &str, session: &AdminSession) -> Result<String, StoreError> {
    store.delete(&key(old_id)).await?;
    create(store, session).await
}

/// Rewrites the session in place (same ID), e.g. after a setting that is not a privilege.
pub async fn save(store: &dyn SessionStore, id: &str, session: &AdminSession) -> Result<(), StoreError> {
    let ttl = session.ttl().unwrap_or(Duration::from_secs(1));
    store.set(&key(id), &encode(session)?, ttl).await
}

/// Deletes one session (sign-out).
pub async fn destroy(store: &dyn SessionStore, id: &str) -> Result<(), StoreError> {
    store.delete(&key(id)).await
}

/// Ends every session of `account` that started before now (password reset, TOTP reset).
pub async fn end_all(store: &dyn SessionStore, account: Uuid) -> Result<(), StoreError> {
    let now = Utc::now().timestamp_millis();
    store
        .set(&epoch_key(account), now.to_string().as_bytes(), ABSOLUTE_TIMEOUT)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_end_when_idle_or_too_old() {
        let mut s = AdminSession::new(Uuid::nil(), "ada@example.com", None, Stage::Complete);
        assert_eq!(s.ttl(), Some(IDLE_TIMEOUT), "a fresh session lives the idle timeout");
        s.stage = Stage::SecondFactor;
        assert_eq!(s.ttl(), Some(SECOND_FACTOR_TIMEOUT), "the TOTP step is short");
        s.stage = Stage::Complete;
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap();
        s.signed_in_at -= ms(ABSOLUTE_TIMEOUT) - ms(Duration::from_secs(60));
        let left = s.ttl().unwrap();
        assert!(
            left <= Duration::from_secs(60),
            "never beyond the absolute timeout: {left:?}"
        );
        s.signed_in_at -= ms(Duration::from_secs(61));
        assert_eq!(s.ttl(), None, "past the absolute timeout");
        assert!(!format!("{s:?}").contains(&s.csrf_token), "no token in Debug");
    }
}
