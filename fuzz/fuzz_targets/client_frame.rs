//! The browser's WebSocket frames, parsed as `ws.rs` parses them.
//! The body is `switchboard::server::fuzzing::client_frame` (what it checks is documented
//! there), so `tests/fuzz_corpus.rs` runs the committed corpus through the same code.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchboard::server::fuzzing::client_frame(data));
