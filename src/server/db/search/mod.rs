//! The full-text index of transcripts (SQLite FTS5, or PostgreSQL's `tsvector`): kept in
//! step with the event log inside the writer's transaction, and searched with the user's
//! words, "phrases" and prefix*. Both engines share the table's rows and the hot tail; only
//! the matching differs (`postgres` holds PostgreSQL's).

mod index;
mod postgres;
mod query;
mod streaming;

pub(super) use index::index_event;
pub use query::fts_query;

use super::{Db, DbError, Engine};
use crate::protocol::{
    AgentId, ProjectId, SearchGroup, SearchHit, SearchOrder, SearchQuery, SearchRole, Seq,
    SessionId, MATCH_CLOSE, MATCH_OPEN, MAX_SEARCH_HITS,
};
use query::match_expression;
use sqlx::Row;

/// Rowids are `at_ms * ROWIDS_PER_MS + n`: newest first is the index read backwards.
const ROWIDS_PER_MS: i64 = 65536;

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query cannot be read; the message says why, for people.
    #[error("{0}")]
    BadQuery(String),
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Db {
    /// Searches every transcript, newest first or by relevance; at most
    /// [`MAX_SEARCH_HITS`] hits, grouped by session in the order of their best hit. The
    /// bool is true when there were more.
    pub async fn search(
        &self,
        query: &SearchQuery,
    ) -> Result<(Vec<SearchGroup>, bool), SearchError> {
        let query = query.clone();
        self.detached(move |db| async move {
            let query = &query;
            let expression = match db.engine {
                Engine::Sqlite => match_expression(query),
                Engine::Postgres => postgres::tsquery(&query.text),
            }
            .map_err(SearchError::BadQuery)?;
            let filters = postgres::Filters::of(query);
            // The time filters are a rowid range: rowids are times.
            let since = query
                .since_ms
                .map_or(i64::MIN, |ms| ms.saturating_mul(ROWIDS_PER_MS));
            let until = query
                .until_ms
                .map_or(i64::MAX, |ms| ms.saturating_mul(ROWIDS_PER_MS));
            let limit = i64::from(MAX_SEARCH_HITS) + 1;
            let terms = query::terms(&query.text).map_err(SearchError::BadQuery)?;
            // Entries still streaming are the newest of all: first when newest first, after
            // the ranked ones by relevance.
            let streaming = db.streaming_hits(query, &terms).await?;
            let mut rows = match query.order {
                SearchOrder::Newest => {
                    let indexed = db
                        .newest_hits(&expression, &filters, &terms, (since, until), limit)
                        .await?;
                    streaming.into_iter().chain(indexed).collect()
                }
                // Ranking every match of a common word costs ~0.4 us each (300,000 matches:
                // 120 ms), so relevance ranks the newest RANKED_MATCHES matches.
                SearchOrder::Relevance => {
                    let sql = match db.engine {
                        Engine::Sqlite => {
                            "SELECT rowid, rank FROM search_index WHERE search_index MATCH $1 \
                         AND rowid >= $2 AND rowid < $3 ORDER BY rowid DESC LIMIT $4"
                        }
                        Engine::Postgres => postgres::RANKED,
                    };
                    let ranked: Vec<(i64, f64)> = filters
                        .bind(
                            db.engine,
                            sqlx::query_as(sql)
                                .bind(&expression)
                                .bind(since)
                                .bind(until)
                                .bind(RANKED_MATCHES),
                        )
                        .fetch_all(&db.pool)
                        .await
                        .map_err(fts_error)?;
                    let mut ranked = ranked;
                    ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
                    ranked.truncate(limit as usize);
                    if ranked.is_empty() {
                        return Ok((Vec::new(), false));
                    }
                    let ids = ranked
                        .iter()
                        .map(|r| r.0.to_string())
                        .collect::<Vec<_>>()
                        .join(",");
                    // Read by rowid, without a MATCH (each row would be matched again); the
                    // snippet is made here, as FTS5's would be.
                    let sql = format!(
                        "SELECT f.rowid, f.session_id, f.seq, f.role, f.at_ms, f.body AS snippet, \
                     s.title, s.agent, s.project_id, s.archived \
                     FROM search_index f JOIN sessions s ON s.id = f.session_id \
                     WHERE f.rowid IN ({ids})"
                    );
                    let found = sqlx::query(&sql)
                        .fetch_all(&db.pool)
                        .await
                        .map_err(DbError::from)?;
                    let mut rows = found
                        .iter()
                        .map(HitRow::read)
                        .collect::<Result<Vec<_>, _>>()?;
                    for row in &mut rows {
                        row.snippet = query::snippet(
                            &row.snippet,
                            &terms,
                            MATCH_OPEN,
                            MATCH_CLOSE,
                            SNIPPET_WORDS,
                        );
                    }
                    let order: std::collections::HashMap<i64, usize> =
                        ranked.iter().enumerate().map(|(n, r)| (r.0, n)).collect();
                    rows.sort_by_key(|row| order.get(&row.rowid).copied().unwrap_or(usize::MAX));
                    rows.extend(streaming);
                    rows
                }
            };
            rows.truncate(limit as usize);
            let more = rows.len() > MAX_SEARCH_HITS as usize;
            let mut groups: Vec<SearchGroup> = Vec::new();
            for row in rows.into_iter().take(MAX_SEARCH_HITS as usize) {
                let (session, hit, about) = row.into_hit()?;
                match groups.iter_mut().find(|g| g.session == session) {
                    Some(group) => group.hits.push(hit),
                    None => groups.push(SearchGroup {
                        session,
                        title: about.title,
                        agent: about.agent,
                        project: about.project,
                        archived: about.archived,
                        hits: vec![hit],
                    }),
                }
            }
            Ok((groups, more))
        })
        .await
    }

    /// The entries still streaming (the index's tail, read from the log) that hold every
    /// term, with the same filters, newest first.
    async fn streaming_hits(
        &self,
        query: &SearchQuery,
        terms: &[query::Term],
    ) -> Result<Vec<HitRow>, SearchError> {
        let mut conn = self.pool.acquire().await.map_err(DbError::from)?;
        let tails: Vec<(String, i64, String, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT t.session_id, t.from_seq, s.title, s.agent, s.project_id, s.archived \
             FROM search_streaming t JOIN sessions s ON s.id = t.session_id \
             WHERE ($1 IS NULL OR s.agent = $1) AND ($2 IS NULL OR s.project_id = $2)",
        )
        .bind(query.agent.as_ref().map(|a| a.0.clone()))
        .bind(query.project.map(|p| p.to_string()))
        .fetch_all(&mut *conn)
        .await
        .map_err(DbError::from)?;
        let mut rows = Vec::new();
        for (session, from, title, agent, project, archived) in tails {
            let events = streaming::read_tail(&mut conn, &session, from, i64::MAX).await?;
            for entry in streaming::entries_of(&events)? {
                let wanted = query.role.is_none_or(|role| role == entry.role)
                    && query.since_ms.is_none_or(|ms| entry.at_ms >= ms)
                    && query.until_ms.is_none_or(|ms| entry.at_ms < ms)
                    && query::matches(&entry.text, terms);
                if wanted {
                    rows.push(HitRow {
                        rowid: 0,
                        session: session.clone(),
                        seq: entry.seq.0 as i64,
                        role: entry.role.name().to_owned(),
                        at_ms: entry.at_ms,
                        snippet: query::snippet(
                            &entry.text,
                            terms,
                            MATCH_OPEN,
                            MATCH_CLOSE,
                            SNIPPET_WORDS,
                        ),
                        title: title.clone(),
                        agent: agent.clone(),
                        project: project.clone(),
                        archived: archived != 0,
                    });
                }
            }
        }
        rows.sort_by_key(|row| std::cmp::Reverse(row.at_ms));
        Ok(rows)
    }

    /// The newest matching rows with their snippets and sessions.
    async fn newest_hits(
        &self,
        expression: &str,
        filters: &postgres::Filters,
        terms: &[query::Term],
        (since, until): (i64, i64),
        limit: i64,
    ) -> Result<Vec<HitRow>, SearchError> {
        // char(2) and char(3) are the protocol's MATCH_OPEN and MATCH_CLOSE.
        let sql = match self.engine {
            Engine::Sqlite => {
                "SELECT f.rowid, f.session_id, f.seq, f.role, f.at_ms, \
                 snippet(search_index, 0, char(2), char(3), '…', 12) AS snippet, \
                 s.title, s.agent, s.project_id, s.archived \
                 FROM search_index f JOIN sessions s ON s.id = f.session_id \
                 WHERE search_index MATCH $1 AND f.rowid >= $2 AND f.rowid < $3 \
                 ORDER BY f.rowid DESC LIMIT $4"
            }
            Engine::Postgres => postgres::NEWEST,
        };
        let query = sqlx::query(sql)
            .bind(expression)
            .bind(since)
            .bind(until)
            .bind(limit);
        let rows = filters
            .bind(self.engine, query)
            .fetch_all(&self.pool)
            .await
            .map_err(fts_error)?;
        let mut rows = rows
            .iter()
            .map(HitRow::read)
            .collect::<Result<Vec<_>, _>>()?;
        if self.engine == Engine::Postgres {
            // PostgreSQL's ts_headline works on its own tokens; ours marks what the
            // streaming tail and the relevance order mark.
            for row in &mut rows {
                row.snippet =
                    query::snippet(&row.snippet, terms, MATCH_OPEN, MATCH_CLOSE, SNIPPET_WORDS);
            }
        }
        Ok(rows)
    }
}

/// Relevance ranks at most this many of the newest matches.
const RANKED_MATCHES: i64 = 2_000;
/// About how many words a snippet shows (FTS5's `snippet()` is given half, in tokens
/// either side of a match).
const SNIPPET_WORDS: usize = 24;

/// FTS5 (or PostgreSQL's tsquery reader) refuses some inputs the translation lets through
/// (it should not): a query error, not a server error.
fn fts_error(e: sqlx::Error) -> SearchError {
    match e {
        sqlx::Error::Database(e)
            if e.message().contains("fts5") || e.message().contains("tsquery") =>
        {
            SearchError::BadQuery(format!(
                "the search index cannot read this query ({})",
                e.message()
            ))
        }
        e => SearchError::Db(e.into()),
    }
}

/// What a hit's session is, beside the hit.
struct HitSession {
    title: String,
    agent: AgentId,
    project: Option<ProjectId>,
    archived: bool,
}

/// One row of a search.
struct HitRow {
    rowid: i64,
    session: String,
    seq: i64,
    role: String,
    at_ms: i64,
    snippet: String,
    title: String,
    agent: String,
    project: Option<String>,
    archived: bool,
}

impl HitRow {
    fn read(row: &sqlx::any::AnyRow) -> Result<HitRow, DbError> {
        Ok(HitRow {
            rowid: row.try_get("rowid")?,
            session: row.try_get("session_id")?,
            seq: row.try_get("seq")?,
            role: row.try_get("role")?,
            at_ms: row.try_get("at_ms")?,
            snippet: row.try_get("snippet")?,
            title: row.try_get("title")?,
            agent: row.try_get("agent")?,
            project: row.try_get("project_id")?,
            archived: row.try_get::<i64, _>("archived")? != 0,
        })
    }

    fn into_hit(self) -> Result<(SessionId, SearchHit, HitSession), DbError> {
        let session = SessionId::parse(&self.session)
            .ok_or_else(|| DbError::Corrupt(format!("indexed session id {}", self.session)))?;
        let role = SearchRole::from_name(&self.role)
            .ok_or_else(|| DbError::Corrupt(format!("indexed role {}", self.role)))?;
        let hit = SearchHit {
            seq: Seq(self.seq.max(0) as u64),
            role,
            at_ms: self.at_ms,
            snippet: self.snippet,
        };
        let about = HitSession {
            title: self.title,
            agent: AgentId(self.agent),
            project: self.project.as_deref().and_then(ProjectId::parse),
            archived: self.archived,
        };
        Ok((session, hit, about))
    }
}

#[cfg(test)]
mod tests;
