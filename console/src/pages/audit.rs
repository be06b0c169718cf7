//! The audit log, filtered and paged, with a CSV export of the same selection.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use rosetta_api::{AuditOutcome, AuditPage, AuditQuery};

use crate::pages::overview::OutcomeBadge;
use crate::session::use_api;
use crate::ui::{Empty, Loaded, PageHeader, Pager, short_time};

const PER_PAGE: u64 = 50;

/// Actions worth suggesting in the filter (any exact action works).
const ACTIONS: [&str; 12] = [
    "login",
    "login.mfa",
    "service_provider.create",
    "service_provider.update",
    "identity_source.create",
    "identity_source.test",
    "signing_key.create",
    "signing_key.promote",
    "tenant.update",
    "end_user.block",
    "invitation.create",
    "member.remove",
];

#[component]
pub fn Audit() -> impl IntoView {
    let api = use_api();
    let (action, outcome) = (RwSignal::new(String::new()), RwSignal::new(None::<AuditOutcome>));
    let applied = RwSignal::new(AuditQuery::default());
    let page = RwSignal::new(1_u64);
    let events = LocalResource::new(move || {
        let query = AuditQuery {
            page: Some(page.get()),
            per_page: Some(PER_PAGE),
            ..applied.get()
        };
        api.audit(query)
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let a = action.get_untracked().trim().to_owned();
        page.set(1);
        applied.set(AuditQuery {
            action: (!a.is_empty()).then_some(a),
            outcome: outcome.get_untracked(),
            ..AuditQuery::default()
        });
    };
    let csv = move || api.audit_csv_url(&applied.get());
    view! {
        <PageHeader title="Audit log" lead="Every login and every change, newest first.">
            <a class="button secondary" href=csv download="">"Export as CSV"</a>
        </PageHeader>
        <form on:submit=submit class="toolbar filters">
            <div class="field inline">
                <label for="audit-action">"Action"</label>
                <input id="audit-action" list="audit-actions" placeholder="e.g. login"
                    prop:value=move || action.get() on:input=move |ev| action.set(event_target_value(&ev))/>
                <datalist id="audit-actions">
                    {ACTIONS.iter().map(|a| view! { <option value=*a></option> }).collect_view()}
                </datalist>
            </div>
            <div class="field inline">
                <label for="audit-outcome">"Outcome"</label>
                <select id="audit-outcome" on:change=move |ev| outcome.set(match event_target_value(&ev).as_str() {
                    "success" => Some(AuditOutcome::Success),
                    "failure" => Some(AuditOutcome::Failure),
                    _ => None,
                })>
                    <option value="">"any"</option>
                    <option value="success">"success"</option>
                    <option value="failure">"failure"</option>
                </select>
            </div>
            <button type="submit" class="button secondary">"Filter"</button>
        </form>
        <Loaded resource=events what="the audit log" let:p>
            <EventTable p=p page=page filtered=applied.get_untracked() != AuditQuery::default()/>
        </Loaded>
    }
}

#[component]
fn EventTable(p: AuditPage, page: RwSignal<u64>, filtered: bool) -> impl IntoView {
    if p.items.is_empty() {
        return view! {
            <Empty title=if filtered { "No events match" } else { "Nothing recorded yet" }>
                <p>{if filtered { "Try another action or outcome." } else { "Changes in the console and logins through Rosetta appear here." }}</p>
            </Empty>
        }
        .into_any();
    }
    let set_page = Callback::new(move |n| page.set(n));
    view! {
        <div class="table-wrap">
            <table class="audit">
                <thead><tr>
                    <th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th>
                    <th scope="col">"Outcome"</th><th scope="col">"Object"</th><th scope="col">"Details"</th>
                </tr></thead>
                <tbody>
                    {p.items.into_iter().map(|e| {
                        let detail = serde_json::from_str::<serde_json::Value>(&e.detail)
                            .ok()
                            .filter(|d| d.as_object().is_some_and(|o| !o.is_empty()))
                            .and_then(|d| serde_json::to_string_pretty(&d).ok());
                        view! {
                            <tr class:failure=e.outcome == AuditOutcome::Failure>
                                <td class="nowrap">{short_time(&e.occurred_at)}</td>
                                <td>{e.actor}</td>
                                <td class="action"><code>{e.action}</code></td>
                                <td><OutcomeBadge outcome=e.outcome/></td>
                                <td class="object">{e.target.unwrap_or_default()}</td>
                                <td>{detail.map(|d| view! {
                                    <details class="detail"><summary>"Show"</summary><pre>{d}</pre>
                                        {e.request_id.map(|r| view! { <p class="muted small">"Request " <code>{r}</code></p> })}
                                    </details>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <Pager total=p.total page=p.page per_page=p.per_page set_page=set_page/>
    }
    .into_any()
}
