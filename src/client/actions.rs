//! What the UI can do. Components call these; they never build frames or touch the socket.
//! The store-only parts run everywhere (and are tested natively); sending goes through the
//! socket in the browser build and is a no-op elsewhere (SSR never runs event handlers).

use super::attachments::check_frame;
use super::fold::push_entry;
use super::ids::new_uuid;
use super::requests::Request;
use super::store::{Entry, EntryBody, SendStatus, SessionView, Store};
use crate::protocol::{
    first_message_title, AgentId, Attachment, ClientFrame, ClientMsgId, RequestId, RequestTag, Seq,
    SessionId, WorktreeEnd,
};
use leptos::prelude::*;

/// How the app navigates: without the router's scroll to the top. The window never scrolls
/// (the panes do), and that scroll would lay the page out in the middle of rendering it.
pub fn nav_options() -> leptos_router::NavigateOptions {
    leptos_router::NavigateOptions {
        scroll: false,
        ..Default::default()
    }
}

/// Opens a new draft tab in the shown session's project (else the Playground) and returns
/// its id; the caller navigates to `/s/<id>`.
pub fn new_draft(store: Store) -> SessionId {
    super::projects::new_draft_in(store, super::projects::current_project(store))
}

/// Shows `id` because the URL names it: known sessions open as a tab, unknown ids as a
/// draft tab with that id; it becomes the active tab, is marked read and subscribed.
pub fn show(store: Store, id: Option<SessionId>) {
    if store.active.get_untracked() != id {
        store.active.set(id);
    }
    let Some(id) = id else {
        return;
    };
    let view = match store.view(id) {
        Some(view) => view,
        None => {
            let view = SessionView::draft(id);
            store.sessions.update(|list| list.push(view.clone()));
            view
        }
    };
    open_tab(store, id);
    view.mark_read();
    if !view.is_draft() {
        transport::subscribe(store, id);
    }
}

/// Starts fetching `id`'s newest turns as the pointer presses its link, so they are on their
/// way while the click navigates and the pane renders (the click follows ~100 ms later for
/// a person; the link's navigation then finds the subscription made).
pub fn prefetch(store: Store, id: SessionId) {
    transport::subscribe(store, id);
}

/// Adds `id` to the tab bar (at the end) unless it is open already.
pub fn open_tab(store: Store, id: SessionId) {
    if !store.is_open(id) {
        store.tabs.update(|tabs| tabs.push(id));
    }
}

/// Hides a tab (the session goes on). A draft's tab is its only trace, so the draft goes too.
/// Returns the tab to show next when the closed one was active (`None`: go to `/`).
pub fn close_tab(store: Store, id: SessionId) -> Option<SessionId> {
    let tabs = store.tabs.get_untracked();
    let position = tabs.iter().position(|t| *t == id);
    let next = position.and_then(|i| {
        tabs.get(i + 1)
            .or_else(|| i.checked_sub(1).and_then(|j| tabs.get(j)))
    });
    let next = next.copied();
    store.tabs.update(|tabs| tabs.retain(|t| *t != id));
    if store.view(id).is_some_and(|v| v.is_draft()) {
        store.sessions.update(|list| list.retain(|v| v.id != id));
    }
    if store.active.get_untracked() == Some(id) {
        // Set now, so nothing sees an active tab without its session before the caller
        // navigates to `next`.
        store.active.set(next);
        next
    } else {
        store.active.get_untracked()
    }
}

/// Marks everything in `id` as read.
pub fn mark_viewed(store: Store, id: SessionId) {
    if let Some(view) = store.view(id) {
        view.mark_read();
    }
}

/// Sends the composer's text and images of `id` as a user message (creating a draft on the
/// server with its first message). Shows it at once; returns false when there was nothing
/// to send, or it was too large (then a toast says so and the composer keeps it).
pub fn send_message(store: Store, id: SessionId) -> bool {
    let Some(view) = store.view(id) else {
        return false;
    };
    let text = view.draft_text.get_untracked();
    let attachments = view.draft_attachments.get_untracked();
    if !send_text(store, id, text.clone(), attachments.clone()) {
        return false;
    }
    view.draft_text.set(String::new());
    if !attachments.is_empty() {
        view.draft_attachments.set(Vec::new());
    }
    if view.is_draft() {
        // The first message names the session until it is renamed.
        let title = first_message_title(&text, &attachments);
        view.meta.update(|m| m.title = title);
    }
    true
}

/// Sends `text` and `attachments` to `id` as a user message, leaving its composer alone (a
/// follow-up to every attempt, a message sent again): shown at once; false when there was
/// nothing to send or it was too large (a toast says so).
pub fn send_text(store: Store, id: SessionId, text: String, attachments: Vec<Attachment>) -> bool {
    let Some(view) = store.view(id) else {
        return false;
    };
    if text.trim().is_empty() && attachments.is_empty() {
        return false;
    }
    if let Err(message) = check_frame(&store.limits.get_untracked(), &text, &attachments) {
        store.toast.set(Some(message));
        return false;
    }
    let client_msg_id = ClientMsgId(new_uuid());
    let key = view.local_key();
    push_entry(
        &view,
        Entry {
            key,
            body: EntryBody::User {
                client_msg_id: Some(client_msg_id),
                text: text.clone(),
                attachments: attachments.clone().into(),
                status: ArcRwSignal::new(SendStatus::Pending),
            },
        },
    );
    let tag = store.open_request(Request::Message {
        session: id,
        client_msg_id,
    });
    transport::send_message(store, id, client_msg_id, tag, text, attachments);
    true
}

/// Adds an image to the composer of `id`, unless the message would then be too large to
/// send; the error says why, in words for a toast.
pub fn add_attachment(store: Store, id: SessionId, attachment: Attachment) -> Result<(), String> {
    let Some(view) = store.view(id) else {
        return Err("The session is gone.".to_string());
    };
    let text = view.draft_text.get_untracked();
    let mut next = view.draft_attachments.get_untracked();
    next.push(attachment);
    check_frame(&store.limits.get_untracked(), &text, &next)?;
    view.draft_attachments.set(next);
    Ok(())
}

/// Removes the composer's `index`th image of `id`.
pub fn remove_attachment(store: Store, id: SessionId, index: usize) {
    if let Some(view) = store.view(id) {
        view.draft_attachments.update(|list| {
            if index < list.len() {
                list.remove(index);
            }
        });
    }
}

/// Stops the running turn of `id`.
pub fn stop(store: Store, id: SessionId) {
    let tag = Some(store.open_request(Request::Other { session: id }));
    transport::send(ClientFrame::Cancel { session: id, tag });
}

/// Runs the last message of `id` again after the agent failed.
pub fn retry(store: Store, id: SessionId) {
    let tag = Some(store.open_request(Request::Other { session: id }));
    transport::send(ClientFrame::Retry { session: id, tag });
}

/// Answers a permission request with one of its options.
pub fn answer_permission(store: Store, id: SessionId, request_id: RequestId, option_id: String) {
    if let Some(view) = store.view(id) {
        // Disable the card's buttons at once; the server's `PermissionResolved` confirms.
        view.entries.with_untracked(|entries| {
            for entry in entries {
                if let EntryBody::Permission {
                    request_id: r,
                    answered,
                    ..
                } = &entry.body
                {
                    if *r == request_id {
                        answered.set(Some(option_id.clone()));
                    }
                }
            }
        });
    }
    let tag = store.open_request(Request::Answer {
        session: id,
        request_id: request_id.clone(),
    });
    transport::send(ClientFrame::AnswerPermission {
        session: id,
        request_id,
        option_id,
        tag: Some(tag),
    });
}

/// Renames `id`. The new title shows when the server confirms it with a patch; a draft's
/// title is local, so it changes at once.
pub fn rename(store: Store, id: SessionId, title: String) {
    let title = title.trim().to_string();
    let Some(view) = store.view(id) else {
        return;
    };
    if title.is_empty() || view.meta.with_untracked(|m| m.title == title) {
        return;
    }
    if view.is_draft() {
        view.meta.update(|m| m.title = title);
    } else {
        let tag = Some(store.open_request(Request::Other { session: id }));
        transport::send(ClientFrame::Rename {
            session: id,
            title,
            tag,
        });
    }
}

/// Ends `id`: archives it on the server (which then removes it everywhere) and hides its
/// tab now. A draft is just discarded. Returns the tab to show next, as [`close_tab`].
pub fn end_session(store: Store, id: SessionId) -> Option<SessionId> {
    end_session_with(store, id, None, false)
}

/// Ends the worktree session `id` as [`end_session`] does, saying what becomes of its
/// worktree and branch; `discard_unmerged` removes a branch whose commits its base lacks
/// (the user confirmed twice).
pub fn end_session_with(
    store: Store,
    id: SessionId,
    worktree: Option<WorktreeEnd>,
    discard_unmerged: bool,
) -> Option<SessionId> {
    let was_draft = store.view(id).is_none_or(|v| v.is_draft());
    let next = close_tab(store, id);
    if !was_draft {
        let tag = Some(store.open_request(Request::End { session: id }));
        transport::send(ClientFrame::Archive {
            session: id,
            worktree,
            discard_unmerged,
            tag,
        });
    }
    next
}

/// Chooses the agent of a draft; its permission mode resets to that agent's default.
pub fn set_draft_agent(store: Store, id: SessionId, agent: AgentId) {
    if let Some(view) = store.view(id).filter(|v| v.is_draft()) {
        let mode = store.agent_info(&agent).default_mode();
        view.meta.update(|m| {
            m.agent = agent;
            m.permission_mode = mode;
        });
    }
}

/// Chooses the permission mode of a draft.
pub fn set_draft_permission_mode(store: Store, id: SessionId, mode: String) {
    if let Some(view) = store.view(id).filter(|v| v.is_draft()) {
        view.meta.update(|m| m.permission_mode = mode);
    }
}

/// Chooses the permission mode of `id`: a draft's at once; a session's on the server, which
/// confirms with a patch (so the select shows the truth if it refuses).
pub fn set_permission_mode(store: Store, id: SessionId, mode: String) {
    let Some(view) = store.view(id) else {
        return;
    };
    if view.is_draft() {
        set_draft_permission_mode(store, id, mode);
    } else if view.meta.with_untracked(|m| m.permission_mode != mode) {
        let tag = Some(store.open_request(Request::Mode { session: id }));
        transport::send(ClientFrame::SetPermissionMode {
            session: id,
            mode,
            tag,
        });
    }
}

/// Chooses the model of a draft, as typed (trimmed when sent); empty means the agent's
/// default.
pub fn set_draft_model(store: Store, id: SessionId, model: String) {
    if let Some(view) = store.view(id).filter(|v| v.is_draft()) {
        let model = (!model.trim().is_empty()).then_some(model);
        if view.meta.with_untracked(|m| m.model != model) {
            view.meta.update(|m| m.model = model);
        }
    }
}

/// Hides the "conversation reset" banner of `id` (the notice row stays in the transcript).
pub fn dismiss_conversation_reset(store: Store, id: SessionId) {
    if let Some(view) = store.view(id) {
        view.conversation_reset.set(None);
    }
}

/// Retries the connection now instead of waiting for the next backoff step.
pub fn reconnect_now() {
    #[cfg(feature = "hydrate")]
    super::socket::kick();
}

/// Hides the server error banner.
pub fn dismiss_server_error(store: Store) {
    store.server_error.set(None);
}

/// Tabs and read markers saved by an earlier page load.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SavedTabs {
    /// Open tabs, in order.
    #[serde(default)]
    pub tabs: Vec<SessionId>,
    /// How many entries of each session were read.
    #[serde(default)]
    pub read: Vec<(SessionId, u64)>,
}

/// What to save so a reload restores the tabs (drafts are not saved: they are not sessions).
pub fn saved_tabs(store: Store) -> SavedTabs {
    let sessions = store.sessions.get();
    let tabs = store
        .tabs
        .get()
        .into_iter()
        .filter(|id| sessions.iter().any(|v| v.id == *id && !v.is_draft()))
        .collect();
    let read = sessions
        .iter()
        .filter(|v| !v.is_draft())
        .map(|v| (v.id, v.read_count.get()))
        .collect();
    SavedTabs { tabs, read }
}

/// Restores saved tabs and read markers for sessions that still exist. Tabs open already
/// (the URL's) stay; saved ones go before them in their saved order. A saved marker never
/// brings back what the server's marker says was read (in another browser tab, meanwhile).
pub fn restore_tabs(store: Store, saved: SavedTabs) {
    for (id, read) in saved.read {
        if let Some(view) = store.view(id).filter(|v| !v.is_draft()) {
            let (total, read_everywhere) = view.meta.with_untracked(|m| {
                (
                    m.entry_count,
                    m.read_seq > Seq(0) && m.read_seq >= m.last_seq,
                )
            });
            if !read_everywhere {
                view.read_count.set(read.min(total));
            }
            store.sync_read(&view);
        }
    }
    let known: Vec<SessionId> = saved
        .tabs
        .into_iter()
        .filter(|id| store.view(*id).is_some_and(|v| !v.is_draft()))
        .collect();
    if known.is_empty() {
        return;
    }
    store.tabs.update(|tabs| {
        let mut merged = known;
        for id in tabs.iter() {
            if !merged.contains(id) {
                merged.push(*id);
            }
        }
        *tabs = merged;
    });
    for id in store.tabs.get_untracked() {
        if store.view(id).is_some_and(|v| !v.is_draft()) {
            transport::subscribe(store, id);
        }
    }
}

/// The path of a session's tab.
pub fn session_path(id: SessionId) -> String {
    format!("/s/{id}")
}

/// Where to go after a tab closed or a session went: the `next` tab, else the start page.
pub fn next_path(next: Option<SessionId>) -> String {
    next.map_or_else(|| "/".to_owned(), session_path)
}

/// The session id a path names (`/s/<uuid>`), if any.
pub fn id_from_path(path: &str) -> Option<SessionId> {
    let rest = path.strip_prefix("/s/")?;
    SessionId::parse(rest.trim_end_matches('/'))
}

/// Asks for the page of turns before the oldest this view holds (the reader scrolled to
/// the top of what is loaded). One request at a time.
pub fn load_earlier(store: Store, view: &SessionView) {
    if !super::history::has_earlier(view) || view.loading_earlier.get_untracked() {
        return;
    }
    view.loading_earlier.set(true);
    let tag = Some(store.open_request(Request::Page { session: view.id }));
    transport::send(ClientFrame::LoadEarlier {
        session: view.id,
        before: view.first_seq.get_untracked(),
        turns: super::history::PAGE_TURNS,
        from: None,
        tag,
    });
}

/// The bridge to the socket: real in the browser build, inert elsewhere.
pub(crate) mod transport {
    use super::*;

    #[cfg(feature = "hydrate")]
    pub fn send(frame: ClientFrame) {
        crate::client::socket::send(frame);
    }

    #[cfg(feature = "hydrate")]
    pub fn send_message(
        store: Store,
        id: SessionId,
        client_msg_id: ClientMsgId,
        tag: RequestTag,
        text: String,
        attachments: Vec<Attachment>,
    ) {
        let message = crate::client::outbox::Unacked {
            session: id,
            client_msg_id,
            text,
            attachments,
            tag,
        };
        crate::client::socket::send_message(store, message);
    }

    #[cfg(feature = "hydrate")]
    pub fn subscribe(store: Store, id: SessionId) {
        crate::client::socket::ensure_subscribed(store, id);
    }

    #[cfg(not(feature = "hydrate"))]
    pub fn send(_frame: ClientFrame) {}

    #[cfg(not(feature = "hydrate"))]
    pub fn send_message(
        _store: Store,
        _id: SessionId,
        _msg: ClientMsgId,
        _tag: RequestTag,
        _text: String,
        _attachments: Vec<Attachment>,
    ) {
    }

    #[cfg(not(feature = "hydrate"))]
    pub fn subscribe(_store: Store, _id: SessionId) {}
}
