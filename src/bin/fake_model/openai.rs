//! The OpenAI Responses API side of the fake, so the `codex` CLI can run offline with a
//! `model_providers` entry whose `base_url` is `http://127.0.0.1:PORT/v1` and
//! `wire_api = "responses"`:
//!
//! - `POST /v1/responses` with `stream: true`: server-sent events `response.created`, per
//!   output item `response.output_item.added`, its deltas (`response.output_text.delta`,
//!   `response.reasoning_summary_text.delta`, `response.function_call_arguments.delta`),
//!   `response.output_item.done`, then `response.completed` with `usage`; without `stream`,
//!   the finished response object as JSON.
//!
//! The request's `input` is translated into the Anthropic shape `scenario.rs` reads, so the
//! scenario set is the same: the echo reports how many `input` messages it saw (developer
//! and context messages included, as the captures in tests/fixtures/codex show: 4 on a
//! first turn, 6 on the second), so a resumed thread is visible; `THINK` is a reasoning
//! summary; `TOOL_BASH:cmd` is an `exec_command` function call; `TOOL_WRITE:path` and
//! `TOOL_EDIT:path|old|new` are `apply_patch` custom tool calls (Add File / Update File);
//! `SLOW`, `BURST`, `STAMP`, `ERROR500` / `ERROR529` / `ERROR429` as for Claude. Every call
//! is recorded in the shared `/_requests` log. Errors take OpenAI's shape,
//! `{"error":{"message","type","param","code"}}`.

use crate::api_error::ApiError;
use crate::conversation::Request;
use crate::handlers::record;
use crate::ids;
use crate::reply::{json_pieces, Block, Piece, Reply, OUTPUT_TOKENS};
use crate::request_log::RequestLog;
use crate::scenario;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// As in `handlers.rs`: the CLI sends its whole prompt, tool schemas and history.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Events buffered ahead of the socket (as in `sse.rs`).
const BUFFER: usize = 32;
/// Codex's first user message carries its workspace as `<cwd>...</cwd>` in this block.
const ENVIRONMENT_CONTEXT: &str = "<environment_context>";

/// The Responses route, recording into `log`. No fallback: it is merged into the Anthropic
/// router, whose fallback answers everything else.
pub fn router(log: RequestLog) -> Router {
    Router::new()
        .route("/v1/responses", post(responses))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(log)
}

/// `POST /v1/responses`.
async fn responses(
    State(log): State<RequestLog>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let answer = record(&log, &method, &uri, &body).and_then(|body| {
        let request = translate(&body)?;
        let reply = scenario::answer(&request)?;
        Ok((body, request.stream, reply))
    });
    match answer {
        Ok((body, true, reply)) => {
            tracing::info!(id = %reply.id, "openai: streaming");
            stream_response(reply, workspace(&body))
        }
        Ok((body, false, reply)) => {
            let items = output_items(&reply, workspace(&body).as_deref());
            let output: Vec<Value> = items.iter().map(|item| item.done()).collect();
            Json(response_json(&reply, "completed", output)).into_response()
        }
        Err(error) => {
            tracing::info!(status = %error.status, message = %error.message, "openai: answering with an error");
            openai_error(error)
        }
    }
}

/// The Responses request as the Anthropic-shaped `Request` the scenarios read. Every
/// `message` item is one message (developer ones count as user turns; context blocks are
/// kept as text, so they count but are never read as the prompt, because the prompt comes
/// after them); `function_call` / `custom_tool_call` items become `tool_use` blocks of an
/// assistant message, and their outputs `tool_result` blocks of a user message. Reasoning
/// items are left out.
pub fn translate(body: &Value) -> Result<Request, ApiError> {
    let object = body
        .as_object()
        .ok_or_else(|| ApiError::invalid_request("body: expected a JSON object"))?;
    let input = match object.get("input") {
        Some(Value::Array(items)) => items.clone(),
        // A bare string is one user message.
        Some(Value::String(text)) => {
            vec![json!({"type": "message", "role": "user", "content": text})]
        }
        _ => {
            return Err(ApiError::invalid_request(
                "input: required (a string or an array of items)",
            ))
        }
    };
    let mut messages = Vec::new();
    for (i, item) in input.iter().enumerate() {
        let kind = item
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("message");
        let message = match kind {
            "message" => {
                let role = match item.get("role").and_then(Value::as_str) {
                    Some("assistant") => "assistant",
                    Some(_) => "user",
                    None => {
                        return Err(ApiError::invalid_request(format!(
                            "input[{i}].role: required for a message"
                        )))
                    }
                };
                json!({"role": role, "content": [{"type": "text", "text": message_text(item)}]})
            }
            "function_call" | "custom_tool_call" | "local_shell_call" => {
                let name = item.get("name").and_then(Value::as_str).unwrap_or("tool");
                let input = match item.get("arguments").and_then(Value::as_str) {
                    Some(arguments) => serde_json::from_str(arguments)
                        .unwrap_or_else(|_| Value::String(arguments.to_owned())),
                    None => item.get("input").cloned().unwrap_or(Value::Null),
                };
                json!({"role": "assistant", "content": [{
                    "type": "tool_use",
                    "id": call_id(item),
                    "name": name,
                    "input": input,
                }]})
            }
            "function_call_output" | "custom_tool_call_output" | "local_shell_call_output" => {
                json!({"role": "user", "content": [{
                    "type": "tool_result",
                    "tool_use_id": call_id(item),
                    "content": output_text(item.get("output")),
                }]})
            }
            _ => continue,
        };
        messages.push(message);
    }
    let offers_tools = object
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|tools| !tools.is_empty());
    let tools = if offers_tools {
        json!([{"name": "codex-tools"}])
    } else {
        json!([])
    };
    Request::from_json(&json!({
        "model": object.get("model").and_then(Value::as_str).unwrap_or("gpt-fake"),
        "stream": object.get("stream").and_then(Value::as_bool).unwrap_or(false),
        "tools": tools,
        "messages": messages,
    }))
}

/// A message item's text parts (`input_text`, `output_text`, or a bare string) joined.
fn message_text(item: &Value) -> String {
    match item.get("content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// A tool output: a string, or a list of content parts whose text is joined.
fn output_text(output: Option<&Value>) -> String {
    match output {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        Some(Value::Object(object)) => object
            .get("content")
            .and_then(Value::as_str)
            .map_or_else(|| Value::Object(object.clone()).to_string(), str::to_owned),
        _ => String::new(),
    }
}

fn call_id(item: &Value) -> String {
    item.get("call_id")
        .or_else(|| item.get("id"))
        .and_then(Value::as_str)
        .unwrap_or("call")
        .to_owned()
}

/// The workspace Codex announced in its `<environment_context>` (`<cwd>...</cwd>`), for
/// reading a file that `TOOL_EDIT` names relative to it.
fn workspace(body: &Value) -> Option<PathBuf> {
    body.get("input")?
        .as_array()?
        .iter()
        .map(message_text)
        .filter(|text| text.trim_start().starts_with(ENVIRONMENT_CONTEXT))
        .find_map(|text| {
            let start = text.find("<cwd>")? + "<cwd>".len();
            let end = start + text[start..].find("</cwd>")?;
            Some(PathBuf::from(text[start..end].trim()))
        })
}

/// One output item of the answer.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Message {
        id: String,
        pieces: Vec<Piece>,
    },
    Reasoning {
        id: String,
        pieces: Vec<Piece>,
    },
    /// A JSON function tool (`exec_command`).
    Function {
        id: String,
        call_id: String,
        name: String,
        arguments: String,
    },
    /// A freeform tool (`apply_patch`): its input is plain text.
    Custom {
        id: String,
        call_id: String,
        name: String,
        input: String,
    },
}

impl Item {
    /// The item as `response.output_item.added` shows it: nothing produced yet.
    fn added(&self) -> Value {
        match self {
            Item::Message { id, .. } => json!({
                "type": "message", "id": id, "role": "assistant", "status": "in_progress", "content": [],
            }),
            Item::Reasoning { id, .. } => json!({"type": "reasoning", "id": id, "summary": []}),
            Item::Function {
                id, call_id, name, ..
            } => json!({
                "type": "function_call", "id": id, "call_id": call_id, "name": name,
                "arguments": "", "status": "in_progress",
            }),
            Item::Custom {
                id, call_id, name, ..
            } => json!({
                "type": "custom_tool_call", "id": id, "call_id": call_id, "name": name,
                "input": "", "status": "in_progress",
            }),
        }
    }

    /// The finished item (`response.output_item.done`, and the response's `output`); text
    /// pieces are rendered again, so stamps here are the finishing time.
    fn done(&self) -> Value {
        match self {
            Item::Message { id, pieces } => json!({
                "type": "message", "id": id, "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": join(pieces), "annotations": []}],
            }),
            Item::Reasoning { id, pieces } => json!({
                "type": "reasoning", "id": id,
                "summary": [{"type": "summary_text", "text": join(pieces)}],
            }),
            Item::Function {
                id,
                call_id,
                name,
                arguments,
            } => json!({
                "type": "function_call", "id": id, "call_id": call_id, "name": name,
                "arguments": arguments, "status": "completed",
            }),
            Item::Custom {
                id,
                call_id,
                name,
                input,
            } => json!({
                "type": "custom_tool_call", "id": id, "call_id": call_id, "name": name,
                "input": input, "status": "completed",
            }),
        }
    }
}

fn join(pieces: &[Piece]) -> String {
    pieces.iter().map(Piece::render).collect()
}

/// The reply's blocks as Responses output items, with the scenario's Claude-named tools as
/// Codex's own: `Bash` -> `exec_command`, `Write` / `Edit` -> `apply_patch`.
fn output_items(reply: &Reply, workspace: Option<&Path>) -> Vec<Item> {
    let hex = || ids::message_id().trim_start_matches("msg_fake_").to_owned();
    reply
        .blocks
        .iter()
        .map(|block| match block {
            Block::Text(pieces) => Item::Message {
                id: format!("msg_fake_{}", hex()),
                pieces: pieces.clone(),
            },
            Block::Thinking { pieces, .. } => Item::Reasoning {
                id: format!("rs_fake_{}", hex()),
                pieces: pieces.clone(),
            },
            Block::ToolUse { name, input, .. } => {
                let call_id = format!("call_fake_{}", hex());
                let text = |key: &str| input.get(key).and_then(Value::as_str).unwrap_or("");
                match name.as_str() {
                    "Write" => Item::Custom {
                        id: format!("ctc_fake_{}", hex()),
                        call_id,
                        name: "apply_patch".to_owned(),
                        input: add_file_patch(text("file_path"), text("content")),
                    },
                    "Edit" => Item::Custom {
                        id: format!("ctc_fake_{}", hex()),
                        call_id,
                        name: "apply_patch".to_owned(),
                        input: update_file_patch(
                            text("file_path"),
                            text("old_string"),
                            text("new_string"),
                            workspace,
                        ),
                    },
                    _ => Item::Function {
                        id: format!("fc_fake_{}", hex()),
                        call_id,
                        name: "exec_command".to_owned(),
                        arguments: json!({"cmd": text("command")}).to_string(),
                    },
                }
            }
        })
        .collect()
}

/// An `apply_patch` that creates `path` with `content`.
pub fn add_file_patch(path: &str, content: &str) -> String {
    let mut patch = format!("*** Begin Patch\n*** Add File: {path}\n");
    for line in content.lines() {
        patch.push_str(&format!("+{line}\n"));
    }
    patch.push_str("*** End Patch\n");
    patch
}

/// An `apply_patch` that replaces the first `old` in `path` with `new`. A patch works on
/// whole lines, so the lines holding `old` are read from the file (relative paths against
/// the workspace); when it cannot be read, `old` and `new` are taken as whole lines.
pub fn update_file_patch(path: &str, old: &str, new: &str, workspace: Option<&Path>) -> String {
    let full = match workspace {
        Some(root) if Path::new(path).is_relative() => root.join(path),
        _ => PathBuf::from(path),
    };
    let (removed, added) = match std::fs::read_to_string(&full) {
        Ok(content) if !old.is_empty() && content.contains(old) => {
            let at = content.find(old).unwrap_or(0);
            let start = content[..at].rfind('\n').map_or(0, |i| i + 1);
            let end = content[at + old.len()..]
                .find('\n')
                .map_or(content.len(), |i| at + old.len() + i);
            let lines = &content[start..end];
            (lines.to_owned(), lines.replacen(old, new, 1))
        }
        _ => (old.to_owned(), new.to_owned()),
    };
    let mut patch = format!("*** Begin Patch\n*** Update File: {path}\n@@\n");
    for line in removed.lines() {
        patch.push_str(&format!("-{line}\n"));
    }
    for line in added.lines() {
        patch.push_str(&format!("+{line}\n"));
    }
    patch.push_str("*** End Patch\n");
    patch
}

/// The response object (`response.created` / `response.completed`, or the whole answer).
fn response_json(reply: &Reply, status: &str, output: Vec<Value>) -> Value {
    let cached = reply.usage.cache_read_input_tokens;
    // OpenAI counts cached tokens inside `input_tokens`.
    let input = reply.usage.input_tokens + cached;
    let mut response = json!({
        "id": format!("resp_fake_{}", reply.id.trim_start_matches("msg_fake_")),
        "object": "response",
        "status": status,
        "model": reply.model,
        "output": output,
    });
    if status == "completed" {
        response["usage"] = json!({
            "input_tokens": input,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": OUTPUT_TOKENS,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input + OUTPUT_TOKENS,
        });
    }
    response
}

/// The streamed answer.
fn stream_response(reply: Reply, workspace: Option<PathBuf>) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(BUFFER);
    tokio::spawn(async move {
        let id = reply.id.clone();
        if write_stream(&reply, workspace.as_deref(), &tx)
            .await
            .is_err()
        {
            // Normal for an interrupted turn: stop quietly.
            tracing::debug!(%id, "openai: client went away mid-stream");
        }
    });
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, Infallible>(bytes), rx))
    }));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&ids::request_id()) {
        headers.insert("x-request-id", value);
    }
    response
}

/// The client went away; nothing more to send.
struct Gone;

/// Writes the whole event sequence of `reply`.
async fn write_stream(
    reply: &Reply,
    workspace: Option<&Path>,
    tx: &mpsc::Sender<Bytes>,
) -> Result<(), Gone> {
    let mut sequence = 0u64;
    let mut send = |event: Value| {
        let frame = frame(event, sequence);
        sequence += 1;
        async move { tx.send(frame).await.map_err(|_| Gone) }
    };
    send(json!({"type": "response.created", "response": response_json(reply, "in_progress", vec![])}))
        .await?;
    let items = output_items(reply, workspace);
    let mut output = Vec::new();
    for (index, item) in items.iter().enumerate() {
        send(json!({"type": "response.output_item.added", "output_index": index, "item": item.added()}))
            .await?;
        match item {
            Item::Message { id, pieces } => {
                for (i, piece) in pieces.iter().enumerate() {
                    pause(reply, i, tx).await?;
                    send(json!({
                        "type": "response.output_text.delta", "item_id": id,
                        "output_index": index, "content_index": 0, "delta": piece.render(),
                    }))
                    .await?;
                }
            }
            Item::Reasoning { id, pieces } => {
                for (i, piece) in pieces.iter().enumerate() {
                    pause(reply, i, tx).await?;
                    send(json!({
                        "type": "response.reasoning_summary_text.delta", "item_id": id,
                        "output_index": index, "summary_index": 0, "delta": piece.render(),
                    }))
                    .await?;
                }
            }
            Item::Function { id, arguments, .. } => {
                for piece in json_pieces(arguments) {
                    send(json!({
                        "type": "response.function_call_arguments.delta", "item_id": id,
                        "output_index": index, "delta": piece,
                    }))
                    .await?;
                }
            }
            Item::Custom { .. } => {}
        }
        let done = item.done();
        output.push(done.clone());
        send(json!({"type": "response.output_item.done", "output_index": index, "item": done}))
            .await?;
    }
    send(json!({"type": "response.completed", "response": response_json(reply, "completed", output)}))
        .await
}

/// One server-sent event, named after its `type`, numbered as the real API numbers them.
fn frame(mut event: Value, sequence: u64) -> Bytes {
    event["sequence_number"] = json!(sequence);
    let name = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message")
        .to_owned();
    Bytes::from(format!("event: {name}\ndata: {event}\n\n"))
}

/// Waits the reply's pace before every chunk but an item's first; a hang-up ends the wait.
async fn pause(reply: &Reply, chunk: usize, tx: &mpsc::Sender<Bytes>) -> Result<(), Gone> {
    if chunk == 0 || reply.pace.is_zero() {
        return Ok(());
    }
    tokio::select! {
        () = tokio::time::sleep(reply.pace) => Ok(()),
        () = tx.closed() => Err(Gone),
    }
}

/// An error in OpenAI's shape, with the scripted status (and `retry-after` when set).
fn openai_error(error: ApiError) -> Response {
    let code = match error.status.as_u16() {
        429 => "rate_limit_exceeded",
        500 => "server_error",
        529 | 503 => "server_overloaded",
        _ => error.kind,
    };
    let body = json!({"error": {
        "message": error.message,
        "type": error.kind,
        "param": null,
        "code": code,
    }});
    let mut response = (error.status, Json(body)).into_response();
    if let Some(seconds) = error.retry_after {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from(seconds));
    }
    if let Ok(value) = HeaderValue::from_str(&ids::request_id()) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

#[cfg(test)]
mod tests;
