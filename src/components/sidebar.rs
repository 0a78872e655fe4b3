//! The sidebar: the "+" button, the `session-search` box (Ctrl/Cmd+K), the matching
//! sessions grouped under their projects (see [`super::projects`]), one `session-item` each
//! (agent, title, preview, state, unread count, sync dot, imported mark), "Add project", and
//! at its foot the `notifications-toggle`, `doctor-link`, `usage-link`, `settings-link`, `import-link` and `machines-link`.
//! Under the box, `search-all-link` opens the search over every transcript with its words. Clicking an item opens it as a tab via
//! its link.

use super::add_project::AddProject;
use super::badges::{ImportedBadge, StateBadge, SyncDot, UnreadBadge};
use super::icons::{self, LineIcon};
use super::projects::ProjectGroup;
use super::use_store;
use crate::client::actions::{self, session_path};
use crate::client::alerts::{notify_status, toggle_notifications, NotifyStatus};
use crate::client::projects::group_sessions;
use crate::client::shortcuts::focus_composer;
use crate::client::store::SessionView;
use crate::client::transcript_search::{search_all_label, search_path};
use crate::client::Store;
use crate::client::{invisible, search};
use crate::protocol::Session;
use crate::protocol::SessionState;
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};

/// Whether the sidebar lists a session: drafts are tabs only, not sessions yet.
fn is_listed(view: &SessionView) -> bool {
    view.meta
        .with_untracked(|m| !matches!(m.state, SessionState::Draft | SessionState::Archived))
}

/// Server sessions in list order.
fn listed(store: Store) -> Vec<SessionView> {
    store
        .sessions
        .with(|list| list.iter().filter(|v| is_listed(v)).cloned().collect())
}

/// Whether the sidebar is open as a drawer (phone widths), provided by the layout.
#[derive(Debug, Clone, Copy)]
pub struct SidebarDrawer(pub RwSignal<bool>);

/// The sessions `query` keeps, tracking their titles and previews while a query is typed.
fn matching(store: Store, query: &str) -> Vec<SessionView> {
    let list = listed(store);
    if query.trim().is_empty() {
        return list;
    }
    list.into_iter()
        .filter(|v| {
            v.meta
                .with(|m| search::matches(query, &m.title, &m.preview))
        })
        .collect()
}

/// The left column.
#[component]
pub fn Sidebar() -> impl IntoView {
    let store = use_store();
    let navigate = use_navigate();
    let new_session = move |_| {
        let id = actions::new_draft(store);
        navigate(&session_path(id), actions::nav_options());
    };
    let query = RwSignal::new(String::new());
    // (Without cloning the list: a view is some twenty shared signals.)
    let is_empty = move || store.sessions.with(|list| !list.iter().any(is_listed));
    // Filtered once per change, for the list and for "no match" alike; it changes (and the
    // list re-renders) only when which sessions show, or their order, changes.
    let shown = Memo::new_with_compare(
        move |_| query.with(|q| matching(store, q)),
        |old: Option<&Vec<SessionView>>, new: Option<&Vec<SessionView>>| {
            let ids = |list: Option<&Vec<SessionView>>| {
                list.map(|list| list.iter().map(|v| v.id).collect::<Vec<_>>())
            };
            ids(old) != ids(new)
        },
    );
    let no_match =
        move || !query.with(|q| q.trim().is_empty()) && !is_empty() && shown.with(Vec::is_empty);
    // Sessions under their projects; empty projects show too, except while searching.
    let groups = Memo::new(move |_| {
        let searching = !query.with(|q| q.trim().is_empty());
        let sessions: Vec<_> = shown.with(|list| {
            list.iter()
                .map(|v| (v.id, v.meta.with_untracked(|m| m.project)))
                .collect()
        });
        store
            .projects
            .with(|projects| group_sessions(projects, &sessions, !searching))
    });
    let drawer = use_context::<SidebarDrawer>();
    let search_all = {
        let navigate = use_navigate();
        move || {
            let path = query.with_untracked(|q| search_path(q));
            navigate(&path, actions::nav_options());
        }
    };
    let on_search_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !query.with_untracked(|q| q.trim().is_empty()) {
            // Enter in the filter: the same words in every transcript.
            ev.prevent_default();
            search_all();
        } else if ev.key() == "Escape" {
            // Taken here, so the page's Escape (stop the agent) does not also fire.
            ev.prevent_default();
            query.set(String::new());
            // On phones the drawer would hide the composer it hands the focus to.
            if let Some(SidebarDrawer(open)) = drawer {
                open.set(false);
            }
            focus_composer();
        }
    };
    let location = use_location();
    let on_doctor = move || (location.pathname.get() == "/doctor").then_some("page");
    view! {
        <aside class="sidebar" aria-label="Sessions">
            <header class="sidebar-header">
                <span class="brand">"Switchboard"</span>
                <button
                    class="new-session-button"
                    data-testid="new-session-button"
                    title="New session"
                    aria-label="New session"
                    on:click=new_session
                >
                    "+"
                </button>
            </header>
            <div class="session-search-row">
                <input
                    type="search"
                    class="session-search"
                    data-testid="session-search"
                    placeholder="Search sessions  Ctrl K"
                    aria-label="Search sessions by title or preview"
                    autocomplete="off"
                    spellcheck="false"
                    bind:value=query
                    on:keydown=on_search_key
                />
            </div>
            <a
                class="search-all-link"
                data-testid="search-all-link"
                href=move || query.with(|q| search_path(q))
                data-noscroll=""
                title="Search the transcripts of every session (Ctrl+Shift+F)"
            >
                {move || query.with(|q| search_all_label(q))}
            </a>
            <Show when=no_match>
                <p class="sidebar-empty search-empty" data-testid="session-search-empty">
                    "No session matches “" {move || query.get()} "”."
                </p>
            </Show>
            <ul class="session-list" data-testid="session-list">
                <For
                    each=move || groups.with(|list| list.iter().map(|g| g.project).collect::<Vec<_>>())
                    key=|project| *project
                    children=move |project| {
                        let sessions = Memo::new(move |_| {
                            groups.with(|list| {
                                list.iter()
                                    .find(|g| g.project == project)
                                    .map(|g| g.sessions.clone())
                                    .unwrap_or_default()
                            })
                        });
                        view! { <ProjectGroup project sessions/> }
                    }
                />
            </ul>
            <Show when=is_empty>
                <p class="sidebar-empty">"No sessions yet. Click + to start one."</p>
            </Show>
            <AddProject/>
            <footer class="sidebar-footer">
                <NotifyToggle/>
                <a
                    class="doctor-link"
                    data-testid="doctor-link"
                    href="/doctor"
                    data-noscroll=""
                    title="Which agents are installed, and how to install the others"
                    aria-current=on_doctor
                >
                    "Doctor"
                </a>
                <a
                    class="doctor-link"
                    data-testid="usage-link"
                    href="/usage"
                    data-noscroll=""
                    title="What the agents spent, per day, project and agent"
                    aria-current=move || (location.pathname.get() == "/usage").then_some("page")
                >
                    "Usage"
                </a>
                <a
                    class="doctor-link"
                    data-testid="settings-link"
                    href="/settings"
                    data-noscroll=""
                    title="Logins and signing out"
                    aria-current=move || (location.pathname.get() == "/settings").then_some("page")
                >
                    "Settings"
                </a>
                <a
                    class="doctor-link"
                    data-testid="import-link"
                    href="/import"
                    data-noscroll=""
                    title="Import Claude Code and Codex sessions from this machine"
                    aria-current=move || (location.pathname.get() == "/import").then_some("page")
                >
                    "Import"
                </a>
                <a
                    class="doctor-link"
                    data-testid="machines-link"
                    href="/machines"
                    data-noscroll=""
                    title="Other hosts whose runners run agents for this server"
                    aria-current=move || (location.pathname.get() == "/machines").then_some("page")
                >
                    "Machines"
                </a>
            </footer>
        </aside>
    }
}

/// One session in the list: agent, state, unread count, sync dot, title and preview.
#[component]
pub(super) fn SessionItem(session: SessionView) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let meta = RwSignal::from(session.meta.clone());
    let dot = session.clone();
    let unread = Signal::derive(move || session.unread(&store));
    let active = move || store.active.get() == Some(id);
    view! {
        <li
            class="session-item"
            class:active=active
            class:attempt-item=move || meta.with(|m| m.compare.is_some())
            data-testid="session-item"
            data-session-id=id.to_string()
        >
            <a
                class="session-link"
                href=session_path(id)
                data-noscroll=""
                aria-current=move || active().then_some("page")
                on:pointerdown=move |ev: leptos::ev::PointerEvent| {
                    // A mouse or pen press is a click on its way; a touch may start a scroll.
                    if ev.pointer_type() != "touch" && ev.button() == 0 {
                        actions::prefetch(store, id);
                    }
                }
            >
                <div class="session-item-top">
                    <span class="agent-label">{move || meta.with(|m| m.agent.label())}</span>
                    <StateBadge meta/>
                    <ImportedBadge meta/>
                    <Placement meta/>
                    <UnreadBadge count=unread/>
                    <SyncDot session=dot/>
                </div>
                <div class="session-title">{move || meta.with(|m| m.title.clone())}</div>
                // One line of agent text: what it would not show (a bidi override would
                // reorder the rest of the line) is left out, as a copy would leave it out.
                <div class="session-preview">
                    {move || meta.with(|m| invisible::clean_for_copy(&m.preview).0)}
                </div>
            </a>
        </li>
    }
}

/// `session-placement`: the agent's pid while one runs; the title says where (the runner,
/// its pid and version, or the server itself).
#[component]
fn Placement(meta: RwSignal<Session>) -> impl IntoView {
    let placement = move || meta.with(|m| m.placement.clone());
    move || {
        let placement = placement();
        placement.pid.map(|pid| {
            view! {
                <span
                    class="placement"
                    data-testid="session-placement"
                    data-runner=placement.runner.as_ref().map(|r| r.pid.to_string())
                    title=placement.describe()
                >
                    {format!("pid {pid}")}
                </span>
            }
        })
    }
}

/// `notifications-toggle`: turns desktop notifications about background sessions on (the
/// browser asks for permission on the first click) and off.
#[component]
fn NotifyToggle() -> impl IntoView {
    // Off on the server and while hydrating; the browser's real state comes right after.
    let status = RwSignal::new(NotifyStatus::Off);
    Effect::new(move |_| status.set(notify_status()));
    let click = move |_| toggle_notifications(move |next| status.set(next));
    let label = move || match status.get() {
        NotifyStatus::Off => "Notify me",
        NotifyStatus::On => "Notifying",
        NotifyStatus::Blocked => "Blocked",
        NotifyStatus::Unsupported => "No alerts",
    };
    let title = move || match status.get() {
        NotifyStatus::Off => {
            "Notify me when a session in the background finishes or asks for permission"
        }
        NotifyStatus::On => "Notifications are on; click to turn them off",
        NotifyStatus::Blocked => {
            "The browser blocks notifications for this site (see its site settings)"
        }
        NotifyStatus::Unsupported => "This browser cannot show notifications here",
    };
    view! {
        <button
            type="button"
            class="notify-toggle"
            data-testid="notifications-toggle"
            data-status=move || status.get().name()
            aria-pressed=move || if status.get() == NotifyStatus::On { "true" } else { "false" }
            title=title
            disabled=move || matches!(status.get(), NotifyStatus::Unsupported | NotifyStatus::Blocked)
            on:click=click
        >
            <LineIcon paths=icons::BELL size=14/>
            <span>{label}</span>
        </button>
    }
}
