//! `<Markdown>`: assistant text rendered from the tree of [`crate::client::markdown`] as
//! Leptos views (never as an HTML string, so agent text cannot become markup). Code blocks
//! are highlighted by [`crate::client::highlight`] and have a copy button (`copy-code`);
//! characters the page would not show are drawn as marks in code (see [`super::invisible`])
//! and left out of the copy.
//!
//! Links to other hosts are buttons (`external-link`), never `<a href>`: Chromium resolves
//! the host of every link on a plain-http page before any click (DNS prefetch), which would
//! let agent output send data out through a DNS lookup. A click shows the full target and
//! opens it only on "Open" (see [`crate::client::links`]).
//!
//! While the text streams, each delta re-parses only the open end of the text
//! ([`StreamParse`]), and only blocks whose content changed (usually the last) get new DOM:
//! blocks are keyed by position and fingerprint. SSR and hydration render the same
//! structure from the same text.

use super::confirm::Confirm;
use super::invisible::{hidden_view, revealed};
use crate::client::highlight::highlight;
use crate::client::invisible::{marks, weave, Woven};
use crate::client::links::{link_target, LinkTarget};
use crate::client::markdown::{Block, Inline};
use crate::client::markdown_stream::StreamParse;
use leptos::html::custom;
use leptos::portal::Portal;
use leptos::prelude::*;
use std::sync::Mutex;

/// How long the copy button says "Copied" (or that it failed).
#[cfg(feature = "hydrate")]
const COPIED_FOR: std::time::Duration = std::time::Duration::from_millis(1500);

/// Markdown `text`, in a `<div class="markdown {class}">`.
#[component]
pub fn Markdown(
    /// The text; it may grow while it streams.
    #[prop(into)]
    text: Signal<String>,
    /// More classes for the root.
    #[prop(optional)]
    class: &'static str,
) -> impl IntoView {
    // The blocks that can no longer change are kept between deltas.
    let stream = Mutex::new(StreamParse::new());
    let blocks = move || {
        let parsed = text.with(|text| match stream.lock() {
            Ok(mut stream) => stream.update(text),
            // A panic while parsing poisoned it: start over.
            Err(poisoned) => {
                let mut stream = poisoned.into_inner();
                *stream = StreamParse::new();
                stream.update(text)
            }
        });
        parsed
            .into_iter()
            .enumerate()
            .map(|(index, (print, block))| (index, print, block))
            .collect::<Vec<_>>()
    };
    let class = if class.is_empty() {
        "markdown".to_string()
    } else {
        format!("markdown {class}")
    };
    view! {
        <div class=class>
            <For
                each=blocks
                key=|(index, print, _)| (*index, *print)
                children=|(_, _, block)| block_view(&block)
            />
        </div>
    }
}

/// An element of `tag` with `children`. One generic element type serves every simple tag:
/// each distinct `view!` element is its own code in the WASM, and this module would need
/// twenty of them. (Not for void elements such as `br`: SSR would close them.)
fn el(tag: &'static str, children: Vec<AnyView>) -> AnyView {
    custom(tag).child(children).into_any()
}

/// One block and what it contains.
fn block_view(block: &Block) -> AnyView {
    match block {
        Block::Paragraph(content) => el("p", inlines(content)),
        Block::Heading { level, content } => {
            const TAGS: [&str; 6] = ["h1", "h2", "h3", "h4", "h5", "h6"];
            let tag = TAGS[usize::from((*level).clamp(1, 6) - 1)];
            el(tag, inlines(content))
        }
        Block::List { start, items } => {
            let items = items
                .iter()
                .map(|item| el("li", blocks_view(item)))
                .collect();
            match start {
                Some(start) => custom("ol")
                    .attr("start", start.to_string())
                    .child(items)
                    .into_any(),
                None => el("ul", items),
            }
        }
        Block::Quote(inner) => el("blockquote", blocks_view(inner)),
        Block::Code { lang, text } => {
            view! { <CodeBlock lang=lang.clone() text=text.clone()/> }.into_any()
        }
        Block::Table { align, head, rows } => {
            // An attribute the style sheet aligns by: the CSP allows no inline styles.
            let cells = |tag: &'static str, row: &[Vec<Inline>]| -> Vec<AnyView> {
                row.iter()
                    .enumerate()
                    .map(|(column, cell)| {
                        custom(tag)
                            .attr("data-align", align.get(column).and_then(|a| a.css()))
                            .child(inlines(cell))
                            .into_any()
                    })
                    .collect()
            };
            let head = el("thead", vec![el("tr", cells("th", head))]);
            let rows = rows.iter().map(|row| el("tr", cells("td", row))).collect();
            let table = el("table", vec![head, el("tbody", rows)]);
            // The wrapper scrolls a wide table sideways instead of the whole transcript.
            custom("div")
                .attr("class", "table-scroll")
                .child(table)
                .into_any()
        }
        Block::Rule => view! { <hr/> }.into_any(),
    }
}

fn blocks_view(blocks: &[Block]) -> Vec<AnyView> {
    blocks.iter().map(block_view).collect()
}

/// Inline content: text nodes and a few elements, links opening in a new tab.
fn inlines(content: &[Inline]) -> Vec<AnyView> {
    content
        .iter()
        .map(|inline| match inline {
            Inline::Text(text) => text.clone().into_any(),
            Inline::Emphasis(inner) => el("em", inlines(inner)),
            Inline::Strong(inner) => el("strong", inlines(inner)),
            Inline::Strikethrough(inner) => el("del", inlines(inner)),
            Inline::Code(code) => el("code", vec![revealed(code)]),
            Inline::Link {
                href: Some(href),
                content,
            } => match link_target(href) {
                LinkTarget::Direct(href) => custom("a")
                    .attr("href", href)
                    .attr("target", "_blank")
                    .attr("rel", "noopener noreferrer")
                    .child(inlines(content))
                    .into_any(),
                LinkTarget::External { url, host } => {
                    view! { <ExternalLink url host content=inlines(content)/> }.into_any()
                }
            },
            // A target that is not safe to follow: only the text.
            Inline::Link {
                href: None,
                content,
            } => custom("span")
                .attr("class", "link-blocked")
                .child(inlines(content))
                .into_any(),
            Inline::SoftBreak => " ".into_any(),
            Inline::HardBreak => view! { <br/> }.into_any(),
        })
        .collect()
}

/// A link to another host: its text as a button (the target only in its tooltip, which
/// nothing resolves); a click asks, showing the full target, and "Open" opens it in a new
/// tab without opener or referrer.
#[component]
fn ExternalLink(url: String, host: String, content: Vec<AnyView>) -> impl IntoView {
    let asking = RwSignal::new(false);
    let url = StoredValue::new(url);
    let host = StoredValue::new(host);
    let ask = move || {
        view! {
            <Confirm
                title=format!("Open a link to {}?", host.get_value())
                action="Open"
                action_class="primary"
                on_cancel=Callback::new(move |()| asking.set(false))
                on_yes=Callback::new(move |()| {
                    #[cfg(feature = "hydrate")]
                    crate::client::links::open_in_new_tab(&url.get_value());
                })
            >
                <p>"The agent's link goes to this address, opened in a new tab:"</p>
                <p class="link-target" data-testid="link-target">{url.get_value()}</p>
            </Confirm>
        }
    };
    view! {
        <button
            type="button"
            class="link-external"
            data-testid="external-link"
            title=move || format!("{} (asks before opening)", url.get_value())
            on:click=move |_| asking.set(true)
        >
            {content}
        </button>
        <Show when=move || asking.get()>
            <Portal>{ask}</Portal>
        </Show>
    }
}

/// How the copy button went, for a moment after a click (made by the browser build only).
#[derive(Clone, Copy, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum CopyResult {
    Copied { removed: usize },
    Failed,
}

/// A code block: its language, a copy button and the highlighted code, with characters
/// the page would not show drawn as marks (`hidden-char`) and left out of the copy.
#[component]
fn CodeBlock(lang: String, text: String) -> impl IntoView {
    let copied = RwSignal::new(None::<CopyResult>);
    let (clean, found) = marks(&text);
    let spans: Vec<_> = highlight(&lang, &clean)
        .into_iter()
        .map(|span| (span.range, span.kind.class()))
        .collect();
    let code = weave(&clean, &spans, &found)
        .into_iter()
        .map(|piece| match piece {
            Woven::Text {
                class: Some(class),
                text,
            } => view! { <span class=class>{text.to_string()}</span> }.into_any(),
            Woven::Text { class: None, text } => text.to_string().into_any(),
            Woven::Hidden(hidden) => hidden_view(hidden),
        })
        .collect_view();
    let hidden = found.len();
    let label = if lang.is_empty() {
        "code".to_string()
    } else {
        lang.clone()
    };
    let on_copy = move |_| {
        #[cfg(feature = "hydrate")]
        crate::client::clipboard::copy_text(&text, move |removed| {
            let result = match removed {
                Some(removed) => CopyResult::Copied { removed },
                None => CopyResult::Failed,
            };
            // `try_set`: the block may have been re-rendered (and its signal disposed) since.
            let _ = copied.try_set(Some(result));
            set_timeout(
                move || {
                    let _ = copied.try_set(None);
                },
                COPIED_FOR,
            );
        });
    };
    let button_text = move || match copied.get() {
        Some(CopyResult::Copied { removed: 0 }) => "Copied".to_string(),
        Some(CopyResult::Copied { removed }) => format!("Copied without {removed} hidden"),
        Some(CopyResult::Failed) => "Copy failed".to_string(),
        None => "Copy".to_string(),
    };
    let copy_title = if hidden == 0 {
        "Copy the code".to_string()
    } else {
        format!("Copy the code without the {hidden} marked characters")
    };
    view! {
        <div class="code-block" data-lang=lang>
            <div class="code-head">
                <span class="code-lang">{label}</span>
                {(hidden > 0).then(|| view! {
                    <span
                        class="code-hidden"
                        data-testid="code-hidden"
                        title="This code holds characters a page does not show (bidi overrides, \
                               zero-width or control characters, terminal escapes). They are \
                               shown as marks and left out when you copy."
                    >
                        {format!("{hidden} hidden")}
                    </span>
                })}
                <button
                    type="button"
                    class="copy-code"
                    data-testid="copy-code"
                    title=copy_title
                    on:click=on_copy
                >
                    {button_text}
                </button>
            </div>
            <pre><code>{code}</code></pre>
        </div>
    }
}
