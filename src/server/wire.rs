//! Frames on their way to sockets, serialized once: a stored event reaches every subscribed
//! socket as the same shared bytes, instead of being encoded again per socket.

use crate::protocol::{Seq, ServerFrame};
use axum::extract::ws::Utf8Bytes;

/// A server frame as JSON text, with its event seq (for replay/live deduplication).
#[derive(Debug, Clone)]
pub struct WireFrame {
    /// The seq, when the frame is a session event.
    pub seq: Option<Seq>,
    /// The JSON; cloning shares the bytes.
    pub text: Utf8Bytes,
}

impl WireFrame {
    /// Encodes a frame. Our frames always serialize (string keys only); a failure is a bug,
    /// logged by the caller.
    pub fn encode(frame: &ServerFrame) -> Result<WireFrame, serde_json::Error> {
        let seq = match frame {
            ServerFrame::Event { seq, .. } => Some(*seq),
            _ => None,
        };
        Ok(WireFrame {
            seq,
            text: serde_json::to_string(frame)?.into(),
        })
    }
}
