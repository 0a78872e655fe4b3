//! The one reducer: [`apply`] folds a `ServerFrame` into the [`Store`]. It is the only way
//! server data changes the store, it touches no web API, and it is unit-tested natively.
//! A subscribed session's stream (its events and history pages) goes to the transcript
//! folder through [`session_frames`], which holds it until the folder's code is in.
//! The frames only a split pane shows (changes, diffs, search hits, import progress) go to
//! [`pane_frames`], whose reader the pane's own module carries.

use super::changes::{self, answer_landed};
use super::fold::{push_entry, push_notice, stop_streaming};
use super::import::ScanState;
use super::pane_frames;
use super::projects::{self, FolderList};
use super::read_marker::server_read;
use super::requests::Request;
use super::session_frames;
use super::store::{ConnectionState, Entry, EntryBody, SendStatus, SessionView, Store};
use super::sync::is_sync_error;
use crate::protocol::{
    ClientMsgId, ErrorCode, ServerFrame, Session, SessionId, SessionPatch, SessionState,
};
use leptos::prelude::*;

/// Applies one frame from the server to the store. A frame about a session whose stream
/// waits for the transcript folder (`session_frames`) waits behind it, so a session's frames
/// always apply in the order they came (a patch saying "idle" never overtakes the text it
/// follows, a refusal's row never lands before the rows that came first).
pub fn apply(store: &Store, frame: ServerFrame) {
    if session_frames::session_of(&frame).is_some_and(session_frames::waiting_for) {
        return session_frames::arrived(store, frame);
    }
    apply_now(store, frame);
}

/// Applies one frame now (the transcript folder applies the ones that waited so).
pub fn apply_now(store: &Store, frame: ServerFrame) {
    match frame {
        ServerFrame::Connected {
            server_version,
            sessions,
            agents,
            limits,
            projects,
        } => {
            store.agents.set(agents);
            projects::projects_arrived(store, projects);
            if store.limits.get_untracked() != limits {
                store.limits.set(limits);
            }
            // A fresh socket subscribes anew: earlier sync errors get their retry.
            store.sessions.with_untracked(|list| {
                for view in list {
                    if view.sync_error.with_untracked(Option::is_some) {
                        view.sync_error.set(None);
                    }
                    // A page asked for on the old socket will not come.
                    if view.loading_earlier.get_untracked() {
                        view.loading_earlier.set(false);
                    }
                }
            });
            replace_sessions(store, sessions);
            store.server_version.set(Some(server_version));
            store.connection.set(ConnectionState::Open);
            session_frames::retry();
        }
        frame @ (ServerFrame::Event { .. }
        | ServerFrame::HistoryStart { .. }
        | ServerFrame::Earlier { .. }) => session_frames::arrived(store, frame),
        ServerFrame::SessionCreated { session } => session_created(store, session),
        ServerFrame::SessionUpdated { session, patch } => apply_patch(store, session, patch),
        ServerFrame::SessionRemoved { session } => remove_session(store, session),
        ServerFrame::Error {
            session,
            tag,
            code,
            message,
        } => {
            let request = tag.and_then(|tag| store.take_request(tag));
            match request {
                Some(Request::Search) => store.search.refused(tag, message),
                Some(Request::ImportScan) => store.import.scan.set(ScanState::Failed(message)),
                Some(Request::ImportStart) => store.import.start_error.set(Some(message)),
                request => refused(store, session, request, code, message),
            }
        }
        ServerFrame::Pong => {}
        ServerFrame::ProjectsChanged { projects } => projects::projects_arrived(store, projects),
        ServerFrame::Folders { prefix, folders } => {
            store.folders.set(FolderList { prefix, folders });
        }
        frame @ (ServerFrame::Changes { .. }
        | ServerFrame::Diff { .. }
        | ServerFrame::GitDone { .. }
        | ServerFrame::SearchResults { .. }
        | ServerFrame::ImportCandidates { .. }
        | ServerFrame::ImportProgress { .. }) => pane_frames::arrived(store, frame),
    }
}

/// Applies a summary of a session's changed fields (on its stream, in order with its
/// events; on the list, a summary that is dropped when not newer than what is held).
fn apply_patch(store: &Store, session: SessionId, patch: SessionPatch) {
    let Some(view) = store.view(session) else {
        return;
    };
    // A late summary of what the session's stream already gave: dropped.
    if !view.meta.with_untracked(|meta| meta.is_newer(&patch)) {
        return;
    }
    view.meta.update(|meta| meta.apply(&patch));
    if let Some(state) = &patch.state {
        if !state.is_busy() {
            stop_streaming(&view);
        }
    }
    if let Some(read_seq) = patch.read_seq {
        server_read(&view, read_seq);
    }
    store.sync_read(&view);
}

/// A refusal: undoes exactly the request it names (a message not delivered, a permission
/// answer taken back, a page that may be asked for again, a mode the composer no longer
/// shows), marks the session out of sync when its log cannot be followed, and says why in
/// the transcript. An error about no session goes to the banner.
fn refused(
    store: &Store,
    session: Option<SessionId>,
    request: Option<Request>,
    code: ErrorCode,
    message: String,
) {
    // Refusals the project form, the Changes panel or a toast show, not the transcript.
    match &request {
        Some(Request::AddProject) => return projects::add_refused(store, message),
        Some(Request::Project) => return store.toast.set(Some(message)),
        Some(Request::Compare {
            project,
            text,
            attachments,
        }) => {
            let (text, attachments) = (text.clone(), attachments.clone());
            return super::compare::ask_refused(*store, *project, text, attachments, message);
        }
        Some(Request::Changes { session }) => {
            if let Some(view) = store.view(*session) {
                changes::changes_refused(&view, message);
                answer_landed(*store, *session);
            }
            return;
        }
        // The tab closed when End was clicked: say so where it shows; the transcript
        // gets the notice too.
        Some(Request::End { .. }) => store.toast.set(Some(format!("Not ended: {message}"))),
        Some(Request::Git { session, op }) => {
            if let Some(view) = store.view(*session) {
                changes::git_refused(&view, *op, message);
            }
            return;
        }
        _ => {}
    }
    let Some(view) = session.and_then(|id| store.view(id)) else {
        return store.server_error.set(Some(message));
    };
    if code == ErrorCode::OverBudget {
        // The row says why and offers to raise the budget or allow one more turn.
        let resend = match &request {
            Some(Request::Message { client_msg_id, .. }) => message_text(&view, *client_msg_id),
            _ => None,
        };
        let key = view.local_key();
        push_entry(
            &view,
            Entry {
                key,
                body: EntryBody::Budget {
                    message: message.clone(),
                    stopped: true,
                    resend,
                },
            },
        );
    }
    match &request {
        Some(Request::Message { client_msg_id, .. }) => {
            view.entries.with_untracked(|entries| {
                for entry in entries {
                    if let EntryBody::User {
                        client_msg_id: Some(id),
                        status,
                        ..
                    } = &entry.body
                    {
                        if id == client_msg_id && status.get_untracked() == SendStatus::Pending {
                            status.set(SendStatus::Failed);
                        }
                    }
                }
            });
        }
        Some(Request::Answer { request_id, .. }) => {
            view.entries.with_untracked(|entries| {
                for entry in entries {
                    if let EntryBody::Permission {
                        request_id: id,
                        resolution,
                        answered,
                        ..
                    } = &entry.body
                    {
                        if id == request_id && resolution.with_untracked(Option::is_none) {
                            answered.set(None);
                        }
                    }
                }
            });
        }
        // The composer showed the picked mode ahead of the server: show the session's again.
        Some(Request::Mode { .. }) => view.meta.update(|_| {}),
        Some(Request::Page { .. }) => view.loading_earlier.set(false),
        Some(
            Request::Subscribe { .. }
            | Request::Other { .. }
            | Request::End { .. }
            | Request::AddProject
            | Request::Project
            | Request::Compare { .. }
            | Request::Changes { .. }
            | Request::Git { .. }
            | Request::Search
            | Request::ImportScan
            | Request::ImportStart,
        )
        | None => {}
    }
    // The server does not know the session, or cannot read its log: whatever asked, the
    // session is out of sync until the next `Connected` retries.
    if is_sync_error(code) {
        view.sync_error.set(Some(message.clone()));
    }
    if code != ErrorCode::OverBudget {
        let key = view.local_key();
        push_notice(&view, key, message, None, true);
    }
}

/// The text and images of this tab's message `id`, if its row is still held.
fn message_text(
    view: &SessionView,
    id: ClientMsgId,
) -> Option<(String, std::sync::Arc<[crate::protocol::Attachment]>)> {
    view.entries.with_untracked(|entries| {
        entries.iter().find_map(|entry| match &entry.body {
            EntryBody::User {
                client_msg_id: Some(m),
                text,
                attachments,
                ..
            } if *m == id => Some((text.clone(), attachments.clone())),
            _ => None,
        })
    })
}

/// Replaces the session list (from `Connected`, or the SSR-rendered list): known views keep
/// their entries and read markers (which the server's marker may advance), new ones count
/// as read, vanished ones are dropped (with their tabs), and drafts, which the server does
/// not know, stay.
pub fn replace_sessions(store: &Store, sessions: Vec<Session>) {
    let old = store.sessions.get_untracked();
    let mut next: Vec<SessionView> = Vec::with_capacity(sessions.len());
    for session in sessions {
        if session.state == SessionState::Archived || next.iter().any(|v| v.id == session.id) {
            continue;
        }
        match old.iter().find(|v| v.id == session.id) {
            Some(view) => {
                let read_seq = session.read_seq;
                view.meta.set(session);
                // Read in another browser tab while this one was away.
                server_read(view, read_seq);
                next.push(view.clone());
            }
            None => {
                let read = session.entry_count;
                next.push(SessionView::new(session, read));
            }
        }
    }
    // Newest first, and a stable order, so items do not jump while someone clicks them.
    next.sort_by_key(|v| std::cmp::Reverse(v.meta.with_untracked(|m| m.created_at_ms)));
    for view in old {
        if view.is_draft() && !next.iter().any(|v| v.id == view.id) {
            next.push(view);
        }
    }
    store
        .tabs
        .update(|tabs| tabs.retain(|id| next.iter().any(|v| v.id == *id)));
    store.sessions.set(next);
    if let Some(view) = store.active_view() {
        store.sync_read(&view);
    }
}

fn session_created(store: &Store, mut session: Session) {
    if session.state == SessionState::Archived {
        return;
    }
    let id = session.id;
    let view = match store.view(id) {
        // Our own draft (or a session we already knew): same view, so its tab keeps its
        // entries and composer. The creating socket's stream may have overtaken this
        // announcement (it travels on the list): what the stream gave is newer and stays.
        Some(view) => {
            let newer = view
                .meta
                .with_untracked(|meta| (meta.rev > session.rev).then(|| meta.as_patch()));
            if let Some(newer) = newer {
                session.apply(&newer);
            }
            view.meta.set(session);
            view
        }
        // Created elsewhere: all of it is unread here.
        None => SessionView::new(session, 0),
    };
    store.sessions.update(|list| {
        list.retain(|v| v.id != id);
        list.insert(0, view.clone());
    });
    store.sync_read(&view);
}

fn remove_session(store: &Store, id: SessionId) {
    // Ending a session here closes its tab first, so a session still open here was ended
    // elsewhere: say so rather than let the tab vanish silently.
    if store.is_open(id) {
        if let Some(view) = store.view(id) {
            let title = view.meta.with_untracked(|m| m.title.clone());
            store.toast.set(Some(format!(
                "\u{201c}{title}\u{201d} was ended in another window."
            )));
        }
        store.tabs.update(|tabs| tabs.retain(|t| *t != id));
    }
    store.sessions.update(|list| list.retain(|v| v.id != id));
}
