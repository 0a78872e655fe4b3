//! Refusals and races between the session's stream and the list: an `Error` undoes
//! exactly the request its tag names, and a late announcement never rolls back what the
//! stream gave.

use super::*;
use crate::client::actions;
use crate::client::store::SendStatus;
use crate::protocol::{ErrorCode, RequestId, RequestTag};

#[test]
fn a_refused_message_fails_and_shows_a_notice() {
    let store = connected(1);
    let v = view(&store, 1);
    v.draft_text.set("hi".into());
    actions::send_message(store, sid(1));
    apply(
        &store,
        ServerFrame::Error {
            session: Some(sid(1)),
            code: ErrorCode::InvalidState,
            message: "session is archived".into(),
            // A fresh store's first request.
            tag: Some(RequestTag(1)),
        },
    );
    v.entries.with_untracked(|entries| {
        assert_eq!(entries.len(), 2);
        match &entries[0].body {
            EntryBody::User { status, .. } => {
                assert_eq!(status.get_untracked(), SendStatus::Failed)
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(entries[1].body.role(), "notice");
        assert_ne!(entries[0].key, entries[1].key);
    });
    apply(
        &store,
        ServerFrame::error(None, ErrorCode::Internal, "disk full"),
    );
    assert_eq!(
        store.server_error.get_untracked().as_deref(),
        Some("disk full")
    );
}

#[test]
fn a_refused_answer_makes_the_permission_card_answerable_again() {
    let store = connected(1);
    ask_r1(&store);
    actions::answer_permission(store, sid(1), RequestId("r1".into()), "allow".into());
    let answered = view(&store, 1)
        .entries
        .with_untracked(|entries| match &entries[0].body {
            EntryBody::Permission { answered, .. } => answered.clone(),
            other => panic!("unexpected {other:?}"),
        });
    assert_eq!(
        answered.get_untracked().as_deref(),
        Some("allow"),
        "buttons lock at once"
    );
    apply(
        &store,
        refusal(1, ErrorCode::InvalidState, "no such request"),
    );
    assert_eq!(answered.get_untracked(), None);
}

/// Session 1's agent asks permission `r1` (its first event).
fn ask_r1(store: &Store) {
    event(
        store,
        1,
        1,
        SessionEvent::PermissionRequested {
            request_id: RequestId("r1".into()),
            title: "Run rm".into(),
            input: serde_json::Value::Null,
            options: vec![],
        },
    );
}

/// An `Error` refusing this store's `tag`th request about session 1.
fn refusal(tag: u64, code: ErrorCode, message: &str) -> ServerFrame {
    ServerFrame::Error {
        session: Some(sid(1)),
        tag: Some(RequestTag(tag)),
        code,
        message: message.into(),
    }
}

/// The send status of each user row of session 1.
fn user_statuses(store: &Store) -> Vec<SendStatus> {
    view(store, 1).entries.with_untracked(|entries| {
        entries
            .iter()
            .filter_map(|entry| match &entry.body {
                EntryBody::User { status, .. } => Some(status.get_untracked()),
                _ => None,
            })
            .collect()
    })
}

/// Fault 3 of the ordered-core redesign: an `Error` did not say which request it answered,
/// so a refused permission answer marked every pending message of its session "Not
/// delivered" (and the socket dropped them from its resend list).
#[test]
fn a_refusal_fails_exactly_the_request_it_names() {
    let store = connected(1);
    ask_r1(&store);
    let v = view(&store, 1);
    v.draft_text.set("first".into());
    actions::send_message(store, sid(1)); // request 1
    actions::answer_permission(store, sid(1), RequestId("r1".into()), "allow".into()); // 2
    v.draft_text.set("second".into());
    actions::send_message(store, sid(1)); // request 3
    apply(
        &store,
        refusal(2, ErrorCode::InvalidState, "no such request"),
    );
    assert_eq!(
        user_statuses(&store),
        [SendStatus::Pending, SendStatus::Pending],
        "the messages wait for their echo"
    );
    apply(&store, refusal(3, ErrorCode::TooLarge, "too long"));
    assert_eq!(
        user_statuses(&store),
        [SendStatus::Pending, SendStatus::Failed]
    );
    // A refusal whose request is forgotten (or repeated) fails nothing more.
    apply(&store, refusal(3, ErrorCode::TooLarge, "too long"));
    assert_eq!(
        user_statuses(&store),
        [SendStatus::Pending, SendStatus::Failed]
    );
}

/// The creating socket's stream can overtake the list's `SessionCreated` (they travel
/// apart): the announcement then brings the session's fixed fields and leaves the newer
/// state, counts and preview the stream gave.
#[test]
fn a_late_session_created_does_not_roll_back_what_the_stream_gave() {
    let store = connected(0);
    let id = actions::new_draft(store);
    let view = store.view(id).expect("draft");
    apply(
        &store,
        ServerFrame::SessionUpdated {
            session: id,
            patch: SessionPatch {
                state: Some(SessionState::WaitingForAgent { ahead: 1 }),
                preview: Some("Write the notes".into()),
                last_seq: Some(Seq(3)),
                rev: Some(4),
                ..SessionPatch::default()
            },
        },
    );
    let mut created = session(0);
    created.id = id;
    created.cwd = "/work/project".into();
    apply(&store, ServerFrame::SessionCreated { session: created });
    view.meta.with_untracked(|meta| {
        assert_eq!(meta.state, SessionState::WaitingForAgent { ahead: 1 });
        assert_eq!(meta.preview, "Write the notes");
        assert_eq!(
            meta.cwd, "/work/project",
            "the fixed fields come from the server"
        );
        assert_eq!(meta.rev, 4);
    });
}
