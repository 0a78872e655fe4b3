//! Long transcripts arrive in pages of whole turns: a fresh subscription takes only the last
//! [`TAIL_TURNS`] turns in one `ServerFrame::HistoryStart`, and scrolling
//! up asks for the turns before (`ClientFrame::LoadEarlier`), which are folded into rows by
//! the same code as live events (`transcript_frames`) and put in front of what the view
//! holds.

use super::store::SessionView;
use super::transcript_frames::fold_wire_event;
use crate::protocol::{LoggedEvent, Seq};
use leptos::prelude::*;

/// Turns in the first page of a session: its newest ones, enough for a screenful and more.
/// Kept small: opening a session waits for this page to arrive, decode and render.
pub const TAIL_TURNS: u32 = 8;

/// Turns per page of earlier turns, asked for while the reader scrolls up. Pages are whole
/// turns (each starts at a user message), so no row is split between two.
pub const PAGE_TURNS: u32 = 20;

/// The server replays the log from `first_seq` on; what comes before is fetched on demand.
pub fn history_start(view: &SessionView, first_seq: Seq) {
    // Only a view that holds nothing yet was given a page (the server checks `since` 0).
    if view.applied_seq.get_untracked() == Seq(0) {
        view.first_seq.set(first_seq);
    }
}

/// Whether older turns exist on the server that this view does not hold.
pub fn has_earlier(view: &SessionView) -> bool {
    view.first_seq.get_untracked() > Seq(1)
}

/// Folds a page of earlier turns into rows and puts them before the view's rows. A page
/// that no longer fits (another page or a resync came first) is dropped.
pub fn prepend_earlier(view: &SessionView, before: Seq, first_seq: Seq, events: Vec<LoggedEvent>) {
    view.loading_earlier.set(false);
    if view.first_seq.get_untracked() != before {
        return;
    }
    // A scratch view of the same session: the page's rows are built exactly as live ones.
    let meta = view.meta.get_untracked();
    let scratch = SessionView::new(meta, u64::MAX);
    // Nothing in an old page is news: no banner for a conversation reset long ago.
    scratch.history_seq.set(Seq(u64::MAX));
    for logged in events {
        fold_wire_event(&scratch, logged.seq, logged.event);
    }
    let mut rows = scratch.entries.get_untracked();
    view.entries.update(|entries| {
        rows.append(entries);
        *entries = rows;
    });
    view.first_seq.set(first_seq);
}
