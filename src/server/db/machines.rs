//! The machines and machine_enrollments tables: one row per enrolled machine (its runner's
//! credential hashed, kept after revocation so the Machines page says when), and one per
//! enrollment code (hashed; redeemed once).

use super::{Db, DbError};
use sqlx::Row;

/// A machine as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMachine {
    /// Its public id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// SHA-256 of its runner's credential, hex.
    pub secret_hash: String,
    /// The host name its runner last reported.
    pub host: Option<String>,
    /// Its runner's last reported version.
    pub version: Option<String>,
    /// When it enrolled, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// When its runner was last connected.
    pub last_contact_ms: Option<i64>,
    /// When it was revoked.
    pub revoked_at_ms: Option<i64>,
}

impl Db {
    /// Every machine, oldest first.
    pub async fn machines(&self) -> Result<Vec<StoredMachine>, DbError> {
        self.detached(move |db| async move {
            let rows = sqlx::query("SELECT * FROM machines ORDER BY created_at_ms, id")
                .fetch_all(&db.pool)
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(StoredMachine {
                        id: row.try_get("id")?,
                        name: row.try_get("name")?,
                        secret_hash: row.try_get("secret_hash")?,
                        host: row.try_get("host")?,
                        version: row.try_get("version")?,
                        created_at_ms: row.try_get("created_at_ms")?,
                        last_contact_ms: row.try_get("last_contact_ms")?,
                        revoked_at_ms: row.try_get("revoked_at_ms")?,
                    })
                })
                .collect()
        })
        .await
    }

    /// Stores a new enrollment code (its hash).
    pub async fn insert_enrollment(
        &self,
        code_hash: &str,
        name: &str,
        created_at_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), DbError> {
        let (code_hash, name) = (code_hash.to_owned(), name.to_owned());
        self.detached(move |db| async move {
            sqlx::query(
                "INSERT INTO machine_enrollments (code_hash, name, created_at_ms, expires_at_ms) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(code_hash)
            .bind(name)
            .bind(created_at_ms)
            .bind(expires_at_ms)
            .execute(&db.writer)
            .await?;
            Ok(())
        })
        .await
    }

    /// Redeems an enrollment code: when it exists, is unused and has not expired at
    /// `machine.created_at_ms`, marks it used and stores the machine (named as the code
    /// was), in one transaction, so a code makes one machine however many runners try it.
    /// Returns the stored machine, or `None` when the code is not good.
    pub async fn redeem_enrollment(
        &self,
        code_hash: &str,
        machine: StoredMachine,
    ) -> Result<Option<StoredMachine>, DbError> {
        let code_hash = code_hash.to_owned();
        self.detached(move |db| async move {
            let mut tx = db.writer.begin().await?;
            let name: Option<String> = sqlx::query_scalar(
                "UPDATE machine_enrollments SET machine_id = $1 WHERE code_hash = $2 \
                 AND machine_id IS NULL AND expires_at_ms > $3 RETURNING name",
            )
            .bind(&machine.id)
            .bind(code_hash)
            .bind(machine.created_at_ms)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(name) = name else {
                return Ok(None);
            };
            let machine = StoredMachine { name, ..machine };
            sqlx::query(
                "INSERT INTO machines (id, name, secret_hash, host, version, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&machine.id)
            .bind(&machine.name)
            .bind(&machine.secret_hash)
            .bind(&machine.host)
            .bind(&machine.version)
            .bind(machine.created_at_ms)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(machine))
        })
        .await
    }

    /// Records a machine's runner connecting (or dropping) now, with what it reported.
    pub async fn touch_machine(
        &self,
        id: &str,
        host: Option<String>,
        version: Option<String>,
        at_ms: i64,
    ) -> Result<(), DbError> {
        let id = id.to_owned();
        self.detached(move |db| async move {
            sqlx::query(
                "UPDATE machines SET last_contact_ms = $1, host = COALESCE($2, host), \
                 version = COALESCE($3, version) WHERE id = $4",
            )
            .bind(at_ms)
            .bind(host)
            .bind(version)
            .bind(id)
            .execute(&db.writer)
            .await?;
            Ok(())
        })
        .await
    }

    /// Marks a machine revoked; false when no unrevoked machine has this id.
    pub async fn revoke_machine(&self, id: &str, at_ms: i64) -> Result<bool, DbError> {
        let id = id.to_owned();
        self.detached(move |db| async move {
            let done = sqlx::query(
                "UPDATE machines SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL",
            )
            .bind(at_ms)
            .bind(id)
            .execute(&db.writer)
            .await?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }
}

impl Db {
    /// Records that `node` holds the runners of `machines` until `until_ms`.
    pub async fn hold_machines(
        &self,
        machines: Vec<String>,
        node: &str,
        until_ms: i64,
    ) -> Result<(), DbError> {
        let node = node.to_owned();
        self.detached(move |db| async move {
            for machine in machines {
                sqlx::query("UPDATE machines SET node_id = $1, node_until_ms = $2 WHERE id = $3")
                    .bind(&node)
                    .bind(until_ms)
                    .bind(machine)
                    .execute(&db.writer)
                    .await?;
            }
            Ok(())
        })
        .await
    }

    /// The node each machine's runner is connected to, where that is still true at `now_ms`.
    pub async fn machine_nodes(
        &self,
        now_ms: i64,
    ) -> Result<std::collections::HashMap<String, String>, DbError> {
        self.detached(move |db| async move {
            let rows = sqlx::query(
                "SELECT id, node_id FROM machines WHERE node_id IS NOT NULL \
                 AND node_until_ms >= $1 AND revoked_at_ms IS NULL",
            )
            .bind(now_ms)
            .fetch_all(&db.pool)
            .await?;
            rows.iter()
                .map(|row| Ok((row.try_get("id")?, row.try_get("node_id")?)))
                .collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(id: &str, at_ms: i64) -> StoredMachine {
        StoredMachine {
            id: id.into(),
            name: String::new(),
            secret_hash: format!("hash-{id}"),
            host: Some("box".into()),
            version: None,
            created_at_ms: at_ms,
            last_contact_ms: None,
            revoked_at_ms: None,
        }
    }

    #[tokio::test]
    async fn a_code_makes_one_machine_before_it_expires_and_a_revocation_sticks() {
        let dir = tempfile::tempdir().expect("dir");
        let db = Db::open(dir.path()).await.expect("db");
        db.insert_enrollment("code", "build box", 1_000, 2_000)
            .await
            .expect("code");
        db.insert_enrollment("late", "late box", 1_000, 2_000)
            .await
            .expect("code");
        let made = db
            .redeem_enrollment("code", machine("m1", 1_500))
            .await
            .expect("redeemed")
            .expect("good code");
        assert_eq!(made.name, "build box");
        let again = db.redeem_enrollment("code", machine("m2", 1_600)).await;
        assert_eq!(again.expect("read"), None, "a code works once");
        let expired = db.redeem_enrollment("late", machine("m3", 2_000)).await;
        assert_eq!(
            expired.expect("read"),
            None,
            "an expired code does not work"
        );
        let unknown = db.redeem_enrollment("nope", machine("m4", 1_500)).await;
        assert_eq!(unknown.expect("read"), None);
        let stored = db.machines().await.expect("machines");
        assert_eq!(stored.len(), 1);
        assert!(db.revoke_machine("m1", 3_000).await.expect("revoked"));
        assert!(!db.revoke_machine("m1", 3_100).await.expect("once"));
        db.touch_machine("m1", None, Some("0.1.0".into()), 3_200)
            .await
            .expect("touched");
        let stored = db.machines().await.expect("machines");
        assert_eq!(stored[0].revoked_at_ms, Some(3_000));
        assert_eq!(stored[0].host.as_deref(), Some("box"));
        assert_eq!(stored[0].version.as_deref(), Some("0.1.0"));
        assert_eq!(stored[0].last_contact_ms, Some(3_200));
    }
}
