//! Errors in the Anthropic API's shape: `{"type":"error","error":{"type","message"},
//! "request_id"}` with a matching HTTP status, for scripted failures and bad requests alike.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// One error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Anthropic's `error.type`, e.g. `invalid_request_error`.
    pub kind: &'static str,
    pub message: String,
    /// Seconds for a `retry-after` header (the SDK's retry logic reads it).
    pub retry_after: Option<u32>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400: the request itself is malformed.
    pub fn invalid_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    /// 404: no such endpoint.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found_error", message)
    }

    /// Scripted `ERROR529`.
    pub fn overloaded() -> ApiError {
        let status = StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        ApiError::new(status, "overloaded_error", "fake 529: overloaded")
    }

    /// Scripted `ERROR500`. The message is what the CLI shows after "API Error: 500 " (the
    /// captures read "API Error: 500 fake 500. This is a server-side issue, ...").
    pub fn internal() -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "api_error", "fake 500")
    }

    /// Scripted `ERROR429`, with `retry-after: 0` so a retrying client does not wait.
    pub fn rate_limited() -> ApiError {
        ApiError {
            retry_after: Some(0),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                "fake 429: rate limited",
            )
        }
    }

    /// The response, tagged with `request_id` in both the body and the header, as the real
    /// API does.
    pub fn into_response_with_id(self, request_id: &str) -> Response {
        let body = json!({
            "type": "error",
            "error": {"type": self.kind, "message": self.message},
            "request_id": request_id,
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(request_id) {
            headers.insert("request-id", value);
        }
        if let Some(seconds) = self.retry_after {
            headers.insert("retry-after", HeaderValue::from(seconds));
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.into_response_with_id(&crate::ids::request_id())
    }
}
