//! The layout shared by both routes: sidebar, banners, tab bar and the routed pane. It
//! loads the session list for the first paint, keeps the active tab equal to the URL, and
//! starts the browser-only machinery once hydrated.

use super::banner::{ConnectionBanner, ResumeBanner, ServerErrorBanner, Toast};
use super::composer::Composer;
use super::deferred::Deferred;
use super::header::SessionHeader;
use super::messages::MessageList;
use super::panes::{pane_extra, PaneExtra};
use super::sidebar::{Sidebar, SidebarDrawer};
use super::tabs::TabBar;
use super::use_store;
use crate::client::actions::{self, id_from_path, session_path};
use crate::client::reducer::replace_sessions;
use crate::client::store::SessionView;
use crate::client::{files, start_browser, start_shortcuts_and_alerts, ConnectionState, Store};
use crate::protocol::SessionId;
use leptos::prelude::*;
use leptos_router::components::Outlet;
use leptos_router::hooks::{use_location, use_navigate};

/// The `ParentRoute` view: seeds the store from the lists the page was rendered with,
/// then shows the layout.
#[component]
pub fn Workspace() -> impl IntoView {
    let store = use_store();
    let location = use_location();
    // The server and the hydrating browser run this with the same lists and path, so both
    // render the same markup.
    seed(
        store,
        first_paint_lists(),
        &location.pathname.get_untracked(),
    );
    view! { <Layout/> }
}

/// The session and project lists a page is rendered with.
pub type FirstPaint = (Vec<crate::protocol::Session>, Vec<crate::protocol::Project>);

/// The lists for the first paint: on the server, the registry's as the page's head carries
/// them (`app::FirstPaintLists`); in the browser, the head's copy.
fn first_paint_lists() -> Result<FirstPaint, String> {
    #[cfg(feature = "ssr")]
    return use_context::<crate::app::FirstPaintLists>().map_or_else(
        || Err("no session list for this page".to_owned()),
        |lists| lists.0,
    );
    #[cfg(not(feature = "ssr"))]
    {
        let text = document()
            .get_element_by_id(crate::client::FIRST_PAINT)
            .and_then(|script| script.text_content())
            .ok_or("the page came without its session list; the socket brings it")?;
        serde_json::from_str(&text)
            .map_err(|error| format!("the page's session list is unreadable: {error}"))
    }
}

fn seed(store: Store, list: Result<FirstPaint, String>, path: &str) {
    // Once the socket is connected its lists are newer than these.
    if store.connection.get_untracked() != ConnectionState::Open {
        match list {
            Ok((list, projects)) => {
                replace_sessions(&store, list);
                crate::client::projects::projects_arrived(&store, projects);
            }
            Err(error) => leptos::logging::warn!("switchboard: session list: {error}"),
        }
    }
    actions::show(store, id_from_path(path));
}

#[component]
fn Layout() -> impl IntoView {
    let store = use_store();
    let location = use_location();
    let navigate = use_navigate();
    let sidebar_open = RwSignal::new(false);
    provide_context(SidebarDrawer(sidebar_open));

    // Effects run only in the browser, after hydration: saved tabs and the socket.
    let go = {
        let navigate = navigate.clone();
        move |path: &str| navigate(path, actions::nav_options())
    };
    Effect::new(move |_| {
        start_browser(store);
        files::guard_window();
        start_shortcuts_and_alerts(store, go.clone(), move || sidebar_open.set(true));
    });

    // Fetch and compile the session pane's code before the first open (see `warm`).
    super::warm::after_hydration();

    // The URL decides the active tab (and opens unknown ids as drafts).
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        if previous.as_deref() != Some(path.as_str()) {
            actions::show(store, id_from_path(&path));
            sidebar_open.set(false);
        }
        path
    });

    // The active session vanished (ended here or elsewhere): show another tab.
    Effect::new(move |_| {
        let Some(id) = store.active.get() else {
            return;
        };
        if !store.has_view(id) {
            let next = store.tabs.get_untracked().last().copied();
            store.active.set(next);
            let path = actions::next_path(next);
            navigate(&path, actions::nav_options());
        }
    });

    view! {
        <div class="app" class=("sidebar-open", move || sidebar_open.get())>
            <Sidebar/>
            <div
                class="sidebar-scrim"
                data-testid="sidebar-scrim"
                aria-hidden="true"
                on:click=move |_| sidebar_open.set(false)
            ></div>
            <main class="main-pane">
                <div class="topbar">
                    <button
                        class="sidebar-toggle"
                        data-testid="sidebar-toggle"
                        aria-expanded=move || if sidebar_open.get() { "true" } else { "false" }
                        aria-label="Show sessions"
                        title="Sessions"
                        on:click=move |_| sidebar_open.update(|open| *open = !*open)
                    >
                        "☰"
                    </button>
                    <TabBar/>
                </div>
                <ConnectionBanner/>
                <ServerErrorBanner/>
                <Toast/>
                <Outlet/>
            </main>
        </div>
    }
}

/// The `/` pane: no session chosen.
#[component]
pub fn EmptyPane() -> impl IntoView {
    let store = use_store();
    let navigate = use_navigate();
    let start = move |_| {
        let id = actions::new_draft(store);
        navigate(&session_path(id), actions::nav_options());
    };
    view! {
        <section class="empty-pane">
            <div class="empty-card">
                <h1>"Switchboard"</h1>
                <p>
                    {move || {
                        if store.tabs.with(Vec::is_empty) {
                            "No session is open. Click + in the sidebar to start one, or pick a session from the list."
                        } else {
                            "Pick a tab above, or click + to start a new session."
                        }
                    }}
                </p>
                <button class="primary" on:click=start>"Start a new session"</button>
            </div>
        </section>
    }
}

/// How long a session opened in the running app may keep the pane waiting for its newest
/// turns before it shows empty ("Loading the conversation…").
const HISTORY_WAIT: std::time::Duration = std::time::Duration::from_millis(150);

/// The `/s/:id` pane: header, transcript and composer of the active session.
///
/// A session opened in the running app shows once its newest turns are in (or after
/// [`HISTORY_WAIT`]): the pane renders and paints once, with its rows, instead of empty
/// first and again a moment later. Meanwhile the tab and sidebar already mark it active.
/// While the page loads and hydrates it shows at once, as the server rendered it.
#[component]
pub fn SessionRoute() -> impl IntoView {
    let store = use_store();
    // Only a change of the active id (or its session appearing/vanishing) rebuilds the
    // pane; list changes elsewhere do not.
    let current = Memo::new(move |_| store.active.get().filter(|id| store.has_view(*id)));
    let waited = RwSignal::new(None::<SessionId>);
    Effect::new(move |_| {
        if let Some(id) = current.get() {
            // `try_set`: the route may be gone by then.
            set_timeout(
                move || {
                    let _ = waited.try_set(Some(id));
                },
                HISTORY_WAIT,
            );
        }
    });
    let shown = Memo::new(move |previous: Option<&Option<SessionId>>| {
        let id = current.get()?;
        let running = store.connection.get() == ConnectionState::Open;
        let ready = !running
            || waited.get() == Some(id)
            || store.view(id).is_some_and(|view| view.has_history());
        if ready {
            Some(id)
        } else {
            // Keep what is shown, if it still exists.
            previous.copied().flatten().filter(|id| store.has_view(*id))
        }
    });
    move || {
        shown
            .get()
            .and_then(|id| store.view(id))
            .map(|session| view! { <SessionPanel session/> })
    }
}

/// One session: header, banner, transcript, composer and, when opened, its Changes panel. Images dropped anywhere on it
/// go to its composer (and never make the browser leave the app to show them).
#[component]
pub(super) fn SessionPanel(session: SessionView) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let dragging = RwSignal::new(false);
    // Enter and leave come in pairs per element crossed; the pane is left when they even out.
    let depth = StoredValue::new(0u32);
    let on_drag_enter = move |ev: leptos::ev::DragEvent| {
        if files::on_drag_over(&ev) {
            depth.update_value(|d| *d += 1);
            dragging.set(true);
        }
    };
    let on_drag_leave = move |_: leptos::ev::DragEvent| {
        if depth.get_value() > 0 {
            depth.update_value(|d| *d -= 1);
            if depth.get_value() == 0 {
                dragging.set(false);
            }
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        depth.set_value(0);
        dragging.set(false);
        files::on_drop(store, id, &ev);
    };
    let changes_open = RwSignal::from(session.changes.open.clone());
    view! {
        <section
            class="session-pane"
            class:dragging=move || dragging.get()
            class:with-changes=move || changes_open.get()
            data-session-id=id.to_string()
            on:dragenter=on_drag_enter
            on:dragover=move |ev| {
                files::on_drag_over(&ev);
            }
            on:dragleave=on_drag_leave
            on:drop=on_drop
        >
            <SessionHeader session=session.clone()/>
            <ResumeBanner session=session.clone()/>
            <MessageList session=session.clone()/>
            <Composer session=session.clone()/>
            <div class="drop-hint" aria-hidden="true">"Drop images to attach them"</div>
            <Show when=move || changes_open.get()>
                {
                    let session = session.clone();
                    view! { <Deferred load=move || pane_extra(PaneExtra::Changes { session: session.clone() })/> }
                }
            </Show>
        </section>
    }
}
