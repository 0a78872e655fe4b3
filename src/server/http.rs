//! The HTTP side: Leptos SSR routes, server functions, /ws, and the compiled assets.

use super::guard::{self, CspNonce, GuardState};
use super::{ws, AppState};
use crate::app::{shell, App};
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use leptos::prelude::{provide_context, use_context};
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;

/// The whole app as a router, so tests can serve it on any listener.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let registry = Arc::clone(&state.registry);
    let access = Arc::clone(&state.access);
    let api_tokens = Arc::clone(&state.api_tokens);
    let machines = state.machines.clone();
    let options = state.leptos_options.clone();
    // The compiled assets, with their build-time .br/.gz (scripts/build-release.sh, or
    // `cargo leptos build --release --precompress`) when present. Served here rather than by leptos_axum's fallback, which
    // drops If-Modified-Since and so could never answer 304.
    let pkg_route = format!("/{}", options.site_pkg_dir);
    let pkg_dir = format!("{}/{}", options.site_root, options.site_pkg_dir);
    remove_stale_precompressed(std::path::Path::new(&pkg_dir));
    let pkg = ServeDir::new(pkg_dir)
        .precompressed_br()
        .precompressed_gzip();
    let guard_state = GuardState {
        access: Arc::clone(&state.access),
        reload_port: std::env::var_os("LEPTOS_WATCH")
            .is_some()
            .then(|| u16::try_from(options.reload_port).ok())
            .flatten(),
    };
    Router::new()
        .nest_service(&pkg_route, pkg)
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(Arc::clone(&registry));
                provide_context(Arc::clone(&access));
                provide_context(Arc::clone(&api_tokens));
                provide_context(machines.clone());
                provide_csp_nonce();
            },
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn(revalidate_static_files))
        // Pages and server-function answers are compressed on the fly (br quality 4, gzip
        // default). Answers that already carry a Content-Encoding, i.e. the precompressed
        // .br/.gz assets, pass through untouched.
        .layer(CompressionLayer::new())
        // Added after the layers above, so the WebSocket is never compressed by them
        // (only the guard below wraps it).
        .route("/ws", get(ws::upgrade))
        // Other machines' runners: each checks its caller itself (a code, a credential).
        .route(
            super::runner::wire::ENROLL_PATH,
            axum::routing::post(super::machines::http::enroll),
        )
        .route(
            super::runner::wire::CONNECT_PATH,
            get(super::machines::http::connect),
        )
        // The API: its own token check inside, the guard's Host and Origin checks outside.
        .merge(super::api::router(&state))
        .route(
            super::login_http::LOGOUT_PATH,
            axum::routing::post(super::login_http::logout),
        )
        .route(
            super::login_http::LOGOUT_ALL_PATH,
            axum::routing::post(super::login_http::logout_all),
        )
        .layer(axum::middleware::from_fn_with_state(
            guard_state,
            guard::guard,
        ))
        .with_state(state)
}

/// Static files (the answers with a Last-Modified, which only the file server sets) get a
/// `Cache-Control`: a year for the content-hashed WASM, JS and CSS (a new build has new
/// names), `no-cache` for the rest (revalidated with If-Modified-Since: a small 304).
async fn revalidate_static_files(request: Request, next: Next) -> Response {
    let cache_control = super::assets::cache_control(request.uri().path());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if headers.contains_key(header::LAST_MODIFIED) && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        );
        // A precompressed file's body depends on Accept-Encoding; ServeDir does not say so.
        if headers.contains_key(header::CONTENT_ENCODING) && !headers.contains_key(header::VARY) {
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
    }
    response
}

/// Hands the guard's nonce for this request to Leptos, which puts it on its inline
/// hydration scripts (the CSP allows inline scripts with that nonce only).
fn provide_csp_nonce() {
    let nonce = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
    if let Some(CspNonce(nonce)) = nonce {
        provide_context(leptos::nonce::Nonce::from_value(nonce));
    }
}

/// Deletes `.br`/`.gz` files older than the asset they compress: a later build without
/// `--precompress` (`cargo leptos watch`) leaves them behind, and serving them would send
/// the browser yesterday's WASM. Runs at start; `cargo leptos watch` restarts us per build.
fn remove_stale_precompressed(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let modified = |path: &std::path::Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    for entry in entries.flatten() {
        let compressed = entry.path();
        let is_compressed = matches!(
            compressed.extension().and_then(|e| e.to_str()),
            Some("br" | "gz")
        );
        if !is_compressed {
            continue;
        }
        let original = compressed.with_extension("");
        let stale = match (modified(&original), modified(&compressed)) {
            (Some(original), Some(compressed)) => original > compressed,
            (None, _) => true,
            _ => false,
        };
        if stale {
            match std::fs::remove_file(&compressed) {
                Ok(()) => {
                    tracing::info!(file = %compressed.display(), "removed a stale precompressed asset")
                }
                Err(e) => {
                    tracing::warn!(file = %compressed.display(), "cannot remove a stale precompressed asset: {e}")
                }
            }
        }
    }
}
