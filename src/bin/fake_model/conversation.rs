//! Reading a `/v1/messages` request body: the model, whether to stream, whether tools are
//! offered, and what the last user turn says (a prompt, or the results of tools that ran).

use crate::api_error::ApiError;
use serde_json::Value;

/// The CLI wraps injected context in this tag; it is never the user's own text.
const REMINDER: &str = "<system-reminder>";

/// The parts of a Messages request the fake model looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Echoed back in the answer, as the real API does.
    pub model: String,
    pub stream: bool,
    pub messages: Vec<Value>,
    /// Side requests (titles, summaries) offer no tools; they never get a `tool_use`.
    pub offers_tools: bool,
}

/// What the last user message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    /// The user's own text (trimmed; empty if there is none).
    Prompt(String),
    /// Tools ran: their results as text.
    ToolResults(String),
}

impl Request {
    /// Validates the body the way the real API would reject it: an object with a
    /// `messages` array of `{role, content}` objects.
    pub fn from_json(body: &Value) -> Result<Request, ApiError> {
        let object = body
            .as_object()
            .ok_or_else(|| ApiError::invalid_request("body: expected a JSON object"))?;
        let messages = object
            .get("messages")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::invalid_request("messages: Field required (an array)"))?;
        for (i, message) in messages.iter().enumerate() {
            if message.get("role").and_then(Value::as_str).is_none() {
                return Err(ApiError::invalid_request(format!(
                    "messages.{i}.role: Field required"
                )));
            }
            if message.get("content").is_none() {
                return Err(ApiError::invalid_request(format!(
                    "messages.{i}.content: Field required"
                )));
            }
        }
        Ok(Request {
            model: object
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or("claude-fake")
                .to_owned(),
            stream: object
                .get("stream")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            messages: messages.clone(),
            offers_tools: object
                .get("tools")
                .and_then(Value::as_array)
                .is_some_and(|tools| !tools.is_empty()),
        })
    }

    /// Whether the model already answered in this conversation (a follow-up request).
    pub fn has_assistant_turn(&self) -> bool {
        self.messages
            .iter()
            .any(|m| m.get("role").and_then(Value::as_str) == Some("assistant"))
    }

    /// The last user message, read as a prompt or as tool results. Tool results win unless
    /// the user's own text comes after them in the same message (the CLI may merge a new
    /// prompt into the message that carries a result).
    pub fn last_turn(&self) -> Turn {
        let Some(content) = self
            .messages
            .iter()
            .rev()
            .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
            .and_then(|m| m.get("content"))
        else {
            return Turn::Prompt(String::new());
        };
        let blocks = match content {
            Value::String(text) => return Turn::Prompt(user_text(text).unwrap_or_default()),
            Value::Array(blocks) => blocks,
            _ => return Turn::Prompt(String::new()),
        };
        let mut prompt: Option<(usize, String)> = None;
        let mut last_result = None;
        for (i, block) in blocks.iter().enumerate() {
            match block.get("type").and_then(Value::as_str) {
                Some("text") => {
                    if let Some(text) = block
                        .get("text")
                        .and_then(Value::as_str)
                        .and_then(user_text)
                    {
                        prompt = Some((i, text));
                    }
                }
                Some("tool_result") => last_result = Some(i),
                _ => {}
            }
        }
        match (prompt, last_result) {
            (Some((at, text)), Some(result)) if at > result => Turn::Prompt(text),
            (_, Some(_)) => Turn::ToolResults(tool_results_text(blocks)),
            (Some((_, text)), None) => Turn::Prompt(text),
            (None, None) => Turn::Prompt(String::new()),
        }
    }
}

/// All `tool_result` blocks of `blocks` as one text.
fn tool_results_text(blocks: &[Value]) -> String {
    blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        .map(|b| b.get("content").map(content_text).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` trimmed, unless it is empty or CLI-injected context.
fn user_text(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty() && !text.starts_with(REMINDER)).then(|| text.to_owned())
}

/// A `tool_result` content as text: a string, or a list of blocks (text kept, images noted).
pub fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| match b.get("type").and_then(Value::as_str) {
                Some("text") => b.get("text").and_then(Value::as_str).map(str::to_owned),
                Some("image") => Some("[image]".to_owned()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(messages: Value) -> Request {
        Request::from_json(&json!({"model": "m", "stream": true, "messages": messages}))
            .expect("valid request")
    }

    #[test]
    fn the_prompt_skips_system_reminders() {
        let r = request(json!([{"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
            {"type": "text", "text": "  Say hello "},
            {"type": "text", "text": "<system-reminder>more</system-reminder>"},
        ]}]));
        assert_eq!(r.last_turn(), Turn::Prompt("Say hello".into()));
    }

    #[test]
    fn a_tool_result_is_read_as_text() {
        let r = request(json!([
            {"role": "user", "content": "TOOL_BASH:true"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                "content": [{"type": "text", "text": "touched"}]}]},
        ]));
        assert_eq!(r.last_turn(), Turn::ToolResults("touched".into()));
        assert!(r.has_assistant_turn());
    }

    #[test]
    fn a_malformed_body_is_refused() {
        assert!(Request::from_json(&json!([])).is_err());
        assert!(Request::from_json(&json!({"messages": [{"content": "x"}]})).is_err());
    }
}
