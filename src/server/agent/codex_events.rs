//! `codex app-server`'s stdout (JSON-RPC 2.0, one message a line), mapped to what a session
//! needs. A pure fold: `CodexParser::parse` depends only on the line and on what earlier
//! lines said (tool items already started, reasoning already streamed, the thread's token
//! totals), so it is tested on the real captures in `tests/fixtures/codex`.
//!
//! What arrives (codex-cli 0.169.0, app-server protocol v2):
//! - answers to our requests (`initialize`, `thread/start`, `thread/resume`, `turn/start`,
//!   `turn/interrupt`), by `id`;
//! - requests we must answer: `item/commandExecution/requestApproval`,
//!   `item/fileChange/requestApproval`, `item/permissions/requestApproval`, and others
//!   Switchboard cannot serve (user input, MCP elicitation, auth refresh), refused;
//! - notifications: `turn/started`, `item/started` / `item/completed` (agent messages,
//!   reasoning, command executions, file changes, MCP and other tool calls),
//!   `item/agentMessage/delta`, `item/reasoning/summaryTextDelta`,
//!   `thread/tokenUsage/updated`, `error`, `turn/completed`, `warning`, ...

use crate::protocol::{SessionEvent, Usage};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

pub use super::codex_items::{diff_sides, display_command};
use super::codex_items::{file_change_call, tool_result};

/// What one stdout line means.
#[derive(Debug, Clone, PartialEq)]
pub enum CodexMessage {
    /// The answer to one of our requests.
    Response {
        /// Our request id.
        id: u64,
        /// The result, or the error's message.
        result: Result<Value, String>,
    },
    /// Codex waits for an approval; the driver answers it with one of the card's options.
    PermissionAsked(ApprovalAsk),
    /// A request Switchboard cannot serve; the driver refuses it so Codex does not wait.
    Unsupported {
        /// The JSON-RPC id to answer.
        rpc_id: Value,
        /// What was asked.
        method: String,
    },
    /// Codex settled one of its requests itself (e.g. the turn ended while it was open).
    Resolved {
        /// The JSON-RPC id of the settled request.
        rpc_id: Value,
    },
    /// A turn began; its id is what `turn/interrupt` names.
    TurnStarted {
        /// Codex's turn id.
        turn_id: String,
    },
    /// Something for the transcript.
    Event(SessionEvent),
    /// The running turn's tokens so far (after each model call).
    Spending(Usage),
    /// The turn is over.
    TurnEnded {
        /// Codex's turn id.
        turn_id: String,
        /// This turn's tokens (no cost: Codex reports none).
        usage: Usage,
        /// `end_turn`, `cancelled` or `error`.
        stop_reason: String,
    },
    /// Worth a log line, not a transcript entry (e.g. a config warning at every start).
    Log(String),
}

/// What an approval request is about; it decides the answer's shape.
#[derive(Debug, Clone, PartialEq)]
pub enum ApprovalKind {
    /// A shell command (`CommandExecutionApprovalDecision`).
    Command,
    /// A patch (`FileChangeApprovalDecision`).
    FileChange,
    /// Extra sandbox permissions; an allow grants what was requested.
    Permissions {
        /// The requested profile (`fileSystem`, `network`).
        requested: Value,
    },
}

/// An approval request, with what the answer must name.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalAsk {
    /// The JSON-RPC id to answer (Codex numbers them per process, from 0).
    pub rpc_id: Value,
    /// Unique across restarts: `<turn id>:<rpc id>`.
    pub request_id: String,
    /// What it is about.
    pub kind: ApprovalKind,
    /// The tool item it belongs to.
    pub item_id: String,
    /// What Codex wants to do, in words.
    pub title: String,
    /// The details (command and cwd, or the file changes), for the card.
    pub input: Value,
}

/// Why a line could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CodexLineError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// JSON that is neither a response, a request nor a notification.
    #[error("not a JSON-RPC message")]
    NotJsonRpc,
}

/// Token counts as Codex reports them (`TokenUsageBreakdown`); input includes cached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tokens {
    input: u64,
    cached: u64,
    cache_write: u64,
    output: u64,
}

impl Tokens {
    fn from_json(value: Option<&Value>) -> Tokens {
        let number = |key: &str| {
            value
                .and_then(|v| v.get(key))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        Tokens {
            input: number("inputTokens"),
            cached: number("cachedInputTokens"),
            cache_write: number("cacheWriteInputTokens"),
            output: number("outputTokens"),
        }
    }

    fn minus(self, other: Tokens) -> Tokens {
        Tokens {
            input: self.input.saturating_sub(other.input),
            cached: self.cached.saturating_sub(other.cached),
            cache_write: self.cache_write.saturating_sub(other.cache_write),
            output: self.output.saturating_sub(other.output),
        }
    }

    /// In Switchboard's terms: cached input is counted apart from input.
    fn usage(self) -> Usage {
        Usage {
            input_tokens: self.input.saturating_sub(self.cached),
            output_tokens: self.output,
            cache_read_tokens: self.cached,
            cache_creation_tokens: self.cache_write,
            cost_usd: None,
            cost_estimated: false,
            context_used: None,
            context_window: None,
        }
    }
}

/// The token totals of the running turn: the thread's total before it, and the latest.
#[derive(Debug, Clone)]
struct TurnTokens {
    turn_id: String,
    before: Tokens,
    latest: Tokens,
}

/// A started tool item, remembered for the approval card that may follow it.
#[derive(Debug, Clone)]
struct ToolItem {
    title: String,
    input: Value,
}

/// The parser's memory between lines.
#[derive(Debug, Default)]
pub struct CodexParser {
    tools: HashMap<String, ToolItem>,
    /// Reasoning items already streamed as deltas (their completed copy is skipped).
    streamed_thinking: HashSet<String>,
    tokens: Option<TurnTokens>,
    /// Turns whose failure an `error` notification already reported.
    errors_reported: HashSet<String>,
}

impl CodexParser {
    /// Reads one stdout line. Lines that matter to nobody (status changes, diffs, rate
    /// limits) give an empty list.
    pub fn parse(&mut self, line: &str) -> Result<Vec<CodexMessage>, CodexLineError> {
        let value: Value =
            serde_json::from_str(line).map_err(|e| CodexLineError::NotJson(e.to_string()))?;
        let method = str_at(&value, "method");
        let id = value.get("id").filter(|id| !id.is_null());
        Ok(match (method, id) {
            (Some(method), Some(id)) => self.request(method, id, params(&value)),
            (Some(method), None) => self.notification(method, params(&value)),
            (None, Some(id)) => response(id, &value).into_iter().collect(),
            (None, None) => return Err(CodexLineError::NotJsonRpc),
        })
    }

    fn request(&mut self, method: &str, rpc_id: &Value, params: &Value) -> Vec<CodexMessage> {
        let kind = match method {
            "item/commandExecution/requestApproval" => ApprovalKind::Command,
            "item/fileChange/requestApproval" => ApprovalKind::FileChange,
            "item/permissions/requestApproval" => ApprovalKind::Permissions {
                requested: params.get("permissions").cloned().unwrap_or(json!({})),
            },
            _ => {
                return vec![CodexMessage::Unsupported {
                    rpc_id: rpc_id.clone(),
                    method: method.to_owned(),
                }]
            }
        };
        let item_id = str_at(params, "itemId").unwrap_or_default().to_owned();
        let reason = str_at(params, "reason").filter(|r| !r.trim().is_empty());
        let (title, mut input) = match &kind {
            ApprovalKind::Command => {
                let command = str_at(params, "command")
                    .map(|full| display_command(full, params.get("commandActions")))
                    .or_else(|| self.tools.get(&item_id).map(|t| t.title.clone()))
                    .unwrap_or_else(|| "a command".to_owned());
                let mut input = json!({"command": command});
                if let Some(cwd) = params.get("cwd").filter(|c| !c.is_null()) {
                    input["cwd"] = cwd.clone();
                }
                if let Some(host) = params.pointer("/networkApprovalContext/host") {
                    input["network_host"] = host.clone();
                }
                (format!("Bash: {}", first_line(&command)), input)
            }
            ApprovalKind::FileChange => match self.tools.get(&item_id) {
                Some(tool) => (tool.title.clone(), tool.input.clone()),
                None => ("Edit files".to_owned(), json!({})),
            },
            ApprovalKind::Permissions { requested } => (
                "Extra sandbox permissions".to_owned(),
                json!({"permissions": requested}),
            ),
        };
        if let Some(reason) = reason {
            input["reason"] = json!(reason);
        }
        if let Some(root) = str_at(params, "grantRoot") {
            input["grant_root"] = json!(root);
        }
        let turn_id = str_at(params, "turnId").unwrap_or("turn");
        vec![CodexMessage::PermissionAsked(ApprovalAsk {
            rpc_id: rpc_id.clone(),
            request_id: format!("{turn_id}:{}", id_text(rpc_id)),
            kind,
            item_id,
            title,
            input,
        })]
    }

    fn notification(&mut self, method: &str, params: &Value) -> Vec<CodexMessage> {
        match method {
            "turn/started" => str_at_path(params, "/turn/id")
                .map(|turn_id| CodexMessage::TurnStarted {
                    turn_id: turn_id.to_owned(),
                })
                .into_iter()
                .collect(),
            "item/started" => params
                .get("item")
                .and_then(|item| self.item_started(item))
                .map(CodexMessage::Event)
                .into_iter()
                .collect(),
            "item/completed" => params
                .get("item")
                .and_then(|item| self.item_completed(item))
                .map(CodexMessage::Event)
                .into_iter()
                .collect(),
            "item/agentMessage/delta" | "item/plan/delta" => delta(params)
                .map(|(message_id, text)| {
                    CodexMessage::Event(SessionEvent::AssistantDelta { message_id, text })
                })
                .into_iter()
                .collect(),
            "item/reasoning/summaryTextDelta" | "item/reasoning/textDelta" => delta(params)
                .map(|(message_id, text)| {
                    self.streamed_thinking.insert(message_id.clone());
                    CodexMessage::Event(SessionEvent::Thinking { message_id, text })
                })
                .into_iter()
                .collect(),
            "thread/tokenUsage/updated" => {
                self.token_usage(params);
                // The turn's spending so far, after each model call, for budgets.
                self.tokens
                    .as_ref()
                    .map(|tokens| {
                        CodexMessage::Spending(tokens.latest.minus(tokens.before).usage())
                    })
                    .into_iter()
                    .collect()
            }
            "error" => self.error(params),
            "turn/completed" => self.turn_completed(params),
            "serverRequest/resolved" => params
                .get("requestId")
                .map(|rpc_id| CodexMessage::Resolved {
                    rpc_id: rpc_id.clone(),
                })
                .into_iter()
                .collect(),
            "warning" | "guardianWarning" => str_at(params, "message")
                .map(|message| notice(format!("Codex: {message}")))
                .into_iter()
                .collect(),
            "deprecationNotice" => str_at(params, "summary")
                .map(|summary| notice(format!("Codex: {summary}")))
                .into_iter()
                .collect(),
            "model/rerouted" => {
                let from = str_at(params, "fromModel").unwrap_or("?");
                let to = str_at(params, "toModel").unwrap_or("?");
                vec![notice(format!("Codex switched from model {from} to {to}."))]
            }
            "thread/compacted" => {
                vec![notice("Codex compacted the conversation's context.".into())]
            }
            "configWarning" => str_at(params, "summary")
                .map(|summary| CodexMessage::Log(format!("codex config warning: {summary}")))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A tool item starting is a tool card; other items show when they complete.
    fn item_started(&mut self, item: &Value) -> Option<SessionEvent> {
        let id = str_at(item, "id")?.to_owned();
        let (name, title, input) = match str_at(item, "type")? {
            "commandExecution" => {
                let command = display_command(
                    str_at(item, "command").unwrap_or_default(),
                    item.get("commandActions"),
                );
                let mut input = json!({"command": command});
                if let Some(cwd) = item.get("cwd").filter(|c| !c.is_null()) {
                    input["cwd"] = cwd.clone();
                }
                let title = format!("Bash: {}", first_line(&command));
                ("Bash".to_owned(), title, input)
            }
            "fileChange" => file_change_call(item.get("changes")),
            "mcpToolCall" => {
                let server = str_at(item, "server").unwrap_or("mcp");
                let tool = str_at(item, "tool").unwrap_or("tool");
                let name = format!("{server}.{tool}");
                let input = item.get("arguments").cloned().unwrap_or(Value::Null);
                (name.clone(), name, input)
            }
            "dynamicToolCall" => {
                let tool = str_at(item, "tool").unwrap_or("tool").to_owned();
                let input = item.get("arguments").cloned().unwrap_or(Value::Null);
                (tool.clone(), tool, input)
            }
            "webSearch" => {
                let query = str_at(item, "query").unwrap_or_default();
                let title = format!("WebSearch: {query}");
                ("WebSearch".to_owned(), title, json!({"query": query}))
            }
            "imageView" => {
                let path = str_at(item, "path").unwrap_or_default();
                let title = format!("view_image: {path}");
                ("view_image".to_owned(), title, json!({"path": path}))
            }
            "collabAgentToolCall" => {
                let tool = str_at(item, "tool").unwrap_or("agent").to_owned();
                let input = json!({"prompt": item.get("prompt").cloned().unwrap_or(Value::Null)});
                (tool.clone(), tool, input)
            }
            _ => return None,
        };
        self.tools.insert(
            id.clone(),
            ToolItem {
                title: title.clone(),
                input: input.clone(),
            },
        );
        Some(SessionEvent::ToolCall {
            id,
            name,
            title,
            input,
        })
    }

    fn item_completed(&mut self, item: &Value) -> Option<SessionEvent> {
        let id = str_at(item, "id")?.to_owned();
        let kind = str_at(item, "type")?;
        match kind {
            "agentMessage" | "plan" => {
                let text = str_at(item, "text").unwrap_or_default();
                (!text.is_empty()).then(|| SessionEvent::AssistantMessage {
                    message_id: id,
                    text: text.to_owned(),
                })
            }
            "reasoning" => {
                if self.streamed_thinking.remove(&id) {
                    return None;
                }
                let text = ["summary", "content"]
                    .iter()
                    .filter_map(|key| item.get(*key).and_then(Value::as_array))
                    .find(|parts| !parts.is_empty())
                    .map(|parts| {
                        parts
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join("\n\n")
                    })
                    .unwrap_or_default();
                (!text.is_empty()).then_some(SessionEvent::Thinking {
                    message_id: id,
                    text,
                })
            }
            "contextCompaction" => Some(SessionEvent::Notice {
                message: "Codex compacted the conversation's context.".into(),
            }),
            _ => {
                // A tool item: its result (only for tools whose start was a card).
                self.tools.remove(&id)?;
                let (output, is_error) = tool_result(kind, item);
                Some(SessionEvent::ToolResult {
                    id,
                    output,
                    is_error,
                    duration_ms: None,
                })
            }
        }
    }

    /// The thread's totals after each model call: the turn's usage is the latest total less
    /// the total before the turn (the first update's total less its own call).
    fn token_usage(&mut self, params: &Value) {
        let Some(turn_id) = str_at(params, "turnId") else {
            return;
        };
        let total = Tokens::from_json(params.pointer("/tokenUsage/total"));
        let last = Tokens::from_json(params.pointer("/tokenUsage/last"));
        match self.tokens.as_mut() {
            Some(tokens) if tokens.turn_id == turn_id => tokens.latest = total,
            _ => {
                self.tokens = Some(TurnTokens {
                    turn_id: turn_id.to_owned(),
                    before: total.minus(last),
                    latest: total,
                })
            }
        }
    }

    /// `error`: a retry is announced; a final failure is reported once (here, or by the
    /// `turn/completed` that follows).
    fn error(&mut self, params: &Value) -> Vec<CodexMessage> {
        let Some(error) = params.get("error") else {
            return Vec::new();
        };
        let message = str_at(error, "message").unwrap_or("The model API failed.");
        if params.get("willRetry").and_then(Value::as_bool) == Some(true) {
            return vec![notice(format!("{message} (Codex retries.)"))];
        }
        if let Some(turn_id) = str_at(params, "turnId") {
            self.errors_reported.insert(turn_id.to_owned());
        }
        vec![CodexMessage::Event(error_event(error))]
    }

    fn turn_completed(&mut self, params: &Value) -> Vec<CodexMessage> {
        let Some(turn) = params.get("turn") else {
            return Vec::new();
        };
        let turn_id = str_at(turn, "id").unwrap_or_default().to_owned();
        let usage = match self.tokens.take() {
            Some(tokens) if tokens.turn_id == turn_id => tokens.latest.minus(tokens.before),
            _ => Tokens::default(),
        }
        .usage();
        let stop_reason = match str_at(turn, "status") {
            Some("interrupted") => "cancelled",
            Some("failed") => "error",
            _ => "end_turn",
        };
        let mut out = Vec::new();
        if stop_reason == "error" && !self.errors_reported.remove(&turn_id) {
            let error = turn.get("error").cloned().unwrap_or(json!({}));
            out.push(CodexMessage::Event(error_event(&error)));
        }
        self.errors_reported.remove(&turn_id);
        self.tools.clear();
        self.streamed_thinking.clear();
        out.push(CodexMessage::TurnEnded {
            turn_id,
            usage,
            stop_reason: stop_reason.to_owned(),
        });
        out
    }
}

/// A JSON-RPC response to one of our (numbered) requests.
fn response(id: &Value, value: &Value) -> Option<CodexMessage> {
    let id = id.as_u64()?;
    let result = match value.get("error") {
        Some(error) => {
            Err(str_at(error, "message").map_or_else(|| error.to_string(), str::to_owned))
        }
        None => Ok(value.get("result").cloned().unwrap_or(Value::Null)),
    };
    Some(CodexMessage::Response { id, result })
}

/// A turn's failure as an `Error` event: Codex's words, and its error code as detail.
fn error_event(error: &Value) -> SessionEvent {
    let message = str_at(error, "message")
        .filter(|m| !m.is_empty())
        .unwrap_or("The turn failed.")
        .to_owned();
    let code = match error.get("codexErrorInfo") {
        Some(Value::String(code)) => Some(code.clone()),
        Some(Value::Object(object)) => object.iter().next().map(|(code, detail)| {
            match detail.get("httpStatusCode").and_then(Value::as_u64) {
                Some(status) => format!("{code} (HTTP {status})"),
                None => code.clone(),
            }
        }),
        _ => None,
    };
    let details = str_at(error, "additionalDetails").filter(|d| !d.is_empty());
    let detail = match (code, details) {
        (Some(code), Some(details)) => Some(format!("{code}: {details}")),
        (code, details) => code.or_else(|| details.map(str::to_owned)),
    };
    SessionEvent::Error { message, detail }
}

/// `(itemId, delta)` of a delta notification.
fn delta(params: &Value) -> Option<(String, String)> {
    Some((
        str_at(params, "itemId")?.to_owned(),
        str_at(params, "delta")?.to_owned(),
    ))
}

fn params(value: &Value) -> &Value {
    value.get("params").unwrap_or(&Value::Null)
}

fn id_text(id: &Value) -> String {
    match id {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

fn notice(message: String) -> CodexMessage {
    CodexMessage::Event(SessionEvent::Notice { message })
}

pub(super) fn str_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

pub(super) fn str_at_path<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

#[cfg(test)]
mod tests;
