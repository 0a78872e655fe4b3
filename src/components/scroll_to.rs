//! Scrolling a transcript to one row (a search hit opened in its session): the row is put in
//! the middle of the list once it is rendered, and kept there while the rows around it
//! settle.

use leptos::html::Div;
use leptos::prelude::*;

/// Scrolls the row keyed `key` to the middle of the list once it is rendered (trying for
/// `frames` more animation frames while it is not there yet), and again while the rows
/// around it settle (markdown, tool cards and the window growing move it at first).
pub fn scroll_to_row(list_ref: NodeRef<Div>, key: u64, frames: u32) {
    request_animation_frame(move || {
        let Some(list) = list_ref.try_get_untracked().flatten() else {
            return;
        };
        if center_row(&list, key) {
            for ms in [150, 500] {
                set_timeout(
                    move || {
                        if let Some(list) = list_ref.try_get_untracked().flatten() {
                            center_row(&list, key);
                        }
                    },
                    std::time::Duration::from_millis(ms),
                );
            }
        } else if frames > 0 {
            scroll_to_row(list_ref, key, frames - 1);
        }
    });
}

/// Centres the row keyed `key` in the list; false when it is not rendered.
#[cfg(feature = "hydrate")]
fn center_row(list: &web_sys::HtmlDivElement, key: u64) -> bool {
    // The row's own element: its `.entry` wrapper may take no box of its own.
    let Ok(Some(row)) = list.query_selector(&format!("[data-key=\"{key}\"] > *")) else {
        return false;
    };
    let row_rect = row.get_bounding_client_rect();
    let list_rect = list.get_bounding_client_rect();
    let offset = row_rect.top() - list_rect.top();
    let room = (f64::from(list.client_height()) - row_rect.height()).max(0.0) / 2.0;
    list.set_scroll_top(list.scroll_top() + (offset - room).round() as i32);
    true
}

#[cfg(not(feature = "hydrate"))]
fn center_row<T>(_list: &T, _key: u64) -> bool {
    true
}
