//! Assistant text as markdown: [`parse`] turns it into a small owned tree of [`Block`]s and
//! [`Inline`]s that `components::markdown` renders as Leptos views. Pure (no web APIs), so
//! SSR and the browser build the same tree and tests run natively.
//!
//! The text comes from an agent and is not trusted. There is no HTML path: raw HTML becomes
//! literal text, links keep only `http`, `https`, `mailto` and relative targets, and images
//! become links (a remote image would load as soon as the text streams in).

use pulldown_cmark::{
    Alignment, CodeBlockKind, Event, HeadingLevel, LinkType, Options, Parser, Tag,
};
use std::hash::{Hash, Hasher};

/// Containers nested deeper than this are flattened into their parent: hostile input such as
/// ten thousand `>` would otherwise recurse (here and in the view) until the stack ran out.
const MAX_DEPTH: usize = 24;

/// A block of a markdown document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Block {
    /// A paragraph (also the text of a tight list item).
    Paragraph(Vec<Inline>),
    /// `#` to `######`.
    Heading {
        /// 1 to 6.
        level: u8,
        /// The heading's text.
        content: Vec<Inline>,
    },
    /// A bulleted or numbered list.
    List {
        /// The first number of an ordered list; `None` for bullets.
        start: Option<u64>,
        /// Each item's blocks.
        items: Vec<Vec<Block>>,
    },
    /// `>` quoted blocks.
    Quote(Vec<Block>),
    /// A fenced or indented code block.
    Code {
        /// The first word of the fence's info string (`rust` in ```` ```rust ````), or empty.
        lang: String,
        /// The code, without the final newline.
        text: String,
    },
    /// A GitHub-style table.
    Table {
        /// One alignment per column.
        align: Vec<Align>,
        /// The header cells.
        head: Vec<Vec<Inline>>,
        /// The body rows, each a list of cells.
        rows: Vec<Vec<Vec<Inline>>>,
    },
    /// `---`.
    Rule,
}

/// A column's alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Align {
    /// No colon in the delimiter row.
    None,
    /// `:--`.
    Left,
    /// `:-:`.
    Center,
    /// `--:`.
    Right,
}

impl Align {
    /// The CSS `text-align` value, if any.
    pub fn css(self) -> Option<&'static str> {
        match self {
            Align::None => None,
            Align::Left => Some("left"),
            Align::Center => Some("center"),
            Align::Right => Some("right"),
        }
    }
}

/// Text-level content.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Inline {
    /// Plain text (including what was raw HTML).
    Text(String),
    /// `*emphasis*`.
    Emphasis(Vec<Inline>),
    /// `**strong**`.
    Strong(Vec<Inline>),
    /// `~~struck~~`.
    Strikethrough(Vec<Inline>),
    /// `` `code` ``.
    Code(String),
    /// A link; `href` is `None` when the target was not safe to follow, and then only the
    /// text shows.
    Link {
        /// The checked target.
        href: Option<String>,
        /// The link's text.
        content: Vec<Inline>,
    },
    /// A line break inside a paragraph that markdown joins with a space.
    SoftBreak,
    /// A forced line break (two spaces or `\` at the end of a line).
    HardBreak,
}

/// Parses `text` (complete or still streaming) into blocks. Never fails: anything the parser
/// does not model becomes text.
pub fn parse(text: &str) -> Vec<Block> {
    let mut events = Parser::new_ext(text, OPTIONS);
    blocks(&mut events, 0)
}

/// The parser's options: tables and strikethrough, nothing else.
const OPTIONS: Options = Options::ENABLE_TABLES.union(Options::ENABLE_STRIKETHROUGH);

/// The top-level blocks of `text`, each with the byte offset where it starts, and whether
/// the text defines link references (`[name]: url`), which reach across blocks. The same
/// blocks as [`parse`]; `client::markdown_stream` uses the offsets to re-parse only the
/// open end of a streaming reply.
pub fn parse_top(text: &str) -> (Vec<(usize, Block)>, bool) {
    let parser = Parser::new_ext(text, OPTIONS).into_offset_iter();
    let has_references = parser.reference_definitions().iter().next().is_some();
    let mut events = Tracked {
        inner: parser,
        start: 0,
    };
    let mut out = Vec::new();
    // The same steps as `blocks` at depth 0, noting where each block starts.
    let mut loose: Vec<Inline> = Vec::new();
    let mut loose_start = 0;
    while let Some(event) = events.next() {
        let start = events.start;
        match event {
            Event::End(_) => break,
            Event::Start(tag) if is_inline(&tag) => {
                if loose.is_empty() {
                    loose_start = start;
                }
                push_inline(&mut loose, tag, &mut events, 0)
            }
            Event::Start(tag) => {
                if !loose.is_empty() {
                    out.push((loose_start, Block::Paragraph(std::mem::take(&mut loose))));
                }
                if let Some(block) = block(tag, &mut events, 1) {
                    out.push((start, block));
                }
            }
            Event::Rule => {
                if !loose.is_empty() {
                    out.push((loose_start, Block::Paragraph(std::mem::take(&mut loose))));
                }
                out.push((start, Block::Rule));
            }
            other => {
                if loose.is_empty() {
                    loose_start = start;
                }
                push_leaf(&mut loose, other)
            }
        }
    }
    if !loose.is_empty() {
        out.push((loose_start, Block::Paragraph(loose)));
    }
    (out, has_references)
}

/// The events of an offset iterator, remembering where the last one started.
struct Tracked<I> {
    inner: I,
    start: usize,
}

impl<'a, I: Iterator<Item = (Event<'a>, std::ops::Range<usize>)>> Iterator for Tracked<I> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        let (event, range) = self.inner.next()?;
        self.start = range.start;
        Some(event)
    }
}

/// A fingerprint of a block, so the view re-renders only blocks that changed while the text
/// streams (usually the last one).
pub fn fingerprint(block: &Block) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    block.hash(&mut hasher);
    hasher.finish()
}

/// Whether a link target may be followed: web and mail links, and relative ones (no scheme,
/// e.g. `#notes` or `docs/a.md`). Everything else (`javascript:`, `data:`, `file:`...) is not.
pub fn safe_href(url: &str) -> Option<String> {
    let url = url.trim();
    if url.is_empty() || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    let lower = url.to_ascii_lowercase();
    let allowed_scheme = ["http://", "https://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme));
    // A colon before any `/`, `?` or `#` would make the start a scheme.
    let relative = match url.find([':', '/', '?', '#']) {
        Some(i) => !url[i..].starts_with(':'),
        None => true,
    };
    (allowed_scheme || relative).then(|| url.to_string())
}

/// Reads blocks until the end of the container they are in (or of the text).
fn blocks<'a>(events: &mut impl Iterator<Item = Event<'a>>, depth: usize) -> Vec<Block> {
    let mut out = Vec::new();
    // Inline content directly in a container (tight list items have no paragraph).
    let mut loose: Vec<Inline> = Vec::new();
    // Containers past MAX_DEPTH that were flattened: their ends must not end this one.
    let mut flattened = 0usize;
    let flush = |loose: &mut Vec<Inline>, out: &mut Vec<Block>| {
        if !loose.is_empty() {
            out.push(Block::Paragraph(std::mem::take(loose)));
        }
    };
    while let Some(event) = events.next() {
        match event {
            Event::End(_) if flattened > 0 => flattened -= 1,
            Event::End(_) => break,
            Event::Start(tag) if is_inline(&tag) => push_inline(&mut loose, tag, events, depth),
            Event::Start(_) if depth >= MAX_DEPTH => {
                flush(&mut loose, &mut out);
                flattened += 1;
            }
            Event::Start(tag) => {
                flush(&mut loose, &mut out);
                if let Some(block) = block(tag, events, depth + 1) {
                    out.push(block);
                }
            }
            Event::Rule => {
                flush(&mut loose, &mut out);
                out.push(Block::Rule);
            }
            other => push_leaf(&mut loose, other),
        }
    }
    flush(&mut loose, &mut out);
    out
}

/// The block a container tag opens; its events are read up to its end.
fn block<'a>(
    tag: Tag<'a>,
    events: &mut impl Iterator<Item = Event<'a>>,
    depth: usize,
) -> Option<Block> {
    Some(match tag {
        Tag::Paragraph => Block::Paragraph(inlines(events, depth)),
        Tag::Heading { level, .. } => Block::Heading {
            level: heading_level(level),
            content: inlines(events, depth),
        },
        Tag::BlockQuote(_) => Block::Quote(blocks(events, depth)),
        Tag::CodeBlock(kind) => {
            let lang = match kind {
                CodeBlockKind::Fenced(info) => info
                    .split(|c: char| c.is_whitespace() || c == ',' || c == '{')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                CodeBlockKind::Indented => String::new(),
            };
            let mut text = plain_text(events);
            if text.ends_with('\n') {
                text.pop();
            }
            Block::Code { lang, text }
        }
        Tag::List(start) => {
            let mut items = Vec::new();
            while let Some(event) = events.next() {
                match event {
                    Event::Start(Tag::Item) => items.push(blocks(events, depth)),
                    Event::End(_) => break,
                    _ => {}
                }
            }
            Block::List { start, items }
        }
        Tag::Table(align) => table(align, events, depth),
        // Raw HTML shows as what it is: text.
        Tag::HtmlBlock => {
            let text = plain_text(events);
            Block::Paragraph(vec![Inline::Text(text.trim_end().to_string())])
        }
        // Tags of options that are off (footnotes, metadata...): keep their content.
        _ => {
            let inner = blocks(events, depth);
            return match inner.len() {
                0 => None,
                _ => Some(Block::Quote(inner)),
            };
        }
    })
}

/// A table's header and rows, up to its end.
fn table<'a>(
    align: Vec<Alignment>,
    events: &mut impl Iterator<Item = Event<'a>>,
    depth: usize,
) -> Block {
    let align = align
        .into_iter()
        .map(|a| match a {
            Alignment::None => Align::None,
            Alignment::Left => Align::Left,
            Alignment::Center => Align::Center,
            Alignment::Right => Align::Right,
        })
        .collect();
    let mut head = Vec::new();
    let mut rows = Vec::new();
    while let Some(event) = events.next() {
        match event {
            Event::Start(Tag::TableHead) => head = cells(events, depth),
            Event::Start(Tag::TableRow) => rows.push(cells(events, depth)),
            Event::End(_) => break,
            _ => {}
        }
    }
    Block::Table { align, head, rows }
}

/// The cells of one table row, up to its end.
fn cells<'a>(events: &mut impl Iterator<Item = Event<'a>>, depth: usize) -> Vec<Vec<Inline>> {
    let mut cells = Vec::new();
    while let Some(event) = events.next() {
        match event {
            Event::Start(Tag::TableCell) => cells.push(inlines(events, depth)),
            Event::End(_) => break,
            _ => {}
        }
    }
    cells
}

/// Reads inline content until the end of the element it is in.
fn inlines<'a>(events: &mut impl Iterator<Item = Event<'a>>, depth: usize) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut flattened = 0usize;
    while let Some(event) = events.next() {
        match event {
            Event::End(_) if flattened > 0 => flattened -= 1,
            Event::End(_) => break,
            Event::Start(tag) if is_inline(&tag) && depth < MAX_DEPTH => {
                push_inline(&mut out, tag, events, depth)
            }
            // Too deep, or a block inside inline content (the parser makes none): its
            // content joins this element.
            Event::Start(_) => flattened += 1,
            Event::Rule => {}
            other => push_leaf(&mut out, other),
        }
    }
    out
}

/// Whether a tag opens inline content.
fn is_inline(tag: &Tag) -> bool {
    matches!(
        tag,
        Tag::Emphasis
            | Tag::Strong
            | Tag::Strikethrough
            | Tag::Superscript
            | Tag::Subscript
            | Tag::Link { .. }
            | Tag::Image { .. }
    )
}

/// Reads the inline element `tag` opens and appends it to `out`.
fn push_inline<'a>(
    out: &mut Vec<Inline>,
    tag: Tag<'a>,
    events: &mut impl Iterator<Item = Event<'a>>,
    depth: usize,
) {
    let content = inlines(events, depth + 1);
    match tag {
        Tag::Emphasis => out.push(Inline::Emphasis(content)),
        Tag::Strong => out.push(Inline::Strong(content)),
        Tag::Strikethrough => out.push(Inline::Strikethrough(content)),
        Tag::Link {
            link_type,
            dest_url,
            ..
        } => {
            let target = match link_type {
                LinkType::Email => format!("mailto:{dest_url}"),
                _ => dest_url.to_string(),
            };
            out.push(Inline::Link {
                href: safe_href(&target),
                content,
            });
        }
        // Never loaded: a link to the image, named by its alt text (or its address).
        Tag::Image { dest_url, .. } => {
            let content = if content.is_empty() {
                vec![Inline::Text(dest_url.to_string())]
            } else {
                content
            };
            out.push(Inline::Link {
                href: safe_href(&dest_url),
                content,
            });
        }
        _ => out.extend(content),
    }
}

/// Appends a leaf event as inline content; adjacent text merges into one node.
fn push_leaf(out: &mut Vec<Inline>, event: Event) {
    let text = match event {
        Event::Text(text) | Event::Html(text) | Event::InlineHtml(text) => text,
        Event::Code(code) | Event::InlineMath(code) | Event::DisplayMath(code) => {
            out.push(Inline::Code(code.to_string()));
            return;
        }
        Event::FootnoteReference(name) => format!("[^{name}]").into(),
        Event::SoftBreak => {
            out.push(Inline::SoftBreak);
            return;
        }
        Event::HardBreak => {
            out.push(Inline::HardBreak);
            return;
        }
        Event::TaskListMarker(done) => if done { "[x] " } else { "[ ] " }.into(),
        _ => return,
    };
    match out.last_mut() {
        Some(Inline::Text(last)) => last.push_str(&text),
        _ => out.push(Inline::Text(text.to_string())),
    }
}

/// The text of everything up to the end of the current element (code and HTML blocks).
fn plain_text<'a>(events: &mut impl Iterator<Item = Event<'a>>) -> String {
    let mut text = String::new();
    let mut open = 0usize;
    for event in events.by_ref() {
        match event {
            Event::Start(_) => open += 1,
            Event::End(_) if open == 0 => break,
            Event::End(_) => open -= 1,
            Event::Text(t) | Event::Html(t) | Event::InlineHtml(t) | Event::Code(t) => {
                text.push_str(&t)
            }
            Event::SoftBreak | Event::HardBreak => text.push('\n'),
            _ => {}
        }
    }
    text
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// The text of inline content without its formatting (for tests and labels).
pub fn inline_text(content: &[Inline]) -> String {
    let mut out = String::new();
    for inline in content {
        match inline {
            Inline::Text(t) | Inline::Code(t) => out.push_str(t),
            Inline::Emphasis(c) | Inline::Strong(c) | Inline::Strikethrough(c) => {
                out.push_str(&inline_text(c))
            }
            Inline::Link { content, .. } => out.push_str(&inline_text(content)),
            Inline::SoftBreak => out.push(' '),
            Inline::HardBreak => out.push('\n'),
        }
    }
    out
}
