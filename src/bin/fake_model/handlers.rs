//! The HTTP surface: `POST /v1/messages` (streamed or not), `POST /v1/messages/count_tokens`,
//! `GET`/`DELETE /_requests` for tests, and an Anthropic-shaped 404 for everything else.
//! Every API call is recorded before it is answered, bad ones included.

use crate::api_error::ApiError;
use crate::conversation::Request;
use crate::ids;
use crate::request_log::RequestLog;
use crate::{scenario, sse};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

/// CLI requests carry the system prompt, tool schemas and whole history (images too);
/// axum's 2 MB default would refuse long conversations.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The application, recording into `log`.
pub fn router(log: RequestLog) -> Router {
    Router::new()
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .route(
            "/_requests",
            axum::routing::get(list_requests).delete(clear_requests),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(log)
}

/// Records the request and parses its body as JSON; a body that is not JSON is recorded as
/// text and refused with a 400.
pub(crate) fn record(
    log: &RequestLog,
    method: &Method,
    uri: &Uri,
    body: &Bytes,
) -> Result<Value, ApiError> {
    let parsed = if body.is_empty() {
        Ok(Value::Null)
    } else {
        serde_json::from_slice::<Value>(body)
    };
    let recorded = match &parsed {
        Ok(value) => value.clone(),
        Err(_) => Value::String(String::from_utf8_lossy(body).into_owned()),
    };
    log.push(json!({
        "method": method.as_str(),
        "path": uri.path(),
        "query": uri.query(),
        "body": recorded,
    }));
    parsed.map_err(|e| ApiError::invalid_request(format!("request body is not valid JSON: {e}")))
}

/// `POST /v1/messages`: the scripted answer, as SSE when `stream` is true.
async fn messages(
    State(log): State<RequestLog>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let request_id = ids::request_id();
    let answer = record(&log, &method, &uri, &body)
        .and_then(|body| Request::from_json(&body))
        .and_then(|request| scenario::answer(&request).map(|reply| (request.stream, reply)));
    let (stream, reply) = match answer {
        Ok(answer) => answer,
        Err(error) => {
            tracing::info!(status = %error.status, message = %error.message, "answering with an error");
            return error.into_response_with_id(&request_id);
        }
    };
    tracing::info!(id = %reply.id, stream, stop_reason = reply.stop_reason, "answering");
    let mut response = if stream {
        let mut response = sse::body(reply).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    } else {
        Json(reply.to_message_json()).into_response()
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("request-id", value);
    }
    response
}

/// `POST /v1/messages/count_tokens`: a deterministic estimate, a quarter of the serialized
/// `messages` (and `system`, `tools`) length, at least 1.
async fn count_tokens(
    State(log): State<RequestLog>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let body = match record(&log, &method, &uri, &body) {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let Some(messages) = body.get("messages").filter(|m| m.is_array()) else {
        return ApiError::invalid_request("messages: Field required (an array)").into_response();
    };
    let chars: usize = [Some(messages), body.get("system"), body.get("tools")]
        .into_iter()
        .flatten()
        .map(|value| value.to_string().chars().count())
        .sum();
    Json(json!({"input_tokens": (chars / 4).max(1)})).into_response()
}

/// `GET /_requests`: every recorded request, oldest first.
async fn list_requests(State(log): State<RequestLog>) -> Json<Vec<Value>> {
    Json(log.snapshot())
}

/// `DELETE /_requests`: forget them.
async fn clear_requests(State(log): State<RequestLog>) -> Json<Value> {
    Json(json!({"cleared": log.clear()}))
}

/// Anything else: recorded (a test may want to know the CLI called it), then a 404.
async fn not_found(
    State(log): State<RequestLog>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    // The body's validity does not matter for a 404; it is recorded either way.
    let _ = record(&log, &method, &uri, &body);
    tracing::info!(%method, %uri, "no such endpoint");
    ApiError::not_found(format!("Not found: {method} {}", uri.path())).into_response()
}
