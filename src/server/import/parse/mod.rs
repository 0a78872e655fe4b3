//! TEMPORARY interface shim until the parsers land (never committed).
use crate::protocol::SessionEvent;
pub struct Imported {
    pub at_ms: i64,
    pub event: SessionEvent,
}
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TranscriptMeta {
    pub conversation_id: Option<String>,
    pub cwd: Option<String>,
    pub first_prompt: Option<String>,
    pub started_ms: Option<i64>,
    pub model: Option<String>,
}
pub enum Line {
    Events(Vec<Imported>),
    Ignored,
    Unknown(String),
    Malformed(String),
}
pub trait TranscriptParser {
    fn line(&mut self, line: &str) -> Line;
    fn meta(&self) -> &TranscriptMeta;
}
#[derive(Default)]
pub struct ClaudeTranscript {
    meta: TranscriptMeta,
}
#[derive(Default)]
pub struct CodexRollout {
    meta: TranscriptMeta,
}
impl TranscriptParser for ClaudeTranscript {
    fn line(&mut self, _l: &str) -> Line {
        Line::Ignored
    }
    fn meta(&self) -> &TranscriptMeta {
        &self.meta
    }
}
impl TranscriptParser for CodexRollout {
    fn line(&mut self, _l: &str) -> Line {
        Line::Ignored
    }
    fn meta(&self) -> &TranscriptMeta {
        &self.meta
    }
}
pub struct Skipped {
    pub line: u64,
    pub reason: String,
}
pub struct ParseReport {
    pub lines: u64,
    pub bytes: u64,
    pub skipped: Vec<Skipped>,
    pub unknown: u64,
}
pub fn parse_reader(
    _parser: &mut dyn TranscriptParser,
    _reader: impl std::io::BufRead,
    _on_event: impl FnMut(Imported),
) -> std::io::Result<ParseReport> {
    Ok(ParseReport {
        lines: 0,
        bytes: 0,
        skipped: vec![],
        unknown: 0,
    })
}
