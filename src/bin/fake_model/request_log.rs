//! Every request the fake API received, newest last, so tests can assert what the CLI sent
//! (e.g. that a resumed session replays the earlier turns). Bounded: CLI request bodies
//! carry the whole system prompt and tool list, so an unbounded log would grow fast.

use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

/// Shared, cheaply cloned handle to the log.
#[derive(Debug, Clone)]
pub struct RequestLog {
    inner: Arc<Mutex<VecDeque<Value>>>,
    capacity: usize,
}

impl RequestLog {
    /// A log keeping the last `capacity` requests (at least one).
    pub fn new(capacity: usize) -> RequestLog {
        RequestLog {
            inner: Arc::new(Mutex::new(VecDeque::new())),
            capacity: capacity.max(1),
        }
    }

    /// The entries; a panic elsewhere while holding the lock leaves plain data, so a
    /// poisoned lock is still safe to use.
    fn entries(&self) -> MutexGuard<'_, VecDeque<Value>> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends one entry, dropping the oldest beyond the capacity.
    pub fn push(&self, entry: Value) {
        let mut entries = self.entries();
        while entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// A copy of every entry, oldest first.
    pub fn snapshot(&self) -> Vec<Value> {
        self.entries().iter().cloned().collect()
    }

    /// Forgets everything; returns how many entries there were.
    pub fn clear(&self) -> usize {
        let mut entries = self.entries();
        let count = entries.len();
        entries.clear();
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_only_the_newest_entries() {
        let log = RequestLog::new(2);
        for i in 0..3 {
            log.push(json!(i));
        }
        assert_eq!(log.snapshot(), vec![json!(1), json!(2)]);
        assert_eq!(log.clear(), 2);
        assert!(log.snapshot().is_empty());
    }
}
