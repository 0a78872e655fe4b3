//! The HTTP API under `/api/v1`: JSON in and out, errors as problem details with the
//! WebSocket's error codes, live events as Server-Sent Events, callers identified by API
//! tokens. Every handler calls the same registry services the WebSocket calls (`send`,
//! `cancel`, `answer_permission`, `rename`, `end_session`, ...) and the same replay
//! (`Subscription`) for its stream: the API adds a way in, no second copy of a rule.
//!
//! The router and the OpenAPI description (`/api/v1/openapi.json`) are built from one list
//! of handlers (`utoipa_axum::routes!`), so a route cannot exist without being described.

mod dto;
mod events;
mod problem;
mod sessions;
mod tokens;

pub use dto::*;
pub use problem::{code_name, status_of, ApiError, Problem, PROBLEM_JSON};
pub use tokens::ApiCaller;

use super::AppState;
use axum::extract::DefaultBodyLimit;
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Where the API lives.
pub const PREFIX: &str = "/api/v1";

/// The description's fixed parts; the paths and schemas come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "Drive Switchboard's agent sessions from scripts. Authenticate with an API \
            token (Settings > API tokens) as `Authorization: Bearer <token>`; the browser's \
            login cookie is not accepted. Errors are `application/problem+json` whose `code` is \
            the WebSocket's error code. Plain HTTP: put TLS in front when not on loopback."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags((name = "sessions", description = "Agent sessions, their events and their turns"))
)]
struct ApiDoc;

/// Adds the bearer scheme the `security` line names.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API's router and its description, from one list of handlers.
fn parts() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(sessions::list_sessions, sessions::create_session))
        .routes(routes!(
            sessions::get_session,
            sessions::update_session,
            sessions::end_session
        ))
        .routes(routes!(sessions::send_message))
        .routes(routes!(sessions::stop_session))
        .routes(routes!(sessions::answer_permission))
        .routes(routes!(events::stream_events))
        .routes(routes!(sessions::list_projects))
        .routes(routes!(openapi_json))
        .split_for_parts()
}

/// The OpenAPI description (3.1) of this API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    parts().1
}

/// This API's OpenAPI description.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "sessions",
    responses((status = 200, description = "The OpenAPI description", content_type = "application/json", body = Object)))]
async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi())
}

/// The `/api/v1` routes, behind the token check and a rate limit per token, with bodies up
/// to the WebSocket's frame limit (a message with its JSON around it).
pub fn router(state: &AppState) -> axum::Router<AppState> {
    let limit = state.registry.config().max_frame_bytes;
    let (router, _) = parts();
    // (A route rather than a fallback: the app's router has its own fallback, the pages.)
    router
        .route("/api/v1/{*rest}", axum::routing::any(not_found))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            limit,
            refuse_oversized,
        ))
        .layer(axum::middleware::from_fn(method_not_allowed_as_problem))
        // Layers run outside in: the token is checked first, then its rate.
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(crate::server::rate::RateBudgets::new(
                state.registry.config().max_frames_per_sec,
            )),
            tokens::limit_rate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            tokens::require_token,
        ))
}

/// Refuses a body whose `Content-Length` is over the limit before reading any of it (as
/// the socket refuses an oversized frame from its header); a body without one is cut at
/// the limit while it is read (`DefaultBodyLimit`).
async fn refuse_oversized(
    axum::extract::State(limit): axum::extract::State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => ApiError::TooLarge(format!(
            "a body of {length} bytes is over the {limit}-byte limit (limits.max_frame_bytes)"
        ))
        .into_response(),
        _ => next.run(request).await,
    }
}

/// axum answers a known path asked with another method by a bare 405; here it is a
/// problem like every other error, with axum's `Allow` header kept.
async fn method_not_allowed_as_problem(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|kind| {
            kind.as_bytes()
                .starts_with(problem::PROBLEM_JSON.as_bytes())
        });
    if response.status() != axum::http::StatusCode::METHOD_NOT_ALLOWED || is_problem {
        return response;
    }
    let allow = response.headers().get(axum::http::header::ALLOW).cloned();
    let mut problem =
        ApiError::MethodNotAllowed(format!("{path} does not take {method}")).into_response();
    if let Some(allow) = allow {
        problem
            .headers_mut()
            .insert(axum::http::header::ALLOW, allow);
    }
    problem
}

/// A path under `/api/v1/` that is no route: a problem, like every other error here.
async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no API route {}", uri.path()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_description_is_openapi_3_and_names_every_route() {
        let doc = serde_json::to_value(super::openapi()).expect("serializes");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
        let paths = doc["paths"].as_object().expect("paths");
        for path in [
            "/api/v1/sessions",
            "/api/v1/sessions/{id}",
            "/api/v1/sessions/{id}/messages",
            "/api/v1/sessions/{id}/stop",
            "/api/v1/sessions/{id}/permissions/{request_id}",
            "/api/v1/sessions/{id}/events",
            "/api/v1/projects",
            "/api/v1/openapi.json",
        ] {
            assert!(paths.contains_key(path), "{path} described");
        }
        assert!(doc["components"]["schemas"]["Problem"].is_object());
    }
}
