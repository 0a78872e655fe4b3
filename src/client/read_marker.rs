//! Where the server's read marker meets this tab's unread counts. Counts stay per browser
//! tab (what this tab has not shown yet), but the server knows what was read in any tab:
//! its `read_seq` clears badges everywhere, and while some tab shows a session
//! (`viewers > 0`) what arrives is read as it comes, so no other tab counts it. Pure store
//! updates, called by the reducer; no web API, so they are tested natively.

use super::store::{SessionView, Store};
use crate::protocol::{Seq, SessionId};
use leptos::prelude::*;

/// The newest seq this tab knows the session has: the events it applied, or the list's
/// last seq when it is not subscribed (then only patches and listings reach it).
pub fn held_seq(view: &SessionView) -> Seq {
    let listed = view.meta.with_untracked(|m| m.last_seq);
    view.applied_seq.get_untracked().max(listed)
}

/// The server says everything up to `read_seq` was read in some browser tab. When that
/// covers all this tab holds, the session is read here too. On a subscribed session's
/// stream the marker comes in order right after the entry it covers; a summary on the
/// list may describe a seq this tab has not received yet, and then covers nothing here
/// until the events arrive. A zero marker says nothing was read, so it never clears
/// anything.
pub fn server_read(view: &SessionView, read_seq: Seq) {
    if read_seq > Seq(0) && read_seq >= held_seq(view) {
        view.mark_read();
    }
}

/// Whether the event at `seq` of `id` is news here, i.e. its entry counts as unseen: the
/// session is not in front in this tab, the event is newer than the history this tab met
/// and than the server's read marker, and no browser tab shows the session right now.
pub fn is_news(store: &Store, view: &SessionView, id: SessionId, seq: Seq) -> bool {
    store.active.get_untracked() != Some(id)
        && seq > view.history_seq.get_untracked()
        && view
            .meta
            .with_untracked(|m| m.viewers == 0 && seq > m.read_seq)
}
