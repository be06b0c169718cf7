//! What an application receives: its NameID (format and value) and its attributes (where each
//! value comes from, the changes made to it, multi-valued, required), edited as a whole and
//! saved with `PUT …/mapping`, the groups rule kept as loaded (it has its own page,
//! `groups`). The preview beside it runs the rules being edited, before they are saved.
//! Also what the other pages of an application share: the way between them, the mapping of a
//! loaded application, field errors named at run time.

use std::sync::atomic::{AtomicU32, Ordering};

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use rosetta_api::{AttributeRule, Claim, Mapping, NameIdRule, ServiceProvider, Transform, ValueSource};

use super::mapping_preview::PreviewPanel;
use super::provisioning;
use crate::api::{Failure, percent_encode};
use crate::session::use_api;
use crate::ui::{CheckBox, Empty, FieldAt, FormState, FormStatus, Loaded, PageHeader, use_notices};

pub const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
pub const NAMEID_PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
pub const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
pub const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

/// The NameID formats Rosetta writes: URI, name, what the application gets.
const NAME_ID_FORMATS: [(&str, &str, &str); 4] = [
    (
        NAMEID_EMAIL,
        "Email address",
        "The person's email address, or the value chosen below. Atlassian expects this.",
    ),
    (
        NAMEID_PERSISTENT,
        "Persistent",
        "Pairwise: a different stable ID per application, made by Rosetta. Applications cannot match people across each other by it.",
    ),
    (
        NAMEID_TRANSIENT,
        "Transient",
        "A new random ID at every sign-in, made by Rosetta: the application cannot recognise a returning person by it.",
    ),
    (
        NAMEID_UNSPECIFIED,
        "Unspecified",
        "The value chosen below, as the application expects it.",
    ),
];

/// SAML attribute name formats: URI, name.
const NAME_FORMATS: [(&str, &str); 3] = [
    ("urn:oasis:names:tc:SAML:2.0:attrname-format:uri", "URI"),
    ("urn:oasis:names:tc:SAML:2.0:attrname-format:basic", "Basic"),
    ("urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified", "Unspecified"),
];

/// The values Rosetta vouches for: claim, wire name, words.
pub const USER_VALUES: [(Claim, &str, &str); 5] = [
    (Claim::Email, "email", "verified email"),
    (Claim::GivenName, "given_name", "given name"),
    (Claim::FamilyName, "family_name", "family name"),
    (Claim::Name, "name", "full name"),
    (Claim::UserId, "user_id", "Rosetta's stable user ID"),
];

/// The name of a NameID format, for people (the URI itself when Rosetta does not know it).
pub fn name_id_format_label(uri: &str) -> String {
    NAME_ID_FORMATS
        .iter()
        .find(|(u, _, _)| *u == uri)
        .map_or_else(|| uri.to_owned(), |(_, label, _)| (*label).to_owned())
}

/// The Attributes & NameID page of the application `sp_id`.
pub fn attributes_href(sp_id: &str) -> String {
    format!("/applications/{}/mapping", percent_encode(sp_id))
}

/// The Groups page of the application `sp_id`.
pub fn groups_href(sp_id: &str) -> String {
    format!("/applications/{}/groups", percent_encode(sp_id))
}

/// The mapping an application has, as `PUT …/mapping` takes it.
pub fn mapping_of(sp: &ServiceProvider) -> Mapping {
    Mapping {
        name_id_format: Some(sp.name_id_format.clone()),
        name_id: sp.name_id.clone(),
        attributes: sp.attributes.clone(),
        groups: sp.groups.clone(),
    }
}

/// Where an attribute's values come from and what is done to them, in a few words
/// ("claim `department`, lowercase").
pub fn describe(value: &ValueSource, transforms: &[Transform]) -> String {
    let quoted = |items: &[String]| items.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ");
    let mut text = match value {
        ValueSource::User { value } => USER_VALUES
            .iter()
            .find(|(c, _, _)| c == value)
            .map_or("a user value", |(_, _, words)| words)
            .to_owned(),
        ValueSource::Claim { path } => format!("claim `{path}`"),
        ValueSource::FirstOf { paths } => format!("first of {}", quoted(paths)),
        ValueSource::Static { values } => format!("fixed: {}", quoted(values)),
        ValueSource::Groups => "groups".to_owned(),
    };
    for t in transforms {
        text.push_str(", ");
        text.push_str(&match t {
            Transform::Lowercase => "lowercase".to_owned(),
            Transform::ReplaceDomain { domain } => format!("domain replaced by {domain}"),
            Transform::Regex { pattern } => format!("pattern `{pattern}`"),
        });
    }
    text
}

/// A field's error from `failure`, the field being named at run time
/// (`attributes[2].transforms[0]`).
pub fn field_error(failure: RwSignal<Option<Failure>>, name: Signal<String>) -> Signal<Option<String>> {
    Signal::derive(move || {
        let name = name.get();
        failure.with(|f| f.as_ref().and_then(|f| f.field(&name)))
    })
}

/// The API's field errors that no field on the page stands for (`placed` says which do).
#[component]
pub fn OtherFieldErrors(failure: RwSignal<Option<Failure>>, placed: fn(&str) -> bool) -> impl IntoView {
    move || {
        failure.with(|f| match f {
            Some(Failure::Api(e)) => e
                .fields
                .iter()
                .filter(|x| !placed(&x.field))
                .map(
                    |x| view! { <p class="field-error other-field" data-field=x.field.clone()>{x.message.clone()}</p> },
                )
                .collect_view()
                .into_any(),
            _ => ().into_any(),
        })
    }
}

/// A fresh key for a row of an editable list.
fn next_key() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Runs `f` under `owner` (rows made in event handlers then go when the page goes).
pub fn within<T>(owner: &Option<Owner>, f: impl FnOnce() -> T) -> T {
    match owner {
        Some(o) => o.with(f),
        None => f(),
    }
}

/// Comma-separated text as a list (trimmed, empty items left out).
pub fn comma_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The frame of an application's pages: back link, title, which application, the way to its
/// other pages; `body` once it is loaded.
#[component]
pub fn ApplicationPage<F, V>(title: &'static str, lead: &'static str, current: &'static str, body: F) -> impl IntoView
where
    F: Fn(ServiceProvider) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let api = use_api();
    let params = use_params_map();
    let sp = LocalResource::new(move || {
        let id = params.read().get("id").unwrap_or_default();
        api.service_provider(id)
    });
    view! {
        <p class="back"><a href="/applications">"← Applications"</a></p>
        <PageHeader title=title lead=lead/>
        <Loaded resource=sp what="the application" let:sp>
            {match sp {
                Some(sp) => view! {
                    <p class="for-application">"For " <strong>{sp.name.clone()}</strong> " " <code>{sp.entity_id.clone()}</code></p>
                    <ApplicationNav sp_id=sp.id.clone() current=current/>
                    {body(sp)}
                }.into_any(),
                None => view! {
                    <Empty title="No such application">
                        <p>"It may have been deleted. See " <a href="/applications">"Applications"</a> "."</p>
                    </Empty>
                }.into_any(),
            }}
        </Loaded>
    }
}

/// The pages of one application.
#[component]
fn ApplicationNav(sp_id: String, current: &'static str) -> impl IntoView {
    let links = [
        ("attributes", "Attributes & NameID", attributes_href(&sp_id)),
        ("groups", "Groups", groups_href(&sp_id)),
        ("provisioning", "User provisioning", provisioning::href(&sp_id)),
    ];
    view! {
        <nav class="subnav" aria-label="This application">
            <ul>
                {links.into_iter().map(|(key, label, href)| view! {
                    <li><a href=href class=format!("subnav-{key}") aria-current=(key == current).then_some("page")>{label}</a></li>
                }).collect_view()}
            </ul>
        </nav>
    }
}

#[component]
pub fn Attributes() -> impl IntoView {
    view! {
        <ApplicationPage title="Attributes & NameID" current="attributes"
            lead="What the application receives about each person: the identifier it knows them by, and its attributes, from what the identity provider vouched for."
            body=|sp| view! { <MappingEditor sp=sp/> }/>
    }
}

// --- What is being edited -----------------------------------------------------------------

/// Where a value comes from, as the select names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    User,
    Claim,
    FirstOf,
    Static,
    Groups,
}

/// Kind, option value (the wire's `from`), words.
const KINDS: [(Kind, &str, &str); 5] = [
    (Kind::User, "user", "User value"),
    (Kind::Claim, "claim", "Claim path"),
    (Kind::FirstOf, "first_of", "First of several claim paths"),
    (Kind::Static, "static", "Static values"),
    (Kind::Groups, "groups", "Groups"),
];

/// A change made to each value, as it is added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Lowercase,
    ReplaceDomain,
    Regex,
}

#[derive(Clone, Copy)]
struct TransformRow {
    key: u32,
    op: Op,
    /// The domain or the pattern.
    text: RwSignal<String>,
}

impl TransformRow {
    fn new(t: &Transform) -> Self {
        let (op, text) = match t {
            Transform::Lowercase => (Op::Lowercase, String::new()),
            Transform::ReplaceDomain { domain } => (Op::ReplaceDomain, domain.clone()),
            Transform::Regex { pattern } => (Op::Regex, pattern.clone()),
        };
        Self {
            key: next_key(),
            op,
            text: RwSignal::new(text),
        }
    }

    fn blank(op: Op) -> Self {
        Self {
            key: next_key(),
            op,
            text: RwSignal::new(String::new()),
        }
    }

    fn transform(&self) -> Transform {
        match self.op {
            Op::Lowercase => Transform::Lowercase,
            Op::ReplaceDomain => Transform::ReplaceDomain {
                domain: self.text.get().trim().to_owned(),
            },
            Op::Regex => Transform::Regex {
                pattern: self.text.get(),
            },
        }
    }
}

/// A value source and its transforms; each kind keeps its own text, so switching back and
/// forth loses nothing.
#[derive(Clone, Copy)]
struct ValueDraft {
    kind: RwSignal<Kind>,
    user: RwSignal<Claim>,
    path: RwSignal<String>,
    paths: RwSignal<String>,
    values: RwSignal<String>,
    transforms: RwSignal<Vec<TransformRow>>,
}

impl ValueDraft {
    fn new(source: &ValueSource, transforms: &[Transform]) -> Self {
        let (mut user, mut path, mut paths, mut values) = (Claim::Email, String::new(), String::new(), String::new());
        let kind = match source {
            ValueSource::User { value } => {
                user = *value;
                Kind::User
            }
            ValueSource::Claim { path: p } => {
                path.clone_from(p);
                paths.clone_from(p);
                Kind::Claim
            }
            ValueSource::FirstOf { paths: p } => {
                paths = p.join(", ");
                path = p.first().cloned().unwrap_or_default();
                Kind::FirstOf
            }
            ValueSource::Static { values: v } => {
                values = v.join(", ");
                Kind::Static
            }
            ValueSource::Groups => Kind::Groups,
        };
        Self {
            kind: RwSignal::new(kind),
            user: RwSignal::new(user),
            path: RwSignal::new(path),
            paths: RwSignal::new(paths),
            values: RwSignal::new(values),
            transforms: RwSignal::new(transforms.iter().map(TransformRow::new).collect()),
        }
    }

    /// The source as the API takes it (tracked).
    fn source(&self) -> ValueSource {
        match self.kind.get() {
            Kind::User => ValueSource::User { value: self.user.get() },
            Kind::Claim => ValueSource::Claim {
                path: self.path.get().trim().to_owned(),
            },
            Kind::FirstOf => ValueSource::FirstOf {
                paths: comma_list(&self.paths.get()),
            },
            Kind::Static => ValueSource::Static {
                values: comma_list(&self.values.get()),
            },
            Kind::Groups => ValueSource::Groups,
        }
    }

    /// The transforms as the API takes them (tracked).
    fn transforms(&self) -> Vec<Transform> {
        self.transforms
            .with(|t| t.iter().map(TransformRow::transform).collect())
    }
}

#[derive(Clone, Copy)]
struct RuleRow {
    key: u32,
    name: RwSignal<String>,
    name_format: RwSignal<String>,
    value: ValueDraft,
    multi_valued: RwSignal<bool>,
    required: RwSignal<bool>,
}

impl RuleRow {
    fn new(rule: &AttributeRule) -> Self {
        Self {
            key: next_key(),
            name: RwSignal::new(rule.name.clone()),
            name_format: RwSignal::new(rule.name_format.clone()),
            value: ValueDraft::new(&rule.value, &rule.transforms),
            multi_valued: RwSignal::new(rule.multi_valued),
            required: RwSignal::new(rule.required),
        }
    }

    /// The rule as the API takes it (tracked).
    fn rule(&self) -> AttributeRule {
        AttributeRule {
            name: self.name.get().trim().to_owned(),
            name_format: self.name_format.get(),
            value: self.value.source(),
            transforms: self.value.transforms(),
            multi_valued: self.multi_valued.get(),
            required: self.required.get(),
        }
    }
}

/// Whether the Attributes page shows the error of `field` by a field of its own.
fn placed_here(field: &str) -> bool {
    field.starts_with("name_id") || field.starts_with("attributes[")
}

// --- The page -----------------------------------------------------------------------------

#[component]
fn MappingEditor(sp: ServiceProvider) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let owner = Owner::current();
    let form = FormState::new();
    let saved = RwSignal::new(mapping_of(&sp));
    let format = RwSignal::new(sp.name_id_format.clone());
    let name_id = ValueDraft::new(&sp.name_id.value, &sp.name_id.transforms);
    let rules = RwSignal::new(sp.attributes.iter().map(RuleRow::new).collect::<Vec<_>>());
    // The mapping as edited (tracked); the groups rule as saved.
    let draft = move || Mapping {
        name_id_format: Some(format.get()),
        name_id: NameIdRule {
            value: name_id.source(),
            transforms: name_id.transforms(),
        },
        attributes: rules.with(|r| r.iter().map(RuleRow::rule).collect()),
        groups: saved.with(|m| m.groups.clone()),
    };
    let dirty = Memo::new(move |_| {
        let now = draft();
        saved.with(|s| *s != now)
    });
    let id = sp.id.clone();
    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        form.run(api.put_mapping(id.clone(), untrack(draft)), move |sp| {
            saved.set(mapping_of(&sp));
            form.done.set(Some(
                "Saved. The next sign-in to the application uses these rules.".into(),
            ));
            notices.say("Saved.");
        });
    };
    let add = move |_| {
        let format = rules.with_untracked(|r| r.last().map(|r| r.name_format.get_untracked()));
        let row = within(&owner, || {
            RuleRow::new(&AttributeRule {
                name: String::new(),
                name_format: format.unwrap_or_else(|| NAME_FORMATS[2].0.to_owned()),
                value: ValueSource::Claim { path: String::new() },
                transforms: Vec::new(),
                multi_valued: false,
                required: false,
            })
        });
        rules.update(|r| r.push(row));
    };
    let format_id = "name-id-format";
    let groups_link = groups_href(&sp.id);
    let name_id_groups_link = groups_link.clone();
    view! {
        <form id="mapping-form" class="mapping" on:submit=save novalidate>
            <section class="panel" aria-labelledby="name-id-title">
                <h2 id="name-id-title">"NameID"</h2>
                <p class="muted">"The identifier the application knows each person by."</p>
                <div class="field" class:invalid=move || form.field("name_id_format").with(Option::is_some)>
                    <label for=format_id>"Format"</label>
                    <select id=format_id on:change=move |ev| format.set(event_target_value(&ev))>
                        {NAME_ID_FORMATS.iter().map(|&(uri, label, _)| view! {
                            <option value=uri prop:selected=move || format.with(|f| f == uri)>
                                {if uri == NAMEID_PERSISTENT { "Persistent — pairwise: a different stable ID per application" } else { label }}
                            </option>
                        }).collect_view()}
                        {(!NAME_ID_FORMATS.iter().any(|(u, _, _)| *u == sp.name_id_format)).then(|| {
                            let other = sp.name_id_format.clone();
                            view! { <option value=other.clone() selected=true>{other.clone()}</option> }
                        })}
                    </select>
                    <p class="hint" id="name-id-format-help">{move || format.with(|f| {
                        NAME_ID_FORMATS.iter().find(|(u, _, _)| u == f).map(|(_, _, help)| *help).unwrap_or("")
                    })}</p>
                    {move || form.field("name_id_format").get().map(|e| view! { <p class="field-error">{e}</p> })}
                </div>
                <Show when=move || format.with(|f| f == NAMEID_EMAIL || f == NAMEID_UNSPECIFIED)>
                    <div class="name-id-value" data-field="name_id">
                        <h3>"Its value"</h3>
                        <ValueEditor draft=name_id id="name-id".to_owned() prefix=Signal::derive(|| "name_id".to_owned())
                            failure=form.failure groups_link=name_id_groups_link.clone() name_id=true/>
                    </div>
                </Show>
                {move || form.field("name_id").get().map(|e| view! { <p class="field-error" id="name-id-error">{e}</p> })}
            </section>

            <section class="panel" aria-labelledby="attributes-title">
                <div class="panel-head">
                    <h2 id="attributes-title">"Attributes"</h2>
                </div>
                <p class="muted">"Sent in this order. A value comes from what Rosetta vouches for (the verified email, the names), from a claim of the provider's ID token or userinfo, or is fixed; the changes below it apply to each value in turn."</p>
                {move || rules.with(Vec::is_empty).then(|| view! {
                    <p class="empty-line">"No attribute: the application receives the NameID alone."</p>
                })}
                <ol id="attribute-rules" class="rules">
                    <For each=move || rules.get() key=|r| r.key let:rule>
                        <RuleEditor rule=rule rules=rules failure=form.failure groups_link=groups_link.clone()/>
                    </For>
                </ol>
                {move || form.field("attributes").get().map(|e| view! { <p class="field-error" id="attributes-error">{e}</p> })}
                <button type="button" id="add-rule" class="button secondary" on:click=add>"+ Add an attribute"</button>
            </section>

            <div class="save-bar">
                <OtherFieldErrors failure=form.failure placed=placed_here/>
                <FormStatus form=form/>
                <div class="form-actions">
                    <button type="submit" id="save-mapping" class="button primary" disabled=move || form.busy.get()>"Save"</button>
                    <Show when=move || dirty.get()>
                        <span class="badge warn unsaved">"Unsaved changes"</span>
                    </Show>
                </div>
            </div>
        </form>
        <PreviewPanel sp_id=sp.id.clone() mapping=Callback::new(move |()| untrack(draft)) rule_errors=form.failure/>
    }
}

/// One attribute: its SAML name and name format, where its values come from, its changes,
/// multi-valued and required; moved up or down, removed.
#[component]
fn RuleEditor(
    rule: RuleRow,
    rules: RwSignal<Vec<RuleRow>>,
    failure: RwSignal<Option<Failure>>,
    groups_link: String,
) -> impl IntoView {
    let key = rule.key;
    let index = Memo::new(move |_| rules.with(|r| r.iter().position(|x| x.key == key).unwrap_or(0)));
    let count = Memo::new(move |_| rules.with(Vec::len));
    let prefix = Signal::derive(move || format!("attributes[{}]", index.get()));
    let at =
        move |suffix: &'static str| field_error(failure, Signal::derive(move || format!("{}{suffix}", prefix.get())));
    // Errors name rules by position: once rules move, the old ones would point elsewhere.
    let change = move |edit: fn(&mut Vec<RuleRow>, usize)| {
        rules.update(|r| {
            if let Some(i) = r.iter().position(|x| x.key == key) {
                edit(r, i);
            }
        });
        failure.set(None);
    };
    let up = move |_| {
        change(|r, i| {
            if i > 0 {
                r.swap(i, i - 1)
            }
        })
    };
    let down = move |_| {
        change(|r, i| {
            if i + 1 < r.len() {
                r.swap(i, i + 1)
            }
        })
    };
    let remove = move |_| {
        change(|r, i| {
            r.remove(i);
        });
    };
    let dom = format!("rule-{key}");
    let title = move || {
        let n = rule.name.get();
        if n.trim().is_empty() {
            format!("Attribute {}", index.get() + 1)
        } else {
            n
        }
    };
    let label = move |what: &str| format!("{what} attribute {}", index.get() + 1);
    let known_format = NAME_FORMATS
        .iter()
        .any(|(u, _)| rule.name_format.with_untracked(|f| f == u));
    let format_id = format!("{dom}-name-format");
    let format_error = at(".name_format");
    view! {
        <li class="rule" id=dom.clone() data-field=prefix>
            <div class="rule-head">
                <span class="rule-number" aria-hidden="true">{move || index.get() + 1}</span>
                <h3 class="rule-title"><code>{title}</code></h3>
                <div class="rule-actions">
                    <button type="button" class="button secondary small move-up" on:click=up
                        disabled=move || index.get() == 0 aria-label=move || label("Move up")>"↑"</button>
                    <button type="button" class="button secondary small move-down" on:click=down
                        disabled=move || { index.get() + 1 >= count.get() } aria-label=move || label("Move down")>"↓"</button>
                    <button type="button" class="button danger-ghost small remove-rule" on:click=remove
                        aria-label=move || label("Remove")>"Remove"</button>
                </div>
            </div>
            <div class="rule-grid">
                <FieldAt id=format!("{dom}-name") label="SAML attribute name" value=rule.name error=at(".name")
                    class="rule-name" placeholder="department"/>
                <div class="field" class:invalid=move || format_error.with(Option::is_some)>
                    <label for=format_id.clone()>"Name format"</label>
                    <select id=format_id on:change=move |ev| rule.name_format.set(event_target_value(&ev))>
                        {NAME_FORMATS.iter().map(|&(uri, words)| view! {
                            <option value=uri prop:selected=move || rule.name_format.with(|f| f == uri)>{words}</option>
                        }).collect_view()}
                        {(!known_format).then(|| {
                            let other = rule.name_format.get_untracked();
                            view! { <option value=other.clone() selected=true>{other.clone()}</option> }
                        })}
                    </select>
                    {move || format_error.get().map(|e| view! { <p class="field-error">{e}</p> })}
                </div>
            </div>
            <ValueEditor draft=rule.value id=dom.clone() prefix=prefix failure=failure groups_link=groups_link/>
            <div class="rule-flags">
                <CheckBox id=format!("{dom}-multi") label="Multi-valued" checked=rule.multi_valued
                    help="Send every value; otherwise only the first."/>
                <CheckBox id=format!("{dom}-required") label="Required" checked=rule.required
                    help="Refuse the sign-in when there is no value; otherwise the attribute is left out."/>
            </div>
        </li>
    }
}

/// Where a value comes from (select, then what that kind needs) and its changes.
#[component]
fn ValueEditor(
    draft: ValueDraft,
    /// Base of the DOM IDs.
    id: String,
    /// The field as the API names it (`attributes[2]`, `name_id`).
    prefix: Signal<String>,
    failure: RwSignal<Option<Failure>>,
    /// The application's Groups page.
    groups_link: String,
    /// The NameID: one person's identifier, so neither fixed values nor groups.
    #[prop(optional)]
    name_id: bool,
) -> impl IntoView {
    let owner = Owner::current();
    let kinds: Vec<(Kind, &str, &str)> = KINDS
        .into_iter()
        .filter(|(k, _, _)| !name_id || matches!(k, Kind::User | Kind::Claim | Kind::FirstOf))
        .collect();
    let value_error = field_error(failure, Signal::derive(move || format!("{}.value", prefix.get())));
    let list_error = field_error(failure, Signal::derive(move || format!("{}.transforms", prefix.get())));
    let kind_id = format!("{id}-kind");
    let inputs = {
        let id = id.clone();
        move || {
            let (id, groups_link) = (id.clone(), groups_link.clone());
            match draft.kind.get() {
                Kind::User => {
                    let select_id = format!("{id}-user");
                    view! {
                        <div class="field">
                            <label for=select_id.clone()>"Value"</label>
                            <select id=select_id class="value-user" on:change=move |ev| {
                                let chosen = event_target_value(&ev);
                                if let Some((claim, _, _)) = USER_VALUES.iter().find(|(_, code, _)| *code == chosen) {
                                    draft.user.set(*claim);
                                }
                            }>
                                {USER_VALUES.iter().map(|&(claim, code, words)| view! {
                                    <option value=code prop:selected=move || draft.user.get() == claim>{words}</option>
                                }).collect_view()}
                            </select>
                        </div>
                    }
                    .into_any()
                }
                Kind::Claim => view! {
                    <FieldAt id=format!("{id}-path") label="Claim" value=draft.path error=value_error class="value-path"
                        placeholder="department"
                        hint="A claim of the ID token or userinfo: a name (upn, https://acme.example/roles) or a dotted path (address.country). A list gives each of its items."/>
                }
                .into_any(),
                Kind::FirstOf => view! {
                    <FieldAt id=format!("{id}-paths") label="Claims, tried in order" value=draft.paths error=value_error
                        class="value-paths" placeholder="email, upn"
                        hint="Comma-separated claim names or dotted paths: the first with a value is used."/>
                }
                .into_any(),
                Kind::Static => view! {
                    <FieldAt id=format!("{id}-values") label="Values" value=draft.values error=value_error class="value-static"
                        placeholder="jira-users"
                        hint="Comma-separated; sent as they are to everyone."/>
                }
                .into_any(),
                Kind::Groups => view! {
                    <p class="hint">"The person's groups after this application's "
                        <a href=groups_link.clone()>"groups rule"</a> "."</p>
                }
                .into_any(),
            }
        }
    };
    // The error of the source itself, when no input of the kind shows it.
    let bare_error = move || {
        matches!(draft.kind.get(), Kind::User | Kind::Groups)
            .then(|| value_error.get())
            .flatten()
            .map(|e| view! { <p class="field-error">{e}</p> })
    };
    let add = Callback::new(move |op: Op| {
        let row = within(&owner, || TransformRow::blank(op));
        draft.transforms.update(|t| t.push(row));
    });
    let transforms_id = format!("{id}-transforms");
    let transforms_title = format!("{transforms_id}-title");
    let row_id = transforms_id.clone();
    view! {
        <div class="value-editor">
            <div class="field">
                <label for=kind_id.clone()>"Value from"</label>
                <select id=kind_id class="value-kind" on:change=move |ev| {
                    let chosen = event_target_value(&ev);
                    if let Some((kind, _, _)) = KINDS.iter().find(|(_, code, _)| *code == chosen) {
                        draft.kind.set(*kind);
                    }
                }>
                    {kinds.into_iter().map(|(kind, code, words)| view! {
                        <option value=code prop:selected=move || draft.kind.get() == kind>{words}</option>
                    }).collect_view()}
                </select>
            </div>
            {inputs}
            {bare_error}
            <div class="transforms-block">
                <p class="transforms-title" id=transforms_title.clone()>"Changes to each value"</p>
                <ol class="transforms" id=transforms_id.clone() aria-labelledby=transforms_title>
                    <For each=move || draft.transforms.get() key=|t| t.key let:row>
                        <TransformEditor row=row list=draft.transforms id=row_id.clone() prefix=prefix failure=failure/>
                    </For>
                </ol>
                {move || list_error.get().map(|e| view! { <p class="field-error">{e}</p> })}
                <div class="add-transform">
                    <button type="button" class="button secondary small add-lowercase" on:click=move |_| add.run(Op::Lowercase)>"+ Lowercase"</button>
                    <button type="button" class="button secondary small add-replace-domain" on:click=move |_| add.run(Op::ReplaceDomain)>"+ Replace domain"</button>
                    <button type="button" class="button secondary small add-regex" on:click=move |_| add.run(Op::Regex)>"+ Regex capture"</button>
                </div>
            </div>
        </div>
    }
}

/// One change: lowercase, replace the domain, or keep what a pattern captures.
#[component]
fn TransformEditor(
    row: TransformRow,
    list: RwSignal<Vec<TransformRow>>,
    id: String,
    prefix: Signal<String>,
    failure: RwSignal<Option<Failure>>,
) -> impl IntoView {
    let key = row.key;
    let index = Memo::new(move |_| list.with(|l| l.iter().position(|t| t.key == key).unwrap_or(0)));
    let field = Signal::derive(move || format!("{}.transforms[{}]", prefix.get(), index.get()));
    let error = field_error(failure, field);
    let dom = format!("{id}-{key}");
    let remove = move |_| {
        list.update(|l| l.retain(|t| t.key != key));
        failure.set(None);
    };
    let body = match row.op {
        Op::Lowercase => view! {
            <p class="transform-name"><strong>"Lowercase"</strong></p>
            {move || error.get().map(|e| view! { <p class="field-error">{e}</p> })}
        }
        .into_any(),
        Op::ReplaceDomain => view! {
            <FieldAt id=format!("{dom}-domain") label="Replace the domain with" value=row.text error=error
                class="transform-domain" placeholder="acme.com"
                hint="user@any becomes user@this domain; a value without @ is dropped."/>
        }
        .into_any(),
        Op::Regex => view! {
            <FieldAt id=format!("{dom}-pattern") label="Keep what this pattern captures" value=row.text error=error
                class="transform-pattern" placeholder="^([^@]+)@"
                hint="The first group in ( ), or the whole match; a value that does not match is dropped. No look-around or back-references."/>
        }
        .into_any(),
    };
    view! {
        <li class="transform" data-field=field>
            <div class="transform-body">{body}</div>
            <button type="button" class="button danger-ghost small remove-transform" on:click=remove
                aria-label=move || format!("Remove change {}", index.get() + 1)>"×"</button>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_say_where_values_come_from_and_what_is_done() {
        assert_eq!(
            describe(&ValueSource::User { value: Claim::Email }, &[]),
            "verified email"
        );
        assert_eq!(
            describe(
                &ValueSource::Claim {
                    path: "department".into()
                },
                &[Transform::Lowercase]
            ),
            "claim `department`, lowercase"
        );
        assert_eq!(
            describe(
                &ValueSource::FirstOf {
                    paths: vec!["email".into(), "upn".into()]
                },
                &[]
            ),
            "first of `email`, `upn`"
        );
    }

    #[test]
    fn comma_lists_leave_out_empty_items() {
        assert_eq!(comma_list(" email, ,upn ,"), vec!["email", "upn"]);
        assert!(comma_list("  ").is_empty());
    }

    #[test]
    fn formats_read_as_names() {
        assert_eq!(name_id_format_label(NAMEID_TRANSIENT), "Transient");
        assert_eq!(name_id_format_label("urn:x"), "urn:x");
    }
}
