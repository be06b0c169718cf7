//! The preview of what an application would receive, shared by its Attributes & NameID and
//! Groups pages: for a person who signed in (their last login's claims) or for sample
//! claims pasted as JSON, with the rules being edited (not saved yet). It shows the NameID,
//! each attribute's values, the groups before and after the groups rule, and the problems
//! (those that refuse the login apart).

use leptos::prelude::*;
use leptos::task::spawn_local;
use rosetta_api::{EndUser, EndUserQuery, Mapping, MappingPreview, MappingPreviewRequest, PreviewProblem};

use super::mapping::name_id_format_label;
use crate::api::Failure;
use crate::session::use_api;
use crate::ui::{FormState, TextArea};

/// How many people a search lists.
const FOUND: u64 = 10;

/// An example for the sample claims.
const EXAMPLE_CLAIMS: &str = r#"{
  "email": "ada@example.com",
  "email_verified": true,
  "given_name": "Ada",
  "family_name": "Lovelace",
  "name": "Ada Lovelace",
  "department": "R&D",
  "groups": ["eng-all", "sales"]
}"#;

/// Whom the preview runs for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Subject {
    /// Claims pasted here.
    Sample,
    /// A person who signed in: their last login's claims.
    Person,
}

/// Whether a failure is about the rules (shown by the rules being edited) rather than about
/// whom the preview runs for.
fn about_rules(f: &Failure) -> bool {
    matches!(f, Failure::Api(e) if e.fields.iter().any(|x| x.field != "claims_json" && x.field != "user_id"))
}

#[component]
pub fn PreviewPanel(
    sp_id: String,
    /// The mapping being edited, as it stands.
    mapping: Callback<(), Mapping>,
    /// The editor's failure: rule errors found by the preview go there, by their rules.
    rule_errors: RwSignal<Option<Failure>>,
    /// Groups before attributes (the Groups page).
    #[prop(optional)]
    groups_first: bool,
) -> impl IntoView {
    let api = use_api();
    let subject = RwSignal::new(Subject::Sample);
    let claims = RwSignal::new(String::new());
    let typed = RwSignal::new(String::new());
    let found: RwSignal<Option<Result<Vec<EndUser>, Failure>>> = RwSignal::new(None);
    let searching = RwSignal::new(false);
    let chosen: RwSignal<Option<EndUser>> = RwSignal::new(None);
    let missing = RwSignal::new(None::<String>);
    let form = FormState::new();
    let result: RwSignal<Option<MappingPreview>> = RwSignal::new(None);
    let claims_error = Signal::derive(move || {
        (subject.get() == Subject::Sample)
            .then(|| missing.get())
            .flatten()
            .or_else(|| form.field("claims_json").get())
    });
    let user_error = Signal::derive(move || {
        (subject.get() == Subject::Person)
            .then(|| missing.get())
            .flatten()
            .or_else(|| form.field("user_id").get())
    });

    let search = move |()| {
        let term = typed.get_untracked().trim().to_owned();
        searching.set(true);
        spawn_local(async move {
            let answer = api
                .end_users(EndUserQuery {
                    search: (!term.is_empty()).then_some(term),
                    page: None,
                    per_page: Some(FOUND),
                })
                .await
                .map(|p| p.items);
            found.try_set(Some(answer));
            searching.try_set(false);
        });
    };

    let run = move |_| {
        missing.set(None);
        let body = match subject.get_untracked() {
            Subject::Person => match chosen.get_untracked() {
                Some(user) => MappingPreviewRequest {
                    user_id: Some(user.id),
                    claims_json: None,
                    mapping: Some(mapping.run(())),
                },
                None => {
                    missing.set(Some("Find a person and pick them first.".into()));
                    return;
                }
            },
            Subject::Sample => {
                let text = claims.get_untracked();
                if text.trim().is_empty() {
                    missing.set(Some("Paste claims as a JSON object first (or use the example).".into()));
                    return;
                }
                MappingPreviewRequest {
                    user_id: None,
                    claims_json: Some(text),
                    mapping: Some(mapping.run(())),
                }
            }
        };
        form.busy.set(true);
        form.failure.set(None);
        let id = sp_id.clone();
        spawn_local(async move {
            match api.preview_mapping(id, body).await {
                Ok(p) => {
                    result.try_set(Some(p));
                    // The rules compiled: field errors from an earlier try are stale.
                    rule_errors.try_update(|f| {
                        if f.as_ref().is_some_and(about_rules) {
                            *f = None;
                        }
                    });
                }
                Err(f) => {
                    if about_rules(&f) {
                        result.try_set(None);
                        rule_errors.try_set(Some(f.clone()));
                    }
                    form.failure.try_set(Some(f));
                }
            }
            form.busy.try_set(false);
        });
    };

    let status = move || {
        form.failure.get().map(|f| {
            let text = if about_rules(&f) {
                "The rules being edited have problems: each is shown by its rule.".to_owned()
            } else {
                f.message()
            };
            view! { <p class="notice error" role="alert" id="preview-failure">{text}</p> }
        })
    };

    view! {
        <section class="panel preview" id="mapping-preview" aria-labelledby="preview-title">
            <h2 id="preview-title">"Preview"</h2>
            <p class="muted">"What the application would receive with the rules as edited on this page, saved or not. Nothing is sent to it."</p>
            <fieldset class="preview-subject">
                <legend>"Run it for"</legend>
                <div class="choice">
                    <input type="radio" name="preview-subject" id="preview-sample"
                        prop:checked=move || subject.get() == Subject::Sample
                        on:change=move |_| { subject.set(Subject::Sample); missing.set(None); }/>
                    <label for="preview-sample"><strong>"Sample claims"</strong>
                        <span class="choice-help">"Claims as an ID token carries them, pasted as JSON."</span></label>
                </div>
                <div class="choice">
                    <input type="radio" name="preview-subject" id="preview-person"
                        prop:checked=move || subject.get() == Subject::Person
                        on:change=move |_| { subject.set(Subject::Person); missing.set(None); }/>
                    <label for="preview-person"><strong>"A person who signed in"</strong>
                        <span class="choice-help">"The claims of their last sign-in."</span></label>
                </div>
            </fieldset>
            {move || match subject.get() {
                Subject::Sample => view! {
                    <TextArea label="Sample claims (JSON)" name="claims_json" value=claims error=claims_error rows=9/>
                    <p class="muted small"><button type="button" class="link" id="preview-example"
                        on:click=move |_| claims.set(EXAMPLE_CLAIMS.to_owned())>"Use an example"</button></p>
                }.into_any(),
                Subject::Person => view! {
                    <PersonPicker typed=typed found=found searching=searching chosen=chosen error=user_error
                        on_search=Callback::new(search)/>
                }.into_any(),
            }}
            <div class="form-actions">
                <button type="button" id="run-preview" class="button primary" on:click=run disabled=move || form.busy.get()>
                    {move || if form.busy.get() { "Running…" } else { "Preview" }}
                </button>
            </div>
            {status}
            {move || result.get().map(|p| view! { <PreviewResult p=p groups_first=groups_first/> })}
        </section>
    }
}

/// A search by email or name, and the person picked.
#[component]
fn PersonPicker(
    typed: RwSignal<String>,
    found: RwSignal<Option<Result<Vec<EndUser>, Failure>>>,
    searching: RwSignal<bool>,
    chosen: RwSignal<Option<EndUser>>,
    error: Signal<Option<String>>,
    on_search: Callback<()>,
) -> impl IntoView {
    let list = move || {
        found.get().map(|answer| match answer {
            Err(f) => view! { <p class="notice error" role="alert">{f.message()}</p> }.into_any(),
            Ok(users) if users.is_empty() => {
                view! { <p class="muted preview-nobody">"Nobody who signed in matches."</p> }.into_any()
            }
            Ok(users) => view! {
                <ul class="preview-people">
                    {users.into_iter().map(|u| {
                        let email = u.email.clone();
                        let picked = u.id.clone();
                        view! {
                            <li>
                                <button type="button" class="button secondary small preview-user"
                                    aria-pressed=move || if chosen.with(|c| c.as_ref().is_some_and(|c| c.id == picked)) { "true" } else { "false" }
                                    on:click=move |_| { chosen.set(Some(u.clone())); found.set(None); }>
                                    {email}
                                </button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }
            .into_any(),
        })
    };
    view! {
        <div class="field person-picker" class:invalid=move || error.with(Option::is_some)>
            <label for="preview-search">"Find a person by email or name"</label>
            <div class="toolbar">
                <input id="preview-search" type="search" autocomplete="off" placeholder="ada@"
                    prop:value=move || typed.get() on:input=move |ev| typed.set(event_target_value(&ev))
                    on:keydown=move |ev| if ev.key() == "Enter" { ev.prevent_default(); on_search.run(()); }
                    aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }/>
                <button type="button" id="preview-find" class="button secondary" on:click=move |_| on_search.run(())
                    disabled=move || searching.get()>"Find"</button>
            </div>
            {move || chosen.get().map(|u| view! {
                <p class="preview-chosen">"Previewing for " <strong id="preview-chosen">{u.email}</strong></p>
            })}
            {list}
            {move || error.get().map(|e| view! { <p class="field-error" id="preview-person-error">{e}</p> })}
        </div>
    }
}

/// What the application would receive, and what stops or thins it.
#[component]
fn PreviewResult(p: MappingPreview, groups_first: bool) -> impl IntoView {
    let format = name_id_format_label(&p.name_id_format);
    let name_id = match p.name_id.clone() {
        Some(v) => view! { <code id="preview-name-id">{v}</code> }.into_any(),
        None => view! { <span id="preview-name-id" class="muted">"none"</span> }.into_any(),
    };
    let groups = view! { <PreviewGroups upstream=p.upstream_groups.clone() sent=p.groups.clone()/> };
    let attributes = view! {
        <h3>"Attributes"</h3>
        {if p.attributes.is_empty() {
            view! { <p class="muted">"No attribute: the NameID alone."</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap">
                    <table id="preview-attributes" class="compact">
                        <thead><tr><th scope="col">"SAML attribute"</th><th scope="col">"Values"</th></tr></thead>
                        <tbody>
                            {p.attributes.iter().map(|a| view! {
                                <tr data-attribute=a.name.clone()>
                                    <td class="preview-attribute"><code>{a.name.clone()}</code></td>
                                    <td>{if a.values.is_empty() {
                                        view! { <span class="muted left-out">"left out: no value"</span> }.into_any()
                                    } else {
                                        a.values.iter().map(|v| view! { <code class="preview-value">{v.clone()}</code> " " }).collect_view().into_any()
                                    }}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }
            .into_any()
        }}
    };
    let (first, second) = if groups_first {
        (groups.into_any(), attributes.into_any())
    } else {
        (attributes.into_any(), groups.into_any())
    };
    let refusing = p.problems.iter().any(|x| x.refuses_login);
    view! {
        <div id="preview-result" class="preview-result" data-refused=refusing.to_string()>
            <Problems problems=p.problems.clone()/>
            <p class="preview-line"><span class="preview-label">"NameID "</span>{name_id}
                " " <span class="muted">{format!("({format})")}</span></p>
            {first}
            {second}
            <details class="detail">
                <summary>"The claims it ran on"</summary>
                <pre id="preview-claims">{p.claims_json.clone()}</pre>
            </details>
        </div>
    }
}

/// Problems: those that refuse the login as errors, the others (a value left out) as warnings.
#[component]
fn Problems(problems: Vec<PreviewProblem>) -> impl IntoView {
    if problems.is_empty() {
        return view! { <p class="notice ok" id="preview-ok">"The sign-in would go through."</p> }.into_any();
    }
    let (refusing, warnings): (Vec<_>, Vec<_>) = problems.into_iter().partition(|x| x.refuses_login);
    view! {
        <ul class="preview-problems">
            {refusing.into_iter().map(|x| view! {
                <li class="notice error problem refuses" role="alert" data-rule=x.rule.clone()>
                    <strong>"The sign-in would be refused. "</strong>
                    <code>{x.rule.clone()}</code> ": " {x.message.clone()}
                </li>
            }).collect_view()}
            {warnings.into_iter().map(|x| view! {
                <li class="notice warning problem" data-rule=x.rule.clone()>
                    <code>{x.rule.clone()}</code> ": " {x.message.clone()}
                </li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// The groups as the provider sent them, and those the application receives.
#[component]
fn PreviewGroups(upstream: Option<Vec<String>>, sent: Vec<String>) -> impl IntoView {
    let names = |list: Vec<String>, id: &'static str| {
        view! {
            <ul class="group-names" id=id>
                {list.into_iter().map(|g| view! { <li><code>{g}</code></li> }).collect_view()}
            </ul>
        }
    };
    let from = match upstream {
        None => view! {
            <p class="muted" id="preview-upstream-groups">"Unknown: the provider did not list them (for example an Entra ID group overage that was not fetched)."</p>
        }
        .into_any(),
        Some(list) if list.is_empty() => {
            view! { <p class="muted" id="preview-upstream-groups">"None."</p> }.into_any()
        }
        Some(list) => names(list, "preview-upstream-groups").into_any(),
    };
    let to = if sent.is_empty() {
        view! { <p class="muted" id="preview-groups-sent">"None pass this application's groups rule."</p> }.into_any()
    } else {
        names(sent, "preview-groups-sent").into_any()
    };
    view! {
        <h3>"Groups"</h3>
        <div class="preview-groups grid two">
            <div><h4>"From the identity provider"</h4>{from}</div>
            <div><h4>"Sent to the application"</h4>{to}</div>
        </div>
    }
}
