//! The projects table: folders of the user's code, one row each.

use super::{Db, DbError};
use crate::protocol::ProjectId;
use sqlx::Row;

/// A project as stored: what is not derived from its folder at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProject {
    /// Its id.
    pub id: ProjectId,
    /// Its name.
    pub name: String,
    /// Its canonical folder.
    pub path: String,
    /// The machine the folder is on (its id); `None`: the server's own host.
    pub machine: Option<String>,
    /// When it was added, milliseconds since the Unix epoch (sidebar order).
    pub created_at_ms: i64,
}

impl Db {
    /// Every project, oldest first.
    pub async fn projects(&self) -> Result<Vec<StoredProject>, DbError> {
        self.detached(move |db| async move {
            let rows = sqlx::query("SELECT * FROM projects ORDER BY created_at_ms, name")
                .fetch_all(&db.pool)
                .await?;
            rows.iter()
                .map(|row| {
                    let id: String = row.try_get("id")?;
                    Ok(StoredProject {
                        id: ProjectId::parse(&id)
                            .ok_or_else(|| DbError::Corrupt(format!("project id {id}")))?,
                        name: row.try_get("name")?,
                        path: row.try_get("path")?,
                        machine: Some(row.try_get::<String, _>("machine_id")?)
                            .filter(|id| !id.is_empty()),
                        created_at_ms: row.try_get("created_at_ms")?,
                    })
                })
                .collect()
        })
        .await
    }

    /// Stores a new project.
    pub async fn insert_project(&self, project: &StoredProject) -> Result<(), DbError> {
        let project = project.clone();
        self.detached(move |db| async move {
            sqlx::query(
                "INSERT INTO projects (id, name, path, machine_id, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(project.id.to_string())
            .bind(&project.name)
            .bind(&project.path)
            .bind(project.machine.clone().unwrap_or_default())
            .bind(project.created_at_ms)
            .execute(&db.writer)
            .await?;
            Ok(())
        })
        .await
    }

    /// Renames a project.
    pub async fn rename_project(&self, id: ProjectId, name: &str) -> Result<(), DbError> {
        let name = name.to_owned();
        self.detached(move |db| async move {
            sqlx::query("UPDATE projects SET name = $1 WHERE id = $2")
                .bind(name)
                .bind(id.to_string())
                .execute(&db.writer)
                .await?;
            Ok(())
        })
        .await
    }

    /// Forgets a project (its sessions keep their rows; the folder is not touched).
    pub async fn delete_project(&self, id: ProjectId) -> Result<(), DbError> {
        self.detached(move |db| async move {
            sqlx::query("DELETE FROM projects WHERE id = $1")
                .bind(id.to_string())
                .execute(&db.writer)
                .await?;
            Ok(())
        })
        .await
    }

    /// The working directories of sessions stored before projects existed (no project).
    pub async fn cwds_without_project(&self) -> Result<Vec<String>, DbError> {
        self.detached(move |db| async move {
            let cwds =
                sqlx::query_scalar("SELECT DISTINCT cwd FROM sessions WHERE project_id IS NULL")
                    .fetch_all(&db.pool)
                    .await?;
            Ok(cwds)
        })
        .await
    }

    /// Attaches every session in `cwd` that has no project to `project`.
    pub async fn attach_sessions(&self, cwd: &str, project: ProjectId) -> Result<(), DbError> {
        let cwd = cwd.to_owned();
        self.detached(move |db| async move {
            sqlx::query(
                "UPDATE sessions SET project_id = $1 WHERE cwd = $2 AND project_id IS NULL",
            )
            .bind(project.to_string())
            .bind(cwd)
            .execute(&db.writer)
            .await?;
            Ok(())
        })
        .await
    }
}
