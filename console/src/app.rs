//! The routes, the signed-in layout (side navigation grouped by task, header with the
//! tenant switcher and the account menu) and the gate in front of it (sign-in, second
//! factor).

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{A, Outlet, ParentRoute, Route, Router, Routes};
use leptos_router::hooks::use_location;
use leptos_router::path;
use rosetta_api::Role;

use crate::pages::{
    account, applications, atlassian, audit, end_users, go_live, groups, keys, logins, mapping, members, overview,
    provisioning, public, security, sources,
};
use crate::session::{Auth, Stage, use_auth};
use crate::ui::{Loading, NoticeArea, Notices, use_notices};

/// The whole console.
#[component]
pub fn App() -> impl IntoView {
    Auth::provide();
    Notices::provide();
    view! {
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/signup") view=public::SignUp/>
                <Route path=path!("/verify-email") view=public::VerifyEmail/>
                <Route path=path!("/reset-password") view=public::ResetPassword/>
                <Route path=path!("/invitations/accept") view=public::AcceptInvitation/>
                <ParentRoute path=path!("") view=Gate>
                    <Route path=path!("") view=overview::Overview/>
                    <Route path=path!("/atlassian") view=atlassian::AtlassianWizard/>
                    <Route path=path!("/applications") view=applications::Applications/>
                    <Route path=path!("/applications/:id/provisioning") view=provisioning::Provisioning/>
                    <Route path=path!("/applications/:id/mapping") view=mapping::Attributes/>
                    <Route path=path!("/applications/:id/groups") view=groups::Groups/>
                    <Route path=path!("/applications/:id/go-live") view=go_live::GoLive/>
                    <Route path=path!("/sources") view=sources::Sources/>
                    <Route path=path!("/people") view=end_users::EndUsers/>
                    <Route path=path!("/members") view=members::Members/>
                    <Route path=path!("/keys") view=keys::Keys/>
                    <Route path=path!("/security") view=security::Security/>
                    <Route path=path!("/account") view=account::Account/>
                    <Route path=path!("/logins") view=logins::Logins/>
                    <Route path=path!("/logins/:id") view=logins::Trace/>
                    <Route path=path!("/audit") view=audit::Audit/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The frame of the pages a visitor sees: a centred card under the brand.
#[component]
pub fn PublicFrame(children: Children) -> impl IntoView {
    view! {
        <div class="public">
            <main class="auth-card" id="main">
                <a class="brand" href="/"><span class="logo" aria-hidden="true"></span>"Rosetta"</a>
                {children()}
            </main>
            <p class="public-foot">"Single sign-on for Atlassian Cloud, with the identity provider you already use."</p>
        </div>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    view! {
        <PublicFrame>
            <h1>"Page not found"</h1>
            <p>"There is no such page in the console."</p>
            <p><a class="button primary" href="/">"Go to the overview"</a></p>
        </PublicFrame>
    }
}

/// Sign-in (with the second factor when enrolled) in front of the signed-in pages.
#[component]
fn Gate() -> impl IntoView {
    let auth = use_auth();
    let stage = Memo::new(move |_| auth.stage());
    move || match stage.get() {
        Stage::Checking => view! { <div class="boot"><Loading/></div> }.into_any(),
        Stage::Unknown => view! {
            <PublicFrame>
                <div class="load-error" role="alert">
                    <h1>"Could not reach Rosetta"</h1>
                    <p>{move || auth.failure().map(|f| f.message())}</p>
                    <button type="button" class="button primary retry" on:click=move |_| auth.retry()>"Retry"</button>
                </div>
            </PublicFrame>
        }
        .into_any(),
        Stage::SignedOut => view! { <PublicFrame><public::SignIn/></PublicFrame> }.into_any(),
        Stage::SecondFactor => view! { <PublicFrame><public::SecondFactor/></PublicFrame> }.into_any(),
        Stage::SignedIn => view! { <Layout/> }.into_any(),
    }
}

/// A link of the side navigation (`aria-current="page"` on the page shown).
#[component]
fn NavLink(href: &'static str, label: &'static str, #[prop(optional)] exact: bool) -> impl IntoView {
    view! { <li><A href=href exact=exact>{label}</A></li> }
}

/// The signed-in console: header, side navigation, the page.
#[component]
fn Layout() -> impl IntoView {
    let auth = use_auth();
    let nav_open = RwSignal::new(false);
    // A page chosen on a phone closes the navigation; a new page starts at its top (the
    // page scrolls in `main`, not in the window the router scrolls).
    let location = use_location();
    Effect::new(move |_| {
        location.pathname.track();
        nav_open.set(false);
        if let Some(main) = document().get_element_by_id("main") {
            main.set_scroll_top(0);
        }
    });
    let enrolment_owed = move || auth.session().is_some_and(|s| s.mfa_enrolment_required);
    view! {
        <div class="app" class:nav-open=move || nav_open.get()>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <header class="topbar">
                <button type="button" class="nav-toggle" aria-controls="sidenav"
                    aria-expanded=move || if nav_open.get() { "true" } else { "false" }
                    on:click=move |_| nav_open.update(|o| *o = !*o)>
                    <span class="burger" aria-hidden="true"></span>
                    <span class="visually-hidden">"Menu"</span>
                </button>
                <a class="brand" href="/"><span class="logo" aria-hidden="true"></span>"Rosetta"</a>
                <TenantSwitcher/>
                <AccountMenu/>
            </header>
            <nav id="sidenav" class="sidenav" aria-label="Console">
                <p class="nav-group" id="nav-setup">"Set up"</p>
                <ul aria-labelledby="nav-setup">
                    <NavLink href="/" label="Overview" exact=true/>
                    <NavLink href="/atlassian" label="Atlassian"/>
                    <NavLink href="/applications" label="Applications"/>
                    <NavLink href="/sources" label="Identity providers"/>
                </ul>
                <p class="nav-group" id="nav-people">"People"</p>
                <ul aria-labelledby="nav-people">
                    <NavLink href="/people" label="End users"/>
                    <NavLink href="/members" label="Members & invitations"/>
                </ul>
                <p class="nav-group" id="nav-security">"Security"</p>
                <ul aria-labelledby="nav-security">
                    <NavLink href="/keys" label="Signing keys"/>
                    <NavLink href="/security" label="Security settings"/>
                    <NavLink href="/account" label="Your account"/>
                </ul>
                <p class="nav-group" id="nav-activity">"Activity"</p>
                <ul aria-labelledby="nav-activity">
                    <NavLink href="/logins" label="Logins"/>
                    <NavLink href="/audit" label="Audit log"/>
                </ul>
            </nav>
            <div class="scrim" aria-hidden="true" on:click=move |_| nav_open.set(false)></div>
            <main id="main" class="content" tabindex="-1">
                <Show when=enrolment_owed>
                    <div class="banner warning" role="alert">
                        <strong>"Two-step sign-in required. "</strong>
                        "This organisation requires it for admins: until you set it up, only "
                        <a href="/account">"your account"</a> " is available."
                    </div>
                </Show>
                <Outlet/>
            </main>
            <NoticeArea/>
        </div>
    }
}

/// The tenant being worked on; with several memberships, a switch to another.
#[component]
fn TenantSwitcher() -> impl IntoView {
    let auth = use_auth();
    let api = auth.client();
    let notices = use_notices();
    let switching = RwSignal::new(false);
    let memberships = move || {
        auth.session()
            .and_then(|s| s.account)
            .map(|a| a.memberships)
            .unwrap_or_default()
    };
    let current = move || auth.tenant().map(|t| t.id).unwrap_or_default();
    let switch = move |ev: leptos::ev::Event| {
        let tenant_id = event_target_value(&ev);
        if tenant_id == current() {
            return;
        }
        switching.set(true);
        spawn_local(async move {
            match api.switch_tenant(tenant_id).await {
                // A fresh start: nothing of the other tenant stays on screen.
                Ok(_) => {
                    let _ = window().location().set_href("/");
                }
                Err(f) => {
                    notices.say(f.message());
                    switching.set(false);
                }
            }
        });
    };
    view! {
        <div class="tenant">
            {move || {
                let list = memberships();
                if list.len() > 1 {
                    let selected = current();
                    view! {
                        <label class="visually-hidden" for="tenant-switch">"Organisation"</label>
                        <select id="tenant-switch" class="tenant-switch" on:change=switch disabled=move || switching.get()>
                            {list.into_iter().map(|m| {
                                let is_current = m.tenant.id == selected;
                                let role = if m.role == Role::Owner { "owner" } else { "admin" };
                                view! {
                                    <option value=m.tenant.id.clone() selected=is_current>
                                        {format!("{} ({}, {role})", m.tenant.display_name, m.tenant.slug)}
                                    </option>
                                }
                            }).collect_view()}
                        </select>
                    }.into_any()
                } else {
                    let tenant = auth.tenant();
                    view! {
                        <span class="tenant-name">{tenant.as_ref().map(|t| t.display_name.clone())}</span>
                        <span class="tenant-slug">{tenant.map(|t| t.slug)}</span>
                    }.into_any()
                }
            }}
        </div>
    }
}

/// Who is signed in, their account, sign-out.
#[component]
fn AccountMenu() -> impl IntoView {
    let auth = use_auth();
    let api = auth.client();
    let notices = use_notices();
    let email = move || {
        auth.session()
            .and_then(|s| s.account)
            .map(|a| a.email)
            .unwrap_or_default()
    };
    let initial = move || {
        email()
            .chars()
            .next()
            .map(|c| c.to_ascii_uppercase().to_string())
            .unwrap_or_default()
    };
    let role = move || if auth.is_owner() { "Owner" } else { "Admin" };
    let menu = NodeRef::<leptos::html::Details>::new();
    let close = move || {
        if let Some(m) = menu.get() {
            m.set_open(false);
        }
    };
    let sign_out = move |_| {
        spawn_local(async move {
            match api.sign_out().await {
                Ok(()) => auth.clear(),
                Err(f) => notices.say(f.message()),
            }
        });
    };
    view! {
        <details class="account-menu" node_ref=menu>
            <summary aria-label="Account menu">
                <span class="avatar" aria-hidden="true">{initial}</span>
                <span class="account-email">{email}</span>
            </summary>
            <div class="menu">
                <p class="menu-who"><strong>{email}</strong><br/><span class="muted">{role}</span></p>
                <A href="/account" on:click=move |_| close()>"Your account"</A>
                <button type="button" id="sign-out" class="menu-item" on:click=sign_out>"Sign out"</button>
            </div>
        </details>
    }
}
