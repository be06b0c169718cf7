//! When people leave: how often Rosetta checks that they still exist at their provider
//! (through the refresh tokens of providers with offline access), and the rule that marks
//! people departed after so many days without a login, previewed before it is saved.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use rosetta_api::{InactivePreview, InactiveQuery, TenantSettings, UpdateTenantRequest};

use super::security::nothing_changed;
use crate::session::use_api;
use crate::ui::{CheckBox, Field, FormState, FormStatus, short_time, use_notices};

/// The days proposed when the rule is first switched on.
const SUGGESTED_DAYS: u32 = 90;
/// How many people a preview names.
const PREVIEW_NAMES: usize = 20;

/// A problem found before asking the API, by field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Local {
    Hours,
    Days,
}

#[component]
pub fn Deprovisioning(settings: TenantSettings) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let form = FormState::new();
    let preview_form = FormState::new();
    let hours = RwSignal::new(settings.liveness_interval_hours.to_string());
    // The rule as the server holds it (`None`: off).
    let saved_days = RwSignal::new(settings.deactivate_after_days.filter(|d| *d > 0));
    let rule_on = RwSignal::new(saved_days.get_untracked().is_some());
    let days = RwSignal::new(saved_days.get_untracked().unwrap_or(SUGGESTED_DAYS).to_string());
    let preview: RwSignal<Option<InactivePreview>> = RwSignal::new(None);
    let local = RwSignal::new(None::<Local>);

    let hours_error = Signal::derive(move || {
        (local.get() == Some(Local::Hours))
            .then(|| "A whole number of hours, from 1 to 168.".to_owned())
            .or_else(|| form.field("liveness_interval_hours").get())
    });
    let days_error = Signal::derive(move || {
        (local.get() == Some(Local::Days))
            .then(|| "A whole number of days, from 1.".to_owned())
            .or_else(|| form.field("deactivate_after_days").get())
            .or_else(|| preview_form.field("days").get())
    });
    let parse_days = move || match days.get_untracked().trim().parse::<u32>() {
        Ok(d) if d > 0 => Some(d),
        _ => {
            local.set(Some(Local::Days));
            None
        }
    };
    let ask_preview = move |d: u32| {
        preview_form.run(api.inactive_users(InactiveQuery { days: Some(d) }), move |p| {
            preview.set(Some(p))
        });
    };
    let on_preview = move |_| {
        local.set(None);
        if let Some(d) = parse_days() {
            ask_preview(d);
        }
    };
    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        local.set(None);
        let Ok(h) = hours.get_untracked().trim().parse::<u32>() else {
            local.set(Some(Local::Hours));
            return;
        };
        let after = if rule_on.get_untracked() {
            let Some(d) = parse_days() else { return };
            // A new limit shows who it would deactivate before it is saved.
            let previewed = preview.with_untracked(|p| p.as_ref().map(|p| p.days));
            if Some(d) != saved_days.get_untracked() && previewed != Some(d) {
                ask_preview(d);
                return;
            }
            d
        } else {
            0
        };
        let body = UpdateTenantRequest {
            liveness_interval_hours: Some(h),
            deactivate_after_days: Some(after),
            ..nothing_changed()
        };
        form.run(api.update_tenant(body), move |s: TenantSettings| {
            hours.set(s.liveness_interval_hours.to_string());
            saved_days.set(s.deactivate_after_days.filter(|d| *d > 0));
            preview.set(None);
            form.done.set(Some("Saved.".into()));
            notices.say("Saved.");
        });
    };
    let pending_change = move || rule_on.get() && days.with(|d| d.trim().parse::<u32>().ok()) != saved_days.get();
    view! {
        <section class="panel" id="deprovisioning" aria-labelledby="deprovisioning-title">
            <h2 id="deprovisioning-title">"When people leave"</h2>
            <p class="muted">"People marked departed are deactivated in every application Rosetta provisions, and their sessions end. A new login through their provider makes them active again."</p>
            <form on:submit=save novalidate class="narrow">
                <Field label="Check every (hours)" name="liveness_interval_hours" kind="number" value=hours error=hours_error
                    hint="How often Rosetta uses the refresh tokens of identity providers with offline access to see whether people still exist there. From 1 to 168; 6 by default."/>
                <CheckBox id="deactivate-inactive" label="Mark people departed after a time without a login"
                    help="Off by default. For providers without offline access, this is how people who left lose their accounts." checked=rule_on/>
                <Show when=move || rule_on.get()>
                    <Field label="Days without a login" name="deactivate_after_days" kind="number" value=days error=days_error/>
                    <div class="form-actions">
                        <button type="button" id="preview-inactive" class="button secondary" on:click=on_preview
                            disabled=move || preview_form.busy.get()>"Preview"</button>
                        <span class="muted small">"Lists who the rule would mark departed today, without changing anything."</span>
                    </div>
                </Show>
                {move || preview.get().map(|p| view! { <Preview p=p pending_change=Signal::derive(pending_change)/> })}
                <FormStatus form=preview_form/>
                <FormStatus form=form/>
                <div class="form-actions">
                    <button type="submit" id="save-deprovisioning" class="button primary" disabled=move || form.busy.get()>"Save"</button>
                </div>
            </form>
        </section>
    }
}

/// Who the rule would mark departed today.
#[component]
fn Preview(p: InactivePreview, pending_change: Signal<bool>) -> impl IntoView {
    let days = p.days;
    let more = p.total.saturating_sub(PREVIEW_NAMES.min(p.items.len()) as u64);
    view! {
        <div id="inactive-preview" class="sync-preview" aria-live="polite" data-total=p.total.to_string()>
            {if p.total == 0 {
                view! { <p><strong>{format!("Nobody: everyone has logged in within {days} days.")}</strong></p> }.into_any()
            } else {
                view! {
                    <p><strong>{format!(
                        "{} without a login for {days} days or more would be marked departed.",
                        if p.total == 1 { "1 person".to_owned() } else { format!("{} people", p.total) }
                    )}</strong></p>
                    <ul class="preview-list">
                        {p.items.into_iter().take(PREVIEW_NAMES).map(|u| view! {
                            <li>{u.email} " " <span class="muted small">{u.last_login_at.as_deref()
                                .map(|t| format!("last login {}", short_time(t)))
                                .unwrap_or_else(|| "never logged in".into())}</span></li>
                        }).collect_view()}
                    </ul>
                    {(more > 0).then(|| view! { <p class="muted small">{format!("…and {more} more.")}</p> })}
                }.into_any()
            }}
            {move || pending_change.get().then(|| view! {
                <p class="small">"Save to switch the rule on: it runs at the next check."</p>
            })}
        </div>
    }
}
