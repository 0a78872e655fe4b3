//! Keeps the app as tall as the part of the page the user can see (browser build only).
//! iOS Safari does not shrink the layout viewport (`100dvh` included) when the on-screen
//! keyboard opens, so the composer would sit under the keyboard; `visualViewport` reports
//! the visible height, and the app takes it through `--visible-height`. Android Chrome
//! resizes the page itself (`interactive-widget=resizes-content` in the viewport meta).

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// The custom property `.app`'s height reads (style/main.css).
const PROPERTY: &str = "--visible-height";

/// Follows the visual viewport's size for the life of the page.
pub fn start() {
    let Some(viewport) = web_sys::window().and_then(|w| w.visual_viewport()) else {
        return;
    };
    let follow = Closure::<dyn Fn()>::new(update);
    if viewport
        .add_event_listener_with_callback("resize", follow.as_ref().unchecked_ref())
        .is_ok()
    {
        // Listens as long as the page lives.
        follow.forget();
    }
    update();
}

/// Sets the visible height, unless the page is zoomed in: a pinch-zoomed view is smaller
/// than the page, and the app should not shrink to it.
fn update() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let (Some(viewport), Some(root)) = (
        window.visual_viewport(),
        window
            .document()
            .and_then(|d| d.document_element())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()),
    ) else {
        return;
    };
    let style = root.style();
    if (viewport.scale() - 1.0).abs() < 0.01 {
        let _ = style.set_property(PROPERTY, &format!("{}px", viewport.height().round() as i64));
    } else {
        let _ = style.remove_property(PROPERTY);
    }
}
