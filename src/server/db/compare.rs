//! The comparisons table: which prompt a group of attempts was asked, from which commit,
//! and which attempt was kept.

use super::{Db, DbError};
use crate::protocol::{CompareId, ProjectId, SessionId};

impl Db {
    /// Stores a new comparison; a resend of the same id changes nothing.
    pub async fn insert_comparison(
        &self,
        id: CompareId,
        project: ProjectId,
        base_commit: &str,
        prompt: &str,
        at_ms: i64,
    ) -> Result<(), DbError> {
        let base_commit = base_commit.to_owned();
        let prompt = prompt.to_owned();
        self.detached(move |db| async move {
            sqlx::query(
                "INSERT INTO comparisons (id, project_id, base_commit, prompt, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(id.to_string())
            .bind(project.to_string())
            .bind(base_commit)
            .bind(prompt)
            .bind(at_ms)
            .execute(&db.writer)
            .await?;
            Ok(())
        })
        .await
    }

    /// Records the attempt the user kept.
    pub async fn set_kept_attempt(&self, id: CompareId, kept: SessionId) -> Result<(), DbError> {
        self.detached(move |db| async move {
            sqlx::query("UPDATE comparisons SET kept_session = $1 WHERE id = $2")
                .bind(kept.to_string())
                .bind(id.to_string())
                .execute(&db.writer)
                .await?;
            Ok(())
        })
        .await
    }
}
