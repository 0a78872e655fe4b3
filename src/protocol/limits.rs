//! What the server accepts from a client (`ClientLimits`, sent in `Connected`) and why it
//! refuses a frame (`ErrorCode`, in every `Error`).

use super::MAX_CLIENT_FRAME_BYTES;
use serde::{Deserialize, Serialize};

/// Why the server refused or could not do something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame was not valid JSON or not a known frame.
    Malformed,
    /// The frame was larger than the limit.
    TooLarge,
    /// No session has this id.
    UnknownSession,
    /// The request does not fit the session's state (e.g. sending to an archived session).
    InvalidState,
    /// The agent could not be started or failed.
    AgentFailed,
    /// The server failed (storage, ...); details are in its log.
    Internal,
    /// The request names something outside what this server allows (e.g. a working
    /// directory outside the configured roots).
    NotAllowed,
    /// A configured limit was reached (open sessions, attachments, ...).
    LimitReached,
    /// The socket sent frames faster than allowed; it is closed after this frame.
    RateLimited,
    /// A search query that cannot be read (an unclosed quote, nothing to look for).
    BadQuery,
    /// A budget that applies to the session is used up: raise it, or allow one more turn
    /// (`AllowTurn`) and send again.
    OverBudget,
}

/// What a server accepts from a client, sent in `Connected` so the browser checks against
/// the configured values, not compiled-in copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientLimits {
    /// Largest frame read, in bytes (`limits.max_frame_bytes`).
    pub max_frame_bytes: usize,
    /// Longest user message, in bytes (`limits.max_message_bytes`).
    pub max_message_bytes: usize,
    /// Most attachments on one message (`limits.max_attachments`).
    pub max_attachments: usize,
    /// Largest attachment, decoded, in bytes (`limits.max_attachment_bytes`).
    pub max_attachment_bytes: usize,
}

impl Default for ClientLimits {
    /// The server's defaults, for a client that has not heard from a server yet.
    fn default() -> Self {
        ClientLimits {
            max_frame_bytes: MAX_CLIENT_FRAME_BYTES,
            max_message_bytes: 256 * 1024,
            max_attachments: 8,
            max_attachment_bytes: 768 * 1024,
        }
    }
}
