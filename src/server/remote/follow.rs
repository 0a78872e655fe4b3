//! Which turn answers a message, read from a session's event stream: a pure fold over the
//! frames, so `switchboard send --wait` is tested on frame sequences without a server.

use crate::protocol::{ClientMsgId, ServerFrame, SessionEvent, SessionState};

/// What the stream has said so far about one message's turn.
#[derive(Debug)]
pub struct TurnWatch {
    ours: ClientMsgId,
    /// Our `UserMessage` is in the stream (it was stored).
    seen: bool,
    /// Our turn's `TurnStarted` is in the stream.
    started: bool,
    /// Messages stored after ours: turns start in the order their messages came, so one of
    /// them starting first means ours was dropped from the queue.
    later: Vec<ClientMsgId>,
}

/// What to do with one frame.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// Not part of our turn: nothing to show.
    Skip,
    /// An event of our turn, to show.
    Show,
    /// Our turn ended this way.
    Done(Ending),
}

/// How the wait ends.
#[derive(Debug, PartialEq)]
pub enum Ending {
    /// The agent finished the turn.
    Completed,
    /// Stopped while it ran.
    Stopped,
    /// The agent failed it: its message and detail.
    Failed(String),
    /// It never ran: dropped from the queue (a Stop, a used-up budget, the session ended).
    NotSent(&'static str),
}

impl TurnWatch {
    /// Watches for the turn of message `ours`, from a point of the log before it.
    pub fn new(ours: ClientMsgId) -> Self {
        TurnWatch {
            ours,
            seen: false,
            started: false,
            later: Vec::new(),
        }
    }

    /// Folds one frame in.
    pub fn step(&mut self, frame: &ServerFrame) -> Step {
        match frame {
            ServerFrame::Event { event, .. } => self.on_event(event),
            ServerFrame::SessionUpdated { patch, .. } => match (&patch.state, self.seen) {
                (Some(SessionState::Archived), _) if self.started => Step::Done(Ending::Failed(
                    "the session was ended during the turn".into(),
                )),
                (Some(SessionState::Archived), _) => {
                    Step::Done(Ending::NotSent("the session was ended"))
                }
                // The state after everything before it in the stream (the server publishes
                // it after taking up the next message): idle, or failed, with ours stored
                // and not begun means the waiting messages were dropped.
                (Some(SessionState::Idle | SessionState::Error { .. }), true) if !self.started => {
                    Step::Done(Ending::NotSent(
                        "the session went idle without running it (a Stop drops waiting messages)",
                    ))
                }
                _ => Step::Skip,
            },
            _ => Step::Skip,
        }
    }

    fn on_event(&mut self, event: &SessionEvent) -> Step {
        if !self.started {
            return match event {
                SessionEvent::UserMessage { client_msg_id, .. } if *client_msg_id == self.ours => {
                    self.seen = true;
                    Step::Show
                }
                SessionEvent::UserMessage { client_msg_id, .. } if self.seen => {
                    self.later.push(*client_msg_id);
                    Step::Skip
                }
                SessionEvent::TurnStarted {
                    client_msg_id: Some(id),
                } if self.seen => {
                    if *id == self.ours {
                        self.started = true;
                        Step::Show
                    } else if self.later.contains(id) {
                        Step::Done(Ending::NotSent(
                            "a message sent after it ran first (a Stop drops waiting messages)",
                        ))
                    } else {
                        Step::Skip
                    }
                }
                SessionEvent::Budget { stopped: true, .. } if self.seen => {
                    Step::Done(Ending::NotSent("a budget is used up"))
                }
                _ => Step::Skip,
            };
        }
        match event {
            SessionEvent::TurnCompleted { stop_reason, .. } => {
                Step::Done(match stop_reason.as_str() {
                    "cancelled" => Ending::Stopped,
                    _ => Ending::Completed,
                })
            }
            SessionEvent::Error { message, detail } => Step::Done(Ending::Failed(match detail {
                Some(detail) => format!("{message}\n{detail}"),
                None => message.clone(),
            })),
            _ => Step::Show,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Ending, Step, TurnWatch};
    use crate::protocol::{
        ClientMsgId, Seq, ServerFrame, SessionEvent, SessionId, SessionPatch, SessionState,
    };

    fn id() -> ClientMsgId {
        ClientMsgId(uuid::Uuid::new_v4())
    }

    fn event(event: SessionEvent) -> ServerFrame {
        ServerFrame::Event {
            session: SessionId(uuid::Uuid::nil()),
            seq: Seq(1),
            event,
        }
    }

    fn message(from: ClientMsgId) -> ServerFrame {
        event(SessionEvent::UserMessage {
            client_msg_id: from,
            text: "hi".into(),
            attachments: Vec::new(),
        })
    }

    fn started(from: ClientMsgId) -> ServerFrame {
        event(SessionEvent::TurnStarted {
            client_msg_id: Some(from),
        })
    }

    fn completed(reason: &str) -> ServerFrame {
        event(SessionEvent::TurnCompleted {
            usage: Default::default(),
            duration_ms: 1,
            stop_reason: reason.into(),
        })
    }

    fn delta() -> ServerFrame {
        event(SessionEvent::AssistantDelta {
            message_id: "m".into(),
            text: "hello".into(),
        })
    }

    fn state(state: SessionState) -> ServerFrame {
        ServerFrame::SessionUpdated {
            session: SessionId(uuid::Uuid::nil()),
            patch: SessionPatch {
                state: Some(state),
                ..SessionPatch::default()
            },
        }
    }

    /// The steps a watch of `ours` takes over `frames`.
    fn steps(ours: ClientMsgId, frames: &[ServerFrame]) -> Vec<Step> {
        let mut watch = TurnWatch::new(ours);
        frames.iter().map(|frame| watch.step(frame)).collect()
    }

    #[test]
    fn a_message_to_an_idle_session_is_followed_to_its_end() {
        let ours = id();
        let got = steps(
            ours,
            &[
                message(ours),
                state(SessionState::Working),
                started(ours),
                delta(),
                completed("end_turn"),
            ],
        );
        use Step::*;
        assert_eq!(got, [Show, Skip, Show, Show, Done(Ending::Completed)]);
    }

    #[test]
    fn turns_of_messages_queued_ahead_are_not_ours() {
        let (ahead, ours) = (id(), id());
        let got = steps(
            ours,
            &[
                message(ahead),
                message(ours),
                started(ahead),
                delta(),
                completed("end_turn"),
                state(SessionState::Working),
                started(ours),
                delta(),
                completed("cancelled"),
            ],
        );
        use Step::*;
        assert_eq!(
            got,
            [
                Skip,
                Show,
                Skip,
                Skip,
                Skip,
                Skip,
                Show,
                Show,
                Done(Ending::Stopped)
            ]
        );
    }

    #[test]
    fn a_dropped_message_ends_the_wait_instead_of_hanging() {
        let (running, ours, later) = (id(), id(), id());
        // A Stop drops the queue, and the session goes idle.
        let stop = steps(
            ours,
            &[
                message(ours),
                completed("cancelled"),
                state(SessionState::Idle),
            ],
        );
        assert!(matches!(stop[2], Step::Done(Ending::NotSent(_))));
        // Or a message sent later runs first.
        let overtaken = steps(ours, &[message(ours), message(later), started(later)]);
        assert!(matches!(overtaken[2], Step::Done(Ending::NotSent(_))));
        // But a turn of a message from before ours is only waited out.
        let before = steps(ours, &[message(running), message(ours), started(running)]);
        assert_eq!(before[2], Step::Skip);
        // The session ended.
        let ended = steps(ours, &[message(ours), state(SessionState::Archived)]);
        assert!(matches!(ended[1], Step::Done(Ending::NotSent(_))));
    }

    #[test]
    fn an_agent_error_in_our_turn_fails_the_wait() {
        let ours = id();
        let got = steps(
            ours,
            &[
                message(ours),
                started(ours),
                event(SessionEvent::Error {
                    message: "crashed".into(),
                    detail: Some("exit 1".into()),
                }),
            ],
        );
        assert_eq!(got[2], Step::Done(Ending::Failed("crashed\nexit 1".into())));
    }
}
