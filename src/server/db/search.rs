//! The full-text index of transcripts (SQLite FTS5): kept in step with the event log inside
//! the writer's transaction, and searched with the user's words, "phrases" and prefix*.
//! Another database implements the same two functions with its own full-text index.

use super::{Db, DbError};
use crate::protocol::{
    SearchGroup, SearchHit, SearchOrder, SearchQuery, SearchRole, Seq, SessionEvent, SessionId,
    MAX_SEARCH_HITS,
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
        "INSERT INTO search_index (rowid, body, session_id, seq, role, at_ms) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(rowid)
    .bind(body)
    .bind(session)
    .bind(seq.0 as i64)
    .bind(role.name())
    .bind(at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(rowid)
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
        let fts = fts_query(&query.text).map_err(SearchError::BadQuery)?;
        let order = match query.order {
            SearchOrder::Newest => "f.rowid DESC",
            SearchOrder::Relevance => "f.rank",
        };
        // char(2) and char(3) are the protocol's MATCH_OPEN and MATCH_CLOSE.
        let sql = format!(
            "SELECT f.session_id, f.seq, f.role, f.at_ms, \
             snippet(search_index, 0, char(2), char(3), '…', 12) AS snippet, \
             s.title, s.agent, s.project_id, s.archived \
             FROM search_index f JOIN sessions s ON s.id = f.session_id \
             WHERE search_index MATCH ?1 \
             AND (?2 IS NULL OR s.project_id = ?2) AND (?3 IS NULL OR s.agent = ?3) \
             AND (?4 IS NULL OR f.role = ?4) AND (?5 IS NULL OR f.at_ms >= ?5) \
             AND (?6 IS NULL OR f.at_ms < ?6) \
             ORDER BY {order} LIMIT ?7"
        );
        let rows = sqlx::query(&sql)
            .bind(&fts)
            .bind(query.project.map(|p| p.to_string()))
            .bind(query.agent.as_ref().map(|a| a.0.clone()))
            .bind(query.role.map(SearchRole::name))
            .bind(query.since_ms)
            .bind(query.until_ms)
            .bind(i64::from(MAX_SEARCH_HITS) + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| match e {
                // FTS5 refuses some inputs the translation lets through (it should not).
                sqlx::Error::Database(e) if e.message().contains("fts5") => SearchError::BadQuery(
                    format!("the search index cannot read this query ({})", e.message()),
                ),
                e => SearchError::Db(e.into()),
            })?;
        let more = rows.len() > MAX_SEARCH_HITS as usize;
        let mut groups: Vec<SearchGroup> = Vec::new();
        for row in rows.iter().take(MAX_SEARCH_HITS as usize) {
            let session: String = row.try_get("session_id").map_err(DbError::from)?;
            let session = SessionId::parse(&session)
                .ok_or_else(|| DbError::Corrupt(format!("indexed session id {session}")))?;
            let role: String = row.try_get("role").map_err(DbError::from)?;
            let hit = SearchHit {
                seq: Seq(row.try_get::<i64, _>("seq").map_err(DbError::from)?.max(0) as u64),
                role: SearchRole::from_name(&role)
                    .ok_or_else(|| DbError::Corrupt(format!("indexed role {role}")))?,
                at_ms: row.try_get("at_ms").map_err(DbError::from)?,
                snippet: row.try_get("snippet").map_err(DbError::from)?,
            };
            if let Some(group) = groups.iter_mut().find(|g| g.session == session) {
                group.hits.push(hit);
                continue;
            }
            let project: Option<String> = row.try_get("project_id").map_err(DbError::from)?;
            groups.push(SearchGroup {
                session,
                title: row.try_get("title").map_err(DbError::from)?,
                agent: crate::protocol::AgentId(row.try_get("agent").map_err(DbError::from)?),
                project: project.and_then(|p| crate::protocol::ProjectId::parse(&p)),
                archived: row.try_get("archived").map_err(DbError::from)?,
                hits: vec![hit],
            });
        }
        Ok((groups, more))
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
