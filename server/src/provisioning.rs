//! The provisioning worker: drains the push queue ([`crate::services::provisioning`]) to the
//! tenants' SCIM directories, off every response path.
//!
//! Each replica runs one worker. Every `provisioning_poll_ms` it claims due pushes (leased
//! for 60 s, so replicas never push the same row twice; a crashed replica's lease runs out
//! and another takes the row; on SQLite, one process by design, a restart takes them at
//! once) and brings each user at each target to the user's current state:
//!
//! - found by the SCIM `id` Rosetta linked earlier, else by `userName`, which is the NameID
//!   the SP receives ([`crate::flow::name_id`]); created when absent and active, a 409 on
//!   create resolved by looking the user up and linking it;
//! - `userName`, email and name replaced when they differ; `active` follows the user's
//!   status (blocked or departed: `false`), so blocking deactivates and unblocking
//!   reactivates.
//!
//! Failures: 401/403 (or a URL the outbound policy refuses) pause the target with the reason
//! (owners are emailed; the push waits, nothing is lost) until the key is replaced; 429 holds
//! the whole target for its `Retry-After`; network errors and 5xx are tried again with
//! exponential back-off (1 s doubling to an hour); any other refusal is recorded on the
//! user's link as `failed` with the reason, until the user changes or an admin retries.
//! Every change at a target and every failure is audited (actor `provisioning`); a push
//! that finds nothing to change is only counted in the metrics.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rosetta_entity::{end_user, provisioning_push as push, provisioning_target as target};
use sea_orm::EntityTrait;
use serde_json::json;

use crate::services::audit::AuditEvent;
use crate::services::provisioning::{self as queue, Finish};
use crate::services::scim::{DesiredUser, ScimClient, ScimError};
use crate::services::service_providers::ServiceProvider;
use crate::state::AppState;

/// Pushes claimed per round.
const BATCH: u64 = 16;
/// Pushes in flight at once per replica.
const CONCURRENCY: usize = 8;
/// How long a 429 without a usable `Retry-After` holds the target.
const DEFAULT_HOLD: Duration = Duration::from_secs(30);

/// What a push did at the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Created the user.
    Create,
    /// Changed the user's attributes.
    Update,
    /// Set `active: false`.
    Deactivate,
    /// Set `active: true` again.
    Reactivate,
    /// Nothing differed.
    Unchanged,
    /// Inactive here and absent there: nothing to do.
    Absent,
}

impl Action {
    /// The audit log's action for a push that changed something.
    fn audited(self) -> Option<&'static str> {
        match self {
            Self::Create => Some("provisioning.create"),
            Self::Update => Some("provisioning.update"),
            Self::Deactivate => Some("provisioning.deactivate"),
            Self::Reactivate => Some("provisioning.reactivate"),
            Self::Unchanged | Self::Absent => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Deactivate => "deactivate",
            Self::Reactivate => "reactivate",
            Self::Unchanged => "unchanged",
            Self::Absent => "absent",
        }
    }
}

/// Brings one user at one directory to `desired`; what it did and the user's SCIM `id`
/// there (`None` when absent).
pub async fn push_user(
    client: &ScimClient<'_>,
    desired: &DesiredUser,
    linked_id: Option<&str>,
) -> Result<(Action, Option<String>), ScimError> {
    let mut remote = match linked_id {
        Some(id) => client.get(id).await?,
        None => None,
    };
    if remote.is_none() {
        remote = client.find_by_user_name(&desired.user_name).await?;
    }
    let remote = match remote {
        Some(remote) => remote,
        None if !desired.active => return Ok((Action::Absent, None)),
        None => match client.create(desired).await {
            Ok(created) => return Ok((Action::Create, Some(created.id))),
            // Someone holds the userName or the email: the user, created by an earlier push
            // whose answer was lost, or by hand. Link it if it is the user.
            Err(ScimError::Conflict) => client
                .find_by_user_name(&desired.user_name)
                .await?
                .ok_or(ScimError::Conflict)?,
            Err(e) => return Err(e),
        },
    };
    let changes = desired.changes_from(&remote);
    let action = if changes.is_empty() {
        Action::Unchanged
    } else if remote.active && !desired.active {
        Action::Deactivate
    } else if !remote.active && desired.active {
        Action::Reactivate
    } else {
        Action::Update
    };
    if !changes.is_empty() {
        client.patch(&remote.id, changes).await?;
    }
    Ok((action, Some(remote.id)))
}

/// Starts the worker of this replica.
pub fn spawn(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let http = match crate::services::scim::http_client(&state.outbound.policy) {
            Ok(http) => http,
            Err(e) => {
                tracing::error!(error = %e, "provisioning: building the HTTP client failed; no pushes on this replica");
                return;
            }
        };
        match queue::release_leases(&state.db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                pushes = n,
                "provisioning: pushes left in flight by the last run are due again"
            ),
            Err(e) => tracing::warn!(error = %e, "provisioning: releasing the last run's leases failed"),
        }
        let worker = Worker {
            state,
            http,
            stopped: Mutex::new(HashSet::new()),
        };
        let mut tick = tokio::time::interval(Duration::from_millis(worker.state.settings.server.provisioning_poll_ms));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let worker = Arc::new(worker);
        let mut rounds: u64 = 0;
        loop {
            tick.tick().await;
            if rounds.is_multiple_of(metrics_every(worker.state.settings.server.provisioning_poll_ms)) {
                worker.update_gauges().await;
            }
            rounds = rounds.wrapping_add(1);
            worker.drain().await;
        }
    })
}

/// Rounds between two updates of the queue gauges (about every 5 s).
fn metrics_every(poll_ms: u64) -> u64 {
    (5_000 / poll_ms.max(1)).max(1)
}

struct Worker {
    state: Arc<AppState>,
    http: reqwest::Client,
    /// Targets paused or held during this round: their further pushes wait.
    stopped: Mutex<HashSet<uuid::Uuid>>,
}

impl Worker {
    /// Claims and pushes until nothing is due.
    async fn drain(self: &Arc<Self>) {
        loop {
            self.stopped().clear();
            let claimed = match queue::claim(&self.state.db, BATCH).await {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::warn!(error = %e, "provisioning: claiming pushes failed");
                    return;
                }
            };
            if claimed.is_empty() {
                return;
            }
            let full = claimed.len() as u64 == BATCH;
            let mut running = tokio::task::JoinSet::new();
            for push in claimed {
                while running.len() >= CONCURRENCY {
                    running.join_next().await;
                }
                let worker = self.clone();
                running.spawn(async move { worker.push(push).await });
            }
            while running.join_next().await.is_some() {}
            if !full {
                return;
            }
        }
    }

    /// The targets stopped this round.
    fn stopped(&self) -> std::sync::MutexGuard<'_, HashSet<uuid::Uuid>> {
        self.stopped.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn update_gauges(&self) {
        if let Ok((depth, oldest)) = queue::queue_totals(&self.state.db).await {
            let metrics = &self.state.metrics;
            metrics.provisioning_queue_depth.set(depth as i64);
            let age = oldest.map_or(0, |queued| (queue::now_ms() - queued).max(0) / 1000);
            metrics.provisioning_oldest_pending_seconds.set(age);
        }
    }

    fn count(&self, outcome: &str) {
        self.state
            .metrics
            .provisioning_pushes
            .with_label_values(&[outcome])
            .inc();
    }

    /// One claimed push, start to end; its row is always finished (or, if the database
    /// fails, left to its lease).
    async fn push(&self, claimed: push::Model) {
        let finish = match self.try_push(&claimed).await {
            Ok(finish) => finish,
            Err(e) => {
                tracing::warn!(error = %e, target = %claimed.target_id, "provisioning: a push failed inside Rosetta");
                self.count("retry");
                Some(Finish::Retry {
                    due_ms: queue::now_ms() + backoff_ms(claimed.attempts),
                    reason: "Rosetta could not prepare the push (see the server log)".into(),
                })
            }
        };
        if let Some(finish) = finish
            && let Err(e) = queue::finish(&self.state.db, &claimed, finish).await
        {
            tracing::warn!(error = %e, "provisioning: recording a push failed; it is tried again after its lease");
        }
    }

    async fn try_push(&self, claimed: &push::Model) -> anyhow::Result<Option<Finish>> {
        let db = &self.state.db;
        if self.stopped().contains(&claimed.target_id) {
            return Ok(Some(Finish::Wait));
        }
        let Some(target) = queue::by_id(db, claimed.target_id).await? else {
            return Ok(None); // removed with its queue
        };
        let Some(user) = end_user::Entity::find_by_id(claimed.end_user_id).one(db).await? else {
            push::Entity::delete_by_id((claimed.target_id, claimed.end_user_id))
                .exec(db)
                .await?;
            return Ok(None);
        };
        // The SP as logins see it, its mapping compiled (the configuration cache).
        let sp = self
            .state
            .config
            .service_providers(db, target.tenant_id)
            .await?
            .iter()
            .find(|s| s.id == target.service_provider_id)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the target's service provider is gone"))?;
        let desired = match desired(&sp, &user) {
            Ok(desired) => desired,
            // The SP's rules refuse this person, as a login would: nothing is pushed.
            Err(e) => return Ok(Some(self.failed(&target, &sp, &user, e.to_string()))),
        };
        let key = queue::open_key(&self.state.keyring, &target)?;
        let link = queue::link_of(db, target.id, user.id).await?;
        let client = ScimClient::new(&self.http, &self.state.outbound.policy, &target.base_url, key)?;
        let mut result = push_user(&client, &desired, link.as_ref().and_then(|l| l.scim_id.as_deref())).await;
        let mut groups = None;
        if let (Ok((_, Some(scim_id))), Some(wanted)) = (&result, &desired.groups)
            && desired.active
        {
            let held = link.as_ref().map(held_groups).unwrap_or_default();
            match push_groups(&client, scim_id, &held, wanted).await {
                Ok(changed) => {
                    if !changed.is_empty() {
                        self.audit(
                            &target,
                            &sp,
                            &user,
                            "provisioning.groups",
                            "success",
                            json!({"changes": changed}),
                        );
                    }
                    groups = Some(wanted.clone());
                }
                Err(e) => result = Err(e),
            }
        }
        let now = queue::now_ms();
        Ok(Some(match result {
            Ok((action, scim_id)) => {
                self.count(action.as_str());
                if let Some(audited) = action.audited() {
                    self.audit(&target, &sp, &user, audited, "success", json!({"scim_id": scim_id}));
                }
                Finish::Synced {
                    active: scim_id.is_some() && desired.active,
                    scim_id,
                    groups,
                }
            }
            Err(e) if stops_the_target(&e) => {
                self.stopped().insert(target.id);
                self.count("paused");
                if queue::pause(db, target.id, &e.to_string()).await? {
                    self.paused(&target, &sp, &e).await;
                }
                Finish::Wait
            }
            Err(ScimError::RateLimited { retry_after }) => {
                self.stopped().insert(target.id);
                self.count("retry");
                let until = now + retry_after.unwrap_or(DEFAULT_HOLD).as_millis() as i64;
                queue::hold(db, target.id, until).await?;
                Finish::Retry {
                    due_ms: until,
                    reason: ScimError::RateLimited { retry_after }.to_string(),
                }
            }
            Err(e) if e.is_transient() => {
                self.count("retry");
                if claimed.attempts == 0 {
                    self.audit(
                        &target,
                        &sp,
                        &user,
                        "provisioning.push",
                        "failure",
                        json!({"reason": e.to_string(), "retrying": true}),
                    );
                }
                Finish::Retry {
                    due_ms: now + backoff_ms(claimed.attempts),
                    reason: e.to_string(),
                }
            }
            Err(e) => self.failed(&target, &sp, &user, e.to_string()),
        }))
    }

    /// A push refused for good (until the user changes or an admin retries): counted,
    /// audited with `reason`.
    fn failed(&self, target: &target::Model, sp: &ServiceProvider, user: &end_user::Model, reason: String) -> Finish {
        self.count("failed");
        self.audit(
            target,
            sp,
            user,
            "provisioning.push",
            "failure",
            json!({"reason": reason}),
        );
        Finish::Failed { reason }
    }

    fn audit(
        &self,
        target: &target::Model,
        sp: &ServiceProvider,
        user: &end_user::Model,
        action: &'static str,
        outcome: &'static str,
        mut detail: serde_json::Value,
    ) {
        detail["sp"] = json!(sp.name);
        detail["target"] = json!(target.id.to_string());
        self.state.audit.record(AuditEvent::of_task(
            target.tenant_id,
            "provisioning",
            action,
            outcome,
            user.email.clone(),
            detail,
        ));
    }

    /// The target was just paused: audited, and the tenant's owners are told by email.
    async fn paused(&self, target: &target::Model, sp: &ServiceProvider, e: &ScimError) {
        self.state.audit.record(AuditEvent::of_task(
            target.tenant_id,
            "provisioning",
            "provisioning.pause",
            "failure",
            sp.name.clone(),
            json!({"reason": e.to_string(), "target": target.id.to_string()}),
        ));
        let reason = e.to_string();
        if let Err(e) = email_owners(&self.state, target, |to, link| {
            crate::emails::provisioning_paused(to, &sp.name, &reason, link)
        })
        .await
        {
            tracing::warn!(error = %e, "provisioning: listing owners to warn failed");
        }
    }
}

/// Emails each owner of the target's tenant the message `email(to, link)` makes, `link`
/// being the target's Provisioning page in the console. A message that cannot be sent is
/// logged; the others still go.
pub(crate) async fn email_owners(
    state: &AppState,
    target: &target::Model,
    email: impl Fn(&str, &str) -> crate::mail::OutgoingEmail,
) -> crate::services::ServiceResult<()> {
    let link = format!(
        "{}applications/{}/provisioning",
        state.settings.server.public_url, target.service_provider_id
    );
    crate::lifecycle::email_owners(state, target.tenant_id, &link, email).await
}

/// What the user should be at the SP's directory.
pub fn desired(sp: &ServiceProvider, user: &end_user::Model) -> Result<DesiredUser, crate::mapping::MappingError> {
    let snapshot = crate::services::end_users::snapshot_of(user);
    let subject = crate::mapping::Subject {
        user_id: user.id,
        email: &user.email,
        given_name: None,
        family_name: None,
        name: user.display_name.as_deref(),
        claims: &snapshot.claims,
        groups: snapshot.groups.as_deref(),
    };
    // A transient NameID is new at every login: the directory keys the user on the email.
    let user_name = if sp.name_id_format == crate::saml::uri::NAMEID_TRANSIENT {
        user.email.clone()
    } else {
        sp.rules
            .0
            .name_id(&sp.name_id_format, sp.pairwise_salt.as_deref(), &subject)?
    };
    let groups = if sp.rules.0.provisions_groups() {
        snapshot.groups.as_deref().map(|g| sp.rules.0.groups(g))
    } else {
        None
    };
    Ok(DesiredUser {
        user_name,
        email: user.email.clone(),
        display_name: user.display_name.clone().unwrap_or_else(|| user.email.clone()),
        external_id: user.id.to_string(),
        active: user.status == "active",
        groups,
    })
}

/// The groups a link says the user was last put in at its target.
fn held_groups(link: &rosetta_entity::provisioning_link::Model) -> Vec<String> {
    link.groups
        .as_deref()
        .and_then(|g| serde_json::from_str(g).ok())
        .unwrap_or_default()
}

/// Puts the user with SCIM `id` `user_id` in each group of `wanted` they were not put in
/// yet (creating the group when absent), and takes them out of the ones of `held` no longer
/// wanted: only groups Rosetta put them in, never a membership made by hand. The changes
/// made, as `+group` and `-group`.
pub async fn push_groups(
    client: &ScimClient<'_>,
    user_id: &str,
    held: &[String],
    wanted: &[String],
) -> Result<Vec<String>, ScimError> {
    let mut changed = Vec::new();
    for group in wanted.iter().filter(|g| !held.contains(g)) {
        let id = client.ensure_group(group).await?;
        client.set_member(&id, user_id, true).await?;
        changed.push(format!("+{group}"));
    }
    for group in held.iter().filter(|g| !wanted.contains(g)) {
        if let Some(id) = client.find_group(group).await? {
            client.set_member(&id, user_id, false).await?;
        }
        changed.push(format!("-{group}"));
    }
    Ok(changed)
}

/// Whether the failure is the target's, not the user's: its key or its URL.
fn stops_the_target(e: &ScimError) -> bool {
    use crate::outbound::OutboundError;
    e.is_key_problem()
        || matches!(
            e,
            ScimError::Outbound(OutboundError::Insecure | OutboundError::Credentials | OutboundError::Forbidden { .. })
        )
}

/// Wait before attempt `attempts + 1`: 1 s doubling, at most an hour.
fn backoff_ms(attempts: i32) -> i64 {
    let exponent = attempts.clamp(0, 12) as u32;
    (1000i64 << exponent).min(3_600_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_to_an_hour() {
        assert_eq!(backoff_ms(0), 1000);
        assert_eq!(backoff_ms(1), 2000);
        assert_eq!(backoff_ms(5), 32_000);
        assert_eq!(backoff_ms(40), 3_600_000);
        assert_eq!(backoff_ms(-3), 1000);
    }
}
