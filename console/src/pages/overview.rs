//! The tenant at a glance: warnings about provisioning (paused, API keys expiring) and
//! expiring signing certificates, the
//! set-up progress card (until it is complete), the applications and identity providers
//! with their recent health, the latest logins (each opens its trace in the login debugger).

use leptos::prelude::*;
use rosetta_api::{
    AuditEntry, AuditOutcome, AuditPage, AuditQuery, IdentitySource, LoginTracePage, LoginTraceQuery, ServiceProvider,
    SetupProgress, TraceOutcome,
};

use super::logins::{TraceOutcomeBadge, trace_href};
use super::{keys, provisioning};
use crate::session::use_api;
use crate::ui::{Empty, Loaded, PageHeader, short_time};

#[component]
pub fn Overview() -> impl IntoView {
    let api = use_api();
    let progress = LocalResource::new(move || api.setup_progress());
    let sps = LocalResource::new(move || api.service_providers());
    let sources = LocalResource::new(move || api.identity_sources());
    let logins = LocalResource::new(move || {
        api.audit(AuditQuery {
            action: Some("login".into()),
            per_page: Some(100),
            ..AuditQuery::default()
        })
    });
    let latest = LocalResource::new(move || {
        api.logins(LoginTraceQuery {
            per_page: Some(LATEST),
            ..LoginTraceQuery::default()
        })
    });
    view! {
        <PageHeader title="Overview"/>
        <provisioning::Alerts/>
        <keys::ExpiryAlerts/>
        <Loaded resource=progress what="the set-up progress" let:p>
            <SetupCard progress=p/>
        </Loaded>
        <div class="grid two">
            <section class="panel" aria-labelledby="apps-title">
                <div class="panel-head">
                    <h2 id="apps-title">"Applications"</h2>
                    <a href="/applications" class="panel-link">"Manage"</a>
                </div>
                <Loaded resource=sps what="the applications" let:list>
                    <Applications list=list logins=logins/>
                </Loaded>
            </section>
            <section class="panel" aria-labelledby="sources-title">
                <div class="panel-head">
                    <h2 id="sources-title">"Identity providers"</h2>
                    <a href="/sources" class="panel-link">"Manage"</a>
                </div>
                <Loaded resource=sources what="the identity providers" let:list>
                    <Providers list=list logins=logins/>
                </Loaded>
            </section>
        </div>
        <section class="panel" aria-labelledby="logins-title">
            <div class="panel-head">
                <h2 id="logins-title">"Latest logins"</h2>
                <a href="/logins" class="panel-link">"All logins"</a>
            </div>
            <Loaded resource=latest what="the latest logins" let:page>
                <LatestLogins page=page/>
            </Loaded>
        </section>
    }
}

/// How many logins the overview lists.
const LATEST: u64 = 10;

/// One step of the set-up.
struct Step {
    key: &'static str,
    title: &'static str,
    done: bool,
    /// What to do while it is not done.
    todo: String,
    href: &'static str,
    action: &'static str,
}

fn steps(p: &SetupProgress) -> [Step; 4] {
    [
        Step {
            key: "atlassian",
            title: "Connect Atlassian",
            done: p.service_provider,
            todo: "Paste Rosetta's values into Atlassian, and Atlassian's two values into Rosetta.".into(),
            href: "/atlassian",
            action: "Open the Atlassian set-up",
        },
        Step {
            key: "source",
            title: "Add and test your identity provider",
            done: p.identity_source && p.source_tested,
            todo: if p.identity_source {
                "Added. Run “Test connection” to check that Rosetta can reach it.".into()
            } else {
                "Your company's OpenID Connect provider: Google Workspace, Entra ID, Okta…".into()
            },
            href: "/sources",
            action: if p.identity_source {
                "Test the connection"
            } else {
                "Add an identity provider"
            },
        },
        Step {
            key: "login",
            title: "See a first login",
            done: p.first_login,
            todo: "Open a test login in a private window; it shows here once someone gets through.".into(),
            href: "/atlassian#try",
            action: "Try a login",
        },
        Step {
            key: "mfa",
            title: "Decide on two-step sign-in",
            done: p.mfa_decided,
            todo: "Choose whether people enter a code from an authenticator app after the company login.".into(),
            href: "/security",
            action: "Choose a policy",
        },
    ]
}

/// The set-up progress card: each step links to the page that completes it.
#[component]
fn SetupCard(progress: SetupProgress) -> impl IntoView {
    let steps = steps(&progress);
    let done = steps.iter().filter(|s| s.done).count();
    let total = steps.len();
    let current = steps.iter().position(|s| !s.done);
    let complete = current.is_none();
    let percent = done * 100 / total;
    view! {
        <section id="setup-progress" class="panel setup" class:complete=complete aria-labelledby="setup-title"
            data-done=done.to_string()>
            <div class="setup-head">
                <div>
                    <h2 id="setup-title">{if complete { "Set-up complete" } else { "Set up single sign-on" }}</h2>
                    <p class="muted">{if complete {
                        "Atlassian, your identity provider and two-step sign-in are in place. People can sign in.".to_owned()
                    } else {
                        format!("{done} of {total} steps done")
                    }}</p>
                </div>
                <div class="meter" role="progressbar" aria-label="Set-up progress" aria-valuemin="0"
                    aria-valuemax=total.to_string() aria-valuenow=done.to_string()>
                    <span style=format!("width: {percent}%")></span>
                </div>
            </div>
            <ol class="steps">
                {steps.into_iter().enumerate().map(|(i, s)| {
                    let state = if s.done { "done" } else if Some(i) == current { "current" } else { "todo" };
                    let is_current = Some(i) == current;
                    view! {
                        <li id=format!("setup-step-{}", s.key) class=format!("step {state}") data-state=state
                            aria-current=is_current.then_some("step")>
                            <span class="step-mark" aria-hidden="true">{if s.done { "✓".to_owned() } else { (i + 1).to_string() }}</span>
                            <div class="step-body">
                                <p class="step-title">
                                    {s.title}
                                    <span class="visually-hidden">{if s.done { " (done)" } else { " (to do)" }}</span>
                                </p>
                                {(!s.done).then(|| view! { <p class="step-todo">{s.todo}</p> })}
                            </div>
                            {if is_current {
                                view! { <a class="button primary small" href=s.href>{s.action}</a> }.into_any()
                            } else if !s.done {
                                view! { <a class="step-link" href=s.href>{s.action}</a> }.into_any()
                            } else {
                                ().into_any()
                            }}
                        </li>
                    }
                }).collect_view()}
            </ol>
        </section>
    }
}

/// "3 recent logins, all successful" over the logins that `matches` selects.
fn health(page: Option<&AuditPage>, matches: impl Fn(&AuditEntry) -> bool) -> (&'static str, String) {
    let Some(p) = page else { return ("muted", String::new()) };
    let (ok, failed) = p.items.iter().filter(|e| matches(e)).fold((0, 0), |(ok, failed), e| {
        if e.outcome == AuditOutcome::Success {
            (ok + 1, failed)
        } else {
            (ok, failed + 1)
        }
    });
    match (ok, failed) {
        (0, 0) => ("muted", "no recent logins".into()),
        (1, 0) => ("good", "1 recent login, successful".into()),
        (ok, 0) => ("good", format!("{ok} recent logins, all successful")),
        (ok, failed) => ("bad", format!("{ok} successful, {failed} failed recently")),
    }
}

/// The source a login went through (its audit detail names it).
fn source_of(e: &AuditEntry) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(&e.detail)
        .ok()
        .and_then(|d| d.get("source").and_then(|s| s.as_str()).map(str::to_owned))
}

#[component]
fn Applications(
    list: Vec<ServiceProvider>,
    logins: LocalResource<Result<AuditPage, crate::api::Failure>>,
) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <Empty title="No application yet">
                <p>"Start with Atlassian: " <a href="/atlassian">"set up Atlassian"</a> "."</p>
            </Empty>
        }
        .into_any();
    }
    view! {
        <ul id="applications" class="summary-list">
            {list.into_iter().map(|sp| {
                let entity = sp.entity_id.clone();
                let status = Memo::new(move |_| {
                    let page = logins.get().and_then(Result::ok);
                    health(page.as_ref(), |e| e.target.as_deref() == Some(entity.as_str()))
                });
                view! {
                    <li>
                        <div><strong>{sp.name}</strong><code class="sub">{sp.entity_id}</code></div>
                        <span class=move || format!("health {}", status.get().0)>{move || status.get().1}</span>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn Providers(
    list: Vec<IdentitySource>,
    logins: LocalResource<Result<AuditPage, crate::api::Failure>>,
) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <Empty title="No identity provider yet">
                <p>"Nobody can sign in until you " <a href="/sources">"add one"</a> "."</p>
            </Empty>
        }
        .into_any();
    }
    view! {
        <ul id="providers" class="summary-list">
            {list.into_iter().map(|s| {
                let name = s.name.clone();
                let status = Memo::new(move |_| {
                    let page = logins.get().and_then(Result::ok);
                    health(page.as_ref(), |e| source_of(e).as_deref() == Some(name.as_str()))
                });
                view! {
                    <li>
                        <div><strong>{s.name}</strong><span class="sub">{s.domains.join(", ")}</span></div>
                        <span class=move || format!("health {}", status.get().0)>{move || status.get().1}</span>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// The latest login attempts; each opens its trace (a failed one says there why, and what to do).
#[component]
fn LatestLogins(page: LoginTracePage) -> impl IntoView {
    if page.items.is_empty() {
        return view! {
            <Empty title="No logins yet">
                <p>"Once Atlassian and an identity provider are set up, logins appear here."</p>
            </Empty>
        }
        .into_any();
    }
    view! {
        <div class="table-wrap">
            <table id="latest-logins">
                <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"Application"</th><th scope="col">"Outcome"</th></tr></thead>
                <tbody>
                    {page.items.into_iter().map(|s| {
                        let href = trace_href(&s.id);
                        let application = s.service_provider.clone().unwrap_or_default();
                        view! {
                            <tr class:failure=s.outcome == TraceOutcome::Failure data-trace=s.id.clone()>
                                <td class="nowrap"><a class="trace-link" href=href.clone()>{short_time(&s.started_at)}</a></td>
                                <td>{s.user_email.unwrap_or_else(|| "—".into())}</td>
                                <td>{application}<code class="sub">{s.entity_id.unwrap_or_default()}</code></td>
                                <td>
                                    <TraceOutcomeBadge outcome=s.outcome/>
                                    {s.failure_code.map(|code| view! {
                                        " " <a class="failure-link" href=href>"Why it failed: " <code>{code}</code></a>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// "success" or "failure", as a badge.
#[component]
pub fn OutcomeBadge(outcome: AuditOutcome) -> impl IntoView {
    match outcome {
        AuditOutcome::Success => view! { <span class="badge good">"success"</span> },
        AuditOutcome::Failure => view! { <span class="badge bad">"failure"</span> },
    }
}
