//! The browser's WebSocket frames, parsed exactly as `ws.rs` does (`serde_json::from_str`
//! into `ClientFrame`). Any input must parse or fail without panicking, and a frame that
//! parses must re-serialize to JSON that parses back to the same frame (the browser's own
//! frames are made by serializing `ClientFrame`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::protocol::{ClientFrame, MAX_CLIENT_FRAME_BYTES};

fuzz_target!(|data: &[u8]| {
    // A WebSocket text message is UTF-8 by the time `ws.rs` sees it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.len() > MAX_CLIENT_FRAME_BYTES {
        return;
    }
    let Ok(frame) = serde_json::from_str::<ClientFrame>(text) else {
        return;
    };
    let json = serde_json::to_string(&frame)
        .unwrap_or_else(|e| panic!("a parsed frame does not serialize ({e}): {frame:?}"));
    let back: ClientFrame = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("a re-serialized frame does not parse ({e}): {json}"));
    assert_eq!(back, frame, "round trip changed the frame: {json}");
});
