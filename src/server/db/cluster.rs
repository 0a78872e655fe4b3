//! What server nodes sharing one PostgreSQL database keep there: which node drives each
//! session (a lease, renewed, expiring), commands for a session from other nodes to the one
//! driving it, and the notifications (`NOTIFY switchboard`) that tell nodes to look. A
//! notification never carries an event: it names the session and seq, and the node reads
//! the rows; a missed one is caught up by the next or by the nodes' periodic check.

use super::{Db, DbError};
use crate::protocol::{Seq, SessionId};
use sqlx::{AnyConnection, Row};

/// The channel every node listens on.
pub const CHANNEL: &str = "switchboard";

/// PostgreSQL refuses notification payloads of 8000 bytes or more; a patch longer than
/// this is announced without its text and read from the session's row.
pub const MAX_NOTE_TEXT: usize = 7000;

/// One notification between nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Session `session`'s log now reaches `seq`.
    Event {
        /// The session.
        session: SessionId,
        /// Its newest stored seq.
        seq: Seq,
    },
    /// Session `session`'s metadata changed: the `SessionUpdated` frame as published, or
    /// `None` when it was too long to carry (read the row).
    Patch {
        /// The session.
        session: SessionId,
        /// The frame's JSON.
        frame: Option<String>,
    },
    /// Node `node` has command `id` to run.
    Command {
        /// The node asked.
        node: String,
        /// The command's row.
        id: i64,
    },
    /// Command `id`, sent by `node`, is answered.
    Answer {
        /// The node that asked.
        node: String,
        /// The command's row.
        id: i64,
    },
    /// Logins or API tokens changed: read them again.
    Access,
    /// A budget was set: read them again, and let the sessions check themselves.
    Budgets,
    /// Node `node` changed the projects.
    Projects {
        /// The node that changed them (which has told its own sockets).
        node: String,
    },
}

impl Note {
    /// The payload: a letter, then space-separated fields (a patch's JSON last, whole).
    pub fn payload(&self) -> String {
        match self {
            Note::Event { session, seq } => format!("e {session} {}", seq.0),
            Note::Patch {
                session,
                frame: Some(frame),
            } if frame.len() <= MAX_NOTE_TEXT => format!("u {session} {frame}"),
            Note::Patch { session, .. } => format!("u {session}"),
            Note::Command { node, id } => format!("c {node} {id}"),
            Note::Answer { node, id } => format!("a {node} {id}"),
            Note::Projects { node } => format!("p {node}"),
            Note::Access => "t".to_owned(),
            Note::Budgets => "b".to_owned(),
        }
    }

    /// Reads a payload back; `None` for anything else (a newer node's note, say).
    pub fn parse(payload: &str) -> Option<Note> {
        let (kind, rest) = payload.split_once(' ').unwrap_or((payload, ""));
        let session = |text: &str| SessionId::parse(text);
        match kind {
            "e" => {
                let (id, seq) = rest.split_once(' ')?;
                Some(Note::Event {
                    session: session(id)?,
                    seq: Seq(seq.parse().ok()?),
                })
            }
            "u" => {
                let (id, frame) = match rest.split_once(' ') {
                    Some((id, frame)) => (id, Some(frame.to_owned())),
                    None => (rest, None),
                };
                Some(Note::Patch {
                    session: session(id)?,
                    frame,
                })
            }
            "c" | "a" => {
                let (node, id) = rest.split_once(' ')?;
                let (node, id) = (node.to_owned(), id.parse().ok()?);
                Some(match kind {
                    "c" => Note::Command { node, id },
                    _ => Note::Answer { node, id },
                })
            }
            "t" => Some(Note::Access),
            "b" => Some(Note::Budgets),
            "p" if !rest.is_empty() => Some(Note::Projects {
                node: rest.to_owned(),
            }),
            _ => None,
        }
    }
}

/// Sends `note` inside the caller's transaction: PostgreSQL delivers it when (and only if)
/// the transaction commits, in commit order. Nothing on SQLite (one server).
pub(super) async fn notify_in(conn: &mut AnyConnection, note: &Note) -> Result<(), DbError> {
    if conn.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(note.payload())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A live session as the nodes' periodic check sees it.
#[derive(Debug, Clone)]
pub struct LeaseRow {
    /// The session.
    pub session: SessionId,
    /// The node whose lease it is, if any.
    pub node: Option<String>,
    /// When that lease runs out (ms since the epoch).
    pub expires_at_ms: i64,
    /// The newest stored seq.
    pub last_seq: Seq,
    /// The stored rev.
    pub rev: u64,
}

/// A command another node left for this one.
#[derive(Debug, Clone)]
pub struct CommandRow {
    /// Its row.
    pub id: i64,
    /// The node waiting for the answer.
    pub from_node: String,
    /// The session it is for.
    pub session: SessionId,
    /// The command as JSON.
    pub body: String,
}

impl Db {
    /// Sends `note` to every node (PostgreSQL only).
    pub async fn notify(&self, note: Note) -> Result<(), DbError> {
        self.detached(move |db| async move {
            let mut conn = db.writer.acquire().await?;
            notify_in(&mut conn, &note).await
        })
        .await
    }

    /// Tells the other nodes (on PostgreSQL) that logins or API tokens changed. A failure
    /// is logged: the nodes also read them again every half minute.
    pub async fn access_changed(&self) {
        if self.engine() == super::Engine::Postgres {
            if let Err(e) = self.notify(Note::Access).await {
                tracing::warn!("cannot tell the other nodes that logins changed: {e}");
            }
        }
    }

    /// Takes (or renews) the lease on `session` for `node` until `until_ms`: granted when no
    /// node holds it, `node` does, or the holder's ran out before `now_ms`.
    pub async fn take_lease(
        &self,
        session: SessionId,
        node: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, DbError> {
        let node = node.to_owned();
        self.detached(move |db| async move {
            let granted = sqlx::query(
                "INSERT INTO session_leases (session_id, node_id, expires_at_ms) \
                 VALUES ($1, $2, $3) ON CONFLICT (session_id) DO UPDATE \
                 SET node_id = excluded.node_id, expires_at_ms = excluded.expires_at_ms \
                 WHERE session_leases.node_id = excluded.node_id \
                 OR session_leases.expires_at_ms < $4 RETURNING node_id",
            )
            .bind(session.to_string())
            .bind(&node)
            .bind(until_ms)
            .bind(now_ms)
            .fetch_optional(&db.writer)
            .await?;
            Ok(granted.is_some())
        })
        .await
    }

    /// Renews every lease `node` still holds until `until_ms`; returns their sessions (a
    /// session missing from the answer was taken over by another node).
    pub async fn renew_leases(&self, node: &str, until_ms: i64) -> Result<Vec<SessionId>, DbError> {
        let node = node.to_owned();
        self.detached(move |db| async move {
            let rows = sqlx::query(
                "UPDATE session_leases SET expires_at_ms = $1 WHERE node_id = $2 \
                 RETURNING session_id",
            )
            .bind(until_ms)
            .bind(&node)
            .fetch_all(&db.writer)
            .await?;
            Ok(rows
                .iter()
                .filter_map(|row| row.try_get::<String, _>(0).ok())
                .filter_map(|id| SessionId::parse(&id))
                .collect())
        })
        .await
    }

    /// Gives up `node`'s leases (a node stopping, or one session ending).
    pub async fn release_leases(
        &self,
        node: &str,
        session: Option<SessionId>,
    ) -> Result<(), DbError> {
        let node = node.to_owned();
        self.detached(move |db| async move {
            sqlx::query(
                "DELETE FROM session_leases WHERE node_id = $1 \
                 AND ($2 IS NULL OR session_id = $2)",
            )
            .bind(&node)
            .bind(session.map(|s| s.to_string()))
            .execute(&db.writer)
            .await?;
            Ok(())
        })
        .await
    }

    /// The node holding `session`'s lease, if any.
    pub async fn lease_holder(&self, session: SessionId) -> Result<Option<String>, DbError> {
        self.detached(move |db| async move {
            let holder: Option<String> =
                sqlx::query_scalar("SELECT node_id FROM session_leases WHERE session_id = $1")
                    .bind(session.to_string())
                    .fetch_optional(&db.pool)
                    .await?;
            Ok(holder)
        })
        .await
    }

    /// Every live session with its lease, newest seq and rev: what a node checks against
    /// what it holds and mirrors.
    pub async fn lease_table(&self) -> Result<Vec<LeaseRow>, DbError> {
        self.detached(move |db| async move {
            let rows = sqlx::query(
                "SELECT s.id, l.node_id, COALESCE(l.expires_at_ms, 0) AS expires_at_ms, \
                 COALESCE((SELECT MAX(seq) FROM events e WHERE e.session_id = s.id), 0) \
                 AS last_seq, s.rev FROM sessions s \
                 LEFT JOIN session_leases l ON l.session_id = s.id WHERE s.archived = 0",
            )
            .fetch_all(&db.pool)
            .await?;
            let mut table = Vec::with_capacity(rows.len());
            for row in &rows {
                let id: String = row.try_get("id")?;
                let Some(session) = SessionId::parse(&id) else {
                    return Err(DbError::Corrupt(format!("session id {id}")));
                };
                table.push(LeaseRow {
                    session,
                    node: row.try_get("node_id")?,
                    expires_at_ms: row.try_get("expires_at_ms")?,
                    last_seq: Seq(row.try_get::<i64, _>("last_seq")?.max(0) as u64),
                    rev: row.try_get::<i64, _>("rev")?.max(0) as u64,
                });
            }
            Ok(table)
        })
        .await
    }

    /// Leaves a command for `node` (the one driving `session`) and tells it; returns the
    /// command's row, where its answer will be.
    pub async fn send_command(
        &self,
        from_node: &str,
        node: &str,
        session: SessionId,
        body: String,
        now_ms: i64,
    ) -> Result<i64, DbError> {
        let (from_node, node) = (from_node.to_owned(), node.to_owned());
        self.detached(move |db| async move {
            let mut tx = db.writer.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO node_commands (node_id, from_node, session_id, body, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(&node)
            .bind(&from_node)
            .bind(session.to_string())
            .bind(&body)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await?;
            notify_in(&mut tx, &Note::Command { node, id }).await?;
            tx.commit().await?;
            Ok(id)
        })
        .await
    }

    /// Gives `node` the commands for `session` sent to another node since `since_ms` and
    /// not taken yet (that node died before running them; `node` drives the session now).
    /// Returns how many.
    pub async fn adopt_commands(
        &self,
        session: SessionId,
        node: &str,
        since_ms: i64,
    ) -> Result<u64, DbError> {
        let node = node.to_owned();
        self.detached(move |db| async move {
            let done = sqlx::query(
                "UPDATE node_commands SET node_id = $1 WHERE session_id = $2 AND taken = 0 \
                 AND node_id <> $1 AND created_at_ms >= $3",
            )
            .bind(&node)
            .bind(session.to_string())
            .bind(since_ms)
            .execute(&db.writer)
            .await?;
            Ok(done.rows_affected())
        })
        .await
    }

    /// Takes every command left for `node` that it has not taken yet (each is taken once).
    pub async fn take_commands(&self, node: &str) -> Result<Vec<CommandRow>, DbError> {
        let node = node.to_owned();
        self.detached(move |db| async move {
            let rows = sqlx::query(
                "UPDATE node_commands SET taken = 1 WHERE node_id = $1 AND taken = 0 \
                 RETURNING id, from_node, session_id, body",
            )
            .bind(&node)
            .fetch_all(&db.writer)
            .await?;
            let mut commands = Vec::with_capacity(rows.len());
            for row in &rows {
                let session: String = row.try_get("session_id")?;
                let Some(session) = SessionId::parse(&session) else {
                    return Err(DbError::Corrupt(format!("session id {session}")));
                };
                commands.push(CommandRow {
                    id: row.try_get("id")?,
                    from_node: row.try_get("from_node")?,
                    session,
                    body: row.try_get("body")?,
                });
            }
            commands.sort_by_key(|c| c.id);
            Ok(commands)
        })
        .await
    }

    /// Stores a command's answer and tells the node that asked.
    pub async fn answer_command(
        &self,
        id: i64,
        from_node: &str,
        answer: String,
    ) -> Result<(), DbError> {
        let from_node = from_node.to_owned();
        self.detached(move |db| async move {
            let mut tx = db.writer.begin().await?;
            sqlx::query("UPDATE node_commands SET answer = $1 WHERE id = $2")
                .bind(&answer)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let note = Note::Answer {
                node: from_node,
                id,
            };
            notify_in(&mut tx, &note).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// A command's answer, once there is one.
    pub async fn command_answer(&self, id: i64) -> Result<Option<String>, DbError> {
        self.detached(move |db| async move {
            let answer: Option<Option<String>> =
                sqlx::query_scalar("SELECT answer FROM node_commands WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&db.pool)
                    .await?;
            Ok(answer.flatten())
        })
        .await
    }

    /// Deletes commands made before `before_ms` (answered or given up on).
    pub async fn forget_commands(&self, before_ms: i64) -> Result<(), DbError> {
        self.detached(move |db| async move {
            sqlx::query("DELETE FROM node_commands WHERE created_at_ms < $1")
                .bind(before_ms)
                .execute(&db.writer)
                .await?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_read_back_as_written() {
        let session = SessionId(uuid::Uuid::new_v4());
        let notes = [
            Note::Event {
                session,
                seq: Seq(42),
            },
            Note::Patch {
                session,
                frame: Some(r#"{"type":"session_updated","patch":{"title":"a b"}}"#.into()),
            },
            Note::Patch {
                session,
                frame: None,
            },
            Note::Command {
                node: "n1".into(),
                id: 7,
            },
            Note::Answer {
                node: "n2".into(),
                id: 8,
            },
            Note::Projects { node: "n3".into() },
            Note::Access,
            Note::Budgets,
        ];
        for note in notes {
            assert_eq!(Note::parse(&note.payload()), Some(note));
        }
    }

    #[test]
    fn a_patch_too_long_to_carry_is_announced_without_its_text() {
        let session = SessionId(uuid::Uuid::new_v4());
        let long = Note::Patch {
            session,
            frame: Some("x".repeat(MAX_NOTE_TEXT + 1)),
        };
        assert_eq!(
            Note::parse(&long.payload()),
            Some(Note::Patch {
                session,
                frame: None
            })
        );
    }

    #[test]
    fn unknown_or_damaged_notes_are_ignored() {
        for payload in ["", "z 1", "e not-a-session 3", "e", "c node", "a n x", "p"] {
            assert_eq!(Note::parse(payload), None, "{payload}");
        }
    }
}
