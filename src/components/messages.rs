//! The transcript (`message-list`): one `message` per entry with `data-role`. Agent text is
//! never inserted as HTML: assistant text renders as markdown views ([`Markdown`]) and
//! everything else as text; streaming rows update only their own content. A search hit
//! opened in the session is fetched if need be, scrolled to and marked `entry-highlight`.

use super::attachments::MessageImages;
use super::markdown::Markdown;
use super::scroll_to::scroll_to_row;
use super::spend::BudgetRow;
use super::tool_card::ToolCard;
use super::use_store;
use crate::client::actions;
use crate::client::format::{turn_usage_text, usage_details};
use crate::client::store::{Entry, EntryBody, Resolution, SendStatus, SessionView};
use crate::client::transcript_search::{jump_step, load_from, JumpStep};
use crate::protocol::{PermissionOption, PermissionOptionKind, RequestId, Seq, SessionId};
use leptos::html::Div;
use leptos::prelude::*;

/// How close to the bottom (px) still counts as "at the bottom" for auto-scrolling.
const STICK_SLACK_PX: i32 = 48;

/// Within this distance (px) of the top or bottom of what is rendered, more rows are added.
const EDGE_PX: i32 = 600;

/// Rows rendered when a session opens: the newest ones, about a screenful. More follow in a
/// later task, after the first paint (see `primed` in [`MessageList`]).
const INITIAL_ROWS: usize = 12;

/// Rows added per step when the reader nears an edge of what is rendered.
const STEP_ROWS: usize = 40;

/// At most this many rows are in the DOM: a 10,000-entry transcript keeps a window of it,
/// moved as the reader scrolls (older pages come from the server, see `client::history`).
const MAX_ROWS: usize = 160;

/// Rows rendered above and below a search hit when the transcript jumps to it.
const JUMP_ROWS_ABOVE: usize = 20;
/// See [`JUMP_ROWS_ABOVE`].
const JUMP_ROWS_BELOW: usize = 40;

/// The scrolling transcript; it follows new output while the reader is at the bottom. Only
/// a window of the rows is rendered: `start`/`end` name its first and last row by key
/// (`None`: the newest rows, and live ones as they come), so rows put in front by an
/// earlier page do not move it.
#[component]
pub fn MessageList(session: SessionView) -> impl IntoView {
    let store = use_store();
    let entries = RwSignal::from(session.entries.clone());
    let activity = RwSignal::from(session.activity.clone());
    let first_seq = RwSignal::from(session.first_seq.clone());
    let loading = RwSignal::from(session.loading_earlier.clone());
    let list_ref = NodeRef::<Div>::new();
    // Whether the reader is at the bottom; scrolling up stops the following.
    let stick = StoredValue::new(true);
    let start = RwSignal::new(None::<u64>);
    // How many of the newest rows the window holds while it follows the bottom (`start`
    // `None`): a screenful on opening, else as many as were shown when the reader came back.
    let live_rows = RwSignal::new(INITIAL_ROWS);
    let end = RwSignal::new(None::<u64>);
    let window = Memo::new(move |_| {
        let (start, end) = (start.get(), end.get());
        let live_rows = live_rows.get();
        entries.with(|list| window_bounds(list, start, end, live_rows))
    });

    // Moves the window by `step` rows up (negative) or down, keeping at most `MAX_ROWS`
    // and the row at the top of the viewport where it is on screen.
    let shift = move |up: bool| {
        let (from, to) = window.get_untracked();
        let (from, to) = entries.with_untracked(|list| {
            let (from, to) = if up {
                let from = from.saturating_sub(STEP_ROWS);
                (from, to.min(from + MAX_ROWS))
            } else {
                let to = (to + STEP_ROWS).min(list.len());
                (from.max(to.saturating_sub(MAX_ROWS)), to)
            };
            let key_at = |i: usize| list.get(i).map(|e| e.key);
            let live = to >= list.len();
            (
                key_at(from),
                if live {
                    None
                } else {
                    key_at(to.saturating_sub(1))
                },
            )
        });
        let anchor = list_ref.get_untracked().and_then(|list| top_row(&list));
        start.set(from);
        end.set(to);
        if to.is_some() {
            stick.set_value(false);
        }
        if let Some(anchor) = anchor {
            request_animation_frame(move || {
                // (`try_`: by the next frame the list may be gone, its refs disposed.)
                if let Some(list) = list_ref.try_get_untracked().flatten() {
                    restore_top_row(&list, anchor);
                }
            });
        }
    };
    // `None` also once the list is gone: a scroll event queued before the pane was replaced
    // still arrives, and reading a disposed ref would panic.
    let near_edges = move || {
        let list = list_ref.try_get_untracked().flatten()?;
        let top = list.scroll_top();
        let bottom = list.scroll_height() - top - list.client_height();
        Some((top, bottom))
    };
    let view = StoredValue::new(session.clone());
    let grow = move || {
        let Some((top, bottom)) = near_edges() else {
            return;
        };
        let (from, to) = window.get_untracked();
        let len = entries.with_untracked(Vec::len);
        if top < EDGE_PX {
            if from > 0 {
                shift(true);
            } else if len > 0 && !loading.get_untracked() {
                // (Not before the newest turns are in: HistoryStart brings them.)
                view.with_value(|view| actions::load_earlier(store, view));
            }
        } else if bottom < EDGE_PX && to < len {
            shift(false);
        }
    };
    // Whether rows beyond the first screenful were added since the list opened.
    let primed = StoredValue::new(false);
    Effect::new(move |_| {
        activity.track();
        if stick.get_value() && end.get_untracked().is_none() {
            request_animation_frame(move || {
                // The list may be gone by the next frame (another session shown).
                let Some(list) = list_ref.try_get_untracked().flatten() else {
                    return;
                };
                list.set_scroll_top(list.scroll_height());
                if list.scroll_height() <= list.client_height() {
                    // Rows too short to fill the list give no scroll event to grow on.
                    grow();
                } else if !primed.get_value() {
                    // The newest rows paint first; the rows above them are added in a
                    // later task, before the reader can scroll there.
                    primed.set_value(true);
                    let grow_if_shown = move || {
                        if list_ref.try_get_untracked().flatten().is_some() {
                            grow();
                        }
                    };
                    set_timeout(grow_if_shown, std::time::Duration::ZERO);
                }
            });
        }
    });
    // A page of earlier turns arrived while the reader waits at the top: show it. Not while
    // following the bottom: then the page is the opening tail, and growing before the
    // first scroll to the bottom would render (and lay out) rows nobody sees.
    Effect::new(move |_| {
        first_seq.track();
        if !stick.get_value() {
            grow();
        }
    });
    let on_scroll = move |_| {
        let Some((_, bottom)) = near_edges() else {
            return;
        };
        let at_bottom = bottom <= STICK_SLACK_PX && end.get_untracked().is_none();
        stick.set_value(at_bottom);
        // Back at the bottom: the window slides with new rows again (and sheds old ones);
        // reading back: it stops sliding.
        if at_bottom && start.get_untracked().is_some() {
            // Keep what is rendered: falling back to a screenful would take the rows above
            // away, and the next scroll event would add them again.
            let (from, to) = window.get_untracked();
            live_rows.set((to - from).clamp(INITIAL_ROWS, MAX_ROWS));
            start.set(None);
        } else if !at_bottom && start.get_untracked().is_none() {
            let from = window.get_untracked().0;
            start.set(entries.with_untracked(|list| list.get(from).map(|e| e.key)));
        }
        grow();
    };
    // A search hit opened in this session: the turns up to it are fetched when the view
    // does not hold them, then the window moves to its row, which is scrolled into view
    // and marked (`entry-highlight`) until another session is shown.
    let highlight = RwSignal::new(None::<u64>);
    let jump_view = session.clone();
    Effect::new(move |_| {
        let session_id = jump_view.id;
        let Some(target) = store.search.jump.get().filter(|t| t.session == session_id) else {
            return;
        };
        if !jump_view.has_history() {
            return;
        }
        let step = entries.with(|list| jump_step(list, first_seq.get(), target.seq));
        match step {
            JumpStep::Wait => {}
            JumpStep::Load => {
                if !loading.get() {
                    load_from(store, &jump_view, target.seq);
                }
            }
            JumpStep::Show(index) => {
                store.search.jump.set(None);
                let (from, to, key) = entries.with_untracked(|list| {
                    let from = index.saturating_sub(JUMP_ROWS_ABOVE);
                    let to = (index + JUMP_ROWS_BELOW).min(list.len());
                    let end_key = (to < list.len()).then(|| list[to - 1].key);
                    (list[from].key, end_key, list[index].key)
                });
                stick.set_value(false);
                start.set(Some(from));
                end.set(to);
                highlight.set(Some(key));
                scroll_to_row(list_ref, key, 10);
            }
        }
    });
    let jump_to_latest = move |_| {
        live_rows.set(INITIAL_ROWS);
        start.set(None);
        end.set(None);
        stick.set_value(true);
        activity.update(|n| *n += 1);
    };
    let meta = RwSignal::from(session.meta.clone());
    let is_empty = move || entries.with(Vec::is_empty);
    // An existing session's history arrives over the socket after the first paint.
    let empty_text = move || {
        if meta.with(|m| m.entry_count > 0) {
            "Loading the conversation…"
        } else {
            "Send a message to start."
        }
    };
    let id = session.id;
    let more_above = move || window.get().0 > 0 || first_seq.get() > Seq(1);
    let behind = move || end.get().is_some();

    view! {
        <div class="message-list" data-testid="message-list" node_ref=list_ref on:scroll=on_scroll>
            <Show when=is_empty>
                <p class="transcript-empty">{empty_text}</p>
            </Show>
            <Show when=more_above>
                <p class="transcript-more" data-testid="load-earlier">
                    {move || if loading.get() { "Loading earlier messages…" } else { "Earlier messages above" }}
                </p>
            </Show>
            <For
                each=move || {
                    let (from, to) = window.get();
                    entries.with(|list| list[from..to].to_vec())
                }
                key=|entry| entry.key
                children=move |entry| {
                    let key = entry.key;
                    let marked = move || highlight.get() == Some(key);
                    view! {
                        <div
                            class="entry"
                            class:entry-highlight=marked
                            data-testid=move || marked().then_some("entry-highlight")
                            data-key=key
                        >
                            <EntryView entry session=id/>
                        </div>
                    }
                }
            />
            <Show when=behind>
                <button class="jump-latest" data-testid="jump-latest" on:click=jump_to_latest>
                    "Jump to latest ↓"
                </button>
            </Show>
        </div>
    }
}

/// The rendered slice `[from, to)` of `list` for a window named by its first and last key.
fn window_bounds(
    list: &[Entry],
    start: Option<u64>,
    end: Option<u64>,
    live_rows: usize,
) -> (usize, usize) {
    let len = list.len();
    let to = end
        .and_then(|key| list.iter().rposition(|e| e.key == key))
        .map_or(len, |i| i + 1);
    let from = match start.and_then(|key| list.iter().position(|e| e.key == key)) {
        Some(i) => i,
        None => to.saturating_sub(live_rows),
    };
    (from.min(to), to)
}

/// The row at the top of the viewport: its key and how far (px) below the list's top edge.
#[cfg(feature = "hydrate")]
fn top_row(list: &web_sys::HtmlDivElement) -> Option<(String, f64)> {
    let top = list.get_bounding_client_rect().top();
    let rows = list.children();
    (0..rows.length()).find_map(|i| {
        let row = rows.item(i)?;
        let key = row.get_attribute("data-key")?;
        let rect = row.first_element_child()?.get_bounding_client_rect();
        (rect.bottom() > top).then(|| (key, rect.top() - top))
    })
}

/// Scrolls so the row `anchor` names is where it was before rows were added or removed.
#[cfg(feature = "hydrate")]
fn restore_top_row(list: &web_sys::HtmlDivElement, (key, offset): (String, f64)) {
    let selector = format!("[data-key=\"{key}\"] > *");
    if let Ok(Some(row)) = list.query_selector(&selector) {
        let now = row.get_bounding_client_rect().top() - list.get_bounding_client_rect().top();
        list.set_scroll_top(list.scroll_top() + (now - offset).round() as i32);
    }
}

#[cfg(not(feature = "hydrate"))]
fn top_row<T>(_list: &T) -> Option<(String, f64)> {
    None
}

#[cfg(not(feature = "hydrate"))]
fn restore_top_row<T>(_list: &T, _anchor: (String, f64)) {}

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
            duration_ms,
            ..
        } => view! { <ToolCard name title input detail output status duration_ms/> }.into_any(),
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
        EntryBody::TurnEnd {
            usage,
            duration_ms,
            stop_reason,
        } => view! {
            <div
                class="turn-usage"
                data-testid="turn-usage"
                data-stop-reason=stop_reason.clone()
                title=usage_details(&usage)
            >
                {turn_usage_text(&usage, duration_ms, &stop_reason)}
            </div>
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
        EntryBody::Budget {
            message,
            stopped,
            resend,
        } => view! { <BudgetRow session message stopped resend/> }.into_any(),
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
