//! Claude Code's stream-json stdout through `ClaudeParser::parse`, one line at a time as
//! `claude.rs` feeds it. The input may hold several lines (split like the stdout reader
//! does) so the parser's state between lines (open text block, streamed thinking, running
//! cost) is exercised too. Nothing may panic, and every event `claude.rs` would record
//! from the messages must survive storage.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use switchboard::protocol::{RequestId, SessionEvent, Usage};
use switchboard::server::agent::claude_events::{ClaudeMessage, ClaudeParser};

fuzz_target!(|data: &[u8]| {
    let mut parser = ClaudeParser::default();
    let mut total = Usage::default();
    for line in common::agent_lines(data) {
        let Ok(messages) = parser.parse(line) else {
            continue;
        };
        for message in messages {
            match message {
                ClaudeMessage::Event(event) => common::check_event(&event),
                ClaudeMessage::PermissionAsked(ask) => {
                    common::check_event(&SessionEvent::PermissionRequested {
                        request_id: RequestId(ask.request_id),
                        title: ask.title,
                        input: ask.input,
                        options: Vec::new(),
                    })
                }
                ClaudeMessage::TurnEnded { usage, stop_reason } => {
                    common::end_turn(&mut total, usage, stop_reason)
                }
                // Conversation ids and control answers: nothing recorded.
                _ => {}
            }
        }
    }
});
