//! The Import page's state (`/import`): what the last scan of the Claude Code and Codex
//! stores found, which transcripts are ticked, and the running or last import's progress
//! and report (sent to every browser tab). Pure, so the reducer's handling of the import
//! frames is tested natively.

use super::actions::transport;
use super::requests::Request;
use super::store::Store;
use crate::protocol::{ClientFrame, ImportCandidate, ImportProblem, ImportProgress, ImportStatus};
use leptos::prelude::*;
use std::collections::BTreeSet;

/// Where the scan of the CLIs' stores stands.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ScanState {
    /// Not asked yet.
    #[default]
    NotScanned,
    /// Asked; no answer yet.
    Scanning,
    /// The answer.
    Scanned {
        /// Every transcript found, newest first.
        candidates: Vec<ImportCandidate>,
        /// What was missing or unreadable in the stores.
        problems: Vec<ImportProblem>,
    },
    /// The server refused the scan; why.
    Failed(String),
}

/// The Import page's state, in the store so progress arrives whichever page is shown.
#[derive(Debug, Clone, Copy)]
pub struct ImportState {
    /// The last scan.
    pub scan: RwSignal<ScanState>,
    /// The ticked transcripts, by path.
    pub selected: RwSignal<BTreeSet<String>>,
    /// The running import, or the last one with its report.
    pub progress: RwSignal<Option<ImportProgress>>,
    /// Why the server would not start an import, until the next try.
    pub start_error: RwSignal<Option<String>>,
}

impl Default for ImportState {
    fn default() -> Self {
        Self::new()
    }
}

impl ImportState {
    /// Not scanned, nothing ticked, no import.
    pub fn new() -> Self {
        Self {
            scan: RwSignal::new(ScanState::NotScanned),
            selected: RwSignal::new(BTreeSet::new()),
            progress: RwSignal::new(None),
            start_error: RwSignal::new(None),
        }
    }

    /// A scan's answer. Ticks stay on transcripts that are still there and still have
    /// something to import.
    pub fn candidates_arrived(
        &self,
        candidates: Vec<ImportCandidate>,
        problems: Vec<ImportProblem>,
    ) {
        self.selected.update(|selected| {
            selected.retain(|path| {
                candidates
                    .iter()
                    .any(|c| c.path == *path && is_importable(c.status))
            });
        });
        self.scan.set(ScanState::Scanned {
            candidates,
            problems,
        });
    }

    /// An import's progress (the last one carries the report).
    pub fn progress_arrived(&self, progress: ImportProgress) {
        if progress.running {
            self.start_error.set(None);
        }
        self.progress.set(Some(progress));
    }

    /// Whether an import is under way (tracked).
    pub fn running(&self) -> bool {
        self.progress
            .with(|p| p.as_ref().is_some_and(|p| p.running))
    }

    /// The paths a "select all" ticks: every transcript with something to import (tracked).
    pub fn importable_paths(&self) -> BTreeSet<String> {
        self.scan.with(|scan| match scan {
            ScanState::Scanned { candidates, .. } => candidates
                .iter()
                .filter(|c| is_importable(c.status))
                .map(|c| c.path.clone())
                .collect(),
            _ => BTreeSet::new(),
        })
    }
}

/// Whether importing a transcript would add something: new, or grown since its import.
pub fn is_importable(status: ImportStatus) -> bool {
    !status.is_current()
}

/// The `data-imported` of a candidate: `true`, `grown` or `false`.
pub fn imported_attr(status: ImportStatus) -> &'static str {
    match status {
        ImportStatus::New => "false",
        ImportStatus::Imported { .. } => "true",
        ImportStatus::Grown { .. } => "grown",
    }
}

/// A byte count for people: `812 B`, `14.2 KB`, `3.1 MB`, `1.20 GB`.
pub fn size_text(bytes: u64) -> String {
    const KB: f64 = 1000.0;
    let b = bytes as f64;
    if b < KB {
        format!("{bytes} B")
    } else if b < KB * KB {
        format!("{:.1} KB", b / KB)
    } else if b < KB * KB * KB {
        format!("{:.1} MB", b / (KB * KB))
    } else {
        format!("{:.2} GB", b / (KB * KB * KB))
    }
}

/// The project folder's last part (`/home/me/app` -> `app`), for the candidate's heading.
pub fn folder_name(cwd: &str) -> &str {
    let trimmed = cwd.trim_end_matches('/');
    trimmed
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(cwd)
}

/// The progress line: files and bytes done of total, sessions, errors so far.
pub fn progress_text(p: &ImportProgress) -> String {
    format!(
        "{} of {} files · {} of {} · {} session{} · {} error{}",
        p.files_done,
        p.files_total,
        size_text(p.bytes_done),
        size_text(p.bytes_total),
        p.sessions,
        if p.sessions == 1 { "" } else { "s" },
        p.errors,
        if p.errors == 1 { "" } else { "s" },
    )
}

/// Where a problem is: `path:line`, or the path alone.
pub fn problem_place(problem: &ImportProblem) -> String {
    match problem.line {
        Some(line) => format!("{}:{line}", problem.path),
        None => problem.path.clone(),
    }
}

/// Scans the CLIs' stores again (the page opened, or an import ended).
pub fn scan(store: Store) {
    if !matches!(store.import.scan.get_untracked(), ScanState::Scanned { .. }) {
        store.import.scan.set(ScanState::Scanning);
    }
    let tag = Some(store.open_request(Request::ImportScan));
    transport::send(ClientFrame::ScanImports { tag });
}

/// Imports the ticked transcripts in the background; progress comes to every tab.
pub fn start(store: Store) {
    let paths: Vec<String> = store.import.selected.get_untracked().into_iter().collect();
    if paths.is_empty() {
        return;
    }
    store.import.start_error.set(None);
    let tag = Some(store.open_request(Request::ImportStart));
    transport::send(ClientFrame::StartImport { paths, tag });
}

/// Stops the running import after its current batch.
pub fn cancel() {
    transport::send(ClientFrame::CancelImport);
}
