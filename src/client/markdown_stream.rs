//! Markdown of a reply that is still streaming, re-parsed only at its open end.
//!
//! Parsing the whole text on every delta costs time in proportion to the text, so a long
//! reply costs the square of its length in all (a 200 KB reply in 20-byte deltas parses
//! a gigabyte). [`StreamParse`] keeps the blocks that can no longer change and parses only
//! the text from the start of the last open block.
//!
//! When a block is closed: markdown decides a line's block by that line and the blocks open
//! before it, never by later lines, with two exceptions this module respects. A line that is
//! not yet complete can still change its meaning (`<div` starts an HTML block, `<divx>` is
//! paragraph text), so a block ends the closed part only once the line where the next block
//! starts is complete. And a link reference definition (`[name]: url`) changes links in
//! blocks before and after it, so a text that has one is parsed whole every time (agents
//! rarely write them). The blocks are exactly those of a full [`parse`](super::markdown::parse);
//! the tests check that at many split points of real replies.

use super::markdown::{fingerprint, parse, parse_top, Block};
use std::sync::Arc;

/// A block and its fingerprint (for the view's keys), shared so each delta costs no copies
/// of the closed blocks.
pub type Parsed = (u64, Arc<Block>);

/// The parse of one growing text.
#[derive(Debug, Default)]
pub struct StreamParse {
    /// The text before the open part, as it was: a text that does not start with it was
    /// replaced rather than extended, and is parsed afresh.
    closed_text: String,
    /// The blocks of `closed_text`, final.
    closed: Vec<Parsed>,
    /// The text has link reference definitions: parse it whole each time.
    whole: bool,
}

impl StreamParse {
    /// An empty parse.
    pub fn new() -> Self {
        Self::default()
    }

    /// The blocks of `text`, which is usually the last text given plus a delta. Costs time in
    /// proportion to the open part (and a comparison of the closed part's bytes).
    pub fn update(&mut self, text: &str) -> Vec<Parsed> {
        if !text.as_bytes().starts_with(self.closed_text.as_bytes()) {
            *self = Self::default();
        }
        if self.whole {
            return parse(text).into_iter().map(shared).collect();
        }
        let open = &text[self.closed_text.len()..];
        let (blocks, has_references) = parse_top(open);
        if has_references {
            *self = Self {
                whole: true,
                ..Self::default()
            };
            return parse(text).into_iter().map(shared).collect();
        }
        // The end of the open part's complete lines.
        let complete = open.rfind('\n').map_or(0, |i| i + 1);
        // The last block (not the first) that starts on a complete line: every block before
        // it is final.
        let keep_from = blocks
            .iter()
            .enumerate()
            .skip(1)
            .rev()
            .find(|(_, (start, _))| *start < complete)
            .map(|(index, (start, _))| (index, line_start(open, *start)));
        let mut blocks = blocks.into_iter();
        if let Some((index, cut)) = keep_from {
            self.closed
                .extend(blocks.by_ref().take(index).map(|(_, block)| shared(block)));
            self.closed_text.push_str(&open[..cut]);
        }
        let mut out = self.closed.clone();
        out.extend(blocks.map(|(_, block)| shared(block)));
        out
    }

    /// How many blocks are final (parsed for the last time).
    pub fn closed_blocks(&self) -> usize {
        self.closed.len()
    }
}

fn shared(block: Block) -> Parsed {
    (fingerprint(&block), Arc::new(block))
}

/// The start of the line `offset` is on.
fn line_start(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .and_then(|before| before.rfind('\n'))
        .map_or(0, |i| i + 1)
}
