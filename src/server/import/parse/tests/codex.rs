//! Codex rollouts made by the real CLI (`scripts/import-fixtures.sh`).

use super::*;
use crate::server::import::parse::{CodexRollout, TranscriptMeta};
use serde_json::json;

/// The rollout of scenario `name`: the one whose cwd is `work/codex-<name>` (rollout names
/// hold the time they were made).
fn rollout(name: &str) -> (Vec<Imported>, TranscriptMeta, PathBuf) {
    let cwd = format!("/tmp/switchboard-import-fixtures/work/codex-{name}");
    for path in jsonl_files(&fixtures("codex/sessions")) {
        let bytes = std::fs::read(&path).expect("fixture");
        let mut parser = CodexRollout::default();
        let (events, report) = parse_bytes(&mut parser, &bytes);
        if parser.meta().cwd.as_deref() != Some(cwd.as_str()) {
            continue;
        }
        assert!(report.skipped.is_empty(), "{name}: {report:?}");
        assert_eq!(report.unknown, 0, "{name}: {report:?}");
        assert_results_match_calls(&events);
        assert_times_in_order(&events);
        // The thread id is the file name's tail.
        let id = parser.meta().conversation_id.clone().unwrap_or_default();
        assert!(
            path.to_string_lossy().ends_with(&format!("-{id}.jsonl")),
            "{}",
            path.display()
        );
        return (events, parser.meta().clone(), path);
    }
    panic!("no rollout for {name}");
}

fn assert_meta(meta: &TranscriptMeta, first_prompt: &str) {
    assert_eq!(meta.first_prompt.as_deref(), Some(first_prompt));
    assert_eq!(meta.model.as_deref(), Some("gpt-5.5"));
    assert!(meta.started_ms.is_some_and(|t| t > 1_700_000_000_000));
    assert!(meta
        .conversation_id
        .as_ref()
        .is_some_and(|id| id.len() == 36));
}

fn completed(event: &Imported) -> (crate::protocol::Usage, u64) {
    match &event.event {
        SessionEvent::TurnCompleted {
            usage, duration_ms, ..
        } => (*usage, *duration_ms),
        other => panic!("{other:?}"),
    }
}

#[test]
fn plain_text() {
    let (events, meta, _) = rollout("plain");
    assert_eq!(
        summary(&events),
        [
            "user: Say hello to the importer.",
            "turn",
            "text: FAKE-REPLY: I saw 4 message(s). Your last message was: Say hello to the importer.",
            "end end_turn: 140/20/0/0",
        ]
    );
    assert_meta(&meta, "Say hello to the importer.");
    let (usage, duration_ms) = completed(&events[3]);
    assert_eq!(usage.context_window, Some(258_400));
    assert_eq!(usage.context_used, Some(140));
    assert!(duration_ms > 0 && duration_ms < 10_000, "{duration_ms}");
}

#[test]
fn bash_command() {
    let (events, meta, _) = rollout("bash");
    assert_eq!(
        summary(&events),
        [
            "user: TOOL_BASH:echo approved",
            "turn",
            "text: I will use a tool now.",
            "tool Bash: Bash: echo approved",
            // The command's own output (the typed item), as live sessions show it.
            "result: approved\n",
            "text: Tool result received: Chunk ID: 4c6863\nWall time: 0.0000 seconds\nProcess exited with code 0\nOriginal token count: 3\nOutput:\napproved\n",
            // Thread totals 360 in (50 cached), 40 out: input counts the uncached part.
            "end end_turn: 310/40/50/0",
        ]
    );
    assert_meta(&meta, "TOOL_BASH:echo approved");
    let SessionEvent::ToolCall { id, input, .. } = &events[3].event else {
        panic!("{:?}", events[3]);
    };
    assert!(id.starts_with("call_"), "{id}");
    assert_eq!(*input, json!({"command": "echo approved"}));
}

#[test]
fn apply_patch_reads_as_an_edit_with_old_and_new_text() {
    let (events, meta, _) = rollout("edit");
    let file = "/tmp/switchboard-import-fixtures/work/codex-edit/notes.txt";
    assert_eq!(
        summary(&events),
        [
            "user: TOOL_EDIT:notes.txt|hello|goodbye".to_owned(),
            "turn".to_owned(),
            "text: I will use a tool now.".to_owned(),
            format!("tool Edit: Edit: {file}"),
            format!("result: Changed:\nM {file}"),
            "text: Tool result received: Exit code: 0\nWall time: 0.1 seconds\nOutput:\nSuccess. Updated the following files:\nM notes.txt\n".to_owned(),
            "end end_turn: 310/40/50/0".to_owned(),
        ]
    );
    assert_meta(&meta, "TOOL_EDIT:notes.txt|hello|goodbye");
    let SessionEvent::ToolCall { input, .. } = &events[3].event else {
        panic!("{:?}", events[3]);
    };
    assert_eq!(input["file_path"], file);
    assert_eq!(input["old_string"], "hello world\n");
    assert_eq!(input["new_string"], "goodbye world\n");
    assert_eq!(input["diff"], "@@\n-hello world\n+goodbye world\n");
}

#[test]
fn interrupted_turn_ends_cancelled_and_the_next_runs() {
    let (events, meta, _) = rollout("interrupt");
    assert_eq!(
        summary(&events),
        [
            "user: SLOW 20 300",
            "turn",
            // Codex keeps nothing of a reply it was interrupted in.
            "end cancelled: 0/0/0/0",
            "user: After the interrupt",
            "turn",
            "text: FAKE-REPLY: I saw 6 message(s). Your last message was: After the interrupt",
            "end end_turn: 160/20/0/0",
        ]
    );
    assert_meta(&meta, "SLOW 20 300");
    // `turn_aborted` says how long the turn ran.
    let (_, duration_ms) = completed(&events[2]);
    assert!(duration_ms >= 500, "{duration_ms}");
}

#[test]
fn resumed_thread_continues_in_the_same_file() {
    let (events, meta, _) = rollout("resume");
    assert_eq!(
        summary(&events),
        [
            "user: My name is Alice.",
            "turn",
            "text: FAKE-REPLY: I saw 4 message(s). Your last message was: My name is Alice.",
            "end end_turn: 140/20/0/0",
            "user: What is my name?",
            "turn",
            "text: FAKE-REPLY: I saw 6 message(s). Your last message was: What is my name?",
            // The second turn's share of the thread totals (350/50/40 after, 140/0/20 before).
            "end end_turn: 160/20/50/0",
        ]
    );
    assert_meta(&meta, "My name is Alice.");
}

#[test]
fn image_prompt_carries_the_image() {
    let (events, meta, _) = rollout("image");
    assert_eq!(
        summary(&events)[..2],
        ["user: What is in this image? [1 image]", "turn"]
    );
    assert_eq!(events.len(), 4);
    assert_meta(&meta, "What is in this image?");
    let SessionEvent::UserMessage { attachments, .. } = &events[0].event else {
        panic!("{:?}", events[0]);
    };
    assert_eq!(attachments[0].mime_type, "image/png");
    assert!(attachments[0].data_base64.starts_with("iVBORw0KGgo"));
}

#[test]
fn prompt_ids_are_deterministic_and_distinct() {
    let (first, _, _) = rollout("resume");
    let (again, _, _) = rollout("resume");
    let ids = |events: &[Imported]| -> Vec<_> {
        events
            .iter()
            .filter_map(|e| match &e.event {
                SessionEvent::UserMessage { client_msg_id, .. } => Some(*client_msg_id),
                _ => None,
            })
            .collect()
    };
    assert_eq!(ids(&first), ids(&again));
    assert_eq!(ids(&first).len(), 2);
    assert_ne!(ids(&first)[0], ids(&first)[1]);
}

#[test]
fn every_fixture_is_prefix_stable() {
    let files = jsonl_files(&fixtures("codex"));
    assert_eq!(files.len(), 6);
    for path in files {
        let bytes = std::fs::read(&path).expect("fixture");
        let make = || Box::new(CodexRollout::default()) as Box<dyn TranscriptParser>;
        assert_prefix_stable(&make, &bytes, &path.display().to_string());
    }
}

#[test]
fn older_rollouts_without_typed_items() {
    let lines = [
        r#"{"timestamp":"2025-06-01T10:00:00.000Z","type":"session_meta","payload":{"id":"t-1","timestamp":"2025-06-01T10:00:00.000Z","cwd":"/w"}}"#,
        r#"{"timestamp":"2025-06-01T10:00:01.000Z","type":"event_msg","payload":{"type":"task_started","turn_id":"1"}}"#,
        r#"{"timestamp":"2025-06-01T10:00:01.000Z","type":"event_msg","payload":{"type":"user_message","message":"list files","images":[]}}"#,
        r#"{"timestamp":"2025-06-01T10:00:02.000Z","type":"response_item","payload":{"type":"function_call","name":"shell","arguments":"{\"command\":[\"bash\",\"-lc\",\"ls\"],\"workdir\":\"/w\"}","call_id":"c1"}}"#,
        r#"{"timestamp":"2025-06-01T10:00:03.000Z","type":"response_item","payload":{"type":"function_call_output","call_id":"c1","output":"{\"output\":\"a\\n\"}"}}"#,
        r#"{"timestamp":"2025-06-01T10:00:04.000Z","type":"response_item","payload":{"type":"custom_tool_call","name":"apply_patch","call_id":"c2","input":"*** Begin Patch\n*** Add File: new.txt\n+hi\n*** End Patch\n"}}"#,
        r#"{"timestamp":"2025-06-01T10:00:04.500Z","type":"response_item","payload":{"type":"custom_tool_call_output","call_id":"c2","output":"Exit code: 1\nOutput:\nfailed"}}"#,
        r#"{"timestamp":"2025-06-01T10:00:05.000Z","type":"response_item","payload":{"type":"message","role":"assistant","id":"m1","content":[{"type":"output_text","text":"done"}]}}"#,
        r#"{"timestamp":"2025-06-01T10:00:05.000Z","type":"event_msg","payload":{"type":"error","message":"stream broke"}}"#,
        r#"{"timestamp":"2025-06-01T10:00:06.000Z","type":"event_msg","payload":{"type":"task_complete","turn_id":"1"}}"#,
    ];
    let text = lines.join("\n") + "\n";
    let mut parser = CodexRollout::default();
    let (events, _) = parse_bytes(&mut parser, text.as_bytes());
    let summary = summary(&events);
    assert_eq!(
        summary[..4],
        [
            "user: list files",
            "turn",
            "tool Bash: Bash: ls",
            "result: {\"output\":\"a\\n\"}"
        ]
    );
    assert_eq!(summary[4], "tool Write: Write: /w/new.txt");
    assert!(summary[5].starts_with("error: Exit code: 1"));
    assert_eq!(summary[6], "text: done");
    assert!(summary[7].contains("stream broke"));
    assert_eq!(summary[8], "end error: 0/0/0/0");
    assert_eq!(completed(&events[8]).1, 5000);
    assert_eq!(parser.meta().conversation_id.as_deref(), Some("t-1"));
}
