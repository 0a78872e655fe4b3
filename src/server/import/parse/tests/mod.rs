//! The parsers on the real CLIs' files in `tests/fixtures/import` (made by
//! `scripts/import-fixtures.sh`), and the reader's edge cases.

mod claude;
mod codex;
mod reader;

use super::{parse_reader, Imported, ParseReport, TranscriptParser};
use crate::protocol::SessionEvent;
use std::path::{Path, PathBuf};

/// `tests/fixtures/import/<sub>`.
fn fixtures(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(sub)
}

/// Every `.jsonl` file under `dir`, sorted.
fn jsonl_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)
            .expect("fixture folder")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "jsonl") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The events and report of parsing `bytes` whole.
fn parse_bytes(parser: &mut dyn TranscriptParser, bytes: &[u8]) -> (Vec<Imported>, ParseReport) {
    let mut events = Vec::new();
    let report = parse_reader(parser, bytes, |e| events.push(e)).expect("in-memory read");
    (events, report)
}

/// Events in a form one can compare at a glance: `user: <text>`, `turn`, `text: <text>`,
/// `think: <text>`, `tool <name>: <title>`, `result: <output>` (`error:` when it failed),
/// `end <reason>: in/out/cache read/cache write tokens`.
fn summary(events: &[Imported]) -> Vec<String> {
    events
        .iter()
        .map(|imported| match &imported.event {
            SessionEvent::UserMessage {
                text, attachments, ..
            } => match attachments.len() {
                0 => format!("user: {text}"),
                n => format!("user: {text} [{n} image]"),
            },
            SessionEvent::TurnStarted { .. } => "turn".to_owned(),
            SessionEvent::AssistantMessage { text, .. } => format!("text: {text}"),
            SessionEvent::Thinking { text, .. } => format!("think: {text}"),
            SessionEvent::ToolCall { name, title, .. } => format!("tool {name}: {title}"),
            SessionEvent::ToolResult {
                output, is_error, ..
            } => format!("{}: {output}", if *is_error { "error" } else { "result" }),
            SessionEvent::TurnCompleted {
                usage, stop_reason, ..
            } => format!(
                "end {stop_reason}: {}/{}/{}/{}",
                usage.input_tokens,
                usage.output_tokens,
                usage.cache_read_tokens,
                usage.cache_creation_tokens
            ),
            other => format!("{other:?}"),
        })
        .collect()
}

/// Parsing the first K complete lines gives a prefix of the whole file's events, for
/// every K; a cut inside a line (a line still being written) too.
fn assert_prefix_stable(make: &dyn Fn() -> Box<dyn TranscriptParser>, bytes: &[u8], name: &str) {
    let (whole, _) = parse_bytes(make().as_mut(), bytes);
    let ends: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .collect();
    for (k, end) in std::iter::once(0).chain(ends.iter().copied()).enumerate() {
        for cut in [end, (end + 7).min(bytes.len())] {
            let (events, report) = parse_bytes(make().as_mut(), &bytes[..cut]);
            assert_eq!(
                report.bytes as usize, end,
                "{name}: bytes read of a cut at {cut}"
            );
            assert_eq!(
                report.lines as usize, k,
                "{name}: lines read of a cut at {cut}"
            );
            assert!(
                whole.starts_with(&events),
                "{name}: the events of its first {k} lines are not a prefix of the whole's"
            );
        }
    }
}

/// Each tool result follows the call with its id, and the ids are not empty.
fn assert_results_match_calls(events: &[Imported]) {
    let mut calls = Vec::new();
    for imported in events {
        match &imported.event {
            SessionEvent::ToolCall { id, .. } => {
                assert!(!id.is_empty());
                calls.push(id.clone());
            }
            SessionEvent::ToolResult { id, .. } => assert!(calls.contains(id), "result {id}"),
            _ => {}
        }
    }
}

/// Times never go backwards.
fn assert_times_in_order(events: &[Imported]) {
    for pair in events.windows(2) {
        assert!(pair[0].at_ms <= pair[1].at_ms, "{pair:?}");
    }
}
