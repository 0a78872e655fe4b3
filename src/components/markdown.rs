//! `<Markdown>`: assistant text rendered from the tree of [`crate::client::markdown`] as
//! Leptos views (never as an HTML string, so agent text cannot become markup). Code blocks
//! are highlighted by [`crate::client::highlight`] and have a copy button (`copy-code`).
//!
//! While the text streams, each delta re-parses the text, but only blocks whose content
//! changed (usually the last) get new DOM: blocks are keyed by position and fingerprint.
//! SSR and hydration render the same structure from the same text.

use crate::client::highlight::highlight;
use crate::client::markdown::{fingerprint, parse, Block, Inline};
use leptos::prelude::*;

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
    let blocks = move || {
        text.with(|text| parse(text))
            .into_iter()
            .enumerate()
            .map(|(index, block)| (index, fingerprint(&block), block))
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

/// One block and what it contains.
fn block_view(block: &Block) -> AnyView {
    match block {
        Block::Paragraph(content) => view! { <p>{inlines(content)}</p> }.into_any(),
        Block::Heading { level, content } => {
            let content = inlines(content);
            match level {
                1 => view! { <h1>{content}</h1> }.into_any(),
                2 => view! { <h2>{content}</h2> }.into_any(),
                3 => view! { <h3>{content}</h3> }.into_any(),
                4 => view! { <h4>{content}</h4> }.into_any(),
                5 => view! { <h5>{content}</h5> }.into_any(),
                _ => view! { <h6>{content}</h6> }.into_any(),
            }
        }
        Block::List { start, items } => {
            let items = items
                .iter()
                .map(|item| view! { <li>{blocks_view(item)}</li> })
                .collect_view();
            match start {
                Some(start) => view! { <ol start=*start>{items}</ol> }.into_any(),
                None => view! { <ul>{items}</ul> }.into_any(),
            }
        }
        Block::Quote(inner) => view! { <blockquote>{blocks_view(inner)}</blockquote> }.into_any(),
        Block::Code { lang, text } => {
            view! { <CodeBlock lang=lang.clone() text=text.clone()/> }.into_any()
        }
        Block::Table { align, head, rows } => {
            // An attribute the style sheet aligns by: the CSP allows no inline styles.
            let align_of = |column: usize| align.get(column).and_then(|a| a.css());
            let head = head
                .iter()
                .enumerate()
                .map(
                    |(column, cell)| view! { <th data-align=align_of(column)>{inlines(cell)}</th> },
                )
                .collect_view();
            let rows = rows
                .iter()
                .map(|row| {
                    let cells = row
                        .iter()
                        .enumerate()
                        .map(|(column, cell)| {
                            view! { <td data-align=align_of(column)>{inlines(cell)}</td> }
                        })
                        .collect_view();
                    view! { <tr>{cells}</tr> }
                })
                .collect_view();
            // The wrapper scrolls a wide table sideways instead of the whole transcript.
            view! {
                <div class="table-scroll">
                    <table>
                        <thead><tr>{head}</tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            }
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
            Inline::Emphasis(inner) => view! { <em>{inlines(inner)}</em> }.into_any(),
            Inline::Strong(inner) => view! { <strong>{inlines(inner)}</strong> }.into_any(),
            Inline::Strikethrough(inner) => view! { <del>{inlines(inner)}</del> }.into_any(),
            Inline::Code(code) => view! { <code>{code.clone()}</code> }.into_any(),
            Inline::Link {
                href: Some(href),
                content,
            } => view! {
                <a href=href.clone() target="_blank" rel="noopener noreferrer">{inlines(content)}</a>
            }
            .into_any(),
            // A target that is not safe to follow: only the text.
            Inline::Link { href: None, content } => {
                view! { <span class="link-blocked">{inlines(content)}</span> }.into_any()
            }
            Inline::SoftBreak => " ".into_any(),
            Inline::HardBreak => view! { <br/> }.into_any(),
        })
        .collect()
}

/// A code block: its language, a copy button and the highlighted code.
#[component]
fn CodeBlock(lang: String, text: String) -> impl IntoView {
    // Some(worked) for a moment after a click.
    let copied = RwSignal::new(None::<bool>);
    let code = highlight(&lang, &text)
        .into_iter()
        .map(|span| {
            let part = text.get(span.range).unwrap_or_default().to_string();
            match span.kind.class() {
                Some(class) => view! { <span class=class>{part}</span> }.into_any(),
                None => part.into_any(),
            }
        })
        .collect_view();
    let label = if lang.is_empty() {
        "code".to_string()
    } else {
        lang.clone()
    };
    let on_copy = move |_| {
        #[cfg(feature = "hydrate")]
        crate::client::clipboard::copy_text(text.clone(), move |worked| {
            // `try_set`: the block may have been re-rendered (and its signal disposed) since.
            let _ = copied.try_set(Some(worked));
            set_timeout(
                move || {
                    let _ = copied.try_set(None);
                },
                COPIED_FOR,
            );
        });
    };
    let button_text = move || match copied.get() {
        Some(true) => "Copied",
        Some(false) => "Copy failed",
        None => "Copy",
    };
    view! {
        <div class="code-block" data-lang=lang>
            <div class="code-head">
                <span class="code-lang">{label}</span>
                <button
                    type="button"
                    class="copy-code"
                    data-testid="copy-code"
                    title="Copy the code"
                    on:click=on_copy
                >
                    {button_text}
                </button>
            </div>
            <pre><code>{code}</code></pre>
        </div>
    }
}
