//! Machines: other hosts whose runners dial this server, so their agents run there while
//! their sessions live here. An admin makes a one-time enrollment code; `switchboard runner
//! --server URL --enroll CODE` redeems it for the machine's credential. Only hashes of
//! codes and credentials are stored. Each machine has one [`RunnerLink`], made on first
//! use, that takes every connection the machine's runner makes (`http::connect`); revoking
//! the machine cuts the link's connection and refuses the runner from then on.

pub mod http;

use super::access::hex;
use super::api_tokens::hash;
use super::db::machines::StoredMachine;
use super::db::{Db, DbError};
use super::runner::link::RunnerLink;
use super::runner::RunnerStream;
use super::session_task::now_ms;
use crate::protocol::{Enrolled, MachineInfo, NewEnrollment};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;

/// Every runner credential starts so, so one found in a file or a log is recognisable.
pub const CREDENTIAL_PREFIX: &str = "sbr_";
/// Every enrollment code starts so.
pub const CODE_PREFIX: &str = "sbe_";
/// How long an enrollment code works.
const CODE_VALID_MS: i64 = 60 * 60 * 1000;
/// Longest machine name kept.
const NAME_CHARS: usize = 100;

/// The enrolled machines and the links to their runners.
pub struct Machines {
    db: Db,
    /// The runner protocol this server speaks.
    protocol: u32,
    /// How long a runner may be out of contact before its sessions say so.
    unreachable_after: Duration,
    /// This server's node id, with several nodes on one database: a runner connected here
    /// is recorded as this node's, so the machine's sessions are driven here.
    node: Option<String>,
    /// Every machine (revoked ones too, for the list), by id; written through to `db`.
    known: Mutex<HashMap<String, StoredMachine>>,
    /// The link of each machine used since this server started, by id.
    links: Mutex<HashMap<String, MachineLink>>,
    /// Held by every change that writes rows and the map, and by a reload from the rows:
    /// a reload that read the rows before a revocation cannot make the machine valid again.
    writing: tokio::sync::Mutex<()>,
}

/// One machine's link, and where its runner's connections are handed to it.
struct MachineLink {
    link: Arc<RunnerLink>,
    streams: mpsc::UnboundedSender<RunnerStream>,
}

/// Why a machine cannot run an agent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MachineError {
    /// No machine has this id.
    #[error("no machine {0} is enrolled")]
    Unknown(String),
    /// It was revoked.
    #[error("the machine {0} was revoked")]
    Revoked(String),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Critical sections are map reads and writes; a poisoned lock still holds a valid map.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Machines {
    /// Reads the enrolled machines.
    pub async fn load(
        db: Db,
        protocol: u32,
        unreachable_after: Duration,
        node: Option<String>,
    ) -> Result<Arc<Machines>, DbError> {
        let known = by_id(db.machines().await?);
        Ok(Arc::new(Machines {
            db,
            protocol,
            unreachable_after,
            node,
            known: Mutex::new(known),
            links: Mutex::new(HashMap::new()),
            writing: tokio::sync::Mutex::new(()),
        }))
    }

    /// Makes a one-time enrollment code for a machine to be named `name`.
    pub async fn create_enrollment(&self, name: &str) -> Result<NewEnrollment, DbError> {
        let name: String = name.trim().chars().take(NAME_CHARS).collect();
        let name = if name.is_empty() {
            "unnamed machine".to_owned()
        } else {
            name
        };
        let code = format!("{CODE_PREFIX}{}", random_hex(16)?);
        let now = now_ms();
        let expires_at_ms = now + CODE_VALID_MS;
        self.db
            .insert_enrollment(&hash(&code), &name, now, expires_at_ms)
            .await?;
        tracing::info!(name = %name, "enrollment code made");
        Ok(NewEnrollment {
            code,
            name,
            expires_at_ms,
        })
    }

    /// Redeems an enrollment code for a runner on `host`: the new machine and its
    /// credential, or `None` when the code is unknown, used or expired.
    pub async fn enroll(&self, code: &str, host: &str) -> Result<Option<Enrolled>, DbError> {
        if !code.starts_with(CODE_PREFIX) {
            return Ok(None);
        }
        let credential = format!("{CREDENTIAL_PREFIX}{}", random_hex(32)?);
        let machine = StoredMachine {
            id: random_hex(8)?,
            name: String::new(), // the code's
            secret_hash: hash(&credential),
            host: Some(host.chars().take(NAME_CHARS).collect()),
            version: None,
            created_at_ms: now_ms(),
            last_contact_ms: None,
            revoked_at_ms: None,
        };
        let writing = self.writing.lock().await;
        let Some(machine) = self.db.redeem_enrollment(&hash(code), machine).await? else {
            return Ok(None);
        };
        tracing::info!(machine = %machine.id, name = %machine.name, host = ?machine.host, "machine enrolled");
        let enrolled = Enrolled {
            machine: machine.id.clone(),
            name: machine.name.clone(),
            credential,
        };
        lock(&self.known).insert(machine.id.clone(), machine);
        drop(writing);
        self.db.access_changed().await;
        Ok(Some(enrolled))
    }

    /// The id of the unrevoked machine whose credential this is.
    pub fn check(&self, credential: &str) -> Option<String> {
        if !credential.starts_with(CREDENTIAL_PREFIX) {
            return None;
        }
        let wanted = hash(credential);
        lock(&self.known)
            .values()
            .find(|m| m.secret_hash == wanted && m.revoked_at_ms.is_none())
            .map(|m| m.id.clone())
    }

    /// The link to `machine`'s runner (made on first use), for starting agents there.
    pub fn link(&self, machine: &str) -> Result<Arc<RunnerLink>, MachineError> {
        let name = {
            let known = lock(&self.known);
            let found = known
                .get(machine)
                .ok_or_else(|| MachineError::Unknown(machine.to_owned()))?;
            if found.revoked_at_ms.is_some() {
                return Err(MachineError::Revoked(found.name.clone()));
            }
            found.name.clone()
        };
        let mut links = lock(&self.links);
        let entry = links.entry(machine.to_owned()).or_insert_with(|| {
            let (link, streams) = RunnerLink::remote(name, self.protocol, self.unreachable_after);
            MachineLink { link, streams }
        });
        Ok(Arc::clone(&entry.link))
    }

    /// Every link made so far (for claiming the agents a runner held).
    pub fn links(&self) -> Vec<Arc<RunnerLink>> {
        lock(&self.links)
            .values()
            .map(|entry| Arc::clone(&entry.link))
            .collect()
    }

    /// Hands a connection `machine`'s runner just made to its link, and records the
    /// contact.
    pub async fn accept(
        &self,
        machine: &str,
        stream: RunnerStream,
        host: Option<String>,
        version: Option<String>,
    ) -> Result<(), MachineError> {
        self.link(machine)?;
        if let Some(entry) = lock(&self.links).get(machine) {
            let _ = entry.streams.send(stream);
        }
        let now = now_ms();
        if let Some(known) = lock(&self.known).get_mut(machine) {
            known.last_contact_ms = Some(now);
            known.host = host.clone().or(known.host.take());
            known.version = version.clone().or(known.version.take());
        }
        if let Err(e) = self.db.touch_machine(machine, host, version, now).await {
            tracing::warn!(%machine, "cannot record a machine's contact: {e}");
        }
        self.hold(vec![machine.to_owned()]).await;
        Ok(())
    }

    /// Records (again) that the runners of `machines` are connected to this node, for a
    /// lease's time: the sweep renews it while they stay.
    pub async fn hold(&self, machines: Vec<String>) {
        let Some(node) = &self.node else {
            return;
        };
        if machines.is_empty() {
            return;
        }
        let until = now_ms() + crate::server::registry::LEASE_MS;
        if let Err(e) = self.db.hold_machines(machines, node, until).await {
            tracing::warn!("cannot record which machines are connected here: {e}");
        }
    }

    /// The machines whose runners are connected to this node now.
    pub fn connected_here(&self) -> Vec<String> {
        lock(&self.links)
            .iter()
            .filter(|(_, entry)| entry.link.connected())
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Revokes a machine: its runner is disconnected now and refused from then on. False
    /// when no unrevoked machine has this id.
    pub async fn revoke(&self, id: &str) -> Result<bool, DbError> {
        let now = now_ms();
        let writing = self.writing.lock().await;
        let revoked = self.db.revoke_machine(id, now).await?;
        if revoked {
            if let Some(machine) = lock(&self.known).get_mut(id) {
                machine.revoked_at_ms = Some(now);
            }
            drop(writing);
            tracing::info!(machine = %id, "machine revoked");
            self.cut(id);
            self.db.access_changed().await;
        }
        Ok(revoked)
    }

    /// Reads the machines again (another node enrolled or revoked one); a runner of a
    /// machine revoked meanwhile is disconnected.
    pub async fn reload(&self) -> Result<(), DbError> {
        let _writing = self.writing.lock().await;
        let stored = by_id(self.db.machines().await?);
        let revoked: Vec<String> = {
            let mut known = lock(&self.known);
            // Only those revoked since the last read: the others' links were cut then.
            let newly = stored
                .values()
                .filter(|m| m.revoked_at_ms.is_some())
                .filter(|m| known.get(&m.id).is_none_or(|k| k.revoked_at_ms.is_none()))
                .map(|m| m.id.clone())
                .collect();
            *known = stored;
            newly
        };
        for id in revoked {
            self.cut(&id);
        }
        Ok(())
    }

    /// Drops the connection of `id`'s runner, if it has one here.
    fn cut(&self, id: &str) {
        if let Some(entry) = lock(&self.links).get(id) {
            if entry.link.connected() {
                tracing::info!(machine = %id, "disconnecting a revoked machine's runner");
            }
            entry.link.cut();
        }
    }

    /// The machine's name, if it is enrolled.
    pub fn name(&self, id: &str) -> Option<String> {
        lock(&self.known).get(id).map(|m| m.name.clone())
    }

    /// Every machine, oldest first, with what its runner reports now when connected here.
    pub async fn list(&self) -> Vec<MachineInfo> {
        let mut known: Vec<StoredMachine> = lock(&self.known).values().cloned().collect();
        known.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        let mut list = Vec::with_capacity(known.len());
        for stored in known {
            let link = lock(&self.links)
                .get(&stored.id)
                .map(|entry| Arc::clone(&entry.link));
            let mut info = MachineInfo {
                id: stored.id,
                name: stored.name,
                host: stored.host,
                version: stored.version,
                created_at_ms: stored.created_at_ms,
                last_contact_ms: stored.last_contact_ms,
                revoked_at_ms: stored.revoked_at_ms,
                connected: false,
                unreachable: false,
                agents: 0,
                load: None,
            };
            if let Some(link) = link {
                info.connected = link.connected();
                info.unreachable = link.unreachable();
                if info.connected {
                    info.last_contact_ms = Some(now_ms());
                    if let Some((runner, agents)) = link.status().await {
                        info.agents = agents.len() as u32;
                        info.load = runner.load;
                        info.version = Some(runner.version);
                        info.host = runner.host.or(info.host);
                    }
                }
            }
            list.push(info);
        }
        list
    }
}

fn by_id(machines: Vec<StoredMachine>) -> HashMap<String, StoredMachine> {
    machines.into_iter().map(|m| (m.id.clone(), m)).collect()
}

/// `bytes` random bytes from the OS, hex.
fn random_hex(bytes: usize) -> Result<String, DbError> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|e| DbError::Corrupt(format!("no randomness: {e}")))?;
    Ok(hex(&buffer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_code_enrolls_one_machine_whose_credential_works_until_revoked() {
        let dir = tempfile::tempdir().expect("dir");
        let db = Db::open(dir.path()).await.expect("db");
        let machines = Machines::load(db.clone(), 1, Duration::from_secs(5), None)
            .await
            .expect("machines");
        let code = machines
            .create_enrollment("  build box ")
            .await
            .expect("code");
        assert!(code.code.starts_with(CODE_PREFIX));
        assert_eq!(code.name, "build box");
        let enrolled = machines
            .enroll(&code.code, "box.local")
            .await
            .expect("read")
            .expect("enrolled");
        assert_eq!(enrolled.name, "build box");
        assert!(enrolled.credential.starts_with(CREDENTIAL_PREFIX));
        assert_eq!(
            machines.enroll(&code.code, "other").await.expect("read"),
            None,
            "a code works once"
        );
        let stored = db.machines().await.expect("rows");
        assert!(!stored[0].secret_hash.contains(&enrolled.credential[4..]));
        assert_eq!(
            machines.check(&enrolled.credential),
            Some(enrolled.machine.clone())
        );
        assert_eq!(machines.check("sbr_nonsense"), None);
        assert!(machines.link(&enrolled.machine).is_ok());
        assert!(machines.revoke(&enrolled.machine).await.expect("revoked"));
        assert_eq!(machines.check(&enrolled.credential), None);
        assert!(matches!(
            machines.link(&enrolled.machine),
            Err(MachineError::Revoked(_))
        ));
        // A restart reads the revocation back.
        let again = Machines::load(db, 1, Duration::from_secs(5), None)
            .await
            .expect("reloaded");
        assert_eq!(again.check(&enrolled.credential), None);
        let listed = again.list().await;
        assert_eq!(listed.len(), 1);
        assert!(listed[0].revoked_at_ms.is_some());
        assert_eq!(listed[0].host.as_deref(), Some("box.local"));
    }
}
