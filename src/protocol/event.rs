//! `SessionEvent`: what happened in a session. Each one is stored in the session's log with
//! its `Seq` before any client sees it; a transcript is the fold of these events.

use super::tag_first::tag_first;
use super::{BudgetAlert, ClientMsgId, RequestId, SessionState, Usage};
use serde::{Deserialize, Serialize};

/// A file sent along with a user message (images, later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name as the user gave it.
    pub name: String,
    /// MIME type, e.g. `image/png`.
    pub mime_type: String,
    /// Base64 content.
    pub data_base64: String,
}

/// One choice offered by a permission request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermissionOption {
    /// The agent's id for this option; sent back in the answer.
    pub id: String,
    /// Button label.
    pub label: String,
    /// What choosing it means.
    pub kind: PermissionOptionKind,
}

/// The meaning of a permission option, whatever the agent calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermissionOptionKind {
    /// Allow this once.
    AllowOnce,
    /// Allow this and similar calls from now on.
    AllowAlways,
    /// Deny this once.
    RejectOnce,
    /// Deny this and similar calls from now on.
    RejectAlways,
}

impl PermissionOptionKind {
    /// True for the allowing kinds.
    pub fn allows(self) -> bool {
        matches!(self, Self::AllowOnce | Self::AllowAlways)
    }
}

/// Where a tool call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolStatus {
    /// Started, no result yet.
    Running,
    /// Finished successfully.
    Ok,
    /// Finished with an error.
    Error,
}

tag_first! {
    #[serde(tag = "type", rename_all = "snake_case")]
    /// Something that happened in a session, as stored in its log.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub enum SessionEvent {
        /// The user sent a message.
        UserMessage {
            /// The browser's id for it (resends are recognised by it).
            client_msg_id: ClientMsgId,
            /// The text.
            text: String,
            /// Attached files.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            attachments: Vec<Attachment>,
        },
        /// A piece of assistant text; pieces with the same `message_id` make one message.
        AssistantDelta {
            /// Which message it belongs to.
            message_id: String,
            /// The text to append.
            text: String,
        },
        /// A whole assistant message; replaces any deltas with the same `message_id`.
        AssistantMessage {
            /// Which message.
            message_id: String,
            /// Its full text.
            text: String,
        },
        /// A piece of the model's visible reasoning.
        Thinking {
            /// Which thought it belongs to.
            message_id: String,
            /// The text to append.
            text: String,
        },
        /// The agent started using a tool.
        ToolCall {
            /// The agent's id of the call.
            id: String,
            /// Tool name (e.g. `Bash`, `read`).
            name: String,
            /// One-line human summary (the command, the file).
            title: String,
            /// The tool's input as the agent gave it.
            input: serde_json::Value,
        },
        /// A tool call finished.
        ToolResult {
            /// The call's id.
            id: String,
            /// Its output as text.
            output: String,
            /// Whether it failed.
            is_error: bool,
            /// How long the call ran, from its `ToolCall` to this result, in milliseconds (the
            /// server measures it when it stores the result).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            duration_ms: Option<u64>,
        },
        /// The agent asks before using a tool; it waits for `PermissionResolved`.
        PermissionRequested {
            /// Id of this request, used in the answer.
            request_id: RequestId,
            /// What it wants to do, in words.
            title: String,
            /// The tool's input.
            input: serde_json::Value,
            /// The choices.
            options: Vec<PermissionOption>,
        },
        /// The user (or a cancel) answered a permission request.
        PermissionResolved {
            /// Which request.
            request_id: RequestId,
            /// The chosen option id; `None` when the turn was cancelled instead.
            option_id: Option<String>,
            /// Whether the answer allows the tool.
            allowed: bool,
        },
        /// The agent began working on a message.
        TurnStarted {
            /// Which message: the `client_msg_id` of its `UserMessage` (turns start in the order
            /// their messages came, but Stop and a used-up budget drop waiting ones, so a script
            /// waiting for its reply matches by this). `None` in logs from before it was kept,
            /// and for imported histories.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            client_msg_id: Option<ClientMsgId>,
        },
        /// The turn ended.
        TurnCompleted {
            /// Tokens and cost of this turn.
            usage: Usage,
            /// Wall time of the turn in milliseconds.
            duration_ms: u64,
            /// Why it ended (`end_turn`, `cancelled`, ...).
            stop_reason: String,
        },
        /// The session moved to another state.
        StateChanged {
            /// The new state.
            state: SessionState,
        },
        /// Something failed.
        Error {
            /// What, for people.
            message: String,
            /// More detail (e.g. the tail of the agent's stderr).
            detail: Option<String>,
        },
        /// Information for the user that is not the agent speaking (e.g. "context reset").
        Notice {
            /// The text.
            message: String,
        },
        /// The agent could not resume its earlier conversation and started a fresh one: it no
        /// longer knows what was said before. Shown as a notice and a banner, never hidden.
        ConversationReset {
            /// Why, for people (e.g. the CLI's error).
            reason: String,
        },
        /// The session's permission mode changed (asked by the user, or by the agent itself,
        /// e.g. on leaving plan mode).
        PermissionModeChanged {
            /// The new mode, in the agent's own words.
            mode: String,
        },
        /// A budget that applies to the session is nearly used (a warning), or used up: the
        /// running turn was stopped, or messages waiting behind it were not sent.
        Budget {
            /// The budget, its limit and what was spent against it.
            alert: BudgetAlert,
            /// True when a turn was stopped or a waiting message was not sent because of it.
            stopped: bool,
            /// For people: what happened and what the user can do.
            message: String,
        },
    }
}

/// Counts transcript entries the way `Session::entry_count` does: every
/// [`SessionEvent::is_entry`] event, and the first event of each assistant message or
/// thought (its later deltas grow the same entry).
#[derive(Debug, Default)]
pub struct EntryCounter {
    messages: std::collections::HashSet<String>,
}

impl EntryCounter {
    /// True when `event`, coming after the ones already given, starts a new entry.
    pub fn is_new_entry(&mut self, event: &SessionEvent) -> bool {
        match event {
            SessionEvent::AssistantDelta { message_id, .. }
            | SessionEvent::AssistantMessage { message_id, .. }
            | SessionEvent::Thinking { message_id, .. } => self.messages.insert(message_id.clone()),
            other => other.is_entry(),
        }
    }
}

impl SessionEvent {
    /// The browser's id of the message, if this is a user message's echo.
    pub fn echoed_message(&self) -> Option<ClientMsgId> {
        match self {
            SessionEvent::UserMessage { client_msg_id, .. } => Some(*client_msg_id),
            _ => None,
        }
    }

    /// True when this event starts a new transcript entry (what unread counts count).
    /// Deltas after the first of their message are not new entries ([`EntryCounter`] knows
    /// which).
    pub fn is_entry(&self) -> bool {
        matches!(
            self,
            SessionEvent::UserMessage { .. }
                | SessionEvent::ToolCall { .. }
                | SessionEvent::PermissionRequested { .. }
                | SessionEvent::Error { .. }
                | SessionEvent::Notice { .. }
                | SessionEvent::ConversationReset { .. }
                | SessionEvent::Budget { .. }
        )
    }
}

/// A session event as this build reads it from the wire. The server (and native tests)
/// decode it; the browser keeps its JSON ([`Deferred`](super::Deferred)), so the decoder of
/// every event kind, and the code that folds events into transcript rows, are in the
/// conversation pane's module (`client::session_frames`), not in the first load. The wire
/// is the same either way.
#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
pub type WireEvent = super::Deferred<SessionEvent>;
/// A session event as this build reads it from the wire (see the browser build's).
#[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
pub type WireEvent = SessionEvent;

/// The event a [`WireEvent`] holds, decoded if it was kept as JSON (an error says what in
/// it is malformed).
pub fn read_event(event: WireEvent) -> Result<SessionEvent, serde_json::Error> {
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    return event.decode();
    #[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
    Ok(event)
}

/// The browser's id of the user message a [`WireEvent`] echoes, if it is one; read without
/// decoding the rest of the event, so the socket can confirm a delivery in the first load.
pub fn echoed_message(event: &WireEvent) -> Option<ClientMsgId> {
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    return match event {
        super::Deferred::Json(raw) => echoed_in_json(raw.get()),
        super::Deferred::Value(event) => event.echoed_message(),
    };
    #[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
    event.echoed_message()
}

/// [`echoed_message`] of an event's JSON: only the tag and the id are read.
pub fn echoed_in_json(json: &str) -> Option<ClientMsgId> {
    /// The two fields that tell an echo, of any event's JSON.
    #[derive(Deserialize)]
    struct Echo {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        client_msg_id: Option<ClientMsgId>,
    }
    serde_json::from_str::<Echo>(json)
        .ok()
        .filter(|echo| echo.kind == "user_message")
        .and_then(|echo| echo.client_msg_id)
}
