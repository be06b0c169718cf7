//! The Rosetta admin console, rendered client-side. For now one page that says the
//! console is on its way; the console issue builds the real pages on the admin API.

use leptos::prelude::*;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

/// The root component.
#[component]
fn App() -> impl IntoView {
    view! {
        <main class="card">
            <div class="brand">"Rosetta single sign-on"</div>
            <h1>"Admin console"</h1>
            <p>
                "Rosetta is running. The self-service console for tenant admins is under construction; "
                "until it arrives, operators manage tenants with the "
                <code>"rosetta"</code>
                " command line (see "
                <code>"rosetta --help"</code>
                ")."
            </p>
            <p class="ref">"Console build " {env!("CARGO_PKG_VERSION")}</p>
        </main>
    }
}
