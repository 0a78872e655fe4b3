//! The script: which answer a request gets, chosen by the last user turn. A prompt starting
//! with a keyword (`TOOL_BASH:`, `THINK`, `SLOW`, `ERROR500`, ...) picks a scenario; any
//! other prompt is echoed with the message count; tool results are acknowledged.

use crate::api_error::ApiError;
use crate::conversation::{Request, Turn};
use crate::ids;
use crate::reply::{word_chunks, Block, Piece, Reply, Usage};
use serde_json::{json, Value};
use std::time::Duration;

/// `SLOW` without numbers: 20 chunks, 500 ms apart (about 10 s, long enough to interrupt).
const SLOW_DEFAULT: (u64, u64) = (20, 500);
/// Upper bounds, so a typo cannot make the server build a gigantic or endless answer.
const MAX_CHUNKS: u64 = 100_000;
const MAX_PACE_MS: u64 = 60_000;
/// How much of a tool result the acknowledgement repeats (as the captures' fake did).
const TOOL_RESULT_ECHO_CHARS: usize = 200;
/// What `TOOL_WRITE` writes.
pub const WRITTEN_CONTENT: &str = "written by fake-model\n";

/// What a prompt asks for.
#[derive(Debug, Clone, PartialEq)]
enum Scenario {
    Echo,
    Bash(String),
    Write(String),
    Edit {
        path: String,
        old: String,
        new: String,
    },
    Think,
    Slow {
        chunks: u64,
        pace: Duration,
    },
    Burst(u64),
    Stamp(u64),
    Fail(ApiError),
}

/// The blocks, stop reason and pace of an answer; `answer` adds ids and usage.
struct Script {
    blocks: Vec<Block>,
    stop_reason: &'static str,
    pace: Duration,
}

impl Script {
    fn text(text: &str) -> Script {
        Script {
            blocks: vec![Block::Text(word_chunks(text))],
            stop_reason: "end_turn",
            pace: Duration::ZERO,
        }
    }

    /// "I will use a tool now." and one `tool_use` block, as the captures show.
    fn tool(name: &str, input: Value) -> Script {
        Script {
            blocks: vec![
                Block::Text(word_chunks("I will use a tool now.")),
                Block::ToolUse {
                    id: ids::tool_use_id(),
                    name: name.to_owned(),
                    input,
                },
            ],
            stop_reason: "tool_use",
            pace: Duration::ZERO,
        }
    }
}

/// The answer to `request`, or the scripted API error it asks for.
pub fn answer(request: &Request) -> Result<Reply, ApiError> {
    let script = match request.last_turn() {
        Turn::ToolResults(text) => {
            let echoed: String = text.chars().take(TOOL_RESULT_ECHO_CHARS).collect();
            Script::text(&format!("Tool result received: {echoed}"))
        }
        Turn::Prompt(prompt) => script_for(request, &prompt)?,
    };
    Ok(Reply {
        id: ids::message_id(),
        model: request.model.clone(),
        blocks: script.blocks,
        stop_reason: script.stop_reason,
        usage: Usage::for_request(request),
        pace: script.pace,
    })
}

/// The script for a user prompt.
fn script_for(request: &Request, prompt: &str) -> Result<Script, ApiError> {
    let echo = format!(
        "FAKE-REPLY: I saw {} message(s). Your last message was: {prompt}",
        request.messages.len()
    );
    let scenario = parse(prompt);
    // Side requests (no tools offered) get text, never a call to a tool they lack.
    let wants_tool = matches!(
        scenario,
        Scenario::Bash(_) | Scenario::Write(_) | Scenario::Edit { .. }
    );
    if wants_tool && !request.offers_tools {
        return Ok(Script::text(&echo));
    }
    Ok(match scenario {
        Scenario::Echo => Script::text(&echo),
        Scenario::Bash(command) => Script::tool(
            "Bash",
            json!({"command": command, "description": "Run the requested command"}),
        ),
        Scenario::Write(path) => Script::tool(
            "Write",
            json!({"file_path": path, "content": WRITTEN_CONTENT}),
        ),
        Scenario::Edit { path, old, new } => Script::tool(
            "Edit",
            json!({"file_path": path, "old_string": old, "new_string": new, "replace_all": false}),
        ),
        Scenario::Think => {
            let thought = format!("The user wrote \"{prompt}\". Thinking it over, fakely.");
            Script {
                blocks: vec![
                    Block::Thinking {
                        pieces: word_chunks(&thought),
                        signature: "ZmFrZS1zaWduYXR1cmUtZnJvbS1mYWtlLW1vZGVs".to_owned(),
                    },
                    Block::Text(word_chunks(&echo)),
                ],
                stop_reason: "end_turn",
                pace: Duration::ZERO,
            }
        }
        Scenario::Slow { chunks, pace } => Script {
            pace,
            ..numbered(chunks, "chunk ")
        },
        Scenario::Burst(chunks) => numbered(chunks, "b"),
        Scenario::Stamp(chunks) => Script {
            blocks: vec![Block::Text(
                (0..chunks.max(1)).map(|_| Piece::Stamp).collect(),
            )],
            stop_reason: "end_turn",
            pace: Duration::ZERO,
        },
        Scenario::Fail(error) => return Err(error),
    })
}

/// One text block of `chunks` pieces `<label><i> `.
fn numbered(chunks: u64, label: &str) -> Script {
    let pieces = (0..chunks.max(1))
        .map(|i| Piece::Text(format!("{label}{i} ")))
        .collect();
    Script {
        blocks: vec![Block::Text(pieces)],
        stop_reason: "end_turn",
        pace: Duration::ZERO,
    }
}

/// Reads the scenario keyword at the start of `prompt` (already trimmed).
fn parse(prompt: &str) -> Scenario {
    if let Some(command) = prompt.strip_prefix("TOOL_BASH:") {
        return Scenario::Bash(command.trim().to_owned());
    }
    if let Some(path) = prompt.strip_prefix("TOOL_WRITE:") {
        return Scenario::Write(path.trim().to_owned());
    }
    if let Some(args) = prompt.strip_prefix("TOOL_EDIT:") {
        // The strings are kept exactly (spaces matter to Edit); only the path is trimmed.
        let mut parts = args.splitn(3, '|');
        return match (parts.next(), parts.next(), parts.next()) {
            (Some(path), Some(old), Some(new)) => Scenario::Edit {
                path: path.trim().to_owned(),
                old: old.to_owned(),
                new: new.to_owned(),
            },
            _ => Scenario::Fail(ApiError::invalid_request(
                "fake-model: TOOL_EDIT needs <path>|<old>|<new>",
            )),
        };
    }
    if prompt.starts_with("THINK") {
        return Scenario::Think;
    }
    if let Some(rest) = prompt.strip_prefix("SLOW") {
        let mut numbers = numbers(rest);
        let chunks = numbers.next().unwrap_or(SLOW_DEFAULT.0).min(MAX_CHUNKS);
        let pace = numbers.next().unwrap_or(SLOW_DEFAULT.1).min(MAX_PACE_MS);
        return Scenario::Slow {
            chunks,
            pace: Duration::from_millis(pace),
        };
    }
    if prompt.starts_with("ERROR529") {
        return Scenario::Fail(ApiError::overloaded());
    }
    if prompt.starts_with("ERROR500") {
        return Scenario::Fail(ApiError::internal());
    }
    if prompt.starts_with("ERROR429") {
        return Scenario::Fail(ApiError::rate_limited());
    }
    if let Some(rest) = prompt.strip_prefix("BURST") {
        return Scenario::Burst(numbers(rest).next().unwrap_or(100).min(MAX_CHUNKS));
    }
    if let Some(rest) = prompt.strip_prefix("STAMP") {
        return Scenario::Stamp(numbers(rest).next().unwrap_or(1).min(MAX_CHUNKS));
    }
    Scenario::Echo
}

/// The leading whitespace-separated numbers of `text` ("SLOW 20 500" -> 20, 500); stops at
/// the first word that is not a number, so "SLOW please" uses the defaults.
fn numbers(text: &str) -> impl Iterator<Item = u64> + '_ {
    text.split_whitespace().map_while(|word| word.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(prompt: &str) -> Request {
        Request::from_json(&json!({
            "model": "claude-test",
            "stream": true,
            "tools": [{"name": "Bash"}],
            "messages": [{"role": "user", "content": prompt}],
        }))
        .expect("valid")
    }

    fn text_of(reply: &Reply) -> String {
        reply
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Text(pieces) => Some(pieces.iter().map(Piece::render).collect::<String>()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn plain_prompts_are_echoed_with_the_message_count() {
        let reply = answer(&request("Say hello")).expect("reply");
        assert_eq!(
            text_of(&reply),
            "FAKE-REPLY: I saw 1 message(s). Your last message was: Say hello"
        );
        assert_eq!(reply.stop_reason, "end_turn");
        assert_eq!(reply.usage.input_tokens, 110);
    }

    #[test]
    fn keywords_pick_scenarios() {
        assert_eq!(parse("TOOL_BASH: ls -l"), Scenario::Bash("ls -l".into()));
        assert_eq!(
            parse("SLOW 40 250"),
            Scenario::Slow {
                chunks: 40,
                pace: Duration::from_millis(250)
            }
        );
        assert_eq!(
            parse("SLOW please"),
            Scenario::Slow {
                chunks: 20,
                pace: Duration::from_millis(500)
            }
        );
        assert_eq!(parse("BURST 3"), Scenario::Burst(3));
        assert_eq!(
            parse("TOOL_EDIT:/a|x y|z"),
            Scenario::Edit {
                path: "/a".into(),
                old: "x y".into(),
                new: "z".into()
            }
        );
        let error = answer(&request("ERROR500")).expect_err("fails");
        assert_eq!(error.status.as_u16(), 500);
        assert_eq!(text_of(&answer(&request("BURST 2")).expect("ok")), "b0 b1 ");
    }

    #[test]
    fn tool_scenarios_need_tools_offered() {
        let reply = answer(&request("TOOL_BASH:true")).expect("reply");
        assert_eq!(reply.stop_reason, "tool_use");
        let side = Request::from_json(&json!({
            "messages": [{"role": "user", "content": "TOOL_BASH:true"}],
        }))
        .expect("valid");
        assert_eq!(answer(&side).expect("reply").stop_reason, "end_turn");
    }
}
