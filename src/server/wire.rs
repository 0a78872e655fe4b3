//! Frames on their way to sockets, serialized once: a stored event reaches every subscribed
//! socket as the same shared bytes, instead of being encoded again per socket.

use crate::protocol::{Seq, ServerFrame, SessionState};
use axum::extract::ws::Utf8Bytes;

/// A server frame as JSON text, with its event seq (for replay/live deduplication) and its
/// kind (for the API's event stream), both read off the frame once, when it is encoded.
#[derive(Debug, Clone)]
pub struct WireFrame {
    /// The seq, when the frame is a session event.
    pub seq: Option<Seq>,
    /// What kind of frame the text holds.
    pub kind: WireKind,
    /// The JSON; cloning shares the bytes.
    pub text: Utf8Bytes,
}

/// The kinds of frame a session's stream carries, as its readers tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireKind {
    /// A stored event (`seq` is set).
    Event,
    /// A metadata patch; `ended` when it archives the session.
    Patch {
        /// The patch says the session is archived.
        ended: bool,
    },
    /// An error frame.
    Error,
    /// Anything else.
    Other,
}

impl WireFrame {
    /// Encodes a frame. Our frames always serialize (string keys only); a failure is a bug,
    /// logged by the caller.
    pub fn encode(frame: &ServerFrame) -> Result<WireFrame, serde_json::Error> {
        let (seq, kind) = match frame {
            ServerFrame::Event { seq, .. } => (Some(*seq), WireKind::Event),
            ServerFrame::SessionUpdated { patch, .. } => (
                None,
                WireKind::Patch {
                    ended: patch.state == Some(SessionState::Archived),
                },
            ),
            ServerFrame::Error { .. } => (None, WireKind::Error),
            _ => (None, WireKind::Other),
        };
        Ok(WireFrame {
            seq,
            kind,
            text: serde_json::to_string(frame)?.into(),
        })
    }
}
