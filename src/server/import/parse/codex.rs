//! Codex's rollout (`sessions/YYYY/MM/DD/rollout-<time>-<thread id>.jsonl`, as written by
//! codex-cli 0.169.0): `{timestamp, type, payload}` a line. `session_meta` (first line)
//! names the thread (`payload.id`) and its cwd; each turn is `event_msg/task_started` ..
//! `event_msg/task_complete` (or `turn_aborted` when interrupted), explicit end records. In
//! between, `event_msg/item_completed` carries typed items (`UserMessage`, `AgentMessage`,
//! `Reasoning`, `CommandExecution`, `FileChange`), `response_item` the model API's own
//! items (messages, `function_call` / `custom_tool_call` and their outputs), and
//! `event_msg/token_count` the thread's token totals. A resumed thread appends to its file.
//!
//! Prompts and replies are read from the typed items (the `response_item` messages repeat
//! them, with harness text mixed in); tool calls from `response_item` (the typed items
//! come only when a call finishes). Older rollouts without typed items fall back to
//! `event_msg/user_message` and the `response_item` assistant messages.

use super::{ids, record, str_at, u64_at, Imported, Line, TranscriptMeta, TranscriptParser};
use crate::protocol::{Attachment, SessionEvent, Usage};
use crate::server::agent::claude_events::tool_title;
use crate::server::agent::codex_events::{diff_sides, display_command};
use serde_json::{json, Value};
use std::collections::HashSet;

/// Record types that carry nothing to show.
const BOOKKEEPING: &[&str] = &["turn_context", "world_state", "token_usage_record"];

/// Token counts as Codex reports them; input includes cached.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Tokens {
    input: u64,
    cached: u64,
    cache_write: u64,
    output: u64,
}

impl Tokens {
    fn from_json(value: Option<&Value>) -> Tokens {
        Tokens {
            input: u64_at(value, "input_tokens"),
            cached: u64_at(value, "cached_input_tokens"),
            cache_write: u64_at(value, "cache_write_input_tokens"),
            output: u64_at(value, "output_tokens"),
        }
    }
}

/// The turn being read.
#[derive(Debug, Default)]
struct Turn {
    started_ms: i64,
    /// Its `TurnStarted` was emitted (a prompt came).
    started: bool,
    /// The thread's totals before it, and the latest.
    before: Tokens,
    latest: Tokens,
    context_used: Option<u64>,
    context_window: Option<u64>,
    failed: bool,
}

/// Codex's rollout format.
#[derive(Debug, Default)]
pub struct CodexRollout {
    meta: TranscriptMeta,
    turn: Option<Turn>,
    last_ms: i64,
    /// The thread's token totals so far.
    totals: Tokens,
    /// Tool calls shown without a result yet.
    open_calls: HashSet<String>,
    /// Images of the latest user `response_item`, for the prompt item that follows it.
    images: Vec<Attachment>,
    /// The rollout has typed items (`event_msg/item_completed`).
    typed_items: bool,
}

impl TranscriptParser for CodexRollout {
    fn line(&mut self, line: &str) -> Line {
        let (value, kind) = match record(line) {
            Ok(Some(found)) => found,
            Ok(None) => return Line::Ignored,
            Err(reason) => return Line::Malformed(reason),
        };
        if let Some(at) = str_at(&value, "timestamp").and_then(ids::parse_rfc3339_ms) {
            self.last_ms = at;
            self.meta.started_ms.get_or_insert(at);
        }
        let at = self.last_ms;
        let payload = value.get("payload").cloned().unwrap_or(Value::Null);
        let mut out = Vec::new();
        match kind.as_str() {
            "session_meta" => {
                if self.meta.conversation_id.is_none() {
                    self.meta.conversation_id = str_at(&payload, "id").map(str::to_owned);
                }
                if self.meta.cwd.is_none() {
                    self.meta.cwd = str_at(&payload, "cwd").map(str::to_owned);
                }
                if let Some(started) = str_at(&payload, "timestamp").and_then(ids::parse_rfc3339_ms)
                {
                    self.meta.started_ms = Some(started);
                }
            }
            "turn_context" => {
                if self.meta.model.is_none() {
                    self.meta.model = str_at(&payload, "model").map(str::to_owned);
                }
                if self.meta.cwd.is_none() {
                    self.meta.cwd = str_at(&payload, "cwd").map(str::to_owned);
                }
            }
            "compacted" => out.push(Imported {
                at_ms: at,
                event: SessionEvent::Notice {
                    message: "Codex compacted the conversation's context.".to_owned(),
                },
            }),
            "response_item" => self.response_item(&payload, at, &mut out),
            "event_msg" => self.event_msg(&payload, at, &mut out),
            other if BOOKKEEPING.contains(&other) => {}
            _ => return Line::Unknown(kind),
        }
        if out.is_empty() {
            Line::Ignored
        } else {
            Line::Events(out)
        }
    }

    fn meta(&self) -> &TranscriptMeta {
        &self.meta
    }
}

impl CodexRollout {
    fn event_msg(&mut self, payload: &Value, at: i64, out: &mut Vec<Imported>) {
        match str_at(payload, "type").unwrap_or_default() {
            "task_started" => {
                self.finish("cancelled", at, None, out);
                self.turn = Some(Turn {
                    started_ms: at,
                    before: self.totals,
                    latest: self.totals,
                    context_window: payload.get("model_context_window").and_then(Value::as_u64),
                    ..Turn::default()
                });
            }
            "task_complete" => {
                let duration = payload.get("duration_ms").and_then(Value::as_u64);
                self.finish("end_turn", at, duration, out);
            }
            "turn_aborted" => {
                let duration = payload.get("duration_ms").and_then(Value::as_u64);
                self.finish("cancelled", at, duration, out);
            }
            "token_count" => {
                let Some(info) = payload.get("info").filter(|i| !i.is_null()) else {
                    return;
                };
                self.totals = Tokens::from_json(info.get("total_token_usage"));
                if let Some(turn) = self.turn.as_mut() {
                    turn.latest = self.totals;
                    turn.context_used = info
                        .pointer("/last_token_usage/input_tokens")
                        .and_then(Value::as_u64);
                    if let Some(window) = info.get("model_context_window").and_then(Value::as_u64) {
                        turn.context_window = Some(window);
                    }
                }
            }
            "error" => {
                if let Some(turn) = self.turn.as_mut() {
                    turn.failed = true;
                }
                out.push(Imported {
                    at_ms: at,
                    event: SessionEvent::Error {
                        message: str_at(payload, "message")
                            .unwrap_or("The turn failed.")
                            .to_owned(),
                        detail: None,
                    },
                });
            }
            "item_completed" => {
                self.typed_items = true;
                if let Some(item) = payload.get("item") {
                    self.item(item, at, out);
                }
            }
            "user_message" if !self.typed_items => {
                let text = str_at(payload, "message").unwrap_or_default().to_owned();
                let images: Vec<Attachment> = payload
                    .get("images")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .enumerate()
                    .filter_map(|(n, url)| data_url(url, n))
                    .collect();
                let identity = format!("{at}:{text}");
                self.prompt(&identity, text, images, at, out);
            }
            _ => {}
        }
    }

    /// A typed item: prompts, replies, reasoning, and the results of tool calls.
    fn item(&mut self, item: &Value, at: i64, out: &mut Vec<Imported>) {
        let id = str_at(item, "id").unwrap_or_default().to_owned();
        let parts = item.get("content").and_then(Value::as_array);
        let text_of = |key: &str| -> String {
            item.get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|part| part.as_str().or_else(|| str_at(part, "text")))
                .collect::<Vec<_>>()
                .join("\n\n")
        };
        let event = match str_at(item, "type").unwrap_or_default() {
            "UserMessage" => {
                let text = parts
                    .into_iter()
                    .flatten()
                    .filter(|p| str_at(p, "type") == Some("text"))
                    .filter_map(|p| str_at(p, "text"))
                    .collect::<Vec<_>>()
                    .join("\n");
                let has_image = parts
                    .into_iter()
                    .flatten()
                    .any(|p| str_at(p, "type").is_some_and(|t| t.contains("image")));
                let images = std::mem::take(&mut self.images);
                let images = if has_image { images } else { Vec::new() };
                return self.prompt(&id, text, images, at, out);
            }
            "AgentMessage" => SessionEvent::AssistantMessage {
                message_id: id,
                text: text_of("content"),
            },
            "Reasoning" => {
                let text = ["summary_text", "summary", "raw_content", "content"]
                    .iter()
                    .map(|key| text_of(key))
                    .find(|text| !text.is_empty());
                match text {
                    Some(text) => SessionEvent::Thinking {
                        message_id: id,
                        text,
                    },
                    None => return,
                }
            }
            kind @ ("CommandExecution" | "FileChange") if self.open_calls.remove(&id) => {
                let (output, is_error) = item_result(kind, item);
                SessionEvent::ToolResult {
                    id,
                    output,
                    is_error,
                    duration_ms: None,
                }
            }
            _ => return,
        };
        out.push(Imported { at_ms: at, event });
    }

    /// A user prompt: `UserMessage` then `TurnStarted`, as a live session logs them.
    fn prompt(
        &mut self,
        identity: &str,
        text: String,
        attachments: Vec<Attachment>,
        at: i64,
        out: &mut Vec<Imported>,
    ) {
        if text.trim().is_empty() && attachments.is_empty() {
            return;
        }
        self.meta.first_prompt.get_or_insert_with(|| text.clone());
        let thread = self.meta.conversation_id.clone().unwrap_or_default();
        out.push(Imported {
            at_ms: at,
            event: SessionEvent::UserMessage {
                client_msg_id: ids::import_msg_id(&format!("codex:{thread}:{identity}")),
                text,
                attachments,
            },
        });
        let turn = self.turn.get_or_insert_with(|| Turn {
            started_ms: at,
            before: self.totals,
            latest: self.totals,
            ..Turn::default()
        });
        if !turn.started {
            // Steering input during a running turn is a message, not another turn.
            turn.started = true;
            out.push(Imported {
                at_ms: at,
                event: SessionEvent::TurnStarted {
                    client_msg_id: None,
                },
            });
        }
    }

    /// Ends the open turn (if a prompt started it) with `stop_reason`.
    fn finish(
        &mut self,
        stop_reason: &str,
        at: i64,
        duration: Option<u64>,
        out: &mut Vec<Imported>,
    ) {
        let Some(turn) = self.turn.take() else {
            return;
        };
        self.open_calls.clear();
        if !turn.started {
            return;
        }
        let minus = |a: u64, b: u64| a.saturating_sub(b);
        let input = minus(turn.latest.input, turn.before.input);
        let cached = minus(turn.latest.cached, turn.before.cached);
        let usage = Usage {
            input_tokens: input.saturating_sub(cached),
            output_tokens: minus(turn.latest.output, turn.before.output),
            cache_read_tokens: cached,
            cache_creation_tokens: minus(turn.latest.cache_write, turn.before.cache_write),
            cost_usd: None,
            cost_estimated: false,
            context_used: turn.context_used,
            context_window: turn.context_window,
        };
        let stop_reason = if turn.failed && stop_reason == "end_turn" {
            "error"
        } else {
            stop_reason
        };
        out.push(Imported {
            at_ms: at,
            event: SessionEvent::TurnCompleted {
                usage,
                duration_ms: duration
                    .unwrap_or_else(|| u64::try_from(at - turn.started_ms).unwrap_or(0)),
                stop_reason: stop_reason.to_owned(),
            },
        });
    }

    fn response_item(&mut self, payload: &Value, at: i64, out: &mut Vec<Imported>) {
        let call_id = str_at(payload, "call_id").unwrap_or_default().to_owned();
        let event = match str_at(payload, "type").unwrap_or_default() {
            "message" => {
                let role = str_at(payload, "role").unwrap_or_default();
                let parts = payload.get("content").and_then(Value::as_array);
                let texts = || {
                    parts
                        .into_iter()
                        .flatten()
                        .filter_map(|p| str_at(p, "text"))
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                match role {
                    "user" => {
                        self.images = parts
                            .into_iter()
                            .flatten()
                            .filter(|p| str_at(p, "type") == Some("input_image"))
                            .filter_map(|p| str_at(p, "image_url"))
                            .enumerate()
                            .filter_map(|(n, url)| data_url(url, n))
                            .collect();
                        return;
                    }
                    "assistant" if !self.typed_items => SessionEvent::AssistantMessage {
                        message_id: str_at(payload, "id").unwrap_or("message").to_owned(),
                        text: texts(),
                    },
                    _ => return,
                }
            }
            "function_call" | "custom_tool_call" | "local_shell_call" => {
                let name = str_at(payload, "name").unwrap_or("tool");
                let (name, title, input) = self.tool_call(name, payload);
                self.open_calls.insert(call_id.clone());
                SessionEvent::ToolCall {
                    id: call_id,
                    name,
                    title,
                    input,
                }
            }
            "function_call_output" | "custom_tool_call_output" | "local_shell_call_output"
                if self.open_calls.remove(&call_id) =>
            {
                let (output, is_error) = output_text(payload.get("output"));
                SessionEvent::ToolResult {
                    id: call_id,
                    output,
                    is_error,
                    duration_ms: None,
                }
            }
            _ => return,
        };
        out.push(Imported { at_ms: at, event });
    }

    /// A tool call's card: commands as `Bash`, patches as `Edit` / `Write` with their text.
    fn tool_call(&self, name: &str, payload: &Value) -> (String, String, Value) {
        let arguments = match payload.get("arguments").or_else(|| payload.get("input")) {
            Some(Value::String(text)) => {
                serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
            }
            Some(other) => other.clone(),
            None => payload.get("action").cloned().unwrap_or(Value::Null),
        };
        let command = match arguments.get("cmd").or_else(|| arguments.get("command")) {
            Some(Value::String(cmd)) => Some(display_command(cmd, None)),
            Some(Value::Array(argv)) => {
                let argv: Vec<&str> = argv.iter().filter_map(Value::as_str).collect();
                let full = match argv.as_slice() {
                    [shell, flag, script] if flag.starts_with('-') && shell.ends_with("sh") => {
                        (*script).to_owned()
                    }
                    _ => argv.join(" "),
                };
                Some(full)
            }
            _ => None,
        };
        if let (Some(command), true) = (command, name != "apply_patch") {
            let mut input = json!({"command": command});
            if let Some(dir) = arguments.get("workdir").filter(|d| !d.is_null()) {
                input["cwd"] = dir.clone();
            }
            let title = format!("Bash: {}", command.lines().next().unwrap_or_default());
            return ("Bash".to_owned(), title, input);
        }
        if name == "apply_patch" {
            let patch = arguments
                .as_str()
                .or_else(|| str_at(&arguments, "input"))
                .unwrap_or_default();
            return patch_call(patch, self.meta.cwd.as_deref());
        }
        (name.to_owned(), tool_title(name, &arguments), arguments)
    }
}

/// An `apply_patch` call: one added file reads as `Write`, one updated file as `Edit` (old
/// and new text from the hunks), anything else as `apply_patch`, as live sessions show it.
fn patch_call(patch: &str, cwd: Option<&str>) -> (String, String, Value) {
    let mut files: Vec<(&str, String, String)> = Vec::new(); // (kind, path, body)
    for line in patch.lines() {
        let header = [
            ("add", "*** Add File: "),
            ("update", "*** Update File: "),
            ("delete", "*** Delete File: "),
        ]
        .iter()
        .find_map(|(kind, prefix)| line.strip_prefix(prefix).map(|path| (*kind, path)));
        if let Some((kind, path)) = header {
            files.push((kind, absolute(path.trim(), cwd), String::new()));
        } else if line.starts_with("*** Move to: ") {
            if let Some(file) = files.last_mut() {
                file.0 = "move";
            }
        } else if !line.starts_with("*** ") {
            if let Some(file) = files.last_mut() {
                file.2.push_str(line);
                file.2.push('\n');
            }
        }
    }
    match files.as_slice() {
        [("add", path, body)] => {
            let content: String = body
                .lines()
                .map(|l| format!("{}\n", l.strip_prefix('+').unwrap_or(l)))
                .collect();
            let title = format!("Write: {path}");
            (
                "Write".to_owned(),
                title,
                json!({"file_path": path, "content": content}),
            )
        }
        [("update", path, body)] => {
            let (old, new) = diff_sides(body);
            let title = format!("Edit: {path}");
            let input =
                json!({"file_path": path, "old_string": old, "new_string": new, "diff": body});
            ("Edit".to_owned(), title, input)
        }
        many => {
            let title = match many {
                [(_, path, _)] => format!("apply_patch: {path}"),
                _ => format!("apply_patch: {} files", many.len()),
            };
            ("apply_patch".to_owned(), title, json!({"patch": patch}))
        }
    }
}

fn absolute(path: &str, cwd: Option<&str>) -> String {
    match cwd {
        Some(cwd) if !path.starts_with('/') => format!("{}/{path}", cwd.trim_end_matches('/')),
        _ => path.to_owned(),
    }
}

/// A finished command's or patch's result, as a live session shows it.
fn item_result(kind: &str, item: &Value) -> (String, bool) {
    let status = str_at(item, "status").unwrap_or("completed");
    if status == "declined" {
        return ("The user declined this.".to_owned(), true);
    }
    let failed = status == "failed";
    if kind == "CommandExecution" {
        let mut output = str_at(item, "aggregated_output")
            .unwrap_or_default()
            .to_owned();
        let code = item.get("exit_code").and_then(Value::as_i64);
        if let Some(code) = code.filter(|c| *c != 0) {
            if !output.is_empty() && !output.ends_with('\n') {
                output.push('\n');
            }
            output.push_str(&format!("(exit code {code})"));
        }
        return (output, failed || code.is_some_and(|c| c != 0));
    }
    let lines: Vec<String> = item
        .get("changes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(path, change)| {
            let mark = match str_at(change, "type") {
                Some("add") => "A",
                Some("delete") => "D",
                _ => "M",
            };
            format!("{mark} {path}")
        })
        .collect();
    let verb = if failed {
        "Failed to change"
    } else {
        "Changed"
    };
    (format!("{verb}:\n{}", lines.join("\n")), failed)
}

/// A `*_output` record's text and whether it reports a failure.
fn output_text(output: Option<&Value>) -> (String, bool) {
    match output {
        Some(Value::String(text)) => {
            let failed = text.lines().any(|line| {
                ["Process exited with code ", "Exit code: "]
                    .iter()
                    .filter_map(|prefix| line.strip_prefix(prefix))
                    .any(|code| code.trim() != "0")
            });
            (text.clone(), failed)
        }
        Some(object @ Value::Object(_)) => (
            str_at(object, "content").unwrap_or_default().to_owned(),
            object.get("success").and_then(Value::as_bool) == Some(false),
        ),
        _ => (String::new(), false),
    }
}

/// A `data:<mime>;base64,<data>` URL as an attachment.
fn data_url(url: &str, n: usize) -> Option<Attachment> {
    let (mime_type, data) = url.strip_prefix("data:")?.split_once(";base64,")?;
    let extension = mime_type.rsplit('/').next().unwrap_or("png");
    Some(Attachment {
        name: format!("image-{}.{extension}", n + 1),
        mime_type: mime_type.to_owned(),
        data_base64: data.to_owned(),
    })
}
