//! Importing the sessions other CLIs stored on this machine: what a scan finds, a running
//! import's progress, and its report.

use super::tag_first::tag_first;
use super::SessionId;
use serde::{Deserialize, Serialize};

/// Which CLI's store a transcript comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportSource {
    /// Claude Code (`~/.claude/projects/<folder>/<id>.jsonl`).
    Claude,
    /// Codex (`~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`).
    Codex,
}

impl ImportSource {
    /// The snake_case name used on the wire and in `data-source`.
    pub fn name(self) -> &'static str {
        match self {
            ImportSource::Claude => "claude",
            ImportSource::Codex => "codex",
        }
    }

    /// The CLI's name for people.
    pub fn label(self) -> &'static str {
        match self {
            ImportSource::Claude => "Claude Code",
            ImportSource::Codex => "Codex",
        }
    }
}

tag_first! {
    #[serde(tag = "state", rename_all = "snake_case")]
    /// Where a found transcript stands against what was imported before.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    pub enum ImportStatus {
        /// Never imported.
        New,
        /// Imported, and the file has not grown since.
        Imported {
            /// The session it became.
            session: SessionId,
        },
        /// Imported, and the file grew since (the user kept working in the terminal): importing
        /// again appends only the new turns.
        Grown {
            /// The session it became.
            session: SessionId,
        },
    }
}

impl ImportStatus {
    /// True when importing it would add nothing.
    pub fn is_current(self) -> bool {
        matches!(self, ImportStatus::Imported { .. })
    }
}

/// A transcript found in a CLI's store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportCandidate {
    /// The store it is in.
    pub source: ImportSource,
    /// The file, as the server names it; the key of an import request.
    pub path: String,
    /// The folder the CLI ran in, when the file says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// The first thing the user asked, shortened.
    pub first_prompt: String,
    /// When it started (ms since the epoch), else the file's modification time.
    pub started_ms: i64,
    /// The file's size in bytes.
    pub bytes: u64,
    /// Against what was imported before.
    pub status: ImportStatus,
}

/// A running or finished import.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportProgress {
    /// Still running.
    pub running: bool,
    /// Files to import.
    pub files_total: u32,
    /// Files done (imported, unchanged or failed).
    pub files_done: u32,
    /// Bytes of those files.
    pub bytes_total: u64,
    /// Bytes read so far.
    pub bytes_done: u64,
    /// Sessions made or grown so far.
    pub sessions: u32,
    /// Events stored so far.
    pub events: u64,
    /// Lines skipped and files that failed, so far.
    pub errors: u32,
    /// When it ended: what happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ImportReport>,
}

/// What an import did, for the page and the command line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Stopped by the user before the end.
    pub cancelled: bool,
    /// Files whose lines were all imported before: nothing added.
    pub unchanged: u32,
    /// Records of a kind the importer does not know, skipped.
    pub unknown_records: u64,
    /// Lines that could not be read and files that failed, each with where and why.
    pub problems: Vec<ImportProblem>,
}

/// One line or file an import skipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportProblem {
    /// The file.
    pub path: String,
    /// The 1-based line, when it is one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Why.
    pub reason: String,
}
