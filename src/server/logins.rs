//! Browser logins. Trading the token for a login makes a random secret for the cookie; the
//! server keeps only its SHA-256, with when it was made and last used. A login lasts
//! [`LOGIN_DAYS`] days after its last use and can be signed out (this browser, or every
//! login at once). So a cookie that leaks (to a page on another port of this host, say) is
//! good only until it is signed out, and never on another server.

use super::access::hex;
use super::db::logins::StoredLogin;
use super::db::{Db, DbError};
use crate::protocol::LoginInfo;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// Days a login lasts after its last use.
pub const LOGIN_DAYS: i64 = 30;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// The last-used time is written at most this often per login (every request reads it).
const TOUCH_EVERY_MS: i64 = 60 * 1000;
/// Longest User-Agent kept.
const AGENT_CHARS: usize = 200;

/// Every live login, by the hash of its secret, and where they are stored.
#[derive(Debug)]
pub struct Logins {
    db: Db,
    by_hash: Mutex<HashMap<String, StoredLogin>>,
    /// Held by every change that writes rows and the map, and by a reload from the rows:
    /// a reload that read the rows before a sign-out cannot put the signed-out login back.
    writing: tokio::sync::Mutex<()>,
    /// Sockets open per login id.
    sockets: std::sync::Arc<Mutex<HashMap<String, usize>>>,
}

/// One open socket of a login; counted until dropped.
#[derive(Debug)]
pub struct SocketSlot {
    login: String,
    sockets: std::sync::Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut sockets = self
            .sockets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = sockets.get_mut(&self.login) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                sockets.remove(&self.login);
            }
        }
    }
}

impl Logins {
    /// Reads the stored logins, dropping expired ones.
    pub async fn load(db: Db) -> Result<Logins, DbError> {
        let now = super::session_task::now_ms();
        let mut by_hash = HashMap::new();
        for login in db.logins().await? {
            if expired(&login.info, now) {
                db.delete_logins(Some(&login.id)).await?;
            } else {
                by_hash.insert(login.secret_hash.clone(), login);
            }
        }
        Ok(Logins {
            db,
            by_hash: Mutex::new(by_hash),
            writing: tokio::sync::Mutex::new(()),
            sockets: std::sync::Arc::default(),
        })
    }

    /// Makes a login for a browser that gave the token; returns the cookie's secret.
    pub async fn create(&self, user_agent: &str) -> Result<String, DbError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| DbError::Corrupt(format!("no randomness: {e}")))?;
        let secret = hex(&bytes);
        let mut id_bytes = [0u8; 8];
        getrandom::fill(&mut id_bytes)
            .map_err(|e| DbError::Corrupt(format!("no randomness: {e}")))?;
        let now = super::session_task::now_ms();
        let writing = self.writing.lock().await;
        let login = StoredLogin {
            id: hex(&id_bytes),
            secret_hash: hash(&secret),
            info: LoginInfo {
                id: hex(&id_bytes),
                created_at_ms: now,
                last_used_ms: now,
                user_agent: user_agent.chars().take(AGENT_CHARS).collect(),
                current: false,
            },
        };
        self.db.insert_login(&login).await?;
        tracing::info!(login = %login.id, "logged in");
        self.lock().insert(login.secret_hash.clone(), login);
        drop(writing);
        self.db.access_changed().await;
        Ok(secret)
    }

    /// Reads the stored logins again: other server nodes on the database make and sign
    /// out logins too (a browser behind a load balancer meets several nodes).
    pub async fn reload(&self) -> Result<(), DbError> {
        let _writing = self.writing.lock().await;
        let now = super::session_task::now_ms();
        let stored: HashMap<String, StoredLogin> = self
            .db
            .logins()
            .await?
            .into_iter()
            .filter(|login| !expired(&login.info, now))
            .map(|login| (login.secret_hash.clone(), login))
            .collect();
        *self.lock() = stored;
        Ok(())
    }

    /// The login a cookie's secret belongs to, if it is live; marks it used.
    pub fn check(&self, secret: &str) -> Option<String> {
        let now = super::session_task::now_ms();
        let key = hash(secret);
        let mut logins = self.lock();
        let login = logins.get_mut(&key)?;
        if expired(&login.info, now) {
            logins.remove(&key);
            return None;
        }
        if now - login.info.last_used_ms >= TOUCH_EVERY_MS {
            login.info.last_used_ms = now;
            let (db, id) = (self.db.clone(), login.id.clone());
            // Not awaited: a request does not wait for the write, and a lost write costs
            // at most a minute of "last used".
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Err(e) = db.touch_login(&id, now).await {
                        tracing::warn!(login = %id, "cannot store last use: {e}");
                    }
                });
            }
        }
        Some(login.id.clone())
    }

    /// Signs out one login (`Some`) or every login (`None`).
    pub async fn sign_out(&self, id: Option<&str>) -> Result<(), DbError> {
        let writing = self.writing.lock().await;
        self.db.delete_logins(id).await?;
        {
            let mut logins = self.lock();
            match id {
                Some(id) => logins.retain(|_, login| login.id != id),
                None => logins.clear(),
            }
        }
        drop(writing);
        tracing::info!(login = id.unwrap_or("all"), "signed out");
        self.db.access_changed().await;
        Ok(())
    }

    /// The live logins, newest use first, `current` marking `asking`.
    pub fn list(&self, asking: Option<&str>) -> Vec<LoginInfo> {
        let mut list: Vec<LoginInfo> = self
            .lock()
            .values()
            .map(|login| LoginInfo {
                current: Some(login.id.as_str()) == asking,
                ..login.info.clone()
            })
            .collect();
        list.sort_by_key(|info| std::cmp::Reverse(info.last_used_ms));
        list
    }

    /// Counts one more socket for `login`, or refuses (with how many are open) at `max`.
    pub fn open_socket(&self, login: &str, max: usize) -> Result<SocketSlot, usize> {
        let mut sockets = self
            .sockets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = sockets.entry(login.to_owned()).or_insert(0);
        if *count >= max {
            return Err(*count);
        }
        *count += 1;
        Ok(SocketSlot {
            login: login.to_owned(),
            sockets: std::sync::Arc::clone(&self.sockets),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, StoredLogin>> {
        // Critical sections are map operations; a poisoned lock still holds a valid map.
        self.by_hash
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn expired(info: &LoginInfo, now: i64) -> bool {
    now - info.last_used_ms > LOGIN_DAYS * DAY_MS
}

/// The stored form of a secret: its SHA-256 (a stolen database holds no usable cookie).
fn hash(secret: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"switchboard login v2\0");
    hash.update(secret.as_bytes());
    hex(&hash.finalize())
}
