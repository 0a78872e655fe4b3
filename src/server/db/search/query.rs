//! The search language: the user's words, "phrases" and prefix* as an FTS5 MATCH expression,
//! and the filters as column tokens.

use crate::protocol::SearchQuery;

/// An agent id as one index token (the migration makes the same: `a`, then the id without
/// `-`, `_` and `.`, lowercase).
pub(super) fn agent_token(agent: &str) -> String {
    format!("a{}", agent.replace(['-', '_', '.'], "").to_lowercase())
}

/// A project id as one index token (`p` and the UUID's hex; `pnone` for none).
pub(super) fn project_token(project: Option<&str>) -> String {
    format!(
        "p{}",
        project.unwrap_or("none").replace('-', "").to_lowercase()
    )
}

/// The MATCH expression: the user's terms in the text, and the filters on their columns.
pub(super) fn match_expression(query: &SearchQuery) -> Result<String, String> {
    let mut expression = format!("body : ({})", fts_query(&query.text)?);
    let mut filter = |column: &str, token: String| {
        let words = words_of(&token).join(" ");
        expression.push_str(&format!(" AND {column} : \"{words}\""));
    };
    if let Some(role) = query.role {
        filter("role", role.name().to_owned());
    }
    if let Some(agent) = &query.agent {
        filter("agent", agent_token(&agent.0));
    }
    if let Some(project) = query.project {
        filter("project", project_token(Some(&project.to_string())));
    }
    Ok(expression)
}

/// One term of a query: words that must appear in order (one word, or a "phrase"), the
/// last one only as a prefix when `prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The words, lowercase.
    pub words: Vec<String>,
    /// Whether the last word is a prefix (`deploy*`).
    pub prefix: bool,
}

/// Reads the user's query: words and `"phrases"` must all appear, `word*` matches a
/// prefix; every other character only separates words (no operators, columns or NEAR).
pub fn terms(text: &str) -> Result<Vec<Term>, String> {
    let mut terms = Vec::new();
    let mut rest = text.trim();
    let words =
        |text: &str| -> Vec<String> { words_of(text).into_iter().map(str::to_lowercase).collect() };
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('"') {
            let Some((phrase, after)) = after.split_once('"') else {
                return Err("a quote is not closed: put a \" after the phrase".into());
            };
            let words = words(phrase);
            if !words.is_empty() {
                terms.push(Term {
                    words,
                    prefix: false,
                });
            }
            rest = after.trim_start();
            continue;
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '"')
            .unwrap_or(rest.len());
        let (word, after) = rest.split_at(end);
        rest = after.trim_start();
        let prefix = word.ends_with('*');
        // `foo-bar` is the phrase "foo bar" to the tokenizer; a prefix applies to its end.
        match (words(word), prefix) {
            (found, true) if found.is_empty() => {
                return Err("a * needs letters before it, as in deploy*".into())
            }
            (found, _) if found.is_empty() => {}
            (words, prefix) => terms.push(Term { words, prefix }),
        }
    }
    if terms.is_empty() {
        return Err("type a word to search for".into());
    }
    Ok(terms)
}

/// The user's query as an FTS5 query (see [`terms`]), so no query reaches SQLite in a
/// shape it refuses.
pub fn fts_query(text: &str) -> Result<String, String> {
    let rendered: Vec<String> = terms(text)?
        .iter()
        .map(|term| {
            let phrase = format!("\"{}\"", term.words.join(" "));
            if term.prefix {
                phrase + " *"
            } else {
                phrase
            }
        })
        .collect();
    Ok(rendered.join(" AND "))
}

/// Whether `body` holds every term (what the index's MATCH says, for text not in it yet).
pub fn matches(body: &str, terms: &[Term]) -> bool {
    find(body, terms).all
}

/// Where terms are in a text: its word spans, which of them match, and whether every
/// term matched somewhere.
struct Found {
    tokens: Vec<(usize, usize)>,
    marked: Vec<bool>,
    all: bool,
}

fn find(body: &str, terms: &[Term]) -> Found {
    let tokens: Vec<(usize, usize)> = body
        .char_indices()
        .filter(|(_, c)| c.is_alphanumeric())
        .fold(Vec::new(), |mut spans: Vec<(usize, usize)>, (at, c)| {
            match spans.last_mut() {
                Some(last) if last.1 == at => last.1 = at + c.len_utf8(),
                _ => spans.push((at, at + c.len_utf8())),
            }
            spans
        });
    let lower: Vec<String> = tokens
        .iter()
        .map(|&(a, b)| body[a..b].to_lowercase())
        .collect();
    let matches_at = |i: usize, term: &Term| {
        term.words.iter().enumerate().all(|(k, word)| {
            lower.get(i + k).is_some_and(|token| {
                let last = k + 1 == term.words.len();
                if last && term.prefix {
                    token.starts_with(word.as_str())
                } else {
                    token == word
                }
            })
        })
    };
    let mut marked = vec![false; tokens.len()];
    let mut seen = vec![false; terms.len()];
    for i in 0..tokens.len() {
        for (n, term) in terms.iter().enumerate() {
            if matches_at(i, term) {
                marked[i..i + term.words.len()].fill(true);
                seen[n] = true;
            }
        }
    }
    Found {
        tokens,
        marked,
        all: seen.iter().all(|s| *s),
    }
}

/// A short piece of `body` around the first match of `terms`, its matching words between
/// `open` and `close` (what FTS5's `snippet()` makes, for rows read without a MATCH):
/// about `width` words, `…` where it was cut.
pub fn snippet(body: &str, terms: &[Term], open: char, close: char, width: usize) -> String {
    let Found { tokens, marked, .. } = find(body, terms);
    let first = marked.iter().position(|m| *m).unwrap_or(0);
    let start = first.saturating_sub(width / 4);
    let end = (start + width).min(tokens.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut cursor = tokens.get(start).map_or(0, |t| t.0);
    for i in start..end {
        let (a, b) = tokens[i];
        out.push_str(&body[cursor..a]);
        if marked[i] {
            out.push(open);
            out.push_str(&body[a..b]);
            out.push(close);
        } else {
            out.push_str(&body[a..b]);
        }
        cursor = b;
    }
    if end < tokens.len() {
        out.push('…');
    } else {
        out.push_str(&body[cursor..]);
    }
    out
}

/// The tokens of `text` as the index's tokenizer splits them (letters and digits).
fn words_of(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}
