//! The code-block tokenizer: keywords, strings, comments and numbers of common languages.

use crate::client::highlight::{highlight, Kind};

/// The spans as (kind, text), plain ones left out.
fn marked(lang: &str, code: &str) -> Vec<(Kind, String)> {
    let spans = highlight(lang, code);
    // Spans cover the code exactly, in order.
    let joined: String = spans.iter().map(|s| &code[s.range.clone()]).collect();
    assert_eq!(joined, code);
    spans
        .into_iter()
        .filter(|s| s.kind != Kind::Plain)
        .map(|s| (s.kind, code[s.range].to_string()))
        .collect()
}

fn k(kind: Kind, text: &str) -> (Kind, String) {
    (kind, text.to_string())
}

#[test]
fn rust_keywords_strings_chars_numbers_comments_but_not_lifetimes() {
    let code = "fn main<'a>(x: &'a str) { let n = 0x1F + 2; // sum\n println!(\"{n} \\\"q\\\"\", '\\n'); }";
    assert_eq!(
        marked("rust", code),
        vec![
            k(Kind::Keyword, "fn"),
            k(Kind::Keyword, "let"),
            k(Kind::Number, "0x1F"),
            k(Kind::Number, "2"),
            k(Kind::Comment, "// sum"),
            k(Kind::String, "\"{n} \\\"q\\\"\""),
            k(Kind::String, "'\\n'"),
        ]
    );
}

#[test]
fn other_languages_have_their_own_comments_and_quotes() {
    assert_eq!(
        marked(
            "py",
            "def f():\n    \"\"\"Doc\n    more\"\"\"\n    return None  # done"
        ),
        vec![
            k(Kind::Keyword, "def"),
            k(Kind::String, "\"\"\"Doc\n    more\"\"\""),
            k(Kind::Keyword, "return"),
            k(Kind::Keyword, "None"),
            k(Kind::Comment, "# done"),
        ]
    );
    assert_eq!(
        marked("bash", "if [ -f a ]; then echo 'hi #x'; fi # end"),
        vec![
            k(Kind::Keyword, "if"),
            k(Kind::Keyword, "then"),
            k(Kind::String, "'hi #x'"),
            k(Kind::Keyword, "fi"),
            k(Kind::Comment, "# end"),
        ]
    );
    assert_eq!(
        marked("json", "{\"a\": [1.5, true, null]}"),
        vec![
            k(Kind::String, "\"a\""),
            k(Kind::Number, "1.5"),
            k(Kind::Keyword, "true"),
            k(Kind::Keyword, "null"),
        ]
    );
    assert_eq!(
        marked("ts", "const s = `a\nb`; /* c */"),
        vec![
            k(Kind::Keyword, "const"),
            k(Kind::String, "`a\nb`"),
            k(Kind::Comment, "/* c */"),
        ]
    );
    assert_eq!(
        marked("go", "func main() { return }"),
        vec![k(Kind::Keyword, "func"), k(Kind::Keyword, "return")]
    );
    assert_eq!(marked("java", "int x = 1;")[0], k(Kind::Keyword, "int"));
}

#[test]
fn unknown_languages_and_unfinished_code_stay_whole() {
    assert_eq!(highlight("brainfuck", "fn x").len(), 1);
    assert!(highlight("", "").is_empty());
    // Open strings and comments end at the end of the line or the text, never panic.
    for code in [
        "let s = \"open",
        "/* open",
        "'",
        "\"\\",
        "x = '''open",
        "é'ü'\"ö",
    ] {
        for lang in ["rust", "py", "js", "sh"] {
            marked(lang, code);
        }
    }
    assert_eq!(
        marked("rust", "let s = \"open\nfn"),
        vec![
            k(Kind::Keyword, "let"),
            k(Kind::String, "\"open"),
            k(Kind::Keyword, "fn"),
        ]
    );
}
