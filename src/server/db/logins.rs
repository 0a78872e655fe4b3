//! The logins table: one row per browser login (the cookie's secret, hashed).

use super::{Db, DbError};
use crate::protocol::LoginInfo;
use sqlx::Row;

/// A login as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLogin {
    /// Its public id (listed, revoked by).
    pub id: String,
    /// SHA-256 of the cookie's secret, hex.
    pub secret_hash: String,
    /// What the list shows.
    pub info: LoginInfo,
}

impl Db {
    /// Every login.
    pub async fn logins(&self) -> Result<Vec<StoredLogin>, DbError> {
        self.detached(move |db| async move {
            let rows = sqlx::query("SELECT * FROM logins ORDER BY created_at_ms")
                .fetch_all(&db.pool)
                .await?;
            rows.iter()
                .map(|row| {
                    let id: String = row.try_get("id")?;
                    Ok(StoredLogin {
                        secret_hash: row.try_get("secret_hash")?,
                        info: LoginInfo {
                            id: id.clone(),
                            created_at_ms: row.try_get("created_at_ms")?,
                            last_used_ms: row.try_get("last_used_ms")?,
                            user_agent: row.try_get("user_agent")?,
                            current: false,
                        },
                        id,
                    })
                })
                .collect()
        })
        .await
    }

    /// Stores a new login.
    pub async fn insert_login(&self, login: &StoredLogin) -> Result<(), DbError> {
        let login = login.clone();
        self.detached(move |db| async move {
            sqlx::query(
                "INSERT INTO logins (id, secret_hash, created_at_ms, last_used_ms, user_agent) \
             VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&login.id)
            .bind(&login.secret_hash)
            .bind(login.info.created_at_ms)
            .bind(login.info.last_used_ms)
            .bind(&login.info.user_agent)
            .execute(&db.writer)
            .await?;
            Ok(())
        })
        .await
    }

    /// Records when a login was last used.
    pub async fn touch_login(&self, id: &str, at_ms: i64) -> Result<(), DbError> {
        let id = id.to_owned();
        self.detached(move |db| async move {
            sqlx::query("UPDATE logins SET last_used_ms = $1 WHERE id = $2")
                .bind(at_ms)
                .bind(id)
                .execute(&db.writer)
                .await?;
            Ok(())
        })
        .await
    }

    /// Deletes one login (`Some`) or every login (`None`).
    pub async fn delete_logins(&self, id: Option<&str>) -> Result<(), DbError> {
        let id = id.map(str::to_owned);
        self.detached(move |db| async move {
            match id {
                Some(id) => sqlx::query("DELETE FROM logins WHERE id = $1").bind(id),
                None => sqlx::query("DELETE FROM logins"),
            }
            .execute(&db.writer)
            .await?;
            Ok(())
        })
        .await
    }
}
