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
    let streaming = matches!(
        event,
        SessionEvent::AssistantDelta { .. } | SessionEvent::Thinking { .. }
    );
    if !streaming {
        flush_pending(conn, &session).await?;
    }
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
            append_pending(
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
            append_pending(
                conn,
                &session,
                &entry,
                (seq, at_ms),
                SearchRole::Thinking,
                text,
            )
            .await?;
        }
        // A whole message replaces its deltas' text (the same words, whole), and ends it.
        SessionEvent::AssistantMessage { message_id, text } => {
            let entry = format!("a:{message_id}");
            let first = pending_seq(conn, &session, &entry).await?.unwrap_or(seq);
            sqlx::query("DELETE FROM search_pending WHERE session_id = ? AND entry = ?")
                .bind(&session)
                .bind(&entry)
                .execute(&mut *conn)
                .await?;
            insert_row(conn, &session, first, at_ms, SearchRole::Assistant, text).await?;
        }
        _ => {}
    }
    Ok(())
}

/// The first seq of a pending entry.
async fn pending_seq(
    conn: &mut SqliteConnection,
    session: &str,
    entry: &str,
) -> Result<Option<Seq>, DbError> {
    let seq: Option<i64> =
        sqlx::query_scalar("SELECT seq FROM search_pending WHERE session_id = ? AND entry = ?")
            .bind(session)
            .bind(entry)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(seq.map(|s| Seq(s.max(0) as u64)))
}

/// Appends a delta to its entry's pending row (made by the first); a row past ~4 KiB moves
/// into the full-text index and the entry goes on in an empty one (still opening at the
/// entry's first seq).
async fn append_pending(
    conn: &mut SqliteConnection,
    session: &str,
    entry: &str,
    (seq, at_ms): (Seq, i64),
    role: SearchRole,
    text: &str,
) -> Result<(), DbError> {
    let bytes: i64 = sqlx::query_scalar(
        "INSERT INTO search_pending (session_id, entry, seq, at_ms, role, body) \
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (session_id, entry) \
         DO UPDATE SET body = body || excluded.body RETURNING length(body)",
    )
    .bind(session)
    .bind(entry)
    .bind(seq.0 as i64)
    .bind(at_ms)
    .bind(role.name())
    .bind(text)
    .fetch_one(&mut *conn)
    .await?;
    if bytes >= ROW_BYTES {
        let (first, body): (i64, String) = sqlx::query_as(
            "SELECT seq, body FROM search_pending WHERE session_id = ? AND entry = ?",
        )
        .bind(session)
        .bind(entry)
        .fetch_one(&mut *conn)
        .await?;
        sqlx::query("UPDATE search_pending SET body = '' WHERE session_id = ? AND entry = ?")
            .bind(session)
            .bind(entry)
            .execute(&mut *conn)
            .await?;
        insert_row(conn, session, Seq(first.max(0) as u64), at_ms, role, &body).await?;
    }
    Ok(())
}

/// Moves a session's pending entries into the full-text index: its streaming ended, as
/// the next other event says.
async fn flush_pending(conn: &mut SqliteConnection, session: &str) -> Result<(), DbError> {
    let pending: Vec<(i64, i64, String, String)> = sqlx::query_as(
        "DELETE FROM search_pending WHERE session_id = ? RETURNING seq, at_ms, role, body",
    )
    .bind(session)
    .fetch_all(&mut *conn)
    .await?;
    for (seq, at_ms, role, body) in pending {
        let role = SearchRole::from_name(&role).unwrap_or(SearchRole::Assistant);
        if !body.is_empty() {
            insert_row(conn, session, Seq(seq.max(0) as u64), at_ms, role, &body).await?;
        }
    }
    Ok(())
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
