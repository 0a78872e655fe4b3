//! What this tab has to send and what the server has not confirmed yet: frames queued until
//! `Connected`, messages kept until their `UserMessage` echo (resent after a reconnect; the
//! server drops duplicates by `ClientMsgId`), which sessions the live socket is subscribed
//! to, which drafts it is creating and which session it last said it views. Pure
//! bookkeeping with no web API: the socket (`socket.rs`) does the I/O, this decides, and it
//! is tested natively.

use crate::protocol::{
    echoed_message, Attachment, ClientFrame, ClientMsgId, ErrorCode, RequestTag, ServerFrame,
    SessionId,
};
use std::collections::HashSet;

/// A message waiting for its `UserMessage` echo.
#[derive(Debug, Clone, PartialEq)]
pub struct Unacked {
    /// The session.
    pub session: SessionId,
    /// The message's id (the server drops a resend with it).
    pub client_msg_id: ClientMsgId,
    /// The text.
    pub text: String,
    /// The images.
    pub attachments: Vec<Attachment>,
    /// Its request tag (every transmission carries it), which a refusal names.
    pub tag: RequestTag,
}

/// Something made while the socket was not ready, in the order it was made.
#[derive(Debug, Clone, PartialEq)]
enum Queued {
    /// A frame, sent as it is.
    Frame(Box<ClientFrame>),
    /// A user message (kept in `unacked`), transmitted from there, so it goes out once.
    Message(ClientMsgId),
}

/// What to write, in order, once the socket is ready.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// A frame as it is.
    Frame(ClientFrame),
    /// A message: the socket builds its `Send` (with a fresh tag, and `create` for a
    /// draft's first one on this socket).
    Message(Unacked),
}

/// The bookkeeping of one browser tab's connection, across its sockets.
#[derive(Debug, Default)]
pub struct Outbox {
    /// `Connected` arrived on the live socket.
    ready: bool,
    /// Frames and messages made while not ready, flushed in order after `Connected`.
    queue: Vec<Queued>,
    /// What the live socket last told the server this tab shows (`None` on a new socket,
    /// which is also what the server assumes), so `View` goes out only on a change.
    viewing: Option<SessionId>,
    /// Sessions whose stream the live socket receives.
    subscribed: HashSet<SessionId>,
    /// Drafts whose creating `Send` went out on the live socket.
    creating: HashSet<SessionId>,
    /// Messages not yet echoed, oldest first.
    unacked: Vec<Unacked>,
}

impl Outbox {
    /// Whether `Connected` arrived on the live socket.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// A frame to write now, or `None` when it was queued for `Connected`. `View` is not
    /// queued: it is state, and `Connected` is followed by the current one.
    pub fn send(&mut self, frame: ClientFrame) -> Option<ClientFrame> {
        if self.ready {
            return Some(frame);
        }
        if !matches!(frame, ClientFrame::View { .. }) {
            self.queue.push(Queued::Frame(Box::new(frame)));
        }
        None
    }

    /// Keeps a new message until echoed; true when it is to be transmitted now (else it
    /// goes out after `Connected`, in its place among the queued frames).
    pub fn message(&mut self, message: Unacked) -> bool {
        let id = message.client_msg_id;
        self.unacked.push(message);
        if !self.ready {
            self.queue.push(Queued::Message(id));
        }
        self.ready
    }

    /// Whether a `Send` to this draft is the live socket's first (it carries `create`).
    pub fn creates(&mut self, draft: SessionId) -> bool {
        self.creating.insert(draft)
    }

    /// Whether to subscribe to `session` now: the socket is ready and not subscribed yet.
    pub fn subscribes(&mut self, session: SessionId) -> bool {
        self.ready && self.subscribed.insert(session)
    }

    /// Whether to tell the server this tab now shows `target` (ready, and it changed).
    pub fn views(&mut self, target: Option<SessionId>) -> bool {
        let changed = self.ready && self.viewing != target;
        if changed {
            self.viewing = target;
        }
        changed
    }

    /// A new socket said `Hello`, resuming `resumed` (which count as subscribed).
    pub fn hello(&mut self, resumed: impl IntoIterator<Item = SessionId>) {
        self.lost();
        self.subscribed.extend(resumed);
    }

    /// The socket is gone: nothing is subscribed, viewed or being created on it.
    pub fn lost(&mut self) {
        self.ready = false;
        self.viewing = None;
        self.subscribed.clear();
        self.creating.clear();
    }

    /// Bookkeeping for a frame from the server (before the reducer applies it): an echoed
    /// message is done; a refused one is dropped (resending would be refused again), and
    /// so is every message of a session that ended or that the server does not know.
    pub fn received(&mut self, frame: &ServerFrame) {
        match frame {
            // The server streams a session's events to the socket that created it.
            ServerFrame::SessionCreated { session } if self.creating.remove(&session.id) => {
                self.subscribed.insert(session.id);
            }
            ServerFrame::Event { event, .. } => {
                if let Some(echoed) = echoed_message(event) {
                    self.unacked.retain(|u| u.client_msg_id != echoed);
                }
            }
            ServerFrame::SessionRemoved { session } => self.forget_session(*session),
            ServerFrame::Error {
                session: Some(session),
                tag: Some(tag),
                ..
            } => {
                let refused = self.unacked.iter().position(|u| u.tag == *tag);
                if let Some(index) = refused {
                    self.unacked.remove(index);
                    // A refused first message leaves the draft a draft: the next one
                    // creates it.
                    self.creating.remove(session);
                }
            }
            ServerFrame::Error {
                session: Some(session),
                tag: None,
                code: ErrorCode::UnknownSession,
                ..
            } => self.forget_session(*session),
            _ => {}
        }
    }

    fn forget_session(&mut self, session: SessionId) {
        self.subscribed.remove(&session);
        self.creating.remove(&session);
        self.unacked.retain(|u| u.session != session);
    }

    /// `Connected` arrived: what to write, in order. First the messages an earlier socket
    /// sent that the server never echoed (they were made first), then what was made while
    /// not ready, in the order it was made (a Stop before a new message stays before it).
    pub fn connected(&mut self) -> Vec<Outgoing> {
        self.ready = true;
        let queued = std::mem::take(&mut self.queue);
        let is_queued = |id: ClientMsgId| queued.contains(&Queued::Message(id));
        let mut out: Vec<Outgoing> = self
            .unacked
            .iter()
            .filter(|m| !is_queued(m.client_msg_id))
            .cloned()
            .map(Outgoing::Message)
            .collect();
        for item in queued {
            match item {
                Queued::Frame(frame) => out.push(Outgoing::Frame(*frame)),
                // Gone when the server refused it or the session ended meanwhile.
                Queued::Message(id) => {
                    if let Some(message) = self.unacked.iter().find(|m| m.client_msg_id == id) {
                        out.push(Outgoing::Message(message.clone()));
                    }
                }
            }
        }
        out
    }
}
