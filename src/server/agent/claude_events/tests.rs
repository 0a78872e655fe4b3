//! The Claude stream-json parser on the real captures of claude-code 2.1.330
//! (`tests/fixtures/claude`: real CLI runs recorded against a fake model server).

use super::*;
use std::path::PathBuf;

/// Read at run time (cargo sets it for tests too): a test binary reused from the shared
/// target dir must not point at the checkout that built it.
fn fixture_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| ".".into()))
        .join("tests/fixtures/claude")
}

/// The CLI's stdout lines of a capture: `.stdout.jsonl` as is, `.timeline.jsonl` filtered.
fn stdout_lines(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(fixture_dir().join(name)).expect("fixture exists");
    if name.ends_with(".timeline.jsonl") {
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|r| r["stream"] == "stdout")
            .filter_map(|r| r["line"].as_str().map(str::to_owned))
            .collect()
    } else {
        text.lines().map(str::to_owned).collect()
    }
}

fn parse_all(name: &str) -> Vec<ClaudeMessage> {
    let mut parser = ClaudeParser::default();
    stdout_lines(name)
        .iter()
        .flat_map(|line| parser.parse(line).expect("every captured line parses"))
        .collect()
}

fn events(messages: &[ClaudeMessage]) -> Vec<&SessionEvent> {
    messages
        .iter()
        .filter_map(|m| match m {
            ClaudeMessage::Event(event) => Some(event),
            _ => None,
        })
        .collect()
}

fn turn_ends(messages: &[ClaudeMessage]) -> Vec<(Usage, String)> {
    messages
        .iter()
        .filter_map(|m| match m {
            ClaudeMessage::TurnEnded { usage, stop_reason } => Some((*usage, stop_reason.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn every_capture_parses_and_each_turn_ends_once() {
    let mut files = 0;
    for entry in std::fs::read_dir(fixture_dir()).expect("fixtures") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if !(name.ends_with(".stdout.jsonl") || name.ends_with(".timeline.jsonl")) {
            continue;
        }
        files += 1;
        let messages = parse_all(&name);
        let results = stdout_lines(&name)
            .iter()
            .filter(|l| l.contains("\"type\":\"result\""))
            .count();
        assert_eq!(turn_ends(&messages).len(), results, "{name}");
    }
    assert!(files >= 25, "found only {files} captures");
}

#[test]
fn a_text_turn_streams_deltas_then_the_whole_message_and_its_usage() {
    let messages = parse_all("s1_text.stdout.jsonl");
    assert!(
        matches!(&messages[0], ClaudeMessage::Init { session_id, permission_mode }
        if session_id == "c3c91c94-d324-4f3d-9a88-b64a9cbe0746" && permission_mode.as_deref() == Some("default"))
    );
    let events = events(&messages);
    let mut streamed = String::new();
    let mut whole = None;
    for event in &events {
        match event {
            SessionEvent::AssistantDelta { message_id, text } => {
                streamed.push_str(text);
                assert!(message_id.ends_with(":0"));
            }
            SessionEvent::AssistantMessage { message_id, text } => {
                whole = Some((message_id.clone(), text.clone()))
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let (id, text) = whole.expect("the whole message");
    // s1 ran without --include-partial-messages: no deltas, only the whole message.
    assert!(streamed.is_empty(), "{streamed}");
    assert!(text.starts_with("FAKE-REPLY: I saw 2 message(s)"));
    assert!(id.starts_with("msg_fake_") && id.ends_with(":0"));
    let ends = turn_ends(&messages);
    assert_eq!(ends[0].1, "end_turn");
    assert_eq!(ends[0].0.input_tokens, 120);
    assert_eq!(ends[0].0.output_tokens, 20);
    assert_eq!(ends[0].0.cost_usd, Some(0.00088));
}

#[test]
fn the_long_lived_process_asks_permission_runs_tools_and_survives_an_interrupt() {
    let messages = parse_all("s4_stream_input.timeline.jsonl");
    let asks: Vec<&PermissionAsk> = messages
        .iter()
        .filter_map(|m| match m {
            ClaudeMessage::PermissionAsked(ask) => Some(ask),
            _ => None,
        })
        .collect();
    assert_eq!(asks.len(), 2);
    assert_eq!(asks[0].tool_name, "Bash");
    assert_eq!(
        asks[0].input["command"],
        "touch /home/dev/work/claude_stream/allowed.txt && echo touched"
    );
    assert!(
        !asks[0].suggestions.is_empty(),
        "Bash offers always-allow rules"
    );
    assert!(asks[0].title.starts_with("Bash: touch"));
    assert_eq!(asks[1].tool_name, "Write");
    assert!(asks[1].title.ends_with("denied.txt"));

    let events = events(&messages);
    let calls = events
        .iter()
        .filter(|e| matches!(e, SessionEvent::ToolCall { .. }))
        .count();
    assert_eq!(calls, 2);
    let results: Vec<(&String, bool)> = events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::ToolResult {
                output, is_error, ..
            } => Some((output, *is_error)),
            _ => None,
        })
        .collect();
    assert_eq!(results[0], (&"touched".to_owned(), false));
    assert_eq!(results[1], (&"User said no (from host)".to_owned(), true));

    // Deltas and the whole message of a block share one id, so the whole one replaces them.
    let streamed: String = events
        .iter()
        .take_while(|e| !matches!(e, SessionEvent::AssistantMessage { .. }))
        .filter_map(|e| match e {
            SessionEvent::AssistantDelta { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let first_whole = events.iter().find_map(|e| match e {
        SessionEvent::AssistantMessage { message_id, text } => Some((message_id, text)),
        _ => None,
    });
    assert_eq!(
        first_whole.map(|(_, t)| t.as_str()),
        Some(streamed.as_str())
    );
    let first_delta_id = events.iter().find_map(|e| match e {
        SessionEvent::AssistantDelta { message_id, .. } => Some(message_id),
        _ => None,
    });
    assert_eq!(first_whole.map(|(id, _)| id), first_delta_id);

    let ends = turn_ends(&messages);
    let reasons: Vec<&str> = ends.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(
        reasons,
        ["end_turn", "end_turn", "end_turn", "cancelled", "end_turn"]
    );
    // The CLI reports a running total; each turn gets its own share, summing to it.
    let costs: Vec<f64> = ends.iter().filter_map(|(u, _)| u.cost_usd).collect();
    assert!(costs.iter().all(|c| *c >= 0.0));
    assert!((costs.iter().sum::<f64>() - 0.00766).abs() < 1e-9);
    assert_eq!(
        ends[1].0.input_tokens, 300,
        "both API calls of the tool turn count"
    );
    assert!(
        matches!(messages.iter().find(|m| matches!(m, ClaudeMessage::ControlResponse { .. })),
        Some(ClaudeMessage::ControlResponse { request_id, error: None }) if request_id == "init_1")
    );
}

#[test]
fn an_api_error_is_reported_once_with_the_apis_message() {
    let messages = parse_all("s5c_api_error500.stdout.jsonl");
    let events = events(&messages);
    assert!(matches!(events[0], SessionEvent::Notice { message } if message.contains("HTTP 500")));
    let errors: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Error { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("API Error: 500 fake 500"));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, SessionEvent::AssistantMessage { .. })),
        "the synthetic assistant copy of the error is not shown as the model speaking"
    );
    assert_eq!(turn_ends(&messages)[0].1, "error");
}

#[test]
fn a_denial_by_mode_is_a_notice_and_a_failed_tool_result() {
    let messages = parse_all("s2_perm_dontAsk_write.stdout.jsonl");
    let events = events(&messages);
    assert!(events.iter().any(
        |e| matches!(e, SessionEvent::Notice { message } if message.starts_with("Write was not allowed"))
    ));
    assert!(events
        .iter()
        .any(|e| matches!(e, SessionEvent::ToolResult { is_error: true, .. })));
}

#[test]
fn sigint_ends_the_turn_as_cancelled() {
    let ends = turn_ends(&parse_all("s5b_sigint_streaminput.timeline.jsonl"));
    assert_eq!(ends.len(), 1);
    assert_eq!(ends[0].1, "cancelled");
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let mut parser = ClaudeParser::default();
    assert!(matches!(
        parser.parse("hello"),
        Err(ClaudeLineError::NotJson(_))
    ));
    assert_eq!(parser.parse("{\"x\":1}"), Err(ClaudeLineError::NoType));
    assert_eq!(parser.parse("{\"type\":\"stream_event\"}"), Ok(vec![]));
    assert_eq!(
        parser.parse("{\"type\":\"assistant\",\"message\":{\"content\":7}}"),
        Ok(vec![])
    );
}

#[test]
fn thinking_streams_and_its_whole_copy_is_not_repeated() {
    let mut parser = ClaudeParser::default();
    let start = r#"{"type":"stream_event","api_message_id":"m1","event":{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}}"#;
    let delta = r#"{"type":"stream_event","api_message_id":"m1","event":{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}}"#;
    let whole = r#"{"type":"assistant","message":{"id":"m1","content":[{"type":"thinking","thinking":"hmm","signature":"s"}]}}"#;
    assert_eq!(parser.parse(start), Ok(vec![]));
    assert_eq!(
        parser.parse(delta),
        Ok(vec![ClaudeMessage::Event(SessionEvent::Thinking {
            message_id: "m1:0".into(),
            text: "hmm".into()
        })])
    );
    assert_eq!(parser.parse(whole), Ok(vec![]));
}

#[test]
fn the_context_fill_is_the_last_calls_prompt_against_the_models_window() {
    // Two model calls (prompts of 120 and 140 tokens): the result sums them to 260, but
    // the context holds the last one's 140. The window comes from `modelUsage`.
    let messages = parse_all("s2_perm_manual_write.stdout.jsonl");
    let (usage, _) = turn_ends(&messages)[0];
    assert_eq!(usage.input_tokens, 260);
    assert_eq!(usage.context_used, Some(140));
    assert_eq!(usage.context_window, Some(1_000_000));
    assert_eq!(usage.context_percent(), Some(0));
}

#[test]
fn each_model_call_reports_the_turns_tokens_so_far_once() {
    // A tool turn makes several model calls; each call's usage repeats on every content
    // block of its reply, and is counted once.
    let messages = parse_all("s4_stream_input.timeline.jsonl");
    let mut so_far: Vec<Usage> = Vec::new();
    for message in &messages {
        match message {
            ClaudeMessage::Spending(usage) => so_far.push(*usage),
            ClaudeMessage::TurnEnded { usage, .. } => {
                let last = so_far.last().expect("spending before the turn's end");
                // The running figure never exceeds what the turn ends with.
                // (An interrupted turn's result reports no output at all.)
                if usage.output_tokens > 0 {
                    assert_eq!(
                        last.output_tokens, usage.output_tokens,
                        "the calls add up to the turn"
                    );
                }
                assert!(so_far
                    .windows(2)
                    .all(|w| w[0].billable_tokens() <= w[1].billable_tokens()));
                so_far.clear();
            }
            _ => {}
        }
    }
    let all = parse_all("s1_text.stdout.jsonl");
    let reports: Vec<&Usage> = all
        .iter()
        .filter_map(|m| match m {
            ClaudeMessage::Spending(usage) => Some(usage),
            _ => None,
        })
        .collect();
    let ended = turn_ends(&all);
    assert_eq!(
        reports.len(),
        ended.len(),
        "one call per text turn, reported once"
    );
    assert!(reports
        .iter()
        .all(|u| u.billable_tokens() > 0 && u.cost_usd.is_none()));
}
