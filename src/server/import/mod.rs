//! Importing the agent CLIs' own transcripts (Claude Code's project JSONL files, Codex's
//! rollouts) as Switchboard sessions.

pub mod parse;
