//! The browser's side of the protocol: the reactive [`store::Store`], the one
//! [`reducer::apply`] that folds server frames into it (with the server's read marker in
//! [`read_marker`], and the frames only a split pane reads in [`pane_frames`]), the [`actions`] the UI calls, presence and sync status ([`sync`]), pure
//! helpers the components show data with ([`attachments`], [`format`](mod@format),
//! [`tool_view`], [`markdown`] and its streaming [`markdown_stream`], [`highlight`], the
//! [`links`] that wait for a click, the [`invisible`] characters shown as marks), the pure
//! halves of the [`shortcuts`], the sidebar's session [`search`], the search over every
//! transcript ([`transcript_search`]), the [`import`] page's state, the notification [`alerts`], the
//! [`warm`]-up sample session, and (browser build only) the socket, tab persistence, the
//! clipboard, the keyboard listener, Web Notifications, the visible height on phones and
//! the reading of pasted or dropped [`files`].

pub mod actions;
pub mod alerts;
pub mod attachments;
pub mod changes;
pub mod compare;
pub mod files;
pub mod fold;
pub mod format;
pub mod highlight;
pub mod history;
pub mod ids;
pub mod import;
pub mod invisible;
pub mod links;
pub mod markdown;
pub mod markdown_stream;
pub mod outbox;
pub mod pane_frames;
pub mod projects;
pub mod read_marker;
pub mod reducer;
pub mod requests;
pub mod search;
pub mod session_frames;
pub mod shortcuts;
pub mod spend;
pub mod store;
pub mod sync;
pub mod tool_view;
pub mod transcript_frames;
pub mod transcript_search;
pub mod warm;

/// The global under which the page's head opens the socket early and says `Hello` on it
/// (`app::EarlySocket`), for [`socket`] to adopt: `{socket, received, hello, client}`.
pub const EARLY_SOCKET: &str = "__switchboardSocket";

/// The id of the `<script type="application/json">` in which the page's head carries the
/// session and project lists the server rendered it with (`app::FirstPaintData`), for the
/// hydrating app to start from the same lists.
pub const FIRST_PAINT: &str = "switchboard-first-paint";

/// The `<meta name>` under which `/`'s head names the panes' stylesheet, fetched once the
/// page is live (`app::PaneStyles`).
pub const PANE_STYLES: &str = "switchboard-pane-styles";

#[cfg(feature = "hydrate")]
pub mod clipboard;
#[cfg(feature = "hydrate")]
pub mod keys;
#[cfg(feature = "hydrate")]
pub mod notify;
#[cfg(feature = "hydrate")]
pub mod socket;
#[cfg(feature = "hydrate")]
pub mod storage;
#[cfg(feature = "hydrate")]
pub mod viewport;

#[cfg(test)]
mod tests;

pub use store::{ConnectionState, Store};

/// Starts the browser-only machinery after hydration: restores saved tabs, connects, and
/// keeps the app as tall as the visible page.
/// Inert in other builds, so components can call it unconditionally from an effect.
pub fn start_browser(store: Store) {
    #[cfg(feature = "hydrate")]
    {
        storage::start(store);
        socket::start(store);
        viewport::start();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = store;
}

/// Starts the page-wide listeners once hydrated: the keyboard shortcuts and the
/// notifications about background sessions. `navigate` opens a path in the router;
/// `show_sidebar` opens the drawer on phones. Inert in other builds.
pub fn start_shortcuts_and_alerts(
    store: Store,
    navigate: impl Fn(&str) + Clone + 'static,
    show_sidebar: impl Fn() + 'static,
) {
    #[cfg(feature = "hydrate")]
    {
        keys::start(store, navigate.clone(), show_sidebar);
        notify::start(store, navigate);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (store, navigate, show_sidebar);
}
