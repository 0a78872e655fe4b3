//! The sidebar's session search: which sessions a query keeps. Pure, so it is tested natively.

/// Whether a session with `title` and `preview` matches `query`: every word of the query
/// occurs in one of them, ignoring case. An empty query keeps everything.
pub fn matches(query: &str, title: &str, preview: &str) -> bool {
    let haystack = lower(&format!("{title}\n{preview}"));
    lower(query)
        .split_whitespace()
        .all(|word| haystack.contains(word))
}

/// Lower case. The browser build asks JavaScript, so the WASM carries no Unicode case
/// tables (the first load has a byte budget); elsewhere Rust's, with the same result.
fn lower(text: &str) -> String {
    #[cfg(feature = "hydrate")]
    return js_sys::JsString::from(text).to_lower_case().into();
    #[cfg(not(feature = "hydrate"))]
    text.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn every_word_must_match_title_or_preview() {
        assert!(matches("", "Fix the build", ""));
        assert!(matches("   ", "Fix the build", ""));
        assert!(matches("BUILD", "Fix the build", ""));
        assert!(matches("fix echo", "Fix the build", "Echo: hi"));
        assert!(!matches("fix deploy", "Fix the build", "Echo: hi"));
        assert!(matches("bui", "Fix the build", ""));
        assert!(matches("ÜBER", "über alles", ""));
    }
}
