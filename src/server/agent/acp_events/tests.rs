//! The ACP mapping, run over real transcripts of claude-code-acp and claude-agent-acp
//! captured offline (tests/fixtures/acp: real ACP sessions recorded against a fake model server).

use super::*;
use crate::protocol::SessionEvent;

const FIXTURES: [&str; 4] = [
    include_str!("../../../../tests/fixtures/acp/s1_bundled_cli_allow.wire.jsonl"),
    include_str!("../../../../tests/fixtures/acp/s2_bundled_cli_reject.wire.jsonl"),
    include_str!("../../../../tests/fixtures/acp/s3_native_cli_allow.wire.jsonl"),
    include_str!("../../../../tests/fixtures/acp/s4_successor_claude_agent_acp.wire.jsonl"),
];

/// Everything the agent said in one capture, mapped the way the driver maps it.
struct Replay {
    events: Vec<SessionEvent>,
    stop_reasons: Vec<String>,
    permission_requests: usize,
}

fn replay(capture: &str) -> Replay {
    let mut translator = Translator::default();
    let mut replay = Replay {
        events: Vec::new(),
        stop_reasons: Vec::new(),
        permission_requests: 0,
    };
    for record in capture.lines().filter(|l| !l.trim().is_empty()) {
        let record: Value = serde_json::from_str(record).expect("capture line is JSON");
        let msg = record["msg"].to_string();
        if record["dir"] == "->" {
            if record["msg"]["method"] == "session/prompt" {
                translator.begin_turn();
            }
            continue;
        }
        match parse_line(&msg).expect("every agent line parses") {
            Inbound::Notification { method, params } if method == "session/update" => {
                replay
                    .events
                    .extend(translator.session_update(params).expect("update maps"));
            }
            Inbound::Request { id, method, params } if method == "session/request_permission" => {
                replay.permission_requests += 1;
                let event = permission_request(RequestId(id.to_string()), params).expect("maps");
                replay.events.push(event);
            }
            Inbound::Response {
                outcome: Ok(result),
                ..
            } if result.get("stopReason").is_some() => {
                replay.stop_reasons.push(prompt_result(result).1);
            }
            _ => {}
        }
    }
    replay
}

#[test]
fn every_capture_maps_without_errors() {
    for capture in FIXTURES {
        let replay = replay(capture);
        assert!(!replay.events.is_empty());
        assert!(!replay.stop_reasons.is_empty());
    }
}

#[test]
fn text_chunks_of_one_message_share_an_id_and_spell_the_answer() {
    let replay = replay(FIXTURES[0]);
    let first_id = replay.events.iter().find_map(|e| match e {
        SessionEvent::AssistantDelta { message_id, .. } => Some(message_id.clone()),
        _ => None,
    });
    let first_id = first_id.expect("a text message");
    let text: String = replay
        .events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::AssistantDelta { message_id, text } if *message_id == first_id => {
                Some(text.as_str())
            }
            _ => None,
        })
        .collect();
    assert!(!text.is_empty());
}

#[test]
fn tool_calls_get_results_and_permissions_get_options() {
    let replay = replay(FIXTURES[0]);
    let calls: Vec<&String> = replay
        .events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::ToolCall { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    assert!(!calls.is_empty(), "the capture runs tools");
    let results = replay
        .events
        .iter()
        .filter(|e| matches!(e, SessionEvent::ToolResult { id, .. } if calls.contains(&id)))
        .count();
    assert!(results > 0, "tool results are matched to their calls");
    assert_eq!(replay.permission_requests, 2);
    let options = replay.events.iter().find_map(|e| match e {
        SessionEvent::PermissionRequested { options, .. } => Some(options.clone()),
        _ => None,
    });
    let options = options.expect("a permission request");
    assert!(options.iter().any(|o| o.kind.allows()));
    assert!(options.iter().any(|o| !o.kind.allows()));
}

#[test]
fn a_cancelled_prompt_reports_cancelled() {
    let replay = replay(FIXTURES[0]);
    assert!(replay.stop_reasons.iter().any(|r| r == "cancelled"));
    assert!(replay.stop_reasons.iter().any(|r| r == "end_turn"));
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    assert!(parse_line("not json").is_err());
    assert!(parse_line("[1,2]").is_err());
    assert!(parse_line("{}").is_err());
    let mut translator = Translator::default();
    assert!(translator
        .session_update(serde_json::json!({"nope": 1}))
        .is_err());
    assert!(permission_request(RequestId("1".into()), Value::Null).is_err());
}

#[test]
fn errors_in_responses_keep_their_message() {
    let parsed = parse_line(
        r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32603,"message":"Session not found"}}"#,
    );
    assert_eq!(
        parsed,
        Ok(Inbound::Response {
            id: serde_json::json!(3),
            outcome: Err("Session not found".into())
        })
    );
}

/// gemini 0.61.0 in ACP mode against fake-model (tests/fixtures/gemini/s7): a call that
/// needed permission is first seen in a `tool_call_update`; it still gets its card.
#[test]
fn gemini_tool_calls_get_a_card_before_their_result_and_usage_comes_from_meta() {
    let capture = include_str!("../../../../tests/fixtures/gemini/s7_acp_turns.wire.jsonl");
    let replay = replay(capture);
    let mut carded = std::collections::HashSet::new();
    let mut results = 0;
    for event in &replay.events {
        match event {
            SessionEvent::ToolCall { id, name, .. } => {
                assert!(!name.is_empty() && name != "tool", "a real name: {name}");
                carded.insert(id.clone());
            }
            SessionEvent::ToolResult { id, .. } => {
                results += 1;
                assert!(carded.contains(id), "result {id} without a card");
            }
            SessionEvent::AssistantDelta { text, .. } => {
                assert!(
                    !text.starts_with("[MODE_UPDATE]"),
                    "a mode switch shown as text"
                );
            }
            SessionEvent::PermissionRequested { input, .. } => {
                assert!(!input.is_null(), "the request says what it wants to do");
            }
            _ => {}
        }
    }
    assert!(results >= 2, "tool results in the capture: {results}");
    let usage = capture
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["msg"]["result"]["stopReason"].is_string())
        .map(|r| prompt_result(r["msg"]["result"].clone()).0)
        .find(|u| u.input_tokens > 0);
    assert!(usage.is_some(), "usage read from _meta.quota");
}

#[test]
fn plans_and_mode_switches_become_notices() {
    let mut translator = Translator::default();
    let plan = serde_json::json!({"sessionId": "s", "update": {"sessionUpdate": "plan", "entries": [
        {"content": "Read the code", "priority": "high", "status": "completed"},
        {"content": "Fix the bug", "priority": "high", "status": "in_progress"},
        {"content": "Run the tests", "priority": "medium", "status": "pending"}]}});
    let events = translator.session_update(plan).expect("maps");
    assert_eq!(
        events,
        vec![SessionEvent::Notice {
            message: "Plan:\n[x] Read the code\n[>] Fix the bug\n[ ] Run the tests".into()
        }]
    );
    let mode = serde_json::json!({"sessionId": "s", "update": {"sessionUpdate": "current_mode_update", "currentModeId": "plan"}});
    let events = translator.session_update(mode).expect("maps");
    assert!(
        matches!(&events[..], [SessionEvent::Notice { message }] if message.ends_with("to plan"))
    );
}

/// A turn's cost is how much the agent's cumulative cost (its `usage_update`s, in USD)
/// rose during it; an agent that reports none has no cost, and other currencies are not
/// taken for dollars.
#[test]
fn a_turns_cost_is_the_rise_of_the_reported_cumulative_cost() {
    let update = |amount: f64, currency: &str| {
        serde_json::json!({"sessionId": "s", "update": {"sessionUpdate": "usage_update",
            "used": 10, "size": 1000, "cost": {"amount": amount, "currency": currency}}})
    };
    let mut translator = Translator::default();
    translator.begin_turn();
    assert_eq!(translator.turn_cost(), None, "nothing reported");
    assert!(translator
        .session_update(update(0.25, "USD"))
        .expect("maps")
        .is_empty());
    assert_eq!(translator.turn_cost(), Some(0.25));
    translator.begin_turn();
    translator
        .session_update(update(0.40, "USD"))
        .expect("maps");
    translator
        .session_update(update(0.75, "USD"))
        .expect("maps");
    assert_eq!(translator.turn_cost(), Some(0.5));
    // Budgets hear of it after each report, once.
    let spending = translator.take_spending().expect("reported");
    assert_eq!(spending.cost_usd, Some(0.5));
    assert!(translator.take_spending().is_none(), "once per report");
    translator.begin_turn();
    translator
        .session_update(update(9.0, "credits"))
        .expect("maps");
    assert_eq!(translator.turn_cost(), Some(0.0), "credits are not dollars");
    assert!(
        translator.take_spending().is_none(),
        "no dollars, nothing to report"
    );
}
