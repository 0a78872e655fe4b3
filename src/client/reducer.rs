//! The one reducer: [`apply`] folds a `ServerFrame` into the [`Store`]. It is the only way
//! server data changes the store, it touches no web API, and it is unit-tested natively.

use super::format::mode_changed_text;
use super::history;
use super::read_marker::{is_news, server_read};
use super::store::{ConnectionState, Entry, EntryBody, Resolution, SendStatus, SessionView, Store};
use super::sync::is_sync_error;
use super::tool_view::ToolDetail;
use crate::protocol::{
    Seq, ServerFrame, Session, SessionEvent, SessionId, SessionState, ToolStatus,
};
use leptos::prelude::*;
use std::sync::Arc;

/// Applies one frame from the server to the store.
pub fn apply(store: &Store, frame: ServerFrame) {
    match frame {
        ServerFrame::Connected {
            server_version,
            sessions,
            agents,
        } => {
            store.agents.set(agents);
            // A fresh socket subscribes anew: earlier sync errors get their retry.
            store.sessions.with_untracked(|list| {
                for view in list {
                    if view.sync_error.with_untracked(Option::is_some) {
                        view.sync_error.set(None);
                    }
                    // A page asked for on the old socket will not come.
                    if view.loading_earlier.get_untracked() {
                        view.loading_earlier.set(false);
                    }
                }
            });
            replace_sessions(store, sessions);
            store.server_version.set(Some(server_version));
            store.connection.set(ConnectionState::Open);
        }
        ServerFrame::Event {
            session,
            seq,
            event,
        } => apply_event(store, session, seq, event),
        ServerFrame::SessionCreated { session } => session_created(store, session),
        ServerFrame::SessionUpdated { session, patch } => {
            let Some(view) = store.view(session) else {
                return;
            };
            view.meta.update(|meta| meta.apply(&patch));
            if let Some(state) = &patch.state {
                if !state.is_busy() {
                    stop_streaming(&view);
                }
            }
            if let Some(read_seq) = patch.read_seq {
                server_read(&view, read_seq);
            }
            store.sync_read(&view);
        }
        ServerFrame::SessionRemoved { session } => remove_session(store, session),
        ServerFrame::HistoryStart {
            session,
            first_seq,
            events,
        } => {
            if let Some(view) = store.view(session) {
                history::history_start(&view, first_seq);
            }
            // In one go: the list renders once for the whole page.
            for logged in events {
                apply_event(store, session, logged.seq, logged.event);
            }
        }
        ServerFrame::Earlier {
            session,
            before,
            first_seq,
            events,
        } => {
            if let Some(view) = store.view(session) {
                history::prepend_earlier(&view, before, first_seq, events);
            }
        }
        ServerFrame::Error {
            session,
            code,
            message,
        } => match session.and_then(|id| store.view(id)) {
            Some(view) => {
                if is_sync_error(code) {
                    view.sync_error.set(Some(message.clone()));
                }
                // A refused request leaves the session's pending messages undelivered, and
                // unresolved permission cards answerable again.
                view.entries.with_untracked(|entries| {
                    for entry in entries {
                        match &entry.body {
                            EntryBody::User { status, .. }
                                if status.get_untracked() == SendStatus::Pending =>
                            {
                                status.set(SendStatus::Failed);
                            }
                            EntryBody::Permission {
                                resolution,
                                answered,
                                ..
                            } if resolution.with_untracked(Option::is_none)
                                && answered.with_untracked(Option::is_some) =>
                            {
                                answered.set(None);
                            }
                            _ => {}
                        }
                    }
                });
                // Settings the composer showed ahead of the server (a permission mode just
                // picked) may be what was refused: let them show the session's truth again.
                view.meta.update(|_| {});
                let key = view.local_key();
                push_notice(&view, key, message, None, true);
            }
            None => store.server_error.set(Some(message)),
        },
        ServerFrame::Pong => {}
    }
}

/// Replaces the session list (from `Connected`, or the SSR-rendered list): known views keep
/// their entries and read markers (which the server's marker may advance), new ones count
/// as read, vanished ones are dropped (with their tabs), and drafts, which the server does
/// not know, stay.
pub fn replace_sessions(store: &Store, sessions: Vec<Session>) {
    let old = store.sessions.get_untracked();
    let mut next: Vec<SessionView> = Vec::with_capacity(sessions.len());
    for session in sessions {
        if session.state == SessionState::Archived || next.iter().any(|v| v.id == session.id) {
            continue;
        }
        match old.iter().find(|v| v.id == session.id) {
            Some(view) => {
                let read_seq = session.read_seq;
                view.meta.set(session);
                // Read in another browser tab while this one was away.
                server_read(view, read_seq);
                next.push(view.clone());
            }
            None => {
                let read = session.message_count;
                next.push(SessionView::new(session, read));
            }
        }
    }
    // Newest first, and a stable order, so items do not jump while someone clicks them.
    next.sort_by_key(|v| std::cmp::Reverse(v.meta.with_untracked(|m| m.created_at_ms)));
    for view in old {
        if view.is_draft() && !next.iter().any(|v| v.id == view.id) {
            next.push(view);
        }
    }
    store
        .tabs
        .update(|tabs| tabs.retain(|id| next.iter().any(|v| v.id == *id)));
    store.sessions.set(next);
    if let Some(view) = store.active_view() {
        store.sync_read(&view);
    }
}

fn session_created(store: &Store, session: Session) {
    if session.state == SessionState::Archived {
        return;
    }
    let id = session.id;
    let view = match store.view(id) {
        // Our own draft (or a session we already knew): same view, so its tab keeps its
        // entries and composer.
        Some(view) => {
            view.meta.set(session);
            view
        }
        // Created elsewhere: all of it is unread here.
        None => SessionView::new(session, 0),
    };
    store.sessions.update(|list| {
        list.retain(|v| v.id != id);
        list.insert(0, view.clone());
    });
    store.sync_read(&view);
}

fn remove_session(store: &Store, id: SessionId) {
    // Ending a session here closes its tab first, so a session still open here was ended
    // elsewhere: say so rather than let the tab vanish silently.
    if store.is_open(id) {
        if let Some(view) = store.view(id) {
            let title = view.meta.with_untracked(|m| m.title.clone());
            store.toast.set(Some(format!(
                "\u{201c}{title}\u{201d} was ended in another window."
            )));
        }
        store.tabs.update(|tabs| tabs.retain(|t| *t != id));
    }
    store.sessions.update(|list| list.retain(|v| v.id != id));
}

fn apply_event(store: &Store, id: SessionId, seq: Seq, event: SessionEvent) {
    let Some(view) = store.view(id) else {
        return;
    };
    // Replays overlap what this tab holds; the seq makes applying idempotent.
    if seq <= view.applied_seq.get_untracked() {
        return;
    }
    view.applied_seq.set(seq);
    if is_news(store, &view, id, seq) {
        if let Some(identity) = entry_identity(&event, seq) {
            view.unseen.update(|unseen| {
                unseen.insert(identity);
            });
        }
    }
    fold_event(&view, seq, event);
    view.activity.update(|n| *n += 1);
    // A reply that finished while its tab is in front has been read.
    store.sync_read(&view);
}

/// Folds one event into a view's transcript rows and state. Also builds the rows of an
/// earlier page (a scratch view, see `history`), so both paths show events alike.
pub(crate) fn fold_event(view: &SessionView, seq: Seq, event: SessionEvent) {
    let view = view.clone();
    let key = seq.0;
    match event {
        SessionEvent::UserMessage {
            client_msg_id,
            text,
            attachments,
        } => {
            let confirmed = view.entries.with_untracked(|entries| {
                entries.iter().find_map(|entry| match &entry.body {
                    EntryBody::User {
                        client_msg_id: Some(mine),
                        status,
                        ..
                    } if *mine == client_msg_id => Some(status.clone()),
                    _ => None,
                })
            });
            match confirmed {
                // The optimistic row this tab showed on send.
                Some(status) => status.set(SendStatus::Delivered),
                None => push_entry(
                    &view,
                    Entry {
                        key,
                        body: EntryBody::User {
                            client_msg_id: Some(client_msg_id),
                            text,
                            attachments: attachments.into(),
                            status: ArcRwSignal::new(SendStatus::Delivered),
                        },
                    },
                ),
            }
        }
        SessionEvent::AssistantDelta { message_id, text } => {
            write_assistant(&view, key, message_id, text, true);
            if !view.streaming.get_untracked() {
                view.streaming.set(true);
            }
        }
        SessionEvent::AssistantMessage { message_id, text } => {
            write_assistant(&view, key, message_id, text, false);
            view.streaming.set(false);
        }
        SessionEvent::Thinking { message_id, text } => {
            let existing = find_latest(&view, |body| match body {
                EntryBody::Thinking {
                    message_id: id,
                    text,
                } if *id == message_id => Some(text.clone()),
                _ => None,
            });
            match existing {
                Some(signal) => signal.update(|s| s.push_str(&text)),
                None => push_entry(
                    &view,
                    Entry {
                        key,
                        body: EntryBody::Thinking {
                            message_id,
                            text: ArcRwSignal::new(text),
                        },
                    },
                ),
            }
        }
        SessionEvent::ToolCall {
            id: call_id,
            name,
            title,
            input,
        } => match find_tool(&view, &call_id) {
            // A repeated call id updates the card instead of adding a second one.
            Some((title_signal, ..)) => title_signal.set(title),
            None => push_entry(
                &view,
                Entry {
                    key,
                    body: EntryBody::Tool {
                        call_id,
                        detail: Arc::new(ToolDetail::from_input(&name, &input)),
                        name,
                        title: ArcRwSignal::new(title),
                        input: pretty_json(&input),
                        output: ArcRwSignal::new(None),
                        status: ArcRwSignal::new(ToolStatus::Running),
                        duration_ms: ArcRwSignal::new(None),
                    },
                },
            ),
        },
        SessionEvent::ToolResult {
            id: call_id,
            output,
            is_error,
            duration_ms,
        } => {
            let status_value = if is_error {
                ToolStatus::Error
            } else {
                ToolStatus::Ok
            };
            match find_tool(&view, &call_id) {
                Some((_, output_signal, status, duration)) => {
                    output_signal.set(Some(output));
                    status.set(status_value);
                    if duration_ms.is_some() {
                        duration.set(duration_ms);
                    }
                }
                // A result without its call (should not happen): still show it.
                None => push_entry(
                    &view,
                    Entry {
                        key,
                        body: EntryBody::Tool {
                            call_id: call_id.clone(),
                            name: String::new(),
                            title: ArcRwSignal::new(call_id),
                            input: String::new(),
                            detail: Arc::new(ToolDetail::Other),
                            output: ArcRwSignal::new(Some(output)),
                            status: ArcRwSignal::new(status_value),
                            duration_ms: ArcRwSignal::new(duration_ms),
                        },
                    },
                ),
            }
        }
        SessionEvent::PermissionRequested {
            request_id,
            title,
            input,
            options,
        } => {
            let known = view.entries.with_untracked(|entries| {
                entries.iter().any(|entry| {
                    matches!(&entry.body, EntryBody::Permission { request_id: r, .. } if *r == request_id)
                })
            });
            if !known {
                push_entry(
                    &view,
                    Entry {
                        key,
                        body: EntryBody::Permission {
                            request_id,
                            title,
                            input: pretty_json(&input),
                            options,
                            resolution: ArcRwSignal::new(None),
                            answered: ArcRwSignal::new(None),
                        },
                    },
                );
            }
        }
        SessionEvent::PermissionResolved {
            request_id,
            option_id,
            allowed,
        } => {
            let target = find_latest(&view, |body| match body {
                EntryBody::Permission {
                    request_id: r,
                    resolution,
                    ..
                } if *r == request_id => Some(resolution.clone()),
                _ => None,
            });
            if let Some(resolution) = target {
                resolution.set(Some(Resolution { option_id, allowed }));
            }
        }
        SessionEvent::TurnStarted => {}
        SessionEvent::TurnCompleted {
            usage,
            duration_ms,
            stop_reason,
        } => {
            stop_streaming(&view);
            push_entry(
                &view,
                Entry {
                    key,
                    body: EntryBody::TurnEnd {
                        usage,
                        duration_ms,
                        stop_reason,
                    },
                },
            );
        }
        SessionEvent::StateChanged { state } => {
            // Replayed history must not roll the state back: only an event at least as new
            // as the meta's last seq may set it (patches normally do).
            let newest = view.meta.with_untracked(|m| seq >= m.last_seq);
            if newest && view.meta.with_untracked(|m| m.state != state) {
                if !state.is_busy() {
                    stop_streaming(&view);
                }
                view.meta.update(|m| m.state = state);
            }
        }
        SessionEvent::Error { message, detail } => push_notice(&view, key, message, detail, true),
        SessionEvent::Notice { message } => push_notice(&view, key, message, None, false),
        SessionEvent::ConversationReset { reason } => {
            let message = "The agent lost the conversation and started a fresh one: it does not know what was said before.".to_owned();
            push_notice(&view, key, message, Some(reason.clone()), true);
            if seq > view.history_seq.get_untracked() {
                view.conversation_reset.set(Some(reason));
            }
        }
        SessionEvent::PermissionModeChanged { mode } => {
            push_notice(&view, key, mode_changed_text(&mode), None, false);
        }
    }
}

/// Appends a row (this notifies the list, unlike in-place streaming updates).
/// Which transcript entry an event adds to or changes, for unread counting; `None` for
/// events that show no entry (turn boundaries, state changes).
fn entry_identity(event: &SessionEvent, seq: Seq) -> Option<String> {
    match event {
        SessionEvent::AssistantDelta { message_id, .. }
        | SessionEvent::AssistantMessage { message_id, .. }
        | SessionEvent::Thinking { message_id, .. } => Some(format!("message:{message_id}")),
        SessionEvent::ToolCall { id, .. } | SessionEvent::ToolResult { id, .. } => {
            Some(format!("tool:{id}"))
        }
        SessionEvent::PermissionRequested { request_id, .. } => {
            Some(format!("permission:{}", request_id.0))
        }
        SessionEvent::UserMessage { .. }
        | SessionEvent::Error { .. }
        | SessionEvent::Notice { .. }
        | SessionEvent::ConversationReset { .. } => Some(format!("entry:{}", seq.0)),
        SessionEvent::PermissionResolved { .. }
        | SessionEvent::TurnStarted
        | SessionEvent::TurnCompleted { .. }
        | SessionEvent::StateChanged { .. }
        | SessionEvent::PermissionModeChanged { .. } => None,
    }
}

pub(crate) fn push_entry(view: &SessionView, entry: Entry) {
    view.entries.update(|entries| entries.push(entry));
    view.activity.update(|n| *n += 1);
}

/// Ends every streaming row of the session (turn over, cancelled, failed).
fn stop_streaming(view: &SessionView) {
    if view.streaming.get_untracked() {
        view.streaming.set(false);
    }
    view.entries.with_untracked(|entries| {
        for entry in entries {
            if let EntryBody::Assistant { streaming, .. } = &entry.body {
                if streaming.get_untracked() {
                    streaming.set(false);
                }
            }
        }
    });
}

type AssistantSignals = (ArcRwSignal<String>, ArcRwSignal<bool>);

/// Adds a notice row: an error (`is_error`) or information that is not the agent speaking.
fn push_notice(
    view: &SessionView,
    key: u64,
    message: String,
    detail: Option<String>,
    is_error: bool,
) {
    push_entry(
        view,
        Entry {
            key,
            body: EntryBody::Notice {
                message,
                detail,
                is_error,
            },
        },
    );
}

/// Appends a delta to its message's row (`streaming`), or sets the whole message (not
/// streaming); makes the row when it is the message's first event.
fn write_assistant(
    view: &SessionView,
    key: u64,
    message_id: String,
    text: String,
    streaming: bool,
) {
    match find_assistant(view, &message_id) {
        Some((signal, row_streaming)) => {
            if streaming {
                signal.update(|s| s.push_str(&text));
            } else {
                signal.set(text);
            }
            if row_streaming.get_untracked() != streaming {
                row_streaming.set(streaming);
            }
        }
        None => push_entry(
            view,
            Entry {
                key,
                body: EntryBody::Assistant {
                    message_id,
                    text: ArcRwSignal::new(text),
                    streaming: ArcRwSignal::new(streaming),
                },
            },
        ),
    }
}

/// The newest entry `pick` accepts, mapped by it. Searches from the end: the row an event
/// updates (the streaming message, the running tool) is almost always among the last.
fn find_latest<T>(view: &SessionView, pick: impl Fn(&EntryBody) -> Option<T>) -> Option<T> {
    view.entries
        .with_untracked(|entries| entries.iter().rev().find_map(|entry| pick(&entry.body)))
}

fn find_assistant(view: &SessionView, message_id: &str) -> Option<AssistantSignals> {
    find_latest(view, |body| match body {
        EntryBody::Assistant {
            message_id: id,
            text,
            streaming,
        } if id == message_id => Some((text.clone(), streaming.clone())),
        _ => None,
    })
}

type ToolSignals = (
    ArcRwSignal<String>,
    ArcRwSignal<Option<String>>,
    ArcRwSignal<ToolStatus>,
    ArcRwSignal<Option<u64>>,
);

fn find_tool(view: &SessionView, call_id: &str) -> Option<ToolSignals> {
    find_latest(view, |body| match body {
        EntryBody::Tool {
            call_id: id,
            title,
            output,
            status,
            duration_ms,
            ..
        } if id == call_id => Some((
            title.clone(),
            output.clone(),
            status.clone(),
            duration_ms.clone(),
        )),
        _ => None,
    })
}

/// Tool inputs as people read them; `null` (no input) shows as nothing.
fn pretty_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(text) => text.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}
