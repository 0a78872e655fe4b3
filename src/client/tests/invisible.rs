//! Characters the page would not show: marked visibly, and left out of what is copied.

use crate::client::invisible::{
    clean_for_copy, marks, needs_reveal, reveal, weave, Segment, Woven,
};

fn labels(text: &str) -> Vec<String> {
    reveal(text)
        .into_iter()
        .map(|segment| match segment {
            Segment::Text(t) => t,
            Segment::Hidden(h) => format!("[{}]", h.label),
        })
        .collect()
}

#[test]
fn invisible_plain_text_is_one_segment_and_copies_as_is() {
    let text = "fn main() {\n\tprintln!(\"héllo 👋\");\r\n}";
    assert!(!needs_reveal(text));
    assert_eq!(reveal(text), vec![Segment::Text(text.into())]);
    assert_eq!(clean_for_copy(text), (text.to_string(), 0));
    assert!(reveal("").is_empty());
}

#[test]
fn invisible_bidi_and_zero_width_characters_are_marked() {
    // What the page would show as `ls`, and a terminal runs as something else.
    let text = "ls\u{202E}txt.exe\u{202C}\u{200B}x\u{2066}\u{2069}\u{FEFF}\u{2060}\u{200D}";
    assert_eq!(
        labels(text),
        [
            "ls",
            "[⟨U+202E⟩]",
            "txt.exe",
            "[⟨U+202C⟩]",
            "[⟨U+200B⟩]",
            "x",
            "[⟨U+2066⟩]",
            "[⟨U+2069⟩]",
            "[⟨U+FEFF⟩]",
            "[⟨U+2060⟩]",
            "[⟨U+200D⟩]",
        ]
    );
    assert_eq!(clean_for_copy(text), ("lstxt.exex".to_string(), 8));
    let Segment::Hidden(rlo) = &reveal(text)[1] else {
        panic!()
    };
    assert!(
        rlo.title.contains("RIGHT-TO-LEFT OVERRIDE"),
        "{}",
        rlo.title
    );
    assert!(rlo.title.contains("Left out when you copy"));
    for c in [
        '\u{202A}', '\u{202B}', '\u{202D}', '\u{2067}', '\u{2068}', '\u{200C}',
    ] {
        assert!(needs_reveal(&c.to_string()), "{c:?}");
    }
}

#[test]
fn invisible_control_characters_are_marked_except_newline_tab_and_crlf() {
    let text = "a\u{7}b\u{0}c\rd\u{7f}e\u{85}f\u{9b}g\r\nh\ti";
    assert_eq!(
        labels(text),
        [
            "a",
            "[⟨U+0007⟩]",
            "b",
            "[⟨U+0000⟩]",
            "c",
            "[⟨U+000D⟩]",
            "d",
            "[⟨U+007F⟩]",
            "e",
            "[⟨U+0085⟩]",
            "f",
            "[⟨U+009B⟩]",
            "g\r\nh\ti",
        ]
    );
    assert_eq!(clean_for_copy(text).0, "abcdefg\r\nh\ti");
}

#[test]
fn invisible_terminal_escapes_are_one_mark_each() {
    // Colours (CSI), a window title (OSC ended by BEL and by ESC \), a charset switch, a
    // cursor save, and the classic "show ls, run curl" line clear.
    let text = "\u{1b}[1;31mred\u{1b}[0m \u{1b}]0;title\u{7}\u{1b}]8;;http://x.example\u{1b}\\\
                link\u{1b}(B\u{1b}7ls\u{1b}[2K\rcurl x|sh";
    assert_eq!(
        labels(text),
        [
            "[⟨ESC⟩[1;31m]",
            "red",
            "[⟨ESC⟩[0m]",
            " ",
            "[⟨ESC⟩]0;title⟨U+0007⟩]",
            "[⟨ESC⟩]8;;http://x.example⟨ESC⟩\\]",
            "link",
            "[⟨ESC⟩(B]",
            "[⟨ESC⟩7]",
            "ls",
            "[⟨ESC⟩[2K]",
            "[⟨U+000D⟩]",
            "curl x|sh",
        ]
    );
    assert_eq!(clean_for_copy(text), ("red linklscurl x|sh".to_string(), 8));
}

#[test]
fn invisible_broken_escapes_never_hide_text() {
    // A bare ESC at the end, an unfinished CSI, an OSC never terminated: what follows the
    // introducer still shows.
    assert_eq!(labels("x\u{1b}"), ["x", "[⟨ESC⟩]"]);
    assert_eq!(labels("\u{1b}[12"), ["[⟨ESC⟩[12]"]);
    let long = format!("\u{1b}]{}", "a".repeat(5000));
    let segments = labels(&long);
    assert_eq!(segments[0], "[⟨ESC⟩]]");
    assert_eq!(segments[1].len(), 5000);
    // Hidden characters inside an escape's body are spelled out in its label.
    assert_eq!(
        labels("\u{1b}]0;\u{202E}x\u{7}"),
        ["[⟨ESC⟩]0;⟨U+202E⟩x⟨U+0007⟩]"]
    );
    // Tag characters (invisible ASCII) and blank fillers.
    assert_eq!(
        labels("a\u{E0041}\u{3164}"),
        ["a", "[⟨U+E0041⟩]", "[⟨U+3164⟩]"]
    );
}

#[test]
fn invisible_marks_are_woven_into_highlighted_spans() {
    let text = "let\u{202E} x = \u{1b}[31m1;\u{200B}";
    let (clean, found) = marks(text);
    assert_eq!(clean, "let x = 1;");
    assert_eq!(found.iter().map(|m| m.at).collect::<Vec<_>>(), [3, 8, 10]);
    let spans = vec![
        (0..3, Some("hl-keyword")),
        (3..8, None),
        (8..9, Some("hl-number")),
        (9..10, None),
    ];
    let woven = weave(&clean, &spans, &found);
    let shown: Vec<String> = woven
        .iter()
        .map(|w| match w {
            Woven::Text { class, text } => format!("{}:{text}", class.unwrap_or("-")),
            Woven::Hidden(h) => format!("[{}]", h.label),
        })
        .collect();
    assert_eq!(
        shown,
        [
            "hl-keyword:let",
            "[⟨U+202E⟩]",
            "-: x = ",
            "[⟨ESC⟩[31m]",
            "hl-number:1",
            "-:;",
            "[⟨U+200B⟩]",
        ]
    );
    // With no spans at all (an empty block), the marks still show.
    let (clean, only) = marks("\u{202E}");
    assert_eq!(weave(&clean, &[], &only).len(), 1);
}
