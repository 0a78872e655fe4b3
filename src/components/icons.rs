//! Line icons drawn as SVG, so they look the same on every system (emoji fonts differ).

use leptos::prelude::*;

/// The bell of the notifications toggle.
pub const BELL: &[&str] = &[
    "M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9",
    "M13.73 21a2 2 0 0 1-3.46 0",
];

/// The paperclip of the composer's attach button.
pub const PAPERCLIP: &[&str] = &[
    "M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48",
];

/// A 24x24 outline icon of `paths`, `size` px square, in the text colour; hidden from
/// screen readers (the control around it carries the label).
#[component]
pub fn LineIcon(paths: &'static [&'static str], size: u32) -> impl IntoView {
    view! {
        <svg
            class="icon"
            viewBox="0 0 24 24"
            width=size
            height=size
            fill="none"
            stroke="currentColor"
            stroke-width="2"
            stroke-linecap="round"
            stroke-linejoin="round"
            aria-hidden="true"
        >
            {paths.iter().map(|d| view! { <path d=*d></path> }).collect_view()}
        </svg>
    }
}
