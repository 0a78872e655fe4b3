//! How often a client may ask: a token bucket per socket (frames) and per API token
//! (requests), both at `limits.max_frames_per_sec`.

use std::collections::HashMap;
use std::sync::Mutex;
use tokio::time::Instant;

/// A token bucket: `rate` a second sustained, bursts up to five seconds' worth (a
/// reconnecting tab resends its queue and subscribes to every open session at once; a
/// script starts with a flurry of calls).
#[derive(Debug)]
pub struct RateBudget {
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl RateBudget {
    /// A full bucket for `rate` a second.
    pub fn new(rate: u32) -> Self {
        let rate = f64::from(rate.max(1));
        RateBudget {
            rate,
            tokens: rate * 5.0,
            at: Instant::now(),
        }
    }

    /// Whether one more is allowed now.
    pub fn take(&mut self) -> bool {
        self.take_at(Instant::now())
    }

    /// Whether one more is allowed at `now` (not before the last call).
    fn take_at(&mut self, now: Instant) -> bool {
        let earned = now.duration_since(self.at).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.rate * 5.0);
        self.at = now;
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

/// One bucket per caller (an API token's id; `None` for a `--no-auth` server's one open
/// door). Tokens are few, so the map stays small.
#[derive(Debug)]
pub struct RateBudgets {
    rate: u32,
    by_caller: Mutex<HashMap<Option<String>, RateBudget>>,
}

impl RateBudgets {
    /// Buckets of `rate` a second (at least 1, as each bucket has).
    pub fn new(rate: u32) -> Self {
        RateBudgets {
            rate: rate.max(1),
            by_caller: Mutex::new(HashMap::new()),
        }
    }

    /// The sustained rate, for messages.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Whether `caller` may make one more request now.
    pub fn take(&self, caller: &Option<String>) -> bool {
        let mut by_caller = self
            .by_caller
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match by_caller.get_mut(caller) {
            Some(budget) => budget.take(),
            None => {
                let mut budget = RateBudget::new(self.rate);
                let allowed = budget.take();
                by_caller.insert(caller.clone(), budget);
                allowed
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_five_seconds_then_the_rate() {
        let start = Instant::now();
        let mut budget = RateBudget::new(2);
        budget.at = start;
        let allowed = (0..20).filter(|_| budget.take_at(start)).count();
        assert_eq!(allowed, 10, "five seconds' worth at once");
        let later = start + std::time::Duration::from_secs(1);
        let allowed = (0..20).filter(|_| budget.take_at(later)).count();
        assert_eq!(allowed, 2, "then the rate");
    }

    #[test]
    fn each_caller_has_a_bucket_of_its_own() {
        let budgets = RateBudgets::new(1);
        let caller = Some("t1".to_owned());
        let allowed = (0..20).filter(|_| budgets.take(&caller)).count();
        assert_eq!(allowed, 5);
        assert!(budgets.take(&None));
        assert!(budgets.take(&Some("t2".to_owned())));
        // A rate of 0 in the config is taken as 1, and said so in refusals.
        assert_eq!(RateBudgets::new(0).rate(), 1);
    }
}
