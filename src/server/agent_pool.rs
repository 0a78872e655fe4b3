//! The cap on live agent processes. Each running agent holds a `Lease`. When every slot is
//! taken, a session that needs an agent waits in line ([`SlotWait`], first come first
//! served) and the agent idle the longest is asked to stop (its session resumes it on the
//! next message); an agent that goes idle while someone waits is asked to stop at once.

use crate::protocol::SessionId;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Live agent slots, which holders are idle, and who waits for a slot.
pub struct AgentPool {
    /// One permit per live agent. Tokio's semaphore serves waiters in arrival order.
    slots: Arc<Semaphore>,
    /// The cap.
    max: usize,
    /// Leases whose agent is between turns, with when they became idle and how to ask
    /// their session to stop the agent.
    idle: Mutex<Vec<IdleEntry>>,
    /// Sessions waiting for a slot, first in line first; waiters watch it for their place.
    line: watch::Sender<Vec<SessionId>>,
}

/// An idle agent that may be asked to stop.
struct IdleEntry {
    session: SessionId,
    since: Instant,
    reap: Arc<Notify>,
}

/// One live agent's slot. Dropping it frees the slot.
pub struct Lease {
    pool: Arc<AgentPool>,
    session: SessionId,
    _permit: OwnedSemaphorePermit,
}

/// A place in line for a slot. Await [`SlotWait::granted`]; dropping it leaves the line.
pub struct SlotWait {
    pool: Arc<AgentPool>,
    session: SessionId,
    permit: Pin<Box<dyn Future<Output = Option<OwnedSemaphorePermit>> + Send>>,
    line: watch::Receiver<Vec<SessionId>>,
}

/// A slot now, or a place in line.
pub enum Slot {
    /// A free slot.
    Free(Lease),
    /// Every slot is taken: wait.
    Wait(SlotWait),
}

impl AgentPool {
    /// A pool of `max` slots (at least one).
    pub fn new(max: usize) -> Arc<AgentPool> {
        let max = max.max(1);
        Arc::new(AgentPool {
            slots: Arc::new(Semaphore::new(max)),
            max,
            idle: Mutex::new(Vec::new()),
            line: watch::Sender::new(Vec::new()),
        })
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<IdleEntry>> {
        // Critical sections are a push or a scan; a poisoned lock still holds a valid list.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Agents alive now.
    pub fn live(&self) -> usize {
        self.max - self.slots.available_permits()
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.max
    }

    /// A slot for `session`'s agent: a free one if nobody waits, else a place at the end of
    /// the line (and the agent idle the longest is asked to stop, to make room).
    pub fn request(self: &Arc<Self>, session: SessionId) -> Slot {
        if self.line.borrow().is_empty() {
            if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
                return Slot::Free(self.lease(session, permit));
            }
        }
        self.line.send_modify(|line| line.push(session));
        let slots = Arc::clone(&self.slots);
        let wait = SlotWait {
            pool: Arc::clone(self),
            session,
            permit: Box::pin(async move { slots.acquire_owned().await.ok() }),
            line: self.line.subscribe(),
        };
        self.reap_longest_idle(session);
        Slot::Wait(wait)
    }

    fn lease(self: &Arc<Self>, session: SessionId, permit: OwnedSemaphorePermit) -> Lease {
        Lease {
            pool: Arc::clone(self),
            session,
            _permit: permit,
        }
    }

    /// Asks the session whose agent has been idle the longest (not `except`'s) to stop it.
    fn reap_longest_idle(&self, except: SessionId) {
        let victim = {
            let mut idle = self.idle();
            let oldest = idle
                .iter()
                .enumerate()
                .filter(|(_, entry)| entry.session != except)
                .min_by_key(|(_, entry)| entry.since)
                .map(|(i, _)| i);
            oldest.map(|i| idle.remove(i))
        };
        if let Some(victim) = victim {
            tracing::info!(session = %victim.session, "agent cap reached; stopping the longest idle agent");
            victim.reap.notify_one();
        }
    }

    fn leave_line(&self, session: SessionId) {
        self.line.send_if_modified(|line| {
            let before = line.len();
            line.retain(|waiting| *waiting != session);
            line.len() != before
        });
    }
}

impl SlotWait {
    /// How many sessions are ahead in line.
    pub fn ahead(&self) -> u32 {
        let line = self.line.borrow();
        line.iter().position(|s| *s == self.session).unwrap_or(0) as u32
    }

    /// Resolves when a slot is granted (this waiter was first and one freed) or when the
    /// line moved (someone ahead got a slot or left: [`SlotWait::ahead`] changed).
    /// Cancel-safe: the place in line is kept until this is dropped. Not to be called again
    /// after a grant.
    pub async fn news(&mut self) -> SlotNews {
        let SlotWait {
            pool,
            session,
            permit,
            line,
        } = self;
        tokio::select! {
            biased;
            permit = permit.as_mut() => match permit {
                Some(permit) => {
                    pool.leave_line(*session);
                    SlotNews::Granted(pool.lease(*session, permit))
                }
                // The semaphore is never closed; wait forever rather than invent a slot.
                None => std::future::pending().await,
            },
            changed = line.changed() => match changed {
                Ok(()) => SlotNews::Moved,
                Err(_) => std::future::pending().await,
            },
        }
    }
}

/// What a waiter learns from [`SlotWait::news`].
pub enum SlotNews {
    /// The slot: start the agent.
    Granted(Lease),
    /// The line moved; the place in it may have changed.
    Moved,
}

impl Drop for SlotWait {
    fn drop(&mut self) {
        self.pool.leave_line(self.session);
    }
}

impl Lease {
    /// Marks the agent idle (between turns): it may be reaped to make room, and is at once
    /// when some session already waits for a slot.
    pub fn set_idle(&self, reap: &Arc<Notify>) {
        if !self.pool.line.borrow().is_empty() {
            tracing::info!(session = %self.session, "a session waits for an agent slot; stopping this idle agent");
            reap.notify_one();
            return;
        }
        let mut idle = self.pool.idle();
        if !idle.iter().any(|entry| entry.session == self.session) {
            idle.push(IdleEntry {
                session: self.session,
                since: Instant::now(),
                reap: Arc::clone(reap),
            });
        }
    }

    /// Marks the agent busy: never reaped while a turn runs.
    pub fn set_busy(&self) {
        self.pool
            .idle()
            .retain(|entry| entry.session != self.session);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.set_busy();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn id() -> SessionId {
        SessionId(uuid::Uuid::new_v4())
    }

    fn free(slot: Slot) -> Lease {
        match slot {
            Slot::Free(lease) => lease,
            Slot::Wait(_) => panic!("expected a free slot"),
        }
    }

    /// Waits (at most a second) for the slot, skipping news of the line moving.
    async fn granted(wait: &mut SlotWait) -> Lease {
        loop {
            match tokio::time::timeout(Duration::from_secs(1), wait.news()).await {
                Ok(SlotNews::Granted(lease)) => return lease,
                Ok(SlotNews::Moved) => {}
                Err(_) => panic!("no slot within a second"),
            }
        }
    }

    fn waiting(slot: Slot) -> SlotWait {
        match slot {
            Slot::Wait(wait) => wait,
            Slot::Free(_) => panic!("expected to wait"),
        }
    }

    #[tokio::test]
    async fn waiters_are_served_in_order_and_know_how_many_are_ahead() {
        let pool = AgentPool::new(1);
        let lease = free(pool.request(id()));
        let mut first = waiting(pool.request(id()));
        let mut second = waiting(pool.request(id()));
        assert_eq!((first.ahead(), second.ahead()), (0, 1));
        drop(lease);
        let lease = granted(&mut first).await;
        assert!(matches!(second.news().await, SlotNews::Moved));
        assert_eq!(second.ahead(), 0);
        assert!(
            tokio::time::timeout(Duration::from_millis(20), second.news())
                .await
                .is_err(),
            "no slot is free yet"
        );
        drop(lease);
        granted(&mut second).await;
    }

    #[tokio::test]
    async fn a_waiter_that_leaves_gives_up_its_place() {
        let pool = AgentPool::new(1);
        let lease = free(pool.request(id()));
        let gone = waiting(pool.request(id()));
        let mut next = waiting(pool.request(id()));
        drop(gone);
        assert_eq!(next.ahead(), 0);
        drop(lease);
        granted(&mut next).await;
    }

    #[tokio::test]
    async fn a_full_pool_reaps_the_longest_idle_agent_and_an_agent_idle_while_someone_waits() {
        let pool = AgentPool::new(2);
        let (a, b, c, d) = (id(), id(), id(), id());
        let lease_a = free(pool.request(a));
        let lease_b = free(pool.request(b));
        assert_eq!(pool.live(), 2);
        let (reap_a, reap_b) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        lease_a.set_idle(&reap_a);
        tokio::time::sleep(Duration::from_millis(5)).await;
        // `a` idled first, so its session is asked to stop when `c` needs a slot.
        let mut wait_c = waiting(pool.request(c));
        reap_a.notified().await;
        drop(lease_a);
        let _lease_c = granted(&mut wait_c).await;
        // `d` waits with no idle agent; `b` going idle is asked to stop at once.
        let mut wait_d = waiting(pool.request(d));
        lease_b.set_idle(&reap_b);
        reap_b.notified().await;
        drop(lease_b);
        let _lease_d = granted(&mut wait_d).await;
        assert_eq!(pool.live(), 2);
    }
}
