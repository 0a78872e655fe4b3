//! Keeping the index in step with the log: the rows an event adds or grows, written on the
//! writer's transaction.

use super::query::{agent_token, project_token};
use super::{ROWIDS_PER_MS, ROW_BYTES};
use crate::protocol::{SearchRole, Seq, SessionEvent, SessionId};
use crate::server::db::DbError;
use sqlx::SqliteConnection;

/// Adds what `event` says to the index, on the writer's transaction.
pub(in crate::server::db) async fn index_event(
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
                (seq, at_ms),
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
                (seq, at_ms),
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
                    (seq, at_ms),
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
    (seq, at_ms): (Seq, i64),
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
