//! An ACP agent's stdout lines (the demo agent, Gemini, Claude ACP), through `acp_events`.
//! The body is `switchboard::server::fuzzing::acp_line` (what it checks is documented
//! there), so `tests/fuzz_corpus.rs` runs the committed corpus through the same code.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchboard::server::fuzzing::acp_line(data));
