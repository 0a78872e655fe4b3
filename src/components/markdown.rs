//! `<Markdown>`: assistant text rendered from the tree of [`crate::client::markdown`] as
//! Leptos views (never as an HTML string, so agent text cannot become markup). Code blocks
//! are highlighted by [`crate::client::highlight`] and have a copy button (`copy-code`).
//!
//! While the text streams, each delta re-parses the text, but only blocks whose content
//! changed (usually the last) get new DOM: blocks are keyed by position and fingerprint.
//! SSR and hydration render the same structure from the same text.

use crate::client::highlight::highlight;
use crate::client::markdown::{fingerprint, parse, Block, Inline};
use leptos::html::custom;
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
            Inline::Code(code) => el("code", vec![code.clone().into_any()]),
            Inline::Link {
                href: Some(href),
                content,
            } => custom("a")
                .attr("href", href.clone())
                .attr("target", "_blank")
                .attr("rel", "noopener noreferrer")
                .child(inlines(content))
                .into_any(),
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
