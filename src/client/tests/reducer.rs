//! The reducer: list replacement, streaming, tools, permissions, patches, unread, seqs.

use super::*;
use crate::client::actions;
use crate::client::reducer::apply;
use crate::client::store::{ConnectionState, EntryBody};
use crate::protocol::{
    PermissionOption, PermissionOptionKind, RequestId, Seq, ServerFrame, SessionEvent,
    SessionPatch, SessionState, ToolStatus, Usage,
};
use leptos::prelude::*;

#[test]
fn connected_sets_open_and_lists_newest_first() {
    let store = connected(3);
    assert_eq!(store.connection.get_untracked(), ConnectionState::Open);
    let ids: Vec<_> = store
        .sessions
        .with_untracked(|l| l.iter().map(|v| v.id).collect());
    assert_eq!(ids, vec![sid(3), sid(2), sid(1)]);
    assert_eq!(
        store.server_version.get_untracked().as_deref(),
        Some("test")
    );
}

#[test]
fn unread_counts_background_entries_and_viewing_clears_them() {
    let store = connected(2);
    patch(&store, 1, count_patch(3));
    assert_eq!(
        unread(&store, 1),
        3,
        "a background session counts new entries"
    );

    actions::show(store, Some(sid(1)));
    assert_eq!(unread(&store, 1), 0, "the active tab has nothing unread");
    assert_eq!(view(&store, 1).read_count.get_untracked(), 3);

    patch(&store, 1, count_patch(5));
    assert_eq!(
        view(&store, 1).read_count.get_untracked(),
        5,
        "the read marker follows the active tab"
    );

    actions::show(store, Some(sid(2)));
    patch(&store, 1, count_patch(7));
    assert_eq!(
        unread(&store, 1),
        2,
        "only what came after leaving it is unread"
    );
    assert_eq!(unread(&store, 2), 0);
}

#[test]
fn sessions_first_seen_in_a_list_count_as_read_but_new_ones_elsewhere_do_not() {
    let store = new_store();
    let mut busy = session(1);
    busy.entry_count = 4;
    apply(
        &store,
        ServerFrame::Connected {
            server_version: "test".into(),
            sessions: vec![busy],
            agents: vec![],
            limits: Default::default(),
            projects: Vec::new(),
        },
    );
    assert_eq!(unread(&store, 1), 0);
    let mut created = session(2);
    created.entry_count = 1;
    apply(&store, ServerFrame::SessionCreated { session: created });
    assert_eq!(
        unread(&store, 2),
        1,
        "created by another client: unread here"
    );
}

#[test]
fn deltas_stream_into_one_entry_in_place() {
    let store = connected(1);
    event(&store, 1, 1, delta("m1", "Hel"));
    let text = view(&store, 1)
        .entries
        .with_untracked(|entries| match &entries[0].body {
            EntryBody::Assistant { text, .. } => text.clone(),
            other => panic!("unexpected {other:?}"),
        });
    event(&store, 1, 2, delta("m1", "lo"));
    event(&store, 1, 3, delta("m1", "!"));
    assert_eq!(len(&store, 1), 1, "deltas of one message make one entry");
    assert_eq!(
        text.get_untracked(),
        "Hello!",
        "the entry's own signal grew in place"
    );
    assert!(view(&store, 1).streaming.get_untracked());
    assert_eq!(assistant_text(&store, 1, 0), ("Hello!".to_string(), true));

    event(&store, 1, 4, delta("m2", "Next"));
    assert_eq!(len(&store, 1), 2, "another message id is another entry");
}

#[test]
fn assistant_message_replaces_its_deltas() {
    let store = connected(1);
    event(&store, 1, 1, delta("m1", "Ec"));
    event(&store, 1, 2, delta("m1", "ho"));
    event(
        &store,
        1,
        3,
        SessionEvent::AssistantMessage {
            message_id: "m1".into(),
            text: "Echo: hi".into(),
        },
    );
    assert_eq!(len(&store, 1), 1);
    assert_eq!(
        assistant_text(&store, 1, 0),
        ("Echo: hi".to_string(), false)
    );
    assert!(!view(&store, 1).streaming.get_untracked());

    event(
        &store,
        1,
        4,
        SessionEvent::AssistantMessage {
            message_id: "m9".into(),
            text: "whole".into(),
        },
    );
    assert_eq!(len(&store, 1), 2, "a message without deltas is a new entry");
}

#[test]
fn turn_completed_ends_streaming() {
    let store = connected(1);
    event(&store, 1, 1, delta("m1", "partial"));
    event(
        &store,
        1,
        2,
        SessionEvent::TurnCompleted {
            usage: Usage::default(),
            duration_ms: 3,
            stop_reason: "cancelled".into(),
        },
    );
    assert_eq!(assistant_text(&store, 1, 0), ("partial".to_string(), false));
    assert!(!view(&store, 1).streaming.get_untracked());
}

#[test]
fn tool_result_attaches_to_its_call() {
    let store = connected(1);
    event(
        &store,
        1,
        1,
        SessionEvent::ToolCall {
            id: "c1".into(),
            name: "list".into(),
            title: "ls .".into(),
            input: serde_json::json!({"path": "."}),
        },
    );
    event(
        &store,
        1,
        2,
        SessionEvent::ToolCall {
            id: "c2".into(),
            name: "read".into(),
            title: "cat x".into(),
            input: serde_json::Value::Null,
        },
    );
    event(
        &store,
        1,
        3,
        SessionEvent::ToolResult {
            id: "c1".into(),
            output: "a\nb".into(),
            is_error: false,
            duration_ms: None,
        },
    );
    event(
        &store,
        1,
        4,
        SessionEvent::ToolResult {
            id: "c2".into(),
            output: "no such file".into(),
            is_error: true,
            duration_ms: None,
        },
    );
    assert_eq!(len(&store, 1), 2, "results attach; they add no rows");
    view(&store, 1).entries.with_untracked(|entries| {
        let tool = |i: usize| match &entries[i].body {
            EntryBody::Tool {
                call_id,
                input,
                output,
                status,
                ..
            } => (
                call_id.clone(),
                input.clone(),
                output.get_untracked(),
                status.get_untracked(),
            ),
            other => panic!("unexpected {other:?}"),
        };
        let (id, input, output, status) = tool(0);
        assert_eq!(id, "c1");
        assert!(input.contains("\"path\""));
        assert_eq!(output.as_deref(), Some("a\nb"));
        assert_eq!(status, ToolStatus::Ok);
        let (id, input, output, status) = tool(1);
        assert_eq!(id, "c2");
        assert_eq!(input, "");
        assert_eq!(output.as_deref(), Some("no such file"));
        assert_eq!(status, ToolStatus::Error);
        assert_eq!(entries[0].body.role(), "tool");
    });
}

#[test]
fn permission_resolution_marks_its_card() {
    let store = connected(1);
    let options = vec![
        PermissionOption {
            id: "allow".into(),
            label: "Allow".into(),
            kind: PermissionOptionKind::AllowOnce,
        },
        PermissionOption {
            id: "deny".into(),
            label: "Deny".into(),
            kind: PermissionOptionKind::RejectOnce,
        },
    ];
    event(
        &store,
        1,
        1,
        SessionEvent::PermissionRequested {
            request_id: RequestId("r1".into()),
            title: "Write demo.txt".into(),
            input: serde_json::Value::Null,
            options,
        },
    );
    let resolution = view(&store, 1)
        .entries
        .with_untracked(|entries| match &entries[0].body {
            EntryBody::Permission { resolution, .. } => resolution.clone(),
            other => panic!("unexpected {other:?}"),
        });
    assert_eq!(resolution.get_untracked(), None);
    event(
        &store,
        1,
        2,
        SessionEvent::PermissionResolved {
            request_id: RequestId("r1".into()),
            option_id: Some("allow".into()),
            allowed: true,
        },
    );
    let resolved = resolution.get_untracked().expect("resolved");
    assert!(resolved.allowed);
    assert_eq!(resolved.option_id.as_deref(), Some("allow"));
    assert_eq!(len(&store, 1), 1);
}

#[test]
fn patches_change_state_and_meta() {
    let store = connected(1);
    patch(
        &store,
        1,
        SessionPatch {
            state: Some(SessionState::Working),
            preview: Some("Echo: hi".into()),
            ..SessionPatch::default()
        },
    );
    let meta = view(&store, 1).meta.get_untracked();
    assert_eq!(meta.state, SessionState::Working);
    assert_eq!(meta.preview, "Echo: hi");
    assert_eq!(meta.title, "Session 1", "absent fields stay");

    event(&store, 1, 1, delta("m1", "x"));
    patch(
        &store,
        1,
        SessionPatch {
            state: Some(SessionState::Interrupted {
                reason: "stopped".into(),
            }),
            ..SessionPatch::default()
        },
    );
    assert_eq!(
        view(&store, 1).meta.with_untracked(|m| m.state.name()),
        "interrupted"
    );
    assert!(
        !view(&store, 1).streaming.get_untracked(),
        "a turn that ended stops streaming"
    );
}

#[test]
fn replayed_state_changes_do_not_roll_the_state_back() {
    let store = new_store();
    let mut live = session(1);
    live.last_seq = Seq(10);
    apply(
        &store,
        ServerFrame::Connected {
            server_version: "t".into(),
            sessions: vec![live],
            agents: vec![],
            limits: Default::default(),
            projects: Vec::new(),
        },
    );
    event(
        &store,
        1,
        3,
        SessionEvent::StateChanged {
            state: SessionState::Working,
        },
    );
    assert_eq!(
        view(&store, 1).meta.get_untracked().state,
        SessionState::Idle
    );
    event(
        &store,
        1,
        11,
        SessionEvent::StateChanged {
            state: SessionState::Working,
        },
    );
    assert_eq!(
        view(&store, 1).meta.get_untracked().state,
        SessionState::Working
    );
}

#[test]
fn connected_replaces_the_list_but_keeps_views_and_drafts() {
    let store = connected(2);
    event(&store, 2, 1, delta("m", "kept"));
    actions::open_tab(store, sid(1));
    actions::open_tab(store, sid(2));
    let draft = actions::new_draft(store);
    let before = view(&store, 2);

    let mut updated = session(2);
    updated.title = "Renamed".into();
    apply(
        &store,
        ServerFrame::Connected {
            server_version: "2".into(),
            sessions: vec![updated, session(3)],
            agents: vec![],
            limits: Default::default(),
            projects: Vec::new(),
        },
    );
    let ids: Vec<_> = store
        .sessions
        .with_untracked(|l| l.iter().map(|v| v.id).collect());
    assert_eq!(
        ids,
        vec![sid(3), sid(2), draft],
        "gone sessions leave, drafts stay"
    );
    let after = view(&store, 2);
    assert_eq!(after.meta.get_untracked().title, "Renamed");
    assert_eq!(
        after.entries.with_untracked(Vec::len),
        1,
        "entries survive a reconnect"
    );
    assert_eq!(
        before.applied_seq.get_untracked(),
        after.applied_seq.get_untracked()
    );
    assert_eq!(
        store.tabs.get_untracked(),
        vec![sid(2), draft],
        "the vanished session's tab closed"
    );
}

#[test]
fn session_removed_leaves_list_and_tabs() {
    let store = connected(2);
    actions::show(store, Some(sid(1)));
    actions::show(store, Some(sid(2)));
    apply(&store, ServerFrame::SessionRemoved { session: sid(1) });
    assert!(store.view(sid(1)).is_none());
    assert_eq!(store.tabs.get_untracked(), vec![sid(2)]);
    let toast = store.toast.get_untracked().unwrap_or_default();
    assert!(
        toast.contains("Session 1"),
        "an open tab ended elsewhere is announced: {toast}"
    );
}

#[test]
fn ending_a_session_here_is_not_announced() {
    let store = connected(2);
    actions::show(store, Some(sid(1)));
    actions::end_session(store, sid(1));
    apply(&store, ServerFrame::SessionRemoved { session: sid(1) });
    assert!(store.view(sid(1)).is_none());
    assert_eq!(store.toast.get_untracked(), None);
}

#[test]
fn events_at_or_below_the_last_seq_are_ignored() {
    let store = connected(1);
    let notice = |text: &str| SessionEvent::Notice {
        message: text.into(),
    };
    event(&store, 1, 1, notice("one"));
    event(&store, 1, 2, notice("two"));
    event(&store, 1, 2, notice("two again"));
    event(&store, 1, 1, notice("one again"));
    event(&store, 1, 2, delta("m", "dup"));
    assert_eq!(len(&store, 1), 2);
    assert_eq!(view(&store, 1).applied_seq.get_untracked(), Seq(2));
    event(&store, 1, 3, notice("three"));
    assert_eq!(len(&store, 1), 3);
    view(&store, 1).entries.with_untracked(|entries| {
        assert!(entries.iter().all(|e| e.body.role() == "notice"));
        assert_eq!(
            entries.iter().map(|e| e.key).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
    });
}

#[test]
fn events_of_unknown_sessions_are_dropped() {
    let store = connected(1);
    event(&store, 9, 1, delta("m", "lost"));
    patch(&store, 9, count_patch(3));
    assert!(store.view(sid(9)).is_none());
}

#[test]
fn leaving_a_tab_mid_reply_leaves_that_reply_unread() {
    let store = connected(2);
    actions::show(store, Some(sid(1)));
    patch(&store, 1, count_patch(1)); // the user's message, seen
                                      // The entry count may arrive before the reply's first chunk (they travel separately).
    patch(&store, 1, count_patch(2));
    event(&store, 1, 1, delta("m1", "tick 1 "));
    assert_eq!(unread(&store, 1), 0, "in front: nothing unread");

    actions::show(store, Some(sid(2)));
    assert_eq!(unread(&store, 1), 0, "leaving alone makes nothing unread");
    event(&store, 1, 2, delta("m1", "tick 2 "));
    assert_eq!(unread(&store, 1), 1, "the reply went on in the background");
    event(&store, 1, 3, delta("m1", "tick 3 "));
    event(
        &store,
        1,
        4,
        SessionEvent::TurnCompleted {
            usage: Usage::default(),
            duration_ms: 2,
            stop_reason: "end_turn".into(),
        },
    );
    assert_eq!(
        unread(&store, 1),
        1,
        "one reply, counted once, still unread when done"
    );

    actions::show(store, Some(sid(1)));
    assert_eq!(unread(&store, 1), 0);
    actions::show(store, Some(sid(2)));
    assert_eq!(unread(&store, 1), 0, "viewing it read it for good");
}

#[test]
fn replayed_history_is_not_unread_but_what_follows_is() {
    let store = new_store();
    let mut with_history = session(1);
    with_history.entry_count = 2;
    with_history.last_seq = Seq(5);
    apply(
        &store,
        ServerFrame::Connected {
            server_version: "test".into(),
            sessions: vec![with_history, session(2)],
            agents: vec![],
            limits: Default::default(),
            projects: Vec::new(),
        },
    );
    // A reload subscribes background tabs from seq 0: what was there before is not news.
    for seq in 1..=5 {
        event(&store, 1, seq, delta("old", "x"));
    }
    assert_eq!(unread(&store, 1), 0);
    event(&store, 1, 6, delta("new", "y"));
    assert_eq!(unread(&store, 1), 1);
}
