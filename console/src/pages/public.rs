//! The pages a visitor sees: sign-up, the links the emails open (verify email, reset
//! password, accept an invitation), sign-in and its second factor.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;
use rosetta_api::{
    AcceptInvitationRequest, CodeRequest, EmailRequest, ErrorCode, ResetPasswordRequest, SignInRequest, SignUpRequest,
    TokenRequest,
};

use crate::api;
use crate::app::PublicFrame;
use crate::session::use_auth;
use crate::ui::{Field, FormState, FormStatus};

/// A query parameter of the address (the emailed tokens).
fn query_param(name: &'static str) -> Option<String> {
    use_query_map().get_untracked().get(name).filter(|v| !v.is_empty())
}

/// A finished step: what happened and where to go.
#[component]
fn Done(title: &'static str, message: String, #[prop(optional)] children: Option<Children>) -> impl IntoView {
    view! {
        <div class="done-panel" role="status">
            <div class="done-icon" aria-hidden="true">"✓"</div>
            <h1>{title}</h1>
            <p>{message}</p>
            {children.map(|c| c())}
        </div>
    }
}

#[component]
pub fn SignUp() -> impl IntoView {
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
            email: email.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
            tenant_slug: slug.get_untracked().trim().to_owned(),
            tenant_name: name.get_untracked().trim().to_owned(),
        };
        form.run(api::sign_up(body), move |m| form.done.set(Some(m.message)));
    };
    view! {
        <PublicFrame>
            {move || match form.done.get() {
                Some(message) => view! {
                    <Done title="Check your email" message=message>
                        <p class="muted">"The link in it confirms your address; then sign in."</p>
                        <p><a class="button secondary" href="/">"Go to sign-in"</a></p>
                    </Done>
                }.into_any(),
                None => view! {
                    <h1>"Create your organisation"</h1>
                    <p class="lead">"Let your people sign in to Atlassian Cloud with the identity provider you already use."</p>
                    <form on:submit=submit novalidate>
                        <Field label="Work email" name="email" kind="email" autocomplete="email" value=email error=form.field("email")/>
                        <Field label="Password" name="password" kind="password" autocomplete="new-password" value=password error=form.field("password")
                            hint="12 characters or more; a few unrelated words work well."/>
                        <Field label="Organisation name" name="tenant_name" autocomplete="organization" value=name error=form.field("tenant_name")/>
                        <Field label="Organisation address" name="tenant_slug" value=slug error=form.field("tenant_slug")
                            hint="Lowercase letters, digits and -; it becomes part of your sign-in URLs."/>
                        <FormStatus form=form/>
                        <button type="submit" class="button primary wide" disabled=move || form.busy.get()>"Create"</button>
                    </form>
                    <p class="ref">"Already have an account? " <a href="/">"Sign in"</a></p>
                }.into_any(),
            }}
        </PublicFrame>
    }
}

#[component]
pub fn VerifyEmail() -> impl IntoView {
    let form = FormState::new();
    let token = query_param("token").unwrap_or_default();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = TokenRequest { token: token.clone() };
        form.run(api::verify_email(body), move |m| form.done.set(Some(m.message)));
    };
    view! {
        <PublicFrame>
            {move || match form.done.get() {
                Some(message) => view! {
                    <Done title="Email address confirmed" message=message>
                        <p><a class="button primary" href="/">"Go to sign-in"</a></p>
                    </Done>
                }.into_any(),
                None => view! {
                    <h1>"Confirm your email address"</h1>
                    <p class="lead">"One click, and your account is ready."</p>
                    <form on:submit=submit.clone()>
                        <FormStatus form=form/>
                        <button type="submit" class="button primary wide" disabled=move || form.busy.get()>"Confirm my email address"</button>
                    </form>
                    <p class="ref"><a href="/">"Go to sign-in"</a></p>
                }.into_any(),
            }}
        </PublicFrame>
    }
}

#[component]
pub fn ResetPassword() -> impl IntoView {
    let form = FormState::new();
    let token = query_param("token");
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
                form.run(api::confirm_reset(body), move |m| form.done.set(Some(m.message)));
            }
            None => {
                let body = EmailRequest {
                    email: email.get_untracked().trim().to_owned(),
                };
                form.run(api::request_reset(body), move |m| form.done.set(Some(m.message)));
            }
        }
    };
    view! {
        <PublicFrame>
            {move || match form.done.get() {
                Some(message) => view! {
                    <Done title=if has_token { "Password changed" } else { "Check your email" } message=message>
                        <p><a class="button secondary" href="/">"Go to sign-in"</a></p>
                    </Done>
                }.into_any(),
                None => view! {
                    <h1>"Reset your password"</h1>
                    <p class="lead">{if has_token { "Choose a new password for your account." } else { "We will email you a link to choose a new one." }}</p>
                    <form on:submit=submit.clone() novalidate>
                        {if has_token {
                            view! { <Field label="New password" name="password" kind="password" autocomplete="new-password" value=password error=form.field("password") hint="12 characters or more."/> }.into_any()
                        } else {
                            view! { <Field label="Your email" name="email" kind="email" autocomplete="email" value=email error=form.field("email")/> }.into_any()
                        }}
                        <FormStatus form=form/>
                        <button type="submit" class="button primary wide" disabled=move || form.busy.get()>{if has_token { "Set the new password" } else { "Send me a link" }}</button>
                    </form>
                    <p class="ref"><a href="/">"Back to sign-in"</a></p>
                }.into_any(),
            }}
        </PublicFrame>
    }
}

#[component]
pub fn AcceptInvitation() -> impl IntoView {
    let form = FormState::new();
    let token = query_param("token").unwrap_or_default();
    let password = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let chosen = password.get_untracked();
        let body = AcceptInvitationRequest {
            token: token.clone(),
            password: (!chosen.is_empty()).then_some(chosen),
        };
        form.run(api::accept_invitation(body), move |m| form.done.set(Some(m.message)));
    };
    view! {
        <PublicFrame>
            {move || match form.done.get() {
                Some(message) => view! {
                    <Done title="Welcome aboard" message=message>
                        <p><a class="button primary" href="/">"Sign in"</a></p>
                    </Done>
                }.into_any(),
                None => view! {
                    <h1>"Join your team on Rosetta"</h1>
                    <p class="lead">"New to Rosetta? Choose a password for your account. Already have one? Leave it empty."</p>
                    <form on:submit=submit.clone() novalidate>
                        <Field label="Password" name="password" kind="password" autocomplete="new-password" value=password error=form.field("password")
                            hint="Only for a new account: 12 characters or more."/>
                        <FormStatus form=form/>
                        <button type="submit" class="button primary wide" disabled=move || form.busy.get()>"Accept the invitation"</button>
                    </form>
                    <p class="ref"><a href="/">"Go to sign-in"</a></p>
                }.into_any(),
            }}
        </PublicFrame>
    }
}

/// Email and password; an unconfirmed address may ask for a new link.
#[component]
pub fn SignIn() -> impl IntoView {
    let auth = use_auth();
    let form = FormState::new();
    let resend = FormState::new();
    let (email, password) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = SignInRequest {
            email: email.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
        };
        form.run(api::sign_in(body), move |s| auth.set(s));
    };
    let unverified =
        move || form.failure.with(|f| f.as_ref().and_then(|f| f.code())) == Some(ErrorCode::EmailNotVerified);
    let send_again = move |_| {
        let body = EmailRequest {
            email: email.get_untracked().trim().to_owned(),
        };
        resend.run(api::resend_verification(body), move |m| {
            resend.done.set(Some(m.message))
        });
    };
    view! {
        <h1>"Sign in"</h1>
        <p class="lead">"to manage your organisation's single sign-on."</p>
        <form on:submit=submit novalidate>
            <Field label="Email" name="email" kind="email" autocomplete="username" value=email error=form.field("email")/>
            <Field label="Password" name="password" kind="password" autocomplete="current-password" value=password error=form.field("password")/>
            <FormStatus form=form/>
            <Show when=unverified>
                <p><button type="button" class="button secondary small" on:click=send_again disabled=move || resend.busy.get()>"Send the confirmation link again"</button></p>
                <FormStatus form=resend/>
            </Show>
            <button type="submit" class="button primary wide" disabled=move || form.busy.get()>"Sign in"</button>
        </form>
        <p class="ref">
            <a href="/reset-password">"Forgot your password?"</a>
            <span aria-hidden="true">" · "</span>
            <a href="/signup">"Create an organisation"</a>
        </p>
    }
}

/// The TOTP or recovery code after the password.
#[component]
pub fn SecondFactor() -> impl IntoView {
    let auth = use_auth();
    let api = auth.client();
    let form = FormState::new();
    let code = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = CodeRequest {
            code: code.get_untracked().trim().to_owned(),
        };
        form.run(api.second_factor(body), move |s| auth.set(s));
    };
    let start_over = move |_| {
        spawn_local(async move {
            // Whether or not the server still had it, this browser starts over.
            let _ = api.sign_out().await;
            auth.clear();
        });
    };
    view! {
        <h1>"Two-step sign-in"</h1>
        <p class="lead">"Enter the 6-digit code from your authenticator app, or one of your recovery codes."</p>
        <form on:submit=submit novalidate>
            <Field label="Code" name="code" autocomplete="one-time-code" value=code error=form.field("code")/>
            <FormStatus form=form/>
            <button type="submit" class="button primary wide" disabled=move || form.busy.get()>"Continue"</button>
        </form>
        <p class="ref"><button type="button" class="link" on:click=start_over>"Sign in as someone else"</button></p>
    }
}
