//! Syntax highlighting for code blocks: a tiny hand-written tokenizer that marks keywords,
//! strings, comments and numbers of common languages. Deliberately approximate (no
//! grammars, no regex, no tables): it keeps the WASM small and never fails; a language it
//! does not know is one plain span.

use std::ops::Range;

/// What a span of code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Anything else.
    Plain,
    /// A reserved word or literal (`fn`, `true`, `null`).
    Keyword,
    /// A quoted string or char.
    String,
    /// A comment.
    Comment,
    /// A numeric literal.
    Number,
}

impl Kind {
    /// The CSS class of the span (`None` for plain text, which needs no element).
    pub fn class(self) -> Option<&'static str> {
        match self {
            Kind::Plain => None,
            Kind::Keyword => Some("hl-keyword"),
            Kind::String => Some("hl-string"),
            Kind::Comment => Some("hl-comment"),
            Kind::Number => Some("hl-number"),
        }
    }
}

/// A run of code of one kind: a byte range into the highlighted text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The kind.
    pub kind: Kind,
    /// Where it is in the text.
    pub range: Range<usize>,
}

/// The rules of one family of languages.
struct Lang {
    keywords: &'static [&'static str],
    /// Line comment starts (`//`, `#`).
    line_comments: &'static [&'static str],
    /// Whether `/* ... */` comments exist.
    block_comments: bool,
    /// Quote characters that open strings.
    quotes: &'static [char],
    /// Whether `'` opens a string only as a char literal (`'a'`, `'\n'`): Rust lifetimes.
    char_literals: bool,
    /// Whether `"""`/`'''` open multi-line strings.
    triple_quotes: bool,
}

const RUST: Lang = Lang {
    keywords: &[
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
        "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move",
        "mut", "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait",
        "true", "type", "unsafe", "use", "where", "while",
    ],
    line_comments: &["//"],
    block_comments: true,
    quotes: &['"'],
    char_literals: true,
    triple_quotes: false,
};

const JS: Lang = Lang {
    keywords: &[
        "async",
        "await",
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "default",
        "delete",
        "do",
        "else",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "from",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "interface",
        "let",
        "new",
        "null",
        "return",
        "static",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "type",
        "typeof",
        "undefined",
        "var",
        "void",
        "while",
        "yield",
    ],
    line_comments: &["//"],
    block_comments: true,
    quotes: &['"', '\'', '`'],
    char_literals: false,
    triple_quotes: false,
};

const PYTHON: Lang = Lang {
    keywords: &[
        "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
        "elif", "else", "except", "False", "finally", "for", "from", "global", "if", "import",
        "in", "is", "lambda", "None", "not", "or", "pass", "raise", "return", "self", "True",
        "try", "while", "with", "yield",
    ],
    line_comments: &["#"],
    block_comments: false,
    quotes: &['"', '\''],
    char_literals: false,
    triple_quotes: true,
};

const GO: Lang = Lang {
    keywords: &[
        "break",
        "case",
        "chan",
        "const",
        "continue",
        "default",
        "defer",
        "else",
        "false",
        "for",
        "func",
        "go",
        "if",
        "import",
        "interface",
        "map",
        "nil",
        "package",
        "range",
        "return",
        "select",
        "struct",
        "switch",
        "true",
        "type",
        "var",
    ],
    line_comments: &["//"],
    block_comments: true,
    quotes: &['"', '\'', '`'],
    char_literals: false,
    triple_quotes: false,
};

const SHELL: Lang = Lang {
    keywords: &[
        "case", "do", "done", "elif", "else", "esac", "export", "fi", "for", "function", "if",
        "in", "local", "return", "then", "while",
    ],
    line_comments: &["#"],
    block_comments: false,
    quotes: &['"', '\''],
    char_literals: false,
    triple_quotes: false,
};

/// JSON, TOML and YAML: literals, strings, numbers, `#` comments (JSON has none, harmless).
const DATA: Lang = Lang {
    keywords: &["false", "null", "true"],
    line_comments: &["#"],
    block_comments: false,
    quotes: &['"', '\''],
    char_literals: false,
    triple_quotes: false,
};

/// C, C++, Java, C#, Kotlin, Swift and the like.
const C_LIKE: Lang = Lang {
    keywords: &[
        "auto",
        "bool",
        "break",
        "case",
        "char",
        "class",
        "const",
        "continue",
        "default",
        "do",
        "double",
        "else",
        "enum",
        "extern",
        "false",
        "final",
        "float",
        "for",
        "if",
        "import",
        "int",
        "long",
        "namespace",
        "new",
        "null",
        "nullptr",
        "package",
        "private",
        "protected",
        "public",
        "return",
        "short",
        "static",
        "struct",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typedef",
        "unsigned",
        "using",
        "void",
        "while",
    ],
    line_comments: &["//"],
    block_comments: true,
    quotes: &['"', '\''],
    char_literals: false,
    triple_quotes: false,
};

/// The rules for a fence's language name, if it is one we know.
fn lang(name: &str) -> Option<&'static Lang> {
    Some(match name.to_ascii_lowercase().as_str() {
        "rust" | "rs" => &RUST,
        "js" | "javascript" | "jsx" | "mjs" | "cjs" | "ts" | "typescript" | "tsx" => &JS,
        "python" | "py" | "python3" => &PYTHON,
        "go" | "golang" => &GO,
        "sh" | "bash" | "shell" | "zsh" | "console" | "shellsession" => &SHELL,
        "json" | "jsonc" | "json5" | "toml" | "yaml" | "yml" => &DATA,
        "c" | "h" | "cpp" | "c++" | "cc" | "hpp" | "java" | "cs" | "csharp" | "kotlin" | "kt"
        | "swift" | "scala" | "dart" => &C_LIKE,
        _ => return None,
    })
}

/// Splits `code` into spans that cover it exactly, in order; adjacent plain text is one span.
pub fn highlight(lang_name: &str, code: &str) -> Vec<Span> {
    let Some(lang) = lang(lang_name) else {
        return plain(code);
    };
    let bytes = code.as_bytes();
    let mut spans: Vec<Span> = Vec::new();
    let mut push = |kind: Kind, range: Range<usize>| match spans.last_mut() {
        Some(last) if last.kind == kind && last.range.end == range.start => {
            last.range.end = range.end
        }
        _ if range.is_empty() => {}
        _ => spans.push(Span { kind, range }),
    };
    let mut i = 0;
    while i < bytes.len() {
        let rest = &code[i..];
        let start = i;
        let c = bytes[i];
        if lang.line_comments.iter().any(|m| rest.starts_with(m)) {
            i += rest.find('\n').unwrap_or(rest.len());
            push(Kind::Comment, start..i);
        } else if lang.block_comments && rest.starts_with("/*") {
            i += rest[2..].find("*/").map_or(rest.len(), |end| end + 4);
            push(Kind::Comment, start..i);
        } else if lang.triple_quotes && (rest.starts_with("\"\"\"") || rest.starts_with("'''")) {
            let fence = &rest[..3];
            i += rest[3..].find(fence).map_or(rest.len(), |end| end + 6);
            push(Kind::String, start..i);
        } else if c == b'\'' && lang.char_literals {
            i += char_literal(rest).unwrap_or(1);
            push(
                if i - start > 1 {
                    Kind::String
                } else {
                    Kind::Plain
                },
                start..i,
            );
        } else if lang.quotes.contains(&(c as char)) {
            i += string_len(rest, c);
            push(Kind::String, start..i);
        } else if c.is_ascii_digit() {
            i += rest
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '.'))
                .unwrap_or(rest.len());
            push(Kind::Number, start..i);
        } else if c.is_ascii_alphabetic() || c == b'_' {
            i += rest
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                .unwrap_or(rest.len());
            let word = &code[start..i];
            let kind = if lang.keywords.contains(&word) {
                Kind::Keyword
            } else {
                Kind::Plain
            };
            push(kind, start..i);
        } else {
            // One character (whole, so ranges stay on char boundaries).
            i += rest.chars().next().map_or(1, char::len_utf8);
            push(Kind::Plain, start..i);
        }
    }
    spans
}

fn plain(code: &str) -> Vec<Span> {
    if code.is_empty() {
        return Vec::new();
    }
    vec![Span {
        kind: Kind::Plain,
        range: 0..code.len(),
    }]
}

/// The length of the string `rest` opens with `quote`: up to the closing quote (backslash
/// escapes it), or the end of the line for a string left open. Backtick strings may span
/// lines.
fn string_len(rest: &str, quote: u8) -> usize {
    let bytes = rest.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' if quote != b'`' => return i,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    rest.len()
}

/// The length of a Rust char literal at the start of `rest` (`'a'`, `'\n'`, `'\u{1F600}'`),
/// or `None` for a lifetime or a lone quote.
fn char_literal(rest: &str) -> Option<usize> {
    let mut chars = rest.char_indices().skip(1);
    let (_, first) = chars.next()?;
    if first == '\\' {
        let close = rest[2..].find('\'')?;
        let end = close + 3;
        return (close <= 10 && !rest[..end].contains('\n')).then_some(end);
    }
    let (at, next) = chars.next()?;
    (next == '\'').then_some(at + 1)
}
