//! Markdown of realistic agent replies: tables, fenced code, raw HTML as text, unsafe links
//! and text that is still streaming.

use crate::client::markdown::{inline_text, parse, safe_href, Align, Block, Inline};

const REPLY: &str = "## Summary

I changed **two** files and ran the tests:

1. `src/parser.rs`: the *tokenizer* now ~~panics~~ returns an error
2. `tests/parser.rs`: a new case

| File | Lines | Status |
|:-----|------:|:------:|
| `src/parser.rs` | 42 | ok |
| tests/parser.rs | 7 | **new** |

```rust
fn main() {
    println!(\"hi\");
}
```

See [the docs](https://example.com/docs) for more.
";

fn text_of(block: &Block) -> String {
    match block {
        Block::Paragraph(content) | Block::Heading { content, .. } => inline_text(content),
        other => format!("{other:?}"),
    }
}

#[test]
fn markdown_a_realistic_reply_becomes_headings_lists_tables_and_code() {
    let blocks = parse(REPLY);
    assert_eq!(blocks.len(), 6, "{blocks:#?}");
    assert!(matches!(&blocks[0], Block::Heading { level: 2, .. }));
    assert_eq!(text_of(&blocks[0]), "Summary");
    assert_eq!(
        text_of(&blocks[1]),
        "I changed two files and ran the tests:"
    );
    let Block::List { start, items } = &blocks[2] else {
        panic!("not a list: {:?}", blocks[2]);
    };
    assert_eq!(*start, Some(1));
    assert_eq!(items.len(), 2);
    let Block::Paragraph(first) = &items[0][0] else {
        panic!("tight item without text: {:?}", items[0]);
    };
    assert_eq!(first[0], Inline::Code("src/parser.rs".into()));
    assert!(first.contains(&Inline::Strikethrough(vec![Inline::Text("panics".into())])));
    assert!(first.contains(&Inline::Emphasis(vec![Inline::Text("tokenizer".into())])));

    let Block::Table { align, head, rows } = &blocks[3] else {
        panic!("not a table: {:?}", blocks[3]);
    };
    assert_eq!(align, &[Align::Left, Align::Right, Align::Center]);
    let head: Vec<String> = head.iter().map(|c| inline_text(c)).collect();
    assert_eq!(head, ["File", "Lines", "Status"]);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[1][2],
        vec![Inline::Strong(vec![Inline::Text("new".into())])]
    );
    assert_eq!(inline_text(&rows[0][0]), "src/parser.rs");

    assert_eq!(
        blocks[4],
        Block::Code {
            lang: "rust".into(),
            text: "fn main() {\n    println!(\"hi\");\n}".into()
        }
    );
    let Block::Paragraph(last) = &blocks[5] else {
        panic!("{:?}", blocks[5]);
    };
    assert!(last.contains(&Inline::Link {
        href: Some("https://example.com/docs".into()),
        content: vec![Inline::Text("the docs".into())]
    }));
}

#[test]
fn markdown_html_is_text_never_markup() {
    let blocks = parse("<script>alert(1)</script>\n\nInline <b onclick=\"x()\">bold</b> too.");
    assert_eq!(text_of(&blocks[0]), "<script>alert(1)</script>");
    assert_eq!(
        text_of(&blocks[1]),
        "Inline <b onclick=\"x()\">bold</b> too."
    );
    // Nothing in the tree can carry markup: only text nodes exist.
    assert!(matches!(&blocks[0], Block::Paragraph(c) if matches!(c[..], [Inline::Text(_)])));
}

#[test]
fn markdown_unsafe_links_keep_only_their_text() {
    let blocks = parse(
        "[click](javascript:alert(1)) [data](data:text/html,x) [ok](#notes) [rel](docs/a.md) \
         <mailto:me@example.com> <me@example.com> [JS](JaVaScRiPt:alert(1))",
    );
    let Block::Paragraph(content) = &blocks[0] else {
        panic!("{blocks:?}");
    };
    let hrefs: Vec<Option<String>> = content
        .iter()
        .filter_map(|inline| match inline {
            Inline::Link { href, .. } => Some(href.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        hrefs,
        vec![
            None,
            None,
            Some("#notes".into()),
            Some("docs/a.md".into()),
            Some("mailto:me@example.com".into()),
            Some("mailto:me@example.com".into()),
            None,
        ]
    );
    assert_eq!(safe_href("java\tscript:alert(1)"), None);
    assert_eq!(
        safe_href("HTTPS://example.com"),
        Some("HTTPS://example.com".into())
    );
    assert_eq!(safe_href("./a:b"), Some("./a:b".into()));
}

#[test]
fn markdown_images_become_links_named_by_their_alt_text() {
    let blocks = parse("![a chart](https://example.com/c.png) ![](javascript:x)");
    let Block::Paragraph(content) = &blocks[0] else {
        panic!("{blocks:?}");
    };
    assert_eq!(
        content[0],
        Inline::Link {
            href: Some("https://example.com/c.png".into()),
            content: vec![Inline::Text("a chart".into())]
        }
    );
    assert_eq!(
        content[2],
        Inline::Link {
            href: None,
            content: vec![Inline::Text("javascript:x".into())]
        }
    );
}

#[test]
fn markdown_streaming_text_with_an_open_fence_is_code_so_far() {
    let partial = "Here is the fix:\n\n```rust\nfn add(a: i32) -> i32 {\n    a +";
    let blocks = parse(partial);
    assert_eq!(blocks.len(), 2);
    assert_eq!(
        blocks[1],
        Block::Code {
            lang: "rust".into(),
            text: "fn add(a: i32) -> i32 {\n    a +".into()
        }
    );
    // Every prefix parses (char boundaries only), whatever is cut off.
    for (i, _) in REPLY.char_indices() {
        parse(&REPLY[..i]);
    }
    // A table whose body has not arrived yet is still a table.
    let blocks = parse("| a | b |\n|---|---|\n");
    assert!(matches!(&blocks[0], Block::Table { rows, .. } if rows.is_empty()));
}

#[test]
fn markdown_breaks_quotes_rules_and_nested_lists() {
    let blocks = parse("> quoted\n> line  \n> next\n\n---\n\n- a\n  - b\n- c\n");
    let Block::Quote(inner) = &blocks[0] else {
        panic!("{blocks:?}");
    };
    let Block::Paragraph(content) = &inner[0] else {
        panic!("{inner:?}");
    };
    assert!(content.contains(&Inline::SoftBreak));
    assert!(content.contains(&Inline::HardBreak));
    assert_eq!(blocks[1], Block::Rule);
    let Block::List { start: None, items } = &blocks[2] else {
        panic!("{:?}", blocks[2]);
    };
    assert_eq!(items.len(), 2);
    assert!(matches!(&items[0][1], Block::List { items, .. } if items.len() == 1));
}

#[test]
fn markdown_hostile_nesting_is_flattened_not_recursed() {
    let deep = format!("{}deep", "> ".repeat(5000));
    let blocks = parse(&deep);
    assert_eq!(blocks.len(), 1);
    let emphasis = format!("{}x{}", "*_".repeat(3000), "_*".repeat(3000));
    assert!(!parse(&emphasis).is_empty());
    let lists = "- ".repeat(3000) + "x";
    assert!(!parse(&lists).is_empty());
}
