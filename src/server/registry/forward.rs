//! Session commands as they travel between nodes: a command for a session another node
//! drives is written to the database as JSON (`Forwarded`), run there by the same session
//! task a local caller reaches, and answered as JSON (`Answer`). The reply channels stay
//! with the caller; only what the task needs crosses.

use super::{ServiceError, SessionCommand};
use crate::protocol::{Attachment, ClientMsgId, ErrorCode, RequestId, SessionId};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// A session command without its reply channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Forwarded {
    /// `SessionCommand::Send`.
    Send {
        /// The browser's id of the message (the session task drops a repeat).
        client_msg_id: ClientMsgId,
        /// Its text.
        text: String,
        /// Attached files.
        attachments: Vec<Attachment>,
    },
    /// `SessionCommand::Cancel`.
    Cancel,
    /// `SessionCommand::SetPermissionMode`.
    SetPermissionMode {
        /// The mode.
        mode: String,
    },
    /// `SessionCommand::Retry`.
    Retry,
    /// `SessionCommand::AnswerPermission`.
    AnswerPermission {
        /// Which request.
        request_id: RequestId,
        /// The chosen option.
        option_id: String,
    },
    /// `SessionCommand::Viewers`.
    Viewers {
        /// +1 or -1.
        delta: i32,
    },
    /// `SessionCommand::Rename`.
    Rename {
        /// The title.
        title: String,
    },
    /// `SessionCommand::Recount`.
    Recount,
    /// `SessionCommand::BudgetChanged`.
    BudgetChanged,
    /// `SessionCommand::AllowTurn`.
    AllowTurn,
    /// `SessionCommand::Archive`.
    Archive,
    /// A new session with its first message, made on the node its machine's runner is
    /// connected to (`Registry::send` with `create`); not a session task's command.
    Create {
        /// How the session is made.
        new: Box<crate::protocol::NewSession>,
        /// The first message's browser id.
        client_msg_id: ClientMsgId,
        /// Its text.
        text: String,
        /// Attached files.
        attachments: Vec<Attachment>,
    },
}

/// Where the answer goes once the command has run: the caller's own reply channel.
pub enum ReplyTo {
    /// Nobody waits for more than the delivery.
    Nobody,
    /// A result.
    Result(oneshot::Sender<Result<(), ServiceError>>),
    /// A plain "done".
    Done(oneshot::Sender<()>),
}

impl ReplyTo {
    /// Hands the remote node's answer to the caller.
    pub fn deliver(self, answer: Result<(), ServiceError>) {
        match self {
            ReplyTo::Nobody => {}
            ReplyTo::Result(reply) => {
                let _ = reply.send(answer);
            }
            ReplyTo::Done(reply) => {
                let _ = reply.send(());
            }
        }
    }
}

/// Splits a command into what crosses to the other node and the caller's reply channel;
/// `None` for commands that only the node holding the session may give (an import's
/// batch, a shutdown).
pub fn split(command: SessionCommand) -> Option<(Forwarded, ReplyTo)> {
    Some(match command {
        SessionCommand::Send {
            client_msg_id,
            text,
            attachments,
            reply,
        } => (
            Forwarded::Send {
                client_msg_id,
                text,
                attachments,
            },
            ReplyTo::Result(reply),
        ),
        SessionCommand::Cancel => (Forwarded::Cancel, ReplyTo::Nobody),
        SessionCommand::SetPermissionMode { mode, reply } => (
            Forwarded::SetPermissionMode { mode },
            ReplyTo::Result(reply),
        ),
        SessionCommand::Retry { reply } => (Forwarded::Retry, ReplyTo::Result(reply)),
        SessionCommand::AnswerPermission {
            request_id,
            option_id,
            reply,
        } => (
            Forwarded::AnswerPermission {
                request_id,
                option_id,
            },
            ReplyTo::Result(reply),
        ),
        SessionCommand::Viewers { delta } => (Forwarded::Viewers { delta }, ReplyTo::Nobody),
        SessionCommand::Rename { title, reply } => {
            (Forwarded::Rename { title }, ReplyTo::Result(reply))
        }
        SessionCommand::Recount => (Forwarded::Recount, ReplyTo::Nobody),
        SessionCommand::BudgetChanged => (Forwarded::BudgetChanged, ReplyTo::Nobody),
        SessionCommand::AllowTurn => (Forwarded::AllowTurn, ReplyTo::Nobody),
        SessionCommand::Archive { reply } => (Forwarded::Archive, ReplyTo::Done(reply)),
        SessionCommand::Import { reply, .. } => {
            let _ = reply.send(Err(ServiceError::InvalidState(
                "another server node drives this session; import there".into(),
            )));
            return None;
        }
        SessionCommand::Shutdown => return None,
    })
}

/// A forwarded command made whole again on the node that runs it, and where its answer
/// will come.
pub fn join(forwarded: Forwarded) -> (SessionCommand, oneshot::Receiver<Result<(), ServiceError>>) {
    let (reply, answer) = oneshot::channel();
    let command = match forwarded {
        Forwarded::Send {
            client_msg_id,
            text,
            attachments,
        } => SessionCommand::Send {
            client_msg_id,
            text,
            attachments,
            reply,
        },
        Forwarded::SetPermissionMode { mode } => SessionCommand::SetPermissionMode { mode, reply },
        Forwarded::Retry => SessionCommand::Retry { reply },
        Forwarded::AnswerPermission {
            request_id,
            option_id,
        } => SessionCommand::AnswerPermission {
            request_id,
            option_id,
            reply,
        },
        Forwarded::Rename { title } => SessionCommand::Rename { title, reply },
        Forwarded::Archive => {
            let (done, finished) = oneshot::channel();
            tokio::spawn(async move {
                let _ = finished.await;
                let _ = reply.send(Ok(()));
            });
            SessionCommand::Archive { reply: done }
        }
        // Handled before `join` (`Registry::run_commands`); refused if it ever gets here.
        Forwarded::Create { .. } => {
            let _ = reply.send(Err(ServiceError::Invalid(
                "a session's creation is not a session command".into(),
            )));
            SessionCommand::Recount
        }
        // Commands nobody waits on: answered once delivered.
        other => {
            let _ = reply.send(Ok(()));
            match other {
                Forwarded::Cancel => SessionCommand::Cancel,
                Forwarded::Viewers { delta } => SessionCommand::Viewers { delta },
                Forwarded::Recount => SessionCommand::Recount,
                Forwarded::BudgetChanged => SessionCommand::BudgetChanged,
                _ => SessionCommand::AllowTurn,
            }
        }
    };
    (command, answer)
}

/// A command's answer as it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The refusal's code, when refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    /// The refusal's message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl Answer {
    /// The answer to store for `result`.
    pub fn of(result: &Result<(), ServiceError>) -> Answer {
        match result {
            Ok(()) => Answer {
                code: None,
                message: String::new(),
            },
            Err(e) => Answer {
                code: Some(e.code()),
                message: e.to_string(),
            },
        }
    }

    /// The result again, on the node that asked.
    pub fn result(self, session: SessionId) -> Result<(), ServiceError> {
        let Some(code) = self.code else {
            return Ok(());
        };
        let message = self.message;
        Err(match code {
            ErrorCode::UnknownSession => ServiceError::UnknownSession(session),
            ErrorCode::InvalidState => ServiceError::InvalidState(message),
            ErrorCode::TooLarge => ServiceError::TooLarge(message),
            ErrorCode::NotAllowed => ServiceError::NotAllowed(message),
            ErrorCode::LimitReached => ServiceError::LimitReached(message),
            ErrorCode::OverBudget => ServiceError::OverBudget(message),
            ErrorCode::Malformed | ErrorCode::BadQuery | ErrorCode::RateLimited => {
                ServiceError::Invalid(message)
            }
            ErrorCode::AgentFailed | ErrorCode::Internal => ServiceError::Storage(
                message
                    .strip_prefix("storage failed: ")
                    .map_or(message.clone(), str::to_owned),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forwarded_command_reads_back_as_sent() {
        let commands = [
            Forwarded::Send {
                client_msg_id: ClientMsgId(uuid::Uuid::new_v4()),
                text: "hello".into(),
                attachments: Vec::new(),
            },
            Forwarded::Cancel,
            Forwarded::Viewers { delta: -1 },
            Forwarded::Rename {
                title: "new".into(),
            },
            Forwarded::Archive,
        ];
        for command in commands {
            let json = serde_json::to_string(&command).expect("encodes");
            let back: Forwarded = serde_json::from_str(&json).expect("decodes");
            assert_eq!(back, command);
        }
    }

    #[test]
    fn a_refusal_keeps_its_code_and_message_across_nodes() {
        let session = SessionId(uuid::Uuid::new_v4());
        let refused: Result<(), ServiceError> = Err(ServiceError::OverBudget(
            "the day's budget is used up".into(),
        ));
        let stored = serde_json::to_string(&Answer::of(&refused)).expect("encodes");
        let back: Answer = serde_json::from_str(&stored).expect("decodes");
        let again = back.result(session).expect_err("still refused");
        assert_eq!(again.code(), ErrorCode::OverBudget);
        assert_eq!(again.to_string(), "the day's budget is used up");
        let ok = serde_json::to_string(&Answer::of(&Ok(()))).expect("encodes");
        assert_eq!(ok, "{}");
        let back: Answer = serde_json::from_str(&ok).expect("decodes");
        assert!(back.result(session).is_ok());
    }

    #[test]
    fn an_answered_command_is_answered_on_delivery() {
        let (command, mut answer) = join(Forwarded::Cancel);
        assert!(matches!(command, SessionCommand::Cancel));
        assert!(matches!(answer.try_recv(), Ok(Ok(()))));
    }
}
