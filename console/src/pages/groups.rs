//! Which of a person's groups an application receives: the allowed groups (names or `*`
//! patterns), renames, and whether the memberships are pushed to its provisioning target.
//! Saved with `PUT …/mapping` (the rest of the mapping as loaded), with the same preview as
//! the Attributes & NameID page.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use rosetta_api::{GroupRename, GroupsRule, Preset, ServiceProvider, ValueSource};

use super::mapping::{ApplicationPage, OtherFieldErrors, attributes_href, field_error, mapping_of, within};
use super::mapping_preview::PreviewPanel;
use super::provisioning;
use crate::api::Failure;
use crate::session::use_api;
use crate::ui::{CheckBox, FormState, FormStatus, use_notices};

#[component]
pub fn Groups() -> impl IntoView {
    view! {
        <ApplicationPage title="Groups" current="groups"
            lead="Which of a person's groups at the identity provider the application receives, and under which names."
            body=|sp| view! { <GroupsEditor sp=sp/> }/>
    }
}

#[derive(Clone, Copy)]
struct RenameRow {
    key: u32,
    from: RwSignal<String>,
    to: RwSignal<String>,
}

impl RenameRow {
    fn new(r: &GroupRename) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        Self {
            key: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            from: RwSignal::new(r.from.clone()),
            to: RwSignal::new(r.to.clone()),
        }
    }
}

/// One group or pattern per line (trimmed, blank lines left out).
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether the Groups page shows the error of `field` by a field of its own.
fn placed_here(field: &str) -> bool {
    field.starts_with("groups.allow") || field.starts_with("groups.rename[")
}

#[component]
fn GroupsEditor(sp: ServiceProvider) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let owner = Owner::current();
    let form = FormState::new();
    let saved = RwSignal::new(mapping_of(&sp));
    let allow = RwSignal::new(sp.groups.allow.join("\n"));
    let renames = RwSignal::new(sp.groups.rename.iter().map(RenameRow::new).collect::<Vec<_>>());
    let provision = RwSignal::new(sp.groups.provision);
    // The groups rule as edited (tracked).
    let draft = move || GroupsRule {
        allow: lines(&allow.get()),
        rename: renames.with(|r| {
            r.iter()
                .map(|r| GroupRename {
                    from: r.from.get().trim().to_owned(),
                    to: r.to.get().trim().to_owned(),
                })
                .collect()
        }),
        provision: provision.get(),
    };
    // The saved mapping with these groups (its NameID format left as it is).
    let mapping = move || {
        let mut m = saved.get();
        m.name_id_format = None;
        m.groups = draft();
        m
    };
    let dirty = Memo::new(move |_| {
        let now = draft();
        saved.with(|s| s.groups != now)
    });
    let id = sp.id.clone();
    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        form.run(api.put_mapping(id.clone(), untrack(mapping)), move |sp| {
            saved.set(mapping_of(&sp));
            form.done.set(Some(
                "Saved. The next sign-in to the application uses this rule.".into(),
            ));
            notices.say("Saved.");
        });
    };
    // The allowed entries' errors, each with its entry (the API numbers the entries sent).
    let allow_error = Signal::derive(move || {
        let entries = lines(&allow.get());
        let mut problems: Vec<String> = form.field("groups.allow").get().into_iter().collect();
        problems.extend(entries.iter().enumerate().filter_map(|(i, entry)| {
            form.failure
                .with(|f| f.as_ref().and_then(|f| f.field(&format!("groups.allow[{i}]"))))
                .map(|m| format!("“{entry}”: {m}"))
        }));
        (!problems.is_empty()).then(|| problems.join(" "))
    });
    let add_rename = move |_| {
        let row = within(&owner, || {
            RenameRow::new(&GroupRename {
                from: String::new(),
                to: String::new(),
            })
        });
        renames.update(|r| r.push(row));
    };
    let atlassian = sp.preset == Preset::Atlassian;
    let sends_groups = sp.attributes.iter().any(|a| a.value == ValueSource::Groups);
    let attributes_link = attributes_href(&sp.id);
    let provisioning_link = provisioning::href(&sp.id);
    view! {
        <form id="groups-form" class="mapping" on:submit=save novalidate>
            <section class="panel" aria-labelledby="groups-where-title">
                <h2 id="groups-where-title" class="visually-hidden">"Where groups come from"</h2>
                <p class="hint-block">"The claim that carries people's groups is set on each "
                    <a href="/sources">"identity provider"</a>
                    " (its groups claim, e.g. groups for Entra ID, Okta and Keycloak)."</p>
                <p class="hint-block">{if sends_groups {
                    view! { "An attribute of this application sends the groups: see "
                        <a href=attributes_link.clone()>"Attributes & NameID"</a> "." }.into_any()
                } else {
                    view! { "No attribute sends the groups at sign-in; to send them, add one whose value comes from Groups on the "
                        <a href=attributes_link.clone()>"Attributes & NameID"</a> " page." }.into_any()
                }}</p>
            </section>

            <section class="panel" aria-labelledby="allow-title">
                <h2 id="allow-title">"Allowed groups"</h2>
                <p class="hint" id="allow-help">"One group per line, as the identity provider names it. "
                    <code>"*"</code> " stands for any run of characters: " <code>"eng-*"</code>
                    " lets eng-all and eng-backend through. Groups not listed are not sent; an empty list sends none."</p>
                <div class="field" class:invalid=move || allow_error.with(Option::is_some)>
                    <label for="groups-allow">"Groups that pass"</label>
                    <textarea id="groups-allow" rows=6 spellcheck="false" aria-describedby="allow-help"
                        placeholder="eng-*\nsales"
                        prop:value=move || allow.get() on:input=move |ev| allow.set(event_target_value(&ev))
                        aria-invalid=move || if allow_error.with(Option::is_some) { "true" } else { "false" }></textarea>
                    {move || allow_error.get().map(|e| view! { <p class="field-error" id="groups-allow-error">{e}</p> })}
                </div>
            </section>

            <section class="panel" aria-labelledby="renames-title">
                <h2 id="renames-title">"Renames"</h2>
                <p class="muted">"A group that passed can reach the application under another name; the others keep theirs."</p>
                {move || renames.with(Vec::is_empty).then(|| view! {
                    <p class="empty-line">"No rename: groups keep their names."</p>
                })}
                <Show when=move || renames.with(|r| !r.is_empty())>
                    <div class="table-wrap">
                        <table id="group-renames" class="compact renames">
                            <thead><tr>
                                <th scope="col">"From (the identity provider's group)"</th>
                                <th scope="col"><span class="visually-hidden">"becomes"</span></th>
                                <th scope="col">"To (the name the application receives)"</th>
                                <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                            </tr></thead>
                            <tbody>
                                <For each=move || renames.get() key=|r| r.key let:row>
                                    <RenameEditor row=row renames=renames failure=form.failure/>
                                </For>
                            </tbody>
                        </table>
                    </div>
                </Show>
                <button type="button" id="add-rename" class="button secondary" on:click=add_rename>"+ Add a rename"</button>
            </section>

            <section class="panel" aria-labelledby="provision-title">
                <h2 id="provision-title">"Provisioning"</h2>
                <CheckBox id="groups-provision" label="Push memberships to the provisioning target" checked=provision
                    help="The application's user provisioning receives each person's groups after this rule, as SCIM groups."/>
                <p class="hint-block">{if atlassian {
                    "Atlassian: a group that does not exist in your Atlassian directory yet is created there."
                } else {
                    "A group the application's directory lacks is created there."
                }} " Provisioning itself is set up on the "
                    <a href=provisioning_link>"User provisioning"</a> " page."</p>
            </section>

            <div class="save-bar">
                <OtherFieldErrors failure=form.failure placed=placed_here/>
                <FormStatus form=form/>
                <div class="form-actions">
                    <button type="submit" id="save-groups" class="button primary" disabled=move || form.busy.get()>"Save"</button>
                    <Show when=move || dirty.get()>
                        <span class="badge warn unsaved">"Unsaved changes"</span>
                    </Show>
                </div>
            </div>
        </form>
        <PreviewPanel sp_id=sp.id.clone() mapping=Callback::new(move |()| untrack(mapping)) rule_errors=form.failure
            groups_first=true/>
    }
}

/// One rename: from, to, its error, remove.
#[component]
fn RenameEditor(
    row: RenameRow,
    renames: RwSignal<Vec<RenameRow>>,
    failure: RwSignal<Option<Failure>>,
) -> impl IntoView {
    let key = row.key;
    let index = Memo::new(move |_| renames.with(|r| r.iter().position(|x| x.key == key).unwrap_or(0)));
    let field = Signal::derive(move || format!("groups.rename[{}]", index.get()));
    let error = field_error(failure, field);
    let remove = move |_| {
        renames.update(|r| r.retain(|x| x.key != key));
        // Errors name renames by position.
        failure.set(None);
    };
    let invalid = move || if error.with(Option::is_some) { "true" } else { "false" };
    view! {
        <tr class="rename" data-field=field>
            <td>
                <input type="text" class="rename-from" autocomplete="off" spellcheck="false" placeholder="eng-all"
                    aria-label=move || format!("Rename {}: from", index.get() + 1) aria-invalid=invalid
                    prop:value=move || row.from.get() on:input=move |ev| row.from.set(event_target_value(&ev))/>
                {move || error.get().map(|e| view! { <p class="field-error">{e}</p> })}
            </td>
            <td class="arrow" aria-hidden="true">"→"</td>
            <td>
                <input type="text" class="rename-to" autocomplete="off" spellcheck="false" placeholder="jira-software-users"
                    aria-label=move || format!("Rename {}: to", index.get() + 1) aria-invalid=invalid
                    prop:value=move || row.to.get() on:input=move |ev| row.to.set(event_target_value(&ev))/>
            </td>
            <td class="actions">
                <button type="button" class="button danger-ghost small remove-rename" on:click=remove
                    aria-label=move || format!("Remove rename {}", index.get() + 1)>"Remove"</button>
            </td>
        </tr>
    }
}
