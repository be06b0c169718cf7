//! Running a tenant: signing keys (publish next → promote → retire), end users, the audit
//! log, members and invitations, MFA settings, and the admin's own two-step sign-in.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use rosetta_api::{
    AuditPage, CodeRequest, EndUser, EndUserPage, IdentitySource, Invitation, InviteRequest, Member, MfaPolicy,
    RecoveryCodes, Role, ServiceProvider, Session, SigningKey, TenantSettings, TotpEnrolment, UpdateTenantRequest,
};
use serde_json::json;

use crate::api::{self, Failure};
use crate::{Field, FormState, Status};

/// A POST with no body worth sending; on success `after` runs, on failure the message shows.
fn act(path: String, csrf: String, failure: RwSignal<Option<Failure>>, after: impl Fn() + 'static) {
    spawn_local(async move {
        match api::post::<_, serde_json::Value>(&path, &json!({}), Some(&csrf)).await {
            Ok(_) => {
                failure.set(None);
                after();
            }
            Err(f) => failure.set(Some(f)),
        }
    });
}

/// `2026-11-29 12:18:02` from an RFC 3339 time (UTC, as stored).
/// An audit outcome as the log shows it.
fn outcome_text(outcome: rosetta_api::AuditOutcome) -> &'static str {
    match outcome {
        rosetta_api::AuditOutcome::Success => "success",
        rosetta_api::AuditOutcome::Failure => "failure",
    }
}

fn short_time(rfc3339: &str) -> String {
    rfc3339.chars().take(19).collect::<String>().replace('T', " ") + " UTC"
}

fn failure_note(failure: RwSignal<Option<Failure>>) -> impl IntoView {
    move || {
        failure
            .get()
            .map(|f| view! { <p class="error" role="alert">{f.message()}</p> })
    }
}

/// Signing keys with the rotation steps and what each means for Atlassian.
#[component]
pub(crate) fn Keys(session: Session) -> impl IntoView {
    let keys: RwSignal<Vec<SigningKey>> = RwSignal::new(Vec::new());
    let failure = RwSignal::new(None);
    let load = move || spawn_local(async move { keys.set(api::get("signing-keys").await.unwrap_or_default()) });
    load();
    let csrf = session.csrf_token;
    let publish = {
        let csrf = csrf.clone();
        move |_| act("signing-keys".into(), csrf.clone(), failure, load)
    };
    view! {
        <h1>"Signing keys"</h1>
        <p>"Rosetta signs every answer to Atlassian with the active key. To rotate: "
            <strong>"publish"</strong> " a next key and add its certificate in Atlassian (it still trusts the old one), then "
            <strong>"promote"</strong> " it (Atlassian must have the new certificate by then, or logins fail), then "
            <strong>"retire"</strong> " keys you no longer publish."</p>
        {failure_note(failure)}
        <button type="button" id="publish-key" on:click=publish>"Publish a next key"</button>
        <ul class="keys">
            <For each=move || keys.get() key=|k| (k.id.clone(), k.state) let:k>
                {
                    let (promote_csrf, retire_csrf) = (csrf.clone(), csrf.clone());
                    let (id_p, id_r) = (k.id.clone(), k.id.clone());
                    let next = k.state == rosetta_api::KeyState::Next;
                    let retirable = k.state == rosetta_api::KeyState::Next;
                    view! {
                        <li>
                            <strong>{format!("{:?}", k.state).to_lowercase()}</strong> " — SHA-256 " <code>{k.fingerprint_sha256.clone()}</code>
                            " — valid until " {k.not_after.clone()}
                            <Show when=move || next>
                                " " <button type="button" class="link promote" on:click={
                                    let (id, csrf) = (id_p.clone(), promote_csrf.clone());
                                    move |_| act(format!("signing-keys/{id}/promote"), csrf.clone(), failure, load)
                                }>"Promote (sign with it from now on)"</button>
                            </Show>
                            <Show when=move || retirable>
                                " " <button type="button" class="link" on:click={
                                    let (id, csrf) = (id_r.clone(), retire_csrf.clone());
                                    move |_| act(format!("signing-keys/{id}/retire"), csrf.clone(), failure, load)
                                }>"Retire"</button>
                            </Show>
                        </li>
                    }
                }
            </For>
        </ul>
    }
}

/// End users: search, block, reset two-step sign-in.
#[component]
pub(crate) fn Users(session: Session) -> impl IntoView {
    let page: RwSignal<Option<EndUserPage>> = RwSignal::new(None);
    let search = RwSignal::new(String::new());
    let failure = RwSignal::new(None);
    let load = move || {
        let term = search.get_untracked();
        spawn_local(async move {
            let path = format!("end-users?per_page=50&search={}", crate::setup::percent_encode(&term));
            match api::get::<EndUserPage>(&path).await {
                Ok(p) => page.set(Some(p)),
                Err(f) => failure.set(Some(f)),
            }
        })
    };
    load();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        load();
    };
    let csrf = session.csrf_token;
    view! {
        <h1>"People"</h1>
        <form on:submit=submit role="search">
            <label for="user-search">"Search by email or name"</label>
            <input id="user-search" type="search" prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev))/>
            <button type="submit">"Search"</button>
        </form>
        {failure_note(failure)}
        {move || page.get().map(|p| {
            let csrf = csrf.clone();
            if p.items.is_empty() {
                return view! { <p>"Nobody has signed in through Rosetta yet."</p> }.into_any();
            }
            view! {
                <p>{format!("{} people", p.total)}</p>
                <div class="table-wrap"><table>
                    <thead><tr><th scope="col">"Email"</th><th scope="col">"Last sign-in"</th><th scope="col">"Two-step"</th><th scope="col">"Status"</th><th scope="col">"Actions"</th></tr></thead>
                    <tbody>
                        {p.items.into_iter().map(|u: EndUser| {
                            let (block_csrf, mfa_csrf) = (csrf.clone(), csrf.clone());
                            let blocked = u.status == rosetta_api::UserStatus::Blocked;
                            let (id_b, id_m) = (u.id.clone(), u.id.clone());
                            view! {
                                <tr>
                                    <td>{u.email.clone()}</td>
                                    <td>{u.last_login_at.clone().unwrap_or_else(|| "never".into())}</td>
                                    <td>{if u.mfa_enrolled { "set up" } else { "—" }}</td>
                                    <td>{if blocked { "blocked" } else { "active" }}</td>
                                    <td>
                                        <button type="button" class="link" on:click=move |_| {
                                            let action = if blocked { "unblock" } else { "block" };
                                            act(format!("end-users/{id_b}/{action}"), block_csrf.clone(), failure, load)
                                        }>{if blocked { "Unblock" } else { "Block" }}</button>
                                        " "
                                        <button type="button" class="link" on:click=move |_| {
                                            act(format!("end-users/{id_m}/reset-mfa"), mfa_csrf.clone(), failure, load)
                                        }>"Reset two-step sign-in"</button>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table></div>
            }.into_any()
        })}
    }
}

/// The audit log with filters and a CSV export of the same selection.
#[component]
pub(crate) fn Audit() -> impl IntoView {
    let page: RwSignal<Option<Result<AuditPage, Failure>>> = RwSignal::new(None);
    let (action, outcome) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let query = move || {
        let mut q = vec!["per_page=100".to_owned()];
        for (name, value) in [("action", action.get_untracked()), ("outcome", outcome.get_untracked())] {
            if !value.is_empty() {
                q.push(format!("{name}={}", crate::setup::percent_encode(&value)));
            }
        }
        q.join("&")
    };
    let load = move || {
        let q = query();
        spawn_local(async move { page.set(Some(api::get::<AuditPage>(&format!("audit?{q}")).await)) })
    };
    load();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        load();
    };
    view! {
        <h1>"Audit log"</h1>
        <form on:submit=submit>
            <label for="audit-action">"Action (e.g. login, service_provider.update)"</label>
            <input id="audit-action" prop:value=move || action.get() on:input=move |ev| action.set(event_target_value(&ev))/>
            <label for="audit-outcome">"Outcome"</label>
            <select id="audit-outcome" on:change=move |ev| outcome.set(event_target_value(&ev))>
                <option value="">"any"</option>
                <option value="success">"success"</option>
                <option value="failure">"failure"</option>
            </select>
            <button type="submit">"Filter"</button>
            " " <a href=move || { action.track(); outcome.track(); format!("/api/v1/audit.csv?{}", query()) }>"Export as CSV"</a>
        </form>
        {move || match page.get() {
            None => view! { <p aria-busy="true">"Loading…"</p> }.into_any(),
            Some(Err(f)) => view! { <p class="error" role="alert">{f.message()}</p> }.into_any(),
            Some(Ok(p)) if p.items.is_empty() => view! { <p>"No events match."</p> }.into_any(),
            Some(Ok(p)) => view! {
                <div class="table-wrap"><table class="audit">
                    <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th><th scope="col">"Outcome"</th><th scope="col">"Object"</th></tr></thead>
                    <tbody>
                        {p.items.into_iter().map(|e| view! {
                            <tr>
                                <td>{short_time(&e.occurred_at)}</td><td>{e.actor}</td><td>{e.action}</td><td>{outcome_text(e.outcome)}</td>
                                <td>{e.target.unwrap_or_default()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table></div>
            }.into_any(),
        }}
    }
}

/// Members and invitations (owners manage them).
#[component]
pub(crate) fn Members(session: Session) -> impl IntoView {
    let members: RwSignal<Vec<Member>> = RwSignal::new(Vec::new());
    let invitations: RwSignal<Vec<Invitation>> = RwSignal::new(Vec::new());
    let owner = session.role == Some(Role::Owner);
    let load = move || {
        spawn_local(async move {
            members.set(api::get("members").await.unwrap_or_default());
            if owner {
                invitations.set(api::get("invitations").await.unwrap_or_default());
            }
        })
    };
    load();
    let form = FormState::new();
    let email = RwSignal::new(String::new());
    let csrf = session.csrf_token;
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = InviteRequest {
            email: email.get_untracked(),
            role: Role::Admin,
        };
        let csrf = csrf.clone();
        spawn_local(async move {
            match api::post::<_, Invitation>("invitations", &body, Some(&csrf)).await {
                Ok(i) => {
                    form.failure.set(None);
                    form.done.set(Some(format!("Invitation sent to {}.", i.email)));
                    email.set(String::new());
                    load();
                }
                Err(f) => form.failure.set(Some(f)),
            }
        });
    };
    view! {
        <h1>"Members"</h1>
        <ul>
            <For each=move || members.get() key=|m| m.account_id.clone() let:m>
                <li>{m.email.clone()} " — " {if m.role == Role::Owner { "owner" } else { "admin" }}
                    {if m.totp_enabled { " — two-step sign-in on" } else { "" }}</li>
            </For>
        </ul>
        <Show when=move || owner fallback=|| view! { <p>"Only owners invite and remove members."</p> }>
            <h2>"Open invitations"</h2>
            <ul>
                <For each=move || invitations.get() key=|i| i.id.clone() let:i>
                    <li>{i.email.clone()} " — until " {i.expires_at.clone()}</li>
                </For>
            </ul>
            <h2>"Invite an admin"</h2>
            <form on:submit=submit.clone() novalidate>
                <Field label="Email" name="email" kind="email" autocomplete="off" value=email error=form.field("email")/>
                <Status form=form/>
                <button type="submit">"Send the invitation"</button>
            </form>
        </Show>
    }
}

/// MFA policy for end users and for admins, and the admin's own authenticator.
#[component]
pub(crate) fn Security(session: Session) -> impl IntoView {
    let settings: RwSignal<Option<TenantSettings>> = RwSignal::new(None);
    spawn_local(async move { settings.set(api::get("tenant").await.ok()) });
    let saved = RwSignal::new(None::<String>);
    let failure = RwSignal::new(None);
    let csrf = session.csrf_token.clone();
    let set_policy = move |policy: MfaPolicy| {
        let csrf = csrf.clone();
        spawn_local(async move {
            let body = UpdateTenantRequest {
                display_name: None,
                admin_mfa_required: None,
                end_user_mfa: Some(policy),
                end_user_mfa_trust_upstream: None,
                end_user_mfa_trusted_acr: None,
                end_user_mfa_max_age_hours: None,
            };
            match api::patch::<_, TenantSettings>("tenant", &body, &csrf).await {
                Ok(s) => {
                    settings.set(Some(s));
                    saved.set(Some("Saved.".into()));
                }
                Err(f) => failure.set(Some(f)),
            }
        });
    };
    let policy = move || settings.get().map(|s| s.end_user_mfa);
    let choice = move |value: MfaPolicy, label: &'static str, id: &'static str| {
        let set_policy = set_policy.clone();
        view! {
            <div>
                <input type="radio" id=id name="end-user-mfa" prop:checked=move || policy() == Some(value)
                    on:change=move |_| set_policy(value)/>
                <label for=id class="inline">{label}</label>
            </div>
        }
    };
    view! {
        <h1>"Two-step sign-in"</h1>
        <h2>"For people signing in to your applications"</h2>
        <fieldset>
            <legend>"Ask for a code from an authenticator app after the company login"</legend>
            {choice(MfaPolicy::Off, "Never", "mfa-off")}
            {choice(MfaPolicy::Optional, "Offer it; ask those who set it up", "mfa-optional")}
            {choice(MfaPolicy::Required, "Always (everyone sets it up at their next login)", "mfa-required")}
        </fieldset>
        {move || saved.get().map(|m| view! { <p class="ok" role="status">{m}</p> })}
        {failure_note(failure)}
        <h2>"For you"</h2>
        <OwnTotp session=session/>
    }
}

/// The admin's own TOTP: enrol (QR code), confirm, recovery codes once.
#[component]
fn OwnTotp(session: Session) -> impl IntoView {
    let enabled = session.account.as_ref().is_some_and(|a| a.totp_enabled);
    let enrolment: RwSignal<Option<TotpEnrolment>> = RwSignal::new(None);
    let codes: RwSignal<Option<Vec<String>>> = RwSignal::new(None);
    let form = FormState::new();
    let code = RwSignal::new(String::new());
    let csrf = session.csrf_token.clone();
    let start = {
        let csrf = csrf.clone();
        move |_| {
            let csrf = csrf.clone();
            spawn_local(async move {
                match api::post::<_, TotpEnrolment>("account/totp", &json!({}), Some(&csrf)).await {
                    Ok(e) => enrolment.set(Some(e)),
                    Err(f) => form.failure.set(Some(f)),
                }
            });
        }
    };
    let confirm = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = CodeRequest {
            code: code.get_untracked(),
        };
        let csrf = csrf.clone();
        spawn_local(async move {
            match api::post::<_, RecoveryCodes>("account/totp/confirm", &body, Some(&csrf)).await {
                Ok(r) => codes.set(Some(r.codes)),
                Err(f) => form.failure.set(Some(f)),
            }
        });
    };
    view! {
        {move || match (enabled, enrolment.get(), codes.get()) {
            (true, _, _) => view! { <p>"Two-step sign-in is on for your account."</p> }.into_any(),
            (_, _, Some(codes)) => view! {
                <p class="ok" role="status">"Two-step sign-in is on. Save these recovery codes; each signs you in once if you lose your phone. They are not shown again."</p>
                <ul id="admin-recovery-codes">{codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ul>
                <p>"Sign in again for the change to take effect in this browser: " <a href="/">"continue"</a></p>
            }.into_any(),
            (_, Some(e), None) => {
                let qr = format!("data:image/svg+xml;charset=utf-8,{}", crate::setup::percent_encode(&e.qr_svg));
                view! {
                    <p>"Scan this with your authenticator app, or type the key, then enter the code it shows."</p>
                    <img src=qr width="200" height="200" alt="QR code for your authenticator app"/>
                    <p>"Key: " <code id="admin-totp-secret">{e.secret.clone()}</code></p>
                    <form on:submit=confirm.clone() novalidate>
                        <Field label="6-digit code" name="code" kind="text" autocomplete="one-time-code" value=code error=form.field("code")/>
                        <Status form=form/>
                        <button type="submit">"Turn on"</button>
                    </form>
                }.into_any()
            }
            (false, None, None) => view! {
                <p>"Protect your admin account with a code from an authenticator app."</p>
                <Status form=form/>
                <button type="button" id="start-totp" on:click=start.clone()>"Set up two-step sign-in"</button>
            }.into_any(),
        }}
    }
}

/// The tenant at a glance: its applications and providers, and the latest logins.
#[component]
pub(crate) fn Dashboard() -> impl IntoView {
    let sps: RwSignal<Option<Vec<ServiceProvider>>> = RwSignal::new(None);
    let sources: RwSignal<Option<Vec<IdentitySource>>> = RwSignal::new(None);
    let logins: RwSignal<Option<AuditPage>> = RwSignal::new(None);
    spawn_local(async move {
        sps.set(api::get("service-providers").await.ok());
        sources.set(api::get("identity-sources").await.ok());
        logins.set(api::get("audit?action=login&per_page=100").await.ok());
    });
    // Health: successes and failures among the latest 100 logins, per application (the
    // audit target) and per provider (the `source` in the event's detail).
    let health = move |matches: &dyn Fn(&rosetta_api::AuditEntry) -> bool| -> String {
        let Some(p) = logins.get() else { return String::new() };
        let (ok, failed) = p.items.iter().filter(|e| matches(e)).fold((0, 0), |(ok, failed), e| {
            if e.outcome == rosetta_api::AuditOutcome::Success {
                (ok + 1, failed)
            } else {
                (ok, failed + 1)
            }
        });
        match (ok, failed) {
            (0, 0) => "no recent logins".into(),
            (1, 0) => "1 recent login, successful".into(),
            (ok, 0) => format!("{ok} recent logins, all successful"),
            (ok, failed) => format!("{ok} successful, {failed} failed recently"),
        }
    };
    let source_of = |e: &rosetta_api::AuditEntry| {
        serde_json::from_str::<serde_json::Value>(&e.detail)
            .ok()
            .and_then(|d| d.get("source").and_then(|s| s.as_str()).map(str::to_owned))
    };
    view! {
        <h2>"Applications"</h2>
        {move || match sps.get() {
            None => view! { <p aria-busy="true">"Loading…"</p> }.into_any(),
            Some(list) if list.is_empty() => view! { <p>"None yet: " <a href="/atlassian">"set up Atlassian"</a> "."</p> }.into_any(),
            Some(list) => view! {
                <ul id="applications">{list.into_iter().map(|sp| {
                    let entity = sp.entity_id.clone();
                    let status = health(&move |e| e.target.as_deref() == Some(entity.as_str()));
                    view! { <li><strong>{sp.name}</strong> " — " <code>{sp.entity_id}</code> " — " {status}</li> }
                }).collect_view()}</ul>
            }.into_any(),
        }}
        <h2>"Identity providers"</h2>
        {move || match sources.get() {
            None => view! { <p aria-busy="true">"Loading…"</p> }.into_any(),
            Some(list) if list.is_empty() => view! { <p>"None yet: " <a href="/sources">"add one"</a> ", or nobody can sign in."</p> }.into_any(),
            Some(list) => view! {
                <ul id="providers">{list.into_iter().map(|s| {
                    let name = s.name.clone();
                    let status = health(&move |e| source_of(e).as_deref() == Some(name.as_str()));
                    view! { <li><strong>{s.name}</strong> " — " {s.domains.join(", ")} " — " {status}</li> }
                }).collect_view()}</ul>
            }.into_any(),
        }}
        <h2>"Latest logins"</h2>
        {move || match logins.get() {
            None => view! { <p aria-busy="true">"Loading…"</p> }.into_any(),
            Some(p) if p.items.is_empty() => view! { <p>"No logins yet."</p> }.into_any(),
            Some(p) => view! {
                <div class="table-wrap"><table id="latest-logins">
                    <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"Application"</th><th scope="col">"Outcome"</th></tr></thead>
                    <tbody>{p.items.into_iter().take(10).map(|e| {
                        let class = outcome_text(e.outcome);
                        view! {
                        <tr class=class>
                            <td>{short_time(&e.occurred_at)}</td><td>{e.actor}</td><td>{e.target.unwrap_or_default()}</td><td>{outcome_text(e.outcome)}</td>
                        </tr>
                    }}).collect_view()}</tbody>
                </table></div>
            }.into_any(),
        }}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_seconds_in_utc() {
        assert_eq!(
            short_time("2026-11-29T12:18:02.246525708+00:00"),
            "2026-11-29 12:18:02 UTC"
        );
    }
}
