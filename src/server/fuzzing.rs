//! The bodies of the fuzz targets (`fuzz/fuzz_targets/*.rs`, run by `scripts/fuzz.sh`):
//! each target is one call into this module, and `tests/fuzz_corpus.rs` runs every
//! committed corpus input through the same call, so an input fuzzing once found keeps
//! being checked by the ordinary test suite without a sanitizer build.
//!
//! Each function takes raw fuzz input and panics when the code under test misbehaves:
//! a parser panics, or an event it emits would not survive being stored and replayed.
//! Inputs a parser rejects are fine; untrusted text is expected to be malformed.

use serde_json::Value;

use crate::protocol::{ClientFrame, RequestId, SessionEvent, Usage, MAX_CLIENT_FRAME_BYTES};
use crate::server::agent::acp_events::{
    parse_line, permission_request, prompt_result, Inbound, Translator,
};
use crate::server::agent::claude_events::{ClaudeMessage, ClaudeParser};
use crate::server::agent::codex_events::{CodexMessage, CodexParser};

/// A fuzz target: its name, as `fuzz/Cargo.toml` names it and `fuzz/corpus/<name>/` holds
/// its inputs, and the function it runs on each input.
pub type Target = (&'static str, fn(&[u8]));

/// Every fuzz target.
pub const TARGETS: [Target; 4] = [
    ("client_frame", client_frame),
    ("acp_line", acp_line),
    ("codex_line", codex_line),
    ("claude_line", claude_line),
];

/// The browser's WebSocket frames, parsed exactly as `ws.rs` does (`serde_json::from_str`
/// into `ClientFrame`). Any input must parse or fail without panicking, and a frame that
/// parses must re-serialize to JSON that parses back to the same frame (the browser's own
/// frames are made by serializing `ClientFrame`).
pub fn client_frame(data: &[u8]) {
    // A WebSocket text message is UTF-8 by the time `ws.rs` sees it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.len() > MAX_CLIENT_FRAME_BYTES {
        return;
    }
    let Ok(frame) = serde_json::from_str::<ClientFrame>(text) else {
        return;
    };
    let json = serde_json::to_string(&frame)
        .unwrap_or_else(|e| panic!("a parsed frame does not serialize ({e}): {frame:?}"));
    let back: ClientFrame = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("a re-serialized frame does not parse ({e}): {json}"));
    assert_eq!(back, frame, "round trip changed the frame: {json}");
}

/// An ACP agent's stdout (the demo agent, Gemini, Claude ACP), one JSON-RPC line at a time,
/// through what `acp.rs` does with each line: `parse_line`, then
/// `Translator::session_update` for notifications, `permission_request` for requests,
/// `prompt_result` for answers. The input may hold several lines so the translator's state
/// between lines is exercised too.
pub fn acp_line(data: &[u8]) {
    let mut translator = Translator::default();
    let mut total = Usage::default();
    translator.begin_turn();
    for line in agent_lines(data) {
        let Ok(inbound) = parse_line(line) else {
            continue;
        };
        match inbound {
            // `acp.rs` passes only `session/update` on; every method goes in here so the
            // fuzzer need not find that string before it reaches the translator.
            Inbound::Notification { params, .. } => {
                if let Ok(events) = translator.session_update(params) {
                    events.iter().for_each(check_event);
                }
            }
            Inbound::Request { id, params, .. } => {
                if let Ok(event) = permission_request(RequestId(id.to_string()), params) {
                    check_event(&event);
                }
            }
            Inbound::Response { outcome, .. } => {
                if let Ok(result) = outcome {
                    let (usage, stop_reason) = prompt_result(result);
                    end_turn(&mut total, usage, stop_reason);
                }
                translator.begin_turn();
            }
        }
    }
}

/// A permission question as the session would log it, checked like any event.
fn check_permission(request_id: String, title: String, input: serde_json::Value) {
    check_event(&SessionEvent::PermissionRequested {
        request_id: RequestId(request_id),
        title,
        input,
        options: Vec::new(),
    })
}

/// `codex app-server`'s stdout through `CodexParser::parse`, one line at a time as
/// `codex.rs` feeds it, so the parser's state between lines (tool items, streamed
/// reasoning, token totals) is exercised too.
pub fn codex_line(data: &[u8]) {
    let mut parser = CodexParser::default();
    let mut total = Usage::default();
    for line in agent_lines(data) {
        let Ok(messages) = parser.parse(line) else {
            continue;
        };
        for message in messages {
            match message {
                CodexMessage::Event(event) => check_event(&event),
                CodexMessage::PermissionAsked(ask) => {
                    check_permission(ask.request_id, ask.title, ask.input)
                }
                CodexMessage::TurnEnded {
                    usage, stop_reason, ..
                } => end_turn(&mut total, usage, stop_reason),
                // Answers, refusals, turn ids, log lines: nothing recorded.
                _ => {}
            }
        }
    }
}

/// Claude Code's stream-json stdout through `ClaudeParser::parse`, one line at a time as
/// `claude.rs` feeds it, so the parser's state between lines (open text block, streamed
/// thinking, running cost) is exercised too.
pub fn claude_line(data: &[u8]) {
    let mut parser = ClaudeParser::default();
    let mut total = Usage::default();
    for line in agent_lines(data) {
        let Ok(messages) = parser.parse(line) else {
            continue;
        };
        for message in messages {
            match message {
                ClaudeMessage::Event(event) => check_event(&event),
                ClaudeMessage::PermissionAsked(ask) => {
                    check_permission(ask.request_id, ask.title, ask.input)
                }
                ClaudeMessage::TurnEnded { usage, stop_reason } => {
                    end_turn(&mut total, usage, stop_reason)
                }
                // Conversation ids and control answers: nothing recorded.
                _ => {}
            }
        }
    }
}

/// Splits fuzz input the way `process::spawn_line_reader` splits agent stdout: on `\n`,
/// skipping lines that are not UTF-8 (reported, not parsed) and blank lines.
fn agent_lines(data: &[u8]) -> impl Iterator<Item = &str> {
    data.split(|&b| b == b'\n')
        .filter_map(|line| std::str::from_utf8(line).ok())
        .filter(|line| !line.trim().is_empty())
}

/// Panics when `event` would not survive being stored and replayed: each event is stored
/// as JSON (`db::append_event`) and read back on every replay (`db::events_since`), where
/// one unreadable event fails the whole session's replay. So it must serialize, parse
/// back, and mean the same thing.
fn check_event(event: &SessionEvent) {
    let json = serde_json::to_string(event)
        .unwrap_or_else(|e| panic!("event does not serialize ({e}): {event:?}"));
    let back: SessionEvent = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("stored event does not read back ({e}): {json}"));
    let before = serde_json::to_value(event).expect("serialized once already");
    let after = serde_json::to_value(&back).expect("serialized once already");
    assert!(
        same(&before, &after),
        "storing changed the event:\n before {before}\n after  {after}"
    );
}

/// A turn's end as the session task records it (`turns.rs` `end_turn`): a `TurnCompleted`
/// event, and the usage added to the session's running total.
fn end_turn(total: &mut Usage, usage: Usage, stop_reason: String) {
    check_event(&SessionEvent::TurnCompleted {
        usage,
        duration_ms: 0,
        stop_reason,
    });
    total.add(&usage);
}

/// JSON equality, except that floats may differ in the last bits: serde_json's default
/// float parsing is not exactly round-trip (its `float_roundtrip` feature is off).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if x.is_f64() || y.is_f64() {
                let (x, y) = (
                    x.as_f64().unwrap_or(f64::NAN),
                    y.as_f64().unwrap_or(f64::NAN),
                );
                x == y || (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs())
            } else {
                x == y
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| same(x, y)))
        }
        _ => a == b,
    }
}
