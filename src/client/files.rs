//! Images the user pastes, drops or picks into a composer: read in the browser (with
//! `FileReader`), checked and encoded by [`super::attachments`], then added to the session's
//! pending attachments. Refusals (not an image, too large) are toasts. Outside the browser
//! build these are no-ops: SSR never runs event handlers.

use super::store::Store;
use crate::protocol::SessionId;
use leptos::ev::{ClipboardEvent, DragEvent, Event};

/// Attaches the images of a paste into `id`'s composer. A paste that carries text as well
/// pastes only the text: spreadsheets and word processors put a picture of the copied
/// cells or lines on the clipboard too, and nobody means to send that.
pub fn on_paste(store: Store, id: SessionId, ev: &ClipboardEvent) {
    #[cfg(feature = "hydrate")]
    browser::paste(store, id, ev);
    #[cfg(not(feature = "hydrate"))]
    let _ = (store, id, ev);
}

/// Lets files be dropped (the browser refuses drops by default) and returns whether the
/// drag carries files, for the "drop here" highlight.
pub fn on_drag_over(ev: &DragEvent) -> bool {
    #[cfg(feature = "hydrate")]
    return browser::drag_over(ev);
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        false
    }
}

/// Attaches the images dropped on `id`'s pane. Files must never fall through to the
/// browser, which would leave the app to show the image instead.
pub fn on_drop(store: Store, id: SessionId, ev: &DragEvent) {
    #[cfg(feature = "hydrate")]
    browser::drop(store, id, ev);
    #[cfg(not(feature = "hydrate"))]
    let _ = (store, id, ev);
}

/// Keeps files dropped outside a session pane (on the sidebar, say) from making the browser
/// leave the app to show them. Once per page; the listeners live as long as it.
pub fn guard_window() {
    #[cfg(feature = "hydrate")]
    browser::guard_window();
}

/// Attaches the images picked in an `<input type=file>`, then empties it so picking the
/// same file again is a change too.
pub fn on_file_input(store: Store, id: SessionId, ev: &Event) {
    #[cfg(feature = "hydrate")]
    browser::file_input(store, id, ev);
    #[cfg(not(feature = "hydrate"))]
    let _ = (store, id, ev);
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::super::actions;
    use super::super::attachments::{check_file, image_attachment};
    use super::*;
    use leptos::prelude::*;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    use web_sys::{DataTransfer, File, FileList, FileReader, HtmlInputElement};

    pub fn paste(store: Store, id: SessionId, ev: &ClipboardEvent) {
        let Some(data) = ev.clipboard_data() else {
            return;
        };
        let files = files_of(data.files());
        let has_text = data
            .get_data("text/plain")
            .is_ok_and(|text| !text.trim().is_empty());
        if files.is_empty() || has_text {
            return;
        }
        ev.prevent_default();
        read_all(store, id, files);
    }

    pub fn drag_over(ev: &DragEvent) -> bool {
        let Some(data) = ev.data_transfer() else {
            return false;
        };
        if !carries_files(&data) {
            return false;
        }
        ev.prevent_default();
        data.set_drop_effect("copy");
        true
    }

    pub fn drop(store: Store, id: SessionId, ev: &DragEvent) {
        let Some(data) = ev.data_transfer() else {
            return;
        };
        if !carries_files(&data) {
            return;
        }
        ev.prevent_default();
        read_all(store, id, files_of(data.files()));
    }

    pub fn guard_window() {
        thread_local! {
            static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        }
        if GUARDED.with(|g| g.replace(true)) {
            return;
        }
        // The handles are dropped on purpose: these listeners live as long as the page.
        // Outside a pane (whose own handler ran first and took the drag) a drop is refused
        // with a "no" cursor.
        let _ = window_event_listener(leptos::ev::dragover, |ev| {
            if let Some(data) = ev.data_transfer() {
                if carries_files(&data) && !ev.default_prevented() {
                    ev.prevent_default();
                    data.set_drop_effect("none");
                }
            }
        });
        let _ = window_event_listener(leptos::ev::drop, |ev| {
            if ev.data_transfer().is_some_and(|data| carries_files(&data)) {
                ev.prevent_default();
            }
        });
    }

    pub fn file_input(store: Store, id: SessionId, ev: &Event) {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        else {
            return;
        };
        let files = files_of(input.files());
        input.set_value("");
        read_all(store, id, files);
    }

    fn carries_files(data: &DataTransfer) -> bool {
        data.types().includes(&JsValue::from_str("Files"), 0)
    }

    fn files_of(list: Option<FileList>) -> Vec<File> {
        let Some(list) = list else {
            return Vec::new();
        };
        (0..list.length()).filter_map(|i| list.get(i)).collect()
    }

    fn read_all(store: Store, id: SessionId, files: Vec<File>) {
        for file in files {
            read(store, id, file);
        }
    }

    /// Reads one file and attaches it when it is an acceptable image; a toast otherwise.
    fn read(store: Store, id: SessionId, file: File) {
        let name = file.name();
        // A size from JS is a float; anything odd counts as too large.
        let size = file.size();
        let size = if size.is_finite() && size >= 0.0 {
            size as u64
        } else {
            u64::MAX
        };
        if let Err(message) = check_file(&name, &file.type_(), size) {
            store.toast.set(Some(message));
            return;
        }
        let Ok(reader) = FileReader::new() else {
            store.toast.set(Some(format!("Could not read {name}.")));
            return;
        };
        let done = reader.clone();
        let fail_name = name.clone();
        // `loadend` comes after success and failure alike, exactly once, which is what
        // a once-closure needs to be freed.
        let on_end = Closure::once_into_js(move || {
            let bytes = done
                .result()
                .ok()
                .filter(|value| value.is_instance_of::<js_sys::ArrayBuffer>())
                .map(|buffer| js_sys::Uint8Array::new(&buffer).to_vec());
            let added = match bytes {
                Some(bytes) => image_attachment(&name, &bytes)
                    .and_then(|attachment| actions::add_attachment(store, id, attachment)),
                None => Err(format!("Could not read {name}.")),
            };
            if let Err(message) = added {
                store.toast.set(Some(message));
            }
        });
        reader.set_onloadend(Some(on_end.unchecked_ref()));
        if reader.read_as_array_buffer(&file).is_err() {
            reader.set_onloadend(None);
            store
                .toast
                .set(Some(format!("Could not read {fail_name}.")));
        }
    }
}
