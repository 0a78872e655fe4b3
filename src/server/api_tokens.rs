//! API tokens: named secrets for scripts, sent as `Authorization: Bearer` to `/api/v1`.
//! Only the SHA-256 of a secret is stored; the secret is shown once, when it is made.
//! Revoking keeps the row (the list says when) and refuses the token from then on. At each
//! start the server makes one more, "local", token and writes it with its address to
//! `<data_dir>/cli.json` (0600 in the private data dir), so the command line on this
//! machine finds the server without being told.

use super::access::hex;
use super::db::api_tokens::StoredApiToken;
use super::db::{Db, DbError};
use crate::protocol::{ApiTokenInfo, NewApiToken};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// Every secret starts so, so a token found in a file or a log is recognisable.
pub const TOKEN_PREFIX: &str = "sbk_";
/// The file in the data dir that tells the command line where the server is.
pub const CLI_FILE: &str = "cli.json";
/// The last-used time is written at most this often per token (every request reads it).
const TOUCH_EVERY_MS: i64 = 60 * 1000;
/// Longest name kept.
const NAME_CHARS: usize = 100;

/// The tokens, by the hash of their secret, and where they are stored.
#[derive(Debug)]
pub struct ApiTokens {
    /// Where rows are written.
    db: Db,
    /// Every token (revoked ones too, for the list), by secret hash; the one copy the
    /// checks read, written through to `db`.
    by_hash: Mutex<HashMap<String, ApiTokenInfo>>,
    /// Held by every change that writes rows and the map, and by a reload from the rows:
    /// a reload that read the rows before a revocation cannot make the token valid again.
    writing: tokio::sync::Mutex<()>,
}

/// What `cli.json` holds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CliFile {
    /// The server's base URL, e.g. `http://127.0.0.1:3000`.
    pub server: String,
    /// A local API token.
    pub token: String,
}

impl ApiTokens {
    /// Reads the stored tokens.
    pub async fn load(db: Db) -> Result<ApiTokens, DbError> {
        let by_hash = db
            .api_tokens()
            .await?
            .into_iter()
            .map(|token| (token.secret_hash, token.info))
            .collect();
        Ok(ApiTokens {
            db,
            by_hash: Mutex::new(by_hash),
            writing: tokio::sync::Mutex::new(()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ApiTokenInfo>> {
        // Critical sections are map reads and writes; a poisoned lock still holds a valid map.
        self.by_hash
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes a token named `name` (`local`: the command line's, replacing the last one).
    pub async fn create(&self, name: &str, local: bool) -> Result<NewApiToken, DbError> {
        let name: String = name.trim().chars().take(NAME_CHARS).collect();
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| DbError::Corrupt(format!("no randomness: {e}")))?;
        let secret = format!("{TOKEN_PREFIX}{}", hex(&bytes));
        let mut id_bytes = [0u8; 8];
        getrandom::fill(&mut id_bytes)
            .map_err(|e| DbError::Corrupt(format!("no randomness: {e}")))?;
        let info = ApiTokenInfo {
            id: hex(&id_bytes),
            name: if name.is_empty() {
                "unnamed".into()
            } else {
                name
            },
            created_at_ms: super::session_task::now_ms(),
            last_used_ms: None,
            revoked_at_ms: None,
            local,
        };
        let stored = StoredApiToken {
            secret_hash: hash(&secret),
            info: info.clone(),
        };
        let writing = self.writing.lock().await;
        self.db.insert_api_token(&stored).await?;
        tracing::info!(token = %info.id, name = %info.name, "API token made");
        {
            let mut tokens = self.lock();
            if local {
                tokens.retain(|_, token| !(token.local && token.name == info.name));
            }
            tokens.insert(stored.secret_hash, info.clone());
        }
        drop(writing);
        self.db.access_changed().await;
        Ok(NewApiToken { info, secret })
    }

    /// Reads the stored tokens again: other server nodes on the database make and revoke
    /// them too.
    pub async fn reload(&self) -> Result<(), DbError> {
        let _writing = self.writing.lock().await;
        let mut stored: HashMap<String, ApiTokenInfo> = self
            .db
            .api_tokens()
            .await?
            .into_iter()
            .map(|token| (token.secret_hash, token.info))
            .collect();
        let mut tokens = self.lock();
        // A use recorded here may not be written yet (`check` writes it in the background):
        // the later of the two times stands.
        for (hash, token) in stored.iter_mut() {
            if let Some(known) = tokens.get(hash) {
                token.last_used_ms = token.last_used_ms.max(known.last_used_ms);
            }
        }
        *tokens = stored;
        Ok(())
    }

    /// Every token, oldest first (the local one last).
    pub fn list(&self) -> Vec<ApiTokenInfo> {
        let mut list: Vec<ApiTokenInfo> = self.lock().values().cloned().collect();
        list.sort_by(|a, b| {
            (a.local, a.created_at_ms, &a.id).cmp(&(b.local, b.created_at_ms, &b.id))
        });
        list
    }

    /// Revokes a token; false when no valid token has this id.
    pub async fn revoke(&self, id: &str) -> Result<bool, DbError> {
        let now = super::session_task::now_ms();
        let writing = self.writing.lock().await;
        let revoked = self.db.revoke_api_token(id, now).await?;
        if revoked {
            for token in self.lock().values_mut().filter(|t| t.id == id) {
                token.revoked_at_ms = Some(now);
            }
            drop(writing);
            tracing::info!(token = %id, "API token revoked");
            self.db.access_changed().await;
        }
        Ok(revoked)
    }

    /// The id of the valid token whose secret this is; marks it used.
    pub fn check(&self, secret: &str) -> Option<String> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return None;
        }
        let now = super::session_task::now_ms();
        // The map is keyed by the hash, so the lookup compares hashes, never the secret.
        let mut tokens = self.lock();
        let token = tokens.get_mut(&hash(secret))?;
        if token.revoked_at_ms.is_some() {
            return None;
        }
        if token
            .last_used_ms
            .is_none_or(|last| now - last >= TOUCH_EVERY_MS)
        {
            token.last_used_ms = Some(now);
            let (db, id) = (self.db.clone(), token.id.clone());
            // Not awaited: a request does not wait for the write, and a lost write costs
            // at most a minute of "last used".
            tokio::spawn(async move {
                if let Err(e) = db.touch_api_token(&id, now).await {
                    tracing::warn!(token = %id, "cannot record an API token's use: {e}");
                }
            });
        }
        Some(token.id.clone())
    }

    /// Makes this start's local token and writes it with the server's address to
    /// `<data_dir>/cli.json` ([`write_cli_json`]).
    pub async fn write_cli_file(
        &self,
        data_dir: &std::path::Path,
        server: String,
    ) -> Result<(), String> {
        // Named for the data dir: each node on a shared database keeps its own.
        let name = format!("command line on this machine ({})", data_dir.display());
        let token = self.create(&name, true).await.map_err(|e| e.to_string())?;
        let file = CliFile {
            server,
            token: token.secret,
        };
        write_cli_json(data_dir, file).await
    }
}

/// Writes `<data_dir>/cli.json`: 0600, through a `.partial` file renamed over it, so a
/// command line reading it never sees half of it; on a blocking thread, as file I/O is.
pub async fn write_cli_json(data_dir: &std::path::Path, file: CliFile) -> Result<(), String> {
    let data_dir = data_dir.to_owned();
    tokio::task::spawn_blocking(move || write_cli_json_now(&data_dir, &file))
        .await
        .map_err(|e| format!("writing {CLI_FILE}: {e}"))?
}

fn write_cli_json_now(data_dir: &std::path::Path, file: &CliFile) -> Result<(), String> {
    let text = serde_json::to_string_pretty(file).map_err(|e| e.to_string())?;
    super::private_dir::write_private_file(&data_dir.join(CLI_FILE), text.as_bytes())
}

/// SHA-256 of a secret, hex.
pub fn hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_token_is_stored_hashed_checked_and_revoked() {
        let dir = tempfile::tempdir().expect("dir");
        let db = Db::open(dir.path()).await.expect("db");
        let tokens = ApiTokens::load(db.clone()).await.expect("tokens");
        let made = tokens.create("  ci job ", false).await.expect("made");
        assert!(made.secret.starts_with(TOKEN_PREFIX));
        assert_eq!(made.info.name, "ci job");
        let stored = db.api_tokens().await.expect("rows");
        assert_eq!(stored.len(), 1);
        assert_ne!(stored[0].secret_hash, made.secret, "hashed");
        assert!(!stored[0].secret_hash.contains(&made.secret[4..]));
        assert_eq!(tokens.check(&made.secret), Some(made.info.id.clone()));
        assert_eq!(tokens.check(&format!("{}0", made.secret)), None);
        assert_eq!(tokens.check("Bearer nonsense"), None);
        assert!(tokens.revoke(&made.info.id).await.expect("revoked"));
        assert!(!tokens.revoke(&made.info.id).await.expect("twice"));
        assert_eq!(tokens.check(&made.secret), None);
        // A restart reads the revocation back.
        let again = ApiTokens::load(db).await.expect("reloaded");
        assert_eq!(again.check(&made.secret), None);
        assert!(again.list()[0].revoked_at_ms.is_some());
    }

    #[tokio::test]
    async fn the_local_token_is_replaced_at_each_start_and_written_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let db = Db::open(dir.path()).await.expect("db");
        let tokens = ApiTokens::load(db).await.expect("tokens");
        tokens
            .write_cli_file(dir.path(), "http://127.0.0.1:1".into())
            .await
            .expect("written");
        let read = |path: &std::path::Path| -> CliFile {
            serde_json::from_str(&std::fs::read_to_string(path).expect("file")).expect("json")
        };
        let path = dir.path().join(CLI_FILE);
        let first = read(&path);
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        tokens
            .write_cli_file(dir.path(), "http://127.0.0.1:2".into())
            .await
            .expect("written again");
        let second = read(&path);
        assert_eq!(second.server, "http://127.0.0.1:2");
        assert!(tokens.check(&first.token).is_none(), "the old one is gone");
        assert!(tokens.check(&second.token).is_some());
        assert_eq!(tokens.list().iter().filter(|t| t.local).count(), 1);
    }
}
