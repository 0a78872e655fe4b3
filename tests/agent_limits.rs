//! Resource limits on agent processes: the cap on live agents and idle reaping, both with
//! a transparent resume on the next message (the demo agent remembers its prompts on disk,
//! so `/history` shows whether the conversation came back).

mod common;

use common::{assistant_text, new_session, Client, Server};
use std::time::{Duration, Instant};

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn at_the_cap_the_longest_idle_agent_makes_room_and_resumes_later() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with_config(dir.path(), "[limits]\nmax_live_agents = 1\n");
    let (mut client, _) = Client::connect(&server).await;
    let (first, second) = (new_session(), new_session());
    client.say(first, "first session's prompt", true).await;
    client.turn(first).await;
    assert_eq!(server.agent_pids().len(), 1);

    client.say(second, "second session's prompt", true).await;
    client.turn(second).await;
    // The first agent was idle, so it was stopped to make room: still one process.
    wait_for("one live agent", || server.agent_pids().len() == 1).await;

    client.say(first, "/history", false).await;
    let events = client.turn(first).await;
    assert_eq!(
        assistant_text(&events),
        "This conversation has 1 earlier prompt(s). The first was: first session's prompt"
    );
    assert_eq!(server.agent_pids().len(), 1);
}

#[tokio::test]
async fn an_idle_agent_is_stopped_and_the_next_message_resumes_its_conversation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with_config(dir.path(), "[limits]\nidle_agent_secs = 1\n");
    let (mut client, _) = Client::connect(&server).await;
    let session = new_session();
    client.say(session, "remember me", true).await;
    client.turn(session).await;
    assert_eq!(server.agent_pids().len(), 1);
    wait_for("the idle agent to be stopped", || {
        server.agent_pids().is_empty()
    })
    .await;

    client.say(session, "/history", false).await;
    let events = client.turn(session).await;
    assert_eq!(
        assistant_text(&events),
        "This conversation has 1 earlier prompt(s). The first was: remember me"
    );
}
