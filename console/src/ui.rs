//! The console's building blocks: forms whose fields carry the API's errors, loads that show
//! a failure with a Retry, confirmations before destructive actions, notices, pagers, empty
//! states.

use std::future::Future;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use rosetta_api::ErrorCode;

use crate::api::Failure;

/// What every form shares: busy while a call runs, the API's failure, a success line.
#[derive(Clone, Copy)]
pub struct FormState {
    pub busy: RwSignal<bool>,
    pub failure: RwSignal<Option<Failure>>,
    pub done: RwSignal<Option<String>>,
}

impl FormState {
    pub fn new() -> Self {
        Self {
            busy: RwSignal::new(false),
            failure: RwSignal::new(None),
            done: RwSignal::new(None),
        }
    }

    /// The API's message for field `name` (as named in the request body).
    pub fn field(self, name: &'static str) -> Signal<Option<String>> {
        Signal::derive(move || self.failure.with(|f| f.as_ref().and_then(|f| f.field(name))))
    }

    /// Runs `call`; its result goes to `ok`, its failure into the form.
    pub fn run<T, F, K>(self, call: F, ok: K)
    where
        T: 'static,
        F: Future<Output = Result<T, Failure>> + 'static,
        K: FnOnce(T) + 'static,
    {
        self.busy.set(true);
        self.failure.set(None);
        self.done.set(None);
        spawn_local(async move {
            match call.await {
                Ok(value) => ok(value),
                Err(f) => self.failure.set(Some(f)),
            }
            self.busy.set(false);
        });
    }
}

/// A labelled input with its hint and its error from the API next to it.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    value: RwSignal<String>,
    error: Signal<Option<String>>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] placeholder: Option<&'static str>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = {
        let (error_id, hint_id) = (error_id.clone(), hint_id.clone());
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if error.with(Option::is_some) {
                ids.push(error_id.clone());
            }
            ids.join(" ")
        }
    };
    view! {
        <div class="field" class:invalid=move || error.with(Option::is_some)>
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                placeholder=placeholder
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                aria-describedby=described
            />
            {move || error.get().map(|e| view! { <p class="field-error" id=error_id.clone()>{e}</p> })}
        </div>
    }
}

/// A labelled input whose ID is made at run time (several alike on a page: one per rule or
/// per card), with its hint and its error from the API next to it.
#[component]
pub fn FieldAt(
    #[prop(into)] id: String,
    #[prop(into)] label: String,
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional)] placeholder: Option<&'static str>,
    /// Classes of the input (for styles and tests).
    #[prop(optional)]
    class: &'static str,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let has_hint = hint.is_some();
    let described = {
        let (error_id, hint_id) = (error_id.clone(), hint_id.clone());
        move || {
            let mut ids = Vec::new();
            if has_hint {
                ids.push(hint_id.clone());
            }
            if error.with(Option::is_some) {
                ids.push(error_id.clone());
            }
            ids.join(" ")
        }
    };
    view! {
        <div class="field" class:invalid=move || error.with(Option::is_some)>
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            <input
                id=id
                class=class
                type="text"
                autocomplete="off"
                spellcheck="false"
                placeholder=placeholder
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                aria-describedby=described
            />
            {move || error.get().map(|e| view! { <p class="field-error" id=error_id.clone()>{e}</p> })}
        </div>
    }
}

/// A labelled multi-line input with its error next to it.
#[component]
pub fn TextArea(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    error: Signal<Option<String>>,
    #[prop(default = 6)] rows: u32,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let described = error_id.clone();
    view! {
        <div class="field" class:invalid=move || error.with(Option::is_some)>
            <label for=id.clone()>{label}</label>
            <textarea
                id=id
                name=name
                rows=rows
                spellcheck="false"
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                aria-describedby=described
            ></textarea>
            {move || error.get().map(|e| view! { <p class="field-error" id=error_id.clone()>{e}</p> })}
        </div>
    }
}

/// A checkbox with its label and a line saying what it does.
#[component]
pub fn CheckBox(
    #[prop(into)] id: String,
    #[prop(into)] label: String,
    #[prop(into)] help: String,
    checked: RwSignal<bool>,
    #[prop(optional, into)] disabled: Signal<bool>,
) -> impl IntoView {
    let help_id = format!("{id}-help");
    view! {
        <div class="choice checkbox">
            <input type="checkbox" id=id.clone() aria-describedby=help_id.clone()
                prop:checked=move || checked.get() disabled=move || disabled.get()
                on:change=move |ev| checked.set(event_target_checked(&ev))/>
            <label for=id><strong>{label}</strong><span id=help_id class="choice-help">{help}</span></label>
        </div>
    }
}

/// The form's own line: its success, or a failure no field explains.
#[component]
pub fn FormStatus(form: FormState) -> impl IntoView {
    view! {
        {move || form.done.get().map(|m| view! { <p class="notice ok" role="status">{m}</p> })}
        {move || form.failure.get().map(|f| view! { <p class="notice error" role="alert">{f.message()}</p> })}
    }
}

/// Short-lived notices ("Saved.") shown in one polite live region.
#[derive(Clone, Copy)]
pub struct Notices {
    items: RwSignal<Vec<(u32, String)>>,
    next: RwSignal<u32>,
}

impl Notices {
    pub fn provide() -> Self {
        let notices = Self {
            items: RwSignal::new(Vec::new()),
            next: RwSignal::new(0),
        };
        provide_context(notices);
        notices
    }

    /// Shows `message` for a few seconds.
    pub fn say(self, message: impl Into<String>) {
        let id = self.next.get_untracked();
        self.next.set(id + 1);
        self.items.update(|items| items.push((id, message.into())));
        set_timeout(
            move || {
                self.items.try_update(|items| items.retain(|(i, _)| *i != id));
            },
            Duration::from_secs(8),
        );
    }

    fn dismiss(self, id: u32) {
        self.items.update(|items| items.retain(|(i, _)| *i != id));
    }
}

/// The notices in context.
pub fn use_notices() -> Notices {
    expect_context::<Notices>()
}

/// Where notices appear.
#[component]
pub fn NoticeArea() -> impl IntoView {
    let notices = use_notices();
    view! {
        <div class="toasts" role="status" aria-live="polite">
            <For each=move || notices.items.get() key=|(id, _)| *id let:item>
                <div class="toast">
                    <span class="toast-icon" aria-hidden="true">"✓"</span>
                    <span>{item.1.clone()}</span>
                    <button type="button" class="icon" aria-label="Dismiss" on:click=move |_| notices.dismiss(item.0)>"×"</button>
                </div>
            </For>
        </div>
    }
}

/// A placeholder while data loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! {
        <div class="loading" aria-busy="true" role="status">
            <span class="spinner" aria-hidden="true"></span>
            "Loading…"
        </div>
    }
}

/// Data from `resource`, shown by `children` once loaded; while it reloads the previous view
/// stays; a failure is said, with a Retry that loads it again (never an empty list).
#[component]
pub fn Loaded<T, F, V>(
    resource: LocalResource<Result<T, Failure>>,
    /// What failed to load, for the message ("the end users").
    what: &'static str,
    children: F,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Transition fallback=|| view! { <Loading/> }>
            <ErrorBoundary fallback=move |errors| view! { <LoadError errors what retry=move || resource.refetch()/> }>
                {
                    let children = children.clone();
                    move || {
                        let children = children.clone();
                        Suspend::new(async move { resource.await.map(children) })
                    }
                }
            </ErrorBoundary>
        </Transition>
    }
}

/// The first failure among `errors`, as the API's own when it is one.
fn first_failure(errors: &leptos::error::Errors) -> Option<Failure> {
    errors.iter().next().map(|(_, e)| {
        e.downcast_ref::<Failure>()
            .cloned()
            .unwrap_or_else(|| Failure::Network(e.to_string()))
    })
}

/// A failed load: what failed, why, what to do, and a Retry.
#[component]
pub fn LoadError<R>(errors: ArcRwSignal<leptos::error::Errors>, what: &'static str, retry: R) -> impl IntoView
where
    R: Fn() + Send + Sync + 'static,
{
    let failure = move || errors.with(first_failure);
    let auth = use_context::<crate::session::Auth>();
    view! {
        <div class="load-error" role="alert">
            <h2>{format!("Could not load {what}")}</h2>
            {move || failure().map(|f| {
                let next = match f.code() {
                    Some(ErrorCode::MfaEnrolmentRequired) => view! {
                        <p>"Set up two-step sign-in for your account first: " <a href="/account">"Your account"</a></p>
                    }.into_any(),
                    Some(ErrorCode::Unauthenticated) => view! {
                        <p>"Your session has ended. "
                            <button type="button" class="link" on:click=move |_| if let Some(a) = auth { a.clear() }>"Sign in again"</button></p>
                    }.into_any(),
                    Some(ErrorCode::OwnerRequired | ErrorCode::Forbidden) => view! {
                        <p>"Ask an owner of this organisation."</p>
                    }.into_any(),
                    _ => ().into_any(),
                };
                view! { <p class="load-error-message">{f.message()}</p> {next} }
            })}
            <button type="button" class="button secondary retry" on:click=move |_| retry()>"Retry"</button>
        </div>
    }
}

/// A button that asks before doing something that cannot be undone: a modal dialog says
/// what will happen; only its own button goes ahead.
#[component]
pub fn Confirm(
    /// The button's text.
    label: String,
    /// The question's title.
    title: String,
    /// What will happen.
    body: String,
    /// The dialog's go-ahead button.
    confirm: &'static str,
    /// Runs once confirmed.
    on_confirm: Callback<()>,
    /// Classes of the opening button.
    #[prop(default = "button danger-ghost small")]
    class: &'static str,
    /// Whether the action is destructive (red go-ahead button).
    #[prop(default = true)]
    danger: bool,
    #[prop(optional, into)] disabled: Signal<bool>,
) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    let title_id = format!("confirm-{}", next_id());
    let open = move |_| {
        if let Some(d) = dialog.get() {
            // The browser refuses only if already open; either way it is showing.
            let _ = d.show_modal();
        }
    };
    let close = move || {
        if let Some(d) = dialog.get() {
            d.close();
        }
    };
    view! {
        <button type="button" class=class on:click=open disabled=move || disabled.get()>{label}</button>
        <dialog node_ref=dialog class="confirm-dialog" aria-labelledby=title_id.clone()>
            <h2 id=title_id.clone()>{title}</h2>
            <p>{body}</p>
            <div class="dialog-actions">
                <button type="button" class="button secondary cancel" on:click=move |_| close()>"Cancel"</button>
                <button type="button" class=if danger { "button danger confirm" } else { "button primary confirm" }
                    on:click=move |_| { close(); on_confirm.run(()); }>{confirm}</button>
            </div>
        </dialog>
    }
}

fn next_id() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// "21–40 of 95" and the buttons to the neighbouring pages.
#[component]
pub fn Pager(total: u64, page: u64, per_page: u64, set_page: Callback<u64>) -> impl IntoView {
    let per_page = per_page.max(1);
    let pages = total.div_ceil(per_page).max(1);
    let first = if total == 0 { 0 } else { (page - 1) * per_page + 1 };
    let last = (page * per_page).min(total);
    view! {
        <nav class="pager" aria-label="Pages">
            <span class="pager-range">{format!("{first}–{last} of {total}")}</span>
            <button type="button" class="button secondary small pager-prev" disabled={page <= 1}
                on:click=move |_| set_page.run(page - 1)>"← Previous"</button>
            <span class="pager-page">{format!("Page {page} of {pages}")}</span>
            <button type="button" class="button secondary small pager-next" disabled={page >= pages}
                on:click=move |_| set_page.run(page + 1)>"Next →"</button>
        </nav>
    }
}

/// An empty list, saying what to do next.
#[component]
pub fn Empty(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="empty">
            <div class="empty-icon" aria-hidden="true"></div>
            <h3>{title}</h3>
            <div class="empty-body">{children()}</div>
        </div>
    }
}

/// A page's title, its one-line purpose, and its main actions.
#[component]
pub fn PageHeader(
    title: &'static str,
    #[prop(optional)] lead: Option<&'static str>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <header class="page-header">
            <div>
                <h1>{title}</h1>
                {lead.map(|l| view! { <p class="lead">{l}</p> })}
            </div>
            {children.map(|c| view! { <div class="page-actions">{c()}</div> })}
        </header>
    }
}

/// One value with a copy button.
#[component]
pub fn Copyable(label: &'static str, #[prop(into)] id: String, value: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let text = value.clone();
    let copy = move |_| {
        // The browser may refuse (no permission): the value stays selectable either way.
        let _ = window().navigator().clipboard().write_text(&text);
        copied.set(true);
    };
    view! {
        <div class="copyable">
            <dt>{label}</dt>
            <dd>
                <code id=id>{value}</code>
                <button type="button" class="button secondary small copy" on:click=copy aria-label=format!("Copy {label}")>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </dd>
        </div>
    }
}

/// `2026-11-29 12:18` from an RFC 3339 time (UTC, as stored).
pub fn short_time(rfc3339: &str) -> String {
    rfc3339.chars().take(16).collect::<String>().replace('T', " ") + " UTC"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_minutes_in_utc() {
        assert_eq!(
            short_time("2026-11-29T12:18:02.246525708+00:00"),
            "2026-11-29 12:18 UTC"
        );
    }
}
