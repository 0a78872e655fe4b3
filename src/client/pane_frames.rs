//! The frames only a split pane shows: a session's changes, a diff, a git outcome (the
//! Changes panel, and a comparison's columns), search hits (`/search`), import candidates
//! and progress (`/import`).
//!
//! Their payloads arrive undecoded ([`Deferred`](crate::protocol::Deferred)), and the
//! shell's [`reducer`](super::reducer) puts such frames in the store's mailbox
//! ([`arrived`]). Each pane that shows them reads its own kind from the mailbox
//! (`read_*_as_they_come`), so the code that decodes and applies a kind is called only
//! from its panes: in the split release build the decoders of diffs, search hits and import
//! reports live in those panes' modules, not in the first load, and a session page does
//! not fetch the search page's. Frames wait in order until their pane reads them; of an
//! import's progress, which every tab is sent, only the newest waits.

use super::changes;
use super::store::Store;
use crate::protocol::ServerFrame;
use leptos::prelude::*;

/// Which pane reads a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// The Changes panel and a comparison's columns: `Changes`, `Diff`, `GitDone`.
    Changes,
    /// `/search`: `SearchResults`.
    Search,
    /// `/import`: `ImportCandidates`, `ImportProgress`.
    Import,
}

impl Reader {
    /// The reader of `frame`, if only a pane reads it.
    fn of(frame: &ServerFrame) -> Option<Reader> {
        match frame {
            ServerFrame::Changes { .. }
            | ServerFrame::Diff { .. }
            | ServerFrame::GitDone { .. } => Some(Reader::Changes),
            ServerFrame::SearchResults { .. } => Some(Reader::Search),
            ServerFrame::ImportCandidates { .. } | ServerFrame::ImportProgress { .. } => {
                Some(Reader::Import)
            }
            _ => None,
        }
    }
}

/// A pane-only frame from the socket: into the mailbox, for the pane that shows it.
pub fn arrived(store: &Store, frame: ServerFrame) {
    store.pane_frames.update(|held| {
        if matches!(frame, ServerFrame::ImportProgress { .. }) {
            held.retain(|held| !matches!(held, ServerFrame::ImportProgress { .. }));
        }
        held.push(frame);
    });
}

/// Reads the Changes panel's frames now and whenever one arrives, for as long as the
/// calling pane is shown.
pub fn read_changes_as_they_come(store: Store) {
    as_they_come(store, Reader::Changes, read_changes);
}

/// Reads the search pane's frames as they come (see [`read_changes_as_they_come`]).
pub fn read_search_as_they_come(store: Store) {
    as_they_come(store, Reader::Search, read_search);
}

/// Reads the import pane's frames as they come (see [`read_changes_as_they_come`]).
pub fn read_import_as_they_come(store: Store) {
    as_they_come(store, Reader::Import, read_import);
}

/// How a pane reads one of its frames.
type Read = fn(&Store, ServerFrame) -> Result<(), serde_json::Error>;

/// Reads `reader`'s frames with `read` now and whenever one arrives. Each pane names its
/// own `read`, so a pane's module carries only its own frames' decoders.
fn as_they_come(store: Store, reader: Reader, read: Read) {
    Effect::new(move |_| {
        let waiting = store
            .pane_frames
            .with(|held| held.iter().any(|f| Reader::of(f) == Some(reader)));
        if waiting {
            read_waiting(&store, reader, read);
        }
    });
}

/// Reads `reader`'s waiting frames as its pane would (tests).
#[cfg(test)]
pub fn read_waiting_for(store: &Store, reader: Reader) {
    let read: Read = match reader {
        Reader::Changes => read_changes,
        Reader::Search => read_search,
        Reader::Import => read_import,
    };
    read_waiting(store, reader, read);
}

/// Reads `reader`'s waiting frames with `read`, oldest first.
fn read_waiting(store: &Store, reader: Reader, read: Read) {
    // Taken without notifying: the effect that called this tracks the mailbox.
    let mine = store
        .pane_frames
        .try_update_untracked(|held| {
            let (mine, others) = std::mem::take(held)
                .into_iter()
                .partition(|f| Reader::of(f) == Some(reader));
            *held = others;
            mine
        })
        .unwrap_or_default();
    for frame in mine {
        // A payload that cannot be decoded is said in the banner and changes nothing.
        if let Err(error) = read(store, frame) {
            leptos::logging::warn!("switchboard: unreadable server frame: {error}");
            store.server_error.set(Some(format!(
                "The server sent an answer this page cannot read: {error}"
            )));
        }
    }
}

fn read_changes(store: &Store, frame: ServerFrame) -> Result<(), serde_json::Error> {
    match frame {
        ServerFrame::Changes { session, summary } => {
            let summary = summary.decode()?;
            if let Some(view) = store.view(session) {
                changes::summary_arrived(&view, summary);
                changes::answer_landed(*store, session);
            }
        }
        ServerFrame::Diff {
            session,
            path,
            body,
        } => {
            let body = body.decode()?;
            if let Some(view) = store.view(session) {
                changes::diff_arrived(&view, path, body);
            }
        }
        ServerFrame::GitDone {
            session,
            tag,
            outcome,
        } => {
            if let Some(tag) = tag {
                store.take_request(tag);
            }
            let outcome = outcome.decode()?;
            if let Some(view) = store.view(session) {
                changes::git_done(&view, outcome);
            }
        }
        _ => {}
    }
    Ok(())
}

fn read_search(store: &Store, frame: ServerFrame) -> Result<(), serde_json::Error> {
    if let ServerFrame::SearchResults { tag, groups, more } = frame {
        if let Some(tag) = tag {
            store.take_request(tag);
        }
        store.search.results_arrived(tag, groups.decode()?, more);
    }
    Ok(())
}

fn read_import(store: &Store, frame: ServerFrame) -> Result<(), serde_json::Error> {
    match frame {
        ServerFrame::ImportCandidates {
            candidates,
            problems,
        } => store
            .import
            .candidates_arrived(candidates.decode()?, problems.decode()?),
        ServerFrame::ImportProgress { progress } => {
            store.import.progress_arrived(progress.decode()?);
        }
        _ => {}
    }
    Ok(())
}
