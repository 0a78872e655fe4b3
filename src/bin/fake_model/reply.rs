//! An answer independent of its wire format: content blocks cut into the chunks the stream
//! sends, the stop reason, usage, and the pause between chunks. `sse.rs` streams it; here it
//! is also rendered as one non-streamed message.

use crate::conversation::Request;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `output_tokens` in `message_delta` (the captures show 20; `message_start` says 1).
pub const OUTPUT_TOKENS: u64 = 20;

/// One streamed piece of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// `@<unix micros> `, taken when the piece is written: the benchmarks measure from it.
    Stamp,
}

impl Piece {
    /// The text, a stamp's taken now.
    pub fn render(&self) -> String {
        match self {
            Piece::Text(text) => text.clone(),
            Piece::Stamp => {
                let micros = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros());
                format!("@{micros} ")
            }
        }
    }
}

/// One content block of the answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Text(Vec<Piece>),
    /// Extended thinking, closed by a `signature_delta`.
    Thinking {
        pieces: Vec<Piece>,
        signature: String,
    },
    /// Streamed as `input_json_delta` pieces of the serialized input.
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
}

/// The usage numbers of one answer: deterministic, so tests can rely on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
}

impl Usage {
    /// 100 + 10 per message (as in the captures: 2 messages -> 120), and cache figures a
    /// UI can show: something cached on every request, read back once the model answered
    /// in this conversation before.
    pub fn for_request(request: &Request) -> Usage {
        let follow_up = request.has_assistant_turn();
        Usage {
            input_tokens: 100 + 10 * request.messages.len() as u64,
            cache_creation_input_tokens: 20,
            cache_read_input_tokens: if follow_up { 50 } else { 0 },
        }
    }

    /// The `usage` object with a given `output_tokens`.
    pub fn to_json(self, output_tokens: u64) -> Value {
        json!({
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "output_tokens": output_tokens,
        })
    }
}

/// A whole answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub id: String,
    pub model: String,
    pub blocks: Vec<Block>,
    pub stop_reason: &'static str,
    pub usage: Usage,
    /// Pause between two chunks of one block (the `SLOW` scenario).
    pub pace: Duration,
}

impl Reply {
    /// The answer as a non-streamed `message` object.
    pub fn to_message_json(&self) -> Value {
        let content: Vec<Value> = self
            .blocks
            .iter()
            .map(|block| match block {
                Block::Text(pieces) => json!({"type": "text", "text": join(pieces)}),
                Block::Thinking { pieces, signature } => json!({
                    "type": "thinking",
                    "thinking": join(pieces),
                    "signature": signature,
                }),
                Block::ToolUse { id, name, input } => json!({
                    "type": "tool_use",
                    "id": id,
                    "name": name,
                    "input": input,
                }),
            })
            .collect();
        json!({
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": self.stop_reason,
            "stop_sequence": null,
            "usage": self.usage.to_json(OUTPUT_TOKENS),
        })
    }
}

/// All pieces rendered into one string.
fn join(pieces: &[Piece]) -> String {
    pieces.iter().map(Piece::render).collect()
}

/// `text` cut at word boundaries into about four chunks, as the captures show
/// ("FAKE-REPLY: I saw 2 " / "message(s). Your last message " / ...). Never empty.
pub fn word_chunks(text: &str) -> Vec<Piece> {
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    if words.is_empty() {
        return vec![Piece::Text(String::new())];
    }
    let per_chunk = words.len().div_ceil(4);
    words
        .chunks(per_chunk)
        .map(|chunk| Piece::Text(chunk.concat()))
        .collect()
}

/// `json` split into two `partial_json` pieces near its middle (on a char boundary), so a
/// client has to join them the way it must for real tool calls.
pub fn json_pieces(json: &str) -> Vec<String> {
    let mut middle = json.len() / 2;
    while middle > 0 && !json.is_char_boundary(middle) {
        middle -= 1;
    }
    let (head, tail) = json.split_at(middle);
    [head, tail]
        .into_iter()
        .filter(|piece| !piece.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_like_the_captures() {
        let chunks = word_chunks(
            "FAKE-REPLY: I saw 2 message(s). Your last message was: Say hello (turn 1)",
        );
        let texts: Vec<String> = chunks.iter().map(Piece::render).collect();
        assert_eq!(
            texts,
            [
                "FAKE-REPLY: I saw 2 ",
                "message(s). Your last message ",
                "was: Say hello (turn ",
                "1)"
            ]
        );
        assert_eq!(word_chunks("I will use a tool now.").len(), 3);
        assert_eq!(word_chunks("").len(), 1);
    }

    #[test]
    fn json_pieces_rejoin() {
        let json = r#"{"command":"touch é && echo touched"}"#;
        let pieces = json_pieces(json);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces.concat(), json);
    }
}
