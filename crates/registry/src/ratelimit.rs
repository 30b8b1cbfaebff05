//! HCP Terraform's request limit, when asked for (`registry serve --rate-limit N`): at
//! most N API requests per token in any one second, the rest answered `429` with
//! `X-RateLimit-Reset` (float seconds until one more would be accepted), as HCP answers.
//! Counted on arrival, in a sliding window, so a client that bunches its requests is
//! caught wherever the burst falls. Off by default: a local registry serves one user.
//!
//! A leaf: imports nothing of the crate.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(1);
/// Past this many tokens seen, idle ones are forgotten.
const PRUNE_AT: usize = 1024;

pub(crate) struct RateLimit {
    limit: usize,
    /// Per caller (the `Authorization` header as sent), the arrivals accepted in the
    /// last second, oldest first.
    seen: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimit {
    pub(crate) fn new(limit: u32) -> RateLimit {
        RateLimit {
            limit: (limit as usize).max(1),
            seen: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Count a request of `caller` arriving `now`: None when accepted, else how long
    /// until the caller may send again.
    pub(crate) fn check(&self, caller: &str, now: Instant) -> Option<Duration> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > PRUNE_AT {
            seen.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        let q = seen.entry(caller.to_string()).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            q.pop_front();
        }
        if q.len() >= self.limit {
            let oldest = *q.front().expect("a full window has an oldest arrival");
            return Some((oldest + WINDOW).saturating_duration_since(now));
        }
        q.push_back(now);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_request_over_the_limit_in_any_second() {
        let rl = RateLimit::new(3);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(rl.check("a", t0 + Duration::from_millis(i * 100)), None);
        }
        // The fourth within the same second is refused, until the first one ages out.
        let reset = rl.check("a", t0 + Duration::from_millis(900)).unwrap();
        assert_eq!(reset, Duration::from_millis(100));
        // Another caller has its own window.
        assert_eq!(rl.check("b", t0 + Duration::from_millis(900)), None);
        assert_eq!(rl.check("a", t0 + Duration::from_millis(1000)), None);
        assert!(rl.check("a", t0 + Duration::from_millis(1050)).is_some());
    }
}
