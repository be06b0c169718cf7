//! Per-replica cache of what every login reads: the tenant by slug, its service providers,
//! its identity sources (with their unsealed client secrets) and its active signing key
//! row. Entries live `config_cache_ttl_secs`; writes through this replica's admin API drop
//! the tenant's entries at once, so only changes made elsewhere (another replica, the CLI)
//! wait for the TTL. Absent tenants are never cached: a new tenant answers at once.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rosetta_entity::signing_key;
use sea_orm::DatabaseConnection;
use secrecy::SecretString;
use uuid::Uuid;

use crate::crypto::Keyring;
use crate::domain::TenantSlug;
use crate::services::identity_sources::{self, IdentitySource};
use crate::services::service_providers::{self, ServiceProvider};
use crate::services::{ServiceResult, signing_keys, tenants};
use crate::tenancy::Tenant;

/// An identity source with its client secret, as the login needs it.
pub type SourceWithSecret = (IdentitySource, SecretString);

struct Entry<T> {
    at: Instant,
    value: T,
}

type Map<K, T> = Mutex<HashMap<K, Entry<T>>>;

/// See the module documentation.
pub struct ConfigCache {
    ttl: Duration,
    tenants: Map<String, Arc<Tenant>>,
    service_providers: Map<Uuid, Arc<Vec<Arc<ServiceProvider>>>>,
    sources: Map<Uuid, Arc<Vec<SourceWithSecret>>>,
    keys: Map<Uuid, Arc<signing_key::Model>>,
}

fn fresh<K, Q, T>(map: &Map<K, T>, key: &Q, ttl: Duration) -> Option<T>
where
    K: Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
    T: Clone,
{
    let map = map.lock().unwrap_or_else(PoisonError::into_inner);
    map.get(key).filter(|e| e.at.elapsed() < ttl).map(|e| e.value.clone())
}

fn put<K: std::hash::Hash + Eq, T>(map: &Map<K, T>, key: K, value: T) {
    map.lock().unwrap_or_else(PoisonError::into_inner).insert(
        key,
        Entry {
            at: Instant::now(),
            value,
        },
    );
}

impl ConfigCache {
    /// A cache whose entries live `ttl` (zero: always read the database).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            tenants: Mutex::default(),
            service_providers: Mutex::default(),
            sources: Mutex::default(),
            keys: Mutex::default(),
        }
    }

    /// The tenant with this slug, if it exists (active or not).
    pub async fn tenant(&self, db: &DatabaseConnection, slug: &TenantSlug) -> ServiceResult<Option<Arc<Tenant>>> {
        if let Some(t) = fresh(&self.tenants, slug.as_str(), self.ttl) {
            return Ok(Some(t));
        }
        let found = tenants::find(db, slug).await?.and_then(Tenant::from_row).map(Arc::new);
        if let Some(t) = &found
            && !self.ttl.is_zero()
        {
            put(&self.tenants, slug.to_string(), t.clone());
        }
        Ok(found)
    }

    /// The tenant's service providers.
    pub async fn service_providers(
        &self,
        db: &DatabaseConnection,
        tenant_id: Uuid,
    ) -> ServiceResult<Arc<Vec<Arc<ServiceProvider>>>> {
        if let Some(v) = fresh(&self.service_providers, &tenant_id, self.ttl) {
            return Ok(v);
        }
        // Each SP behind its own `Arc`: a login holds the one it serves without copying its
        // mapping.
        let all = Arc::new(
            service_providers::list(db, tenant_id)
                .await?
                .into_iter()
                .map(Arc::new)
                .collect::<Vec<_>>(),
        );
        if !self.ttl.is_zero() {
            put(&self.service_providers, tenant_id, all.clone());
        }
        Ok(all)
    }

    /// The tenant's identity sources with their client secrets.
    pub async fn sources(
        &self,
        db: &DatabaseConnection,
        keyring: &Keyring,
        tenant_id: Uuid,
    ) -> ServiceResult<Arc<Vec<SourceWithSecret>>> {
        if let Some(v) = fresh(&self.sources, &tenant_id, self.ttl) {
            return Ok(v);
        }
        let all = Arc::new(identity_sources::list_with_secrets(db, keyring, tenant_id).await?);
        if !self.ttl.is_zero() {
            put(&self.sources, tenant_id, all.clone());
        }
        Ok(all)
    }

    /// The tenant's active signing key row.
    pub async fn active_key(&self, db: &DatabaseConnection, tenant_id: Uuid) -> ServiceResult<Arc<signing_key::Model>> {
        if let Some(k) = fresh(&self.keys, &tenant_id, self.ttl) {
            return Ok(k);
        }
        let row = Arc::new(signing_keys::active_row(db, tenant_id).await?);
        if !self.ttl.is_zero() {
            put(&self.keys, tenant_id, row.clone());
        }
        Ok(row)
    }

    /// Drops everything cached for one tenant (after a change through the API).
    pub fn invalidate(&self, tenant_id: Uuid) {
        self.tenants
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, e| e.value.id() != tenant_id);
        self.service_providers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&tenant_id);
        self.sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&tenant_id);
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&tenant_id);
    }
}
