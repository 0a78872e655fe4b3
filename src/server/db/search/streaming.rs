//! The index's hot tail: replies and thoughts still streaming are not in the full-text
//! table yet; their deltas are read back from the event log, joined a message per entry,
//! when the message ends (to index them) and when a search runs (to match them).

use crate::protocol::{SearchRole, Seq, SessionEvent};
use crate::server::db::DbError;
use sqlx::AnyConnection;

/// One streamed message or thought, its deltas joined.
#[derive(Debug, Clone, PartialEq)]
pub struct Streamed {
    /// The seq of its first delta (since the tail began).
    pub seq: Seq,
    /// When that delta was stored.
    pub at_ms: i64,
    /// Assistant text or thinking.
    pub role: SearchRole,
    /// The message's id.
    pub message_id: String,
    /// Its text so far.
    pub text: String,
}

/// Joins the deltas among `events` (seq, time, stored JSON) a message per entry, in the
/// order each began. Other events are passed over.
pub fn entries_of(events: &[(i64, i64, String)]) -> Result<Vec<Streamed>, DbError> {
    let mut entries: Vec<Streamed> = Vec::new();
    for (seq, at_ms, body) in events {
        let event: SessionEvent = serde_json::from_str(body)
            .map_err(|e| DbError::Corrupt(format!("event {seq}: {e}")))?;
        let (role, message_id, text) = match event {
            SessionEvent::AssistantDelta { message_id, text } => {
                (SearchRole::Assistant, message_id, text)
            }
            SessionEvent::Thinking { message_id, text } => (SearchRole::Thinking, message_id, text),
            _ => continue,
        };
        match entries
            .iter_mut()
            .find(|e| e.role == role && e.message_id == message_id)
        {
            Some(entry) => entry.text.push_str(&text),
            None => entries.push(Streamed {
                seq: Seq((*seq).max(0) as u64),
                at_ms: *at_ms,
                role,
                message_id,
                text,
            }),
        }
    }
    Ok(entries)
}

/// A session's stored events with `from <= seq < before`, for `entries_of`.
pub async fn read_tail(
    conn: &mut AnyConnection,
    session: &str,
    from: i64,
    before: i64,
) -> Result<Vec<(i64, i64, String)>, DbError> {
    let rows: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT seq, created_at_ms, body FROM events WHERE session_id = $1 AND seq >= $2 \
         AND seq < $3 ORDER BY seq",
    )
    .bind(session)
    .bind(from)
    .bind(before)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows)
}
