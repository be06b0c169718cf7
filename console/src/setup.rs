//! Setting a tenant up: Rosetta's IdP values (copy buttons, certificate download), the
//! Atlassian wizard, and identity providers with "test connection".

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use rosetta_api::{
    AttributeRule, Claim, ConnectionTest, CreateIdentitySourceRequest, CreateServiceProviderRequest, IdentitySource,
    ImportServiceProviderRequest, Preset, ServiceProvider, Session, SpMfaPolicy, TenantSettings,
    UpdateServiceProviderRequest,
};

use crate::api::{self, Failure};
use crate::{Field, FormState, Status};

/// One value with a copy button.
#[component]
fn Copyable(label: &'static str, id: &'static str, value: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let text = value.clone();
    let copy = move |_| {
        // The browser may refuse (no permission): the value stays selectable either way.
        let _ = window().navigator().clipboard().write_text(&text);
        copied.set(true);
    };
    view! {
        <dt>{label}</dt>
        <dd>
            <code id=id>{value}</code>
            " "
            <button type="button" class="link" on:click=copy aria-label=format!("Copy {label}")>
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
        </dd>
    }
}

/// What an admin pastes into Atlassian (or any SAML SP).
#[component]
pub(crate) fn IdpValues(settings: TenantSettings) -> impl IntoView {
    let idp = settings.details.idp;
    let cert = idp.certificates.first().map(|c| c.pem.clone()).unwrap_or_default();
    let download = format!("data:application/x-pem-file;charset=utf-8,{}", percent_encode(&cert));
    let file = format!("rosetta-{}.pem", settings.details.tenant.slug);
    view! {
        <h2>"Paste into Atlassian"</h2>
        <p>"Atlassian Administration → Security → Identity providers → SAML single sign-on:"</p>
        <dl>
            <Copyable label="Identity provider Entity ID" id="idp-entity-id" value=idp.entity_id.clone()/>
            <Copyable label="Identity provider SSO URL" id="idp-sso-url" value=idp.sso_url.clone()/>
            <dt>"Public x509 certificate"</dt>
            <dd>
                <pre id="idp-certificate">{cert}</pre>
                <a href=download download=file>"Download the certificate"</a>
            </dd>
        </dl>
    }
}

/// Percent-encodes everything but unreserved characters (for data: URLs and queries).
pub(crate) fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Three steps: Rosetta's values for Atlassian; Atlassian's values for Rosetta; a test login.
#[component]
pub(crate) fn AtlassianWizard(session: Session) -> impl IntoView {
    let settings: RwSignal<Option<Result<TenantSettings, Failure>>> = RwSignal::new(None);
    spawn_local(async move { settings.set(Some(api::get::<TenantSettings>("tenant").await)) });
    let form = FormState::new();
    let (entity_id, acs_url) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let created: RwSignal<Option<ServiceProvider>> = RwSignal::new(None);
    let csrf = session.csrf_token.clone();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = CreateServiceProviderRequest {
            name: "atlassian".into(),
            preset: Preset::Atlassian,
            entity_id: entity_id.get_untracked().trim().to_owned(),
            acs_urls: vec![acs_url.get_untracked().trim().to_owned()],
            name_id_format: None,
            want_requests_signed: false,
            request_signing_certs: Vec::new(),
        };
        let csrf = csrf.clone();
        form.busy.set(true);
        form.failure.set(None);
        spawn_local(async move {
            match api::post::<_, ServiceProvider>("service-providers", &body, Some(&csrf)).await {
                Ok(sp) => created.set(Some(sp)),
                Err(f) => form.failure.set(Some(f)),
            }
            form.busy.set(false);
        });
    };
    let tenant_url = session.tenant.as_ref().map(|t| t.url.clone()).unwrap_or_default();
    view! {
        <h1>"Set up Atlassian"</h1>
        <h2>"Step 1 of 3: tell Atlassian about Rosetta"</h2>
        <p>"In Atlassian Administration, open Security → Identity providers, add a SAML single sign-on provider, and paste these values:"</p>
        {move || match settings.get() {
            None => view! { <p aria-busy="true">"Loading…"</p> }.into_any(),
            Some(Err(f)) => view! { <p class="error" role="alert">{f.message()}</p> }.into_any(),
            Some(Ok(s)) => view! { <IdpValues settings=s/> }.into_any(),
        }}
        <h2>"Step 2 of 3: tell Rosetta about Atlassian"</h2>
        <p>"Atlassian then shows two values of its own. Paste them here:"</p>
        <form on:submit=submit novalidate>
            <Field label="Service provider entity URL" name="entity_id" kind="url" autocomplete="off" value=entity_id error=form.field("entity_id")/>
            <Field label="Service provider assertion consumer service URL" name="acs_urls" kind="url" autocomplete="off" value=acs_url error=form.field("acs_urls")/>
            <Status form=form/>
            <button type="submit" disabled=move || form.busy.get() || created.get().is_some()>"Save"</button>
        </form>
        {move || created.get().map(|sp| {
            let test = format!("{tenant_url}saml/init/{}", sp.name);
            view! {
                <p class="ok" role="status">"Saved. Atlassian users will sign in through Rosetta."</p>
                <h2>"Step 3 of 3: try it"</h2>
                <p>"Make sure an identity provider is set up (" <a href="/sources">"Identity providers"</a> "), then open a test login in a private window:"</p>
                <p><a id="test-login" href=test.clone() target="_blank" rel="noopener">{test.clone()}</a></p>
            }
        })}
    }
}

/// The tenant's identity providers: add one, see the redirect URI, test the connection.
#[component]
pub(crate) fn Sources(session: Session) -> impl IntoView {
    let sources: RwSignal<Vec<IdentitySource>> = RwSignal::new(Vec::new());
    let load = move || spawn_local(async move { sources.set(api::get("identity-sources").await.unwrap_or_default()) });
    load();
    let form = FormState::new();
    let (name, issuer, client_id, secret, domains) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let csrf = session.csrf_token.clone();
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
        };
        let csrf = csrf.clone();
        form.busy.set(true);
        form.failure.set(None);
        spawn_local(async move {
            match api::post::<_, IdentitySource>("identity-sources", &body, Some(&csrf)).await {
                Ok(_) => {
                    for field in [name, issuer, client_id, secret, domains] {
                        field.set(String::new());
                    }
                    load();
                }
                Err(f) => form.failure.set(Some(f)),
            }
            form.busy.set(false);
        });
    };
    let csrf = session.csrf_token.clone();
    view! {
        <h1>"Identity providers"</h1>
        <p>"Your company's OpenID Connect provider (Google Workspace, Entra ID, Okta, Auth0, Keycloak…). People sign in there; Rosetta passes them on to Atlassian."</p>
        <ul class="sources">
            <For each=move || sources.get() key=|s| s.id.clone() let:source>
                <SourceRow source=source csrf=csrf.clone()/>
            </For>
        </ul>
        <h2>"Add an identity provider"</h2>
        <form on:submit=submit novalidate>
            <Field label="Short name (letters, digits, -)" name="name" kind="text" autocomplete="off" value=name error=form.field("name")/>
            <Field label="Issuer URL" name="issuer" kind="url" autocomplete="off" value=issuer error=form.field("issuer")/>
            <Field label="Client ID" name="client_id" kind="text" autocomplete="off" value=client_id error=form.field("client_id")/>
            <Field label="Client secret (never shown again)" name="client_secret" kind="password" autocomplete="off" value=secret error=form.field("client_secret")/>
            <Field label="Email domains (comma-separated)" name="domains" kind="text" autocomplete="off" value=domains error=form.field("domains")/>
            <Status form=form/>
            <button type="submit" disabled=move || form.busy.get()>"Add"</button>
        </form>
    }
}

/// One provider with its redirect URI and a "test connection" button.
#[component]
fn SourceRow(source: IdentitySource, csrf: String) -> impl IntoView {
    let result: RwSignal<Option<Result<ConnectionTest, Failure>>> = RwSignal::new(None);
    let busy = RwSignal::new(false);
    let id = source.id.clone();
    let test = move |_| {
        let (id, csrf) = (id.clone(), csrf.clone());
        busy.set(true);
        spawn_local(async move {
            let path = format!("identity-sources/{id}/test");
            result.set(Some(
                api::post::<_, ConnectionTest>(&path, &serde_json::json!({}), Some(&csrf)).await,
            ));
            busy.set(false);
        });
    };
    view! {
        <li>
            <strong>{source.name.clone()}</strong> " — " <code>{source.issuer.clone()}</code>
            <br/> "Domains: " {source.domains.join(", ")}
            <br/> "Redirect URI to register at the provider: " <code class="redirect-uri">{source.redirect_uri.clone()}</code>
            <br/> <button type="button" class="test-connection" on:click=test disabled=move || busy.get()>"Test connection"</button>
            {move || result.get().map(|r| match r {
                Ok(t) => view! {
                    <ul class="steps" aria-live="polite">
                        {t.steps.into_iter().map(|s| view! {
                            <li class=if s.ok { "ok" } else { "error" }>
                                {if s.ok { "✓ " } else { "✗ " }} <strong>{format!("{:?}", s.step).to_lowercase()}</strong> ": " {s.message}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any(),
                Err(f) => view! { <p class="error" role="alert">{f.message()}</p> }.into_any(),
            })}
        </li>
    }
}

/// Any SAML 2.0 application, from its metadata (pasted XML or an https URL).
#[component]
pub(crate) fn Applications(session: Session) -> impl IntoView {
    let sps: RwSignal<Vec<ServiceProvider>> = RwSignal::new(Vec::new());
    let load = move || spawn_local(async move { sps.set(api::get("service-providers").await.unwrap_or_default()) });
    load();
    let form = FormState::new();
    let (name, url, xml) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let csrf = session.csrf_token.clone();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (u, x) = (url.get_untracked(), xml.get_untracked());
        let body = ImportServiceProviderRequest {
            name: name.get_untracked().trim().to_owned(),
            preset: Some(Preset::Generic),
            metadata_url: (!u.trim().is_empty()).then(|| u.trim().to_owned()),
            metadata_xml: (!x.trim().is_empty()).then_some(x),
        };
        let csrf = csrf.clone();
        form.busy.set(true);
        form.failure.set(None);
        spawn_local(async move {
            match api::post::<_, ServiceProvider>("service-providers/import", &body, Some(&csrf)).await {
                Ok(sp) => {
                    form.done.set(Some(format!("Added {}.", sp.entity_id)));
                    for field in [name, url, xml] {
                        field.set(String::new());
                    }
                    load();
                }
                Err(f) => form.failure.set(Some(f)),
            }
            form.busy.set(false);
        });
    };
    view! {
        <h1>"Applications"</h1>
        <ul id="application-list">
            <For each=move || sps.get() key=|sp| sp.id.clone() let:sp>
                <li><strong>{sp.name.clone()}</strong> " — " <code>{sp.entity_id.clone()}</code>
                    " — ACS " <code>{sp.acs.first().map(|a| a.url.clone()).unwrap_or_default()}</code>
                    <SpEditor sp=sp.clone() csrf=session.csrf_token.clone()/>
                </li>
            </For>
        </ul>
        <h2>"Add a SAML application from its metadata"</h2>
        <form on:submit=submit novalidate>
            <Field label="Short name (letters, digits, -)" name="name" kind="text" autocomplete="off" value=name error=form.field("name")/>
            <Field label="Metadata URL (https)" name="metadata_url" kind="url" autocomplete="off" value=url error=form.field("metadata_url")/>
            <label for="field-metadata_xml">"…or the metadata XML"</label>
            <textarea id="field-metadata_xml" rows="6" prop:value=move || xml.get() on:input=move |ev| xml.set(event_target_value(&ev))></textarea>
            {move || form.field("metadata_xml").get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <Status form=form/>
            <button type="submit" id="import-sp" disabled=move || form.busy.get()>"Add"</button>
        </form>
    }
}

const CLAIMS: [(Claim, &str); 5] = [
    (Claim::Email, "email"),
    (Claim::GivenName, "given name"),
    (Claim::FamilyName, "family name"),
    (Claim::Name, "full name"),
    (Claim::UserId, "stable user ID"),
];

const MFA_CHOICES: [(SpMfaPolicy, &str); 4] = [
    (SpMfaPolicy::Inherit, "as the organisation"),
    (SpMfaPolicy::Off, "never"),
    (SpMfaPolicy::Optional, "offered"),
    (SpMfaPolicy::Required, "always"),
];

/// The attributes an application receives (which value under which SAML name) and its
/// two-step sign-in rule.
#[component]
fn SpEditor(sp: ServiceProvider, csrf: String) -> impl IntoView {
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
        let (id, csrf) = (id.clone(), csrf.clone());
        form.busy.set(true);
        form.failure.set(None);
        spawn_local(async move {
            match api::patch::<_, ServiceProvider>(&format!("service-providers/{id}"), &body, &csrf).await {
                Ok(_) => form.done.set(Some("Saved.".into())),
                Err(f) => form.failure.set(Some(f)),
            }
            form.busy.set(false);
        });
    };
    let prefix = sp.name.clone();
    view! {
        <details id=format!("{}-editor", sp.name)>
            <summary>"Attributes and two-step sign-in"</summary>
            <form on:submit=save class="sp-editor">
                <div class="table-wrap"><table>
                    <thead><tr><th scope="col">"SAML attribute name"</th><th scope="col">"Value"</th></tr></thead>
                    <tbody>
                        {move || rules.get().into_iter().enumerate().map(|(i, rule)| {
                            let name_id = format!("{prefix}-attr-{i}");
                            view! {
                                <tr>
                                    <td><input id=name_id.clone() aria-label="SAML attribute name" prop:value=rule.name.clone()
                                        on:change=move |ev| rules.update(|r| r[i].name = event_target_value(&ev))/></td>
                                    <td><select aria-label="Value" on:change=move |ev| {
                                        let chosen = event_target_value(&ev);
                                        if let Some((claim, _)) = CLAIMS.iter().find(|(_, l)| *l == chosen) {
                                            rules.update(|r| r[i].claim = *claim);
                                        }
                                    }>
                                        {CLAIMS.iter().map(|(claim, label)| view! {
                                            <option value=*label selected=*claim == rule.claim>{*label}</option>
                                        }).collect_view()}
                                    </select></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table></div>
                <label for=format!("{}-mfa", sp.name)>"Two-step sign-in for this application"</label>
                <select id=format!("{}-mfa", sp.name) on:change=move |ev| {
                    let chosen = event_target_value(&ev);
                    if let Some((policy, _)) = MFA_CHOICES.iter().find(|(_, l)| *l == chosen) {
                        mfa.set(*policy);
                    }
                }>
                    {MFA_CHOICES.iter().map(|(policy, label)| view! {
                        <option value=*label selected=*policy == sp.mfa_policy>{*label}</option>
                    }).collect_view()}
                </select>
                <Status form=form/>
                <button type="submit" id=format!("{}-save", sp.name) disabled=move || form.busy.get()>"Save"</button>
            </form>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(percent_encode("ada@acme.example"), "ada%40acme.example");
        assert_eq!(percent_encode("x y&z=1"), "x%20y%26z%3D1");
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(percent_encode("-----BEGIN\n"), "-----BEGIN%0A");
    }
}
