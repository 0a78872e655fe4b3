//! Long transcripts are paged from the log: a fresh subscription with `tail_turns` gets only
//! the last turns (after `HistoryStart`), `LoadEarlier` returns the whole turns before, and
//! the pages together are exactly the log. Runs the real server on a seeded 10,000-entry
//! session.

mod common;

use common::{seed_transcript, Client, Server};
use switchboard::protocol::{ClientFrame, Seq, ServerFrame, SessionEvent};

fn is_user(event: &SessionEvent) -> bool {
    matches!(event, SessionEvent::UserMessage { .. })
}

#[tokio::test]
async fn a_long_session_opens_with_its_last_turns_and_pages_back_to_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let session = seed_transcript(dir.path(), 10_000);
    let server = Server::start(dir.path());
    let (mut client, sessions) = Client::connect(&server).await;
    let listed = sessions
        .iter()
        .find(|s| s.id == session)
        .expect("seeded session listed");
    // 2,500 turns of 4 entries, a second tool card every 10th turn, a notice every 25th.
    assert_eq!(listed.entry_count, 10_000 + 250 + 100);

    client
        .send(&ClientFrame::Subscribe {
            session,
            since: Seq(0),
            tail_turns: Some(20),
            tag: None,
        })
        .await;
    let (first_seq, tail) = match client.recv().await {
        ServerFrame::HistoryStart {
            session: s,
            first_seq,
            events,
        } if s == session => (first_seq, events),
        other => panic!("expected HistoryStart first, got {other:?}"),
    };
    assert_eq!(
        tail.last().map(|e| e.seq),
        Some(listed.last_seq),
        "the tail reaches the newest"
    );
    assert_eq!(tail[0].seq, first_seq);
    assert!(is_user(&tail[0].event), "a page starts at a user message");
    assert_eq!(tail.iter().filter(|e| is_user(&e.event)).count(), 20);

    // Page back with LoadEarlier until the beginning; every page is whole turns.
    let mut pages = vec![tail];
    let mut before = first_seq;
    while before > Seq(1) {
        client
            .send(&ClientFrame::LoadEarlier {
                session,
                before,
                turns: 500,
                from: None,
                tag: None,
            })
            .await;
        let (first, events) = loop {
            match client.recv().await {
                ServerFrame::Earlier {
                    before: b,
                    first_seq,
                    events,
                    ..
                } if b == before => break (first_seq, events),
                // The subscription's snapshot (after the tail) and live events.
                ServerFrame::Event { .. } | ServerFrame::SessionUpdated { .. } => {}
                other => panic!("expected Earlier, got {other:?}"),
            }
        };
        // Whole turns, counted by user messages: turns differ in length (see `seed`), so
        // a page cut by event count would not start at one or hold the asked-for number.
        assert!(is_user(&events[0].event));
        let turns_left = 2_500 - pages.iter().flatten().filter(|e| is_user(&e.event)).count();
        assert_eq!(
            events.iter().filter(|e| is_user(&e.event)).count(),
            turns_left.min(100)
        );
        assert_eq!(events[0].seq, first);
        assert_eq!(events.last().map(|e| e.seq.0 + 1), Some(before.0));
        pages.push(events);
        before = first;
    }
    pages.reverse();
    let seqs: Vec<u64> = pages.concat().iter().map(|e| e.seq.0).collect();
    let expected: Vec<u64> = (1..=listed.last_seq.0).collect();
    assert_eq!(
        seqs, expected,
        "the pages are the log, gapless and in order"
    );
    // Asked for 500 turns a page, the server sends at most 100.
    assert_eq!(pages.len(), 1 + 2_480_usize.div_ceil(100));

    // A full subscription (no tail) still replays everything.
    let (mut other, _) = Client::connect(&server).await;
    other.subscribe(session, Seq(0)).await;
    match other.recv().await {
        ServerFrame::Event { seq, .. } => assert_eq!(seq, Seq(1)),
        frame => panic!("expected the first event, got {frame:?}"),
    }

    // An unknown session is refused, as for every request.
    client
        .send(&ClientFrame::LoadEarlier {
            session: common::new_session(),
            before: Seq(5),
            turns: 1,
            from: None,
            tag: None,
        })
        .await;
    let frames = client
        .until(|f| matches!(f, ServerFrame::Error { .. }))
        .await;
    assert!(matches!(
        frames.last(),
        Some(ServerFrame::Error {
            code: switchboard::protocol::ErrorCode::UnknownSession,
            ..
        })
    ));
    server.stop();
}
