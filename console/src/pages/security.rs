//! Security settings: the end users' two-step sign-in policy (and whether the provider's own
//! second factor counts), whether admins must use it, and what happens when people leave
//! (`deprovisioning`).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use rosetta_api::{MfaPolicy, TenantSettings, UpdateTenantRequest};

use super::deprovisioning::Deprovisioning;
use crate::session::{use_api, use_auth};
use crate::ui::{FormState, FormStatus, Loaded, PageHeader, use_notices};

#[component]
pub fn Security() -> impl IntoView {
    let api = use_api();
    let settings = LocalResource::new(move || api.tenant());
    view! {
        <PageHeader title="Security settings"
            lead="Two-step sign-in (a code from an authenticator app after the company login) for the people using your applications and for the admins of this console; and what happens when people leave."/>
        <Loaded resource=settings what="the security settings" let:s>
            <Policies settings=s.clone()/>
            <Deprovisioning settings=s/>
        </Loaded>
    }
}

/// A change of nothing, to name only the fields that change.
pub(crate) fn nothing_changed() -> UpdateTenantRequest {
    UpdateTenantRequest {
        display_name: None,
        admin_mfa_required: None,
        end_user_mfa: None,
        end_user_mfa_trust_upstream: None,
        end_user_mfa_trusted_acr: None,
        end_user_mfa_max_age_hours: None,
        liveness_interval_hours: None,
        deactivate_after_days: None,
    }
}

const CHOICES: [(MfaPolicy, &str, &str, &str); 3] = [
    (MfaPolicy::Off, "mfa-off", "Never", "The company login is enough."),
    (
        MfaPolicy::Optional,
        "mfa-optional",
        "Offered",
        "People may set it up; those who did are asked for a code.",
    ),
    (
        MfaPolicy::Required,
        "mfa-required",
        "Always",
        "Everyone sets it up at their next login and is asked every time.",
    ),
];

#[component]
fn Policies(settings: TenantSettings) -> impl IntoView {
    let auth = use_auth();
    let api = use_api();
    let notices = use_notices();
    let owner = auth.is_owner();
    let policy = RwSignal::new(settings.end_user_mfa);
    // The choice on screen; `policy` is what the server holds.
    let chosen = RwSignal::new(settings.end_user_mfa);
    let trust = RwSignal::new(settings.end_user_mfa_trust_upstream);
    let admins = RwSignal::new(settings.admin_mfa_required);
    let form = FormState::new();
    let save = move |body: UpdateTenantRequest| {
        form.run(api.update_tenant(body), move |s: TenantSettings| {
            policy.set(s.end_user_mfa);
            chosen.set(s.end_user_mfa);
            trust.set(s.end_user_mfa_trust_upstream);
            admins.set(s.admin_mfa_required);
            form.done.set(Some("Saved.".into()));
            notices.say("Saved.");
        });
    };
    view! {
        <section class="panel" aria-labelledby="end-users-mfa">
            <h2 id="end-users-mfa">"For people signing in to your applications"</h2>
            <form on:submit=move |ev: SubmitEvent| {
                ev.prevent_default();
                save(UpdateTenantRequest { end_user_mfa: Some(chosen.get_untracked()), ..nothing_changed() });
            }>
                <fieldset class="choices" disabled=move || form.busy.get()>
                    <legend>"Ask for a code from an authenticator app after the company login"</legend>
                    {CHOICES.iter().map(|(value, id, label, help)| {
                        let value = *value;
                        let help_id = format!("{id}-help");
                        view! {
                            <div class="choice" class:selected=move || chosen.get() == value>
                                <input type="radio" id=*id name="end-user-mfa" aria-describedby=help_id.clone()
                                    prop:checked=move || chosen.get() == value
                                    on:change=move |_| chosen.set(value)/>
                                <label for=*id><strong>{*label}</strong><span id=help_id class="choice-help">{*help}</span></label>
                            </div>
                        }
                    }).collect_view()}
                </fieldset>
                <div class="form-actions">
                    <button type="submit" id="save-mfa-policy" class="button primary" disabled=move || form.busy.get()>"Save the policy"</button>
                    <span class="muted small">{move || {
                        if chosen.get() == policy.get() { "In force now." } else { "Not saved yet." }
                    }}</span>
                </div>
            </form>
            <div class="choice checkbox">
                <input type="checkbox" id="mfa-trust-upstream" aria-describedby="mfa-trust-upstream-help"
                    prop:checked=move || trust.get() disabled=move || form.busy.get()
                    on:change=move |ev| save(UpdateTenantRequest { end_user_mfa_trust_upstream: Some(event_target_checked(&ev)), ..nothing_changed() })/>
                <label for="mfa-trust-upstream"><strong>"Trust the provider's own second factor"</strong>
                    <span id="mfa-trust-upstream-help" class="choice-help">"Skip Rosetta's code when the provider says the person already used one (amr mfa, otp or hwk)."</span></label>
            </div>
        </section>
        <section class="panel" aria-labelledby="admins-mfa">
            <h2 id="admins-mfa">"For admins of this console"</h2>
            <div class="choice checkbox">
                <input type="checkbox" id="admin-mfa-required" aria-describedby="admin-mfa-help"
                    prop:checked=move || admins.get() disabled=move || !owner || form.busy.get()
                    on:change=move |ev| save(UpdateTenantRequest { admin_mfa_required: Some(event_target_checked(&ev)), ..nothing_changed() })/>
                <label for="admin-mfa-required"><strong>"Require two-step sign-in for every admin"</strong>
                    <span id="admin-mfa-help" class="choice-help">{if owner {
                        "Admins without it can only set it up until they do."
                    } else {
                        "Only owners change this."
                    }}</span></label>
            </div>
            <p class="muted">"Your own authenticator app is set up under " <a href="/account">"Your account"</a> "."</p>
        </section>
        <FormStatus form=form/>
    }
}
