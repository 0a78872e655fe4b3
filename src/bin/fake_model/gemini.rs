//! The Gemini API side of the fake (`generativelanguage.googleapis.com/v1beta`), so the
//! `gemini` CLI can run offline with `GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:PORT`:
//!
//! - `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`: `data: <GenerateContentResponse>`
//!   server-sent events (text parts, `thought` parts, `functionCall` parts), the last one
//!   with `finishReason` and `usageMetadata`;
//! - `POST /v1beta/models/{model}:generateContent`: the same answer as one JSON object, or,
//!   when the request asks for JSON (`responseSchema` / `responseJsonSchema`, e.g. the CLI's
//!   model router with model `auto`), a JSON text that fits the schema;
//! - `POST /v1beta/models/{model}:countTokens`.
//!
//! The request is translated into the Anthropic shape `scenario.rs` reads, so the scenario
//! set is the same (echo with the message count, `THINK`, `TOOL_BASH:` / `TOOL_WRITE:` /
//! `TOOL_EDIT:` as the CLI's `run_shell_command` / `write_file` / `replace`, `SLOW`,
//! `BURST`, `STAMP`, `ERROR500` / `ERROR529` / `ERROR429`), and every call is recorded in
//! the same `/_requests` log. Errors take Google's shape, `{"error":{"code","message","status"}}`.

use crate::api_error::ApiError;
use crate::conversation::Request;
use crate::handlers::record;
use crate::ids;
use crate::reply::{Block, Piece, Reply, OUTPUT_TOKENS};
use crate::request_log::RequestLog;
use crate::scenario;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::convert::Infallible;
use tokio::sync::mpsc;

/// As in `handlers.rs`: the CLI sends its whole system prompt, tool schemas and history.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Events buffered ahead of the socket (as in `sse.rs`).
const BUFFER: usize = 32;
/// The CLI puts its workspace context into the first user turn under this tag; it is never
/// the user's own text and is not counted as a message.
const SESSION_CONTEXT: &str = "<session_context>";

/// The Gemini routes, recording into `log`. No fallback: it is merged into the Anthropic
/// router, whose fallback answers everything else.
pub fn router(log: RequestLog) -> Router {
    Router::new()
        .route("/v1beta/models/{target}", post(models))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(log)
}

/// `POST /v1beta/models/<model>:<method>`.
async fn models(
    State(log): State<RequestLog>,
    Path(target): Path<String>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let body = match record(&log, &method, &uri, &body) {
        Ok(body) => body,
        Err(error) => return google_error(error),
    };
    let (model, action) = target.split_once(':').unwrap_or((target.as_str(), ""));
    let result = match action {
        "streamGenerateContent" => translate(model, &body, true)
            .and_then(|request| scenario::answer(&request))
            .map(|reply| stream_response(reply, uri.query().unwrap_or(""))),
        "generateContent" => generate(model, &body),
        "countTokens" => Ok(count_tokens(&body)),
        _ => Err(ApiError::not_found(format!(
            "Not found: {method} {} (fake-model knows streamGenerateContent, generateContent, countTokens)",
            uri.path()
        ))),
    };
    result.unwrap_or_else(|error| {
        tracing::info!(status = %error.status, message = %error.message, "gemini: answering with an error");
        google_error(error)
    })
}

/// `:generateContent`: JSON that fits the schema when one is asked for, else the scripted
/// answer in one piece.
fn generate(model: &str, body: &Value) -> Result<Response, ApiError> {
    if let Some(schema) = response_schema(body) {
        let text = fill_schema(schema).to_string();
        let parts = vec![json!({"text": text})];
        return Ok(Json(response_json(
            &[parts],
            model,
            &ids::message_id(),
            100,
            true,
        ))
        .into_response());
    }
    let reply = scenario::answer(&translate(model, body, false)?)?;
    let parts: Vec<Value> = parts_of(&reply)
        .into_iter()
        .map(|(part, _)| part.render())
        .collect();
    let usage = reply.usage.input_tokens;
    Ok(Json(response_json(
        &[merge_text(parts)],
        &reply.model,
        &reply.id,
        usage,
        true,
    ))
    .into_response())
}

/// `:countTokens`: a quarter of the serialized contents, at least 1.
fn count_tokens(body: &Value) -> Response {
    let chars = body
        .get("contents")
        .map_or(0, |contents| contents.to_string().chars().count());
    Json(json!({"totalTokens": (chars / 4).max(1)})).into_response()
}

/// The schema a JSON-mode request asks its answer to fit.
fn response_schema(body: &Value) -> Option<&Value> {
    let config = body.get("generationConfig")?;
    config
        .get("responseJsonSchema")
        .or_else(|| config.get("responseSchema"))
        .filter(|schema| schema.is_object())
}

/// The smallest value that fits `schema` (OpenAPI-style `"OBJECT"` or JSON Schema
/// `"object"`): every property filled, the first enum value, numbers at their minimum or 1.
pub fn fill_schema(schema: &Value) -> Value {
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|values| values.first())
    {
        return first.clone();
    }
    if let Some(first) = ["anyOf", "oneOf"]
        .iter()
        .find_map(|key| schema.get(*key).and_then(Value::as_array)?.first())
    {
        return fill_schema(first);
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.to_ascii_lowercase(),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|kind| !kind.eq_ignore_ascii_case("null"))
            .unwrap_or("null")
            .to_ascii_lowercase(),
        _ if schema.get("properties").is_some() => "object".to_owned(),
        _ => String::new(),
    };
    match kind.as_str() {
        "object" => {
            let mut object = Map::new();
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (name, property) in properties {
                    object.insert(name.clone(), fill_schema(property));
                }
            }
            Value::Object(object)
        }
        "array" => {
            let wanted = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            let item = schema.get("items").map(fill_schema).unwrap_or(Value::Null);
            Value::Array((0..wanted.min(16)).map(|_| item.clone()).collect())
        }
        "string" => Value::String("fake-model".to_owned()),
        // At least 1: the CLI's router validates `complexity_score` as 1-100 without
        // saying so in the schema (a 0 makes it log a ZodError and fall back).
        "integer" | "number" => schema
            .get("minimum")
            .filter(|minimum| minimum.is_number())
            .cloned()
            .unwrap_or_else(|| json!(1)),
        "boolean" => Value::Bool(false),
        _ => Value::Null,
    }
}

/// The Gemini request as the Anthropic-shaped `Request` the scenarios read: `model` turns
/// become `assistant` ones, text parts text blocks, `functionCall` parts `tool_use`, and
/// `functionResponse` parts `tool_result` (their `response` as JSON text). Thought parts and
/// the CLI's `<session_context>` are left out, and so are turns left empty.
pub fn translate(model: &str, body: &Value, stream: bool) -> Result<Request, ApiError> {
    let contents = body
        .get("contents")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::invalid_request("contents: required (an array)"))?;
    let mut messages = Vec::new();
    for (i, content) in contents.iter().enumerate() {
        let role = match content.get("role").and_then(Value::as_str) {
            Some("model") => "assistant",
            Some("user") | None => "user",
            Some(other) => {
                return Err(ApiError::invalid_request(format!(
                    "contents[{i}].role: unknown role {other:?} (user or model)"
                )))
            }
        };
        let parts = content
            .get("parts")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::invalid_request(format!("contents[{i}].parts: required")))?;
        let blocks: Vec<Value> = parts.iter().filter_map(block_of).collect();
        if !blocks.is_empty() {
            messages.push(json!({"role": role, "content": blocks}));
        }
    }
    let offers_tools = body
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|tools| {
            tools.iter().any(|tool| {
                tool.get("functionDeclarations")
                    .and_then(Value::as_array)
                    .is_some_and(|declarations| !declarations.is_empty())
            })
        });
    let tools = if offers_tools {
        json!([{"name": "gemini-tools"}])
    } else {
        json!([])
    };
    Request::from_json(&json!({
        "model": model,
        "stream": stream,
        "tools": tools,
        "messages": messages,
    }))
}

/// One Gemini part as an Anthropic content block, or nothing for parts the scenarios skip.
fn block_of(part: &Value) -> Option<Value> {
    if part.get("thought").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    if let Some(text) = part.get("text").and_then(Value::as_str) {
        let kept = !text.trim().is_empty() && !text.trim_start().starts_with(SESSION_CONTEXT);
        return kept.then(|| json!({"type": "text", "text": text}));
    }
    if let Some(call) = part.get("functionCall") {
        let name = call.get("name").and_then(Value::as_str).unwrap_or("tool");
        return Some(json!({
            "type": "tool_use",
            "id": call.get("id").and_then(Value::as_str).unwrap_or(name),
            "name": name,
            "input": call.get("args").cloned().unwrap_or_else(|| json!({})),
        }));
    }
    if let Some(response) = part.get("functionResponse") {
        let name = response
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("tool");
        let output = response.get("response").cloned().unwrap_or(Value::Null);
        return Some(json!({
            "type": "tool_result",
            "tool_use_id": response.get("id").and_then(Value::as_str).unwrap_or(name),
            "content": output.to_string(),
        }));
    }
    None
}

/// One part of the answer, rendered when it is sent (stamps are taken then).
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(Piece),
    Thought(Piece),
    Call { name: String, args: Value },
}

impl Part {
    fn render(&self) -> Value {
        match self {
            Part::Text(piece) => json!({"text": piece.render()}),
            Part::Thought(piece) => json!({"text": piece.render(), "thought": true}),
            Part::Call { name, args } => json!({"functionCall": {"name": name, "args": args}}),
        }
    }
}

/// The answer's parts in order, each with whether the reply's pace applies before it (every
/// chunk of a block but its first, as `sse.rs` paces).
fn parts_of(reply: &Reply) -> Vec<(Part, bool)> {
    let mut parts = Vec::new();
    for block in &reply.blocks {
        match block {
            Block::Text(pieces) => parts.extend(
                pieces
                    .iter()
                    .enumerate()
                    .map(|(i, piece)| (Part::Text(piece.clone()), i > 0)),
            ),
            Block::Thinking { pieces, .. } => parts.extend(
                pieces
                    .iter()
                    .enumerate()
                    .map(|(i, piece)| (Part::Thought(piece.clone()), i > 0)),
            ),
            Block::ToolUse { name, input, .. } => {
                let (name, args) = gemini_tool(name, input);
                parts.push((Part::Call { name, args }, false));
            }
        }
    }
    parts
}

/// The scenario's Claude-named tool as the Gemini CLI's own tool and arguments.
fn gemini_tool(name: &str, input: &Value) -> (String, Value) {
    let field = |key: &str| input.get(key).cloned().unwrap_or(Value::Null);
    match name {
        "Bash" => (
            "run_shell_command".to_owned(),
            json!({"command": field("command"), "description": field("description")}),
        ),
        "Write" => (
            "write_file".to_owned(),
            json!({"file_path": field("file_path"), "content": field("content")}),
        ),
        "Edit" => (
            "replace".to_owned(),
            json!({
                "file_path": field("file_path"),
                "instruction": "Replace the requested text",
                "old_string": field("old_string"),
                "new_string": field("new_string"),
            }),
        ),
        other => (other.to_owned(), input.clone()),
    }
}

/// Adjacent plain text parts joined, for the one-piece (non-streamed) answer.
fn merge_text(parts: Vec<Value>) -> Vec<Value> {
    let mut merged: Vec<Value> = Vec::new();
    for part in parts {
        let plain = |p: &Value| p.get("text").is_some() && p.get("thought").is_none();
        if let (Some(last), true) = (merged.last_mut(), plain(&part)) {
            if plain(last) {
                let joined = format!(
                    "{}{}",
                    last["text"].as_str().unwrap_or_default(),
                    part["text"].as_str().unwrap_or_default()
                );
                last["text"] = Value::String(joined);
                continue;
            }
        }
        merged.push(part);
    }
    merged
}

/// One `GenerateContentResponse` carrying `parts` (the last of a stream adds the finish
/// reason and usage).
fn response_json(
    parts: &[Vec<Value>],
    model: &str,
    response_id: &str,
    prompt_tokens: u64,
    last: bool,
) -> Value {
    let parts: Vec<Value> = parts.iter().flatten().cloned().collect();
    let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
    let mut response = json!({"modelVersion": model, "responseId": response_id});
    if last {
        candidate["finishReason"] = json!("STOP");
        response["usageMetadata"] = json!({
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": OUTPUT_TOKENS,
            "totalTokenCount": prompt_tokens + OUTPUT_TOKENS,
        });
    }
    response["candidates"] = json!([candidate]);
    response
}

/// The streamed answer: `data: <json>\n\n` per part (the client asked `alt=sse`), or a JSON
/// array of the same responses without `alt=sse`, as the real API does.
fn stream_response(reply: Reply, query: &str) -> Response {
    let sse = query.split('&').any(|pair| pair == "alt=sse");
    let (tx, rx) = mpsc::channel::<Bytes>(BUFFER);
    tokio::spawn(async move {
        let id = reply.id.clone();
        if write_stream(&reply, sse, &tx).await.is_err() {
            // Normal for a cancelled turn: stop quietly.
            tracing::debug!(%id, "gemini: client went away mid-stream");
        }
    });
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, Infallible>(bytes), rx))
    }));
    let content_type = if sse {
        "text/event-stream"
    } else {
        "application/json"
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The client hung up.
struct Gone;

async fn write_stream(reply: &Reply, sse: bool, tx: &mpsc::Sender<Bytes>) -> Result<(), Gone> {
    let parts = parts_of(reply);
    let count = parts.len();
    for (i, (part, paced)) in parts.into_iter().enumerate() {
        if paced && !reply.pace.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(reply.pace) => {}
                () = tx.closed() => return Err(Gone),
            }
        }
        let last = i + 1 == count;
        let response = response_json(
            &[vec![part.render()]],
            &reply.model,
            &reply.id,
            reply.usage.input_tokens,
            last,
        );
        let frame = match (sse, i) {
            (true, _) => format!("data: {response}\n\n"),
            (false, 0) => format!("[{response}{}", if last { "]" } else { "" }),
            (false, _) => format!(",\n{response}{}", if last { "]" } else { "" }),
        };
        tx.send(Bytes::from(frame)).await.map_err(|_| Gone)?;
    }
    Ok(())
}

/// `ApiError` in Google's shape; the retry-after of a 429 is kept as a header.
fn google_error(error: ApiError) -> Response {
    let status = match error.status.as_u16() {
        400 => "INVALID_ARGUMENT",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        500 => "INTERNAL",
        503 | 529 => "UNAVAILABLE",
        _ => "UNKNOWN",
    };
    let body = json!({"error": {
        "code": error.status.as_u16(),
        "message": error.message,
        "status": status,
    }});
    let code =
        StatusCode::from_u16(error.status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (code, Json(body)).into_response();
    if let Some(seconds) = error.retry_after {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from(seconds));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(contents: Value) -> Value {
        json!({
            "contents": contents,
            "tools": [{"functionDeclarations": [{"name": "run_shell_command"}]}],
        })
    }

    fn user(text: &str) -> Value {
        json!({"role": "user", "parts": [{"text": text}]})
    }

    fn reply(contents: Value) -> Reply {
        scenario::answer(&translate("gemini-test", &body(contents), true).expect("valid"))
            .expect("reply")
    }

    fn text_of(reply: &Reply) -> String {
        parts_of(reply)
            .iter()
            .filter_map(|(part, _)| part.render()["text"].as_str().map(str::to_owned))
            .collect()
    }

    #[test]
    fn the_session_context_is_not_a_message() {
        let r = reply(json!([
            user("<session_context>\nThis is the Gemini CLI.\n</session_context>"),
            user("Say hello"),
        ]));
        assert_eq!(
            text_of(&r),
            "FAKE-REPLY: I saw 1 message(s). Your last message was: Say hello"
        );
    }

    #[test]
    fn tools_get_the_cli_names() {
        let r = reply(json!([user("TOOL_BASH:echo hi")]));
        let calls: Vec<Value> = parts_of(&r)
            .into_iter()
            .filter_map(|(part, _)| match part {
                Part::Call { .. } => Some(part.render()),
                _ => None,
            })
            .collect();
        assert_eq!(
            calls,
            [json!({"functionCall": {"name": "run_shell_command",
                "args": {"command": "echo hi", "description": "Run the requested command"}}})]
        );
        let r = reply(json!([user("TOOL_EDIT:/a|x|y")]));
        let call = parts_of(&r).last().expect("a part").0.render();
        assert_eq!(call["functionCall"]["name"], "replace");
        assert_eq!(call["functionCall"]["args"]["old_string"], "x");
    }

    #[test]
    fn function_responses_are_acknowledged() {
        let r = reply(json!([
            user("TOOL_WRITE:/tmp/x"),
            {"role": "model", "parts": [{"functionCall": {"name": "write_file", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse": {"id": "w1", "name": "write_file",
                "response": {"output": "ok"}}}]},
        ]));
        assert_eq!(text_of(&r), r#"Tool result received: {"output":"ok"}"#);
    }

    #[test]
    fn side_requests_without_tools_get_text() {
        let request =
            translate("m", &json!({"contents": [user("TOOL_BASH:true")]}), true).expect("valid");
        let r = scenario::answer(&request).expect("reply");
        assert!(text_of(&r).starts_with("FAKE-REPLY: I saw 1"));
    }

    #[test]
    fn json_mode_fits_the_router_schema() {
        let schema = json!({
            "type": "object",
            "properties": {
                "reasoning": {"type": "string"},
                "model_choice": {"type": "string", "enum": ["flash", "pro"]},
            },
            "required": ["reasoning", "model_choice"],
        });
        assert_eq!(
            fill_schema(&schema),
            json!({"reasoning": "fake-model", "model_choice": "flash"})
        );
        let upper = json!({"type": "OBJECT", "properties": {"n": {"type": "INTEGER"},
            "l": {"type": "ARRAY", "items": {"type": "STRING"}, "minItems": 1}}});
        assert_eq!(fill_schema(&upper), json!({"n": 1, "l": ["fake-model"]}));
    }

    #[test]
    fn errors_take_googles_shape() {
        let request = translate("m", &body(json!([user("ERROR500 please")])), true).expect("ok");
        let error = scenario::answer(&request).expect_err("fails");
        assert_eq!(
            google_error(error).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert!(translate(
            "m",
            &json!({"contents": [{"role": "x", "parts": []}]}),
            true
        )
        .is_err());
    }

    #[test]
    fn the_last_chunk_carries_finish_and_usage() {
        let r = response_json(&[vec![json!({"text": "a"})]], "m", "id", 110, true);
        assert_eq!(r["candidates"][0]["finishReason"], "STOP");
        assert_eq!(r["usageMetadata"]["totalTokenCount"], 130);
        let r = response_json(&[vec![json!({"text": "a"})]], "m", "id", 110, false);
        assert!(r.get("usageMetadata").is_none());
    }
}
