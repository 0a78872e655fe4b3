//! Claude Code's transcript (`projects/<escaped cwd>/<session id>.jsonl`, as written by
//! claude-code 2.1.330): one record a line. `user` records are prompts, tool results
//! (`tool_result` blocks) or the interrupt marker; `assistant` records hold ONE content
//! block each (a message with text and a tool call is two records sharing `message.id` and
//! usage); everything else (attachments, request snapshots, queue operations, cost state)
//! is bookkeeping.
//!
//! The file has no turn-end record: a turn is over once the model's message that did not
//! stop for a tool (`stop_reason` `end_turn`, ...) is written, which is known at the next
//! line that is not another block of that message (the CLI writes `last-prompt` right after
//! it). An interrupt is a `user` record "[Request interrupted by user]".

use super::{ids, record, str_at, u64_at, Imported, Line, TranscriptMeta, TranscriptParser};
use crate::protocol::{Attachment, SessionEvent, Usage};
use crate::server::agent::claude_events::{content_text, tool_title};
use serde_json::Value;

/// Record types that carry nothing to show.
const BOOKKEEPING: &[&str] = &[
    "attachment",
    "queue-operation",
    "atis-latch",
    "api-request-shape",
    "api-request-blob",
    "api-request",
    "tools-used",
    "last-prompt",
    "cost-state",
    "mode",
    "summary",
    "custom-title",
    "ai-title",
    "file-history-snapshot",
    "progress",
    "permission-mode",
    "agent-name",
    "tag",
    "pr-link",
];

/// The interrupt marker's beginning ("... by user" or "... by user for tool use").
const INTERRUPTED: &str = "[Request interrupted by user";

/// The turn being read.
#[derive(Debug, Default)]
struct Turn {
    started_ms: i64,
    /// Usage per model message (`message.id`), in order; a message's blocks repeat it.
    usage: Vec<(String, Usage)>,
    /// Set when the model's final message was written: (its id, stop reason, time).
    ending: Option<(String, String, i64)>,
    /// The last time any of its records was written.
    last_ms: i64,
    failed: bool,
}

/// Claude Code's transcript format.
#[derive(Debug, Default)]
pub struct ClaudeTranscript {
    meta: TranscriptMeta,
    turn: Option<Turn>,
    last_ms: i64,
}

impl TranscriptParser for ClaudeTranscript {
    fn line(&mut self, line: &str) -> Line {
        let (value, kind) = match record(line) {
            Ok(Some(found)) => found,
            Ok(None) => return Line::Ignored,
            Err(reason) => return Line::Malformed(reason),
        };
        let known = matches!(kind.as_str(), "user" | "assistant" | "system")
            || BOOKKEEPING.contains(&kind.as_str());
        if !known {
            return Line::Unknown(kind);
        }
        let at = str_at(&value, "timestamp").and_then(ids::parse_rfc3339_ms);
        if let Some(at) = at {
            self.last_ms = at;
            self.meta.started_ms.get_or_insert(at);
        }
        let at = self.last_ms;
        let mut out = Vec::new();
        // A pending turn end is settled by any line but another block of the final message.
        let same_message = kind == "assistant"
            && self
                .turn
                .as_ref()
                .and_then(|t| t.ending.as_ref())
                .is_some_and(|(id, ..)| {
                    value.pointer("/message/id").and_then(Value::as_str) == Some(id.as_str())
                });
        if !same_message {
            self.settle_ending(&mut out);
        }
        let sidechain = value.get("isSidechain").and_then(Value::as_bool) == Some(true);
        if !sidechain {
            self.note_meta(&value);
            match kind.as_str() {
                "user" => self.user(&value, at, &mut out),
                "assistant" => self.assistant(&value, at, &mut out),
                "system" => system(&value, at, &mut out),
                _ => {}
            }
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

impl ClaudeTranscript {
    fn note_meta(&mut self, value: &Value) {
        if self.meta.conversation_id.is_none() {
            self.meta.conversation_id = str_at(value, "sessionId").map(str::to_owned);
        }
        if self.meta.cwd.is_none() {
            self.meta.cwd = str_at(value, "cwd").map(str::to_owned);
        }
    }

    /// Emits the `TurnCompleted` of a turn whose final message is written.
    fn settle_ending(&mut self, out: &mut Vec<Imported>) {
        if let Some((_, reason, at)) = self.turn.as_ref().and_then(|t| t.ending.clone()) {
            self.finish(reason, at, out);
        }
    }

    /// Ends the open turn with `stop_reason` at `at`.
    fn finish(&mut self, stop_reason: String, at: i64, out: &mut Vec<Imported>) {
        let Some(turn) = self.turn.take() else {
            return;
        };
        let mut usage = Usage::default();
        for (_, call) in &turn.usage {
            usage.add(call);
        }
        usage.context_used = turn.usage.last().and_then(|(_, u)| u.context_used);
        let stop_reason = if turn.failed && stop_reason == "end_turn" {
            "error".to_owned()
        } else {
            stop_reason
        };
        out.push(Imported {
            at_ms: at,
            event: SessionEvent::TurnCompleted {
                usage,
                duration_ms: u64::try_from(at - turn.started_ms).unwrap_or(0),
                stop_reason,
            },
        });
    }

    fn user(&mut self, value: &Value, at: i64, out: &mut Vec<Imported>) {
        let content = value.pointer("/message/content");
        let blocks: Vec<&Value> = match content {
            Some(Value::Array(blocks)) => blocks.iter().collect(),
            _ => Vec::new(),
        };
        let text = match content {
            Some(Value::String(text)) => text.clone(),
            _ => blocks
                .iter()
                .filter(|b| str_at(b, "type") == Some("text"))
                .filter_map(|b| str_at(b, "text"))
                .collect::<Vec<_>>()
                .join("\n"),
        };
        let mut results = false;
        for block in blocks
            .iter()
            .filter(|b| str_at(b, "type") == Some("tool_result"))
        {
            results = true;
            out.push(Imported {
                at_ms: at,
                event: SessionEvent::ToolResult {
                    id: str_at(block, "tool_use_id").unwrap_or_default().to_owned(),
                    output: content_text(block.get("content")),
                    is_error: block.get("is_error").and_then(Value::as_bool) == Some(true),
                    duration_ms: None,
                },
            });
        }
        if let Some(turn) = self.turn.as_mut().filter(|_| results) {
            turn.last_ms = at;
        }
        if text.trim_start().starts_with(INTERRUPTED) {
            self.finish("cancelled".to_owned(), at, out);
            return;
        }
        if value.get("isCompactSummary").and_then(Value::as_bool) == Some(true) {
            out.push(Imported {
                at_ms: at,
                event: SessionEvent::Notice {
                    message: "Claude compacted the conversation's context.".to_owned(),
                },
            });
            return;
        }
        let meta = value.get("isMeta").and_then(Value::as_bool) == Some(true);
        let local_command = ["<command-", "<local-command-"]
            .iter()
            .any(|p| text.trim_start().starts_with(p));
        let attachments = images(&blocks);
        if results || meta || local_command || (text.trim().is_empty() && attachments.is_empty()) {
            return;
        }
        // A prompt: the turn before it is over, however it ended.
        if let Some(turn) = self.turn.as_ref() {
            let reason = if turn.failed { "error" } else { "cancelled" };
            let last = turn.last_ms;
            self.finish(reason.to_owned(), last, out);
        }
        self.meta.first_prompt.get_or_insert_with(|| text.clone());
        let identity = str_at(value, "uuid")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{at}:{text}"));
        out.push(Imported {
            at_ms: at,
            event: SessionEvent::UserMessage {
                client_msg_id: ids::import_msg_id(&format!("claude:{identity}")),
                text,
                attachments,
            },
        });
        out.push(Imported {
            at_ms: at,
            event: SessionEvent::TurnStarted {
                client_msg_id: None,
            },
        });
        self.turn = Some(Turn {
            started_ms: at,
            last_ms: at,
            ..Turn::default()
        });
    }

    fn assistant(&mut self, value: &Value, at: i64, out: &mut Vec<Imported>) {
        let Some(message) = value.get("message") else {
            return;
        };
        let record_id = str_at(value, "uuid").unwrap_or_default();
        let message_id = str_at(message, "id").unwrap_or(record_id).to_owned();
        let model = str_at(message, "model").filter(|m| !m.starts_with('<'));
        if self.meta.model.is_none() {
            self.meta.model = model.map(str::to_owned);
        }
        let api_error = value.get("isApiErrorMessage").and_then(Value::as_bool) == Some(true)
            || value.get("error").is_some_and(|e| !e.is_null());
        let blocks = message.get("content").and_then(Value::as_array);
        for (position, block) in blocks.into_iter().flatten().enumerate() {
            let index = value
                .get("apiBlockIndex")
                .and_then(Value::as_u64)
                .map_or(position, |i| i as usize + position);
            let id = format!("{message_id}:{index}");
            let event = match str_at(block, "type") {
                Some("text") if api_error => SessionEvent::Error {
                    message: str_at(block, "text")
                        .unwrap_or("The model API failed.")
                        .to_owned(),
                    detail: None,
                },
                Some("text") => SessionEvent::AssistantMessage {
                    message_id: id,
                    text: str_at(block, "text").unwrap_or_default().to_owned(),
                },
                Some("thinking") => match str_at(block, "thinking").filter(|t| !t.is_empty()) {
                    Some(text) => SessionEvent::Thinking {
                        message_id: id,
                        text: text.to_owned(),
                    },
                    None => continue,
                },
                Some("tool_use") => {
                    let name = str_at(block, "name").unwrap_or("tool").to_owned();
                    let input = block.get("input").cloned().unwrap_or(Value::Null);
                    SessionEvent::ToolCall {
                        id: str_at(block, "id").unwrap_or_default().to_owned(),
                        title: tool_title(&name, &input),
                        name,
                        input,
                    }
                }
                _ => continue,
            };
            out.push(Imported { at_ms: at, event });
        }
        let Some(turn) = self.turn.as_mut() else {
            return;
        };
        turn.last_ms = at;
        turn.failed |= api_error;
        if !api_error {
            let usage = message_usage(message.get("usage"));
            match turn.usage.iter_mut().find(|(id, _)| *id == message_id) {
                Some((_, known)) => *known = usage, // the same message's later block
                None => turn.usage.push((message_id.clone(), usage)),
            }
        }
        let stop = str_at(message, "stop_reason");
        if api_error || stop.is_some_and(|s| s != "tool_use" && s != "pause_turn") {
            let reason = if api_error { "error" } else { "end_turn" };
            turn.ending = Some((message_id, reason.to_owned(), at));
        }
    }
}

/// `system` records: a compaction is worth a notice, the rest is the CLI's bookkeeping.
fn system(value: &Value, at: i64, out: &mut Vec<Imported>) {
    if str_at(value, "subtype") == Some("compact_boundary") {
        out.push(Imported {
            at_ms: at,
            event: SessionEvent::Notice {
                message: "Claude compacted the conversation's context.".to_owned(),
            },
        });
    }
}

/// One model call's usage; what its prompt held is the context in use.
fn message_usage(usage: Option<&Value>) -> Usage {
    let input = u64_at(usage, "input_tokens");
    let cache_read = u64_at(usage, "cache_read_input_tokens");
    let cache_creation = u64_at(usage, "cache_creation_input_tokens");
    Usage {
        input_tokens: input,
        output_tokens: u64_at(usage, "output_tokens"),
        cache_read_tokens: cache_read,
        cache_creation_tokens: cache_creation,
        cost_usd: None,
        cost_estimated: false,
        context_used: usage.map(|_| input + cache_read + cache_creation),
        context_window: None,
    }
}

/// The base64 images of a prompt, as attachments.
fn images(blocks: &[&Value]) -> Vec<Attachment> {
    blocks
        .iter()
        .filter(|b| str_at(b, "type") == Some("image"))
        .filter_map(|b| b.get("source"))
        .filter(|source| str_at(source, "type") == Some("base64"))
        .enumerate()
        .filter_map(|(n, source)| {
            let mime_type = str_at(source, "media_type")
                .unwrap_or("image/png")
                .to_owned();
            let extension = mime_type.rsplit('/').next().unwrap_or("png").to_owned();
            Some(Attachment {
                name: format!("image-{}.{extension}", n + 1),
                data_base64: str_at(source, "data")?.to_owned(),
                mime_type,
            })
        })
        .collect()
}
