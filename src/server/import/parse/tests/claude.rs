//! Claude Code transcripts made by the real CLI (`scripts/import-fixtures.sh`).

use super::*;
use crate::protocol::ClientMsgId;
use crate::server::import::parse::{import_msg_id, ClaudeTranscript, TranscriptMeta};
use serde_json::json;

/// The transcript of scenario `name` (`projects/-...-work-claude-<name>/<id>.jsonl`).
fn transcript(name: &str) -> (Vec<Imported>, TranscriptMeta, PathBuf) {
    let suffix = format!("-work-claude-{name}");
    let path = jsonl_files(&fixtures("claude/projects"))
        .into_iter()
        .find(|p| {
            p.parent()
                .is_some_and(|d| d.to_string_lossy().ends_with(&suffix))
        })
        .unwrap_or_else(|| panic!("no fixture for {name}"));
    let bytes = std::fs::read(&path).expect("fixture");
    let mut parser = ClaudeTranscript::default();
    let (events, report) = parse_bytes(&mut parser, &bytes);
    assert!(report.skipped.is_empty(), "{name}: {report:?}");
    assert_eq!(report.unknown, 0, "{name}: {report:?}");
    assert_eq!(report.bytes as usize, bytes.len());
    assert_results_match_calls(&events);
    assert_times_in_order(&events);
    (events, parser.meta().clone(), path)
}

fn assert_meta(meta: &TranscriptMeta, name: &str, id_end: char, first_prompt: &str) {
    assert_eq!(
        meta.conversation_id.as_deref(),
        Some(format!("11111111-0000-4000-8000-00000000000{id_end}").as_str())
    );
    let cwd = format!("/tmp/switchboard-import-fixtures/work/claude-{name}");
    assert_eq!(meta.cwd.as_deref(), Some(cwd.as_str()));
    assert_eq!(meta.first_prompt.as_deref(), Some(first_prompt));
    assert_eq!(meta.model.as_deref(), Some("claude-opus-5-5"));
    assert!(meta.started_ms.is_some_and(|t| t > 1_700_000_000_000));
}

#[test]
fn plain_text() {
    let (events, meta, path) = transcript("plain");
    assert_eq!(
        summary(&events),
        [
            "user: Say hello to the importer.",
            "turn",
            "text: FAKE-REPLY: I saw 2 message(s). Your last message was: Say hello to the importer.",
            "end end_turn: 120/20/0/20",
        ]
    );
    assert_meta(&meta, "plain", '1', "Say hello to the importer.");
    // The file is named by the conversation id.
    assert_eq!(
        path.file_stem().and_then(|s| s.to_str()),
        meta.conversation_id.as_deref()
    );
    // The prompt's id is the v5 UUID of its record's uuid: the same on every import.
    let SessionEvent::UserMessage { client_msg_id, .. } = &events[0].event else {
        panic!("{:?}", events[0]);
    };
    let again = transcript("plain").0;
    assert_eq!(Some(*client_msg_id), msg_id(&again[0]));
    let SessionEvent::TurnCompleted {
        usage, duration_ms, ..
    } = &events[3].event
    else {
        panic!("{:?}", events[3]);
    };
    assert_eq!(usage.context_used, Some(140));
    assert_eq!(*duration_ms as i64, events[3].at_ms - events[0].at_ms);
    assert!(*duration_ms > 0 && *duration_ms < 10_000, "{duration_ms}");
}

fn msg_id(imported: &Imported) -> Option<ClientMsgId> {
    match &imported.event {
        SessionEvent::UserMessage { client_msg_id, .. } => Some(*client_msg_id),
        _ => None,
    }
}

#[test]
fn prompt_ids_are_uuid_v5_of_the_record_uuid() {
    let (events, _, path) = transcript("resume");
    let text = std::fs::read_to_string(path).expect("fixture");
    let uuids: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "user" && v["message"]["content"].is_string())
        .filter_map(|v| v["uuid"].as_str().map(str::to_owned))
        .collect();
    let ids: Vec<ClientMsgId> = events.iter().filter_map(msg_id).collect();
    let expected: Vec<ClientMsgId> = uuids
        .iter()
        .map(|u| import_msg_id(&format!("claude:{u}")))
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    assert_eq!(ids[0].0.get_version_num(), 5);
}

#[test]
fn bash_with_approval() {
    let (events, meta, _) = transcript("bash");
    assert_eq!(
        summary(&events),
        [
            "user: TOOL_BASH:echo approved",
            "turn",
            "text: I will use a tool now.",
            "tool Bash: Bash: echo approved",
            "result: approved",
            "text: Tool result received: approved",
            // Two model calls: 120 + 140 input, 20 + 20 output, 50 cache read, 20 + 20
            // cache write; the call with text and tool use counted once.
            "end end_turn: 260/40/50/40",
        ]
    );
    assert_meta(&meta, "bash", '2', "TOOL_BASH:echo approved");
    let SessionEvent::ToolCall { input, .. } = &events[3].event else {
        panic!("{:?}", events[3]);
    };
    assert_eq!(input["command"], "echo approved");
    // Text and tool call of one API message: distinct message ids of the live form.
    let SessionEvent::AssistantMessage { message_id, .. } = &events[2].event else {
        panic!("{:?}", events[2]);
    };
    assert!(
        message_id.starts_with("msg_") && message_id.ends_with(":0"),
        "{message_id}"
    );
}

#[test]
fn write_then_edit_keeps_the_old_and_new_text() {
    let (events, meta, _) = transcript("edit");
    let result_write = "File created successfully at: made.txt (file state is current in your context — no need to Read it back)";
    let result_edit = "The file made.txt has been updated successfully. (file state is current in your context — no need to Read it back)";
    assert_eq!(
        summary(&events),
        [
            "user: TOOL_WRITE:made.txt".to_owned(),
            "turn".to_owned(),
            "text: I will use a tool now.".to_owned(),
            "tool Write: Write: made.txt".to_owned(),
            format!("result: {result_write}"),
            format!("text: Tool result received: {result_write}"),
            "end end_turn: 260/40/50/40".to_owned(),
            "user: TOOL_EDIT:made.txt|written by|edited by".to_owned(),
            "turn".to_owned(),
            "text: I will use a tool now.".to_owned(),
            "tool Edit: Edit: made.txt".to_owned(),
            format!("result: {result_edit}"),
            format!("text: Tool result received: {result_edit}"),
            "end end_turn: 340/40/100/40".to_owned(),
        ]
    );
    assert_meta(&meta, "edit", '3', "TOOL_WRITE:made.txt");
    let SessionEvent::ToolCall { input, .. } = &events[10].event else {
        panic!("{:?}", events[10]);
    };
    assert_eq!(
        *input,
        json!({"replace_all": false, "file_path": "made.txt", "old_string": "written by", "new_string": "edited by"})
    );
}

#[test]
fn interrupted_turn_ends_cancelled_and_the_next_runs() {
    let (events, meta, _) = transcript("interrupt");
    assert_eq!(
        summary(&events),
        [
            "user: SLOW 20 300",
            "turn",
            // What streamed before the interrupt is kept.
            "text: chunk 0 chunk 1 ",
            "end cancelled: 120/1/0/20",
            "user: After the interrupt",
            "turn",
            "text: FAKE-REPLY: I saw 4 message(s). Your last message was: After the interrupt",
            "end end_turn: 140/20/50/20",
        ]
    );
    assert_meta(&meta, "interrupt", '4', "SLOW 20 300");
}

#[test]
fn resumed_conversation_continues_in_the_same_file() {
    let (events, meta, _) = transcript("resume");
    assert_eq!(
        summary(&events),
        [
            "user: My name is Alice.",
            "turn",
            "text: FAKE-REPLY: I saw 2 message(s). Your last message was: My name is Alice.",
            "end end_turn: 120/20/0/20",
            "user: What is my name?",
            "turn",
            "text: FAKE-REPLY: I saw 4 message(s). Your last message was: What is my name?",
            "end end_turn: 140/20/50/20",
        ]
    );
    assert_meta(&meta, "resume", '5', "My name is Alice.");
}

#[test]
fn image_prompt_carries_the_image() {
    let (events, meta, _) = transcript("image");
    assert_eq!(
        summary(&events)[..2],
        ["user: What is in this image? [1 image]", "turn"]
    );
    assert_eq!(events.len(), 4);
    assert_meta(&meta, "image", '6', "What is in this image?");
    let SessionEvent::UserMessage { attachments, .. } = &events[0].event else {
        panic!("{:?}", events[0]);
    };
    assert_eq!(attachments[0].mime_type, "image/png");
    assert_eq!(attachments[0].name, "image-1.png");
    assert!(attachments[0].data_base64.starts_with("iVBORw0KGgo"));
}

#[test]
fn every_fixture_is_prefix_stable() {
    let files = jsonl_files(&fixtures("claude"));
    assert_eq!(files.len(), 6);
    for path in files {
        let bytes = std::fs::read(&path).expect("fixture");
        let make = || Box::new(ClaudeTranscript::default()) as Box<dyn TranscriptParser>;
        assert_prefix_stable(&make, &bytes, &path.display().to_string());
    }
}

#[test]
fn sidechains_meta_records_and_tool_results_are_not_prompts() {
    let lines = [
        r#"{"type":"user","uuid":"a","timestamp":"2026-01-01T00:00:00Z","sessionId":"s","cwd":"/w","message":{"role":"user","content":"go"}}"#,
        r#"{"type":"user","uuid":"b","isSidechain":true,"timestamp":"2026-01-01T00:00:01Z","message":{"role":"user","content":"sub-agent prompt"}}"#,
        r#"{"type":"user","uuid":"c","isMeta":true,"timestamp":"2026-01-01T00:00:01Z","message":{"role":"user","content":"<local-command-caveat>"}}"#,
        r#"{"type":"assistant","uuid":"d","timestamp":"2026-01-01T00:00:02Z","message":{"id":"m1","model":"claude-x","content":[{"type":"thinking","thinking":"hmm"}],"stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":1}}}"#,
        r#"{"type":"assistant","uuid":"e","timestamp":"2026-01-01T00:00:02Z","message":{"id":"m1","model":"claude-x","content":[{"type":"tool_use","id":"t1","name":"Read","input":{"file_path":"/w/a.rs"}}],"stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":3}}}"#,
        r#"{"type":"user","uuid":"f","timestamp":"2026-01-01T00:00:03Z","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"no such file"}],"is_error":true}]}}"#,
        r#"{"type":"user","uuid":"g","timestamp":"2026-01-01T00:00:04Z","message":{"role":"user","content":[{"type":"text","text":"[Request interrupted by user for tool use]"}]}}"#,
        r#"{"type":"summary","summary":"A chat","leafUuid":"g"}"#,
    ];
    let text = lines.join("\n") + "\n";
    let mut parser = ClaudeTranscript::default();
    let (events, report) = parse_bytes(&mut parser, text.as_bytes());
    assert_eq!(report.lines, 8);
    assert_eq!(
        summary(&events),
        [
            "user: go",
            "turn",
            "think: hmm",
            "tool Read: Read: /w/a.rs",
            "error: no such file",
            "end cancelled: 5/3/0/0",
        ]
    );
    assert_eq!(parser.meta().model.as_deref(), Some("claude-x"));
    assert_eq!(events[5].at_ms - events[0].at_ms, 4000);
}

#[test]
fn a_turn_left_open_ends_when_the_next_prompt_starts() {
    let lines = [
        r#"{"type":"user","uuid":"a","timestamp":"2026-01-01T00:00:00Z","message":{"role":"user","content":"one"}}"#,
        r#"{"type":"assistant","uuid":"b","timestamp":"2026-01-01T00:00:01Z","message":{"id":"m1","content":[{"type":"text","text":"partial"}],"stop_reason":null}}"#,
        r#"{"type":"user","uuid":"c","timestamp":"2026-01-01T00:00:09Z","message":{"role":"user","content":"two"}}"#,
    ];
    let text = lines.join("\n") + "\n";
    let (events, _) = parse_bytes(&mut ClaudeTranscript::default(), text.as_bytes());
    assert_eq!(
        summary(&events),
        [
            "user: one",
            "turn",
            "text: partial",
            "end cancelled: 0/0/0/0",
            "user: two",
            "turn"
        ]
    );
    // The cut-off turn ends at its last record, not at the next prompt.
    assert_eq!(events[3].at_ms, events[2].at_ms);
}
