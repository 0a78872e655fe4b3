//! Random identifiers shaped like the ones the captures show (`msg_fake_<20 hex>`,
//! `toolu_fake_<20 hex>`, `req_fake_<12 hex>`), so parsers see realistic prefixes.

/// `prefix` followed by `len` random lowercase hex digits (at most 32).
fn with_hex(prefix: &str, len: usize) -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}{}", &hex[..len.min(hex.len())])
}

/// A message id for `message_start` and non-streamed answers.
pub fn message_id() -> String {
    with_hex("msg_fake_", 20)
}

/// A `tool_use` block id; the CLI echoes it back in the `tool_result`.
pub fn tool_use_id() -> String {
    with_hex("toolu_fake_", 20)
}

/// The `request-id` response header; the CLI copies it into its `assistant` lines.
pub fn request_id() -> String {
    with_hex("req_fake_", 12)
}
