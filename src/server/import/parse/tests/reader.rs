//! `parse_reader` itself: lines still being written, malformed and unknown lines.

use super::*;
use crate::server::import::parse::{ClaudeTranscript, CodexRollout, Line, Skipped};

fn resume_fixture() -> Vec<u8> {
    let path = jsonl_files(&fixtures("claude/projects"))
        .into_iter()
        .find(|p| p.to_string_lossy().contains("claude-resume"))
        .expect("the resume fixture");
    std::fs::read(path).expect("fixture")
}

/// `bytes` with `extra` inserted as line `at` (1-based).
fn insert_line(bytes: &[u8], at: usize, extra: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, line) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        if n + 1 == at {
            out.extend_from_slice(extra);
            out.push(b'\n');
        }
        out.extend_from_slice(line);
    }
    out
}

#[test]
fn a_last_line_without_newline_is_not_read() {
    let whole = resume_fixture();
    let (events, report) = parse_bytes(&mut ClaudeTranscript::default(), &whole);
    let mut growing = whole.clone();
    growing.extend_from_slice(
        br#"{"type":"user","uuid":"z","message":{"role":"user","content":"half"#,
    );
    let (more, later) = parse_bytes(&mut ClaudeTranscript::default(), &growing);
    assert_eq!(more, events);
    assert_eq!(later.lines, report.lines);
    assert_eq!(later.bytes as usize, whole.len());
    // Even a complete record is not read until its line ends.
    let mut done = whole.clone();
    done.extend_from_slice(
        br#"{"type":"user","uuid":"z","message":{"role":"user","content":"next"}}"#,
    );
    let (same, report_done) = parse_bytes(&mut ClaudeTranscript::default(), &done);
    assert_eq!(same, events);
    assert_eq!(report_done.bytes as usize, whole.len());
    done.push(b'\n');
    let (grown, _) = parse_bytes(&mut ClaudeTranscript::default(), &done);
    assert_eq!(summary(&grown[events.len()..]), ["user: next", "turn"]);
}

#[test]
fn a_malformed_line_is_skipped_with_its_number() {
    let whole = resume_fixture();
    let (events, _) = parse_bytes(&mut ClaudeTranscript::default(), &whole);
    let broken = insert_line(&whole, 5, b"{\"type\": \"user\", \"message\": ");
    let broken = insert_line(&broken, 9, b"[1, 2]");
    let broken = insert_line(&broken, 12, b"\xff\xfe not text");
    let broken = insert_line(&broken, 14, b"{\"no\": \"type\"}");
    let (parsed, report) = parse_bytes(&mut ClaudeTranscript::default(), &broken);
    assert_eq!(parsed, events);
    let lines: Vec<u64> = report.skipped.iter().map(|s| s.line).collect();
    assert_eq!(lines, [5, 9, 12, 14]);
    assert!(
        report.skipped[0].reason.starts_with("not JSON"),
        "{:?}",
        report.skipped
    );
    assert_eq!(report.skipped[1].reason, "not a JSON object");
    assert!(report.skipped[2].reason.starts_with("not UTF-8"));
    assert_eq!(
        report.skipped[3],
        Skipped {
            line: 14,
            reason: "a record without a type".into()
        }
    );
    assert_eq!(report.bytes as usize, broken.len());
}

#[test]
fn unknown_record_types_are_counted_and_skipped() {
    let whole = resume_fixture();
    let (events, _) = parse_bytes(&mut ClaudeTranscript::default(), &whole);
    let odd = insert_line(&whole, 19, br#"{"type":"hologram","uuid":"h"}"#);
    let odd = insert_line(&odd, 3, br#"{"type":"hologram"}"#);
    let (parsed, report) = parse_bytes(&mut ClaudeTranscript::default(), &odd);
    assert_eq!(parsed, events);
    assert_eq!(report.unknown, 2);
    assert_eq!(report.unknown_types.get("hologram"), Some(&2));
    assert!(report.skipped.is_empty());

    let mut codex = CodexRollout::default();
    assert_eq!(
        codex.line(r#"{"timestamp":"2026-01-01T00:00:00Z","type":"hologram","payload":{}}"#),
        Line::Unknown("hologram".into())
    );
    assert_eq!(codex.line("  "), Line::Ignored);
    assert!(matches!(codex.line("nope"), Line::Malformed(_)));
}

#[test]
fn crlf_line_ends_and_blank_lines() {
    let text = "{\"type\":\"user\",\"uuid\":\"a\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"message\":{\"role\":\"user\",\"content\":\"hi\"}}\r\n\r\n";
    let (events, report) = parse_bytes(&mut ClaudeTranscript::default(), text.as_bytes());
    assert_eq!(summary(&events), ["user: hi", "turn"]);
    assert_eq!(report.lines, 2);
    assert!(report.skipped.is_empty());
}
