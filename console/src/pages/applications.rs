//! SAML applications: Atlassian and any other SP from its metadata; the names of the
//! attributes each receives and its two-step rule (where the values come from, the NameID and
//! the groups have their pages: `mapping`, `groups`); whether Rosetta provisions its accounts
//! (the page is `provisioning`); a Test login followed live in the login debugger
//! (`test_login`), the go-live checklist (`go_live`); deleting one.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use rosetta_api::{
    AttributeRule, ImportServiceProviderRequest, Preset, ServiceProvider, SpMfaPolicy, UpdateServiceProviderRequest,
};

use super::test_login::{TestLogin, Tested};
use super::{go_live, logins, mapping, provisioning};
use crate::api::Failure;
use crate::session::use_api;
use crate::ui::{Confirm, Empty, Field, FormState, FormStatus, Loaded, PageHeader, TextArea, use_notices};

type Sps = LocalResource<Result<Vec<ServiceProvider>, Failure>>;

#[component]
pub fn Applications() -> impl IntoView {
    let api = use_api();
    let sps: Sps = LocalResource::new(move || api.service_providers());
    view! {
        <PageHeader title="Applications" lead="The SAML applications people sign in to through Rosetta.">
            <a class="button secondary" href="/atlassian">"Set up Atlassian"</a>
        </PageHeader>
        <Loaded resource=sps what="the applications" let:list>
            <AppList list=list sps=sps/>
        </Loaded>
        <ImportForm sps=sps/>
    }
}

#[component]
fn AppList(list: Vec<ServiceProvider>, sps: Sps) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <Empty title="No application yet">
                <p>"Most organisations start with " <a href="/atlassian">"Atlassian"</a>
                   "; any other SAML 2.0 application can be added below from its metadata."</p>
            </Empty>
        }
        .into_any();
    }
    view! {
        <ul id="application-list" class="cards">
            {list.into_iter().map(|sp| view! { <AppCard sp=sp sps=sps/> }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn AppCard(sp: ServiceProvider, sps: Sps) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let failure = RwSignal::new(None::<Failure>);
    let id = sp.id.clone();
    let name = sp.name.clone();
    let delete = Callback::new(move |()| {
        let (id, name) = (id.clone(), name.clone());
        leptos::task::spawn_local(async move {
            match api.delete_service_provider(id).await {
                Ok(()) => {
                    notices.say(format!("Deleted {name}."));
                    sps.refetch();
                }
                Err(f) => failure.set(Some(f)),
            }
        });
    });
    let preset = match sp.preset {
        Preset::Atlassian => "Atlassian",
        Preset::Generic => "SAML 2.0",
    };
    view! {
        <li class="card">
            <div class="card-head">
                <div>
                    <h2 class="card-title">{sp.name.clone()} <span class="badge">{preset}</span></h2>
                    <p class="sub"><span class="muted">"Entity ID "</span><code>{sp.entity_id.clone()}</code></p>
                    <p class="sub"><span class="muted">"ACS "</span><code>{sp.acs.first().map(|a| a.url.clone()).unwrap_or_default()}</code></p>
                </div>
                <Confirm label="Delete".into() title=format!("Delete {}?", sp.name)
                    body=format!("People can no longer sign in to {} through Rosetta. Its settings are lost; registering it again needs its values again.", sp.entity_id)
                    confirm="Delete the application" on_confirm=delete/>
            </div>
            {move || failure.get().map(|f| view! { <p class="notice error" role="alert">{f.message()}</p> })}
            <provisioning::Summary sp_id=sp.id.clone()/>
            <p class="card-links">
                <a class="button secondary small attributes-link" href=mapping::attributes_href(&sp.id)>"Attributes & NameID"</a>
                <a class="button secondary small groups-link" href=mapping::groups_href(&sp.id)>"Groups"</a>
                <a class="button secondary small go-live-link" href=go_live::href(&sp.id)>"Go-live checklist"</a>
                <a class="button secondary small logins-link" href=logins::for_application_href(&sp.name)>"Logins"</a>
            </p>
            <TestLogin tested=Tested::Application id=sp.id.clone() name=sp.name.clone()/>
            <SpEditor sp=sp.clone()/>
        </li>
    }
}

const MFA_CHOICES: [(SpMfaPolicy, &str); 4] = [
    (SpMfaPolicy::Inherit, "as the organisation"),
    (SpMfaPolicy::Off, "never"),
    (SpMfaPolicy::Optional, "offered"),
    (SpMfaPolicy::Required, "always"),
];

/// The names of the attributes an application receives (where their values come from is said,
/// and changed on the Attributes & NameID page) and its two-step sign-in rule.
#[component]
fn SpEditor(sp: ServiceProvider) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let rules: RwSignal<Vec<AttributeRule>> = RwSignal::new(sp.attributes.clone());
    let mfa = RwSignal::new(sp.mfa_policy);
    let form = FormState::new();
    let id = sp.id.clone();
    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = UpdateServiceProviderRequest {
            acs_urls: None,
            name_id_format: None,
            attributes: Some(rules.get_untracked()),
            want_requests_signed: None,
            request_signing_certs: None,
            mfa_policy: Some(mfa.get_untracked()),
        };
        form.run(api.update_service_provider(id.clone(), body), move |_| {
            form.done.set(Some("Saved.".into()));
            notices.say("Saved.");
        });
    };
    let prefix = sp.name.clone();
    let attributes_link = mapping::attributes_href(&sp.id);
    let mfa_id = format!("{}-mfa", sp.name);
    view! {
        <details id=format!("{}-editor", sp.name) class="editor">
            <summary>"Attributes and two-step sign-in"</summary>
            <form on:submit=save class="sp-editor">
                <div class="table-wrap"><table class="compact">
                    <caption class="visually-hidden">"Attributes sent to the application"</caption>
                    <thead><tr><th scope="col">"SAML attribute name"</th><th scope="col">"Value"</th></tr></thead>
                    <tbody>
                        {move || rules.get().into_iter().enumerate().map(|(i, rule)| {
                            let name_id = format!("{prefix}-attr-{i}");
                            view! {
                                <tr>
                                    <td><input id=name_id.clone() aria-label=format!("SAML attribute name {}", i + 1) prop:value=rule.name.clone()
                                        on:change=move |ev| rules.update(|r| if let Some(rule) = r.get_mut(i) { rule.name = event_target_value(&ev) })/></td>
                                    <td class="attribute-value">{mapping::describe(&rule.value, &rule.transforms)}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table></div>
                <p class="muted small">"Where the values come from, the NameID and added attributes: "
                    <a href=attributes_link>"Attributes & NameID"</a> "."</p>
                <div class="field">
                    <label for=mfa_id.clone()>"Two-step sign-in for this application"</label>
                    <select id=mfa_id on:change=move |ev| {
                        let chosen = event_target_value(&ev);
                        if let Some((policy, _)) = MFA_CHOICES.iter().find(|(_, l)| *l == chosen) {
                            mfa.set(*policy);
                        }
                    }>
                        {MFA_CHOICES.iter().map(|(policy, label)| view! {
                            <option value=*label selected=*policy == sp.mfa_policy>{*label}</option>
                        }).collect_view()}
                    </select>
                </div>
                {move || form.field("attributes").get().map(|e| view! { <p class="field-error">{e}</p> })}
                <FormStatus form=form/>
                <button type="submit" class="button primary" id=format!("{}-save", sp.name) disabled=move || form.busy.get()>"Save"</button>
            </form>
        </details>
    }
}

/// Any SAML 2.0 application, from its metadata (pasted XML or an https URL).
#[component]
fn ImportForm(sps: Sps) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let form = FormState::new();
    let (name, url, xml) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (u, x) = (url.get_untracked(), xml.get_untracked());
        let body = ImportServiceProviderRequest {
            name: name.get_untracked().trim().to_owned(),
            preset: Some(Preset::Generic),
            metadata_url: (!u.trim().is_empty()).then(|| u.trim().to_owned()),
            metadata_xml: (!x.trim().is_empty()).then_some(x),
        };
        form.run(api.import_service_provider(body), move |sp| {
            let message = format!("Added {}.", sp.entity_id);
            form.done.set(Some(message.clone()));
            notices.say(message);
            for field in [name, url, xml] {
                field.set(String::new());
            }
            sps.refetch();
        });
    };
    view! {
        <section class="panel" aria-labelledby="import-title">
            <h2 id="import-title">"Add a SAML application from its metadata"</h2>
            <p class="muted">"Give its metadata URL, or paste the XML."</p>
            <form on:submit=submit novalidate class="narrow">
                <Field label="Short name" name="name" value=name error=form.field("name")
                    hint="Letters, digits and -; it appears in the application's sign-in link."/>
                <Field label="Metadata URL (https)" name="metadata_url" kind="url" value=url error=form.field("metadata_url")/>
                <TextArea label="…or the metadata XML" name="metadata_xml" value=xml error=form.field("metadata_xml")/>
                <FormStatus form=form/>
                <button type="submit" id="import-sp" class="button primary" disabled=move || form.busy.get()>"Add"</button>
            </form>
        </section>
    }
}
