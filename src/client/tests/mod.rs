//! Native tests of the reducer and the store-only actions: run with
//! `cargo test --lib --features ssr client::`. Shared helpers live here.

mod actions;
mod attachments;
mod changes;
mod format;
mod highlight;
mod history;
mod invisible;
mod links;
mod markdown;
mod markdown_stream;
mod outbox;
mod pane_frames;
mod projects;
mod read_marker;
mod reducer;
mod refusals;
mod search_import;
mod session_frames;
mod settings;
mod tool_view;
mod warm;

use super::reducer::apply;
use super::store::{EntryBody, SessionView, Store};
use crate::protocol::{
    AgentId, Seq, ServerFrame, Session, SessionEvent, SessionId, SessionPatch, SessionState, Usage,
};
use leptos::prelude::*;
use uuid::Uuid;

/// A frame as the browser gets it: written and read back, so deferred payloads arrive as
/// JSON.
fn over_the_wire(frame: ServerFrame) -> ServerFrame {
    let text = serde_json::to_string(&frame).expect("a frame encodes");
    serde_json::from_str(&text).expect("a frame decodes")
}

/// Applies a frame only a split pane reads, over the wire, and reads it as the pane that
/// shows it does.
fn apply_on_pane(store: &Store, frame: ServerFrame) {
    apply(store, over_the_wire(frame));
    use crate::client::pane_frames::{read_waiting_for, Reader};
    for reader in [Reader::Changes, Reader::Search, Reader::Import] {
        read_waiting_for(store, reader);
    }
}

fn sid(n: u128) -> SessionId {
    SessionId(Uuid::from_u128(n))
}

fn session(n: u128) -> Session {
    Session {
        id: sid(n),
        title: format!("Session {n}"),
        agent: AgentId::demo(),
        cwd: "/tmp".into(),
        permission_mode: "default".into(),
        model: None,
        state: SessionState::Idle,
        agent_session_id: None,
        created_at_ms: n as i64,
        last_activity_ms: n as i64,
        preview: String::new(),
        usage: Usage::default(),
        entry_count: 0,
        last_seq: Seq(0),
        read_seq: Seq(0),
        viewers: 0,
        rev: 0,
        project: None,
        worktree: None,
        changes: None,
        imported: None,
        placement: Default::default(),
        budget: None,
        compare: None,
    }
}

/// An empty store. The SSR build sandboxes signal arenas per owner, so the test thread
/// gets one owner (kept alive for the thread) before any signal is made.
fn new_store() -> Store {
    thread_local! {
        static OWNER: Owner = {
            let owner = Owner::new();
            owner.set();
            owner
        };
    }
    OWNER.with(|_| ());
    Store::new()
}

/// A store connected with sessions 1..=n, none active.
fn connected(n: u128) -> Store {
    let store = new_store();
    apply(
        &store,
        ServerFrame::Connected {
            server_version: "test".into(),
            sessions: (1..=n).map(session).collect(),
            agents: vec![],
            limits: Default::default(),
            projects: Vec::new(),
        },
    );
    store
}

fn event(store: &Store, n: u128, seq: u64, event: SessionEvent) {
    apply(
        store,
        ServerFrame::Event {
            session: sid(n),
            seq: Seq(seq),
            event,
        },
    );
}

fn patch(store: &Store, n: u128, patch: SessionPatch) {
    apply(
        store,
        ServerFrame::SessionUpdated {
            session: sid(n),
            patch,
        },
    );
}

fn count_patch(count: u64) -> SessionPatch {
    SessionPatch {
        entry_count: Some(count),
        ..SessionPatch::default()
    }
}

fn view(store: &Store, n: u128) -> SessionView {
    store.view(sid(n)).expect("session is in the store")
}

fn len(store: &Store, n: u128) -> usize {
    view(store, n).entries.with_untracked(Vec::len)
}

fn unread(store: &Store, n: u128) -> u64 {
    view(store, n).unread(store)
}

fn delta(id: &str, text: &str) -> SessionEvent {
    SessionEvent::AssistantDelta {
        message_id: id.into(),
        text: text.into(),
    }
}

fn assistant_text(store: &Store, n: u128, index: usize) -> (String, bool) {
    view(store, n)
        .entries
        .with_untracked(|entries| match &entries[index].body {
            EntryBody::Assistant {
                text, streaming, ..
            } => (text.get_untracked(), streaming.get_untracked()),
            other => panic!("expected assistant text, got {other:?}"),
        })
}
