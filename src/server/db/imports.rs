//! The imports table: how far each transcript file of another CLI was imported, stored in
//! the same transaction as the events it made, so an import never adds a line twice.

use super::{insert_event, Db, DbError};
use crate::protocol::{ImportSource, Seq, SessionEvent, SessionId};
use sqlx::Row;
use std::collections::HashMap;

/// How far one file was imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportMark {
    /// The session it became.
    pub session: SessionId,
    /// Bytes of the file read (up to its last complete line).
    pub bytes: u64,
    /// Events made from them.
    pub events: u64,
}

/// Events of one transcript file to append to its session, and the file's mark after them.
#[derive(Debug, Clone)]
pub struct ImportBatch {
    /// The file.
    pub path: String,
    /// Its store.
    pub source: ImportSource,
    /// The events with their original times (ms since the epoch).
    pub events: Vec<(i64, SessionEvent)>,
    /// How far the file is imported once these are stored.
    pub mark: ImportMark,
}

impl Db {
    /// Every imported file's mark, by path.
    pub async fn import_marks(&self) -> Result<HashMap<String, ImportMark>, DbError> {
        self.detached(move |db| async move {
            let rows = sqlx::query("SELECT path, session_id, bytes, events FROM imports")
                .fetch_all(&db.pool)
                .await?;
            rows.iter()
                .map(|row| {
                    let path: String = row.try_get("path")?;
                    let session: String = row.try_get("session_id")?;
                    let mark = ImportMark {
                        session: SessionId::parse(&session)
                            .ok_or_else(|| DbError::Corrupt(format!("import session {session}")))?,
                        bytes: row.try_get::<i64, _>("bytes")?.max(0) as u64,
                        events: row.try_get::<i64, _>("events")?.max(0) as u64,
                    };
                    Ok((path, mark))
                })
                .collect()
        })
        .await
    }

    /// Appends a batch of imported events (from `first_seq` on) and moves the file's mark,
    /// in one transaction.
    pub async fn append_imported(
        &self,
        session: SessionId,
        first_seq: Seq,
        batch: &ImportBatch,
        now_ms: i64,
    ) -> Result<(), DbError> {
        let batch = batch.clone();
        self.detached(move |db| async move {
        let ImportBatch {
            path,
            source,
            events,
            mark,
        } = batch;
        let mut tx = db.writer.begin().await?;
        for (n, (at_ms, event)) in events.iter().enumerate() {
            insert_event(
                &mut tx,
                session,
                Seq(first_seq.0 + n as u64),
                *at_ms,
                event,
                None,
            )
            .await?;
        }
        sqlx::query(
            "INSERT INTO imports (path, source, session_id, bytes, events, imported_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (path) DO UPDATE SET \
             bytes = excluded.bytes, events = excluded.events, imported_at_ms = excluded.imported_at_ms",
        )
        .bind(path)
        .bind(source.name())
        .bind(session.to_string())
        .bind(mark.bytes as i64)
        .bind(mark.events as i64)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    })
        .await
    }
}
