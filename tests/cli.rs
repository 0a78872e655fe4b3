//! The command line against the real server on port 0: `switchboard send --new --wait`
//! prints the demo agent's reply as it streams and exits 0, a `/crash` makes it exit
//! non-zero with the agent's error, `tail` follows a `/slow` turn to its end, `approve` and
//! `deny` answer `/permission` requests (the file written, or not), `stop` stops a turn,
//! `sessions` lists; the address and token come from the data dir's `cli.json`, or flags.

mod common;

use common::{Server, TIMEOUT};
use hyper::Method;
use serde_json::{json, Value};
use std::process::Stdio;
use switchboard::protocol::SessionEvent;
use switchboard::server::api::{Accepted, SessionDetail};
use switchboard::server::api_client::ApiClient;
use switchboard::server::api_tokens::CliFile;

/// What a command printed and how it ended.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `switchboard <args>` against `server` (found through its data dir), killed when dropped.
fn switchboard(server: &Server, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command
        .args(args)
        .arg("--data-dir")
        .arg(&server.data_dir)
        .env_remove("SWITCHBOARD_SERVER")
        .env_remove("SWITCHBOARD_API_TOKEN")
        .kill_on_drop(true);
    command
}

/// Runs `switchboard <args>` against `server` to its end, with a timeout.
async fn run(server: &Server, args: &[&str]) -> Ran {
    let out = tokio::time::timeout(TIMEOUT, switchboard(server, args).output())
        .await
        .unwrap_or_else(|_| panic!("switchboard {args:?} ends in time"))
        .expect("runs");
    Ran {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn api(server: &Server) -> ApiClient {
    let text = std::fs::read_to_string(server.data_dir.join("cli.json")).expect("cli.json");
    let file: CliFile = serde_json::from_str(&text).expect("parses");
    ApiClient::new(&file.server, Some(file.token)).expect("client")
}

/// Waits until the session's log holds an event `pick` takes.
async fn wait_for<T>(
    api: &ApiClient,
    session: &str,
    pick: impl Fn(&SessionEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let path = format!("/api/v1/sessions/{session}");
        let detail: SessionDetail = api.json(Method::GET, &path, None).await.expect("read");
        if let Some(found) = detail.events.iter().find_map(|e| pick(&e.event)) {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "event in time");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn create(api: &ApiClient, text: &str) -> Accepted {
    api.json(
        Method::POST,
        "/api/v1/sessions",
        Some(&json!({ "agent": "demo", "text": text })),
    )
    .await
    .expect("made")
}

#[tokio::test]
async fn send_new_wait_prints_the_streamed_reply_and_a_crash_fails() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start(dir.path());
    let ran = run(
        &server,
        &[
            "send",
            "--new",
            "--agent",
            "demo",
            "--project",
            "Playground",
            "--wait",
            "hello from the shell",
        ],
    )
    .await;
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(
        ran.stdout.contains("Echo: hello from the shell"),
        "{}",
        ran.stdout
    );
    let session = ran
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("session "))
        .expect("names the session")
        .trim()
        .to_owned();

    // A follow-up to the same session, as JSON lines for programs.
    let ran = run(
        &server,
        &["send", &session, "second one", "--wait", "--json"],
    )
    .await;
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let events: Vec<Value> = ran
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["event"]["type"] == "assistant_delta"),
        "{}",
        ran.stdout
    );
    assert_eq!(
        events.last().map(|e| e["event"]["type"].clone()),
        Some(json!("turn_completed"))
    );
    assert!(events.iter().all(|e| e["seq"].as_u64().is_some()));

    // The agent crashes: a non-zero exit with its error.
    let ran = run(&server, &["send", "--new", "--wait", "/crash"]).await;
    assert_eq!(
        ran.code,
        Some(1),
        "stdout: {} stderr: {}",
        ran.stdout,
        ran.stderr
    );
    assert!(
        ran.stderr.contains("the agent failed") && ran.stderr.contains("exited"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("crashing on purpose"),
        "the agent's own words: {}",
        ran.stderr
    );

    // sessions: a table and JSON.
    let ran = run(&server, &["sessions"]).await;
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(
        ran.stdout.starts_with("ID") && ran.stdout.contains(&session),
        "{}",
        ran.stdout
    );
    let ran = run(&server, &["sessions", "--json"]).await;
    let list: Value = serde_json::from_str(&ran.stdout).expect("json");
    assert_eq!(list["sessions"].as_array().map(Vec::len), Some(2), "{list}");

    // Errors: an unknown session, a server that is not there, a bad token.
    let ran = run(&server, &["send", &uuid::Uuid::new_v4().to_string(), "hi"]).await;
    assert_eq!(ran.code, Some(1));
    assert!(ran.stderr.contains("unknown_session"), "{}", ran.stderr);
    let ran = run(&server, &["sessions", "--server", "http://127.0.0.1:1"]).await;
    assert_eq!(ran.code, Some(1));
    assert!(ran.stderr.contains("cannot reach"), "{}", ran.stderr);
    let addr = format!("http://{}", server.addr);
    let ran = run(
        &server,
        &["sessions", "--server", &addr, "--token", "sbk_wrong"],
    )
    .await;
    assert_eq!(ran.code, Some(1));
    assert!(ran.stderr.contains("unauthorized"), "{}", ran.stderr);
    let empty = tempfile::tempdir().expect("dir");
    let mut no_file = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
    no_file
        .args(["sessions", "--data-dir"])
        .arg(empty.path())
        .env_remove("SWITCHBOARD_SERVER");
    let out = no_file.output().await.expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cli.json"));
}

#[tokio::test]
async fn tail_follows_a_slow_turn_to_its_end_and_stop_stops_one() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start(dir.path());
    let api = api(&server);
    let made = create(&api, "/slow 2").await;
    let id = made.session.id;
    let started = std::time::Instant::now();
    let ran = run(&server, &["tail", &id, "--until-turn-end"]).await;
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stdout.contains("> /slow 2"), "{}", ran.stdout);
    assert!(
        ran.stdout.contains("[turn ended: end_turn"),
        "{}",
        ran.stdout
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1500),
        "followed live, to the end"
    );
    let detail: SessionDetail = api
        .json(Method::GET, &format!("/api/v1/sessions/{id}"), None)
        .await
        .expect("read");
    let streamed: String = detail
        .events
        .iter()
        .filter_map(|e| match &e.event {
            SessionEvent::AssistantDelta { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        ran.stdout.contains(&streamed),
        "every chunk printed: {streamed:?} in {}",
        ran.stdout
    );

    // --since: only what came after.
    let ran = run(
        &server,
        &["tail", &id, "--since", "2", "--until-turn-end", "--json"],
    )
    .await;
    let first: Value =
        serde_json::from_str(ran.stdout.lines().next().expect("a line")).expect("json");
    assert_eq!(first["seq"], 3);

    // Without --until-turn-end, tail follows until the session is ended.
    let mut follow = switchboard(&server, &["tail", &id, "--since", "1000000"])
        .stdout(Stdio::null())
        .spawn()
        .expect("tail runs");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        follow.try_wait().expect("status").is_none(),
        "tail follows on"
    );
    let other = create(&api, "to be ended").await.session.id;
    let mut follow_other = switchboard(&server, &["tail", &other])
        .stdout(Stdio::null())
        .spawn()
        .expect("tail runs");
    wait_for(&api, &other, |e| {
        matches!(e, SessionEvent::TurnCompleted { .. }).then_some(())
    })
    .await;
    api.act(Method::DELETE, &format!("/api/v1/sessions/{other}"), None)
        .await
        .expect("ended");
    let status = tokio::time::timeout(TIMEOUT, follow_other.wait())
        .await
        .expect("tail ends with the session")
        .expect("status");
    assert!(status.success());
    let _ = follow.kill().await;

    // stop: the running turn ends as cancelled.
    let ran = run(&server, &["send", &id, "/slow 20"]).await;
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    wait_for(&api, &id, |e| {
        matches!(e, SessionEvent::TurnStarted { .. }).then_some(())
    })
    .await;
    let ran = run(&server, &["stop", &id]).await;
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    wait_for(&api, &id, |e| match e {
        SessionEvent::TurnCompleted { stop_reason, .. } if stop_reason == "cancelled" => Some(()),
        _ => None,
    })
    .await;
}

/// `send --wait` follows its own message's turn, not one queued ahead of it; a message that
/// a Stop drops from the queue ends the wait with an error instead of a hang.
#[tokio::test]
async fn send_wait_follows_its_own_turn_and_a_dropped_message_fails() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start(dir.path());
    let api = api(&server);
    let id = create(&api, "/slow 4").await.session.id;
    let messages = format!("/api/v1/sessions/{id}/messages");
    api.act(
        Method::POST,
        &messages,
        Some(&json!({ "text": "queued ahead" })),
    )
    .await
    .expect("queued");
    let ran = run(&server, &["send", &id, "--wait", "ours"]).await;
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stdout.contains("Echo: ours"), "{}", ran.stdout);
    assert!(!ran.stdout.contains("queued ahead"), "{}", ran.stdout);

    // Behind a long turn, then Stop: the queue is dropped, and the wait ends.
    api.act(
        Method::POST,
        &messages,
        Some(&json!({ "text": "/slow 120" })),
    )
    .await
    .expect("sent");
    let waiting = switchboard(&server, &["send", &id, "--wait", "never runs"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("send runs");
    wait_for(&api, &id, |e| match e {
        SessionEvent::UserMessage { text, .. } if text == "never runs" => Some(()),
        _ => None,
    })
    .await;
    api.act(Method::POST, &format!("/api/v1/sessions/{id}/stop"), None)
        .await
        .expect("stopped");
    let out = tokio::time::timeout(TIMEOUT, waiting.wait_with_output())
        .await
        .expect("the wait ends")
        .expect("status");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("not sent"), "{stderr}");
}

#[tokio::test]
async fn approve_and_deny_answer_permission_requests() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start(dir.path());
    let api = api(&server);
    for (verb, written) in [("deny", false), ("approve", true)] {
        let made = create(&api, "/permission").await;
        let id = made.session.id;
        let request = wait_for(&api, &id, |e| match e {
            SessionEvent::PermissionRequested { request_id, .. } => Some(request_id.0.clone()),
            _ => None,
        })
        .await;
        let ran = run(&server, &[verb, &id, &request]).await;
        assert_eq!(ran.code, Some(0), "{verb}: {}", ran.stderr);
        let allowed = wait_for(&api, &id, |e| match e {
            SessionEvent::PermissionResolved { allowed, .. } => Some(*allowed),
            _ => None,
        })
        .await;
        assert_eq!(allowed, written, "{verb}");
        wait_for(&api, &id, |e| {
            matches!(e, SessionEvent::TurnCompleted { .. }).then_some(())
        })
        .await;
        let file = std::path::Path::new(&made.session.cwd).join("demo.txt");
        assert_eq!(file.exists(), written, "{verb}: {}", file.display());
        // Answering again: the request is no longer open.
        let ran = run(&server, &[verb, &id, &request]).await;
        assert_eq!(ran.code, Some(1), "{verb} twice: {}", ran.stdout);
    }
}
