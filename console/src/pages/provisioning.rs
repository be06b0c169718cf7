//! User provisioning of one application over SCIM 2.0: where its directory is, its API key
//! (write-only) and the key's expiry, on or off; whether pushes flow (running, paused) and
//! the queue; Test connection, Sync now after a preview, Remove; each person's state with a
//! Retry. Also the line on an application's card and the overview's warnings.

use std::time::Duration;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;
use rosetta_api::{
    PageQuery, Preset, ProvisioningState, ProvisioningStep, ProvisioningTarget, ProvisioningTest, ProvisioningUser,
    ProvisioningUserPage, PutProvisioningRequest, ServiceProvider, SyncPreview,
};

use crate::api::{Failure, percent_encode};
use crate::session::use_api;
use crate::ui::{
    CheckBox, Confirm, Empty, Field, FormState, FormStatus, Loaded, PageHeader, Pager, short_time, use_notices,
};

/// Atlassian's SCIM URL of a directory, without the directory ID.
const ATLASSIAN_SCIM: &str = "https://api.atlassian.com/scim/directory/";
const PER_PAGE: u64 = 25;
/// How often the page asks how far the queue has got while pushes wait.
const REFRESH: Duration = Duration::from_secs(2);
/// A key expiring within this many days is warned about.
const EXPIRY_WARNING_DAYS: i64 = 30;
/// How many people a sync preview names.
const PREVIEW_NAMES: usize = 10;

type Target = RwSignal<Option<ProvisioningTarget>>;
type UsersResource = LocalResource<Result<ProvisioningUserPage, Failure>>;

/// The provisioning page of the application `sp_id`.
pub fn href(sp_id: &str) -> String {
    format!("/applications/{}/provisioning", percent_encode(sp_id))
}

#[component]
pub fn Provisioning() -> impl IntoView {
    let api = use_api();
    let params = use_params_map();
    let sp = LocalResource::new(move || {
        let id = params.read().get("id").unwrap_or_default();
        async move {
            api.service_providers()
                .await
                .map(|list| list.into_iter().find(|sp| sp.id == id))
        }
    });
    view! {
        <p class="back"><a href="/applications">"← Applications"</a></p>
        <PageHeader title="User provisioning"
            lead="Rosetta creates people's accounts in the application, keeps them up to date, and deactivates them when people are blocked or leave."/>
        <Loaded resource=sp what="the application" let:sp>
            {match sp {
                Some(sp) => view! { <ForApplication sp=sp/> }.into_any(),
                None => view! {
                    <Empty title="No such application">
                        <p>"It may have been deleted. See " <a href="/applications">"Applications"</a> "."</p>
                    </Empty>
                }.into_any(),
            }}
        </Loaded>
    }
}

#[component]
fn ForApplication(sp: ServiceProvider) -> impl IntoView {
    let api = use_api();
    let id = sp.id.clone();
    let target = LocalResource::new(move || api.provisioning(id.clone()));
    view! {
        <p class="for-application">"For " <strong>{sp.name.clone()}</strong> " " <code>{sp.entity_id.clone()}</code></p>
        <Loaded resource=target what="the provisioning settings" let:t>
            <TargetView sp=sp.clone() initial=t/>
        </Loaded>
    }
}

/// The set-up form while there is no target; its state, settings and people once there is.
#[component]
fn TargetView(sp: ServiceProvider, initial: Option<ProvisioningTarget>) -> impl IntoView {
    let target: Target = RwSignal::new(initial);
    let configured = Memo::new(move |_| target.with(Option::is_some));
    move || {
        if configured.get() {
            view! { <Configured sp=sp.clone() target=target/> }.into_any()
        } else {
            view! { <SettingsForm sp=sp.clone() target=target/> }.into_any()
        }
    }
}

#[component]
fn Configured(sp: ServiceProvider, target: Target) -> impl IntoView {
    let api = use_api();
    let page = RwSignal::new(1_u64);
    let id = sp.id.clone();
    let users: UsersResource = LocalResource::new(move || {
        api.provisioning_users(
            id.clone(),
            PageQuery {
                page: Some(page.get()),
                per_page: Some(PER_PAGE),
            },
        )
    });
    // Whether a refresh is due; gone with the page, so late answers are dropped.
    let scheduled = RwSignal::new(false);
    // The target and its people again, now.
    let id = sp.id.clone();
    let refresh = Callback::new(move |()| {
        let id = id.clone();
        spawn_local(async move {
            let fresh = api.provisioning(id).await;
            if scheduled.try_get_untracked().is_none() {
                return;
            }
            if let Ok(t) = fresh {
                target.try_set(t);
            }
            users.refetch();
        });
    });
    // While pushes wait (and can flow), the queue is asked again every couple of seconds.
    Effect::new(move |_| {
        let flowing = target.with(|t| {
            t.as_ref()
                .is_some_and(|t| t.enabled && t.paused_reason.is_none() && t.queue.pending > 0)
        });
        if !flowing || scheduled.get() {
            return;
        }
        scheduled.set(true);
        set_timeout(
            move || {
                // The page may have gone meanwhile.
                if scheduled.try_set(false).is_none() {
                    refresh.try_run(());
                }
            },
            REFRESH,
        );
    });
    view! {
        <Status sp=sp.clone() target=target refresh=refresh/>
        <SettingsForm sp=sp.clone() target=target/>
        <section class="panel" aria-labelledby="provisioning-people">
            <h2 id="provisioning-people">"People"</h2>
            <Loaded resource=users what="the people's provisioning states" let:p>
                <UserTable p=p sp_id=sp.id.clone() page=page refresh=refresh/>
            </Loaded>
        </section>
    }
}

/// Running, off or paused; the key's expiry; the queue; Test connection, Sync now, Remove.
#[component]
fn Status(sp: ServiceProvider, target: Target, refresh: Callback<()>) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let name = sp.name.clone();
    let atlassian = sp.preset == Preset::Atlassian;

    let test_result: RwSignal<Option<Result<ProvisioningTest, Failure>>> = RwSignal::new(None);
    let testing = RwSignal::new(false);
    let id = sp.id.clone();
    let test = move |_| {
        let id = id.clone();
        testing.set(true);
        test_result.set(None);
        spawn_local(async move {
            test_result.try_set(Some(api.test_provisioning(id).await));
            testing.try_set(false);
        });
    };

    let sync = FormState::new();
    let preview: RwSignal<Option<SyncPreview>> = RwSignal::new(None);
    // How many pushes the last sync queued: the progress counts down from it.
    let queued: RwSignal<Option<u64>> = RwSignal::new(None);
    let id = sp.id.clone();
    let ask_preview = move |_| {
        queued.set(None);
        sync.run(api.sync_preview(id.clone()), move |p| preview.set(Some(p)));
    };
    let (id, sync_name) = (sp.id.clone(), sp.name.clone());
    let start_sync = Callback::new(move |()| {
        let name = sync_name.clone();
        sync.run(api.sync_provisioning(id.clone()), move |r| {
            preview.set(None);
            queued.set(Some(r.queued));
            notices.say(format!("Queued {} for {name}.", people(r.queued)));
            refresh.run(());
        });
    });

    let (id, remove_name) = (sp.id.clone(), sp.name.clone());
    let remove_failure = RwSignal::new(None::<Failure>);
    let remove = Callback::new(move |()| {
        let (id, name) = (id.clone(), remove_name.clone());
        spawn_local(async move {
            match api.delete_provisioning(id).await {
                Ok(()) => {
                    notices.say(format!("Provisioning to {name} removed."));
                    target.try_set(None);
                }
                Err(f) => {
                    remove_failure.try_set(Some(f));
                }
            }
        });
    });

    let state_name = name.clone();
    let expiry_name = name.clone();
    let preview_name = name.clone();
    view! {
        <section class="panel" id="provisioning-status" aria-labelledby="provisioning-status-title">
            <div class="panel-head">
                <h2 id="provisioning-status-title">"Status"</h2>
                <div class="card-actions">
                    <button type="button" class="button secondary test-connection" on:click=test disabled=move || testing.get()>
                        {move || if testing.get() { "Testing…" } else { "Test connection" }}
                    </button>
                    <button type="button" id="sync-now" class="button secondary" on:click=ask_preview disabled=move || sync.busy.get()>"Sync now"</button>
                    <Confirm label="Remove".into() title=format!("Remove provisioning to {name}?")
                        body=format!("Rosetta stops creating and deactivating accounts in {name}, and deletes the API key and the queue. Accounts already in {name} stay as they are.")
                        confirm="Remove provisioning" on_confirm=remove/>
                </div>
            </div>
            {move || target.get().map(|t| view! {
                <StateLine t=t.clone() name=state_name.clone()/>
                <KeyExpiry t=t.clone() name=expiry_name.clone() atlassian=atlassian/>
                <Queue t=t/>
            })}
            {move || remove_failure.get().map(|f| view! { <p class="notice error" role="alert">{f.message()}</p> })}
            {move || test_result.get().map(|r| match r {
                Ok(t) => view! { <TestResult t=t/> }.into_any(),
                Err(f) => view! { <p class="notice error" role="alert">{f.message()}</p> }.into_any(),
            })}
            {move || preview.get().map(|p| view! {
                <SyncPreviewBox p=p name=preview_name.clone() busy=sync.busy.into()
                    on_start=start_sync on_cancel=Callback::new(move |()| preview.set(None))/>
            })}
            {move || queued.get().map(|q| {
                let pending = target.with(|t| t.as_ref().map_or(0, |t| t.queue.pending));
                view! { <SyncProgress queued=q pending=pending/> }
            })}
            <FormStatus form=sync/>
        </section>
    }
}

/// "running", "off" or "paused" (with why, and what to do), as a line.
#[component]
fn StateLine(t: ProvisioningTarget, name: String) -> impl IntoView {
    if let Some(reason) = t.paused_reason.clone() {
        let since = t.paused_at.as_deref().map(short_time).unwrap_or_default();
        return view! {
            <div id="provisioning-state" data-state="paused" class="notice warning" role="alert">
                <p><span class="badge warn">"paused"</span> <strong>{format!(" Nothing reaches {name} since {since}.")}</strong></p>
                <p>{format!("{name} said: {reason}")}</p>
                <p>"Paste a new API key under " <a href="#provisioning-settings">"Settings"</a> " to resume; waiting changes are sent then."</p>
            </div>
        }
        .into_any();
    }
    if !t.enabled {
        return view! {
            <p id="provisioning-state" data-state="off"><span class="badge muted">"off"</span>
                {format!(" Switched off: nothing is sent to {name}. Changes wait until it is on again.")}</p>
        }
        .into_any();
    }
    view! {
        <p id="provisioning-state" data-state="running"><span class="badge good">"running"</span>
            {format!(" Rosetta sends each person's changes to {name} as they happen.")}</p>
    }
    .into_any()
}

/// How long the API key has left: a warning from 30 days before, red once expired.
#[component]
fn KeyExpiry(t: ProvisioningTarget, name: String, atlassian: bool) -> impl IntoView {
    let (Some(date), Some(days)) = (t.key_expires_on, t.key_expires_in_days) else {
        let text = if atlassian {
            "No expiry date given for the API key. Atlassian keys expire after one year: add the date under Settings to be warned here."
        } else {
            "No expiry date given for the API key."
        };
        return view! { <p class="key-expiry muted" data-expiry="unknown">{text}</p> }.into_any();
    };
    if days < 0 {
        let ago = -days;
        return view! {
            <p class="key-expiry notice error" data-expiry="expired" role="alert">
                <strong>{format!("The API key expired on {date} ({ago} {} ago).", plural(ago, "day"))}</strong>
                {format!(" {name} refuses it: create a new key there and paste it under Settings.")}
            </p>
        }
        .into_any();
    }
    if days <= EXPIRY_WARNING_DAYS {
        let when = if days == 0 {
            "today".to_owned()
        } else {
            format!("in {days} {}, on {date}", plural(days, "day"))
        };
        return view! {
            <p class="key-expiry notice warning" data-expiry="soon">
                <strong>{format!("The API key expires {when}.")}</strong>
                {format!(" Create a new key in {name} and paste it under Settings before then; {name} sends no warning.")}
            </p>
        }
        .into_any();
    }
    view! {
        <p class="key-expiry" data-expiry="ok">{format!("The API key expires on {date}, in {days} days.")}</p>
    }
    .into_any()
}

/// The queue, counted.
#[component]
fn Queue(t: ProvisioningTarget) -> impl IntoView {
    let q = t.queue;
    let oldest = q.oldest_pending_seconds.map(age).unwrap_or_else(|| "—".into());
    view! {
        <dl class="stats" id="provisioning-queue">
            <div><dt>"Waiting"</dt><dd id="queue-pending">{q.pending}</dd></div>
            <div><dt>"Retrying"</dt><dd>{q.retrying}</dd></div>
            <div><dt>"Synced"</dt><dd id="queue-synced">{q.synced}</dd></div>
            <div><dt>"Failed"</dt><dd id="queue-failed">{q.failed}</dd></div>
            <div><dt>"Oldest waiting"</dt><dd>{oldest}</dd></div>
        </dl>
    }
}

fn step_name(step: ProvisioningStep) -> &'static str {
    match step {
        ProvisioningStep::Network => "Network",
        ProvisioningStep::Key => "API key",
        ProvisioningStep::Permission => "Permissions",
        ProvisioningStep::Scim => "SCIM service",
        ProvisioningStep::Ok => "All checks passed",
    }
}

/// The step as the API names it (for tests and styles).
fn step_code(step: ProvisioningStep) -> &'static str {
    match step {
        ProvisioningStep::Network => "network",
        ProvisioningStep::Key => "key",
        ProvisioningStep::Permission => "permission",
        ProvisioningStep::Scim => "scim",
        ProvisioningStep::Ok => "ok",
    }
}

/// What to do when the test stopped at `step`.
fn next_step(step: ProvisioningStep) -> Option<&'static str> {
    match step {
        ProvisioningStep::Network => Some("Check the URL: Rosetta could not reach it."),
        ProvisioningStep::Key => Some("Create a new API key and paste it under Settings."),
        ProvisioningStep::Permission => Some("The key may not manage users: create one that may."),
        ProvisioningStep::Scim => Some("Something answers at that address, but not a SCIM service: check the URL."),
        ProvisioningStep::Ok => None,
    }
}

#[component]
fn TestResult(t: ProvisioningTest) -> impl IntoView {
    view! {
        <div id="provisioning-test" class="test-result" class:ok=t.ok data-step=step_code(t.step) aria-live="polite">
            <p class="test-summary">{if t.ok { "Connection works." } else { "The connection test failed." }}</p>
            <p><strong>{step_name(t.step)}</strong> ": " {t.message}</p>
            {next_step(t.step).map(|n| view! { <p>{n}</p> })}
        </div>
    }
}

/// What a sync would do, before it is started.
#[component]
fn SyncPreviewBox(
    p: SyncPreview,
    name: String,
    busy: Signal<bool>,
    on_start: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let total = p.create + p.update + p.deactivate;
    let listed = p.items.len();
    let more = total.saturating_sub(PREVIEW_NAMES.min(listed) as u64);
    let summary = format!(
        "Sync will create {}, update {} and deactivate {} in {name}.",
        p.create, p.update, p.deactivate
    );
    view! {
        <div id="sync-preview" class="sync-preview" aria-live="polite">
            {if total == 0 {
                view! {
                    <p><strong>"Nothing to sync."</strong>{format!(" {name} already holds everyone as Rosetta does.")}</p>
                    <div class="form-actions">
                        <button type="button" class="button secondary" on:click=move |_| on_cancel.run(())>"Close"</button>
                    </div>
                }.into_any()
            } else {
                view! {
                    <p><strong>{summary}</strong></p>
                    <ul class="preview-list">
                        {p.items.into_iter().take(PREVIEW_NAMES).map(|i| view! {
                            <li>{i.email} " " <span class="badge">{i.action}</span></li>
                        }).collect_view()}
                    </ul>
                    {(more > 0).then(|| view! { <p class="muted small">{format!("…and {more} more.")}</p> })}
                    <div class="form-actions">
                        <button type="button" id="start-sync" class="button primary" disabled=move || busy.get()
                            on:click=move |_| on_start.run(())>"Start the sync"</button>
                        <button type="button" class="button secondary" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                    </div>
                }.into_any()
            }}
        </div>
    }
}

/// How far the last sync has got, from the queue.
#[component]
fn SyncProgress(queued: u64, pending: u64) -> impl IntoView {
    let done = queued.saturating_sub(pending.min(queued));
    let percent = (done * 100).checked_div(queued).unwrap_or(100);
    view! {
        <div id="sync-progress" class="sync-progress" role="status" data-pending=pending.to_string()>
            {if pending == 0 {
                view! { <p><strong>"Sync finished."</strong> " Failures, if any, are listed under People."</p> }.into_any()
            } else {
                view! {
                    <p>{format!("Syncing: {pending} {} waiting.", plural(pending as i64, "push"))}</p>
                    <div class="meter" role="progressbar" aria-label="Sync progress" aria-valuemin="0"
                        aria-valuemax=queued.to_string() aria-valuenow=done.to_string()>
                        <span style=format!("width: {percent}%")></span>
                    </div>
                }.into_any()
            }}
        </div>
    }
}

/// Sets up the target, or changes it: the directory, the key (write-only), its expiry, on/off.
#[component]
fn SettingsForm(sp: ServiceProvider, target: Target) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let form = FormState::new();
    let existing = target.get_untracked();
    let exists = existing.is_some();
    let atlassian = sp.preset == Preset::Atlassian;
    let base = existing.as_ref().map(|t| t.base_url.clone()).unwrap_or_default();
    let directory = base.strip_prefix(ATLASSIAN_SCIM).map(str::to_owned);
    // Atlassian's directories are given by their ID unless the URL is another one.
    let by_url = RwSignal::new(!atlassian || (exists && directory.is_none()));
    let directory_id = RwSignal::new(directory.unwrap_or_default());
    let url = RwSignal::new(base);
    let key = RwSignal::new(String::new());
    let expires = RwSignal::new(
        existing
            .as_ref()
            .and_then(|t| t.key_expires_on.clone())
            .unwrap_or_default(),
    );
    let enabled = RwSignal::new(existing.as_ref().is_none_or(|t| t.enabled));
    let directory_problem = RwSignal::new(None::<String>);
    let directory_error = Signal::derive(move || directory_problem.get().or_else(|| form.field("base_url").get()));
    let id = sp.id.clone();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        directory_problem.set(None);
        let base_url = if by_url.get_untracked() {
            url.get_untracked().trim().to_owned()
        } else {
            let typed = directory_id.get_untracked();
            let typed = typed.trim();
            // A pasted directory base URL is taken as well.
            let id = typed
                .strip_prefix(ATLASSIAN_SCIM)
                .unwrap_or(typed)
                .trim_end_matches('/');
            if id.is_empty() || id.contains(['/', '?', '#', ' ']) {
                directory_problem.set(Some(
                    "Paste the directory ID, the last part of the directory base URL Atlassian shows.".into(),
                ));
                return;
            }
            format!("{ATLASSIAN_SCIM}{id}")
        };
        let typed_key = key.get_untracked();
        let expiry = expires.get_untracked();
        let body = PutProvisioningRequest {
            base_url,
            api_key: (!typed_key.trim().is_empty()).then(|| typed_key.trim().to_owned()),
            key_expires_on: (!expiry.trim().is_empty()).then(|| expiry.trim().to_owned()),
            enabled: enabled.get_untracked(),
        };
        form.run(api.put_provisioning(id.clone(), body), move |t| {
            key.set(String::new());
            let message = if exists {
                "Saved."
            } else {
                "Provisioning is set up. Run Test connection to check the key."
            };
            form.done.set(Some(message.into()));
            notices.say(message);
            target.set(Some(t));
        });
    };
    let name = sp.name.clone();
    view! {
        <section class="panel" id="provisioning-settings" aria-labelledby="provisioning-settings-title">
            <h2 id="provisioning-settings-title">{if exists { "Settings" } else { "Set up provisioning" }}</h2>
            {(!exists).then(|| view! {
                <p>{format!("When someone logs in through Rosetta, Rosetta creates or updates their account in {name}; when they are blocked or leave, it deactivates it. ")}
                   {if atlassian {
                       "In Atlassian Administration, set up user provisioning for your identity provider: Atlassian shows a directory base URL, which ends with the directory ID, and an API key, once."
                   } else {
                       "You need the application's SCIM base URL and an API key from it."
                   }}</p>
            })}
            <form on:submit=submit novalidate class="narrow">
                {move || if by_url.get() {
                    view! {
                        <Field label="SCIM base URL" name="base_url" kind="url" value=url error=form.field("base_url")
                            hint="The address the application's /Users endpoint is under."
                            placeholder="https://api.atlassian.com/scim/directory/…"/>
                        {atlassian.then(|| view! {
                            <p class="muted small field-switch"><button type="button" class="link" on:click=move |_| by_url.set(false)>
                                "Give the directory ID instead"</button></p>
                        })}
                    }.into_any()
                } else {
                    view! {
                        <Field label="Directory ID" name="directory_id" value=directory_id error=directory_error
                            hint="The last part of the directory base URL Atlassian shows."
                            placeholder="2fb21891-7bee-4c2d-a61a-ade3834c8b2b"/>
                        <p class="muted small field-switch">"Rosetta will use "
                            <code>{move || format!("{ATLASSIAN_SCIM}{}", directory_id.get().trim())}</code> ". "
                            <button type="button" class="link" on:click=move |_| by_url.set(true)>"Use another URL"</button></p>
                    }.into_any()
                }}
                <Field label="API key" name="api_key" kind="password" autocomplete="new-password" value=key error=form.field("api_key")
                    hint=if exists {
                        "Stored; paste a new one to replace it."
                    } else {
                        "Shown once when you create it. Rosetta stores it encrypted and never shows it again."
                    }/>
                <Field label="API key expiry date" name="key_expires_on" kind="date" value=expires error=form.field("key_expires_on")
                    hint=if atlassian {
                        "Atlassian keys expire after one year, and Atlassian sends no warning. Rosetta warns you here 30 days before."
                    } else {
                        "If the key expires. Rosetta warns you here 30 days before."
                    }/>
                <CheckBox id="provisioning-enabled" label=format!("Send changes to {}", sp.name) checked=enabled
                    help="Off: nothing is sent; changes wait until it is on again."/>
                <FormStatus form=form/>
                <div class="form-actions">
                    <button type="submit" id="save-provisioning" class="button primary" disabled=move || form.busy.get()>
                        {if exists { "Save" } else { "Set up provisioning" }}
                    </button>
                </div>
            </form>
        </section>
    }
}

/// A state as a badge: class and words.
pub fn state_badge(state: ProvisioningState, active_at_target: Option<bool>) -> (&'static str, &'static str) {
    match state {
        ProvisioningState::Synced if active_at_target == Some(false) => ("badge muted", "deactivated"),
        ProvisioningState::Synced => ("badge good", "synced"),
        ProvisioningState::Pending => ("badge info", "pending"),
        ProvisioningState::Failed => ("badge bad", "failed"),
        ProvisioningState::NotPushed => ("badge muted", "not pushed"),
    }
}

#[component]
fn UserTable(p: ProvisioningUserPage, sp_id: String, page: RwSignal<u64>, refresh: Callback<()>) -> impl IntoView {
    if p.items.is_empty() {
        return view! {
            <Empty title="Nobody to send yet">
                <p>"People appear here after their first login through Rosetta."</p>
            </Empty>
        }
        .into_any();
    }
    let set_page = Callback::new(move |n| page.set(n));
    view! {
        <div class="table-wrap">
            <table id="provisioning-users">
                <thead><tr>
                    <th scope="col">"Person"</th><th scope="col">"State"</th><th scope="col">"Failed attempts"</th>
                    <th scope="col">"Last sent"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {p.items.into_iter().map(|u| view! { <UserRow u=u sp_id=sp_id.clone() refresh=refresh/> }).collect_view()}
                </tbody>
            </table>
        </div>
        <Pager total=p.total page=p.page per_page=p.per_page set_page=set_page/>
    }
    .into_any()
}

#[component]
fn UserRow(u: ProvisioningUser, sp_id: String, refresh: Callback<()>) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let busy = RwSignal::new(false);
    let (user_id, email) = (u.user_id.clone(), u.email.clone());
    let retry = move |_| {
        let (sp_id, user_id, email) = (sp_id.clone(), user_id.clone(), email.clone());
        busy.set(true);
        spawn_local(async move {
            match api.retry_provisioning(sp_id, user_id).await {
                Ok(_) => {
                    notices.say(format!("{email} queued to be sent again."));
                    refresh.try_run(());
                }
                Err(f) => notices.say(f.message()),
            }
            busy.try_set(false);
        });
    };
    let (class, words) = state_badge(u.state, u.active_at_target);
    let label = match u.state {
        ProvisioningState::Failed | ProvisioningState::Pending => "Retry",
        ProvisioningState::Synced | ProvisioningState::NotPushed => "Send now",
    };
    view! {
        <tr class:failure=u.state == ProvisioningState::Failed data-state=words>
            <td>{u.email.clone()}</td>
            <td>
                <span class=class>{words}</span>
                {u.reason.clone().map(|r| view! { <span class="sub reason">{r}</span> })}
            </td>
            <td>{u.attempts}</td>
            <td class="nowrap">{u.last_pushed_at.as_deref().map(short_time).unwrap_or_else(|| "never".into())}</td>
            <td class="actions">
                <button type="button" class="button secondary small retry-push" on:click=retry disabled=move || busy.get()
                    aria-label=format!("{label}: {}", u.email)>{label}</button>
            </td>
        </tr>
    }
}

/// The provisioning line of an application's card: off, or its state, and the way to its page.
#[component]
pub fn Summary(sp_id: String) -> impl IntoView {
    let api = use_api();
    let link = href(&sp_id);
    let target = LocalResource::new(move || api.provisioning(sp_id.clone()));
    view! {
        <div class="provisioning-summary">
            <Loaded resource=target what="the provisioning state" let:t>
                {
                    let link = link.clone();
                    match t {
                        None => view! {
                            <p class="sub">"User provisioning is off: Rosetta does not create or deactivate accounts here."</p>
                            <a class="button secondary small set-up-provisioning" href=link>"Set up provisioning"</a>
                        }.into_any(),
                        Some(t) => {
                            let (class, words) = if t.paused_reason.is_some() {
                                ("badge warn", "paused")
                            } else if !t.enabled {
                                ("badge muted", "off")
                            } else {
                                ("badge good", "running")
                            };
                            let expiry = t.key_expires_in_days.and_then(|d| {
                                if d < 0 {
                                    Some(("badge bad", "key expired".to_owned()))
                                } else if d <= EXPIRY_WARNING_DAYS {
                                    Some(("badge warn", format!("key expires in {d} {}", plural(d, "day"))))
                                } else {
                                    None
                                }
                            });
                            view! {
                                <p class="sub">"User provisioning " <span class=class>{words}</span>
                                    {expiry.map(|(c, w)| view! { " " <span class=c>{w}</span> })}
                                    {format!(" · {} synced, {} waiting, {} failed", t.queue.synced, t.queue.pending, t.queue.failed)}</p>
                                <a class="button secondary small manage-provisioning" href=link>"Manage provisioning"</a>
                            }.into_any()
                        }
                    }
                }
            </Loaded>
        </div>
    }
}

/// What needs an admin at one target.
#[derive(Clone)]
struct Alert {
    sp_id: String,
    sp_name: String,
    /// Whether nothing reaches the application (paused, expired key).
    stopped: bool,
    text: String,
}

fn alert_of(sp: &ServiceProvider, t: &ProvisioningTarget) -> Option<Alert> {
    if !t.enabled {
        return None;
    }
    let name = &sp.name;
    let (stopped, text) = if let Some(reason) = &t.paused_reason {
        (
            true,
            format!("Provisioning to {name} is paused: {reason} Paste a new API key to resume."),
        )
    } else {
        match (t.key_expires_on.as_deref(), t.key_expires_in_days) {
            (Some(date), Some(d)) if d < 0 => (
                true,
                format!("The API key for provisioning to {name} expired on {date}. Paste a new one."),
            ),
            (Some(date), Some(d)) if d <= EXPIRY_WARNING_DAYS => (
                false,
                format!(
                    "The API key for provisioning to {name} expires {}. Create a new key in {name} and paste it before then.",
                    if d == 0 {
                        "today".to_owned()
                    } else {
                        format!("in {d} {}, on {date}", plural(d, "day"))
                    }
                ),
            ),
            _ => return None,
        }
    };
    Some(Alert {
        sp_id: sp.id.clone(),
        sp_name: sp.name.clone(),
        stopped,
        text,
    })
}

/// Banners for paused targets and API keys that expire within 30 days (or have): each links
/// to its provisioning page. Says nothing when it cannot tell (the page shows its own
/// failures).
#[component]
pub fn Alerts() -> impl IntoView {
    let api = use_api();
    let alerts = LocalResource::new(move || async move {
        let mut alerts = Vec::new();
        for sp in api.service_providers().await? {
            if let Some(t) = api.provisioning(sp.id.clone()).await? {
                alerts.extend(alert_of(&sp, &t));
            }
        }
        Ok::<_, Failure>(alerts)
    });
    move || {
        alerts.get().and_then(Result::ok).map(|list| {
            list.into_iter()
                .map(|a| {
                    view! {
                        <div class=if a.stopped { "banner danger provisioning-alert" } else { "banner warning provisioning-alert" } role="alert">
                            {a.text} " "
                            <a href=href(&a.sp_id)>{format!("Open provisioning for {}", a.sp_name)}</a>
                        </div>
                    }
                })
                .collect_view()
        })
    }
}

/// "1 person", "3 people".
fn people(n: u64) -> String {
    if n == 1 {
        "1 person".into()
    } else {
        format!("{n} people")
    }
}

/// `word` or `word`s after `n` ("push" takes "es").
fn plural(n: i64, word: &str) -> String {
    match (n, word.ends_with('h')) {
        (1, _) => word.to_owned(),
        (_, true) => format!("{word}es"),
        (_, false) => format!("{word}s"),
    }
}

/// "45 seconds", "12 minutes", "3 hours", "2 days".
fn age(seconds: u64) -> String {
    let (n, unit) = match seconds {
        0..60 => (seconds, "second"),
        60..3600 => (seconds / 60, "minute"),
        3600..86_400 => (seconds / 3600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    format!("{n} {}", plural(n as i64, unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_the_largest_whole_unit() {
        assert_eq!(age(1), "1 second");
        assert_eq!(age(59), "59 seconds");
        assert_eq!(age(60), "1 minute");
        assert_eq!(age(7200), "2 hours");
        assert_eq!(age(86_400 * 3 + 5), "3 days");
    }

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "push"), "push");
        assert_eq!(plural(2, "push"), "pushes");
        assert_eq!(plural(0, "day"), "days");
        assert_eq!(people(1), "1 person");
        assert_eq!(people(4), "4 people");
    }
}
