//! Switchboard: run many AI coding-agent sessions side by side in browser tabs. The crate
//! is both the server (feature `ssr`) and the browser app (feature `hydrate`).

// Leptos view types nest deeply; the default limit is too low for the SSR build.
#![recursion_limit = "256"]

pub mod app;
pub mod client;
pub mod components;
pub mod protocol;
#[cfg(feature = "ssr")]
pub mod server;

/// The browser entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Async: a lazy route's pane module is fetched before its markup is hydrated.
    let Some(body) = leptos::prelude::document().body() else {
        leptos::logging::error!("switchboard: the page has no body to hydrate");
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let owner = leptos::mount::hydrate_from_async(body.clone(), app::App).await;
        owner.forget();
        // Lets tests (and people debugging) see that the page is interactive now.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}

/// Room in the WASM's read-only data for the splitter (the split release build only).
///
/// `wasm-split` lays each module's share of `.rodata` out again, with its own alignment
/// padding; when the result is longer than the linker's segment, even by a few bytes, it
/// gives up and puts the whole segment (all modules' data, 264 KB) in the main module,
/// which then grew by 49 KB brotli ("Overlong segment 0 by 144 after relocation"). These
/// bytes are kept by the linker (`#[used]`) but referenced by no code, so the splitter
/// places them in no module: they only give the segment room. The release build fails,
/// naming this, if that is ever not enough (`xtask`'s `check_data_was_split`).
#[cfg(all(feature = "hydrate", feature = "split"))]
#[used]
static SPLIT_DATA_ROOM: [u8; 4096] = [0xA5; 4096];
