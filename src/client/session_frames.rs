//! A subscribed session's stream (its events, pages of history, and the patches between
//! them) reaches its view through the transcript folder ([`Fold`]). In the split release
//! build the folder, with the decoder of every event kind, is in the conversation pane's
//! code, not in the first load (`/` folds no event): the shell holds such frames here, in
//! the order they came, fetches the folder, and hands them over once it is in; from then on
//! they go straight through. An unsplit build (`cargo leptos watch`, native tests) has the
//! folder from the start.

use super::store::Store;
use crate::protocol::{ServerFrame, SessionId};
use leptos::prelude::*;
use std::cell::RefCell;
use std::collections::VecDeque;

/// The transcript folder: applies one frame of a subscribed session's stream to a store.
pub type Fold = fn(&Store, ServerFrame);

/// The folder, once it is in, and the frames that wait for it.
struct Folder {
    fold: Option<Fold>,
    waiting: VecDeque<(Store, ServerFrame)>,
    /// Its code is being fetched (split build).
    #[cfg_attr(not(all(feature = "hydrate", feature = "split")), allow(dead_code))]
    loading: bool,
    /// The banner this module put up when a fetch failed, taken down once the folder is in.
    failed: Option<(Store, String)>,
}

thread_local! {
    static FOLDER: RefCell<Folder> = RefCell::new(Folder {
        fold: built_in(),
        waiting: VecDeque::new(),
        loading: false,
        failed: None,
    });
}

/// The folder of a build that is not split: the function itself.
fn built_in() -> Option<Fold> {
    #[cfg(not(all(feature = "hydrate", feature = "split")))]
    return Some(super::transcript_frames::apply);
    #[cfg(all(feature = "hydrate", feature = "split"))]
    None
}

/// A frame of a session's stream (`Event`, `HistoryStart`, `Earlier`, or any frame about a
/// session whose frames wait): folded now, or held, in order, until the folder is in.
pub fn arrived(store: &Store, frame: ServerFrame) {
    let ready = FOLDER.with(|folder| {
        let folder = folder.borrow();
        folder.fold.filter(|_| folder.waiting.is_empty())
    });
    match ready {
        Some(fold) => fold(store, frame),
        None => {
            FOLDER.with(|folder| folder.borrow_mut().waiting.push_back((*store, frame)));
            fetch(*store);
        }
    }
}

/// Whether frames of `session` wait for the folder: then every frame about it waits too
/// (`reducer::apply`), so they apply in the order they came.
pub fn waiting_for(session: SessionId) -> bool {
    FOLDER.with(|folder| {
        folder
            .borrow()
            .waiting
            .iter()
            .any(|(_, frame)| session_of(frame) == Some(session))
    })
}

/// The folder is in (its module installs it when it loads): the frames that waited are
/// folded, in the order they came.
pub fn install(fold: Fold) {
    let failed = FOLDER.with(|folder| {
        let mut folder = folder.borrow_mut();
        folder.fold = Some(fold);
        folder.failed.take()
    });
    if let Some((store, message)) = failed {
        if store.server_error.get_untracked().as_deref() == Some(message.as_str()) {
            store.server_error.set(None);
        }
    }
    // One at a time, with no borrow held while folding.
    while let Some((store, frame)) = FOLDER.with(|folder| folder.borrow_mut().waiting.pop_front()) {
        fold(&store, frame);
    }
}

/// The session a frame is about, when it is about one that exists (a `SessionCreated`
/// brings its session, so nothing of it can be waiting yet).
pub fn session_of(frame: &ServerFrame) -> Option<SessionId> {
    match frame {
        ServerFrame::Event { session, .. }
        | ServerFrame::HistoryStart { session, .. }
        | ServerFrame::Earlier { session, .. }
        | ServerFrame::SessionUpdated { session, .. }
        | ServerFrame::SessionRemoved { session }
        | ServerFrame::Changes { session, .. }
        | ServerFrame::Diff { session, .. }
        | ServerFrame::GitDone { session, .. } => Some(*session),
        ServerFrame::Error { session, .. } => *session,
        _ => None,
    }
}

/// The socket connected again: frames still waiting after a failed fetch try it again
/// (else only the next frame of the stream would).
pub fn retry() {
    let first = FOLDER.with(|folder| {
        let folder = folder.borrow();
        folder
            .fold
            .is_none()
            .then(|| folder.waiting.front().map(|(store, _)| *store))
            .flatten()
    });
    if let Some(store) = first {
        fetch(store);
    }
}

/// Fetches the folder's code once (split build), and installs it. A failed fetch is said in
/// the banner (taken down when the folder comes); the frames keep waiting, and the next one
/// to come, or the next `Connected`, tries again.
fn fetch(store: Store) {
    #[cfg(all(feature = "hydrate", feature = "split"))]
    {
        let start =
            FOLDER.with(|folder| !std::mem::replace(&mut folder.borrow_mut().loading, true));
        if !start {
            return;
        }
        // The split points are declared with the panes (`components::panes`).
        leptos::task::spawn_local(async move {
            let loaded = crate::components::panes::transcript_folder().await;
            FOLDER.with(|folder| folder.borrow_mut().loading = false);
            match loaded {
                Ok(fold) => install(fold),
                Err(failed) => {
                    let message = format!("Conversations cannot be shown: {}", failed.0);
                    store.server_error.set(Some(message.clone()));
                    FOLDER.with(|folder| folder.borrow_mut().failed = Some((store, message)));
                }
            }
        });
    }
    #[cfg(not(all(feature = "hydrate", feature = "split")))]
    let _ = store;
}

/// For tests: the folder is not in yet, as on a split build's first load.
#[cfg(test)]
pub fn uninstall() {
    FOLDER.with(|folder| folder.borrow_mut().fold = None);
}
