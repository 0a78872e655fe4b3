//! Search over every stored transcript against the real server: a phrase typed a moment
//! ago is found, filters hold, a query the index cannot read is refused with a clear error,
//! and a hit far back in a long log opens at its turn (`LoadEarlier` with `from`).

mod common;

use common::{new_session, seed_transcript, Client, Server};
use switchboard::protocol::{
    AgentId, ClientFrame, ErrorCode, RequestTag, SearchGroup, SearchOrder, SearchQuery, SearchRole,
    Seq, ServerFrame, SessionEvent, MATCH_OPEN,
};

/// Sends a search and returns its groups (or the error's message).
async fn search(client: &mut Client, query: SearchQuery) -> Result<Vec<SearchGroup>, String> {
    let tag = RequestTag(rand_tag());
    client
        .send(&ClientFrame::Search {
            query,
            tag: Some(tag),
        })
        .await;
    loop {
        match client.recv().await {
            ServerFrame::SearchResults {
                tag: Some(t),
                groups,
                ..
            } if t == tag => return Ok(groups.decode().expect("search hits decode")),
            ServerFrame::Error {
                tag: Some(t),
                code,
                message,
                ..
            } if t == tag => {
                assert_eq!(code, ErrorCode::BadQuery, "{message}");
                return Err(message);
            }
            _ => {}
        }
    }
}

fn rand_tag() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

fn text(words: &str) -> SearchQuery {
    SearchQuery {
        text: words.into(),
        ..SearchQuery::default()
    }
}

#[tokio::test]
async fn a_phrase_typed_a_moment_ago_is_found_filters_hold_and_bad_queries_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let (mut client, _) = Client::connect(&server).await;
    let (fox, dogs) = (new_session(), new_session());
    client.say(fox, "the quick brown fox jumps", true).await;
    client.turn(fox).await;
    client.say(dogs, "lazy dogs sleep all day", true).await;
    client.turn(dogs).await;

    let groups = search(&mut client, text("\"quick brown\""))
        .await
        .expect("reads");
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0].session, fox);
    let roles: Vec<SearchRole> = groups[0].hits.iter().map(|h| h.role).collect();
    // The demo agent echoes: the user's message and the answer both match, newest first.
    assert_eq!(roles, [SearchRole::Assistant, SearchRole::User]);
    assert!(groups[0].hits[1].snippet.contains(MATCH_OPEN), "{groups:?}");
    assert!(
        groups[0].title.contains("quick brown fox"),
        "{}",
        groups[0].title
    );

    // Words need not be adjacent; phrases must; prefixes work.
    assert_eq!(
        search(&mut client, text("fox quick"))
            .await
            .expect("reads")
            .len(),
        1
    );
    assert!(search(&mut client, text("\"quick fox\""))
        .await
        .expect("reads")
        .is_empty());
    let prefixed = search(&mut client, text("jum*")).await.expect("reads");
    assert_eq!(prefixed[0].session, fox);

    // Filters: role, agent, time.
    let mut only_user = text("sleep");
    only_user.role = Some(SearchRole::User);
    let groups = search(&mut client, only_user).await.expect("reads");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].session, dogs);
    assert!(groups[0].hits.iter().all(|h| h.role == SearchRole::User));
    let mut other_agent = text("sleep");
    other_agent.agent = Some(AgentId::claude());
    assert!(search(&mut client, other_agent)
        .await
        .expect("reads")
        .is_empty());
    let mut same_agent = text("sleep");
    same_agent.agent = Some(AgentId::demo());
    assert_eq!(
        search(&mut client, same_agent).await.expect("reads").len(),
        1
    );
    let mut by_relevance = text("fox");
    by_relevance.order = SearchOrder::Relevance;
    let ranked = search(&mut client, by_relevance).await.expect("reads");
    assert_eq!(ranked.len(), 1);
    assert_eq!(ranked[0].hits.len(), 2);
    let mut future = text("sleep");
    future.since_ms = Some(i64::MAX / 2);
    assert!(search(&mut client, future).await.expect("reads").is_empty());
    let mut ranked = text("sleep OR fox");
    ranked.order = SearchOrder::Relevance;
    // Operators are words here: nothing has all of "sleep", "OR" and "fox".
    assert!(search(&mut client, ranked).await.expect("reads").is_empty());

    // Unreadable queries get a clear error, and the socket goes on.
    let why = search(&mut client, text("\"unclosed phrase"))
        .await
        .unwrap_err();
    assert!(why.contains("quote"), "{why}");
    let why = search(&mut client, text("  ")).await.unwrap_err();
    assert!(why.contains("word"), "{why}");
    assert_eq!(
        search(&mut client, text("dogs"))
            .await
            .expect("reads")
            .len(),
        1
    );
}

#[tokio::test]
async fn a_hit_far_back_in_a_long_log_opens_at_its_turn() {
    let dir = tempfile::tempdir().expect("temp dir");
    let session = seed_transcript(dir.path(), 10_000);
    let server = Server::start(dir.path());
    let (mut client, _) = Client::connect(&server).await;

    // The seeded log's 7th question, about 9,970 entries back from the end.
    let mut query = text("\"Question 7\"");
    query.role = Some(SearchRole::User);
    let groups = search(&mut client, query).await.expect("reads");
    let hit = groups
        .iter()
        .find(|g| g.session == session)
        .and_then(|g| g.hits.first())
        .expect("the seeded question is found")
        .clone();

    client
        .send(&ClientFrame::Subscribe {
            session,
            since: Seq(0),
            tail_turns: Some(20),
            tag: None,
        })
        .await;
    let first_seq = loop {
        if let ServerFrame::HistoryStart { first_seq, .. } = client.recv().await {
            break first_seq;
        }
    };
    assert!(hit.seq < first_seq, "the hit is outside the first page");
    client
        .send(&ClientFrame::LoadEarlier {
            session,
            before: first_seq,
            turns: 1,
            from: Some(hit.seq),
            tag: None,
        })
        .await;
    let (page_start, events) = loop {
        if let ServerFrame::Earlier {
            first_seq, events, ..
        } = client.recv().await
        {
            break (first_seq, events);
        }
    };
    assert!(page_start <= hit.seq, "the page holds the hit");
    let seqs: Vec<u64> = events.iter().map(|e| e.seq.0).collect();
    let expected: Vec<u64> = (page_start.0..first_seq.0).collect();
    assert_eq!(
        seqs, expected,
        "the page reaches the loaded part without a gap"
    );
    let at_hit = events
        .iter()
        .find(|e| e.seq == hit.seq)
        .expect("hit in page");
    match &at_hit.event {
        SessionEvent::UserMessage { text, .. } => {
            assert!(text.starts_with("Question 7:"), "{text}")
        }
        other => panic!("the hit is the question, not {other:?}"),
    }
}
