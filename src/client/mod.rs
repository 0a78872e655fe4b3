//! The browser's side of the protocol: the reactive [`store::Store`], the one
//! [`reducer::apply`] that folds server frames into it (with the server's read marker in
//! [`read_marker`]), the [`actions`] the UI calls, presence and sync status ([`sync`]), pure
//! helpers the components show data with ([`attachments`], [`format`](mod@format),
//! [`tool_view`], [`markdown`], [`highlight`]), and (browser build only) the socket, tab
//! persistence, the clipboard and the reading of pasted or dropped [`files`].

pub mod actions;
pub mod attachments;
pub mod files;
pub mod format;
pub mod history;
pub mod highlight;
pub mod ids;
pub mod markdown;
pub mod read_marker;
pub mod reducer;
pub mod store;
pub mod sync;
pub mod tool_view;

#[cfg(feature = "hydrate")]
pub mod clipboard;
#[cfg(feature = "hydrate")]
pub mod socket;
#[cfg(feature = "hydrate")]
pub mod storage;

#[cfg(test)]
mod tests;

pub use store::{ConnectionState, Store};

/// Starts the browser-only machinery after hydration: restores saved tabs, then connects.
/// Inert in other builds, so components can call it unconditionally from an effect.
pub fn start_browser(store: Store) {
    #[cfg(feature = "hydrate")]
    {
        storage::start(store);
        socket::start(store);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = store;
}
