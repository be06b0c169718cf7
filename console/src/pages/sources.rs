//! Identity providers: the tenant's OpenID Connect providers, the redirect URI to register
//! at each, "test connection", whether Rosetta checks that people still exist there (offline
//! access), adding and deleting one. Client secrets are write-only.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use rosetta_api::{
    ConnectionStepKind, ConnectionTest, CreateIdentitySourceRequest, DomainVerification, IdentitySource,
    UpdateIdentitySourceRequest,
};

use crate::api::Failure;
use crate::session::use_api;
use crate::ui::{CheckBox, Confirm, Copyable, Empty, Field, FormState, FormStatus, Loaded, PageHeader, use_notices};

/// What offline access does, under its checkbox.
const OFFLINE_ACCESS_HELP: &str = "Rosetta asks the provider for a refresh token once per person and uses it every few hours. \
     If the provider refuses it (the account was disabled or deleted), the person is deactivated in every application.";

type SourcesResource = LocalResource<Result<Vec<IdentitySource>, Failure>>;

#[component]
pub fn Sources() -> impl IntoView {
    let api = use_api();
    let sources: SourcesResource = LocalResource::new(move || api.identity_sources());
    view! {
        <PageHeader title="Identity providers"
            lead="Your company's OpenID Connect provider (Google Workspace, Entra ID, Okta, Auth0, Keycloak…). People sign in there; Rosetta passes them on to Atlassian."/>
        <Loaded resource=sources what="the identity providers" let:list>
            <SourceList list=list sources=sources/>
        </Loaded>
        <AddSource sources=sources/>
    }
}

#[component]
fn SourceList(list: Vec<IdentitySource>, sources: SourcesResource) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <Empty title="No identity provider yet">
                <p>"Nobody can sign in until there is one. Register Rosetta as an application (a confidential OpenID Connect client) at your provider, then add it below with its issuer URL, client ID and secret."</p>
            </Empty>
        }
        .into_any();
    }
    view! {
        <ul class="cards sources">
            {list.into_iter().map(|s| view! { <SourceCard source=s sources=sources/> }).collect_view()}
        </ul>
    }
    .into_any()
}

fn step_name(step: ConnectionStepKind) -> &'static str {
    match step {
        ConnectionStepKind::Discovery => "Discovery document",
        ConnectionStepKind::Issuer => "Issuer",
        ConnectionStepKind::Jwks => "Signing keys",
    }
}

/// One provider with its redirect URI, a "test connection" button and delete.
#[component]
fn SourceCard(source: IdentitySource, sources: SourcesResource) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let result: RwSignal<Option<Result<ConnectionTest, Failure>>> = RwSignal::new(None);
    let busy = RwSignal::new(false);
    let id = source.id.clone();
    let test = move |_| {
        let id = id.clone();
        busy.set(true);
        spawn_local(async move {
            result.set(Some(api.test_identity_source(id).await));
            busy.set(false);
        });
    };
    let (id, name) = (source.id.clone(), source.name.clone());
    let delete = Callback::new(move |()| {
        let (id, name) = (id.clone(), name.clone());
        spawn_local(async move {
            match api.delete_identity_source(id).await {
                Ok(()) => {
                    notices.say(format!("Deleted {name}."));
                    sources.refetch();
                }
                Err(f) => result.set(Some(Err(f))),
            }
        });
    });
    view! {
        <li class="card">
            <div class="card-head">
                <div>
                    <h2 class="card-title">{source.name.clone()}</h2>
                    <p class="sub"><code>{source.issuer.clone()}</code></p>
                </div>
                <div class="card-actions">
                    <button type="button" class="button secondary test-connection" on:click=test disabled=move || busy.get()>
                        {move || if busy.get() { "Testing…" } else { "Test connection" }}
                    </button>
                    <Confirm label="Delete".into() title=format!("Delete {}?", source.name)
                        body=format!("People whose email is in {} can no longer sign in through it. The client secret is deleted with it.",
                            if source.domains.is_empty() { "its domains".to_owned() } else { source.domains.join(", ") })
                        confirm="Delete the identity provider" on_confirm=delete/>
                </div>
            </div>
            <dl class="values">
                <div class="copyable"><dt>"Client ID"</dt><dd><code>{source.client_id.clone()}</code></dd></div>
                <div class="copyable"><dt>"Email domains"</dt><dd>{if source.domains.is_empty() { "any".to_owned() } else { source.domains.join(", ") }}</dd></div>
                <Copyable label="Redirect URI to register at the provider" id=format!("redirect-uri-{}", source.name) value=source.redirect_uri.clone()/>
                <div class="copyable"><dt>"Offline access"</dt><dd class="offline-access">{if source.offline_access {
                    "On: Rosetta checks every few hours that people still exist at the provider."
                } else {
                    "Off: Rosetta does not check whether people still exist there."
                }}</dd></div>
            </dl>
            <SourceEditor source=source.clone() sources=sources/>
            <DomainOwnership source_id=source.id.clone() domains=source.domain_verification.clone() sources=sources/>
            {move || result.get().map(|r| match r {
                Ok(t) => view! {
                    <div class="test-result" class:ok=t.ok aria-live="polite">
                        <p class="test-summary">{if t.ok { "Connection works." } else { "The connection test failed." }}</p>
                        <ol class="checks">
                            {t.steps.into_iter().map(|s| view! {
                                <li class=if s.ok { "check ok" } else { "check error" }>
                                    <span class="check-mark" aria-hidden="true">{if s.ok { "✓" } else { "✗" }}</span>
                                    <span><strong>{step_name(s.step)}</strong> ": " {s.message}</span>
                                    <span class="visually-hidden">{if s.ok { " (passed)" } else { " (failed)" }}</span>
                                </li>
                            }).collect_view()}
                        </ol>
                    </div>
                }.into_any(),
                Err(f) => view! { <p class="notice error" role="alert">{f.message()}</p> }.into_any(),
            })}
        </li>
    }
}

/// Each domain verified or not; an unverified one shows the DNS TXT record that proves it
/// and a Verify button. Unverified domains work for sign-ins here all the same.
#[component]
fn DomainOwnership(source_id: String, domains: Vec<DomainVerification>, sources: SourcesResource) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let busy = RwSignal::new(false);
    view! {
        <div class="domain-ownership">
            <h3 class="card-subtitle">"Domain ownership"</h3>
            <p class="sub">"Unverified domains work for sign-ins here. Verifying proves a domain is yours, so no other organisation on Rosetta can verify it."</p>
            <ul class="domains">
                {domains.into_iter().map(|d| {
                    let (id, domain) = (source_id.clone(), d.domain.clone());
                    let verify = move |_| {
                        let (id, domain) = (id.clone(), domain.clone());
                        busy.set(true);
                        error.set(None);
                        spawn_local(async move {
                            match api.verify_source_domain(id, domain.clone()).await {
                                Ok(_) => {
                                    notices.say(format!("{domain} is verified."));
                                    sources.refetch();
                                }
                                Err(f) => error.set(Some(f.message())),
                            }
                            busy.set(false);
                        });
                    };
                    if d.verified {
                        view! {
                            <li class="domain verified"><strong>{d.domain}</strong>" "<span class="badge good">"Verified"</span></li>
                        }.into_any()
                    } else {
                        view! {
                            <li class="domain unverified">
                                <strong>{d.domain.clone()}</strong>" "<span class="badge">"Unverified"</span>
                                <dl class="values">
                                    <Copyable label="TXT record name" id=format!("txt-name-{}", d.domain) value=d.txt_name/>
                                    <Copyable label="TXT record value" id=format!("txt-value-{}", d.domain) value=d.txt_value/>
                                </dl>
                                <button type="button" class="button secondary verify-domain" on:click=verify disabled=move || busy.get()>
                                    "Verify"
                                </button>
                            </li>
                        }.into_any()
                    }
                }).collect_view()}
            </ul>
            {move || error.get().map(|m| view! { <p class="notice error" role="alert">{m}</p> })}
        </div>
    }
}

/// A provider's settings changed in place (for now: offline access).
#[component]
fn SourceEditor(source: IdentitySource, sources: SourcesResource) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let form = FormState::new();
    let offline = RwSignal::new(source.offline_access);
    let id = source.id.clone();
    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = UpdateIdentitySourceRequest {
            issuer: None,
            client_id: None,
            client_secret: None,
            scopes: None,
            domains: None,
            use_userinfo: None,
            offline_access: Some(offline.get_untracked()),
        };
        form.run(api.update_identity_source(id.clone(), body), move |s| {
            notices.say(format!("Saved {}.", s.name));
            sources.refetch();
        });
    };
    view! {
        <details id=format!("{}-settings", source.name) class="editor">
            <summary>"Settings"</summary>
            <form on:submit=save class="narrow">
                <CheckBox id=format!("{}-offline-access", source.name)
                    label="Check that people still exist at the provider (offline access)"
                    help=OFFLINE_ACCESS_HELP checked=offline/>
                <FormStatus form=form/>
                <button type="submit" class="button primary" id=format!("{}-save", source.name) disabled=move || form.busy.get()>"Save"</button>
            </form>
        </details>
    }
}

#[component]
fn AddSource(sources: SourcesResource) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let form = FormState::new();
    let (name, issuer, client_id, secret, domains) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let offline = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = CreateIdentitySourceRequest {
            name: name.get_untracked().trim().to_owned(),
            issuer: issuer.get_untracked().trim().to_owned(),
            client_id: client_id.get_untracked().trim().to_owned(),
            client_secret: secret.get_untracked(),
            scopes: vec!["email".into(), "profile".into()],
            domains: domains
                .get_untracked()
                .split([',', ' '])
                .filter(|d| !d.is_empty())
                .map(str::to_owned)
                .collect(),
            use_userinfo: false,
            offline_access: offline.get_untracked(),
        };
        form.run(api.create_identity_source(body), move |s| {
            notices.say(format!(
                "Added {}. Register its redirect URI at the provider, then test it.",
                s.name
            ));
            for field in [name, issuer, client_id, secret, domains] {
                field.set(String::new());
            }
            offline.set(false);
            sources.refetch();
        });
    };
    view! {
        <section class="panel" aria-labelledby="add-source-title">
            <h2 id="add-source-title">"Add an identity provider"</h2>
            <form on:submit=submit novalidate class="narrow">
                <Field label="Short name" name="name" value=name error=form.field("name")
                    hint="Letters, digits and -; it appears in the redirect URI."/>
                <Field label="Issuer URL" name="issuer" kind="url" value=issuer error=form.field("issuer")
                    placeholder="https://accounts.google.com"/>
                <Field label="Client ID" name="client_id" value=client_id error=form.field("client_id")/>
                <Field label="Client secret" name="client_secret" kind="password" autocomplete="new-password" value=secret error=form.field("client_secret")
                    hint="Stored encrypted and never shown again."/>
                <Field label="Email domains" name="domains" value=domains error=form.field("domains")
                    hint="Comma-separated; people with these addresses sign in here." placeholder="example.com"/>
                <CheckBox id="offline-access" label="Check that people still exist at the provider (offline access)"
                    help=OFFLINE_ACCESS_HELP checked=offline/>
                <FormStatus form=form/>
                <button type="submit" class="button primary" disabled=move || form.busy.get()>"Add"</button>
            </form>
        </section>
    }
}
