//! An ACP agent's stdout, one JSON-RPC line at a time, through what `acp.rs` does with
//! each line: `parse_line`, then `Translator::session_update` for notifications,
//! `permission_request` for requests, `prompt_result` for answers. The input may hold
//! several lines (split like the stdout reader does) so the translator's state between
//! lines is exercised too. Nothing may panic, and every emitted event must survive storage.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use switchboard::protocol::{RequestId, Usage};
use switchboard::server::agent::acp_events::{
    parse_line, permission_request, prompt_result, Inbound, Translator,
};

fuzz_target!(|data: &[u8]| {
    let mut translator = Translator::default();
    let mut total = Usage::default();
    translator.begin_turn();
    for line in common::agent_lines(data) {
        let Ok(inbound) = parse_line(line) else {
            continue;
        };
        match inbound {
            // `acp.rs` passes only `session/update` on; every method goes in here so the
            // fuzzer need not find that string before it reaches the translator.
            Inbound::Notification { params, .. } => {
                if let Ok(events) = translator.session_update(params) {
                    events.iter().for_each(common::check_event);
                }
            }
            Inbound::Request { id, params, .. } => {
                if let Ok(event) = permission_request(RequestId(id.to_string()), params) {
                    common::check_event(&event);
                }
            }
            Inbound::Response { outcome, .. } => {
                if let Ok(result) = outcome {
                    let (usage, stop_reason) = prompt_result(result);
                    common::end_turn(&mut total, usage, stop_reason);
                }
                translator.begin_turn();
            }
        }
    }
});
