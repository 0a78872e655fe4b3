//! Copying text to the system clipboard (browser build only), for the copy buttons of code
//! blocks. The answer comes back through a callback, so a button can say whether it worked.

use wasm_bindgen::JsCast;

/// Writes `text` to the clipboard, then calls `done` with whether that worked. Fails
/// (without throwing) where `navigator.clipboard` does not exist: outside secure contexts,
/// e.g. plain http on a LAN address.
pub fn copy_text(text: String, done: impl FnOnce(bool) + 'static) {
    let Some(window) = web_sys::window() else {
        return done(false);
    };
    let navigator = window.navigator();
    let clipboard = js_sys::Reflect::get(&navigator, &"clipboard".into())
        .ok()
        .filter(|clipboard| !clipboard.is_undefined() && !clipboard.is_null());
    let Some(clipboard) = clipboard else {
        return done(false);
    };
    let promise = clipboard
        .unchecked_into::<web_sys::Clipboard>()
        .write_text(&text);
    leptos::task::spawn_local(async move {
        done(wasm_bindgen_futures::JsFuture::from(promise).await.is_ok());
    });
}
