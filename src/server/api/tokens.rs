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
