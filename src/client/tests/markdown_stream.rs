//! The streaming parse equals a full parse: at every split point of real replies, in deltas
//! of many sizes, whatever the deltas cut (a fence, a table row, a list marker, a line).

use crate::client::markdown::{parse, Block};
use crate::client::markdown_stream::StreamParse;

/// The demo agent's `/markdown` reply, read from its source (the constant is private to
/// the server, and the test should follow it when it changes).
fn demo_reply() -> String {
    let source = include_str!("../../server/demo_agent/prompts.rs");
    let start = "pub const MARKDOWN_REPLY: &str = \"";
    let from = source.find(start).expect("MARKDOWN_REPLY is in prompts.rs") + start.len();
    let text = &source[from..from + source[from..].find("\";").expect("the constant ends")];
    assert!(!text.contains('\\'), "escapes would need unescaping");
    text.to_string()
}

/// A coding agent's reply with every kind of block and the cases where a line's meaning
/// changes as it grows.
const CODING_REPLY: &str = "Setext heading
==============

I looked at `src/parser.rs` and **three** things stand out:

1. the tokenizer panics on `\\0`
2. the lexer is *slow*

   with a second paragraph in the item
3. nothing else
- a bullet list right after
  - nested
    - deeper

> A quote
that continues lazily
> > and nests

| File | Lines | Status |
|:-----|------:|:------:|
| `src/parser.rs` | 42 | ok |
| tests/parser.rs | 7 | **new** |

foo
<div>
an HTML block that interrupts a paragraph
</div>

bar
***
    indented code

    after a blank line

<!-- a comment

with a blank line inside -->

~~~python
def f():
    return 1
~~~

Subheading
----------

Done. See [the docs](https://example.com/docs) and <https://auto.example/>.
";

/// A long fenced block (a build log) between paragraphs.
fn long_code_reply() -> String {
    let mut text = String::from("The build failed:\n\n```text\n");
    for n in 0..300 {
        text.push_str(&format!(
            "   Compiling crate_{n} v0.{n}.0 (/src/crate_{n})\n"
        ));
    }
    text.push_str("error[E0425]: cannot find value `x`\n```\n\nThat is the only error.\n\n");
    text.push_str("- fix `x`\n- rerun\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
    text
}

fn blocks(parsed: Vec<(u64, std::sync::Arc<Block>)>) -> Vec<Block> {
    parsed.into_iter().map(|(_, b)| (*b).clone()).collect()
}

/// Streams `text` in deltas of `size` bytes (at char boundaries) and checks every step.
fn check_stream(text: &str, size: usize) -> StreamParse {
    let mut stream = StreamParse::new();
    let mut end = 0;
    while end < text.len() {
        end = (end + size).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        let prefix = &text[..end];
        assert_eq!(
            blocks(stream.update(prefix)),
            parse(prefix),
            "delta size {size}, at byte {end}: {:?}",
            &prefix[prefix.len().saturating_sub(40)..]
        );
    }
    stream
}

fn replies() -> Vec<String> {
    vec![demo_reply(), CODING_REPLY.to_string(), long_code_reply()]
}

#[test]
fn markdown_stream_equals_a_full_parse_at_every_step() {
    for reply in replies() {
        for size in [1, 2, 3, 7, 20, 64, 500] {
            let stream = check_stream(&reply, size);
            // The point of it: in the end only the last block or two are parsed again.
            let total = parse(&reply).len();
            assert!(
                stream.closed_blocks() + 2 >= total,
                "{} of {total} closed",
                stream.closed_blocks()
            );
        }
    }
}

#[test]
fn markdown_stream_equals_a_full_parse_at_every_split_point() {
    // Two updates: everything up to the split, then the whole reply.
    for reply in replies() {
        for (split, _) in reply.char_indices() {
            let mut stream = StreamParse::new();
            stream.update(&reply[..split]);
            assert_eq!(
                blocks(stream.update(&reply)),
                parse(&reply),
                "split at {split}"
            );
        }
    }
}

#[test]
fn markdown_stream_a_growing_line_can_change_its_block() {
    // `<div` ends the paragraph (an HTML block) until `x` makes it paragraph text again;
    // `***` is a rule until `x` makes it emphasis; `#` a heading until it is `#x`.
    for (before, after) in [
        ("foo\n<div", "foo\n<divx> bar\n\nnext\n"),
        ("foo\n***", "foo\n***x\n\nnext\n"),
        ("foo\n# ", "foo\n#x\n\nnext\n"),
        ("| a |\n", "| a |\n|---|\n| 1 |\n\nnext\n"),
    ] {
        let mut stream = StreamParse::new();
        assert_eq!(blocks(stream.update(before)), parse(before));
        assert_eq!(blocks(stream.update(after)), parse(after), "{after:?}");
    }
}

#[test]
fn markdown_stream_link_references_reach_back_and_are_parsed_whole() {
    let text =
        "See [the docs][d] first.\n\nMore text.\n\n[d]: https://example.com/d\n\nAfter [d].\n";
    check_stream(text, 1);
    check_stream(text, 5);
}

#[test]
fn markdown_stream_a_replaced_text_starts_over() {
    let mut stream = StreamParse::new();
    stream.update("# One\n\npara\n\nmore\n");
    let other = "Something else entirely\n\n- a\n";
    assert_eq!(blocks(stream.update(other)), parse(other));
    assert_eq!(blocks(stream.update("")), parse(""));
}
