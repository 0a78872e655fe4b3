//! The full-text index of transcripts (SQLite FTS5): kept in step with the event log inside
//! the writer's transaction, and searched with the user's words, "phrases" and prefix*.
//! Another database implements the same two functions with its own full-text index.

use super::{Db, DbError};
use crate::protocol::{
    AgentId, ProjectId, SearchGroup, SearchHit, SearchOrder, SearchQuery, SearchRole, Seq,
    SessionEvent, SessionId, MAX_SEARCH_HITS,
};
use sqlx::{Row, SqliteConnection};

/// A streamed message's index row grows to about this many bytes, then a new row begins:
/// a delta never re-indexes more than this.
const ROW_BYTES: i64 = 4096;
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

/// Adds what `event` says to the index, on the writer's transaction.
pub(super) async fn index_event(
    conn: &mut SqliteConnection,
    session: SessionId,
    seq: Seq,
    at_ms: i64,
    event: &SessionEvent,
) -> Result<(), DbError> {
    let session = session.to_string();
    match event {
        SessionEvent::UserMessage { text, .. } => {
            insert_row(conn, &session, seq, at_ms, SearchRole::User, text).await?;
        }
        SessionEvent::ToolCall {
            name, title, input, ..
        } => {
            let mut body = format!("{title} {name}");
            for key in ["command", "file_path", "path", "pattern"] {
                if let Some(value) = input.get(key).and_then(|v| v.as_str()) {
                    body.push(' ');
                    body.push_str(value);
                }
            }
            insert_row(conn, &session, seq, at_ms, SearchRole::Tool, &body).await?;
        }
        SessionEvent::AssistantDelta { message_id, text } => {
            let entry = format!("a:{message_id}");
            grow(
                conn,
                &session,
                &entry,
                seq,
                at_ms,
                SearchRole::Assistant,
                text,
            )
            .await?;
        }
        SessionEvent::Thinking { message_id, text } => {
            let entry = format!("t:{message_id}");
            grow(
                conn,
                &session,
                &entry,
                seq,
                at_ms,
                SearchRole::Thinking,
                text,
            )
            .await?;
        }
        // A whole message is indexed unless its deltas already were (the same text).
        SessionEvent::AssistantMessage { message_id, text } => {
            let entry = format!("a:{message_id}");
            if open_row(conn, &session, &entry).await?.is_none() {
                grow(
                    conn,
                    &session,
                    &entry,
                    seq,
                    at_ms,
                    SearchRole::Assistant,
                    text,
                )
                .await?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The row `entry` is growing: its rowid and size.
async fn open_row(
    conn: &mut SqliteConnection,
    session: &str,
    entry: &str,
) -> Result<Option<(i64, i64)>, DbError> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT fts_rowid, bytes FROM search_open WHERE session_id = ? AND entry = ?",
    )
    .bind(session)
    .bind(entry)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row)
}

/// Appends a piece of a streamed entry to its row, or starts a row (the first piece, or the
/// row is full).
async fn grow(
    conn: &mut SqliteConnection,
    session: &str,
    entry: &str,
    seq: Seq,
    at_ms: i64,
    role: SearchRole,
    text: &str,
) -> Result<(), DbError> {
    let added = text.len() as i64;
    match open_row(conn, session, entry).await? {
        Some((rowid, bytes)) if bytes + added <= ROW_BYTES => {
            sqlx::query("UPDATE search_index SET body = body || ? WHERE rowid = ?")
                .bind(text)
                .bind(rowid)
                .execute(&mut *conn)
                .await?;
            sqlx::query("UPDATE search_open SET bytes = ? WHERE session_id = ? AND entry = ?")
                .bind(bytes + added)
                .bind(session)
                .bind(entry)
                .execute(&mut *conn)
                .await?;
        }
        open => {
            // A continuation row points at the entry's first event, where it opens.
            let first_seq = match open {
                Some((rowid, _)) => first_seq_of(conn, rowid).await?.unwrap_or(seq),
                None => seq,
            };
            let rowid = insert_row(conn, session, first_seq, at_ms, role, text).await?;
            sqlx::query(
                "INSERT INTO search_open (session_id, entry, fts_rowid, bytes) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (session_id, entry) DO UPDATE SET fts_rowid = excluded.fts_rowid, \
                 bytes = excluded.bytes",
            )
            .bind(session)
            .bind(entry)
            .bind(rowid)
            .bind(added)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

async fn first_seq_of(conn: &mut SqliteConnection, rowid: i64) -> Result<Option<Seq>, DbError> {
    let seq: Option<i64> = sqlx::query_scalar("SELECT seq FROM search_index WHERE rowid = ?")
        .bind(rowid)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(seq.map(|s| Seq(s.max(0) as u64)))
}

/// Inserts one index row at the next free rowid of its millisecond; returns the rowid.
async fn insert_row(
    conn: &mut SqliteConnection,
    session: &str,
    seq: Seq,
    at_ms: i64,
    role: SearchRole,
    body: &str,
) -> Result<i64, DbError> {
    let base = at_ms.clamp(0, i64::MAX / ROWIDS_PER_MS - 1) * ROWIDS_PER_MS;
    let last: Option<i64> =
        sqlx::query_scalar("SELECT max(rowid) FROM search_index WHERE rowid >= ? AND rowid < ?")
            .bind(base)
            .bind(base + ROWIDS_PER_MS)
            .fetch_one(&mut *conn)
            .await?;
    let (agent, project) = filter_tokens_of(conn, session).await?;
    let rowid = match last {
        None => base,
        Some(last) if last + 1 < base + ROWIDS_PER_MS => last + 1,
        // 65,536 entries in one millisecond: after everything instead.
        Some(_) => {
            let max: Option<i64> = sqlx::query_scalar("SELECT max(rowid) FROM search_index")
                .fetch_one(&mut *conn)
                .await?;
            max.unwrap_or(base) + 1
        }
    };
    sqlx::query(
        "INSERT INTO search_index (rowid, body, role, agent, project, session_id, seq, at_ms) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(rowid)
    .bind(body)
    .bind(role.name())
    .bind(agent)
    .bind(project)
    .bind(session)
    .bind(seq.0 as i64)
    .bind(at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(rowid)
}

/// A session's agent and project as the index's filter tokens.
async fn filter_tokens_of(
    conn: &mut SqliteConnection,
    session: &str,
) -> Result<(String, String), DbError> {
    let row: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT agent, project_id FROM sessions WHERE id = ?")
            .bind(session)
            .fetch_optional(&mut *conn)
            .await?;
    let (agent, project) = row.unwrap_or_default();
    Ok((agent_token(&agent), project_token(project.as_deref())))
}

/// An agent id as one index token (the migration makes the same: `a`, then the id without
/// `-`, `_` and `.`, lowercase).
fn agent_token(agent: &str) -> String {
    format!("a{}", agent.replace(['-', '_', '.'], "").to_lowercase())
}

/// A project id as one index token (`p` and the UUID's hex; `pnone` for none).
fn project_token(project: Option<&str>) -> String {
    format!(
        "p{}",
        project.unwrap_or("none").replace('-', "").to_lowercase()
    )
}

/// The MATCH expression: the user's terms in the text, and the filters on their columns.
fn match_expression(query: &SearchQuery) -> Result<String, String> {
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

impl Db {
    /// Searches every transcript, newest first or by relevance; at most
    /// [`MAX_SEARCH_HITS`] hits, grouped by session in the order of their best hit. The
    /// bool is true when there were more.
    pub async fn search(
        &self,
        query: &SearchQuery,
    ) -> Result<(Vec<SearchGroup>, bool), SearchError> {
        let expression = match_expression(query).map_err(SearchError::BadQuery)?;
        // The time filters are a rowid range: rowids are times.
        let since = query
            .since_ms
            .map_or(i64::MIN, |ms| ms.saturating_mul(ROWIDS_PER_MS));
        let until = query
            .until_ms
            .map_or(i64::MAX, |ms| ms.saturating_mul(ROWIDS_PER_MS));
        let limit = i64::from(MAX_SEARCH_HITS) + 1;
        let rows = match query.order {
            SearchOrder::Newest => {
                self.hits(&expression, "1 = 1", since, until, "f.rowid DESC", limit)
                    .await?
            }
            // Ranking every match of a common word costs ~0.4 us each (300,000 matches:
            // 120 ms), so relevance ranks the newest RANKED_MATCHES matches.
            SearchOrder::Relevance => {
                let ranked: Vec<(i64, f64)> = sqlx::query_as(
                    "SELECT rowid, rank FROM search_index WHERE search_index MATCH ?1 \
                     AND rowid >= ?2 AND rowid < ?3 ORDER BY rowid DESC LIMIT ?4",
                )
                .bind(&expression)
                .bind(since)
                .bind(until)
                .bind(RANKED_MATCHES)
                .fetch_all(&self.pool)
                .await
                .map_err(fts_error)?;
                let mut ranked = ranked;
                ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
                ranked.truncate(limit as usize);
                let Some(lowest) = ranked.iter().map(|r| r.0).min() else {
                    return Ok((Vec::new(), false));
                };
                let ids = ranked
                    .iter()
                    .map(|r| r.0.to_string())
                    .collect::<Vec<_>>()
                    .join(",");
                let mut rows = self
                    .hits(
                        &expression,
                        &format!("f.rowid IN ({ids})"),
                        lowest,
                        until,
                        "f.rowid DESC",
                        limit,
                    )
                    .await?;
                let order: std::collections::HashMap<i64, usize> =
                    ranked.iter().enumerate().map(|(n, r)| (r.0, n)).collect();
                rows.sort_by_key(|row| order.get(&row.rowid).copied().unwrap_or(usize::MAX));
                rows
            }
        };
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
    }

    /// The matching rows with their snippets and sessions, in `order`.
    async fn hits(
        &self,
        expression: &str,
        rows: &str,
        since: i64,
        until: i64,
        order: &str,
        limit: i64,
    ) -> Result<Vec<HitRow>, SearchError> {
        // char(2) and char(3) are the protocol's MATCH_OPEN and MATCH_CLOSE.
        let sql = format!(
            "SELECT f.rowid, f.session_id, f.seq, f.role, f.at_ms, \
             snippet(search_index, 0, char(2), char(3), '…', 12) AS snippet, \
             s.title, s.agent, s.project_id, s.archived \
             FROM search_index f JOIN sessions s ON s.id = f.session_id \
             WHERE search_index MATCH ?1 AND {rows} AND f.rowid >= ?2 AND f.rowid < ?3 \
             ORDER BY {order} LIMIT ?4"
        );
        let rows = sqlx::query(&sql)
            .bind(expression)
            .bind(since)
            .bind(until)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(fts_error)?;
        rows.iter()
            .map(HitRow::read)
            .collect::<Result<_, _>>()
            .map_err(SearchError::Db)
    }
}

/// Relevance ranks at most this many of the newest matches.
const RANKED_MATCHES: i64 = 5_000;

/// FTS5 refuses some inputs the translation lets through (it should not): a query error,
/// not a server error.
fn fts_error(e: sqlx::Error) -> SearchError {
    match e {
        sqlx::Error::Database(e) if e.message().contains("fts5") => SearchError::BadQuery(format!(
            "the search index cannot read this query ({})",
            e.message()
        )),
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
    fn read(row: &sqlx::sqlite::SqliteRow) -> Result<HitRow, DbError> {
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
            archived: row.try_get("archived")?,
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
mod tests {
    use super::fts_query;
    use crate::protocol::{SearchQuery, SearchRole};
    use crate::server::db::{Db, DB_FILE};

    /// A database as the previous release left it (every migration before the index), with
    /// a streamed reply and a tool call in its log: opening it indexes them.
    #[tokio::test]
    async fn opening_an_older_database_indexes_its_logs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let older = dir.path().join("older-migrations");
        std::fs::create_dir(&older).expect("mkdir");
        for entry in std::fs::read_dir("migrations").expect("migrations") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            if name.as_str() < "20261203160000" {
                std::fs::copy(&path, older.join(&name)).expect("copy");
            }
        }
        let url = format!("sqlite://{}?mode=rwc", dir.path().join(DB_FILE).display());
        let pool = sqlx::SqlitePool::connect(&url).await.expect("opens");
        let migrator = sqlx::migrate::Migrator::new(older.as_path())
            .await
            .expect("reads");
        migrator.run(&pool).await.expect("older schema");
        let id = "6f0a6c1e-3b1c-4a53-9a53-1f1b2a7d9e01";
        sqlx::query(
            "INSERT INTO sessions (id, title, agent, cwd, permission_mode, state, created_at_ms, \
             last_activity_ms) VALUES (?, 'Old', 'demo', '/tmp', 'default', '{\"state\":\"idle\"}', 1, 1)",
        )
        .bind(id)
        .execute(&pool)
        .await
        .expect("session");
        let events = [
            r#"{"type":"user_message","client_msg_id":"6f0a6c1e-3b1c-4a53-9a53-1f1b2a7d9e02","text":"where is the parser"}"#,
            r#"{"type":"assistant_delta","message_id":"m1","text":"The parser lives in "}"#,
            r#"{"type":"assistant_delta","message_id":"m1","text":"src/wire.rs today."}"#,
            r#"{"type":"tool_call","id":"c1","name":"Bash","title":"grep","input":{"command":"grep -rn tokenizer src"}}"#,
        ];
        for (n, body) in events.iter().enumerate() {
            sqlx::query(
                "INSERT INTO events (session_id, seq, created_at_ms, body) VALUES (?, ?, ?, ?)",
            )
            .bind(id)
            .bind(n as i64 + 1)
            .bind(1_000 + n as i64)
            .bind(body)
            .execute(&pool)
            .await
            .expect("event");
        }
        pool.close().await;

        let db = Db::open(dir.path()).await.expect("migrates");
        let find = |text: &str, role: Option<SearchRole>| SearchQuery {
            text: text.into(),
            role,
            ..SearchQuery::default()
        };
        // A phrase across two deltas: they were joined into one row.
        let (groups, _) = db
            .search(&find("\"lives in src\"", None))
            .await
            .expect("search");
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].hits[0].role, SearchRole::Assistant);
        assert_eq!(
            groups[0].hits[0].seq.0, 2,
            "opens at the message's first delta"
        );
        let (groups, _) = db
            .search(&find("tokenizer", Some(SearchRole::Tool)))
            .await
            .expect("search");
        assert_eq!(groups[0].hits[0].seq.0, 4);
        let (groups, _) = db
            .search(&find("parser", Some(SearchRole::User)))
            .await
            .expect("search");
        assert_eq!(groups[0].hits.len(), 1);
    }

    /// Live deltas grow one row, so a phrase split across them is found; a reply longer
    /// than a row continues in another that still opens at the reply's first event.
    #[tokio::test]
    async fn streamed_replies_are_searchable_as_they_arrive() {
        use crate::protocol::{AgentId, Seq, Session, SessionEvent, SessionId, SessionState};
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(dir.path()).await.expect("opens");
        let id = SessionId(uuid::Uuid::new_v4());
        let session = Session::empty(
            id,
            AgentId::demo(),
            "/tmp".into(),
            "default".into(),
            SessionState::Idle,
        );
        db.save_session(&session).await.expect("saved");
        let delta = |text: &str| SessionEvent::AssistantDelta {
            message_id: "m".into(),
            text: text.into(),
        };
        db.append_event(id, Seq(1), 10, &delta("the migration "))
            .await
            .expect("stored");
        db.append_event(id, Seq(2), 11, &delta("runs twice"))
            .await
            .expect("stored");
        let phrase = SearchQuery {
            text: "\"migration runs\"".into(),
            ..SearchQuery::default()
        };
        let (groups, _) = db.search(&phrase).await.expect("search");
        assert_eq!(groups[0].hits.len(), 1);
        assert_eq!(groups[0].hits[0].seq, Seq(1));
        let filler = "lorem ipsum dolor sit amet ".repeat(200);
        db.append_event(id, Seq(3), 12, &delta(&filler))
            .await
            .expect("stored");
        db.append_event(id, Seq(4), 13, &delta(" zebra crossing"))
            .await
            .expect("stored");
        let late = SearchQuery {
            text: "zebra".into(),
            ..SearchQuery::default()
        };
        let (groups, _) = db.search(&late).await.expect("search");
        assert_eq!(
            groups[0].hits[0].seq,
            Seq(1),
            "a continuation row opens at the reply"
        );
        // Still one phrase hit: the first row did not change.
        let (groups, _) = db.search(&phrase).await.expect("search");
        assert_eq!(groups[0].hits.len(), 1);
    }

    #[test]
    fn words_phrases_and_prefixes_become_a_safe_fts_query() {
        assert_eq!(fts_query("login bug").unwrap(), "\"login\" AND \"bug\"");
        assert_eq!(
            fts_query("\"fix the login\" deploy*").unwrap(),
            "\"fix the login\" AND \"deploy\" *"
        );
        // Operators and syntax are only words here.
        assert_eq!(
            fts_query("NOT body:x OR (y)").unwrap(),
            "\"NOT\" AND \"body x\" AND \"OR\" AND \"y\""
        );
        assert_eq!(fts_query("src/main.rs").unwrap(), "\"src main rs\"");
    }

    #[test]
    fn unreadable_queries_say_why() {
        assert!(fts_query("\"open phrase").unwrap_err().contains("quote"));
        assert!(fts_query("   ").unwrap_err().contains("type a word"));
        assert!(fts_query("*").unwrap_err().contains("*"));
    }
}
