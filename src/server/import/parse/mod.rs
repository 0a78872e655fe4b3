//! Pure parsers from the agent CLIs' on-disk transcripts to Switchboard events: Claude
//! Code's `projects/<escaped cwd>/<session id>.jsonl` ([`ClaudeTranscript`]) and Codex's
//! `sessions/YYYY/MM/DD/rollout-*.jsonl` ([`CodexRollout`]), one line at a time.
//!
//! Parsing is prefix-stable: the events of a file's first K complete lines are exactly a
//! prefix of the events of the whole file. A turn's `TurnCompleted` is emitted only when the
//! file itself says the turn is over (an end record, or a later line once the model's final
//! message is written, or the next prompt), never at end of file, and an emitted event is
//! never revised. So an importer may re-parse a grown file and append only the new events.

mod claude;
mod codex;
mod ids;

pub use claude::ClaudeTranscript;
pub use codex::CodexRollout;
pub use ids::{days_from_civil, import_msg_id, parse_rfc3339_ms};

use crate::protocol::SessionEvent;
use std::collections::BTreeMap;
use std::io::BufRead;

/// One event a transcript makes, with its original time (ms since the epoch).
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// When the transcript says it happened (ms since the Unix epoch).
    pub at_ms: i64,
    /// The event, as a live session would have stored it.
    pub event: SessionEvent,
}

/// What a transcript says about itself, filled in as its lines are read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TranscriptMeta {
    /// The CLI's own id: `claude --resume <id>` / codex thread id.
    pub conversation_id: Option<String>,
    /// The folder the agent ran in.
    pub cwd: Option<String>,
    /// The first prompt the user typed.
    pub first_prompt: Option<String>,
    /// When the conversation began (ms since the epoch).
    pub started_ms: Option<i64>,
    /// The model that answered first.
    pub model: Option<String>,
}

/// What one line of a transcript was.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// Events for the transcript (possibly none, e.g. a turn's end waits for a later line).
    Events(Vec<Imported>),
    /// A known record that shows nothing (bookkeeping, snapshots, vendor prompt text).
    Ignored,
    /// A record type this parser does not know (its `type`).
    Unknown(String),
    /// Not a record at all (not JSON, not an object, no type): why.
    Malformed(String),
}

/// A CLI's transcript format, read one line at a time.
pub trait TranscriptParser {
    /// Reads one complete line (without its line end).
    fn line(&mut self, line: &str) -> Line;
    /// What the lines so far said about the conversation.
    fn meta(&self) -> &TranscriptMeta;
}

/// A line the parser skipped, with its 1-based number and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// 1-based line number.
    pub line: u64,
    /// Why it was skipped.
    pub reason: String,
}

/// What [`parse_reader`] read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParseReport {
    /// Complete lines read.
    pub lines: u64,
    /// Bytes of those lines, line ends included: where a later parse of a grown file would
    /// continue.
    pub bytes: u64,
    /// Malformed lines (not JSON, not a record), with their numbers.
    pub skipped: Vec<Skipped>,
    /// Lines of a record type the parser does not know.
    pub unknown: u64,
    /// Those unknown record types, with how many lines each.
    pub unknown_types: BTreeMap<String, u64>,
}

/// Streams `reader` through `parser` up to its last COMPLETE line (a final line without
/// '\n' is a line still being written: not read, not counted in `bytes`), calling
/// `on_event` for each event. Never reads the whole file into memory; a malformed line is
/// recorded in `skipped` and parsing goes on.
pub fn parse_reader(
    parser: &mut dyn TranscriptParser,
    mut reader: impl BufRead,
    mut on_event: impl FnMut(Imported),
) -> std::io::Result<ParseReport> {
    let mut report = ParseReport::default();
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        let read = reader.read_until(b'\n', &mut buffer)?;
        if read == 0 || buffer.last() != Some(&b'\n') {
            return Ok(report); // the end, or a line still being written
        }
        report.lines += 1;
        report.bytes += read as u64;
        let mut text = &buffer[..buffer.len() - 1];
        if let Some(stripped) = text.strip_suffix(b"\r") {
            text = stripped;
        }
        let outcome = match std::str::from_utf8(text) {
            Ok(line) => parser.line(line),
            Err(e) => Line::Malformed(format!("not UTF-8: {e}")),
        };
        match outcome {
            Line::Events(events) => events.into_iter().for_each(&mut on_event),
            Line::Ignored => {}
            Line::Unknown(kind) => {
                report.unknown += 1;
                *report.unknown_types.entry(kind).or_default() += 1;
            }
            Line::Malformed(reason) => report.skipped.push(Skipped {
                line: report.lines,
                reason,
            }),
        }
    }
}

/// The JSON object of a line and its `type`, or why the line is not a record. Blank lines
/// are `Ok(None)`.
fn record(line: &str) -> Result<Option<(serde_json::Value, String)>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    if !value.is_object() {
        return Err("not a JSON object".to_owned());
    }
    let kind = value
        .get("type")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| "a record without a type".to_owned())?
        .to_owned();
    Ok(Some((value, kind)))
}

fn str_at<'a>(value: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(serde_json::Value::as_str)
}

fn u64_at(value: Option<&serde_json::Value>, key: &str) -> u64 {
    value
        .and_then(|v| v.get(key))
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
