//! The api_tokens table: one row per API token (its secret hashed), kept after revocation
//! so the list says when it was revoked; and the one log read only the API makes (a
//! permission request by its id, to answer it with "allow" or "deny").

use super::{Db, DbError};
use crate::protocol::ApiTokenInfo;
use sqlx::Row;

/// A token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredApiToken {
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    /// What the list shows.
    pub info: ApiTokenInfo,
}

impl Db {
    /// Every API token, oldest first.
    pub async fn api_tokens(&self) -> Result<Vec<StoredApiToken>, DbError> {
        self.detached(move |db| async move {
            let rows = sqlx::query("SELECT * FROM api_tokens ORDER BY created_at_ms, id")
                .fetch_all(&db.pool)
                .await?;
            rows.iter()
                .map(|row| {
                    let local: i64 = row.try_get("local")?;
                    Ok(StoredApiToken {
                        secret_hash: row.try_get("secret_hash")?,
                        info: ApiTokenInfo {
                            id: row.try_get("id")?,
                            name: row.try_get("name")?,
                            created_at_ms: row.try_get("created_at_ms")?,
                            last_used_ms: row.try_get("last_used_ms")?,
                            revoked_at_ms: row.try_get("revoked_at_ms")?,
                            local: local != 0,
                        },
                    })
                })
                .collect()
        })
        .await
    }

    /// Stores a new token; with `local`, first deletes the previous local one of the same
    /// name (one per server start; each node of several names its own), in the same
    /// transaction.
    pub async fn insert_api_token(&self, token: &StoredApiToken) -> Result<(), DbError> {
        let token = token.clone();
        self.detached(move |db| async move {
            let mut tx = db.writer.begin().await?;
            if token.info.local {
                sqlx::query("DELETE FROM api_tokens WHERE local = 1 AND name = $1")
                    .bind(&token.info.name)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO api_tokens (id, name, secret_hash, created_at_ms, last_used_ms, \
             revoked_at_ms, local) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&token.info.id)
            .bind(&token.info.name)
            .bind(&token.secret_hash)
            .bind(token.info.created_at_ms)
            .bind(token.info.last_used_ms)
            .bind(token.info.revoked_at_ms)
            .bind(i64::from(token.info.local))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// Records when a token was last used.
    pub async fn touch_api_token(&self, id: &str, at_ms: i64) -> Result<(), DbError> {
        let id = id.to_owned();
        self.detached(move |db| async move {
            sqlx::query("UPDATE api_tokens SET last_used_ms = $1 WHERE id = $2")
                .bind(at_ms)
                .bind(id)
                .execute(&db.writer)
                .await?;
            Ok(())
        })
        .await
    }

    /// Marks a token revoked; false when no unrevoked token has this id.
    pub async fn revoke_api_token(&self, id: &str, at_ms: i64) -> Result<bool, DbError> {
        let id = id.to_owned();
        self.detached(move |db| async move {
            let done = sqlx::query(
                "UPDATE api_tokens SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL",
            )
            .bind(at_ms)
            .bind(id)
            .execute(&db.writer)
            .await?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    /// The stored `PermissionRequested` event with this request id, if the session has one
    /// (the API answers "allow" or "deny" with that request's options).
    pub async fn permission_request(
        &self,
        session: crate::protocol::SessionId,
        request_id: &crate::protocol::RequestId,
    ) -> Result<Option<crate::protocol::SessionEvent>, DbError> {
        let request_id = request_id.clone();
        self.detached(move |db| async move {
            let body: Option<String> = sqlx::query_scalar(
                "SELECT body FROM events WHERE session_id = $1 \
             AND json_extract(body, '$.type') = 'permission_requested' \
             AND json_extract(body, '$.request_id') = $2 ORDER BY seq DESC LIMIT 1",
            )
            .bind(session.to_string())
            .bind(&request_id.0)
            .fetch_optional(&db.pool)
            .await?;
            body.map(|body| {
                serde_json::from_str(&body)
                    .map_err(|e| DbError::Corrupt(format!("event of {session}: {e}")))
            })
            .transpose()
        })
        .await
    }
}
