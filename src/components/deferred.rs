//! Parts whose code is fetched on demand (`panes`), shown once fetched; when the fetch
//! fails (the network, or a new release that replaced the page's modules) a notice says so
//! and "Try again" fetches again, instead of the whole app stopping.

use super::panes::LoadFailed;
use leptos::prelude::*;
use std::future::Future;

/// Renders what `load` gives once its code is fetched. `load` runs again on "Try again"
/// (and when a signal it reads changes).
#[component]
pub fn Deferred<L, Fut>(load: L) -> impl IntoView
where
    L: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AnyView, LoadFailed>> + Send + 'static,
{
    let attempt = RwSignal::new(0u32);
    move || {
        attempt.track();
        let loading = load();
        Suspend::new(async move {
            match loading.await {
                Ok(view) => view,
                Err(error) => {
                    let retry = Callback::new(move |()| attempt.update(|n| *n += 1));
                    view! { <LoadFailedNotice error retry/> }.into_any()
                }
            }
        })
    }
}

/// Says that a part could not be loaded, why, and offers to try again.
#[component]
pub fn LoadFailedNotice(error: LoadFailed, retry: Callback<()>) -> impl IntoView {
    view! {
        <div class="load-failed" role="alert" data-testid="load-failed">
            <p>"This part of Switchboard could not be loaded. Check the connection, then try again."</p>
            <p class="load-failed-detail">{error.0}</p>
            <button type="button" data-testid="load-retry" on:click=move |_| retry.run(())>
                "Try again"
            </button>
        </div>
    }
}

/// Reloads the page: what "Try again" does for a whole page whose code did not load (the
/// router builds a page's view once; a reload also fetches a new release's modules).
pub fn reload_page() {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}
