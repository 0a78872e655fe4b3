//! A session's stream held until the transcript folder is in (as on a split build's first
//! load), then folded in the order it came.

use super::*;
use crate::client::session_frames::{install, uninstall};
use crate::client::transcript_frames;

fn working(rev: u64) -> SessionPatch {
    SessionPatch {
        state: Some(SessionState::Working),
        rev: Some(rev),
        ..SessionPatch::default()
    }
}

#[test]
fn a_stream_waits_for_the_folder_with_its_patches_then_folds_in_order() {
    let store = connected(2);
    uninstall();
    event(&store, 1, 1, delta("m", "Hel"));
    event(&store, 1, 2, delta("m", "lo"));
    patch(&store, 1, working(1));
    patch(&store, 2, working(1));
    assert_eq!(
        len(&store, 1),
        0,
        "nothing is folded before the folder is in"
    );
    assert_eq!(
        view(&store, 1).meta.with_untracked(|m| m.state.clone()),
        SessionState::Idle,
        "the patch waits behind the session's events"
    );
    assert_eq!(
        view(&store, 2).meta.with_untracked(|m| m.state.clone()),
        SessionState::Working,
        "a session with nothing waiting takes its patch at once"
    );

    install(transcript_frames::apply);
    assert_eq!(assistant_text(&store, 1, 0), ("Hello".into(), true));
    assert_eq!(view(&store, 1).applied_seq.get_untracked(), Seq(2));
    assert_eq!(
        view(&store, 1).meta.with_untracked(|m| m.state.clone()),
        SessionState::Working
    );

    // From now on frames go straight through.
    event(&store, 1, 3, delta("m", "!"));
    assert_eq!(assistant_text(&store, 1, 0), ("Hello!".into(), true));
}

#[test]
fn a_refusal_about_a_session_waits_behind_its_events() {
    let store = connected(1);
    uninstall();
    event(&store, 1, 1, delta("m", "first"));
    apply(
        &store,
        ServerFrame::Error {
            session: Some(sid(1)),
            tag: None,
            code: crate::protocol::ErrorCode::Internal,
            message: "the log could not be read".into(),
        },
    );
    assert_eq!(len(&store, 1), 0, "the refusal's row waits too");
    install(transcript_frames::apply);
    assert_eq!(assistant_text(&store, 1, 0), ("first".into(), true));
    view(&store, 1).entries.with_untracked(|entries| {
        assert!(
            matches!(&entries[1].body, EntryBody::Notice { message, .. } if message == "the log could not be read"),
            "the refusal's row comes after the row that came first: {entries:?}"
        );
    });
}
