//! Signing keys: publish a next key, promote it, retire one; what each step means for
//! Atlassian.

use leptos::prelude::*;
use leptos::task::spawn_local;
use rosetta_api::{KeyState, SigningKey};

use crate::api::Failure;
use crate::session::use_api;
use crate::ui::{Confirm, FormState, FormStatus, Loaded, PageHeader, short_time, use_notices};

type KeysResource = LocalResource<Result<Vec<SigningKey>, Failure>>;

/// Banners for published signing certificates that expire within 30 days (the owners are
/// emailed at 30 and 7): applications that pin the certificate refuse logins once it has.
#[component]
pub fn ExpiryAlerts() -> impl IntoView {
    let api = use_api();
    let tenant = LocalResource::new(move || api.tenant());
    move || {
        tenant.get().and_then(Result::ok).map(|t| {
            t.details
                .idp
                .certificates
                .into_iter()
                .filter(|c| c.days_left <= 30)
                .map(|c| {
                    let which = if c.state == KeyState::Active { "active" } else { "next" };
                    let when = if c.days_left < 0 {
                        "has expired".to_owned()
                    } else {
                        format!("expires in {} day{}", c.days_left, if c.days_left == 1 { "" } else { "s" })
                    };
                    view! {
                        <div class=if c.days_left <= 7 { "banner danger certificate-alert" } else { "banner warning certificate-alert" } role="alert">
                            {format!(
                                "The {which} signing certificate {when}: applications that check it (Atlassian does) refuse every login once it has expired. "
                            )}
                            <a href="/keys">"Rotate the signing key"</a>
                        </div>
                    }
                })
                .collect_view()
        })
    }
}

#[component]
pub fn Keys() -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let keys: KeysResource = LocalResource::new(move || api.signing_keys());
    let form = FormState::new();
    let publish = move |_| {
        form.run(api.publish_key(), move |_| {
            notices.say("Published a next key. Add its certificate in Atlassian, then promote it.");
            keys.refetch();
        });
    };
    view! {
        <PageHeader title="Signing keys" lead="Rosetta signs every answer to Atlassian with the active key.">
            <button type="button" id="publish-key" class="button primary" on:click=publish disabled=move || form.busy.get()>"Publish a next key"</button>
        </PageHeader>
        <ol class="rotation" aria-label="How to rotate">
            <li><strong>"Publish"</strong> " a next key and add its certificate in Atlassian: it still trusts the old one."</li>
            <li><strong>"Promote"</strong> " it once Atlassian has the new certificate (before that, logins fail)."</li>
            <li><strong>"Retire"</strong> " keys you no longer publish."</li>
        </ol>
        <FormStatus form=form/>
        <Loaded resource=keys what="the signing keys" let:list>
            <KeyTable list=list keys=keys/>
        </Loaded>
    }
}

fn state_badge(state: KeyState) -> impl IntoView {
    match state {
        KeyState::Active => view! { <span class="badge good">"active"</span> },
        KeyState::Next => view! { <span class="badge info">"next"</span> },
        KeyState::Retired => view! { <span class="badge muted">"retired"</span> },
    }
}

#[component]
fn KeyTable(list: Vec<SigningKey>, keys: KeysResource) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let failure = RwSignal::new(None::<Failure>);
    let act = move |call: std::pin::Pin<Box<dyn std::future::Future<Output = Result<SigningKey, Failure>>>>,
                    message: &'static str| {
        spawn_local(async move {
            match call.await {
                Ok(_) => {
                    failure.set(None);
                    notices.say(message);
                    keys.refetch();
                }
                Err(f) => failure.set(Some(f)),
            }
        });
    };
    view! {
        {move || failure.get().map(|f| view! { <p class="notice error" role="alert">{f.message()}</p> })}
        <div class="table-wrap">
            <table class="keys">
                <thead><tr>
                    <th scope="col">"State"</th><th scope="col">"SHA-256 fingerprint"</th>
                    <th scope="col">"Valid until"</th><th scope="col">"Created"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {list.into_iter().map(|k| {
                        let next = k.state == KeyState::Next;
                        let (promote_id, retire_id) = (k.id.clone(), k.id.clone());
                        let promote = Callback::new(move |()| act(Box::pin(api.promote_key(promote_id.clone())), "Promoted: Rosetta signs with the new key."));
                        let retire = Callback::new(move |()| act(Box::pin(api.retire_key(retire_id.clone())), "Retired."));
                        view! {
                            <tr>
                                <td>{state_badge(k.state)}</td>
                                <td><code class="fingerprint">{k.fingerprint_sha256.clone()}</code></td>
                                <td class="nowrap">{k.not_after.clone()}</td>
                                <td class="nowrap">{short_time(&k.created_at)}</td>
                                <td class="actions">
                                    {next.then(|| view! {
                                        <Confirm label="Promote (sign with it from now on)".into() class="button secondary small promote" danger=false
                                            title="Sign with the next key?".into()
                                            body="From now on Rosetta signs with this key and retires the active one. Atlassian must already trust its certificate, or logins fail.".into()
                                            confirm="Promote" on_confirm=promote/>
                                        <Confirm label="Retire".into() class="button danger-ghost small retire"
                                            title="Retire this key?".into()
                                            body="It is removed from Rosetta's metadata and can never sign again.".into()
                                            confirm="Retire the key" on_confirm=retire/>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
