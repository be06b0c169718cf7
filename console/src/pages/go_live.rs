//! An application's go-live checklist: what Rosetta has seen (a login through it, the
//! values it was given), each with the login that proves it, and what only Atlassian's admin
//! pages can show, to check there before everyone signs in through Rosetta.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use rosetta_api::{GoLiveChecklist, GoLiveItem, GoLiveReminder, GoLiveState};

use super::logins;
use crate::api::percent_encode;
use crate::session::use_api;
use crate::ui::{Loaded, PageHeader};

/// The go-live checklist of the application `sp_id`.
pub fn href(sp_id: &str) -> String {
    format!("/applications/{}/go-live", percent_encode(sp_id))
}

/// The state's key (for styles and tests), its words and its badge's class.
fn state_of(state: GoLiveState) -> (&'static str, &'static str, &'static str) {
    match state {
        GoLiveState::Done => ("done", "Done", "badge good"),
        GoLiveState::Pending => ("pending", "Pending", "badge muted"),
        GoLiveState::Problem => ("problem", "Problem", "badge bad"),
        GoLiveState::NotApplicable => ("not_applicable", "Not applicable", "badge"),
    }
}

/// Where at admin.atlassian.com: a link when the reminder gives an address, else its words.
fn atlassian_place(path: &str) -> AnyView {
    let link = if path.starts_with("https://") {
        Some(path.to_owned())
    } else if path.starts_with('/') {
        Some(format!("https://admin.atlassian.com{path}"))
    } else {
        None
    };
    match link {
        Some(href) => {
            let text = href.clone();
            view! { <a href=href target="_blank" rel="noopener noreferrer"><code>{text}</code></a> }.into_any()
        }
        None => view! { "admin.atlassian.com: " <code>{path.to_owned()}</code> }.into_any(),
    }
}

#[component]
pub fn GoLive() -> impl IntoView {
    let api = use_api();
    let params = use_params_map();
    let checklist = LocalResource::new(move || {
        let id = params.with(|p| p.get("id").unwrap_or_default());
        api.go_live(id)
    });
    view! {
        <p class="back"><a href="/applications">"← Applications"</a></p>
        <PageHeader title="Go-live checklist"
            lead="Before everyone signs in through Rosetta: what Rosetta has seen of this application, and what to check at Atlassian."/>
        <Loaded resource=checklist what="the go-live checklist" let:c>
            <Checklist c=c/>
        </Loaded>
    }
}

#[component]
fn Checklist(c: GoLiveChecklist) -> impl IntoView {
    let done = c
        .items
        .iter()
        .filter(|i| matches!(i.state, GoLiveState::Done | GoLiveState::NotApplicable))
        .count();
    let total = c.items.len();
    view! {
        <p class="for-application">"For " <strong>{c.service_provider.clone()}</strong></p>
        {if c.ready {
            view! {
                <div id="go-live-ready" class="banner ready" role="status">
                    <strong>"Ready to go live. "</strong>
                    "Every check Rosetta can make has passed; go through the reminders below at Atlassian, then turn single sign-on on for everyone."
                </div>
            }.into_any()
        } else {
            view! {
                <p id="go-live-progress" class="muted">{format!("{done} of {total} checks done.")}</p>
            }.into_any()
        }}
        <section class="panel" aria-labelledby="go-live-items-title">
            <h2 id="go-live-items-title">"What Rosetta checked"</h2>
            <ul id="go-live-items" class="checklist">
                {c.items.into_iter().map(|item| view! { <Item item=item/> }).collect_view()}
            </ul>
        </section>
        {(!c.reminders.is_empty()).then(|| view! {
            <section class="panel" aria-labelledby="go-live-reminders-title">
                <h2 id="go-live-reminders-title">"Check at Atlassian"</h2>
                <p class="muted">"Rosetta cannot see these; an Atlassian organisation admin can."</p>
                <ul id="go-live-reminders" class="checklist reminders">
                    {c.reminders.into_iter().map(|r| view! { <Reminder r=r/> }).collect_view()}
                </ul>
            </section>
        })}
    }
}

#[component]
fn Item(item: GoLiveItem) -> impl IntoView {
    let (key, words, badge) = state_of(item.state);
    view! {
        <li class=format!("go-live-item {key}") data-key=item.key.clone() data-state=key>
            <div class="go-live-head">
                <span class=badge>{words}</span>
                <h3>{item.title}</h3>
            </div>
            <p class="go-live-detail">{item.detail}</p>
            {item.trace_id.map(|id| view! {
                <p><a class="go-live-trace" href=logins::trace_href(&id)>"See the login"</a></p>
            })}
        </li>
    }
}

#[component]
fn Reminder(r: GoLiveReminder) -> impl IntoView {
    view! {
        <li class="go-live-item reminder">
            <h3>{r.title}</h3>
            <p class="go-live-detail">{r.detail}</p>
            <p class="small">"Where: " {atlassian_place(&r.path)}</p>
        </li>
    }
}
