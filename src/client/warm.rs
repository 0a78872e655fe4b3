//! A sample session, as the server would send it, for compiling the session pane's code
//! before the first open (`components::warm` renders it off-screen). One turn holds a row
//! of each kind, so decoding, folding and rendering take the paths a real transcript takes.

use super::reducer;
use super::store::{SessionView, Store};
use crate::protocol::{ServerFrame, SessionId};

/// The sample session's id; no server session has it (the nil UUID is never generated).
pub const SAMPLE_SESSION: SessionId = SessionId(uuid::Uuid::nil());

/// The frames that make the sample: the session, then its one turn. JSON text, so the
/// same decoder as the socket's runs.
const SAMPLE_FRAMES: [&str; 2] = [
    r#"{"type":"session_created","session":{"id":"00000000-0000-0000-0000-000000000000",
"title":"Sample","agent":"demo","cwd":"/","permission_mode":"default","model":null,
"state":{"state":"idle"},"agent_session_id":null,"created_at_ms":0,"last_activity_ms":0,
"preview":"Done.","usage":{"input_tokens":1200,"output_tokens":80,"cache_read_tokens":0,
"cache_creation_tokens":0,"cost_usd":0.0004,"context_used":1200,"context_window":200000},
"message_count":6,"last_seq":13,"read_seq":13,"viewers":0}}"#,
    r###"{"type":"history_start","session":"00000000-0000-0000-0000-000000000000","first_seq":1,
"events":[
{"seq":1,"event":{"type":"user_message","client_msg_id":"00000000-0000-0000-0000-000000000001","text":"What does main do?"}},
{"seq":2,"event":{"type":"turn_started"}},
{"seq":3,"event":{"type":"thinking","message_id":"t1","text":"List the files first."}},
{"seq":4,"event":{"type":"tool_call","id":"c1","name":"Bash","title":"List sources","input":{"command":"ls src"}}},
{"seq":5,"event":{"type":"tool_result","id":"c1","output":"main.rs\nlib.rs","is_error":false,"duration_ms":12}},
{"seq":6,"event":{"type":"permission_requested","request_id":"p1","title":"Edit src/main.rs","input":{"file_path":"src/main.rs"},
"options":[{"id":"allow","label":"Allow","kind":"allow_once"},{"id":"deny","label":"Deny","kind":"reject_once"}]}},
{"seq":7,"event":{"type":"permission_resolved","request_id":"p1","option_id":"allow","allowed":true}},
{"seq":8,"event":{"type":"tool_call","id":"c2","name":"Edit","title":"src/main.rs","input":{"file_path":"src/main.rs","old_string":"let a = 1;","new_string":"let a = 2;"}}},
{"seq":9,"event":{"type":"tool_result","id":"c2","output":"ok","is_error":false,"duration_ms":3}},
{"seq":10,"event":{"type":"assistant_delta","message_id":"m1","text":"## Main\n\nIt **starts** the [server](https://example.com):\n\n"}},
{"seq":11,"event":{"type":"assistant_message","message_id":"m1","text":"## Main\n\nIt **starts** the [server](https://example.com):\n\n- parses `args`\n- serves\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n```rust\nfn main() { let a = \"x\"; } // done\n```\n"}},
{"seq":12,"event":{"type":"notice","message":"Sample notice"}},
{"seq":13,"event":{"type":"turn_completed","usage":{"input_tokens":1200,"output_tokens":80,"cache_read_tokens":0,"cache_creation_tokens":0,"cost_usd":0.0004,"context_used":1200,"context_window":200000},"duration_ms":900,"stop_reason":"end_turn"}}
]}"###,
];

/// Decodes the sample frames into `store` (a scratch store, never the page's) and returns
/// the sample session's view, or why it could not (a frame no longer decodes: a unit test
/// keeps them in step with the protocol).
pub fn sample_session(store: &Store) -> Result<SessionView, String> {
    // Called from the pane's module, which carries the folder: the sample folds at once.
    super::session_frames::install(super::transcript_frames::apply);
    for (index, text) in SAMPLE_FRAMES.iter().enumerate() {
        let frame: ServerFrame = serde_json::from_str(text)
            .map_err(|error| format!("sample frame {index} does not decode: {error}"))?;
        reducer::apply(store, frame);
    }
    store
        .view(SAMPLE_SESSION)
        .ok_or_else(|| "the sample frames made no session".to_owned())
}
