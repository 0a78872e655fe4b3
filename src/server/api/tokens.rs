//! Who may call the API: a valid API token as `Authorization: Bearer <token>`, nothing
//! else. The browser's login cookie is not accepted here, so a web page (which can make a
//! browser send its cookie, never a header of its choosing to another site without CORS,
//! which this server does not answer) cannot drive the API: no CSRF by construction. The
//! Host and Origin checks ran before, in the guard, as for every request.

use super::problem::ApiError;
use crate::server::AppState;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The API token a request came with (its id), for handlers that want to know.
#[derive(Debug, Clone)]
pub struct ApiCaller(pub Option<String>);

/// The middleware in front of every `/api/v1` route.
pub async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if !state.access.required() {
        // `--no-auth` (loopback only): the API is as open as the rest.
        request.extensions_mut().insert(ApiCaller(None));
        return next.run(request).await;
    }
    let headers = request.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let refusal = match bearer {
        Some(secret) => match state.api_tokens.check(secret) {
            Some(id) => {
                request.extensions_mut().insert(ApiCaller(Some(id)));
                return next.run(request).await;
            }
            None => "the API token is not valid (unknown or revoked)",
        },
        None if headers.contains_key(header::COOKIE) => {
            "the API does not accept the browser's login cookie; send an API token \
             (Settings > API tokens) as Authorization: Bearer <token>"
        }
        None => "send an API token (Settings > API tokens) as Authorization: Bearer <token>",
    };
    tracing::debug!(path = %request.uri().path(), "API request refused: {refusal}");
    ApiError::Unauthorized(refusal.into()).into_response()
}

/// After [`require_token`]: each API token may make `limits.max_frames_per_sec` requests a
/// second (bursts of five seconds' worth), as a socket may send frames; more get a 429
/// problem (`rate_limited`) with `Retry-After`, and nothing of the request is done.
pub async fn limit_rate(
    State(budgets): State<std::sync::Arc<crate::server::rate::RateBudgets>>,
    request: Request,
    next: Next,
) -> Response {
    let caller = request
        .extensions()
        .get::<ApiCaller>()
        .and_then(|caller| caller.0.clone());
    if budgets.take(&caller) {
        return next.run(request).await;
    }
    tracing::debug!(path = %request.uri().path(), "API request over the rate limit");
    let mut refusal = ApiError::RateLimited(format!(
        "more than {} requests a second with this token (limits.max_frames_per_sec); wait a moment and retry",
        budgets.rate()
    ))
    .into_response();
    refusal
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    refusal
}
