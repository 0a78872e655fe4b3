//! A node's periodic pass over the shared sessions (`registry::cluster`): it renews this
//! node's leases (a session whose lease another node took becomes a mirror here), takes
//! expired leases over (the session's task starts here, on its mirror's stream), mirrors
//! sessions made on other nodes, and catches mirrors up with what notifications missed.

use super::cluster::{Node, LEASE_MS};
use super::mirror::Nudge;
use super::{Driver, Registry, SessionCommand, SessionHandle};
use crate::protocol::{ServerFrame, SessionId};
use crate::server::db::DbError;
use crate::server::session_stream::SessionStream;
use crate::server::session_task::now_ms;
use std::collections::HashSet;
use std::sync::Arc;

/// How long answered (or abandoned) commands are kept.
const COMMANDS_KEPT_MS: i64 = 120_000;

impl Registry {
    /// One pass: renew this node's leases (a local session whose lease another node took
    /// becomes a mirror), take expired ones over, mirror sessions made elsewhere, catch
    /// mirrors up with what notifications missed, and drop old commands.
    pub(super) async fn sweep(self: &Arc<Self>, node: &Node) -> Result<(), DbError> {
        let db = &self.context.db;
        let now = now_ms();
        // Listed before renewing: a session made meanwhile took its lease after this
        // list, and is not mistaken for one whose lease was lost.
        let driven: Vec<SessionId> = self
            .lock()
            .iter()
            .filter(|(_, h)| matches!(h.driver, Driver::Local { .. }))
            .map(|(id, _)| *id)
            .collect();
        let held: HashSet<SessionId> = db
            .renew_leases(&node.id, now + LEASE_MS)
            .await?
            .into_iter()
            .collect();
        let lost: Vec<SessionId> = driven.into_iter().filter(|id| !held.contains(id)).collect();
        for id in lost {
            self.give_up(id).await;
        }
        let machines = self.place_by_machine(node).await?;
        let table = db.lease_table().await?;
        tracing::trace!(sessions = table.len(), held = held.len(), "sweep");
        let stored: HashSet<SessionId> = table.iter().map(|row| row.session).collect();
        for row in table {
            let live_holder = row.node.clone().filter(|_| row.expires_at_ms >= now);
            let known = self.lock().get(&row.session).map(|h| match &h.driver {
                Driver::Local { .. } => None,
                Driver::Remote(mirror) => Some(mirror.node.clone()),
            });
            match (known, live_holder) {
                (Some(None), _) => {}
                (Some(Some(mirrored)), Some(holder)) => {
                    if mirrored != holder {
                        if let Some(SessionHandle {
                            driver: Driver::Remote(mirror),
                            ..
                        }) = self.lock().get_mut(&row.session)
                        {
                            mirror.node = holder;
                        }
                    }
                    if let Some(SessionHandle {
                        driver: Driver::Remote(mirror),
                        ..
                    }) = self.lock().get(&row.session)
                    {
                        mirror.nudge(Nudge::Check {
                            last_seq: row.last_seq,
                            rev: row.rev,
                        });
                    }
                }
                // Ours, yet not driven here (a start that failed halfway): drive it.
                (None, Some(holder)) if holder == node.id => self.take_over(row.session).await?,
                (None, Some(holder)) => self.discover(row.session, holder).await?,
                // Left to the node its machine's runner is connected to.
                (_, None) if self.driven_elsewhere(row.session, node, &machines) => {}
                (_, None) => self.take_over(row.session).await?,
            }
        }
        // Mirrors of sessions no longer live anywhere (ended while a note was missed).
        let gone: Vec<SessionId> = self
            .lock()
            .iter()
            .filter(|(id, h)| matches!(h.driver, Driver::Remote(_)) && !stored.contains(id))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.forget_mirror(id);
        }
        db.forget_commands(now - COMMANDS_KEPT_MS).await
    }

    /// A session this socket just made on another node (where its machine's runner is):
    /// mirrored here at once, so the socket can subscribe to it; the sweep would find it
    /// only a moment later, after the socket's subscription was refused.
    pub async fn mirror_made_elsewhere(self: &Arc<Self>, id: SessionId) -> Result<(), DbError> {
        if self.node().is_none() || self.lock().contains_key(&id) {
            return Ok(());
        }
        match self.context.db.lease_holder(id).await? {
            Some(holder) => self.discover(id, holder).await,
            None => Ok(()),
        }
    }

    /// A session another node made: mirror it and list it.
    async fn discover(self: &Arc<Self>, id: SessionId, holder: String) -> Result<(), DbError> {
        let Some(session) = self.context.db.session(id).await? else {
            return Ok(());
        };
        let created = session.clone();
        let inserted = {
            let mut sessions = self.lock();
            match sessions.contains_key(&id) {
                true => false,
                false => {
                    sessions.insert(id, self.mirror(session, holder));
                    true
                }
            }
        };
        if inserted {
            let _ = self
                .context
                .list
                .send(ServerFrame::SessionCreated { session: created });
        }
        Ok(())
    }

    /// A session whose lease ran out (or never existed): take it, and drive it from the
    /// log; a mirror of it becomes the local task, on the same stream, so its subscribers
    /// see no break.
    async fn take_over(self: &Arc<Self>, id: SessionId) -> Result<(), DbError> {
        if !self.lease(id).await? {
            return Ok(());
        }
        let previous = self.lock().remove(&id);
        let stream = match previous {
            Some(SessionHandle {
                driver: Driver::Remote(mirror),
                stream,
            }) => {
                mirror.stop().await;
                Some(stream)
            }
            Some(local) => {
                self.lock().insert(id, local);
                return Ok(());
            }
            None => None,
        };
        let Some(session) = self.context.db.session(id).await? else {
            return Ok(());
        };
        tracing::info!(session = %id, "driving a session whose node stopped renewing its lease");
        let announce = stream.is_none().then(|| session.clone());
        let stream = stream.unwrap_or_else(|| SessionStream::new(session.clone()));
        stream.set_snapshot(&session);
        let (handle, recovered) = self.spawn_task_on(session, true, stream);
        let _ = recovered.await;
        self.lock().insert(id, handle);
        self.adopt_commands(id).await;
        if let Some(session) = announce {
            let _ = self
                .context
                .list
                .send(ServerFrame::SessionCreated { session });
        }
        Ok(())
    }

    /// Another node took this session's lease: stop its task here (its agent is left to
    /// the runner, as at a server's stop) and mirror it instead.
    pub(super) async fn give_up(self: &Arc<Self>, id: SessionId) {
        let Some(handle) = self.lock().remove(&id) else {
            return;
        };
        let stream = Arc::clone(&handle.stream);
        if let Driver::Local { commands, task } = handle.driver {
            let _ = commands.send(SessionCommand::Shutdown).await;
            let _ = task.await;
        }
        tracing::warn!(session = %id, "another server node took over this session");
        // The new holder, for commands until the next sweep looks again.
        let holder = match self.context.db.lease_holder(id).await {
            Ok(holder) => holder.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(session = %id, "cannot read who drives a session now: {e}");
                String::new()
            }
        };
        let mirror = self.mirror_on(stream, holder);
        self.lock().entry(id).or_insert(mirror);
    }
}
