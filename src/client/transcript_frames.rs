//! The transcript folder ([`session_frames::Fold`](super::session_frames::Fold)): a
//! subscribed session's stream applied to its view. Events are decoded here (the browser
//! kept their JSON, [`WireEvent`]) and folded into rows ([`fold`](super::fold)); a page of
//! history sets where the view's log begins; a patch between them applies in its turn. In
//! the split build this code is in the conversation pane's module (`components::panes`).

use super::fold::{fold_event, push_notice};
use super::history;
use super::read_marker::is_news;
use super::reducer;
use super::store::{SessionView, Store};
use crate::protocol::{
    read_event, LoggedEvent, Seq, ServerFrame, SessionEvent, SessionId, WireEvent,
};
use leptos::prelude::*;

/// Applies one frame of a session's stream, or one that waited behind it (the reducer's).
pub fn apply(store: &Store, frame: ServerFrame) {
    match frame {
        ServerFrame::Event {
            session,
            seq,
            event,
        } => apply_events(store, session, [LoggedEvent { seq, event }]),
        ServerFrame::HistoryStart {
            session,
            first_seq,
            events,
        } => {
            if let Some(view) = store.view(session) {
                history::history_start(&view, first_seq);
            }
            apply_events(store, session, events);
        }
        ServerFrame::Earlier {
            session,
            before,
            first_seq,
            events,
            error,
        } => {
            let Some(view) = store.view(session) else {
                return;
            };
            match error {
                // Nothing changes; the next scroll to the top asks again.
                Some(error) => {
                    view.loading_earlier.set(false);
                    store.toast.set(Some(format!(
                        "Earlier messages could not be loaded: {error}"
                    )));
                }
                None => history::prepend_earlier(&view, before, first_seq, events),
            }
        }
        // A patch, a refusal or a removal that waited behind them.
        other => reducer::apply_now(store, other),
    }
}

/// Decodes an event and folds it into `view`'s rows (a page of earlier turns, `history`).
pub fn fold_wire_event(view: &SessionView, seq: Seq, event: WireEvent) {
    if let Some(event) = decoded(view, seq, event) {
        fold_event(view, seq, event);
    }
}

/// The event, decoded. One that cannot be read (a bug: the server wrote it) becomes an
/// error row saying so, in its place; the events around it still show.
fn decoded(view: &SessionView, seq: Seq, event: WireEvent) -> Option<SessionEvent> {
    read_event(event)
        .inspect_err(|error| {
            let message = format!("Event {} of this session could not be read.", seq.0);
            push_notice(view, seq.0, message, Some(error.to_string()), true);
        })
        .ok()
}

/// Folds a session's events, oldest first, into its view: one live event, or a whole page
/// (`HistoryStart`) in one go, so the view is looked up, followed and marked read once.
fn apply_events(store: &Store, id: SessionId, events: impl IntoIterator<Item = LoggedEvent>) {
    let Some(view) = store.view(id) else {
        return;
    };
    let mut applied = false;
    for LoggedEvent { seq, event } in events {
        // Replays overlap what this tab holds; the seq makes applying idempotent.
        if seq <= view.applied_seq.get_untracked() {
            continue;
        }
        view.applied_seq.set(seq);
        applied = true;
        let Some(event) = decoded(&view, seq, event) else {
            continue;
        };
        if is_news(store, &view, id, seq) {
            if let Some(identity) = entry_identity(&event, seq) {
                view.unseen.update(|unseen| {
                    unseen.insert(identity);
                });
            }
        }
        fold_event(&view, seq, event);
    }
    if applied {
        view.activity.update(|n| *n += 1);
        // A reply that finished while its tab is in front has been read.
        store.sync_read(&view);
    }
}

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
        | SessionEvent::Budget { .. }
        | SessionEvent::ConversationReset { .. } => Some(format!("entry:{}", seq.0)),
        SessionEvent::PermissionResolved { .. }
        | SessionEvent::TurnStarted { .. }
        | SessionEvent::TurnCompleted { .. }
        | SessionEvent::StateChanged { .. }
        | SessionEvent::PermissionModeChanged { .. } => None,
    }
}
