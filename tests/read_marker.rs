//! The server-side read marker: browser tabs say which session they show (`View`); while any
//! shows a session its new entries are read everywhere, and the marker survives a restart.

mod common;

use common::{new_session, Client, Server};
use switchboard::protocol::{ClientFrame, Seq, ServerFrame, SessionId, SessionPatch};

/// Reads until a patch of `session` satisfies `done`; returns that patch.
async fn patch_where(
    client: &mut Client,
    session: SessionId,
    done: impl Fn(&SessionPatch) -> bool,
) -> SessionPatch {
    let frames = client
        .until(|f| matches!(f, ServerFrame::SessionUpdated { session: s, patch } if *s == session && done(patch)))
        .await;
    match frames.last() {
        Some(ServerFrame::SessionUpdated { patch, .. }) => patch.clone(),
        other => panic!("expected a patch, got {other:?}"),
    }
}

#[tokio::test]
async fn a_session_shown_in_one_tab_is_read_in_every_tab_and_the_marker_is_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let (mut viewer, _) = Client::connect(&server).await;
    let (mut other, _) = Client::connect(&server).await;
    let session = new_session();

    // A draft shown before it exists is counted once its first message creates it.
    viewer
        .send(&ClientFrame::View {
            session: Some(session),
        })
        .await;
    viewer.say(session, "hello", true).await;
    viewer.turn(session).await;
    let counted = patch_where(&mut other, session, |p| p.viewers.is_some()).await;
    assert_eq!(counted.viewers, Some(1));

    // Every new entry arrives already read, in the same patch as its count.
    viewer.say(session, "/tool", false).await;
    viewer.turn(session).await;
    let entry = patch_where(&mut other, session, |p| p.entry_count.is_some()).await;
    assert!(entry.read_seq.is_some(), "{entry:?}");

    // The tab looks away: everything so far is read, and nobody views it any more.
    viewer.send(&ClientFrame::View { session: None }).await;
    let away = patch_where(&mut other, session, |p| p.viewers == Some(0)).await;
    let read_seq = away.read_seq.expect("marker moved to the end");
    let (_, sessions) = Client::connect(&server).await;
    let listed = sessions.iter().find(|s| s.id == session).expect("listed");
    assert_eq!(listed.read_seq, read_seq);
    assert_eq!(listed.read_seq, listed.last_seq);

    // Output that nobody sees stays unread: the marker does not move.
    other.say(session, "unseen reply", false).await;
    other
        .send(&ClientFrame::Subscribe {
            session,
            since: listed.last_seq,
            tail_turns: None,
            tag: None,
        })
        .await;
    other.turn(session).await;
    let (_, sessions) = Client::connect(&server).await;
    let listed = sessions.iter().find(|s| s.id == session).expect("listed");
    assert!(listed.read_seq < listed.last_seq);
    assert_eq!(listed.viewers, 0);

    // A socket that closes while viewing stops counting.
    viewer
        .send(&ClientFrame::View {
            session: Some(session),
        })
        .await;
    patch_where(&mut other, session, |p| p.viewers == Some(1)).await;
    drop(viewer);
    patch_where(&mut other, session, |p| p.viewers == Some(0)).await;

    server.stop();
    let server = Server::start(dir.path());
    let (_, sessions) = Client::connect(&server).await;
    let listed = sessions.iter().find(|s| s.id == session).expect("listed");
    assert_eq!(listed.read_seq, listed.last_seq, "stored across a restart");
    assert_eq!(listed.viewers, 0);
    assert!(listed.read_seq > Seq(0));
}
