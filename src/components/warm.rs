//! Compiles the session pane's code right after hydration, before the first session is
//! opened. V8 compiles each WASM function on its first call, and the pane's first build
//! calls about a thousand of them (Chromium trace: `wasm.CompileLazy`), which made the first
//! open on a page ~20 ms slower at the median (BENCHMARKS.md, "Issue 8, third pass"). So
//! when the page has hydrated with no session shown, a sample session
//! ([`crate::client::warm`]) is decoded, folded and rendered into a detached element, in a
//! scratch store, and dropped before any of its effects can run. The pane's code is in a
//! module of its own (`components::panes`), so the warm-up is also what fetches it on a page
//! opened at `/`: once the socket is connected, so it never delays the page going live.

use super::use_store;
use super::workspace::SessionPanel;
use crate::client::warm::sample_session;
use crate::client::{ConnectionState, Store};
use leptos::prelude::*;

/// Warms the pane once the page is live (hydrated, socket connected), unless a session is
/// shown, and fetches the modules of what a click shows in the sidebar and the session pane
/// (`panes::sidebar_extra`, `panes::pane_extra`). (A shown session's rows are built when
/// its history comes, which compiles most of the same code; its header and composer were
/// hydrated, not built, so the next session's are built cold. Warming then would delay that
/// history.) Call from a
/// component: the sample renders under the caller's owner, so it finds the router and the
/// other page contexts.
pub fn after_hydration() {
    let store = use_store();
    // Weak: the effect belongs to this owner and must not keep it alive.
    let Some(parent) = Owner::current().map(|owner| owner.downgrade()) else {
        return;
    };
    Effect::new(move |started: Option<bool>| {
        if started == Some(true) {
            return true;
        }
        // Not after the socket: a page whose socket cannot connect still shows tool pages.
        load_pane_styles();
        if store.connection.get() != ConnectionState::Open {
            return false;
        }
        // A session shown has its pane's code already; the warm-up's own module is not
        // fetched for nothing.
        if store.active.get_untracked().is_none() {
            let parent = parent.clone();
            leptos::task::spawn_local(async move {
                // Warming is an optimisation: a module that does not come is fetched again
                // when a session is opened.
                let _ = warm(parent, store).await;
            });
        }
        // A conversation pane still being fetched comes first: it fetches these once built.
        let pane_pending = store.active.get_untracked().is_some()
            && document()
                .body()
                .is_some_and(|body| !body.has_attribute(super::conversation_route::PANE_AT));
        if !pane_pending {
            preload_extras();
        }
        true
    });
}

/// Links the panes' stylesheet that `/`'s head only named (`app::PaneStyles`), once, when
/// the page has hydrated (its WASM is in, so nothing of the first load shares the network
/// with it): from now on a click may open a pane, and the stylesheet (7 KB) comes well
/// before the pane's own module.
fn load_pane_styles() {
    let document = document();
    let selector = format!("meta[name=\"{}\"]", crate::client::PANE_STYLES);
    let Ok(Some(meta)) = document.query_selector(&selector) else {
        return;
    };
    let Some(href) = meta.get_attribute("content") else {
        return;
    };
    meta.remove();
    let (Ok(link), Ok(Some(head))) = (
        document.create_element("link"),
        document.query_selector("head"),
    ) else {
        return;
    };
    let _ = link.set_attribute("rel", "stylesheet");
    let _ = link.set_attribute("href", &href);
    let _ = head.append_child(&link);
}

/// Fetches what is a click away on every page (the sidebar's and the session pane's
/// click-only parts): after live, so a click does not wait for the network and going live
/// did not wait for them. Fetched once; a failed fetch is tried again by the click that
/// needs the module.
pub fn preload_extras() {
    leptos::task::spawn_local(async {
        let _ = super::panes::preload_sidebar_extra().await;
    });
    leptos::task::spawn_local(async {
        let _ = super::panes::preload_pane_extra().await;
    });
}

super::panes::split_point! {
/// Fetches the pane's module (the first call of a split point does) and renders the
/// sample.
async fn warm(parent: WeakOwner, store: Store) -> () {
    let Some(parent) = parent.upgrade() else {
        return Ok(());
    };
    if store.active.get_untracked().is_some() {
        return Ok(());
    }
    let owner = parent.child();
    // Effects never run under a paused owner: nothing the sample's pane would do on mount
    // (scroll, focus, ask for earlier pages) happens.
    owner.pause();
    let warmed = owner.with(|| {
        let scratch = Store::new();
        scratch.agents.set(store.agents.get_untracked());
        let session = match sample_session(&scratch) {
            Ok(session) => session,
            Err(error) => {
                leptos::logging::warn!("switchboard: no warm-up: {error}");
                return false;
            }
        };
        provide_context(scratch);
        let Ok(detached) = document().create_element("div") else {
            return false;
        };
        let mut pane = view! { <SessionPanel session/> }.build();
        pane.mount(&detached, None);
        pane.unmount();
        true
    });
    owner.cleanup();
    // For the end-to-end test and the benchmark: whether the warm-up ran.
    if let Some(root) = document().document_element() {
        let _ = root.set_attribute("data-pane-warm", if warmed { "done" } else { "failed" });
    }
}
/// Fetches the warm-up's module only.
preload preload_warm as warm;
}
