//! The app-server parser on real captures of `codex app-server` 0.169.0 against this repo's
//! fake-model (`tests/fixtures/codex/*.wire.jsonl`: every line both ways, `"dir":"<-"` is
//! what Codex printed).

use super::*;
use std::path::PathBuf;

/// Read at run time (cargo sets it for tests too): a test binary reused from the shared
/// target dir must not point at the checkout that built it.
fn fixture_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| ".".into()))
        .join("tests/fixtures/codex")
}

/// What Codex printed in a capture, one JSON line each.
fn stdout_lines(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(fixture_dir().join(name)).expect("fixture exists");
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["dir"] == "<-")
        .map(|r| r["msg"].to_string())
        .collect()
}

fn parse_all(name: &str) -> Vec<CodexMessage> {
    let mut parser = CodexParser::default();
    stdout_lines(name)
        .iter()
        .flat_map(|line| parser.parse(line).expect("every captured line parses"))
        .collect()
}

fn events(messages: &[CodexMessage]) -> Vec<&SessionEvent> {
    messages
        .iter()
        .filter_map(|m| match m {
            CodexMessage::Event(event) => Some(event),
            _ => None,
        })
        .collect()
}

fn turn_ends(messages: &[CodexMessage]) -> Vec<(Usage, String)> {
    messages
        .iter()
        .filter_map(|m| match m {
            CodexMessage::TurnEnded {
                usage, stop_reason, ..
            } => Some((*usage, stop_reason.clone())),
            _ => None,
        })
        .collect()
}

fn asks(messages: &[CodexMessage]) -> Vec<&ApprovalAsk> {
    messages
        .iter()
        .filter_map(|m| match m {
            CodexMessage::PermissionAsked(ask) => Some(ask),
            _ => None,
        })
        .collect()
}

fn usage(input: u64, output: u64, cache_read: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: cache_read,
        cache_creation_tokens: 0,
        cost_usd: None,
        cost_estimated: false,
        context_used: None,
        context_window: None,
    }
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
        if !name.ends_with(".wire.jsonl") {
            continue;
        }
        files += 1;
        let messages = parse_all(&name);
        let completed = stdout_lines(&name)
            .iter()
            .filter(|l| l.contains("\"method\":\"turn/completed\""))
            .count();
        assert_eq!(turn_ends(&messages).len(), completed, "{name}");
        assert!(
            !messages
                .iter()
                .any(|m| matches!(m, CodexMessage::Unsupported { .. })),
            "{name}"
        );
    }
    assert!(files >= 7, "found only {files} captures");
}

#[test]
fn a_text_turn_streams_deltas_then_the_whole_message_and_its_usage() {
    let messages = parse_all("s1_text_think.wire.jsonl");
    let events = events(&messages);
    let deltas: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::AssistantDelta { message_id, text } => {
                Some((message_id.as_str(), text.as_str()))
            }
            _ => None,
        })
        .collect();
    let whole: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::AssistantMessage { message_id, text } => {
                Some((message_id.as_str(), text.as_str()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(whole.len(), 3, "{whole:?}");
    let (first_id, first_text) = whole[0];
    assert_eq!(
        first_text,
        "FAKE-REPLY: I saw 4 message(s). Your last message was: Say hello"
    );
    let streamed: String = deltas
        .iter()
        .filter(|(id, _)| *id == first_id)
        .map(|(_, text)| *text)
        .collect();
    assert_eq!(streamed, first_text, "the deltas add up to the message");
    assert!(whole[1].1.contains("I saw 6 message(s)"));
    assert!(whole[2].1.ends_with("Look at this picture"));

    let ends = turn_ends(&messages);
    assert_eq!(ends.len(), 3);
    assert_eq!(ends[0], (usage(140, 20, 0), "end_turn".to_owned()));
    // Later turns: cached input counts apart, and only this turn's calls count.
    assert_eq!(ends[1], (usage(160, 20, 50), "end_turn".to_owned()));
}

#[test]
fn reasoning_is_streamed_once() {
    let messages = parse_all("s1_text_think.wire.jsonl");
    let thinking: Vec<(&str, &str)> = events(&messages)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Thinking { message_id, text } => {
                Some((message_id.as_str(), text.as_str()))
            }
            _ => None,
        })
        .collect();
    assert!(thinking.len() > 1, "streamed in pieces: {thinking:?}");
    assert!(thinking.iter().all(|(id, _)| *id == thinking[0].0));
    let text: String = thinking.iter().map(|(_, t)| *t).collect();
    assert_eq!(
        text,
        "The user wrote \"THINK about it\". Thinking it over, fakely."
    );
}

#[test]
fn commands_and_patches_ask_first_and_report_their_results() {
    let messages = parse_all("s2_approvals.wire.jsonl");
    let asks = asks(&messages);
    let kinds: Vec<&ApprovalKind> = asks.iter().map(|a| &a.kind).collect();
    assert_eq!(
        kinds,
        [
            &ApprovalKind::Command,
            &ApprovalKind::Command,
            &ApprovalKind::FileChange,
            &ApprovalKind::FileChange,
            &ApprovalKind::FileChange,
            &ApprovalKind::Command,
        ]
    );
    let bash = asks[0];
    assert_eq!(
        bash.title,
        "Bash: touch /home/dev/work/codex1/allowed.txt && echo touched"
    );
    assert_eq!(bash.input["cwd"], "/home/dev/work/codex1");
    assert_eq!(bash.rpc_id, json!(0));
    // Request ids stay unique after a restart numbers Codex's requests from 0 again.
    assert!(bash.request_id.ends_with(":0") && bash.request_id.len() > 10);
    let mut ids: Vec<&str> = asks.iter().map(|a| a.request_id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), asks.len());

    // The patch card repeats what the file change item said.
    assert_eq!(asks[2].title, "Write: /home/dev/work/codex1/written.txt");
    assert_eq!(asks[2].input["content"], "written by fake-model\n");
    assert_eq!(asks[4].title, "Edit: /home/dev/work/codex1/written.txt");
    assert_eq!(asks[4].input["old_string"], "written by fake-model\n");
    assert_eq!(asks[4].input["new_string"], "written by FAKE-model\n");

    let events = events(&messages);
    let calls: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::ToolCall { id, name, .. } => Some((id.as_str(), name.as_str())),
            _ => None,
        })
        .collect();
    let names: Vec<&str> = calls.iter().map(|(_, name)| *name).collect();
    assert_eq!(names, ["Bash", "Bash", "Write", "Write", "Edit", "Bash"]);
    let results: Vec<(&str, &str, bool)> = events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::ToolResult {
                id,
                output,
                is_error,
                ..
            } => Some((id.as_str(), output.as_str(), *is_error)),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 6);
    for ((call, _), (result, _, _)) in calls.iter().zip(&results) {
        assert_eq!(call, result, "each result names its call");
    }
    assert!(results[0].1.ends_with("touched\n") && !results[0].2);
    assert_eq!(results[1], (calls[1].0, "The user declined this.", true));
    assert!(results[2].1.contains("A /home/dev/work/codex1/written.txt") && !results[2].2);
    assert!(results[3].2, "a declined patch is an error");
    assert!(results[4].1.contains("M /home/dev/work/codex1/written.txt"));
    assert!(results[5].1.contains("No such file or directory"));
    assert!(results[5].1.ends_with("(exit code 2)") && results[5].2);

    let ends = turn_ends(&messages);
    assert_eq!(ends.len(), 6);
    assert!(ends.iter().all(|(_, reason)| reason == "end_turn"));
    // Two model calls in a tool turn: both count.
    assert_eq!(ends[0].0, usage(310, 40, 50));
}

#[test]
fn stops_and_api_errors_end_the_turn_the_right_way() {
    let messages = parse_all("s3_stop_and_errors.wire.jsonl");
    let reasons: Vec<String> = turn_ends(&messages).into_iter().map(|(_, r)| r).collect();
    assert_eq!(
        reasons,
        ["cancelled", "cancelled", "error", "error", "end_turn"]
    );
    let errors: Vec<(&str, Option<&str>)> = events(&messages)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Error { message, detail } => Some((message.as_str(), detail.as_deref())),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 2, "each failure reported once: {errors:?}");
    assert_eq!(errors[0].1, Some("internalServerError"));
    assert!(errors[1].0.contains("429"), "{errors:?}");
    assert_eq!(
        errors[1].1,
        Some("responseTooManyFailedAttempts (HTTP 429)")
    );
    // The interrupted SLOW turn streamed part of its text first.
    assert!(events(&messages).iter().any(
        |e| matches!(e, SessionEvent::AssistantDelta { text, .. } if text.starts_with("chunk 0"))
    ));
}

#[test]
fn a_resumed_thread_continues_and_a_missing_one_is_refused() {
    let messages = parse_all("s4_resume_turn2.wire.jsonl");
    let resumed = messages.iter().find_map(|m| match m {
        CodexMessage::Response { id: 2, result } => Some(result.clone()),
        _ => None,
    });
    let thread = resumed.expect("thread/resume answered").expect("resumed");
    assert!(thread["thread"]["id"].is_string());
    let reply = events(&messages).into_iter().find_map(|e| match e {
        SessionEvent::AssistantMessage { text, .. } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(
        reply.as_deref(),
        Some("FAKE-REPLY: I saw 6 message(s). Your last message was: What is my name?")
    );
    // The usage replayed on resume belongs to the old turn, not this one.
    assert_eq!(turn_ends(&messages)[0].0, usage(160, 20, 50));

    let missing = parse_all("s4_resume_missing.wire.jsonl");
    let refused = missing.iter().find_map(|m| match m {
        CodexMessage::Response { id: 2, result } => Some(result.clone()),
        _ => None,
    });
    let error = refused.expect("answered").expect_err("refused");
    assert!(error.contains("no rollout found"), "{error}");
}

#[test]
fn modes_decide_who_asks() {
    let messages = parse_all("s5_modes.wire.jsonl");
    // read-only + on-request: the command fails in the sandbox, the patch asks; never +
    // danger-full-access: nothing asks.
    let asks = asks(&messages);
    assert_eq!(asks.len(), 1);
    assert_eq!(asks[0].kind, ApprovalKind::FileChange);
    let results: Vec<bool> = events(&messages)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::ToolResult { is_error, .. } => Some(*is_error),
            _ => None,
        })
        .collect();
    assert_eq!(results, [true, true, false, false]);
}

#[test]
fn requests_switchboard_cannot_serve_are_refused() {
    let mut parser = CodexParser::default();
    let line = r#"{"id":7,"method":"item/tool/requestUserInput","params":{"questions":[]}}"#;
    assert_eq!(
        parser.parse(line).expect("parses"),
        [CodexMessage::Unsupported {
            rpc_id: json!(7),
            method: "item/tool/requestUserInput".into()
        }]
    );
    let line = r#"{"id":8,"method":"item/permissions/requestApproval","params":{"itemId":"i","turnId":"t","threadId":"h","cwd":"/w","startedAtMs":1,"reason":"network","permissions":{"network":{"enabled":true}}}}"#;
    let asked = parser.parse(line).expect("parses");
    let [CodexMessage::PermissionAsked(ask)] = asked.as_slice() else {
        panic!("an approval: {asked:?}");
    };
    assert_eq!(
        ask.kind,
        ApprovalKind::Permissions {
            requested: json!({"network": {"enabled": true}})
        }
    );
    assert_eq!(ask.request_id, "t:8");
    assert_eq!(ask.input["reason"], "network");
    assert!(parser.parse("not json").is_err());
    assert!(parser.parse("{}").is_err());
}

#[test]
fn commands_read_as_typed() {
    assert_eq!(display_command("/bin/bash -lc 'ls -l'", None), "ls -l");
    assert_eq!(
        display_command("/bin/bash -lc 'echo '\\''hi'\\'''", None),
        "echo 'hi'"
    );
    assert_eq!(display_command("git status", None), "git status");
    let actions = json!([{"type": "unknown", "command": "touch a && echo b"}]);
    assert_eq!(
        display_command("/bin/bash -lc 'touch a && echo b'", Some(&actions)),
        "touch a && echo b"
    );
    assert_eq!(
        diff_sides("@@ -1,2 +1,2 @@\n keep\n-old\n+new\n"),
        ("keep\nold\n".to_owned(), "keep\nnew\n".to_owned())
    );
}

#[test]
fn each_model_call_reports_the_turns_tokens_so_far_and_the_last_is_the_turns() {
    for name in ["s1_text_think.wire.jsonl", "s2_approvals.wire.jsonl"] {
        let messages = parse_all(name);
        let mut last: Option<Usage> = None;
        let mut checked = 0;
        for message in &messages {
            match message {
                CodexMessage::Spending(usage) => {
                    if let Some(before) = last {
                        assert!(
                            before.billable_tokens() <= usage.billable_tokens(),
                            "{name}"
                        );
                    }
                    last = Some(*usage);
                }
                CodexMessage::TurnEnded { usage, .. } => {
                    if let Some(so_far) = last.take() {
                        assert_eq!(
                            so_far, *usage,
                            "{name}: the last report is the turn's usage"
                        );
                        checked += 1;
                    }
                }
                _ => {}
            }
        }
        assert!(checked > 0, "{name} reports spending during its turns");
    }
}
