//! Pure functions from ACP (Agent Client Protocol) JSON-RPC lines to Switchboard events.
//! No I/O here: the connection task in `acp.rs` feeds lines in; tests feed captured
//! transcripts in.

use crate::protocol::{PermissionOption, PermissionOptionKind, RequestId, SessionEvent, Usage};
use agent_client_protocol_schema::v1 as acp;
use serde_json::Value;

/// One JSON-RPC message from the agent.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// The answer to one of our requests.
    Response {
        /// Our request id.
        id: Value,
        /// Its result, or the error the agent returned.
        outcome: Result<Value, String>,
    },
    /// A request the agent makes of us (permission, file access).
    Request {
        /// Its id, echoed in our answer.
        id: Value,
        /// The method.
        method: String,
        /// Its parameters.
        params: Value,
    },
    /// A notification (`session/update`).
    Notification {
        /// The method.
        method: String,
        /// Its parameters.
        params: Value,
    },
}

/// Parses one line of the agent's stdout.
pub fn parse_line(line: &str) -> Result<Inbound, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(mut map) = value else {
        return Err("not a JSON-RPC object".into());
    };
    let id = map.remove("id");
    let method = map
        .remove("method")
        .and_then(|m| m.as_str().map(str::to_owned));
    let params = map.remove("params").unwrap_or(Value::Null);
    match (id, method) {
        (Some(id), Some(method)) => Ok(Inbound::Request { id, method, params }),
        (None, Some(method)) => Ok(Inbound::Notification { method, params }),
        (Some(id), None) => {
            let outcome = match (map.remove("result"), map.remove("error")) {
                (_, Some(error)) => Err(error
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| error.to_string())),
                (Some(result), None) => Ok(result),
                (None, None) => Ok(Value::Null),
            };
            Ok(Inbound::Response { id, outcome })
        }
        (None, None) => Err("JSON-RPC message without id or method".into()),
    }
}

/// Turns `session/update` notifications into events. Holds the little state the mapping
/// needs: ACP text chunks carry no message id, so a message is "the chunks since the last
/// non-text update".
#[derive(Debug, Default)]
pub struct Translator {
    /// Tool calls already shown: an update for another one announces it first (gemini
    /// sends a permission-gated call only as a request and then an update).
    announced: std::collections::HashSet<String>,
    turn: u64,
    segment: u64,
    in_text: bool,
    in_thought: bool,
    /// The agent's cumulative cost in USD, from its last `usage_update`.
    cost: Option<f64>,
    /// That figure when the turn began (none reported yet: 0).
    cost_at_turn_start: f64,
    /// A `usage_update` came since the last [`Translator::take_spending`].
    spending_news: bool,
}

impl Translator {
    /// Marks the start of a user turn, so message ids never repeat across turns.
    pub fn begin_turn(&mut self) {
        self.cost_at_turn_start = self.cost.unwrap_or(0.0);
        self.turn += 1;
        self.segment = 0;
        self.in_text = false;
        self.in_thought = false;
    }

    /// What this turn cost: the rise of the agent's cumulative cost since the turn began,
    /// when it reports one in USD (`None`: it reports none).
    pub fn turn_cost(&self) -> Option<f64> {
        self.cost
            .map(|cost| (cost - self.cost_at_turn_start).max(0.0))
    }

    /// The turn's spending so far, once after each `usage_update` that reported a cost
    /// (a budget checks it after every model call, not only at the turn's end).
    pub fn take_spending(&mut self) -> Option<Usage> {
        if !std::mem::take(&mut self.spending_news) {
            return None;
        }
        Some(Usage {
            cost_usd: self.turn_cost(),
            ..Usage::default()
        })
    }

    fn message_id(&self, prefix: &str) -> String {
        format!("{prefix}-{}-{}", self.turn, self.segment)
    }

    /// Maps the params of one `session/update` notification.
    pub fn session_update(&mut self, params: Value) -> Result<Vec<SessionEvent>, String> {
        let note: acp::SessionNotification =
            serde_json::from_value(params).map_err(|e| format!("bad session/update: {e}"))?;
        let events = match note.update {
            acp::SessionUpdate::AgentMessageChunk(chunk) => {
                if !self.in_text {
                    self.segment += 1;
                    self.in_text = true;
                    self.in_thought = false;
                }
                match text_of(&chunk.content) {
                    // Gemini announces a mode switch it made itself as assistant text.
                    Some(text) if text.starts_with("[MODE_UPDATE] ") => {
                        vec![SessionEvent::Notice {
                            message: format!(
                                "The agent switched its permission mode to {}",
                                text.trim_start_matches("[MODE_UPDATE] ").trim()
                            ),
                        }]
                    }
                    Some(text) => vec![SessionEvent::AssistantDelta {
                        message_id: self.message_id("msg"),
                        text,
                    }],
                    None => Vec::new(),
                }
            }
            acp::SessionUpdate::AgentThoughtChunk(chunk) => {
                if !self.in_thought {
                    self.segment += 1;
                    self.in_thought = true;
                    self.in_text = false;
                }
                text_of(&chunk.content)
                    // Gemini heads thoughts with a bold subject, empty at times.
                    .map(|text| {
                        text.strip_prefix("****\n")
                            .map(str::to_owned)
                            .unwrap_or(text)
                    })
                    .map(|text| SessionEvent::Thinking {
                        message_id: self.message_id("thought"),
                        text,
                    })
                    .into_iter()
                    .collect()
            }
            acp::SessionUpdate::ToolCall(call) => {
                self.in_text = false;
                self.in_thought = false;
                let id = call.tool_call_id.0.to_string();
                self.announced.insert(id.clone());
                let mut events = vec![SessionEvent::ToolCall {
                    name: call
                        .name
                        .clone()
                        .unwrap_or_else(|| tool_name(&id, &call.kind)),
                    id,
                    title: call.title.clone(),
                    input: call.raw_input.clone().unwrap_or(Value::Null),
                }];
                if matches!(
                    call.status,
                    acp::ToolCallStatus::Completed | acp::ToolCallStatus::Failed
                ) {
                    events.push(SessionEvent::ToolResult {
                        id: call.tool_call_id.0.to_string(),
                        output: tool_output(&call.content, call.raw_output.as_ref()),
                        is_error: call.status == acp::ToolCallStatus::Failed,
                        duration_ms: None,
                    });
                }
                events
            }
            acp::SessionUpdate::ToolCallUpdate(update) => {
                let id = update.tool_call_id.0.to_string();
                let mut events = Vec::new();
                if self.announced.insert(id.clone()) {
                    let kind = update.fields.kind.unwrap_or(acp::ToolKind::Other);
                    events.push(SessionEvent::ToolCall {
                        name: tool_name(&id, &kind),
                        title: update.fields.title.clone().unwrap_or_else(|| "Tool".into()),
                        input: update.fields.raw_input.clone().unwrap_or(Value::Null),
                        id: id.clone(),
                    });
                }
                events.extend(self.tool_update(update));
                events
            }
            // The plan has no view of its own yet: each new version is a notice, one line
            // a step with its status, so the user sees what the agent means to do.
            acp::SessionUpdate::Plan(plan) => {
                let steps: Vec<String> = plan
                    .entries
                    .iter()
                    .map(|entry| {
                        let mark = match entry.status {
                            acp::PlanEntryStatus::Completed => "[x]",
                            acp::PlanEntryStatus::InProgress => "[>]",
                            _ => "[ ]",
                        };
                        format!("{mark} {}", entry.content)
                    })
                    .collect();
                vec![SessionEvent::Notice {
                    message: format!("Plan:\n{}", steps.join("\n")),
                }]
            }
            acp::SessionUpdate::CurrentModeUpdate(update) => vec![SessionEvent::Notice {
                message: format!(
                    "The agent switched its permission mode to {}",
                    update.current_mode_id.0
                ),
            }],
            // The session's cumulative cost: each turn's is the rise during it.
            acp::SessionUpdate::UsageUpdate(update) => {
                if let Some(cost) = update.cost.filter(|cost| cost.currency == "USD") {
                    self.cost = Some(cost.amount);
                    self.spending_news = true;
                }
                Vec::new()
            }
            // Commands have no view yet; they are dropped here rather than shown as noise.
            _ => Vec::new(),
        };
        Ok(events)
    }

    fn tool_update(&self, update: acp::ToolCallUpdate) -> Vec<SessionEvent> {
        match update.fields.status {
            Some(status @ (acp::ToolCallStatus::Completed | acp::ToolCallStatus::Failed)) => {
                vec![SessionEvent::ToolResult {
                    id: update.tool_call_id.0.to_string(),
                    output: tool_output(
                        update.fields.content.as_deref().unwrap_or_default(),
                        update.fields.raw_output.as_ref(),
                    ),
                    is_error: status == acp::ToolCallStatus::Failed,
                    duration_ms: None,
                }]
            }
            _ => Vec::new(),
        }
    }
}

/// A tool's name: the agent's, else the id's prefix (gemini: `write_file__<n>`), else its kind.
fn tool_name(id: &str, kind: &acp::ToolKind) -> String {
    match id.split_once("__") {
        Some((name, _)) if !name.is_empty() => name.to_owned(),
        _ => tool_kind_name(kind).to_owned(),
    }
}

/// Maps the params of a `session/request_permission` request.
pub fn permission_request(request_id: RequestId, params: Value) -> Result<SessionEvent, String> {
    let request: acp::RequestPermissionRequest = serde_json::from_value(params)
        .map_err(|e| format!("bad session/request_permission: {e}"))?;
    let title = request
        .tool_call
        .fields
        .title
        .clone()
        .unwrap_or_else(|| "Use a tool".into());
    let options = request
        .options
        .iter()
        .map(|option| PermissionOption {
            id: option.option_id.0.to_string(),
            label: option.name.clone(),
            kind: match option.kind {
                acp::PermissionOptionKind::AllowOnce => PermissionOptionKind::AllowOnce,
                acp::PermissionOptionKind::AllowAlways => PermissionOptionKind::AllowAlways,
                acp::PermissionOptionKind::RejectAlways => PermissionOptionKind::RejectAlways,
                _ => PermissionOptionKind::RejectOnce,
            },
        })
        .collect();
    Ok(SessionEvent::PermissionRequested {
        request_id,
        title,
        // Gemini sends no raw input; its content (a diff, a command) says what is asked.
        input: request.tool_call.fields.raw_input.unwrap_or_else(|| {
            request
                .tool_call
                .fields
                .content
                .as_ref()
                .and_then(|c| serde_json::to_value(c).ok())
                .unwrap_or(Value::Null)
        }),
        options,
    })
}

/// Reads the stop reason and usage from a `session/prompt` result.
pub fn prompt_result(result: Value) -> (Usage, String) {
    // Gemini reports tokens only in `_meta.quota.token_count`.
    let quota = &result["_meta"]["quota"]["token_count"];
    let quota_usage = Usage {
        input_tokens: quota["input_tokens"].as_u64().unwrap_or(0),
        output_tokens: quota["output_tokens"].as_u64().unwrap_or(0),
        ..Usage::default()
    };
    match serde_json::from_value::<acp::PromptResponse>(result) {
        Ok(response) => {
            let stop_reason = serde_json::to_value(response.stop_reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "end_turn".into());
            let usage = response
                .usage
                .map(|u| Usage {
                    input_tokens: u.input_tokens,
                    output_tokens: u.output_tokens,
                    cache_read_tokens: u.cached_read_tokens.unwrap_or(0),
                    cache_creation_tokens: u.cached_write_tokens.unwrap_or(0),
                    cost_usd: None,
                    cost_estimated: false,
                    context_used: None,
                    context_window: None,
                })
                .unwrap_or(quota_usage);
            (usage, stop_reason)
        }
        Err(_) => (Usage::default(), "end_turn".into()),
    }
}

fn text_of(block: &acp::ContentBlock) -> Option<String> {
    match block {
        acp::ContentBlock::Text(text) => Some(text.text.clone()),
        _ => None,
    }
}

fn tool_output(content: &[acp::ToolCallContent], raw_output: Option<&Value>) -> String {
    let parts: Vec<String> = content
        .iter()
        .filter_map(|item| match item {
            acp::ToolCallContent::Content(c) => text_of(&c.content),
            acp::ToolCallContent::Diff(diff) => Some(format!("edited {}", diff.path.display())),
            _ => None,
        })
        .collect();
    if !parts.is_empty() {
        return parts.join("\n");
    }
    match raw_output {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn tool_kind_name(kind: &acp::ToolKind) -> &'static str {
    match kind {
        acp::ToolKind::Read => "read",
        acp::ToolKind::Edit => "edit",
        acp::ToolKind::Delete => "delete",
        acp::ToolKind::Move => "move",
        acp::ToolKind::Search => "search",
        acp::ToolKind::Execute => "execute",
        acp::ToolKind::Think => "think",
        acp::ToolKind::Fetch => "fetch",
        _ => "tool",
    }
}

#[cfg(test)]
mod tests;
