//! Copying text to the system clipboard (browser build only), for the copy buttons of code
//! blocks. The answer comes back through a callback, so a button can say whether it worked.
//!
//! What is copied is what the page shows: the characters it would not show (bidi
//! overrides, zero-width and control characters, terminal escapes; see
//! [`crate::client::invisible`]) are left out here, on the one path to the clipboard, so a
//! block that shows `ls` never pastes `ls` plus an escape sequence into a terminal.

use super::invisible::clean_for_copy;
use wasm_bindgen::JsCast;

/// Writes `text` without its hidden characters to the clipboard, then calls `done` with
/// how many were left out (`Some(0)`: none), or `None` when copying failed. Where
/// `navigator.clipboard` does not exist (outside secure contexts, e.g. plain http on a LAN
/// address) or refuses, it copies the selection of a hidden text field instead.
pub fn copy_text(text: &str, done: impl FnOnce(Option<usize>) + 'static) {
    let (text, removed) = clean_for_copy(text);
    let done = move |worked: bool| done(worked.then_some(removed));
    let Some(window) = web_sys::window() else {
        return done(false);
    };
    let navigator = window.navigator();
    let clipboard = js_sys::Reflect::get(&navigator, &"clipboard".into())
        .ok()
        .filter(|clipboard| !clipboard.is_undefined() && !clipboard.is_null());
    let Some(clipboard) = clipboard else {
        return done(copy_by_selection(&text));
    };
    let promise = clipboard
        .unchecked_into::<web_sys::Clipboard>()
        .write_text(&text);
    leptos::task::spawn_local(async move {
        let worked = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
        done(worked || copy_by_selection(&text));
    });
}

/// The older way every browser still has: select `text` in a hidden, read-only text field
/// and run the `copy` command; focus goes back to where it was.
fn copy_by_selection(text: &str) -> bool {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return false;
    };
    let Some(body) = document.body() else {
        return false;
    };
    let Ok(field) = document.create_element("textarea") else {
        return false;
    };
    let field: web_sys::HtmlTextAreaElement = field.unchecked_into();
    field.set_value(text);
    field.set_read_only(true);
    // Off screen by a class (the page's CSP allows no inline styles).
    field.set_class_name("clipboard-scratch");
    let focused = document.active_element();
    if body.append_child(&field).is_err() {
        return false;
    }
    field.select();
    let copied = document
        .unchecked_ref::<web_sys::HtmlDocument>()
        .exec_command("copy")
        .unwrap_or(false);
    field.remove();
    if let Some(element) = focused.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = element.focus();
    }
    copied
}
