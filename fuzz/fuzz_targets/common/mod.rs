//! What every agent-line target checks besides "no panic": each event a parser emits is
//! stored as JSON (`db::append_event`) and read back on every replay (`db::events_since`),
//! where one unreadable event fails the whole session's replay. So an emitted event must
//! serialize, parse back, and mean the same thing.

#![allow(dead_code)]

use serde_json::Value;
use switchboard::protocol::{SessionEvent, Usage};

/// Splits fuzz input the way `process::spawn_line_reader` splits agent stdout: on `\n`,
/// skipping lines that are not UTF-8 (reported, not parsed) and blank lines.
pub fn agent_lines(data: &[u8]) -> impl Iterator<Item = &str> {
    data.split(|&b| b == b'\n')
        .filter_map(|line| std::str::from_utf8(line).ok())
        .filter(|line| !line.trim().is_empty())
}

/// Panics when `event` would not survive being stored and replayed.
pub fn check_event(event: &SessionEvent) {
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
pub fn end_turn(total: &mut Usage, usage: Usage, stop_reason: String) {
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
