//! Text with what the page would not show drawn as marks (`hidden-char`): bidi overrides,
//! zero-width and control characters, terminal escapes (see [`crate::client::invisible`]).
//! The marks are not selectable, so a selection copied by hand leaves them out too.

use crate::client::invisible::{needs_reveal, reveal, Hidden, Segment};
use leptos::prelude::*;

/// `text`, with marks in place of what would not show.
pub fn revealed(text: &str) -> AnyView {
    if !needs_reveal(text) {
        return text.to_string().into_any();
    }
    reveal(text)
        .into_iter()
        .map(|segment| match segment {
            Segment::Text(text) => text.into_any(),
            Segment::Hidden(hidden) => hidden_view(&hidden),
        })
        .collect::<Vec<_>>()
        .into_any()
}

/// One mark: its visible token, and what it stands for on hover.
pub fn hidden_view(hidden: &Hidden) -> AnyView {
    view! {
        <span class="hidden-char" data-testid="hidden-char" title=hidden.title.clone()>
            {hidden.label.clone()}
        </span>
    }
    .into_any()
}
