//! Presence and sync, the parts that need no web API: which session this browser tab tells
//! the server it shows (`ClientFrame::View`), and how up to date each session's view is (the
//! sync dot). The socket sends what [`view_target`] says; components show [`SyncStatus`].

use super::store::{ConnectionState, SessionView, Store};
use crate::protocol::{ErrorCode, SessionId};
use leptos::prelude::*;

/// How far a session's view can be trusted to be live, as its sync dot shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStatus {
    /// The socket is open and the server knows the session: updates arrive live.
    Connected,
    /// The socket is (re)connecting; what is shown may be behind until it is back.
    Reconnecting,
    /// Several attempts failed (the offline banner): nothing arrives until it is back.
    Disconnected,
    /// The socket is open, but the server could not serve this session (see the message).
    Error,
}

impl SyncStatus {
    /// Derives the status from the socket's state and the session's sync error. While the
    /// socket is down that is what matters: errors are retried on the next `Connected`.
    pub fn of(connection: ConnectionState, error: Option<&str>) -> Self {
        match connection {
            ConnectionState::Open if error.is_some() => SyncStatus::Error,
            ConnectionState::Open => SyncStatus::Connected,
            ConnectionState::Connecting | ConnectionState::Reconnecting { .. } => {
                SyncStatus::Reconnecting
            }
            ConnectionState::Offline { .. } => SyncStatus::Disconnected,
        }
    }

    /// The `data-sync` value: `connected`, `reconnecting`, `disconnected` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Connected => "connected",
            SyncStatus::Reconnecting => "reconnecting",
            SyncStatus::Disconnected => "disconnected",
            SyncStatus::Error => "error",
        }
    }
}

/// The sync dot's tooltip: what the status means for what the user sees.
pub fn sync_tooltip(connection: ConnectionState, error: Option<&str>) -> String {
    match (SyncStatus::of(connection, error), connection) {
        (SyncStatus::Connected, _) => "Live: updates arrive as they happen".to_string(),
        (SyncStatus::Reconnecting, ConnectionState::Connecting) => {
            "Connecting to the server…".to_string()
        }
        (SyncStatus::Reconnecting, _) => {
            "Reconnecting: what you see may be behind until the connection is back".to_string()
        }
        (SyncStatus::Disconnected, _) => {
            "Disconnected: no updates until the server can be reached again".to_string()
        }
        (SyncStatus::Error, _) => format!("Not in sync: {}", error.unwrap_or("server error")),
    }
}

/// Whether an `Error` frame naming a session means the server cannot keep it in sync
/// (it does not know the session, or could not read or write its log), rather than
/// refusing one request (a message to an archived session, an agent that failed).
pub fn is_sync_error(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::UnknownSession | ErrorCode::Internal)
}

impl SessionView {
    /// This session's sync status. Reactive: tracks the connection and the sync error.
    pub fn sync_status(&self, store: &Store) -> SyncStatus {
        let connection = store.connection.get();
        self.sync_error
            .with(|error| SyncStatus::of(connection, error.as_deref()))
    }

    /// The tooltip of [`Self::sync_status`]. Reactive, like it.
    pub fn sync_tooltip(&self, store: &Store) -> String {
        let connection = store.connection.get();
        self.sync_error
            .with(|error| sync_tooltip(connection, error.as_deref()))
    }
}

/// The session this browser tab shows, as `View` tells the server: the active one while the
/// page is visible. A draft counts once its first message went out (the server creates it
/// then); before that the server does not know it, and the session shown before must stop
/// counting as viewed. Untracked reads: the socket calls this when something changed.
pub fn view_target(store: &Store, visible: bool) -> Option<SessionId> {
    if !visible {
        return None;
    }
    let view = store.active_view()?;
    let sent = !view.is_draft() || view.entries.with_untracked(|entries| !entries.is_empty());
    sent.then_some(view.id)
}
