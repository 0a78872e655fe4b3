//! The server's read marker and viewer count across browser tabs: two stores are two tabs
//! on one server, and every frame below is what the server would send both.

use super::*;
use crate::client::actions;
use crate::protocol::ErrorCode;
use std::collections::HashSet;

/// What the server sends every socket: a patch of session `n`.
fn patch_all(tabs: &[&Store], n: u128, p: SessionPatch) {
    for tab in tabs {
        patch(tab, n, p.clone());
    }
}

/// A new entry as the server publishes it: the event, then the patch that counts it (and,
/// while someone views the session, reads it).
fn entry_all(tabs: &[&Store], n: u128, seq: u64, count: u64, viewed: bool, text: &str) {
    for tab in tabs {
        event(tab, n, seq, delta(&format!("m{seq}"), text));
    }
    patch_all(
        tabs,
        n,
        SessionPatch {
            entry_count: Some(count),
            read_seq: viewed.then_some(Seq(seq)),
            ..SessionPatch::default()
        },
    );
}

fn viewers(count: u32, read_seq: Option<u64>) -> SessionPatch {
    SessionPatch {
        viewers: Some(count),
        read_seq: read_seq.map(Seq),
        ..SessionPatch::default()
    }
}

fn unseen(store: &Store, n: u128) -> usize {
    view(store, n).unseen.with_untracked(HashSet::len)
}

#[test]
fn what_one_tab_shows_never_becomes_unread_in_another() {
    let a = connected(2);
    let b = connected(2);
    // Tab A shows session 1; tab B has it open in the background (subscribed) and shows 2.
    actions::show(a, Some(sid(1)));
    actions::show(b, Some(sid(1)));
    actions::show(b, Some(sid(2)));
    patch_all(&[&a, &b], 1, viewers(1, None));

    entry_all(&[&a, &b], 1, 1, 1, true, "hello");
    entry_all(&[&a, &b], 1, 2, 2, true, "world");
    // Deltas of the same reply add no entry and bring no patch.
    for tab in [&a, &b] {
        event(tab, 1, 3, delta("m2", " and more"));
    }
    assert_eq!(unread(&b, 1), 0, "A shows it: no badge in B");
    assert_eq!(unseen(&b, 1), 0, "and nothing unseen piles up behind it");

    // A turns to session 2: the server reads everything so far, and B agrees.
    actions::show(a, Some(sid(2)));
    patch_all(&[&a, &b], 1, viewers(0, Some(3)));
    assert_eq!(unread(&b, 1), 0);
    assert_eq!(view(&b, 1).read_count.get_untracked(), 2);
    assert_eq!(unread(&a, 1), 0);

    // Nobody shows it now: what comes next is unread in both tabs again.
    entry_all(&[&a, &b], 1, 4, 3, false, "news");
    assert_eq!(unread(&b, 1), 1, "output nobody saw counts again");
    assert_eq!(unread(&a, 1), 1);
}

#[test]
fn viewing_in_one_tab_clears_the_badge_in_another() {
    let a = connected(2);
    let b = connected(2);
    // Session 1 got output while A showed session 2 (A holds it as a background tab).
    actions::show(a, Some(sid(1)));
    actions::show(a, Some(sid(2)));
    entry_all(&[&a, &b], 1, 1, 1, false, "first");
    for tab in [&a, &b] {
        event(tab, 1, 2, delta("m1", " streams on"));
    }
    assert_eq!(unread(&a, 1), 1);
    assert_eq!(
        unread(&b, 1),
        1,
        "B is not subscribed: the patch alone counts it"
    );

    // B opens it: its View makes the server read up to the last seq.
    actions::show(b, Some(sid(1)));
    patch_all(&[&a, &b], 1, viewers(1, Some(2)));
    assert_eq!(unread(&a, 1), 0, "A's badge clears without A touching it");
    assert_eq!(unseen(&a, 1), 0);

    // B leaves again; the marker is already at the end, so the patch only counts viewers.
    actions::show(b, Some(sid(2)));
    patch_all(&[&a, &b], 1, viewers(0, None));
    assert_eq!(unread(&a, 1), 0, "still read once nobody views it");
    assert_eq!(unread(&b, 1), 0);
}

#[test]
fn a_marker_behind_what_this_tab_holds_leaves_the_rest_unread() {
    let b = connected(2);
    actions::show(b, Some(sid(1)));
    actions::show(b, Some(sid(2)));
    // Events travel apart from patches: B already holds seq 3 when the marker says 2.
    event(&b, 1, 1, delta("m1", "one"));
    event(&b, 1, 2, delta("m2", "two"));
    event(&b, 1, 3, delta("m3", "three"));
    patch(&b, 1, count_patch(3));
    assert_eq!(unread(&b, 1), 3);
    patch(&b, 1, viewers(0, Some(2)));
    assert_eq!(unread(&b, 1), 3, "entry 3 was not read anywhere yet");
    patch(&b, 1, viewers(0, Some(3)));
    assert_eq!(unread(&b, 1), 0);
}

#[test]
fn events_the_marker_already_covers_are_not_unseen() {
    let b = connected(2);
    actions::show(b, Some(sid(1)));
    actions::show(b, Some(sid(2)));
    // The viewer left (marker at 2) before B's copy of events 1 and 2 arrived.
    patch(
        &b,
        1,
        SessionPatch {
            entry_count: Some(2),
            ..viewers(0, Some(2))
        },
    );
    event(&b, 1, 1, delta("m1", "one"));
    event(&b, 1, 2, delta("m2", "two"));
    assert_eq!(unread(&b, 1), 0, "late copies of read entries are not news");
    event(&b, 1, 3, delta("m3", "three"));
    assert_eq!(unread(&b, 1), 1);
}

#[test]
fn a_listing_after_reconnect_brings_what_was_read_elsewhere() {
    let b = connected(2);
    patch(&b, 1, count_patch(4));
    patch(&b, 2, count_patch(4));
    assert_eq!((unread(&b, 1), unread(&b, 2)), (4, 4));
    let mut read = session(1);
    read.entry_count = 4;
    read.last_seq = Seq(9);
    read.read_seq = Seq(9);
    let mut half_read = session(2);
    half_read.entry_count = 4;
    half_read.last_seq = Seq(9);
    half_read.read_seq = Seq(5);
    apply(
        &b,
        ServerFrame::Connected {
            server_version: "test".into(),
            sessions: vec![read, half_read],
            agents: vec![],
            limits: Default::default(),
            projects: Vec::new(),
        },
    );
    assert_eq!(
        unread(&b, 1),
        0,
        "read in another tab while this one was away"
    );
    assert_eq!(unread(&b, 2), 4, "a marker short of the end clears nothing");
}

#[test]
fn a_listing_with_viewers_shows_no_badge() {
    let b = new_store();
    let mut watched = session(1);
    watched.entry_count = 2;
    watched.viewers = 1;
    apply(
        &b,
        ServerFrame::Connected {
            server_version: "test".into(),
            sessions: vec![watched],
            agents: vec![],
            limits: Default::default(),
            projects: Vec::new(),
        },
    );
    view(&b, 1).read_count.set(0);
    assert_eq!(unread(&b, 1), 0);
    patch(&b, 1, viewers(0, None));
    assert_eq!(unread(&b, 1), 2);
}

#[test]
fn a_saved_read_marker_does_not_undo_the_servers() {
    let store = new_store();
    let mut read = session(1);
    read.entry_count = 5;
    read.last_seq = Seq(7);
    read.read_seq = Seq(7);
    let mut unread_here = session(2);
    unread_here.entry_count = 5;
    unread_here.last_seq = Seq(7);
    unread_here.read_seq = Seq(3);
    apply(
        &store,
        ServerFrame::Connected {
            server_version: "test".into(),
            sessions: vec![read, unread_here],
            agents: vec![],
            limits: Default::default(),
            projects: Vec::new(),
        },
    );
    actions::restore_tabs(
        store,
        actions::SavedTabs {
            tabs: vec![sid(1), sid(2)],
            read: vec![(sid(1), 2), (sid(2), 2)],
        },
    );
    assert_eq!(unread(&store, 1), 0, "read elsewhere since the save");
    assert_eq!(unread(&store, 2), 3);
}

#[test]
fn the_sync_status_follows_the_connection_and_the_sessions_errors() {
    use crate::client::store::ConnectionState;
    use crate::client::sync::SyncStatus;
    let store = connected(2);
    let status = |n| view(&store, n).sync_status(&store);
    assert_eq!(status(1), SyncStatus::Connected);

    // A refused request is not a sync problem; an unreadable log or unknown session is.
    for (code, n) in [(ErrorCode::InvalidState, 2), (ErrorCode::Internal, 1)] {
        apply(
            &store,
            ServerFrame::Error {
                session: Some(sid(n)),
                code,
                message: "the session's log could not be read".into(),
                tag: None,
            },
        );
    }
    assert_eq!(status(1), SyncStatus::Error);
    assert_eq!(status(2), SyncStatus::Connected);
    assert!(view(&store, 1)
        .sync_tooltip(&store)
        .contains("log could not be read"));

    // While the socket is down, that is what every session shows.
    store
        .connection
        .set(ConnectionState::Reconnecting { attempt: 1 });
    assert_eq!(status(1), SyncStatus::Reconnecting);
    assert_eq!(status(1).as_str(), "reconnecting");
    store
        .connection
        .set(ConnectionState::Offline { attempt: 5 });
    assert_eq!(status(2), SyncStatus::Disconnected);

    // A new socket retries: the error is gone until the server says it again.
    apply(
        &store,
        ServerFrame::Connected {
            server_version: "test".into(),
            sessions: vec![session(1), session(2)],
            agents: vec![],
            limits: Default::default(),
            projects: Vec::new(),
        },
    );
    assert_eq!(status(1), SyncStatus::Connected);
    apply(
        &store,
        ServerFrame::Error {
            session: Some(sid(2)),
            code: ErrorCode::UnknownSession,
            message: "unknown session".into(),
            tag: None,
        },
    );
    assert_eq!(status(2).as_str(), "error");
}

#[test]
fn the_view_follows_the_tab_in_front_and_the_pages_visibility() {
    use crate::client::sync::view_target;
    let store = connected(2);
    assert_eq!(view_target(&store, true), None, "no tab in front");
    actions::show(store, Some(sid(1)));
    assert_eq!(view_target(&store, true), Some(sid(1)));
    assert_eq!(
        view_target(&store, false),
        None,
        "a hidden page shows nothing"
    );

    // A draft the server does not know yet: the session shown before stops being viewed.
    let draft = actions::new_draft(store);
    actions::show(store, Some(draft));
    assert_eq!(view_target(&store, true), None);
    store
        .view(draft)
        .expect("the draft is in the store")
        .draft_text
        .set("hello".into());
    assert!(actions::send_message(store, draft));
    assert_eq!(
        view_target(&store, true),
        Some(draft),
        "its first message creates it on the server"
    );
    // Closing its tab brings the one before it back to the front.
    assert_eq!(actions::close_tab(store, draft), Some(sid(1)));
    assert_eq!(view_target(&store, true), Some(sid(1)));
}
