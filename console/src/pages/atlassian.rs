//! The Atlassian wizard: Rosetta's values for Atlassian (the one place they are shown),
//! Atlassian's two values for Rosetta, and a test login.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use rosetta_api::{CreateServiceProviderRequest, Preset, ServiceProvider, TenantSettings};

use crate::api::percent_encode;
use crate::session::{use_api, use_auth};
use crate::ui::{Copyable, Field, FormState, FormStatus, Loaded, PageHeader, use_notices};

/// The name the wizard gives Atlassian (it appears in `/saml/init/atlassian`).
const NAME: &str = "atlassian";

#[component]
pub fn AtlassianWizard() -> impl IntoView {
    let api = use_api();
    let settings = LocalResource::new(move || api.tenant());
    let sps = LocalResource::new(move || api.service_providers());
    view! {
        <PageHeader title="Set up Atlassian"
            lead="Three steps between Atlassian Administration and Rosetta; keep both open side by side."/>
        <section class="panel wizard-step" aria-labelledby="step-1">
            <p class="step-count">"Step 1 of 3"</p>
            <h2 id="step-1">"Tell Atlassian about Rosetta"</h2>
            <p>"In Atlassian Administration, open " <strong>"Security → Identity providers"</strong>
               ", add a " <strong>"SAML single sign-on"</strong> " provider, and paste these values:"</p>
            <Loaded resource=settings what="Rosetta's values for Atlassian" let:s>
                <IdpValues settings=s/>
            </Loaded>
        </section>
        <Loaded resource=sps what="the applications" let:list>
            <StepsTwoAndThree existing=list.into_iter().find(|sp| sp.preset == Preset::Atlassian) sps=sps/>
        </Loaded>
    }
}

/// What an admin pastes into Atlassian (or any SAML SP): shown here only.
#[component]
fn IdpValues(settings: TenantSettings) -> impl IntoView {
    let idp = settings.details.idp;
    let cert = idp.certificates.first().map(|c| c.pem.clone()).unwrap_or_default();
    let download = format!("data:application/x-pem-file;charset=utf-8,{}", percent_encode(&cert));
    let file = format!("rosetta-{}.pem", settings.details.tenant.slug);
    view! {
        <h3 class="visually-hidden">"Paste into Atlassian"</h3>
        <dl class="values">
            <Copyable label="Identity provider Entity ID" id="idp-entity-id" value=idp.entity_id.clone()/>
            <Copyable label="Identity provider SSO URL" id="idp-sso-url" value=idp.sso_url.clone()/>
            <div class="copyable">
                <dt>"Public x509 certificate"</dt>
                <dd class="cert">
                    <pre id="idp-certificate">{cert}</pre>
                    <a class="button secondary small" href=download download=file>"Download the certificate"</a>
                </dd>
            </div>
        </dl>
        <p class="muted small">"Metadata, for tools that read it: " <code>{idp.metadata_url}</code></p>
    }
}

#[component]
fn StepsTwoAndThree(
    existing: Option<ServiceProvider>,
    sps: LocalResource<Result<Vec<ServiceProvider>, crate::api::Failure>>,
) -> impl IntoView {
    let auth = use_auth();
    let api = use_api();
    let notices = use_notices();
    let form = FormState::new();
    let (entity_id, acs_url) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = CreateServiceProviderRequest {
            name: NAME.into(),
            preset: Preset::Atlassian,
            entity_id: entity_id.get_untracked().trim().to_owned(),
            acs_urls: vec![acs_url.get_untracked().trim().to_owned()],
            name_id_format: None,
            want_requests_signed: false,
            request_signing_certs: Vec::new(),
        };
        form.run(api.create_service_provider(body), move |_| {
            notices.say("Saved. Atlassian users will sign in through Rosetta.");
            sps.refetch();
        });
    };
    let tenant_url = auth.tenant().map(|t| t.url).unwrap_or_default();
    let saved = existing.is_some();
    view! {
        <section class="panel wizard-step" aria-labelledby="step-2">
            <p class="step-count">"Step 2 of 3"</p>
            <h2 id="step-2">"Tell Rosetta about Atlassian"</h2>
            {match existing.clone() {
                Some(sp) => view! {
                    <p class="notice ok">"Saved: Rosetta answers Atlassian's sign-in requests."</p>
                    <dl class="values">
                        <div class="copyable"><dt>"Service provider entity URL"</dt><dd><code>{sp.entity_id}</code></dd></div>
                        <div class="copyable"><dt>"Service provider assertion consumer service URL"</dt>
                            <dd><code>{sp.acs.first().map(|a| a.url.clone()).unwrap_or_default()}</code></dd></div>
                    </dl>
                    <p class="muted small">"To change them, or what Atlassian receives, go to " <a href="/applications">"Applications"</a> "."</p>
                }.into_any(),
                None => view! {
                    <p>"Atlassian then shows two values of its own. Paste them here:"</p>
                    <form on:submit=submit novalidate>
                        <Field label="Service provider entity URL" name="entity_id" kind="url" value=entity_id error=form.field("entity_id")
                            placeholder="https://auth.atlassian.com/saml/…"/>
                        <Field label="Service provider assertion consumer service URL" name="acs_urls" kind="url" value=acs_url error=form.field("acs_urls")
                            placeholder="https://auth.atlassian.com/login/callback?connection=saml-…"/>
                        <FormStatus form=form/>
                        <button type="submit" class="button primary" disabled=move || form.busy.get()>"Save"</button>
                    </form>
                }.into_any(),
            }}
        </section>
        <section class="panel wizard-step" id="try" aria-labelledby="step-3" class:inactive=!saved>
            {match existing {
                Some(sp) => {
                    let test = format!("{tenant_url}saml/init/{}", sp.name);
                    view! {
                        <p class="step-count">"Step 3 of 3"</p>
                        <h2 id="step-3">"Try it"</h2>
                        <p>"With an identity provider set up (" <a href="/sources">"Identity providers"</a>
                           "), open this test login in a private window. The overview ticks “first login” once it gets through."</p>
                        <p class="test-link"><a id="test-login" href=test.clone() target="_blank" rel="noopener">{test.clone()}</a></p>
                    }.into_any()
                }
                None => view! {
                    <h2 id="step-3">"Then: try it"</h2>
                    <p class="muted">"Once Atlassian's values are saved, a test login link appears here."</p>
                }.into_any(),
            }}
        </section>
    }
}
