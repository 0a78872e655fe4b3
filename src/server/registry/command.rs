//! What a session task is asked to do (`SessionCommand`), and why a registry service call
//! failed (`ServiceError`, which becomes an `Error` frame or an API problem).

use crate::protocol::{Attachment, ClientMsgId, ErrorCode, RequestId, SessionId};
use crate::server::db::DbError;
use tokio::sync::oneshot;

/// What a session task is asked to do.
pub enum SessionCommand {
    /// A user message.
    Send {
        /// The browser's id of the message.
        client_msg_id: ClientMsgId,
        /// Its text.
        text: String,
        /// Attached files.
        attachments: Vec<Attachment>,
        /// Stored (or refused) answer.
        reply: oneshot::Sender<Result<(), ServiceError>>,
    },
    /// Stop the running turn.
    Cancel,
    /// Change the agent's permission mode.
    SetPermissionMode {
        /// One of the agent's modes.
        mode: String,
        /// Accepted or refused.
        reply: oneshot::Sender<Result<(), ServiceError>>,
    },
    /// Run the last message again.
    Retry {
        /// Started or refused.
        reply: oneshot::Sender<Result<(), ServiceError>>,
    },
    /// Answer a permission request.
    AnswerPermission {
        /// Which request.
        request_id: RequestId,
        /// The chosen option.
        option_id: String,
        /// Accepted or refused.
        reply: oneshot::Sender<Result<(), ServiceError>>,
    },
    /// One more (+1) or one fewer (-1) browser tab shows the session.
    Viewers {
        /// The change.
        delta: i32,
    },
    /// New title.
    Rename {
        /// The title.
        title: String,
        /// Answered once the title is stored and published (or refused: empty).
        reply: oneshot::Sender<Result<(), ServiceError>>,
    },
    /// Count the session's changes again soon (after a commit, discard or merge).
    Recount,
    /// A budget changed: check the session against its budgets again.
    BudgetChanged,
    /// Let one more turn run past a used-up budget.
    AllowTurn,
    /// Stop the agent and archive; the task ends after replying.
    Archive {
        /// Done.
        reply: oneshot::Sender<()>,
    },
    /// Append turns imported from another CLI's transcript (only between turns).
    Import {
        /// The events and the file's mark after them.
        batch: crate::server::db::imports::ImportBatch,
        /// Stored and published, or refused.
        reply: oneshot::Sender<Result<(), ServiceError>>,
    },
    /// The server is stopping.
    Shutdown,
}

/// Why a service call failed; becomes an `Error` frame.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No live session has this id.
    #[error("unknown session {0}")]
    UnknownSession(SessionId),
    /// Not possible in the session's state.
    #[error("{0}")]
    InvalidState(String),
    /// Input over a limit.
    #[error("{0}")]
    TooLarge(String),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// Outside what the configuration allows.
    #[error("{0}")]
    NotAllowed(String),
    /// A configured limit was reached.
    #[error("{0}")]
    LimitReached(String),
    /// A budget that applies is used up.
    #[error("{0}")]
    OverBudget(String),
    /// The database failed.
    #[error("storage failed: {0}")]
    Storage(String),
}

impl ServiceError {
    /// The wire error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            ServiceError::UnknownSession(_) => ErrorCode::UnknownSession,
            ServiceError::InvalidState(_) => ErrorCode::InvalidState,
            ServiceError::TooLarge(_) => ErrorCode::TooLarge,
            ServiceError::Invalid(_) => ErrorCode::Malformed,
            ServiceError::NotAllowed(_) => ErrorCode::NotAllowed,
            ServiceError::LimitReached(_) => ErrorCode::LimitReached,
            ServiceError::OverBudget(_) => ErrorCode::OverBudget,
            ServiceError::Storage(_) => ErrorCode::Internal,
        }
    }
}

impl From<DbError> for ServiceError {
    fn from(e: DbError) -> Self {
        ServiceError::Storage(e.to_string())
    }
}
