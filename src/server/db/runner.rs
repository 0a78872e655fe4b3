//! What a restarted server needs to take over agents that a runner kept running: each
//! session's runner agent and the number of its last stored output (carried by the event
//! it made, in the same row), and where the running turn began.

use super::{Db, DbError};
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
    /// Appends an event an agent output made, carrying that output's number in the same
    /// row: a crash leaves both or neither, so a resent output is never stored twice.
    pub async fn append_agent_event(
        &self,
        session: SessionId,
        seq: Seq,
        at_ms: i64,
        event: &SessionEvent,
        cursor: OutputCursor,
    ) -> Result<(), DbError> {
        self.append_numbered_event(session, seq, at_ms, event, Some(cursor.seq))
            .await
    }

    /// A new runner agent works for the session from the event after `from`: its outputs
    /// are counted from there.
    pub async fn begin_output_cursor(
        &self,
        session: SessionId,
        agent: Uuid,
        from: Seq,
    ) -> Result<(), DbError> {
        self.detached(move |db| async move {
        sqlx::query(
            "UPDATE sessions SET runner_agent = $1, runner_from_seq = $2, runner_seq = 0 WHERE id = $3",
        )
        .bind(agent.to_string())
        .bind(from.0 as i64)
        .bind(session.to_string())
        .execute(&db.writer)
        .await?;
        Ok(())
    })
        .await
    }

    /// Records an output that made no event as stored.
    pub async fn save_output_cursor(
        &self,
        session: SessionId,
        cursor: OutputCursor,
    ) -> Result<(), DbError> {
        self.detached(move |db| async move {
            sqlx::query("UPDATE sessions SET runner_seq = $1 WHERE id = $2 AND runner_agent = $3")
                .bind(cursor.seq as i64)
                .bind(session.to_string())
                .bind(cursor.agent.to_string())
                .execute(&db.writer)
                .await?;
            Ok(())
        })
        .await
    }

    /// The session's runner agent and its last stored output, if it had one.
    pub async fn output_cursor(&self, session: SessionId) -> Result<Option<OutputCursor>, DbError> {
        self.detached(move |db| async move {
            let row = sqlx::query(
                "SELECT runner_agent, runner_seq, COALESCE((SELECT MAX(agent_output) FROM events \
             WHERE session_id = s.id AND seq > s.runner_from_seq), 0) AS output \
             FROM sessions s WHERE id = $1",
            )
            .bind(session.to_string())
            .fetch_optional(&db.pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let agent: Option<String> = row.try_get("runner_agent")?;
            // The larger of the two (SQLite's two-argument MAX is not PostgreSQL's GREATEST).
            let seq = row
                .try_get::<i64, _>("runner_seq")?
                .max(row.try_get::<i64, _>("output")?);
            Ok(agent
                .and_then(|agent| Uuid::parse_str(&agent).ok())
                .map(|agent| OutputCursor {
                    agent,
                    seq: seq.max(0) as u64,
                }))
        })
        .await
    }

    /// The newest `TurnStarted` of a session: its seq and time.
    pub async fn last_turn_started(
        &self,
        session: SessionId,
    ) -> Result<Option<(Seq, i64)>, DbError> {
        self.detached(move |db| async move {
            let row = sqlx::query(
                "SELECT seq, created_at_ms FROM events WHERE session_id = $1 \
             AND json_extract(body, '$.type') = 'turn_started' ORDER BY seq DESC LIMIT 1",
            )
            .bind(session.to_string())
            .fetch_optional(&db.pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let seq: i64 = row.try_get("seq")?;
            let at: i64 = row.try_get("created_at_ms")?;
            Ok(Some((Seq(seq.max(0) as u64), at)))
        })
        .await
    }
}

impl Db {
    /// The newest user message before `seq`: the message of the turn that starts there.
    pub async fn user_message_before(
        &self,
        session: SessionId,
        seq: Seq,
    ) -> Result<Option<crate::server::agent::TurnInput>, DbError> {
        self.detached(move |db| async move {
            let row = sqlx::query(
                "SELECT body FROM events WHERE session_id = $1 AND seq < $2 \
             AND json_extract(body, '$.type') = 'user_message' ORDER BY seq DESC LIMIT 1",
            )
            .bind(session.to_string())
            .bind(seq.0 as i64)
            .fetch_optional(&db.pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let body: String = row.try_get("body")?;
            match serde_json::from_str::<SessionEvent>(&body) {
                Ok(event) => Ok(crate::server::agent::TurnInput::of_message(event)),
                Err(e) => Err(DbError::Corrupt(format!("user message: {e}"))),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cursor is the larger of the newest event's output number (since the agent
    /// began) and the last event-less output; a new agent starts from nothing, and
    /// numbers of an older agent's events do not count for it.
    #[tokio::test]
    async fn the_cursor_follows_events_and_event_less_outputs_of_the_current_agent() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (engine, db) in crate::server::db::testing::engines(dir.path()).await {
            eprintln!("on {engine}");
            the_cursor_on(db).await;
        }
    }

    async fn the_cursor_on(db: Db) {
        let id = crate::server::db::test_session(&db).await;
        assert_eq!(db.output_cursor(id).await.expect("read"), None);
        let first = Uuid::new_v4();
        db.begin_output_cursor(id, first, Seq(0))
            .await
            .expect("begun");
        let cursor = |agent, seq| OutputCursor { agent, seq };
        let notice = SessionEvent::Notice {
            message: "n".into(),
        };
        for n in 1..=3 {
            db.append_agent_event(id, Seq(n), 0, &notice, cursor(first, n + 10))
                .await
                .expect("stored");
        }
        assert_eq!(
            db.output_cursor(id).await.expect("read"),
            Some(cursor(first, 13))
        );
        db.save_output_cursor(id, cursor(first, 14))
            .await
            .expect("saved");
        assert_eq!(
            db.output_cursor(id).await.expect("read"),
            Some(cursor(first, 14))
        );
        let second = Uuid::new_v4();
        db.begin_output_cursor(id, second, Seq(3))
            .await
            .expect("begun");
        assert_eq!(
            db.output_cursor(id).await.expect("read"),
            Some(cursor(second, 0))
        );
        db.append_agent_event(id, Seq(4), 0, &notice, cursor(second, 2))
            .await
            .expect("stored");
        assert_eq!(
            db.output_cursor(id).await.expect("read"),
            Some(cursor(second, 2))
        );
        // An event-less output of the old agent changes nothing for the new one.
        db.save_output_cursor(id, cursor(first, 99))
            .await
            .expect("saved");
        assert_eq!(
            db.output_cursor(id).await.expect("read"),
            Some(cursor(second, 2))
        );
    }
}
