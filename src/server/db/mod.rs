//! Storage: projects, sessions and their append-only event logs, in the embedded SQLite file
//! (WAL; the default) or on a PostgreSQL server (`[database] url`). One set of queries runs
//! on both through sqlx's `Any` driver: they use `$n` placeholders and SQL both engines
//! read; the few places the engines differ (the full-text index, file maintenance) match on
//! [`Engine`]. Each engine has its own migrations (`migrations/`, `migrations/postgres/`).

pub mod api_tokens;
pub mod cluster;
pub mod compare;
mod connect;
pub mod imports;
pub mod logins;
pub mod machines;
mod migrations;
pub mod projects;
pub mod runner;
pub mod search;
pub mod spending;
pub mod testing;
pub mod usage_report;

use super::agent::TurnInput;
use crate::protocol::{
    AgentId, ClientMsgId, CompareId, LoggedEvent, ProjectId, Seq, Session, SessionEvent, SessionId,
    SessionState, Usage,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};
use std::sync::Arc;

/// The database's file name in the data dir.
pub const DB_FILE: &str = "switchboard.db";

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database failed (I/O, disk full, locked, unreachable...).
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// The schema could not be applied.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row could not be decoded (written by a newer version?).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The data directory could not be created.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A storage call's task ended without an answer (it panicked, or the runtime is
    /// shutting down).
    #[error("storage call interrupted: {0}")]
    Interrupted(String),
    /// The PostgreSQL database is in use by programs that cannot run beside this one:
    /// server nodes while `switchboard import` writes alone, or the other way round.
    #[error(
        "this PostgreSQL database is in use: `switchboard import` runs only while no server \
         node uses it, and a server does not start while an import runs"
    )]
    InUse,
    /// `database.url` names no engine Switchboard stores in.
    #[error("database.url must start with postgres:// or postgresql:// (got {0:?})")]
    Url(String),
}

/// The engine a [`Db`] stores in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The embedded file in the data dir: one server, nothing to install.
    Sqlite,
    /// A PostgreSQL server: the log where one machine is not enough.
    Postgres,
}

/// A handle to the database; cheap to clone (pools inside).
#[derive(Clone, Debug)]
pub struct Db {
    /// Readers (replay, listings); with SQLite, WAL lets them run beside the writer.
    pool: AnyPool,
    /// Where writes go. SQLite admits one writer at a time: writers sharing a pool would
    /// wait in SQLite's sleeping busy handler (and fail after its timeout) when many
    /// sessions stream at once, so SQLite gets one writer connection and queueing here is
    /// fair and never fails. PostgreSQL takes concurrent writers: the same pool.
    writer: AnyPool,
    engine: Engine,
    /// The connection holding the server's claim on a PostgreSQL database, once made.
    server_claim: Arc<std::sync::Mutex<Option<AnyConnection>>>,
}

impl Db {
    /// Inserts or replaces a session's metadata row.
    pub async fn save_session(&self, session: &Session) -> Result<(), DbError> {
        let session = session.clone();
        self.detached(move |db| async move {
            let mut conn = db.writer.acquire().await?;
            upsert_session(&mut conn, &session).await
        })
        .await
    }

    /// Stores a session's row with a published change applied and, in the same
    /// transaction, tells other nodes (`frame`: the `SessionUpdated` frame's JSON).
    pub async fn save_published_session(
        &self,
        session: &Session,
        frame: &str,
    ) -> Result<(), DbError> {
        if self.engine == Engine::Sqlite {
            return self.save_session(session).await;
        }
        let session = session.clone();
        let note = cluster::Note::Patch {
            session: session.id,
            frame: Some(frame.to_owned()),
        };
        self.detached(move |db| async move {
            let mut tx = db.writer.begin().await?;
            upsert_session(&mut tx, &session).await?;
            cluster::notify_in(&mut tx, &note).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// Appends many events in one transaction (generated transcripts for benchmarks).
    pub async fn append_events(
        &self,
        session: SessionId,
        events: &[(Seq, i64, SessionEvent)],
    ) -> Result<(), DbError> {
        let events = events.to_vec();
        self.detached(move |db| async move {
            let mut tx = db.writer.begin().await?;
            for (seq, at_ms, event) in &events {
                insert_event(&mut tx, session, *seq, *at_ms, event, None).await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// Appends one event at `seq`, and indexes it for search in the same transaction. The
    /// primary key refuses a seq that is already taken, so two writers can never interleave
    /// a log.
    pub async fn append_event(
        &self,
        session: SessionId,
        seq: Seq,
        at_ms: i64,
        event: &SessionEvent,
    ) -> Result<(), DbError> {
        self.append_numbered_event(session, seq, at_ms, event, None)
            .await
    }

    /// Like `append_event`, with the number of the agent output that made the event
    /// (`db::runner`), in the same row.
    pub(crate) async fn append_numbered_event(
        &self,
        session: SessionId,
        seq: Seq,
        at_ms: i64,
        event: &SessionEvent,
        agent_output: Option<u64>,
    ) -> Result<(), DbError> {
        let event = event.clone();
        self.detached(move |db| async move {
            let mut tx = db.writer.begin().await?;
            insert_event(&mut tx, session, seq, at_ms, &event, agent_output).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// The events of a session after `since`, in order.
    pub async fn events_since(
        &self,
        session: SessionId,
        since: Seq,
    ) -> Result<Vec<LoggedEvent>, DbError> {
        self.events_between(session, since, Seq(u64::MAX >> 1))
            .await
    }

    /// The seq of the `turns`-th newest user message before `before` (`None`: in the whole
    /// log): where a page of whole turns starts. `Seq(0)` when there are not that many, so
    /// the page reaches the log's beginning.
    pub async fn turn_start(
        &self,
        session: SessionId,
        before: Option<Seq>,
        turns: u32,
    ) -> Result<Seq, DbError> {
        self.detached(move |db| async move {
            let before = before.map_or(i64::MAX, |seq| seq.0 as i64);
            let seq: Option<i64> = sqlx::query_scalar(
                "SELECT seq FROM events WHERE session_id = $1 AND seq < $2 \
             AND json_extract(body, '$.type') = 'user_message' \
             ORDER BY seq DESC LIMIT 1 OFFSET $3",
            )
            .bind(session.to_string())
            .bind(before)
            .bind(i64::from(turns.max(1) - 1))
            .fetch_optional(&db.pool)
            .await?;
            Ok(Seq(seq.map_or(0, |s| s as u64)))
        })
        .await
    }

    /// The events of a session with `after < seq < before`, in order.
    pub async fn events_between(
        &self,
        session: SessionId,
        after: Seq,
        before: Seq,
    ) -> Result<Vec<LoggedEvent>, DbError> {
        self.detached(move |db| async move {
            let rows = sqlx::query(
                "SELECT seq, body FROM events WHERE session_id = $1 AND seq > $2 AND seq < $3 \
             ORDER BY seq",
            )
            .bind(session.to_string())
            .bind(after.0 as i64)
            .bind(before.0.min(i64::MAX as u64) as i64)
            .fetch_all(&db.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let seq: i64 = row.try_get("seq")?;
                    let body: String = row.try_get("body")?;
                    let event = serde_json::from_str(&body)
                        .map_err(|e| DbError::Corrupt(format!("event {session}/{seq}: {e}")))?;
                    Ok(LoggedEvent {
                        seq: Seq(seq as u64),
                        event,
                    })
                })
                .collect()
        })
        .await
    }

    /// The browser ids of every user message in a session's log, so a message resent after
    /// a server restart is still recognised as a duplicate.
    pub async fn client_msg_ids(&self, session: SessionId) -> Result<Vec<ClientMsgId>, DbError> {
        self.detached(move |db| async move {
            let rows = sqlx::query(
                "SELECT json_extract(body, '$.client_msg_id') AS id FROM events \
             WHERE session_id = $1 AND json_extract(body, '$.type') = 'user_message'",
            )
            .bind(session.to_string())
            .fetch_all(&db.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let id: String = row.try_get("id")?;
                    uuid::Uuid::parse_str(&id)
                        .map(ClientMsgId)
                        .map_err(|e| DbError::Corrupt(format!("client_msg_id {id}: {e}")))
                })
                .collect()
        })
        .await
    }

    /// The newest user message of a session (what Retry sends again), if any.
    pub async fn last_user_message(
        &self,
        session: SessionId,
    ) -> Result<Option<TurnInput>, DbError> {
        self.detached(move |db| async move {
            let row = sqlx::query(
                "SELECT body FROM events WHERE session_id = $1 \
             AND json_extract(body, '$.type') = 'user_message' ORDER BY seq DESC LIMIT 1",
            )
            .bind(session.to_string())
            .fetch_optional(&db.pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let body: String = row.try_get("body")?;
            match serde_json::from_str::<SessionEvent>(&body) {
                Ok(event) => Ok(TurnInput::of_message(event)),
                Err(e) => Err(DbError::Corrupt(format!("user message: {e}"))),
            }
        })
        .await
    }

    /// Every session that is not archived, with its last seq, newest activity first.
    pub async fn live_sessions(&self) -> Result<Vec<Session>, DbError> {
        self.detached(move |db| async move {
            let rows = sqlx::query(
            "SELECT s.*, (SELECT MAX(seq) FROM events e WHERE e.session_id = s.id) AS last_seq \
             FROM sessions s WHERE archived = 0 ORDER BY last_activity_ms DESC",
        )
        .fetch_all(&db.pool)
        .await?;
            rows.iter().map(session_from_row).collect()
        })
        .await
    }

    /// One session by id, archived or not.
    pub async fn session(&self, id: SessionId) -> Result<Option<Session>, DbError> {
        self.detached(move |db| async move {
            let row = sqlx::query(
            "SELECT s.*, (SELECT MAX(seq) FROM events e WHERE e.session_id = s.id) AS last_seq \
             FROM sessions s WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&db.pool)
        .await?;
            row.as_ref().map(session_from_row).transpose()
        })
        .await
    }
}

/// The one INSERT-or-UPDATE of a session's row.
async fn upsert_session(conn: &mut AnyConnection, session: &Session) -> Result<(), DbError> {
    let state = to_json(&session.state)?;
    let usage = to_json(&session.usage)?;
    sqlx::query(
        "INSERT INTO sessions (id, title, agent, cwd, permission_mode, model, state, \
         agent_session_id, created_at_ms, last_activity_ms, preview, usage, message_count, archived, read_seq, \
         project_id, worktree, imported_from, compare_id, rev) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20) \
         ON CONFLICT(id) DO UPDATE SET title = excluded.title, permission_mode = excluded.permission_mode, \
         model = excluded.model, state = excluded.state, agent_session_id = excluded.agent_session_id, \
         last_activity_ms = excluded.last_activity_ms, preview = excluded.preview, usage = excluded.usage, \
         message_count = excluded.message_count, archived = excluded.archived, \
         read_seq = excluded.read_seq, project_id = excluded.project_id, worktree = excluded.worktree, \
         imported_from = excluded.imported_from, compare_id = excluded.compare_id, \
         rev = excluded.rev",
    )
    .bind(session.id.to_string())
    .bind(&session.title)
    .bind(session.agent.as_str())
    .bind(&session.cwd)
    .bind(&session.permission_mode)
    .bind(&session.model)
    .bind(state)
    .bind(&session.agent_session_id)
    .bind(session.created_at_ms)
    .bind(session.last_activity_ms)
    .bind(&session.preview)
    .bind(usage)
    .bind(session.entry_count as i64)
    .bind(i64::from(matches!(session.state, SessionState::Archived)))
    .bind(session.read_seq.0 as i64)
    .bind(session.project.map(|p| p.to_string()))
    .bind(session.worktree.as_ref().map(to_json).transpose()?)
    .bind(session.imported.map(|source| source.name()))
    .bind(session.compare.map(|c| c.to_string()))
    .bind(session.rev as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The one INSERT of an event with its search index rows, inside the writer's transaction:
/// an event is never stored without being indexed, nor indexed without being stored.
/// `agent_output` is the number of the runner output that made it (`db::runner`).
async fn insert_event(
    conn: &mut AnyConnection,
    session: SessionId,
    seq: Seq,
    at_ms: i64,
    event: &SessionEvent,
    agent_output: Option<u64>,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO events (session_id, seq, created_at_ms, body, agent_output) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(session.to_string())
    .bind(seq.0 as i64)
    .bind(at_ms)
    .bind(to_json(event)?)
    .bind(agent_output.map(|n| n as i64))
    .execute(&mut *conn)
    .await?;
    if let SessionEvent::TurnCompleted { usage, .. } = event {
        spending::insert_turn(conn, session, seq, at_ms, usage).await?;
    }
    search::index_event(conn, session, seq, at_ms, event).await?;
    // Other nodes learn of it when (and only if) the transaction commits.
    cluster::notify_in(conn, &cluster::Note::Event { session, seq }).await
}

#[cfg(test)]
mod tests;

/// A stored, empty demo session for storage tests.
#[cfg(test)]
pub(crate) async fn test_session(db: &Db) -> SessionId {
    let id = SessionId(uuid::Uuid::new_v4());
    let session = Session::empty(
        id,
        crate::protocol::AgentId::demo(),
        "/tmp".into(),
        "default".into(),
        SessionState::Idle,
    );
    db.save_session(&session).await.expect("saved");
    id
}

/// An amount of money as a parameter: as text, which the query casts to `DOUBLE PRECISION`.
/// sqlx 0.8.6's `Any` driver sends a missing f64 to PostgreSQL as a 4-byte float, so the
/// statement it prepares then refuses every 8-byte one ("incorrect binary data format");
/// text has one type either way. `{}` prints the shortest text that reads back the same f64.
fn money(value: Option<f64>) -> Option<String> {
    value.map(|v| v.to_string())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, DbError> {
    serde_json::to_string(value).map_err(|e| DbError::Corrupt(e.to_string()))
}

fn session_from_row(row: &AnyRow) -> Result<Session, DbError> {
    let corrupt = |what: &str, e: &dyn std::fmt::Display| DbError::Corrupt(format!("{what}: {e}"));
    let id: String = row.try_get("id")?;
    let agent: String = row.try_get("agent")?;
    let state: String = row.try_get("state")?;
    let usage: String = row.try_get("usage")?;
    let last_seq: Option<i64> = row.try_get("last_seq")?;
    let message_count: i64 = row.try_get("message_count")?;
    let read_seq: i64 = row.try_get("read_seq")?;
    let project: Option<String> = row.try_get("project_id")?;
    let worktree: Option<String> = row.try_get("worktree")?;
    let compare: Option<String> = row.try_get("compare_id")?;
    let rev: i64 = row.try_get("rev")?;
    Ok(Session {
        id: SessionId::parse(&id).ok_or_else(|| corrupt("session id", &id))?,
        title: row.try_get("title")?,
        agent: AgentId(agent),
        cwd: row.try_get("cwd")?,
        permission_mode: row.try_get("permission_mode")?,
        model: row.try_get("model")?,
        state: serde_json::from_str(&state).map_err(|e| corrupt("state", &e))?,
        agent_session_id: row.try_get("agent_session_id")?,
        created_at_ms: row.try_get("created_at_ms")?,
        last_activity_ms: row.try_get("last_activity_ms")?,
        preview: row.try_get("preview")?,
        usage: serde_json::from_str::<Usage>(&usage).map_err(|e| corrupt("usage", &e))?,
        entry_count: message_count.max(0) as u64,
        last_seq: Seq(last_seq.unwrap_or(0).max(0) as u64),
        read_seq: Seq(read_seq.max(0) as u64),
        viewers: 0,
        rev: rev.max(0) as u64,
        project: project
            .map(|p| ProjectId::parse(&p).ok_or_else(|| corrupt("project id", &p)))
            .transpose()?,
        worktree: worktree
            .map(|w| serde_json::from_str(&w).map_err(|e| corrupt("worktree", &e)))
            .transpose()?,
        changes: None,
        imported: imported_from(row.try_get("imported_from")?),
        placement: Default::default(),
        budget: None,
        compare: compare
            .map(|c| CompareId::parse(&c).ok_or_else(|| corrupt("compare id", &c)))
            .transpose()?,
    })
}

/// The stored name of an import source, back.
fn imported_from(name: Option<String>) -> Option<crate::protocol::ImportSource> {
    use crate::protocol::ImportSource;
    match name.as_deref()? {
        "claude" => Some(ImportSource::Claude),
        "codex" => Some(ImportSource::Codex),
        _ => None,
    }
}
