//! The Leptos components. They render from the [`crate::client::Store`] and call
//! [`crate::client::actions`]; none does I/O of its own or parses frames.

pub mod add_project;
pub mod api_tokens;
pub mod ask_several;
pub mod attachments;
pub mod badges;
pub mod banner;
pub mod changes;
pub mod compare;
pub mod composer;
pub mod confirm;
pub mod conversation_route;
pub mod deferred;
pub mod doctor;
pub mod draft_place;
pub mod end_dialog;
pub mod header;
pub mod icons;
pub mod import;
pub mod invisible;
pub mod machines;
pub mod markdown;
pub mod messages;
pub mod options;
pub mod panes;
pub mod project_menu;
pub mod projects;
pub mod scroll_to;
pub mod search;
pub mod settings;
pub mod sidebar;
pub mod spend;
pub mod tabs;
pub mod tool_card;
pub mod usage;
pub mod usage_chart;
pub mod warm;
pub mod workspace;

use crate::client::Store;
use leptos::prelude::*;

/// The page's store, provided by `App`.
pub(crate) fn use_store() -> Store {
    expect_context::<Store>()
}
