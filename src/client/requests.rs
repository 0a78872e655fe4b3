//! The requests this tab sent that the server may still refuse, by the tag each frame
//! carries. An `Error` echoes the tag, so the reducer undoes exactly the refused request
//! (one message not delivered, one permission card answerable again) and nothing else.
//! Pure bookkeeping, tested natively.

use super::changes::GitOp;
use crate::protocol::{ClientMsgId, RequestId, RequestTag, SessionId};
use std::collections::VecDeque;

/// Requests remembered at most; older ones are forgotten (a refusal that late would find
/// nothing of its request left to undo anyway).
const REMEMBERED: usize = 512;

/// What a tagged request was, so its refusal undoes the right thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A user message (its row shows "Not delivered" when refused).
    Message {
        /// The session.
        session: SessionId,
        /// Which message.
        client_msg_id: ClientMsgId,
    },
    /// A permission answer (the card becomes answerable again).
    Answer {
        /// The session.
        session: SessionId,
        /// Which card.
        request_id: RequestId,
    },
    /// A permission mode change (the composer shows the session's mode again).
    Mode {
        /// The session.
        session: SessionId,
    },
    /// A page of earlier turns (it may be asked for again).
    Page {
        /// The session.
        session: SessionId,
    },
    /// A subscription (the session's sync dot shows the error).
    Subscribe {
        /// The session.
        session: SessionId,
    },
    /// "Add project" (the form shows why in `project-error`).
    AddProject,
    /// A project renamed or removed (a toast says why).
    Project,
    /// The changes or one diff of a session (the Changes panel says why).
    Changes {
        /// The session.
        session: SessionId,
    },
    /// A commit, discard or merge (the panel's result line says why).
    Git {
        /// The session.
        session: SessionId,
        /// Which.
        op: GitOp,
    },
    /// Ending a session (its tab closed already, so a toast says why it did not end).
    End {
        /// The session.
        session: SessionId,
    },
    /// "Ask several" (refused: the prompt comes back in a new draft of the project, so
    /// nothing typed is lost).
    Compare {
        /// The project it was asked in.
        project: crate::protocol::ProjectId,
        /// The prompt.
        text: String,
        /// Its images.
        attachments: Vec<crate::protocol::Attachment>,
    },
    /// A search over every transcript (the search pane shows a refusal: a bad query).
    Search,
    /// A scan of the CLIs' stores (the Import page says why it failed).
    ImportScan,
    /// Starting an import (the Import page says why it did not start).
    ImportStart,
    /// Anything else about a session: Stop, Retry, Rename, End (the notice is all).
    Other {
        /// The session.
        session: SessionId,
    },
}

/// The open requests and the next tag.
#[derive(Debug, Default)]
pub struct Requests {
    next: u64,
    open: VecDeque<(RequestTag, Request)>,
}

impl Requests {
    /// A fresh tag for `request`, remembered until taken or forgotten.
    pub fn open(&mut self, request: Request) -> RequestTag {
        self.next += 1;
        let tag = RequestTag(self.next);
        if self.open.len() == REMEMBERED {
            self.open.pop_front();
        }
        self.open.push_back((tag, request));
        tag
    }

    /// The request `tag` was given to, forgotten now (it was answered).
    pub fn take(&mut self, tag: RequestTag) -> Option<Request> {
        let index = self.open.iter().position(|(t, _)| *t == tag)?;
        self.open.remove(index).map(|(_, request)| request)
    }
}
