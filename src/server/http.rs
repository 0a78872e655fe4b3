//! The HTTP side: Leptos SSR routes, server functions, /ws, and the compiled assets.

use super::{ws, AppState};
use crate::app::{shell, App};
use axum::routing::get;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;

/// The whole app as a router, so tests can serve it on any listener.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let registry = Arc::clone(&state.registry);
    let options = state.leptos_options.clone();
    Router::new()
        .route("/ws", get(ws::upgrade))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(Arc::clone(&registry)),
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state)
}
