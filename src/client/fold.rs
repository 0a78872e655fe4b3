//! Session events folded into transcript rows: the half of the reducer that both live
//! events and pages of earlier turns go through (`reducer::apply`, `history`), so both show
//! an event alike. Streaming text updates its row's signals in place.

use super::format::mode_changed_text;
use super::store::{Entry, EntryBody, Resolution, SendStatus, SessionView};
use super::tool_view::ToolDetail;
use crate::protocol::{Seq, SessionEvent, ToolStatus};
use leptos::prelude::*;
use std::sync::Arc;

/// Folds one event into a view's transcript rows and state. Also builds the rows of an
/// earlier page (a scratch view, see `history`), so both paths show events alike.
pub(crate) fn fold_event(view: &SessionView, seq: Seq, event: SessionEvent) {
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
                    view,
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
            write_assistant(view, key, message_id, text, true);
            if !view.streaming.get_untracked() {
                view.streaming.set(true);
            }
        }
        SessionEvent::AssistantMessage { message_id, text } => {
            write_assistant(view, key, message_id, text, false);
            view.streaming.set(false);
        }
        SessionEvent::Thinking { message_id, text } => {
            let existing = find_latest(view, |body| match body {
                EntryBody::Thinking {
                    message_id: id,
                    text,
                } if *id == message_id => Some(text.clone()),
                _ => None,
            });
            match existing {
                Some(signal) => signal.update(|s| s.push_str(&text)),
                None => push_entry(
                    view,
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
        } => match find_tool(view, &call_id) {
            // A repeated call id updates the card instead of adding a second one.
            Some((title_signal, ..)) => title_signal.set(title),
            None => push_entry(
                view,
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
            match find_tool(view, &call_id) {
                Some((_, output_signal, status, duration)) => {
                    output_signal.set(Some(output));
                    status.set(status_value);
                    if duration_ms.is_some() {
                        duration.set(duration_ms);
                    }
                }
                // A result without its call (should not happen): still show it.
                None => push_entry(
                    view,
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
                    view,
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
            let target = find_latest(view, |body| match body {
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
        SessionEvent::TurnStarted { .. } => {}
        SessionEvent::TurnCompleted {
            usage,
            duration_ms,
            stop_reason,
        } => {
            stop_streaming(view);
            push_entry(
                view,
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
            // Replayed history must not roll the state back: only an event newer than what
            // the meta reflects (every patch says the seq it is current at) may set it.
            let newest = view.meta.with_untracked(|m| seq > m.last_seq);
            if newest && view.meta.with_untracked(|m| m.state != state) {
                if !state.is_busy() {
                    stop_streaming(view);
                }
                view.meta.update(|m| m.state = state);
            }
        }
        SessionEvent::Error { message, detail } => push_notice(view, key, message, detail, true),
        SessionEvent::Notice { message } => push_notice(view, key, message, None, false),
        SessionEvent::ConversationReset { reason } => {
            let message = "The agent lost the conversation and started a fresh one: it does not know what was said before.".to_owned();
            push_notice(view, key, message, Some(reason.clone()), true);
            if seq > view.history_seq.get_untracked() {
                view.conversation_reset.set(Some(reason));
            }
        }
        SessionEvent::PermissionModeChanged { mode } => {
            push_notice(view, key, mode_changed_text(&mode), None, false);
        }
        SessionEvent::Budget {
            message, stopped, ..
        } => push_entry(
            view,
            Entry {
                key,
                body: EntryBody::Budget {
                    message,
                    stopped,
                    resend: None,
                },
            },
        ),
    }
}

/// Appends a row (this notifies the list, unlike in-place streaming updates).
pub(crate) fn push_entry(view: &SessionView, entry: Entry) {
    view.entries.update(|entries| entries.push(entry));
    view.activity.update(|n| *n += 1);
}

/// Ends every streaming row of the session (turn over, cancelled, failed).
pub(crate) fn stop_streaming(view: &SessionView) {
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
pub(crate) fn push_notice(
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
