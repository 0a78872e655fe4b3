//! `codex app-server`'s stdout through `CodexParser::parse`, one line at a time as
//! `codex.rs` feeds it. The input may hold several lines (split like the stdout reader
//! does) so the parser's state between lines (tool items, streamed reasoning, token
//! totals) is exercised too. Nothing may panic, and every event `codex.rs` would record
//! from the messages must survive storage.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use switchboard::protocol::{RequestId, SessionEvent, Usage};
use switchboard::server::agent::codex_events::{CodexMessage, CodexParser};

fuzz_target!(|data: &[u8]| {
    let mut parser = CodexParser::default();
    let mut total = Usage::default();
    for line in common::agent_lines(data) {
        let Ok(messages) = parser.parse(line) else {
            continue;
        };
        for message in messages {
            match message {
                CodexMessage::Event(event) => common::check_event(&event),
                CodexMessage::PermissionAsked(ask) => {
                    common::check_event(&SessionEvent::PermissionRequested {
                        request_id: RequestId(ask.request_id),
                        title: ask.title,
                        input: ask.input,
                        options: Vec::new(),
                    })
                }
                CodexMessage::TurnEnded {
                    usage, stop_reason, ..
                } => common::end_turn(&mut total, usage, stop_reason),
                // Answers, refusals, turn ids, log lines: nothing recorded.
                _ => {}
            }
        }
    }
});
