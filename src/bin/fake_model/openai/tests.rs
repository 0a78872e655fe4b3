//! The Responses API translation and output items, on requests shaped like codex-cli's.

use super::*;
use crate::conversation::Turn;

fn body(input: Value) -> Value {
    json!({"model": "gpt-fake", "stream": true, "tools": [{"type": "function", "name": "exec_command"}], "input": input})
}

fn user(text: &str) -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
}

#[test]
fn every_message_counts_and_the_last_user_text_is_the_prompt() {
    let request = translate(&body(json!([
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
        user("<environment_context>\n  <cwd>/w</cwd>\n</environment_context>"),
        user("Say hello"),
    ])))
    .expect("valid");
    assert_eq!(request.messages.len(), 3);
    assert_eq!(request.last_turn(), Turn::Prompt("Say hello".into()));
    assert!(request.offers_tools);
}

#[test]
fn a_tool_output_is_a_tool_result() {
    let request = translate(&body(json!([
        user("TOOL_BASH:true"),
        {"type": "function_call", "name": "exec_command", "arguments": "{\"cmd\":\"true\"}", "call_id": "c1"},
        {"type": "function_call_output", "call_id": "c1", "output": "Process exited with code 0"},
    ])))
    .expect("valid");
    assert_eq!(
        request.last_turn(),
        Turn::ToolResults("Process exited with code 0".into())
    );
    assert!(request.has_assistant_turn());
}

#[test]
fn scenario_tools_become_codex_tools() {
    let reply =
        scenario::answer(&translate(&body(json!([user("TOOL_BASH: ls -l")]))).expect("valid"))
            .expect("reply");
    let items = output_items(&reply, None);
    let call = items.iter().find_map(|item| match item {
        Item::Function {
            name, arguments, ..
        } => Some((name.clone(), arguments.clone())),
        _ => None,
    });
    assert_eq!(
        call,
        Some(("exec_command".to_owned(), r#"{"cmd":"ls -l"}"#.to_owned()))
    );
    let reply =
        scenario::answer(&translate(&body(json!([user("TOOL_WRITE:a.txt")]))).expect("valid"))
            .expect("reply");
    let patch = output_items(&reply, None)
        .into_iter()
        .find_map(|item| match item {
            Item::Custom { input, .. } => Some(input),
            _ => None,
        });
    assert_eq!(
        patch.as_deref(),
        Some("*** Begin Patch\n*** Add File: a.txt\n+written by fake-model\n*** End Patch\n")
    );
}

#[test]
fn an_edit_patch_replaces_the_lines_holding_the_old_text() {
    let dir = std::env::temp_dir().join(format!("fake-openai-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("f.txt"), "one\nhello world\nthree\n").expect("file");
    let patch = update_file_patch("f.txt", "world", "there", Some(&dir));
    assert_eq!(
        patch,
        "*** Begin Patch\n*** Update File: f.txt\n@@\n-hello world\n+hello there\n*** End Patch\n"
    );
    let blind = update_file_patch("missing.txt", "a", "b", Some(&dir));
    assert!(blind.contains("\n-a\n+b\n"), "{blind}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_workspace_is_read_from_the_environment_context() {
    let request = body(json!([user(
        "<environment_context>\n  <cwd>/home/dev/w</cwd>\n</environment_context>"
    )]));
    assert_eq!(workspace(&request), Some(PathBuf::from("/home/dev/w")));
}

#[test]
fn errors_have_openai_shape() {
    let response = openai_error(ApiError::internal());
    assert_eq!(response.status().as_u16(), 500);
}
