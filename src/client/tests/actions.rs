//! The store-only actions: sending, drafts, tabs, URL ids, saved tabs.

use super::*;
use crate::client::actions;
use crate::client::reducer::apply;
use crate::client::store::{EntryBody, SendStatus};
use crate::protocol::{ClientMsgId, ServerFrame, SessionEvent, SessionId};
use leptos::prelude::*;
use uuid::Uuid;

#[test]
fn a_sent_message_shows_at_once_and_its_echo_confirms_it() {
    let store = connected(1);
    actions::show(store, Some(sid(1)));
    let v = view(&store, 1);
    v.draft_text.set("hello".into());
    assert!(actions::send_message(store, sid(1)));
    assert_eq!(v.draft_text.get_untracked(), "", "the composer clears");
    let (msg_id, status) = v.entries.with_untracked(|entries| match &entries[0].body {
        EntryBody::User {
            client_msg_id,
            status,
            text,
            ..
        } => {
            assert_eq!(text, "hello");
            (client_msg_id.expect("has an id"), status.clone())
        }
        other => panic!("unexpected {other:?}"),
    });
    assert_eq!(status.get_untracked(), SendStatus::Pending);
    event(
        &store,
        1,
        1,
        SessionEvent::UserMessage {
            client_msg_id: msg_id,
            text: "hello".into(),
            attachments: vec![],
        },
    );
    assert_eq!(len(&store, 1), 1, "the echo does not add a second row");
    assert_eq!(status.get_untracked(), SendStatus::Delivered);

    // Someone else's message (another browser tab) is a row of its own.
    event(
        &store,
        1,
        2,
        SessionEvent::UserMessage {
            client_msg_id: ClientMsgId(Uuid::from_u128(77)),
            text: "from elsewhere".into(),
            attachments: vec![],
        },
    );
    assert_eq!(len(&store, 1), 2);
    assert!(
        !actions::send_message(store, sid(1)),
        "an empty composer sends nothing"
    );
}

#[test]
fn a_draft_becomes_the_created_session_in_place() {
    let store = connected(1);
    let id = actions::new_draft(store);
    actions::show(store, Some(id));
    let draft = store.view(id).expect("draft");
    assert!(draft.is_draft());
    draft.draft_text.set("Fix the build".into());
    actions::send_message(store, id);
    assert_eq!(draft.meta.get_untracked().title, "Fix the build");

    let mut created = session(5);
    created.id = id;
    created.entry_count = 1;
    apply(&store, ServerFrame::SessionCreated { session: created });
    let now = store.view(id).expect("still there");
    assert!(!now.is_draft());
    assert_eq!(
        now.entries.with_untracked(Vec::len),
        1,
        "the optimistic row survives"
    );
    assert_eq!(
        store.sessions.with_untracked(|l| l[0].id),
        id,
        "newest first"
    );
    assert_eq!(now.unread(&store), 0, "the active tab has nothing unread");
}

#[test]
fn closing_tabs_hides_them_and_picks_a_neighbour() {
    let store = connected(3);
    for n in 1..=3 {
        actions::show(store, Some(sid(n)));
    }
    assert_eq!(
        actions::close_tab(store, sid(3)),
        Some(sid(2)),
        "closing the last active tab goes left"
    );
    assert_eq!(store.active.get_untracked(), Some(sid(2)));
    assert!(store.view(sid(3)).is_some(), "closing only hides");
    actions::show(store, Some(sid(1)));
    assert_eq!(
        actions::close_tab(store, sid(1)),
        Some(sid(2)),
        "otherwise right"
    );
    assert_eq!(actions::close_tab(store, sid(2)), None);
    assert!(store.tabs.get_untracked().is_empty());

    let draft = actions::new_draft(store);
    actions::close_tab(store, draft);
    assert!(store.view(draft).is_none(), "a closed draft is discarded");
}

#[test]
fn unknown_url_ids_open_as_drafts() {
    let store = connected(1);
    let id = sid(42);
    actions::show(store, actions::id_from_path(&format!("/s/{id}")));
    assert!(view(&store, 42).is_draft());
    assert_eq!(store.tabs.get_untracked(), vec![id]);
    assert_eq!(store.active.get_untracked(), Some(id));
    assert_eq!(actions::id_from_path("/s/not-a-uuid"), None);
    assert_eq!(actions::id_from_path("/"), None);
}

#[test]
fn saved_tabs_round_trip_through_restore() {
    let store = connected(3);
    actions::show(store, Some(sid(2)));
    actions::show(store, Some(sid(1)));
    patch(&store, 3, count_patch(4));
    let saved = actions::saved_tabs(store);
    assert_eq!(saved.tabs, vec![sid(2), sid(1)]);
    assert_eq!(unread(&store, 3), 4);

    // A reload: the fresh list counts everything as read until the saved markers apply.
    let reload = |active: Option<SessionId>| {
        let fresh = new_store();
        let mut third = session(3);
        third.entry_count = 4;
        apply(
            &fresh,
            ServerFrame::Connected {
                server_version: "t".into(),
                sessions: vec![session(1), session(2), third],
                agents: vec![],
                limits: Default::default(),
                projects: Vec::new(),
            },
        );
        actions::show(fresh, active);
        actions::restore_tabs(fresh, saved.clone());
        fresh
    };
    let fresh = reload(None);
    assert_eq!(fresh.tabs.get_untracked(), vec![sid(2), sid(1)]);
    assert_eq!(unread(&fresh, 3), 4, "unread survives a reload");

    let fresh = reload(Some(sid(3)));
    assert_eq!(
        fresh.tabs.get_untracked(),
        vec![sid(2), sid(1), sid(3)],
        "saved tabs first, the URL's after"
    );
    assert_eq!(
        view(&fresh, 3).read_count.get_untracked(),
        4,
        "the active tab stays read"
    );
}

#[test]
fn after_a_tab_goes_the_next_one_shows_or_else_the_start_page() {
    assert_eq!(actions::next_path(None), "/");
    assert_eq!(
        actions::next_path(Some(sid(7))),
        format!("/s/{}", Uuid::from_u128(7))
    );
}
