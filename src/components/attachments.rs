//! Images in the composer (`attachment-chip`: thumbnail, name, size, remove) and in sent
//! user messages (thumbnails that open full size). Images show only as `data:` URLs of
//! the four accepted image types, set as `src` attributes; anything else shows by name.

use super::use_store;
use crate::client::actions;
use crate::client::attachments::{human_size, image_data_url};
use crate::client::store::SessionView;
use crate::protocol::Attachment;
use leptos::ev::KeyboardEvent;
use leptos::html::Button;
use leptos::prelude::*;
use std::sync::Arc;

/// The images waiting to go with the next message of a session, above its input.
#[component]
pub fn AttachmentTray(session: SessionView) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let list = RwSignal::from(session.draft_attachments.clone());
    move || {
        let items = list.get();
        (!items.is_empty()).then(|| {
            let chips = items
                .into_iter()
                .enumerate()
                .map(|(index, attachment)| {
                    let remove = move |_| actions::remove_attachment(store, id, index);
                    view! { <AttachmentChip attachment on_remove=remove/> }
                })
                .collect_view();
            view! {
                <div class="attachment-tray" role="list" aria-label="Images to send">
                    {chips}
                </div>
            }
        })
    }
}

/// One pending image: thumbnail, name and size, and a remove button.
#[component]
fn AttachmentChip(
    attachment: Attachment,
    on_remove: impl Fn(leptos::ev::MouseEvent) + 'static,
) -> impl IntoView {
    let url = image_data_url(&attachment);
    // Base64 carries 3 bytes in 4 characters.
    let size = human_size((attachment.data_base64.len() as u64 / 4) * 3);
    let name = attachment.name;
    view! {
        <div class="attachment-chip" data-testid="attachment-chip" role="listitem" title=name.clone()>
            {match url {
                Some(url) => view! { <img class="chip-thumb" src=url alt=""/> }.into_any(),
                None => view! { <span class="chip-thumb file" aria-hidden="true">"?"</span> }.into_any(),
            }}
            <span class="chip-text">
                <span class="chip-name">{name.clone()}</span>
                <span class="chip-size">{size}</span>
            </span>
            <button
                type="button"
                class="chip-remove"
                data-testid="attachment-remove"
                aria-label=format!("Remove {name}")
                title="Remove"
                on:click=on_remove
            >
                "×"
            </button>
        </div>
    }
}

/// The images of a sent message, as thumbnails; a click shows one full size.
#[component]
pub fn MessageImages(attachments: Arc<[Attachment]>) -> impl IntoView {
    let open: RwSignal<Option<(String, String)>> = RwSignal::new(None);
    let items = attachments
        .iter()
        .map(|attachment| {
            let name = attachment.name.clone();
            match image_data_url(attachment) {
                Some(url) => {
                    let shown = (url.clone(), name.clone());
                    let hint = format!("{name} (click to enlarge)");
                    view! {
                        <button
                            type="button"
                            class="image-thumb"
                            data-testid="message-image"
                            title=hint
                            on:click=move |_| open.set(Some(shown.clone()))
                        >
                            <img src=url alt=name/>
                        </button>
                    }
                    .into_any()
                }
                None => {
                    view! { <span class="file-chip" title="Attached file">{name}</span> }.into_any()
                }
            }
        })
        .collect_view();
    view! {
        <div class="message-images">{items}</div>
        {move || open.get().map(|(url, name)| view! { <Lightbox url name open/> })}
    }
}

/// One image over the page, closed by a click anywhere, the close button or Escape.
#[component]
fn Lightbox(url: String, name: String, open: RwSignal<Option<(String, String)>>) -> impl IntoView {
    let close_ref = NodeRef::<Button>::new();
    // Focus goes into the dialog so Escape reaches it.
    Effect::new(move |_| {
        if let Some(button) = close_ref.get() {
            let _ = button.focus();
        }
    });
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Escape" {
            open.set(None);
        }
    };
    let label = name.clone();
    view! {
        <div
            class="lightbox"
            role="dialog"
            aria-modal="true"
            aria-label=label
            on:click=move |_| open.set(None)
            on:keydown=on_keydown
        >
            <button type="button" class="lightbox-close" aria-label="Close" node_ref=close_ref>"×"</button>
            <img src=url alt=name/>
        </div>
    }
}
