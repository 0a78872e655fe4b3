//! The cap on live agent processes. Each running agent holds a `Lease`; when every slot is
//! taken, the agent idle the longest is asked to stop (its session resumes it on the next
//! message), and only if none is idle does a new start wait.

use crate::protocol::SessionId;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Live agent slots, and which holders are idle.
pub struct AgentPool {
    slots: Arc<Semaphore>,
    max: usize,
    /// Leases whose agent is between turns, with when they became idle and how to ask
    /// their session to stop the agent.
    idle: Mutex<Vec<IdleEntry>>,
}

struct IdleEntry {
    session: SessionId,
    since: Instant,
    reap: Arc<Notify>,
}

/// Why no slot could be had.
#[derive(Debug, thiserror::Error)]
#[error("all {max} agent slots are busy with running turns (limits.max_live_agents); try again when one finishes")]
pub struct PoolFull {
    max: usize,
}

/// One live agent's slot. Dropping it frees the slot.
pub struct Lease {
    pool: Arc<AgentPool>,
    session: SessionId,
    _permit: OwnedSemaphorePermit,
}

impl AgentPool {
    /// A pool of `max` slots (at least one).
    pub fn new(max: usize) -> Arc<AgentPool> {
        let max = max.max(1);
        Arc::new(AgentPool {
            slots: Arc::new(Semaphore::new(max)),
            max,
            idle: Mutex::new(Vec::new()),
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

    /// A slot for `session`'s agent: a free one, or the one of the agent idle the longest
    /// once its session stopped it. Gives up after `wait` when every agent is busy.
    pub async fn acquire(
        self: &Arc<Self>,
        session: SessionId,
        wait: Duration,
    ) -> Result<Lease, PoolFull> {
        let lease = |permit| Lease {
            pool: Arc::clone(self),
            session,
            _permit: permit,
        };
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(lease(permit));
        }
        let victim = {
            let mut idle = self.idle();
            let oldest = idle
                .iter()
                .enumerate()
                .filter(|(_, entry)| entry.session != session)
                .min_by_key(|(_, entry)| entry.since)
                .map(|(i, _)| i);
            oldest.map(|i| idle.remove(i))
        };
        if let Some(victim) = victim {
            tracing::info!(session = %victim.session, "agent cap reached; stopping the longest idle agent");
            victim.reap.notify_one();
        }
        match tokio::time::timeout(wait, Arc::clone(&self.slots).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(lease(permit)),
            _ => Err(PoolFull { max: self.max }),
        }
    }
}

impl Lease {
    /// Marks the agent idle (between turns): it may be reaped to make room.
    pub fn set_idle(&self, reap: &Arc<Notify>) {
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

    #[tokio::test]
    async fn a_full_pool_reaps_the_longest_idle_agent_and_waits_when_all_are_busy() {
        let pool = AgentPool::new(2);
        let id = || SessionId(uuid::Uuid::new_v4());
        let (a, b, c) = (id(), id(), id());
        let lease_a = pool.acquire(a, Duration::ZERO).await.expect("free slot");
        let lease_b = pool.acquire(b, Duration::ZERO).await.expect("free slot");
        assert_eq!(pool.live(), 2);
        assert!(pool.acquire(c, Duration::from_millis(20)).await.is_err());

        let (reap_a, reap_b) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        lease_a.set_idle(&reap_a);
        tokio::time::sleep(Duration::from_millis(5)).await;
        lease_b.set_idle(&reap_b);
        let waiting = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move { pool.acquire(c, Duration::from_secs(5)).await })
        };
        // `a` idled first, so its session is asked to stop; it frees the slot.
        reap_a.notified().await;
        drop(lease_a);
        let lease_c = waiting.await.expect("task").expect("slot freed");
        assert_eq!(pool.live(), 2);
        lease_b.set_busy();
        drop(lease_c);
        assert_eq!(pool.live(), 1);
    }
}
