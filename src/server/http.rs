//! The HTTP side: Leptos SSR routes, server functions, /ws, and the compiled assets.

use super::guard::{self, CspNonce, GuardState};
use super::{ws, AppState};
use crate::app::{shell, App};
use axum::routing::get;
use axum::Router;
use leptos::prelude::{provide_context, use_context};
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;

/// The whole app as a router, so tests can serve it on any listener.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let registry = Arc::clone(&state.registry);
    let options = state.leptos_options.clone();
    let guard_state = GuardState {
        access: Arc::clone(&state.access),
        reload_port: std::env::var_os("LEPTOS_WATCH")
            .is_some()
            .then(|| u16::try_from(options.reload_port).ok())
            .flatten(),
    };
    Router::new()
        .route("/ws", get(ws::upgrade))
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(Arc::clone(&registry));
                provide_csp_nonce();
            },
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            guard_state,
            guard::guard,
        ))
        .with_state(state)
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
