//! Web Notifications (browser build only): the permission prompt behind the sidebar's
//! toggle, the choice kept in `localStorage`, and an effect that watches every session's
//! state and tells about the ones not in view ([`super::alerts`] decides which changes).

use super::actions::session_path;
use super::alerts::{alert_for, NotifyStatus};
use super::storage::storage;
use super::store::Store;
use crate::protocol::{SessionId, SessionState};
use leptos::prelude::*;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Notification, NotificationOptions, NotificationPermission};

/// The `localStorage` key of the toggle: `on` or `off`.
const KEY: &str = "switchboard.notify.v1";

/// Whether this browser has Web Notifications at all (not in every WebView, nor on HTTP
/// origins other than localhost).
fn supported() -> bool {
    js_sys::Reflect::has(&window(), &JsValue::from_str("Notification")).unwrap_or(false)
}

fn saved_on() -> bool {
    storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .is_some_and(|value| value == "on")
}

fn save(on: bool) {
    if let Some(storage) = storage() {
        // Privacy mode: the choice is then forgotten on reload, nothing worse.
        let _ = storage.set_item(KEY, if on { "on" } else { "off" });
    }
}

/// The toggle's state: the browser's permission, and whether it was turned on here.
pub fn status() -> NotifyStatus {
    if !supported() {
        return NotifyStatus::Unsupported;
    }
    match Notification::permission() {
        NotificationPermission::Granted if saved_on() => NotifyStatus::On,
        NotificationPermission::Denied => NotifyStatus::Blocked,
        _ => NotifyStatus::Off,
    }
}

/// Turns notifications off, or on (asking the browser when it has not been asked yet).
pub fn toggle(done: impl FnOnce(NotifyStatus) + 'static) {
    match status() {
        NotifyStatus::On => {
            save(false);
            done(NotifyStatus::Off);
        }
        NotifyStatus::Unsupported | NotifyStatus::Blocked => done(status()),
        NotifyStatus::Off if Notification::permission() == NotificationPermission::Granted => {
            save(true);
            done(NotifyStatus::On);
        }
        NotifyStatus::Off => {
            // The callback form works in every browser that has the API; the answer is
            // read back from `Notification.permission` rather than the callback's argument.
            let answered = Closure::once_into_js(move |_: JsValue| {
                save(Notification::permission() == NotificationPermission::Granted);
                done(status());
            });
            if Notification::request_permission_with_permission_callback(answered.unchecked_ref())
                .is_err()
            {
                leptos::logging::warn!("switchboard: the notification prompt failed");
            }
        }
    }
}

/// Watches the sessions (once per page) and shows a notification when one that is not in
/// view finishes a turn, fails or asks for permission. `navigate` opens its tab on a click.
pub fn start(store: Store, navigate: impl Fn(&str) + Clone + 'static) {
    thread_local! {
        static STARTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if STARTED.with(|s| s.replace(true)) {
        return;
    }
    // The previous run's states, in list order: a change is a difference from them. A
    // session seen for the first time only records its state (replayed history is not
    // news). A list, not a map: it is short, and a map type costs WASM bytes.
    Effect::new(move |previous: Option<Vec<(SessionId, SessionState)>>| {
        let seen = previous.unwrap_or_default();
        let active = store.active.get_untracked();
        let views = store.sessions.get();
        let mut now = Vec::with_capacity(views.len());
        for (index, view) in views.into_iter().enumerate() {
            let state = view.meta.with(|m| m.state.clone());
            // Usually at the same place as last time; else searched.
            let before = match seen.get(index) {
                Some((id, state)) if *id == view.id => Some(state),
                _ => seen.iter().find(|(id, _)| *id == view.id).map(|(_, s)| s),
            };
            if let Some(before) = before {
                if let Some(alert) = alert_for(before, &state) {
                    let in_view = active == Some(view.id) && !document().hidden();
                    if !in_view && status() == NotifyStatus::On {
                        let (title, preview) = view
                            .meta
                            .with_untracked(|m| (m.title.clone(), m.preview.clone()));
                        show(view.id, &title, &alert.body(&preview), navigate.clone());
                    }
                }
            }
            now.push((view.id, state));
        }
        now
    });
}

/// One notification; a newer one about the same session replaces it (same tag).
fn show(id: SessionId, title: &str, body: &str, navigate: impl Fn(&str) + 'static) {
    let options = NotificationOptions::new();
    options.set_body(body);
    options.set_tag(&id.to_string());
    let Ok(notification) = Notification::new_with_options(title, &options) else {
        return;
    };
    let shown = notification.clone();
    let on_click = Closure::<dyn FnMut()>::new(move || {
        let _ = window().focus();
        navigate(&session_path(id));
        shown.close();
    });
    // Freed with the notification by the JS garbage collector.
    notification.set_onclick(Some(on_click.into_js_value().unchecked_ref()));
}
