//! Test login, on the cards of applications and identity sources: a single-use link opened in
//! a new tab (the login happens there, never through an existing sign-in session) while this
//! tab follows its trace live in the login debugger (`logins`).

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;
use rosetta_api::TestLoginStart;
use wasm_bindgen::JsValue;

use super::logins;
use crate::api::Failure;
use crate::session::use_api;

/// What a Test login tries.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tested {
    /// A whole login to an application, which receives the assertion.
    Application,
    /// An identity source alone: to the provider and back, nothing sent to any application, no
    /// user recorded, no session opened.
    Source,
}

/// The live trace view of the Test login that `start` began.
fn live_href(start: &TestLoginStart) -> String {
    format!("{}?live=1", logins::trace_href(&start.trace_id))
}

/// Opens `url` in a new tab that cannot reach back into the console (the tab goes to the
/// identity provider, and the application); `false` when the browser refused to open one.
fn open_tab(url: &str) -> bool {
    // `window.open(url, "_blank", "noopener")` returns nothing even when it opens a tab, so a
    // blocked tab could not be told apart: open it, cut the link back, then send it on.
    let Ok(Some(tab)) = window().open_with_url_and_target("", "_blank") else {
        return false;
    };
    let _ = tab.set_opener(&JsValue::NULL);
    tab.location().set_href(url).is_ok()
}

/// The Test login button of the application or source `id` called `name`, with what it does;
/// when the browser blocks the new tab, the links to open it and to follow it by hand. The
/// button carries `data-sp` or `data-source` with the name (for tests).
#[component]
pub fn TestLogin(tested: Tested, id: String, name: String) -> impl IntoView {
    let api = use_api();
    let navigate = use_navigate();
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<Failure>);
    // A link the browser would not open in a tab by itself.
    let blocked = RwSignal::new(None::<TestLoginStart>);
    let start = move |_| {
        let (id, navigate) = (id.clone(), navigate.clone());
        busy.set(true);
        failure.set(None);
        blocked.set(None);
        spawn_local(async move {
            let started = match tested {
                Tested::Application => api.test_login(id).await,
                Tested::Source => api.test_source_login(id).await,
            };
            busy.set(false);
            match started {
                Ok(start) if open_tab(&start.url) => navigate(&live_href(&start), Default::default()),
                Ok(start) => blocked.set(Some(start)),
                Err(f) => failure.set(Some(f)),
            }
        });
    };
    let what = match tested {
        Tested::Application => format!("Opens a login to {name} in a new tab and follows it here, step by step."),
        Tested::Source => format!(
            "Opens a sign-in at {name} in a new tab and follows it here, step by step. \
             Nothing is sent to any application."
        ),
    };
    view! {
        <div class="test-login-row">
            <button type="button" class="button primary small test-login"
                data-sp=(tested == Tested::Application).then(|| name.clone())
                data-source=(tested == Tested::Source).then(|| name.clone())
                on:click=start disabled=move || busy.get()>"Test login"</button>
            <span class="muted small">{what}</span>
        </div>
        {move || failure.get().map(|f| view! { <p class="notice error" role="alert">{f.message()}</p> })}
        {move || blocked.get().map(|start| view! {
            <p class="notice warning test-login-blocked" role="status">
                "Your browser did not open a new tab. "
                <a href=start.url.clone() target="_blank" rel="noopener">"Open the test login"</a>
                ", then "
                <a href=live_href(&start)>"follow it here"</a> "."
            </p>
        })}
    }
}
