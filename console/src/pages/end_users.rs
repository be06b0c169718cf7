//! End users: the people who logged in through the tenant, searched and paged, with where
//! they stand in each provisioned application; block, unblock, reset their second factor.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use rosetta_api::{EndUser, EndUserPage, EndUserQuery, UserProvisioning, UserStatus};

use super::provisioning::state_badge;
use crate::api::Failure;
use crate::session::use_api;
use crate::ui::{Confirm, Empty, Loaded, PageHeader, Pager, short_time, use_notices};

const PER_PAGE: u64 = 25;

type UsersResource = LocalResource<Result<EndUserPage, Failure>>;

#[component]
pub fn EndUsers() -> impl IntoView {
    let api = use_api();
    let typed = RwSignal::new(String::new());
    let search = RwSignal::new(String::new());
    let page = RwSignal::new(1_u64);
    let users: UsersResource = LocalResource::new(move || {
        let term = search.get();
        api.end_users(EndUserQuery {
            search: (!term.is_empty()).then_some(term),
            page: Some(page.get()),
            per_page: Some(PER_PAGE),
        })
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        page.set(1);
        search.set(typed.get_untracked().trim().to_owned());
    };
    view! {
        <PageHeader title="End users" lead="People who signed in through Rosetta. Blocking someone refuses their next login and ends their sessions."/>
        <form on:submit=submit role="search" class="toolbar">
            <label for="user-search" class="visually-hidden">"Search by email or name"</label>
            <input id="user-search" type="search" placeholder="Search by email or name"
                prop:value=move || typed.get() on:input=move |ev| typed.set(event_target_value(&ev))/>
            <button type="submit" class="button secondary">"Search"</button>
        </form>
        <Loaded resource=users what="the end users" let:p>
            <UserTable p=p users=users searched=search.get_untracked() page=page/>
        </Loaded>
    }
}

#[component]
fn UserTable(p: EndUserPage, users: UsersResource, searched: String, page: RwSignal<u64>) -> impl IntoView {
    if p.items.is_empty() {
        return if searched.is_empty() {
            view! {
                <Empty title="Nobody has signed in through Rosetta yet">
                    <p>"People appear here after their first login. To try one, open the test login on the "
                       <a href="/atlassian#try">"Atlassian page"</a> "."</p>
                </Empty>
            }
            .into_any()
        } else {
            view! {
                <Empty title="Nobody matches">
                    <p>{format!("No end user's email or name contains “{searched}”.")}</p>
                </Empty>
            }
            .into_any()
        };
    }
    let set_page = Callback::new(move |n| page.set(n));
    view! {
        <div class="table-wrap">
            <table class="users">
                <thead><tr>
                    <th scope="col">"Person"</th><th scope="col">"Last sign-in"</th><th scope="col">"Two-step"</th>
                    <th scope="col">"Status"</th><th scope="col">"In applications"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {p.items.into_iter().map(|u| view! { <UserRow u=u users=users/> }).collect_view()}
                </tbody>
            </table>
        </div>
        <Pager total=p.total page=p.page per_page=p.per_page set_page=set_page/>
    }
    .into_any()
}

#[component]
fn UserRow(u: EndUser, users: UsersResource) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let blocked = u.status == UserStatus::Blocked;
    let act = move |call: std::pin::Pin<Box<dyn std::future::Future<Output = Result<EndUser, Failure>>>>,
                    message: String| {
        spawn_local(async move {
            match call.await {
                Ok(_) => {
                    notices.say(message);
                    users.refetch();
                }
                Err(f) => notices.say(f.message()),
            }
        });
    };
    let (id_block, id_unblock, id_reset) = (u.id.clone(), u.id.clone(), u.id.clone());
    let (email_b, email_u, email_r) = (u.email.clone(), u.email.clone(), u.email.clone());
    let block = Callback::new(move |()| {
        act(
            Box::pin(api.block_user(id_block.clone())),
            format!("Blocked {email_b}."),
        )
    });
    let reset = Callback::new(move |()| {
        act(
            Box::pin(api.reset_user_mfa(id_reset.clone())),
            format!("Two-step sign-in reset for {email_r}."),
        )
    });
    let unblock = move |_| {
        act(
            Box::pin(api.unblock_user(id_unblock.clone())),
            format!("Unblocked {email_u}."),
        )
    };
    view! {
        <tr>
            <td>
                <span class="person">{u.display_name.clone().unwrap_or_else(|| u.email.clone())}</span>
                <span class="sub">{u.email.clone()}</span>
            </td>
            <td class="nowrap">{u.last_login_at.as_deref().map(short_time).unwrap_or_else(|| "never".into())}</td>
            <td>{if u.mfa_enrolled { view! { <span class="badge good">"set up"</span> }.into_any() } else { view! { <span class="muted">"—"</span> }.into_any() }}</td>
            <td><StatusBadge status=u.status/></td>
            <td><ProvisioningBadges list=u.provisioning.clone()/></td>
            <td class="actions">
                {if blocked {
                    view! { <button type="button" class="button secondary small unblock" on:click=unblock>"Unblock"</button> }.into_any()
                } else {
                    view! {
                        <Confirm label="Block".into() class="button danger-ghost small block" title=format!("Block {}?", u.email)
                            body="Their next login is refused and their current sessions stop working. You can unblock them later.".into()
                            confirm="Block" on_confirm=block/>
                    }.into_any()
                }}
                {u.mfa_enrolled.then(|| view! {
                    <Confirm label="Reset two-step sign-in".into() class="button danger-ghost small reset-mfa"
                        title=format!("Reset two-step sign-in for {}?", u.email)
                        body="Their authenticator app stops working here; they set up a new one at their next login. Do this only when you know it is them (a lost phone).".into()
                        confirm="Reset" on_confirm=reset/>
                })}
            </td>
        </tr>
    }
}

/// What departed means, for its badge.
const DEPARTED: &str = "Their identity provider no longer knows this account (disabled or deleted there), \
                        or they had not logged in for the organisation's limit. Rosetta deactivated them in every \
                        application and ended their sessions. A new login through the provider makes them active again.";

#[component]
fn StatusBadge(status: UserStatus) -> impl IntoView {
    match status {
        UserStatus::Active => view! { <span class="badge good">"active"</span> }.into_any(),
        UserStatus::Blocked => view! { <span class="badge bad">"blocked"</span> }.into_any(),
        UserStatus::Departed => view! {
            <span class="badge warn departed" title=DEPARTED>"departed"</span>
            <span class="sub">"Deactivated everywhere; a new login makes them active again."</span>
        }
        .into_any(),
    }
}

/// Where the person stands in each application Rosetta provisions.
#[component]
fn ProvisioningBadges(list: Vec<UserProvisioning>) -> impl IntoView {
    if list.is_empty() {
        return view! { <span class="muted">"—"</span> }.into_any();
    }
    view! {
        <span class="badges">
            {list.into_iter().map(|p| {
                let (class, words) = state_badge(p.state, p.active_at_target);
                view! { <span class=class data-application=p.service_provider.clone()>{format!("{}: {words}", p.service_provider)}</span> }
            }).collect_view()}
        </span>
    }
    .into_any()
}
