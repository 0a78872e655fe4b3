//! The panes whose code loads on demand. The release build splits the WASM
//! (`cargo leptos build --split --lib-features hydrate,split`) at the split points here
//! and at `warm` (`split_point!`; only with the `split` feature: an unsplit build, `cargo leptos watch`, cannot
//! load a split point, so there they are plain async functions), so a first load
//! carries the shell (sidebar, tabs, store, socket) and at most one group of panes: a tool
//! page's before it is live, a session's or comparison's after (`conversation_route`). Two
//! split points, not one per route:
//! each set of split points that shares code becomes a module of its own, and every extra
//! module is one more request (seven routes split apart made 32 files for `/s/<id>`).
//! Two more hold what only a click shows: in the sidebar (the "Add project" form, a
//! project's menu, rename field and removal dialog) and in the session pane (the Changes
//! panel, the End dialogs, the budgets); the warm-up fetches both once the page is live.

use super::add_project::AddProjectForm;
use super::changes::ChangesPanel;
use super::compare::ComparePane;
use super::conversation_route::Adopted;
use super::doctor::DoctorPane;
use super::end_dialog::EndWorktreeDialog;
use super::header::ConfirmEnd;
use super::import::ImportPane;
use super::machines::MachinesPane;
use super::project_menu::{ConfirmRemove, ProjectMenu, RenameField};
use super::search::SearchPane;
use super::settings::SettingsPane;
use super::spend::BudgetPanel;
use super::usage::UsagePane;
use super::workspace::SessionRoute;
use crate::client::store::SessionView;
use crate::protocol::ProjectId;
use leptos::prelude::*;

/// Why a part of the app's code could not be fetched: the network failed, or a new release
/// replaced the page's modules. Not cached: the next call fetches again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFailed(pub String);

#[cfg(all(feature = "hydrate", feature = "split"))]
impl From<::leptos::wasm_split::SplitLoaderError> for LoadFailed {
    /// The loader's error carries no detail (the browser's reason is in its console).
    fn from(_: ::leptos::wasm_split::SplitLoaderError) -> Self {
        LoadFailed(
            "Its code did not arrive: the browser is offline, or a newer release replaced it \
             (reloading the page fetches the new one)."
                .into(),
        )
    }
}

/// Declares a split point: `$name` renders from code in a module of its own, fetched on its
/// first call, and `$preload` only fetches it. In the split browser build (the `split`
/// feature) a failed fetch is an `Err`, where Leptos' `#[lazy]` would panic and so abort
/// the whole WASM module; elsewhere both are plain functions that cannot fail. `$unique`
/// names the module (`split_<unique>.<hash>.wasm`; the server finds it by `$name`).
macro_rules! split_point {
    (
        $(#[$doc:meta])*
        $vis:vis async fn $name:ident($($arg:ident: $ty:ty),*) -> $out:ty $body:block
        $(#[$preload_doc:meta])*
        preload $preload:ident as $unique:ident;
    ) => {
        // A module per split point: each holds its own `fetch` (the split's preload).
        #[doc(hidden)]
        #[allow(clippy::module_name_repetitions)]
        mod $unique {
            #[allow(unused_imports)]
            use super::*;

            $(#[$doc])*
            #[cfg(all(feature = "hydrate", feature = "split"))]
            #[::leptos::wasm_split::wasm_split(
                $unique,
                wasm_split_path = ::leptos::wasm_split,
                fallible,
                preload(#[doc(hidden)] fetch),
                return_wrapper(let future = _; { future.await } -> Result<$out, $crate::components::panes::LoadFailed>)
            )]
            pub fn $name($($arg: $ty),*) -> ::std::pin::Pin<::std::boxed::Box<
                dyn ::std::future::Future<Output = Result<$out, $crate::components::panes::LoadFailed>>
                    + Send
                    + Sync,
            >> {
                ::std::boxed::Box::pin(::leptos::__reexports::send_wrapper::SendWrapper::new(
                    async move { Ok($body) },
                ))
            }

            $(#[$doc])*
            #[cfg(not(all(feature = "hydrate", feature = "split")))]
            pub async fn $name($($arg: $ty),*) -> Result<$out, $crate::components::panes::LoadFailed> {
                Ok($body)
            }

            $(#[$preload_doc])*
            #[allow(dead_code)]
            pub async fn $preload() -> Result<(), $crate::components::panes::LoadFailed> {
                #[cfg(all(feature = "hydrate", feature = "split"))]
                fetch().await?;
                Ok(())
            }
        }
        #[allow(unused_imports)]
        $vis use $unique::{$name, $preload};
    };
}
pub(crate) use split_point;

/// A pane that shows a conversation: the session pane's code (transcript, markdown,
/// highlighter, tool cards, composer, changes) is most of the browser's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversation {
    /// `/s/:id`.
    Session,
    /// `/c/:id`: the attempts of one comparison, side by side.
    Compare,
}

split_point! {
    /// Renders a conversation pane; its code is fetched on the first call. With `adopted`,
    /// the host of the server's markup it replaces (`conversation_route`).
    pub async fn conversation_pane(kind: Conversation, adopted: Option<Adopted>) -> AnyView {
        #[cfg(feature = "hydrate")]
        {
            if let Some(adopted) = adopted {
                crate::components::conversation_route::take_over(adopted).await;
            }
            // In the next frame, after the built pane is in.
            crate::components::conversation_route::after_build(adopted);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = adopted;
        // The pane shows what the folder folds: whichever of the two comes first installs it.
        crate::client::session_frames::install(crate::client::transcript_frames::apply);
        match kind {
            Conversation::Session => view! { <SessionRoute/> }.into_any(),
            Conversation::Compare => view! { <ComparePane/> }.into_any(),
        }
    }
    /// Fetches the conversation panes' module if it is not yet (`conversation_route` does,
    /// while the shell hydrates).
    preload preload_conversation_pane as conversation_pane_split;
}

split_point! {
    /// The transcript folder (`client::session_frames`): the decoders of every event kind
    /// and the code that folds them into rows, fetched when the first event of a session
    /// arrives (the first load holds none of it). It shares its code with the conversation
    /// panes, which install it too.
    pub async fn transcript_folder() -> crate::client::session_frames::Fold {
        crate::client::transcript_frames::apply as crate::client::session_frames::Fold
    }
    /// Fetches the folder's module only.
    preload preload_transcript_folder as transcript_folder_split;
}

/// A page beside the sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolPage {
    /// `/doctor`.
    Doctor,
    /// `/usage`.
    Usage,
    /// `/settings`.
    Settings,
    /// `/search`.
    Search,
    /// `/import`.
    Import,
    /// `/machines`.
    Machines,
}

split_point! {
    /// Renders a tool page; their code is fetched on the first call.
    pub async fn tool_page(page: ToolPage) -> AnyView {
        match page {
            ToolPage::Doctor => view! { <DoctorPane/> }.into_any(),
            ToolPage::Usage => view! { <UsagePane/> }.into_any(),
            ToolPage::Settings => view! { <SettingsPane/> }.into_any(),
            ToolPage::Search => view! { <SearchPane/> }.into_any(),
            ToolPage::Import => view! { <ImportPane/> }.into_any(),
            ToolPage::Machines => view! { <MachinesPane/> }.into_any(),
        }
    }
    /// Fetches the tool pages' module if it is not yet (see [`preload_conversation_pane`]).
    preload preload_tool_page as tool_page_split;
}

/// A piece of the sidebar that only a click shows.
#[derive(Debug, Clone)]
pub enum SidebarExtra {
    /// The "Add project" form.
    AddProjectForm {
        /// Whether it is open (Cancel closes it).
        open: RwSignal<bool>,
    },
    /// A project's menu.
    ProjectMenu {
        /// Whether the menu is open.
        menu_open: RwSignal<bool>,
        /// Set by "Rename".
        renaming: RwSignal<bool>,
        /// Set by "Remove…".
        removing: RwSignal<bool>,
    },
    /// A project's name, edited in place.
    RenameField {
        /// The project.
        id: ProjectId,
        /// Its name now.
        name: String,
        /// Cleared when the edit ends.
        renaming: RwSignal<bool>,
    },
    /// "Remove project?", before a project is removed.
    ConfirmRemove {
        /// The project.
        id: ProjectId,
        /// Its name.
        name: String,
        /// Cleared on cancel.
        open: RwSignal<bool>,
    },
}

split_point! {
    /// Renders a piece of the sidebar that only a click shows: its own split point, so the
    /// first load does not carry them (14 KB brotli); [`preload_sidebar_extra`] fetches the
    /// module once the page is live, so the click does not wait for the network.
    pub async fn sidebar_extra(extra: SidebarExtra) -> AnyView {
        match extra {
            SidebarExtra::AddProjectForm { open } => view! { <AddProjectForm open/> }.into_any(),
            SidebarExtra::ProjectMenu {
                menu_open,
                renaming,
                removing,
            } => view! { <ProjectMenu menu_open renaming removing/> }.into_any(),
            SidebarExtra::RenameField { id, name, renaming } => {
                view! { <RenameField id name renaming/> }.into_any()
            }
            SidebarExtra::ConfirmRemove { id, name, open } => {
                view! { <ConfirmRemove id name open/> }.into_any()
            }
        }
    }
    /// Fetches the sidebar's click-only pieces' module if it is not yet.
    preload preload_sidebar_extra as sidebar_extra_split;
}

/// A part of the session pane that only a click shows.
#[derive(Debug, Clone)]
pub enum PaneExtra {
    /// The Changes panel (diffs, commit, discard, merge).
    Changes {
        /// Its session.
        session: SessionView,
    },
    /// "End session": the worktree dialog, or the plain confirmation.
    End {
        /// The session.
        session: SessionView,
        /// Cleared when the dialog closes.
        open: RwSignal<bool>,
        /// Whether the session has a worktree of its own (the dialog asks what to keep).
        worktree: bool,
    },
    /// The session's budgets, editable.
    Budgets {
        /// The session.
        session: SessionView,
    },
}

split_point! {
    /// Renders a part of the session pane that only a click shows: its own split point, so
    /// opening a session does not wait for them (58 KB brotli of what `/s/<id>` loaded, the
    /// Changes panel most of it); [`preload_pane_extra`] fetches them once the page is live.
    pub async fn pane_extra(extra: PaneExtra) -> AnyView {
        match extra {
            PaneExtra::Changes { session } => view! { <ChangesPanel session/> }.into_any(),
            PaneExtra::End {
                session,
                open,
                worktree: true,
            } => view! { <EndWorktreeDialog session open/> }.into_any(),
            PaneExtra::End { session, open, .. } => {
                view! { <ConfirmEnd session open/> }.into_any()
            }
            PaneExtra::Budgets { session } => view! { <BudgetPanel session/> }.into_any(),
        }
    }
    /// Fetches the session pane's click-only parts' module if it is not yet.
    preload preload_pane_extra as pane_extra_split;
}

/// The split module a page needs to hydrate, by the split point's function name (the split
/// manifest's keys are `<name>_<hash>`), so the server can name it in a preload link and the
/// browser fetches it alongside the main module, not after it. None for a conversation
/// (`/s/`, `/c/`): its pane's module is fetched once the main one is in
/// (`conversation_route`), so it does not share the network with it.
pub fn split_point_for_path(path: &str) -> Option<&'static str> {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "doctor" | "usage" | "settings" | "search" | "import" | "machines" => Some("tool_page"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::split_point_for_path;

    #[test]
    fn each_lazy_route_names_its_split_point() {
        assert_eq!(split_point_for_path("/"), None);
        assert_eq!(split_point_for_path("/s/abc"), None);
        assert_eq!(split_point_for_path("/c/abc"), None);
        assert_eq!(split_point_for_path("/usage"), Some("tool_page"));
        assert_eq!(split_point_for_path("/import"), Some("tool_page"));
        assert_eq!(split_point_for_path("/sessions"), None);
    }
}
