//! Keeping the index in step with the log: the rows an event adds or grows, written on the
//! writer's transaction.

use super::query::{agent_token, project_token};
use super::streaming::{entries_of, read_tail};
use super::ROWIDS_PER_MS;
use crate::protocol::{SearchRole, Seq, SessionEvent, SessionId};
use crate::server::db::DbError;
use sqlx::AnyConnection;

/// The advisory lock that orders rowid picks on PostgreSQL (any number no other lock uses).
const SEARCH_INDEX_LOCK: i64 = 0x5357_4244_5352_4348; // "SWBDSRCH"

/// Adds what `event` says to the index, on the writer's transaction.
pub(in crate::server::db) async fn index_event(
    conn: &mut AnyConnection,
    session: SessionId,
    seq: Seq,
    at_ms: i64,
    event: &SessionEvent,
) -> Result<(), DbError> {
    let session = session.to_string();
    match event {
        // A streamed piece: noted as the session's tail (a no-op after its first piece).
        SessionEvent::AssistantDelta { .. } | SessionEvent::Thinking { .. } => {
            sqlx::query(
                "INSERT INTO search_streaming (session_id, from_seq) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&session)
            .bind(seq.0 as i64)
            .execute(&mut *conn)
            .await?;
            return Ok(());
        }
        // A whole message replaces its deltas (the same words, whole), opening where they did.
        SessionEvent::AssistantMessage { message_id, text } => {
            let first = flush_tail(conn, &session, seq, Some(message_id)).await?;
            let first = first.unwrap_or(seq);
            insert_row(conn, &session, first, at_ms, SearchRole::Assistant, text).await?;
        }
        SessionEvent::UserMessage { text, .. } => {
            flush_tail(conn, &session, seq, None).await?;
            insert_row(conn, &session, seq, at_ms, SearchRole::User, text).await?;
        }
        SessionEvent::ToolCall {
            name, title, input, ..
        } => {
            flush_tail(conn, &session, seq, None).await?;
            let mut body = format!("{title} {name}");
            for key in ["command", "file_path", "path", "pattern"] {
                if let Some(value) = input.get(key).and_then(|v| v.as_str()) {
                    body.push(' ');
                    body.push_str(value);
                }
            }
            insert_row(conn, &session, seq, at_ms, SearchRole::Tool, &body).await?;
        }
        _ => {
            flush_tail(conn, &session, seq, None).await?;
        }
    }
    Ok(())
}

/// Indexes the session's streamed tail (the deltas before `seq`), a message per row, and
/// ends it. The message `replaced` (whose whole text comes next) is left out; its first
/// seq is returned.
async fn flush_tail(
    conn: &mut AnyConnection,
    session: &str,
    seq: Seq,
    replaced: Option<&str>,
) -> Result<Option<Seq>, DbError> {
    let from: Option<i64> =
        sqlx::query_scalar("DELETE FROM search_streaming WHERE session_id = $1 RETURNING from_seq")
            .bind(session)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(from) = from else {
        return Ok(None);
    };
    let events = read_tail(conn, session, from, seq.0 as i64).await?;
    let mut replaced_at = None;
    for entry in entries_of(&events)? {
        if entry.role == SearchRole::Assistant && Some(entry.message_id.as_str()) == replaced {
            replaced_at = Some(entry.seq);
            continue;
        }
        insert_row(
            conn,
            session,
            entry.seq,
            entry.at_ms,
            entry.role,
            &entry.text,
        )
        .await?;
    }
    Ok(replaced_at)
}

/// Inserts one index row at the next free rowid of its millisecond; returns the rowid.
async fn insert_row(
    conn: &mut AnyConnection,
    session: &str,
    seq: Seq,
    at_ms: i64,
    role: SearchRole,
    body: &str,
) -> Result<i64, DbError> {
    let base = at_ms.clamp(0, i64::MAX / ROWIDS_PER_MS - 1) * ROWIDS_PER_MS;
    if conn.backend_name() == "PostgreSQL" {
        // SQLite has one writer; PostgreSQL's writers (and nodes) would pick the same next
        // rowid of a millisecond. Held until this transaction ends.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(SEARCH_INDEX_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    let last: Option<i64> =
        sqlx::query_scalar("SELECT max(rowid) FROM search_index WHERE rowid >= $1 AND rowid < $2")
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
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
    conn: &mut AnyConnection,
    session: &str,
) -> Result<(String, String), DbError> {
    let row: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT agent, project_id FROM sessions WHERE id = $1")
            .bind(session)
            .fetch_optional(&mut *conn)
            .await?;
    let (agent, project) = row.unwrap_or_default();
    Ok((agent_token(&agent), project_token(project.as_deref())))
}
