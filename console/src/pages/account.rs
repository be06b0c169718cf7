//! The signed-in admin's own account: its organisations, its two-step sign-in (QR code,
//! confirmation, recovery codes shown once) and its password.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use rosetta_api::{ChangePasswordRequest, CodeRequest, Role, TotpEnrolment};

use crate::api::percent_encode;
use crate::session::{use_api, use_auth};
use crate::ui::{Field, FormState, FormStatus, PageHeader, use_notices};

#[component]
pub fn Account() -> impl IntoView {
    let auth = use_auth();
    let account = move || auth.session().and_then(|s| s.account);
    view! {
        <PageHeader title="Your account"/>
        <section class="panel" aria-labelledby="who-title">
            <h2 id="who-title">{move || account().map(|a| a.email).unwrap_or_default()}</h2>
            <ul class="rows">
                {move || account().map(|a| a.memberships).unwrap_or_default().into_iter().map(|m| view! {
                    <li class="row">
                        <div><strong>{m.tenant.display_name}</strong><span class="sub">{m.tenant.slug}</span></div>
                        <span class="badge">{if m.role == Role::Owner { "owner" } else { "admin" }}</span>
                    </li>
                }).collect_view()}
            </ul>
        </section>
        <section class="panel" aria-labelledby="totp-title">
            <h2 id="totp-title">"Two-step sign-in"</h2>
            <OwnTotp/>
        </section>
        <section class="panel" aria-labelledby="password-title">
            <h2 id="password-title">"Password"</h2>
            <ChangePassword/>
        </section>
    }
}

/// Enrol (QR code), confirm with a first code, recovery codes once.
#[component]
fn OwnTotp() -> impl IntoView {
    let auth = use_auth();
    let api = use_api();
    let enabled = auth.session().and_then(|s| s.account).is_some_and(|a| a.totp_enabled);
    let left = auth.session().and_then(|s| s.account).map(|a| a.recovery_codes_left);
    let enrolment: RwSignal<Option<TotpEnrolment>> = RwSignal::new(None);
    let codes: RwSignal<Option<Vec<String>>> = RwSignal::new(None);
    let form = FormState::new();
    let code = RwSignal::new(String::new());
    let start = move |_| form.run(api.begin_totp(), move |e| enrolment.set(Some(e)));
    let confirm = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = CodeRequest {
            code: code.get_untracked().trim().to_owned(),
        };
        form.run(api.confirm_totp(body), move |r| codes.set(Some(r.codes)));
    };
    move || {
        match (enabled, enrolment.get(), codes.get()) {
        (_, _, Some(codes)) => view! {
            <p class="notice ok" role="status">"Two-step sign-in is on. Save these recovery codes: each signs you in once if you lose your phone. They are not shown again."</p>
            <ul id="admin-recovery-codes" class="codes">{codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ul>
            <p class="muted">"Sign in again for the change to take effect in this browser: " <a href="/">"continue"</a></p>
        }
        .into_any(),
        (true, _, None) => view! {
            <p><span class="badge good">"on"</span> " Your account asks for a code from your authenticator app."</p>
            <p class="muted">{left.map(|n| format!("{n} unused recovery codes left."))}</p>
        }
        .into_any(),
        (false, Some(e), None) => {
            let qr = format!("data:image/svg+xml;charset=utf-8,{}", percent_encode(&e.qr_svg));
            view! {
                <div class="enrol">
                    <img src=qr width="180" height="180" alt="QR code for your authenticator app"/>
                    <div>
                        <p>"Scan this with your authenticator app, or type the key, then enter the code it shows."</p>
                        <p>"Key: " <code id="admin-totp-secret">{e.secret.clone()}</code></p>
                        <form on:submit=confirm novalidate class="narrow">
                            <Field label="6-digit code" name="code" autocomplete="one-time-code" value=code error=form.field("code")/>
                            <FormStatus form=form/>
                            <button type="submit" class="button primary" disabled=move || form.busy.get()>"Turn on"</button>
                        </form>
                    </div>
                </div>
            }
            .into_any()
        }
        (false, None, None) => view! {
            <p>"Protect your admin account with a code from an authenticator app."</p>
            <FormStatus form=form/>
            <button type="button" id="start-totp" class="button primary" on:click=start disabled=move || form.busy.get()>"Set up two-step sign-in"</button>
        }
        .into_any(),
    }
    }
}

#[component]
fn ChangePassword() -> impl IntoView {
    let auth = use_auth();
    let api = use_api();
    let notices = use_notices();
    let form = FormState::new();
    let (current, new) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = ChangePasswordRequest {
            current_password: current.get_untracked(),
            new_password: new.get_untracked(),
        };
        form.run(api.change_password(body), move |s| {
            current.set(String::new());
            new.set(String::new());
            form.done
                .set(Some("Password changed. Your other sessions have ended.".into()));
            notices.say("Password changed.");
            auth.set(s);
        });
    };
    view! {
        <form on:submit=submit novalidate class="narrow">
            <Field label="Current password" name="current_password" kind="password" autocomplete="current-password" value=current error=form.field("current_password")/>
            <Field label="New password" name="new_password" kind="password" autocomplete="new-password" value=new error=form.field("new_password")
                hint="12 characters or more."/>
            <FormStatus form=form/>
            <button type="submit" class="button primary" disabled=move || form.busy.get()>"Change the password"</button>
        </form>
    }
}
