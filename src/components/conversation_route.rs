//! The `/s/:id` and `/c/:id` routes, whose pane's code (transcript, markdown, tool cards,
//! composer) is a WASM module of its own (`panes::conversation_pane`) and most of the
//! browser's code. The server renders the pane into the page. A page opened there does not
//! wait for that module to go live: the browser hydrates the shell (sidebar, tabs, socket)
//! and *adopts* the server's markup of the pane as it stands, without hydrating it. It
//! fetches the module meanwhile, then replaces that markup with the pane built from the
//! store. Nothing done in the adopted pane is lost: text typed into its composer is carried
//! into the built one, and a send asked for by Enter or the Send button is made once the
//! built composer is there (before, such a send was a native form submit that reloaded the
//! page). If the module does not come, a notice says so above the server's markup, which
//! stays with what was typed into it, and "Try again" fetches it again without a reload.
//! Opened later from the running app, the route renders once the module is in, as a lazy
//! route does.

use super::deferred::LoadFailedNotice;
use super::panes::{Conversation, LoadFailed};
use crate::protocol::SessionId;
use leptos::either::Either;
use leptos::html::Div;
use leptos::prelude::*;

/// The element both the server's pane and the browser's adopted markup sit in; it takes no
/// space of its own (`display: contents`).
const HOST_CLASS: &str = "pane-host";

/// The server's markup a pane takes the place of: its host element and the session it
/// showed (the URL's when the page loaded; the user may have moved on since).
#[derive(Clone, Copy)]
pub struct Adopted {
    /// The host of the server's markup.
    pub host: NodeRef<Div>,
    /// The session that markup showed.
    pub session: Option<SessionId>,
}

/// A conversation route's pane (see the module's note).
#[component]
pub fn ConversationRoute(kind: Conversation) -> impl IntoView {
    let built = Built::new(kind);
    let retry = built.retry();
    view! {
        // Above the server's markup, which stays (with whatever was typed into it) when the
        // pane's code does not come.
        {move || built.failed.get().map(|error| view! { <LoadFailedNotice error retry/> })}
        {move || match built.take() {
            Some(pane) => Either::Right(view! { <div class=HOST_CLASS>{pane}</div> }),
            None => Either::Left(built.adopted_host()),
        }}
    }
}

/// The pane, once built (in the browser: once its module is in), and the adopted markup's
/// host until then.
#[derive(Clone, Copy)]
struct Built {
    kind: Conversation,
    /// Set when the pane is built; the render closure takes the view out. Not on the
    /// server, which renders the pane at once (and where a local value made while it
    /// renders panics when another thread drops it).
    #[cfg(not(feature = "ssr"))]
    ready: RwSignal<bool>,
    #[cfg(not(feature = "ssr"))]
    pane: StoredValue<Option<AnyView>, LocalStorage>,
    /// The adopted markup's element, to read what was typed into it.
    host: NodeRef<Div>,
    /// The server's markup this pane takes the place of, when the page was loaded here.
    #[cfg_attr(feature = "ssr", allow(dead_code))]
    adopted: Option<Adopted>,
    /// Why the pane's code did not come (after `app::preload_patiently`'s tries), until
    /// "Try again" fetches it again.
    failed: RwSignal<Option<LoadFailed>>,
}

impl Built {
    /// On the server the pane renders at once (see [`Built::take`]).
    #[cfg(feature = "ssr")]
    fn new(kind: Conversation) -> Built {
        Built::empty(kind)
    }

    /// In the browser: the pane, once its module is fetched (and, over the server's markup,
    /// once the session's newest turns are in, so it never replaces that markup with an
    /// empty transcript).
    #[cfg(not(feature = "ssr"))]
    fn new(kind: Conversation) -> Built {
        let mut built = Built::empty(kind);
        let adopting = Owner::current_shared_context().is_some_and(|c| c.during_hydration());
        built.adopted = adopting.then(|| Adopted {
            host: built.host,
            session: super::use_store().active.get_untracked(),
        });
        #[cfg(feature = "hydrate")]
        if let Some(adopted) = built.adopted {
            built.forget_markup_on_switch(adopted);
        }
        built.load();
        built
    }

    /// Fetches the pane's module and builds the pane (see [`take_over`] for the adopted
    /// markup's part); what failed goes to `failed`, and the adopted markup stays.
    #[cfg(not(feature = "ssr"))]
    fn load(self) {
        leptos::task::spawn_local_scoped(async move {
            crate::app::preload_patiently(super::panes::preload_conversation_pane).await;
            match super::panes::conversation_pane(self.kind, self.adopted).await {
                Ok(pane) => {
                    self.failed.set(None);
                    self.pane.set_value(Some(pane));
                    self.ready.set(true);
                }
                Err(error) => self.failed.set(Some(error)),
            }
        });
    }

    /// "Try again" on the notice that the pane's code did not come: fetches it again
    /// without a reload, so the adopted markup and what was typed into it stay. Made in the
    /// component, whose owner the new attempt runs under (the notice's own goes with it).
    fn retry(self) -> Callback<()> {
        let owner = Owner::current();
        Callback::new(move |()| {
            self.failed.set(None);
            #[cfg(not(feature = "ssr"))]
            if let Some(owner) = &owner {
                owner.with(|| self.load());
            }
            #[cfg(feature = "ssr")]
            let _ = &owner;
        })
    }

    fn empty(kind: Conversation) -> Built {
        Built {
            kind,
            #[cfg(not(feature = "ssr"))]
            ready: RwSignal::new(false),
            #[cfg(not(feature = "ssr"))]
            pane: StoredValue::new_local(None),
            host: NodeRef::new(),
            adopted: None,
            failed: RwSignal::new(None),
        }
    }

    /// The built pane, once (tracks `ready`). The server renders it anew on each call (it
    /// may render a view twice: once to find its resources, once to send it).
    fn take(self) -> Option<AnyView> {
        #[cfg(feature = "ssr")]
        return Some(match self.kind {
            Conversation::Session => view! { <super::workspace::SessionRoute/> }.into_any(),
            Conversation::Compare => view! { <super::compare::ComparePane/> }.into_any(),
        });
        #[cfg(not(feature = "ssr"))]
        {
            if !self.ready.get() {
                return None;
            }
            self.pane.try_update_value(Option::take).flatten()
        }
    }

    /// Another tab chosen before the pane is built: the server's markup of the first one goes
    /// (the pane shows empty until built), so no session shows under another's tab. What was
    /// typed into it is kept for that session first (see [`take_over`]).
    #[cfg(feature = "hydrate")]
    fn forget_markup_on_switch(self, adopted: Adopted) {
        let store = super::use_store();
        Effect::new(move |_| {
            let active = store.active.get();
            if active == adopted.session || self.ready.get_untracked() {
                return;
            }
            if let Some(host) = self.host.get_untracked() {
                keep_typed_text(&host, adopted.session);
                host.set_inner_html("");
            }
        });
    }

    /// The host while the pane is not built: over the server's markup (which its empty
    /// `inner_html` leaves alone while hydrating), or empty. Enter and Send in the adopted
    /// composer are held by the page's head (`app::EarlyInput`).
    fn adopted_host(self) -> impl IntoView {
        view! { <div class=HOST_CLASS node_ref=self.host inner_html=""></div> }
    }
}

/// Before a built pane replaces the adopted markup: waits until the session it showed has
/// its newest turns in, if it is still the one shown (at most [`HISTORY_WAIT_MS`]; not at
/// all while the socket is not connected: the built pane then shows what the server's did),
/// then carries what was typed into the adopted composer over to that session's draft, which
/// its built composer shows. Called from the pane's own module (`panes::conversation_pane`),
/// so this code is not in the shell's.
#[cfg(feature = "hydrate")]
pub(super) async fn take_over(adopted: Adopted) {
    use crate::client::ConnectionState;
    let store = super::use_store();
    let mut waited = 0;
    while waited < HISTORY_WAIT_MS
        && store.connection.get_untracked() == ConnectionState::Open
        && store.active.get_untracked() == adopted.session
        && adopted
            .session
            .and_then(|id| store.view(id))
            .is_some_and(|view| !view.has_history())
    {
        gloo_timers::future::TimeoutFuture::new(POLL_MS).await;
        waited += POLL_MS;
    }
    if let Some(host) = adopted.host.get_untracked() {
        keep_typed_text(&host, adopted.session);
    }
}

/// What was typed into the server's composer in `host`, as `session`'s draft.
#[cfg(feature = "hydrate")]
fn keep_typed_text(host: &web_sys::HtmlDivElement, session: Option<SessionId>) {
    let store = super::use_store();
    let typed = host
        .query_selector(COMPOSER_INPUT)
        .ok()
        .flatten()
        .and_then(|input| {
            wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlTextAreaElement>(input).ok()
        })
        .map(|input| input.value())
        .filter(|typed| !typed.is_empty());
    if let (Some(typed), Some(view)) = (typed, session.and_then(|id| store.view(id))) {
        view.draft_text.set(typed);
    }
}

/// After a built pane replaced the adopted markup or the empty host, in the next frame: marks
/// the first such moment on the body (`data-pane-at`, ms since the epoch, for the first-load
/// bench and tests; from then on the head's `EarlyInput` holds nothing back), fetches the
/// click-only parts the warm-up left for after the pane, and makes a send held back
/// (`data-send-asked`) through the built composer's own form, if the pane shows the session
/// it was asked in (else the text waits in that session's draft). Called from the pane's own
/// module, like [`take_over`].
#[cfg(feature = "hydrate")]
pub(super) fn after_build(adopted: Option<Adopted>) {
    let store = super::use_store();
    request_animation_frame(move || {
        let document = document();
        let Some(body) = document.body() else {
            return;
        };
        if !body.has_attribute(PANE_AT) {
            let _ = body.set_attribute(PANE_AT, &(js_sys::Date::now() as u64).to_string());
            super::warm::preload_extras();
        }
        if !body.has_attribute(SEND_ASKED) {
            return;
        }
        let _ = body.remove_attribute(SEND_ASKED);
        if adopted.is_some_and(|adopted| adopted.session != store.active.get_untracked()) {
            return;
        }
        let form = document
            .query_selector(&format!(".{HOST_CLASS} {COMPOSER_FORM}"))
            .ok()
            .flatten()
            .and_then(|form| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlFormElement>(form).ok());
        if let Some(form) = form {
            let _ = form.request_submit();
        }
    });
}

/// The composer's text box, as the server renders it: read by the take-over, its Enter held
/// by the head's `EarlyInput`.
pub const COMPOSER_INPUT: &str = "textarea.chat-input";
/// The composer's form: its submit held by `EarlyInput`, then made by the built pane.
pub const COMPOSER_FORM: &str = "form.composer";

/// The body's attribute set once a conversation pane is built.
pub const PANE_AT: &str = "data-pane-at";
/// The body's attribute the head's `EarlyInput` sets when it held a send back.
pub const SEND_ASKED: &str = "data-send-asked";

/// How long the built pane may wait for the shown session's newest turns before it replaces
/// the server's markup anyway; and how often it looks.
#[cfg(feature = "hydrate")]
const HISTORY_WAIT_MS: u32 = 1_000;
#[cfg(feature = "hydrate")]
const POLL_MS: u32 = 25;
