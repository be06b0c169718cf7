//! `rosetta trace ...`: the login debugger from the command line (list, show, support
//! bundle, Test login link, go-live checklist), on the same use cases as the admin API.

use clap::Subcommand;
use rosetta_api::{GoLiveState, LoginTraceQuery, TraceOutcome};

use super::{Failure, emit, operator_state, tenant_slug};
use crate::admin::service_providers::Which;
use crate::admin::{Scope, logins};
use crate::configuration::Settings;

/// `rosetta trace ...`
#[derive(Debug, Subcommand)]
pub enum TraceAction {
    /// The tenant's login attempts, newest first.
    List {
        /// Tenant slug.
        tenant: String,
        /// Only this service provider (its name).
        #[arg(long)]
        sp: Option<String>,
        /// Only this identity source (its name).
        #[arg(long)]
        source: Option<String>,
        /// Only users whose email contains this.
        #[arg(long)]
        user: Option<String>,
        /// Only `success`, `failure` or `in_progress`.
        #[arg(long)]
        outcome: Option<String>,
        /// Started at or after (RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Started before (RFC 3339).
        #[arg(long)]
        to: Option<String>,
        /// Page, from 1 (50 a page).
        #[arg(long, default_value_t = 1)]
        page: u64,
    },
    /// One login attempt, step by step, with what to do when it failed.
    Show {
        /// Tenant slug.
        tenant: String,
        /// The trace ID (from `trace list`).
        id: String,
        /// Print the support bundle (JSON with the XML, signatures removed) instead.
        #[arg(long)]
        bundle: bool,
    },
    /// A single-use link (10 minutes) that starts a login to the service provider (or, with
    /// `--source`, through an identity source to no application); its trace ID to follow
    /// with `trace show`. Needs the shared store (`redis_url`).
    TestLogin {
        /// Tenant slug.
        tenant: String,
        /// The service provider's name.
        #[arg(required_unless_present = "source", conflicts_with = "source")]
        sp: Option<String>,
        /// Test this identity source instead (its name).
        #[arg(long)]
        source: Option<String>,
    },
    /// The service provider's go-live checklist.
    GoLive {
        /// Tenant slug.
        tenant: String,
        /// The service provider's name.
        sp: String,
    },
}

/// Runs a `trace` command.
pub async fn trace(settings: Settings, action: TraceAction, json: bool) -> Result<(), Failure> {
    let tenant = match &action {
        TraceAction::List { tenant, .. }
        | TraceAction::Show { tenant, .. }
        | TraceAction::TestLogin { tenant, .. }
        | TraceAction::GoLive { tenant, .. } => tenant_slug(tenant)?,
    };
    if matches!(action, TraceAction::TestLogin { .. }) && settings.store.redis_url.is_none() {
        return Err(Failure::new(
            2,
            "invalid",
            "a Test login link from the command line needs the shared store (redis_url): the server could not \
             see a ticket kept in this process. Use the console's Test login instead.",
        ));
    }
    let state = operator_state(settings).await?;
    let scope = Scope::operator(&state, &tenant).await?;
    match action {
        TraceAction::List {
            sp,
            source,
            user,
            outcome,
            from,
            to,
            page,
            ..
        } => {
            let outcome = outcome
                .map(|o| {
                    TraceOutcome::parse(&o).ok_or_else(|| {
                        Failure::new(
                            2,
                            "invalid",
                            format!("outcome: `{o}` is not success, failure or in_progress"),
                        )
                    })
                })
                .transpose()?;
            let query = LoginTraceQuery {
                service_provider: sp,
                source,
                user,
                outcome,
                from,
                to,
                page: Some(page),
                per_page: Some(50),
            };
            let page = logins::page(&state, &scope, &query).await?;
            emit(json, &page, || {
                let mut out = format!("{} login(s)", page.total);
                for t in &page.items {
                    out.push_str(&format!(
                        "\n{}  {}  {:<11}  {}  {}  {}{}",
                        t.id,
                        t.started_at,
                        t.outcome.label(),
                        t.service_provider.as_deref().unwrap_or("-"),
                        t.source.as_deref().unwrap_or("-"),
                        t.user_email.as_deref().unwrap_or("-"),
                        t.failure_code
                            .as_deref()
                            .map(|c| format!("  ({c})"))
                            .unwrap_or_default()
                    ));
                }
                out
            })
        }
        TraceAction::Show { id, bundle: true, .. } => {
            let (_, bundle) = logins::bundle(&state, &scope, &id).await?;
            // The bundle is JSON either way.
            emit(true, &bundle, String::new)
        }
        TraceAction::Show { id, .. } => {
            let trace = logins::get(&state, &scope, &id).await?;
            emit(json, &trace, || {
                let s = &trace.summary;
                let mut out = format!(
                    "{}: {} ({}), {} via {}, {}",
                    s.started_at,
                    s.outcome.label(),
                    s.initiated,
                    s.service_provider.as_deref().unwrap_or("unknown application"),
                    s.source.as_deref().unwrap_or("no source yet"),
                    s.user_email.as_deref().unwrap_or("user unknown")
                );
                for step in &trace.steps {
                    out.push_str(&format!(
                        "\n{} {} ({:.1} ms)",
                        if step.ok { "✓" } else { "✗" },
                        step.step.title(),
                        step.duration_us as f64 / 1000.0
                    ));
                    for fact in &step.facts {
                        out.push_str(&format!("\n    {}: {}", fact.name, fact.value));
                    }
                }
                if let Some(f) = &trace.failure {
                    out.push_str(&format!(
                        "\nFailed at \"{}\" ({}): {}\nWhat to do: {}",
                        f.step.title(),
                        f.code,
                        f.message,
                        f.advice
                    ));
                }
                out
            })
        }
        TraceAction::TestLogin { sp, source, .. } => {
            let start = match (sp, source) {
                (_, Some(source)) => logins::test_source_login(&state, &scope, Which::Name(&source)).await?,
                (sp, None) => {
                    logins::test_login(&state, &scope, Which::Name(sp.as_deref().unwrap_or_default())).await?
                }
            };
            emit(json, &start, || {
                format!(
                    "open (once, before {}): {}\nthen: rosetta trace show {tenant} {}",
                    start.expires_at, start.url, start.trace_id
                )
            })
        }
        TraceAction::GoLive { sp, .. } => {
            let list = logins::go_live(&state, &scope, Which::Name(&sp)).await?;
            emit(json, &list, || {
                let mut out = format!(
                    "{}: {}",
                    list.service_provider,
                    if list.ready {
                        "ready to go live"
                    } else {
                        "not ready yet"
                    }
                );
                for item in &list.items {
                    let mark = match item.state {
                        GoLiveState::Done => "✓",
                        GoLiveState::Pending => "…",
                        GoLiveState::Problem => "✗",
                        GoLiveState::NotApplicable => "-",
                    };
                    out.push_str(&format!("\n{mark} {}: {}", item.title, item.detail));
                }
                for r in &list.reminders {
                    out.push_str(&format!("\n! {} ({}): {}", r.title, r.path, r.detail));
                }
                out
            })
        }
    }
}
