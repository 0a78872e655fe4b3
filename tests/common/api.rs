//! Helpers of the HTTP API's tests: a client with the server's local token (from its
//! `cli.json`), calls that return the status and JSON, problem assertions, and reading a
//! session's log through the API until something shows.

use super::{Server, TIMEOUT};
use hyper::{Method, StatusCode};
use serde_json::Value;
use switchboard::protocol::SessionEvent;
use switchboard::server::api::{ApiEvent, SessionDetail};
use switchboard::server::api_client::ApiClient;
use switchboard::server::api_tokens::CliFile;

/// The local API token the server wrote into its data dir.
pub fn cli_file(server: &Server) -> CliFile {
    let text = std::fs::read_to_string(server.data_dir.join("cli.json")).expect("cli.json");
    serde_json::from_str(&text).expect("cli.json parses")
}

pub fn client(server: &Server) -> ApiClient {
    ApiClient::new(&server.addr, Some(cli_file(server).token)).expect("client")
}

/// Calls the API and returns the status and the JSON body (a problem for errors).
pub async fn call(
    client: &ApiClient,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, bytes) = tokio::time::timeout(TIMEOUT, client.call(method, path, body.as_ref()))
        .await
        .expect("answer in time")
        .expect("answer");
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{path}: {e}: {bytes:?}"))
    };
    (status, value)
}

/// Asserts a problem with this status and code.
pub fn assert_problem(answer: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(answer.0.as_u16(), status, "{:?}", answer.1);
    assert_eq!(answer.1["code"], code, "{:?}", answer.1);
    assert_eq!(answer.1["status"], status);
    assert!(answer.1["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

/// The whole log of a session, read through the API page by page.
pub async fn log_of(client: &ApiClient, session: &str) -> Vec<ApiEvent> {
    let mut events = Vec::new();
    let mut since = 0;
    loop {
        let path = format!("/api/v1/sessions/{session}?since={since}&limit=7");
        let detail: SessionDetail = client.json(Method::GET, &path, None).await.expect("read");
        events.extend(detail.events);
        match detail.next_since {
            Some(next) => since = next,
            None => return events,
        }
    }
}

/// Waits until the session's log holds an event `pick` takes.
pub async fn wait_for<T>(
    client: &ApiClient,
    session: &str,
    pick: impl Fn(&ApiEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        if let Some(found) = log_of(client, session).await.iter().find_map(&pick) {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "event in time");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

pub fn turns_completed(events: &[ApiEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e.event, SessionEvent::TurnCompleted { .. }))
        .count()
}

/// Waits until the session's log holds `turns` ended turns.
pub async fn wait_turns(client: &ApiClient, session: &str, turns: usize) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while turns_completed(&log_of(client, session).await) < turns {
        assert!(tokio::time::Instant::now() < deadline, "{turns} turns end");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

pub fn turns_started(events: &[ApiEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e.event, SessionEvent::TurnStarted { .. }))
        .count()
}
