//! The composer pinned under the transcript: `chat-input` (Enter sends, Shift+Enter makes a
//! new line; pasted images attach), the pending images (`attachment-chip`), `send-button`,
//! `stop-button` while the agent is busy, `retry-button` after it failed, and a row of
//! settings: attach an image, the agent and model of a draft, the permission mode; under
//! it, for a draft, where it will run (project, isolated worktree, base branch).

use super::ask_several::{AskSeveralToggle, AttemptsConfig};
use super::attachments::AttachmentTray;
use super::draft_place::DraftPlace;
use super::icons::{self, LineIcon};
use super::options::{AgentField, ModelField, PermissionField};
use super::use_store;
use crate::client::compare::{self, AttemptDraft};
use crate::client::store::SessionView;
use crate::client::{actions, files};
use crate::protocol::SessionState;
use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::html::{Input, Textarea};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// What the file picker offers: the image types the server's agents accept.
const IMAGE_ACCEPT: &str = "image/png,image/jpeg,image/gif,image/webp";

/// The message box of one session.
#[component]
pub fn Composer(session: SessionView) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let meta = RwSignal::from(session.meta.clone());
    let text = RwSignal::from(session.draft_text.clone());
    let input_ref = NodeRef::<Textarea>::new();
    let is_draft = move || meta.with(|m| m.state == SessionState::Draft);
    let busy = move || meta.with(|m| m.state.is_busy());
    // A memo, so patches that leave the state alone do not rebuild the strip.
    let failure = Memo::new(move |_| {
        meta.with(|m| match &m.state {
            SessionState::Error { message } => Some(message.clone()),
            _ => None,
        })
    });

    // Ready to type as soon as the tab shows. In the next frame: focusing lays the page out
    // at once, and the pane is still being built now (its rows are about to arrive).
    Effect::new(move |_| {
        if input_ref.get().is_some() {
            request_animation_frame(move || {
                // (`try_`: the composer may be gone by the next frame.)
                if let Some(input) = input_ref.try_get_untracked().flatten() {
                    let _ = input.focus();
                }
            });
        }
    });

    // "Ask several": the attempts the draft's prompt goes to, while it asks several.
    let several = RwSignal::new(None::<Vec<AttemptDraft>>);
    // (A plain clone per handler: a `StoredValue::new_local` of it, made while the server
    // renders, panics when dropped on another thread.)
    let navigate = use_navigate();
    let submit = move || match several.get_untracked() {
        Some(attempts) if is_draft() => match compare::ask_several(store, id, &attempts) {
            Ok(compare) => navigate(&compare::compare_path(compare), actions::nav_options()),
            Err(message) => store.toast.set(Some(message)),
        },
        _ => {
            actions::send_message(store, id);
        }
    };
    let on_submit = {
        let submit = submit.clone();
        move |ev: SubmitEvent| {
            ev.prevent_default();
            submit();
        }
    };
    let on_keydown = move |ev: KeyboardEvent| {
        // While an IME composes, Enter picks a candidate; it must not send.
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit();
        }
    };
    let placeholder = move || {
        if is_draft() {
            "Describe the task for the new session… (Enter sends, Shift+Enter for a new line)"
        } else {
            "Message the agent… (Enter sends, Shift+Enter for a new line)"
        }
    };

    // How many sessions are ahead in line for an agent slot, while this one waits.
    let waiting = Memo::new(move |_| {
        meta.with(|m| match m.state {
            SessionState::WaitingForAgent { ahead } => Some(ahead),
            _ => None,
        })
    });

    let strip_session = session.clone();
    let tray_session = session.clone();
    let place_session = session.clone();
    view! {
        <form class="composer" on:submit=on_submit>
            {move || failure.get().map(|message| view! { <RetryStrip session=strip_session.clone() message/> })}
            {move || waiting.get().map(|ahead| view! { <WaitingNote ahead/> })}
            <AttachmentTray session=tray_session/>
            <div class="composer-row">
                <textarea
                    class="chat-input"
                    data-testid="chat-input"
                    rows="3"
                    aria-label="Message"
                    placeholder=placeholder
                    node_ref=input_ref
                    bind:value=text
                    on:keydown=on_keydown
                    on:paste=move |ev| files::on_paste(store, id, &ev)
                ></textarea>
                <div class="composer-buttons">
                    <Show when=busy>
                        <button
                            type="button"
                            class="stop-button"
                            data-testid="stop-button"
                            title="Stop the agent's current turn"
                            on:click=move |_| actions::stop(store, id)
                        >
                            "Stop"
                        </button>
                    </Show>
                    <button type="submit" class="send-button primary" data-testid="send-button">
                        "Send"
                    </button>
                </div>
            </div>
            <ComposerOptions session=session.clone() several/>
            <Show when=move || is_draft() && several.with(Option::is_some)>
                <AttemptsConfig several/>
            </Show>
            <Show when=is_draft>
                <DraftPlace session=place_session.clone()/>
            </Show>
        </form>
    }
}

/// The row under the input: attach an image, then the session's settings.
#[component]
fn ComposerOptions(
    session: SessionView,
    several: RwSignal<Option<Vec<AttemptDraft>>>,
) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let meta = RwSignal::from(session.meta.clone());
    let file_ref = NodeRef::<Input>::new();
    let is_draft = move || meta.with(|m| m.state == SessionState::Draft);
    let wants_model =
        move || meta.with(|m| m.state == SessionState::Draft && store.agent_info(&m.agent).models);
    let pick = move |_| {
        if let Some(input) = file_ref.get_untracked() {
            input.click();
        }
    };
    let (agent_session, model_session) = (session.clone(), session.clone());
    view! {
        <div class="composer-options">
            <button
                type="button"
                class="attach-button"
                data-testid="attach-button"
                title="Attach images (PNG, JPEG, GIF or WebP up to 700 KB; you can also paste or drop them)"
                on:click=pick
            >
                <LineIcon paths=icons::PAPERCLIP size=16/>
                <span class="attach-label">"Image"</span>
            </button>
            <input
                type="file"
                class="file-input"
                data-testid="attach-input"
                accept=IMAGE_ACCEPT
                multiple=true
                tabindex="-1"
                aria-hidden="true"
                node_ref=file_ref
                on:change=move |ev| files::on_file_input(store, id, &ev)
            />
            <Show when=move || is_draft() && several.with(Option::is_none)>
                <AgentField session=agent_session.clone()/>
            </Show>
            <Show when=is_draft>
                <AskSeveralToggle several agent=Signal::derive(move || meta.with(|m| m.agent.clone()))/>
            </Show>
            <Show when=wants_model>
                <ModelField session=model_session.clone()/>
            </Show>
            <PermissionField session/>
        </div>
    }
}

/// The note over the composer while the turn waits in line for an agent slot.
#[component]
fn WaitingNote(ahead: u32) -> impl IntoView {
    let place = match ahead {
        0 => "next in line".to_owned(),
        1 => "1 session ahead".to_owned(),
        n => format!("{n} sessions ahead"),
    };
    view! {
        <div class="composer-note" role="status" data-testid="waiting-for-agent">
            <span class="state-dot spinner" aria-hidden="true"></span>
            <span>
                {format!("Waiting for an agent slot ({place}): every live agent is busy. ")}
                "The message starts as soon as one frees; Stop cancels it."
            </span>
        </div>
    }
}

/// Above the input while the session is in `Error`: what failed, and `retry-button`.
#[component]
fn RetryStrip(session: SessionView, message: String) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let activity = RwSignal::from(session.activity.clone());
    // Disabled from the click until something happens in the session (the retry starting,
    // or the server refusing it with a notice), so one click sends one Retry.
    let retrying = RwSignal::new(false);
    Effect::new(move |_| {
        activity.track();
        retrying.set(false);
    });
    let retry = move |_| {
        retrying.set(true);
        actions::retry(store, id);
    };
    let full = message.clone();
    view! {
        <div class="composer-alert" role="alert" data-testid="session-error">
            <span class="alert-icon" aria-hidden="true">"⚠"</span>
            <span class="alert-text" title=full>
                <strong>"The agent failed. "</strong>
                {message}
            </span>
            <button
                type="button"
                class="retry-button"
                data-testid="retry-button"
                title="Send the last message again"
                disabled=move || retrying.get()
                on:click=retry
            >
                {move || if retrying.get() { "Retrying…" } else { "Retry" }}
            </button>
        </div>
    }
}
