//! The login debugger: the tenant's login traces (filtered pages, one in full, a support
//! bundle), a Test login for an application, and an application's go-live checklist, each
//! item green from evidence Rosetta holds.

use rosetta_api::{
    GoLiveChecklist, GoLiveItem, GoLiveReminder, GoLiveState, LoginTrace, LoginTracePage, LoginTraceQuery, Preset,
    SupportBundle, TestLoginStart, TraceOutcome, TraceStepKind,
};
use serde_json::json;

use super::service_providers::{Which, find};
use super::{AdminError, AdminResult, Scope, object_id, paging, text_filter, time_filter};
use crate::flow::TestTarget;
use crate::services::login_traces::{self, TraceFilter};
use crate::services::service_providers::ServiceProvider;
use crate::state::AppState;

/// The tenant's login attempts, newest first, filtered and paged. Legs are written just
/// after their response: the queue is written first, so every leg so far is included.
pub async fn page(state: &AppState, scope: &Scope, q: &LoginTraceQuery) -> AdminResult<LoginTracePage> {
    let (page, per_page) = paging(q.page, q.per_page)?;
    let filter = TraceFilter {
        service_provider: text_filter("service_provider", &q.service_provider)?,
        source: text_filter("source", &q.source)?,
        user: text_filter("user", &q.user)?,
        outcome: q.outcome,
        from: time_filter("from", &q.from)?,
        to: time_filter("to", &q.to)?,
    };
    state.traces.flush().await;
    let (items, total) = login_traces::page(&state.db, scope.tenant_id(), &filter, page, per_page).await?;
    Ok(LoginTracePage {
        items: items.iter().map(login_traces::summary).collect(),
        total,
        page,
        per_page,
    })
}

async fn row(state: &AppState, scope: &Scope, id: &str) -> AdminResult<rosetta_entity::login_trace::Model> {
    let id = object_id(id)?;
    state.traces.flush().await;
    login_traces::get(&state.db, scope.tenant_id(), id)
        .await?
        .ok_or_else(AdminError::not_found)
}

/// One login attempt, step by step.
pub async fn get(state: &AppState, scope: &Scope, id: &str) -> AdminResult<LoginTrace> {
    Ok(login_traces::to_api(&row(state, scope, id).await?))
}

/// One login attempt as a file for support (with its XML, signatures removed), and a
/// file name for it.
pub async fn bundle(state: &AppState, scope: &Scope, id: &str) -> AdminResult<(String, SupportBundle)> {
    let row = row(state, scope, id).await?;
    let contents = login_traces::contents(&row);
    let bundle = SupportBundle {
        rosetta_version: env!("CARGO_PKG_VERSION").into(),
        tenant: scope.slug().as_str().into(),
        generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        trace: login_traces::trace(&row, contents.steps),
        authn_request_xml: contents.request_xml,
        response_xml: contents.response_xml,
    };
    Ok((format!("rosetta-login-{}.json", row.id), bundle))
}

/// A single-use link that starts a login to the application (IdP-initiated, never from a
/// live session), and the trace it writes.
pub async fn test_login(state: &AppState, scope: &Scope, sp: Which<'_>) -> AdminResult<TestLoginStart> {
    let sp = find(state, scope, sp).await?;
    let path = format!("/saml/init/{}?test=", sp.name);
    test_link(state, scope, TestTarget::Application(sp.name), &path).await
}

/// A single-use link that starts a login through the identity source to no application
/// (nothing recorded, no session), and the trace it writes.
pub async fn test_source_login(state: &AppState, scope: &Scope, source: Which<'_>) -> AdminResult<TestLoginStart> {
    let source = super::identity_sources::find(state, scope, source).await?;
    let path = format!("/oidc/test/{}?ticket=", source.name);
    test_link(state, scope, TestTarget::Source(source.name), &path).await
}

/// Issues the ticket for `target` (audited) and the link: the tenant's URL, `path`, the ticket.
async fn test_link(state: &AppState, scope: &Scope, target: TestTarget, path: &str) -> AdminResult<TestLoginStart> {
    let name = target.name().to_owned();
    let (ticket, trace) = crate::flow::issue_test_ticket(state.store.as_ref(), scope.slug(), target).await?;
    let expires = chrono::Utc::now() + crate::flow::TEST_TICKET_TTL;
    super::record_quietly(
        state,
        super::Recorded {
            tenant_id: Some(scope.tenant_id()),
            actor: scope.actor(),
            origin: &scope.origin,
            action: "login.test",
            outcome: rosetta_api::AuditOutcome::Success,
            target: Some(name),
            detail: json!({ "trace_id": trace.to_string() }),
        },
    )
    .await;
    Ok(TestLoginStart {
        // The tenant's URL ends with `/`; `path` starts with one.
        url: format!(
            "{}{path}{ticket}",
            state.hosts.tenant_url(scope.slug()).trim_end_matches('/')
        ),
        trace_id: trace.to_string(),
        expires_at: expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

/// The application's go-live checklist.
pub async fn go_live(state: &AppState, scope: &Scope, sp: Which<'_>) -> AdminResult<GoLiveChecklist> {
    let sp = find(state, scope, sp).await?;
    state.traces.flush().await;
    let db = &state.db;
    let tenant = scope.tenant_id();
    let mut items = Vec::new();
    let item = |key: &str, title: &str, state: GoLiveState, detail: String, trace: Option<uuid::Uuid>| GoLiveItem {
        key: key.into(),
        title: title.into(),
        state,
        detail,
        trace_id: trace.map(|t| t.to_string()),
    };

    let success = login_traces::latest(db, tenant, &sp.name, Some(TraceOutcome::Success), Some("sp")).await?;
    let last_request = login_traces::latest(db, tenant, &sp.name, None, Some("sp")).await?;
    let title = format!("A successful login started at {}", sp.name);
    items.push(match (&success, &last_request) {
        (Some(t), _) => item(
            "login_seen",
            &title,
            GoLiveState::Done,
            format!(
                "{} logged in at {} through the application's own sign-in: it sends its requests to Rosetta's SSO URL.",
                t.user_email.as_deref().unwrap_or("A user"),
                t.started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            Some(t.id),
        ),
        (None, Some(t)) => item(
            "login_seen",
            &title,
            GoLiveState::Problem,
            format!(
                "The latest login the application started failed ({}); open its trace for what to do.",
                t.failure_code.as_deref().unwrap_or("unfinished")
            ),
            Some(t.id),
        ),
        (None, None) => item(
            "login_seen",
            &title,
            GoLiveState::Pending,
            "No login started at the application yet. Sign in there (in a private window) with a test user.".into(),
            None,
        ),
    });

    items.push(match &last_request {
        Some(t) => request_matches(&sp, t, &item),
        None => item(
            "request_values",
            "The entity ID and ACS URL the application sends are the registered ones",
            GoLiveState::Pending,
            "Known after the application's first sign-in request.".into(),
            None,
        ),
    });

    let sources = crate::services::identity_sources::list(db, tenant).await?;
    let mut listed: Vec<String> = sources.iter().flat_map(|s| s.domains.iter().cloned()).collect();
    listed.sort();
    listed.dedup();
    let seen = login_traces::domains_seen(db, tenant, &sp.name).await?;
    let missing: Vec<&str> = listed
        .iter()
        .filter(|d| !seen.contains(d))
        .map(String::as_str)
        .collect();
    let title = "Users of every listed domain have logged in";
    items.push(if listed.is_empty() {
        item(
            "domains",
            title,
            GoLiveState::NotApplicable,
            "No source lists email domains.".into(),
            None,
        )
    } else if missing.is_empty() {
        item(
            "domains",
            title,
            GoLiveState::Done,
            format!("Seen: {}.", listed.join(", ")),
            None,
        )
    } else {
        item(
            "domains",
            title,
            GoLiveState::Pending,
            format!("No successful login yet from: {}.", missing.join(", ")),
            None,
        )
    });

    let title = "Provisioning is in sync";
    items.push(match crate::services::provisioning::get(db, tenant, sp.id).await? {
        None => item(
            "provisioning",
            title,
            GoLiveState::NotApplicable,
            "Provisioning is not set up for this application.".into(),
            None,
        ),
        Some(target) => {
            let q = crate::services::provisioning::queue_state(db, target.id).await?;
            if let Some(reason) = &target.paused_reason {
                item(
                    "provisioning",
                    title,
                    GoLiveState::Problem,
                    format!("Paused: {reason}"),
                    None,
                )
            } else if q.failed > 0 {
                item(
                    "provisioning",
                    title,
                    GoLiveState::Problem,
                    format!(
                        "{} users failed to sync; see the application's Provisioning page.",
                        q.failed
                    ),
                    None,
                )
            } else if q.pending > 0 || q.synced == 0 {
                item(
                    "provisioning",
                    title,
                    GoLiveState::Pending,
                    format!("{} synced, {} waiting.", q.synced, q.pending),
                    None,
                )
            } else {
                item(
                    "provisioning",
                    title,
                    GoLiveState::Done,
                    format!("{} users synced, none waiting or failed.", q.synced),
                    None,
                )
            }
        }
    });

    let ready = items
        .iter()
        .all(|i| matches!(i.state, GoLiveState::Done | GoLiveState::NotApplicable));
    Ok(GoLiveChecklist {
        service_provider: sp.name.clone(),
        ready,
        items,
        reminders: if sp.preset == Preset::Atlassian {
            atlassian_reminders()
        } else {
            Vec::new()
        },
    })
}

/// Whether the application's latest AuthnRequest named the registered entity ID and ACS URL.
fn request_matches(
    sp: &ServiceProvider,
    t: &rosetta_entity::login_trace::Model,
    item: &impl Fn(&str, &str, GoLiveState, String, Option<uuid::Uuid>) -> GoLiveItem,
) -> GoLiveItem {
    let title = "The entity ID and ACS URL the application sends are the registered ones";
    let trace = login_traces::to_api(t);
    let fact = |name: &str| {
        trace
            .steps
            .iter()
            .filter(|s| s.step == TraceStepKind::Request)
            .flat_map(|s| s.facts.iter())
            .find(|f| f.name == name)
            .map(|f| f.value.clone())
    };
    let issuer = fact("Issuer (entity ID)").unwrap_or_default();
    let acs = fact("ACS URL requested").unwrap_or_default();
    let acs_ok = acs.starts_with('(') || acs.starts_with("index ") || sp.acs.iter().any(|a| a.url == acs);
    if issuer == sp.entity_id && acs_ok {
        item(
            "request_values",
            title,
            GoLiveState::Done,
            format!("The latest request named {issuer} and {acs}."),
            Some(t.id),
        )
    } else if issuer != sp.entity_id {
        item(
            "request_values",
            title,
            GoLiveState::Problem,
            format!(
                "The latest request named the entity ID {issuer}, registered is {}. Copy it whole from the application.",
                sp.entity_id
            ),
            Some(t.id),
        )
    } else {
        item(
            "request_values",
            title,
            GoLiveState::Problem,
            format!(
                "The latest request asked for the ACS URL {acs}, which is not registered. Atlassian's includes \
                 `?connection=…`: copy it whole."
            ),
            Some(t.id),
        )
    }
}

/// What Rosetta cannot see at Atlassian.
fn atlassian_reminders() -> Vec<GoLiveReminder> {
    let r = |title: &str, detail: &str, path: &str| GoLiveReminder {
        title: title.into(),
        detail: detail.into(),
        path: path.into(),
    };
    vec![
        r(
            "Enforce single sign-on in an authentication policy",
            "Until a policy with single sign-on applies to your users, they can still log in with an Atlassian \
             password. Add the SAML connection to a policy and move the users into it.",
            "admin.atlassian.com → Security → Authentication policies",
        ),
        r(
            "Verify your domains at Atlassian",
            "Only accounts on verified domains are managed, and only managed accounts follow your policy.",
            "admin.atlassian.com → Settings → Domains",
        ),
        r(
            "Decide the external users' policy",
            "People outside your domains (guests, contractors) do not log in through Rosetta; their policy says \
             whether they need two-step verification.",
            "admin.atlassian.com → Security → External users",
        ),
    ]
}
