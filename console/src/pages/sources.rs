//! Identity providers: the tenant's OpenID Connect providers, the redirect URI to register
//! at each, "test connection", a Test login through one (`test_login`), whether Rosetta checks
//! that people still exist there (offline access), which claim carries groups, adding one from
//! a preset (Google, Entra ID, Okta…: the form filled in, what to set up at the provider, what
//! Rosetta checks) and deleting one. Client secrets are write-only.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use rosetta_api::{
    ConnectionStepKind, ConnectionTest, CreateIdentitySourceRequest, DomainVerification, IdentitySource, SourcePreset,
    SourcePresetInfo, UpdateIdentitySourceRequest,
};

use super::test_login::{TestLogin, Tested};
use crate::api::Failure;
use crate::session::{use_api, use_auth};
use crate::ui::{
    CheckBox, Confirm, Copyable, Empty, Field, FieldAt, FormState, FormStatus, Loaded, PageHeader, use_notices,
};

/// What offline access does, under its checkbox.
const OFFLINE_ACCESS_HELP: &str = "Rosetta asks the provider for a refresh token once per person and uses it every few hours. \
     If the provider refuses it (the account was disabled or deleted), the person is deactivated in every application.";

/// What the two Entra ID settings do, under their checkboxes.
const ALLOW_GUESTS_HELP: &str =
    "Guest accounts (#EXT#, invited from other organisations) may sign in. Off: they are refused.";
const GROUP_OVERAGE_HELP: &str = "When someone is in more groups than the token carries, Rosetta reads them from Microsoft Graph \
     with this provider's client ID and secret (the app needs GroupMember.Read.All with admin consent). Off: their groups are left unknown.";

type SourcesResource = LocalResource<Result<Vec<IdentitySource>, Failure>>;

/// A preset's name for people, when the list of presets is not at hand.
fn preset_label(preset: SourcePreset) -> &'static str {
    match preset {
        SourcePreset::Generic => "OpenID provider",
        SourcePreset::Google => "Google Workspace",
        SourcePreset::Entra => "Microsoft Entra ID",
        SourcePreset::Okta => "Okta",
        SourcePreset::Auth0 => "Auth0",
        SourcePreset::Keycloak => "Keycloak",
        SourcePreset::Gitlab => "GitLab",
    }
}

/// A preset as the API writes it (for IDs and tests).
fn preset_code(preset: SourcePreset) -> &'static str {
    match preset {
        SourcePreset::Generic => "generic",
        SourcePreset::Google => "google",
        SourcePreset::Entra => "entra",
        SourcePreset::Okta => "okta",
        SourcePreset::Auth0 => "auth0",
        SourcePreset::Keycloak => "keycloak",
        SourcePreset::Gitlab => "gitlab",
    }
}

/// The `{placeholders}` left in an issuer.
fn placeholders(issuer: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = issuer;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else { break };
        found.push(rest[start..=start + len].to_owned());
        rest = &rest[start + len + 1..];
    }
    found
}

/// The callback URL of a source named `name` of the tenant at `tenant_url` (as the server
/// builds it: the tenant's base URL, `oidc/callback/`, the name).
fn redirect_uri(tenant_url: &str, name: &str) -> String {
    format!("{}/oidc/callback/{name}", tenant_url.trim_end_matches('/'))
}

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

/// One provider with its redirect URI, "test connection", Test login and delete.
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
                    <h2 class="card-title">{source.name.clone()} " " <span class="badge source-preset">{preset_label(source.preset)}</span></h2>
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
                <div class="copyable"><dt>"Groups claim"</dt><dd class="groups-claim">{if source.groups_claim.is_empty() {
                    view! { <span class="muted">"none: groups are not read"</span> }.into_any()
                } else {
                    view! { <code>{source.groups_claim.clone()}</code> }.into_any()
                }}</dd></div>
                {(source.preset == SourcePreset::Entra).then(|| view! {
                    <div class="copyable"><dt>"Guest accounts"</dt><dd class="allow-guests">{if source.allow_guests { "allowed" } else { "refused" }}</dd></div>
                    <div class="copyable"><dt>"Group overage"</dt><dd class="group-overage">{if source.fetch_group_overage {
                        "fetched from Microsoft Graph"
                    } else {
                        "not fetched: groups left unknown"
                    }}</dd></div>
                })}
                <div class="copyable"><dt>"Email domains"</dt><dd>{if source.domains.is_empty() { "any".to_owned() } else { source.domains.join(", ") }}</dd></div>
                <Copyable label="Redirect URI to register at the provider" id=format!("redirect-uri-{}", source.name) value=source.redirect_uri.clone()/>
                <div class="copyable"><dt>"Offline access"</dt><dd class="offline-access">{if source.offline_access {
                    "On: Rosetta checks every few hours that people still exist at the provider."
                } else {
                    "Off: Rosetta does not check whether people still exist there."
                }}</dd></div>
            </dl>
            <TestLogin tested=Tested::Source id=source.id.clone() name=source.name.clone()/>
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

/// A provider's settings changed in place: offline access, the groups claim, and for Entra ID
/// guests and group overage.
#[component]
fn SourceEditor(source: IdentitySource, sources: SourcesResource) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let form = FormState::new();
    let offline = RwSignal::new(source.offline_access);
    let groups_claim = RwSignal::new(source.groups_claim.clone());
    let allow_guests = RwSignal::new(source.allow_guests);
    let overage = RwSignal::new(source.fetch_group_overage);
    let entra = source.preset == SourcePreset::Entra;
    let id = source.id.clone();
    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = UpdateIdentitySourceRequest {
            offline_access: Some(offline.get_untracked()),
            groups_claim: Some(groups_claim.get_untracked().trim().to_owned()),
            allow_guests: entra.then(|| allow_guests.get_untracked()),
            fetch_group_overage: entra.then(|| overage.get_untracked()),
            ..UpdateIdentitySourceRequest::default()
        };
        form.run(api.update_identity_source(id.clone(), body), move |s| {
            notices.say(format!("Saved {}.", s.name));
            sources.refetch();
        });
    };
    let name = source.name.clone();
    view! {
        <details id=format!("{name}-settings") class="editor">
            <summary>"Settings"</summary>
            <form on:submit=save class="narrow">
                <CheckBox id=format!("{name}-offline-access")
                    label="Check that people still exist at the provider (offline access)"
                    help=OFFLINE_ACCESS_HELP checked=offline/>
                <FieldAt id=format!("{name}-groups-claim") label="Groups claim" value=groups_claim error=form.field("groups_claim")
                    hint="The claim of the ID token that lists people's groups; empty: groups are not read."/>
                {entra.then(|| view! {
                    <CheckBox id=format!("{name}-allow-guests") label="Allow guest accounts" help=ALLOW_GUESTS_HELP checked=allow_guests/>
                    <CheckBox id=format!("{name}-group-overage") label="Fetch group overage from Microsoft Graph"
                        help=GROUP_OVERAGE_HELP checked=overage/>
                })}
                <FormStatus form=form/>
                <button type="submit" class="button primary" id=format!("{name}-save") disabled=move || form.busy.get()>"Save"</button>
            </form>
        </details>
    }
}

type PresetsResource = LocalResource<Result<Vec<SourcePresetInfo>, Failure>>;

/// The preset chooser, then the form it fills in, with what to do at the provider beside it.
/// The form works at once (as for any OpenID provider) while the presets load.
#[component]
fn AddSource(sources: SourcesResource) -> impl IntoView {
    let api = use_api();
    let auth = use_auth();
    let notices = use_notices();
    let form = FormState::new();
    let presets: PresetsResource = LocalResource::new(move || api.identity_source_presets());
    let (name, issuer, client_id, secret, domains, scopes, groups_claim) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new("email profile".to_owned()),
        RwSignal::new(String::new()),
    );
    let (offline, allow_guests, overage) = (RwSignal::new(false), RwSignal::new(false), RwSignal::new(false));
    let chosen = RwSignal::new(SourcePreset::Generic);
    let find = move |preset: SourcePreset, list: Option<Result<Vec<SourcePresetInfo>, Failure>>| {
        list.and_then(Result::ok)
            .and_then(|list| list.into_iter().find(|p| p.preset == preset))
    };
    let info = Memo::new(move |_| find(chosen.get(), presets.get()));
    // The issuer the preset filled in: replaced by the next preset unless the admin changed it.
    let filled_issuer = RwSignal::new(String::new());
    let choose = move |preset: SourcePreset| {
        chosen.set(preset);
        let Some(p) = find(preset, presets.get_untracked()) else {
            return;
        };
        let template = if preset == SourcePreset::Generic {
            String::new()
        } else {
            p.issuer_template.clone()
        };
        if issuer.with_untracked(|i| i.trim().is_empty() || *i == filled_issuer.get_untracked()) {
            issuer.set(template.clone());
        }
        filled_issuer.set(template);
        scopes.set(p.scopes.join(" "));
        groups_claim.set(p.groups_claim.clone());
        allow_guests.set(false);
        overage.set(false);
        form.failure.set(None);
    };
    let issuer_problem = RwSignal::new(None::<String>);
    let issuer_error = Signal::derive(move || issuer_problem.get().or_else(|| form.field("issuer").get()));
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        issuer_problem.set(None);
        let typed_issuer = issuer.get_untracked().trim().to_owned();
        let left = placeholders(&typed_issuer);
        if !left.is_empty() {
            issuer_problem.set(Some(format!(
                "Replace {} in the issuer with your own value.",
                left.join(" and ")
            )));
            return;
        }
        let preset = chosen.get_untracked();
        let entra = preset == SourcePreset::Entra;
        let body = CreateIdentitySourceRequest {
            name: name.get_untracked().trim().to_owned(),
            issuer: typed_issuer,
            client_id: client_id.get_untracked().trim().to_owned(),
            client_secret: secret.get_untracked(),
            scopes: scopes
                .get_untracked()
                .split([',', ' '])
                .filter(|s| !s.is_empty() && *s != "openid")
                .map(str::to_owned)
                .collect(),
            domains: domains
                .get_untracked()
                .split([',', ' '])
                .filter(|d| !d.is_empty())
                .map(str::to_owned)
                .collect(),
            use_userinfo: false,
            offline_access: offline.get_untracked(),
            preset,
            groups_claim: Some(groups_claim.get_untracked().trim().to_owned()),
            allow_guests: entra && allow_guests.get_untracked(),
            fetch_group_overage: entra && overage.get_untracked(),
        };
        form.run(api.create_identity_source(body), move |s| {
            notices.say(format!(
                "Added {}. Register its redirect URI at the provider, then test it.",
                s.name
            ));
            for field in [name, issuer, client_id, secret, domains] {
                field.set(String::new());
            }
            filled_issuer.set(String::new());
            for flag in [offline, allow_guests, overage] {
                flag.set(false);
            }
            choose(chosen.get_untracked());
            sources.refetch();
        });
    };
    let tenant_url = move || auth.tenant().map(|t| t.url).unwrap_or_default();
    let issuer_hint = move || {
        let left = issuer.with(|i| placeholders(i));
        (!left.is_empty()).then(|| {
            view! {
                <p class="hint issuer-placeholders">{format!(
                    "Replace {} with your own value: the steps beside the form say where to find it.",
                    left.join(" and ")
                )}</p>
            }
        })
    };
    let chooser = move |list: Vec<SourcePresetInfo>| {
        list.into_iter()
            .map(|p| {
                let preset = p.preset;
                view! {
                    <li>
                        <button type="button" id=format!("preset-{}", preset_code(preset)) class="preset-card"
                            aria-pressed=move || if chosen.get() == preset { "true" } else { "false" }
                            on:click=move |_| choose(preset)>
                            <span class="preset-label">{p.label}</span>
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="panel" aria-labelledby="add-source-title">
        <h2 id="add-source-title">"Add an identity provider"</h2>
        <div class="preset-chooser">
            <p id="preset-chooser-title"><strong>"Which provider?"</strong>
                <span class="muted">" Its checks apply at every sign-in through it; the form below is filled in for it."</span></p>
            <Loaded resource=presets what="the kinds of identity provider" let:list>
                <ul class="preset-cards" aria-labelledby="preset-chooser-title">{chooser(list)}</ul>
            </Loaded>
        </div>
        <div class="add-source">
            <form on:submit=submit novalidate class="narrow" id="add-source-form">
                <Field label="Short name" name="name" value=name error=form.field("name")
                    hint="Letters, digits and -; it appears in the redirect URI."/>
                <Field label="Issuer URL" name="issuer" kind="url" value=issuer error=issuer_error
                    placeholder="https://login.example.com"/>
                {issuer_hint}
                <Field label="Client ID" name="client_id" value=client_id error=form.field("client_id")/>
                <Field label="Client secret" name="client_secret" kind="password" autocomplete="new-password" value=secret error=form.field("client_secret")
                    hint="Stored encrypted and never shown again."/>
                <Field label="Email domains" name="domains" value=domains error=form.field("domains")
                    hint="Comma-separated; people with these addresses sign in here." placeholder="example.com"/>
                <Field label="Scopes" name="scopes" value=scopes error=form.field("scopes")
                    hint="Space-separated, besides openid, which is always asked."/>
                <Field label="Groups claim" name="groups_claim" value=groups_claim error=form.field("groups_claim")
                    hint="The claim of the ID token that lists people's groups; empty: groups are not read."/>
                <CheckBox id="offline-access" label="Check that people still exist at the provider (offline access)"
                    help=OFFLINE_ACCESS_HELP checked=offline/>
                <Show when=move || chosen.get() == SourcePreset::Entra>
                    <CheckBox id="allow-guests" label="Allow guest accounts" help=ALLOW_GUESTS_HELP checked=allow_guests/>
                    <CheckBox id="fetch-group-overage" label="Fetch group overage from Microsoft Graph"
                        help=GROUP_OVERAGE_HELP checked=overage/>
                </Show>
                <FormStatus form=form/>
                <button type="submit" id="add-source" class="button primary" disabled=move || form.busy.get()>"Add"</button>
            </form>
            <aside class="preset-guide" id="preset-guide" aria-label="At the provider">
                {move || info.get().map(|p| {
                    let typed = name.get().trim().to_owned();
                    view! {
                        <h3>{format!("At {}", p.label)}</h3>
                        <ol class="preset-steps" id="preset-steps">
                            {p.steps.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}
                        </ol>
                        {if typed.is_empty() {
                            view! { <p class="muted redirect-later">"Its redirect URI appears here once the short name is filled in."</p> }.into_any()
                        } else {
                            view! {
                                <dl class="values">
                                    <Copyable label="Redirect URI" id="redirect-uri-new" value=redirect_uri(&tenant_url(), &typed)/>
                                </dl>
                            }.into_any()
                        }}
                        <h3>"What Rosetta checks at each sign-in"</h3>
                        <ul class="preset-checks" id="preset-checks">
                            {p.checks.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}
                        </ul>
                        <h3>"Offline access"</h3>
                        <p class="preset-offline">{p.offline_access.clone()}</p>
                    }
                })}
            </aside>
        </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_in_braces() {
        assert_eq!(
            placeholders("https://login.microsoftonline.com/{tenant-id}/v2.0"),
            vec!["{tenant-id}"]
        );
        assert_eq!(
            placeholders("https://{tenant}.{region}.auth0.com/"),
            vec!["{tenant}", "{region}"]
        );
        assert!(placeholders("https://accounts.google.com").is_empty());
    }

    #[test]
    fn redirect_uris_are_built_like_the_server_does() {
        assert_eq!(
            redirect_uri("http://acme.localhost:8080/", "corp"),
            "http://acme.localhost:8080/oidc/callback/corp"
        );
    }
}
