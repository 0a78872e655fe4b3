//! What a restarted server needs to take over agents that a runner kept running: each
//! session's runner agent and the number of its last stored output (written with the event
//! it made, in one transaction), and where the running turn began.

use super::{insert_event, Db, DbError};
use crate::protocol::{Seq, SessionEvent, SessionId};
use sqlx::Row;
use uuid::Uuid;

/// A session's place in its runner agent's outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputCursor {
    /// The runner's key for the agent.
    pub agent: Uuid,
    /// The last output of it that is stored.
    pub seq: u64,
}

impl Db {
    /// Appends an event an agent output made, and records that output as stored, in one
    /// transaction: a crash leaves both or neither, so a resent output is never stored twice.
    pub async fn append_agent_event(
        &self,
        session: SessionId,
        seq: Seq,
        at_ms: i64,
        event: &SessionEvent,
        cursor: OutputCursor,
    ) -> Result<(), DbError> {
        let mut tx = self.writer.begin().await?;
        insert_event(&mut tx, session, seq, at_ms, event).await?;
        set_cursor(&mut tx, session, cursor).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records an output that made no event as stored.
    pub async fn save_output_cursor(
        &self,
        session: SessionId,
        cursor: OutputCursor,
    ) -> Result<(), DbError> {
        let mut conn = self.writer.acquire().await?;
        set_cursor(&mut conn, session, cursor).await
    }

    /// The session's runner agent and its last stored output, if it had one.
    pub async fn output_cursor(&self, session: SessionId) -> Result<Option<OutputCursor>, DbError> {
        let row = sqlx::query("SELECT runner_agent, runner_seq FROM sessions WHERE id = ?")
            .bind(session.to_string())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let agent: Option<String> = row.try_get("runner_agent")?;
        let seq: i64 = row.try_get("runner_seq")?;
        Ok(agent
            .and_then(|agent| Uuid::parse_str(&agent).ok())
            .map(|agent| OutputCursor {
                agent,
                seq: seq.max(0) as u64,
            }))
    }

    /// The newest `TurnStarted` of a session: its seq and time.
    pub async fn last_turn_started(
        &self,
        session: SessionId,
    ) -> Result<Option<(Seq, i64)>, DbError> {
        let row = sqlx::query(
            "SELECT seq, created_at_ms FROM events WHERE session_id = ? \
             AND json_extract(body, '$.type') = 'turn_started' ORDER BY seq DESC LIMIT 1",
        )
        .bind(session.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let seq: i64 = row.try_get("seq")?;
        let at: i64 = row.try_get("created_at_ms")?;
        Ok(Some((Seq(seq.max(0) as u64), at)))
    }
}

async fn set_cursor(
    conn: &mut sqlx::SqliteConnection,
    session: SessionId,
    cursor: OutputCursor,
) -> Result<(), DbError> {
    sqlx::query("UPDATE sessions SET runner_agent = ?, runner_seq = ? WHERE id = ?")
        .bind(cursor.agent.to_string())
        .bind(cursor.seq as i64)
        .bind(session.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

impl Db {
    /// The newest user message before `seq`: the message of the turn that starts there.
    pub async fn user_message_before(
        &self,
        session: SessionId,
        seq: Seq,
    ) -> Result<Option<crate::server::agent::TurnInput>, DbError> {
        let row = sqlx::query(
            "SELECT body FROM events WHERE session_id = ? AND seq < ? \
             AND json_extract(body, '$.type') = 'user_message' ORDER BY seq DESC LIMIT 1",
        )
        .bind(session.to_string())
        .bind(seq.0 as i64)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let body: String = row.try_get("body")?;
        match serde_json::from_str::<SessionEvent>(&body) {
            Ok(SessionEvent::UserMessage {
                text, attachments, ..
            }) => Ok(Some(crate::server::agent::TurnInput { text, attachments })),
            Ok(_) => Ok(None),
            Err(e) => Err(DbError::Corrupt(format!("user message: {e}"))),
        }
    }
}
