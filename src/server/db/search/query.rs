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

/// The user's query as an FTS5 query: words and `"phrases"` must all appear, `word*`
/// matches a prefix; every other character is taken literally (no operators, columns or
/// NEAR), so no query reaches SQLite in a shape it refuses.
pub fn fts_query(text: &str) -> Result<String, String> {
    let mut terms = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('"') {
            let Some((phrase, after)) = after.split_once('"') else {
                return Err("a quote is not closed: put a \" after the phrase".into());
            };
            let words = words_of(phrase);
            if !words.is_empty() {
                terms.push(format!("\"{}\"", words.join(" ")));
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
        let words = words_of(word);
        match (words.as_slice(), prefix) {
            ([], true) => return Err("a * needs letters before it, as in deploy*".into()),
            ([], false) => {}
            // `foo-bar` is the phrase "foo bar" to the tokenizer; a prefix applies to its end.
            (words, true) => terms.push(format!("\"{}\" *", words.join(" "))),
            (words, false) => terms.push(format!("\"{}\"", words.join(" "))),
        }
    }
    if terms.is_empty() {
        return Err("type a word to search for".into());
    }
    Ok(terms.join(" AND "))
}

/// The tokens of `text` as the index's tokenizer splits them (letters and digits).
fn words_of(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}
