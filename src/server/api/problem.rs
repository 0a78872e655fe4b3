//! The API's errors: `application/problem+json` (RFC 9457) whose `code` is the WebSocket's
//! error code (`unknown_session`, `not_allowed`, `limit_reached`, ...), so a script and the
//! browser learn the same thing from a refusal. Also the JSON body extractor, whose
//! rejections (unreadable JSON, over the size limit) become problems too.

use crate::protocol::ErrorCode;
use crate::server::registry::ServiceError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answer.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `about:blank`, the code says it.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status's phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, for people.
    pub detail: String,
    /// The machine-readable code: the WebSocket's error codes (`unknown_session`,
    /// `invalid_state`, `too_large`, `malformed`, `not_allowed`, `limit_reached`,
    /// `over_budget`, `internal`), plus `unauthorized` (no valid API token), `not_found` and
    /// `method_not_allowed`.
    pub code: String,
}

/// Why an API request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A registry service refused or failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// No valid API token.
    #[error("{0}")]
    Unauthorized(String),
    /// The request could not be read.
    #[error("{0}")]
    Malformed(String),
    /// The body is over the limit.
    #[error("{0}")]
    TooLarge(String),
    /// Nothing has this id (other than a session).
    #[error("{0}")]
    NotFound(String),
    /// The route exists, not with this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// Too many requests with this token.
    #[error("{0}")]
    RateLimited(String),
}

impl ApiError {
    /// The HTTP status and the wire code.
    fn status_and_code(&self) -> (StatusCode, String) {
        match self {
            ApiError::Service(e) => {
                let code = e.code();
                (status_of(code), code_name(code))
            }
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized".into()),
            ApiError::Malformed(_) => (StatusCode::BAD_REQUEST, code_name(ErrorCode::Malformed)),
            ApiError::TooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                code_name(ErrorCode::TooLarge),
            ),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found".into()),
            ApiError::MethodNotAllowed(_) => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed".into())
            }
            ApiError::RateLimited(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                code_name(ErrorCode::RateLimited),
            ),
        }
    }

    /// The problem this error answers with.
    pub fn problem(&self) -> Problem {
        let (status, code) = self.status_and_code();
        // A storage failure's cause is in the log; the client learns only that it failed.
        let detail = match self {
            ApiError::Service(ServiceError::Storage(_)) => {
                "the server could not store or read this (details in its log)".into()
            }
            other => other.to_string(),
        };
        Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail,
            code,
        }
    }
}

/// The HTTP status of a wire error code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Malformed | ErrorCode::BadQuery => StatusCode::BAD_REQUEST,
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnknownSession => StatusCode::NOT_FOUND,
        ErrorCode::InvalidState => StatusCode::CONFLICT,
        ErrorCode::AgentFailed => StatusCode::BAD_GATEWAY,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::NotAllowed => StatusCode::FORBIDDEN,
        ErrorCode::LimitReached | ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::OverBudget => StatusCode::PAYMENT_REQUIRED,
    }
}

/// The wire name of a code (`unknown_session`), as the WebSocket's `Error` frame writes it.
pub fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "internal".into())
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Service(ServiceError::Storage(cause)) = &self {
            tracing::error!("API request failed in storage: {cause}");
        }
        self.problem().into_response()
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"switchboard\""),
            );
        }
        response
    }
}

/// A query string, refused as a problem (`malformed` 400) when it does not fit.
pub struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError::Malformed(rejection.body_text())),
        }
    }
}

/// A JSON body, refused as a problem (`malformed` 400, `too_large` 413) when unreadable.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::TooLarge(format!(
                    "the body is over the limit: {}",
                    rejection.body_text()
                )))
            }
            Err(rejection) => Err(ApiError::Malformed(rejection.body_text())),
        }
    }
}
