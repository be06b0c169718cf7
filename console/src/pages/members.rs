//! Members and invitations: who administers the tenant; owners invite, revoke and remove.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use rosetta_api::{Invitation, InviteRequest, Member, Role};

use crate::api::Failure;
use crate::session::{use_api, use_auth};
use crate::ui::{Confirm, Empty, Field, FormState, FormStatus, Loaded, PageHeader, short_time, use_notices};

type MembersResource = LocalResource<Result<Vec<Member>, Failure>>;
type InvitationsResource = LocalResource<Result<Vec<Invitation>, Failure>>;

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Owner => "owner",
        Role::Admin => "admin",
    }
}

#[component]
pub fn Members() -> impl IntoView {
    let auth = use_auth();
    let api = use_api();
    let owner = auth.is_owner();
    let members: MembersResource = LocalResource::new(move || api.members());
    view! {
        <PageHeader title="Members & invitations" lead="The people who administer this organisation in the console."/>
        <section class="panel" aria-labelledby="members-title">
            <h2 id="members-title">"Members"</h2>
            <Loaded resource=members what="the members" let:list>
                <MemberTable list=list members=members owner=owner/>
            </Loaded>
        </section>
        {if owner {
            view! { <Invitations/> }.into_any()
        } else {
            view! { <p class="notice">"Only owners invite and remove members."</p> }.into_any()
        }}
    }
}

#[component]
fn MemberTable(list: Vec<Member>, members: MembersResource, owner: bool) -> impl IntoView {
    let auth = use_auth();
    let api = use_api();
    let notices = use_notices();
    let me = auth.session().and_then(|s| s.account).map(|a| a.id).unwrap_or_default();
    view! {
        <div class="table-wrap">
            <table class="members">
                <thead><tr>
                    <th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"Two-step"</th>
                    <th scope="col">"Joined"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {list.into_iter().map(|m| {
                        let (id, email) = (m.account_id.clone(), m.email.clone());
                        let remove = Callback::new(move |()| {
                            let (id, email) = (id.clone(), email.clone());
                            spawn_local(async move {
                                match api.remove_member(id).await {
                                    Ok(()) => {
                                        notices.say(format!("Removed {email}."));
                                        members.refetch();
                                    }
                                    Err(f) => notices.say(f.message()),
                                }
                            });
                        });
                        let removable = owner && m.account_id != me;
                        view! {
                            <tr>
                                <td>{m.email.clone()} {(m.account_id == me).then(|| view! { <span class="muted">" (you)"</span> })}</td>
                                <td><span class="badge">{role_name(m.role)}</span></td>
                                <td>{if m.totp_enabled { "on" } else { "off" }}</td>
                                <td class="nowrap">{short_time(&m.joined_at)}</td>
                                <td class="actions">{removable.then(|| view! {
                                    <Confirm label="Remove".into() class="button danger-ghost small remove-member"
                                        title=format!("Remove {}?", m.email)
                                        body="They can no longer administer this organisation. Their account stays, and can be invited again.".into()
                                        confirm="Remove" on_confirm=remove/>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn Invitations() -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let invitations: InvitationsResource = LocalResource::new(move || api.invitations());
    let form = FormState::new();
    let email = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Admin);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = InviteRequest {
            email: email.get_untracked().trim().to_owned(),
            role: role.get_untracked(),
        };
        form.run(api.invite(body), move |i| {
            let message = format!("Invitation sent to {}.", i.email);
            form.done.set(Some(message.clone()));
            notices.say(message);
            email.set(String::new());
            invitations.refetch();
        });
    };
    view! {
        <section class="panel" aria-labelledby="invite-title">
            <h2 id="invite-title">"Invite an admin"</h2>
            <form on:submit=submit novalidate class="narrow">
                <Field label="Email" name="email" kind="email" value=email error=form.field("email")
                    hint="They get a link that works once, for 7 days."/>
                <div class="field">
                    <label for="invite-role">"Role"</label>
                    <select id="invite-role" on:change=move |ev| role.set(if event_target_value(&ev) == "owner" { Role::Owner } else { Role::Admin })>
                        <option value="admin" selected=true>"Admin: applications, providers, keys, people, audit"</option>
                        <option value="owner">"Owner: everything, plus members and invitations"</option>
                    </select>
                    {move || form.field("role").get().map(|e| view! { <p class="field-error">{e}</p> })}
                </div>
                <FormStatus form=form/>
                <button type="submit" class="button primary" disabled=move || form.busy.get()>"Send the invitation"</button>
            </form>
        </section>
        <section class="panel" aria-labelledby="invitations-title">
            <h2 id="invitations-title">"Open invitations"</h2>
            <Loaded resource=invitations what="the invitations" let:list>
                <InvitationList list=list invitations=invitations/>
            </Loaded>
        </section>
    }
}

#[component]
fn InvitationList(list: Vec<Invitation>, invitations: InvitationsResource) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    if list.is_empty() {
        return view! {
            <Empty title="No open invitation">
                <p>"Invite a colleague above so someone else can step in when you are away."</p>
            </Empty>
        }
        .into_any();
    }
    view! {
        <ul class="rows">
            {list.into_iter().map(|i| {
                let (id, email) = (i.id.clone(), i.email.clone());
                let revoke = Callback::new(move |()| {
                    let (id, email) = (id.clone(), email.clone());
                    spawn_local(async move {
                        match api.revoke_invitation(id).await {
                            Ok(()) => {
                                notices.say(format!("Invitation to {email} revoked."));
                                invitations.refetch();
                            }
                            Err(f) => notices.say(f.message()),
                        }
                    });
                });
                view! {
                    <li class="row">
                        <div>
                            <strong>{i.email.clone()}</strong> " " <span class="badge">{role_name(i.role)}</span>
                            <p class="sub">{format!("Invited by {} · link valid until {}", i.invited_by, short_time(&i.expires_at))}</p>
                        </div>
                        <Confirm label="Revoke".into() class="button danger-ghost small revoke"
                            title=format!("Revoke the invitation to {}?", i.email)
                            body="The link in their email stops working.".into()
                            confirm="Revoke" on_confirm=revoke/>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}
