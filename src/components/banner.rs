//! Banners above the chat: the connection (`connection-banner`), server errors that are
//! not about one session, and a session's lost conversation (`resume-banner`).

use super::use_store;
use crate::client::store::SessionView;
use crate::client::{actions, ConnectionState};
use leptos::prelude::*;

/// Shown while the socket is not connected; offers "Reconnect" after several failures.
#[component]
pub fn ConnectionBanner() -> impl IntoView {
    let store = use_store();
    move || {
        let state = store.connection.get();
        let (kind, text) = match state {
            ConnectionState::Open => return None,
            ConnectionState::Connecting => ("connecting", "Connecting to the server…".to_string()),
            ConnectionState::Reconnecting { attempt } => (
                "reconnecting",
                format!("Connection lost. Reconnecting… (attempt {attempt})"),
            ),
            ConnectionState::Offline { .. } => (
                "offline",
                "Cannot reach the server. Still trying now and then.".to_string(),
            ),
        };
        let offline = matches!(state, ConnectionState::Offline { .. });
        Some(view! {
            <div class="connection-banner" data-testid="connection-banner" data-connection=kind role="status">
                <span class="banner-text">{text}</span>
                {offline.then(|| view! {
                    <button
                        class="banner-button"
                        data-testid="reconnect-button"
                        on:click=move |_| actions::reconnect_now()
                    >
                        "Reconnect"
                    </button>
                })}
            </div>
        })
    }
}

/// How long a toast stays.
const TOAST_MS: u64 = 5_000;

/// A short message at the bottom of the window (`toast`), gone after a few seconds.
#[component]
pub fn Toast() -> impl IntoView {
    let store = use_store();
    Effect::new(move |_| {
        if store.toast.get().is_some() {
            set_timeout(
                move || store.toast.set(None),
                std::time::Duration::from_millis(TOAST_MS),
            );
        }
    });
    move || {
        store.toast.get().map(|message| {
            view! {
                <div class="toast" data-testid="toast" role="status" on:click=move |_| store.toast.set(None)>
                    {message}
                </div>
            }
        })
    }
}

/// The latest server error that is not about one session, dismissible.
#[component]
pub fn ServerErrorBanner() -> impl IntoView {
    let store = use_store();
    move || {
        store.server_error.get().map(|message| {
            view! {
                <div class="error-banner" role="alert">
                    <span class="banner-text">{message}</span>
                    <button
                        class="banner-button"
                        aria-label="Dismiss"
                        on:click=move |_| actions::dismiss_server_error(store)
                    >
                        "×"
                    </button>
                </div>
            }
        })
    }
}

/// At the top of a session's chat while its agent has lost the conversation (it could not
/// resume it and started fresh), until dismissed: the user must know the agent forgot.
#[component]
pub fn ResumeBanner(session: SessionView) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let reset = RwSignal::from(session.conversation_reset.clone());
    move || {
        reset.get().map(|reason| {
            view! {
                <div class="resume-banner" data-testid="resume-banner" role="alert">
                    <span class="alert-icon" aria-hidden="true">"⚠"</span>
                    <div class="banner-text">
                        <div class="resume-title">"The agent lost the conversation; started fresh."</div>
                        <div class="resume-reason">{reason}</div>
                    </div>
                    <button
                        class="banner-button"
                        data-testid="resume-banner-dismiss"
                        aria-label="Dismiss"
                        title="Dismiss (the notice stays in the conversation)"
                        on:click=move |_| actions::dismiss_conversation_reset(store, id)
                    >
                        "×"
                    </button>
                </div>
            }
        })
    }
}
