//! The transcript (`message-list`): one `message` per entry with `data-role`. Agent text is
//! never inserted as HTML: assistant text renders as markdown views ([`Markdown`]) and
//! everything else as text; streaming rows update only their own content.

use super::attachments::MessageImages;
use super::markdown::Markdown;
use super::tool_card::ToolCard;
use super::use_store;
use crate::client::actions;
use crate::client::store::{Entry, EntryBody, Resolution, SendStatus, SessionView};
use crate::protocol::{PermissionOption, PermissionOptionKind, RequestId, SessionId};
use leptos::html::Div;
use leptos::prelude::*;

/// How close to the bottom (px) still counts as "at the bottom" for auto-scrolling.
const STICK_SLACK_PX: i32 = 48;

/// The scrolling transcript; it follows new output while the reader is at the bottom.
#[component]
pub fn MessageList(session: SessionView) -> impl IntoView {
    let id = session.id;
    let entries = RwSignal::from(session.entries.clone());
    let activity = RwSignal::from(session.activity.clone());
    let list_ref = NodeRef::<Div>::new();
    // Whether the reader is at the bottom; scrolling up stops the following.
    let stick = StoredValue::new(true);

    Effect::new(move |_| {
        activity.track();
        if stick.get_value() {
            request_animation_frame(move || {
                if let Some(list) = list_ref.get_untracked() {
                    list.set_scroll_top(list.scroll_height());
                }
            });
        }
    });
    let on_scroll = move |_| {
        if let Some(list) = list_ref.get_untracked() {
            let bottom = list.scroll_top() + list.client_height();
            stick.set_value(bottom >= list.scroll_height() - STICK_SLACK_PX);
        }
    };
    let meta = RwSignal::from(session.meta.clone());
    let is_empty = move || entries.with(Vec::is_empty);
    // An existing session's history arrives over the socket after the first paint.
    let empty_text = move || {
        if meta.with(|m| m.message_count > 0) {
            "Loading the conversation…"
        } else {
            "Send a message to start."
        }
    };

    view! {
        <div class="message-list" data-testid="message-list" node_ref=list_ref on:scroll=on_scroll>
            <Show when=is_empty>
                <p class="transcript-empty">{empty_text}</p>
            </Show>
            <For
                each=move || entries.get()
                key=|entry| entry.key
                children=move |entry| view! { <EntryView entry session=id/> }
            />
        </div>
    }
}

/// One transcript row.
#[component]
fn EntryView(entry: Entry, session: SessionId) -> impl IntoView {
    match entry.body {
        EntryBody::User {
            text,
            attachments,
            status,
            ..
        } => {
            let status = RwSignal::from(status);
            let status_name = move || match status.get() {
                SendStatus::Pending => "pending",
                SendStatus::Delivered => "delivered",
                SendStatus::Failed => "failed",
            };
            view! {
                <div class="message user" data-testid="message" data-role="user" data-status=status_name>
                    {(!attachments.is_empty()).then(|| view! { <MessageImages attachments/> })}
                    {(!text.is_empty()).then(|| view! { <div class="bubble">{text}</div> })}
                    <Show when=move || status.get() == SendStatus::Failed>
                        <div class="send-failed">"Not delivered"</div>
                    </Show>
                </div>
            }
            .into_any()
        }
        EntryBody::Assistant {
            text, streaming, ..
        } => {
            let text = RwSignal::from(text);
            let streaming = RwSignal::from(streaming);
            view! {
                <div
                    class="message assistant"
                    class:streaming=move || streaming.get()
                    data-testid="message"
                    data-role="assistant"
                >
                    <Markdown text class="assistant-text"/>
                </div>
            }
            .into_any()
        }
        EntryBody::Thinking { text, .. } => {
            let text = RwSignal::from(text);
            view! {
                <div class="message thinking" data-testid="message" data-role="assistant" data-kind="thinking">
                    <details>
                        <summary>"Thinking"</summary>
                        <div class="thinking-text">{move || text.get()}</div>
                    </details>
                </div>
            }
            .into_any()
        }
        EntryBody::Tool {
            name,
            title,
            input,
            detail,
            output,
            status,
            ..
        } => view! { <ToolCard name title input detail output status/> }.into_any(),
        EntryBody::Permission {
            request_id,
            title,
            input,
            options,
            resolution,
            answered,
        } => view! {
            <PermissionCard session request_id title input options resolution=RwSignal::from(resolution) answered=RwSignal::from(answered)/>
        }
        .into_any(),
        EntryBody::Notice {
            message,
            detail,
            is_error,
        } => view! {
            <div
                class="message notice"
                class:error=is_error
                data-testid="message"
                data-role="notice"
                data-kind=if is_error { "error" } else { "info" }
                role=if is_error { "alert" } else { "note" }
            >
                <span class="notice-icon" aria-hidden="true">{if is_error { "⚠" } else { "ℹ" }}</span>
                <div class="notice-body">
                    <div class="notice-text">{message}</div>
                    {detail.map(|detail| view! {
                        <details class="notice-detail">
                            <summary>"Details"</summary>
                            <pre>{detail}</pre>
                        </details>
                    })}
                </div>
            </div>
        }
        .into_any(),
    }
}

/// The test id of an option's button: the first allowing option is `permission-allow` and the
/// first denying one `permission-deny`; further ones ("always") get their own ids, so each
/// id names one button per card.
fn option_test_id(options: &[PermissionOption], index: usize) -> &'static str {
    let Some(option) = options.get(index) else {
        return "permission-option";
    };
    let allows = option.kind.allows();
    let first_of_kind = options
        .iter()
        .position(|o| o.kind.allows() == allows)
        .is_some_and(|first| first == index);
    match (allows, first_of_kind) {
        (true, true) => "permission-allow",
        (false, true) => "permission-deny",
        (true, false) => "permission-allow-other",
        (false, false) => "permission-deny-other",
    }
}

#[component]
fn PermissionCard(
    session: SessionId,
    request_id: RequestId,
    title: String,
    input: String,
    options: Vec<PermissionOption>,
    resolution: RwSignal<Option<Resolution>>,
    answered: RwSignal<Option<String>>,
) -> impl IntoView {
    let store = use_store();
    let outcome = move || match resolution.get() {
        None if answered.with(Option::is_some) => "answering",
        None => "pending",
        Some(Resolution { allowed: true, .. }) => "allowed",
        Some(Resolution {
            option_id: None, ..
        }) => "cancelled",
        Some(_) => "denied",
    };
    let outcome_text = move || match outcome() {
        "allowed" => "Allowed",
        "denied" => "Denied",
        "cancelled" => "Cancelled",
        "answering" => "Sending answer…",
        _ => "Waiting for your answer",
    };
    let buttons = options
        .iter()
        .enumerate()
        .map(|(index, option)| {
            let test_id = option_test_id(&options, index);
            let option_id = option.id.clone();
            let chosen = {
                let option_id = option_id.clone();
                move || {
                    resolution.with(|r| r.as_ref().and_then(|r| r.option_id.clone()))
                        .or_else(|| answered.get())
                        .is_some_and(|chosen| chosen == option_id)
                }
            };
            let request_id = request_id.clone();
            let on_click = move |_| {
                actions::answer_permission(store, session, request_id.clone(), option_id.clone());
            };
            let class = match option.kind {
                PermissionOptionKind::AllowOnce | PermissionOptionKind::AllowAlways => "allow",
                PermissionOptionKind::RejectOnce | PermissionOptionKind::RejectAlways => "deny",
            };
            view! {
                <button
                    class=format!("permission-button {class}")
                    class:chosen=chosen
                    data-testid=test_id
                    data-option-id=option.id.clone()
                    disabled=move || resolution.with(Option::is_some) || answered.with(Option::is_some)
                    on:click=on_click
                >
                    {option.label.clone()}
                </button>
            }
        })
        .collect_view();
    view! {
        <div class="message tool" data-testid="message" data-role="tool">
            <div
                class="permission-card"
                data-testid="permission-card"
                data-outcome=outcome
                data-resolved=move || if resolution.with(Option::is_some) { "true" } else { "false" }
            >
                <div class="permission-head">
                    <span class="permission-label">"Permission needed"</span>
                    <span class="permission-title">{title}</span>
                </div>
                {(!input.is_empty()).then(|| view! {
                    <details class="permission-input">
                        <summary>"Details"</summary>
                        <pre>{input}</pre>
                    </details>
                })}
                <div class="permission-actions">{buttons}</div>
                <div class="permission-outcome">{outcome_text}</div>
            </div>
        </div>
    }
}
