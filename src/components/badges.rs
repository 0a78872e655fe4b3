//! Small status pieces shared by the sidebar, the tab bar and the session header.

use super::use_store;
use crate::client::store::{ConnectionState, SessionView};
use crate::protocol::{Session, SessionState};
use leptos::prelude::*;

/// The words for a state, as people read them.
pub fn state_label(state: &SessionState) -> &'static str {
    match state {
        SessionState::Draft => "New",
        SessionState::Starting => "Starting",
        SessionState::Idle => "Idle",
        SessionState::WaitingForAgent { .. } => "Waiting for an agent",
        SessionState::Working => "Working",
        SessionState::AwaitingPermission => "Needs permission",
        SessionState::Error { .. } => "Error",
        SessionState::Interrupted { .. } => "Interrupted",
        SessionState::Archived => "Ended",
        SessionState::Unreachable { .. } => "Unreachable",
    }
}

/// The state's details for a tooltip (the error message, why it was interrupted).
fn state_tooltip(state: &SessionState) -> String {
    match state {
        SessionState::Error { message } => format!("Error: {message}"),
        SessionState::Interrupted { reason } => format!("Interrupted: {reason}"),
        SessionState::Unreachable { machine } => {
            format!("Unreachable: {machine} is out of contact; the session goes on when it is back")
        }
        SessionState::WaitingForAgent { ahead: 0 } => {
            "Waiting for an agent slot: next in line (limits.max_live_agents)".to_string()
        }
        SessionState::WaitingForAgent { ahead } => {
            format!("Waiting for an agent slot: {ahead} ahead in line (limits.max_live_agents)")
        }
        other => state_label(other).to_string(),
    }
}

/// `session-state-badge` with `data-state`; a spinner while the agent works. `compact`
/// shows only the dot (the label stays for screen readers).
#[component]
pub fn StateBadge(meta: RwSignal<Session>, #[prop(optional)] compact: bool) -> impl IntoView {
    let state_name = move || meta.with(|m| m.state.name());
    let working = move || {
        meta.with(|m| {
            matches!(
                m.state,
                SessionState::Working
                    | SessionState::Starting
                    | SessionState::WaitingForAgent { .. }
            )
        })
    };
    view! {
        <span
            class="state-badge"
            class:compact=compact
            data-testid="session-state-badge"
            data-state=state_name
            title=move || meta.with(|m| state_tooltip(&m.state))
        >
            <span class="state-dot" class:spinner=working aria-hidden="true"></span>
            <span class="state-label" class:visually-hidden=compact>
                {move || meta.with(|m| state_label(&m.state))}
            </span>
        </span>
    }
}

/// `unread-badge`, present only while something is unread.
#[component]
pub fn UnreadBadge(#[prop(into)] count: Signal<u64>) -> impl IntoView {
    move || {
        let n = count.get();
        (n > 0).then(|| {
            view! {
                <span class="unread-badge" data-testid="unread-badge" title=format!("{n} unread")>
                    {if n > 99 { "99+".to_string() } else { n.to_string() }}
                </span>
            }
        })
    }
}

/// `sync-dot` with `data-sync` (`connected`, `reconnecting`, `disconnected`, `error`): how
/// live the session's view is. A small ring, unlike the state badge's filled dot: it is
/// about the connection, not the agent, and stays quiet while all is well.
#[component]
pub fn SyncDot(session: SessionView) -> impl IntoView {
    let store = use_store();
    let status = {
        let session = session.clone();
        Memo::new(move |_| session.sync_status(&store))
    };
    let tooltip = Memo::new(move |_| session.sync_tooltip(&store));
    // The page's first connect normally takes a moment: no alarm for it.
    let first_connect = move || store.connection.get() == ConnectionState::Connecting;
    view! {
        <span
            class="sync-dot"
            class:first-connect=first_connect
            data-testid="sync-dot"
            data-sync=move || status.get().as_str()
            role="img"
            aria-label=move || tooltip.get()
            title=move || tooltip.get()
        ></span>
    }
}

/// `imported-badge`: the session began in another CLI (its name in the tooltip) and was
/// imported; present only for such sessions.
#[component]
pub fn ImportedBadge(meta: RwSignal<Session>) -> impl IntoView {
    move || {
        meta.with(|m| m.imported).map(|source| {
            view! {
                <span
                    class="imported-badge"
                    data-testid="imported-badge"
                    data-source=source.name()
                    title=format!("Imported from {}", source.label())
                >
                    "imported"
                </span>
            }
        })
    }
}
