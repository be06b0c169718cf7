//! The login debugger: every login attempt, filtered and paged (`/logins`), and one attempt
//! step by step (`/logins/:id`), with the failing step's reason and what to do about it. A
//! login still under way (or a Test login not started yet) is followed live.

use std::time::Duration;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_router::params::ParamsMap;
use rosetta_api::{LoginTrace, LoginTracePage, LoginTraceQuery, LoginTraceSummary, TraceOutcome};

use crate::api::{Failure, percent_encode, query_string};
use crate::session::use_api;
use crate::ui::{Empty, Loaded, PageHeader, Pager, short_time};

const PER_PAGE: u64 = 50;

/// How often a login under way is asked for again.
const POLL: Duration = Duration::from_secs(2);

/// The Logins page with `query`'s filters (and page).
pub fn list_href(query: &LoginTraceQuery) -> String {
    let q = query_string(query);
    if q.is_empty() {
        "/logins".into()
    } else {
        format!("/logins?{q}")
    }
}

/// The Logins page showing only the logins to the application called `name`.
pub fn for_application_href(name: &str) -> String {
    list_href(&LoginTraceQuery {
        service_provider: Some(name.to_owned()),
        ..LoginTraceQuery::default()
    })
}

/// The trace view of login `id`.
pub fn trace_href(id: &str) -> String {
    format!("/logins/{}", percent_encode(id))
}

/// How the login began, in words.
fn initiated_words(initiated: &str) -> String {
    match initiated {
        "sp" => "By the application (SP-initiated)".into(),
        "idp" => "From Rosetta's link (IdP-initiated)".into(),
        "test" => "Test login from the console".into(),
        other => other.to_owned(),
    }
}

/// "12.3 ms" from microseconds.
fn milliseconds(us: u64) -> String {
    format!("{}.{} ms", us / 1000, us % 1000 / 100)
}

/// `12:18:02.246` from an RFC 3339 time (UTC, as stored).
fn clock_time(rfc3339: &str) -> String {
    rfc3339.chars().skip(11).take(12).collect()
}

/// `2026-11-29T12:18` (a `datetime-local` input's value) from an RFC 3339 time.
fn to_input(rfc3339: &str) -> String {
    rfc3339.chars().take(16).collect()
}

/// An RFC 3339 time in UTC from a `datetime-local` input's value (the console shows UTC).
fn from_input(value: &str) -> Option<String> {
    let value = value.trim();
    match value.len() {
        0 => None,
        16 => Some(format!("{value}:00Z")),
        _ => Some(format!("{value}Z")),
    }
}

/// Text whose `backquoted` parts are code (the advice names codes and settings that way).
fn with_code(text: &str) -> impl IntoView + use<> {
    let parts: Vec<String> = text.split('`').map(str::to_owned).collect();
    // An odd number of backquotes is not markup: the text as it is.
    let balanced = parts.len() % 2 == 1;
    parts
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            if balanced && i % 2 == 1 {
                view! { <code>{part}</code> }.into_any()
            } else {
                part.into_any()
            }
        })
        .collect_view()
}

/// The filters and page of the address.
fn query_of(params: &ParamsMap) -> LoginTraceQuery {
    let text = |name: &str| params.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    LoginTraceQuery {
        service_provider: text("service_provider"),
        source: text("source"),
        user: text("user"),
        outcome: text("outcome").and_then(|o| TraceOutcome::parse(&o)),
        from: text("from"),
        to: text("to"),
        page: text("page").and_then(|p| p.parse().ok()),
        per_page: None,
    }
}

/// "Success", "Failed" or "In progress", as a badge.
#[component]
pub fn TraceOutcomeBadge(outcome: TraceOutcome, #[prop(optional)] id: Option<&'static str>) -> impl IntoView {
    let class = match outcome {
        TraceOutcome::Success => "badge good",
        TraceOutcome::Failure => "badge bad",
        TraceOutcome::InProgress => "badge info",
    };
    view! { <span id=id class=class data-outcome=outcome.as_str()>{outcome.label()}</span> }
}

/// The application a login was for: its name, else the entity ID it sent.
fn application_of(s: &LoginTraceSummary) -> String {
    s.service_provider
        .clone()
        .or_else(|| s.entity_id.clone())
        .unwrap_or_else(|| "—".into())
}

// --- The list -------------------------------------------------------------------------------

#[component]
pub fn Logins() -> impl IntoView {
    let api = use_api();
    let navigate = use_navigate();
    let params = use_query_map();
    // The address holds the filters: links from an application's card and the browser's
    // Back button show the same selection.
    let applied = Memo::new(move |_| params.with(query_of));
    let logins = LocalResource::new(move || {
        api.logins(LoginTraceQuery {
            per_page: Some(PER_PAGE),
            ..applied.get()
        })
    });
    let sps = LocalResource::new(move || api.service_providers());
    let sources = LocalResource::new(move || api.identity_sources());
    let (application, source, user, outcome, from, to) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    Effect::new(move |_| {
        let q = applied.get();
        application.set(q.service_provider.unwrap_or_default());
        source.set(q.source.unwrap_or_default());
        user.set(q.user.unwrap_or_default());
        outcome.set(q.outcome.map(TraceOutcome::as_str).unwrap_or_default().to_owned());
        from.set(q.from.as_deref().map(to_input).unwrap_or_default());
        to.set(q.to.as_deref().map(to_input).unwrap_or_default());
    });
    // A refused filter (a bad date) is said by its field.
    let field_error = move |name: &'static str| {
        Signal::derive(move || logins.get().and_then(Result::err).and_then(|f| f.field(name)))
    };
    let go = navigate.clone();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let text = |s: RwSignal<String>| Some(s.get_untracked().trim().to_owned()).filter(|v| !v.is_empty());
        let query = LoginTraceQuery {
            service_provider: text(application),
            source: text(source),
            user: text(user),
            outcome: TraceOutcome::parse(&outcome.get_untracked()),
            from: from_input(&from.get_untracked()),
            to: from_input(&to.get_untracked()),
            ..LoginTraceQuery::default()
        };
        go(&list_href(&query), Default::default());
    };
    let set_page = Callback::new(move |n: u64| {
        navigate(
            &list_href(&LoginTraceQuery {
                page: Some(n),
                ..applied.get_untracked()
            }),
            Default::default(),
        );
    });
    let filtered = Memo::new(move |_| {
        LoginTraceQuery {
            page: None,
            ..applied.get()
        } != LoginTraceQuery::default()
    });
    view! {
        <PageHeader title="Logins" lead="Every login through Rosetta, newest first: open one to see each step, and what to do when one failed.">
            <button type="button" id="refresh-logins" class="button secondary" on:click=move |_| logins.refetch()>"Refresh"</button>
        </PageHeader>
        <form on:submit=submit class="toolbar filters" id="login-filters">
            <div class="field inline">
                <label for="logins-application">"Application"</label>
                <select id="logins-application" on:change=move |ev| application.set(event_target_value(&ev))>
                    <option value="" prop:selected=move || application.with(String::is_empty)>"any"</option>
                    {move || name_options(
                        sps.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|sp| sp.name),
                        application,
                    )}
                </select>
            </div>
            <div class="field inline">
                <label for="logins-source">"Identity provider"</label>
                <select id="logins-source" on:change=move |ev| source.set(event_target_value(&ev))>
                    <option value="" prop:selected=move || source.with(String::is_empty)>"any"</option>
                    {move || name_options(
                        sources.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|s| s.name),
                        source,
                    )}
                </select>
            </div>
            <FilterInput id="logins-user" label="User" kind="search" value=user error=field_error("user")
                placeholder="part of the email"/>
            <div class="field inline">
                <label for="logins-outcome">"Outcome"</label>
                <select id="logins-outcome" on:change=move |ev| outcome.set(event_target_value(&ev))>
                    <option value="" prop:selected=move || outcome.with(String::is_empty)>"any"</option>
                    {TraceOutcome::ALL.into_iter().map(|o| view! {
                        <option value=o.as_str() prop:selected=move || outcome.with(|v| v == o.as_str())>{o.label()}</option>
                    }).collect_view()}
                </select>
                {move || field_error("outcome").get().map(|e| view! { <p class="field-error">{e}</p> })}
            </div>
            <FilterInput id="logins-from" label="From (UTC)" kind="datetime-local" value=from error=field_error("from")/>
            <FilterInput id="logins-to" label="Until (UTC)" kind="datetime-local" value=to error=field_error("to")/>
            <button type="submit" class="button secondary">"Filter"</button>
        </form>
        <Loaded resource=logins what="the logins" let:p>
            <LoginTable p=p set_page=set_page filtered=filtered.get_untracked()/>
        </Loaded>
    }
}

/// The options of a select of names, `chosen` selected.
fn name_options(names: impl Iterator<Item = String>, chosen: RwSignal<String>) -> impl IntoView {
    names
        .map(|name| {
            let (value, label) = (name.clone(), name.clone());
            view! { <option value=value prop:selected=move || chosen.with(|c| *c == name)>{label}</option> }
        })
        .collect_view()
}

/// An input of the filter bar with the API's error for it.
#[component]
fn FilterInput(
    id: &'static str,
    label: &'static str,
    kind: &'static str,
    value: RwSignal<String>,
    error: Signal<Option<String>>,
    #[prop(optional)] placeholder: Option<&'static str>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let described = error_id.clone();
    view! {
        <div class="field inline" class:invalid=move || error.with(Option::is_some)>
            <label for=id>{label}</label>
            <input id=id type=kind placeholder=placeholder autocomplete="off"
                prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                aria-describedby=move || error.with(Option::is_some).then(|| described.clone())/>
            {move || error.get().map(|e| view! { <p class="field-error" id=error_id.clone()>{e}</p> })}
        </div>
    }
}

#[component]
fn LoginTable(p: LoginTracePage, set_page: Callback<u64>, filtered: bool) -> impl IntoView {
    let total = p.total.to_string();
    if p.items.is_empty() {
        return view! {
            <div id="login-results" data-total=total>
                <Empty title=if filtered { "No logins match" } else { "No logins yet" }>
                    <p>{if filtered {
                        "Try other filters."
                    } else {
                        "Logins through Rosetta appear here as they happen. Start one with Test login on an application's card."
                    }}</p>
                </Empty>
            </div>
        }
        .into_any();
    }
    view! {
        <div id="login-results" data-total=total>
            <div class="table-wrap">
                <table id="login-list" class="logins">
                    <thead><tr>
                        <th scope="col">"When"</th><th scope="col">"Application"</th><th scope="col">"Identity provider"</th>
                        <th scope="col">"User"</th><th scope="col">"Outcome"</th><th scope="col">"Failure"</th>
                    </tr></thead>
                    <tbody>
                        {p.items.into_iter().map(|s| {
                            let application = application_of(&s);
                            view! {
                                <tr class:failure=s.outcome == TraceOutcome::Failure data-trace=s.id.clone()
                                    data-outcome=s.outcome.as_str()>
                                    <td class="nowrap"><a class="trace-link" href=trace_href(&s.id)>{short_time(&s.started_at)}</a></td>
                                    <td>{application}
                                        {(s.initiated == "test").then(|| view! { " " <span class="badge muted">"Test"</span> })}</td>
                                    <td>{s.source.unwrap_or_else(|| "—".into())}</td>
                                    <td class="object">{s.user_email.unwrap_or_else(|| "—".into())}</td>
                                    <td><TraceOutcomeBadge outcome=s.outcome/></td>
                                    <td>{s.failure_code.map(|c| view! { <code class="failure-code">{c}</code> })}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <Pager total=p.total page=p.page per_page=p.per_page set_page=set_page/>
        </div>
    }
    .into_any()
}

// --- One login ------------------------------------------------------------------------------

type TraceResource = LocalResource<Result<Option<LoginTrace>, Failure>>;

#[component]
pub fn Trace() -> impl IntoView {
    let api = use_api();
    let params = use_params_map();
    let query = use_query_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    // Opened from Test login: the trace is written once the login's first request is handled,
    // so "not found" means "not started yet".
    let awaited = Memo::new(move |_| query.with(|q| q.get("live").is_some_and(|v| v == "1")));
    let trace: TraceResource = LocalResource::new(move || api.login(id.get()));
    let live = Memo::new(move |_| match trace.get() {
        Some(Ok(Some(t))) => t.summary.outcome == TraceOutcome::InProgress,
        Some(Ok(None)) | None => awaited.get(),
        Some(Err(_)) => false,
    });
    follow(live, trace);
    view! {
        <p class="back"><a href="/logins">"← Logins"</a></p>
        <PageHeader title="Login" lead="Each step of this login, in order, with what Rosetta saw and how long it took."/>
        <Show when=move || live.get()>
            <p id="trace-live" class="live" role="status"><span class="live-dot" aria-hidden="true"></span>
                "Live: updating as the login happens"</p>
        </Show>
        <Loaded resource=trace what="the login" let:found>
            {match found {
                Some(t) => view! { <TraceView trace=t/> }.into_any(),
                None if awaited.get_untracked() => view! {
                    <div id="trace-waiting" class="empty">
                        <span class="spinner" aria-hidden="true"></span>
                        <h3>"Waiting for the login to start…"</h3>
                        <p class="empty-body">"Sign in in the tab that opened; each step appears here as it happens."</p>
                    </div>
                }.into_any(),
                None => view! {
                    <Empty title="No such login">
                        <p>"Logins are kept for a limited time. See " <a href="/logins">"Logins"</a> "."</p>
                    </Empty>
                }.into_any(),
            }}
        </Loaded>
    }
}

/// Asks for `trace` again every [`POLL`] while `live` holds; stops when it no longer does or
/// the view is left.
fn follow(live: Memo<bool>, trace: TraceResource) {
    let timer = StoredValue::new(None::<IntervalHandle>);
    let stop = move || {
        if let Some(handle) = timer.try_update_value(Option::take).flatten() {
            handle.clear();
        }
    };
    Effect::new(move |_| {
        if !live.get() {
            stop();
        } else if timer.with_value(Option::is_none) {
            // Without a timer the view still shows the login as it was: nothing to recover.
            if let Ok(handle) = set_interval_with_handle(move || trace.refetch(), POLL) {
                timer.set_value(Some(handle));
            }
        }
    });
    on_cleanup(stop);
}

#[component]
fn TraceView(trace: LoginTrace) -> impl IntoView {
    let api = use_api();
    let LoginTrace {
        summary: s,
        steps,
        failure,
    } = trace;
    let bundle = api.login_bundle_url(&s.id);
    let in_progress = s.outcome == TraceOutcome::InProgress;
    let facts: Vec<(&'static str, String)> = [
        ("Started", Some(short_time(&s.started_at))),
        ("Application", Some(application_of(&s))),
        ("Entity ID", s.entity_id.clone()),
        ("Identity provider", s.source.clone()),
        ("User", s.user_email.clone()),
        ("Begun", Some(initiated_words(&s.initiated))),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| (name, v)))
    .collect();
    view! {
        <section class="panel trace-summary" aria-labelledby="trace-summary-title" data-trace=s.id.clone()>
            <div class="panel-head">
                <h2 id="trace-summary-title">"Summary " <TraceOutcomeBadge outcome=s.outcome id="trace-outcome"/></h2>
                <a id="support-bundle" class="button secondary small" href=bundle download="">"Download support bundle"</a>
            </div>
            <dl class="trace-facts summary-facts">
                {facts.into_iter().map(|(name, value)| view! { <div><dt>{name}</dt><dd>{value}</dd></div> }).collect_view()}
            </dl>
        </section>
        {failure.map(|f| {
            let code = f.code.clone();
            view! {
            <section id="trace-failure" class="trace-failure" role="alert" data-code=code
                data-failed-step=f.step.as_str()>
                <h2>{format!("Failed at “{}”", f.step.title())}</h2>
                <p class="failure-message">{f.message}</p>
                <p class="small">"Code " <code id="trace-failure-code">{f.code}</code></p>
                <h3>"What to do"</h3>
                <p id="trace-advice">{with_code(&f.advice)}</p>
            </section>
            }
        })}
        <section class="panel" aria-labelledby="trace-steps-title">
            <h2 id="trace-steps-title">"Steps"</h2>
            <ol id="trace-steps" class="trace-steps">
                {steps.into_iter().map(|step| {
                    let state = if step.ok { "ok" } else { "failed" };
                    view! {
                        <li class=format!("trace-step {state}") data-step=step.step.as_str()
                            data-ok=if step.ok { "true" } else { "false" }>
                            <div class="trace-step-head">
                                <span class="trace-mark" aria-hidden="true">{if step.ok { "✓" } else { "✗" }}</span>
                                <h3 class="trace-step-title">{step.step.title()}
                                    <span class="visually-hidden">{if step.ok { " (passed)" } else { " (failed)" }}</span></h3>
                                <span class="trace-duration" title="How long the step took">{milliseconds(step.duration_us)}</span>
                            </div>
                            <p class="trace-at muted small">{clock_time(&step.at)} " UTC"</p>
                            {(!step.facts.is_empty()).then(|| view! {
                                <dl class="trace-facts">
                                    {step.facts.into_iter().map(|f| view! {
                                        <div><dt>{f.name}</dt><dd>{f.value}</dd></div>
                                    }).collect_view()}
                                </dl>
                            })}
                        </li>
                    }
                }).collect_view()}
                {in_progress.then(|| view! {
                    <li class="trace-step pending" data-step="pending">
                        <div class="trace-step-head">
                            <span class="trace-mark" aria-hidden="true">"…"</span>
                            <h3 class="trace-step-title">"Waiting for the next step"</h3>
                        </div>
                        <p class="muted small">"The user is at the identity provider or the second factor, or stopped there."</p>
                    </li>
                })}
            </ol>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_milliseconds_with_one_decimal() {
        assert_eq!(milliseconds(0), "0.0 ms");
        assert_eq!(milliseconds(12_345), "12.3 ms");
        assert_eq!(milliseconds(999), "0.9 ms");
        assert_eq!(milliseconds(2_000_050), "2000.0 ms");
    }

    #[test]
    fn filter_times_are_utc() {
        assert_eq!(from_input("2026-11-29T12:18").as_deref(), Some("2026-11-29T12:18:00Z"));
        assert_eq!(
            from_input("2026-11-29T12:18:30").as_deref(),
            Some("2026-11-29T12:18:30Z")
        );
        assert_eq!(from_input(" "), None);
        assert_eq!(to_input("2026-11-29T12:18:00Z"), "2026-11-29T12:18");
        assert_eq!(clock_time("2026-11-29T12:18:02.246Z"), "12:18:02.246");
    }

    #[test]
    fn links_carry_the_filters() {
        assert_eq!(list_href(&LoginTraceQuery::default()), "/logins");
        assert_eq!(for_application_href("jira"), "/logins?service_provider=jira");
        assert_eq!(trace_href("a b"), "/logins/a%20b");
    }
}
