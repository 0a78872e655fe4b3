//! The HTTP API against the real server on port 0 with a real HTTP client (hyper): every
//! endpoint and its errors (problem details with the WebSocket's codes), idempotent send,
//! and Server-Sent Events from a seq and resumed with `Last-Event-ID` across a dropped
//! connection. Tokens, the cookie, other sites and the OpenAPI description:
//! `api_access.rs`.

mod common;

use common::api::{
    assert_problem, call, client, log_of, turns_completed, turns_started, wait_for, wait_turns,
};
use common::{Server, TIMEOUT};
use hyper::Method;
use serde_json::{json, Value};
use switchboard::protocol::{ServerFrame, SessionEvent};
use switchboard::server::api::{Accepted, ProjectList, SessionDetail};
use switchboard::server::api_client::{ApiClient, ClientError, SseStream};

#[tokio::test]
async fn every_endpoint_answers_and_refuses_with_the_socket_codes() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start_with_config(dir.path(), "[limits]\nmax_open_sessions = 3\n");
    let api = client(&server);

    let (status, list) = call(&api, Method::GET, "/api/v1/sessions", None).await;
    assert_eq!(
        (status.as_u16(), list["sessions"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    let projects: ProjectList = api
        .json(Method::GET, "/api/v1/projects", None)
        .await
        .expect("projects");
    let playground = projects.projects[0].id.clone();

    // Create, with the caller's ids; the same request again makes nothing new.
    let id = uuid::Uuid::new_v4().to_string();
    let first = uuid::Uuid::new_v4().to_string();
    let create = json!({ "agent": "demo", "text": "hello api", "id": id, "client_msg_id": first, "project": playground });
    let (status, made) = call(&api, Method::POST, "/api/v1/sessions", Some(create.clone())).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        (
            made["session"]["id"].as_str(),
            made["client_msg_id"].as_str()
        ),
        (Some(id.as_str()), Some(first.as_str()))
    );
    assert_eq!(made["session"]["agent"], "demo");
    let (status, _) = call(&api, Method::POST, "/api/v1/sessions", Some(create)).await;
    assert_eq!(status, 201, "a retried create is harmless");
    wait_for(&api, &id, |e| {
        matches!(e.event, SessionEvent::TurnCompleted { .. }).then_some(())
    })
    .await;

    // Send, idempotent by client_msg_id: the same id twice makes one turn.
    let message = uuid::Uuid::new_v4().to_string();
    let send = json!({ "text": "once only", "client_msg_id": message });
    let path = format!("/api/v1/sessions/{id}/messages");
    let (status, accepted) = call(&api, Method::POST, &path, Some(send.clone())).await;
    assert_eq!(status, 202, "{accepted}");
    let (status, _) = call(&api, Method::POST, &path, Some(send)).await;
    assert_eq!(status, 202);
    wait_turns(&api, &id, 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = log_of(&api, &id).await;
    let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "pages join without gaps"
    );
    let copies = log
        .iter()
        .filter(|e| matches!(&e.event, SessionEvent::UserMessage { client_msg_id, .. } if client_msg_id.0.to_string() == message))
        .count();
    assert_eq!(
        (copies, turns_completed(&log)),
        (1, 2),
        "one message, one turn"
    );
    let text: String = log
        .iter()
        .filter_map(|e| match &e.event {
            SessionEvent::AssistantDelta { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(text.contains("Echo: once only"), "{text}");

    // Read a range: since/until/limit.
    let detail: SessionDetail = api
        .json(
            Method::GET,
            &format!("/api/v1/sessions/{id}?since=2&until=6"),
            None,
        )
        .await
        .expect("range");
    assert_eq!(
        detail.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    assert_eq!(detail.next_since, None);
    let detail: SessionDetail = api
        .json(
            Method::GET,
            &format!("/api/v1/sessions/{id}?since=0&limit=2"),
            None,
        )
        .await
        .expect("limited");
    assert_eq!((detail.events.len(), detail.next_since), (2, Some(2)));

    // Filters.
    let count = |list: &Value| list["sessions"].as_array().map_or(0, Vec::len);
    for (query, expected) in [
        ("agent=demo", 1),
        ("agent=claude", 0),
        ("state=idle", 1),
        ("state=working", 0),
        (&*format!("project={playground}"), 1),
        ("project=00000000-0000-0000-0000-000000000000", 0),
    ] {
        let (_, list) = call(
            &api,
            Method::GET,
            &format!("/api/v1/sessions?{query}"),
            None,
        )
        .await;
        assert_eq!(count(&list), expected, "{query}: {list}");
    }

    // Rename.
    let (status, renamed) = call(
        &api,
        Method::PATCH,
        &format!("/api/v1/sessions/{id}"),
        Some(json!({ "title": "Scripted" })),
    )
    .await;
    assert_eq!(status.as_u16(), 200, "{renamed}");
    // The answer is the session renamed, and so is the next read.
    assert_eq!(renamed["title"], "Scripted", "{renamed}");
    let (_, detail) = call(
        &api,
        Method::GET,
        &format!("/api/v1/sessions/{id}?limit=1"),
        None,
    )
    .await;
    assert_eq!(detail["session"]["title"], "Scripted", "{detail}");
    assert_problem(
        &call(
            &api,
            Method::PATCH,
            &format!("/api/v1/sessions/{id}"),
            Some(json!({ "title": " " })),
        )
        .await,
        400,
        "malformed",
    );
    assert_problem(
        &call(
            &api,
            Method::PATCH,
            &format!("/api/v1/sessions/{id}"),
            Some(json!({ "permission_mode": "nonsense" })),
        )
        .await,
        400,
        "malformed",
    );

    // A permission request, answered with a decision: the file is written.
    let cwd = made["session"]["cwd"].as_str().expect("cwd").to_owned();
    let (status, _) = call(
        &api,
        Method::POST,
        &path,
        Some(json!({ "text": "/permission" })),
    )
    .await;
    assert_eq!(status, 202);
    let request = wait_for(&api, &id, |e| match &e.event {
        SessionEvent::PermissionRequested { request_id, .. } => Some(request_id.0.clone()),
        _ => None,
    })
    .await;
    let answer_path = format!("/api/v1/sessions/{id}/permissions/{request}");
    assert_problem(
        &call(&api, Method::POST, &answer_path, Some(json!({}))).await,
        400,
        "malformed",
    );
    assert_problem(
        &call(
            &api,
            Method::POST,
            &format!("/api/v1/sessions/{id}/permissions/no-such"),
            Some(json!({ "decision": "allow" })),
        )
        .await,
        409,
        "invalid_state",
    );
    let (status, body) = call(
        &api,
        Method::POST,
        &answer_path,
        Some(json!({ "decision": "allow" })),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    wait_for(&api, &id, |e| match &e.event {
        SessionEvent::PermissionResolved { allowed: true, .. } => Some(()),
        _ => None,
    })
    .await;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while !std::path::Path::new(&cwd).join("demo.txt").exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "demo.txt written in {cwd}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Stop a running turn.
    wait_turns(&api, &id, 3).await;
    let (status, _) = call(
        &api,
        Method::POST,
        &path,
        Some(json!({ "text": "/slow 10" })),
    )
    .await;
    assert_eq!(status, 202);
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while turns_started(&log_of(&api, &id).await) < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slow turn starts"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, _) = call(
        &api,
        Method::POST,
        &format!("/api/v1/sessions/{id}/stop"),
        None,
    )
    .await;
    assert_eq!(status, 202);
    wait_for(&api, &id, |e| match &e.event {
        SessionEvent::TurnCompleted { stop_reason, .. } if stop_reason == "cancelled" => Some(()),
        _ => None,
    })
    .await;

    // Errors, with the WebSocket's codes: (method, path, body, status, code).
    let unknown = uuid::Uuid::new_v4();
    let big = "x".repeat(300 * 1024);
    let refusals = [
        (
            Method::GET,
            format!("/api/v1/sessions/{unknown}"),
            None,
            404,
            "unknown_session",
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{unknown}/messages"),
            Some(json!({ "text": "hi" })),
            404,
            "unknown_session",
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{unknown}/stop"),
            None,
            404,
            "unknown_session",
        ),
        (
            Method::GET,
            "/api/v1/sessions/not-a-uuid".into(),
            None,
            400,
            "malformed",
        ),
        (
            Method::POST,
            path.clone(),
            Some(json!({ "text": "  " })),
            400,
            "malformed",
        ),
        (
            Method::POST,
            path.clone(),
            Some(json!({ "text": "x", "client_msg_id": "nope" })),
            400,
            "malformed",
        ),
        (
            Method::POST,
            "/api/v1/sessions".into(),
            Some(json!({ "agent": "no-such-agent", "text": "hi" })),
            400,
            "malformed",
        ),
        (
            Method::POST,
            "/api/v1/sessions".into(),
            Some(json!({ "agent": "demo", "text": "hi", "cwd": "/" })),
            403,
            "not_allowed",
        ),
        (
            Method::POST,
            "/api/v1/sessions".into(),
            Some(json!({ "text": "no agent" })),
            400,
            "malformed",
        ),
        (
            Method::GET,
            "/api/v1/no-such-route".into(),
            None,
            404,
            "not_found",
        ),
        (
            Method::DELETE,
            "/api/v1/sessions".into(),
            None,
            405,
            "method_not_allowed",
        ),
        (
            Method::POST,
            path.clone(),
            Some(json!({ "text": big })),
            413,
            "too_large",
        ),
    ];
    for (method, path, body, status, code) in refusals {
        assert_problem(&call(&api, method, &path, body).await, status, code);
    }
    // The open-session limit (3 here).
    for _ in 0..2 {
        let (status, body) = call(
            &api,
            Method::POST,
            "/api/v1/sessions",
            Some(json!({ "agent": "demo", "text": "more" })),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    assert_problem(
        &call(
            &api,
            Method::POST,
            "/api/v1/sessions",
            Some(json!({ "agent": "demo", "text": "one too many" })),
        )
        .await,
        429,
        "limit_reached",
    );

    // End: gone from the list and from the live services, but still readable.
    let (status, _) = call(
        &api,
        Method::DELETE,
        &format!("/api/v1/sessions/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, ended) = call(&api, Method::GET, &format!("/api/v1/sessions/{id}"), None).await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["session"]["state"], "archived", "{ended}");
    assert!(ended["events"].as_array().is_some_and(|e| !e.is_empty()));
    assert_problem(
        &call(
            &api,
            Method::POST,
            &format!("/api/v1/sessions/{id}/messages"),
            Some(json!({ "text": "too late" })),
        )
        .await,
        404,
        "unknown_session",
    );
    assert_problem(
        &call(
            &api,
            Method::DELETE,
            &format!("/api/v1/sessions/{id}"),
            None,
        )
        .await,
        404,
        "unknown_session",
    );
    let (_, list) = call(&api, Method::GET, "/api/v1/sessions", None).await;
    assert!(list["sessions"]
        .as_array()
        .is_some_and(|s| s.iter().all(|s| s["id"] != id.as_str())));
}

/// The next stored event on an SSE stream (patches skipped), with its SSE id.
async fn next_event(stream: &mut SseStream) -> Option<(String, u64, SessionEvent)> {
    loop {
        let sse = tokio::time::timeout(TIMEOUT, stream.next())
            .await
            .expect("an event in time")
            .expect("stream readable")?;
        if sse.event != "event" {
            continue;
        }
        let frame: ServerFrame = serde_json::from_str(&sse.data).expect("a frame");
        if let ServerFrame::Event { seq, event, .. } = frame {
            return Some((sse.id.expect("an id"), seq.0, event));
        }
    }
}

#[tokio::test]
async fn events_stream_from_a_seq_and_resume_after_a_dropped_connection_exactly_once() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start(dir.path());
    let api = client(&server);
    let made: Accepted = api
        .json(
            Method::POST,
            "/api/v1/sessions",
            Some(&json!({ "agent": "demo", "text": "/slow 3" })),
        )
        .await
        .expect("made");
    let id = made.session.id;

    // From seq 0, read part of the turn, then drop the connection mid-stream.
    let mut seen = Vec::new();
    let mut stream = api.events(&id, 0).await.expect("stream");
    while seen.len() < 12 {
        let (sse_id, seq, _) = next_event(&mut stream).await.expect("open");
        assert_eq!(sse_id, seq.to_string(), "the SSE id is the seq");
        seen.push(seq);
    }
    drop(stream);
    let last = *seen.last().expect("some");

    // Resume with Last-Event-ID (which wins over ?since=0).
    let path = format!("/api/v1/sessions/{id}/events?since=0");
    let answer = api
        .send(
            Method::GET,
            &path,
            None,
            &[("last-event-id", &last.to_string())],
        )
        .await
        .expect("resumed");
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    drop(answer);
    let mut resumed = resume(&api, &id, last).await;
    loop {
        let (_, seq, event) = next_event(&mut resumed).await.expect("open");
        seen.push(seq);
        if matches!(event, SessionEvent::TurnCompleted { .. }) {
            break;
        }
    }
    let expected: Vec<u64> = (1..=*seen.last().expect("some")).collect();
    assert_eq!(
        seen, expected,
        "every event once, in order, across the reconnect"
    );
    let log: Vec<u64> = log_of(&api, &id).await.iter().map(|e| e.seq).collect();
    assert_eq!(
        &log[..seen.len()],
        &seen[..],
        "the stream is the stored log"
    );

    // From a seq given as ?since=, live: a second turn arrives on an open stream.
    let mut live = api.events(&id, last).await.expect("stream");
    let (_, first, _) = next_event(&mut live).await.expect("open");
    assert_eq!(first, last + 1);
    let current = *log.last().expect("log");
    let mut live = api.events(&id, current).await.expect("stream");
    let send = json!({ "text": "live one" });
    api.act(
        Method::POST,
        &format!("/api/v1/sessions/{id}/messages"),
        Some(&send),
    )
    .await
    .expect("sent");
    // The log read above may have ended at the TurnCompleted, before the idle state stored
    // after it: that comes first then.
    let mut expected_seq = current + 1;
    loop {
        let (_, seq, event) = next_event(&mut live).await.expect("open");
        assert_eq!(seq, expected_seq, "gapless from the seq given");
        expected_seq += 1;
        if matches!(event, SessionEvent::StateChanged { .. }) {
            continue;
        }
        assert!(matches!(event, SessionEvent::UserMessage { text, .. } if text == "live one"));
        break;
    }

    // Errors before the stream starts are problems.
    let bad = api
        .send(
            Method::GET,
            &format!("/api/v1/sessions/{id}/events"),
            None,
            &[("last-event-id", "x")],
        )
        .await
        .expect("answer");
    assert_eq!(bad.status(), 400);
    match api.events(&uuid::Uuid::new_v4().to_string(), 0).await {
        Err(ClientError::Problem(problem)) => assert_eq!(problem.code, "unknown_session"),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("an unknown session streams nothing"),
    }
}

/// An event stream resumed after `last` by `Last-Event-ID`.
async fn resume(api: &ApiClient, id: &str, last: u64) -> SseStream {
    let path = format!("/api/v1/sessions/{id}/events?since=0");
    let answer = api
        .send(
            Method::GET,
            &path,
            None,
            &[("last-event-id", &last.to_string())],
        )
        .await
        .expect("resumed");
    assert_eq!(answer.status(), 200);
    switchboard::server::api_client::SseStream::from_response(answer)
}
