//! The Rosetta admin console: a Leptos app rendered client-side, a client of the admin API
//! only. `app` holds the routes and the signed-in layout, `pages` one module per page,
//! `api` one typed function per endpoint, `session` the session in context, `ui` the shared
//! components.

mod api;
mod app;
mod pages;
mod session;
mod ui;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
