//! Keeps the open tabs and read markers in `localStorage` (browser build only), so a reload
//! restores them. Applied after hydration, never during SSR, so the markup matches.

use super::actions::{restore_tabs, saved_tabs, SavedTabs};
use super::store::Store;
use leptos::prelude::*;

/// The `localStorage` key.
const KEY: &str = "switchboard.tabs.v1";

/// The page's `localStorage`; `None` where it is off (some privacy modes).
pub(crate) fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// What an earlier page load saved; nothing when absent or unreadable.
pub fn load() -> SavedTabs {
    storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Restores the saved tabs, then saves whenever tabs or read markers change.
pub fn start(store: Store) {
    restore_tabs(store, load());
    Effect::new(move |_| {
        let saved = saved_tabs(store);
        if let (Some(storage), Ok(text)) = (storage(), serde_json::to_string(&saved)) {
            // Quota or privacy mode: losing the tabs on reload is the only consequence.
            let _ = storage.set_item(KEY, &text);
        }
    });
}
