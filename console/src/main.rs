//! The Rosetta admin console, rendered client-side, a client of the admin API only.
//!
//! Pages so far: the account pages the emails link to (sign-up, verify email, password
//! reset, accept invitation), sign-in with TOTP, a tenant overview, the Atlassian wizard
//! and identity providers with "test connection".

mod api;
mod manage;
mod setup;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use rosetta_api::{
    AcceptInvitationRequest, CodeRequest, EmailRequest, Message, ResetPasswordRequest, Session, SessionStage,
    SignInRequest, SignUpRequest, TenantSettings, TokenRequest,
};

use crate::api::Failure;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

/// A query parameter of the current address (tokens are URL-safe, no decoding needed).
fn query(name: &str) -> Option<String> {
    let search = window().location().search().ok()?;
    search.trim_start_matches('?').split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_owned())
    })
}

/// The root: one page per path; the server answers `index.html` for all of them.
#[component]
fn App() -> impl IntoView {
    let path = window().location().pathname().unwrap_or_default();
    let page = match path.as_str() {
        "/signup" => view! { <SignUp/> }.into_any(),
        "/verify-email" => view! { <VerifyEmail/> }.into_any(),
        "/reset-password" => view! { <ResetPassword/> }.into_any(),
        "/invitations/accept" => view! { <AcceptInvitation/> }.into_any(),
        "/atlassian" => view! { <Home page=Page::Atlassian/> }.into_any(),
        "/sources" => view! { <Home page=Page::Sources/> }.into_any(),
        "/keys" => view! { <Home page=Page::Keys/> }.into_any(),
        "/applications" => view! { <Home page=Page::Applications/> }.into_any(),
        "/people" => view! { <Home page=Page::People/> }.into_any(),
        "/audit" => view! { <Home page=Page::Audit/> }.into_any(),
        "/members" => view! { <Home page=Page::Members/> }.into_any(),
        "/security" => view! { <Home page=Page::Security/> }.into_any(),
        _ => view! { <Home page=Page::Overview/> }.into_any(),
    };
    view! {
        <main class="card">
            <div class="brand">"Rosetta single sign-on"</div>
            {page}
        </main>
    }
}

/// The pages that need a signed-in admin.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Page {
    /// What to paste into Atlassian.
    Overview,
    /// The Atlassian wizard.
    Atlassian,
    /// Identity providers.
    Sources,
    /// Signing keys.
    Keys,
    /// Any SAML application.
    Applications,
    /// End users.
    People,
    /// The audit log.
    Audit,
    /// Members and invitations.
    Members,
    /// Two-step sign-in settings.
    Security,
}

/// The state every form shares: busy while a call runs, the API's failure, a success note.
#[derive(Clone, Copy)]
pub struct FormState {
    busy: RwSignal<bool>,
    failure: RwSignal<Option<Failure>>,
    done: RwSignal<Option<String>>,
}

impl FormState {
    pub(crate) fn new() -> Self {
        Self {
            busy: RwSignal::new(false),
            failure: RwSignal::new(None),
            done: RwSignal::new(None),
        }
    }

    pub(crate) fn field(self, name: &'static str) -> Signal<Option<String>> {
        Signal::derive(move || self.failure.get().and_then(|f| f.field(name)))
    }

    /// Runs `call`; its message (or failure) lands in the form.
    fn run<F>(self, call: F)
    where
        F: std::future::Future<Output = Result<Message, Failure>> + 'static,
    {
        self.busy.set(true);
        self.failure.set(None);
        spawn_local(async move {
            match call.await {
                Ok(m) => self.done.set(Some(m.message)),
                Err(f) => self.failure.set(Some(f)),
            }
            self.busy.set(false);
        });
    }
}

/// A labelled input with its error from the API next to it.
#[component]
pub(crate) fn Field(
    label: &'static str,
    name: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    value: RwSignal<String>,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let described = error_id.clone();
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                aria-describedby=described
            />
            {move || error.get().map(|e| view! { <p class="error" id=error_id.clone() role="alert">{e}</p> })}
        </div>
    }
}

/// The form-level message: success, or a failure no field explains.
#[component]
pub(crate) fn Status(form: FormState) -> impl IntoView {
    view! {
        {move || form.done.get().map(|m| view! { <p class="ok" role="status">{m}</p> })}
        {move || form.failure.get().map(|f| view! { <p class="error" role="alert">{f.message()}</p> })}
    }
}

#[component]
fn SignUp() -> impl IntoView {
    let form = FormState::new();
    let (email, password, slug, name) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = SignUpRequest {
            email: email.get_untracked(),
            password: password.get_untracked(),
            tenant_slug: slug.get_untracked(),
            tenant_name: name.get_untracked(),
        };
        form.run(async move { api::post("signup", &body, None).await });
    };
    view! {
        <h1>"Create your organisation"</h1>
        <p>"Rosetta lets your people sign in to Atlassian Cloud with the identity provider you already use."</p>
        <form on:submit=submit novalidate>
            <Field label="Work email" name="email" kind="email" autocomplete="email" value=email error=form.field("email")/>
            <Field label="Password (12 characters or more)" name="password" kind="password" autocomplete="new-password" value=password error=form.field("password")/>
            <Field label="Organisation address (letters, digits, -)" name="tenant_slug" kind="text" autocomplete="off" value=slug error=form.field("tenant_slug")/>
            <Field label="Organisation name" name="tenant_name" kind="text" autocomplete="organization" value=name error=form.field("tenant_name")/>
            <Status form=form/>
            <button type="submit" disabled=move || form.busy.get()>"Create"</button>
        </form>
        <p class="ref">"Already have an account? " <a href="/">"Sign in"</a></p>
    }
}

#[component]
fn VerifyEmail() -> impl IntoView {
    let form = FormState::new();
    let token = query("token").unwrap_or_default();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = TokenRequest { token: token.clone() };
        form.run(async move { api::post("verify-email", &body, None).await });
    };
    view! {
        <h1>"Confirm your email address"</h1>
        <form on:submit=submit>
            <Status form=form/>
            <Show when=move || form.done.get().is_none()>
                <button type="submit" disabled=move || form.busy.get()>"Confirm my email address"</button>
            </Show>
        </form>
        <p class="ref"><a href="/">"Go to sign-in"</a></p>
    }
}

#[component]
fn ResetPassword() -> impl IntoView {
    let form = FormState::new();
    let token = query("token");
    let (email, password) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let has_token = token.is_some();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        match token.clone() {
            Some(token) => {
                let body = ResetPasswordRequest {
                    token,
                    password: password.get_untracked(),
                };
                form.run(async move { api::post("password-reset/confirm", &body, None).await });
            }
            None => {
                let body = EmailRequest {
                    email: email.get_untracked(),
                };
                form.run(async move { api::post("password-reset", &body, None).await });
            }
        }
    };
    view! {
        <h1>"Reset your password"</h1>
        <form on:submit=submit novalidate>
            {if has_token {
                view! { <Field label="New password (12 characters or more)" name="password" kind="password" autocomplete="new-password" value=password error=form.field("password")/> }.into_any()
            } else {
                view! { <Field label="Your email" name="email" kind="email" autocomplete="email" value=email error=form.field("email")/> }.into_any()
            }}
            <Status form=form/>
            <button type="submit" disabled=move || form.busy.get()>{if has_token { "Set the new password" } else { "Send me a link" }}</button>
        </form>
        <p class="ref"><a href="/">"Go to sign-in"</a></p>
    }
}

#[component]
fn AcceptInvitation() -> impl IntoView {
    let form = FormState::new();
    let token = query("token").unwrap_or_default();
    let password = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let chosen = password.get_untracked();
        let body = AcceptInvitationRequest {
            token: token.clone(),
            password: (!chosen.is_empty()).then_some(chosen),
        };
        form.run(async move { api::post("invitations/accept", &body, None).await });
    };
    view! {
        <h1>"Join your team on Rosetta"</h1>
        <p>"If you do not have a Rosetta account yet, choose a password for it. If you do, leave it empty."</p>
        <form on:submit=submit novalidate>
            <Field label="Password" name="password" kind="password" autocomplete="new-password" value=password error=form.field("password")/>
            <Status form=form/>
            <button type="submit" disabled=move || form.busy.get()>"Accept the invitation"</button>
        </form>
        <p class="ref"><a href="/">"Go to sign-in"</a></p>
    }
}

/// Sign-in (with the second factor when enrolled), then the page asked for.
#[component]
fn Home(page: Page) -> impl IntoView {
    let session: RwSignal<Option<Session>> = RwSignal::new(None);
    let checked = RwSignal::new(false);
    spawn_local(async move {
        if let Ok(s) = api::get::<Session>("session").await {
            session.set(Some(s));
        }
        checked.set(true);
    });
    view! {
        {move || match (checked.get(), session.get()) {
            (false, _) => view! { <p aria-busy="true">"Loading…"</p> }.into_any(),
            (true, Some(s)) if s.stage == SessionStage::Complete => view! {
                <Nav session=s.clone() signed_out=session/>
                {match page {
                    Page::Overview => view! { <Overview session=s/> }.into_any(),
                    Page::Atlassian => view! { <setup::AtlassianWizard session=s/> }.into_any(),
                    Page::Sources => view! { <setup::Sources session=s/> }.into_any(),
                    Page::Keys => view! { <manage::Keys session=s/> }.into_any(),
                    Page::Applications => view! { <setup::Applications session=s/> }.into_any(),
                    Page::People => view! { <manage::Users session=s/> }.into_any(),
                    Page::Audit => view! { <manage::Audit/> }.into_any(),
                    Page::Members => view! { <manage::Members session=s/> }.into_any(),
                    Page::Security => view! { <manage::Security session=s/> }.into_any(),
                }}
            }.into_any(),
            (true, Some(_)) => view! { <SecondFactor session=session/> }.into_any(),
            (true, None) => view! { <SignIn session=session/> }.into_any(),
        }}
    }
}

#[component]
fn SignIn(session: RwSignal<Option<Session>>) -> impl IntoView {
    let form = FormState::new();
    let (email, password) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = SignInRequest {
            email: email.get_untracked(),
            password: password.get_untracked(),
        };
        form.busy.set(true);
        form.failure.set(None);
        spawn_local(async move {
            match api::post::<_, Session>("session", &body, None).await {
                Ok(s) => session.set(Some(s)),
                Err(f) => form.failure.set(Some(f)),
            }
            form.busy.set(false);
        });
    };
    view! {
        <h1>"Sign in"</h1>
        <form on:submit=submit novalidate>
            <Field label="Email" name="email" kind="email" autocomplete="username" value=email error=form.field("email")/>
            <Field label="Password" name="password" kind="password" autocomplete="current-password" value=password error=form.field("password")/>
            <Status form=form/>
            <button type="submit" disabled=move || form.busy.get()>"Sign in"</button>
        </form>
        <p class="ref">
            <a href="/signup">"Create an organisation"</a>
            " · "
            <a href="/reset-password">"Forgot your password?"</a>
        </p>
    }
}

#[component]
fn SecondFactor(session: RwSignal<Option<Session>>) -> impl IntoView {
    let form = FormState::new();
    let code = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = CodeRequest {
            code: code.get_untracked(),
        };
        let csrf = session.get_untracked().map(|s| s.csrf_token).unwrap_or_default();
        form.busy.set(true);
        form.failure.set(None);
        spawn_local(async move {
            match api::post::<_, Session>("session/totp", &body, Some(&csrf)).await {
                Ok(s) => session.set(Some(s)),
                Err(f) => form.failure.set(Some(f)),
            }
            form.busy.set(false);
        });
    };
    view! {
        <h1>"Two-step sign-in"</h1>
        <p>"Enter the 6-digit code from your authenticator app, or one of your recovery codes."</p>
        <form on:submit=submit novalidate>
            <Field label="Code" name="code" kind="text" autocomplete="one-time-code" value=code error=form.field("code")/>
            <Status form=form/>
            <button type="submit" disabled=move || form.busy.get()>"Continue"</button>
        </form>
    }
}

/// The signed-in header: tenant, who, the pages, sign-out.
#[component]
fn Nav(session: Session, signed_out: RwSignal<Option<Session>>) -> impl IntoView {
    let csrf = session.csrf_token.clone();
    let sign_out = move |_| {
        let csrf = csrf.clone();
        spawn_local(async move {
            if api::sign_out(&csrf).await.is_ok() {
                signed_out.set(None);
            }
        });
    };
    let who = session.account.as_ref().map(|a| a.email.clone()).unwrap_or_default();
    let tenant = session
        .tenant
        .as_ref()
        .map(|t| t.display_name.clone())
        .unwrap_or_else(|| "Your organisation".into());
    view! {
        <nav aria-label="Console">
            <strong>{tenant}</strong>
            " · " <a href="/">"Overview"</a>
            " · " <a href="/atlassian">"Set up Atlassian"</a>
            " · " <a href="/applications">"Applications"</a>
            " · " <a href="/sources">"Identity providers"</a>
            " · " <a href="/keys">"Keys"</a>
            " · " <a href="/people">"People"</a>
            " · " <a href="/security">"Two-step sign-in"</a>
            " · " <a href="/members">"Members"</a>
            " · " <a href="/audit">"Audit log"</a>
            <p class="ref">"Signed in as " {who} ". " <button type="button" class="link" on:click=sign_out>"Sign out"</button></p>
        </nav>
    }
}

/// What to paste into Atlassian, for the tenant being worked on.
#[component]
fn Overview(session: Session) -> impl IntoView {
    let settings: RwSignal<Option<Result<TenantSettings, Failure>>> = RwSignal::new(None);
    if session.mfa_enrolment_required {
        settings.set(Some(Err(Failure::Network(
            "this organisation requires two-step sign-in for admins; set it up first".into(),
        ))));
    } else {
        spawn_local(async move { settings.set(Some(api::get::<TenantSettings>("tenant").await)) });
    }
    view! {
        <h1>{session.tenant.as_ref().map(|t| t.display_name.clone()).unwrap_or_else(|| "Your organisation".into())}</h1>
        {move || match settings.get() {
            None => view! { <p aria-busy="true">"Loading…"</p> }.into_any(),
            Some(Err(f)) => view! { <p class="error" role="alert">{f.message()}</p> }.into_any(),
            Some(Ok(s)) => view! { <setup::IdpValues settings=s/> }.into_any(),
        }}
        <manage::Dashboard/>
    }
}
