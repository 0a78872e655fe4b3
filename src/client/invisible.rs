//! Characters a page does not show but a clipboard (and a terminal) keeps: bidi overrides,
//! zero-width and other invisible characters, control characters and terminal escape
//! sequences. [`reveal`] cuts a text into what shows as itself and [`Hidden`] marks the
//! views draw as visible tokens (`⟨U+202E⟩`, `⟨ESC⟩[31m`); [`clean_for_copy`] is the text
//! without them, which is what the copy buttons put on the clipboard.
//!
//! Why copy without them rather than copy and warn: the copy buttons exist to paste code
//! into a terminal or an editor, where a pasted ESC sequence or a bidi override acts at once
//! and a warning read afterwards is too late. The copied text is exactly what the page shows
//! minus the marks, so what you see is what you paste; the button says how many it left out.
//! The cost: a zero-width joiner inside an emoji sequence in a code block shows as a mark and
//! is dropped from the copy (such emoji in code are rare, and prose is not touched).

use std::ops::Range;

/// Longest terminal string (OSC title, hyperlink...) read as one escape sequence; an
/// unterminated one past this is treated as a bare ESC and the rest shows as text.
const MAX_ESCAPE_STRING: usize = 4096;

/// Something the page would not show, as a view draws it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hidden {
    /// The visible token: `⟨U+202E⟩`, or `⟨ESC⟩` and the rest of an escape sequence (not
    /// `␛`: common monospace fonts lack the control pictures and draw an empty box).
    pub label: String,
    /// What it is and why it is marked (the token's tooltip).
    pub title: String,
}

/// A piece of revealed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Text that shows as itself.
    Text(String),
    /// A character or escape sequence that would not show, drawn as a mark.
    Hidden(Hidden),
}

/// A hidden thing's place in the text without hidden things (see [`marks`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// Byte offset in the clean text, before which the mark shows.
    pub at: usize,
    /// The mark.
    pub hidden: Hidden,
}

/// A piece of highlighted, revealed code (see [`weave`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Woven<'a> {
    /// Clean text with the highlight class of the span it is in.
    Text {
        /// The highlighter's class, if any.
        class: Option<&'static str>,
        /// The text.
        text: &'a str,
    },
    /// A mark between pieces of text.
    Hidden(&'a Hidden),
}

/// Cuts `text` into text that shows as itself and marks for what would not. Adjacent text
/// is one segment; a text with nothing hidden is one segment (or none when empty).
pub fn reveal(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut plain = 0; // start of the text not yet pushed
    let mut i = 0;
    while let Some(c) = text.get(i..).and_then(|rest| rest.chars().next()) {
        match hidden_at(text, i, c) {
            Some((len, hidden)) => {
                if plain < i {
                    out.push(Segment::Text(text[plain..i].to_string()));
                }
                out.push(Segment::Hidden(hidden));
                i += len;
                plain = i;
            }
            None => i += c.len_utf8(),
        }
    }
    if plain < text.len() {
        out.push(Segment::Text(text[plain..].to_string()));
    }
    out
}

/// `text` without what [`reveal`] marks, and how many marks that left out (an escape
/// sequence counts once).
pub fn clean_for_copy(text: &str) -> (String, usize) {
    if !needs_reveal(text) {
        return (text.to_string(), 0);
    }
    let mut clean = String::with_capacity(text.len());
    let mut removed = 0;
    for segment in reveal(text) {
        match segment {
            Segment::Text(part) => clean.push_str(&part),
            Segment::Hidden(_) => removed += 1,
        }
    }
    (clean, removed)
}

/// The clean text of `text` and its marks with their places in it, for views that
/// highlight the clean text and put the marks back in (code blocks).
pub fn marks(text: &str) -> (String, Vec<Mark>) {
    if !needs_reveal(text) {
        return (text.to_string(), Vec::new());
    }
    let mut clean = String::with_capacity(text.len());
    let mut marks = Vec::new();
    for segment in reveal(text) {
        match segment {
            Segment::Text(part) => clean.push_str(&part),
            Segment::Hidden(hidden) => marks.push(Mark {
                at: clean.len(),
                hidden,
            }),
        }
    }
    (clean, marks)
}

/// Highlighted spans of `clean` (ranges in order, each with its class) with the `marks`
/// put in their places. A mark in a gap between spans shows at the next span's start;
/// marks after the last span (or with no spans) come last, so none is ever dropped.
pub fn weave<'a>(
    clean: &'a str,
    spans: &[(Range<usize>, Option<&'static str>)],
    marks: &'a [Mark],
) -> Vec<Woven<'a>> {
    let mut out = Vec::new();
    let mut next = 0;
    for (range, class) in spans {
        let mut pos = range.start;
        while let Some(mark) = marks.get(next).filter(|m| m.at < range.end) {
            let at = mark.at.max(pos);
            if at > pos {
                out.push(Woven::Text {
                    class: *class,
                    text: clean.get(pos..at).unwrap_or_default(),
                });
                pos = at;
            }
            out.push(Woven::Hidden(&mark.hidden));
            next += 1;
        }
        if pos < range.end {
            out.push(Woven::Text {
                class: *class,
                text: clean.get(pos..range.end).unwrap_or_default(),
            });
        }
    }
    out.extend(
        marks[next.min(marks.len())..]
            .iter()
            .map(|m| Woven::Hidden(&m.hidden)),
    );
    out
}

/// Whether anything in `text` would be marked (a fast check before cutting it up).
pub fn needs_reveal(text: &str) -> bool {
    text.char_indices()
        .any(|(i, c)| hidden_at(text, i, c).is_some())
}

/// The hidden thing that starts with `c` at byte `i` of `text`: its length in bytes and its
/// mark; `None` when `c` shows as itself.
fn hidden_at(text: &str, i: usize, c: char) -> Option<(usize, Hidden)> {
    match c {
        '\n' | '\t' => None,
        // A Windows line end shows as a line break.
        '\r' if text.as_bytes().get(i + 1) == Some(&b'\n') => None,
        '\u{1b}' => {
            let rest = text.get(i + 1..).unwrap_or_default();
            let len = escape_len(rest);
            let sequence = rest.get(..len).unwrap_or_default();
            Some((
                1 + len,
                Hidden {
                    label: format!("⟨ESC⟩{}", printable(sequence)),
                    title: "Terminal escape sequence: invisible on the page, but a terminal acts \
                            on it (colours, cursor moves, titles). Left out when you copy."
                        .into(),
                },
            ))
        }
        _ => {
            let what = kind_of(c)?;
            Some((
                c.len_utf8(),
                Hidden {
                    label: code_point(c),
                    title: format!("{} {what}. Left out when you copy.", code_point_plain(c)),
                },
            ))
        }
    }
}

/// Why `c` is marked, in words; `None` for characters that show as themselves.
fn kind_of(c: char) -> Option<String> {
    let name = |name: &str, effect: &str| Some(format!("({name}): {effect}"));
    const REORDERS: &str = "invisible, reorders how the text around it shows";
    const INVISIBLE: &str = "invisible on the page";
    match c {
        '\u{202A}' => name("LEFT-TO-RIGHT EMBEDDING", REORDERS),
        '\u{202B}' => name("RIGHT-TO-LEFT EMBEDDING", REORDERS),
        '\u{202C}' => name("POP DIRECTIONAL FORMATTING", REORDERS),
        '\u{202D}' => name("LEFT-TO-RIGHT OVERRIDE", REORDERS),
        '\u{202E}' => name("RIGHT-TO-LEFT OVERRIDE", REORDERS),
        '\u{2066}' => name("LEFT-TO-RIGHT ISOLATE", REORDERS),
        '\u{2067}' => name("RIGHT-TO-LEFT ISOLATE", REORDERS),
        '\u{2068}' => name("FIRST STRONG ISOLATE", REORDERS),
        '\u{2069}' => name("POP DIRECTIONAL ISOLATE", REORDERS),
        '\u{200E}' | '\u{200F}' | '\u{061C}' => name("directional mark", REORDERS),
        '\u{200B}' => name("ZERO WIDTH SPACE", INVISIBLE),
        '\u{200C}' => name("ZERO WIDTH NON-JOINER", INVISIBLE),
        '\u{200D}' => name("ZERO WIDTH JOINER", INVISIBLE),
        '\u{2060}' => name("WORD JOINER", INVISIBLE),
        '\u{FEFF}' => name("ZERO WIDTH NO-BREAK SPACE / byte order mark", INVISIBLE),
        '\u{00AD}' => name("SOFT HYPHEN", INVISIBLE),
        '\u{2061}'..='\u{2064}' | '\u{180E}' => name("invisible format character", INVISIBLE),
        // Letters that draw as blank space (look-alike identifiers).
        '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' => name("blank filler", INVISIBLE),
        // Tag characters: invisible copies of ASCII, used to smuggle text past a reader.
        '\u{E0000}'..='\u{E007F}' => name("tag character", INVISIBLE),
        c if c.is_control() => name(
            "control character",
            "invisible on the page, a terminal may act on it",
        ),
        _ => None,
    }
}

/// The bytes of an escape sequence after its ESC: CSI (`[` parameters, intermediates, a
/// final byte), a terminal string (OSC `]`, DCS `P`, SOS `X`, PM `^`, APC `_`, up to BEL or
/// ESC `\`), or intermediates and a final byte (`(B`, `7`, `=`).
fn escape_len(rest: &str) -> usize {
    let b = rest.as_bytes();
    let run = |from: usize, range: std::ops::RangeInclusive<u8>| {
        from + b[from.min(b.len())..]
            .iter()
            .take_while(|x| range.contains(x))
            .count()
    };
    match b.first() {
        Some(b'[') => {
            let i = run(run(1, 0x30..=0x3f), 0x20..=0x2f);
            i + usize::from(b.get(i).is_some_and(|x| (0x40..=0x7e).contains(x)))
        }
        Some(b']' | b'P' | b'X' | b'^' | b'_') => {
            let window = &b[..b.len().min(MAX_ESCAPE_STRING)];
            let end = window
                .iter()
                .enumerate()
                .skip(1)
                .find_map(|(i, x)| match x {
                    0x07 => Some(i + 1),
                    0x1b if window.get(i + 1) == Some(&b'\\') => Some(i + 2),
                    _ => None,
                });
            end.unwrap_or(1)
        }
        Some(0x20..=0x2f) => {
            let i = run(0, 0x20..=0x2f);
            i + usize::from(b.get(i).is_some_and(|x| (0x30..=0x7e).contains(x)))
        }
        Some(0x30..=0x7e) => 1,
        _ => 0,
    }
}

/// An escape sequence's body as visible text: what would itself be hidden is spelled out.
fn printable(sequence: &str) -> String {
    sequence
        .chars()
        .map(|c| match c {
            '\u{1b}' => "⟨ESC⟩".to_string(),
            c if c.is_control() || kind_of(c).is_some() => code_point(c),
            c => c.to_string(),
        })
        .collect()
}

fn code_point(c: char) -> String {
    format!("⟨{}⟩", code_point_plain(c))
}

fn code_point_plain(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}
