//! Claude Code's stream-json stdout, one line at a time, mapped to what a session needs.
//! A pure fold: `ClaudeParser::parse` depends only on the line and on what earlier lines
//! said (which text block is open, the process's running cost), so it is tested on the
//! real captures in `tests/fixtures/claude`.

use crate::protocol::{SessionEvent, Usage};
use serde_json::Value;
use std::collections::HashSet;

/// What one stdout line means.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaudeMessage {
    /// `system/init`: the CLI runs this conversation, in this mode.
    Init {
        /// The CLI's conversation id (the one `--resume` takes).
        session_id: String,
        /// The permission mode it runs in.
        permission_mode: Option<String>,
    },
    /// Something for the transcript.
    Event(SessionEvent),
    /// `can_use_tool`: the CLI waits for an allow or deny on stdin.
    PermissionAsked(PermissionAsk),
    /// The answer to one of our control requests (`initialize`, `interrupt`, ...).
    ControlResponse {
        /// Our request id.
        request_id: String,
        /// The CLI's error, when it refused.
        error: Option<String>,
    },
    /// The running turn's tokens so far, after a model call's reply.
    Spending(Usage),
    /// `result`: the turn is over.
    TurnEnded {
        /// This turn's tokens and cost.
        usage: Usage,
        /// `end_turn`, `cancelled` or `error`.
        stop_reason: String,
    },
}

/// A `can_use_tool` request, with what the answer must echo back.
#[derive(Debug, Clone, PartialEq)]
pub struct PermissionAsk {
    /// The CLI's id of the request; the answer names it.
    pub request_id: String,
    /// The tool (`Bash`, `Write`, ...).
    pub tool_name: String,
    /// The tool's input; an allow answer sends it back as `updatedInput`.
    pub input: Value,
    /// Rules the CLI offers for "always allow"; empty when it offers none.
    pub suggestions: Vec<Value>,
    /// What the tool wants to do, in words.
    pub title: String,
}

/// Why a line could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClaudeLineError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// JSON without a `type` string.
    #[error("a JSON line without a type")]
    NoType,
}

/// The parser's memory between lines.
#[derive(Debug, Default)]
pub struct ClaudeParser {
    /// The text block being streamed: `message id:block index`. The whole-message
    /// `assistant` line that follows carries no index, so it is matched to this.
    open_text_block: Option<String>,
    /// Thinking blocks already streamed as deltas (their `assistant` copy is skipped).
    streamed_thinking: HashSet<String>,
    /// `total_cost_usd` of the previous `result`: the CLI reports the process's running
    /// total, and a turn's cost is the difference.
    cost_so_far: f64,
    /// Prompt tokens of the newest model call (input plus cache), i.e. what the context
    /// holds; a turn's summed usage would count every call's prompt again.
    last_prompt_tokens: Option<u64>,
    /// Tokens (read, written) of each model call of the running turn, by message id: the
    /// CLI repeats a call's usage on every content block of its reply.
    turn_calls: std::collections::HashMap<String, (u64, u64)>,
}

impl ClaudeParser {
    /// Reads one stdout line. Lines that matter to nobody (status, hooks, rate limits)
    /// give an empty list.
    pub fn parse(&mut self, line: &str) -> Result<Vec<ClaudeMessage>, ClaudeLineError> {
        let value: Value =
            serde_json::from_str(line).map_err(|e| ClaudeLineError::NotJson(e.to_string()))?;
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .ok_or(ClaudeLineError::NoType)?;
        Ok(match kind {
            "system" => system_line(&value),
            "stream_event" => self.stream_event(&value).into_iter().collect(),
            "assistant" => self.assistant_line(&value),
            "user" => user_line(&value),
            "control_request" => control_request(&value).into_iter().collect(),
            "control_response" => control_response(&value).into_iter().collect(),
            "result" => self.result_line(&value),
            _ => Vec::new(),
        })
    }

    /// One model call's tokens as last seen (its reply's blocks repeat them; the streamed
    /// `message_delta` has the final output count): the turn's spending so far, when it
    /// moved.
    fn record_call(&mut self, id: &str, input: Option<u64>, output: u64) -> Option<ClaudeMessage> {
        let call = self.turn_calls.entry(id.to_owned()).or_default();
        let before = *call;
        call.0 = input.unwrap_or(call.0);
        call.1 = call.1.max(output);
        if *call == before {
            return None;
        }
        let (input_tokens, output_tokens) = self
            .turn_calls
            .values()
            .fold((0, 0), |(i, o), (ci, co)| (i + ci, o + co));
        Some(ClaudeMessage::Spending(Usage {
            input_tokens,
            output_tokens,
            ..Usage::default()
        }))
    }

    fn stream_event(&mut self, line: &Value) -> Option<ClaudeMessage> {
        let event = line.get("event")?;
        let message_id = str_at(line, "api_message_id").unwrap_or("message");
        if str_at(event, "type") == Some("message_delta") {
            let output = event
                .pointer("/usage/output_tokens")
                .and_then(Value::as_u64)?;
            return self.record_call(message_id, None, output);
        }
        let index = event.get("index").and_then(Value::as_u64).unwrap_or(0);
        let block = format!("{message_id}:{index}");
        match str_at(event, "type")? {
            "content_block_start" => {
                if event.pointer("/content_block/type").and_then(Value::as_str) == Some("text") {
                    self.open_text_block = Some(block);
                }
                None
            }
            "content_block_delta" => {
                let delta = event.get("delta")?;
                match str_at(delta, "type")? {
                    "text_delta" => Some(ClaudeMessage::Event(SessionEvent::AssistantDelta {
                        message_id: block,
                        text: str_at(delta, "text")?.to_owned(),
                    })),
                    "thinking_delta" => {
                        self.streamed_thinking.insert(block.clone());
                        Some(ClaudeMessage::Event(SessionEvent::Thinking {
                            message_id: block,
                            text: str_at(delta, "thinking")?.to_owned(),
                        }))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// One `assistant` line per finished content block: the authoritative text (it
    /// replaces the streamed deltas) and each tool call with its whole input.
    fn assistant_line(&mut self, line: &Value) -> Vec<ClaudeMessage> {
        let Some(message) = line.get("message") else {
            return Vec::new();
        };
        if let Some(usage) = message.get("usage") {
            let tokens = [
                "input_tokens",
                "cache_read_input_tokens",
                "cache_creation_input_tokens",
            ]
            .iter()
            .filter_map(|key| usage.get(*key).and_then(Value::as_u64))
            .sum::<u64>();
            self.last_prompt_tokens = Some(tokens);
        }
        let message_id = str_at(message, "id").unwrap_or("message");
        let mut out = Vec::new();
        if let Some(usage) = message.get("usage") {
            let number = |key: &str| usage.get(key).and_then(Value::as_u64);
            out.extend(self.record_call(
                message_id,
                number("input_tokens"),
                number("output_tokens").unwrap_or(0),
            ));
        }
        let blocks = message.get("content").and_then(Value::as_array);
        for (position, block) in blocks.into_iter().flatten().enumerate() {
            match str_at(block, "type") {
                Some("text") => {
                    let text = str_at(block, "text").unwrap_or_default().to_owned();
                    if line.get("error").is_some() {
                        // A synthetic message the CLI makes from an API error: the
                        // `result` that follows reports it once, as an error.
                        continue;
                    }
                    let id = self
                        .open_text_block
                        .take()
                        .filter(|open| open.starts_with(&format!("{message_id}:")))
                        .unwrap_or_else(|| format!("{message_id}:{position}"));
                    out.push(ClaudeMessage::Event(SessionEvent::AssistantMessage {
                        message_id: id,
                        text,
                    }));
                }
                Some("thinking") => {
                    let id = format!("{message_id}:{position}");
                    let text = str_at(block, "thinking").unwrap_or_default();
                    let streamed = self
                        .streamed_thinking
                        .iter()
                        .any(|b| b.starts_with(&format!("{message_id}:")));
                    if !streamed && !text.is_empty() {
                        out.push(ClaudeMessage::Event(SessionEvent::Thinking {
                            message_id: id,
                            text: text.to_owned(),
                        }));
                    }
                }
                Some("tool_use") => {
                    let name = str_at(block, "name").unwrap_or("tool").to_owned();
                    let input = block.get("input").cloned().unwrap_or(Value::Null);
                    out.push(ClaudeMessage::Event(SessionEvent::ToolCall {
                        id: str_at(block, "id").unwrap_or_default().to_owned(),
                        title: tool_title(&name, &input),
                        name,
                        input,
                    }));
                }
                _ => {}
            }
        }
        out
    }

    /// The turn's end; a failed turn (API error, ...) first reports the CLI's message.
    fn result_line(&mut self, line: &Value) -> Vec<ClaudeMessage> {
        self.turn_calls.clear();
        let total_cost = line.get("total_cost_usd").and_then(Value::as_f64);
        let cost = total_cost.map(|total| {
            // A fresh process (resume) starts its running total at zero again.
            let turn = if total >= self.cost_so_far {
                total - self.cost_so_far
            } else {
                total
            };
            self.cost_so_far = total;
            turn
        });
        let number = |key: &str| {
            line.pointer(&format!("/usage/{key}"))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        let usage = Usage {
            input_tokens: number("input_tokens"),
            output_tokens: number("output_tokens"),
            cache_read_tokens: number("cache_read_input_tokens"),
            cache_creation_tokens: number("cache_creation_input_tokens"),
            cost_usd: cost,
            cost_estimated: cost.is_some(),
            context_used: self.last_prompt_tokens.take(),
            // `modelUsage` names each model the turn used with its window; the main one is
            // the largest.
            context_window: line
                .get("modelUsage")
                .and_then(Value::as_object)
                .and_then(|models| {
                    models
                        .values()
                        .filter_map(|m| m.get("contextWindow").and_then(Value::as_u64))
                        .max()
                }),
        };
        let stop_reason = match (
            str_at(line, "subtype"),
            str_at(line, "terminal_reason"),
            line.get("is_error").and_then(Value::as_bool),
        ) {
            (_, Some("aborted_streaming" | "aborted_tools"), _) => "cancelled",
            (Some("error_during_execution"), None, _) => "cancelled",
            (_, _, Some(true)) => "error",
            (Some(subtype), _, _) if subtype.starts_with("error") => "error",
            _ => "end_turn",
        };
        let mut out = Vec::new();
        if stop_reason == "error" {
            out.push(ClaudeMessage::Event(SessionEvent::Error {
                message: result_error(line),
                detail: None,
            }));
        }
        out.push(ClaudeMessage::TurnEnded {
            usage,
            stop_reason: stop_reason.to_owned(),
        });
        out
    }
}

/// The error a failed `result` carries, for people (e.g. "API Error: 529 overloaded").
fn result_error(line: &Value) -> String {
    let text = str_at(line, "result")
        .map(str::to_owned)
        .or_else(|| {
            line.get("errors").and_then(Value::as_array).map(|errors| {
                errors
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        })
        .filter(|text| !text.is_empty());
    text.unwrap_or_else(|| "The turn failed.".to_owned())
}

fn system_line(line: &Value) -> Vec<ClaudeMessage> {
    match str_at(line, "subtype") {
        Some("init") => str_at(line, "session_id")
            .map(|session_id| ClaudeMessage::Init {
                session_id: session_id.to_owned(),
                permission_mode: str_at(line, "permissionMode").map(str::to_owned),
            })
            .into_iter()
            .collect(),
        Some("api_retry") => {
            let status = line
                .get("error_status")
                .and_then(Value::as_u64)
                .map_or_else(|| "an error".to_owned(), |s| format!("HTTP {s}"));
            let attempt = line.get("attempt").and_then(Value::as_u64).unwrap_or(1);
            let max = line
                .get("max_retries")
                .and_then(Value::as_u64)
                .unwrap_or(attempt);
            let delay = line
                .get("retry_delay_ms")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            vec![notice(format!(
                "The model API answered {status}; retrying in {:.1} s (attempt {attempt} of {max}).",
                delay as f64 / 1000.0
            ))]
        }
        Some("permission_denied") => {
            let tool = str_at(line, "tool_name").unwrap_or("a tool");
            let why = str_at(line, "message").unwrap_or("not allowed in this mode");
            vec![notice(format!("{tool} was not allowed: {why}"))]
        }
        _ => Vec::new(),
    }
}

/// `user` lines the CLI echoes carry tool results (and "[Request interrupted by user]").
fn user_line(line: &Value) -> Vec<ClaudeMessage> {
    let blocks = line.pointer("/message/content").and_then(Value::as_array);
    blocks
        .into_iter()
        .flatten()
        .filter(|block| str_at(block, "type") == Some("tool_result"))
        .map(|block| {
            ClaudeMessage::Event(SessionEvent::ToolResult {
                id: str_at(block, "tool_use_id").unwrap_or_default().to_owned(),
                output: content_text(block.get("content")),
                is_error: block.get("is_error").and_then(Value::as_bool) == Some(true),
                duration_ms: None,
            })
        })
        .collect()
}

fn control_request(line: &Value) -> Option<ClaudeMessage> {
    let request = line.get("request")?;
    if str_at(request, "subtype")? != "can_use_tool" {
        return None;
    }
    let tool_name = str_at(request, "tool_name").unwrap_or("tool").to_owned();
    let input = request.get("input").cloned().unwrap_or(Value::Null);
    Some(ClaudeMessage::PermissionAsked(PermissionAsk {
        request_id: str_at(line, "request_id")?.to_owned(),
        title: tool_title(&tool_name, &input),
        tool_name,
        input,
        suggestions: request
            .get("permission_suggestions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
    }))
}

fn control_response(line: &Value) -> Option<ClaudeMessage> {
    let response = line.get("response")?;
    Some(ClaudeMessage::ControlResponse {
        request_id: str_at(response, "request_id")?.to_owned(),
        error: (str_at(response, "subtype") == Some("error"))
            .then(|| str_at(response, "error").unwrap_or("refused").to_owned()),
    })
}

/// A one-line summary of a tool call: the command, the file, or the tool's name.
pub fn tool_title(name: &str, input: &Value) -> String {
    let field = [
        "command",
        "file_path",
        "notebook_path",
        "path",
        "pattern",
        "url",
        "description",
    ]
    .into_iter()
    .find_map(|key| str_at(input, key));
    match field {
        Some(detail) => format!("{name}: {}", detail.lines().next().unwrap_or_default()),
        None => name.to_owned(),
    }
}

/// Tool result content is a string or a list of blocks; the text parts, joined (the live
/// stream and imported transcripts carry the same shape).
pub(crate) fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|block| str_at(block, "text"))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn notice(message: String) -> ClaudeMessage {
    ClaudeMessage::Event(SessionEvent::Notice { message })
}

fn str_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests;
