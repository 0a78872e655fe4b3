//! The session task's link to its running agent, and delta coalescing. While the task
//! stores one event, the agent may send many text deltas; the ones already waiting are
//! merged into one event before it is stored. So a fast agent costs one database write per
//! batch, a slow one still gets each delta out at once, and what any client saw is always
//! exactly what is in the log (it only ever sees stored events).

use crate::protocol::SessionEvent;
use crate::server::agent::{AgentDriver, AgentOutput, Numbered};
use crate::server::agent_pool::Lease;
use tokio::sync::mpsc;

/// Largest merged delta, in bytes: bounds one event's size and one write's latency.
const MAX_MERGED_BYTES: usize = 64 * 1024;

/// A running agent: its driver, its outputs, and an output read ahead while merging.
pub(super) struct RunningAgent {
    /// The driver: commands go in here.
    pub(super) driver: Box<dyn AgentDriver>,
    /// What the driver reports, in order.
    outputs: mpsc::Receiver<Numbered>,
    /// An output taken from `outputs` that did not merge; it comes next.
    carry: Option<Numbered>,
    /// Its slot among the live agents; freed when this is dropped.
    pub(super) lease: Lease,
    /// Since when it has had no turn to run (`None` while one runs), for idle reaping.
    pub(super) idle_since: Option<tokio::time::Instant>,
}

impl RunningAgent {
    pub(super) fn new(
        driver: Box<dyn AgentDriver>,
        outputs: mpsc::Receiver<Numbered>,
        lease: Lease,
    ) -> Self {
        RunningAgent {
            driver,
            outputs,
            carry: None,
            lease,
            idle_since: None,
        }
    }

    /// The next output, with the deltas already waiting behind it merged in, and the
    /// number of the last output it holds. Cancel-safe: the only await is the channel
    /// receive, before anything is taken.
    pub(super) async fn next(&mut self) -> Numbered {
        let first = match self.carry.take() {
            Some(output) => output,
            None => self.outputs.recv().await.unwrap_or(Numbered {
                seq: 0,
                output: AgentOutput::Exited {
                    code: None,
                    stderr_tail: String::new(),
                },
            }),
        };
        let Numbered {
            mut seq,
            output: AgentOutput::Event(mut event),
        } = first
        else {
            return first;
        };
        while delta_len(&event).is_some_and(|len| len < MAX_MERGED_BYTES) {
            match self.outputs.try_recv() {
                Ok(Numbered {
                    seq: next_seq,
                    output: AgentOutput::Event(next),
                }) => {
                    if !merge_delta(&mut event, &next) {
                        self.carry = Some(Numbered {
                            seq: next_seq,
                            output: AgentOutput::Event(next),
                        });
                        break;
                    }
                    seq = next_seq;
                }
                Ok(other) => {
                    self.carry = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
        Numbered {
            seq,
            output: AgentOutput::Event(event),
        }
    }

    /// Waits for the process to exit (its final output), dropping everything before it.
    pub(super) async fn wait_exit(&mut self) {
        if matches!(
            self.carry.take(),
            Some(Numbered {
                output: AgentOutput::Exited { .. },
                ..
            })
        ) {
            return;
        }
        while let Some(numbered) = self.outputs.recv().await {
            if matches!(numbered.output, AgentOutput::Exited { .. }) {
                return;
            }
        }
    }
}

fn delta_len(event: &SessionEvent) -> Option<usize> {
    match event {
        SessionEvent::AssistantDelta { text, .. } | SessionEvent::Thinking { text, .. } => {
            Some(text.len())
        }
        _ => None,
    }
}

/// Appends `next` to `into` when both are text of the same kind and message; false (and
/// nothing changed) otherwise.
pub fn merge_delta(into: &mut SessionEvent, next: &SessionEvent) -> bool {
    match (into, next) {
        (
            SessionEvent::AssistantDelta { message_id, text },
            SessionEvent::AssistantDelta {
                message_id: next_id,
                text: more,
            },
        )
        | (
            SessionEvent::Thinking { message_id, text },
            SessionEvent::Thinking {
                message_id: next_id,
                text: more,
            },
        ) if message_id == next_id => {
            text.push_str(more);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(id: &str, text: &str) -> SessionEvent {
        SessionEvent::AssistantDelta {
            message_id: id.into(),
            text: text.into(),
        }
    }

    #[test]
    fn deltas_of_one_message_merge_and_others_do_not() {
        let mut event = delta("m1", "Ec");
        assert!(merge_delta(&mut event, &delta("m1", "ho")));
        assert_eq!(event, delta("m1", "Echo"));
        assert!(!merge_delta(&mut event, &delta("m2", "x")));
        let thought = SessionEvent::Thinking {
            message_id: "m1".into(),
            text: "hmm".into(),
        };
        assert!(!merge_delta(&mut event, &thought));
        assert!(!merge_delta(
            &mut event,
            &SessionEvent::TurnStarted {
                client_msg_id: None
            }
        ));
        assert_eq!(
            event,
            delta("m1", "Echo"),
            "a refused merge changes nothing"
        );
    }
}
