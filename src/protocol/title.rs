//! Session titles: what a session is called before and after its first message, made
//! from that message by pure rules both sides share.

/// What a session is called until its first message names it.
pub const NEW_SESSION_TITLE: &str = "New session";

/// The title a session gets from its first message: [`title_from_message`], else the first
/// attachment's name (an image sent alone) made a title the same way (one short line: it
/// is outside input), else [`NEW_SESSION_TITLE`]. The server names the session so, and the
/// browser shows the same at once.
pub fn first_message_title(text: &str, attachments: &[super::Attachment]) -> String {
    let from_text = title_from_message(text);
    if !from_text.is_empty() {
        return from_text;
    }
    attachments
        .first()
        .map(|a| title_from_message(&a.name))
        .filter(|title| !title.is_empty())
        .unwrap_or_else(|| NEW_SESSION_TITLE.to_owned())
}

/// The longest title [`title_from_message`] makes, in characters, before its ellipsis.
pub const TITLE_MAX_CHARS: usize = 50;

/// A short title from a session's first message, so the sidebar names sessions by what they
/// are about: the first line that still says something once markdown syntax, code fences and
/// URLs are gone, whitespace collapsed, cut at a word boundary to [`TITLE_MAX_CHARS`] with an
/// ellipsis. Prose wins over code: a fenced block is used only when nothing else is left.
/// Empty when the message has no words at all (the caller picks a fallback).
pub fn title_from_message(text: &str) -> String {
    let mut in_fence = false;
    let mut first_code = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        let clean = strip_markdown(trimmed);
        if clean.is_empty() {
            continue;
        }
        if !in_fence {
            return shorten(&clean, TITLE_MAX_CHARS);
        }
        first_code.get_or_insert(clean);
    }
    first_code.map_or_else(String::new, |code| shorten(&code, TITLE_MAX_CHARS))
}

/// One line without its markdown decoration: heading, quote and list markers, emphasis,
/// inline-code ticks, link and image syntax (their text stays), bare URLs; whitespace
/// collapsed.
fn strip_markdown(line: &str) -> String {
    let mut rest = line.trim_start_matches(['#', '>', ' ', '\t']);
    // A list marker: "- ", "* ", "+ ", "1. ", "1) ".
    if let Some(after) = rest
        .strip_prefix("- ")
        .or_else(|| rest.strip_prefix("* "))
        .or_else(|| rest.strip_prefix("+ "))
    {
        rest = after;
    } else {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            let after = &rest[digits..];
            if let Some(after) = after
                .strip_prefix(". ")
                .or_else(|| after.strip_prefix(") "))
            {
                rest = after;
            }
        }
    }
    let unlinked = strip_links(rest);
    let words: Vec<&str> = unlinked
        .split_whitespace()
        .filter(|w| !is_url(w))
        .map(|w| w.trim_matches(['*', '`', '~']))
        .map(|w| w.trim_start_matches("__").trim_end_matches("__"))
        .filter(|w| !w.is_empty())
        .collect();
    words.join(" ")
}

/// `[text](url)` and `![alt](url)` become `text` and `alt`.
fn strip_links(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|i| open + i) else {
            break;
        };
        let Some(end) = rest[close..].find(')').map(|i| close + i) else {
            break;
        };
        let before = rest[..open].strip_suffix('!').unwrap_or(&rest[..open]);
        out.push_str(before);
        out.push_str(&rest[open + 1..close]);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether a word is a web address (or wraps one in brackets or punctuation).
fn is_url(word: &str) -> bool {
    let word = word.trim_start_matches(['(', '<', '"', '\'']);
    ["http://", "https://", "www."]
        .iter()
        .any(|scheme| word.starts_with(scheme))
}

/// `text` cut to at most `max` characters at a word boundary, with "…" when cut. A single
/// word longer than the limit is cut inside it (a path, say), so the title stays short.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out = String::new();
    for word in text.split(' ') {
        let extra = usize::from(!out.is_empty()) + word.chars().count();
        if out.chars().count() + extra > max - 1 {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        out = text.chars().take(max - 1).collect();
    }
    let trimmed = out.trim_end_matches([',', ';', ':', '.', '-']);
    format!("{trimmed}…")
}

#[cfg(test)]
mod title_tests {
    use super::title_from_message as title;
    use super::{first_message_title, NEW_SESSION_TITLE};
    use crate::protocol::Attachment;

    #[test]
    fn words_name_a_session_before_an_image_and_an_image_before_the_default() {
        let image = Attachment {
            name: "screenshot.png".into(),
            mime_type: "image/png".into(),
            data_base64: String::new(),
        };
        let images = std::slice::from_ref(&image);
        assert_eq!(
            first_message_title("why is this red?", images),
            "why is this red?"
        );
        assert_eq!(first_message_title("  ", images), "screenshot.png");
        assert_eq!(first_message_title("", &[]), NEW_SESSION_TITLE);
        // A name is outside input: one short line, and never an empty title.
        let odd = |name: &str| Attachment {
            name: name.into(),
            ..image.clone()
        };
        assert_eq!(first_message_title("", &[odd("a\nb.png")]), "a");
        assert_eq!(first_message_title("", &[odd("  ")]), NEW_SESSION_TITLE);
        let long = first_message_title("", &[odd(&"x".repeat(10_000))]);
        assert!(long.chars().count() <= super::TITLE_MAX_CHARS, "{long}");
    }

    #[test]
    fn first_non_empty_line_with_whitespace_collapsed() {
        assert_eq!(title("\n  fix   the\tbuild\nplease"), "fix the build");
        assert_eq!(title("   \n\n"), "");
        assert_eq!(title(""), "");
    }

    #[test]
    fn markdown_links_and_urls_are_stripped() {
        assert_eq!(title("## **Refactor** the `parser`"), "Refactor the parser");
        assert_eq!(
            title("> - read [the docs](https://x.dev/a) first"),
            "read the docs first"
        );
        assert_eq!(title("1. see https://example.com/issue/1 now"), "see now");
        assert_eq!(
            title("![screenshot](a.png) is broken"),
            "screenshot is broken"
        );
        assert_eq!(title("keep snake_case and a*b"), "keep snake_case and a*b");
        // A line that is only a URL says nothing: the next one names the session.
        assert_eq!(
            title("https://example.com/x\nwhy does this 404?"),
            "why does this 404?"
        );
    }

    #[test]
    fn code_fences_give_way_to_prose() {
        assert_eq!(
            title("```rust\nfn main() {}\n```\nwhy no output?"),
            "why no output?"
        );
        assert_eq!(title("```\nls -la\n```"), "ls -la");
    }

    #[test]
    fn long_lines_are_cut_at_a_word_boundary() {
        let long = "please refactor the session registry so that every handle owns its task";
        let cut = title(long);
        assert_eq!(cut, "please refactor the session registry so that…");
        assert!(cut.chars().count() <= super::TITLE_MAX_CHARS);
        let word = "x".repeat(80);
        assert_eq!(title(&word).chars().count(), super::TITLE_MAX_CHARS);
        assert!(title(&word).ends_with('…'));
        assert_eq!(title("ünïcödé wörds"), "ünïcödé wörds");
    }
}
