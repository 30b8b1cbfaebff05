//! Retry timing and the client-side request limiter.
//!
//! HCP Terraform allows about 30 requests/second per token; the limiter keeps a client
//! (and all its clones) below that so bulk operations do not trip 429s at all. Retries
//! use exponential backoff with full jitter, never wait less than a 429's
//! `X-RateLimit-Reset`, and give up once the total budget is spent.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;

/// How often and how long to retry a failed request.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// No retry starts after this much time has passed since the first attempt.
    pub total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            total: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `attempt` (1 = first retry): a uniform draw in
    /// `[0, min(max_delay, base * 2^(attempt-1))]`, raised to `at_least`.
    pub fn delay(&self, attempt: u32, at_least: Option<Duration>) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(20)));
        let cap = exp.min(self.max_delay);
        let jitter = if cap.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(rand::thread_rng().gen_range(0.0..=cap.as_secs_f64()))
        };
        match at_least {
            Some(min) if min > jitter => min,
            _ => jitter,
        }
    }

    /// Whether another attempt may start: attempts left and the delay fits the budget.
    pub fn may_retry(&self, attempts_done: u32, started: Instant, delay: Duration) -> bool {
        attempts_done < self.max_attempts && started.elapsed() + delay <= self.total
    }
}

/// At most `floor(max_rps)` request starts in any rolling one-second window, shared
/// (behind an `Arc`) by client clones.
///
/// Why a window and not a fixed spacing: a publish alternates bursts (a dozen platform
/// creates, a dozen read-backs) with waits on the network. Spacing every request 1/rps
/// apart would add 40 ms to each request of a burst for no benefit; the window lets a
/// burst through at once and still never exceeds the rate in any second. Slots are handed
/// out in order, so waiting callers keep their turn.
#[derive(Debug)]
pub struct Limiter {
    per_window: usize,
    window: Duration,
    slots: Mutex<std::collections::VecDeque<Instant>>,
}

impl Limiter {
    pub fn new(max_rps: f64) -> Self {
        let rps = if max_rps.is_finite() && max_rps >= 1.0 {
            max_rps
        } else {
            25.0
        };
        Limiter {
            per_window: rps.floor() as usize,
            window: Duration::from_secs(1),
            slots: Mutex::new(std::collections::VecDeque::new()),
        }
    }

    /// Wait for this request's slot; returns the slot (the earliest instant the request
    /// may start), which the limiter spaced at most `per_window` to a window.
    pub async fn acquire(&self) -> Instant {
        let slot = {
            let mut slots = self.slots.lock().expect("limiter lock");
            let mut slot = Instant::now();
            if let Some(&last) = slots.back() {
                slot = slot.max(last);
            }
            if slots.len() >= self.per_window {
                let oldest = slots[slots.len() - self.per_window];
                slot = slot.max(oldest + self.window);
            }
            slots.push_back(slot);
            while slots.len() > self.per_window {
                slots.pop_front();
            }
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn limiter_holds_below_rate() {
        let l = std::sync::Arc::new(Limiter::new(30.0));
        let times = std::sync::Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let (l, times) = (l.clone(), times.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..15 {
                    let slot = l.acquire().await;
                    let woke = Instant::now();
                    // Never started before its slot ...
                    assert!(woke >= slot);
                    times.lock().unwrap().push(slot);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut t = times.lock().unwrap().clone();
        t.sort();
        assert_eq!(t.len(), 45);
        // A burst of 30 goes through at once ...
        assert!(
            t[29] - t[0] < Duration::from_millis(500),
            "{:?}",
            t[29] - t[0]
        );
        // ... and no one-second window ever holds more than 30 starts.
        for i in 30..t.len() {
            assert!(
                t[i] - t[i - 30] >= Duration::from_millis(995),
                "starts {} and {i} only {:?} apart",
                i - 30,
                t[i] - t[i - 30]
            );
        }
    }

    #[test]
    fn delay_respects_floor_and_cap() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            total: Duration::from_secs(5),
        };
        for a in 1..10 {
            assert!(p.delay(a, None) <= Duration::from_millis(300));
            assert!(p.delay(a, Some(Duration::from_secs(2))) >= Duration::from_secs(2));
        }
        assert!(!p.may_retry(5, Instant::now(), Duration::ZERO));
        assert!(!p.may_retry(1, Instant::now(), Duration::from_secs(6)));
        assert!(p.may_retry(1, Instant::now(), Duration::from_secs(1)));
    }
}
