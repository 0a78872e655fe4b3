//! PostgreSQL's side of the search: the user's terms as a `tsquery` over the index's
//! `words` column (its text split as FTS5's `unicode61` splits it: on everything but
//! letters and digits, lowercase, accents folded by the schema's `fold_accents`, applied to
//! the query too), and the filters as plain columns.

use super::query::{agent_token, project_token, terms};
use crate::protocol::SearchQuery;
use crate::server::db::Engine;
use sqlx::any::AnyArguments;
use sqlx::Any;

/// The newest matches. `$1` the tsquery, `$2..$3` the rowid (time) range, `$4` the limit,
/// `$5..$7` the filters (NULL: any). The snippet is the body; the caller cuts it.
pub(super) const NEWEST: &str = "SELECT f.rowid, f.session_id, f.seq, f.role, f.at_ms, \
     f.body AS snippet, s.title, s.agent, s.project_id, s.archived \
     FROM search_index f JOIN sessions s ON s.id = f.session_id \
     WHERE f.words @@ to_tsquery('simple', fold_accents(lower($1))) AND f.rowid >= $2 AND f.rowid < $3 \
     AND ($5::text IS NULL OR f.role = $5) AND ($6::text IS NULL OR f.agent = $6) \
     AND ($7::text IS NULL OR f.project = $7) \
     ORDER BY f.rowid DESC LIMIT $4";

/// The newest `$4` matches with their rank, lower first as FTS5's `rank` (so the caller
/// sorts both engines' the same way). Parameters as [`NEWEST`].
pub(super) const RANKED: &str = "SELECT rowid, \
     CAST(-ts_rank(words, to_tsquery('simple', fold_accents(lower($1)))) AS DOUBLE PRECISION) AS rank \
     FROM search_index WHERE words @@ to_tsquery('simple', fold_accents(lower($1))) AND rowid >= $2 AND rowid < $3 \
     AND ($5::text IS NULL OR role = $5) AND ($6::text IS NULL OR agent = $6) \
     AND ($7::text IS NULL OR project = $7) \
     ORDER BY rowid DESC LIMIT $4";

/// The user's query as a tsquery: every term must match (`&`), a phrase's words in order
/// (`<->`), a prefix as `:*`. Words are letters and digits only, quoted, so nothing the
/// user types reaches PostgreSQL as an operator.
pub(super) fn tsquery(text: &str) -> Result<String, String> {
    let rendered: Vec<String> = terms(text)?
        .iter()
        .map(|term| {
            let last = term.words.len() - 1;
            let words: Vec<String> = term
                .words
                .iter()
                .enumerate()
                .map(|(n, word)| {
                    let star = if term.prefix && n == last { ":*" } else { "" };
                    format!("'{word}'{star}")
                })
                .collect();
            format!("({})", words.join(" <-> "))
        })
        .collect();
    Ok(rendered.join(" & "))
}

/// The filters as the index's column values (SQLite puts them in its MATCH expression).
pub(super) struct Filters {
    role: Option<String>,
    agent: Option<String>,
    project: Option<String>,
}

impl Filters {
    /// The filters of `query`.
    pub(super) fn of(query: &SearchQuery) -> Filters {
        Filters {
            role: query.role.map(|role| role.name().to_owned()),
            agent: query.agent.as_ref().map(|agent| agent_token(&agent.0)),
            project: query
                .project
                .map(|project| project_token(Some(&project.to_string()))),
        }
    }

    /// Binds them as `$5..$7` on PostgreSQL; SQLite's queries take none.
    pub(super) fn bind<'q, Q: Bind<'q>>(&self, engine: Engine, query: Q) -> Q {
        match engine {
            Engine::Sqlite => query,
            Engine::Postgres => query
                .bind_text(self.role.clone())
                .bind_text(self.agent.clone())
                .bind_text(self.project.clone()),
        }
    }
}

/// `sqlx::query` and `sqlx::query_as` alike: what can take one more text parameter.
pub(super) trait Bind<'q> {
    /// Adds `value` as the next parameter.
    fn bind_text(self, value: Option<String>) -> Self;
}

impl<'q> Bind<'q> for sqlx::query::Query<'q, Any, AnyArguments<'q>> {
    fn bind_text(self, value: Option<String>) -> Self {
        self.bind(value)
    }
}

impl<'q, O> Bind<'q> for sqlx::query::QueryAs<'q, Any, O, AnyArguments<'q>> {
    fn bind_text(self, value: Option<String>) -> Self {
        self.bind(value)
    }
}

#[cfg(test)]
mod tests {
    use super::tsquery;

    #[test]
    fn terms_phrases_and_prefixes_become_a_tsquery_of_quoted_words() {
        assert_eq!(
            tsquery(r#"deploy "stack trace" pars*"#).as_deref(),
            Ok("('deploy') & ('stack' <-> 'trace') & ('pars':*)")
        );
        // Operators and quotes the user types are separators, never tsquery syntax.
        assert_eq!(
            tsquery("a|b & !c's").as_deref(),
            Ok("('a' <-> 'b') & ('c' <-> 's')")
        );
        assert!(tsquery("  ").is_err());
    }
}
